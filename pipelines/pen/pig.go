package pen

import (
	"image"
	"math"
	"math/rand/v2"
	"slices"
)

// The silhouette is described by its half-width profile along the spine, W(u), plus two
// ears. u runs from the rump (-L/2) to the snout tip (+L/2), v across to the pig's right,
// with the origin at the middle of the snout–rump axis (the pig's Center). Positions
// below are fractions of the length L, widths fractions of the half-width at the hams.
const (
	rumpEnd      = -0.30 // the rounded rump cap ends here and the trunk begins
	shoulder     = 0.12  // the trunk ends and the neck begins
	headFrom     = 0.24  // back of the head, where the ears sit
	snoutCapFrom = 0.455 // the blunt snout disc
	shoulderW    = 0.90  // pigs are broader over the hams than at the shoulders
	headBackW    = 0.72
	snoutW       = 0.36

	earCentreU   = 0.30
	earCentreV   = 0.46 // × half-width at the hams
	earHalfLen   = 0.095
	earHalfWidth = 0.046
	earAngleDeg  = 22 // ears point forward and a little out

	// The tail: a short stub off the rump, a little to one side, as a curled tail looks
	// from above.
	tailCentreU  = -0.515
	tailCentreV  = 0.03
	tailHalfLen  = 0.035
	tailHalfWide = 0.018

	// profileStep is the resolution of the precomputed profile, in pixels.
	profileStep = 0.25

	// Shading: lightest along the spine, darker towards the flanks and the ends.
	// shadeMin keeps the darkest flank well inside IsPigPink.
	spineLight = 1.10
	flankDark  = 0.28
	shadeMin   = 0.80
)

// profile is the half-width of the silhouette at u (in units of L), in units of the
// half-width at the hams, and the part of the pig there.
func profile(u float64) (w float64, part uint8) {
	switch {
	case u < -0.5 || u > 0.5:
		return 0, partNone
	case u < rumpEnd:
		// A superellipse cap: round, but blunter than a half circle.
		t := (rumpEnd - u) / (rumpEnd + 0.5)
		return math.Pow(1-math.Pow(t, 2.5), 1/2.5), partTrunk
	case u < shoulder:
		// Hams to shoulders, with a slight belly bulge.
		t := (u - rumpEnd) / (shoulder - rumpEnd)
		return 1 - (1-shoulderW)*t + 0.03*math.Sin(math.Pi*t), partTrunk
	case u < headFrom:
		// The neck: a smooth step down from the shoulders to the back of the head.
		t := (u - shoulder) / (headFrom - shoulder)
		return shoulderW + (headBackW-shoulderW)*t*t*(3-2*t), partTrunk
	case u < snoutCapFrom:
		// The head narrows to the snout as a slightly rounded wedge.
		t := (u - headFrom) / (snoutCapFrom - headFrom)
		return headBackW + (snoutW-headBackW)*t + 0.04*math.Sin(math.Pi*t), partHead
	default:
		t := (u - snoutCapFrom) / (0.5 - snoutCapFrom)
		return snoutW * math.Sqrt(max(0, 1-t*t*t)), partSnout
	}
}

// Parts of a pig, which differ in colour.
const (
	partNone uint8 = iota
	partTrunk
	partHead
	partSnout
)

// rgbF is a colour with float components, 0..255.
type rgbF struct{ r, g, b float64 }

func (c rgbF) scale(f float64) (uint8, uint8, uint8) {
	return clampByte(c.r * f), clampByte(c.g * f), clampByte(c.b * f)
}

func (c rgbF) tint(t rgbF) rgbF { return rgbF{c.r * t.r, c.g * t.g, c.b * t.b} }

func clampByte(x float64) uint8 {
	if x >= 255 {
		return 255
	}
	if x <= 0 {
		return 0
	}
	return uint8(x + 0.5)
}

