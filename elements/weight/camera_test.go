package weight

import (
	"math"
	"testing"

	"github.com/pigweight/pigweight/elements/detect"
)

func TestFocalAndScale(t *testing.T) {
	tests := []struct {
		name        string
		cam         Camera
		frameW      int
		focal, ppm  float64
		wantNoFocal bool
	}{
		{"90 degrees", Camera{HeightM: 3, FOVDeg: 90}, 1280, 640, 640.0 / 3, false},
		{"60 degrees", Camera{HeightM: 2, FOVDeg: 60}, 1000, 500 / math.Tan(math.Pi/6), 500 / math.Tan(math.Pi/6) / 2, false},
		{"scale alone", Camera{PixelsPerMetre: 200}, 1280, 0, 200, true},
		{"scale and height", Camera{PixelsPerMetre: 200, HeightM: 3}, 1280, 600, 200, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cam.FocalPx(tt.frameW); math.Abs(got-tt.focal) > 1e-9 {
				t.Errorf("FocalPx = %v, want %v", got, tt.focal)
			}
			if got := tt.cam.FloorScale(tt.frameW); math.Abs(got-tt.ppm) > 1e-9 {
				t.Errorf("FloorScale = %v, want %v", got, tt.ppm)
			}
		})
	}
}

func TestBackHeight(t *testing.T) {
	tests := []struct {
		kg, lo, hi float64
	}{
		{30, 0.44, 0.46},
		{110, 0.68, 0.71},
		{0, 0, 0},
	}
	for _, tt := range tests {
		t.Run("", func(t *testing.T) {
			if h := BackHeight(tt.kg); h < tt.lo || h > tt.hi {
				t.Errorf("BackHeight(%v) = %v, want [%v, %v]", tt.kg, h, tt.lo, tt.hi)
			}
		})
	}
}

// rectangle returns the corners of a w×l metre rectangle centred at (x, y) on the floor plane
// at height z, imaged by c.
func rectangle(c testCamera, x, y, w, l, z float64) [][2]float64 {
	return [][2]float64{
		c.project(x-w/2, y-l/2, z), c.project(x+w/2, y-l/2, z),
		c.project(x+w/2, y+l/2, z), c.project(x-w/2, y+l/2, z),
	}
}

func toContour(pts [][2]float64) [][2]float32 {
	out := make([][2]float32, len(pts))
	for i, p := range pts {
		out[i] = [2]float32{float32(p[0]), float32(p[1])}
	}
	return out
}

// TestFloorAreaRectangle images a 1.0 × 0.4 m box (a flat plate at a known height, then a
// solid block standing on the floor) and checks the area comes back.
func TestFloorAreaRectangle(t *testing.T) {
	cam := testCamera{heightM: 3, fovDeg: 90, w: 1280, h: 720}
	const w, l, want = 1.0, 0.4, 0.4
	tests := []struct {
		name  string
		x, y  float64
		z     float64
		solid bool // a block down to the floor, not a plate: its near sides show
	}{
		{"plate on the floor at the nadir", 0, 0, 0, false},
		{"plate 0.6 m high at the nadir", 0, 0, 0.6, false},
		{"block 0.6 m high at the nadir", 0, 0, 0.6, true},
		{"block 0.6 m high off-axis right", 1.5, 0, 0.6, true},
		{"block 0.7 m high off-axis corner", -1.4, -0.6, 0.7, true},
		{"block 0.45 m high far corner", 1.8, 0.7, 0.45, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pts := rectangle(cam, tt.x, tt.y, w, l, tt.z)
			if tt.solid {
				pts = convexHull(append(pts, rectangle(cam, tt.x, tt.y, w, l, 0)...))
			}
			contour := toContour(pts)
			px := math.Abs(polygonArea(contour))
			got := cam.config().FloorAreaContour(px, contour, cam.w, cam.h, tt.z)
			if math.Abs(got-want)/want > 1e-4 {
				t.Errorf("FloorAreaContour = %.5f m², want %.5f", got, want)
			}
		})
	}
}

// TestFloorAreaBox checks the box-only path on a standing ellipse prism: the flank is measured
// on the box's inscribed ellipse, which is what the pig's outline is.
func TestFloorAreaBox(t *testing.T) {
	cam := testCamera{heightM: 3, fovDeg: 90, w: 1280, h: 720}
	for _, p := range []testPig{
		{x: 0, y: 0, areaM2: 0.3, aspect: 3, backM: 0.65},
		{x: 1.4, y: 0, areaM2: 0.3, aspect: 3, backM: 0.65},
		{x: 0, y: 0.8, heading: math.Pi / 2, areaM2: 0.15, aspect: 2.6, backM: 0.46},
		{x: -1.2, y: -0.6, areaM2: 0.2, aspect: 2.8, backM: 0.55},
	} {
		t.Run("", func(t *testing.T) {
			d := cam.detection(p, 0.9, false)
			got := cam.config().FloorArea(float64(d.Area), d.Box, cam.w, cam.h, p.backM)
			if e := math.Abs(got-p.areaM2) / p.areaM2; e > 0.03 {
				t.Errorf("FloorArea = %.4f m², want %.4f (%.1f%% off)", got, p.areaM2, 100*e)
			}
		})
	}
}

