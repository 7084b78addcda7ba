package model

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/pipelines/pen"
)

// penPicture renders one pen frame as I420 and as RGB: the same picture.
func penPicture(tb testing.TB, w, h int) (i420, rgb []byte) {
	tb.Helper()
	s, err := pen.New(pen.Config{Width: w, Height: h, Pigs: 8, FPS: 15, Seed: 7})
	if err != nil {
		tb.Fatal(err)
	}
	for range 3 {
		s.Step()
	}
	i420, rgb = make([]byte, w*h*3/2), make([]byte, 3*w*h)
	if err := s.RenderI420(i420); err != nil {
		tb.Fatal(err)
	}
	if err := s.RenderRGB(rgb); err != nil {
		tb.Fatal(err)
	}
	return i420, rgb
}

// i420Frame wraps a tightly packed I420 buffer.
func i420Frame(buf []byte, w, h int, m ColorMatrix) Frame {
	cw, ch := (w+1)/2, (h+1)/2
	u := w * h
	v := u + cw*ch
	return Frame{
		Format: I420, Width: w, Height: h, Matrix: m,
		Planes:  [3][]byte{buf[:u], buf[u:v], buf[v : v+cw*ch]},
		Strides: [3]int{w, cw, cw},
	}
}

// rgbFrame wraps a tightly packed RGB buffer.
func rgbFrame(buf []byte, w, h int) Frame {
	return Frame{Format: RGB, Width: w, Height: h, Planes: [3][]byte{buf}, Strides: [3]int{3 * w}}
}

// toNV12 interleaves an I420 frame's chroma into one UV plane.
func toNV12(f Frame) Frame {
	cw, ch := (f.Width+1)/2, (f.Height+1)/2
	uv := make([]byte, 2*cw*ch)
	for y := range ch {
		for x := range cw {
			uv[2*(y*cw+x)] = f.Planes[1][y*f.Strides[1]+x]
			uv[2*(y*cw+x)+1] = f.Planes[2][y*f.Strides[2]+x]
		}
	}
	return Frame{
		Format: NV12, Width: f.Width, Height: f.Height, Matrix: f.Matrix,
		Planes: [3][]byte{f.Planes[0], uv}, Strides: [3]int{f.Strides[0], 2 * cw},
	}
}

// padded copies f into planes whose rows are extra bytes longer, the extra filled with
// junk, and whose last row stops at its samples.
func padded(f Frame, extra int) Frame {
	cw, ch := (f.Width+1)/2, (f.Height+1)/2
	var rowBytes, rows [3]int
	switch f.Format {
	case I420:
		rowBytes, rows = [3]int{f.Width, cw, cw}, [3]int{f.Height, ch, ch}
	case NV12:
		rowBytes, rows = [3]int{f.Width, 2 * cw}, [3]int{f.Height, ch}
	default:
		rowBytes, rows = [3]int{3 * f.Width}, [3]int{f.Height}
	}
	g := f
	for i := range 3 {
		if rowBytes[i] == 0 {
			continue
		}
		stride := rowBytes[i] + extra
		p := make([]byte, (rows[i]-1)*stride+rowBytes[i])
		for j := range p {
			p[j] = byte(0xa5 ^ j)
		}
		for y := range rows[i] {
			copy(p[y*stride:y*stride+rowBytes[i]], f.Planes[i][y*f.Strides[i]:])
		}
		g.Planes[i], g.Strides[i] = p, stride
	}
	return g
}

// refRGB is the textbook limited-range conversion in float64, clamped to 0..255.
func refRGB(y, u, v float64, m ColorMatrix) (r, g, b float64) {
	kr, kb := 0.299, 0.114
	if m == BT709 {
		kr, kb = 0.2126, 0.0722
	}
	kg := 1 - kr - kb
	yy := (y - 16) * 255 / 219
	cb, cr := (u-128)*255/224, (v-128)*255/224
	r = yy + 2*(1-kr)*cr
	g = yy - 2*kb*(1-kb)/kg*cb - 2*kr*(1-kr)/kg*cr
	b = yy + 2*(1-kb)*cb
	c := func(x float64) float64 { return math.Max(0, math.Min(255, x)) }
	return c(r), c(g), c(b)
}

func newPre(tb testing.TB, spec InputSpec) *Preprocessor {
	tb.Helper()
	if err := spec.Validate(); err != nil {
		tb.Fatal(err)
	}
	return NewPreprocessor(spec)
}

func run32(tb testing.TB, p *Preprocessor, f Frame) ([]float32, detect.Letterbox) {
	tb.Helper()
	dst := make([]float32, 3*p.Spec().Width*p.Spec().Height)
	lb, err := p.ToNCHW(dst, f)
	if err != nil {
		tb.Fatal(err)
	}
	return dst, lb
}

