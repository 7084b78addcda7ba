package weight

import (
	"cmp"
	"math"
	"slices"

	"github.com/pigweight/pigweight/elements/detect"
)

// Polygon measures of a detection's outline: the flank moment the camera geometry needs, the
// solidity and the moment ellipse the shape gates need. Everything works on caller-owned
// scratch so that a frame of detections costs no allocation.

// ellipseVertices is how many vertices stand for the ellipse inscribed in a box when a
// detection has no contour: enough that the polygon's area is within 0.7% of the ellipse's.
const ellipseVertices = 32

// unitCircle is cos and sin of ellipseVertices evenly spaced angles. Read-only.
var unitCircle = func() (u [ellipseVertices][2]float32) {
	for i := range u {
		a := 2 * math.Pi * float64(i) / ellipseVertices
		u[i] = [2]float32{float32(math.Cos(a)), float32(math.Sin(a))}
	}
	return u
}()

// ellipsePolygon writes the ellipse centred at (cx, cy) with semi-axes a, b, its a axis turned
// theta from the x axis, as a polygon into dst (which must hold ellipseVertices points).
func ellipsePolygon(cx, cy, a, b, theta float64, dst [][2]float32) [][2]float32 {
	dst = dst[:ellipseVertices]
	cos, sin := math.Cos(theta), math.Sin(theta)
	for i, u := range unitCircle {
		ex, ey := a*float64(u[0]), b*float64(u[1])
		dst[i] = [2]float32{float32(cx + ex*cos - ey*sin), float32(cy + ex*sin + ey*cos)}
	}
	return dst
}

// boxEllipse solves for the ellipse with box b's extent and an area of areaPx: an ellipse with
// semi-axes a ≥ bb turned by theta has half-extents X, Y with X² = a²cos²θ + bb²sin²θ,
// X²+Y² = a²+bb², and area π·a·bb. ok is false when the area is too large for any ellipse
// in the box (a box-area detection, say). theta is in [0, π/2]; its sign (which diagonal) a
// box cannot tell.
func boxEllipse(b detect.Box, areaPx float64) (a, bb, theta float64, ok bool) {
	hx, hy := float64(b.W)/2, float64(b.H)/2
	if hx <= 0 || hy <= 0 || !(areaPx > 0) {
		return 0, 0, 0, false
	}
	s := hx*hx + hy*hy
	p := areaPx / math.Pi
	disc := s*s - 4*p*p
	if disc < 0 {
		return 0, 0, 0, false
	}
	a2, b2 := (s+math.Sqrt(disc))/2, (s-math.Sqrt(disc))/2
	if a2-b2 > 1e-9*a2 {
		theta = math.Acos(math.Sqrt(min(max((hx*hx-b2)/(a2-b2), 0), 1)))
	}
	return math.Sqrt(a2), math.Sqrt(max(b2, 0)), theta, true
}

// flankMoment returns J = Σ |p_i × p_{i+1}| over the polygon's edges that face the point
// (cx, cy), coordinates taken from that point (px²; see camera.go for why). Each edge's cross
// product is twice the signed area of the triangle it makes with the point; the total is twice
// the polygon's signed area, so the facing edges are those whose sign differs from the total's,
// and J = (Σ|c| − |Σc|)/2 whatever the polygon's orientation.
func flankMoment(pts [][2]float32, cx, cy float64) float64 {
	n := len(pts)
	if n < 3 {
		return 0
	}
	var sum, abs float64
	x0, y0 := float64(pts[n-1][0])-cx, float64(pts[n-1][1])-cy
	for _, p := range pts {
		x1, y1 := float64(p[0])-cx, float64(p[1])-cy
		c := x0*y1 - x1*y0
		sum += c
		abs += math.Abs(c)
		x0, y0 = x1, y1
	}
	return (abs - math.Abs(sum)) / 2
}

// shape is what the shape and lying gates judge.
type shape struct {
	// solidity is mask area ÷ convex hull area (1 for a convex blob); 0 when unknown.
	solidity float64
	// elongation is length ÷ width of the back outline's moment ellipse, the flank removed;
	// 0 when unknown (a box-only detection whose area is its box's).
	elongation float64
	// fill is mask area ÷ box area, measured only when there is no contour; 0 otherwise.
	fill float64
}

// outlineScratch holds the buffers measuring one outline needs, reused between detections.
type outlineScratch struct {
	pts  [][2]float64
	hull [][2]float64
}

