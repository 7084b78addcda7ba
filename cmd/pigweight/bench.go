package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/go-gst/go-gst/gst"
	"github.com/pigweight/pigweight/elements/batch"
	"github.com/pigweight/pigweight/elements/infer"
	"github.com/pigweight/pigweight/elements/model"
	"github.com/pigweight/pigweight/pipelines"
	"github.com/pigweight/pigweight/pipelines/graph"
	"github.com/pigweight/pigweight/pipelines/pen"
	"github.com/pigweight/pigweight/pipelines/simcam"
	"github.com/pigweight/pigweight/pipelines/spec"
)

// benchModelName is the name the bench registers its engine under; pwinfer finds it by name.
const benchModelName = "bench"

// benchClipSeconds is the length of the clips the simulated cameras replay in a loop.
const benchClipSeconds = 10

// benchStartTimeout bounds how long a configuration's pipelines get to deliver their first frame.
const benchStartTimeout = 60 * time.Second

// disturbedAbove is the CPU, in cores, that other processes may use during a measurement
// window before the window counts as disturbed: on a 2-core machine a quarter of a core taken
// by someone else moves the figures by more than the differences they are meant to show.
const disturbedAbove = 0.25

// benchFlags are the settings of one `pigweight bench` run.
type benchFlags struct {
	model, out, provider, logLevel string
	// duration is the measurement window of each raw run and of each pipeline configuration;
	// warmUp is how long pipelines run before their window opens.
	duration, warmUp time.Duration
	// repeats is how many raw runs each batch size gets, before the pipelines and again after
	// them; pipelineRepeats how many runs each pipeline configuration gets. The median is
	// reported.
	repeats, pipelineRepeats int
	// retries is how many disturbed windows the whole run may throw away and measure again:
	// a budget, so that a machine that stays busy does not stretch the run without bound.
	retries          int
	batches, streams []int
	// fps is each stream's frame rate; 0 sizes it from raw throughput (see offeredFPS).
	fps int
	// workers and threads configure the model as its YAML fields do.
	workers, threads int
	// source is where the pipelines' video comes from: rtsp (simulated cameras replaying a
	// recorded clip: the server's own work only) or synthetic (the pen rendered and encoded in
	// the same process).
	source string
}

// Bench sources.
const (
	benchSourceRTSP      = "rtsp"
	benchSourceSynthetic = "synthetic"
)

// overload is how much more than raw throughput the streams together offer, so that
// inference is always busy and what it cannot take shows as skipped frames.
const overload = 1.25

// effectiveBatch is the largest batch streams streams can form at max-batch maxBatch: each
// stream has at most one frame in flight, and with several workers the batcher shares the
// streams out among them.
func effectiveBatch(maxBatch, streams, workers int) int {
	return min(maxBatch, batch.Share(streams, workers))
}

// offeredFPS is the frame rate each of streams streams gets so that together they offer
// overload times what ONNX Runtime alone can analyse per second.
func offeredFPS(rawPerS float64, streams int) int {
	return max(1, int(math.Ceil(overload*rawPerS/float64(streams))))
}

func parseBenchFlags(args []string, stderr io.Writer) (benchFlags, error) {
	f := benchFlags{batches: []int{1, 2, 4, 8}, streams: []int{1, 2, 3, 4}}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.model, "model", "models/bench.onnx", "ONNX model with a YOLO detection output (make models/bench.onnx)")
	fs.StringVar(&f.out, "out", "bench/results.json", "where the results are written as JSON")
	fs.StringVar(&f.provider, "provider", string(spec.ProviderCPU), "execution provider: cpu, cuda or tensorrt")
	fs.StringVar(&f.logLevel, "log-level", "warn", "debug, info, warn or error")
	fs.DurationVar(&f.duration, "duration", 10*time.Second, "measurement window of each run")
	fs.DurationVar(&f.warmUp, "warm-up", 3*time.Second, "how long pipelines run before they are measured")
	fs.IntVar(&f.repeats, "repeats", 3, "raw runs per batch size, before the pipelines and again after them (the median of all is reported)")
	fs.IntVar(&f.pipelineRepeats, "pipeline-repeats", 3, "runs per pipeline configuration (the median is reported)")
	fs.IntVar(&f.retries, "retries", 6, "windows disturbed by other processes that are measured again, at most, in the whole run (each costs --duration)")
	fs.IntVar(&f.workers, "workers", spec.DefaultModel().Workers, "batches run at once (the model's workers; 0 chooses as the server does); the raw loop runs as many side by side")
	fs.IntVar(&f.threads, "threads", 0, "CPU threads per run (the model's threads); 0 shares the cores out among the workers")
	fs.IntVar(&f.fps, "fps", 0, fmt.Sprintf("frame rate of each stream; 0 offers %g× raw throughput across the streams, so that inference saturates", overload))
	fs.StringVar(&f.source, "source", benchSourceRTSP, "rtsp: simulated cameras replay a recorded pen clip (measures the server's work); synthetic: the pen rendered and x264-encoded in-process")
	fs.Func("batches", "batch sizes (raw) and max-batch values (pwinfer), comma-separated (default 1,2,4,8)", func(s string) (err error) {
		f.batches, err = parseSizes(s)
		return err
	})
	fs.Func("streams", `numbers of live pipelines, comma-separated (default 1,2,3,4); "none" measures only raw throughput`, func(s string) (err error) {
		if s == "none" {
			f.streams = nil
			return nil
		}
		f.streams, err = parseSizes(s)
		return err
	})
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	var problems []string
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	if f.duration <= 0 {
		problems = append(problems, "--duration must be positive")
	}
	if f.warmUp < 0 {
		problems = append(problems, "--warm-up must not be negative")
	}
	if f.repeats < 1 || f.pipelineRepeats < 1 {
		problems = append(problems, "--repeats and --pipeline-repeats must be at least 1")
	}
	if f.retries < 0 {
		problems = append(problems, "--retries must not be negative")
	}
	if f.workers < 0 || f.threads < 0 {
		problems = append(problems, "--workers and --threads must not be negative")
	}
	if f.fps < 0 {
		problems = append(problems, "--fps must not be negative")
	}
	if f.source != benchSourceRTSP && f.source != benchSourceSynthetic {
		problems = append(problems, fmt.Sprintf("--source %q: want rtsp or synthetic", f.source))
	}
	if len(problems) > 0 {
		err := errors.New(strings.Join(problems, "; "))
		fmt.Fprintln(stderr, "pigweight bench:", err)
		return f, err
	}
	return f, nil
}

