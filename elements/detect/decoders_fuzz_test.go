package detect

import (
	"encoding/binary"
	"math"
	"testing"
)

// FuzzDecoders feeds all decoders arbitrary shapes, letterboxes and values: they may return
// errors but must not panic, and what they return must be sorted and inside the frame.
func FuzzDecoders(f *testing.F) {
	f.Add(uint8(1), uint8(8), uint8(8), int16(16), int16(16), int16(16), int16(16), int16(0), int16(0), uint8(0), []byte{0x3f, 0x80, 0, 0})
	f.Add(uint8(3), uint8(4), uint8(5), int16(640), int16(480), int16(64), int16(64), int16(3), int16(-2), uint8(7), make([]byte, 300))
	f.Fuzz(func(t *testing.T, c, h, w uint8, srcW, srcH, dstW, dstH, padX, padY int16, flags uint8, raw []byte) {
		vals := make([]float32, len(raw)/4)
		for i := range vals {
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		lb := NewLetterbox(max(1, int(srcW)), max(1, int(srcH)), max(1, int(dstW)), max(1, int(dstH)))
		if flags&1 != 0 { // arbitrary, possibly nonsensical placement
			lb.PadX, lb.PadY = int(padX), int(padY)
		}
		opt := Options{Contours: flags&2 != 0, MinArea: -1, Layout: Layout(flags >> 2 & 1)}
		check := func(name string, dets []Detection, err error) {
			if err != nil {
				return
			}
			for i, d := range dets {
				if i > 0 && compareDetections(dets[i-1], d) > 0 {
					t.Fatalf("%s: detections out of order: %+v", name, dets)
				}
				b := d.Box
				if !(b.X >= 0 && b.Y >= 0 && b.X+b.W <= float32(lb.SrcW)*1.0001 && b.Y+b.H <= float32(lb.SrcH)*1.0001) {
					t.Fatalf("%s: box %+v outside %dx%d frame", name, b, lb.SrcW, lb.SrcH)
				}
				for _, p := range d.Contour {
					if !(p[0] >= 0 && p[1] >= 0 && p[0] <= float32(lb.SrcW) && p[1] <= float32(lb.SrcH)) {
						t.Fatalf("%s: contour point %v outside the frame", name, p)
					}
				}
			}
		}
		dets, err := DecodeMask(vals, int(c), int(h), int(w), lb, opt)
		check("mask", dets, err)
		if mc, mh := 1+int(c)%3, 1+int(h)%16; len(vals) >= mc*mh {
			mw := len(vals) / (mc * mh)
			dets, err = DecodeMask(vals[:mc*mh*mw], mc, mh, mw, lb, opt)
			if err != nil {
				t.Fatalf("mask [%d, %d, %d]: %v", mc, mh, mw, err)
			}
			check("mask", dets, err)
		}
		// Take the shape from the data when the given one does not fit, to reach past the checks.
		rows := 4 + int(c)%4 + 1
		dets, err = DecodeYOLO(vals, rows, len(vals)/rows, lb, opt)
		check("yolo", dets, err)
		nm := 1 + int(h)%3
		rows += nm
		pw := 1 + int(w)%4
		if len(vals) >= 2*nm*pw*pw {
			anchors := len(vals) / 2 / rows
			dets, err = DecodeYOLOSeg(vals[:anchors*rows], rows, anchors, vals[len(vals)-nm*pw*pw:], nm, pw, pw, lb, opt)
			check("yolo-seg", dets, err)
		}
	})
}
