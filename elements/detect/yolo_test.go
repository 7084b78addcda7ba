package detect

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// anchor is one anchor of a synthetic YOLO head: a box in model-input pixels (centre, size),
// class scores by class id, and mask coefficients for seg heads.
type anchor struct {
	cx, cy, w, h float32
	scores       map[int]float32
	coeffs       []float32
}

// yoloTensor lays anchors out as a head with nc classes and nm coefficients would, padding
// with zero-score anchors up to n.
func yoloTensor(layout Layout, nc, nm, n int, anchors ...anchor) []float32 {
	rows := 4 + nc + nm
	out := make([]float32, rows*n)
	set := func(r, a int, v float32) {
		if layout == LayoutAnchorsFirst {
			out[a*rows+r] = v
		} else {
			out[r*n+a] = v
		}
	}
	// Spread the real anchors out so that their order in the tensor is not their rank.
	for i, an := range anchors {
		a := (i*7 + 3) % n
		set(0, a, an.cx)
		set(1, a, an.cy)
		set(2, a, an.w)
		set(3, a, an.h)
		for k, s := range an.scores {
			set(4+k, a, s)
		}
		for k, c := range an.coeffs {
			set(4+nc+k, a, c)
		}
	}
	return out
}

var layouts = []Layout{LayoutChannelsFirst, LayoutAnchorsFirst}

func layoutName(l Layout) string {
	if l == LayoutAnchorsFirst {
		return "anchors-first"
	}
	return "channels-first"
}

