package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pigweight/pigweight/pipelines/frames"
	"github.com/pigweight/pigweight/pipelines/index"
	"github.com/pigweight/pigweight/pipelines/pen"
	"github.com/pigweight/pigweight/pipelines/simcam"
	"github.com/pigweight/pigweight/pipelines/spec"
)

// framesBenchFlags are the settings of one `pigweight bench frames` run.
type framesBenchFlags struct {
	out, file         string
	decode            spec.Decode
	width, height     int
	fps, seconds, gop int
	bframes, kbps     int
	samples           int
	seed              uint64
}

func parseFramesBenchFlags(args []string, stderr io.Writer) (framesBenchFlags, error) {
	var f framesBenchFlags
	fs := flag.NewFlagSet("bench frames", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.out, "out", "bench/frames.json", "where the results are written as JSON")
	fs.StringVar(&f.file, "file", "", "an H.264/H.265 MP4 or MKV to measure; recorded there from the pen as --width, --height, --fps, --seconds, --gop, --bframes, --kbps say if it does not exist; empty: a temporary recording")
	fs.IntVar(&f.width, "width", 1920, "width of the recorded clip")
	fs.IntVar(&f.height, "height", 1080, "height of the recorded clip")
	fs.IntVar(&f.fps, "fps", 30, "frame rate of the recorded clip")
	fs.IntVar(&f.seconds, "seconds", 20, "length of the recorded clip")
	fs.IntVar(&f.gop, "gop", 60, "keyframe interval of the recorded clip, in frames")
	fs.IntVar(&f.bframes, "bframes", 2, "B-frames of the recorded clip")
	fs.IntVar(&f.kbps, "kbps", 4000, "bitrate of the recorded clip (a 1080p camera's main stream is typically 4 Mb/s)")
	fs.IntVar(&f.samples, "samples", 100, "random frames measured (each way)")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the random frame numbers")
	decode := fs.String("decode", string(spec.DecodeAuto), "decoder of frame access and of the floor: auto (NVDEC where it can, else software), nvdec or software")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	var problems []string
	f.decode = spec.Decode(*decode)
	if !f.decode.Valid() {
		problems = append(problems, fmt.Sprintf("--decode %q: want auto, nvdec or software", *decode))
	}
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	if f.samples < 1 || f.fps < 1 || f.seconds < 1 || f.gop < 1 || f.bframes < 0 {
		problems = append(problems, "--samples, --fps, --seconds and --gop must be at least 1, --bframes not negative")
	}
	if len(problems) > 0 {
		err := errors.New(strings.Join(problems, "; "))
		fmt.Fprintln(stderr, "pigweight bench frames:", err)
		return f, err
	}
	return f, nil
}

// framesResults is what `pigweight bench frames` writes.
type framesResults struct {
	Date    string       `json:"date"`
	Command string       `json:"command"`
	Machine benchMachine `json:"machine"`
	Video   framesVideo  `json:"video"`
	// Decoder is the element frame access and the floor decoded with (avdec_h264, nvh264dec).
	Decoder string `json:"decoder"`
	// IndexBuildMS is index.Build over the whole file; LookupNS one FrameAtTime, on average.
	IndexBuildMS float64 `json:"index_build_ms"`
	LookupNS     float64 `json:"index_lookup_ns"`
	// DecodeMSPerFrame is what each further frame costs when gst-launch-1.0 decodes the whole
	// file in order (parser and decoder, as frame access uses them, to system memory), the
	// process start taken out: the cost of each frame a random access has to decode on the
	// way. It is the median of DecodeMSRuns, measured before and after the random frames so
	// that the machine's drift over the run does not tilt the comparison.
	DecodeMSPerFrame float64   `json:"decode_ms_per_frame"`
	DecodeMSRuns     []float64 `json:"decode_ms_per_frame_runs"`
	// FloorMS is, for each random frame, the frames from its keyframe to it times
	// DecodeMSPerFrame: what a perfect decoder-driven access would cost.
	FloorMS timings `json:"floor_ms"`
	Cold    timings `json:"cold_ms"`
	// ColdCached is the same random frames through a reader with the server's defaults
	// (cache and prefetch on: a few earlier picks may hit the cache), and ColdPaired the cold
	// reader asked for each frame again alongside it: each pair in turn one first and the
	// other first, PairPauseMS before each request, so that both rows see the machine in the
	// same state and the work a reader does for its cache between requests is not timed in
	// the other's.
	ColdCached  timings `json:"cold_cache_on_ms"`
	ColdPaired  timings `json:"cold_paired_ms"`
	PairPauseMS float64 `json:"pair_pause_ms"`
	// CacheOnDecoded are the pairs whose frame the server's reader had to decode (not a cache
	// hit), and ColdDecoded the cold reader on those same frames: what the cache's work costs
	// a request. DecodedOverCold is the median of their ratios, pair by pair.
	CacheOnDecoded  timings `json:"cache_on_decoded_ms"`
	ColdDecoded     timings `json:"cold_same_frames_ms"`
	DecodedOverCold float64 `json:"cache_on_decoded_over_cold_p50"`
	Cached          timings `json:"cached_ms"`
	Next            timings `json:"next_frame_ms"`
	Prefetch        timings `json:"next_frame_prefetched_ms"`
	FFmpeg          timings `json:"ffmpeg_ss_ms"`
	// SpeedupVsFFmpeg is ffmpeg's p50 over cold p50; ColdOverFloor is cold p50 over floor p50.
	SpeedupVsFFmpeg float64 `json:"speedup_vs_ffmpeg_p50"`
	ColdOverFloor   float64 `json:"cold_over_floor_p50"`
}

