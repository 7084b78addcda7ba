package infer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/pigweight/pigweight/elements/batch"
	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/elements/model"
)

// EngineConfig describes one model and how its frames are batched.
type EngineConfig struct {
	Name    string
	Session model.SessionConfig
	// Format is the output decoder: "yolo", "yolo-seg" or "mask".
	Format  string
	Classes []string
	// MaxBatch and MaxWait bound the batches formed across every stream using this model.
	MaxBatch int
	MaxWait  time.Duration
	// LatencyBudget lets the batcher grow batches while queue wait + inference stays under
	// it; 0 keeps batches at up to MaxBatch.
	LatencyBudget time.Duration
	// Workers is how many batches run at once on the session (each with Session.Threads
	// threads); 0 chooses (see Parallelism).
	Workers int
	// Confidence is the decoder's score threshold; 0 takes the decoder's default.
	Confidence float32
	// IoU is the NMS overlap threshold of the yolo decoders; 0 takes the default.
	IoU float32
}

// Engine is one model shared by every pipeline that uses it: one ONNX Runtime session and
// one batcher across all streams.
type Engine struct {
	cfg     EngineConfig
	session *model.Session
	batcher *batch.Batcher[*job, []detect.Detection]
	spec    model.InputSpec
	log     *slog.Logger

	priorityWarning sync.Once

	// inputs pools pre-processed images between a streaming thread and the worker.
	inputs sync.Pool
	// decode turns one image's outputs into detections; the batcher's workers call it, at the
	// same time when there are several.
	decode func(out model.Outputs, i int, lb detect.Letterbox) ([]detect.Detection, error)

	preMu   sync.Mutex
	preTime timeSummary
	streams int // pwinfer elements between READY→PAUSED and PAUSED→READY; under preMu
}

// job is one frame on its way through the batcher.
type job struct {
	input []float32
	lb    detect.Letterbox
}

// NewEngine loads the model (warming it up at every batch size it will see) and starts its
// batcher.
func NewEngine(rt *model.Runtime, cfg EngineConfig, log *slog.Logger) (*Engine, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 1
	}
	cfg.Workers, cfg.Session.Threads = Parallelism(rt, cfg.Session.Providers, cfg.Workers, cfg.Session.Threads)
	e := &Engine{cfg: cfg, log: log.With("component", "infer", "model", cfg.Name)}
	var sess *model.Session
	var err error
	e.onBackgroundThread(func() { sess, err = rt.NewSession(cfg.Session) })
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", cfg.Name, err)
	}
	e.session = sess
	for _, f := range sess.Fallbacks {
		e.log.Warn("execution provider unavailable, falling back", "provider", f.Provider, "err", f.Error)
	}
	if sess.FixedBatch > 0 {
		e.log.Info("model has a fixed batch size: smaller batches are padded", "batch", sess.FixedBatch)
		cfg.MaxBatch = min(cfg.MaxBatch, sess.FixedBatch)
		e.cfg.MaxBatch = cfg.MaxBatch
	}
	w, h := sess.InputSize()
	e.spec = model.InputSpec{Width: w, Height: h}
	if err := e.setDecoder(); err != nil {
		sess.Close()
		return nil, err
	}
	n := sess.ImageLen()
	e.inputs.New = func() any { return make([]float32, n) }

	warm := []int{1}
	for b := 2; b <= cfg.MaxBatch; b *= 2 {
		warm = append(warm, b)
	}
	if cfg.MaxBatch > 1 && warm[len(warm)-1] != cfg.MaxBatch {
		warm = append(warm, cfg.MaxBatch)
	}
	start := time.Now()
	e.onBackgroundThread(func() { err = sess.WarmUp(warm...) })
	if err != nil {
		sess.Close()
		return nil, fmt.Errorf("model %s: %w", cfg.Name, err)
	}
	e.log.Info("model loaded", "provider", sess.Provider, "input", fmt.Sprint(sess.Input.Shape), "warm_up", time.Since(start).Round(time.Millisecond))

	e.batcher, err = batch.New(batch.Config{
		MaxBatch:      cfg.MaxBatch,
		MaxWait:       cfg.MaxWait,
		LatencyBudget: cfg.LatencyBudget,
		Workers:       cfg.Workers,
		WorkerInit:    e.toBackground,
	}, e.run)
	if err != nil {
		sess.Close()
		return nil, err
	}
	return e, nil
}

