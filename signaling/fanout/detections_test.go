package fanout

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/pipelines"
	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/signaling/fanout/fanouttest"
)

// latestDetections plays the pipeline manager: the latest analysed frame is the last access
// unit fed, with one box.
type latestDetections struct {
	pts   atomic.Int64
	valid atomic.Bool
}

func (l *latestDetections) Detections(string) (pipelines.Detections, error) {
	if !l.valid.Load() {
		return pipelines.Detections{}, pipelines.ErrNoDetections
	}
	pts := l.pts.Load()
	return pipelines.Detections{PTS: pts, Frame: uint64(time.Duration(pts) / frameDuration), Detections: []detect.Detection{
		{Box: detect.Box{X: 10, Y: 20, W: 30, H: 40}, Class: "pig", Score: 0.9},
	}}, nil
}

// A viewer's "detections" DataChannel, opened by the server before its offer, carries each
// analysed frame once, stamped with the RTP timestamp of that frame's video.
func TestDetectionsMatchVideoRTPTimestamps(t *testing.T) {
	h, in, _ := runningHub(t, nil)
	src := &latestDetections{}
	ctx, cancel := context.WithCancel(context.Background())
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		h.PollDetections(ctx, src, 2*time.Millisecond)
	}()
	t.Cleanup(func() { cancel(); <-polled })

	// Server side, as signaling.PeerViewers.Join does it: channel, track, then the offer.
	server, err := loopbackAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	dc, err := server.CreateDataChannel(DetectionsLabel, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := h.Join(server)
	if err != nil {
		t.Fatal(err)
	}
	v.SetDetectionsChannel(dc)
	server.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			v.Connected()
		}
	})
	client, err := fanouttest.NewClient(clientAPI(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = client.Close()
		h.Leave(v)
		_ = server.GracefulClose()
	})
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	offer, err := server.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	offerSDP, err := fanouttest.SetLocalAndGather(sctx, server, offer)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := client.Answer(sctx, offerSDP)
	if err != nil {
		t.Fatal(err)
	}
	if err := server.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the detections channel to open", func() bool { return dc.ReadyState() == webrtc.DataChannelStateOpen })

	aus := fixture(t)
	for _, au := range aus {
		feed(t, in, []media.AccessUnit{au}, 0)
		src.pts.Store(int64(au.PTS))
		src.valid.Store(true)
		time.Sleep(15 * time.Millisecond) // several polls per frame: each frame still sent once
	}

	frames := map[uint32]bool{}
	var msgs []DetectionsMessage
	deadline := time.After(5 * time.Second)
	for len(frames) < len(aus) || len(msgs) < len(aus) {
		select {
		case f := <-client.Frames():
			frames[f.Timestamp] = true
		case m := <-client.Messages():
			if m.Label != DetectionsLabel {
				t.Fatalf("message on channel %q", m.Label)
			}
			var d DetectionsMessage
			if err := json.Unmarshal(m.Data, &d); err != nil {
				t.Fatalf("message %q: %v", m.Data, err)
			}
			msgs = append(msgs, d)
		case <-deadline:
			t.Fatalf("after 5 s: %d frames, %d detection messages of %d", len(frames), len(msgs), len(aus))
		}
	}
	seen := map[uint32]bool{}
	for _, d := range msgs {
		if !frames[d.RTP] {
			t.Errorf("detections rtp %d (pts %d) matches no received frame", d.RTP, d.PTS)
		}
		if d.RTP != RTPTimestamp(time.Duration(d.PTS)) {
			t.Errorf("rtp %d, want RTPTimestamp(%d) = %d", d.RTP, d.PTS, RTPTimestamp(time.Duration(d.PTS)))
		}
		if seen[d.RTP] {
			t.Errorf("frame rtp %d sent twice", d.RTP)
		}
		seen[d.RTP] = true
		if len(d.Detections) != 1 || d.Detections[0].Class != "pig" {
			t.Errorf("detections %+v", d.Detections)
		}
	}
	if st := v.Stats(); st.DetectionsSent != uint64(len(aus)) || st.DetectionsDropped != 0 {
		t.Errorf("viewer sent %d, dropped %d detection messages; want %d, 0", st.DetectionsSent, st.DetectionsDropped, len(aus))
	}
}
