package batch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// RunFunc runs one batch and returns one result per input, in input order (len(out) ==
// len(batch)). An error fails every item of the batch. ctx is done when the Batcher closes.
// The batch slice is reused: RunFunc must not keep it after it returns (it may return it as
// out, when In and Out are the same type).
type RunFunc[In, Out any] func(ctx context.Context, batch []In) ([]Out, error)

// Batcher forms batches from the items that many goroutines submit and runs them through a
// RunFunc, up to Config.Workers batches at a time. Create it with New and stop it with Close.
//
// One mutex guards the queue, the counters and each item's state; worker goroutines form and
// run the batches. The mutex, rather than an actor fed by channels, is what lets Submit settle
// the drop policy synchronously (the newcomer learns at once whether it is queued or skipped)
// and lets a cancelled Submit pull its item out of the queue, each at the cost of one
// uncontended lock instead of a round trip through a worker. An idle worker sleeps in a select
// on its wake channel, one reused timer (the oldest item's MaxWait deadline) and the quit
// channel; Submit wakes one only when it needs to act. Each item carries a one-slot done channel
// on which its Submit blocks, so no goroutine is started per item and only the item's own caller
// wakes.
type Batcher[In, Out any] struct {
	cfg    Config
	run    RunFunc[In, Out]
	ctx    context.Context // handed to run; cancelled by Close
	cancel context.CancelFunc
	quit   chan struct{}  // closed by Close
	exited sync.WaitGroup // the workers
	items  sync.Pool      // *item[In, Out], each with its done channel

	mu     sync.Mutex
	q      *queue[*item[In, Out]]
	closed bool
	// idle are the workers asleep in select; a Submit that needs one takes it from here and
	// sends on its wake channel.
	idle   []*worker[In, Out]
	target int
	// sources is how many submitters each have at most one item in flight (0: unknown). When
	// that many are queued, no more can come before the batch runs, so waiting is pointless.
	sources int
	counts  counts
	running int // batches running now
	inBatch int // items in the running batches
	peak    int // the most that ever ran at once
	sizes   []uint64
	waitS   samples // per item queue wait
	runS    samples // per batch run time
	latS    samples // per item queue wait + run time

	adaptMu sync.Mutex
	adapt   *adapter // nil without a LatencyBudget; under adaptMu
}

// worker is one goroutine that forms and runs batches; its buffers are reused from batch to
// batch.
type worker[In, Out any] struct {
	wake  chan struct{} // one slot: a Submit asks the sleeping worker to look again
	batch []*item[In, Out]
	ins   []In
	waits []time.Duration
	// ranUntil is when this worker's last batch finished. Its MaxWait clock starts no earlier:
	// items that queued during a run would otherwise be overdue the moment it is free, and the
	// streams that just got their results could never join the next batch.
	ranUntil time.Time
}

type counts struct {
	submitted, completed, skipped, cancelled, failed, closed, batches uint64
}

// itemState says who owns an item: the queue and the worker (queued, running, abandoned) or its
// Submit (done). Transitions happen under Batcher.mu.
type itemState uint8

const (
	stateQueued    itemState = iota
	stateRunning             // in the batch that runs now
	stateAbandoned           // its Submit gave up while it ran; the worker drops the result and recycles it
	stateDone                // out/err are set and done holds a token; the Submit owns it again
)

type item[In, Out any] struct {
	in    In
	out   Out
	err   error
	enq   time.Time
	prio  Priority
	state itemState
	done  chan struct{} // capacity 1; receives one token per use
}