// parseSizes reads a comma-separated list of positive integers, sorted and without duplicates.
func parseSizes(s string) ([]int, error) {
	var out []int
	for field := range strings.SplitSeq(s, ",") {
		field = strings.TrimSpace(field)
		n, err := strconv.Atoi(field)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", field)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// benchResults is what bench writes to --out.
type benchResults struct {
	Date      string           `json:"date"`
	Command   string           `json:"command"`
	Machine   benchMachine     `json:"machine"`
	Model     benchModel       `json:"model"`
	Settings  benchSettings    `json:"settings"`
	Raw       []rawResult      `json:"raw"`
	Pipelines []pipelineResult `json:"pipelines"`
}

// benchMachine says where the figures come from; they mean little without it.
type benchMachine struct {
	CPU         string `json:"cpu"`
	Cores       int    `json:"cores"`
	GOMAXPROCS  int    `json:"gomaxprocs"`
	OS          string `json:"os"`
	Go          string `json:"go"`
	ONNXRuntime string `json:"onnxruntime"`
	GStreamer   string `json:"gstreamer"`
	// Provider is the execution provider the sessions ended up on, after any fallback.
	Provider string `json:"provider"`
	// Decoder is the H.264 decoder the synthetic pipelines chose.
	Decoder string `json:"decoder,omitempty"`
}

type benchModel struct {
	Path    string        `json:"path"`
	SHA256  string        `json:"sha256"`
	Bytes   int64         `json:"bytes"`
	Input   benchTensor   `json:"input"`
	Outputs []benchTensor `json:"outputs"`
}

// benchTensor is a model input or output; -1 marks a dynamic dimension.
type benchTensor struct {
	Name  string  `json:"name"`
	Shape []int64 `json:"shape"`
	Type  string  `json:"type"`
}

func newBenchTensor(t model.TensorInfo) benchTensor {
	return benchTensor{Name: t.Name, Shape: t.Shape, Type: t.Type}
}

type benchSettings struct {
	DurationS       float64 `json:"duration_s"`
	WarmUpS         float64 `json:"warm_up_s"`
	Repeats         int     `json:"repeats"`
	PipelineRepeats int     `json:"pipeline_repeats"`
	Retries         int     `json:"retries"`
	DisturbedAbove  float64 `json:"disturbed_above_cores"`
	// StreamFPS is --fps: 0 when each configuration's rate was sized from raw throughput.
	StreamFPS  int     `json:"stream_fps"`
	Source     string  `json:"source"`
	StreamSize string  `json:"stream_size"`
	MaxWaitMS  float64 `json:"max_wait_ms"`
	// Workers is how many batches run at once, in the raw loops and in pwinfer's batcher;
	// Threads the CPU threads of each run (0: ONNX Runtime's default, every core).
	Workers int `json:"workers"`
	Threads int `json:"threads"`
}

// rawResult is ONNX Runtime alone: one session, one caller per worker, the same input tensor
// run again and again.
type rawResult struct {
	Batch int `json:"batch"`
	// ImagesPerS is the median of Runs: with pipelines measured, the first half of the runs
	// come before them and the second half after, so that a machine whose speed drifts during
	// the pipelines' many minutes gets a baseline from both ends of them.
	ImagesPerS float64   `json:"images_per_s"`
	Runs       []float64 `json:"runs"`
	// BatchMS is the median time of one Session.Run over every run.
	BatchMS float64         `json:"batch_ms"`
	times   []time.Duration // every Session.Run, for BatchMS
	// CopyMSPerImage is what the engine adds per image before each run and this loop does not:
	// copying a pre-processed image into the batch tensor.
	CopyMSPerImage float64 `json:"copy_ms_per_image"`
	// CPU is the process's CPU time over wall time, in cores, and OthersCPU that of every
	// other process, both over the runs kept. Disturbed says that OthersCPU passed
	// disturbedAbove in a kept run even after retries: the figure is unreliable.
	CPU       float64 `json:"cpu_cores"`
	OthersCPU float64 `json:"others_cpu_cores"`
	Disturbed bool    `json:"disturbed,omitempty"`
}

// pipelineResult is one configuration: N live synthetic pipelines sharing one engine.
type pipelineResult struct {
	MaxBatch int `json:"max_batch"`
	Streams  int `json:"streams"`
	// EffectiveBatch is the largest batch the streams can form (see effectiveBatch).
	EffectiveBatch int `json:"effective_batch"`
	// AnalysedPerS is the frames the batcher completed per second; Runs holds each repeat's.
	AnalysedPerS float64   `json:"analysed_per_s"`
	Runs         []float64 `json:"runs"`
	// RatioSameBatch compares with raw throughput at MaxBatch, RatioEffectiveBatch with raw
	// throughput at EffectiveBatch.
	RatioSameBatch      float64 `json:"ratio_same_batch"`
	RatioEffectiveBatch float64 `json:"ratio_effective_batch"`
	MeanBatch           float64 `json:"mean_batch"`
	// BatchSizes counts the batches of each size run in the window.
	BatchSizes map[string]uint64 `json:"batch_sizes"`
	// PreprocessMS is the mean pre-processing time per frame in the window.
	PreprocessMS float64 `json:"preprocess_ms"`
	Skipped      uint64  `json:"skipped"`
	SkippedPerS  float64 `json:"skipped_per_s"`
	// OfferedFPS is each stream's frame rate; DeliveredFPS the frames per second each stream
	// delivered to its sink, on average.
	OfferedFPS   int     `json:"offered_fps"`
	DeliveredFPS float64 `json:"delivered_fps"`
	// DroppedPerS is the decoded frames per second the pipelines dropped before inference
	// because it was busy (the leaky queue in front of pwinfer), over all streams.
	DroppedPerS float64 `json:"dropped_before_inference_per_s"`
	// RunMS and QueueWaitMS are the batcher's medians: one batch's Session.Run, and one
	// frame's wait from Submit to the start of its batch.
	RunMS       float64 `json:"run_ms"`
	QueueWaitMS float64 `json:"queue_wait_ms"`
	// Busy is the share of the window the session spent running batches.
	Busy      float64 `json:"busy"`
	CPU       float64 `json:"cpu_cores"`
	OthersCPU float64 `json:"others_cpu_cores"`
	Disturbed bool    `json:"disturbed,omitempty"`
	// BaselineDisturbed says that a raw figure the ratios divide by was disturbed.
	BaselineDisturbed bool `json:"baseline_disturbed,omitempty"`
	Restarts          int  `json:"restarts,omitempty"`
}

// benchCmd measures inference throughput: ONNX Runtime alone in a tight loop, then through
// live pipelines with pwinfer, and reports the ratio. It is a harness, not a test: the figures
// depend on the machine, and each is compared with a baseline taken in the same run.
//
//	pigweight bench [--model models/bench.onnx] [--out bench/results.json] [--duration 10s]
//	                [--repeats 3] [--batches 1,2,4,8] [--streams 1,2,3,4]
func benchCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "frames":
			return benchFramesCmd(args[1:], stdout, stderr)
		case "viewers":
			return benchViewersCmd(args[1:], stdout, stderr)
		case "soak":
			return benchSoakCmd(args[1:], stdout, stderr)
		}
	}
	f, err := parseBenchFlags(args, stderr)
	if err != nil {
		return 2
	}
	log, err := newLogger(stderr, f.logLevel)
	if err != nil {
		fmt.Fprintln(stderr, "pigweight bench:", err)
		return 2
	}
	if _, err := os.Stat(f.model); err != nil {
		fmt.Fprintf(stderr, "pigweight bench: %v (make models/bench.onnx, or pass --model)\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	gst.Init(nil)
	if err := infer.RegisterElement(); err != nil {
		fmt.Fprintln(stderr, "pigweight bench:", err)
		return 1
	}
	path, err := model.FindLibrary()
	if err != nil {
		fmt.Fprintln(stderr, "pigweight bench:", err)
		return 1
	}
	rt, err := model.Open(path)
	if err != nil {
		fmt.Fprintln(stderr, "pigweight bench:", err)
		return 1
	}
	defer rt.Close()

	// Resolved as the engine resolves them, so that the raw loops run like the engine does.
	f.workers, f.threads = infer.Parallelism(rt, []string{f.provider}, f.workers, f.threads)
	b := &bench{flags: f, rt: rt, log: log, progress: stderr, retriesLeft: f.retries}
	res, err := b.run(ctx, append([]string{"pigweight", "bench"}, args...))
	if b.clipDir != "" {
		os.RemoveAll(b.clipDir)
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "pigweight bench: interrupted; nothing written")
		return 1
	}
	if err != nil {
		fmt.Fprintln(stderr, "pigweight bench:", err)
		return 1
	}
	printBench(stdout, res)
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		fmt.Fprintln(stderr, "pigweight bench:", err)
		return 1
	}
	if err := writeFileAtomic(f.out, append(data, '\n')); err != nil {
		fmt.Fprintln(stderr, "pigweight bench:", err)
		return 1
	}
	fmt.Fprintf(stdout, "\nwrote %s\n", f.out)
	return 0
}

