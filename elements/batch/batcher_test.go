package batch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestNewRejectsBadConfig(t *testing.T) {
	run := func(ctx context.Context, b []int) ([]int, error) { return b, nil }
	tests := []struct {
		name string
		cfg  Config
	}{
		{"zero MaxBatch", Config{}},
		{"negative MaxWait", Config{MaxBatch: 4, MaxWait: -time.Millisecond}},
		{"negative budget", Config{MaxBatch: 4, LatencyBudget: -time.Millisecond}},
		{"queue below MaxBatch", Config{MaxBatch: 4, QueueLimit: 3}},
		{"negative queue", Config{MaxBatch: 4, QueueLimit: -1}},
		{"negative workers", Config{MaxBatch: 4, Workers: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if b, err := New(tt.cfg, run); err == nil {
				b.Close()
				t.Fatalf("New(%+v) succeeded", tt.cfg)
			}
		})
	}
	if _, err := New[int, int](Config{MaxBatch: 1}, nil); err == nil {
		t.Error("New with a nil RunFunc succeeded")
	}
}

func TestConfigDefaults(t *testing.T) {
	tests := []struct {
		cfg        Config
		wantQueue  int
		wantTarget int
	}{
		{Config{MaxBatch: 8}, 32, 8},
		{Config{MaxBatch: 8, QueueLimit: 8}, 8, 8},
		{Config{MaxBatch: 8, LatencyBudget: time.Second}, 32, 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%+v", tt.cfg), func(t *testing.T) {
			b := mustNew(t, tt.cfg, newGate().run)
			if b.cfg.QueueLimit != tt.wantQueue {
				t.Errorf("QueueLimit = %d, want %d", b.cfg.QueueLimit, tt.wantQueue)
			}
			m := b.Metrics()
			if m.TargetBatch != tt.wantTarget {
				t.Errorf("TargetBatch = %d, want %d", m.TargetBatch, tt.wantTarget)
			}
			if len(m.BatchSizes) != tt.cfg.MaxBatch+1 {
				t.Errorf("len(BatchSizes) = %d, want %d", len(m.BatchSizes), tt.cfg.MaxBatch+1)
			}
		})
	}
}

// sleepRun returns a run function that takes base + perItem×len(batch) and derives its results.
func sleepRun(base, perItem time.Duration) RunFunc[string, string] {
	return func(ctx context.Context, batch []string) ([]string, error) {
		time.Sleep(base + perItem*time.Duration(len(batch)))
		return derive(batch), nil
	}
}

