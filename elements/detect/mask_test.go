package detect

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// rect is columns [x0, x1) × rows [y0, y1) of a raster.
type rect struct{ x0, y0, x1, y1 int }

// fill sets channel ch of a [c, h, w] tensor to v over r.
func fill(m []float32, h, w, ch int, r rect, v float32) {
	for y := r.y0; y < r.y1; y++ {
		for x := r.x0; x < r.x1; x++ {
			m[ch*h*w+y*w+x] = v
		}
	}
}

// fillEllipse sets channel 0 of an h×w mask to v inside the ellipse, returning the cells set.
func fillEllipse(m []float32, h, w int, cx, cy, rx, ry float64, v float32) int {
	n := 0
	for y := range h {
		for x := range w {
			dx, dy := (float64(x)+0.5-cx)/rx, (float64(y)+0.5-cy)/ry
			if dx*dx+dy*dy <= 1 {
				m[y*w+x] = v
				n++
			}
		}
	}
	return n
}

func approx(a, b, tol float32) bool { return float32(math.Abs(float64(a-b))) <= tol }

func boxApprox(a, b Box) bool {
	const tol = 1e-3
	return approx(a.X, b.X, tol) && approx(a.Y, b.Y, tol) && approx(a.W, b.W, tol) && approx(a.H, b.H, tol)
}

