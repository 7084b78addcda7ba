package pen

import (
	"image"
	"math"
	"math/rand/v2"
)

// layout is the static geometry of the pen, in pixels.
type layout struct {
	w, h, wall int
	interior   image.Rectangle // the floor the pigs walk on, inside the walls
	feeder     image.Rectangle // trough in a top corner; an obstacle to pigs
	slats      image.Rectangle // slatted dung area along the bottom wall
	drinkerX   float64
	drinkerY   float64
	drinkerR   float64
	jointX     int // expansion joints in the solid floor
	jointY     int
	stains     []stain
}

// stain is a dark wet or dirty blotch on the floor.
type stain struct{ x, y, rx, ry float64 }

// newLayout places the feeder, the dung area, the drinker and the stains for one seed.
// Solid concrete walls run along the top and left, steel rails along the bottom and right.
func newLayout(w, h int, rng *rand.Rand) layout {
	m := float64(min(w, h))
	l := layout{w: w, h: h}
	l.wall = max(4, int(math.Round(0.035*m)))
	l.interior = image.Rect(l.wall, l.wall, w-l.wall, h-l.wall)
	in := l.interior
	fw, fh := int(math.Round(0.22*m)), int(math.Round(0.09*m))
	if rng.IntN(2) == 0 {
		l.feeder = image.Rect(in.Min.X, in.Min.Y, in.Min.X+fw, in.Min.Y+fh)
	} else {
		l.feeder = image.Rect(in.Max.X-fw, in.Min.Y, in.Max.X, in.Min.Y+fh)
	}
	sh := int(math.Round(float64(in.Dy()) * (0.20 + 0.06*rng.Float64())))
	l.slats = image.Rect(in.Min.X, in.Max.Y-sh, in.Max.X, in.Max.Y)
	l.drinkerR = max(3, 0.018*m)
	// The drinker is on the side wall away from the feeder, over the slats: pigs dung
	// where they drink, which is why the dung area is there.
	if l.feeder.Min.X == in.Min.X {
		l.drinkerX = float64(in.Max.X) - 1.6*l.drinkerR
	} else {
		l.drinkerX = float64(in.Min.X) + 1.6*l.drinkerR
	}
	l.drinkerY = float64(l.slats.Min.Y) + float64(sh)*(0.3+0.3*rng.Float64())
	l.jointX = in.Min.X + int(float64(in.Dx())*(0.4+0.2*rng.Float64()))
	l.jointY = in.Min.Y + int(float64(l.slats.Min.Y-in.Min.Y)*(0.45+0.2*rng.Float64()))
	n := 6 + rng.IntN(6)
	l.stains = make([]stain, 0, n+1)
	l.stains = append(l.stains, stain{l.drinkerX, l.drinkerY, 3.5 * l.drinkerR, 2.5 * l.drinkerR})
	for range n {
		st := stain{
			x:  float64(in.Min.X) + rng.Float64()*float64(in.Dx()),
			rx: (0.02 + 0.06*rng.Float64()) * m,
			ry: (0.02 + 0.05*rng.Float64()) * m,
		}
		// Most dirt collects near the dung area.
		if rng.Float64() < 0.6 {
			st.y = float64(l.slats.Min.Y) + (rng.Float64()-0.3)*float64(sh)
		} else {
			st.y = float64(in.Min.Y) + rng.Float64()*float64(in.Dy())
		}
		l.stains = append(l.stains, st)
	}
	return l
}

// noise is seeded value noise: smooth, in [-1, 1], with features about cell pixels wide.
type noise struct{ seed uint64 }

func (n noise) lattice(ix, iy int) float64 {
	h := uint64(int64(ix))*0x9E3779B97F4A7C15 ^ uint64(int64(iy))*0xC2B2AE3D27D4EB4F ^ n.seed
	h ^= h >> 31
	h *= 0xBF58476D1CE4E5B9
	h ^= h >> 29
	h *= 0x94D049BB133111EB
	h ^= h >> 32
	return float64(h&0xFFFF)/32767.5 - 1
}

// field is one octave of value noise over the frame, its lattice worked out in advance
// so that a sample costs four table reads. Samples are in [-1, 1].
type field struct {
	inv    float64 // 1 / cell size
	stride int
	v      []float64
}