// Skin tones a pig's colour is drawn between, and tints for its parts. Every tint lowers
// green and blue at least as much as red, so a tinted pink stays pink.
func skinPink() rgbF  { return rgbF{236, 160, 156} }
func skinFlesh() rgbF { return rgbF{242, 196, 178} }

func earTint() rgbF   { return rgbF{0.97, 0.84, 0.86} }
func snoutTint() rgbF { return rgbF{0.90, 0.64, 0.68} }
func mudTint() rgbF   { return rgbF{0.84, 0.74, 0.72} }

// circle is one of the discs approximating a pig for collisions, on its axis at u.
type circle struct{ u, r float64 }

// pig is one animal: its constant shape and colours, and its motion state.
type pig struct {
	id     int
	length float64 // L, snout tip to rump, px
	halfW  float64 // half-width at the hams, the widest point, px

	// The profile, sampled every profileStep px from uMin: the squared half-width, its
	// inverse (for the flank shading), the shading along the spine and the part.
	uMin, uMax, invStep  float64
	w2, invW2, shadeU    []float64
	part                 []uint8
	vMax2                float64
	earU, earV           float64
	tailU, tailV         float64
	invTailL2, invTailW2 float64
	earCos, earSin       float64
	invEarL2, invEarW2   float64

	skin, ear, snout rgbF
	hasPatch         bool
	patch            rgbF // skin × mud tint
	patchU, patchV   float64
	patchR2          float64

	hull       []vec // convex hull of the silhouette, local coords, px
	circles    [5]circle
	trueArea   float64 // sub-pixel silhouette area, px
	weightKg   float64
	cruise     float64 // walking speed, px/s
	pushy      float64 // 0..1: how little this pig minds others close by
	space      float64 // px this pig keeps clear around its collision discs
	motion     motionState
	pose       pose
	bodyArea   int // pixels of the full silhouette in the current frame
	visArea    int
	visBox     image.Rectangle
	shadowBox  image.Rectangle
	shadowOffX float64
	shadowOffY float64
}

// vec is a 2-D point or vector.
type vec struct{ x, y float64 }

// pose is where a pig is drawn in the current frame.
type pose struct {
	cos, sin float64
	box      image.Rectangle // every pixel the silhouette can cover
}

// newPig draws a pig's size, build and colour from rng. length is in px.
func newPig(id int, length float64, rng *rand.Rand) pig {
	p := pig{id: id, length: length}
	L := length
	p.halfW = L * (0.38 + 0.05*rng.Float64()) / 2

	p.buildProfile()
	p.earU = earCentreU * L
	p.earV = earCentreV * p.halfW
	a := earAngleDeg * math.Pi / 180
	p.earCos, p.earSin = math.Cos(a), math.Sin(a)
	p.invEarL2 = 1 / (earHalfLen * L * earHalfLen * L)
	p.invEarW2 = 1 / (earHalfWidth * L * earHalfWidth * L)
	p.tailU, p.tailV = tailCentreU*L, tailCentreV*L
	p.invTailL2 = 1 / (tailHalfLen * L * tailHalfLen * L)
	p.invTailW2 = 1 / (tailHalfWide * L * tailHalfWide * L)
	vMax := max(p.halfW*1.05, p.earV+earHalfLen*L) + 1
	p.vMax2 = vMax * vMax

	t := rng.Float64()
	bright := 0.92 + 0.08*rng.Float64()
	pink, flesh := skinPink(), skinFlesh()
	p.skin = rgbF{
		(pink.r + t*(flesh.r-pink.r)) * bright,
		(pink.g + t*(flesh.g-pink.g)) * bright,
		(pink.b + t*(flesh.b-pink.b)) * bright,
	}
	p.ear = p.skin.tint(earTint())
	p.snout = p.skin.tint(snoutTint())
	if rng.Float64() < 0.3 {
		p.hasPatch = true
		p.patch = p.skin.tint(mudTint())
		p.patchU = (rng.Float64()*0.6 - 0.4) * L
		p.patchV = (rng.Float64()*1.2 - 0.6) * p.halfW
		r := (0.10 + 0.08*rng.Float64()) * L
		p.patchR2 = r * r
	}

	// Collision discs along the spine, as wide as the profile there; close enough together
	// that another pig's snout cannot slip into the notch between two of them.
	for i, u := range [len(p.circles)]float64{-0.33, -0.17, 0, 0.16, 0.34} {
		w, _ := profile(u)
		p.circles[i] = circle{u: u * L, r: w * p.halfW}
	}
	p.pushy = rng.Float64()
	// Most pigs keep a little personal space; the pushiest few get smaller discs and none,
	// so they end up touching or slightly overlapping their neighbours now and then.
	if p.pushy > pushyAbove {
		for i := range p.circles {
			p.circles[i].r *= 0.92
		}
	} else {
		p.space = personalSpace * L
	}
	p.cruise = L * (0.15 + 0.15*rng.Float64())
	p.shadowOffX = 0.03 * L
	p.shadowOffY = 0.045 * L
	p.measure()
	return p
}

