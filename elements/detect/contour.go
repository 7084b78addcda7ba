package detect

// Contours follow the cracks between pixels rather than pixel centres: the polygon of a
// component runs along the outer edges of its boundary pixels, so a filled rectangle of
// pixels traces to exactly its four corners and a polygon's area matches the pixel count of a
// hole-free blob. Diagonal neighbours are kept inside the same outline (8-connectivity), as in
// labelling. The traced staircase is then simplified with Douglas–Peucker.

// contourTracer holds the scratch of contour extraction, reused between components and calls.
type contourTracer struct {
	grid  []uint8 // the component, 1 on 0, with a border
	ones  []uint8 // a row of 1s, copied in to paint runs
	verts [][2]int32
	pts   [][2]float32
	keep  []bool
	stack [][2]int32
}

// trace returns the simplified outer boundary of component c in frame pixels. Raster corner
// (x, y) is model-input pixel (x*fx, y*fy); eps is the simplification tolerance in frame pixels.
// The result is newly allocated: it is handed to the caller in a Detection.
func (t *contourTracer) trace(runs []run, c *component, fx, fy float32, lb Letterbox, eps float32) [][2]float32 {
	gw, gh := int(c.x1-c.x0)+2, int(c.y1-c.y0)+2 // one cell of background all round
	if cap(t.grid) < gw*gh {
		t.grid = make([]uint8, gw*gh)
	}
	t.grid = t.grid[:gw*gh]
	clear(t.grid)
	if len(t.ones) < gw {
		t.ones = make([]uint8, gw)
		for i := range t.ones {
			t.ones[i] = 1
		}
	}
	for i := c.first; i >= 0; i = runs[i].next {
		r := &runs[i]
		at := int(r.y-c.y0+1)*gw + int(r.x0-c.x0+1)
		copy(t.grid[at:at+int(r.x1-r.x0)], t.ones)
	}
	first := &runs[c.first]
	t.verts = traceOuter(t.grid, gw, int(first.x0-c.x0+1), 1, t.verts[:0])

	t.pts = t.pts[:0]
	ox, oy := float32(c.x0-1), float32(c.y0-1)
	for _, v := range t.verts {
		x, y := lb.ToFramePoint((float32(v[0])+ox)*fx, (float32(v[1])+oy)*fy)
		t.pts = append(t.pts, [2]float32{x, y})
	}
	return t.simplify(eps)
}

// traceOuter walks the outer boundary of the blob whose top-left pixel (first in raster
// order) is (sx, sy), along pixel edges with the blob on the right, and appends the corners
// it turns at, in grid-corner coordinates, starting at (sx, sy). The grid must have a
// background border so that no lookup leaves it.
func traceOuter(grid []uint8, gw, sx, sy int, verts [][2]int32) [][2]int32 {
	fg := func(x, y int) bool { return grid[y*gw+x] != 0 }
	dx := [4]int{1, 0, -1, 0} // E, S, W, N; y points down
	dy := [4]int{0, 1, 0, -1}
	verts = append(verts, [2]int32{int32(sx), int32(sy)})
	// The start corner touches only one blob pixel, so the walk passes it once: at the end.
	vx, vy, d := sx+1, sy, 0
	for steps, limit := 0, 4*len(grid)+4; (vx != sx || vy != sy) && steps < limit; steps++ {
		// The two pixels ahead of corner (vx, vy), on the left and on the right of heading d.
		var left, right bool
		switch d {
		case 0:
			left, right = fg(vx, vy-1), fg(vx, vy)
		case 1:
			left, right = fg(vx, vy), fg(vx-1, vy)
		case 2:
			left, right = fg(vx-1, vy), fg(vx-1, vy-1)
		default:
			left, right = fg(vx-1, vy-1), fg(vx, vy-1)
		}
		nd := d
		switch {
		case left: // also when right is background: a diagonal neighbour stays inside
			nd = (d + 3) & 3
		case right:
		default:
			nd = (d + 1) & 3
		}
		if nd != d {
			verts = append(verts, [2]int32{int32(vx), int32(vy)})
			d = nd
		}
		vx += dx[d]
		vy += dy[d]
	}
	return verts
}

// simplify runs Douglas–Peucker over the closed polygon t.pts with tolerance eps and returns
// the kept points in a new slice. The polygon is split at its first point and the point
// farthest from it; an explicit stack replaces recursion.
func (t *contourTracer) simplify(eps float32) [][2]float32 {
	pts := t.pts
	n := len(pts)
	if n <= 3 {
		return append([][2]float32(nil), pts...)
	}
	m, best := 0, float32(-1)
	for i, p := range pts {
		if d := dist2(p, pts[0]); d > best {
			m, best = i, d
		}
	}
	if cap(t.keep) < n {
		t.keep = make([]bool, n)
	}
	keep := t.keep[:n]
	clear(keep)
	keep[0], keep[m] = true, true
	at := func(i int32) [2]float32 { return pts[int(i)%n] } // index n is point 0 again
	eps2 := eps * eps
	t.stack = append(t.stack[:0], [2]int32{0, int32(m)}, [2]int32{int32(m), int32(n)})
	for len(t.stack) > 0 {
		s := t.stack[len(t.stack)-1]
		t.stack = t.stack[:len(t.stack)-1]
		if s[1]-s[0] < 2 {
			continue
		}
		a, b := at(s[0]), at(s[1])
		k, kd := int32(-1), eps2
		for i := s[0] + 1; i < s[1]; i++ {
			if d := segDist2(pts[i], a, b); d > kd {
				k, kd = i, d
			}
		}
		if k >= 0 {
			keep[k] = true
			t.stack = append(t.stack, [2]int32{s[0], k}, [2]int32{k, s[1]})
		}
	}
	kept := 0
	for _, k := range keep {
		if k {
			kept++
		}
	}
	out := make([][2]float32, 0, kept)
	for i, k := range keep {
		if k {
			out = append(out, pts[i])
		}
	}
	return out
}

func dist2(a, b [2]float32) float32 {
	dx, dy := a[0]-b[0], a[1]-b[1]
	return dx*dx + dy*dy
}

// segDist2 is the squared distance from p to the segment ab.
func segDist2(p, a, b [2]float32) float32 {
	vx, vy := b[0]-a[0], b[1]-a[1]
	l2 := vx*vx + vy*vy
	if l2 == 0 {
		return dist2(p, a)
	}
	u := ((p[0]-a[0])*vx + (p[1]-a[1])*vy) / l2
	u = clamp(u, 0, 1)
	return dist2(p, [2]float32{a[0] + u*vx, a[1] + u*vy})
}
