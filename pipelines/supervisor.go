package pipelines

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/pipelines/spec"
)

// A run that played this long before it failed shows a source that works, and the next retry
// starts the backoff from the minimum again: a camera that drops once a day should not wait
// backoff_max to come back. For a camera a second of video is enough: a lossy link that drops
// every few seconds must come back after backoff_min each time, not wait ever longer (with the
// defaults 0.5, 1, 2 … 30 s: down most of the time). Backoff is for cameras that refuse or do not
// answer. A file that fails part-way fails at the same place every time, so it must play longer.
const (
	cameraWorkedAfter = time.Second
	stableAfter       = 10 * time.Second
)

// The restart budget: a pipeline that fails more than maxFailures times in failureWindow waits
// until the oldest of them leaves the window. The backoff alone does not bound the rate: it
// starts again from the minimum after every run that played a second, so a camera that drops
// each time it has sent a second of video would be restarted every second or so, for ever, and
// a source that fails at once with a small backoff_max many times a second. Thirty a minute
// still brings a flapping camera back within two seconds.
var defaultBudget = restartBudget{window: time.Minute, failures: 30}

// restartBudget allows at most failures restarts after a failure within any window.
type restartBudget struct {
	window   time.Duration
	failures int
}

// errStreamEnded is what a live source's end of stream means: the camera (or generator) stopped
// sending, which is a failure to recover from, not a finish.
var errStreamEnded = errors.New("stream ended")

// supervisor owns one pipeline: at most one goroutine (loop) runs it at a time.
type supervisor struct {
	spec spec.Pipeline
	// fromConfig marks pipelines defined by the configuration file, which Reload manages;
	// pipelines added through the API it leaves alone.
	fromConfig bool

	runtime Runtime
	log     *slog.Logger
	budget  restartBudget
	stage   FrameStage // nil for none

	frames  atomic.Uint64
	skipped atomic.Uint64 // decoded frames dropped before inference
	fps     rateMeter
	bitrate rateMeter // of the encoded stream, bits per second
	// latest is the last analysed frame; nil before the first.
	latest atomic.Pointer[Detections]
	// bframes is set once the camera turned out to send B-frames: from then on its runs
	// encode for viewers.
	bframes atomic.Bool

	// timeline keeps the stream's timestamps going forward across runs (see runOnce).
	timeline timeline

	subsMu   sync.Mutex
	units    subscribers[media.AccessUnit]
	analysed subscribers[media.AnalysedFrame]
	gop      gopCache // the current group of pictures, for new subscribers

	// ctl serialises start and stop so that a restart never sees two loops.
	ctl    sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	state     State
	since     time.Time
	restarts  int
	lastError string
	nextRetry time.Time
	decoder   string
	run       Run
}

func newSupervisor(p spec.Pipeline, runtime Runtime, log *slog.Logger) *supervisor {
	return &supervisor{
		spec:    p,
		runtime: runtime,
		log:     log,
		budget:  defaultBudget,
		state:   StateStopped,
		since:   time.Now(),
	}
}

// start launches the loop unless it is already running. The pipeline is starting from the
// moment start returns (an API client that added it sees so at once).
func (s *supervisor) start() {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	if s.done != nil {
		select {
		case <-s.done:
		default:
			return // still running
		}
	}
	s.setState(StateStarting, "")
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.done = make(chan struct{})
	go s.loop(ctx, s.done)
}

// stop cancels the loop and waits until its pipeline is down.
func (s *supervisor) stop() {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	if s.done == nil {
		return
	}
	s.cancel()
	<-s.done
	s.setState(StateStopped, "")
}

