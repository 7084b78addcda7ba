package batch

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// BenchmarkSubmitOverhead measures the batcher's own cost per item, Submit to result, with a
// run function that does nothing. ns/op is per item, over all submitters together.
//
// greedy: MaxBatch 16, MaxWait 0, so each batch takes whatever queued while the last one ran
// (with a no-op run, mostly one item: the cost of a lone frame).
// full: MaxBatch equals the number of submitters and MaxWait is long enough that every batch
// fills (the cost per item when the batches do form).
func BenchmarkSubmitOverhead(b *testing.B) {
	noop := func(_ context.Context, batch []int) ([]int, error) { return batch, nil }
	for _, mode := range []string{"greedy", "full"} {
		for _, submitters := range []int{1, 4, 16} {
			cfg := Config{MaxBatch: 16}
			if mode == "full" {
				cfg = Config{MaxBatch: submitters, MaxWait: 5 * time.Millisecond}
			}
			b.Run(fmt.Sprintf("%s/submitters=%d", mode, submitters), func(b *testing.B) {
				benchSubmit(b, cfg, submitters, noop)
			})
		}
	}
}

func benchSubmit(b *testing.B, cfg Config, submitters int, run RunFunc[int, int]) {
	bt, err := New(cfg, run)
	if err != nil {
		b.Fatal(err)
	}
	defer bt.Close()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for g := range submitters {
		n := b.N / submitters
		if g < b.N%submitters {
			n++
		}
		wg.Go(func() {
			for i := range n {
				if out, err := bt.Submit(ctx, i, PriorityLive); err != nil || out != i {
					b.Errorf("Submit(%d) = %d, %v", i, out, err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if m := bt.Metrics(); m.Batches > 0 {
		b.ReportMetric(float64(m.Completed)/float64(m.Batches), "items/batch")
	}
}