// sameDetections compares everything but Contour, floats to 1e-3.
func sameDetections(t *testing.T, got, want []Detection) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d detections, want %d:\n got %+v\nwant %+v", len(got), len(want), got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if !boxApprox(g.Box, w.Box) || g.ClassID != w.ClassID || g.Class != w.Class || !approx(g.Score, w.Score, 1e-3) || g.Area != w.Area {
			t.Errorf("detection %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func TestDecodeMask(t *testing.T) {
	type maskCase struct {
		name       string
		srcW, srcH int // frame
		dstW, dstH int // model input
		c, h, w    int // mask
		draw       func(m []float32, h, w int)
		opt        Options
		want       []Detection
	}
	keepAll := Options{MinArea: -1}
	cases := []maskCase{
		{
			name: "identity", srcW: 64, srcH: 48, dstW: 64, dstH: 48, c: 1, h: 48, w: 64,
			draw: func(m []float32, h, w int) { fill(m, h, w, 0, rect{10, 5, 30, 25}, 0.9) },
			opt:  keepAll,
			want: []Detection{{Box: Box{10, 5, 20, 20}, Class: "0", Score: 0.9, Area: 400}},
		},
		{
			name: "score is the mean probability", srcW: 32, srcH: 32, dstW: 32, dstH: 32, c: 1, h: 32, w: 32,
			draw: func(m []float32, h, w int) {
				fill(m, h, w, 0, rect{0, 0, 10, 10}, 0.6)
				fill(m, h, w, 0, rect{0, 5, 10, 10}, 1.0)
			},
			opt:  keepAll,
			want: []Detection{{Box: Box{0, 0, 10, 10}, Class: "0", Score: 0.8, Area: 100}},
		},
		{
			name: "threshold is strict", srcW: 16, srcH: 16, dstW: 16, dstH: 16, c: 1, h: 16, w: 16,
			draw: func(m []float32, h, w int) {
				fill(m, h, w, 0, rect{0, 0, 4, 4}, 0.5)
				fill(m, h, w, 0, rect{8, 8, 12, 12}, 0.51)
			},
			opt:  keepAll,
			want: []Detection{{Box: Box{8, 8, 4, 4}, Class: "0", Score: 0.51, Area: 16}},
		},
		{
			name: "pad on y, blob in padding ignored", srcW: 64, srcH: 32, dstW: 64, dstH: 64, c: 1, h: 64, w: 64,
			draw: func(m []float32, h, w int) {
				fill(m, h, w, 0, rect{4, 20, 14, 30}, 0.9)  // input; PadY = 16
				fill(m, h, w, 0, rect{30, 2, 40, 12}, 0.9)  // all padding
				fill(m, h, w, 0, rect{30, 50, 40, 60}, 0.9) // all padding
			},
			opt:  keepAll,
			want: []Detection{{Box: Box{4, 4, 10, 10}, Class: "0", Score: 0.9, Area: 100}},
		},
		{
			name: "blob spilling into padding counts its frame part", srcW: 64, srcH: 32, dstW: 64, dstH: 64, c: 1, h: 64, w: 64,
			draw: func(m []float32, h, w int) { fill(m, h, w, 0, rect{0, 10, 10, 20}, 0.9) },
			opt:  keepAll,
			want: []Detection{{Box: Box{0, 0, 10, 4}, Class: "0", Score: 0.9, Area: 40}},
		},
		{
			name: "pad on x, scale 0.5", srcW: 72, srcH: 128, dstW: 64, dstH: 64, c: 1, h: 64, w: 64,
			// scale 0.5, content 36 wide at PadX 14
			draw: func(m []float32, h, w int) { fill(m, h, w, 0, rect{20, 10, 30, 20}, 0.9) },
			opt:  keepAll,
			want: []Detection{{Box: Box{12, 20, 20, 20}, Class: "0", Score: 0.9, Area: 400}},
		},
		{
			name: "pad on y, scale 2", srcW: 32, srcH: 16, dstW: 64, dstH: 64, c: 1, h: 64, w: 64,
			// scale 2, content 64×32 at PadY 16
			draw: func(m []float32, h, w int) { fill(m, h, w, 0, rect{10, 20, 30, 30}, 0.9) },
			opt:  keepAll,
			want: []Detection{{Box: Box{5, 2, 10, 5}, Class: "0", Score: 0.9, Area: 50}},
		},
		{
			name: "mask at a quarter of the input resolution", srcW: 128, srcH: 128, dstW: 64, dstH: 64, c: 1, h: 16, w: 16,
			// a cell is 4×4 input pixels, 8×8 frame pixels
			draw: func(m []float32, h, w int) { fill(m, h, w, 0, rect{2, 3, 6, 5}, 0.9) },
			opt:  keepAll,
			want: []Detection{{Box: Box{16, 24, 32, 16}, Class: "0", Score: 0.9, Area: 512}},
		},
		{
			name: "min area", srcW: 32, srcH: 32, dstW: 32, dstH: 32, c: 1, h: 32, w: 32,
			draw: func(m []float32, h, w int) {
				fill(m, h, w, 0, rect{0, 0, 5, 5}, 0.9)     // 25
				fill(m, h, w, 0, rect{10, 10, 20, 20}, 0.8) // 100
				fill(m, h, w, 0, rect{25, 0, 30, 10}, 0.7)  // 50: kept, not below
			},
			opt: Options{MinArea: 50},
			want: []Detection{
				{Box: Box{10, 10, 10, 10}, Class: "0", Score: 0.8, Area: 100},
				{Box: Box{25, 0, 5, 10}, Class: "0", Score: 0.7, Area: 50},
			},
		},
		{
			name: "automatic min area is 0.02% of the frame", srcW: 640, srcH: 480, dstW: 640, dstH: 480, c: 1, h: 480, w: 640,
			draw: func(m []float32, h, w int) {
				fill(m, h, w, 0, rect{0, 0, 6, 10}, 0.9)        // 60 < 61
				fill(m, h, w, 0, rect{100, 100, 108, 108}, 0.9) // 64
			},
			want: []Detection{{Box: Box{100, 100, 8, 8}, Class: "0", Score: 0.9, Area: 64}},
		},
		{
			name: "diagonal neighbours join", srcW: 32, srcH: 32, dstW: 32, dstH: 32, c: 1, h: 32, w: 32,
			draw: func(m []float32, h, w int) {
				fill(m, h, w, 0, rect{0, 0, 4, 4}, 0.9)
				fill(m, h, w, 0, rect{4, 4, 8, 8}, 0.9)
				for i := range 6 { // a single-pixel diagonal line, running up to the right
					m[(20-i)*w+20+i] = 0.8
				}
			},
			opt: keepAll,
			want: []Detection{
				{Box: Box{0, 0, 8, 8}, Class: "0", Score: 0.9, Area: 32},
				{Box: Box{20, 15, 6, 6}, Class: "0", Score: 0.8, Area: 6},
			},
		},
		{
			name: "argmax over classes", srcW: 32, srcH: 32, dstW: 32, dstH: 32, c: 3, h: 32, w: 32,
			draw: func(m []float32, h, w int) {
				fill(m, h, w, 0, rect{0, 0, 32, 32}, 1) // background everywhere
				// class 0 and class 1 side by side: they touch but are different objects
				fill(m, h, w, 0, rect{2, 2, 8, 8}, 0.2)
				fill(m, h, w, 1, rect{2, 2, 8, 8}, 0.8)
				fill(m, h, w, 0, rect{8, 2, 14, 8}, 0.1)
				fill(m, h, w, 1, rect{8, 2, 14, 8}, 0.2)
				fill(m, h, w, 2, rect{8, 2, 14, 8}, 0.7)
				// best channel is class 0 but not above confidence
				fill(m, h, w, 0, rect{20, 20, 30, 30}, 0.3)
				fill(m, h, w, 1, rect{20, 20, 30, 30}, 0.45)
				fill(m, h, w, 2, rect{20, 20, 30, 30}, 0.25)
				// background ties with class 0: background wins
				fill(m, h, w, 0, rect{20, 2, 30, 10}, 0.6)
				fill(m, h, w, 1, rect{20, 2, 30, 10}, 0.6)
			},
			opt: Options{MinArea: -1, Classes: []string{"pig"}},
			want: []Detection{
				{Box: Box{2, 2, 6, 6}, ClassID: 0, Class: "pig", Score: 0.8, Area: 36},
				{Box: Box{8, 2, 6, 6}, ClassID: 1, Class: "1", Score: 0.7, Area: 36},
			},
		},
		{
			name: "max detections keeps the best, ties top to bottom then left to right", srcW: 32, srcH: 32, dstW: 32, dstH: 32, c: 1, h: 32, w: 32,
			draw: func(m []float32, h, w int) {
				fill(m, h, w, 0, rect{20, 20, 24, 24}, 0.9)
				fill(m, h, w, 0, rect{10, 20, 14, 24}, 0.9)
				fill(m, h, w, 0, rect{20, 2, 24, 6}, 0.9)
				fill(m, h, w, 0, rect{0, 0, 2, 2}, 0.95)
			},
			opt: Options{MinArea: -1, MaxDetections: 3},
			want: []Detection{
				{Box: Box{0, 0, 2, 2}, Class: "0", Score: 0.95, Area: 4},
				{Box: Box{20, 2, 4, 4}, Class: "0", Score: 0.9, Area: 16},
				{Box: Box{10, 20, 4, 4}, Class: "0", Score: 0.9, Area: 16},
			},
		},
		{
			name: "empty", srcW: 32, srcH: 32, dstW: 32, dstH: 32, c: 1, h: 32, w: 32,
			draw: func(m []float32, h, w int) {},
			want: nil,
		},
		{
			name: "empty multi-class", srcW: 32, srcH: 32, dstW: 32, dstH: 32, c: 4, h: 32, w: 32,
			draw: func(m []float32, h, w int) {},
			want: nil,
		},
		{
			name: "NaN is background", srcW: 8, srcH: 8, dstW: 8, dstH: 8, c: 1, h: 8, w: 8,
			draw: func(m []float32, h, w int) { fill(m, h, w, 0, rect{0, 0, 8, 8}, float32(math.NaN())) },
			opt:  keepAll,
			want: nil,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := make([]float32, tc.c*tc.h*tc.w)
			tc.draw(m, tc.h, tc.w)
			lb := NewLetterbox(tc.srcW, tc.srcH, tc.dstW, tc.dstH)
			got, err := DecodeMask(m, tc.c, tc.h, tc.w, lb, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			sameDetections(t, got, tc.want)
		})
	}
}