// At scale 1, every pixel of random YUV frames (odd sizes, out-of-range values, both
// matrices) matches the float reference with its block's chroma within 1/255.
func TestPreprocessColourMatchesReference(t *testing.T) {
	cases := []struct {
		w, h int
		m    ColorMatrix
		nv12 bool
	}{
		{64, 48, BT601, false},
		{64, 48, BT709, false},
		{7, 5, BT601, false},
		{33, 17, BT709, true},
		{64, 600, MatrixAuto, false}, // taller than 576: BT.709
		{64, 576, MatrixAuto, true},  // BT.601
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%dx%d-%v-nv12=%v", tc.w, tc.h, tc.m, tc.nv12), func(t *testing.T) {
			cw, ch := (tc.w+1)/2, (tc.h+1)/2
			buf := make([]byte, tc.w*tc.h+2*cw*ch)
			for i := range buf {
				buf[i] = byte(rng.IntN(256))
			}
			f := i420Frame(buf, tc.w, tc.h, tc.m)
			want := tc.m
			if want == MatrixAuto {
				want = BT601
				if tc.h > 576 {
					want = BT709
				}
			}
			in := f
			if tc.nv12 {
				in = toNV12(f)
			}
			p := newPre(t, InputSpec{Width: tc.w, Height: tc.h})
			dst, lb := run32(t, p, in)
			if lb.Scale != 1 || lb.PadX != 0 || lb.PadY != 0 {
				t.Fatalf("letterbox %+v, want identity", lb)
			}
			n := tc.w * tc.h
			worst := 0.0
			for y := range tc.h {
				for x := range tc.w {
					yv := float64(f.Planes[0][y*f.Strides[0]+x])
					u := float64(f.Planes[1][(y/2)*f.Strides[1]+x/2])
					v := float64(f.Planes[2][(y/2)*f.Strides[2]+x/2])
					r, g, b := refRGB(yv, u, v, want)
					for c, ref := range [3]float64{r, g, b} {
						d := math.Abs(float64(dst[c*n+y*tc.w+x]) - ref/255)
						worst = max(worst, d)
						if d > 1.0/255 {
							t.Fatalf("(%d,%d) channel %d: got %v, want %v (Y %v U %v V %v)",
								x, y, c, dst[c*n+y*tc.w+x]*255, ref, yv, u, v)
						}
					}
				}
			}
			t.Logf("worst error %.4f/255", worst*255)
		})
	}
}

// The pen's I420 frame, preprocessed at scale 1, is its RGB frame. 4:2:0 gives each 2×2
// block one chroma, so the comparison is strict where a block is one colour, nearly so
// where it is smooth (the floor's grain), and only on average across edges.
func TestPreprocessPenI420MatchesRGB(t *testing.T) {
	const w, h = 640, 480
	i420, rgb := penPicture(t, w, h)
	p := newPre(t, InputSpec{Width: w, Height: h})
	dst, _ := run32(t, p, i420Frame(i420, w, h, BT601))
	n := w * h
	// spread is the largest difference within x,y's 2×2 block on any channel.
	spread := func(x, y int) int {
		x, y = x&^1, y&^1
		s := 0
		for c := range 3 {
			lo, hi := 255, 0
			for _, q := range [][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
				v := int(rgb[3*((y+q[1])*w+x+q[0])+c])
				lo, hi = min(lo, v), max(hi, v)
			}
			s = max(s, hi-lo)
		}
		return s
	}
	var smooth, smoothOff2, uniform int
	sum := 0.0
	for y := range h {
		for x := range w {
			s := spread(x, y)
			for c := range 3 {
				got := float64(dst[c*n+y*w+x]) * 255
				want := float64(rgb[3*(y*w+x)+c])
				d := math.Abs(got - want)
				sum += d
				if s == 0 && d > 2 {
					t.Fatalf("uniform block at (%d,%d) channel %d: got %.2f, want %v", x, y, c, got, want)
				}
				if s <= 6 && d > 3 {
					t.Fatalf("smooth block (spread %d) at (%d,%d) channel %d: got %.2f, want %v", s, x, y, c, got, want)
				}
				if s <= 6 && d > 2 {
					smoothOff2++
				}
			}
			if s == 0 {
				uniform++
			}
			if s <= 6 {
				smooth++
			}
		}
	}
	if smooth < n/2 || uniform == 0 {
		t.Fatalf("%d smooth and %d uniform pixels of %d; the comparison says little", smooth, uniform, n)
	}
	if frac := float64(smoothOff2) / float64(3*smooth); frac > 0.001 {
		t.Errorf("%.3f%% of smooth values more than 2/255 off", 100*frac)
	}
	if mean := sum / float64(3*n); mean > 1 {
		t.Errorf("mean difference %.3f/255", mean)
	}
	t.Logf("%d uniform, %d smooth pixels of %d; %d smooth values 2..3/255 off; mean difference %.3f/255",
		uniform, smooth, n, smoothOff2, sum/float64(3*n))
}

