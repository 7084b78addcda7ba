package pen

// Colorimetry is the GStreamer colorimetry of the I420 frames: BT.601, limited range.
// Put it in the appsrc caps (colorimetry=bt601); left out, GStreamer guesses BT.709 for
// frames taller than 576 lines and the decoded colours shift.
const Colorimetry = "bt601"

// IsPigPink reports whether an RGB colour is "pig pink": red leads green by at least 25
// and blue by at least 15, and red is at least 100. Every pig pixel passes, by
// construction (pigs keep red 32 or more above green even in their darkest shading);
// no background pixel does (the floor, walls and feeder keep red at most 16 above green).
// The gap between 16 and 32 is the margin an encoder's colour errors may eat into.
func IsPigPink(r, g, b uint8) bool {
	return r >= 100 && int(r)-int(g) >= 25 && int(r)-int(b) >= 15
}

// lumaBT601 is limited-range BT.601 luma, in the integer form libyuv and GStreamer use.
func lumaBT601(r, g, b int) uint8 {
	return uint8(((66*r + 129*g + 25*b + 128) >> 8) + 16)
}

// chromaBT601 is limited-range BT.601 Cb and Cr of the sum of four pixels, so one call
// gives the chroma of a 2x2 block.
func chromaBT601(r4, g4, b4 int) (cb, cr uint8) {
	cb = uint8(((-38*r4 - 74*g4 + 112*b4 + 512) >> 10) + 128)
	cr = uint8(((112*r4 - 94*g4 - 18*b4 + 512) >> 10) + 128)
	return cb, cr
}

// rgbToI420 converts the rectangle [x0,x1)x[y0,y1) of the packed RGB24 frame src (width w)
// into the I420 frame dst of size w x h. The rectangle must have even corners.
func rgbToI420(dst, src []byte, w, h, x0, y0, x1, y1 int) {
	cw := w / 2
	uOff := w * h
	vOff := uOff + cw*(h/2)
	for y := y0; y < y1; y += 2 {
		row0 := src[3*(y*w) : 3*(y*w+w)]
		row1 := src[3*((y+1)*w) : 3*((y+1)*w+w)]
		y0row := dst[y*w : y*w+w]
		y1row := dst[(y+1)*w : (y+1)*w+w]
		crow := (y / 2) * cw
		for x := x0; x < x1; x += 2 {
			i := 3 * x
			ra, ga, ba := int(row0[i]), int(row0[i+1]), int(row0[i+2])
			rb, gb, bb := int(row0[i+3]), int(row0[i+4]), int(row0[i+5])
			rc, gc, bc := int(row1[i]), int(row1[i+1]), int(row1[i+2])
			rd, gd, bd := int(row1[i+3]), int(row1[i+4]), int(row1[i+5])
			y0row[x] = lumaBT601(ra, ga, ba)
			y0row[x+1] = lumaBT601(rb, gb, bb)
			y1row[x] = lumaBT601(rc, gc, bc)
			y1row[x+1] = lumaBT601(rd, gd, bd)
			cb, cr := chromaBT601(ra+rb+rc+rd, ga+gb+gc+gd, ba+bb+bc+bd)
			dst[uOff+crow+x/2] = cb
			dst[vOff+crow+x/2] = cr
		}
	}
}