// measureContour measures a detection's contour. area is its mask area in pixels; (cx, cy)
// the principal point and k the foot-to-back scale (camera.go): the vertices of edges facing
// the principal point are pushed out by 1/k, which undoes the flank's widening of the outline
// so that a pig standing near the frame's edge keeps its elongated look.
func (s *outlineScratch) measureContour(contour [][2]float32, area, cx, cy, k float64) shape {
	n := len(contour)
	if n < 3 {
		return shape{}
	}
	var out shape
	if hull := s.hullArea(contour); hull > 0 {
		if area <= 0 {
			area = math.Abs(polygonArea(contour))
		}
		out.solidity = min(area/hull, 1)
	}

	// Undo the flank: scale by 1/k each vertex of an edge that clearly faces the principal
	// point. "Clearly" (more than 20° off the radial direction) keeps the two nearly radial
	// edges where the flank meets the far side from being pushed, which would put spikes on
	// the outline.
	s.pts = slices.Grow(s.pts[:0], n)[:n]
	for i, p := range contour {
		s.pts[i] = [2]float64{float64(p[0]) - cx, float64(p[1]) - cy}
	}
	if k < 1 {
		sign := 1.0
		if polygonArea(contour) < 0 {
			sign = -1
		}
		const sin20 = 0.342
		s.hull = slices.Grow(s.hull[:0], n)[:n] // reused as the pushed flags' storage
		for i := range s.hull {
			s.hull[i][0] = 0
		}
		for i := range n {
			j := (i + 1) % n
			a, b := s.pts[i], s.pts[j]
			dx, dy := b[0]-a[0], b[1]-a[1]
			c := (a[0]*b[1] - b[0]*a[1]) * sign
			if c < -sin20*math.Hypot(a[0], a[1])*math.Hypot(dx, dy) {
				s.hull[i][0], s.hull[j][0] = 1, 1
			}
		}
		for i := range n {
			if s.hull[i][0] == 1 {
				s.pts[i][0] /= k
				s.pts[i][1] /= k
			}
		}
	}
	out.elongation = elongation(s.pts)
	return out
}

// measureBox measures a detection without a contour from its box: back is the back
// outline's box (projection.backBox) and topArea its area in pixels, the flank removed; the
// elongation is that of the ellipse boxEllipse solves for. When no ellipse fits, or the mask
// fills its box (a box-area detection), the elongation is unknown.
func measureBox(b, back detect.Box, area, topArea float64) shape {
	var out shape
	if b.W > 0 && b.H > 0 {
		out.fill = area / (float64(b.W) * float64(b.H))
	}
	a, bb, _, ok := boxEllipse(back, topArea)
	switch {
	case !ok || out.fill > 0.9:
	case bb <= 0:
		out.elongation = math.Inf(1)
	default:
		out.elongation = a / bb
	}
	return out
}

// polygonArea is the signed shoelace area: positive for a counter-clockwise polygon in a y-up
// frame (clockwise on screen).
func polygonArea(pts [][2]float32) float64 {
	n := len(pts)
	if n < 3 {
		return 0
	}
	ox, oy := float64(pts[0][0]), float64(pts[0][1])
	var a float64
	x0, y0 := 0.0, 0.0
	for _, p := range pts[1:] {
		x1, y1 := float64(p[0])-ox, float64(p[1])-oy
		a += x0*y1 - x1*y0
		x0, y0 = x1, y1
	}
	return a / 2
}

// hullArea returns the area of the contour's convex hull (Andrew's monotone chain).
func (s *outlineScratch) hullArea(contour [][2]float32) float64 {
	n := len(contour)
	s.pts = slices.Grow(s.pts[:0], n)[:n]
	for i, p := range contour {
		s.pts[i] = [2]float64{float64(p[0]), float64(p[1])}
	}
	slices.SortFunc(s.pts, func(a, b [2]float64) int {
		if c := cmp.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return cmp.Compare(a[1], b[1])
	})
	h := slices.Grow(s.hull[:0], 2*n)
	cross := func(o, a, b [2]float64) float64 {
		return (a[0]-o[0])*(b[1]-o[1]) - (a[1]-o[1])*(b[0]-o[0])
	}
	for _, p := range s.pts { // lower hull
		for len(h) >= 2 && cross(h[len(h)-2], h[len(h)-1], p) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, p)
	}
	lower := len(h) + 1
	for i := n - 2; i >= 0; i-- { // upper hull
		p := s.pts[i]
		for len(h) >= lower && cross(h[len(h)-2], h[len(h)-1], p) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, p)
	}
	s.hull = h
	h = h[:len(h)-1] // the last point repeats the first
	if len(h) < 3 {
		return 0
	}
	var a float64
	for i := range h {
		j := (i + 1) % len(h)
		a += h[i][0]*h[j][1] - h[j][0]*h[i][1]
	}
	return math.Abs(a) / 2
}

// elongation returns the length ÷ width of the polygon's moment ellipse: the square root of the
// ratio of the principal second moments of its area (Green's theorem over the edges). An
// ellipse gives its axis ratio, a rectangle its side ratio.
func elongation(pts [][2]float64) float64 {
	n := len(pts)
	if n < 3 {
		return 0
	}
	ox, oy := pts[0][0], pts[0][1] // moments about a vertex keep the sums well conditioned
	var a, sx, sy, sxx, syy, sxy float64
	for i := range n {
		j := (i + 1) % n
		x0, y0 := pts[i][0]-ox, pts[i][1]-oy
		x1, y1 := pts[j][0]-ox, pts[j][1]-oy
		c := x0*y1 - x1*y0
		a += c
		sx += (x0 + x1) * c
		sy += (y0 + y1) * c
		sxx += (x0*x0 + x0*x1 + x1*x1) * c
		syy += (y0*y0 + y0*y1 + y1*y1) * c
		sxy += (x0*y1 + 2*x0*y0 + 2*x1*y1 + x1*y0) * c
	}
	if a == 0 {
		return 0
	}
	area := a / 2
	mx, my := sx/(6*area), sy/(6*area)
	cxx := sxx/12/area - mx*mx
	cyy := syy/12/area - my*my
	cxy := sxy/24/area - mx*my
	half := (cxx + cyy) / 2
	d := math.Sqrt((cxx-cyy)*(cxx-cyy)/4 + cxy*cxy)
	l1, l2 := half+d, half-d
	if l2 <= 0 {
		return math.Inf(1)
	}
	return math.Sqrt(l1 / l2)
}