// Padding is the pad value and lies exactly where the letterbox says; the content is the
// frame's colour, at any scale.
func TestPreprocessLetterbox(t *testing.T) {
	cases := []struct{ fw, fh, iw, ih int }{
		{640, 480, 640, 480},   // same size
		{640, 480, 640, 640},   // scale 1, bars top and bottom
		{480, 640, 640, 640},   // scale 1, bars left and right
		{1920, 1080, 640, 640}, // downscale
		{320, 240, 640, 640},   // upscale
		{1280, 720, 640, 384},  // downscale, a thin bar
		{1000, 3, 64, 64},      // a sliver that scales to nothing
		{3, 1000, 64, 64},      // and on its side
		{1000, 20, 64, 64},     // a sliver that keeps one row
	}
	const cr, cg, cb = 200, 30, 90
	for _, tc := range cases {
		for _, format := range []PixelFormat{RGB, BGR} {
			t.Run(fmt.Sprintf("%dx%d-to-%dx%d-%v", tc.fw, tc.fh, tc.iw, tc.ih, format), func(t *testing.T) {
				buf := make([]byte, 3*tc.fw*tc.fh)
				for i := 0; i < len(buf); i += 3 {
					buf[i], buf[i+1], buf[i+2] = cr, cg, cb
					if format == BGR {
						buf[i], buf[i+2] = cb, cr
					}
				}
				f := rgbFrame(buf, tc.fw, tc.fh)
				f.Format = format
				p := newPre(t, InputSpec{Width: tc.iw, Height: tc.ih})
				dst, lb := run32(t, p, f)
				if want := detect.NewLetterbox(tc.fw, tc.fh, tc.iw, tc.ih); lb != want || p.Letterbox(tc.fw, tc.fh) != want {
					t.Fatalf("letterbox %+v, want %+v", lb, want)
				}
				cw := int(float32(tc.fw)*lb.Scale + 0.5)
				ch := int(float32(tc.fh)*lb.Scale + 0.5)
				n := tc.iw * tc.ih
				for c, level := range [3]float32{cr, cg, cb} {
					for y := range tc.ih {
						for x := range tc.iw {
							got := dst[c*n+y*tc.iw+x]
							in := x >= lb.PadX && x < lb.PadX+cw && y >= lb.PadY && y < lb.PadY+ch
							want := DefaultPad
							if in {
								want = level / 255
							}
							if math.Abs(float64(got-want)) > 1e-6 {
								t.Fatalf("channel %d (%d,%d) inside=%v: got %v, want %v", c, x, y, in, got, want)
							}
						}
					}
				}
			})
		}
	}
}

// At scale 1 with padding the content is copied, not resampled: it equals the unpadded
// conversion exactly, and RGB input comes out as v/255.
func TestPreprocessScaleOneCopies(t *testing.T) {
	for _, size := range [][2]int{{640, 480}, {480, 640}} {
		fw, fh := size[0], size[1]
		i420, rgb := penPicture(t, fw, fh)
		for _, f := range []Frame{i420Frame(i420, fw, fh, BT601), rgbFrame(rgb, fw, fh)} {
			tight, _ := run32(t, newPre(t, InputSpec{Width: fw, Height: fh}), f)
			boxed, lb := run32(t, newPre(t, InputSpec{Width: 640, Height: 640}), f)
			if lb.Scale != 1 {
				t.Fatalf("%v %dx%d: scale %v, want 1", f.Format, fw, fh, lb.Scale)
			}
			for c := range 3 {
				for y := range fh {
					for x := range fw {
						got := boxed[c*640*640+(lb.PadY+y)*640+lb.PadX+x]
						want := tight[c*fw*fh+y*fw+x]
						if got != want {
							t.Fatalf("%v %dx%d channel %d (%d,%d): %v boxed, %v unboxed", f.Format, fw, fh, c, x, y, got, want)
						}
						if f.Format == RGB {
							if v := float32(rgb[3*(y*fw+x)+c]) / 255; math.Abs(float64(got-v)) > 1e-7 {
								t.Fatalf("RGB channel %d (%d,%d): %v, want %v", c, x, y, got, v)
							}
						}
					}
				}
			}
		}
	}
}

// bilinearRef samples a plane of sw×sh samples at (sx, sy), clamped to its edges.
func bilinearRef(at func(x, y int) float64, sw, sh int, sx, sy float64) float64 {
	sx, sy = max(sx, 0), max(sy, 0)
	x0, y0 := min(int(sx), sw-1), min(int(sy), sh-1)
	x1, y1 := min(x0+1, sw-1), min(y0+1, sh-1)
	fx, fy := sx-float64(x0), sy-float64(y0)
	if x0 == sw-1 {
		fx = 0
	}
	if y0 == sh-1 {
		fy = 0
	}
	top := at(x0, y0)*(1-fx) + at(x1, y0)*fx
	bot := at(x0, y1)*(1-fx) + at(x1, y1)*fx
	return top*(1-fy) + bot*fy
}