// New validates cfg and starts the batcher's workers. Call Close to stop them.
func New[In, Out any](cfg Config, run RunFunc[In, Out]) (*Batcher[In, Out], error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if run == nil {
		return nil, errors.New("batch: nil RunFunc")
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Batcher[In, Out]{
		cfg:    cfg,
		run:    run,
		ctx:    ctx,
		cancel: cancel,
		quit:   make(chan struct{}),
		q:      newQueue[*item[In, Out]](cfg.QueueLimit),
		target: cfg.MaxBatch,
		sizes:  make([]uint64, cfg.MaxBatch+1),
		waitS:  newSamples(),
		runS:   newSamples(),
		latS:   newSamples(),
	}
	b.items.New = func() any { return &item[In, Out]{done: make(chan struct{}, 1)} }
	if cfg.LatencyBudget > 0 {
		b.target = 1
		b.adapt = newAdapter(cfg.LatencyBudget, cfg.MaxBatch)
	}
	for range cfg.Workers {
		w := &worker[In, Out]{
			wake:  make(chan struct{}, 1),
			batch: make([]*item[In, Out], 0, cfg.MaxBatch),
			ins:   make([]In, 0, cfg.MaxBatch),
			waits: make([]time.Duration, 0, cfg.MaxBatch),
		}
		b.exited.Add(1)
		go b.loop(w)
	}
	return b, nil
}

// Submit queues in with priority p and blocks until its batch has run. It returns the result,
// or
//   - ErrSkipped when the item was dropped to keep the queue bounded (see Config.QueueLimit):
//     when the queue is full, the oldest item of the lowest priority present is dropped to make
//     room, unless the newcomer ranks below every queued item, in which case it is the one
//     skipped;
//   - ctx.Err() when ctx is done first: a queued item leaves the queue, the result of a running
//     one is discarded;
//   - ErrClosed when the Batcher is closed;
//   - the run function's error, wrapped, for every item of a failed batch.
//
// Submit is safe for concurrent use; it blocks no longer than its own batch takes.
func (b *Batcher[In, Out]) Submit(ctx context.Context, in In, p Priority) (Out, error) {
	var zero Out
	if !p.valid() {
		return zero, fmt.Errorf("batch: unknown priority %d", int(p))
	}
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	it := b.items.Get().(*item[In, Out])
	it.in, it.prio, it.enq = in, p, time.Now()

	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.recycle(it)
		return zero, ErrClosed
	}
	b.counts.submitted++
	if b.q.len() >= b.cfg.QueueLimit {
		low, _ := b.q.lowest()
		if p < low {
			b.counts.skipped++
			b.mu.Unlock()
			b.recycle(it)
			return zero, ErrSkipped
		}
		victim := b.q.popOldest(low)
		victim.err = ErrSkipped
		b.counts.skipped++
		b.deliver(victim)
	}
	it.state = stateQueued
	b.q.push(p, it)
	// A worker needs waking only to arm the MaxWait timer for a first item, or to send a
	// batch that reached the target; otherwise a sleeping worker's timer already covers the
	// oldest item.
	if n := b.q.len(); n == 1 || b.complete(n) {
		b.wakeOne()
	}
	b.mu.Unlock()

	select {
	case <-it.done:
	case <-ctx.Done():
		b.mu.Lock()
		switch it.state {
		case stateQueued:
			b.q.remove(it.prio, it)
			b.counts.cancelled++
			b.mu.Unlock()
			b.recycle(it)
			return zero, ctx.Err()
		case stateRunning:
			it.state = stateAbandoned // the worker owns it now and recycles it
			b.counts.cancelled++
			b.mu.Unlock()
			return zero, ctx.Err()
		}
		// stateDone: the result was delivered first and its token is in the channel.
		b.mu.Unlock()
		<-it.done
	}
	out, err := it.out, it.err
	b.recycle(it)
	return out, err
}

// Close stops the workers and waits for them. Every Submit still waiting returns ErrClosed: queued
// items at once, items of the running batch when the run function returns (its context is
// cancelled). Submit after Close returns ErrClosed. Close may be called more than once.
func (b *Batcher[In, Out]) Close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		b.q.drain(func(it *item[In, Out]) {
			it.err = ErrClosed
			b.counts.closed++
			b.deliver(it)
		})
		b.cancel()
		close(b.quit)
	}
	b.mu.Unlock()
	b.exited.Wait()
}

