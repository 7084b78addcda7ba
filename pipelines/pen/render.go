package pen

import (
	"fmt"
	"image"
	"math"
)

// shadowMark marks, in the label map and only while composing, floor pixels under a
// pig's shadow. Pig IDs never reach it.
const shadowMark = 255

// RenderRGB renders the current frame into dst as packed RGB24, Width*Height*3 bytes.
func (s *Scene) RenderRGB(dst []byte) error {
	if len(dst) != len(s.rgb) {
		return fmt.Errorf("RGB buffer is %d bytes, want %d (%dx%d×3)", len(dst), len(s.rgb),
			s.cfg.Width, s.cfg.Height)
	}
	s.compose()
	copy(dst, s.rgb)
	return nil
}

// RenderI420 renders the current frame into dst as I420 (BT.601 limited range, see
// [Colorimetry]): the Y plane of Width*Height bytes, then the U and V planes of
// (Width/2)*(Height/2) bytes each. Each chroma sample is the average of its 2x2 pixels.
func (s *Scene) RenderI420(dst []byte) error {
	w, h := s.cfg.Width, s.cfg.Height
	if len(dst) != w*h*3/2 {
		return fmt.Errorf("I420 buffer is %d bytes, want %d (%dx%d×3/2)", len(dst), w*h*3/2, w, h)
	}
	s.compose()
	// Only the pigs and their shadows differ from the floor, so the floor is copied as
	// converted at New and just those areas are converted again.
	copy(dst, s.floorI420)
	for _, r := range s.dirty {
		r = evenOut(r)
		rgbToI420(dst, s.rgb, w, h, r.Min.X, r.Min.Y, r.Max.X, r.Max.Y)
	}
	return nil
}

// evenOut grows r to even corners, so it covers whole 2x2 chroma blocks. The frame size
// is even, so the result stays inside the frame.
func evenOut(r image.Rectangle) image.Rectangle {
	return image.Rect(r.Min.X&^1, r.Min.Y&^1, (r.Max.X+1)&^1, (r.Max.Y+1)&^1)
}

// compose draws the current frame into s.rgb and s.labels and measures each pig's truth.
// It runs at most once per frame, whichever of Render*, Truth or Labels asks first.
func (s *Scene) compose() {
	if s.composed {
		return
	}
	w := s.cfg.Width
	frame := image.Rect(0, 0, w, s.cfg.Height)
	// Everything outside the last frame's dirty areas still shows the bare floor.
	for _, r := range s.dirty {
		for y := r.Min.Y; y < r.Max.Y; y++ {
			i, j := y*w+r.Min.X, y*w+r.Max.X
			copy(s.rgb[3*i:3*j], s.floorRGB[3*i:3*j])
			clear(s.labels[i:j])
		}
	}
	s.dirty = s.dirty[:0]
	for i := range s.pigs {
		p := &s.pigs[i]
		m := &p.motion
		p.pose.cos, p.pose.sin = m.cos, m.sin
		p.pose.box = p.boxAt(m.x, m.y, m.cos, m.sin).Intersect(frame)
		// The shadow falls down and to the right of the pig, clipped to the pen floor.
		grow := int(math.Ceil(0.06*p.length/2)) + 1
		sb := p.pose.box.Add(image.Pt(int(math.Floor(p.shadowOffX)), int(math.Floor(p.shadowOffY))))
		p.shadowBox = image.Rect(sb.Min.X-grow, sb.Min.Y-grow, sb.Max.X+grow+1, sb.Max.Y+grow+1).
			Intersect(s.interior)
		s.dirty = append(s.dirty, p.pose.box.Union(p.shadowBox))
	}
	for i := range s.pigs {
		s.markShadow(&s.pigs[i])
	}
	for i := range s.pigs {
		s.paintPig(&s.pigs[i])
	}
	for i := range s.pigs {
		s.darkenShadow(s.pigs[i].shadowBox)
	}
	for i := range s.pigs {
		s.measureVisible(&s.pigs[i])
	}
	s.composed = true
}

// markShadow marks the bare floor pixels under p's shadow.
func (s *Scene) markShadow(p *pig) {
	w := s.cfg.Width
	r := p.shadowBox
	c, sn := p.pose.cos, p.pose.sin
	for y := r.Min.Y; y < r.Max.Y; y++ {
		dy := float64(y) + 0.5 - p.motion.y - p.shadowOffY
		dx := float64(r.Min.X) + 0.5 - p.motion.x - p.shadowOffX
		u, v := dx*c+dy*sn, dy*c-dx*sn
		row := s.labels[y*w : y*w+w]
		for x := r.Min.X; x < r.Max.X; x++ {
			if row[x] == 0 && p.castsShadow(u, v) {
				row[x] = shadowMark
			}
			u += c
			v -= sn
		}
	}
}

// paintPig draws p over whatever is drawn already and counts its whole silhouette.
func (s *Scene) paintPig(p *pig) {
	w := s.cfg.Width
	r := p.pose.box
	c, sn := p.pose.cos, p.pose.sin
	id := uint8(p.id)
	area := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		// Pixels are sampled at their centres; stepping one pixel right moves the local
		// point by (cos, -sin), so the inner loop needs no trigonometry.
		dy := float64(y) + 0.5 - p.motion.y
		dx := float64(r.Min.X) + 0.5 - p.motion.x
		u, v := dx*c+dy*sn, dy*c-dx*sn
		row := s.labels[y*w : y*w+w]
		rgb := s.rgb[3*y*w : 3*(y*w+w)]
		for x := r.Min.X; x < r.Max.X; x++ {
			if cr, cg, cb, ok := p.pixel(u, v); ok {
				row[x] = id
				rgb[3*x], rgb[3*x+1], rgb[3*x+2] = cr, cg, cb
				area++
			}
			u += c
			v -= sn
		}
	}
	p.bodyArea = area
}

// darkenShadow darkens the marked floor pixels in r and unmarks them. Pixels shared by
// two shadows are darkened once, because the first pass unmarks them.
func (s *Scene) darkenShadow(r image.Rectangle) {
	w := s.cfg.Width
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := s.labels[y*w : y*w+w]
		rgb := s.rgb[3*y*w : 3*(y*w+w)]
		for x := r.Min.X; x < r.Max.X; x++ {
			if row[x] == shadowMark {
				row[x] = 0
				// ×0.7 on every channel: still grey-brown, never pink.
				rgb[3*x] = uint8(uint16(rgb[3*x]) * 179 >> 8)
				rgb[3*x+1] = uint8(uint16(rgb[3*x+1]) * 179 >> 8)
				rgb[3*x+2] = uint8(uint16(rgb[3*x+2]) * 179 >> 8)
			}
		}
	}
}

// measureVisible counts p's pixels that remain on top and their tight bounding box.
func (s *Scene) measureVisible(p *pig) {
	w := s.cfg.Width
	r := p.pose.box
	id := uint8(p.id)
	area := 0
	x0, y0, x1, y1 := r.Max.X, r.Max.Y, r.Min.X, r.Min.Y
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := s.labels[y*w : y*w+w]
		for x := r.Min.X; x < r.Max.X; x++ {
			if row[x] == id {
				area++
				x0, x1 = min(x0, x), max(x1, x)
				y0, y1 = min(y0, y), max(y1, y)
			}
		}
	}
	p.visArea = area
	p.visBox = image.Rectangle{}
	if area > 0 {
		p.visBox = image.Rect(x0, y0, x1+1, y1+1)
	}
}
