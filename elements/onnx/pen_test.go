package onnx

import (
	"math"
	"testing"

	"github.com/pigweight/pigweight/pipelines/pen"
)

// Frames of the synthetic pen, prepared the ways the demo model meets them.

// penFrame is one frame: planar float RGB in 0..1 as the model takes it, and the labels.
type penFrame struct {
	chw    []float32 // [3, h, w]
	labels []uint8   // 0 floor, else pig ID
}

// frameMode says how a frame reaches the model.
type frameMode int

const (
	clean      frameMode = iota // RGB as rendered
	subsampled                  // through I420: chroma averaged over 2×2 blocks
)

func (m frameMode) String() string {
	if m == subsampled {
		return "chroma-subsampled"
	}
	return "clean"
}

// penFrames renders n frames of scene, every `every` steps, in the given mode.
func penFrames(t testing.TB, s *pen.Scene, n, every int, mode frameMode) []penFrame {
	t.Helper()
	cfg := s.Config()
	w, h := cfg.Width, cfg.Height
	rgb := make([]byte, 3*w*h)
	i420 := make([]byte, w*h*3/2)
	var out []penFrame
	for range n {
		var err error
		if mode == subsampled {
			if err = s.RenderI420(i420); err == nil {
				i420ToRGB(rgb, i420, w, h)
			}
		} else {
			err = s.RenderRGB(rgb)
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, penFrame{chw: toCHW(rgb, w, h), labels: s.Labels()})
		for range every {
			s.Step()
		}
	}
	return out
}

// toCHW converts packed RGB24 to planar float RGB in 0..1.
func toCHW(rgb []byte, w, h int) []float32 {
	n := w * h
	out := make([]float32, 3*n)
	for i := range n {
		for c := range 3 {
			out[c*n+i] = float32(rgb[3*i+c]) / 255
		}
	}
	return out
}

// i420ToRGB converts limited-range BT.601 I420 to packed RGB24, each chroma sample
// shared by its 2×2 pixels, as a decoder without chroma upsampling filters does.
func i420ToRGB(dst, src []byte, w, h int) {
	cw := w / 2
	uOff, vOff := w*h, w*h+cw*(h/2)
	clamp := func(v float64) byte { return byte(math.Round(min(max(v, 0), 255))) }
	for y := range h {
		for x := range w {
			yy := 1.164383 * (float64(src[y*w+x]) - 16)
			ci := (y/2)*cw + x/2
			cb, cr := float64(src[uOff+ci])-128, float64(src[vOff+ci])-128
			i := 3 * (y*w + x)
			dst[i] = clamp(yy + 1.596027*cr)
			dst[i+1] = clamp(yy - 0.391762*cb - 0.812968*cr)
			dst[i+2] = clamp(yy + 2.017232*cb)
		}
	}
}

// emptyFloor renders the pen of cfg without pigs: every pixel is taken from the first of
// many frames, a simulated second apart, in which no pig covers it. Shadows stay, as
// they are floor too.
func emptyFloor(t testing.TB, cfg pen.Config) []byte {
	t.Helper()
	cfg.FPS = 1 // a step is a second, so the pigs move far between frames
	s, err := pen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w, h := cfg.Width, cfg.Height
	floor := make([]byte, 3*w*h)
	filled := make([]bool, w*h)
	left := w * h
	rgb := make([]byte, 3*w*h)
	for range 600 {
		if err := s.RenderRGB(rgb); err != nil {
			t.Fatal(err)
		}
		for i, id := range s.Labels() {
			if id == 0 && !filled[i] {
				copy(floor[3*i:3*i+3], rgb[3*i:3*i+3])
				filled[i] = true
				left--
			}
		}
		if left == 0 {
			return floor
		}
		s.Step()
	}
	t.Fatalf("seed %d: %d pixels never free of pigs in 600 s", cfg.Seed, left)
	return nil
}

// rgbToI420 is the BT.601 limited-range conversion of packed RGB24, chroma averaged over
// 2×2 blocks, for frames the pen did not render itself (the empty floor).
func rgbToI420(dst, src []byte, w, h int) {
	cw := w / 2
	uOff, vOff := w*h, w*h+cw*(h/2)
	for y := range h {
		for x := range w {
			r, g, b := float64(src[3*(y*w+x)]), float64(src[3*(y*w+x)+1]), float64(src[3*(y*w+x)+2])
			dst[y*w+x] = byte(math.Round(16 + (65.481*r+128.553*g+24.966*b)/255))
		}
	}
	for y := 0; y < h; y += 2 {
		for x := 0; x < w; x += 2 {
			var r, g, b float64
			for _, d := range [4][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
				i := 3 * ((y+d[1])*w + x + d[0])
				r, g, b = r+float64(src[i]), g+float64(src[i+1]), b+float64(src[i+2])
			}
			r, g, b = r/4, g/4, b/4
			ci := (y/2)*cw + x/2
			dst[uOff+ci] = byte(math.Round(128 + (-37.797*r-74.203*g+112*b)/255))
			dst[vOff+ci] = byte(math.Round(128 + (112*r-93.786*g-18.214*b)/255))
		}
	}
}

// iou is |pred ∩ truth| / |pred ∪ truth| with pred = mask > 0.5 and truth = label > 0,
// accumulated into the running counts.
type iou struct{ inter, union int }

func (c *iou) add(mask []float32, labels []uint8) {
	for i, id := range labels {
		p, tr := mask[i] > 0.5, id != 0
		if p && tr {
			c.inter++
		}
		if p || tr {
			c.union++
		}
	}
}

func (c iou) value() float64 {
	if c.union == 0 {
		return 1
	}
	return float64(c.inter) / float64(c.union)
}
