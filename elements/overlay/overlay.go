// Package overlay draws detections into decoded pictures, for `overlay: burn` outputs: viewers
// without the live page (WHEP players, recorders) see the boxes in the video itself. Pure Go,
// on the picture's planes, in place.
package overlay

import (
	"fmt"

	"github.com/pigweight/pigweight/elements/detect"
)

// Format is the layout of the planes drawn on.
type Format int

// The 8-bit 4:2:0 layouts decoders hand out.
const (
	I420 Format = iota + 1 // Y, U, V planes
	NV12                   // Y plane, interleaved U,V plane
)

// Picture is a decoded frame's planes, writable.
type Picture struct {
	Format        Format
	Width, Height int
	Planes        [3][]byte
	Strides       [3]int
}

// Box colour: a saturated green (BT.601 limited range for RGB 0, 255, 0), the colour the live
// page draws with, and easy to tell from a pen's floor and pigs.
const (
	boxY, boxU, boxV = 145, 54, 34
	// Thickness of a box's edges in pixels; even, so that the chroma follows exactly.
	Thickness = 4
)

// Draw outlines every detection's box in p. Boxes are clipped to the picture.
func Draw(p Picture, dets []detect.Detection) error {
	if err := p.check(); err != nil {
		return err
	}
	for _, d := range dets {
		p.outline(d.Box)
	}
	return nil
}

func (p Picture) check() error {
	cw, ch := (p.Width+1)/2, (p.Height+1)/2
	need := func(plane, rowBytes, rows int) error {
		if p.Strides[plane] < rowBytes || len(p.Planes[plane]) < p.Strides[plane]*(rows-1)+rowBytes {
			return fmt.Errorf("overlay: plane %d too small for %dx%d", plane, p.Width, p.Height)
		}
		return nil
	}
	if p.Width <= 0 || p.Height <= 0 {
		return fmt.Errorf("overlay: picture %dx%d", p.Width, p.Height)
	}
	if err := need(0, p.Width, p.Height); err != nil {
		return err
	}
	switch p.Format {
	case I420:
		if err := need(1, cw, ch); err != nil {
			return err
		}
		return need(2, cw, ch)
	case NV12:
		return need(1, 2*cw, ch)
	}
	return fmt.Errorf("overlay: unknown format %d", p.Format)
}

// outline fills the four edge bands of b, Thickness pixels wide, inside the box.
func (p Picture) outline(b detect.Box) {
	x0, y0 := clamp(int(b.X), p.Width), clamp(int(b.Y), p.Height)
	x1, y1 := clamp(int(b.X+b.W), p.Width), clamp(int(b.Y+b.H), p.Height)
	if x1-x0 < 2 || y1-y0 < 2 {
		return
	}
	t := Thickness
	p.fill(x0, y0, x1, min(y0+t, y1)) // top
	p.fill(x0, max(y1-t, y0), x1, y1) // bottom
	p.fill(x0, y0, min(x0+t, x1), y1) // left
	p.fill(max(x1-t, x0), y0, x1, y1) // right
}

// fill paints the rectangle [x0, x1) × [y0, y1) in the box colour. Chroma covers the 2×2
// blocks the rectangle touches, so edges snap to even pixels.
func (p Picture) fill(x0, y0, x1, y1 int) {
	for y := y0; y < y1; y++ {
		row := p.Planes[0][y*p.Strides[0]:]
		for x := x0; x < x1; x++ {
			row[x] = boxY
		}
	}
	for cy := y0 / 2; cy < (y1+1)/2; cy++ {
		switch p.Format {
		case I420:
			u, v := p.Planes[1][cy*p.Strides[1]:], p.Planes[2][cy*p.Strides[2]:]
			for cx := x0 / 2; cx < (x1+1)/2; cx++ {
				u[cx], v[cx] = boxU, boxV
			}
		case NV12:
			uv := p.Planes[1][cy*p.Strides[1]:]
			for cx := x0 / 2; cx < (x1+1)/2; cx++ {
				uv[2*cx], uv[2*cx+1] = boxU, boxV
			}
		}
	}
}

func clamp(v, n int) int { return max(0, min(v, n)) }
