package overlay

import (
	"testing"

	"github.com/pigweight/pigweight/elements/detect"
)

func blank(f Format, w, h int) Picture {
	cw, ch := (w+1)/2, (h+1)/2
	p := Picture{Format: f, Width: w, Height: h, Strides: [3]int{w + 8, cw + 4, cw + 4}}
	p.Planes[0] = make([]byte, p.Strides[0]*h)
	switch f {
	case I420:
		p.Planes[1], p.Planes[2] = make([]byte, p.Strides[1]*ch), make([]byte, p.Strides[2]*ch)
	case NV12:
		p.Strides[1] = 2*cw + 4
		p.Planes[1] = make([]byte, p.Strides[1]*ch)
	}
	return p
}

// A box's edges turn green, its inside and the rest of the picture stay as they were, and a
// box reaching past the picture is clipped.
func TestDrawOutlinesBoxes(t *testing.T) {
	for _, f := range []Format{I420, NV12} {
		p := blank(f, 64, 48)
		err := Draw(p, []detect.Detection{
			{Box: detect.Box{X: 10, Y: 8, W: 30, H: 20}},
			{Box: detect.Box{X: 50, Y: 40, W: 100, H: 100}}, // clipped at the corner
		})
		if err != nil {
			t.Fatal(err)
		}
		y := func(x, yy int) byte { return p.Planes[0][yy*p.Strides[0]+x] }
		u := func(x, yy int) byte {
			if f == NV12 {
				return p.Planes[1][(yy/2)*p.Strides[1]+2*(x/2)]
			}
			return p.Planes[1][(yy/2)*p.Strides[1]+x/2]
		}
		for _, pt := range [][2]int{{10, 8}, {25, 9}, {39, 20}, {12, 27}, {63, 47}, {50, 45}} {
			if y(pt[0], pt[1]) != boxY || u(pt[0], pt[1]) != boxU {
				t.Errorf("%v: edge pixel %v is Y %d U %d", f, pt, y(pt[0], pt[1]), u(pt[0], pt[1]))
			}
		}
		for _, pt := range [][2]int{{25, 18}, {5, 5}, {45, 30}, {0, 47}} {
			if y(pt[0], pt[1]) != 0 || u(pt[0], pt[1]) != 0 {
				t.Errorf("%v: pixel %v outside the edges was painted", f, pt)
			}
		}
	}
}

func TestDrawRefusesShortPlanes(t *testing.T) {
	p := blank(I420, 64, 48)
	p.Planes[2] = p.Planes[2][:10]
	if err := Draw(p, nil); err == nil {
		t.Error("a short V plane was accepted")
	}
}
