package index

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// clipCase is a recording made by ffmpeg, indexed and compared with what ffmpeg makes of it.
type clipCase struct {
	name string
	// make writes the clip into dir and returns its path.
	make             func(t testing.TB, dir string) string
	container, codec string
	// openGOP: some frame must start decoding before its own GOP's sync sample.
	openGOP bool
	// hidden: some samples are decoded but not shown (edit list, RASL, cut stream).
	hidden bool
	// decodeCheck: decode a few frames from their Start with ffmpeg and find them.
	decodeCheck bool
	// noCues: a Matroska file without Cues (the index warns).
	noCues bool
}

func x264(extra ...string) []string {
	return append([]string{"-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"}, extra...)
}

func x265(params string, extra ...string) []string {
	return append([]string{"-c:v", "libx265", "-preset", "veryfast", "-x265-params", "log-level=error:" + params}, extra...)
}

func clip(name string, args ...string) func(testing.TB, string) string {
	return func(t testing.TB, dir string) string { return makeClip(t, dir, name, args...) }
}

func cat(parts ...[]string) []string { return slices.Concat(parts...) }

// fromClip makes a clip from another one made first.
func fromClip(src func(testing.TB, string) string, name string, args func(in string) []string) func(testing.TB, string) string {
	return func(t testing.TB, dir string) string {
		in := src(t, dir)
		return makeClip(t, dir, name, args(in)...)
	}
}