// Resampled frames match a float bilinear reference: centres aligned, chroma sited at the
// centre of its 2×2 block, interpolated before conversion.
func TestPreprocessResampleMatchesReference(t *testing.T) {
	cases := []struct{ fw, fh, iw, ih int }{
		{1920, 1080, 640, 640},
		{320, 240, 640, 640},
		{641, 479, 320, 320}, // odd frame size
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%dx%d-to-%dx%d", tc.fw, tc.fh, tc.iw, tc.ih), func(t *testing.T) {
			// An odd size is the even picture one column and row short, same planes.
			ew, eh := (tc.fw+1)&^1, (tc.fh+1)&^1
			i420, _ := penPicture(t, ew, eh)
			f := i420Frame(i420, ew, eh, BT601)
			f.Width, f.Height = tc.fw, tc.fh
			cw, ch := (tc.fw+1)/2, (tc.fh+1)/2
			p := newPre(t, InputSpec{Width: tc.iw, Height: tc.ih})
			dst, lb := run32(t, p, f)
			cwOut := int(float32(tc.fw)*lb.Scale + 0.5)
			chOut := int(float32(tc.fh)*lb.Scale + 0.5)
			plane := func(i int) func(x, y int) float64 {
				return func(x, y int) float64 { return float64(f.Planes[i][y*f.Strides[i]+x]) }
			}
			n := tc.iw * tc.ih
			worst := 0.0
			for j := range chOut {
				sy := (float64(j)+0.5)*float64(tc.fh)/float64(chOut) - 0.5
				for i := range cwOut {
					sx := (float64(i)+0.5)*float64(tc.fw)/float64(cwOut) - 0.5
					yv := bilinearRef(plane(0), tc.fw, tc.fh, sx, sy)
					csx, csy := (sx+0.5)/2-0.5, (sy+0.5)/2-0.5
					u := bilinearRef(plane(1), cw, ch, csx, csy)
					v := bilinearRef(plane(2), cw, ch, csx, csy)
					r, g, b := refRGB(yv, u, v, BT601)
					at := (lb.PadY+j)*tc.iw + lb.PadX + i
					for c, ref := range [3]float64{r, g, b} {
						d := math.Abs(float64(dst[c*n+at])*255 - ref)
						worst = max(worst, d)
						if d > 1 {
							t.Fatalf("content (%d,%d) channel %d: got %.3f, want %.3f", i, j, c, dst[c*n+at]*255, ref)
						}
					}
				}
			}
			t.Logf("worst error %.3f/255", worst)
		})
	}
}

// Packed RGB resamples like the reference too, and BGR input is RGB input with its bytes
// swapped.
func TestPreprocessResamplePacked(t *testing.T) {
	const fw, fh, iw, ih = 1280, 720, 416, 416
	_, rgb := penPicture(t, fw, fh)
	bgr := make([]byte, len(rgb))
	for i := 0; i < len(rgb); i += 3 {
		bgr[i], bgr[i+1], bgr[i+2] = rgb[i+2], rgb[i+1], rgb[i]
	}
	p := newPre(t, InputSpec{Width: iw, Height: ih})
	dst, lb := run32(t, p, rgbFrame(rgb, fw, fh))
	fb := rgbFrame(bgr, fw, fh)
	fb.Format = BGR
	dstB, _ := run32(t, p, fb)
	for i := range dst {
		if dst[i] != dstB[i] {
			t.Fatalf("BGR input differs from RGB input at %d: %v vs %v", i, dstB[i], dst[i])
		}
	}
	cw, ch := int(float32(fw)*lb.Scale+0.5), int(float32(fh)*lb.Scale+0.5)
	n := iw * ih
	for j := range ch {
		sy := (float64(j)+0.5)*float64(fh)/float64(ch) - 0.5
		for i := range cw {
			sx := (float64(i)+0.5)*float64(fw)/float64(cw) - 0.5
			for c := range 3 {
				ref := bilinearRef(func(x, y int) float64 { return float64(rgb[3*(y*fw+x)+c]) }, fw, fh, sx, sy)
				got := float64(dst[c*n+(lb.PadY+j)*iw+lb.PadX+i]) * 255
				if math.Abs(got-ref) > 0.5 {
					t.Fatalf("content (%d,%d) channel %d: got %.3f, want %.3f", i, j, c, got, ref)
				}
			}
		}
	}
}

// Downscaled I420 and downscaled RGB of the same pen picture agree on average: what
// differs is 4:2:0 chroma at edges.
func TestPreprocessResampledI420ResemblesRGB(t *testing.T) {
	const fw, fh = 1920, 1080
	i420, rgb := penPicture(t, fw, fh)
	p := newPre(t, InputSpec{Width: 640, Height: 640})
	a, _ := run32(t, p, i420Frame(i420, fw, fh, BT601))
	b, _ := run32(t, p, rgbFrame(rgb, fw, fh))
	sum := 0.0
	for i := range a {
		sum += math.Abs(float64(a[i] - b[i]))
	}
	if mean := sum / float64(len(a)) * 255; mean > 0.75 {
		t.Fatalf("mean difference %.3f/255", mean)
	} else {
		t.Logf("mean difference %.3f/255", mean)
	}
}

