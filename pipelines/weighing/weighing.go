// Package weighing weighs the pigs of every pipeline that runs a model: each run gets a
// weight.Estimator that gives the run's detections their tracks and weights before the frame
// is published, the visits that end are written to the store by one goroutine, and
// check-weighs from a scale are matched to stored visits and refit the pen's calibration,
// which every running estimator of the pen takes at once.
//
// It sits between the pipelines (whose frame stage it is, through a small adapter in cmd) and
// the store; it knows neither GStreamer nor the synthetic pen.
package weighing

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pigweight/pigweight/elements/weight"
	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/pipelines/spec"
	"github.com/pigweight/pigweight/pipelines/store"
)

// Limits of the service.
const (
	// QueueVisits bounds the ended visits waiting for the store. A pen ends a few visits a
	// minute; the queue covers a database that is away for hours before visits are dropped.
	QueueVisits = 4096
	// retryMin and retryMax bound the wait between attempts to store a visit.
	retryMin = 100 * time.Millisecond
	retryMax = 5 * time.Second
	// closeWait bounds how long Close waits for the queue to drain into a store that fails.
	closeWait = 5 * time.Second
)

// ErrUnknownPen means no pipeline weighs the pen and the store has nothing of it.
var ErrUnknownPen = errors.New("no such pen")

// Service weighs pigs for every pipeline and keeps their visits. Its methods are safe for
// concurrent use.
type Service struct {
	store *store.Store
	log   *slog.Logger
	now   func() time.Time

	mu   sync.Mutex
	cals map[string]weight.Calibration // the fit in use, per pen; absent: the default
	runs map[*Run]struct{}
	// refits serialises check-weighs: each refit reads every reading of the pen, and two at
	// once could save the older fit last.
	refits sync.Mutex

	queue   chan pendingVisit
	stop    chan struct{}
	done    chan struct{}
	closing sync.Once
	stored  atomic.Int64
	dropped atomic.Int64
	failed  atomic.Int64 // attempts that failed, each retried
}

type pendingVisit struct {
	pipeline string
	visit    weight.Visit
}

