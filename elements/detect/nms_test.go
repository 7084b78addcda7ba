package detect

import (
	"math"
	"testing"
)

func TestIoU(t *testing.T) {
	cases := []struct {
		name string
		a, b Box
		want float32
	}{
		{"equal", Box{0, 0, 10, 10}, Box{0, 0, 10, 10}, 1},
		{"half overlap", Box{0, 0, 10, 10}, Box{5, 0, 10, 10}, 50.0 / 150},
		{"contained", Box{0, 0, 10, 10}, Box{2, 2, 5, 5}, 25.0 / 100},
		{"touching edges", Box{0, 0, 10, 10}, Box{10, 0, 10, 10}, 0},
		{"apart", Box{0, 0, 10, 10}, Box{50, 50, 10, 10}, 0},
		{"empty", Box{0, 0, 0, 0}, Box{0, 0, 0, 0}, 0},
		{"negative size", Box{0, 0, -10, -10}, Box{-5, -5, 10, 10}, 0},
		{"NaN", Box{float32(math.NaN()), 0, 10, 10}, Box{0, 0, 10, 10}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := IoU(tc.a, tc.b); !approx(got, tc.want, 1e-6) {
				t.Errorf("IoU = %v, want %v", got, tc.want)
			}
			if got := IoU(tc.b, tc.a); !approx(got, tc.want, 1e-6) {
				t.Errorf("IoU reversed = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNMS(t *testing.T) {
	cases := []struct {
		name string
		iou  float32
		in   []Detection
		want []Detection
	}{
		{
			name: "overlapping same class suppressed",
			iou:  0.45,
			in: []Detection{
				{Box: Box{0, 0, 10, 10}, Score: 0.6},
				{Box: Box{1, 0, 10, 10}, Score: 0.9},
				{Box: Box{0, 1, 10, 10}, Score: 0.7},
			},
			want: []Detection{{Box: Box{1, 0, 10, 10}, Score: 0.9}},
		},
		{
			name: "different classes kept",
			iou:  0.45,
			in: []Detection{
				{Box: Box{0, 0, 10, 10}, ClassID: 0, Score: 0.6},
				{Box: Box{1, 0, 10, 10}, ClassID: 1, Score: 0.9},
			},
			want: []Detection{
				{Box: Box{1, 0, 10, 10}, ClassID: 1, Score: 0.9},
				{Box: Box{0, 0, 10, 10}, ClassID: 0, Score: 0.6},
			},
		},
		{
			name: "suppression is greedy: a suppressed box suppresses nothing",
			iou:  0.3,
			in: []Detection{
				{Box: Box{0, 0, 10, 10}, Score: 0.9},
				{Box: Box{5, 0, 10, 10}, Score: 0.8},  // IoU 0.33 with the first: gone
				{Box: Box{10, 0, 10, 10}, Score: 0.7}, // IoU 0.33 with the second only: kept
			},
			want: []Detection{
				{Box: Box{0, 0, 10, 10}, Score: 0.9},
				{Box: Box{10, 0, 10, 10}, Score: 0.7},
			},
		},
		{
			name: "IoU equal to the threshold is kept",
			iou:  0.5,
			in: []Detection{
				{Box: Box{0, 0, 30, 10}, Score: 0.9},
				{Box: Box{10, 0, 30, 10}, Score: 0.8}, // 20/40
			},
			want: []Detection{
				{Box: Box{0, 0, 30, 10}, Score: 0.9},
				{Box: Box{10, 0, 30, 10}, Score: 0.8},
			},
		},
		{name: "empty", iou: 0.5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := NMS(tc.in, tc.iou)
			if len(got) != len(tc.want) {
				t.Fatalf("kept %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i].Box != tc.want[i].Box || got[i].Score != tc.want[i].Score || got[i].ClassID != tc.want[i].ClassID {
					t.Errorf("kept %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestLetterbox(t *testing.T) {
	cases := []struct {
		name                   string
		srcW, srcH, dstW, dstH int
		want                   Letterbox
		in, out                Box
	}{
		{"same size", 640, 480, 640, 480, Letterbox{640, 480, 640, 480, 1, 0, 0}, Box{10, 20, 30, 40}, Box{10, 20, 30, 40}},
		{"pad on y", 1920, 1080, 640, 640, Letterbox{1920, 1080, 640, 640, 1.0 / 3, 0, 140}, Box{10, 150, 30, 40}, Box{30, 30, 90, 120}},
		{"pad on x", 1080, 1920, 640, 640, Letterbox{1080, 1920, 640, 640, 1.0 / 3, 140, 0}, Box{150, 10, 30, 40}, Box{30, 30, 90, 120}},
		{"upscale", 320, 240, 640, 640, Letterbox{320, 240, 640, 640, 2, 0, 80}, Box{0, 0, 640, 640}, Box{0, 0, 320, 240}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lb := NewLetterbox(tc.srcW, tc.srcH, tc.dstW, tc.dstH)
			if lb.SrcW != tc.want.SrcW || lb.PadX != tc.want.PadX || lb.PadY != tc.want.PadY || !approx(lb.Scale, tc.want.Scale, 1e-6) {
				t.Fatalf("letterbox %+v, want %+v", lb, tc.want)
			}
			if got := lb.ToFrame(tc.in); !boxApprox(got, tc.out) {
				t.Errorf("ToFrame(%+v) = %+v, want %+v", tc.in, got, tc.out)
			}
			x, y := lb.ToFramePoint(tc.in.X, tc.in.Y)
			if !approx(x, tc.out.X, 1e-3) || !approx(y, tc.out.Y, 1e-3) {
				t.Errorf("ToFramePoint = %v, %v, want %v, %v", x, y, tc.out.X, tc.out.Y)
			}
		})
	}
}
