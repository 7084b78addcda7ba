package batch

import (
	"context"
	"runtime"
	"sync"
	"syscall"
	"testing"
)

// WorkerInit runs once on each worker's goroutine before its first batch, and the batches
// run there: a worker that locks its thread in WorkerInit runs every batch on that thread.
func TestWorkerInitRunsWhereTheBatchesRun(t *testing.T) {
	var mu sync.Mutex
	inited := map[int]bool{}
	ranOn := map[int]bool{}
	b := mustNew(t, Config{MaxBatch: 1, Workers: 3, QueueLimit: 8, WorkerInit: func() {
		runtime.LockOSThread()
		mu.Lock()
		defer mu.Unlock()
		inited[syscall.Gettid()] = true
	}}, func(_ context.Context, in []string) ([]string, error) {
		mu.Lock()
		defer mu.Unlock()
		ranOn[syscall.Gettid()] = true
		return in, nil
	})
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if _, err := b.Submit(context.Background(), "x", PriorityLive); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(inited) != 3 {
		t.Errorf("WorkerInit ran on %d threads, want one per worker (3)", len(inited))
	}
	for tid := range ranOn {
		if !inited[tid] {
			t.Errorf("a batch ran on thread %d, which no WorkerInit locked", tid)
		}
	}
}