// TestBatchesFormAcrossSubmitters also checks that every result goes back to its own caller.
func TestBatchesFormAcrossSubmitters(t *testing.T) {
	tests := []struct {
		name       string
		submitters int
		cfg        Config
	}{
		{"4 submitters", 4, Config{MaxBatch: 4, MaxWait: 50 * time.Millisecond}},
		{"16 submitters, batch 8", 16, Config{MaxBatch: 8, MaxWait: 20 * time.Millisecond}},
		{"greedy, no wait", 4, Config{MaxBatch: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustNew(t, tt.cfg, sleepRun(2*time.Millisecond, 100*time.Microsecond))
			const perSubmitter = 40
			var wg sync.WaitGroup
			errs := make(chan error, tt.submitters*perSubmitter)
			for g := range tt.submitters {
				wg.Go(func() {
					for i := range perSubmitter {
						in := fmt.Sprintf("s%d-%d", g, i)
						out, err := b.Submit(context.Background(), in, PriorityLive)
						switch {
						case err != nil:
							errs <- fmt.Errorf("%s: %w", in, err)
						case out != "r:"+in:
							errs <- fmt.Errorf("%s: got %q, another caller's result", in, out)
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			m := checkSettled(t, b)
			if want := uint64(tt.submitters * perSubmitter); m.Completed != want {
				t.Errorf("Completed = %d, want %d", m.Completed, want)
			}
			var multi uint64
			for k := 2; k < len(m.BatchSizes); k++ {
				multi += m.BatchSizes[k]
			}
			if multi == 0 {
				t.Errorf("no batch of more than one item formed: histogram %v", m.BatchSizes)
			}
			t.Logf("histogram %v, queue wait p95 %v, run p95 %v", m.BatchSizes, m.QueueWait.P95, m.RunTime.P95)
		})
	}
}

func TestMaxWaitFlushesLoneItem(t *testing.T) {
	for _, wait := range []time.Duration{0, 20 * time.Millisecond, 100 * time.Millisecond} {
		t.Run(wait.String(), func(t *testing.T) {
			b := mustNew(t, Config{MaxBatch: 8, MaxWait: wait}, sleepRun(0, 0))
			start := time.Now()
			out, err := b.Submit(context.Background(), "alone", PriorityLive)
			took := time.Since(start)
			if err != nil || out != "r:alone" {
				t.Fatalf("Submit = %q, %v", out, err)
			}
			// It waits for company no shorter than MaxWait, and not much longer (generous
			// bound: a loaded machine may be slow to wake the worker).
			if took < wait || took > wait+2*time.Second {
				t.Errorf("lone item took %v with MaxWait %v", took, wait)
			}
			if m := b.Metrics(); m.BatchSizes[1] != 1 || m.Batches != 1 {
				t.Errorf("histogram %v, want one batch of 1", m.BatchSizes)
			}
		})
	}
}

// TestFullTargetSendsAtOnce: a batch that reaches the target goes without waiting MaxWait.
func TestFullTargetSendsAtOnce(t *testing.T) {
	b := mustNew(t, Config{MaxBatch: 2, MaxWait: time.Hour}, sleepRun(0, 0))
	a := submitAsync(context.Background(), b, "a", PriorityLive)
	waitQueueLen(t, b, 1)
	c := submitAsync(context.Background(), b, "c", PriorityJob)
	for _, ch := range []<-chan result{a, c} {
		if r := recv(t, ch); r.err != nil || r.out != "r:"+r.in {
			t.Errorf("%s: %q, %v", r.in, r.out, r.err)
		}
	}
	if m := b.Metrics(); m.BatchSizes[2] != 1 {
		t.Errorf("histogram %v, want one batch of 2", m.BatchSizes)
	}
}

// TestSourcesCompleteABatch: with every known source queued, the batch goes without waiting
// MaxWait; learning of fewer sources releases a batch already waiting.
func TestSourcesCompleteABatch(t *testing.T) {
	b := mustNew(t, Config{MaxBatch: 8, MaxWait: time.Hour}, sleepRun(0, 0))
	b.SetSources(2)
	a := submitAsync(context.Background(), b, "a", PriorityLive)
	waitQueueLen(t, b, 1)
	c := submitAsync(context.Background(), b, "c", PriorityLive)
	for _, ch := range []<-chan result{a, c} {
		if r := recv(t, ch); r.err != nil || r.out != "r:"+r.in {
			t.Errorf("%s: %q, %v", r.in, r.out, r.err)
		}
	}
	if m := b.Metrics(); m.BatchSizes[2] != 1 {
		t.Errorf("histogram %v, want one batch of 2", m.BatchSizes)
	}
	lone := submitAsync(context.Background(), b, "lone", PriorityLive)
	waitQueueLen(t, b, 1)
	b.SetSources(1)
	if r := recv(t, lone); r.err != nil {
		t.Errorf("lone: %v", r.err)
	}
}

func TestDropPolicy(t *testing.T) {
	type entry struct {
		name string
		p    Priority
	}
	live := func(n string) entry { return entry{n, PriorityLive} }
	job := func(n string) entry { return entry{n, PriorityJob} }
	tests := []struct {
		name     string
		queued   []entry // oldest first; fills the queue to its limit
		newcomer entry
		skipped  string
	}{
		{"live drops oldest job", []entry{job("j1"), job("j2")}, live("new"), "j1"},
		{"live drops job before older live", []entry{live("l1"), job("j1")}, live("new"), "j1"},
		{"live drops job queued after live", []entry{job("j1"), live("l1")}, live("new"), "j1"},
		{"live drops oldest live when no job", []entry{live("l1"), live("l2")}, live("new"), "l1"},
		{"job drops oldest job", []entry{job("j1"), job("j2")}, job("new"), "j1"},
		{"job drops job, keeps live", []entry{live("l1"), job("j1")}, job("new"), "j1"},
		{"job skipped behind only live", []entry{live("l1"), live("l2")}, job("new"), "new"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGate()
			b := mustNew(t, Config{MaxBatch: 1, QueueLimit: len(tt.queued)}, g.run)
			ctx := context.Background()

			// A running batch holds the worker, so that the queue fills.
			results := []<-chan result{submitAsync(ctx, b, "blocker", PriorityLive)}
			g.next(t)
			for i, e := range tt.queued {
				results = append(results, submitAsync(ctx, b, e.name, e.p))
				waitQueueLen(t, b, i+1)
			}
			results = append(results, submitAsync(ctx, b, tt.newcomer.name, tt.newcomer.p))

			// The skipped Submit returns at once, while the worker is still held.
			var first result
			waitFor(t, "a skipped item", func() bool {
				for i, ch := range results {
					select {
					case first = <-ch:
						results = append(results[:i], results[i+1:]...)
						return true
					default:
					}
				}
				return false
			})
			if first.in != tt.skipped || !errors.Is(first.err, ErrSkipped) {
				t.Fatalf("first to return: %s (%v); want %s skipped", first.in, first.err, tt.skipped)
			}
			if m := b.Metrics(); m.QueueLen != len(tt.queued) || m.Skipped != 1 {
				t.Errorf("QueueLen %d, Skipped %d; want %d, 1", m.QueueLen, m.Skipped, len(tt.queued))
			}

			close(g.release)
			for _, ch := range results {
				if r := recv(t, ch); r.err != nil || r.out != "r:"+r.in {
					t.Errorf("%s: %q, %v", r.in, r.out, r.err)
				}
			}
			checkSettled(t, b)
		})
	}
}

func TestPriorityOrder(t *testing.T) {
	g := newGate()
	b := mustNew(t, Config{MaxBatch: 2, MaxWait: time.Hour, QueueLimit: 8}, g.run)
	ctx := context.Background()
	results := []<-chan result{
		submitAsync(ctx, b, "b1", PriorityLive),
		submitAsync(ctx, b, "b2", PriorityLive),
	}
	g.next(t)
	order := []struct {
		name string
		p    Priority
	}{
		{"j1", PriorityJob}, {"j2", PriorityJob}, {"l1", PriorityLive},
		{"j3", PriorityJob}, {"l2", PriorityLive}, {"l3", PriorityLive},
	}
	for i, e := range order {
		results = append(results, submitAsync(ctx, b, e.name, e.p))
		waitQueueLen(t, b, i+1)
	}
	close(g.release)
	want := [][]string{{"l1", "l2"}, {"l3", "j1"}, {"j2", "j3"}}
	for _, w := range want {
		if got := g.next(t); fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("batch %v, want %v", got, w)
		}
	}
	for _, ch := range results {
		if r := recv(t, ch); r.err != nil || r.out != "r:"+r.in {
			t.Errorf("%s: %q, %v", r.in, r.out, r.err)
		}
	}
}

func TestCancelQueued(t *testing.T) {
	g := newGate()
	b := mustNew(t, Config{MaxBatch: 1}, g.run)
	blocker := submitAsync(context.Background(), b, "blocker", PriorityLive)
	g.next(t)

	ctx, cancel := context.WithCancel(context.Background())
	cancelled := submitAsync(ctx, b, "cancelled", PriorityLive)
	waitQueueLen(t, b, 1)
	kept := submitAsync(context.Background(), b, "kept", PriorityLive)
	waitQueueLen(t, b, 2)
	cancel()
	if r := recv(t, cancelled); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled Submit = %q, %v; want context.Canceled", r.out, r.err)
	}
	if m := b.Metrics(); m.QueueLen != 1 || m.Cancelled != 1 {
		t.Errorf("QueueLen %d, Cancelled %d; want 1, 1", m.QueueLen, m.Cancelled)
	}

	close(g.release)
	for _, ch := range []<-chan result{blocker, kept} {
		if r := recv(t, ch); r.err != nil || r.out != "r:"+r.in {
			t.Errorf("%s: %q, %v", r.in, r.out, r.err)
		}
	}
	if next := g.next(t); len(next) != 1 || next[0] != "kept" {
		t.Errorf("batch after the cancel: %v, want [kept]", next)
	}
	checkSettled(t, b)
}

func TestCancelInFlight(t *testing.T) {
	g := newGate()
	b := mustNew(t, Config{MaxBatch: 2, MaxWait: time.Hour}, g.run)
	ctx, cancel := context.WithCancel(context.Background())
	gone := submitAsync(ctx, b, "gone", PriorityLive)
	waitQueueLen(t, b, 1)
	stays := submitAsync(context.Background(), b, "stays", PriorityLive)
	if batch := g.next(t); len(batch) != 2 {
		t.Fatalf("batch %v, want both items", batch)
	}

	cancel()
	if r := recv(t, gone); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled in-flight Submit = %q, %v; want context.Canceled", r.out, r.err)
	}
	g.release <- struct{}{}
	if r := recv(t, stays); r.err != nil || r.out != "r:stays" {
		t.Errorf("batch mate: %q, %v", r.out, r.err)
	}

	// The abandoned item is recycled by the worker; later Submits still get their own results.
	close(g.release)
	for i := range 2 { // in pairs: MaxWait is an hour
		pair := []<-chan result{
			submitAsync(context.Background(), b, "later"+strconv.Itoa(2*i), PriorityLive),
			submitAsync(context.Background(), b, "later"+strconv.Itoa(2*i+1), PriorityJob),
		}
		for _, ch := range pair {
			if r := recv(t, ch); r.err != nil || r.out != "r:"+r.in {
				t.Errorf("%s: %q, %v", r.in, r.out, r.err)
			}
		}
	}
	if m := checkSettled(t, b); m.Cancelled != 1 || m.Completed != 5 {
		t.Errorf("Cancelled %d, Completed %d; want 1, 5", m.Cancelled, m.Completed)
	}
}

// TestRunMayReturnItsInput: the results may alias the batch slice the worker reuses.
func TestRunMayReturnItsInput(t *testing.T) {
	identity := func(_ context.Context, batch []string) ([]string, error) { return batch, nil }
	b := mustNew(t, Config{MaxBatch: 4}, identity)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				in := fmt.Sprintf("%d-%d", g, i)
				if out, err := b.Submit(context.Background(), in, PriorityLive); err != nil || out != in {
					t.Errorf("Submit(%s) = %q, %v", in, out, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestSubmitWithDoneContext(t *testing.T) {
	b := mustNew(t, Config{MaxBatch: 1}, sleepRun(0, 0))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Submit(ctx, "x", PriorityLive); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if _, err := b.Submit(context.Background(), "x", Priority(7)); err == nil {
		t.Error("unknown priority accepted")
	}
	if m := b.Metrics(); m.Submitted != 0 {
		t.Errorf("Submitted = %d for refused Submits", m.Submitted)
	}
}

func TestCloseFailsWaitingSubmitters(t *testing.T) {
	g := newGate()
	b, err := New(Config{MaxBatch: 2, MaxWait: time.Hour, QueueLimit: 4}, g.run)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var results []<-chan result
	for i := range 2 {
		results = append(results, submitAsync(ctx, b, "running"+strconv.Itoa(i), PriorityLive))
	}
	g.next(t)
	for i := range 3 {
		results = append(results, submitAsync(ctx, b, "queued"+strconv.Itoa(i), PriorityJob))
		waitQueueLen(t, b, i+1)
	}

	closed := make(chan struct{})
	go func() {
		b.Close()
		close(closed)
	}()
	for _, ch := range results {
		if r := recv(t, ch); !errors.Is(r.err, ErrClosed) {
			t.Errorf("%s: %q, %v; want ErrClosed", r.in, r.out, r.err)
		}
	}
	select {
	case <-closed:
	case <-time.After(patience):
		t.Fatal("Close did not return")
	}
	if _, err := b.Submit(ctx, "late", PriorityLive); !errors.Is(err, ErrClosed) {
		t.Errorf("Submit after Close: %v, want ErrClosed", err)
	}
	b.Close() // a second Close returns at once
	if m := checkSettled(t, b); m.Closed != 5 {
		t.Errorf("Closed = %d, want 5", m.Closed)
	}
}

func TestRunErrorsReachEveryItem(t *testing.T) {
	errModel := errors.New("session lost")
	tests := []struct {
		name string
		run  RunFunc[string, string]
		want error // nil: any error will do
	}{
		{"error", func(context.Context, []string) ([]string, error) { return nil, errModel }, errModel},
		{"panic", func(context.Context, []string) ([]string, error) { panic("decoder bug") }, ErrRunPanic},
		{"short result", func(_ context.Context, b []string) ([]string, error) { return b[1:], nil }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 3
			b := mustNew(t, Config{MaxBatch: n, MaxWait: time.Hour}, tt.run)
			var results []<-chan result
			for i := range n {
				results = append(results, submitAsync(context.Background(), b, strconv.Itoa(i), PriorityLive))
				if i < n-1 {
					waitQueueLen(t, b, i+1)
				}
			}
			for _, ch := range results {
				r := recv(t, ch)
				if r.err == nil || (tt.want != nil && !errors.Is(r.err, tt.want)) {
					t.Errorf("%s: err = %v, want %v", r.in, r.err, tt.want)
				}
			}
			if m := checkSettled(t, b); m.Failed != n || m.Batches != 1 {
				t.Errorf("Failed %d, Batches %d; want %d, 1", m.Failed, m.Batches, n)
			}
		})
	}
}

// TestStress mixes everything at once (many submitters, both priorities, a small queue, random
// cancellations) and checks that no caller gets another's result and that the counts add up.
func TestStress(t *testing.T) {
	run := func(ctx context.Context, batch []string) ([]string, error) {
		time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond)
		if rand.IntN(50) == 0 {
			return nil, errors.New("flaky")
		}
		return derive(batch), nil
	}
	b := mustNew(t, Config{MaxBatch: 4, MaxWait: time.Millisecond, QueueLimit: 6,
		LatencyBudget: 5 * time.Millisecond}, run)
	var wg sync.WaitGroup
	for g := range 12 {
		wg.Go(func() {
			p := Priority(g % 2)
			for i := range 150 {
				in := fmt.Sprintf("%d-%d", g, i)
				ctx, cancel := context.WithCancel(context.Background())
				if rand.IntN(5) == 0 {
					cancel() // sometimes before, sometimes during the wait
					if rand.IntN(2) == 0 {
						ctx, cancel = context.WithTimeout(context.Background(),
							time.Duration(rand.IntN(1000))*time.Microsecond)
					}
				}
				out, err := b.Submit(ctx, in, p)
				cancel()
				if err == nil && out != "r:"+in {
					t.Errorf("%s: got %q", in, out)
				}
			}
		})
	}
	wg.Wait()
	m := checkSettled(t, b)
	if m.QueueLen != 0 {
		t.Errorf("QueueLen = %d after all Submits returned", m.QueueLen)
	}
	t.Logf("%+v", m)
}

// TestStreamsRejoinAfterARun: streams that resubmit as soon as their result comes back join
// the next batch. With the MaxWait clock started at enqueue, the frames that queued during a
// run were overdue at once and batches settled into a 1/3 alternation for 4 streams.
func TestStreamsRejoinAfterARun(t *testing.T) {
	b := mustNew(t, Config{MaxBatch: 4, MaxWait: 10 * time.Millisecond}, sleepRun(50*time.Millisecond, 0))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 0 {
				// One stream starts late, so the first batches split 3 + 1.
				time.Sleep(25 * time.Millisecond)
			}
			for ctx.Err() == nil {
				b.Submit(ctx, fmt.Sprint(i), PriorityLive)
			}
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for b.Metrics().Batches < 12 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	m := b.Metrics()
	if full := m.BatchSizes[4]; full*10 < m.Batches*7 {
		t.Errorf("%d of %d batches were full (histogram %v); want most", full, m.Batches, m.BatchSizes)
	}
}

// TestWorkersRunBatchesSideBySide: with two workers, a second batch starts while the first
// still runs, and the known sources are shared out so that both workers get a batch.
func TestWorkersRunBatchesSideBySide(t *testing.T) {
	g := newGate()
	b := mustNew(t, Config{MaxBatch: 4, MaxWait: time.Hour, Workers: 2}, g.run)
	b.SetSources(4)
	var wg sync.WaitGroup
	results := make([]string, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := b.Submit(context.Background(), strconv.Itoa(i), PriorityLive)
			if err != nil {
				t.Errorf("Submit %d: %v", i, err)
			}
			results[i] = out
		}()
	}
	// Neither batch is released before both have started: one worker alone would deadlock here.
	first, second := g.next(t), g.next(t)
	if len(first) != 2 || len(second) != 2 {
		t.Errorf("batches %v and %v, want two of 2 (4 sources shared by 2 workers)", first, second)
	}
	close(g.release)
	wg.Wait()
	for i, r := range results {
		if want := derive([]string{strconv.Itoa(i)})[0]; r != want {
			t.Errorf("result %d = %q, want %q", i, r, want)
		}
	}
	if m := b.Metrics(); m.Batches != 2 || m.Completed != 4 || m.PeakRunning != 2 || m.Running != 0 {
		t.Errorf("metrics %+v, want 2 batches, 4 completed, at most 2 running and none now", m)
	}
}

// TestOneWorkerRunsOneBatchAtATime: the default keeps batches strictly one after another.
func TestOneWorkerRunsOneBatchAtATime(t *testing.T) {
	g := newGate()
	b := mustNew(t, Config{MaxBatch: 1}, g.run)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.Submit(context.Background(), strconv.Itoa(i), PriorityLive)
		}()
	}
	g.next(t)
	select {
	case batch := <-g.started:
		t.Errorf("batch %v started while another ran", batch)
	case <-time.After(100 * time.Millisecond):
	}
	close(g.release)
	wg.Wait()
}

// TestLastSourceGoesAtOnce: three sources, two workers. Two items make the first worker's
// share; the third source is the only one not waiting on a batch, so its item goes at once on
// the second worker instead of waiting MaxWait for company that cannot come.
func TestLastSourceGoesAtOnce(t *testing.T) {
	g := newGate()
	b := mustNew(t, Config{MaxBatch: 4, MaxWait: time.Hour, Workers: 2}, g.run)
	b.SetSources(3)
	first := []<-chan result{submitAsync(context.Background(), b, "a", PriorityLive)}
	waitQueueLen(t, b, 1)
	first = append(first, submitAsync(context.Background(), b, "b", PriorityLive))
	if batch := g.next(t); len(batch) != 2 {
		t.Fatalf("first batch %v, want a share of 2", batch)
	}
	last := submitAsync(context.Background(), b, "c", PriorityLive)
	if batch := g.next(t); len(batch) != 1 || batch[0] != "c" {
		t.Fatalf("second batch %v, want [c] at once", batch)
	}
	close(g.release)
	for _, ch := range append(first, last) {
		if r := recv(t, ch); r.err != nil {
			t.Errorf("%s: %v", r.in, r.err)
		}
	}
}