func TestDecodeYOLO(t *testing.T) {
	cases := []struct {
		name       string
		srcW, srcH int
		nc         int
		anchors    []anchor
		opt        Options
		want       []Detection
	}{
		{
			name: "one box", srcW: 640, srcH: 640, nc: 3,
			anchors: []anchor{{cx: 100, cy: 100, w: 50, h: 40, scores: map[int]float32{1: 0.9}}},
			want:    []Detection{{Box: Box{75, 80, 50, 40}, ClassID: 1, Class: "1", Score: 0.9, Area: 2000}},
		},
		{
			name: "best class of an anchor, names", srcW: 640, srcH: 640, nc: 3,
			anchors: []anchor{{cx: 100, cy: 100, w: 50, h: 40, scores: map[int]float32{0: 0.3, 2: 0.7}}},
			opt:     Options{Classes: []string{"pig", "person", "feeder"}},
			want:    []Detection{{Box: Box{75, 80, 50, 40}, ClassID: 2, Class: "feeder", Score: 0.7, Area: 2000}},
		},
		{
			name: "confidence threshold is inclusive", srcW: 640, srcH: 640, nc: 1,
			anchors: []anchor{
				{cx: 100, cy: 100, w: 20, h: 20, scores: map[int]float32{0: 0.25}},
				{cx: 300, cy: 100, w: 20, h: 20, scores: map[int]float32{0: 0.2499}},
			},
			want: []Detection{{Box: Box{90, 90, 20, 20}, Class: "0", Score: 0.25, Area: 400}},
		},
		{
			name: "nms suppresses an overlapping box of the same class", srcW: 640, srcH: 640, nc: 2,
			anchors: []anchor{
				{cx: 100, cy: 100, w: 100, h: 100, scores: map[int]float32{0: 0.8}},
				{cx: 110, cy: 100, w: 100, h: 100, scores: map[int]float32{0: 0.9}}, // IoU 0.82
			},
			want: []Detection{{Box: Box{60, 50, 100, 100}, Class: "0", Score: 0.9, Area: 10000}},
		},
		{
			name: "nms keeps overlapping boxes of different classes", srcW: 640, srcH: 640, nc: 2,
			anchors: []anchor{
				{cx: 100, cy: 100, w: 100, h: 100, scores: map[int]float32{0: 0.8}},
				{cx: 110, cy: 100, w: 100, h: 100, scores: map[int]float32{1: 0.9}},
			},
			want: []Detection{
				{Box: Box{60, 50, 100, 100}, ClassID: 1, Class: "1", Score: 0.9, Area: 10000},
				{Box: Box{50, 50, 100, 100}, ClassID: 0, Class: "0", Score: 0.8, Area: 10000},
			},
		},
		{
			name: "nms keeps boxes overlapping less than the threshold", srcW: 640, srcH: 640, nc: 1,
			anchors: []anchor{
				{cx: 100, cy: 100, w: 100, h: 100, scores: map[int]float32{0: 0.8}},
				{cx: 160, cy: 100, w: 100, h: 100, scores: map[int]float32{0: 0.9}}, // IoU 0.25
			},
			want: []Detection{
				{Box: Box{110, 50, 100, 100}, Class: "0", Score: 0.9, Area: 10000},
				{Box: Box{50, 50, 100, 100}, Class: "0", Score: 0.8, Area: 10000},
			},
		},
		{
			name: "nms threshold from options", srcW: 640, srcH: 640, nc: 1,
			anchors: []anchor{
				{cx: 100, cy: 100, w: 100, h: 100, scores: map[int]float32{0: 0.8}},
				{cx: 160, cy: 100, w: 100, h: 100, scores: map[int]float32{0: 0.9}}, // IoU 0.25
			},
			opt:  Options{IoU: 0.2},
			want: []Detection{{Box: Box{110, 50, 100, 100}, Class: "0", Score: 0.9, Area: 10000}},
		},
		{
			name: "pad on y, scale 0.5", srcW: 1280, srcH: 720, nc: 1, // PadY 140
			anchors: []anchor{{cx: 320, cy: 320, w: 100, h: 50, scores: map[int]float32{0: 0.9}}},
			want:    []Detection{{Box: Box{540, 310, 200, 100}, Class: "0", Score: 0.9, Area: 20000}},
		},
		{
			name: "pad on x, scale 0.5", srcW: 720, srcH: 1280, nc: 1, // PadX 140
			anchors: []anchor{{cx: 320, cy: 320, w: 100, h: 50, scores: map[int]float32{0: 0.9}}},
			want:    []Detection{{Box: Box{260, 590, 200, 100}, Class: "0", Score: 0.9, Area: 20000}},
		},
		{
			name: "scale 2", srcW: 320, srcH: 240, nc: 1, // scale 2, PadY 80
			anchors: []anchor{{cx: 320, cy: 320, w: 100, h: 50, scores: map[int]float32{0: 0.9}}},
			want:    []Detection{{Box: Box{135, 107.5, 50, 25}, Class: "0", Score: 0.9, Area: 1250}},
		},
		{
			name: "box reaching into the padding is clipped", srcW: 1280, srcH: 720, nc: 1,
			anchors: []anchor{{cx: 100, cy: 140, w: 100, h: 100, scores: map[int]float32{0: 0.9}}},
			want:    []Detection{{Box: Box{100, 0, 200, 100}, Class: "0", Score: 0.9, Area: 20000}},
		},
		{
			name: "box inside the padding is dropped", srcW: 1280, srcH: 720, nc: 1,
			anchors: []anchor{{cx: 100, cy: 60, w: 100, h: 100, scores: map[int]float32{0: 0.9}}},
			want:    nil,
		},
		{
			name: "max detections", srcW: 640, srcH: 640, nc: 1,
			anchors: []anchor{
				{cx: 100, cy: 100, w: 20, h: 20, scores: map[int]float32{0: 0.5}},
				{cx: 200, cy: 100, w: 20, h: 20, scores: map[int]float32{0: 0.7}},
				{cx: 300, cy: 100, w: 20, h: 20, scores: map[int]float32{0: 0.6}},
			},
			opt: Options{MaxDetections: 2},
			want: []Detection{
				{Box: Box{190, 90, 20, 20}, Class: "0", Score: 0.7, Area: 400},
				{Box: Box{290, 90, 20, 20}, Class: "0", Score: 0.6, Area: 400},
			},
		},
		{
			name: "equal scores sort top to bottom, left to right", srcW: 640, srcH: 640, nc: 1,
			anchors: []anchor{
				{cx: 300, cy: 300, w: 20, h: 20, scores: map[int]float32{0: 0.5}},
				{cx: 100, cy: 300, w: 20, h: 20, scores: map[int]float32{0: 0.5}},
				{cx: 500, cy: 100, w: 20, h: 20, scores: map[int]float32{0: 0.5}},
			},
			want: []Detection{
				{Box: Box{490, 90, 20, 20}, Class: "0", Score: 0.5, Area: 400},
				{Box: Box{90, 290, 20, 20}, Class: "0", Score: 0.5, Area: 400},
				{Box: Box{290, 290, 20, 20}, Class: "0", Score: 0.5, Area: 400},
			},
		},
		{
			name: "NaN box is dropped", srcW: 640, srcH: 640, nc: 1,
			anchors: []anchor{{cx: float32(math.NaN()), cy: 100, w: 20, h: 20, scores: map[int]float32{0: 0.9}}},
			want:    nil,
		},
		{name: "no scores", srcW: 640, srcH: 640, nc: 80, want: nil},
	}
	for _, tc := range cases {
		for _, layout := range layouts {
			t.Run(tc.name+"/"+layoutName(layout), func(t *testing.T) {
				const n = 64
				out := yoloTensor(layout, tc.nc, 0, n, tc.anchors...)
				opt := tc.opt
				opt.Layout = layout
				got, err := DecodeYOLO(out, 4+tc.nc, n, NewLetterbox(tc.srcW, tc.srcH, 640, 640), opt)
				if err != nil {
					t.Fatal(err)
				}
				sameDetections(t, got, tc.want)
			})
		}
	}
}

