package fanout

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/signaling/fanout/fanouttest"
)

// A viewer's "detections" DataChannel, opened by the server before its offer, carries each
// analysed frame once, stamped with the RTP timestamp of that frame's video.
func TestDetectionsMatchVideoRTPTimestamps(t *testing.T) {
	h, in, _ := runningHub(t, nil)
	analysed := make(chan media.AnalysedFrame, 1)
	ctx, cancel := context.WithCancel(context.Background())
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		h.SendFrames(ctx, analysed)
	}()
	t.Cleanup(func() { cancel(); <-sent })

	client, v := detectionsViewer(t, h)

	aus := fixture(t)
	for _, au := range aus {
		feed(t, in, []media.AccessUnit{au}, 0)
		analysed <- media.AnalysedFrame{PTS: au.PTS, Frame: uint64(au.PTS / frameDuration), Detections: []detect.Detection{
			{Box: detect.Box{X: 10, Y: 20, W: 30, H: 40}, Class: "pig", Score: 0.9, Track: 3, WeightKg: 41.5},
		}}
	}

	frames := map[uint32]bool{}
	var msgs []DetectionsMessage
	deadline := time.After(20 * time.Second) // generous: the race detector on a busy machine
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
			t.Fatalf("after 20 s: %d frames, %d detection messages of %d", len(frames), len(msgs), len(aus))
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
		if len(d.Detections) != 1 || d.Detections[0].Class != "pig" || d.Detections[0].Track != 3 || d.Detections[0].WeightKg != 41.5 {
			t.Errorf("detections %+v", d.Detections)
		}
	}
	if st := v.Stats(); st.DetectionsSent != uint64(len(aus)) || st.DetectionsDropped != 0 {
		t.Errorf("viewer sent %d, dropped %d detection messages; want %d, 0", st.DetectionsSent, st.DetectionsDropped, len(aus))
	}
}

// detectionsViewer connects a client to h the way signaling.PeerViewers.Join does it
// (detections channel, track, then the server's offer) and waits for the channel to open.
func detectionsViewer(t *testing.T, h *Hub) (*fanouttest.Client, *Viewer) {
	t.Helper()
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

	return client, v
}

// The latency clock: pings on the detections channel come back with the server's time, and
// every tenth frame's arrival time goes out keyed by its RTP timestamp.
func TestLatencyClockMessages(t *testing.T) {
	h, in, _ := runningHub(t, nil)
	client, _ := detectionsViewer(t, h)
	before := unixMillis(time.Now())
	waitFor(t, "the client's end of the detections channel", func() bool {
		return client.SendText(DetectionsLabel, `{"type":"ping","t":12345.5}`) == nil
	})
	aus := fixture(t)
	arrived := time.Unix(1700000000, 0)
	for i := range aus {
		aus[i].Captured = arrived.Add(time.Duration(i) * time.Millisecond)
	}
	feed(t, in, aus, 0)

	var pong clockMessage
	times := map[uint32]float64{}
	deadline := time.After(20 * time.Second) // generous: the race detector on a busy machine
	for pong.Type == "" || len(times) < len(aus)/timingEvery {
		select {
		case m := <-client.Messages():
			var kind struct{ Type string }
			json.Unmarshal(m.Data, &kind)
			switch kind.Type {
			case "pong":
				json.Unmarshal(m.Data, &pong)
			case "time":
				var tm timeMessage
				json.Unmarshal(m.Data, &tm)
				times[tm.RTP] = tm.Captured
			}
		case <-deadline:
			t.Fatalf("after 5 s: pong %+v, %d time messages for %d frames", pong, len(times), len(aus))
		}
	}
	if pong.T != 12345.5 || pong.Server < before || pong.Server > unixMillis(time.Now()) {
		t.Errorf("pong %+v, want t 12345.5 and the server's time now", pong)
	}
	for i := timingEvery - 1; i < len(aus); i += timingEvery {
		rtp := RTPTimestamp(aus[i].PTS)
		if got, want := times[rtp], unixMillis(aus[i].Captured); got != want {
			t.Errorf("frame %d (rtp %d): captured %.3f, want %.3f", i, rtp, got, want)
		}
	}
}
