package index

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The fuzz targets start from tiny real clips committed in testdata/fuzz (32x32, five frames).
// go test -run TestFuzzSeeds -update-seeds ./pipelines/index/ makes them again with ffmpeg.

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the fuzz seed corpus with ffmpeg")

// fuzzSeeds are the committed seed clips: target, file name, ffmpeg arguments.
var fuzzSeeds = []struct {
	target, name string
	args         []string
}{
	{"FuzzBuildMP4", "bframes.mp4", cat(testSource("32x32", 25, 1), []string{"-frames:v", "5"}, x264("-bf", "2", "-g", "3"))},
	{"FuzzBuildMP4", "cut.mp4", nil}, // bframes.mp4 cut mid-GOP with -ss: an edit list with discards
	{"FuzzBuildMP4", "frag.mp4", cat(testSource("32x32", 25, 1), []string{"-frames:v", "5"}, x264("-bf", "2", "-g", "3"),
		[]string{"-movflags", "frag_keyframe+empty_moov+default_base_moof"})},
	{"FuzzBuildMP4", "hevc.mp4", cat(testSource("32x32", 25, 1), []string{"-frames:v", "5"}, x265("keyint=4:bframes=2"))},
	{"FuzzBuildMKV", "cues.mkv", cat(testSource("32x32", 25, 1), []string{"-frames:v", "5"}, x264("-bf", "2", "-g", "3"))},
	{"FuzzBuildMKV", "hevc.mkv", cat(testSource("32x32", 25, 1), []string{"-frames:v", "5"}, x265("keyint=4:bframes=2"))},
	{"FuzzBuildTS", "bframes.ts", cat(testSource("32x32", 25, 1), []string{"-frames:v", "5"}, x264("-bf", "2", "-g", "3"))},
	{"FuzzBuildTS", "hevc.ts", cat(testSource("32x32", 25, 1), []string{"-frames:v", "5"}, x265("keyint=4:bframes=2"))},
}

// TestFuzzSeeds checks that every committed seed clip indexes, and with -update-seeds makes
// them again.
func TestFuzzSeeds(t *testing.T) {
	if *updateSeeds {
		needFFmpeg(t)
		writeSeeds(t)
	}
	n := 0
	for _, target := range []string{"FuzzBuildMP4", "FuzzBuildMKV", "FuzzBuildTS", "FuzzUnmarshal"} {
		paths, _ := filepath.Glob(filepath.Join("testdata", "fuzz", target, "*"))
		for _, p := range paths {
			n++
			data := readSeed(t, p)
			if target == "FuzzUnmarshal" {
				var ix Index
				if err := ix.UnmarshalBinary(data); err != nil {
					t.Errorf("%s: %v", p, err)
				}
				continue
			}
			if len(data) > 10<<10 {
				t.Errorf("%s: %d bytes; keep seeds under 10 KB", p, len(data))
			}
			ix, err := buildBytes(t, data)
			if err != nil {
				t.Errorf("%s: %v", p, err)
				continue
			}
			checkInvariants(t, ix)
		}
	}
	if n < len(fuzzSeeds) {
		t.Errorf("%d seed files; run go test -run TestFuzzSeeds -update-seeds", n)
	}
}

func writeSeeds(t *testing.T) {
	dir := t.TempDir()
	for _, s := range fuzzSeeds {
		var path string
		if s.args == nil {
			src := filepath.Join(dir, "bframes.mp4")
			path = makeClip(t, dir, s.name, "-ss", "0.1", "-i", src, "-c", "copy")
		} else {
			path = makeClip(t, dir, s.name, s.args...)
		}
		data := readFile(t, path)
		writeSeed(t, s.target, s.name, data)
		ix, err := buildBytes(t, data)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		m, err := ix.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		writeSeed(t, "FuzzUnmarshal", s.name, m)
	}
}

func writeSeed(t *testing.T, target, name string, data []byte) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(data)) + ")\n"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readSeed decodes a file of Go's fuzz corpus format holding one []byte.
func readSeed(t *testing.T, path string) []byte {
	t.Helper()
	b := readFile(t, path)
	s, ok := strings.CutPrefix(string(b), "go test fuzz v1\n[]byte(")
	s, ok2 := strings.CutSuffix(strings.TrimSpace(s), ")")
	if !ok || !ok2 {
		t.Fatalf("%s: not a one-[]byte fuzz corpus file", path)
	}
	v, err := strconv.Unquote(s)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return []byte(v)
}

// fuzzBuild runs Build on data and, where the sniffed container is not kind, the kind's reader
// too, so that mutations of the magic bytes do not end the exploration of the parser.
func fuzzBuild(t *testing.T, kind string, data []byte) {
	f := &file{r: bytes.NewReader(data), size: int64(len(data))}
	for _, build := range []func() (*Index, error){
		func() (*Index, error) { return Build(f.r, f.size) },
		func() (*Index, error) {
			if len(data) == 0 {
				return nil, ErrUnsupported
			}
			return buildAs(f, kind)
		},
	} {
		ix, err := build()
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error matches neither ErrCorrupt nor ErrUnsupported: %v", err)
			}
			continue
		}
		checkFuzzedIndex(t, ix)
	}
}

// checkFuzzedIndex checks what an index promises, and that it survives a sidecar round trip.
func checkFuzzedIndex(t *testing.T, ix *Index) {
	t.Helper()
	if err := ix.check(); err != nil {
		t.Fatal(err)
	}
	for n, f := range ix.Frames {
		if f.Start < 0 || f.Start > f.Decode || int(f.Decode) >= len(ix.Samples) || !ix.Samples[f.Start].Key {
			t.Fatalf("frame %d: start %d decode %d of %d samples", n, f.Start, f.Decode, len(ix.Samples))
		}
		if n > 0 && f.PTS < ix.Frames[n-1].PTS {
			t.Fatalf("frame %d out of order", n)
		}
		if got := ix.FrameAtTime(f.PTS); ix.Frames[got].PTS != f.PTS {
			t.Fatalf("FrameAtTime(%d) = %d", f.PTS, got)
		}
	}
	m, err := ix.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back Index
	if err := back.UnmarshalBinary(m); err != nil {
		t.Fatalf("round trip: %v", err)
	}
	if !reflect.DeepEqual(back.Frames, ix.Frames) || !reflect.DeepEqual(back.Samples, ix.Samples) {
		t.Fatal("round trip changed the frames or samples")
	}
}

func FuzzBuildMP4(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) { fuzzBuild(t, ContainerMP4, data) })
}

func FuzzBuildMKV(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) { fuzzBuild(t, ContainerMKV, data) })
}

func FuzzBuildTS(f *testing.F) {
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) { fuzzBuild(t, ContainerMPEGTS, data) })
}

// FuzzUnmarshal: corrupt sidecars give ErrCorrupt; what decodes re-encodes to the same bytes.
func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte(sidecarMagic + "\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ix Index
		if err := ix.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error does not match ErrCorrupt: %v", err)
			}
			return
		}
		m, err := ix.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(m, data) {
			t.Fatal(fmt.Sprintf("re-encoding differs: %d bytes in, %d out", len(data), len(m)))
		}
		checkFuzzedIndex(t, &ix)
	})
}
