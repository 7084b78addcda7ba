package pen_test

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/pigweight/pigweight/pipelines/pen"
)

// writeFramePNG renders the scene's current frame and writes it as a PNG at path.
func writeFramePNG(t *testing.T, s *pen.Scene, path string) {
	t.Helper()
	cfg := s.Config()
	rgb := make([]byte, cfg.Width*cfg.Height*3)
	if err := s.RenderRGB(rgb); err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, cfg.Width, cfg.Height))
	for i := range cfg.Width * cfg.Height {
		copy(img.Pix[4*i:4*i+3], rgb[3*i:3*i+3])
		img.Pix[4*i+3] = 255
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestFramePNG writes frame 30 of seed 1 as a PNG for a person to look at: into the test's
// temp dir, or to $PEN_FRAME_PNG when set (e.g. PEN_FRAME_PNG=/tmp/pen-frame.png).
func TestFramePNG(t *testing.T) {
	s, err := pen.New(pen.Config{Width: 640, Height: 480, Pigs: 10, FPS: 15, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for range 30 {
		s.Step()
	}
	path := os.Getenv("PEN_FRAME_PNG")
	if path == "" {
		path = filepath.Join(t.TempDir(), "pen-frame.png")
	}
	writeFramePNG(t, s, path)
	t.Logf("wrote %s", path)
}
