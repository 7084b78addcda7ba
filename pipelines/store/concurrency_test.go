package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestConcurrentAddVisit has 8 goroutines add visits at once while others read, half of the
// writers through a second Store on the same file (as a second process would), so that both
// the in-process write queue and busy_timeout are exercised.
func TestConcurrentAddVisit(t *testing.T) {
	const writers, perWriter = 8, 40
	path := filepath.Join(t.TempDir(), "pigweight.db")
	stores := []*Store{openAt(t, path), openAt(t, path)}
	ctx := context.Background()

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ids  = map[int64]bool{}
		errs = make(chan error, writers+2)
	)
	for w := range writers {
		wg.Go(func() {
			s := stores[w%len(stores)]
			pen := fmt.Sprintf("pen-%d", w%3)
			for i := range perWriter {
				v := visit(pen, int64(w*perWriter+i), t0.Add(time.Duration(i)*time.Minute))
				id, err := s.AddVisit(ctx, fmt.Sprintf("cam-%d", w), v)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if ids[id] {
					errs <- fmt.Errorf("id %d handed out twice", id)
				}
				ids[id] = true
				mu.Unlock()
			}
		})
	}
	done := make(chan struct{})
	var readers sync.WaitGroup
	for r := range 2 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, err := stores[r].Visits(ctx, "pen-0", t0, time.Time{}, 50); err != nil {
					errs <- err
					return
				}
				if _, err := stores[r].Pens(ctx); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	total := 0
	for pen := range 3 {
		vs, err := stores[0].Visits(ctx, fmt.Sprintf("pen-%d", pen), time.Time{}, time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			if !ids[v.ID] {
				t.Errorf("visit %d was stored but never acknowledged", v.ID)
			}
		}
		total += len(vs)
	}
	if total != writers*perWriter || len(ids) != writers*perWriter {
		t.Errorf("%d visits stored, %d acknowledged, want %d", total, len(ids), writers*perWriter)
	}
}