var (
	bframesMP4 = clip("bframes.mp4", cat(testSource("64x48", 25, 2), x264("-bf", "2", "-g", "12"))...)
	bframesTS  = clip("bframes.ts", cat(testSource("64x48", 25, 3), x264("-bf", "2", "-g", "25"))...)
	hevcCutTS  = fromClip(clip("hevc-src.ts",
		cat(testSource("64x48", 25, 3), x265("keyint=24:min-keyint=24:open-gop=1:scenecut=0:b-adapt=0", "-bf", "3"))...),
		"hevc-cut.ts", func(in string) []string { return []string{"-ss", "1", "-i", in, "-c", "copy"} })
	liveMKV = func(t testing.TB, dir string) string {
		// Written to a pipe, the Matroska muxer cannot go back: no Cues, unknown Segment size.
		out := run(t, "ffmpeg", cat([]string{"-hide_banner", "-loglevel", "error", "-nostdin"},
			testSource("64x48", 25, 2), x264("-bf", "2", "-g", "20"), []string{"-f", "matroska", "pipe:1"})...)
		path := filepath.Join(dir, "live.mkv")
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
)

var clipCases = []clipCase{
	{name: "h264 B-frames mp4 (edit list)", make: bframesMP4, container: "mp4", codec: "h264", decodeCheck: true},
	{name: "h264 mp4 without edit list", make: fromClip(bframesMP4, "noedit.mp4", func(in string) []string {
		return []string{"-i", in, "-c", "copy", "-use_editlist", "0"}
	}), container: "mp4", codec: "h264"},
	{name: "h264 mp4 cut mid-GOP (edit list discards)", make: fromClip(bframesMP4, "cut.mp4", func(in string) []string {
		return []string{"-ss", "0.5", "-i", in, "-c", "copy"}
	}), container: "mp4", codec: "h264", hidden: true, decodeCheck: true},
	{name: "h264 mp4 with an empty edit", make: clip("offset.mp4",
		cat(testSource("64x48", 25, 2), x264("-bf", "2", "-g", "12"), []string{"-output_ts_offset", "0.3"})...),
		container: "mp4", codec: "h264"},
	{name: "h264 mp4 negative composition offsets", make: clip("negcts.mp4",
		cat(testSource("64x48", 25, 2), x264("-bf", "2", "-g", "12"), []string{"-movflags", "+negative_cts_offsets"})...),
		container: "mp4", codec: "h264", decodeCheck: true},
	{name: "h264 open GOP mp4", make: clip("opengop.mp4",
		cat(testSource("64x48", 25, 3), x264("-bf", "3", "-x264-params", "open-gop=1:keyint=30:min-keyint=30:scenecut=0"))...),
		container: "mp4", codec: "h264", openGOP: true, decodeCheck: true},
	{name: "h264 variable frame rate mp4", make: clip("vfr.mp4",
		"-filter_complex", "testsrc=s=64x48:r=30:d=1,settb=1/90000[a];testsrc=s=64x48:r=10:d=1,settb=1/90000[b];[a][b]concat=n=2:v=1[v]",
		"-map", "[v]", "-fps_mode", "passthrough", "-c:v", "libx264", "-bf", "2"),
		container: "mp4", codec: "h264", hidden: true},
	{name: "h264 fragmented mp4", make: clip("frag.mp4",
		cat(testSource("64x48", 25, 2), x264("-bf", "2", "-g", "12"), []string{"-movflags", "frag_keyframe+empty_moov"})...),
		container: "mp4", codec: "h264", decodeCheck: true},
	{name: "h264 fragmented mp4 with sidx", make: clip("sidx.mp4",
		cat(testSource("64x48", 25, 2), x264("-bf", "2", "-g", "12"),
			[]string{"-movflags", "frag_keyframe+empty_moov+default_base_moof+global_sidx"})...),
		container: "mp4", codec: "h264"},
	{name: "h264 mp4 moov first", make: clip("faststart.mp4",
		cat(testSource("160x120", 25, 2), x264("-bf", "2", "-g", "25"), []string{"-movflags", "+faststart"})...),
		container: "mp4", codec: "h264"},
	{name: "h265 open GOP mp4", make: clip("hevc.mp4",
		cat(testSource("64x48", 25, 3), x265("keyint=24:min-keyint=24:open-gop=1:scenecut=0:b-adapt=0", "-bf", "3"))...),
		container: "mp4", codec: "h265", openGOP: true, decodeCheck: true},
	{name: "h265 mp4 cut at a CRA", make: fromClip(
		clip("hevc-src.mp4", cat(testSource("64x48", 25, 3), x265("keyint=24:min-keyint=24:open-gop=1:scenecut=0:b-adapt=0", "-bf", "3"))...),
		"hevc-cut.mp4", func(in string) []string { return []string{"-ss", "1", "-i", in, "-c", "copy"} }),
		container: "mp4", codec: "h265", hidden: true, decodeCheck: true},
	{name: "h264 mkv with Cues", make: clip("cues.mkv", cat(testSource("64x48", 25, 2), x264("-bf", "2", "-g", "12"))...),
		container: "mkv", codec: "h264", decodeCheck: true},
	{name: "h264 mkv without Cues (pipe)", make: liveMKV, container: "mkv", codec: "h264", noCues: true},
	{name: "h264 mkv with unknown-size clusters", make: func(t testing.TB, dir string) string {
		return unknownSizeClusters(t, liveMKV(t, dir))
	}, container: "mkv", codec: "h264", noCues: true, decodeCheck: true},
	{name: "h264 open GOP mkv", make: clip("opengop.mkv",
		cat(testSource("64x48", 25, 3), x264("-bf", "3", "-x264-params", "open-gop=1:keyint=30:min-keyint=30:scenecut=0"))...),
		container: "mkv", codec: "h264", openGOP: true, decodeCheck: true},
	{name: "h265 mkv", make: clip("hevc.mkv",
		cat(testSource("64x48", 25, 3), x265("keyint=24:min-keyint=24:open-gop=1:scenecut=0:b-adapt=0", "-bf", "3"))...),
		container: "mkv", codec: "h265", openGOP: true, decodeCheck: true},
	{name: "h265 mp4 starting at a CRA, no edit list (RASL pictures dropped)", make: fromClip(hevcCutTS, "hevc-cra.mp4",
		func(in string) []string { return []string{"-i", in, "-c", "copy", "-use_editlist", "0"} }),
		container: "mp4", codec: "h265", hidden: true, openGOP: true, decodeCheck: true},
	{name: "h265 ts cut at a CRA (RASL pictures dropped)", make: hevcCutTS,
		container: "mpegts", codec: "h265", hidden: true, openGOP: true},
	{name: "h264 ts", make: bframesTS, container: "mpegts", codec: "h264"},
	{name: "h264 open GOP ts", make: clip("opengop.ts",
		cat(testSource("64x48", 25, 3), x264("-bf", "3", "-x264-params", "open-gop=1:keyint=30:min-keyint=30:scenecut=0"))...),
		container: "mpegts", codec: "h264", openGOP: true},
	{name: "h265 ts", make: clip("hevc.ts",
		cat(testSource("64x48", 25, 3), x265("keyint=24:min-keyint=24:open-gop=1:scenecut=0:b-adapt=0", "-bf", "3"))...),
		container: "mpegts", codec: "h265", openGOP: true},
	{name: "h264 m2ts (192-byte packets)", make: clip("bframes.m2ts",
		cat(testSource("64x48", 25, 2), x264("-bf", "2", "-g", "25"), []string{"-f", "mpegts", "-mpegts_m2ts_mode", "1"})...),
		container: "mpegts", codec: "h264"},
	{name: "h264 ts cut mid-GOP", make: func(t testing.TB, dir string) string {
		return cutTS(t, bframesTS(t, dir))
	}, container: "mpegts", codec: "h264", hidden: true},
}

// TestBuildMatchesFFmpeg indexes each clip and checks it frame by frame against ffmpeg's
// framemd5 (count, timestamps) and ffprobe's packets (sync flags, discards, offsets, sizes).
func TestBuildMatchesFFmpeg(t *testing.T) {
	needFFmpeg(t)
	for _, c := range clipCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			path := c.make(t, t.TempDir())
			ix := buildFile(t, path)
			if ix.Container != c.container || ix.Codec != c.codec {
				t.Fatalf("got %s/%s, want %s/%s", ix.Container, ix.Codec, c.container, c.codec)
			}
			compareWithFFmpeg(t, path, ix)
			checkInvariants(t, ix)
			for n := 1; n < len(ix.Frames); n++ {
				if ix.Frames[n].PTS == ix.Frames[n-1].PTS {
					t.Fatalf("frames %d and %d share PTS %d", n-1, n, ix.Frames[n].PTS)
				}
			}
			if c.openGOP && !hasOpenGOPStart(ix) {
				t.Error("no frame starts decoding before its own GOP's sync sample")
			}
			hidden := len(ix.Samples) - len(ix.Frames)
			if c.hidden != (hidden > 0) {
				t.Errorf("%d samples hidden, want some: %v", hidden, c.hidden)
			}
			noCuesWarned := slices.ContainsFunc(ix.Warnings, func(w string) bool { return w[:min(len(w), 7)] == "no Cues" })
			if c.container == "mkv" && noCuesWarned != c.noCues {
				t.Errorf("warnings %q; want a no-Cues warning: %v", ix.Warnings, c.noCues)
			}
			if c.decodeCheck {
				checkDecode(t, path, ix)
			}
		})
	}
}