type framesVideo struct {
	Path      string  `json:"path"`
	Bytes     int64   `json:"bytes"`
	Codec     string  `json:"codec"`
	Width     int     `json:"width"`
	Height    int     `json:"height"`
	Frames    int     `json:"frames"`
	Keyframes int     `json:"keyframes"`
	FPS       float64 `json:"fps"`
	Recorded  string  `json:"recorded,omitempty"`
}

// timings are the p50 and p95 of a set of measurements, in milliseconds.
type timings struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	N   int     `json:"n"`
}

func summarise(ds []time.Duration) timings {
	if len(ds) == 0 {
		return timings{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) float64 { return ms(s[min(len(s)-1, int(q*float64(len(s))))]) }
	return timings{P50: ms(medianDuration(s)), P95: at(0.95), N: len(s)}
}

// benchFramesCmd measures exact frame access on one file against ffmpeg -ss and against the
// decoding floor, and writes the figures to --out.
//
//	pigweight bench frames [--file F] [--out bench/frames.json] [--samples 40]
func benchFramesCmd(args []string, stdout, stderr io.Writer) int {
	f, err := parseFramesBenchFlags(args, stderr)
	if err != nil {
		return 2
	}
	for _, tool := range []string{"ffmpeg", "gst-launch-1.0"} {
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Fprintf(stderr, "pigweight bench frames: %s is the baseline and is not installed (make deps)\n", tool)
			return 1
		}
	}
	return runBenchmark("frames", args, f.out, stdout, stderr, func(ctx context.Context, progress io.Writer) (benchReport, error) {
		return benchFrames(ctx, f, progress)
	})
}

func (r *framesResults) setCommand(line string) { r.Command = line }

