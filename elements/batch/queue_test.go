package batch

import (
	"fmt"
	"testing"
	"time"
)

func TestQueue(t *testing.T) {
	q := newQueue[string](8)
	for _, e := range []struct {
		p Priority
		s string
	}{{PriorityJob, "j1"}, {PriorityLive, "l1"}, {PriorityJob, "j2"}, {PriorityLive, "l2"}, {PriorityJob, "j3"}} {
		q.push(e.p, e.s)
	}
	if low, _ := q.lowest(); low != PriorityJob {
		t.Errorf("lowest = %v, want job", low)
	}
	if !q.remove(PriorityJob, "j2") || q.remove(PriorityJob, "j2") {
		t.Error("remove j2: want true once, then false")
	}
	if got := q.popOldest(PriorityLive); got != "l1" {
		t.Errorf("popOldest(live) = %s, want l1", got)
	}
	if got := fmt.Sprint(q.take(nil, 2)); got != "[l2 j1]" {
		t.Errorf("take(2) = %s, want [l2 j1]", got)
	}
	if q.len() != 1 {
		t.Errorf("len = %d, want 1", q.len())
	}
	if low, _ := q.lowest(); low != PriorityJob {
		t.Errorf("lowest = %v, want job", low)
	}
	// Freed slots are zeroed, so the queue pins no frames.
	if full := q.levels[PriorityJob][:3]; full[1] != "" || full[2] != "" {
		t.Errorf("freed slots hold %q", full[1:])
	}
	var drained []string
	q.drain(func(s string) { drained = append(drained, s) })
	if fmt.Sprint(drained) != "[j3]" || q.len() != 0 {
		t.Errorf("drain: %v, len %d", drained, q.len())
	}
	if _, ok := q.lowest(); ok {
		t.Error("lowest of an empty queue reported ok")
	}
}

func TestSummary(t *testing.T) {
	ms := time.Millisecond
	s := newSamples()
	for i := 1; i <= 100; i++ {
		s.add(time.Duration(i) * ms)
	}
	got := summarize(s.snapshot())
	want := Summary{Count: 100, Mean: 50*ms + 500*time.Microsecond, P50: 50 * ms, P95: 95 * ms, Max: 100 * ms}
	if got != want {
		t.Errorf("summary = %+v, want %+v", got, want)
	}

	// Only the latest windowSize samples count, but Count is all of them.
	for range windowSize {
		s.add(ms)
	}
	got = summarize(s.snapshot())
	if got.Count != 100+windowSize || got.Max != ms || got.P95 != ms {
		t.Errorf("after the window slid: %+v", got)
	}
	if z := summarize(nil, 0); z != (Summary{}) {
		t.Errorf("empty summary = %+v", z)
	}
}

func TestPriorityString(t *testing.T) {
	for p, want := range map[Priority]string{PriorityJob: "job", PriorityLive: "live", 5: "priority(5)"} {
		if p.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(p), p.String(), want)
		}
	}
}
