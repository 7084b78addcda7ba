package pipelines

import (
	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/pipelines/spec"
)

// FrameStage works on each analysed frame of a pipeline before the frame is published: the
// weight estimator gives the detections their tracks and weights, so that every subscriber
// and the API see them. It runs on the pipeline's frame path: it must return within
// microseconds and never wait on I/O.
type FrameStage interface {
	// StartRun is called as a run of p starts; the RunStage sees that run's analysed frames
	// in order, and is ended once no more will come. nil lets the run's frames pass as they
	// are.
	StartRun(p spec.Pipeline) RunStage
}

// RunStage is a FrameStage's part in one run of a pipeline.
type RunStage interface {
	// Annotate may change f's detections (never the slice's length).
	Annotate(f *media.AnalysedFrame)
	// End says that the run is over: no more frames.
	End()
}

// SetFrameStage makes st the stage of every pipeline started from now on; call it before
// adding pipelines.
func (m *Manager) SetFrameStage(st FrameStage) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stage = st
}

// newSupervisorLocked returns a supervisor for p with the manager's settings; m.mu is held.
func (m *Manager) newSupervisorLocked(p spec.Pipeline) *supervisor {
	s := newSupervisor(p, m.runtime, m.log.With("pipeline", p.Name))
	s.stage = m.stage
	return s
}
