package weight

import (
	"cmp"
	"math"
	"slices"

	"github.com/pigweight/pigweight/elements/detect"
)

// Tracker thresholds, after ByteTrack (Zhang et al., "ByteTrack: Multi-Object Tracking by
// Associating Every Detection Box", ECCV 2022): confident detections are matched first with
// a lenient IoU, then the less confident ones may only extend a track they overlap well, so
// that a pig the model half-loses (occluded, in shadow) keeps its track without its doubtful
// detections starting new ones.
const (
	// trackMatchIoU is the least IoU between a track's predicted box and a confident detection.
	trackMatchIoU = 0.2
	// trackRescueIoU is the least IoU for a low-score detection to extend a track.
	trackRescueIoU = 0.5
	// trackJumpFactor bounds the centroid fallback: a confident detection that overlaps no
	// track may still take an unmatched one seen at most trackJumpMissed frames ago whose
	// predicted centre is within this many times the track's longer box side per frame gone:
	// a pig that moved fast, or at a low frame rate, between frames. Older tracks must
	// overlap: a pig that left the view long ago is not the one that just entered elsewhere.
	trackJumpFactor = 0.75
	trackJumpMissed = 1
	// trackPredictFrames caps how many frames of velocity a lost track's prediction adds: a
	// pig hidden behind another usually stops, and a long extrapolation would run off.
	trackPredictFrames = 3
)

// Tracker follows objects from frame to frame by their boxes. Ids start at 1, increase and are
// never reused. It is not safe for concurrent use.
type Tracker struct {
	highScore float32
	memory    int
	nextID    int64
	tracks    []*trackBox // live tracks, in creation order

	// scratch, reused between frames
	ids       []int64
	ended     []int64
	pairs     []trackPair
	detUsed   []bool
	trackUsed []bool
}

// trackBox is one live track's motion state.
type trackBox struct {
	id     int64
	box    detect.Box
	vx, vy float64 // centre velocity, pixels per frame
	missed int     // frames in a row without a detection
	hits   int
	pred   detect.Box // this frame's predicted box
}

type trackPair struct {
	t, d int
	cost float64 // lower is better: -IoU, or a distance
}

// NewTracker returns a tracker in which detections scoring at least highScore may start
// tracks, and a track ends after more than memoryFrames frames in a row without a detection.
func NewTracker(highScore float64, memoryFrames int) *Tracker {
	return &Tracker{highScore: float32(highScore), memory: max(memoryFrames, 0), nextID: 1}
}

// Update associates one frame's detections with the tracks. It returns each detection's track
// id (0 for a low-score detection no track claimed) and the ids of the tracks that ended,
// lost for longer than the memory. Both slices are the tracker's own, valid until the next
// call.
func (t *Tracker) Update(dets []detect.Detection) (ids []int64, ended []int64) {
	nt, nd := len(t.tracks), len(dets)
	t.ids = slices.Grow(t.ids[:0], nd)[:nd]
	clear(t.ids)
	t.ended = t.ended[:0]
	t.detUsed = resetBools(t.detUsed, nd)
	t.trackUsed = resetBools(t.trackUsed, nt)

	for _, tr := range t.tracks {
		steps := float64(min(tr.missed+1, trackPredictFrames))
		tr.pred = tr.box
		tr.pred.X += float32(tr.vx * steps)
		tr.pred.Y += float32(tr.vy * steps)
	}

	// 1. Confident detections by IoU, best first.
	t.pairs = t.pairs[:0]
	for ti, tr := range t.tracks {
		for di := range dets {
			if dets[di].Score < t.highScore {
				continue
			}
			if iou := IoU(tr.pred, dets[di].Box); iou >= trackMatchIoU {
				t.pairs = append(t.pairs, trackPair{ti, di, -iou})
			}
		}
	}
	t.assign(dets)

	// 2. Low-score detections rescue the tracks still unmatched, if they overlap them well.
	t.pairs = t.pairs[:0]
	for ti, tr := range t.tracks {
		if t.trackUsed[ti] {
			continue
		}
		for di := range dets {
			if t.detUsed[di] || dets[di].Score >= t.highScore {
				continue
			}
			if iou := IoU(tr.pred, dets[di].Box); iou >= trackRescueIoU {
				t.pairs = append(t.pairs, trackPair{ti, di, -iou})
			}
		}
	}
	t.assign(dets)

	// 3. Centroid fallback: a confident detection overlapping no track takes the nearest
	// unmatched track of a similar size within reach.
	t.pairs = t.pairs[:0]
	for ti, tr := range t.tracks {
		if t.trackUsed[ti] || tr.missed > trackJumpMissed {
			continue
		}
		side := float64(max(tr.box.W, tr.box.H))
		reach := side * trackJumpFactor * float64(tr.missed+1)
		tcx, tcy := centre(tr.pred)
		ta := float64(tr.box.W) * float64(tr.box.H)
		for di := range dets {
			d := &dets[di]
			if t.detUsed[di] || d.Score < t.highScore {
				continue
			}
			if r := float64(d.Box.W) * float64(d.Box.H) / ta; !(r >= 0.5 && r <= 2) {
				continue
			}
			dcx, dcy := centre(d.Box)
			if dist := math.Hypot(dcx-tcx, dcy-tcy); dist <= reach {
				t.pairs = append(t.pairs, trackPair{ti, di, dist})
			}
		}
	}
	t.assign(dets)

	// Unmatched tracks age and may end; unmatched confident detections start tracks.
	live := t.tracks[:0]
	for ti, tr := range t.tracks {
		if !t.trackUsed[ti] {
			tr.missed++
			if tr.missed > t.memory {
				t.ended = append(t.ended, tr.id)
				continue
			}
		}
		live = append(live, tr)
	}
	clear(t.tracks[len(live):]) // drop ended tracks' pointers
	t.tracks = live
	for di := range dets {
		if t.detUsed[di] || dets[di].Score < t.highScore {
			continue
		}
		tr := &trackBox{id: t.nextID, box: dets[di].Box, hits: 1}
		t.nextID++
		t.tracks = append(t.tracks, tr)
		t.ids[di] = tr.id
	}
	return t.ids, t.ended
}

