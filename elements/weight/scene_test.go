package weight

import (
	"math"
	"slices"

	"github.com/pigweight/pigweight/elements/detect"
)

// The tests' own synthetic camera: a pinhole looking straight down, pigs as elliptical prisms
// (a back outline of known area at a known height, extruded to the floor). It shares nothing
// with the package's geometry code but the model's definition, so a test that recovers a pig's
// area through the estimator checks the inversion, not a copy of it.

type testCamera struct {
	heightM float64 // lens height
	fovDeg  float64 // across the width
	w, h    int     // frame size
}

func (c testCamera) focal() float64 {
	return float64(c.w) / 2 / math.Tan(c.fovDeg/2*math.Pi/180)
}

func (c testCamera) config() Camera { return Camera{HeightM: c.heightM, FOVDeg: c.fovDeg} }

// project maps a point (x, y) metres from the nadir at height z to frame pixels.
func (c testCamera) project(x, y, z float64) [2]float64 {
	s := c.focal() / (c.heightM - z)
	return [2]float64{float64(c.w)/2 + x*s, float64(c.h)/2 + y*s}
}

// testPig is a standing pig in the test scene.
type testPig struct {
	x, y    float64 // centre on the floor, metres from the nadir
	heading float64 // radians
	areaM2  float64 // back outline area
	aspect  float64 // back length ÷ width
	backM   float64 // back height
}

// detection images pig p as a mask detection: the convex hull of its back ellipse and its
// foot ellipse (the prism's silhouette is convex), vertices rounded to whole pixels as a
// pixel-crack contour would be, area the polygon's.
func (c testCamera) detection(p testPig, score float32, withContour bool) detect.Detection {
	a := math.Sqrt(p.areaM2 * p.aspect / math.Pi)
	b := p.areaM2 / (math.Pi * a)
	const n = 72
	pts := make([][2]float64, 0, 2*n)
	cos, sin := math.Cos(p.heading), math.Sin(p.heading)
	for i := range n {
		t := 2 * math.Pi * float64(i) / n
		ex, ey := a*math.Cos(t), b*math.Sin(t)
		x, y := p.x+ex*cos-ey*sin, p.y+ex*sin+ey*cos
		pts = append(pts, c.project(x, y, p.backM), c.project(x, y, 0))
	}
	hull := convexHull(pts)
	contour := make([][2]float32, len(hull))
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for i, q := range hull {
		contour[i] = [2]float32{float32(math.Round(q[0])), float32(math.Round(q[1]))}
		x0, y0 = min(x0, q[0]), min(y0, q[1])
		x1, y1 = max(x1, q[0]), max(y1, q[1])
	}
	d := detect.Detection{
		Box:   detect.Box{X: float32(x0), Y: float32(y0), W: float32(x1 - x0), H: float32(y1 - y0)},
		Class: "pig", Score: score,
		Area: int(math.Round(math.Abs(polygonArea(contour)))),
	}
	if withContour {
		d.Contour = contour
	}
	return d
}

// convexHull is the tests' own monotone chain, counter-clockwise.
func convexHull(pts [][2]float64) [][2]float64 {
	p := slices.Clone(pts)
	slices.SortFunc(p, func(a, b [2]float64) int {
		if a[0] != b[0] {
			if a[0] < b[0] {
				return -1
			}
			return 1
		}
		if a[1] < b[1] {
			return -1
		} else if a[1] > b[1] {
			return 1
		}
		return 0
	})
	cross := func(o, a, b [2]float64) float64 { return (a[0]-o[0])*(b[1]-o[1]) - (a[1]-o[1])*(b[0]-o[0]) }
	var h [][2]float64
	for _, q := range p {
		for len(h) >= 2 && cross(h[len(h)-2], h[len(h)-1], q) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, q)
	}
	lower := len(h) + 1
	for i := len(p) - 2; i >= 0; i-- {
		q := p[i]
		for len(h) >= lower && cross(h[len(h)-2], h[len(h)-1], q) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, q)
	}
	return h[:len(h)-1]
}

// ellipseContour is an ellipse in frame pixels as a contour with n vertices.
func ellipseContour(cx, cy, a, b, theta float64, n int) [][2]float32 {
	out := make([][2]float32, n)
	cos, sin := math.Cos(theta), math.Sin(theta)
	for i := range out {
		t := 2 * math.Pi * float64(i) / float64(n)
		ex, ey := a*math.Cos(t), b*math.Sin(t)
		out[i] = [2]float32{float32(cx + ex*cos - ey*sin), float32(cy + ex*sin + ey*cos)}
	}
	return out
}

// contourDetection wraps a pixel contour as a detection: box and area from the polygon.
func contourDetection(contour [][2]float32, score float32) detect.Detection {
	x0, y0 := float32(math.Inf(1)), float32(math.Inf(1))
	x1, y1 := float32(math.Inf(-1)), float32(math.Inf(-1))
	for _, p := range contour {
		x0, y0 = min(x0, p[0]), min(y0, p[1])
		x1, y1 = max(x1, p[0]), max(y1, p[1])
	}
	return detect.Detection{
		Box:   detect.Box{X: x0, Y: y0, W: x1 - x0, H: y1 - y0},
		Class: "pig", Score: score,
		Area:    int(math.Round(math.Abs(polygonArea(contour)))),
		Contour: contour,
	}
}

// boxDetection is a detection with only a box.
func boxDetection(x, y, w, h float32, score float32) detect.Detection {
	return detect.Detection{Box: detect.Box{X: x, Y: y, W: w, H: h}, Class: "pig", Score: score, Area: int(w * h * math.Pi / 4)}
}