func (s *supervisor) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	backoffMin, backoffMax := s.spec.Restart.BackoffMin.D(), s.spec.Restart.BackoffMax.D()
	backoff := backoffMin
	// carryOn marks a run that follows the last one without a failure (a file that loops, a
	// switch to encoding): the pipeline stays playing, and its since with it.
	carryOn := false
	var failures []time.Time // within the budget's window, oldest first
	for {
		if !carryOn {
			s.setState(StateStarting, "")
		}
		carryOn = false
		run := s.runOnce(ctx)
		playedFor, err := run.played, run.err
		if ctx.Err() != nil {
			return
		}
		switch {
		case errors.Is(err, errBFrames):
			s.log.Info("the camera sends B-frames, which browsers do not play over WebRTC: encoding for viewers from now on")
			s.bframes.Store(true)
			backoff, carryOn = backoffMin, true
			continue
		case errors.Is(err, io.EOF) && s.spec.Source.Type == spec.SourceFile && s.spec.Source.Loop:
			s.log.Debug("file ended, looping")
			backoff, carryOn = backoffMin, true
			// A file of a frame or two would otherwise loop as fast as pipelines can be
			// built.
			if !sleep(ctx, spec.MinBackoff-run.lasted) {
				return
			}
			continue
		case errors.Is(err, io.EOF) && s.spec.Source.Type == spec.SourceFile:
			s.log.Info("file ended")
			s.setState(StateStopped, "")
			return
		case errors.Is(err, io.EOF):
			err = errStreamEnded
		case isPermanent(err):
			s.log.Error("pipeline failed; fix the configuration or the machine and start it again", "err", err)
			s.setState(StateFailed, err.Error())
			return
		}
		if playedFor >= s.workedAfter() {
			backoff = backoffMin
		}
		now := time.Now()
		failures = append(failures, now)
		for len(failures) > 0 && now.Sub(failures[0]) >= s.budget.window {
			failures = failures[1:]
		}
		// Never faster than the pipeline can be torn down, whatever the backoff says.
		wait := max(jitter(backoff), run.teardown)
		if len(failures) > s.budget.failures {
			if until := failures[0].Add(s.budget.window).Sub(now); until > wait {
				if len(failures) == s.budget.failures+1 {
					s.log.Warn("pipeline fails too often: restarts slowed to stay within the budget",
						"failures", len(failures), "window", s.budget.window)
				}
				wait = until
			}
		}
		s.log.Warn("pipeline stopped, retrying", "err", err, "in", wait.Round(time.Millisecond))
		s.mu.Lock()
		s.restarts++
		s.nextRetry = time.Now().Add(wait)
		s.mu.Unlock()
		s.setState(StateRetrying, err.Error())
		if !sleep(ctx, wait) {
			return
		}
		backoff = min(2*backoff, backoffMax)
	}
}

// sleep waits for d (nothing when d ≤ 0) and reports false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// workedAfter is how long a run must play for its failure not to grow the backoff.
func (s *supervisor) workedAfter() time.Duration {
	if s.spec.Source.Type == spec.SourceRTSP {
		return cameraWorkedAfter
	}
	return stableAfter
}

// runResult is how one run went.
type runResult struct {
	played   time.Duration // from its first frame to its end; 0 when it never played
	lasted   time.Duration // from its start to the end of its teardown
	teardown time.Duration // how long closing it took
	err      error         // why it ended
}

// runOnce starts the pipeline and waits for it to end. A watchdog ends the run when no frame
// has come out for the source's watchdog duration.
func (s *supervisor) runOnce(ctx context.Context) runResult {
	start := time.Now()
	var playingSince atomic.Int64 // unix nanos of the first frame; 0 before it
	var lastFrame atomic.Int64    // unix nanos of the latest frame, or of the start
	lastFrame.Store(start.UnixNano())
	var runFrames atomic.Uint64
	// Each run's timestamps start again near zero. Viewers stay connected through a restart
	// (a camera that came back, a file that loops), and a browser that sees RTP timestamps
	// jump back stops showing frames: Chromium froze a looping file after its second restart.
	// So every run is shifted to continue where the last one ended, plus the time between.
	base := s.timeline.nextRun()
	runSpec := s.spec
	if s.bframes.Load() && hasWebRTCOutput(runSpec) {
		runSpec = encodingForViewers(runSpec)
	}
	// A passthrough run watches for B-frames: access units come in decode order, so a PTS
	// below an earlier one means the camera reorders pictures.
	reorders := reorderWatch{passthrough: !encodesAlways(runSpec), found: make(chan struct{})}
	clock := captureClockOf(s.spec.Source, start)
	var stage RunStage
	if s.stage != nil && s.spec.Inference.Enabled {
		stage = s.stage.StartRun(s.spec)
	}
	hooks := media.Hooks{
		OnFrame: func(f detect.Frame) {
			f.PTS += base
			s.frames.Add(1)
			index := runFrames.Add(1) - 1
			now := time.Now()
			lastFrame.Store(now.UnixNano())
			if f.Analysed {
				if f.Detections == nil {
					f.Detections = []detect.Detection{} // "detections": [] rather than null
				}
				af := media.AnalysedFrame{PTS: f.PTS, Frame: index, Time: clock.at(now, f.PTS-base),
					Width: f.Width, Height: f.Height, Detections: f.Detections}
				if stage != nil {
					stage.Annotate(&af)
				}
				s.latest.Store(&Detections{PTS: int64(af.PTS), Frame: index, Time: af.Time, Detections: af.Detections})
				s.publishFrame(af)
			}
			s.fps.observe(now, 1)
			if playingSince.Load() == 0 && playingSince.CompareAndSwap(0, now.UnixNano()) {
				s.setState(StatePlaying, "")
			}
		},
		OnSkipped: func() { s.skipped.Add(1) },
		OnAccessUnit: func(au media.AccessUnit) {
			reorders.see(au)
			au.PTS += base
			s.timeline.saw(au.PTS)
			s.bitrate.observe(time.Now(), float64(8*len(au.Data)))
			s.publish(au)
		},
	}
	s.resetGOP()
	run, err := s.runtime.Start(runSpec, hooks)
	if stage != nil {
		defer stage.End() // once the run is closed: no frame comes after
	}
	if err != nil {
		return runResult{lasted: time.Since(start), err: fmt.Errorf("start: %w", err)}
	}
	s.mu.Lock()
	s.run = run
	s.mu.Unlock()

	runCtx, cancel := context.WithCancelCause(ctx)
	var watching sync.WaitGroup
	watching.Add(1)
	go func() {
		defer watching.Done()
		select {
		case <-reorders.found:
			if hasWebRTCOutput(runSpec) {
				cancel(errBFrames)
			} else if !s.bframes.Swap(true) {
				// Encoding costs a core or so at 1080p: only for a pipeline meant for viewers.
				s.log.Warn("the camera sends B-frames, which browsers do not play smoothly over WebRTC; add outputs: [{type: webrtc}] to encode for viewers")
			}
		case <-runCtx.Done():
		}
	}()
	if limit := s.spec.Source.Watchdog.D(); limit > 0 {
		watching.Add(1)
		go func() {
			defer watching.Done()
			watchdog(runCtx, cancel, &lastFrame, limit)
		}()
	}
	err = run.Wait(runCtx)
	if cause := context.Cause(runCtx); ctx.Err() == nil && (errors.Is(cause, errNoVideo) || errors.Is(cause, errBFrames)) {
		err = cause
	}
	cancel(nil)
	watching.Wait()
	closing := time.Now()
	run.Close()

	s.mu.Lock()
	s.decoder = run.Decoder()
	s.run = nil
	s.mu.Unlock()
	res := runResult{lasted: time.Since(start), teardown: time.Since(closing), err: err}
	if t := playingSince.Load(); t != 0 {
		res.played = closing.Sub(time.Unix(0, t))
	}
	return res
}