func TestDecodeMaskContour(t *testing.T) {
	t.Run("rectangle traces to its corners", func(t *testing.T) {
		const w, h = 64, 48
		m := make([]float32, w*h)
		fill(m, h, w, 0, rect{10, 5, 30, 25}, 0.9)
		got, err := DecodeMask(m, 1, h, w, NewLetterbox(w, h, w, h), Options{Contours: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Fatalf("got %d detections", len(got))
		}
		samePolygon(t, got[0].Contour, [][2]float32{{10, 5}, {30, 5}, {30, 25}, {10, 25}})
	})
	t.Run("rectangle through a letterbox", func(t *testing.T) {
		// frame 128×64 into 64×64: scale 0.5, PadY 16; mask at 32×32, a cell is 4 frame pixels
		m := make([]float32, 32*32)
		fill(m, 32, 32, 0, rect{4, 10, 12, 14}, 0.9)
		got, err := DecodeMask(m, 1, 32, 32, NewLetterbox(128, 64, 64, 64), Options{Contours: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Fatalf("got %d detections", len(got))
		}
		samePolygon(t, got[0].Contour, [][2]float32{{16, 8}, {48, 8}, {48, 24}, {16, 24}})
		sameDetections(t, got, []Detection{{Box: Box{16, 8, 32, 16}, Class: "0", Score: 0.9, Area: 512}})
	})
	t.Run("L shape", func(t *testing.T) {
		m := make([]float32, 32*32)
		fill(m, 32, 32, 0, rect{2, 2, 6, 20}, 0.9)
		fill(m, 32, 32, 0, rect{2, 16, 20, 20}, 0.9)
		got, err := DecodeMask(m, 1, 32, 32, NewLetterbox(32, 32, 32, 32), Options{Contours: true, MinArea: -1})
		if err != nil {
			t.Fatal(err)
		}
		samePolygon(t, got[0].Contour, [][2]float32{{2, 2}, {6, 2}, {6, 16}, {20, 16}, {20, 20}, {2, 20}})
	})
	t.Run("ellipse stays close to its area", func(t *testing.T) {
		const w, h = 200, 150
		m := make([]float32, w*h)
		n := fillEllipse(m, h, w, 100, 75, 60, 40, 0.9)
		got, err := DecodeMask(m, 1, h, w, NewLetterbox(w, h, w, h), Options{Contours: true})
		if err != nil {
			t.Fatal(err)
		}
		c := got[0].Contour
		if len(c) < 8 || len(c) > 120 {
			t.Errorf("contour has %d points", len(c))
		}
		if a := polygonArea(c); math.Abs(a-float64(n))/float64(n) > 0.02 {
			t.Errorf("contour area %.0f, mask area %d", a, n)
		}
		b := got[0].Box
		for _, p := range c {
			if p[0] < b.X || p[0] > b.X+b.W || p[1] < b.Y || p[1] > b.Y+b.H {
				t.Errorf("point %v outside box %+v", p, b)
			}
		}
	})
	t.Run("off by default", func(t *testing.T) {
		m := make([]float32, 16*16)
		fill(m, 16, 16, 0, rect{2, 2, 12, 12}, 0.9)
		got, _ := DecodeMask(m, 1, 16, 16, NewLetterbox(16, 16, 16, 16), Options{})
		if got[0].Contour != nil {
			t.Errorf("contour %v without Options.Contours", got[0].Contour)
		}
	})
}

// samePolygon compares closed polygons up to the starting point.
func samePolygon(t *testing.T, got, want [][2]float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("polygon %v, want %v", got, want)
	}
	for shift := range got {
		ok := true
		for i := range want {
			g := got[(i+shift)%len(got)]
			if !approx(g[0], want[i][0], 1e-3) || !approx(g[1], want[i][1], 1e-3) {
				ok = false
				break
			}
		}
		if ok {
			return
		}
	}
	t.Fatalf("polygon %v, want %v", got, want)
}

func polygonArea(p [][2]float32) float64 {
	var a float64
	for i := range p {
		q, r := p[i], p[(i+1)%len(p)]
		a += float64(q[0])*float64(r[1]) - float64(r[0])*float64(q[1])
	}
	return math.Abs(a) / 2
}

func TestDecodeMaskErrors(t *testing.T) {
	lb := NewLetterbox(8, 8, 8, 8)
	cases := []struct {
		name    string
		mask    []float32
		c, h, w int
		lb      Letterbox
		opt     Options
		want    error
	}{
		{"short", make([]float32, 63), 1, 8, 8, lb, Options{}, ErrShape},
		{"long", make([]float32, 65), 1, 8, 8, lb, Options{}, ErrShape},
		{"channels missing", make([]float32, 64), 2, 8, 8, lb, Options{}, ErrShape},
		{"zero channels", nil, 0, 8, 8, lb, Options{}, ErrShape},
		{"zero height", nil, 1, 0, 8, lb, Options{}, ErrShape},
		{"negative width", make([]float32, 8), -1, 8, -1, lb, Options{}, ErrShape},
		{"overflowing shape", make([]float32, 8), 1 << 30, 1 << 30, 1 << 30, lb, Options{}, ErrShape},
		{"zero letterbox", make([]float32, 64), 1, 8, 8, Letterbox{}, Options{}, ErrLetterbox},
		{"confidence above 1", make([]float32, 64), 1, 8, 8, lb, Options{Confidence: 2}, ErrOptions},
		{"NaN confidence", make([]float32, 64), 1, 8, 8, lb, Options{Confidence: float32(math.NaN())}, ErrOptions},
		{"negative max detections", make([]float32, 64), 1, 8, 8, lb, Options{MaxDetections: -1}, ErrOptions},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeMask(tc.mask, tc.c, tc.h, tc.w, tc.lb, tc.opt)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if len(got) != 0 {
				t.Errorf("detections %v with an error", got)
			}
		})
	}
}

