package index

// H.264 (ITU-T H.264 7.4.1.2) and H.265 (ITU-T H.265 7.4.2.2) NAL unit types the index cares
// about.
const (
	h264NALIDR      = 5
	h264NALSEI      = 6
	h264NALSPS      = 7
	h264SEIRecovery = 6 // SEI payload type: recovery point

	h265NALRASLN     = 8
	h265NALRASLR     = 9
	h265NALBLAWLP    = 16
	h265NALIDRWRADL  = 19
	h265NALIDRNLP    = 20
	h265NALCRA       = 21
	h265NALIRAPLast  = 23 // 22 and 23 are reserved IRAP types; ffmpeg's parser counts them
	h265NALVCLLast   = 31
	h265NALSPS       = 33
	maxRASLLookahead = 256
)

// hideLeadingRASL hides the RASL pictures that follow the first sync sample when that is an
// HEVC CRA or BLA picture: ffmpeg's decoder (like any conforming one) skips them at the start
// of a stream, since their references come before it. Only for NAL-length prefixed samples;
// the MPEG-TS reader does this itself from what it saw in the stream.
func (ix *Index) hideLeadingRASL(f *file) error {
	if ix.NALLengthSize == 0 {
		return nil
	}
	first := -1
	for i := range ix.Samples {
		if ix.Samples[i].Key {
			first = i
			break
		}
	}
	if first < 0 {
		return nil
	}
	t, ok, err := ix.firstVCLType(f, first)
	if err != nil || !ok || t < h265NALBLAWLP || t == h265NALIDRWRADL || t == h265NALIDRNLP || t > h265NALCRA {
		return err
	}
	for i := first + 1; i < len(ix.Samples) && i <= first+maxRASLLookahead && !ix.Samples[i].Key; i++ {
		t, ok, err := ix.firstVCLType(f, i)
		if err != nil {
			return err
		}
		if ok && (t == h265NALRASLN || t == h265NALRASLR) {
			ix.Samples[i].Frame = -1
		}
	}
	return nil
}

// firstVCLType returns the NAL unit type of the first slice in sample i of an HEVC track with
// length-prefixed NAL units; ok is false when there is none within the first few NAL units.
func (ix *Index) firstVCLType(f *file, i int) (uint8, bool, error) {
	s := ix.Samples[i]
	ls := ix.NALLengthSize
	pos, end := s.Offset, s.Offset+int64(s.Size)
	for n := 0; n < 64 && pos+int64(ls)+2 <= end; n++ {
		b, err := f.read(pos, ls+2)
		if err != nil {
			return 0, false, err
		}
		var size int64
		for _, c := range b[:ls] {
			size = size<<8 | int64(c)
		}
		t := (b[ls] >> 1) & 0x3f
		if t <= h265NALVCLLast {
			return t, true, nil
		}
		pos += int64(ls) + size
	}
	return 0, false, nil
}