// buildProfile samples profile() for this pig's size. Looking the profile up by u keeps
// the per-pixel test to a few multiplies; the table, not profile(), defines the shape.
func (p *pig) buildProfile() {
	L := p.length
	// The table starts behind the rump, where the tail is, and is empty there.
	p.uMin, p.uMax = (tailCentreU-tailHalfLen)*L-1, 0.5*L
	p.invStep = 1 / profileStep
	n := int(math.Ceil((p.uMax-p.uMin)/profileStep)) + 1
	p.w2 = make([]float64, n)
	p.invW2 = make([]float64, n)
	p.shadeU = make([]float64, n)
	p.part = make([]uint8, n)
	for i := range n {
		// Each entry covers [u, u+step); sample its middle.
		u := (p.uMin + (float64(i)+0.5)*profileStep) / L
		w, part := profile(u)
		w *= p.halfW
		p.part[i] = part
		if w <= 0 {
			continue
		}
		p.w2[i] = w * w
		p.invW2[i] = 1 / (w * w)
		// A little darker over the end of the rump, which slopes away from the camera.
		p.shadeU[i] = spineLight - 0.10*max(0, -u-0.38)/0.12
	}
}

// pixel is the one per-pixel test of the silhouette: it says whether the local point
// (u, v) is on the pig and, if so, its colour. Labels, areas and colours all come from it,
// so the ground truth matches the picture exactly.
func (p *pig) pixel(u, v float64) (r, g, b uint8, ok bool) {
	if u < p.uMin || u >= p.uMax {
		return 0, 0, 0, false
	}
	v2 := v * v
	if v2 > p.vMax2 {
		return 0, 0, 0, false
	}
	// Ears lie on top of the head and neck, so they are tested first. Both ears are the
	// same ellipse mirrored across the spine, hence |v|.
	du, dv := u-p.earU, math.Abs(v)-p.earV
	along := du*p.earCos + dv*p.earSin
	across := dv*p.earCos - du*p.earSin
	if e := along*along*p.invEarL2 + across*across*p.invEarW2; e <= 1 {
		r, g, b = p.ear.scale(1.04 - 0.14*e)
		return r, g, b, true
	}
	if du, dv := u-p.tailU, v-p.tailV; du*du*p.invTailL2+dv*dv*p.invTailW2 <= 1 {
		r, g, b = p.ear.scale(0.95)
		return r, g, b, true
	}
	i := int((u - p.uMin) * p.invStep)
	if i >= len(p.w2) || v2 > p.w2[i] {
		return 0, 0, 0, false
	}
	t := v2 * p.invW2[i]
	switch p.part[i] {
	case partSnout:
		r, g, b = p.snout.scale(1 - 0.1*t)
	case partHead:
		r, g, b = p.skin.scale(1.04 - 0.2*t)
	default:
		f := max(p.shadeU[i]-flankDark*t, shadeMin)
		c := p.skin
		if p.hasPatch {
			pu, pv := u-p.patchU, v-p.patchV
			if pu*pu+pv*pv <= p.patchR2 {
				c = p.patch
			}
		}
		r, g, b = c.scale(f)
	}
	return r, g, b, true
}