func TestDecodeYOLOEmptyAndErrors(t *testing.T) {
	lb := NewLetterbox(640, 640, 640, 640)
	t.Run("no anchors", func(t *testing.T) {
		for _, layout := range layouts {
			got, err := DecodeYOLO(nil, 84, 0, lb, Options{Layout: layout})
			if err != nil || len(got) != 0 {
				t.Errorf("%s: %v, %v", layoutName(layout), got, err)
			}
		}
	})
	cases := []struct {
		name          string
		out           []float32
		rows, anchors int
		lb            Letterbox
		opt           Options
		want          error
	}{
		{"too few rows", make([]float32, 4*10), 4, 10, lb, Options{}, ErrShape},
		{"short", make([]float32, 84*100-1), 84, 100, lb, Options{}, ErrShape},
		{"long", make([]float32, 84*100+1), 84, 100, lb, Options{}, ErrShape},
		{"negative anchors", make([]float32, 84), 84, -1, lb, Options{}, ErrShape},
		{"overflowing shape", make([]float32, 84), math.MaxInt / 2, 3, lb, Options{}, ErrShape},
		{"bad letterbox", make([]float32, 84), 84, 1, Letterbox{SrcW: 1, SrcH: 1, DstW: 1, DstH: 1}, Options{}, ErrLetterbox},
		{"bad layout", make([]float32, 84), 84, 1, lb, Options{Layout: 7}, ErrOptions},
		{"bad iou", make([]float32, 84), 84, 1, lb, Options{IoU: 1.5}, ErrOptions},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, layout := range layouts {
				opt := tc.opt
				if opt.Layout == 0 {
					opt.Layout = layout
				}
				got, err := DecodeYOLO(tc.out, tc.rows, tc.anchors, tc.lb, opt)
				if !errors.Is(err, tc.want) || len(got) != 0 {
					t.Errorf("%s: %v, %v; want %v", layoutName(layout), got, err, tc.want)
				}
				_, err = DecodeYOLOSeg(tc.out, tc.rows, tc.anchors, make([]float32, 32*4), 32, 2, 2, tc.lb, opt)
				if err == nil {
					t.Errorf("seg %s: no error", layoutName(layout))
				}
			}
		})
	}
}

