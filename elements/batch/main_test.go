package batch

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// patience bounds every wait in these tests. It is generous on purpose: the tests synchronise
// on events and only use it to fail instead of hanging.
const patience = 10 * time.Second

// gate is a run function the test controls: it reports each batch as it starts and holds it
// until the test sends on release (one batch per token) or closes release (all batches).
type gate struct {
	started chan []string
	release chan struct{}
}

func newGate() *gate {
	return &gate{started: make(chan []string, 1024), release: make(chan struct{})}
}

func (g *gate) run(ctx context.Context, batch []string) ([]string, error) {
	g.started <- slices.Clone(batch)
	select {
	case <-g.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return derive(batch), nil
}

// next returns the next batch that started.
func (g *gate) next(t *testing.T) []string {
	t.Helper()
	select {
	case batch := <-g.started:
		return batch
	case <-time.After(patience):
		t.Fatal("no batch started")
		return nil
	}
}

// derive is the result every test run function returns: the caller can tell it came from its
// own input.
func derive(batch []string) []string {
	out := make([]string, len(batch))
	for i, s := range batch {
		out[i] = "r:" + s
	}
	return out
}

type result struct {
	in, out string
	err     error
}

// submitAsync calls Submit on its own goroutine and delivers the outcome on the returned channel.
func submitAsync(ctx context.Context, b *Batcher[string, string], in string, p Priority) <-chan result {
	ch := make(chan result, 1)
	go func() {
		out, err := b.Submit(ctx, in, p)
		ch <- result{in, out, err}
	}()
	return ch
}

func recv(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(patience):
		t.Fatal("Submit did not return")
		return result{}
	}
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func waitQueueLen[In, Out any](t *testing.T, b *Batcher[In, Out], n int) {
	t.Helper()
	waitFor(t, "queue length", func() bool { return b.Metrics().QueueLen == n })
}

// checkSettled checks the accounting once every Submit has returned. The worker may still be
// finishing a batch whose callers all gave up, so it waits for the batch counts to catch up.
func checkSettled[In, Out any](t *testing.T, b *Batcher[In, Out]) Metrics {
	t.Helper()
	var m Metrics
	var items, batches uint64
	settled := func() bool {
		m = b.Metrics()
		items, batches = 0, 0
		for k, n := range m.BatchSizes {
			items += uint64(k) * n
			batches += n
		}
		return m.QueueWait.Count == items && m.Latency.Count == items && m.RunTime.Count == m.Batches
	}
	deadline := time.Now().Add(patience)
	for !settled() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if !settled() {
		t.Errorf("sample counts: queue wait %d, latency %d (items %d); run %d (batches %d)",
			m.QueueWait.Count, m.Latency.Count, items, m.RunTime.Count, m.Batches)
	}
	if batches != m.Batches {
		t.Errorf("histogram holds %d batches, Batches = %d", batches, m.Batches)
	}
	if sum := m.Completed + m.Skipped + m.Cancelled + m.Failed + m.Closed; m.Submitted != sum {
		t.Errorf("Submitted %d != Completed %d + Skipped %d + Cancelled %d + Failed %d + Closed %d",
			m.Submitted, m.Completed, m.Skipped, m.Cancelled, m.Failed, m.Closed)
	}
	return m
}

func mustNew[In, Out any](t testing.TB, cfg Config, run RunFunc[In, Out]) *Batcher[In, Out] {
	t.Helper()
	b, err := New(cfg, run)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}
