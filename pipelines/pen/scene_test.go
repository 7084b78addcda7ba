package pen_test

import (
	"bytes"
	"fmt"
	"image"
	"math"
	"reflect"
	"testing"

	"github.com/pigweight/pigweight/pipelines/pen"
)

func mustNew(t testing.TB, cfg pen.Config) *pen.Scene {
	t.Helper()
	s, err := pen.New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return s
}

func i420Size(cfg pen.Config) int { return cfg.Width * cfg.Height * 3 / 2 }

func TestSameSeedSameFrames(t *testing.T) {
	cfg := pen.Config{Width: 320, Height: 240, Pigs: 12, FPS: 15, Seed: 99}
	a, b := mustNew(t, cfg), mustNew(t, cfg)
	fa, fb := make([]byte, i420Size(cfg)), make([]byte, i420Size(cfg))
	for step := range 100 {
		if err := a.RenderI420(fa); err != nil {
			t.Fatal(err)
		}
		if err := b.RenderI420(fb); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fa, fb) {
			t.Fatalf("frame %d differs between two scenes with the same config", step)
		}
		if ta, tb := a.Truth(), b.Truth(); !reflect.DeepEqual(ta, tb) {
			t.Fatalf("truth of frame %d differs:\n%+v\n%+v", step, ta, tb)
		}
		if !bytes.Equal(a.Labels(), b.Labels()) {
			t.Fatalf("labels of frame %d differ", step)
		}
		a.Step()
		b.Step()
	}
}

func TestDifferentSeedsDifferentPens(t *testing.T) {
	tests := []struct {
		name string
		a, b int64
	}{
		{"1 and 2", 1, 2},
		{"0 and -1", 0, -1},
		{"7 and 1<<40+7", 7, 1<<40 + 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := pen.Config{Width: 320, Height: 240, Pigs: 6, FPS: 15, Seed: tt.a}
			a := mustNew(t, cfg)
			cfg.Seed = tt.b
			b := mustNew(t, cfg)
			fa, fb := make([]byte, i420Size(cfg)), make([]byte, i420Size(cfg))
			if err := a.RenderI420(fa); err != nil {
				t.Fatal(err)
			}
			if err := b.RenderI420(fb); err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(fa, fb) {
				t.Error("frames of different seeds are identical")
			}
			ta, tb := a.Truth(), b.Truth()
			if len(ta.Pigs) != len(tb.Pigs) {
				t.Fatalf("pig counts %d and %d, want both %d", len(ta.Pigs), len(tb.Pigs), cfg.Pigs)
			}
			same := 0
			for i := range ta.Pigs {
				if ta.Pigs[i].Center == tb.Pigs[i].Center || ta.Pigs[i].TrueArea == tb.Pigs[i].TrueArea {
					same++
				}
			}
			if same == len(ta.Pigs) {
				t.Error("every pig has the same place or size under both seeds")
			}
		})
	}
}

