package signaling

import "github.com/pion/webrtc/v4"

// Viewers is what the signalling sessions need from the WebRTC side: the wiring adapts the
// fan-out and peer packages to it. Its methods are called from the socket's owner goroutine
// and may block for as long as creating a peer connection takes.
type Viewers interface {
	// Join creates a viewer of stream and returns it with the server's offer SDP. A stream that
	// does not exist yields an error wrapping ErrUnknownStream. The viewer reports through
	// events from then on.
	Join(stream string, events ViewerEvents) (Viewer, string, error)
}

// ViewerEvents is how a viewer reports to its session. Each func may be called from any
// goroutine, before Join has returned and after the viewer has closed, and more than once;
// none blocks. A nil func is not called.
type ViewerEvents struct {
	// Candidate receives the server's ICE candidates, nil marking the end of gathering.
	Candidate func(*webrtc.ICECandidateInit)
	// Connected says that the viewer's peer connection is connected: the connect deadline no
	// longer applies to it.
	Connected func()
	// Ended says that the viewer ended by itself (its peer connection failed or closed, its
	// stream stopped): the session then closes it, which gives its seat back, and tells the
	// client.
	Ended func()
}

// Viewer is one browser's view of one stream.
type Viewer interface {
	// Answer applies the browser's answer SDP.
	Answer(sdp string) error
	// AddCandidate adds one of the browser's ICE candidates; an empty c.Candidate marks the end
	// of the browser's gathering.
	AddCandidate(c webrtc.ICECandidateInit) error
	// Close ends the viewer and releases what it holds. The session calls it once; the viewer
	// may have ended by itself before.
	Close() error
}