// castsShadow reports whether the local point (u, v) is under the pig's shadow: the
// profile without the ears, a little enlarged so a rim of shadow shows around the body.
func (p *pig) castsShadow(u, v float64) bool {
	const shrink = 1 / 1.06
	u, v = u*shrink, v*shrink
	if u < p.uMin || u >= p.uMax {
		return false
	}
	i := int((u - p.uMin) * p.invStep)
	return i < len(p.w2) && v*v <= p.w2[i]
}

// measure samples the silhouette on a quarter-pixel grid, once, for its exact area
// (which the weight comes from) and its convex hull (which bounds it in every pose).
func (p *pig) measure() {
	const step = 0.25
	vMax := math.Sqrt(p.vMax2)
	var count int
	var edge []vec
	for u := p.uMin; u <= p.uMax; u += step {
		lo, hi := math.Inf(1), math.Inf(-1)
		for v := -vMax; v <= vMax; v += step {
			if _, _, _, ok := p.pixel(u, v); ok {
				count++
				lo = min(lo, v)
				hi = max(hi, v)
			}
		}
		if lo <= hi {
			edge = append(edge, vec{u, lo}, vec{u, hi})
		}
	}
	p.trueArea = float64(count) * step * step
	p.hull = convexHull(edge)
}

// convexHull returns the convex hull of pts (Andrew's monotone chain), counter-clockwise.
func convexHull(pts []vec) []vec {
	slices.SortFunc(pts, func(a, b vec) int {
		if a.x != b.x {
			if a.x < b.x {
				return -1
			}
			return 1
		}
		if a.y < b.y {
			return -1
		}
		if a.y > b.y {
			return 1
		}
		return 0
	})
	cross := func(o, a, b vec) float64 { return (a.x-o.x)*(b.y-o.y) - (a.y-o.y)*(b.x-o.x) }
	hull := make([]vec, 0, 2*len(pts))
	for _, pt := range pts {
		for len(hull) >= 2 && cross(hull[len(hull)-2], hull[len(hull)-1], pt) <= 0 {
			hull = hull[:len(hull)-1]
		}
		hull = append(hull, pt)
	}
	lower := len(hull) + 1
	for i := len(pts) - 2; i >= 0; i-- {
		pt := pts[i]
		for len(hull) >= lower && cross(hull[len(hull)-2], hull[len(hull)-1], pt) <= 0 {
			hull = hull[:len(hull)-1]
		}
		hull = append(hull, pt)
	}
	return slices.Clip(hull[:len(hull)-1])
}

// boxAt is the pixel rectangle that holds every pixel the silhouette can cover with its
// centre at (x, y) and heading (cos, sin). The hull comes from quarter-pixel samples, so a
// one-pixel margin covers the true outline.
func (p *pig) boxAt(x, y, cos, sin float64) image.Rectangle {
	minX, minY := math.Inf(1), math.Inf(1)
	maxX, maxY := math.Inf(-1), math.Inf(-1)
	for _, h := range p.hull {
		hx := x + h.x*cos - h.y*sin
		hy := y + h.x*sin + h.y*cos
		minX, maxX = min(minX, hx), max(maxX, hx)
		minY, maxY = min(minY, hy), max(maxY, hy)
	}
	// Pixel (i, j) is tested at its centre (i+0.5, j+0.5).
	const margin = 1
	return image.Rect(
		int(math.Floor(minX-margin-0.5)), int(math.Floor(minY-margin-0.5)),
		int(math.Ceil(maxX+margin-0.5))+1, int(math.Ceil(maxY+margin-0.5))+1,
	)
}