func newField(n noise, w, h int, cell float64, salt int) field {
	f := field{inv: 1 / cell, stride: int(float64(w)/cell) + 3}
	rows := int(float64(h)/cell) + 3
	f.v = make([]float64, f.stride*rows)
	for j := range rows {
		for i := range f.stride {
			f.v[j*f.stride+i] = n.lattice(i+salt, j-salt)
		}
	}
	return f
}

// at samples the field at (x, y), 0 <= x < w, 0 <= y < h, smoothly interpolated.
func (f *field) at(x, y float64) float64 {
	fx, fy := x*f.inv, y*f.inv
	ix, iy := int(fx), int(fy)
	tx, ty := fx-float64(ix), fy-float64(iy)
	tx = tx * tx * (3 - 2*tx)
	ty = ty * ty * (3 - 2*ty)
	i := iy*f.stride + ix
	a := f.v[i] + tx*(f.v[i+1]-f.v[i])
	b := f.v[i+f.stride] + tx*(f.v[i+f.stride+1]-f.v[i+f.stride])
	return a + ty*(b-a)
}

// floorNoise is every octave the floor painter uses.
type floorNoise struct {
	noise
	slab, fine, stain, wall, rail, feed field
}

// grain is per-pixel white noise in [-1, 1].
func (n noise) grain(x, y int) float64 { return n.lattice(x+7919, y-104729) }

// Background colours. Each keeps red at most 12 above green (see IsPigPink), and every
// change below scales all channels alike or offsets them alike, or (stains) tints
// them by nearly the same factor, so no background pixel turns pink.
func concreteFloor() rgbF { return rgbF{124, 118, 108} }
func slatConcrete() rgbF  { return rgbF{104, 98, 89} }
func slotDark() rgbF      { return rgbF{58, 54, 50} }
func wallConcrete() rgbF  { return rgbF{158, 157, 152} }
func aisleFloor() rgbF    { return rgbF{92, 92, 91} }
func steel() rgbF         { return rgbF{176, 180, 186} }
func troughSteel() rgbF   { return rgbF{86, 90, 95} }
func feedPellets() rgbF   { return rgbF{134, 122, 92} }
func stainTint() rgbF     { return rgbF{0.78, 0.76, 0.73} }

// paintFloor renders the static pen (everything but the pigs) as packed RGB24.
func paintFloor(dst []byte, l layout, seed uint64) {
	m := float64(min(l.w, l.h))
	n := noise{seed: seed}
	nz := &floorNoise{
		noise: n,
		slab:  newField(n, l.w, l.h, m/7, 1),
		fine:  newField(n, l.w, l.h, m/40, 2),
		stain: newField(n, l.w, l.h, m/30, 3),
		wall:  newField(n, l.w, l.h, m/12, 4),
		rail:  newField(n, l.w, l.h, m/15, 5),
		feed:  newField(n, l.w, l.h, m/30, 6),
	}
	t := float64(l.wall)
	for y := range l.h {
		for x := range l.w {
			var c rgbF
			switch {
			case y < l.wall || x < l.wall:
				c = wallPixel(nz, x, y, l)
			case y >= l.h-l.wall || x >= l.w-l.wall:
				c = railPixel(nz, x, y, l, m)
			default:
				c = floorPixel(nz, x, y, l, m, t)
			}
			i := 3 * (y*l.w + x)
			dst[i], dst[i+1], dst[i+2] = c.scale(1)
		}
	}
}

// add adds a grey offset to every channel.
func (c rgbF) add(d float64) rgbF { return rgbF{c.r + d, c.g + d, c.b + d} }