func (e *Engine) setDecoder() error {
	opt := detect.Options{Confidence: e.cfg.Confidence, IoU: e.cfg.IoU, Classes: e.cfg.Classes}
	outs := e.session.Outputs
	switch e.cfg.Format {
	case "mask":
		if len(outs) != 1 || len(outs[0].Shape) != 4 {
			return fmt.Errorf("model %s: format mask wants one [N, C, H, W] output, have %v", e.cfg.Name, outs)
		}
		// A mask decoder keeps scratch buffers; concurrent batches each take their own.
		decoders := &sync.Pool{New: func() any { return &detect.MaskDecoder{} }}
		e.decode = func(out model.Outputs, i int, lb detect.Letterbox) ([]detect.Detection, error) {
			dec := decoders.Get().(*detect.MaskDecoder)
			defer decoders.Put(dec)
			s := out.Shape[0]
			return dec.Decode(nil, out.Image(0, i), int(s[1]), int(s[2]), int(s[3]), lb, opt)
		}
	case "yolo":
		if len(outs) != 1 || len(outs[0].Shape) != 3 {
			return fmt.Errorf("model %s: format yolo wants one [N, 4+classes, anchors] output, have %v", e.cfg.Name, outs)
		}
		e.decode = func(out model.Outputs, i int, lb detect.Letterbox) ([]detect.Detection, error) {
			s := out.Shape[0]
			return detect.DecodeYOLO(out.Image(0, i), int(s[1]), int(s[2]), lb, opt)
		}
	case "yolo-seg":
		if len(outs) != 2 || len(outs[0].Shape) != 3 || len(outs[1].Shape) != 4 {
			return fmt.Errorf("model %s: format yolo-seg wants [N, 4+classes+32, anchors] and [N, 32, H, W] outputs, have %v", e.cfg.Name, outs)
		}
		e.decode = func(out model.Outputs, i int, lb detect.Letterbox) ([]detect.Detection, error) {
			s, p := out.Shape[0], out.Shape[1]
			return detect.DecodeYOLOSeg(out.Image(0, i), int(s[1]), int(s[2]), out.Image(1, i), int(p[1]), int(p[2]), int(p[3]), lb, opt)
		}
	default:
		return fmt.Errorf("model %s: unknown format %q", e.cfg.Name, e.cfg.Format)
	}
	return nil
}

// toBackground lowers the calling goroutine's thread to inference's priority for good,
// saying once if the system refuses.
func (e *Engine) toBackground() {
	if err := toBackground(); err != nil {
		e.priorityWarning.Do(func() {
			e.log.Warn("cannot lower the priority of inference threads: inference competes with video on equal terms", "err", err)
		})
	}
}

// onBackgroundThread runs f on a thread of inference's priority and waits for it. Threads
// ONNX Runtime starts on the way (its intra-op pool, with the session or at the first run)
// inherit the priority.
func (e *Engine) onBackgroundThread(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.toBackground()
		f()
	}()
	<-done
}