// BGR swaps channels 0 and 2, padding included.
func TestPreprocessBGR(t *testing.T) {
	i420, _ := penPicture(t, 640, 480)
	f := i420Frame(i420, 640, 480, BT601)
	for _, size := range [][2]int{{640, 640}, {320, 320}} {
		rgb, _ := run32(t, newPre(t, InputSpec{Width: size[0], Height: size[1]}), f)
		bgr, _ := run32(t, newPre(t, InputSpec{Width: size[0], Height: size[1], BGR: true}), f)
		n := size[0] * size[1]
		for c, from := range [3]int{2, 1, 0} {
			for i := range n {
				if bgr[c*n+i] != rgb[from*n+i] {
					t.Fatalf("%v: BGR channel %d at %d = %v, want RGB channel %d = %v", size, c, i, bgr[c*n+i], from, rgb[from*n+i])
				}
			}
		}
	}
}

// Mean and Std apply per model channel, to content and padding alike.
func TestPreprocessNormalise(t *testing.T) {
	i420, _ := penPicture(t, 640, 480)
	f := i420Frame(i420, 640, 480, BT601)
	mean, std := [3]float32{0.485, 0.456, 0.406}, [3]float32{0.229, 0.224, 0.225}
	for _, bgr := range []bool{false, true} {
		for _, pad := range []float32{0, 0.5, PadBlack} {
			spec := InputSpec{Width: 640, Height: 640, BGR: bgr, Pad: pad}
			plain, _ := run32(t, newPre(t, spec), f)
			spec.Mean, spec.Std = mean, std
			norm, _ := run32(t, newPre(t, spec), f)
			wantPad := map[float32]float32{0: DefaultPad, 0.5: 0.5, PadBlack: 0}[pad]
			n := 640 * 640
			for c := range 3 {
				if got := plain[c*n]; got != wantPad {
					t.Fatalf("pad %v: plain padding %v, want %v", pad, got, wantPad)
				}
				for i := c * n; i < (c+1)*n; i++ {
					want := (plain[i] - mean[c]) / std[c]
					if math.Abs(float64(norm[i]-want)) > 1e-5 {
						t.Fatalf("bgr=%v pad=%v channel %d at %d: got %v, want %v", bgr, pad, c, i-c*n, norm[i], want)
					}
				}
			}
		}
	}
}

// NV12 and I420 of the same picture give identical tensors, at scale 1 and resampled.
func TestPreprocessNV12MatchesI420(t *testing.T) {
	for _, size := range [][2]int{{1280, 720}, {640, 480}} {
		i420, _ := penPicture(t, size[0], size[1])
		f := i420Frame(i420, size[0], size[1], BT709)
		for _, in := range [][2]int{{640, 640}, size, {300, 200}} {
			p := newPre(t, InputSpec{Width: in[0], Height: in[1]})
			a, _ := run32(t, p, f)
			b, _ := run32(t, p, toNV12(f))
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("%v→%v: NV12 differs from I420 at %d: %v vs %v", size, in, i, b[i], a[i])
				}
			}
		}
	}
}

