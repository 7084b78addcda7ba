package fanout

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"

	"github.com/pion/webrtc/v4"

	"github.com/pigweight/pigweight/pipelines/media"
)

// testSource plays the pipeline manager: its streams exist until ended and publish what the
// test sends; it counts keyframe requests.
type testSource struct {
	mu      sync.Mutex
	streams map[string]bool
	opened  map[string][]chan media.AccessUnit
	asked   chan string
}

// idleSource is a source of the streams names, which produce nothing: enough for hubs to
// subscribe to.
func idleSource(names ...string) *testSource {
	s := &testSource{streams: map[string]bool{}, opened: map[string][]chan media.AccessUnit{}, asked: make(chan string, 16)}
	for _, n := range names {
		s.streams[n] = true
	}
	return s
}

func (s *testSource) Open(stream string, buffer int) (Stream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.streams[stream] {
		return Stream{}, errors.New("no such stream")
	}
	c := make(chan media.AccessUnit, buffer)
	s.opened[stream] = append(s.opened[stream], c)
	var once sync.Once
	return Stream{AccessUnits: c, Close: func() { once.Do(func() { s.closeOne(stream, c) }) }}, nil
}

func (s *testSource) closeOne(stream string, c chan media.AccessUnit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, o := range s.opened[stream] {
		if o == c {
			close(c)
			s.opened[stream] = append(s.opened[stream][:i], s.opened[stream][i+1:]...)
			return
		}
	}
}

func (s *testSource) RequestKeyframe(stream string) error {
	select {
	case s.asked <- stream:
	default:
	}
	return nil
}

func TestHubsViewers(t *testing.T) {
	hubs := NewHubs(idleSource("pen1"), testLogger(t))
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

// A viewer joining, and one reporting a lost picture, make the hub ask the stream's encoder for
// a keyframe, no more often than the keyframe interval.
func TestViewersAskTheEncoderForKeyframes(t *testing.T) {
	src := idleSource("pen1")
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
