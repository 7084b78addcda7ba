package detect

import (
	"encoding/binary"
	"fmt"
	"math"
)

// BinaryVersion is the version of the encoding AppendBinary writes, its first byte.
const BinaryVersion = 1

// Version 1 of the binary encoding, little-endian throughout:
//
//	u8      version (1)
//	uvarint number of detections, then for each:
//	  f32 × 5  Box.X, Box.Y, Box.W, Box.H, Score
//	  varint   ClassID (zigzag)
//	  varint   Area (zigzag)
//	  uvarint  len(Class), then the bytes of Class
//	  uvarint  len(Contour), then x, y as f32 per point
//
// Varints are those of encoding/binary and must be minimal, so every byte string that parses
// is the one AppendBinary writes for the result. A detection without class name or contour is
// 24 bytes.
const minBinaryDetection = 5*4 + 4

// AppendBinary appends the encoding of dets to dst and returns the extended slice.
func AppendBinary(dst []byte, dets []Detection) []byte {
	dst = append(dst, BinaryVersion)
	dst = binary.AppendUvarint(dst, uint64(len(dets)))
	le := binary.LittleEndian
	for i := range dets {
		d := &dets[i]
		for _, f := range [5]float32{d.Box.X, d.Box.Y, d.Box.W, d.Box.H, d.Score} {
			dst = le.AppendUint32(dst, math.Float32bits(f))
		}
		dst = binary.AppendVarint(dst, int64(d.ClassID))
		dst = binary.AppendVarint(dst, int64(d.Area))
		dst = binary.AppendUvarint(dst, uint64(len(d.Class)))
		dst = append(dst, d.Class...)
		dst = binary.AppendUvarint(dst, uint64(len(d.Contour)))
		for _, p := range d.Contour {
			dst = le.AppendUint32(dst, math.Float32bits(p[0]))
			dst = le.AppendUint32(dst, math.Float32bits(p[1]))
		}
	}
	return dst
}

// ParseBinary decodes what AppendBinary wrote. It returns ErrBinaryVersion for an unknown
// version and ErrBinaryCorrupt for truncated, malformed or trailing data. No length read from
// data is trusted beyond the bytes that remain, so memory use is bounded by len(data).
func ParseBinary(data []byte) ([]Detection, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrBinaryCorrupt)
	}
	if data[0] != BinaryVersion {
		return nil, fmt.Errorf("%w: %d (this build reads %d)", ErrBinaryVersion, data[0], BinaryVersion)
	}
	r := binaryReader{b: data, off: 1}
	n := r.count(minBinaryDetection, "detections")
	if r.err != nil {
		return nil, r.err
	}
	var dets []Detection
	if n > 0 {
		dets = make([]Detection, n)
	}
	for i := range dets {
		d := &dets[i]
		d.Box.X, d.Box.Y, d.Box.W, d.Box.H = r.f32(), r.f32(), r.f32(), r.f32()
		d.Score = r.f32()
		d.ClassID = r.int("class id")
		d.Area = r.int("area")
		if l := r.count(1, "class"); l > 0 {
			d.Class = string(r.b[r.off : r.off+l])
			r.off += l
		}
		if l := r.count(8, "contour"); l > 0 {
			d.Contour = make([][2]float32, l)
			for j := range d.Contour {
				d.Contour[j] = [2]float32{r.f32(), r.f32()}
			}
		}
		if r.err != nil {
			return nil, fmt.Errorf("detection %d: %w", i, r.err)
		}
	}
	if r.off != len(r.b) {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrBinaryCorrupt, len(r.b)-r.off)
	}
	return dets, nil
}

// binaryReader reads fields in order; the first failure sticks in err and later reads return
// zeros.
type binaryReader struct {
	b   []byte
	off int
	err error
}

func (r *binaryReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at byte %d", ErrBinaryCorrupt, fmt.Sprintf(format, args...), r.off)
	}
}

func (r *binaryReader) f32() float32 {
	if r.err != nil {
		return 0
	}
	if len(r.b)-r.off < 4 {
		r.fail("truncated float")
		return 0
	}
	v := math.Float32frombits(binary.LittleEndian.Uint32(r.b[r.off:]))
	r.off += 4
	return v
}

func (r *binaryReader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad %s count", what)
		return 0
	}
	if n > 1 && r.b[r.off+n-1] == 0 {
		r.fail("non-minimal %s count", what)
		return 0
	}
	r.off += n
	return v
}

// int reads a zigzag varint that must fit an int.
func (r *binaryReader) int(what string) int {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad %s varint", what)
		return 0
	}
	if n > 1 && r.b[r.off+n-1] == 0 {
		r.fail("non-minimal %s varint", what)
		return 0
	}
	if int64(int(v)) != v {
		r.fail("%s %d out of range", what, v)
		return 0
	}
	r.off += n
	return int(v)
}

// count reads a length whose items take at least size bytes each, and checks that many
// bytes remain.
func (r *binaryReader) count(size int, what string) int {
	v := r.uvarint(what)
	if r.err != nil {
		return 0
	}
	if v > uint64((len(r.b)-r.off)/size) {
		r.fail("%d %s do not fit in %d bytes", v, what, len(r.b)-r.off)
		return 0
	}
	return int(v)
}
