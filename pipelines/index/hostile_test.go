package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/png"
	"math/rand"
	"os"
	"strings"
	"testing"
)

// buildBytes indexes data; errors must say which kind they are.
func buildBytes(t testing.TB, data []byte) (*Index, error) {
	t.Helper()
	ix, err := Build(bytes.NewReader(data), int64(len(data)))
	if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
		t.Fatalf("error matches neither ErrCorrupt nor ErrUnsupported: %v", err)
	}
	return ix, err
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// findBox returns the offset of the payload of the box at path (e.g. moov, trak, mdia, minf,
// stbl, stco) in an MP4 file, taking the first trak.
func findBox(t testing.TB, data []byte, path ...string) int {
	t.Helper()
	b, base := data, 0
	for depth, want := range path {
		found := -1
		err := eachBox(b, int64(base), func(typ string, p []byte, at int64) error {
			if typ == want && found < 0 {
				found = int(at) + 8
				if depth == len(path)-1 {
					return nil
				}
				b, base = p, int(at)+8
			}
			return nil
		})
		if err != nil || found < 0 {
			t.Fatalf("no %s box: %v", strings.Join(path[:depth+1], "/"), err)
		}
		if depth == len(path)-1 {
			return found
		}
	}
	return -1
}

func pngBytes(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestBuildRejects(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	bframes := readFile(t, bframesMP4(t, dir))
	stbl := []string{"moov", "trak", "mdia", "minf", "stbl"}
	patched := func(box string, field int, v func(old uint32) uint32) []byte {
		b := bytes.Clone(bframes)
		at := findBox(t, b, append(stbl, box)...) + field
		binary.BigEndian.PutUint32(b[at:], v(binary.BigEndian.Uint32(b[at:])))
		return b
	}
	random := make([]byte, 64<<10)
	rand.New(rand.NewSource(1)).Read(random)
	cases := []struct {
		name string
		data func() []byte
		want error
		says string
	}{
		{"empty", func() []byte { return nil }, ErrUnsupported, "empty"},
		{"random bytes", func() []byte { return random }, ErrUnsupported, "unrecognised"},
		{"PNG", func() []byte { return pngBytes(t) }, ErrUnsupported, "looks like PNG"},
		{"audio-only MP4", func() []byte {
			return readFile(t, makeClip(t, dir, "audio.mp4", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac"))
		}, ErrUnsupported, "none of them video"},
		{"MPEG-4 part 2 in MP4", func() []byte {
			return readFile(t, makeClip(t, dir, "mpeg4.mp4", append(testSource("64x48", 25, 1), "-c:v", "mpeg4")...))
		}, ErrUnsupported, `"mp4v"`},
		{"MPEG-4 part 2 in Matroska", func() []byte {
			return readFile(t, makeClip(t, dir, "mpeg4.mkv", append(testSource("64x48", 25, 1), "-c:v", "mpeg4")...))
		}, ErrUnsupported, "V_MPEG4/ISO/ASP"},
		{"MPEG-2 in MPEG-TS", func() []byte {
			return readFile(t, makeClip(t, dir, "mpeg2.ts", append(testSource("64x48", 25, 1), "-c:v", "mpeg2video")...))
		}, ErrUnsupported, "stream type 0x02"},
		{"stco entry past the end", func() []byte {
			return patched("stco", 8, func(uint32) uint32 { return uint32(len(bframes)) + 1000 })
		}, ErrCorrupt, "stco entry 0 at offset"},
		{"stsz count one more", func() []byte {
			return patched("stsz", 8, func(n uint32) uint32 { return n + 1 })
		}, ErrCorrupt, "stsz claims"},
		{"stsz count one less", func() []byte {
			return patched("stsz", 8, func(n uint32) uint32 { return n - 1 })
		}, ErrCorrupt, ""},
		{"stsz count huge", func() []byte {
			return patched("stsz", 8, func(uint32) uint32 { return 0xffffffff })
		}, ErrUnsupported, "more than"},
		{"stts count huge", func() []byte {
			return patched("stts", 8, func(uint32) uint32 { return 0xfffffff0 })
		}, ErrCorrupt, "stts"},
		{"stss names a sample past the end", func() []byte {
			return patched("stss", 8, func(uint32) uint32 { return 1 << 30 })
		}, ErrCorrupt, "stss entry 0"},
		{"stsc entry count huge", func() []byte {
			return patched("stsc", 4, func(uint32) uint32 { return 1 << 30 })
		}, ErrCorrupt, "stsc claims"},
		{"moov size past the end", func() []byte {
			b := bytes.Clone(bframes)
			at := findBox(t, b, "moov") - 8
			binary.BigEndian.PutUint32(b[at:], uint32(len(b)))
			return b
		}, ErrCorrupt, "past the end of the file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := buildBytes(t, c.data())
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.says) {
				t.Errorf("error %q does not say %q", err, c.says)
			}
		})
	}
}

// TestBuildTruncated cuts files at several points. Files whose tables say how long they are
// must be refused; streams (MPEG-TS, live Matroska, fragmented MP4) may index what is there,
// but whatever Build returns must hold together.
func TestBuildTruncated(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	files := []struct {
		name     string
		make     func(testing.TB, string) string
		mustFail bool
	}{
		{"mp4", bframesMP4, true},
		{"mp4 moov first", clipCases[9].make, true},
		{"mkv", clipCases[12].make, true},
		{"fragmented mp4", clipCases[7].make, false},
		{"live mkv", liveMKV, false},
		{"ts", bframesTS, false},
	}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			data := readFile(t, f.make(t, dir))
			for _, cut := range []int{1, 7, 100, len(data) / 8, len(data) / 3, len(data) / 2, len(data) * 3 / 4, len(data) - 100, len(data) - 1} {
				ix, err := buildBytes(t, data[:cut])
				switch {
				case err != nil && cut > 1024 && errors.Is(err, ErrUnsupported) && f.mustFail:
					t.Errorf("cut at %d of %d: %v; want ErrCorrupt", cut, len(data), err)
				case err == nil && f.mustFail:
					t.Errorf("cut at %d of %d: indexed %d frames; want an error", cut, len(data), len(ix.Frames))
				case err == nil:
					checkInvariants(t, ix)
				}
			}
		})
	}
}

// TestBuildBitFlips flips bytes all over real files: whatever happens, no panic, and an
// index that comes back holds together.
func TestBuildBitFlips(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(2))
	for _, mk := range []func(testing.TB, string) string{bframesMP4, clipCases[7].make, clipCases[12].make, bframesTS} {
		data := readFile(t, mk(t, dir))
		for i := 0; i < 300; i++ {
			b := bytes.Clone(data)
			for k := 0; k < 1+rng.Intn(4); k++ {
				// Most flips in the first and last kilobytes, where the tables are.
				at := rng.Intn(len(b))
				if rng.Intn(2) == 0 {
					at = rng.Intn(min(len(b), 1024))
					if rng.Intn(2) == 0 {
						at = len(b) - 1 - at
					}
				}
				b[at] ^= byte(1 << rng.Intn(8))
			}
			if ix, err := buildBytes(t, b); err == nil {
				checkInvariants(t, ix)
			}
		}
	}
}