func buildFile(t testing.TB, path string) *Index {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	ix, err := Build(f, st.Size())
	if err != nil {
		t.Fatalf("Build(%s): %v", filepath.Base(path), err)
	}
	return ix
}

func compareWithFFmpeg(t *testing.T, path string, ix *Index) {
	t.Helper()
	// The count, with the exact command the package documents.
	plain, _ := frameMD5(t, path, false)
	if len(plain) != len(ix.Frames) {
		t.Fatalf("%d frames, ffmpeg decodes %d", len(ix.Frames), len(plain))
	}
	// Timestamps in the demuxer's time base; ffmpeg subtracts the stream's start time.
	exact, tb := frameMD5(t, path, true)
	if want := fmt.Sprintf("1/%d", ix.Timescale); tb != want {
		t.Fatalf("framemd5 time base %s, index timescale %s", tb, want)
	}
	start, streamTB, w, h := probeStream(t, path)
	if streamTB != tb {
		t.Fatalf("stream time base %s, framemd5 %s", streamTB, tb)
	}
	if w != ix.Width || h != ix.Height {
		t.Errorf("%dx%d, ffprobe says %dx%d", ix.Width, ix.Height, w, h)
	}
	for i, f := range ix.Frames {
		got, want := f.PTS-ix.Frames[0].PTS, exact[i].pts-exact[0].pts
		if got != want || plain[i].hash != exact[i].hash {
			t.Fatalf("frame %d: PTS %d (%+d from the first), ffmpeg's %d (%+d)", i, f.PTS, got, exact[i].pts, want)
		}
	}
	if d := ix.Frames[0].PTS - start - exact[0].pts; d < -1 || d > 1 {
		t.Errorf("first frame PTS %d; ffmpeg's start %d plus framemd5's first %d", ix.Frames[0].PTS, start, exact[0].pts)
	}
	pkts := probePackets(t, path)
	if len(pkts) != len(ix.Samples) {
		t.Fatalf("%d samples, ffprobe shows %d packets", len(ix.Samples), len(pkts))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range ix.Samples {
		p := pkts[i]
		if s.Key != p.key || s.PTS != p.pts {
			t.Fatalf("sample %d: key %v PTS %d; ffprobe: key %v PTS %d", i, s.Key, s.PTS, p.key, p.pts)
		}
		if p.disc && s.Frame >= 0 {
			t.Errorf("sample %d is discarded by ffmpeg but shown as frame %d", i, s.Frame)
		}
		if p.hasDTS && ix.Container != ContainerMKV && s.DTS != p.dts {
			t.Errorf("sample %d: DTS %d, ffprobe %d", i, s.DTS, p.dts)
		}
		switch ix.Container {
		case ContainerMP4:
			if s.Offset != p.pos || int64(s.Size) != p.size {
				t.Fatalf("sample %d: %d bytes at %d; ffprobe: %d at %d", i, s.Size, s.Offset, p.size, p.pos)
			}
		case ContainerMKV:
			// ffprobe gives the position of the block header (track number, timestamp, flags);
			// the data follows it.
			_, n, _, ok := vint(data[p.pos:], true)
			if !ok || s.Offset != p.pos+int64(n+3) || int64(s.Size) != p.size {
				t.Fatalf("sample %d: %d bytes at %d; ffprobe: %d in the block at %d", i, s.Size, s.Offset, p.size, p.pos)
			}
		case ContainerMPEGTS:
			if s.Offset > p.pos || p.pos >= s.Offset+int64(s.Size) {
				t.Fatalf("sample %d spans %d bytes at %d; ffprobe's packet is at %d", i, s.Size, s.Offset, p.pos)
			}
		}
	}
}

// checkInvariants checks what every index promises.
func checkInvariants(t testing.TB, ix *Index) {
	t.Helper()
	if err := ix.check(); err != nil {
		t.Fatal(err)
	}
	for n, f := range ix.Frames {
		if f.Start > f.Decode || !ix.Samples[f.Start].Key {
			t.Fatalf("frame %d: start %d decode %d", n, f.Start, f.Decode)
		}
		if got := ix.FrameAtTime(f.PTS); ix.Frames[got].PTS != f.PTS {
			t.Fatalf("FrameAtTime(%d) = %d", f.PTS, got)
		}
	}
	if ix.Duration <= 0 {
		t.Errorf("duration %d", ix.Duration)
	}
}

// hasOpenGOPStart reports whether some frame's Start lies before the sync sample that opens
// the GOP its sample is in.
func hasOpenGOPStart(ix *Index) bool {
	for _, f := range ix.Frames {
		for k := f.Decode; k >= 0; k-- {
			if ix.Samples[k].Key {
				if f.Start < k {
					return true
				}
				break
			}
		}
	}
	return false
}

// checkDecode decodes, for a few frames, the samples from Start to Decode with ffmpeg, and
// looks for the picture ffmpeg decodes as that frame from the whole file: the frames
// package's contract.
func checkDecode(t *testing.T, path string, ix *Index) {
	t.Helper()
	want, _ := frameMD5(t, path, false)
	frames := map[int]bool{0: true, len(ix.Frames) - 1: true, len(ix.Frames) / 2: true}
	// The sync samples, and every leading picture: shown before the sync sample that opens
	// its GOP in decode order.
	for n, f := range ix.Frames {
		if f.Key {
			frames[n] = true
		}
		for k := f.Decode; k >= 0; k-- {
			if ix.Samples[k].Key {
				if f.PTS < ix.Samples[k].PTS {
					frames[n] = true
				}
				break
			}
		}
	}
	dir := t.TempDir()
	var wg sync.WaitGroup
	var mu sync.Mutex
	sem := make(chan struct{}, 4)
	for n := range frames {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			start, end, ok := ix.DecodeRange(n)
			if !ok {
				t.Errorf("DecodeRange(%d) not ok", n)
				return
			}
			got := decodeAnnexB(t, dir, ix.Codec, annexB(t, path, ix, start, end))
			if !slices.Contains(got, want[n].hash) {
				mu.Lock()
				defer mu.Unlock()
				t.Errorf("frame %d: decoding samples %d..%d does not give ffmpeg's picture", n, start, end-1)
			}
		}()
	}
	wg.Wait()
}

