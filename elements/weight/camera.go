package weight

import (
	"math"

	"github.com/pigweight/pigweight/elements/detect"
)

// Geometry of a pinhole camera looking straight down, principal point at the frame's centre.
//
// The focal length in pixels is f = (W/2)/tan(θ/2) for a frame W pixels wide whose width spans
// θ. A horizontal surface at height h above the floor is imaged at f/(H−h) pixels per metre
// (H the lens height), the same everywhere in the frame: planes parallel to the sensor are
// not distorted, only scaled. A pig's back, at its back height, therefore looks larger than the
// floor by (H/(H−h))², and this file measures areas on that back plane.
//
// Off the optical axis the camera also sees the side of the pig that faces the nadir. We model
// the pig as a prism: its back outline T extruded down to the floor. A point p of the back
// plane (measured from the principal point, in back-plane units) has its foot imaged at k·p,
// k = 1−h/H, so the silhouette is S = {t·p : p ∈ T, t ∈ [k, 1]}. The part of S outside T is
// swept by T's near-facing boundary C, and its area is ∫_k^1 t dt · ∫_C |p × dp| =
// (1−k²)/2 · J(T). S's own near-facing boundary is k·C, so J(S) = k²·J(T), and the flank is
//
//	E = (1−k²)/(2k²) · J(S),  J(S) = Σ over near-facing edges of |p_i × p_{i+1}|,
//
// which we can measure on the mask's contour (first order this is perimeter-facing-the-nadir ×
// h·r/H, as expected). It is exact for a convex prism. A real pig's belly tucks in above its
// legs, so the prism overstates the flank somewhat; the error is a near-constant fraction of
// the area at a given place in the frame, and the per-pen calibration absorbs its mean. When
// the nadir lies inside the outline nothing of the flank shows and J is zero.

// Back height model: Petherick (1983, "A note on allometric relationships in Large White ×
// Landrace pigs", Animal Production 36, 1983) found every linear body dimension of pigs from 1 to 286 kg
// close to L = k·W^(1/3). We take k so that a 30 kg weaner stands 0.45 m and a 110 kg finisher
// 0.69 m at the back, typical of commercial crossbreds.
const backHeightK = 0.145

// BackHeight returns the height of a standing pig's back above the floor in metres for its
// live weight in kilograms: 0.145·W^(1/3).
func BackHeight(weightKg float64) float64 {
	if !(weightKg > 0) {
		return 0
	}
	return backHeightK * math.Cbrt(weightKg)
}

// maxBackFraction caps the back height at this share of the camera height, so a bad estimate
// near a low camera cannot divide by zero or flip the scale's sign.
const maxBackFraction = 0.8

// maxFlankFraction caps the flank correction at this share of the mask area: beyond it the
// prism model is not describing what the camera sees.
const maxFlankFraction = 0.6

// FocalPx returns the camera's focal length in pixels for frames frameW pixels wide: from the
// field of view, or PixelsPerMetre·HeightM when the scale is given; 0 when the geometry is
// unknown (PixelsPerMetre alone).
func (c Camera) FocalPx(frameW int) float64 {
	if c.PixelsPerMetre > 0 {
		return c.PixelsPerMetre * c.HeightM
	}
	if c.FOVDeg <= 0 || c.HeightM <= 0 || frameW <= 0 {
		return 0
	}
	return float64(frameW) / 2 / math.Tan(c.FOVDeg*math.Pi/360)
}

// FloorScale returns the floor plane's scale in pixels per metre for frames frameW wide.
func (c Camera) FloorScale(frameW int) float64 {
	if c.PixelsPerMetre > 0 {
		return c.PixelsPerMetre
	}
	if f := c.FocalPx(frameW); f > 0 {
		return f / c.HeightM
	}
	return 0
}

// FloorArea turns a detection's pixel area into the area in square metres of the pig's back
// outline seen straight from above, for a back backHeightM above the floor: it removes the
// flank the camera sees off-axis and undoes the back's magnification. Without a contour the
// back outline is taken as an ellipse with the extent of the box, its near sides pushed back
// (backBox), and the back's area (see boxFlank). With PixelsPerMetre alone it is just
// pixelArea over the floor scale squared.
func (c Camera) FloorArea(pixelArea float64, box detect.Box, frameW, frameH int, backHeightM float64) float64 {
	p := c.projection(frameW, frameH)
	k := p.k(backHeightM)
	var pts [ellipseVertices][2]float32
	top := pixelArea
	for range boxFlankSteps {
		top = pixelArea - p.boxFlank(box, k, top, pts[:])
	}
	return p.areaM2(pixelArea, pixelArea-top, k)
}

