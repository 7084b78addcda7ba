package signaling

import "github.com/pion/webrtc/v4"

// Viewers is what the signalling sessions need from the WebRTC side: the wiring adapts the
// fan-out and peer packages to it. Its methods are called from the socket's reader goroutine
// and may block for as long as creating a peer connection takes.
type Viewers interface {
	// Join creates a viewer of stream and returns it with the server's offer SDP. A stream that
	// does not exist yields an error wrapping ErrUnknownStream.
	//
	// onCandidate receives the server's ICE candidates, nil marking the end of gathering. It may
	// be called from any goroutine, before Join has returned, and after the viewer has closed;
	// it never blocks.
	Join(stream string, onCandidate func(*webrtc.ICECandidateInit)) (Viewer, string, error)
}

// Viewer is one browser's view of one stream.
type Viewer interface {
	// Answer applies the browser's answer SDP.
	Answer(sdp string) error
	// AddCandidate adds one of the browser's ICE candidates; an empty c.Candidate marks the end
	// of the browser's gathering.
	AddCandidate(c webrtc.ICECandidateInit) error
	// Close ends the viewer and releases what it holds. It is called once.
	Close() error
}