// TestDecodeMaskMatchesFloodFill checks run labelling against a plain per-pixel flood fill on
// random masks: same components, same classes, same areas and boxes.
func TestDecodeMaskMatchesFloodFill(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var d MaskDecoder // reused: stale scratch must not leak between calls
	for iter := range 200 {
		w, h := 1+rng.IntN(40), 1+rng.IntN(40)
		c := 1 + rng.IntN(3)
		density := rng.Float64()
		m := make([]float32, c*h*w)
		for i := range m {
			if rng.Float64() < density {
				m[i] = rng.Float32()
			}
		}
		lb := NewLetterbox(w, h, w, h)
		got, err := d.Decode(nil, m, c, h, w, lb, Options{MinArea: -1, MaxDetections: 1 << 20, Contours: iter%2 == 0})
		if err != nil {
			t.Fatal(err)
		}
		want := floodFill(m, c, h, w, 0.5)
		if len(got) != len(want) {
			t.Fatalf("iteration %d (%dx%dx%d): %d components, flood fill finds %d", iter, c, h, w, len(got), len(want))
		}
		seen := map[floodComponent]int{}
		for _, f := range want {
			seen[f]++
		}
		for _, g := range got {
			k := floodComponent{cls: g.ClassID, count: g.Area, x0: int(g.Box.X), y0: int(g.Box.Y), x1: int(g.Box.X + g.Box.W), y1: int(g.Box.Y + g.Box.H)}
			if seen[k] == 0 {
				t.Fatalf("iteration %d: component %+v not found by flood fill", iter, k)
			}
			seen[k]--
			if g.Contour != nil && polygonArea(g.Contour) < float64(g.Area)-1e-3 && len(g.Contour) >= 3 {
				// Simplification may cut corners, but never by more than it is allowed to.
				if polygonArea(g.Contour) < float64(g.Area)*0.5-2 {
					t.Fatalf("iteration %d: contour area %.1f for %d pixels", iter, polygonArea(g.Contour), g.Area)
				}
			}
		}
	}
}

