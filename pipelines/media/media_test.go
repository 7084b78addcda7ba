package media

import (
	"slices"
	"testing"
)

// NV12's and NV21's interleaved chroma comes out as I420's U and V planes, odd sizes
// included; planes of the wrong size are an error, and planar pictures pass as they are.
func TestPlanar(t *testing.T) {
	luma := []byte{1, 2, 3, 4, 5, 6} // 3x2: chroma 2x1
	for _, tc := range []struct {
		format string
		uv     []byte
	}{{"NV12", []byte{10, 20, 11, 21}}, {"NV21", []byte{20, 10, 21, 11}}} {
		got, err := Planar(Picture{Format: tc.format, Width: 3, Height: 2, Planes: [][]byte{luma, tc.uv}})
		if err != nil || got.Format != "I420" || !slices.Equal(slices.Concat(got.Planes...), []byte{1, 2, 3, 4, 5, 6, 10, 11, 20, 21}) {
			t.Errorf("%s: %+v, %v", tc.format, got, err)
		}
	}
	if _, err := Planar(Picture{Format: "NV12", Width: 3, Height: 2, Planes: [][]byte{luma, {1, 2}}}); err == nil {
		t.Error("short chroma plane: no error")
	}
	i420 := Picture{Format: "I420", Width: 2, Height: 2, Planes: [][]byte{{1, 2, 3, 4}, {5}, {6}}}
	if got, err := Planar(i420); err != nil || got.Format != "I420" || &got.Planes[0][0] != &i420.Planes[0][0] {
		t.Errorf("I420: %+v, %v", got, err)
	}
}

// 10-bit samples round to 8 bits (the top values to 255, not past it), wherever the format
// keeps its bits, and interleaved chroma (P010's, 8-bit NV12's) comes out planar.
func TestEightBit(t *testing.T) {
	le := func(vs ...int) []byte {
		var b []byte
		for _, v := range vs {
			b = append(b, byte(v), byte(v>>8))
		}
		return b
	}
	got, err := EightBit(Picture{Format: "I420_10LE", Width: 2, Height: 1, Planes: [][]byte{le(0, 1023), le(513), le(6)}})
	if err != nil || got.Format != "I420" || !slices.Equal(slices.Concat(got.Planes...), []byte{0, 255, 128, 2}) {
		t.Errorf("I420_10LE: %+v, %v", got, err)
	}
	got, err = EightBit(Picture{Format: "P010_10LE", Width: 2, Height: 1, Planes: [][]byte{le(0, 1023<<6), le(513<<6, 6<<6)}})
	if err != nil || got.Format != "I420" || !slices.Equal(slices.Concat(got.Planes...), []byte{0, 255, 128, 2}) {
		t.Errorf("P010_10LE: %+v, %v", got, err)
	}
	if got, err := EightBit(Picture{Format: "NV12", Width: 2, Height: 1, Planes: [][]byte{{1, 2}, {3, 4}}}); err != nil || got.Format != "I420" {
		t.Errorf("8-bit NV12: %+v, %v; want it planar", got, err)
	}
	if _, err := EightBit(Picture{Format: "Y444_10LE", Width: 1, Height: 1, Planes: [][]byte{{1}, {1, 2}, {1, 2}}}); err == nil {
		t.Error("odd plane: no error")
	}
}