// Rows longer than the picture (and a last row without its padding) give the same tensor
// as tight rows.
func TestPreprocessStrides(t *testing.T) {
	i420, rgb := penPicture(t, 640, 480)
	tight := i420Frame(i420, 640, 480, BT601)
	frames := map[string]Frame{"I420": tight, "NV12": toNV12(tight), "RGB": rgbFrame(rgb, 640, 480)}
	for name, f := range frames {
		for _, in := range [][2]int{{640, 480}, {640, 640}, {416, 416}} {
			p := newPre(t, InputSpec{Width: in[0], Height: in[1]})
			want, _ := run32(t, p, f)
			for _, extra := range []int{1, 64} {
				got, _ := run32(t, p, padded(f, extra))
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("%s→%v, stride +%d: differs at %d: %v vs %v", name, in, extra, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// float16ToFloat32 decodes a binary16 bit pattern, for checking.
func float16ToFloat32(h uint16) float32 {
	sign := float32(1)
	if h&0x8000 != 0 {
		sign = -1
	}
	e, m := int(h>>10)&0x1f, float64(h&0x3ff)
	switch e {
	case 0:
		return sign * float32(math.Ldexp(m, -24))
	case 0x1f:
		if m != 0 {
			return float32(math.NaN())
		}
		return sign * float32(math.Inf(1))
	}
	return sign * float32(math.Ldexp(1+m/1024, e-15))
}

// Float32ToFloat16 rounds to nearest even everywhere: normals, subnormals, overflow.
func TestFP16Conversion(t *testing.T) {
	nan := math.Float32frombits(0x7fc00001)
	cases := []struct {
		name string
		in   float32
		want uint16
	}{
		{"zero", 0, 0x0000},
		{"negative zero", float32(math.Copysign(0, -1)), 0x8000},
		{"one", 1, 0x3c00},
		{"minus two", -2, 0xc000},
		{"one third", 1.0 / 3, 0x3555},
		{"pad grey", 114.0 / 255, 0x3727},
		{"max", 65504, 0x7bff},
		{"just below the overflow tie", 65519, 0x7bff},
		{"overflow tie rounds to Inf", 65520, 0x7c00},
		{"overflow", 1e6, 0x7c00},
		{"negative overflow", -1e6, 0xfc00},
		{"+Inf", float32(math.Inf(1)), 0x7c00},
		{"-Inf", float32(math.Inf(-1)), 0xfc00},
		{"smallest normal", 0x1p-14, 0x0400},
		{"largest subnormal", 0x3ffp-24, 0x03ff},
		{"smallest subnormal", 0x1p-24, 0x0001},
		{"subnormal rounds up to normal", 0x7ffp-25, 0x0400},
		{"half the smallest subnormal ties to zero", 0x1p-25, 0x0000},
		{"above half the smallest subnormal", 0x1.000002p-25, 0x0001},
		{"1.5 smallest subnormals tie to even 2", 0x3p-25, 0x0002},
		{"2.5 smallest subnormals tie to even 2", 0x5p-25, 0x0002},
		{"underflow", 1e-10, 0x0000},
		{"negative underflow", -1e-10, 0x8000},
		{"tie rounds down to even", 1 + 0x1p-11, 0x3c00},
		{"tie rounds up to even", 1 + 0x3p-11, 0x3c02},
		{"above the tie rounds up", 1 + 0x1p-11 + 0x1p-20, 0x3c01},
		{"mantissa carry into exponent", 2 - 0x1p-12, 0x4000},
	}
	for _, tc := range cases {
		if got := Float32ToFloat16(tc.in); got != tc.want {
			t.Errorf("%s: Float32ToFloat16(%g) = %#04x, want %#04x", tc.name, tc.in, got, tc.want)
		}
	}
	for _, in := range []float32{nan, -nan, float32(math.NaN())} {
		if got := Float32ToFloat16(in); got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
			t.Errorf("NaN %#08x → %#04x, not a NaN", math.Float32bits(in), got)
		}
	}
	// Every float16 survives a round trip, and every midpoint between neighbours goes to
	// the even one.
	for h := range uint16(0x7c00) {
		for _, s := range []uint16{0, 0x8000} {
			v := float16ToFloat32(h | s)
			if got := Float32ToFloat16(v); got != h|s {
				t.Fatalf("round trip of %#04x (%g) gave %#04x", h|s, v, got)
			}
			if h == 0x7bff {
				continue
			}
			mid := (float64(v) + float64(float16ToFloat32((h+1)|s))) / 2
			want := h
			if h&1 == 1 {
				want = h + 1
			}
			if got := Float32ToFloat16(float32(mid)); got != want|s {
				t.Fatalf("midpoint %g of %#04x and its successor gave %#04x, want %#04x", mid, h|s, got, want|s)
			}
		}
	}
}

// The float16 tensor is the float32 tensor converted, give or take the float16 path's
// rounding to 1/16 of a level before conversion.
func TestPreprocessFP16MatchesFloat32(t *testing.T) {
	i420, _ := penPicture(t, 1280, 720)
	f := i420Frame(i420, 1280, 720, BT709)
	for _, spec := range []InputSpec{
		{Width: 640, Height: 640},
		{Width: 1280, Height: 720},
		{Width: 224, Height: 224, BGR: true, Mean: [3]float32{0.406, 0.456, 0.485}, Std: [3]float32{0.225, 0.224, 0.229}},
	} {
		p := newPre(t, spec)
		want, lb32 := run32(t, p, f)
		got := make([]uint16, len(want))
		lb16, err := p.ToNCHWFloat16(got, f)
		if err != nil {
			t.Fatal(err)
		}
		if lb16 != lb32 {
			t.Fatalf("letterbox %+v, float32 gave %+v", lb16, lb32)
		}
		n := spec.Width * spec.Height
		exact, worst := 0, 0.0
		for i, w := range want {
			if got[i] == Float32ToFloat16(w) {
				exact++
				continue
			}
			std := float64(1)
			if spec.Std[i/n] != 0 {
				std = float64(spec.Std[i/n])
			}
			// half of 1/16 of a level, half a float16 step, and float32 rounding
			g := float64(float16ToFloat32(got[i]))
			tol := 1/(32*255*std) + max(math.Abs(float64(w)), math.Abs(g))*0x1p-11 + 1e-6
			d := math.Abs(g - float64(w))
			worst = max(worst, d*255*std)
			if d > tol {
				t.Fatalf("%dx%d at %d: %#04x (%g), want %g within %g", spec.Width, spec.Height, i, got[i], float16ToFloat32(got[i]), w, tol)
			}
		}
		t.Logf("%dx%d: %.2f%% the float32 converted, worst %.4f of a level off",
			spec.Width, spec.Height, 100*float64(exact)/float64(len(want)), worst)
	}
}

func TestPreprocessErrors(t *testing.T) {
	const w, h = 64, 48
	good := i420Frame(make([]byte, w*h*3/2), w, h, BT601)
	nv12 := toNV12(good)
	rgb := rgbFrame(make([]byte, 3*w*h), w, h)
	edit := func(f Frame, change func(*Frame)) Frame {
		change(&f)
		return f
	}
	cases := []struct {
		name  string
		frame Frame
		dst   int // length of the destination; 0 means the right one
		want  error
	}{
		{"no format", edit(good, func(f *Frame) { f.Format = 0 }), 0, ErrInvalidFrame},
		{"unknown format", edit(good, func(f *Frame) { f.Format = 99 }), 0, ErrInvalidFrame},
		{"unknown matrix", edit(good, func(f *Frame) { f.Matrix = 7 }), 0, ErrInvalidFrame},
		{"zero width", edit(good, func(f *Frame) { f.Width = 0 }), 0, ErrInvalidFrame},
		{"negative height", edit(good, func(f *Frame) { f.Height = -2 }), 0, ErrInvalidFrame},
		{"huge", edit(good, func(f *Frame) { f.Width = 1 << 40 }), 0, ErrInvalidFrame},
		{"wider than its Y plane", edit(good, func(f *Frame) { f.Width = w + 2 }), 0, ErrInvalidFrame},
		{"taller than its planes", edit(good, func(f *Frame) { f.Height = h + 2 }), 0, ErrInvalidFrame},
		{"Y plane short by one byte", edit(good, func(f *Frame) { f.Planes[0] = f.Planes[0][:w*h-1] }), 0, ErrInvalidFrame},
		{"Y stride below width", edit(good, func(f *Frame) { f.Strides[0] = w - 1 }), 0, ErrInvalidFrame},
		{"Y stride zero", edit(good, func(f *Frame) { f.Strides[0] = 0 }), 0, ErrInvalidFrame},
		{"Y stride negative", edit(good, func(f *Frame) { f.Strides[0] = -w }), 0, ErrInvalidFrame},
		{"Y stride huge", edit(good, func(f *Frame) { f.Strides[0] = math.MaxInt }), 0, ErrInvalidFrame},
		{"stride beyond the plane", edit(good, func(f *Frame) { f.Strides[0] = w + 1 }), 0, ErrInvalidFrame},
		{"U plane missing", edit(good, func(f *Frame) { f.Planes[1] = nil }), 0, ErrInvalidFrame},
		{"V plane short", edit(good, func(f *Frame) { f.Planes[2] = f.Planes[2][:10] }), 0, ErrInvalidFrame},
		{"V stride short", edit(good, func(f *Frame) { f.Strides[2] = w/2 - 1 }), 0, ErrInvalidFrame},
		{"NV12 UV plane short", edit(nv12, func(f *Frame) { f.Planes[1] = f.Planes[1][:w*h/2-1] }), 0, ErrInvalidFrame},
		{"NV12 UV stride at half width", edit(nv12, func(f *Frame) { f.Strides[1] = w / 2 }), 0, ErrInvalidFrame},
		{"RGB stride at width", edit(rgb, func(f *Frame) { f.Strides[0] = w }), 0, ErrInvalidFrame},
		{"RGB plane short", edit(rgb, func(f *Frame) { f.Planes[0] = f.Planes[0][:3*w*h-1] }), 0, ErrInvalidFrame},
		{"RGB as I420 lacks chroma", edit(rgb, func(f *Frame) { f.Format = I420 }), 0, ErrInvalidFrame},
		{"destination short", good, 3*32*32 - 1, ErrTensorSize},
		{"destination long", good, 3*32*32 + 1, ErrTensorSize},
		{"destination empty", good, -1, ErrTensorSize},
	}
	p := newPre(t, InputSpec{Width: 32, Height: 32})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := 3 * 32 * 32
			switch {
			case tc.dst > 0:
				n = tc.dst
			case tc.dst < 0:
				n = 0
			}
			if _, err := p.ToNCHW(make([]float32, n), tc.frame); !errors.Is(err, tc.want) {
				t.Errorf("ToNCHW: %v, want %v", err, tc.want)
			} else {
				t.Log(err)
			}
			if _, err := p.ToNCHWFloat16(make([]uint16, n), tc.frame); !errors.Is(err, tc.want) {
				t.Errorf("ToNCHWFloat16: %v, want %v", err, tc.want)
			}
		})
	}
	// The good frames pass, so the failures above are the edits'.
	for _, f := range []Frame{good, nv12, rgb} {
		if _, err := p.ToNCHW(make([]float32, 3*32*32), f); err != nil {
			t.Errorf("%v: %v", f.Format, err)
		}
	}
}

func TestPreprocessSpecErrors(t *testing.T) {
	cases := []struct {
		name string
		spec InputSpec
	}{
		{"zero size", InputSpec{}},
		{"negative width", InputSpec{Width: -1, Height: 10}},
		{"too wide", InputSpec{Width: MaxFrameSide + 1, Height: 10}},
		{"one std zero", InputSpec{Width: 10, Height: 10, Std: [3]float32{0.2, 0, 0.2}}},
		{"negative std", InputSpec{Width: 10, Height: 10, Std: [3]float32{0.2, -0.2, 0.2}}},
		{"NaN std", InputSpec{Width: 10, Height: 10, Std: [3]float32{0.2, float32(math.NaN()), 0.2}}},
		{"Inf mean", InputSpec{Width: 10, Height: 10, Mean: [3]float32{float32(math.Inf(1))}, Std: [3]float32{1, 1, 1}}},
		{"pad above 1", InputSpec{Width: 10, Height: 10, Pad: 114}},
		{"pad negative", InputSpec{Width: 10, Height: 10, Pad: -0.5}},
	}
	for _, tc := range cases {
		if err := tc.spec.Validate(); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("%s: Validate: %v, want ErrInvalidSpec", tc.name, err)
		}
		// A Preprocessor made anyway refuses every frame with the same error.
		p := NewPreprocessor(tc.spec)
		f := rgbFrame(make([]byte, 3*4*4), 4, 4)
		n := 3 * max(tc.spec.Width*tc.spec.Height, 0)
		if _, err := p.ToNCHW(make([]float32, n), f); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("%s: ToNCHW: %v, want ErrInvalidSpec", tc.name, err)
		}
		if _, err := p.ToNCHWFloat16(make([]uint16, n), f); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("%s: ToNCHWFloat16: %v, want ErrInvalidSpec", tc.name, err)
		}
	}
}

