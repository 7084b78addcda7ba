package pipelines

import (
	"errors"
	"slices"
	"time"

	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/pipelines/spec"
)

// errBFrames ends a passthrough run whose camera turned out to send B-frames, which browsers
// do not play over WebRTC (Chromium showed 4 of 15 frames a second); the next runs encode.
var errBFrames = errors.New("the camera sends B-frames")

// reorderLimit is how many access units with a PTS below an earlier one make a run's camera
// one that sends B-frames: one alone could be a camera's timestamp glitch.
const reorderLimit = 3

// reorderWatch counts a passthrough run's H.264 access units that come before an earlier one
// in presentation order, and closes found at reorderLimit. Only the streaming thread that
// taps the access units calls see.
type reorderWatch struct {
	passthrough bool
	latest      time.Duration
	seen, count int
	found       chan struct{}
}

func (w *reorderWatch) see(au media.AccessUnit) {
	if !w.passthrough || au.Codec != "h264" || w.count >= reorderLimit {
		return
	}
	if w.seen > 0 && au.PTS < w.latest {
		if w.count++; w.count == reorderLimit {
			close(w.found)
		}
	}
	w.seen++
	w.latest = max(w.latest, au.PTS)
}

// encodesAlways reports whether p's webrtc output encodes whatever the camera sends.
func encodesAlways(p spec.Pipeline) bool {
	o, ok := p.WebRTCOutput()
	return ok && o.Encode == spec.EncodingAlways
}

// hasWebRTCOutput reports whether p is meant for browser viewers.
func hasWebRTCOutput(p spec.Pipeline) bool {
	_, ok := p.WebRTCOutput()
	return ok
}

// encodingForViewers returns p with its webrtc output set to encode always.
func encodingForViewers(p spec.Pipeline) spec.Pipeline {
	p.Outputs = slices.Clone(p.Outputs)
	for i := range p.Outputs {
		if p.Outputs[i].Type == spec.OutputWebRTC {
			p.Outputs[i].Encode = spec.EncodingAlways
		}
	}
	return p
}