// bench runs the measurements of one `pigweight bench`.
type bench struct {
	flags    benchFlags
	rt       *model.Runtime
	log      *slog.Logger
	progress io.Writer
	// retriesLeft is what remains of flags.retries.
	retriesLeft int
	// clipDir holds the recorded clips the simulated cameras replay; removed at the end.
	clipDir string
}

// retry reports whether a window that other processes used others cores of must be measured
// again, and takes a retry from the budget if so.
func (b *bench) retry(others float64) bool {
	if others <= disturbedAbove || b.retriesLeft == 0 {
		return false
	}
	b.retriesLeft--
	return true
}

func (b *bench) run(ctx context.Context, command []string) (*benchResults, error) {
	f := b.flags
	res := &benchResults{
		Date:    time.Now().UTC().Format(time.RFC3339),
		Command: strings.Join(command, " "),
		Machine: thisMachine(),
		Settings: benchSettings{
			DurationS:       f.duration.Seconds(),
			WarmUpS:         f.warmUp.Seconds(),
			Repeats:         f.repeats,
			PipelineRepeats: f.pipelineRepeats,
			Retries:         f.retries,
			DisturbedAbove:  disturbedAbove,
			StreamFPS:       f.fps,
			Source:          f.source,
			MaxWaitMS:       float64(spec.DefaultModel().MaxWait.D()) / float64(time.Millisecond),
			Workers:         f.workers,
			Threads:         f.threads,
		},
	}
	res.Machine.ONNXRuntime = b.rt.Info().Version
	syn := spec.DefaultPipeline().Source.Synthetic
	res.Settings.StreamSize = fmt.Sprintf("%dx%d", syn.Width, syn.Height)
	var err error
	if res.Model, err = describeModel(f.model); err != nil {
		return nil, err
	}

	// Raw throughput at every batch size a pipeline configuration is compared with.
	sizes := slices.Clone(f.batches)
	for _, mb := range f.batches {
		for _, n := range f.streams {
			sizes = append(sizes, effectiveBatch(mb, n, f.workers))
		}
	}
	slices.Sort(sizes)
	sizes = slices.Compact(sizes)
	raw := map[int]rawResult{}
	measureRaw := func() error {
		for _, size := range sizes {
			r, err := b.raw(ctx, size, res)
			if err != nil {
				return fmt.Errorf("raw batch %d: %w", size, err)
			}
			if before, ok := raw[size]; ok {
				r = before.merge(r)
			}
			raw[size] = r
		}
		return nil
	}
	if err := measureRaw(); err != nil {
		return nil, err
	}

	for _, mb := range f.batches {
		for _, n := range f.streams {
			fps := f.fps
			if fps == 0 {
				fps = offeredFPS(raw[effectiveBatch(mb, n, f.workers)].ImagesPerS, n)
			}
			r, err := b.pipelinesMedian(ctx, mb, n, fps, res)
			if err != nil {
				return nil, fmt.Errorf("max-batch %d, %d stream(s): %w", mb, n, err)
			}
			res.Pipelines = append(res.Pipelines, r)
		}
	}
	// The baseline again, after the pipelines: the ratios divide by the median of both.
	if len(res.Pipelines) > 0 {
		if err := measureRaw(); err != nil {
			return nil, err
		}
	}
	for _, size := range sizes {
		res.Raw = append(res.Raw, raw[size])
	}
	for i := range res.Pipelines {
		r := &res.Pipelines[i]
		r.RatioSameBatch = ratio(r.AnalysedPerS, raw[r.MaxBatch].ImagesPerS)
		r.RatioEffectiveBatch = ratio(r.AnalysedPerS, raw[r.EffectiveBatch].ImagesPerS)
		r.BaselineDisturbed = raw[r.MaxBatch].Disturbed || raw[r.EffectiveBatch].Disturbed
	}
	return res, nil
}

