package weight

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/pigweight/pigweight/elements/detect"
)

// walker is a pig walking a straight line across the test scene.
type walker struct {
	weightKg       float64
	aspect         float64
	x0, y0, vx, vy float64 // floor metres, metres per second
	startS, durS   float64 // when it is in the scene
	law            Calibration
}

// pig returns the walker's pig at time s (seconds), false when it is not in the scene.
func (w walker) pig(s float64) (testPig, bool) {
	if s < w.startS || s >= w.startS+w.durS {
		return testPig{}, false
	}
	dt := s - w.startS
	law := w.law
	if law.A == 0 {
		law = DefaultCalibration()
	}
	return testPig{
		x: w.x0 + w.vx*dt, y: w.y0 + w.vy*dt,
		heading: math.Atan2(w.vy, w.vx) + 0.08*math.Sin(3*dt),       // a little sway
		areaM2:  law.AreaM2(w.weightKg) * (1 + 0.03*math.Sin(5*dt)), // breathing, head up and down
		aspect:  w.aspect,
		backM:   BackHeight(w.weightKg),
	}, true
}

var sceneStart = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

// film returns the frames of walkers filmed by cam at fps for durS seconds.
func film(cam testCamera, walkers []walker, fps, durS float64, contours bool) []Frame {
	var frames []Frame
	for i := 0; float64(i) < durS*fps; i++ {
		s := float64(i) / fps
		f := Frame{Time: sceneStart.Add(time.Duration(s * float64(time.Second))), Width: cam.w, Height: cam.h}
		for _, w := range walkers {
			if p, ok := w.pig(s); ok {
				f.Detections = append(f.Detections, cam.detection(p, 0.9, contours))
			}
		}
		frames = append(frames, f)
	}
	return frames
}

// lanes returns walkers crossing the view left to right, one per lane, in two waves.
func lanes(weights []float64, rng *rand.Rand, diagonal bool) []walker {
	var ws []walker
	for i, kg := range weights {
		lane := i % 4
		wave := i / 4
		dir := 1.0
		if lane%2 == 1 {
			dir = -1
		}
		w := walker{
			weightKg: kg, aspect: 2.5 + 0.6*rng.Float64(),
			x0: -2.6 * dir, y0: -0.95 + 0.63*float64(lane), vx: 0.55 * dir, vy: 0.02 * (rng.Float64() - 0.5),
			startS: float64(wave) * 12, durS: 10,
		}
		if diagonal { // corner to corner, one pig at a time so that they never meet
			w.x0, w.y0, w.vx, w.vy = -2.2*dir, -1.3, 0.42*dir, 0.26
			w.startS, w.durS = float64(i)*11, 10
		}
		ws = append(ws, w)
	}
	return ws
}

func observeAll(e *Estimator, frames []Frame) []Visit {
	var visits []Visit
	for _, f := range frames {
		_, ended := e.Observe(f)
		visits = append(visits, ended...)
	}
	return append(visits, e.Flush(frames[len(frames)-1].Time)...)
}

