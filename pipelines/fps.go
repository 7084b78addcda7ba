package pipelines

import (
	"sync"
	"time"
)

// rateWindow is how long a rate is averaged over.
const rateWindow = time.Second

// rateMeter measures a rate (frames, bits) per second over consecutive windows of rateWindow.
type rateMeter struct {
	mu          sync.Mutex
	windowStart time.Time
	count       float64
	last        float64
	lastEvent   time.Time
}

// observe adds n at time now.
func (m *rateMeter) observe(now time.Time, n float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastEvent = now
	if m.windowStart.IsZero() {
		m.windowStart = now
	}
	m.count += n
	if elapsed := now.Sub(m.windowStart); elapsed >= rateWindow {
		m.last = m.count / elapsed.Seconds()
		m.windowStart, m.count = now, 0
	}
}

// rate is the last window's rate, or 0 when nothing came for two windows.
func (m *rateMeter) rate(now time.Time) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if now.Sub(m.lastEvent) > 2*rateWindow {
		return 0
	}
	return m.last
}