func benchFrames(ctx context.Context, f framesBenchFlags, progress io.Writer) (*framesResults, error) {
	res := &framesResults{
		Date:    time.Now().UTC().Format(time.RFC3339),
		Machine: thisMachine(),
	}
	path := f.file
	if path == "" {
		dir, err := os.MkdirTemp("", "pigweight-bench-frames-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "pen.mp4")
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(progress, "recording a %dx%d pen clip, %d s at %d fps, %d kb/s, GOP %d, %d B-frames...\n", f.width, f.height, f.seconds, f.fps, f.kbps, f.gop, f.bframes)
		clip := simcam.Clip{Pen: pen.Config{Width: f.width, Height: f.height, FPS: f.fps}, Frames: f.seconds * f.fps, GOP: f.gop, BFrames: f.bframes, BitrateKbps: f.kbps}
		if err := simcam.WritePenClip(path, clip); err != nil {
			return nil, err
		}
		res.Video.Recorded = fmt.Sprintf("pen %dx%d, %d fps, %d s, x264 veryfast %d kb/s, GOP %d, %d B-frames", f.width, f.height, f.fps, f.seconds, f.kbps, f.gop, f.bframes)
	}

	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	ix, err := index.Build(file, st.Size())
	if err != nil {
		return nil, err
	}
	res.IndexBuildMS = ms(time.Since(start))
	res.Video = framesVideo{Path: path, Bytes: st.Size(), Codec: ix.Codec, Width: ix.Width, Height: ix.Height,
		Frames: len(ix.Frames), Keyframes: ix.Keyframes(), Recorded: res.Video.Recorded}
	if ix.Duration > 0 {
		res.Video.FPS = float64(len(ix.Frames)) / (float64(ix.Duration) / float64(ix.Timescale))
	}
	res.LookupNS = lookupCost(ix)
	if res.Decoder, err = frames.ChooseDecoder(ix, f.decode); err != nil {
		return nil, err
	}

	measureDecodeCost := func() error {
		fmt.Fprintln(progress, "decoding the whole file with gst-launch-1.0 for the per-frame cost...")
		for range decodeCostRuns {
			c, err := decodeCost(ctx, path, ix, res.Decoder)
			if err != nil {
				return err
			}
			res.DecodeMSRuns = append(res.DecodeMSRuns, c)
		}
		return nil
	}
	if err := measureDecodeCost(); err != nil {
		return nil, err
	}

	rng := rand.New(rand.NewPCG(f.seed, 2))
	picks := make([]int, f.samples)
	for i := range picks {
		picks[i] = rng.IntN(len(ix.Frames))
	}

	// Cold: no cache and no prefetch, so every request starts at its keyframe; the decoder
	// pipeline itself stays warm, as it does for an open video. ffmpeg -ss is timed for the
	// same frame right after, so that both see the machine in the same state.
	cold := frames.NewReader(frames.Config{CacheBytes: -1, Prefetch: -1, Decode: f.decode})
	defer cold.Close()
	if _, err := cold.Frame(ctx, "v", path, ix, 0); err != nil { // build the decoder
		return nil, err
	}
	var coldT, nextT, ffT []time.Duration
	for i, n := range picks {
		fmt.Fprintf(progress, "\rcold frame and ffmpeg -ss %d/%d", i+1, len(picks))
		t := time.Now()
		if _, err := cold.Frame(ctx, "v", path, ix, n); err != nil {
			return nil, fmt.Errorf("frame %d: %w", n, err)
		}
		coldT = append(coldT, time.Since(t))
		// Scrubbing forward: the next frames continue from where the decoder stands.
		for k := 1; k <= 3 && n+k < len(ix.Frames); k++ {
			t := time.Now()
			if _, err := cold.Frame(ctx, "v", path, ix, n+k); err != nil {
				return nil, fmt.Errorf("frame %d: %w", n+k, err)
			}
			nextT = append(nextT, time.Since(t))
		}
		d, err := ffmpegSeek(ctx, path, ix, n)
		if err != nil {
			return nil, err
		}
		ffT = append(ffT, d)
	}
	fmt.Fprintln(progress)
	res.Cold, res.Next, res.FFmpeg = summarise(coldT), summarise(nextT), summarise(ffT)

	// The same frames with the server's defaults, each paired with the cold reader: the
	// machine drifts over a run, and the loop above times ffmpeg between cold frames.
	server := frames.NewReader(frames.Config{Decode: f.decode})
	defer server.Close()
	if _, err := server.Frame(ctx, "v", path, ix, 0); err != nil {
		return nil, err
	}
	res.PairPauseMS = ms(pairPause)
	var coldCachedT, coldPairedT, decodedT, coldDecodedT []time.Duration
	var ratios []float64
	for i, n := range picks {
		fmt.Fprintf(progress, "\rrandom frame, cache on and off %d/%d", i+1, len(picks))
		readers := []*frames.Reader{server, cold}
		if i%2 == 1 {
			readers[0], readers[1] = cold, server
		}
		var on, off time.Duration
		hit := false
		for _, rd := range readers {
			if err := sleepCtx(ctx, pairPause); err != nil {
				return nil, err
			}
			t := time.Now()
			pic, err := rd.Frame(ctx, "v", path, ix, n)
			if err != nil {
				return nil, fmt.Errorf("frame %d: %w", n, err)
			}
			if rd == server {
				on, hit = time.Since(t), pic.Cached
			} else {
				off = time.Since(t)
			}
		}
		coldCachedT, coldPairedT = append(coldCachedT, on), append(coldPairedT, off)
		if !hit {
			decodedT, coldDecodedT = append(decodedT, on), append(coldDecodedT, off)
			ratios = append(ratios, ratio(ms(on), ms(off)))
		}
	}
	fmt.Fprintln(progress)
	res.ColdCached, res.ColdPaired = summarise(coldCachedT), summarise(coldPairedT)
	res.CacheOnDecoded, res.ColdDecoded = summarise(decodedT), summarise(coldDecodedT)
	if len(ratios) > 0 {
		res.DecodedOverCold = median(ratios)
	}
	server.Close()

	// Cached and prefetched: the defaults a server runs with.
	warm := frames.NewReader(frames.Config{Decode: f.decode})
	defer warm.Close()
	var cachedT, prefetchT []time.Duration
	for i, n := range picks[:min(len(picks), 10)] {
		fmt.Fprintf(progress, "\rcached and prefetched frame %d/%d", i+1, min(len(picks), 10))
		if _, err := warm.Frame(ctx, "v", path, ix, n); err != nil {
			return nil, err
		}
		for range 5 {
			t := time.Now()
			if _, err := warm.Frame(ctx, "v", path, ix, n); err != nil {
				return nil, err
			}
			cachedT = append(cachedT, time.Since(t))
		}
		// A person scrubbing frame by frame asks about every 40 ms.
		for k := 1; k <= 4 && n+k < len(ix.Frames); k++ {
			time.Sleep(40 * time.Millisecond)
			t := time.Now()
			if _, err := warm.Frame(ctx, "v", path, ix, n+k); err != nil {
				return nil, err
			}
			prefetchT = append(prefetchT, time.Since(t))
		}
	}
	fmt.Fprintln(progress)
	res.Cached, res.Prefetch = summarise(cachedT), summarise(prefetchT)

	if err := measureDecodeCost(); err != nil {
		return nil, err
	}
	res.DecodeMSPerFrame = median(res.DecodeMSRuns)
	var floor []time.Duration
	for _, n := range picks {
		fr := ix.Frames[n]
		floor = append(floor, time.Duration(float64(fr.Decode-fr.Start+1)*res.DecodeMSPerFrame*float64(time.Millisecond)))
	}
	res.FloorMS = summarise(floor)
	res.SpeedupVsFFmpeg = ratio(res.FFmpeg.P50, res.Cold.P50)
	res.ColdOverFloor = ratio(res.Cold.P50, res.FloorMS.P50)
	return res, nil
}

// pairPause is the time before each request of the paired random frames: about what the
// server's reader does for its cache after a random 1080p frame here (packing the ten
// pictures before it, prefetching eight after it), and no longer than a person takes to pick
// another position.
const pairPause = 200 * time.Millisecond

// lookupCost is the mean time of one FrameAtTime over a spread of times, in nanoseconds.
func lookupCost(ix *index.Index) float64 {
	const rounds = 1 << 20
	span := ix.Frames[len(ix.Frames)-1].PTS + 1
	start := time.Now()
	sink := 0
	for i := range rounds {
		sink += ix.FrameAtTime(int64(i) * 7919 % span)
	}
	d := time.Since(start)
	_ = sink
	return float64(d.Nanoseconds()) / rounds
}

// decodeCostRuns is how many times decodeCost is measured before the random frames, and again
// after them.
const decodeCostRuns = 3

// decodeCost times gst-launch-1.0 decoding the whole file with decoder (demuxer, parser,
// decoder, system memory, fakesink) and the same command stopped at the first picture, and
// returns the difference per further frame in milliseconds: the process start and pipeline
// set-up are not a cost of the frames.
func decodeCost(ctx context.Context, path string, ix *index.Index, decoder string) (float64, error) {
	if len(ix.Frames) < 2 {
		return 0, errors.New("the file has fewer than two frames to time")
	}
	whole, err := gstDecode(ctx, path, ix, decoder, 0)
	if err != nil {
		return 0, err
	}
	first, err := gstDecode(ctx, path, ix, decoder, 1)
	if err != nil {
		return 0, err
	}
	return max(0, ms(whole-first)) / float64(len(ix.Frames)-1), nil
}

// gstDecode times one gst-launch-1.0 run decoding path with decoder, to the end or (frames >
// 0) until the sink has had that many pictures. The pictures go to system memory, as frame
// access takes them: NVDEC would otherwise keep them on the GPU.
func gstDecode(ctx context.Context, path string, ix *index.Index, decoder string, frames int) (time.Duration, error) {
	demux := "qtdemux"
	if ix.Container == index.ContainerMKV {
		demux = "matroskademux"
	}
	parse := "h264parse"
	if ix.Codec == index.CodecH265 {
		parse = "h265parse"
	}
	sink := []string{"fakesink", "sync=false"}
	if frames > 0 {
		sink = append(sink, "num-buffers="+strconv.Itoa(frames))
	}
	start := time.Now()
	// A baseline tool's command line: the path is an argument of its own, not spliced into a
	// description the server parses.
	out, err := exec.CommandContext(ctx, "gst-launch-1.0", append([]string{"-q", "filesrc", "location=" + path, "!", demux, "!",
		parse, "!", decoder, "!", "video/x-raw", "!"}, sink...)...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("gst-launch-1.0: %v: %s", err, out)
	}
	return time.Since(start), nil
}

// ffmpegSeek times `ffmpeg -ss T -i FILE -frames:v 1` for frame n, decoded to raw video.
func ffmpegSeek(ctx context.Context, path string, ix *index.Index, n int) (time.Duration, error) {
	t := float64(ix.Frames[n].PTS-ix.Frames[0].PTS) / float64(ix.Timescale)
	start := time.Now()
	out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
		"-ss", strconv.FormatFloat(t, 'f', 6, 64), "-i", path, "-frames:v", "1", "-f", "rawvideo", "-y", os.DevNull).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("ffmpeg: %v: %s", err, out)
	}
	return time.Since(start), nil
}

