package pipelines

import (
	"time"

	"github.com/pigweight/pigweight/pipelines/spec"
)

// captureClock says when a frame was captured. A camera's frames were captured as they come
// out (the pipeline's delay is a few frames); a synthetic pen that grows lives on simulated
// time, which starts again with each run, so that a day of the pen is a day in the API.
type captureClock struct {
	simulated  bool
	start      time.Time
	daySeconds float64
}

// captureClockOf is the clock of a run of src that starts at runStart.
func captureClockOf(src spec.Source, runStart time.Time) captureClock {
	return captureClock{}
}

// at is the capture time of a frame that came out at now, at runPTS into its run.
func (c captureClock) at(now time.Time, runPTS time.Duration) time.Time {
	if !c.simulated {
		return now
	}
	return c.start.Add(time.Duration(float64(runPTS) * 86400 / c.daySeconds))
}
