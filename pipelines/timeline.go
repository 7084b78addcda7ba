package pipelines

import (
	"sync"
	"time"
)

// timeline is the offset that makes a pipeline's timestamps one forward-running line across
// its runs: a run's timestamps start where the last run's latest ended, plus the wall-clock
// time since, as if the stream had never stopped.
type timeline struct {
	mu     sync.Mutex
	latest time.Duration // the latest timestamp published, shifted
	at     time.Time     // when it was published; zero before the first
}

// saw records a published (shifted) timestamp.
func (t *timeline) saw(pts time.Duration) {
	t.mu.Lock()
	if pts > t.latest || t.at.IsZero() {
		t.latest = pts
	}
	t.at = time.Now()
	t.mu.Unlock()
}

// follow makes t continue from where other, a replaced pipeline's timeline, stands.
func (t *timeline) follow(other *timeline) {
	other.mu.Lock()
	latest, at := other.latest, other.at
	other.mu.Unlock()
	t.mu.Lock()
	t.latest, t.at = latest, at
	t.mu.Unlock()
}

// nextRun returns the offset for a run starting now.
func (t *timeline) nextRun() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.at.IsZero() {
		return 0
	}
	return t.latest + time.Since(t.at)
}
