package main

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pigweight/pigweight/elements/batch"
	"github.com/pigweight/pigweight/elements/infer"
	"github.com/pigweight/pigweight/pipelines/graph"
)

func TestParseSizes(t *testing.T) {
	cases := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{in: "1,2,4,8", want: []int{1, 2, 4, 8}},
		{in: "8, 1,1", want: []int{1, 8}},
		{in: "3", want: []int{3}},
		{in: "", wantErr: true},
		{in: "0", wantErr: true},
		{in: "1,,2", wantErr: true},
		{in: "two", wantErr: true},
		{in: "-1", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseSizes(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseSizes(%q) error %v, want error %v", tc.in, err, tc.wantErr)
			}
			if !tc.wantErr && !slices.Equal(got, tc.want) {
				t.Errorf("parseSizes(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseBenchFlags(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		check   func(t *testing.T, f benchFlags)
		wantErr bool
	}{
		{name: "defaults", check: func(t *testing.T, f benchFlags) {
			if f.model != "models/bench.onnx" || f.out != "bench/results.json" || f.provider != "cpu" {
				t.Errorf("paths and provider: %+v", f)
			}
			if !slices.Equal(f.batches, []int{1, 2, 4, 8}) || !slices.Equal(f.streams, []int{1, 2, 3, 4}) {
				t.Errorf("batches %v, streams %v", f.batches, f.streams)
			}
			if f.source != benchSourceRTSP || f.fps != 0 {
				t.Errorf("source %q at %d fps, want rtsp sized from raw throughput", f.source, f.fps)
			}
			if f.duration != 10*time.Second || f.repeats != 3 || f.pipelineRepeats != 3 || f.retries != 6 {
				t.Errorf("duration %v, repeats %d, pipeline repeats %d, retries %d", f.duration, f.repeats, f.pipelineRepeats, f.retries)
			}
		}},
		{name: "narrowed", args: []string{"--batches", "2,1", "--streams", "4", "--duration", "2s"}, check: func(t *testing.T, f benchFlags) {
			if !slices.Equal(f.batches, []int{1, 2}) || !slices.Equal(f.streams, []int{4}) || f.duration != 2*time.Second {
				t.Errorf("batches %v, streams %v, duration %v", f.batches, f.streams, f.duration)
			}
		}},
		{name: "raw only", args: []string{"--streams", "none"}, check: func(t *testing.T, f benchFlags) {
			if f.streams != nil {
				t.Errorf("streams %v, want none", f.streams)
			}
		}},
		{name: "zero duration", args: []string{"--duration", "0s"}, wantErr: true},
		{name: "zero repeats", args: []string{"--repeats", "0"}, wantErr: true},
		{name: "bad batches", args: []string{"--batches", "0"}, wantErr: true},
		{name: "stray argument", args: []string{"now"}, wantErr: true},
		{name: "unknown source", args: []string{"--source", "webcam"}, wantErr: true},
		{name: "negative fps", args: []string{"--fps", "-1"}, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseBenchFlags(tc.args, io.Discard)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if tc.check != nil {
				tc.check(t, f)
			}
		})
	}
}

// Streams together offer a quarter more than raw throughput, rounded up per stream.
func TestOfferedFPS(t *testing.T) {
	cases := []struct {
		raw     float64
		streams int
		want    int
	}{{20, 1, 25}, {20, 2, 13}, {20, 3, 9}, {20, 4, 7}, {0.1, 4, 1}}
	for _, tc := range cases {
		if got := offeredFPS(tc.raw, tc.streams); got != tc.want {
			t.Errorf("offeredFPS(%g, %d) = %d, want %d", tc.raw, tc.streams, got, tc.want)
		}
	}
}

func TestMedian(t *testing.T) {
	cases := []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tc := range cases {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	in := []float64{3, 1, 2}
	median(in)
	if !slices.Equal(in, []float64{3, 1, 2}) {
		t.Errorf("median reordered its argument: %v", in)
	}
}

// The raw baseline measured after the pipelines joins the one before: the median of every run,
// of every Session.Run, CPU averaged over the runs, and a disturbance on either side kept.
func TestRawMerge(t *testing.T) {
	ms := time.Millisecond
	before := rawResult{Batch: 2, Runs: []float64{20, 21, 22}, times: []time.Duration{90 * ms, 91 * ms}, CPU: 2, OthersCPU: 0.1}
	after := rawResult{Batch: 2, Runs: []float64{18, 19, 23}, times: []time.Duration{99 * ms, 100 * ms, 101 * ms}, CPU: 1.7, OthersCPU: 0.4, Disturbed: true}
	got := before.merge(after)
	if !slices.Equal(got.Runs, []float64{20, 21, 22, 18, 19, 23}) || got.ImagesPerS != 20.5 {
		t.Errorf("runs %v, median %v; want both halves in order, median 20.5", got.Runs, got.ImagesPerS)
	}
	if got.BatchMS != 99 {
		t.Errorf("batch ms %v, want 99 (the median of all five runs)", got.BatchMS)
	}
	if math.Abs(got.CPU-1.85) > 1e-9 || math.Abs(got.OthersCPU-0.25) > 1e-9 || !got.Disturbed {
		t.Errorf("cpu %v, others %v, disturbed %v; want 1.85, 0.25, true", got.CPU, got.OthersCPU, got.Disturbed)
	}
	if len(before.Runs) != 3 || len(before.times) != 2 {
		t.Errorf("merge changed the earlier result: %+v", before)
	}
}

// measure takes differences over the window: what happened before it (warm-up) does not count.
func TestMeasure(t *testing.T) {
	start := time.Unix(1000, 0)
	s0 := benchSnapshot{
		at:     start,
		frames: 100,
		info: infer.Info{
			Preprocess: 3, // ms, over the 40 frames submitted so far
			Batcher: batch.Metrics{
				Submitted: 40, Completed: 40, Skipped: 1, Batches: 25,
				BatchSizes: []uint64{0, 10, 15, 0, 0},
			},
		},
	}
	s1 := benchSnapshot{
		at:     start.Add(10 * time.Second),
		frames: 300,
		info: infer.Info{
			Preprocess: 2.5, // ms, over 120 frames: the window's 80 took 2.25 ms each
			Batcher: batch.Metrics{
				Submitted: 120, Completed: 120, Skipped: 4, Batches: 45,
				BatchSizes: []uint64{0, 10, 25, 0, 10},
				RunTime:    batch.Summary{Mean: 200 * time.Millisecond, P50: 190 * time.Millisecond},
				QueueWait:  batch.Summary{P50: 15 * time.Millisecond},
			},
		},
	}
	r := measure(s0, s1, 4, 4, 1)
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("analysed/s", r.AnalysedPerS, 8)
	near("mean batch", r.MeanBatch, 4)
	near("preprocess ms", r.PreprocessMS, 2.25)
	near("skipped/s", r.SkippedPerS, 0.3)
	near("delivered fps", r.DeliveredFPS, 5)
	near("busy", r.Busy, 0.4)
	near("run ms", r.RunMS, 190)
	if r.Skipped != 3 || r.EffectiveBatch != 4 {
		t.Errorf("skipped %d, effective batch %d", r.Skipped, r.EffectiveBatch)
	}
	if len(r.BatchSizes) != 2 || r.BatchSizes["2"] != 10 || r.BatchSizes["4"] != 10 {
		t.Errorf("batch sizes %v, want 10 of 2 and 10 of 4", r.BatchSizes)
	}
}

// Disturbed windows are measured again while the run's budget lasts; quiet ones never are.
func TestRetryBudget(t *testing.T) {
	b := &bench{retriesLeft: 2}
	for i, tc := range []struct {
		others float64
		want   bool
	}{
		{0.1, false},
		{disturbedAbove, false},
		{0.5, true},
		{1.2, true},
		{0.9, false}, // budget spent
		{0.0, false},
	} {
		if got := b.retry(tc.others); got != tc.want {
			t.Errorf("window %d (others %.2f cores): retry %v, want %v", i, tc.others, got, tc.want)
		}
	}
}

// `pigweight bench frames` on a small recording of its own writes every figure, each from
// the number of measurements asked for.
func TestBenchFramesWritesEveryFigure(t *testing.T) {
	for _, tool := range []string{"ffmpeg", "gst-launch-1.0"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (make deps installs it)", tool)
		}
	}
	out := filepath.Join(t.TempDir(), "frames.json")
	var stderr strings.Builder
	if code := benchFramesCmd([]string{"--width", "320", "--height", "240", "--seconds", "2", "--gop", "30", "--samples", "3", "--out", out}, io.Discard, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r framesResults
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if r.Video.Frames != 60 || r.Video.Keyframes != 2 {
		t.Errorf("video %+v, want 60 frames and 2 keyframes", r.Video)
	}
	if want := map[bool]string{true: "nvh264dec", false: "avdec_h264"}[graph.NVDEC()]; r.Decoder != want {
		t.Errorf("decoded with %q, want %q", r.Decoder, want)
	}
	if len(r.DecodeMSRuns) != 2*decodeCostRuns || r.DecodeMSPerFrame <= 0 {
		t.Errorf("decode cost %v from runs %v", r.DecodeMSPerFrame, r.DecodeMSRuns)
	}
	for name, got := range map[string]timings{"cold": r.Cold, "ffmpeg": r.FFmpeg, "floor": r.FloorMS, "cache on": r.ColdCached, "cold paired": r.ColdPaired} {
		if got.N != 3 || got.P50 <= 0 || got.P95 < got.P50 {
			t.Errorf("%s: %+v, want 3 measurements", name, got)
		}
	}
	if r.CacheOnDecoded.N != r.ColdDecoded.N || r.CacheOnDecoded.N > 3 || (r.CacheOnDecoded.N > 0) != (r.DecodedOverCold > 0) {
		t.Errorf("decoded pairs: cache on %+v, cold %+v, ratio %v", r.CacheOnDecoded, r.ColdDecoded, r.DecodedOverCold)
	}
	if r.SpeedupVsFFmpeg != r.FFmpeg.P50/r.Cold.P50 || r.ColdOverFloor != r.Cold.P50/r.FloorMS.P50 {
		t.Errorf("ratios %v and %v do not follow from the p50s", r.SpeedupVsFFmpeg, r.ColdOverFloor)
	}
}

func TestBenchFramesRefusesAnUnknownDecoder(t *testing.T) {
	var stderr strings.Builder
	if code := benchFramesCmd([]string{"--decode", "vaapi"}, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), `--decode "vaapi"`) {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
}

// A short soak: a camera that keeps dropping, one that refuses at the shortest backoff, a
// looping file, viewers that come and go and someone scrubbing two uploads. With the load
// paused, the server holds what it held after the warm-up: before the teardown fixes every
// restart kept two descriptors, and ~50 restarts a minute piled up.
func TestSoakComesBackToItsBaseline(t *testing.T) {
	out := filepath.Join(t.TempDir(), "soak.json")
	cmd := exec.Command(binary, "bench", "soak", "--duration", "100s", "--warmup", "35s", "--sample", "15s", "--viewers", "6", "--out", out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bench soak: %v\n%s", err, stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res soakResults
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	b, a, act := res.QuietBefore, res.QuietAfter, res.Activity
	t.Logf("quiet after the warm-up and at the end: %d → %d open files, %d → %d goroutines, %.0f → %.0f MB, %d → %d GStreamer objects; %+v",
		b.FDs, a.FDs, b.Goroutines, a.Goroutines, b.RSSMB, a.RSSMB, b.GStreamerObjects, a.GStreamerObjects, act)
	if act.Restarts < 20 || act.ViewerJoins < 6 || act.Frames < 100 || act.FrameErrors > 0 {
		t.Fatalf("the load did not happen as it should: %+v\n%s", act, stderr.String())
	}
	// A restart in progress holds a pipeline's descriptors (a bus, a camera's socket) and its
	// goroutines; a leak grows by tens a minute.
	if a.FDs > b.FDs+6 || a.Goroutines > b.Goroutines+10 {
		t.Errorf("the server holds %d open files and %d goroutines, %d and %d after the warm-up\n%s",
			a.FDs, a.Goroutines, b.FDs, b.Goroutines, stderr.String())
	}
	if b.GStreamerObjects < 0 || a.GStreamerObjects > b.GStreamerObjects+150 {
		t.Errorf("GStreamer objects: %d after the warm-up, %d at the end", b.GStreamerObjects, a.GStreamerObjects)
	}
}
