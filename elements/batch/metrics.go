package batch

import (
	"slices"
	"time"
)

// windowSize is how many recent samples a Summary describes.
const windowSize = 1024

// Metrics is a snapshot of a Batcher's counters. Once every Submit has returned,
//
//	Submitted == Completed + Skipped + Cancelled + Failed + Closed
//
// Submits refused before they entered the batcher (already closed, context already done,
// unknown priority) are not counted.
type Metrics struct {
	Submitted uint64 // items accepted by Submit
	Completed uint64 // items whose result was handed back
	Skipped   uint64 // items dropped to keep the queue bounded (ErrSkipped)
	Cancelled uint64 // items whose context was done first, queued or in a running batch
	Failed    uint64 // items whose batch returned an error
	Closed    uint64 // items failed by Close (ErrClosed)
	Batches   uint64 // batches run

	// BatchSizes is a histogram: BatchSizes[k] is the number of batches of k items. Index 0 is
	// unused; len is MaxBatch+1.
	BatchSizes []uint64

	TargetBatch int // the batch size the workers currently wait for (adaptive, or MaxBatch)
	QueueLen    int // items queued now, not counting running batches
	Workers     int // batches that may run at once
	Running     int // batches running now
	PeakRunning int // the most batches that ever ran at once

	QueueWait Summary // per item: from Submit to the start of its batch
	RunTime   Summary // per batch: the run function's time
	Latency   Summary // per item: queue wait plus run time, what LatencyBudget bounds
}

// Summary describes a duration series. Count is every sample ever taken; Mean, P50, P95 and Max
// are over the most recent 1024 samples.
type Summary struct {
	Count          uint64
	Mean, P50, P95 time.Duration
	Max            time.Duration
}

// samples is a ring of the most recent windowSize durations. It does no locking.
type samples struct {
	buf   []time.Duration
	next  int
	count uint64
}

func newSamples() samples { return samples{buf: make([]time.Duration, 0, windowSize)} }

func (s *samples) add(d time.Duration) {
	if len(s.buf) < windowSize {
		s.buf = append(s.buf, d)
	} else {
		s.buf[s.next] = d
	}
	s.next = (s.next + 1) % windowSize
	s.count++
}

// snapshot copies the window, so that the caller can summarize it outside the lock.
func (s *samples) snapshot() (window []time.Duration, count uint64) {
	return slices.Clone(s.buf), s.count
}

// summarize sorts window in place and describes it.
func summarize(window []time.Duration, count uint64) Summary {
	sum := Summary{Count: count}
	if len(window) == 0 {
		return sum
	}
	slices.Sort(window)
	var total time.Duration
	for _, d := range window {
		total += d
	}
	sum.Mean = total / time.Duration(len(window))
	sum.P50 = percentile(window, 50)
	sum.P95 = percentile(window, 95)
	sum.Max = window[len(window)-1]
	return sum
}

// percentile returns the nearest-rank pct-th percentile of sorted, which must not be empty.
func percentile(sorted []time.Duration, pct int) time.Duration {
	i := (len(sorted)*pct+99)/100 - 1
	return sorted[max(i, 0)]
}
