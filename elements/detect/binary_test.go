package detect

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"runtime"
	"testing"
)

// binaryCases feed the round-trip test, the golden-bytes test and the fuzz seeds.
var binaryCases = []struct {
	name string
	dets []Detection
}{
	{"none", nil},
	{"one bare", []Detection{{Box: Box{1, 2, 3, 4}, Score: 0.5}}},
	{"named with contour", []Detection{{
		Box: Box{10.5, 20.25, 30, 40}, ClassID: 2, Class: "pig", Score: 0.875, Area: 1200,
		Contour: [][2]float32{{10.5, 20.25}, {40.5, 20.25}, {40.5, 60.25}},
	}}},
	{"several", []Detection{
		{Box: Box{0, 0, 640, 480}, ClassID: 0, Class: "0", Score: 1, Area: 307200},
		{Box: Box{5, 6, 7, 8}, ClassID: 1, Class: "person", Score: 0.25, Area: 56, Contour: [][2]float32{{5, 6}, {12, 6}, {12, 14}, {5, 14}}},
		{Box: Box{1, 1, 1, 1}, ClassID: 300, Class: "feeder", Score: 0.3},
	}},
	{"extremes", []Detection{{
		Box: Box{float32(math.Inf(-1)), float32(math.NaN()), math.MaxFloat32, -0}, ClassID: -1, Class: "ünïcødé 🐖",
		Score: float32(math.Inf(1)), Area: math.MaxInt64 >> 1,
	}, {ClassID: math.MinInt32, Area: -5}}},
}

// sameBits compares detections with floats bit for bit (NaN included) and nil contours equal
// to empty ones.
func sameBits(a, b []Detection) bool {
	if len(a) != len(b) {
		return false
	}
	fb := math.Float32bits
	for i := range a {
		x, y := a[i], b[i]
		if fb(x.Box.X) != fb(y.Box.X) || fb(x.Box.Y) != fb(y.Box.Y) || fb(x.Box.W) != fb(y.Box.W) || fb(x.Box.H) != fb(y.Box.H) ||
			fb(x.Score) != fb(y.Score) || x.ClassID != y.ClassID || x.Class != y.Class || x.Area != y.Area || len(x.Contour) != len(y.Contour) {
			return false
		}
		for j := range x.Contour {
			if fb(x.Contour[j][0]) != fb(y.Contour[j][0]) || fb(x.Contour[j][1]) != fb(y.Contour[j][1]) {
				return false
			}
		}
	}
	return true
}

func TestBinaryRoundTrip(t *testing.T) {
	for _, tc := range binaryCases {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte("meta:")
			enc := AppendBinary(append([]byte(nil), prefix...), tc.dets)
			if !bytes.HasPrefix(enc, prefix) {
				t.Fatalf("AppendBinary lost dst's bytes: %q", enc)
			}
			enc = enc[len(prefix):]
			if enc[0] != BinaryVersion {
				t.Errorf("version byte %d", enc[0])
			}
			got, err := ParseBinary(enc)
			if err != nil {
				t.Fatal(err)
			}
			if !sameBits(got, tc.dets) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, tc.dets)
			}
			if again := AppendBinary(nil, got); !bytes.Equal(again, enc) {
				t.Errorf("re-encoding differs:\n got %x\nwant %x", again, enc)
			}
		})
	}
}

func TestBinaryLayout(t *testing.T) {
	// Pin the version 1 wire format: other languages (the browser) read it.
	got := AppendBinary(nil, []Detection{{Box: Box{1, 2, 3, 4}, ClassID: -1, Class: "pig", Score: 0.5, Area: 300, Contour: [][2]float32{{1, 2}}}})
	want := []byte{1, 1,
		0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40, // box
		0, 0, 0, 0x3f, // score
		1,          // class id -1, zigzag
		0xd8, 0x04, // area 300, zigzag
		3, 'p', 'i', 'g',
		1, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40,
	}
	if !bytes.Equal(got, want) {
		t.Errorf("encoding\n got %x\nwant %x", got, want)
	}
	if len(AppendBinary(nil, []Detection{{}})) != 2+minBinaryDetection {
		t.Errorf("a bare detection is not %d bytes", minBinaryDetection)
	}
}

func TestParseBinaryRejects(t *testing.T) {
	valid := AppendBinary(nil, binaryCases[3].dets)
	t.Run("every truncation", func(t *testing.T) {
		for n := range len(valid) {
			if _, err := ParseBinary(valid[:n]); !errors.Is(err, ErrBinaryCorrupt) {
				t.Fatalf("prefix of %d bytes: error %v", n, err)
			}
		}
	})
	huge := binary.AppendUvarint([]byte{BinaryVersion}, 1<<62)
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrBinaryCorrupt},
		{"unknown version", append([]byte{2}, valid[1:]...), ErrBinaryVersion},
		{"version zero", []byte{0, 0}, ErrBinaryVersion},
		{"trailing byte", append(append([]byte(nil), valid...), 0), ErrBinaryCorrupt},
		{"count beyond the data", huge, ErrBinaryCorrupt},
		{"count overflowing a varint", []byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, ErrBinaryCorrupt},
		{"non-minimal count", []byte{1, 0x80, 0x00}, ErrBinaryCorrupt},
		{"class length beyond the data", func() []byte {
			b := AppendBinary(nil, []Detection{{Class: "pig"}})
			b[len(b)-5] = 100 // the class length
			return b
		}(), ErrBinaryCorrupt},
		{"contour length beyond the data", func() []byte {
			b := AppendBinary(nil, []Detection{{Contour: [][2]float32{{1, 2}}}})
			b[len(b)-9] = 0x7f
			return b
		}(), ErrBinaryCorrupt},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseBinary(tc.data)
			if !errors.Is(err, tc.want) || got != nil {
				t.Errorf("%v, %v; want %v", got, err, tc.want)
			}
		})
	}
	t.Run("a huge count allocates only its error", func(t *testing.T) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 100 {
			_, _ = ParseBinary(huge)
		}
		runtime.ReadMemStats(&after)
		if per := (after.TotalAlloc - before.TotalAlloc) / 100; per > 1024 {
			t.Errorf("%d bytes allocated per parse", per)
		}
	})
}

func FuzzParseBinary(f *testing.F) {
	for _, tc := range binaryCases {
		enc := AppendBinary(nil, tc.dets)
		f.Add(enc)
		f.Add(enc[:len(enc)/2])
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0x80, 0x00})
	f.Add(binary.AppendUvarint([]byte{BinaryVersion}, 1<<62))
	f.Fuzz(func(t *testing.T, data []byte) {
		dets, err := ParseBinary(data)
		if err != nil {
			if dets != nil {
				t.Fatalf("detections %v with error %v", dets, err)
			}
			return
		}
		enc := AppendBinary(nil, dets)
		if !bytes.Equal(enc, data) {
			t.Fatalf("re-encoding differs:\n got %x\nfrom %x", enc, data)
		}
		again, err := ParseBinary(enc)
		if err != nil || !sameBits(again, dets) {
			t.Fatalf("second parse: %v, %+v vs %+v", err, again, dets)
		}
	})
}
