package fanout

import (
	"context"
	"testing"
	"time"

	"github.com/pion/rtcp"

	"github.com/pion/webrtc/v4"

	"github.com/pigweight/pigweight/pipelines"
	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/pipelines/spec"
)

// idleRun is a pipeline that runs until it is stopped and produces nothing: enough for hubs to
// subscribe to.
type idleRun struct{}

func (idleRun) Decoder() string { return "" }

func (idleRun) Wait(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func (idleRun) Close() {}

// idleManager is a pipeline manager holding one idle pipeline, stream, closed at the end of
// the test.
func idleManager(t *testing.T, stream string) *pipelines.Manager {
	t.Helper()
	m := pipelines.NewManager(pipelines.RuntimeFunc(func(spec.Pipeline, media.Hooks) (pipelines.Run, error) {
		return idleRun{}, nil
	}), testLogger(t))
	t.Cleanup(m.Close)
	p := spec.DefaultPipeline()
	p.Name = stream
	p.Source.Type = spec.SourceSynthetic
	if err := m.Add(p); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestHubsViewers(t *testing.T) {
	hubs := NewHubs(idleManager(t, "pen1"), testLogger(t))
	t.Cleanup(hubs.Close) // before the manager closes

	if n := hubs.Viewers("pen1"); n != 0 {
		t.Errorf("Viewers before any hub = %d, want 0", n)
	}
	if n := hubs.Viewers("nope"); n != 0 {
		t.Errorf("Viewers of an unknown stream = %d, want 0", n)
	}
	h, ok := hubs.Hub("pen1")
	if !ok {
		t.Fatal("no hub for pen1")
	}

	api := loopbackAPI(t)
	join := func() (*webrtc.PeerConnection, *Viewer) {
		t.Helper()
		pc, err := api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pc.Close() })
		v, err := h.Join(pc)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Leave(v) })
		return pc, v
	}
	_, first := join()
	second, _ := join()
	waitFor(t, "two viewers", func() bool { return hubs.Viewers("pen1") == 2 })

	h.Leave(first)
	waitFor(t, "one viewer after Leave", func() bool { return hubs.Viewers("pen1") == 1 })

	// A closed connection ends its viewer at once, though the hub, which sees no frames, has
	// not yet dropped it from its list.
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "no viewer after the connection closed", func() bool { return hubs.Viewers("pen1") == 0 })
	if n := len(h.Stats().Viewers); n != 1 {
		t.Errorf("the hub lists %d viewers, want the ended one still listed (so that this test checks Viewers skips it)", n)
	}

	hubs.Close()
	if n := hubs.Viewers("pen1"); n != 0 {
		t.Errorf("Viewers after Close = %d, want 0", n)
	}
}

// keyframeCounter is a manager that counts keyframe requests, as for an encoded stream.
type keyframeCounter struct {
	*pipelines.Manager
	asked chan string
}

func (k keyframeCounter) RequestKeyframe(stream string) error {
	k.asked <- stream
	return nil
}

// A viewer joining, and one reporting a lost picture, make the hub ask the stream's encoder for
// a keyframe, no more often than the keyframe interval.
func TestViewersAskTheEncoderForKeyframes(t *testing.T) {
	src := keyframeCounter{Manager: idleManager(t, "pen1"), asked: make(chan string, 16)}
	hubs := NewHubs(src, testLogger(t))
	t.Cleanup(hubs.Close)
	h, ok := hubs.Hub("pen1")
	if !ok {
		t.Fatal("no hub")
	}
	h.keyframeInterval = 50 * time.Millisecond
	client, v := detectionsViewer(t, h)
	select {
	case s := <-src.asked:
		if s != "pen1" {
			t.Errorf("keyframe asked of %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("joining asked for no keyframe")
	}
	ssrc := uint32(v.Sender().GetParameters().Encodings[0].SSRC)
	time.Sleep(60 * time.Millisecond) // past the interval
	if err := client.PeerConnection().WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-src.asked:
	case <-time.After(5 * time.Second):
		t.Fatal("a PLI asked for no keyframe")
	}
}