// TestYOLOLayoutsAgree decodes the same random head in both layouts.
func TestYOLOLayoutsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const nc, n = 5, 500
	var as []anchor
	for range 200 {
		as = append(as, anchor{
			cx: rng.Float32() * 640, cy: rng.Float32() * 640, w: 5 + rng.Float32()*100, h: 5 + rng.Float32()*100,
			scores: map[int]float32{rng.IntN(nc): rng.Float32(), rng.IntN(nc): rng.Float32()},
		})
	}
	lb := NewLetterbox(1920, 1080, 640, 640)
	a, err := DecodeYOLO(yoloTensor(LayoutChannelsFirst, nc, 0, n, as...), 4+nc, n, lb, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := DecodeYOLO(yoloTensor(LayoutAnchorsFirst, nc, 0, n, as...), 4+nc, n, lb, Options{Layout: LayoutAnchorsFirst})
	if err != nil {
		t.Fatal(err)
	}
	if len(a) < 10 {
		t.Fatalf("only %d detections", len(a))
	}
	sameDetections(t, b, a)
	for i := range a {
		for j := range i {
			if a[i].ClassID == a[j].ClassID && IoU(a[i].Box, a[j].Box) > DefaultIoU+0.01 {
				t.Errorf("detections %d and %d overlap by %.2f", j, i, IoU(a[i].Box, a[j].Box))
			}
		}
	}
}

func TestDecodeYOLOSeg(t *testing.T) {
	// 64×64 input, 16×16 protos: a proto cell is 4×4 input pixels. Proto 0 is +1 on cells
	// [2, 10) × [2, 8) and -1 elsewhere; proto 1 is 1 everywhere.
	const nm, ph, pw = 2, 16, 16
	protos := make([]float32, nm*ph*pw)
	for i := range ph * pw {
		protos[i] = -1
		protos[ph*pw+i] = 1
	}
	fill(protos, ph, pw, 0, rect{2, 2, 10, 8}, 1)
	inMask := []float32{1, 0}
	cases := []struct {
		name       string
		srcW, srcH int
		anchors    []anchor
		opt        Options
		want       []Detection
		contours   [][][2]float32
	}{
		{
			name: "mask fills its box", srcW: 64, srcH: 64,
			anchors:  []anchor{{cx: 24, cy: 20, w: 32, h: 24, scores: map[int]float32{0: 0.9}, coeffs: inMask}},
			opt:      Options{Contours: true},
			want:     []Detection{{Box: Box{8, 8, 32, 24}, Class: "0", Score: 0.9, Area: 768}},
			contours: [][][2]float32{{{8, 8}, {40, 8}, {40, 32}, {8, 32}}},
		},
		{
			name: "mask cropped to a smaller box", srcW: 64, srcH: 64,
			anchors:  []anchor{{cx: 16, cy: 16, w: 16, h: 16, scores: map[int]float32{0: 0.9}, coeffs: inMask}},
			opt:      Options{Contours: true},
			want:     []Detection{{Box: Box{8, 8, 16, 16}, Class: "0", Score: 0.9, Area: 256}},
			contours: [][][2]float32{{{8, 8}, {24, 8}, {24, 24}, {8, 24}}},
		},
		{
			name: "mask smaller than its box", srcW: 64, srcH: 64,
			anchors: []anchor{{cx: 32, cy: 32, w: 64, h: 64, scores: map[int]float32{0: 0.9}, coeffs: inMask}},
			want:    []Detection{{Box: Box{0, 0, 64, 64}, Class: "0", Score: 0.9, Area: 768}},
		},
		{
			name: "empty mask", srcW: 64, srcH: 64,
			anchors:  []anchor{{cx: 32, cy: 32, w: 64, h: 64, scores: map[int]float32{1: 0.6}, coeffs: []float32{0, -1}}},
			opt:      Options{Contours: true},
			want:     []Detection{{Box: Box{0, 0, 64, 64}, ClassID: 1, Class: "1", Score: 0.6, Area: 0}},
			contours: [][][2]float32{nil},
		},
		{
			name: "letterboxed: padding cells do not count", srcW: 128, srcH: 64, // scale 0.5, PadY 16
			anchors:  []anchor{{cx: 32, cy: 32, w: 64, h: 64, scores: map[int]float32{0: 0.9}, coeffs: []float32{0, 1}}},
			opt:      Options{Contours: true},
			want:     []Detection{{Box: Box{0, 0, 128, 64}, Class: "0", Score: 0.9, Area: 128 * 64}},
			contours: [][][2]float32{{{0, 0}, {128, 0}, {128, 64}, {0, 64}}},
		},
		{
			name: "two instances, nms between them", srcW: 64, srcH: 64,
			anchors: []anchor{
				{cx: 24, cy: 20, w: 32, h: 24, scores: map[int]float32{0: 0.9}, coeffs: inMask},
				{cx: 25, cy: 20, w: 32, h: 24, scores: map[int]float32{0: 0.8}, coeffs: inMask},
				{cx: 52, cy: 52, w: 8, h: 8, scores: map[int]float32{2: 0.7}, coeffs: []float32{0, 1}},
			},
			want: []Detection{
				{Box: Box{8, 8, 32, 24}, Class: "0", Score: 0.9, Area: 768},
				{Box: Box{48, 48, 8, 8}, ClassID: 2, Class: "2", Score: 0.7, Area: 64},
			},
		},
	}
	for _, tc := range cases {
		for _, layout := range layouts {
			t.Run(tc.name+"/"+layoutName(layout), func(t *testing.T) {
				const nc, n = 3, 32
				out := yoloTensor(layout, nc, nm, n, tc.anchors...)
				opt := tc.opt
				opt.Layout = layout
				got, err := DecodeYOLOSeg(out, 4+nc+nm, n, protos, nm, ph, pw, NewLetterbox(tc.srcW, tc.srcH, 64, 64), opt)
				if err != nil {
					t.Fatal(err)
				}
				sameDetections(t, got, tc.want)
				for i, c := range tc.contours {
					if c == nil {
						if got[i].Contour != nil {
							t.Errorf("detection %d: contour %v, want none", i, got[i].Contour)
						}
						continue
					}
					samePolygon(t, got[i].Contour, c)
				}
				if !opt.Contours {
					for i := range got {
						if got[i].Contour != nil {
							t.Errorf("detection %d: contour without Options.Contours", i)
						}
					}
				}
			})
		}
	}
}

