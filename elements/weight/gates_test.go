package weight

import (
	"math"
	"testing"
	"time"

	"github.com/pigweight/pigweight/elements/detect"
)

// gateCam is the camera of the gate tests.
var gateCam = testCamera{heightM: 3, fovDeg: 90, w: 1280, h: 720}

// herd is eight standing pigs of 0.25 m², far enough apart never to touch.
func herd() []detect.Detection {
	var out []detect.Detection
	for _, x := range []float64{-1.6, -0.55, 0.55, 1.6} {
		for _, y := range []float64{-0.75, 0.75} {
			out = append(out, gateCam.detection(testPig{x: x, y: y, areaM2: 0.25, aspect: 2.8, backM: 0.58}, 0.9, true))
		}
	}
	return out
}

// judgeInPen shows the herd for warm frames (so that the pen's distribution exists when
// warm > 0), then the herd with extra, and returns the gate extra got.
func judgeInPen(t *testing.T, cfg Config, warm int, withHerd bool, extra detect.Detection) Gate {
	t.Helper()
	cfg.Camera = gateCam.config()
	e := NewEstimator(cfg, Calibration{})
	at := func(i int) time.Time { return sceneStart.Add(time.Duration(i) * 100 * time.Millisecond) }
	var dets []detect.Detection
	if withHerd {
		dets = herd()
	}
	for i := range warm {
		est, _ := e.Observe(Frame{Time: at(i), Width: gateCam.w, Height: gateCam.h, Detections: dets})
		for j, es := range est {
			if es.Gate != "" {
				t.Fatalf("warm frame %d: herd pig %d refused by %q", i, j, es.Gate)
			}
		}
	}
	est, _ := e.Observe(Frame{Time: at(warm), Width: gateCam.w, Height: gateCam.h, Detections: append(dets, extra)})
	return est[len(est)-1].Gate
}

// uShape is a U of pixels: a pig with a bite taken out of it (occluded by a trough, say).
func uShape(x, y float32) [][2]float32 {
	return [][2]float32{{x, y}, {x + 150, y}, {x + 150, y + 80}, {x + 110, y + 80}, {x + 110, y + 20}, {x + 40, y + 20}, {x + 40, y + 80}, {x, y + 80}}
}

func TestGates(t *testing.T) {
	centrePig := func(area, aspect float64) detect.Detection {
		return gateCam.detection(testPig{x: 0, y: 0, heading: 0.3, areaM2: area, aspect: aspect, backM: 0.58}, 0.9, true)
	}
	lowScore := centrePig(0.25, 2.8)
	lowScore.Score = 0.3
	boxOnly := boxDetection(560, 300, 200, 200, 0.9)
	boxOnly.Area = 5000 // an eighth of its box
	roi := ROI{X: 100, Y: 100, W: 1080, H: 520}
	tests := []struct {
		name     string
		cfg      Config
		warm     int
		withHerd bool
		det      detect.Detection
		want     Gate
	}{
		{"a standing pig passes", Config{}, 4, true, centrePig(0.25, 2.8), ""},
		{"a standing pig passes alone", Config{}, 0, false, centrePig(0.25, 2.8), ""},
		{"score", Config{}, 0, false, lowScore, GateScore},
		{"edge: cut by the frame's left border", Config{}, 0, false, contourDetection(ellipseContour(60, 360, 80, 30, 0, 48), 0.9), GateEdge},
		{"edge: cut by the frame's bottom", Config{}, 0, false, contourDetection(ellipseContour(640, 700, 80, 30, 0, 48), 0.9), GateEdge},
		{"edge: cut by the ROI's edge", Config{ROI: roi}, 0, false, contourDetection(ellipseContour(150, 360, 80, 30, 0, 48), 0.9), GateEdge},
		{"roi: outside it", Config{ROI: roi}, 0, false, contourDetection(ellipseContour(60, 360, 40, 15, 0, 48), 0.9), GateROI},
		{"roi: inside passes", Config{ROI: roi}, 0, false, centrePig(0.25, 2.8), ""},
		{"shape: not solid", Config{}, 0, false, contourDetection(uShape(560, 320), 0.9), GateShape},
		{"shape: a sliver", Config{}, 0, false, contourDetection(ellipseContour(640, 360, 150, 20, 0.2, 64), 0.9), GateShape},
		{"shape: box barely filled", Config{}, 0, false, boxOnly, GateShape},
		{"area: two pigs merged", Config{}, 4, true, centrePig(0.5, 2.4), GateArea},
		{"area: half a pig", Config{}, 4, true, centrePig(0.11, 2.8), GateArea},
		{"area: no gate before the pen is known", Config{}, 0, false, centrePig(0.5, 2.4), ""},
		{"lying: curled up", Config{}, 0, false, centrePig(0.25, 1.25), GateLying},
		{"lying: on its side, wide and large", Config{}, 4, true, centrePig(0.36, 1.8), GateLying},
		{"lying: wide alone is not enough", Config{}, 4, true, centrePig(0.25, 1.8), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := judgeInPen(t, tt.cfg, tt.warm, tt.withHerd, tt.det); got != tt.want {
				t.Errorf("gate %q, want %q", got, tt.want)
			}
		})
	}
}

