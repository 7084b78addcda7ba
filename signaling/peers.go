package signaling

import (
	"fmt"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/pigweight/pigweight/signaling/fanout"
)

// HubSource finds the fan-out hub of a stream.
type HubSource interface {
	Hub(stream string) (*fanout.Hub, bool)
}

// PeerViewers creates real viewers: a Pion peer connection per viewer, joined to its stream's
// hub, offered to the browser by the server. Each offer also opens a DataChannel labelled
// "detections" on which the hub sends the stream's analysed frames (fanout.DetectionsMessage).
type PeerViewers struct {
	API *webrtc.API
	// Configuration gives each viewer's peer connection its configuration (usually
	// peer.Config.Configuration, which mints fresh TURN credentials per call).
	Configuration func() webrtc.Configuration
	Hubs          HubSource
}

// Join implements Viewers.
func (pv *PeerViewers) Join(stream string, events ViewerEvents) (Viewer, string, error) {
	hub, ok := pv.Hubs.Hub(stream)
	if !ok {
		return nil, "", fmt.Errorf("%w: %q", ErrUnknownStream, stream)
	}
	pc, err := pv.API.NewPeerConnection(pv.Configuration())
	if err != nil {
		return nil, "", err
	}
	// The channel goes into the offer with the video. Unordered and without retransmissions:
	// a late overlay is useless, the next analysed frame replaces it.
	ordered, retransmits := false, uint16(0)
	dc, err := pc.CreateDataChannel(fanout.DetectionsLabel, &webrtc.DataChannelInit{Ordered: &ordered, MaxRetransmits: &retransmits})
	if err != nil {
		pc.Close()
		return nil, "", err
	}
	v, err := hub.Join(pc)
	if err != nil {
		pc.Close()
		return nil, "", err
	}
	v.SetDetectionsChannel(dc)
	pv2 := &peerViewer{pc: pc, hub: hub, viewer: v, watched: make(chan struct{})}
	ended := func() {
		if events.Ended != nil {
			events.Ended()
		}
	}
	// The fan-out viewer ends by itself when its stream stops or its peer connection closes
	// (the browser closed it): the session must hear of it to give the seat back at once,
	// not when the socket ends. The goroutine ends with the viewer, at the latest in Close.
	go func() {
		defer close(pv2.watched)
		<-v.Done()
		ended()
	}()
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if events.Candidate == nil {
			return
		}
		if c == nil {
			events.Candidate(nil)
			return
		}
		init := c.ToJSON()
		events.Candidate(&init)
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			v.Connected()
			if events.Connected != nil {
				events.Connected()
			}
		case webrtc.PeerConnectionStateFailed:
			// Free the connection's sockets now; the session's Close then finds it done.
			pv2.Close()
			ended()
		case webrtc.PeerConnectionStateClosed:
			ended()
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err == nil {
		err = pc.SetLocalDescription(offer)
	}
	if err != nil {
		pv2.Close()
		return nil, "", err
	}
	return pv2, offer.SDP, nil
}

// peerViewer is one browser's peer connection on a hub.
type peerViewer struct {
	pc     *webrtc.PeerConnection
	hub    *fanout.Hub
	viewer *fanout.Viewer
	once   sync.Once
	// watched is closed when the goroutine that watches the fan-out viewer's end has returned.
	watched chan struct{}
}

func (p *peerViewer) Answer(sdp string) error {
	return p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp})
}

func (p *peerViewer) AddCandidate(c webrtc.ICECandidateInit) error {
	return p.pc.AddICECandidate(c)
}

// Close leaves the hub and closes the connection; the session and a failed connection may
// both call it. It returns once the viewer's goroutines have.
func (p *peerViewer) Close() error {
	var err error
	p.once.Do(func() {
		p.hub.Leave(p.viewer)
		err = p.pc.Close()
	})
	<-p.watched // Leave has ended the viewer, so the watcher is on its way out
	return err
}
