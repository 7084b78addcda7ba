package weight

import (
	"slices"
	"testing"

	"github.com/pigweight/pigweight/elements/detect"
)

// mover is a test object moving at constant velocity; hidden frames give no detection.
type mover struct {
	x, y, vx, vy, w, h float32
	score              float32
	hidden             func(frame int) bool
}

func (m mover) at(frame int) (detect.Detection, bool) {
	if m.hidden != nil && m.hidden(frame) {
		return detect.Detection{}, false
	}
	s := m.score
	if s == 0 {
		s = 0.9
	}
	f := float32(frame)
	return detect.Detection{Box: detect.Box{X: m.x + m.vx*f, Y: m.y + m.vy*f, W: m.w, H: m.h}, Score: s}, true
}

// runMovers feeds frames of movers to a tracker and returns, per mover, the track ids it got
// over the frames it was seen (0 entries skipped), and every ended id in order.
func runMovers(tr *Tracker, movers []mover, frames int) (ids [][]int64, ended []int64) {
	ids = make([][]int64, len(movers))
	for f := range frames {
		var dets []detect.Detection
		var who []int
		for i, m := range movers {
			if d, ok := m.at(f); ok {
				dets = append(dets, d)
				who = append(who, i)
			}
		}
		got, end := tr.Update(dets)
		for j, id := range got {
			ids[who[j]] = append(ids[who[j]], id)
		}
		ended = append(ended, end...)
	}
	return ids, ended
}

func distinct(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

func TestTracker(t *testing.T) {
	tests := []struct {
		name   string
		movers []mover
		frames int
		memory int
		// want: per mover, the distinct ids it had (in order of first appearance: ids only grow)
		want  [][]int64
		ended []int64
	}{
		{
			name: "two pigs crossing",
			movers: []mover{
				{x: 100, y: 200, vx: 8, w: 120, h: 50},
				{x: 600, y: 215, vx: -8, w: 120, h: 50},
			},
			frames: 60, memory: 5,
			want: [][]int64{{1}, {2}},
		},
		{
			name: "crossing at an angle",
			movers: []mover{
				{x: 100, y: 100, vx: 7, vy: 5, w: 110, h: 60},
				{x: 100, y: 400, vx: 7, vy: -5, w: 110, h: 60},
			},
			frames: 60, memory: 5,
			want: [][]int64{{1}, {2}},
		},
		{
			name: "one occludes the other within the memory",
			movers: []mover{
				{x: 100, y: 200, vx: 6, w: 120, h: 50},
				{x: 400, y: 205, w: 120, h: 50, hidden: func(f int) bool { return f >= 40 && f < 56 }}, // stands; 1 walks over it
			},
			frames: 80, memory: 20,
			want: [][]int64{{1}, {2}},
		},
		{
			name: "lost beyond the memory",
			movers: []mover{
				{x: 100, y: 100, vx: 2, w: 100, h: 50, hidden: func(f int) bool { return f >= 10 && f < 30 }},
			},
			frames: 40, memory: 5,
			want:  [][]int64{{1, 2}},
			ended: []int64{1},
		},
		{
			name: "fast move caught by the centroid fallback",
			movers: []mover{
				{x: 100, y: 100, vx: 70, w: 100, h: 50, hidden: func(f int) bool { return f > 9 }},
			},
			frames: 10, memory: 5,
			want: [][]int64{{1}},
		},
		{
			name: "low-score detections keep a track",
			movers: []mover{
				{x: 100, y: 100, vx: 3, w: 100, h: 50, hidden: func(f int) bool { return f >= 10 }},
				{x: 130, y: 100, vx: 3, w: 100, h: 50, score: 0.3, hidden: func(f int) bool { return f < 10 }}, // the same pig, the model unsure
			},
			frames: 30, memory: 2,
			want: [][]int64{{1}, {1}},
		},
		{
			name: "low-score detection starts no track",
			movers: []mover{
				{x: 100, y: 100, w: 100, h: 50, score: 0.3},
			},
			frames: 5, memory: 2,
			want: [][]int64{{0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTracker(0.5, tt.memory)
			ids, ended := runMovers(tr, tt.movers, tt.frames)
			for i := range tt.movers {
				if got := distinct(ids[i]); !slices.Equal(got, tt.want[i]) {
					t.Errorf("mover %d had ids %v (per frame %v), want %v", i, got, ids[i], tt.want[i])
				}
			}
			if !slices.Equal(ended, tt.ended) {
				t.Errorf("ended %v, want %v", ended, tt.ended)
			}
		})
	}
}

func TestTrackerIdsNeverReused(t *testing.T) {
	tr := NewTracker(0.5, 1)
	seen := map[int64]bool{}
	last := int64(0)
	for f := range 50 {
		var dets []detect.Detection
		if f%4 < 2 { // appear two frames, vanish two: every appearance is a new track
			dets = append(dets, detect.Detection{Box: detect.Box{X: 50, Y: 50, W: 80, H: 40}, Score: 0.9})
		}
		ids, ended := tr.Update(dets)
		for _, id := range ended {
			seen[id] = true
		}
		for _, id := range ids {
			if id < last || (id != last && seen[id]) {
				t.Fatalf("frame %d: id %d after %d (ended: %v)", f, id, last, seen)
			}
			last = id
		}
	}
	if last < 10 {
		t.Errorf("last id %d, want a new id per appearance", last)
	}
	if tr.Flush(); tr.Live() != 0 {
		t.Errorf("Flush left %d live", tr.Live())
	}
}

func TestIoU(t *testing.T) {
	tests := []struct {
		a, b detect.Box
		want float64
	}{
		{detect.Box{X: 0, Y: 0, W: 10, H: 10}, detect.Box{X: 0, Y: 0, W: 10, H: 10}, 1},
		{detect.Box{X: 0, Y: 0, W: 10, H: 10}, detect.Box{X: 5, Y: 0, W: 10, H: 10}, 50.0 / 150},
		{detect.Box{X: 0, Y: 0, W: 10, H: 10}, detect.Box{X: 10, Y: 0, W: 10, H: 10}, 0},
		{detect.Box{}, detect.Box{}, 0},
	}
	for _, tt := range tests {
		t.Run("", func(t *testing.T) {
			if got := IoU(tt.a, tt.b); got != tt.want {
				t.Errorf("IoU = %v, want %v", got, tt.want)
			}
		})
	}
}