// checkTruth checks one frame's truth against its label map and RGB picture.
func checkTruth(t *testing.T, s *pen.Scene, rgb []byte) {
	t.Helper()
	cfg := s.Config()
	truth := s.Truth()
	labels := s.Labels()
	if truth.Frame != s.Frame() {
		t.Errorf("Truth().Frame = %d, want %d", truth.Frame, s.Frame())
	}
	if len(truth.Pigs) != cfg.Pigs {
		t.Fatalf("%d pigs in truth, want %d", len(truth.Pigs), cfg.Pigs)
	}
	if err := s.RenderRGB(rgb); err != nil {
		t.Fatal(err)
	}
	count := make([]int, cfg.Pigs+1)
	boxes := make([]image.Rectangle, cfg.Pigs+1)
	for i, id := range labels {
		x, y := i%cfg.Width, i/cfg.Width
		r, g, b := rgb[3*i], rgb[3*i+1], rgb[3*i+2]
		if int(id) > cfg.Pigs {
			t.Fatalf("label %d at (%d,%d), want 0..%d", id, x, y, cfg.Pigs)
		}
		pink := pen.IsPigPink(r, g, b)
		if id == 0 && pink {
			t.Fatalf("background pixel (%d,%d) = (%d,%d,%d) is pig pink", x, y, r, g, b)
		}
		if id != 0 && !pink {
			t.Fatalf("pig %d pixel (%d,%d) = (%d,%d,%d) is not pig pink", id, x, y, r, g, b)
		}
		if id != 0 {
			count[id]++
			boxes[id] = boxes[id].Union(image.Rect(x, y, x+1, y+1))
		}
	}
	bounds := s.PenBounds()
	for i, p := range truth.Pigs {
		if p.ID != i+1 {
			t.Errorf("pig %d has ID %d, want %d", i, p.ID, i+1)
			continue
		}
		if p.Area != count[p.ID] {
			t.Errorf("pig %d: Area %d, label map has %d", p.ID, p.Area, count[p.ID])
		}
		if p.Box != boxes[p.ID] {
			t.Errorf("pig %d: Box %v, tight box of its labels is %v", p.ID, p.Box, boxes[p.ID])
		}
		if p.Area > 0 && !p.Box.In(bounds) {
			t.Errorf("pig %d: Box %v not inside the pen %v", p.ID, p.Box, bounds)
		}
		if p.BodyArea < p.Area {
			t.Errorf("pig %d: BodyArea %d < Area %d", p.ID, p.BodyArea, p.Area)
		}
		// Pixel-centre sampling errs by a fraction of the outline: a few pixels on tiny pigs.
		a := float64(p.TrueArea)
		if d := math.Abs(float64(p.BodyArea - p.TrueArea)); d > 0.02*a+math.Sqrt(a) {
			t.Errorf("pig %d: BodyArea %d is %.1f%% off TrueArea %d", p.ID, p.BodyArea, 100*d/a, p.TrueArea)
		}
		if p.WeightKg != pen.WeightFromArea(p.TrueArea, s.PixelsPerMetre()) {
			t.Errorf("pig %d: WeightKg %g, WeightFromArea(TrueArea) = %g", p.ID, p.WeightKg,
				pen.WeightFromArea(p.TrueArea, s.PixelsPerMetre()))
		}
		if p.WeightKg < 18 || p.WeightKg > 135 {
			t.Errorf("pig %d: WeightKg %g outside 18..135", p.ID, p.WeightKg)
		}
		if p.HeadingDeg < 0 || p.HeadingDeg >= 360 {
			t.Errorf("pig %d: HeadingDeg %g outside [0, 360)", p.ID, p.HeadingDeg)
		}
		if !p.Center.In(bounds) {
			t.Errorf("pig %d: Center %v outside the pen %v", p.ID, p.Center, bounds)
		}
	}
}

func TestTruthMatchesPixels(t *testing.T) {
	tests := []pen.Config{
		{Width: 640, Height: 480, Pigs: 12, FPS: 15, Seed: 1},
		{Width: 640, Height: 480, Pigs: 4, FPS: 15, Seed: 2},
		{Width: 160, Height: 120, Pigs: 12, FPS: 10, Seed: 3},
		{Width: 1280, Height: 720, Pigs: 9, FPS: 30, Seed: 4},
		{Width: 480, Height: 480, Pigs: 12, FPS: 5, Seed: 5},
	}
	for _, cfg := range tests {
		t.Run("", func(t *testing.T) {
			s := mustNew(t, cfg)
			rgb := make([]byte, 3*cfg.Width*cfg.Height)
			// Check frames spread over 20 s of simulation, so pigs have met and turned.
			for step := range 20 * cfg.FPS {
				if step%(2*cfg.FPS) == 0 {
					checkTruth(t, s, rgb)
					if t.Failed() {
						t.Fatalf("at frame %d", s.Frame())
					}
				}
				s.Step()
			}
		})
	}
}

func TestPlacementNeverOverlaps(t *testing.T) {
	// Big frames take longer to build, so they get fewer seeds; the herd scales with the
	// frame, so crowding is much the same at every size.
	sizes := []struct{ w, h, seeds int }{
		{640, 480, 25}, {480, 480, 25}, {160, 120, 25}, {1280, 720, 5}, {360, 1080, 5},
	}
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			for seed := range int64(sz.seeds) {
				s := mustNew(t, pen.Config{Width: sz.w, Height: sz.h, Pigs: pen.MaxPigs, FPS: 15, Seed: seed})
				for _, p := range s.Truth().Pigs {
					if p.Area != p.BodyArea {
						t.Errorf("%dx%d seed %d: pig %d starts %d px covered", sz.w, sz.h, seed, p.ID,
							p.BodyArea-p.Area)
					}
				}
			}
		})
	}
}

func TestTruthIsACopy(t *testing.T) {
	s := mustNew(t, pen.Config{Width: 320, Height: 240, Pigs: 5, FPS: 15, Seed: 8})
	before := s.Truth()
	scribble := s.Truth()
	scribble.Pigs[0].Area = -1
	scribble.Pigs[0].Box = image.Rect(1, 2, 3, 4)
	labels := s.Labels()
	clear(labels)
	if after := s.Truth(); !reflect.DeepEqual(before, after) {
		t.Error("changing a returned Truth changed the scene's truth")
	}
	if !bytes.Equal(s.Labels(), func() []byte { l := make([]byte, 320*240); _ = s.LabelsInto(l); return l }()) {
		t.Error("Labels and LabelsInto disagree")
	}
	n := 0
	for _, id := range s.Labels() {
		if id != 0 {
			n++
		}
	}
	if n == 0 {
		t.Error("clearing a returned label map cleared the scene's")
	}
}