// Metrics returns a snapshot of the counters and latency summaries.
func (b *Batcher[In, Out]) Metrics() Metrics {
	b.mu.Lock()
	c := b.counts
	m := Metrics{
		Submitted:   c.submitted,
		Completed:   c.completed,
		Skipped:     c.skipped,
		Cancelled:   c.cancelled,
		Failed:      c.failed,
		Closed:      c.closed,
		Batches:     c.batches,
		BatchSizes:  slices.Clone(b.sizes),
		TargetBatch: b.target,
		QueueLen:    b.q.len(),
		Workers:     b.cfg.Workers,
		Running:     b.running,
		PeakRunning: b.peak,
	}
	waits, nWaits := b.waitS.snapshot()
	runs, nRuns := b.runS.snapshot()
	lats, nLats := b.latS.snapshot()
	b.mu.Unlock()

	m.QueueWait = summarize(waits, nWaits)
	m.RunTime = summarize(runs, nRuns)
	m.Latency = summarize(lats, nLats)
	return m
}

// deliver hands a finished item back to its Submit, dropping the batcher's reference to the
// input first. Called with mu held.
func (b *Batcher[In, Out]) deliver(it *item[In, Out]) {
	var zero In
	it.in = zero
	it.state = stateDone
	it.done <- struct{}{} // never blocks: one token per use of a one-slot channel
}

// recycle clears it, so that the pool holds no frames, and returns it to the pool. The caller
// must own it and its done channel must be empty.
func (b *Batcher[In, Out]) recycle(it *item[In, Out]) {
	*it = item[In, Out]{done: it.done}
	b.items.Put(it)
}

