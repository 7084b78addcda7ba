package batch

import (
	"slices"
	"time"
)

// adaptEvery is how many batches the worker runs at one target before it judges that target.
// Judging on fresh samples only (the period's window is reset after each judgement) keeps a
// change from being judged on the latencies of the size before it.
const adaptEvery = 4

// adapter sizes the target batch when Config.LatencyBudget is set. The worker owns it; it does
// no locking.
//
// The rule, applied every adaptEvery batches to the samples of those batches:
//
//   - pressure: in at least half of the batches, a full next batch (≥ target items) was already
//     queued when the batch finished. Items are then waiting for the worker, not for their batch
//     to fill, and a larger batch drains them faster (inference costs less per item in larger
//     batches).
//   - grow by 1 when there is pressure, target < MaxBatch, and the run time p95 scaled to one more
//     item, runP95×(target+1)/target, stays under 0.7×budget (room left for queue wait).
//   - otherwise shrink by 1 when the p95 of per-item latency (queue wait + run time) is over the
//     budget: the run itself is too slow, or items wait MaxWait for a batch that does not fill.
//   - otherwise hold.
//
// Growing only under pressure keeps a single stream at target 1 (its frames go at once instead
// of waiting MaxWait for company that never comes). Growing, not shrinking, when the queue is
// the cause of an over-budget p95 avoids the collapse of a shrink-on-overload rule: smaller
// batches would lower throughput and lengthen the queue further. When even that cannot keep up,
// the bounded queue skips frames, so latency stays bounded either way.
type adapter struct {
	budget   time.Duration
	maxBatch int

	lat       []time.Duration // per item queue wait + run, this period
	run       []time.Duration // per batch run time, this period
	batches   int
	pressured int
}

func newAdapter(budget time.Duration, maxBatch int) *adapter {
	return &adapter{
		budget:   budget,
		maxBatch: maxBatch,
		lat:      make([]time.Duration, 0, adaptEvery*maxBatch),
		run:      make([]time.Duration, 0, adaptEvery),
	}
}

// observe records one finished batch (the queue wait of each of its items, its run time, and
// whether a full next batch was already queued when it finished) and returns the new target.
func (a *adapter) observe(target int, waits []time.Duration, run time.Duration, pressured bool) int {
	for _, w := range waits {
		a.lat = append(a.lat, w+run)
	}
	a.run = append(a.run, run)
	a.batches++
	if pressured {
		a.pressured++
	}
	if a.batches < adaptEvery {
		return target
	}
	slices.Sort(a.lat)
	slices.Sort(a.run)
	next := nextTarget(target, a.maxBatch, a.budget,
		percentile(a.lat, 95), percentile(a.run, 95), 2*a.pressured >= a.batches)
	a.lat, a.run = a.lat[:0], a.run[:0]
	a.batches, a.pressured = 0, 0
	return next
}

// nextTarget applies the rule documented on adapter.
func nextTarget(target, maxBatch int, budget, latP95, runP95 time.Duration, pressure bool) int {
	grownRun := runP95 * time.Duration(target+1) / time.Duration(target)
	switch {
	case pressure && target < maxBatch && grownRun < budget*7/10:
		return target + 1
	case latP95 > budget && target > 1:
		return target - 1
	}
	return target
}