// A stream of same-sized frames costs no allocation once the first frame has set up.
func TestPreprocessNoAllocs(t *testing.T) {
	i420, _ := penPicture(t, 640, 480)
	f := i420Frame(i420, 640, 480, BT601)
	for _, spec := range []InputSpec{{Width: 640, Height: 480}, {Width: 320, Height: 320}} {
		p := newPre(t, spec)
		dst := make([]float32, 3*spec.Width*spec.Height)
		dst16 := make([]uint16, len(dst))
		if _, err := p.ToNCHW(dst, f); err != nil {
			t.Fatal(err)
		}
		if _, err := p.ToNCHWFloat16(dst16, f); err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(5, func() { _, _ = p.ToNCHW(dst, f) }); n != 0 {
			t.Errorf("%dx%d float32: %v allocations per frame", spec.Width, spec.Height, n)
		}
		if n := testing.AllocsPerRun(5, func() { _, _ = p.ToNCHWFloat16(dst16, f) }); n != 0 {
			t.Errorf("%dx%d float16: %v allocations per frame", spec.Width, spec.Height, n)
		}
	}
}

// Whatever sizes, strides and plane lengths a caller declares, the Preprocessor returns an
// error or a tensor, and never reads outside the planes.
func FuzzPreprocessFrame(f *testing.F) {
	f.Add(uint8(I420), 16, 8, 16, 8, 8, 128, 32, 32, 16, 16)
	f.Add(uint8(NV12), 15, 7, 15, 16, 0, 105, 64, 15, 20, 20)
	f.Add(uint8(RGB), 5, 9, 15, 0, 0, 135, 0, 0, 4, 30)
	f.Add(uint8(BGR), 5, 9, 16, 0, 0, 143, 0, 0, 5, 5)
	f.Add(uint8(I420), 17, 9, 17, 9, 9, 153, 45, 44, 1, 1)
	f.Fuzz(func(t *testing.T, format uint8, w, h, s0, s1, s2, n0, n1, n2, iw, ih int) {
		if n0 < 0 || n1 < 0 || n2 < 0 || n0 > 1<<16 || n1 > 1<<16 || n2 > 1<<16 || iw < 1 || ih < 1 || iw > 64 || ih > 64 {
			return
		}
		p := newPre(t, InputSpec{Width: iw, Height: ih})
		fr := Frame{
			Format: PixelFormat(format), Width: w, Height: h,
			Planes:  [3][]byte{make([]byte, n0), make([]byte, n1), make([]byte, n2)},
			Strides: [3]int{s0, s1, s2},
		}
		if _, err := p.ToNCHW(make([]float32, 3*iw*ih), fr); err != nil && !errors.Is(err, ErrInvalidFrame) {
			t.Fatalf("unexpected error %v", err)
		}
		if _, err := p.ToNCHWFloat16(make([]uint16, 3*iw*ih), fr); err != nil && !errors.Is(err, ErrInvalidFrame) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}

func TestPreprocessMatrixFromColorimetry(t *testing.T) {
	cases := map[string]ColorMatrix{
		"bt601": BT601, "bt709": BT709, "2:4:5:4": BT601, "2:3:5:1": BT709,
		"": MatrixAuto, "bt2020": MatrixAuto, "sRGB": MatrixAuto, "2:6:5:6": MatrixAuto, "4": MatrixAuto,
	}
	for in, want := range cases {
		if got := MatrixFromColorimetry(in); got != want {
			t.Errorf("MatrixFromColorimetry(%q) = %v, want %v", in, got, want)
		}
	}
}
