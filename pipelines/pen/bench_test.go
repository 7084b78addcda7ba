package pen_test

import (
	"fmt"
	"testing"

	"github.com/pigweight/pigweight/pipelines/pen"
)

// BenchmarkRenderI420 measures one live frame: Step, then RenderI420 (which composes the
// frame). Live use runs this at 15 fps beside an encoder on two cores.
func BenchmarkRenderI420(b *testing.B) {
	for _, sz := range []struct{ w, h int }{{640, 480}, {1280, 720}} {
		b.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(b *testing.B) {
			cfg := pen.Config{Width: sz.w, Height: sz.h, Pigs: pen.MaxPigs, FPS: 15, Seed: 1}
			s := mustNew(b, cfg)
			dst := make([]byte, i420Size(cfg))
			b.SetBytes(int64(len(dst)))
			b.ReportAllocs()
			for b.Loop() {
				s.Step()
				if err := s.RenderI420(dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNew measures building a pen: painting the floor and placing the herd.
func BenchmarkNew(b *testing.B) {
	cfg := pen.Config{Width: 640, Height: 480, Pigs: pen.MaxPigs, FPS: 15, Seed: 1}
	for b.Loop() {
		mustNew(b, cfg)
	}
}