// errNoVideo is the watchdog's verdict: the source may still be connected, but no picture
// comes out of it.
var errNoVideo = errors.New("no video")

// watchdog cancels the run when no frame has arrived for limit.
func watchdog(ctx context.Context, cancel context.CancelCauseFunc, lastFrame *atomic.Int64, limit time.Duration) {
	tick := time.NewTicker(min(limit/4, 500*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if idle := now.Sub(time.Unix(0, lastFrame.Load())); idle > limit {
				cancel(fmt.Errorf("%w for %s (watchdog)", errNoVideo, idle.Round(100*time.Millisecond)))
				return
			}
		}
	}
}

// setState moves to state; lastError, when non-empty, replaces the recorded error.
func (s *supervisor) setState(state State, lastError string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != state {
		s.state = state
		s.since = time.Now()
	}
	if state != StateRetrying {
		s.nextRetry = time.Time{}
	}
	if lastError != "" {
		s.lastError = lastError
	}
}

func (s *supervisor) status() Status {
	s.mu.Lock()
	st := Status{
		Name:      s.spec.Name,
		State:     s.state,
		Since:     s.since,
		Decoder:   s.decoder,
		Restarts:  s.restarts,
		LastError: s.lastError,
		NextRetry: s.nextRetry,
		Origin:    OriginAPI,
		Spec:      s.spec,
	}
	if s.fromConfig {
		st.Origin = OriginConfig
	}
	// Status leaves the process (API, logs): never with the camera's credentials.
	st.Spec.Source.URI = spec.RedactURI(s.spec.Source.URI)
	if s.run != nil {
		if d := s.run.Decoder(); d != "" {
			st.Decoder = d
		}
	}
	s.mu.Unlock()
	now := time.Now()
	st.Frames = s.frames.Load()
	st.InferenceSkipped = s.skipped.Load()
	st.FPS = s.fps.rate(now)
	st.BitrateKbps = s.bitrate.rate(now) / 1000
	if st.State != StatePlaying {
		st.FPS, st.BitrateKbps = 0, 0
	}
	return st
}

func (s *supervisor) detections() (Detections, error) {
	if !s.spec.Inference.Enabled {
		return Detections{}, ErrNoInference
	}
	d := s.latest.Load()
	if d == nil {
		return Detections{}, ErrNoDetections
	}
	return *d, nil
}

// jitter spreads restarts by ±20% so that cameras dropped together do not reconnect in lockstep.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