func floorPixel(nz *floorNoise, x, y int, l layout, m, t float64) rgbF {
	fx, fy := float64(x)+0.5, float64(y)+0.5
	if f := l.feeder; x >= f.Min.X && x < f.Max.X && y >= f.Min.Y && y < f.Max.Y {
		return feederPixel(nz, x, y, l)
	}
	if dx, dy := fx-l.drinkerX, fy-l.drinkerY; dx*dx+dy*dy <= l.drinkerR*l.drinkerR {
		d := math.Sqrt(dx*dx+dy*dy) / l.drinkerR
		if d > 0.55 {
			return steel().add(-30 * (d - 0.55))
		}
		return troughSteel().add(-10)
	}
	c := concreteFloor()
	inSlats := image.Pt(x, y).In(l.slats)
	if inSlats {
		c = slatConcrete()
		// Slots run along the dung area, in dashes broken by ribs, offset row by row.
		period := max(6, int(math.Round(m/55)))
		slot := max(2, period/4)
		row := (y - l.slats.Min.Y) / period
		if (y-l.slats.Min.Y)%period < slot {
			seg := 12 * period
			if (x+row*seg/3)%seg >= period {
				c = slotDark()
			}
		}
	}
	c = c.add(9*nz.slab.at(fx, fy) + 5*nz.fine.at(fx, fy) + 4*nz.grain(x, y))
	// Expansion joints cut the solid floor into slabs.
	if !inSlats && (x == l.jointX || y == l.jointY) {
		c = c.add(-22)
	}
	// Stains have ragged edges: noise moves the edge of each ellipse in and out.
	edge := math.NaN()
	for _, s := range l.stains {
		dx, dy := (fx-s.x)/s.rx, (fy-s.y)/s.ry
		d := dx*dx + dy*dy
		if d >= 1.5 {
			continue
		}
		if math.IsNaN(edge) {
			edge = 0.45 * nz.stain.at(fx, fy)
		}
		if d+edge < 1 {
			c = c.tint(stainTint())
		}
	}
	// Walls shade the floor next to them, a little: the rails far less than solid walls.
	in := l.interior
	d := min(fx-float64(in.Min.X), fy-float64(in.Min.Y))
	if d < 1.5*t {
		c = c.scaleF(0.72 + 0.28*d/(1.5*t))
	}
	d = min(float64(in.Max.X)-fx, float64(in.Max.Y)-fy)
	if d < t {
		c = c.scaleF(0.88 + 0.12*d/t)
	}
	return c
}

func (c rgbF) scaleF(f float64) rgbF { return rgbF{c.r * f, c.g * f, c.b * f} }

func wallPixel(nz *floorNoise, x, y int, l layout) rgbF {
	fx, fy := float64(x)+0.5, float64(y)+0.5
	c := wallConcrete().add(6*nz.wall.at(fx, fy) + 4*nz.grain(x, y))
	// A darker lip on the pen side and on the outer edge of the wall top.
	d := l.wall // distance from the pen-side edge of the wall
	if y < l.wall {
		d = min(d, l.wall-1-y)
	}
	if x < l.wall {
		d = min(d, l.wall-1-x)
	}
	if d < 2 {
		c = c.scaleF(0.78)
	}
	if min(x, y) < 1 {
		c = c.scaleF(0.7)
	}
	return c
}

func railPixel(nz *floorNoise, x, y int, l layout, m float64) rgbF {
	fx, fy := float64(x)+0.5, float64(y)+0.5
	// Across the rail zone: 0 at the pen edge, 1 at the frame edge.
	var across, along float64
	if x >= l.w-l.wall && y < l.h-l.wall {
		across, along = (fx-float64(l.w-l.wall))/float64(l.wall), fy
	} else {
		across, along = (fy-float64(l.h-l.wall))/float64(l.wall), fx
	}
	c := aisleFloor().add(5*nz.rail.at(fx, fy) + 4*nz.grain(x, y))
	// Posts every quarter of the frame's shorter side; two tubes between them.
	postEvery := m / 4
	if math.Mod(along+postEvery/2, postEvery) < 0.8*float64(l.wall) {
		return steel().add(-20 + 25*(0.5-math.Abs(across-0.5)))
	}
	for _, centre := range []float64{0.3, 0.72} {
		if d := math.Abs(across-centre) / 0.12; d < 1 {
			// A tube seen from above: brightest along its top.
			return steel().add(30*(1-d*d) - 25)
		}
	}
	return c
}

func feederPixel(nz *floorNoise, x, y int, l layout) rgbF {
	f := l.feeder
	fx, fy := float64(x)+0.5, float64(y)+0.5
	rim := max(2, l.wall/3)
	d := min(x-f.Min.X, f.Max.X-1-x, y-f.Min.Y, f.Max.Y-1-y)
	if d < rim {
		return steel().add(float64(12 - 10*d))
	}
	// Dividers split the trough into feeding places.
	places := 4
	w := f.Dx() - 2*rim
	if rel := x - f.Min.X - rim; rel%(w/places) < max(1, rim/2) && rel > 0 && rel < w-1 {
		return steel().add(-8)
	}
	// Feed fills most of each place; bare steel shows where the pigs have licked it clean.
	if n := nz.feed.at(fx, fy); n > -0.6 {
		return feedPellets().add(8*n + 7*nz.grain(x, y))
	}
	return troughSteel().add(4 * nz.grain(x, y))
}