func TestDecodeYOLOSegContourIsLargestPart(t *testing.T) {
	const nm, ph, pw = 1, 16, 16
	protos := make([]float32, ph*pw)
	for i := range protos {
		protos[i] = -1
	}
	fill(protos, ph, pw, 0, rect{1, 1, 3, 3}, 1)   // 4 cells
	fill(protos, ph, pw, 0, rect{6, 6, 12, 10}, 1) // 24 cells
	out := yoloTensor(LayoutChannelsFirst, 1, nm, 4, anchor{cx: 32, cy: 32, w: 64, h: 64, scores: map[int]float32{0: 0.9}, coeffs: []float32{1}})
	got, err := DecodeYOLOSeg(out, 4+1+nm, 4, protos, nm, ph, pw, NewLetterbox(64, 64, 64, 64), Options{Contours: true})
	if err != nil {
		t.Fatal(err)
	}
	sameDetections(t, got, []Detection{{Box: Box{0, 0, 64, 64}, Class: "0", Score: 0.9, Area: 28 * 16}})
	samePolygon(t, got[0].Contour, [][2]float32{{24, 24}, {48, 24}, {48, 40}, {24, 40}})
}

func TestDecodeYOLOSegErrors(t *testing.T) {
	lb := NewLetterbox(64, 64, 64, 64)
	cases := []struct {
		name          string
		out           []float32
		rows, anchors int
		protos        []float32
		nm, ph, pw    int
	}{
		{"protos short", make([]float32, 38*4), 38, 4, make([]float32, 32*16*16-1), 32, 16, 16},
		{"no class rows", make([]float32, 36*4), 36, 4, make([]float32, 32*16*16), 32, 16, 16},
		{"zero coefficients", make([]float32, 38*4), 38, 4, nil, 0, 16, 16},
		{"zero proto height", make([]float32, 38*4), 38, 4, nil, 32, 0, 16},
		{"output short", make([]float32, 38*4-1), 38, 4, make([]float32, 32*16*16), 32, 16, 16},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeYOLOSeg(tc.out, tc.rows, tc.anchors, tc.protos, tc.nm, tc.ph, tc.pw, lb, Options{})
			if !errors.Is(err, ErrShape) || len(got) != 0 {
				t.Errorf("%v, %v; want ErrShape", got, err)
			}
		})
	}
	got, err := DecodeYOLOSeg(nil, 38, 0, make([]float32, 32*16*16), 32, 16, 16, lb, Options{})
	if err != nil || len(got) != 0 {
		t.Errorf("no anchors: %v, %v", got, err)
	}
}