// loop is one worker: it sends a batch when the queue holds the target number of items or its
// oldest item has waited MaxWait, and otherwise sleeps until one of those can have changed.
func (b *Batcher[In, Out]) loop(w *worker[In, Out]) {
	defer b.exited.Done()
	if b.cfg.WorkerInit != nil {
		b.cfg.WorkerInit()
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()

	b.mu.Lock()
	for !b.closed {
		if n := b.q.len(); n > 0 {
			now := time.Now()
			left := b.cfg.MaxWait - now.Sub(latest(b.oldest(), w.ranUntil))
			if b.complete(n) || left <= 0 {
				b.runBatch(w, now)
				continue
			}
			timer.Reset(left) // Go ≥1.23: Reset discards a stale expiry, no drain needed
		} else {
			timer.Stop()
		}
		b.idle = append(b.idle, w)
		b.mu.Unlock()
		select {
		case <-w.wake:
		case <-timer.C:
		case <-b.quit:
		}
		b.mu.Lock()
		if k := slices.Index(b.idle, w); k >= 0 {
			b.idle = slices.Delete(b.idle, k, k+1)
		}
	}
	b.mu.Unlock()
}

// wakeOne asks an idle worker, if there is one, to look at the queue again. Called with mu held.
func (b *Batcher[In, Out]) wakeOne() {
	if len(b.idle) == 0 {
		return
	}
	w := b.idle[len(b.idle)-1]
	b.idle = b.idle[:len(b.idle)-1]
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// complete reports whether n queued items make a batch that should go now: the target is
// reached, or a known number of sources has queued a share, or every source not waiting on a
// running batch has queued, so no more can come. Called with mu held.
func (b *Batcher[In, Out]) complete(n int) bool {
	return n >= b.target || (b.sources > 0 && (n >= b.share() || n >= b.sources-b.inBatch))
}

// share is each worker's part of the known sources (see Share). Called with mu held.
func (b *Batcher[In, Out]) share() int { return Share(b.sources, b.cfg.Workers) }

// Share is how many of sources submitters' items one of workers workers takes into a batch
// (below the target size): with several workers a batch goes once it holds its share, so that
// the workers run side by side instead of one batch of every stream running while the others
// idle.
func Share(sources, workers int) int {
	return (sources + workers - 1) / max(workers, 1)
}

// batchSize is how many items a worker takes: the target, and with several workers and known
// sources no more than a share. Called with mu held.
func (b *Batcher[In, Out]) batchSize() int {
	if b.sources == 0 || b.cfg.Workers == 1 {
		return b.target
	}
	return min(b.target, b.share())
}

// SetSources tells the batcher that n submitters (streams whose element waits for each frame's
// result before sending the next) are active: once each has an item queued, the batch goes at
// once instead of waiting MaxWait for items that cannot come. 0 means unknown.
func (b *Batcher[In, Out]) SetSources(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sources = max(0, n)
	if b.q.len() > 0 && b.complete(b.q.len()) {
		b.wakeOne()
	}
}

// oldest returns the enqueue time of the oldest queued item; the queue must not be empty.
// Called with mu held.
func (b *Batcher[In, Out]) oldest() time.Time {
	var t time.Time
	for p := range numPriorities {
		if it, ok := b.q.head(Priority(p)); ok && (t.IsZero() || it.enq.Before(t)) {
			t = it.enq
		}
	}
	return t
}

// runBatch takes up to target items, runs them on w without the lock, and hands the results
// back. Called with mu held; returns with mu held.
func (b *Batcher[In, Out]) runBatch(w *worker[In, Out], now time.Time) {
	target := b.target
	w.batch = b.q.take(w.batch[:0], b.batchSize())
	for _, it := range w.batch {
		it.state = stateRunning
		wait := now.Sub(it.enq)
		w.waits = append(w.waits, wait)
		b.waitS.add(wait)
		w.ins = append(w.ins, it.in)
	}
	b.running++
	b.peak = max(b.peak, b.running)
	b.inBatch += len(w.batch)
	// What is left may make a batch for another worker.
	if n := b.q.len(); n > 0 && b.complete(n) {
		b.wakeOne()
	}
	b.mu.Unlock()

	start := time.Now()
	outs, err := b.call(w.ins)
	run := time.Since(start)
	w.ranUntil = start.Add(run)

	b.mu.Lock()
	b.running--
	b.inBatch -= len(w.batch)
	// Measured before any result goes back, so this batch's callers cannot have submitted
	// again: what is queued arrived during the run or was left over.
	pressured := b.q.len() >= target
	b.counts.batches++
	b.sizes[len(w.batch)]++
	b.runS.add(run)
	for i, it := range w.batch {
		b.latS.add(w.waits[i] + run)
		if it.state == stateAbandoned {
			b.recycle(it)
			continue
		}
		switch {
		case b.closed:
			it.err = ErrClosed
			b.counts.closed++
		case err != nil:
			it.err = err
			b.counts.failed++
		default:
			it.out = outs[i]
			b.counts.completed++
		}
		// Not before the result is copied: outs may alias ins (an identity run function
		// returns its input).
		clear(w.ins[i : i+1])
		b.deliver(it) // from here on the worker must not touch it
	}
	clear(w.batch) // hold no items or frames between batches
	w.batch = w.batch[:0]
	clear(w.ins)
	w.ins = w.ins[:0]

	if b.adapt != nil {
		b.mu.Unlock()
		b.adaptMu.Lock()
		next := b.adapt.observe(target, w.waits, run, pressured)
		b.adaptMu.Unlock()
		b.mu.Lock()
		b.target = next
	}
	w.waits = w.waits[:0]
}

// call runs the batch, turning a panic or a wrong result count into an error for the batch, so
// that one bad batch fails its items instead of the whole process.
func (b *Batcher[In, Out]) call(ins []In) (outs []Out, err error) {
	defer func() {
		if r := recover(); r != nil {
			outs, err = nil, fmt.Errorf("%w: %v", ErrRunPanic, r)
		}
	}()
	outs, err = b.run(b.ctx, ins)
	switch {
	case err != nil:
		return nil, fmt.Errorf("batch: run of %d items: %w", len(ins), err)
	case len(outs) != len(ins):
		return nil, fmt.Errorf("batch: run returned %d results for %d items", len(outs), len(ins))
	}
	return outs, nil
}