// Open starts the service on st, with the calibrations the store holds.
func Open(ctx context.Context, st *store.Store, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cals, err := st.Calibrations(ctx)
	if err != nil {
		return nil, err
	}
	s := &Service{
		store: st,
		log:   log.With("component", "weighing"),
		now:   time.Now,
		cals:  cals,
		runs:  map[*Run]struct{}{},
		queue: make(chan pendingVisit, QueueVisits),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go s.write()
	return s, nil
}

// Close ends every run's visits, stores what is queued (waiting at most a few seconds for a
// failing store) and stops. It does not close the store.
func (s *Service) Close() error {
	s.mu.Lock()
	runs := make([]*Run, 0, len(s.runs))
	for r := range s.runs {
		runs = append(runs, r)
	}
	s.mu.Unlock()
	for _, r := range runs {
		r.End()
	}
	s.closing.Do(func() { close(s.stop) })
	<-s.done
	if n := len(s.queue); n > 0 {
		return fmt.Errorf("weighing: %d visits could not be stored", n)
	}
	return nil
}

// Stats counts the visits stored, dropped (queue full) and the failed attempts to store one.
type Stats struct {
	Stored  int64 `json:"stored"`
	Dropped int64 `json:"dropped"`
	Failed  int64 `json:"failed_writes"`
	Queued  int   `json:"queued"`
}

// Stats returns the service's counts.
func (s *Service) Stats() Stats {
	return Stats{Stored: s.stored.Load(), Dropped: s.dropped.Load(), Failed: s.failed.Load(), Queued: len(s.queue)}
}

// Run is the weighing of one run of one pipeline: the run's own estimator, whose tracks begin
// and end with it.
type Run struct {
	svc      *Service
	pipeline string
	pen      string
	est      *weight.Estimator
	ended    atomic.Bool
	last     atomic.Int64 // unix nanos of the latest frame's capture time
}

// StartRun starts weighing a run of p.
func (s *Service) StartRun(p spec.Pipeline) *Run {
	cfg := p.Weight
	cfg.Pen = p.Pen()
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &Run{svc: s, pipeline: p.Name, pen: cfg.Pen, est: weight.NewEstimator(cfg, s.cals[cfg.Pen])}
	s.runs[r] = struct{}{}
	return r
}

// Annotate gives f's detections their tracks and weights and queues the visits that ended.
func (r *Run) Annotate(f *media.AnalysedFrame) {
	estimates, ended := r.est.Observe(weight.Frame{Time: f.Time, Width: f.Width, Height: f.Height, Detections: f.Detections})
	for i := range f.Detections {
		f.Detections[i].Track = estimates[i].Track
		f.Detections[i].WeightKg = estimates[i].WeightKg
	}
	r.last.Store(f.Time.UnixNano())
	r.svc.enqueue(r.pipeline, ended)
}

// End ends the run's open visits (they are stored like any other) and forgets the run.
func (r *Run) End() {
	if r.ended.Swap(true) {
		return
	}
	var last time.Time
	if n := r.last.Load(); n != 0 {
		last = time.Unix(0, n)
	}
	r.svc.enqueue(r.pipeline, r.est.Flush(last))
	r.svc.mu.Lock()
	delete(r.svc.runs, r)
	r.svc.mu.Unlock()
}

// enqueue hands visits to the writer without waiting: the frame path never blocks on the
// store. A full queue drops the visit and counts it.
func (s *Service) enqueue(pipeline string, visits []weight.Visit) {
	for _, v := range visits {
		select {
		case s.queue <- pendingVisit{pipeline, v}:
		default:
			if s.dropped.Add(1) == 1 {
				s.log.Error("the store is behind: visits are being dropped", "queued", QueueVisits)
			}
		}
	}
}

// write stores queued visits one by one, retrying each until it is stored: a database that is
// away (a full disk, a locked file) costs time, not visits. Once Close asks it to stop, it
// stores what is queued and gives up on a failing store after closeWait.
func (s *Service) write() {
	defer close(s.done)
	stop := s.stop
	var deadline <-chan time.Time // set once stopping
	stopping := func() {
		stop, deadline = nil, time.After(closeWait)
	}
	for {
		if deadline != nil && len(s.queue) == 0 {
			return
		}
		var pv pendingVisit
		select {
		case pv = <-s.queue:
		case <-stop:
			stopping()
			continue
		}
		for wait := retryMin; ; wait = min(2*wait, retryMax) {
			_, err := s.store.AddVisit(context.Background(), pv.pipeline, pv.visit)
			if err == nil {
				s.stored.Add(1)
				break
			}
			if s.failed.Add(1)%100 == 1 {
				s.log.Warn("cannot store a visit; retrying", "pen", pv.visit.Pen, "err", err)
			}
			retry := time.NewTimer(wait)
			for waiting := true; waiting; {
				select {
				case <-retry.C:
					waiting = false
				case <-stop:
					stopping()
				case <-deadline:
					retry.Stop()
					s.queue <- pv // back in the queue, for Close to count
					return
				}
			}
		}
	}
}

// penNow is the latest of the wall clock and the capture time of the pen's newest frame: a
// synthetic pen's simulated time may run ahead of the wall clock, and its check-weighs are
// not from the future.
func (s *Service) penNow(pen string) time.Time {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for r := range s.runs {
		if r.pen == pen {
			if t := time.Unix(0, r.last.Load()); t.After(now) {
				now = t
			}
		}
	}
	return now
}

// PenStatus is one pen: who weighs it, the law it uses and its estimators' counts.
type PenStatus struct {
	Pen string `json:"pen"`
	// Pipelines are the pipelines weighing the pen now, sorted.
	Pipelines   []string           `json:"pipelines"`
	Calibration weight.Calibration `json:"calibration"`
	// Estimators sums the counts of the pen's running estimators (since each run started).
	Estimators weight.Stats `json:"estimators"`
}

// Pens lists every pen that a pipeline weighs or the store knows, sorted.
func (s *Service) Pens(ctx context.Context) ([]PenStatus, error) {
	stored, err := s.store.Pens(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	byPen := map[string]*PenStatus{}
	get := func(pen string) *PenStatus {
		p := byPen[pen]
		if p == nil {
			p = &PenStatus{Pen: pen, Pipelines: []string{}, Calibration: s.calibrationLocked(pen)}
			byPen[pen] = p
		}
		return p
	}
	for _, pen := range stored {
		get(pen)
	}
	for r := range s.runs {
		p := get(r.pen)
		if !slices.Contains(p.Pipelines, r.pipeline) {
			p.Pipelines = append(p.Pipelines, r.pipeline)
		}
		addStats(&p.Estimators, r.est.Stats())
	}
	out := make([]PenStatus, 0, len(byPen))
	for _, p := range byPen {
		slices.Sort(p.Pipelines)
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b PenStatus) int { return cmp.Compare(a.Pen, b.Pen) })
	return out, nil
}

func addStats(sum *weight.Stats, s weight.Stats) {
	sum.Frames += s.Frames
	sum.Masks += s.Masks
	sum.Good += s.Good
	sum.Rejected.Score += s.Rejected.Score
	sum.Rejected.ROI += s.Rejected.ROI
	sum.Rejected.Edge += s.Rejected.Edge
	sum.Rejected.Shape += s.Rejected.Shape
	sum.Rejected.Area += s.Rejected.Area
	sum.Rejected.Lying += s.Rejected.Lying
	sum.Visits += s.Visits
	sum.VisitsWithoutWeight += s.VisitsWithoutWeight
	sum.Tracks += s.Tracks
}

func (s *Service) calibrationLocked(pen string) weight.Calibration {
	if c, ok := s.cals[pen]; ok {
		return c
	}
	return weight.DefaultCalibration()
}

// checkKnown returns ErrUnknownPen unless pen is weighed now or has anything stored.
func (s *Service) checkKnown(ctx context.Context, pen string) error {
	s.mu.Lock()
	for r := range s.runs {
		if r.pen == pen {
			s.mu.Unlock()
			return nil
		}
	}
	s.mu.Unlock()
	pens, err := s.store.Pens(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(pens, pen) {
		return fmt.Errorf("%w: %q", ErrUnknownPen, pen)
	}
	return nil
}

// Visits lists the stored visits of pen overlapping [from, to) (zero: unbounded), at most
// limit of them (0: all); ErrUnknownPen for a pen nobody weighs. Every weighed visit is
// weighed again with the pen's calibration now (a visit keeps its floor area, and the law
// turns it into kilograms), so that check-weighs correct the whole history, not only what
// comes after them.
func (s *Service) Visits(ctx context.Context, pen string, from, to time.Time, limit int) ([]store.StoredVisit, error) {
	if err := s.checkKnown(ctx, pen); err != nil {
		return nil, err
	}
	visits, err := s.store.Visits(ctx, pen, from, to, limit)
	if err != nil {
		return nil, err
	}
	cal := s.Calibration(pen)
	for i := range visits {
		if v := &visits[i]; v.WeightKg > 0 && v.AreaM2 > 0 {
			v.WeightKg = cal.WeightKg(v.AreaM2)
		}
	}
	return visits, nil
}

// Calibration returns the law pen uses now: its latest fit, or the literature's default.
func (s *Service) Calibration(pen string) weight.Calibration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calibrationLocked(pen)
}