func TestYOLODecoderReuseDoesNotAllocate(t *testing.T) {
	const nc, n = 80, 8400
	out := yoloTensor(LayoutChannelsFirst, nc, 0, n,
		anchor{cx: 100, cy: 200, w: 50, h: 50, scores: map[int]float32{0: 0.9}},
		anchor{cx: 300, cy: 300, w: 50, h: 50, scores: map[int]float32{3: 0.8}})
	lb := NewLetterbox(1920, 1080, 640, 640)
	var d YOLODecoder
	dst := make([]Detection, 0, 8)
	allocs := testing.AllocsPerRun(20, func() {
		var err error
		if dst, err = d.Decode(dst[:0], out, 4+nc, n, lb, Options{}); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 || len(dst) != 2 {
		t.Errorf("%v allocations, %d detections", allocs, len(dst))
	}
}

func BenchmarkDecodeYOLO(b *testing.B) {
	const nc, n = 80, 8400
	rng := rand.New(rand.NewPCG(7, 8))
	var as []anchor
	for range n { // a realistic head: most anchors score low, a few pigs score high
		an := anchor{cx: rng.Float32() * 640, cy: rng.Float32() * 640, w: 20 + rng.Float32()*150, h: 20 + rng.Float32()*150,
			scores: map[int]float32{rng.IntN(nc): rng.Float32() * 0.3}}
		if rng.IntN(100) == 0 {
			an.scores[0] = 0.5 + rng.Float32()*0.5
		}
		as = append(as, an)
	}
	for _, layout := range layouts {
		b.Run(layoutName(layout), func(b *testing.B) {
			out := yoloTensor(layout, nc, 0, n, as...)
			lb := NewLetterbox(1920, 1080, 640, 640)
			var d YOLODecoder
			dst := make([]Detection, 0, 300)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if dst, err = d.Decode(dst[:0], out, 4+nc, n, lb, Options{Layout: layout}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(dst)), "dets")
		})
	}
}

func BenchmarkDecodeYOLOSeg(b *testing.B) {
	const nc, nm, n, ph, pw = 1, 32, 8400, 160, 160
	rng := rand.New(rand.NewPCG(9, 10))
	protos := make([]float32, nm*ph*pw)
	for i := range protos {
		protos[i] = rng.Float32()*2 - 1
	}
	var as []anchor
	for i := range 10 {
		co := make([]float32, nm)
		for k := range co {
			co[k] = rng.Float32()*2 - 1
		}
		as = append(as, anchor{cx: 60 + float32(i%5)*125, cy: 160 + float32(i/5)*240, w: 100, h: 160, scores: map[int]float32{0: 0.9}, coeffs: co})
	}
	for _, contours := range []bool{false, true} {
		b.Run(fmt.Sprintf("contours=%v", contours), func(b *testing.B) {
			out := yoloTensor(LayoutChannelsFirst, nc, nm, n, as...)
			lb := NewLetterbox(1920, 1080, 640, 640)
			var d YOLODecoder
			dst := make([]Detection, 0, 300)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if dst, err = d.DecodeSeg(dst[:0], out, 4+nc+nm, n, protos, nm, ph, pw, lb, Options{Contours: contours}); err != nil {
					b.Fatal(err)
				}
			}
			if len(dst) != 10 {
				b.Fatalf("%d detections", len(dst))
			}
		})
	}
}
