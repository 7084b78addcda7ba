package batch

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestNextTarget(t *testing.T) {
	const budget = 100 * time.Millisecond
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tests := []struct {
		name           string
		target         int
		latP95, runP95 time.Duration
		pressure       bool
		want           int
	}{
		{"pressure and room: grow", 2, ms(40), ms(20), true, 3},
		{"pressure, over budget from queueing, room: grow", 2, ms(150), ms(20), true, 3},
		{"pressure, no room for a larger run: hold", 2, ms(60), ms(50), true, 2},
		{"pressure, over budget, no room: shrink", 2, ms(150), ms(60), true, 1},
		{"pressure at MaxBatch: hold", 8, ms(40), ms(20), true, 8},
		{"no pressure, within budget: hold", 4, ms(90), ms(20), false, 4},
		{"no pressure, over budget: shrink", 4, ms(120), ms(20), false, 3},
		{"over budget at 1: hold", 1, ms(500), ms(400), false, 1},
		{"single stream, fast: stay at 1", 1, ms(5), ms(5), false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := nextTarget(tt.target, 8, budget, tt.latP95, tt.runP95, tt.pressure)
			if got != tt.want {
				t.Errorf("nextTarget = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestAdapterJudgesEveryPeriod(t *testing.T) {
	a := newAdapter(100*time.Millisecond, 8)
	waits := []time.Duration{time.Millisecond, 2 * time.Millisecond}
	target := 2
	for i := range adaptEvery - 1 {
		if got := a.observe(target, waits, time.Millisecond, true); got != target {
			t.Fatalf("batch %d: target changed to %d before the period ended", i, got)
		}
	}
	if got := a.observe(target, waits, time.Millisecond, true); got != 3 {
		t.Fatalf("end of period under pressure: target %d, want 3", got)
	}
	// The next period starts afresh: one pressured batch out of four is not pressure.
	target = 3
	for i := range adaptEvery {
		target = a.observe(target, waits, time.Millisecond, i == 0)
	}
	if target != 3 {
		t.Errorf("target %d after a quiet period, want 3", target)
	}
}

// TestAdaptiveTarget drives the whole loop: under a generous budget the target grows to serve
// eight streams, then, when the model slows past the budget, it shrinks back to 1.
func TestAdaptiveTarget(t *testing.T) {
	const budget = 40 * time.Millisecond
	var slow atomic.Bool
	run := func(ctx context.Context, batch []string) ([]string, error) {
		d := 500*time.Microsecond + 100*time.Microsecond*time.Duration(len(batch))
		if slow.Load() {
			d = budget + 10*time.Millisecond
		}
		time.Sleep(d)
		return derive(batch), nil
	}
	b := mustNew(t, Config{MaxBatch: 8, MaxWait: 5 * time.Millisecond, LatencyBudget: budget}, run)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if out, err := b.Submit(context.Background(), "x", PriorityLive); err != nil || out != "r:x" {
					t.Errorf("Submit = %q, %v", out, err)
					return
				}
			}
		})
	}
	defer func() {
		close(stop)
		wg.Wait()
	}()

	waitFor(t, "the target to grow", func() bool { return b.Metrics().TargetBatch >= 4 })
	t.Logf("grown: %+v", b.Metrics())
	slow.Store(true)
	waitFor(t, "the target to shrink", func() bool { return b.Metrics().TargetBatch == 1 })
	t.Logf("shrunk: %+v", b.Metrics())
}