// TestEstimatorRecoversWeight films pigs of known weight walking through several cameras
// (each with its own projection, built here) and checks every visit's weight.
func TestEstimatorRecoversWeight(t *testing.T) {
	weights := []float64{28, 45, 62, 80, 95, 110, 38, 120}
	tests := []struct {
		name     string
		cam      testCamera
		contours bool
		diagonal bool
		tol      float64
	}{
		{"3 m, 90°, 1280×720, contours", testCamera{3, 90, 1280, 720}, true, false, 0.03},
		{"2.6 m, 100°, 1920×1080, contours", testCamera{2.6, 100, 1920, 1080}, true, false, 0.03},
		{"4 m, 70°, 640×480, contours", testCamera{4, 70, 640, 480}, true, false, 0.03},
		{"3 m, 90°, 1280×720, boxes only", testCamera{3, 90, 1280, 720}, false, false, 0.05},
		{"3 m, 90°, 1280×720, contours, diagonal", testCamera{3, 90, 1280, 720}, true, true, 0.03},
		// A known limit: from a box alone it cannot be told which diagonal a turned pig lies
		// along, and off-axis that decides how much flank shows. Pigs walking towards the nadir
		// show the least flank and are underestimated by up to a fifth.
		{"3 m, 90°, 1280×720, boxes only, diagonal", testCamera{3, 90, 1280, 720}, false, true, 0.22},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			ws := lanes(weights, rng, tt.diagonal)
			frames := film(tt.cam, ws, 10, ws[len(ws)-1].startS+ws[len(ws)-1].durS+1, tt.contours)
			e := NewEstimator(Config{Pen: "p", Camera: tt.cam.config()}, Calibration{})
			visits := observeAll(e, frames)
			if len(visits) != len(ws) {
				t.Fatalf("%d visits, want %d: %+v", len(visits), len(ws), visits)
			}
			slices.SortFunc(visits, func(a, b Visit) int { return int(a.Track - b.Track) })
			for _, v := range visits {
				want := truth(tt.cam, ws, v)
				t.Logf("visit %d: %.1f kg, pig %.0f kg, %d/%d good", v.Track, v.WeightKg, want, v.GoodFrames, v.Frames)
				if e := math.Abs(v.WeightKg-want) / want; e > tt.tol || v.GoodFrames < 20 {
					t.Errorf("visit %d: %.1f kg from %d/%d good frames, pig %.0f kg (%.1f%% off)",
						v.Track, v.WeightKg, v.GoodFrames, v.Frames, want, 100*e)
				}
			}
			st := e.Stats()
			t.Logf("stats %+v", st)
			if st.Visits != int64(len(ws)) || st.VisitsWithoutWeight != 0 || st.Good == 0 || st.Rejected.Edge == 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// truth returns the weight of the walker that visit v saw: the one nearest its box at its
// representative time.
func truth(cam testCamera, ws []walker, v Visit) float64 {
	s := v.Time.Sub(sceneStart).Seconds()
	bx, by := centre(v.Box)
	best, bestD := 0.0, math.Inf(1)
	for _, w := range ws {
		p, ok := w.pig(s)
		if !ok {
			continue
		}
		c := cam.project(p.x, p.y, p.backM)
		if d := math.Hypot(c[0]-bx, c[1]-by); d < bestD {
			best, bestD = w.weightKg, d
		}
	}
	return best
}

func TestEstimatorVisits(t *testing.T) {
	cam := testCamera{3, 90, 1280, 720}
	e := NewEstimator(Config{Pen: "pen-7", Camera: cam.config(), MinGoodFrames: 5, TrackMemoryFrames: 3}, Calibration{})
	p := testPig{x: 0.2, y: 0.1, areaM2: 0.25, aspect: 2.8, backM: BackHeight(DefaultCalibration().WeightKg(0.25))}
	var ended []Visit
	var last []Estimate
	for i := range 4 { // too few good frames for a weight
		f := Frame{Time: sceneStart.Add(time.Duration(i) * 100 * time.Millisecond), Width: cam.w, Height: cam.h,
			Detections: []detect.Detection{cam.detection(p, 0.9, true)}}
		last, ended = e.Observe(f)
		if len(ended) != 0 {
			t.Fatalf("frame %d ended %v", i, ended)
		}
	}
	if len(last) != 1 || last[0].Track != 1 || last[0].Gate != "" || last[0].WeightKg == 0 {
		t.Errorf("estimates %+v, want track 1, good, weighed after %d frames", last, MinEstimateFrames)
	}
	for i := 4; i < 8; i++ { // gone: ends after the memory
		_, end := e.Observe(Frame{Time: sceneStart.Add(time.Duration(i) * 100 * time.Millisecond), Width: cam.w, Height: cam.h})
		ended = append(ended, end...)
	}
	if len(ended) != 1 {
		t.Fatalf("ended %+v, want one visit", ended)
	}
	v := ended[0]
	if v.Pen != "pen-7" || v.Track != 1 || v.WeightKg != 0 || v.GoodFrames != 4 || v.Frames != 4 ||
		!v.Start.Equal(sceneStart) || !v.End.Equal(sceneStart.Add(300*time.Millisecond)) || v.AreaM2 == 0 || v.Time.IsZero() || len(v.Path) == 0 {
		t.Errorf("visit %+v", v)
	}
	if st := e.Stats(); st.Visits != 1 || st.VisitsWithoutWeight != 1 || st.Frames != 8 || st.Masks != 4 || st.Good != 4 {
		t.Errorf("stats %+v", st)
	}
}

func TestEstimatorCalibration(t *testing.T) {
	e := NewEstimator(Config{}, Calibration{A: -1})
	if got := e.Calibration(); got.A != DefaultA || got.Method != "default" {
		t.Errorf("unusable calibration kept: %+v", got)
	}
	e.SetCalibration(Calibration{A: 400, B: 1.3, Method: "a and b"})
	if got := e.Calibration(); got.A != 400 || got.B != 1.3 {
		t.Errorf("SetCalibration not applied: %+v", got)
	}
}

// TestEstimatorPath checks the visit's path is thinned, not unbounded, on a long visit.
func TestEstimatorPath(t *testing.T) {
	cam := testCamera{3, 90, 1280, 720}
	e := NewEstimator(Config{Camera: cam.config()}, Calibration{})
	p := testPig{areaM2: 0.25, aspect: 2.8, backM: 0.6}
	for i := range 3000 { // 10 minutes at 5 fps
		e.Observe(Frame{Time: sceneStart.Add(time.Duration(i) * 200 * time.Millisecond), Width: cam.w, Height: cam.h,
			Detections: []detect.Detection{cam.detection(p, 0.9, true)}})
	}
	v := e.Flush(time.Time{})
	if len(v) != 1 || len(v[0].Path) > MaxPathPoints || len(v[0].Path) < MaxPathPoints/2 || v[0].GoodFrames != 3000 {
		t.Fatalf("visit path %d points, good %d", len(v[0].Path), v[0].GoodFrames)
	}
	for i := 1; i < len(v[0].Path); i++ {
		if !v[0].Path[i].Time.After(v[0].Path[i-1].Time) {
			t.Fatalf("path not in time order at %d", i)
		}
	}
}

func BenchmarkObserve(b *testing.B) {
	cam := testCamera{3, 90, 1280, 720}
	rng := rand.New(rand.NewPCG(3, 4))
	var ws []walker
	for i := range 12 {
		ws = append(ws, walker{
			weightKg: 40 + 70*rng.Float64(), aspect: 2.8,
			x0: -1.8 + 0.6*float64(i%6), y0: -0.7 + 1.3*float64(i/6), // standing, swaying
			startS: 0, durS: 1e9,
		})
	}
	frames := film(cam, ws, 10, 10, true)
	if n := len(frames[0].Detections); n != 12 {
		b.Fatalf("%d detections", n)
	}
	e := NewEstimator(Config{Camera: cam.config()}, Calibration{})
	for _, f := range frames { // warm: tracks, pen distribution
		e.Observe(f)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		f := frames[i%len(frames)]
		f.Time = sceneStart.Add(time.Duration(i+len(frames)) * 100 * time.Millisecond)
		e.Observe(f)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/12/1000, "µs/detection")
	if st := e.Stats(); st.Tracks != 12 {
		b.Errorf("tracks %d; %s", st.Tracks, fmt.Sprint(st))
	}
}