// boxFlankSteps is how many times the box-only flank is re-estimated: the ellipse it is
// measured on depends on the back's area, which depends on the flank. The dependence is weak
// and three steps settle it.
const boxFlankSteps = 3

// FloorAreaContour is FloorArea measuring the flank on the detection's contour (a closed
// polygon in frame pixels), which follows a turned pig better than its box does.
func (c Camera) FloorAreaContour(pixelArea float64, contour [][2]float32, frameW, frameH int, backHeightM float64) float64 {
	p := c.projection(frameW, frameH)
	k := p.k(backHeightM)
	return p.areaM2(pixelArea, contourFlank(flankMoment(contour, p.cx, p.cy), k), k)
}

// projection is a Camera resolved for one frame size.
type projection struct {
	w, h    int
	cx, cy  float64 // principal point, frame pixels
	f       float64 // focal length, pixels; 0 when unknown
	heightM float64 // lens height; 0 when unknown
	floor   float64 // floor scale, pixels per metre
}

func (c Camera) projection(frameW, frameH int) projection {
	p := projection{w: frameW, h: frameH, cx: float64(frameW) / 2, cy: float64(frameH) / 2, floor: c.FloorScale(frameW)}
	if f := c.FocalPx(frameW); f > 0 && c.HeightM > 0 {
		p.f, p.heightM = f, c.HeightM
	}
	return p
}

// k returns the foot-to-back scale 1−h/H for a back h metres high; 1 without geometry.
func (p projection) k(h float64) float64 {
	if p.f == 0 || !(h > 0) {
		return 1
	}
	return 1 - min(h, maxBackFraction*p.heightM)/p.heightM
}

// contourFlank is the flank's area in pixels of a silhouette whose contour has flank moment j
// (flankMoment), for foot-to-back scale k: (1−k²)/(2k²)·J(S).
func contourFlank(j, k float64) float64 { return (1 - k*k) / (2 * k * k) * j }

// boxFlank is the flank's area in pixels of a silhouette known only by its box b, whose back
// covers about topPx pixels. The back outline is taken as the ellipse with backBox's extent
// and that area (boxEllipse); which diagonal a turned ellipse lies along a box cannot tell, so
// the flank is the mean of the two mirror images' (1−k²)/2·J(T). When no ellipse fits, the
// box's inscribed one stands in. pts is scratch for ellipseVertices points.
func (p projection) boxFlank(b detect.Box, k, topPx float64, pts [][2]float32) float64 {
	if k >= 1 {
		return 0
	}
	back := p.backBox(b, k)
	cx, cy := float64(back.X)+float64(back.W)/2, float64(back.Y)+float64(back.H)/2
	var j float64
	if a, bb, th, ok := boxEllipse(back, topPx); ok {
		j = (flankMoment(ellipsePolygon(cx, cy, a, bb, th, pts), p.cx, p.cy) +
			flankMoment(ellipsePolygon(cx, cy, a, bb, -th, pts), p.cx, p.cy)) / 2
	} else {
		j = flankMoment(ellipsePolygon(cx, cy, float64(back.W)/2, float64(back.H)/2, 0, pts), p.cx, p.cy)
	}
	return (1 - k*k) / 2 * j
}

// backBox returns the box of the back outline inside a silhouette's box b: the silhouette
// spans the back's far sides and the feet's near sides (the back's scaled by k towards the
// principal point), so the near sides are pushed back out by 1/k.
func (p projection) backBox(b detect.Box, k float64) detect.Box {
	if k >= 1 {
		return b
	}
	x0, y0 := float64(b.X)-p.cx, float64(b.Y)-p.cy
	x1, y1 := x0+float64(b.W), y0+float64(b.H)
	switch {
	case x0 > 0:
		x0 = min(x0/k, x1)
	case x1 < 0:
		x1 = max(x1/k, x0)
	}
	switch {
	case y0 > 0:
		y0 = min(y0/k, y1)
	case y1 < 0:
		y1 = max(y1/k, y0)
	}
	return detect.Box{X: float32(x0 + p.cx), Y: float32(y0 + p.cy), W: float32(x1 - x0), H: float32(y1 - y0)}
}

// areaM2 is the back outline's area in m² of a mask of pixelArea showing flank pixels of
// flank, at foot-to-back scale k.
func (p projection) areaM2(pixelArea, flank, k float64) float64 {
	if !(pixelArea > 0) {
		return 0
	}
	if p.f == 0 {
		if p.floor <= 0 {
			return 0
		}
		return pixelArea / (p.floor * p.floor)
	}
	flank = min(max(flank, 0), maxFlankFraction*pixelArea)
	mPerPx := k * p.heightM / p.f // (H−h)/f
	return (pixelArea - flank) * mPerPx * mPerPx
}