func (r *framesResults) print(w io.Writer) {
	m, v := r.Machine, r.Video
	fmt.Fprintf(w, "machine: %s, %d cores, %s, %s\n", m.CPU, m.Cores, m.Go, m.GStreamer)
	fmt.Fprintf(w, "video:   %s %dx%d, %d frames, %d keyframes, %.1f fps, %d bytes", v.Codec, v.Width, v.Height, v.Frames, v.Keyframes, v.FPS, v.Bytes)
	if v.Recorded != "" {
		fmt.Fprintf(w, " (%s)", v.Recorded)
	}
	fmt.Fprintf(w, "\nindex:   built in %.1f ms; lookup %.0f ns\ndecode:  %s, %.2f ms per frame in order (gst-launch-1.0, process start taken out)\n\n", r.IndexBuildMS, r.LookupNS, r.Decoder, r.DecodeMSPerFrame)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "exact frame\tp50 ms\tp95 ms\tn\t")
	for _, row := range []struct {
		name string
		t    timings
	}{
		{"random, cold", r.Cold}, {"random, cache on", r.ColdCached}, {"random, cold, paired with cache on", r.ColdPaired},
		{"random, cache on, decoded (no hit)", r.CacheOnDecoded}, {"random, cold, the same frames", r.ColdDecoded},
		{"floor (decode from keyframe)", r.FloorMS}, {"ffmpeg -ss", r.FFmpeg},
		{"next, scrubbing forward", r.Next}, {"next, prefetched", r.Prefetch}, {"cache hit", r.Cached},
	} {
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%d\t\n", row.name, row.t.P50, row.t.P95, row.t.N)
	}
	tw.Flush()
	fmt.Fprintf(w, "\ncold p50 is %.2f× faster than ffmpeg -ss and %.2f× the floor\n", r.SpeedupVsFFmpeg, r.ColdOverFloor)
	fmt.Fprintf(w, "a frame the server's defaults decode takes %.2f× what the cold reader takes for it (median of %d pairs)\n", r.DecodedOverCold, r.CacheOnDecoded.N)
}
