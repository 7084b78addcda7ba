package pipelines

import (
	"sync"
	"time"
)

// fpsWindow is how long the frame rate is averaged over.
const fpsWindow = time.Second

// fpsMeter measures a frame rate over consecutive windows of fpsWindow.
type fpsMeter struct {
	mu          sync.Mutex
	windowStart time.Time
	count       int
	last        float64
	lastFrame   time.Time
}

func (m *fpsMeter) observe(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastFrame = now
	if m.windowStart.IsZero() {
		m.windowStart = now
	}
	m.count++
	if elapsed := now.Sub(m.windowStart); elapsed >= fpsWindow {
		m.last = float64(m.count) / elapsed.Seconds()
		m.windowStart, m.count = now, 0
	}
}

// rate is the last window's rate, or 0 when no frame came for two windows.
func (m *fpsMeter) rate(now time.Time) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if now.Sub(m.lastFrame) > 2*fpsWindow {
		return 0
	}
	return m.last
}
