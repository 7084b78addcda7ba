package pipelines

import (
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pigweight/pigweight/pipelines/graph"
	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/pipelines/spec"
)

// startLog is a real GStreamer runtime that records when each run started and when its
// teardown ended; closing takes closeTakes longer than it does.
type startLog struct {
	rt         graph.Runtime
	closeTakes time.Duration

	mu     sync.Mutex
	starts []time.Time
	closed []time.Time
}

func (l *startLog) Start(p spec.Pipeline, hooks media.Hooks) (Run, error) {
	l.mu.Lock()
	l.starts = append(l.starts, time.Now())
	l.mu.Unlock()
	r, err := l.rt.Start(p, hooks)
	if err != nil {
		return nil, err
	}
	return &slowClose{Run: r, log: l}, nil
}

func (l *startLog) times() (starts, closed []time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), l.starts...), append([]time.Time(nil), l.closed...)
}

type slowClose struct {
	*graph.Run
	log *startLog
}

func (r *slowClose) Close() {
	time.Sleep(r.log.closeTakes)
	r.Run.Close()
	r.log.mu.Lock()
	r.log.closed = append(r.log.closed, time.Now())
	r.log.mu.Unlock()
}

// refusingCamera is a pipeline whose camera refuses every connection at once, retried after
// the shortest backoff allowed.
func refusingCamera(t *testing.T) spec.Pipeline {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := spec.DefaultPipeline()
	p.Name = "cam"
	p.Source.Type, p.Source.URI = spec.SourceRTSP, "rtsp://"+ln.Addr().String()+"/pen"
	ln.Close()
	p.Restart = spec.Restart{BackoffMin: spec.Duration(spec.MinBackoff), BackoffMax: spec.Duration(spec.MinBackoff)}
	if err := p.Validate(nil); err != nil {
		t.Fatal(err)
	}
	return p
}

// A camera that refuses at once, retried at the minimum backoff, is restarted no more often
// than the budget allows: without it, ten times a second for ever.
func TestRestartBudgetSlowsAFastFailingSource(t *testing.T) {
	log := &startLog{}
	s := newSupervisor(refusingCamera(t), log, slog.New(slog.DiscardHandler))
	s.budget = restartBudget{window: time.Second, failures: 4}
	s.start()
	time.Sleep(3 * time.Second)
	s.stop()
	starts, _ := log.times()
	// The backoff alone: a start every ~0.1 s, about 30. The budget: 4 failures a second,
	// each start after the first following a failure.
	if len(starts) < 6 || len(starts) > 15 {
		t.Fatalf("%d starts in 3s, want about 12 (4 a second)", len(starts))
	}
	for i := range starts {
		j := i
		for j < len(starts) && starts[j].Sub(starts[i]) < s.budget.window {
			j++
		}
		if j-i > s.budget.failures+1 {
			t.Fatalf("%d starts within %s from start %d: the budget allows %d", j-i, s.budget.window, i, s.budget.failures+1)
		}
	}
	if st := s.status(); st.State != StateStopped || st.Restarts != len(starts)-1 && st.Restarts != len(starts) {
		t.Errorf("status %s with %d restarts after %d starts", st.State, st.Restarts, len(starts))
	}
}

// However small the backoff, the next start waits at least as long as the last teardown took.
func TestRestartsNoFasterThanTeardown(t *testing.T) {
	log := &startLog{closeTakes: 300 * time.Millisecond}
	s := newSupervisor(refusingCamera(t), log, slog.New(slog.DiscardHandler))
	s.start()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if starts, _ := log.times(); len(starts) >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("fewer than 4 starts in 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.stop()
	starts, closed := log.times()
	for i := 1; i < len(starts); i++ {
		// The wait after the run closed at closed[i-1], which took at least closeTakes.
		if gap := starts[i].Sub(closed[i-1]); gap < log.closeTakes {
			t.Errorf("start %d came %s after the last teardown ended, which took %s", i, gap, log.closeTakes)
		}
	}
}

// A pipeline just added says it is starting, not stopped.
func TestAddedPipelineIsStarting(t *testing.T) {
	m := NewManager(&startLog{}, nil)
	defer m.Close()
	if err := m.Add(refusingCamera(t)); err != nil {
		t.Fatal(err)
	}
	if st, _ := m.Get("cam"); st.State == StateStopped {
		t.Errorf("a pipeline just added is %s", st.State)
	}
}
