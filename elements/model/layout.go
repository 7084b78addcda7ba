package model

import "fmt"

// SetPlanes points f's planes into data, a whole raw frame in GStreamer's default layout for
// f.Format, f.Width and f.Height (rows padded to 4 bytes, planes back to back: what a decoder
// produces when no downstream element asked for a custom layout through GstVideoMeta).
func (f *Frame) SetPlanes(data []byte) error {
	ru2 := func(n int) int { return (n + 1) &^ 1 }
	ru4 := func(n int) int { return (n + 3) &^ 3 }
	w, h := f.Width, f.Height
	var offsets [3]int
	var size int
	switch f.Format {
	case I420:
		f.Strides = [3]int{ru4(w), ru4(ru2(w) / 2), ru4(ru2(w) / 2)}
		offsets[1] = f.Strides[0] * ru2(h)
		offsets[2] = offsets[1] + f.Strides[1]*(ru2(h)/2)
		size = offsets[2] + f.Strides[2]*(ru2(h)/2)
	case NV12:
		f.Strides = [3]int{ru4(w), ru4(ru2(w)), 0}
		offsets[1] = f.Strides[0] * ru2(h)
		size = offsets[1] + f.Strides[1]*(ru2(h)/2)
	default:
		return fmt.Errorf("raw frame layout for format %v is not known", f.Format)
	}
	if len(data) < size {
		return fmt.Errorf("%v %dx%d frame needs %d bytes, buffer has %d", f.Format, w, h, size, len(data))
	}
	f.Planes[0] = data[:offsets[1]]
	if f.Format == I420 {
		f.Planes[1] = data[offsets[1]:offsets[2]]
		f.Planes[2] = data[offsets[2]:size]
	} else {
		f.Planes[1] = data[offsets[1]:size]
		f.Planes[2] = nil
	}
	return nil
}