// Flush ends every live track and returns their ids (the tracker's own slice, valid until the
// next call).
func (t *Tracker) Flush() []int64 {
	t.ended = t.ended[:0]
	for _, tr := range t.tracks {
		t.ended = append(t.ended, tr.id)
	}
	clear(t.tracks)
	t.tracks = t.tracks[:0]
	return t.ended
}

// Live returns how many tracks are live (seen within the memory).
func (t *Tracker) Live() int { return len(t.tracks) }

// assign matches t.pairs greedily, lowest cost first, among tracks and detections still free,
// and moves each matched track to its detection.
func (t *Tracker) assign(dets []detect.Detection) {
	slices.SortFunc(t.pairs, func(a, b trackPair) int {
		if c := cmp.Compare(a.cost, b.cost); c != 0 {
			return c
		}
		// Ties (identical boxes) go to the older track, then the earlier detection, so that
		// results never depend on the sort's internals.
		if c := cmp.Compare(a.t, b.t); c != 0 {
			return c
		}
		return cmp.Compare(a.d, b.d)
	})
	for _, p := range t.pairs {
		if t.trackUsed[p.t] || t.detUsed[p.d] {
			continue
		}
		t.trackUsed[p.t], t.detUsed[p.d] = true, true
		tr := t.tracks[p.t]
		t.ids[p.d] = tr.id
		ox, oy := centre(tr.box)
		nx, ny := centre(dets[p.d].Box)
		gap := float64(tr.missed + 1)
		vx, vy := (nx-ox)/gap, (ny-oy)/gap
		if tr.hits == 1 {
			tr.vx, tr.vy = vx, vy
		} else {
			// Smoothed, so that one jittery mask does not throw the next prediction.
			tr.vx, tr.vy = 0.5*tr.vx+0.5*vx, 0.5*tr.vy+0.5*vy
		}
		tr.box = dets[p.d].Box
		tr.missed = 0
		tr.hits++
	}
}

// IoU returns the intersection over union of two boxes, 0 when either is empty.
func IoU(a, b detect.Box) float64 {
	ix := min(a.X+a.W, b.X+b.W) - max(a.X, b.X)
	iy := min(a.Y+a.H, b.Y+b.H) - max(a.Y, b.Y)
	if ix <= 0 || iy <= 0 {
		return 0
	}
	inter := float64(ix) * float64(iy)
	union := float64(a.W)*float64(a.H) + float64(b.W)*float64(b.H) - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}

func centre(b detect.Box) (float64, float64) {
	return float64(b.X) + float64(b.W)/2, float64(b.Y) + float64(b.H)/2
}

func resetBools(b []bool, n int) []bool {
	b = slices.Grow(b[:0], n)[:n]
	clear(b)
	return b
}