type floodComponent struct{ cls, count, x0, y0, x1, y1 int }

func floodFill(m []float32, c, h, w int, conf float32) []floodComponent {
	cls := make([]int, h*w) // -1 background
	for i := range cls {
		if c == 1 {
			cls[i] = -1
			if m[i] > conf {
				cls[i] = 0
			}
			continue
		}
		best, k := m[i], 0
		for ch := 1; ch < c; ch++ {
			if v := m[ch*h*w+i]; v > best {
				best, k = v, ch
			}
		}
		cls[i] = -1
		if k != 0 && best > conf {
			cls[i] = k - 1
		}
	}
	seen := make([]bool, h*w)
	var out []floodComponent
	var stack []int
	for s := range cls {
		if cls[s] < 0 || seen[s] {
			continue
		}
		f := floodComponent{cls: cls[s], x0: w, y0: h}
		seen[s] = true
		stack = append(stack[:0], s)
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			x, y := p%w, p/w
			f.count++
			f.x0, f.y0, f.x1, f.y1 = min(f.x0, x), min(f.y0, y), max(f.x1, x+1), max(f.y1, y+1)
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					nx, ny := x+dx, y+dy
					if nx < 0 || ny < 0 || nx >= w || ny >= h {
						continue
					}
					q := ny*w + nx
					if !seen[q] && cls[q] == f.cls {
						seen[q] = true
						stack = append(stack, q)
					}
				}
			}
		}
		out = append(out, f)
	}
	return out
}