func TestFloorAreaScaleOnly(t *testing.T) {
	c := Camera{PixelsPerMetre: 200}
	got := c.FloorArea(200*200*0.3, detect.Box{X: 900, Y: 10, W: 200, H: 100}, 1280, 720, 0.7)
	if math.Abs(got-0.3) > 1e-12 {
		t.Errorf("FloorArea = %v, want 0.3 (no correction without geometry)", got)
	}
}

func TestFlankMoment(t *testing.T) {
	// A 10×20 px rectangle whose left side is 30 px right of the point: only that side faces
	// the point, |p × dp| = 30·20.
	rect := [][2]float32{{30, -10}, {40, -10}, {40, 10}, {30, 10}}
	tests := []struct {
		name   string
		pts    [][2]float32
		cx, cy float64
		want   float64
	}{
		{"one facing side", rect, 0, 0, 600},
		{"reversed orientation", [][2]float32{rect[3], rect[2], rect[1], rect[0]}, 0, 0, 600},
		{"point inside", rect, 35, 0, 0},
		{"corner view", rect, 0, -40, 30*20 + 30*10}, // the top side (y=-10, 30 away) and the left
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := flankMoment(tt.pts, tt.cx, tt.cy); math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("flankMoment = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOutlineMeasures(t *testing.T) {
	var s outlineScratch
	tests := []struct {
		name     string
		contour  [][2]float32
		elong    float64
		solidity float64
	}{
		{"ellipse 3:1", ellipseContour(300, 200, 90, 30, 0.4, 90), 3, 1},
		{"circle", ellipseContour(300, 200, 40, 40, 0, 90), 1, 1},
		{"rectangle 4:1", [][2]float32{{0, 0}, {80, 0}, {80, 20}, {0, 20}}, 4, 1},
		// An L: two 40×10 bars; hull area = 40·40 − the missing triangle (30·30/2).
		{"L shape", [][2]float32{{0, 0}, {40, 0}, {40, 10}, {10, 10}, {10, 40}, {0, 40}}, 0, 700.0 / (1600 - 450)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			area := math.Abs(polygonArea(tt.contour))
			got := s.measureContour(tt.contour, area, 1e4, 1e4, 1)
			if tt.elong > 0 && math.Abs(got.elongation-tt.elong)/tt.elong > 0.01 {
				t.Errorf("elongation = %v, want %v", got.elongation, tt.elong)
			}
			if math.Abs(got.solidity-tt.solidity) > 0.01 {
				t.Errorf("solidity = %v, want %v", got.solidity, tt.solidity)
			}
		})
	}
}

// TestOutlineFlankUndone checks that a standing pig near the frame's edge, whose silhouette
// is widened by its flank, still measures as elongated once the flank is undone.
func TestOutlineFlankUndone(t *testing.T) {
	cam := testCamera{heightM: 3, fovDeg: 90, w: 1280, h: 720}
	p := testPig{x: 1.9, y: 0, heading: math.Pi / 2, areaM2: 0.3, aspect: 3, backM: 0.67}
	d := cam.detection(p, 0.9, true)
	var s outlineScratch
	raw := s.measureContour(d.Contour, float64(d.Area), 640, 360, 1)
	fixed := s.measureContour(d.Contour, float64(d.Area), 640, 360, 1-p.backM/cam.heightM)
	if raw.elongation > 2.2 {
		t.Fatalf("test scene too mild: raw elongation %.2f", raw.elongation)
	}
	if math.Abs(fixed.elongation-3)/3 > 0.08 {
		t.Errorf("elongation with the flank undone = %.2f, want about 3 (raw %.2f)", fixed.elongation, raw.elongation)
	}
	proj := cam.config().projection(cam.w, cam.h)
	back := proj.backBox(d.Box, 1-p.backM/cam.heightM)
	b := measureBox(d.Box, back, float64(d.Area), 0.3*math.Pow(cam.focal()/(cam.heightM-p.backM), 2))
	if math.Abs(b.elongation-3)/3 > 0.1 {
		t.Errorf("box elongation with the flank undone = %.2f, want about 3", b.elongation)
	}
}