// unknownSizeClusters rewrites a Matroska file so that every Cluster has an unknown size, as
// live muxers write them.
func unknownSizeClusters(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := parseHeader(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	off := h.hdr + int(h.size)
	seg, err := parseHeader(data[off:], int64(off))
	if err != nil || seg.id != mkvSegment {
		t.Fatalf("no segment: %v", err)
	}
	out := append([]byte(nil), data[:off]...)
	// Segment with unknown size.
	out = append(out, 0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	clusters := 0
	for p := off + seg.hdr; p < len(data); {
		e, err := parseHeader(data[p:], int64(p))
		if err != nil || e.size == mkvUnknownSize {
			t.Fatalf("element at %d: %v", p, err)
		}
		end := p + e.hdr + int(e.size)
		switch e.id {
		case mkvSeekHead, mkvCues:
			// Their positions would be stale.
		case mkvCluster:
			clusters++
			out = append(out, 0x1f, 0x43, 0xb6, 0x75, 0xff)
			out = append(out, data[p+e.hdr:end]...)
		default:
			out = append(out, data[p:end]...)
		}
		p = end
	}
	if clusters < 2 {
		t.Fatalf("%d clusters; the test wants several", clusters)
	}
	out2 := filepath.Join(filepath.Dir(path), "unknown-clusters.mkv")
	if err := os.WriteFile(out2, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return out2
}

// cutTS keeps the PAT and PMT of a transport stream and drops the first half of the rest, so
// that it starts in the middle of a GOP.
func cutTS(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := len(data) / tsPacket
	out := append([]byte(nil), data[:2*tsPacket]...)
	out = append(out, data[(n/2+3)*tsPacket:n*tsPacket]...)
	out2 := filepath.Join(filepath.Dir(path), "cut.ts")
	if err := os.WriteFile(out2, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return out2
}

// TestBuildFileNameIgnored: the container is sniffed from content.
func TestBuildFileNameIgnored(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	path := bframesMP4(t, dir)
	renamed := filepath.Join(dir, "recording.mkv")
	if err := os.Rename(path, renamed); err != nil {
		t.Fatal(err)
	}
	if ix := buildFile(t, renamed); ix.Container != ContainerMP4 {
		t.Errorf("container %s", ix.Container)
	}
}

func TestErrorsMatchSentinels(t *testing.T) {
	if errors.Is(ErrCorrupt, ErrUnsupported) || errors.Is(ErrUnsupported, ErrCorrupt) {
		t.Fatal("sentinels overlap")
	}
}