func TestBufferSizesChecked(t *testing.T) {
	cfg := pen.Config{Width: 320, Height: 240, Pigs: 4, FPS: 15, Seed: 1}
	s := mustNew(t, cfg)
	tests := []struct {
		name   string
		render func([]byte) error
		size   int
	}{
		{"I420", s.RenderI420, i420Size(cfg)},
		{"RGB", s.RenderRGB, 3 * cfg.Width * cfg.Height},
		{"labels", s.LabelsInto, cfg.Width * cfg.Height},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, n := range []int{0, tt.size - 1, tt.size + 1} {
				if err := tt.render(make([]byte, n)); err == nil {
					t.Errorf("%d-byte buffer accepted, want %d", n, tt.size)
				}
			}
			if err := tt.render(make([]byte, tt.size)); err != nil {
				t.Errorf("%d-byte buffer: %v", tt.size, err)
			}
		})
	}
}

// bt601 is the textbook limited-range BT.601 conversion, independent of the package's
// integer one.
func bt601(r, g, b float64) (y, cb, cr float64) {
	y = 16 + (65.481*r+128.553*g+24.966*b)/255
	cb = 128 + (-37.797*r-74.203*g+112.0*b)/255
	cr = 128 + (112.0*r-93.786*g-18.214*b)/255
	return y, cb, cr
}

func TestI420MatchesRGB(t *testing.T) {
	cfg := pen.Config{Width: 640, Height: 480, Pigs: 12, FPS: 15, Seed: 11}
	s := mustNew(t, cfg)
	for range 45 {
		s.Step()
	}
	w, h := cfg.Width, cfg.Height
	rgb := make([]byte, 3*w*h)
	yuv := make([]byte, i420Size(cfg))
	if err := s.RenderRGB(rgb); err != nil {
		t.Fatal(err)
	}
	if err := s.RenderI420(yuv); err != nil {
		t.Fatal(err)
	}
	// Sample a pixel of every pig, plus a grid over the whole frame.
	var pts []image.Point
	for _, p := range s.Truth().Pigs {
		if p.Area > 0 {
			pts = append(pts, p.Box.Min.Add(p.Box.Size().Div(2)))
		}
	}
	for y := 1; y < h; y += 37 {
		for x := 3; x < w; x += 41 {
			pts = append(pts, image.Pt(x, y))
		}
	}
	px := func(x, y int) (float64, float64, float64) {
		i := 3 * (y*w + x)
		return float64(rgb[i]), float64(rgb[i+1]), float64(rgb[i+2])
	}
	for _, pt := range pts {
		wantY, _, _ := bt601(px(pt.X, pt.Y))
		if got := float64(yuv[pt.Y*w+pt.X]); math.Abs(got-wantY) > 1 {
			t.Errorf("Y at %v = %g, want %.1f", pt, got, wantY)
		}
		bx, by := pt.X&^1, pt.Y&^1
		var sr, sg, sb float64
		for _, d := range []image.Point{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
			r, g, b := px(bx+d.X, by+d.Y)
			sr, sg, sb = sr+r, sg+g, sb+b
		}
		_, wantU, wantV := bt601(sr/4, sg/4, sb/4)
		ci := (by/2)*(w/2) + bx/2
		if got := float64(yuv[w*h+ci]); math.Abs(got-wantU) > 1 {
			t.Errorf("U at %v = %g, want %.1f", pt, got, wantU)
		}
		if got := float64(yuv[w*h+w*h/4+ci]); math.Abs(got-wantV) > 1 {
			t.Errorf("V at %v = %g, want %.1f", pt, got, wantV)
		}
	}
}

// TestI420RestoresFloor checks that areas pigs leave are painted back to bare floor:
// rendering frame N after frames 0..N-1 must equal rendering frame N in a fresh scene.
func TestI420RestoresFloor(t *testing.T) {
	cfg := pen.Config{Width: 320, Height: 240, Pigs: 8, FPS: 15, Seed: 21}
	a, b := mustNew(t, cfg), mustNew(t, cfg)
	fa, fb := make([]byte, i420Size(cfg)), make([]byte, i420Size(cfg))
	for range 150 {
		if err := a.RenderI420(fa); err != nil {
			t.Fatal(err)
		}
		a.Step()
		b.Step()
	}
	if err := a.RenderI420(fa); err != nil {
		t.Fatal(err)
	}
	if err := b.RenderI420(fb); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fa, fb) {
		t.Error("a scene rendered every frame and one rendered only at the end differ")
	}
}