// run is the batcher's RunFunc: one session run for the whole batch, then decoding.
func (e *Engine) run(_ context.Context, jobs []*job) ([][]detect.Detection, error) {
	res := make([][]detect.Detection, len(jobs))
	err := e.session.Run(len(jobs), func(i int, dst []float32) { copy(dst, jobs[i].input) }, func(out model.Outputs) error {
		for i, j := range jobs {
			var err error
			if res[i], err = e.decode(out, i, j.lb); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Analyse pre-processes frame on the caller's thread, then waits for its batch. It returns
// batch.ErrSkipped when the frame was dropped to keep the queue bounded, and ctx.Err() when
// ctx ends first (flush, stop).
func (e *Engine) Analyse(ctx context.Context, pre *model.Preprocessor, frame model.Frame, prio batch.Priority) ([]detect.Detection, error) {
	j, err := e.Prepare(pre, frame)
	if err != nil {
		return nil, err
	}
	return e.Infer(ctx, j, prio)
}

// Prepared is a frame converted to the model's input, waiting for Infer. The frame's pixels
// are no longer needed.
type Prepared struct{ job *job }

// Prepare converts frame into the model's input on the caller's thread (pre is not safe for
// concurrent use; each stream keeps its own).
func (e *Engine) Prepare(pre *model.Preprocessor, frame model.Frame) (Prepared, error) {
	input := e.inputs.Get().([]float32)
	start := time.Now()
	lb, err := pre.ToNCHW(input, frame)
	e.preMu.Lock()
	e.preTime.add(time.Since(start))
	e.preMu.Unlock()
	if err != nil {
		e.inputs.Put(input)
		return Prepared{}, err
	}
	return Prepared{&job{input: input, lb: lb}}, nil
}

// Infer waits for a prepared frame's batch and returns its detections, batch.ErrSkipped when
// the frame was dropped to keep the queue bounded, or ctx.Err() when ctx ends first. It may be
// called from any goroutine, once per Prepared.
func (e *Engine) Infer(ctx context.Context, p Prepared, prio batch.Priority) ([]detect.Detection, error) {
	dets, err := e.batcher.Submit(ctx, p.job, prio)
	// A cancelled frame may still sit in a running batch whose worker reads its input: only
	// inputs the batcher is done with go back to the pool.
	if err == nil || errors.Is(err, batch.ErrSkipped) {
		e.inputs.Put(p.job.input)
	}
	return dets, err
}

// Workers is how many batches of this model run at once.
func (e *Engine) Workers() int { return e.cfg.Workers }

// Parallelism resolves a model's workers and threads per run. Zero workers means two when the
// model will run on the CPU (the first usable provider) of a machine with two cores or more,
// otherwise one: on a CPU that also decodes video, two runs side by side on half the cores each
// compute more than one run on all of them, and a decoder that takes a core slows one run
// instead of stalling the other's threads at every parallel step; on a GPU one run at a time
// suits. Zero threads shares the cores out among several workers, and leaves ONNX Runtime's
// default (every core) to a single one.
func Parallelism(rt *model.Runtime, providers []string, workers, threads int) (int, int) {
	cores := runtime.NumCPU()
	if workers <= 0 {
		workers = 1
		if rt.FirstUsable(providers) == "cpu" && cores >= 2 {
			workers = 2
		}
	}
	if threads <= 0 && workers > 1 {
		threads = max(1, cores/workers)
	}
	return workers, max(0, threads)
}

// InFlightPerStream is how many of each stream's frames may be in analysis at once so that
// every worker has work: more than one only when there are fewer streams than workers. More
// would only queue frames that the bounded queue then skips after their pre-processing was
// paid for.
func (e *Engine) InFlightPerStream() int {
	e.preMu.Lock()
	streams := max(1, e.streams)
	e.preMu.Unlock()
	return (e.Workers() + streams - 1) / streams
}

// attach and detach count the streams using the engine. Each waits for one frame at a time, so
// once every stream has a frame queued the batch is as full as it can get and goes at once.
func (e *Engine) attach() { e.addStreams(1) }
func (e *Engine) detach() { e.addStreams(-1) }

func (e *Engine) addStreams(n int) {
	e.preMu.Lock()
	e.streams += n
	streams := e.streams
	e.preMu.Unlock()
	e.batcher.SetSources(streams)
}

// NewPreprocessor returns a pre-processor for this model's input; each stream keeps its own.
func (e *Engine) NewPreprocessor() *model.Preprocessor { return model.NewPreprocessor(e.spec) }

// Close stops the batcher (failing waiting frames) and releases the session.
func (e *Engine) Close() {
	e.batcher.Close()
	if err := e.session.Close(); err != nil {
		e.log.Warn("close session", "err", err)
	}
}

// Name is the model's name.
func (e *Engine) Name() string { return e.cfg.Name }

// Info describes the engine for the API.
func (e *Engine) Info() Info {
	e.preMu.Lock()
	pre := e.preTime.mean()
	e.preMu.Unlock()
	m := e.batcher.Metrics()
	info := Info{
		Name:          e.cfg.Name,
		Provider:      e.session.Provider,
		Input:         e.session.Input.Shape,
		FixedBatch:    e.session.FixedBatch,
		MaxBatch:      e.cfg.MaxBatch,
		MaxWait:       e.cfg.MaxWait.String(),
		Workers:       e.cfg.Workers,
		Threads:       e.cfg.Session.Threads,
		Preprocess:    pre.Seconds() * 1000,
		Batcher:       m,
		BatchSizeHist: map[string]uint64{},
	}
	for _, f := range e.session.Fallbacks {
		info.Fallbacks = append(info.Fallbacks, f.Provider+": "+f.Error)
	}
	for size, n := range m.BatchSizes {
		if n > 0 {
			info.BatchSizeHist[strconv.Itoa(size)] = n
		}
	}
	return info
}

// Info is a model's state and metrics, as the API reports them.
type Info struct {
	Name       string   `json:"name"`
	Provider   string   `json:"provider"`
	Fallbacks  []string `json:"fallbacks,omitempty"`
	Input      []int64  `json:"input_shape"`
	FixedBatch int      `json:"fixed_batch,omitempty"`
	MaxBatch   int      `json:"max_batch"`
	MaxWait    string   `json:"max_wait"`
	// Workers is how many batches run at once, and Threads each run's CPU threads (0: ONNX
	// Runtime's default, every core).
	Workers int `json:"workers"`
	Threads int `json:"threads"`
	// Preprocess is the mean pre-processing time per frame, in milliseconds.
	Preprocess    float64           `json:"preprocess_ms"`
	BatchSizeHist map[string]uint64 `json:"batch_sizes"`
	Batcher       batch.Metrics     `json:"batcher"`
}

// timeSummary keeps a running mean.
type timeSummary struct {
	n     int64
	total time.Duration
}

func (s *timeSummary) add(d time.Duration) { s.n++; s.total += d }

func (s *timeSummary) mean() time.Duration {
	if s.n == 0 {
		return 0
	}
	return s.total / time.Duration(s.n)
}