// TestTraceOuterArea checks the unsimplified crack trace of hole-free blobs: its polygon
// area is exactly the pixel count.
func TestTraceOuterArea(t *testing.T) {
	for _, e := range []struct{ cx, cy, rx, ry float64 }{{10, 10, 6, 4}, {20, 15, 15, 12}, {5, 5, 1, 1}, {30, 20, 25, 3}} {
		const w, h = 64, 48
		m := make([]float32, w*h)
		n := fillEllipse(m, h, w, e.cx, e.cy, e.rx, e.ry, 1)
		var lab labeller
		lab.reset()
		for y := range h {
			lab.beginRow(y)
			scanRuns(&lab, m[y*w:(y+1)*w], 0, 0.5)
		}
		comps := lab.finish()
		if len(comps) != 1 {
			t.Fatalf("%+v: %d components", e, len(comps))
		}
		var tr contourTracer
		tr.trace(lab.runs, &comps[0], 1, 1, NewLetterbox(w, h, w, h), 1)
		var poly [][2]float32
		c := comps[0]
		for _, v := range tr.verts {
			poly = append(poly, [2]float32{float32(v[0]) + float32(c.x0-1), float32(v[1]) + float32(c.y0-1)})
		}
		if a := polygonArea(poly); a != float64(n) {
			t.Errorf("%+v: traced area %v, %d pixels", e, a, n)
		}
	}
}

func TestMaskDecoderReuseDoesNotAllocate(t *testing.T) {
	const w, h = 160, 120
	m := make([]float32, w*h)
	fill(m, h, w, 0, rect{10, 10, 40, 40}, 0.9)
	fill(m, h, w, 0, rect{60, 60, 90, 100}, 0.9)
	lb := NewLetterbox(640, 480, 640, 480)
	var d MaskDecoder
	dst := make([]Detection, 0, 16)
	allocs := testing.AllocsPerRun(50, func() {
		var err error
		if dst, err = d.Decode(dst[:0], m, 1, h, w, lb, Options{}); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per decode", allocs)
	}
	if len(dst) != 2 {
		t.Errorf("%d detections", len(dst))
	}
}

// benchMask draws 10 elliptical blobs, pig-sized, into a [c, 480, 640] mask. With more than
// one channel the blobs take turns at the classes and channel 0 is background elsewhere.
func benchMask(c int) []float32 {
	const w, h = 640, 480
	prob := make([]float32, w*h)
	class := make([]int, w*h)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 10 {
		cx, cy := 60+float64(i%5)*125, 120+float64(i/5)*240
		rx, ry := 40+rng.Float64()*15, 70+rng.Float64()*20
		p := 0.6 + 0.3*rng.Float32()
		for y := range h {
			for x := range w {
				dx, dy := (float64(x)+0.5-cx)/rx, (float64(y)+0.5-cy)/ry
				if dx*dx+dy*dy <= 1 {
					prob[y*w+x], class[y*w+x] = p, 1+i%max(1, c-1)
				}
			}
		}
	}
	if c == 1 {
		return prob
	}
	m := make([]float32, c*w*h)
	for i := range prob {
		if class[i] == 0 {
			m[i] = 0.9
			continue
		}
		m[i] = 1 - prob[i]
		m[class[i]*w*h+i] = prob[i]
	}
	return m
}

func BenchmarkDecodeMask(b *testing.B) {
	for _, bc := range []struct {
		name     string
		c        int
		contours bool
	}{{"1ch", 1, false}, {"1ch-contours", 1, true}, {"3ch", 3, false}} {
		b.Run(bc.name, func(b *testing.B) {
			m := benchMask(bc.c)
			lb := NewLetterbox(1280, 960, 640, 480)
			var d MaskDecoder
			dst := make([]Detection, 0, 32)
			opt := Options{Contours: bc.contours}
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if dst, err = d.Decode(dst[:0], m, bc.c, 480, 640, lb, opt); err != nil {
					b.Fatal(err)
				}
			}
			if len(dst) != 10 {
				b.Fatalf("%d detections, want 10", len(dst))
			}
		})
	}
}