// raw measures one session in a tight loop at one batch size, with as many loops side by side
// as the model has workers. The input tensor is filled once with random pixels and then left as
// it is, so that the loop times ONNX Runtime alone; the copy the engine does for each image is
// measured on its own.
func (b *bench) raw(ctx context.Context, size int, res *benchResults) (rawResult, error) {
	f := b.flags
	sess, err := b.rt.NewSession(model.SessionConfig{Path: f.model, Providers: []string{f.provider}, Threads: f.threads})
	if err != nil {
		return rawResult{}, err
	}
	defer sess.Close()
	res.Machine.Provider = sess.Provider
	res.Model.Input, res.Model.Outputs = newBenchTensor(sess.Input), nil
	for _, o := range sess.Outputs {
		res.Model.Outputs = append(res.Model.Outputs, newBenchTensor(o))
	}
	if err := sess.WarmUp(size); err != nil {
		return rawResult{}, err
	}
	images := randomImages(size, sess.ImageLen())
	fill := func(i int, dst []float32) { copy(dst, images[i]) }
	keep := func(int, []float32) {}
	ignore := func(model.Outputs) error { return nil }
	// Runs side by side each hold tensors of their own: fill those these first runs take. A set
	// made later starts zeroed, which costs ONNX Runtime the same time.
	var wg sync.WaitGroup
	errs := make([]error, f.workers)
	for w := range f.workers {
		wg.Go(func() { errs[w] = sess.Run(size, fill, ignore) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return rawResult{}, err
	}
	r := rawResult{Batch: size, CopyMSPerImage: copyCost(images)}
	var times []time.Duration
	for len(r.Runs) < f.repeats {
		var mu sync.Mutex
		var runTimes []time.Duration
		done, load0 := 0, takeLoad()
		for w := range f.workers {
			wg.Go(func() {
				for time.Since(load0.at) < f.duration && ctx.Err() == nil {
					t := time.Now()
					if errs[w] = sess.Run(size, keep, ignore); errs[w] != nil {
						return
					}
					mu.Lock()
					runTimes = append(runTimes, time.Since(t))
					done += size
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if err := errors.Join(append(errs, ctx.Err())...); err != nil {
			return r, err
		}
		load1 := takeLoad()
		rate := float64(done) / load1.at.Sub(load0.at).Seconds()
		cpu, others := load0.until(load1)
		fmt.Fprintf(b.progress, "raw      batch %d  run %d/%d: %.2f images/s", size, len(r.Runs)+1, f.repeats, rate)
		if b.retry(others) {
			fmt.Fprintf(b.progress, " (other processes used %.2f cores: measuring again)\n", others)
			continue
		}
		fmt.Fprintln(b.progress)
		r.Runs = append(r.Runs, rate)
		times = append(times, runTimes...)
		r.CPU += cpu / float64(f.repeats)
		r.OthersCPU += others / float64(f.repeats)
		r.Disturbed = r.Disturbed || others > disturbedAbove
	}
	r.ImagesPerS = median(r.Runs)
	r.times = times
	r.BatchMS = ms(medianDuration(times))
	return r, nil
}

// merge adds a later measurement of the same batch size to r.
func (r rawResult) merge(later rawResult) rawResult {
	n0, n1 := float64(len(r.Runs)), float64(len(later.Runs))
	r.CPU = (r.CPU*n0 + later.CPU*n1) / (n0 + n1)
	r.OthersCPU = (r.OthersCPU*n0 + later.OthersCPU*n1) / (n0 + n1)
	r.Disturbed = r.Disturbed || later.Disturbed
	r.Runs = append(slices.Clone(r.Runs), later.Runs...)
	r.ImagesPerS = median(r.Runs)
	r.times = append(slices.Clone(r.times), later.times...)
	r.BatchMS = ms(medianDuration(r.times))
	return r
}

// randomImages returns n images of len values, uniform in [0, 1) like pre-processed pixels.
func randomImages(n, size int) [][]float32 {
	rng := rand.New(rand.NewPCG(1, 2))
	images := make([][]float32, n)
	for i := range images {
		images[i] = make([]float32, size)
		for j := range images[i] {
			images[i][j] = rng.Float32()
		}
	}
	return images
}

// copyCost is the time to copy one image into a batch tensor, in milliseconds: the part of the
// engine's fill that the raw loop leaves out.
func copyCost(images [][]float32) float64 {
	dst := make([]float32, len(images[0]))
	const rounds = 20
	start := time.Now()
	for range rounds {
		for _, img := range images {
			copy(dst, img)
		}
	}
	return ms(time.Since(start)) / float64(rounds*len(images))
}

// pipelinesMedian measures one configuration pipelineRepeats times and keeps the run with the
// median throughput.
func (b *bench) pipelinesMedian(ctx context.Context, maxBatch, streams, fps int, res *benchResults) (pipelineResult, error) {
	var runs []pipelineResult
	var rates []float64
	for i := range b.flags.pipelineRepeats {
		r, err := b.pipelines(ctx, maxBatch, streams, fps, res)
		if err != nil {
			return r, err
		}
		fmt.Fprintf(b.progress, "pwinfer  max-batch %d  streams %d × %d fps  run %d/%d: %.2f frames/s analysed, mean batch %.2f, %.1f fps delivered per stream\n",
			maxBatch, streams, fps, i+1, b.flags.pipelineRepeats, r.AnalysedPerS, r.MeanBatch, r.DeliveredFPS)
		runs = append(runs, r)
		rates = append(rates, r.AnalysedPerS)
	}
	order := make([]int, len(runs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return compareFloat(rates[a], rates[b]) })
	r := runs[order[(len(order)-1)/2]]
	r.AnalysedPerS, r.Runs = median(rates), rates
	return r, nil
}

// benchSnapshot is the state of one configuration at one instant.
type benchSnapshot struct {
	at       time.Time
	load     cpuLoad
	info     infer.Info
	frames   uint64
	dropped  uint64 // before inference
	restarts int
}

func snapshot(eng *infer.Engine, mgr *pipelines.Manager) benchSnapshot {
	s := benchSnapshot{at: time.Now(), load: takeLoad(), info: eng.Info()}
	for _, st := range mgr.List() {
		s.frames += st.Frames
		s.dropped += st.InferenceSkipped
		s.restarts += st.Restarts
	}
	return s
}

// pipelines runs streams pipelines at fps on one engine with max-batch maxBatch, the way
// serve wires them, and measures them over the window once they have warmed up.
func (b *bench) pipelines(ctx context.Context, maxBatch, streams, fps int, res *benchResults) (pipelineResult, error) {
	f := b.flags
	m := spec.DefaultModel()
	m.Name, m.Path, m.Format = benchModelName, f.model, spec.FormatYOLO
	m.Providers = []spec.Provider{spec.Provider(f.provider)}
	m.MaxBatch, m.Workers, m.Threads = maxBatch, f.workers, f.threads
	cfg := spec.Default()
	cfg.Models = []spec.Model{m}
	for i := range streams {
		p := spec.DefaultPipeline()
		p.Name = fmt.Sprintf("bench-%d", i+1)
		p.Source.Type = spec.SourceSynthetic
		p.Source.Synthetic.FPS = fps
		p.Source.Synthetic.Seed = int64(i + 1) // different pens, as different cameras would show
		if f.source == benchSourceRTSP {
			cam, err := b.camera(fps, i+1)
			if err != nil {
				return pipelineResult{}, err
			}
			defer cam.Close()
			p.Source = spec.DefaultPipeline().Source
			p.Source.Type, p.Source.URI, p.Source.Transport = spec.SourceRTSP, cam.URL(), spec.TransportTCP
		}
		p.Inference = spec.Inference{Enabled: true, Model: m.Name, Interval: 1}
		cfg.Pipelines = append(cfg.Pipelines, p)
	}
	if err := cfg.Validate(); err != nil {
		return pipelineResult{}, err
	}

	eng, err := infer.NewEngine(b.rt, engineConfig(m), b.log)
	if err != nil {
		return pipelineResult{}, err
	}
	if err := infer.AddEngine(eng); err != nil {
		eng.Close()
		return pipelineResult{}, err
	}
	// Deferred calls run last first: the pipelines stop before their engine goes.
	defer func() {
		infer.RemoveEngine(eng.Name())
		eng.Close()
	}()
	mgr := pipelines.NewManager(gstRuntime(b.log), b.log)
	defer mgr.Close()
	for _, p := range cfg.Pipelines {
		if err := mgr.Add(p); err != nil {
			return pipelineResult{}, err
		}
	}
	if err := waitPlaying(ctx, mgr); err != nil {
		return pipelineResult{}, err
	}
	if err := sleepCtx(ctx, f.warmUp); err != nil {
		return pipelineResult{}, err
	}
	var r pipelineResult
	for {
		s0 := snapshot(eng, mgr)
		if err := sleepCtx(ctx, f.duration); err != nil {
			return pipelineResult{}, err
		}
		r = measure(s0, snapshot(eng, mgr), maxBatch, streams, f.workers)
		r.OfferedFPS = fps
		if !b.retry(r.OthersCPU) {
			break
		}
		fmt.Fprintf(b.progress, "pwinfer  max-batch %d  streams %d: other processes used %.2f cores: measuring again\n", maxBatch, streams, r.OthersCPU)
	}
	for _, st := range mgr.List() {
		if st.Decoder != "" {
			res.Machine.Decoder = st.Decoder
		}
	}
	if r.Restarts > 0 {
		b.log.Warn("pipelines restarted during the measurement: the figures are low", "restarts", r.Restarts)
	}
	return r, nil
}

// camera starts a simulated camera replaying a recorded pen clip at fps, so that rendering
// and encoding stay out of the measurement as they would on a farm. Clips are recorded once per
// frame rate and seed and kept for the rest of the run.
func (b *bench) camera(fps, seed int) (*simcam.Camera, error) {
	if b.clipDir == "" {
		dir, err := os.MkdirTemp("", "pigweight-bench-")
		if err != nil {
			return nil, err
		}
		b.clipDir = dir
	}
	path := filepath.Join(b.clipDir, fmt.Sprintf("pen-%dfps-%d.mp4", fps, seed))
	if _, err := os.Stat(path); err != nil {
		syn := spec.DefaultPipeline().Source.Synthetic
		clip := simcam.Clip{
			Pen:    pen.Config{Width: syn.Width, Height: syn.Height, FPS: fps, Seed: int64(seed)},
			Frames: benchClipSeconds * fps,
		}
		if err := simcam.WritePenClip(path, clip); err != nil {
			return nil, err
		}
	}
	return simcam.Start(simcam.Config{Addr: "127.0.0.1:0", File: path, Logger: b.log})
}

// measure turns two snapshots of a configuration into its figures.
func measure(s0, s1 benchSnapshot, maxBatch, streams, workers int) pipelineResult {
	wall := s1.at.Sub(s0.at).Seconds()
	m0, m1 := s0.info.Batcher, s1.info.Batcher
	completed := m1.Completed - m0.Completed
	batches := m1.Batches - m0.Batches
	r := pipelineResult{
		MaxBatch:       maxBatch,
		Streams:        streams,
		EffectiveBatch: effectiveBatch(maxBatch, streams, workers),
		AnalysedPerS:   float64(completed) / wall,
		BatchSizes:     map[string]uint64{},
		Skipped:        m1.Skipped - m0.Skipped,
		DeliveredFPS:   float64(s1.frames-s0.frames) / wall / float64(streams),
		DroppedPerS:    float64(s1.dropped-s0.dropped) / wall,
		RunMS:          ms(m1.RunTime.P50),
		QueueWaitMS:    ms(m1.QueueWait.P50),
		Restarts:       s1.restarts - s0.restarts,
	}
	r.Runs = []float64{r.AnalysedPerS}
	r.CPU, r.OthersCPU = s0.load.until(s1.load)
	r.Disturbed = r.OthersCPU > disturbedAbove
	r.SkippedPerS = float64(r.Skipped) / wall
	if batches > 0 {
		r.MeanBatch = float64(completed) / float64(batches)
		r.Busy = min(1, float64(batches)*m1.RunTime.Mean.Seconds()/wall)
	}
	for size := 1; size < len(m1.BatchSizes); size++ {
		var before uint64
		if size < len(m0.BatchSizes) {
			before = m0.BatchSizes[size]
		}
		if n := m1.BatchSizes[size] - before; n > 0 {
			r.BatchSizes[strconv.Itoa(size)] = n
		}
	}
	r.PreprocessMS = windowMean(s0.info, s1.info)
	return r
}

// windowMean is the mean pre-processing time of the frames submitted between two snapshots.
// Info only gives the mean since the engine started; every pre-processed frame is submitted
// once the pipelines run, so Submitted counts the frames that mean is over.
func windowMean(i0, i1 infer.Info) float64 {
	n0, n1 := float64(i0.Batcher.Submitted), float64(i1.Batcher.Submitted)
	if n1 <= n0 {
		return i1.Preprocess
	}
	return (i1.Preprocess*n1 - i0.Preprocess*n0) / (n1 - n0)
}

// waitPlaying waits until every pipeline has delivered a frame, and fails at once if one fails.
func waitPlaying(ctx context.Context, mgr *pipelines.Manager) error {
	deadline := time.Now().Add(benchStartTimeout)
	for {
		playing := 0
		for _, st := range mgr.List() {
			switch st.State {
			case pipelines.StatePlaying:
				playing++
			case pipelines.StateFailed, pipelines.StateRetrying:
				return fmt.Errorf("pipeline %s: %s: %s", st.Name, st.State, st.LastError)
			}
		}
		if playing == len(mgr.List()) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pipelines not playing after %v", benchStartTimeout)
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// describeModel reads what the results need to say which model they measured.
func describeModel(path string) (benchModel, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return benchModel{}, err
	}
	sum := sha256.Sum256(data)
	return benchModel{Path: path, SHA256: hex.EncodeToString(sum[:]), Bytes: int64(len(data))}, nil
}

// thisMachine describes where a benchmark runs; each benchmark adds what only it knows.
func thisMachine() benchMachine {
	return benchMachine{
		CPU:        cpuModel(),
		Cores:      runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		OS:         runtime.GOOS + "/" + runtime.GOARCH,
		Go:         runtime.Version(),
		GStreamer:  graph.Version(),
	}
}

// cpuModel is the first "model name" of /proc/cpuinfo, or "unknown".
func cpuModel() string {
	file, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		if key, value, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown"
}

// cpuLoad is the CPU time used so far by this process and by the whole machine.
type cpuLoad struct {
	at      time.Time
	self    time.Duration
	machine time.Duration // 0 where /proc/stat cannot be read
}

func takeLoad() cpuLoad {
	l := cpuLoad{at: time.Now(), machine: machineBusy()}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		l.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return l
}

// until returns the cores this process and everything else on the machine kept busy between
// l and later, on average.
func (l cpuLoad) until(later cpuLoad) (self, others float64) {
	wall := later.at.Sub(l.at).Seconds()
	if wall <= 0 {
		return 0, 0
	}
	self = (later.self - l.self).Seconds() / wall
	if l.machine > 0 && later.machine > 0 {
		others = max(0, (later.machine-l.machine).Seconds()/wall-self)
	}
	return self, others
}

// userHZ is the unit of /proc/stat: 100 ticks a second on every Linux architecture Go
// supports.
const userHZ = 100

// machineBusy is the CPU time all cores have spent doing work (not idle, not waiting for I/O)
// since boot, from the first line of /proc/stat; 0 if it cannot be read.
func machineBusy() time.Duration {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(line)
	// cpu user nice system idle iowait irq softirq steal ...; guest time is inside user.
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		n, err := strconv.ParseInt(fields[i], 10, 64)
		if err != nil {
			return 0
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// median of xs, which must not be empty; the mean of the middle two for an even count.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func medianDuration(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// printBench writes the results as two tables.
func printBench(w io.Writer, res *benchResults) {
	m := res.Machine
	fmt.Fprintf(w, "machine: %s, %d cores, %s, ONNX Runtime %s (%s), %s, decoder %s\n",
		m.CPU, m.Cores, m.Go, m.ONNXRuntime, m.Provider, m.GStreamer, orNone(m.Decoder))
	fmt.Fprintf(w, "model:   %s %v (sha256 %.12s)\n", res.Model.Path, res.Model.Input.Shape, res.Model.SHA256)
	s := res.Settings
	rate := fmt.Sprintf("%d fps", s.StreamFPS)
	if s.StreamFPS == 0 {
		rate = fmt.Sprintf("%g× raw throughput", overload)
	}
	threads := "all cores"
	if s.Threads > 0 {
		threads = strconv.Itoa(s.Threads)
	}
	rawRuns := fmt.Sprintf("median of %d", s.Repeats)
	if len(res.Pipelines) > 0 {
		rawRuns = fmt.Sprintf("median of %d before and %d after the pipelines", s.Repeats, s.Repeats)
	}
	fmt.Fprintf(w, "window:  %gs per run; raw %s; pipelines %s %s at %s, %gs warm-up, median of %d; max-wait %gms\n",
		s.DurationS, rawRuns, s.StreamSize, s.Source, rate, s.WarmUpS, s.PipelineRepeats, s.MaxWaitMS)
	fmt.Fprintf(w, "runs:    %d at once (workers), threads per run: %s\n\n", s.Workers, threads)

	disturbed := false
	mark := func(d bool) string {
		disturbed = disturbed || d
		if d {
			return "!"
		}
		return ""
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "raw batch\timages/s\truns\tms/batch\tcopy ms/img\tcpu\tothers' cpu\t")
	for _, r := range res.Raw {
		runs := make([]string, len(r.Runs))
		for i, x := range r.Runs {
			runs[i] = fmt.Sprintf("%.2f", x)
		}
		fmt.Fprintf(tw, "%d\t%.2f\t%s\t%.1f\t%.2f\t%.2f\t%.2f%s\t\n", r.Batch, r.ImagesPerS, strings.Join(runs, " "), r.BatchMS, r.CopyMSPerImage, r.CPU, r.OthersCPU, mark(r.Disturbed))
	}
	tw.Flush()
	if len(res.Pipelines) > 0 {
		fmt.Fprintln(w)
		printPipelines(w, res.Pipelines, mark)
	}
	if disturbed {
		fmt.Fprintf(w, "\n! other processes used more than %.2f cores during this window (for a ratio: during its raw baseline's), even after retries: rerun on a quiet machine\n", disturbedAbove)
	}
}

func printPipelines(w io.Writer, results []pipelineResult, mark func(bool) string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "max-batch\tstreams\tfps\tanalysed/s\tratio@B\tratio@min(B,N)\tmean batch\tpre ms\tskipped\tskipped/s\tdropped/s\tfps/stream\trun ms\tqueue ms\tbusy\tcpu\tothers' cpu\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%.2f\t%.2f%s\t%.2f%s\t%.2f\t%.2f\t%d\t%.2f\t%.2f\t%.1f\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f%s\t\n",
			r.MaxBatch, r.Streams, r.OfferedFPS, r.AnalysedPerS, r.RatioSameBatch, mark(r.BaselineDisturbed), r.RatioEffectiveBatch, mark(r.BaselineDisturbed), r.MeanBatch,
			r.PreprocessMS, r.Skipped, r.SkippedPerS, r.DroppedPerS, r.DeliveredFPS, r.RunMS, r.QueueWaitMS, r.Busy, r.CPU, r.OthersCPU, mark(r.Disturbed))
	}
	tw.Flush()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