// TestTrackAreaGate checks a track's own median refuses a mask that jumps away from it (a
// neighbour merging in) when there are too few pigs for the pen's distribution.
func TestTrackAreaGate(t *testing.T) {
	e := NewEstimator(Config{Camera: gateCam.config()}, Calibration{})
	p := testPig{x: 0.3, y: 0.2, areaM2: 0.25, aspect: 2.8, backM: 0.58}
	for i := range MinTrackAreaSamples + 2 {
		p.x += 0.01
		est, _ := e.Observe(Frame{Time: sceneStart.Add(time.Duration(i) * 100 * time.Millisecond), Width: gateCam.w, Height: gateCam.h,
			Detections: []detect.Detection{gateCam.detection(p, 0.9, true)}})
		if est[0].Gate != "" {
			t.Fatalf("frame %d refused by %q", i, est[0].Gate)
		}
	}
	big := p
	big.areaM2 *= 1.45
	big.aspect = 2.4
	est, _ := e.Observe(Frame{Time: sceneStart.Add(2 * time.Second), Width: gateCam.w, Height: gateCam.h,
		Detections: []detect.Detection{gateCam.detection(big, 0.9, true)}})
	if est[0].Gate != GateArea || est[0].Track != 1 {
		t.Errorf("estimate %+v, want track 1 refused by %q", est[0], GateArea)
	}
	if got := e.Stats().Rejected; got.Area != 1 || got.Total() != 1 {
		t.Errorf("rejected %+v", got)
	}
}

func TestGateCounts(t *testing.T) {
	var c GateCounts
	for _, g := range []Gate{GateScore, GateROI, GateEdge, GateEdge, GateShape, GateArea, GateArea, GateArea, GateLying, "", "bogus"} {
		c.Add(g)
	}
	want := map[Gate]int64{GateScore: 1, GateROI: 1, GateEdge: 2, GateShape: 1, GateArea: 3, GateLying: 1, "": 0}
	for g, n := range want {
		if got := c.Count(g); got != n {
			t.Errorf("Count(%q) = %d, want %d", g, got, n)
		}
	}
	if c.Total() != 9 {
		t.Errorf("Total = %d, want 9", c.Total())
	}
}

func TestShapeOfHerd(t *testing.T) {
	// Standing pigs anywhere in the frame, turned any way, must look standing: the flank
	// correction keeps them elongated.
	var s outlineScratch
	for _, x := range []float64{-2.0, -1.0, 0, 1.0, 2.0} {
		for _, y := range []float64{-0.9, 0, 0.9} {
			for _, heading := range []float64{0, math.Pi / 4, math.Pi / 2, 3 * math.Pi / 4} {
				p := testPig{x: x, y: y, heading: heading, areaM2: 0.28, aspect: 2.6, backM: 0.62}
				d := gateCam.detection(p, 0.9, true)
				sh := s.measureContour(d.Contour, float64(d.Area), 640, 360, 1-p.backM/gateCam.heightM)
				if shapeGate(sh) || lyingGate(sh, p.areaM2, p.areaM2) {
					t.Errorf("pig at (%.1f, %.1f) heading %.2f: solidity %.3f elongation %.2f refused", x, y, heading, sh.solidity, sh.elongation)
				}
			}
		}
	}
}
