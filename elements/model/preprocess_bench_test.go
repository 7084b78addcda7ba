package model

import (
	"fmt"
	"testing"
)

// BenchmarkPreprocess measures one frame per op, on pen frames. Targets on one core of the
// 2-core dev machine: 640×480 I420 at scale 1 ≤ 3 ms, 1080p I420 letterboxed to 640×640
// ≤ 4 ms.
func BenchmarkPreprocess(b *testing.B) {
	cases := []struct {
		format         PixelFormat
		fw, fh, iw, ih int
		fp16           bool
	}{
		{I420, 640, 480, 640, 480, false},
		{I420, 1920, 1080, 640, 640, false},
		{NV12, 640, 480, 640, 640, false},
		{NV12, 1920, 1080, 640, 640, false},
		{RGB, 1280, 720, 640, 640, false},
		{I420, 640, 480, 640, 480, true},
		{I420, 1920, 1080, 640, 640, true},
	}
	for _, tc := range cases {
		name := fmt.Sprintf("%dx%d-%v-to-%dx%d", tc.fw, tc.fh, tc.format, tc.iw, tc.ih)
		if tc.fp16 {
			name += "-fp16"
		}
		b.Run(name, func(b *testing.B) {
			i420, rgb := penPicture(b, tc.fw, tc.fh)
			f := i420Frame(i420, tc.fw, tc.fh, BT601)
			switch tc.format {
			case NV12:
				f = toNV12(f)
			case RGB:
				f = rgbFrame(rgb, tc.fw, tc.fh)
			}
			p := newPre(b, InputSpec{Width: tc.iw, Height: tc.ih})
			n := 3 * tc.iw * tc.ih
			dst, dst16 := make([]float32, n), make([]uint16, n)
			run := func() error {
				if tc.fp16 {
					_, err := p.ToNCHWFloat16(dst16, f)
					return err
				}
				_, err := p.ToNCHW(dst, f)
				return err
			}
			if err := run(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := run(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
		})
	}
}
