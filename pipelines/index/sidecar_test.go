package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// syntheticIndex is an index of n frames at 25 fps with a B-frame pattern and a GOP of 12.
func syntheticIndex(n int) *Index {
	ix := &Index{
		Container: ContainerMP4, Codec: CodecH264, Width: 64, Height: 48, Timescale: 12800,
		CodecConfig: []byte{1, 100, 0, 10, 0xff}, NALLengthSize: 4, FileSize: int64(n) * 1000,
		Warnings: []string{"a warning"},
	}
	ix.Samples = make([]Sample, n)
	for i := range ix.Samples {
		// Decode order I0 P3 B1 B2 P6 B4 B5 ...; a last, incomplete group is all P.
		pts := int64(i)
		switch {
		case i >= n-(n-1)%3:
		case i%3 == 1:
			pts = int64(i + 2)
		case i > 0:
			pts = int64(i - 1)
		}
		ix.Samples[i] = Sample{Offset: int64(i) * 900, Size: 800, DTS: int64(i) * 512, PTS: pts*512 + 512, Key: i%12 == 0}
	}
	if err := ix.finish(&file{size: ix.FileSize}); err != nil {
		panic(err)
	}
	ix.Duration = int64(n) * 512
	return ix
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, ix := range []*Index{syntheticIndex(1), syntheticIndex(1000)} {
		ix.Hash = strings.Repeat("ab", 32)
		b, err := ix.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var back Index
		if err := back.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(&back, ix) {
			t.Fatalf("round trip differs:\n%+v\n%+v", back.Frames[:1], ix.Frames[:1])
		}
		if per := float64(len(b)) / float64(len(ix.Samples)); len(ix.Samples) > 100 && per > 12 {
			t.Errorf("%.1f bytes per sample; the format should be compact", per)
		}
	}
}

// TestUnmarshalCorrupt: every flipped byte and every cut is refused.
func TestUnmarshalCorrupt(t *testing.T) {
	b, err := syntheticIndex(50).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 0x20
		var ix Index
		if err := ix.UnmarshalBinary(c); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
		if err := ix.UnmarshalBinary(b[:i]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("cut at %d: %v", i, err)
		}
	}
	// Another version, with a good checksum: refused, not misread.
	c := bytes.Clone(b)
	c[4]++
	binary.LittleEndian.PutUint32(c[len(c)-4:], crc32.Checksum(c[:len(c)-4], castagnoli))
	var ix Index
	if err := ix.UnmarshalBinary(c); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "version") {
		t.Fatalf("other version: %v", err)
	}
}

func TestSaveLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sidecars")
	hash := strings.Repeat("0f", 32)
	ix := syntheticIndex(100)
	if _, err := Load(dir, hash); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load before Save: %v", err)
	}
	if err := ix.Save(dir, hash); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir, hash)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash != hash || !reflect.DeepEqual(got.Frames, ix.Frames) {
		t.Fatal("loaded index differs")
	}
	// Saved as another content's sidecar: refused.
	if err := got.Save(dir, strings.Repeat("1e", 32)); err == nil {
		t.Fatal("saved an index under another file's hash")
	}
	for _, bad := range []string{"../escape", strings.Repeat("0F", 32), "", strings.Repeat("0f", 31)} {
		if _, err := Load(dir, bad); err == nil || errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Load(%q): %v", bad, err)
		}
	}
	// Nothing but the sidecar is left in the directory.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d files in the sidecar directory", len(entries))
	}
}

func TestOpen(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	a := bframesMP4(t, dir)
	b := clipCases[12].make(t, dir) // another file: Matroska
	hashOf := func(path string) string {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		h, err := Hash(f)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	ha, hb := hashOf(a), hashOf(b)

	built, err := Open(a, data)
	if err != nil {
		t.Fatal(err)
	}
	if built.Hash != ha {
		t.Fatalf("hash %s, want %s", built.Hash, ha)
	}
	sidecar := filepath.Join(data, ha+sidecarExt)
	if _, err := os.Stat(sidecar); err != nil {
		t.Fatalf("no sidecar: %v", err)
	}

	// A second Open uses the sidecar: mark it and see the mark come back.
	marked, _ := Load(data, ha)
	marked.Warnings = append(marked.Warnings, "marker")
	if err := marked.Save(data, ha); err != nil {
		t.Fatal(err)
	}
	again, err := Open(a, data)
	if err != nil {
		t.Fatal(err)
	}
	if !contains(again.Warnings, "marker") {
		t.Fatal("Open did not use the sidecar")
	}

	// A flipped byte: rebuilt, and the sidecar is good again.
	raw := readFile(t, sidecar)
	raw[len(raw)/2] ^= 1
	if err := os.WriteFile(sidecar, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	rebuilt, err := Open(a, data)
	if err != nil {
		t.Fatal(err)
	}
	if contains(rebuilt.Warnings, "marker") || !reflect.DeepEqual(rebuilt.Frames, built.Frames) {
		t.Fatal("corrupt sidecar not rebuilt")
	}
	if _, err := Load(data, ha); err != nil {
		t.Fatalf("sidecar not rewritten: %v", err)
	}

	// A's sidecar put where B's belongs: not used for B.
	if err := os.WriteFile(filepath.Join(data, hb+sidecarExt), readFile(t, sidecar), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(data, hb); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Load of another file's sidecar: %v", err)
	}
	ixb, err := Open(b, data)
	if err != nil {
		t.Fatal(err)
	}
	if ixb.Container != ContainerMKV || ixb.Hash != hb {
		t.Fatalf("Open(b) gave the %s index of %s", ixb.Container, ixb.Hash)
	}

	// Not a video: the error says so, and no sidecar is written.
	png := filepath.Join(dir, "picture.png")
	if err := os.WriteFile(png, pngBytes(t), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(png, data); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Open(png): %v", err)
	}
	if _, err := Load(data, hashOf(png)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("sidecar for a PNG: %v", err)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestFrameAtTime(t *testing.T) {
	ix := syntheticIndex(100)
	if got := ix.FrameAtTime(-1 << 40); got != 0 {
		t.Errorf("before the first frame: %d", got)
	}
	if got := ix.FrameAtTime(1 << 40); got != 99 {
		t.Errorf("after the last frame: %d", got)
	}
	for n, f := range ix.Frames {
		if got := ix.FrameAtTime(f.PTS); got != n {
			t.Fatalf("FrameAtTime(%d) = %d, want %d", f.PTS, got, n)
		}
		if n+1 < len(ix.Frames) {
			if got := ix.FrameAtTime(ix.Frames[n+1].PTS - 1); got != n {
				t.Fatalf("just before frame %d: %d", n+1, got)
			}
		}
	}
	if got := (&Index{}).FrameAtTime(0); got != -1 {
		t.Errorf("no frames: %d", got)
	}
	// Fast enough to call per request: well under 10 µs.
	big := syntheticIndex(1 << 18)
	start := time.Now()
	const lookups = 100000
	for i := 0; i < lookups; i++ {
		big.FrameAtTime(int64(i) * 7919 % (1 << 27))
	}
	if per := time.Since(start) / lookups; per > 10*time.Microsecond {
		t.Errorf("FrameAtTime takes %v", per)
	}
}

func BenchmarkFrameAtTime(b *testing.B) {
	ix := syntheticIndex(1 << 20) // 11.6 hours at 25 fps
	last := ix.Frames[len(ix.Frames)-1].PTS
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ix.FrameAtTime(int64(i) * 7919 % last)
	}
}
