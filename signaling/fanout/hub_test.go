package fanout

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/signaling/fanout/fanouttest"
	"github.com/pigweight/pigweight/signaling/peer"
)

const frameDuration = time.Second / 15 // the fixture's

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fixture is pen.h264 as access units: keyframes at 0 and 15.
func fixture(t testing.TB) []media.AccessUnit {
	t.Helper()
	aus, err := fanouttest.ReadAccessUnits("testdata/pen.h264", frameDuration)
	if err != nil {
		t.Fatal(err)
	}
	return aus
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// loopbackAPI serves 127.0.0.1 only: quick to gather, nothing leaves the machine.
func loopbackAPI(t testing.TB) *webrtc.API {
	t.Helper()
	api, err := peer.NewAPI(peer.Config{IncludeLoopback: true, AllowedIPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	return api
}

func clientAPI(t testing.TB) *webrtc.API {
	t.Helper()
	api, err := fanouttest.NewAPI()
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// runningHub runs a hub until the test ends and returns it with its input.
func runningHub(t testing.TB, configure func(*Hub)) (*Hub, chan<- media.AccessUnit, context.CancelFunc) {
	t.Helper()
	h := NewHub("pen1", testLogger(t))
	if configure != nil {
		configure(h)
	}
	aus := make(chan media.AccessUnit)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { h.Run(ctx, aus) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return h, aus, cancel
}

// feed hands aus to the hub, interval apart (zero: as fast as it takes them).
func feed(t testing.TB, in chan<- media.AccessUnit, aus []media.AccessUnit, interval time.Duration) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for _, au := range aus {
		select {
		case in <- au:
		case <-timeout:
			t.Fatal("hub stopped taking access units")
		}
		if interval > 0 {
			time.Sleep(interval)
		}
	}
}

// feedAll hands aus to the hub as fast as it takes them and waits until it has handled them.
func feedAll(t testing.TB, h *Hub, in chan<- media.AccessUnit, aus []media.AccessUnit) {
	t.Helper()
	want := h.Stats().AccessUnits + uint64(len(aus))
	feed(t, in, aus, 0)
	waitFor(t, "the hub to handle the access units", func() bool { return h.Stats().AccessUnits == want })
}

// viewing is a client connected to a hub through a server-side peer connection.
type viewing struct {
	client   *fanouttest.Client
	viewer   *Viewer
	server   *webrtc.PeerConnection
	answered time.Time // when the client had the answer
}

// connect makes a Pion client a viewer of h, signalling in-process.
func connect(t testing.TB, api *webrtc.API, h *Hub) *viewing {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	server, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := h.Join(server)
	if err != nil {
		_ = server.Close()
		t.Fatal(err)
	}
	server.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			v.Connected()
		}
	})
	client, err := fanouttest.NewClient(clientAPI(t))
	if err != nil {
		t.Fatal(err)
	}
	w := &viewing{client: client, viewer: v, server: server}
	t.Cleanup(func() {
		_ = client.Close()
		h.Leave(v)
		_ = server.GracefulClose()
	})

	offer, err := client.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := server.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		t.Fatal(err)
	}
	answer, err := server.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	answerSDP, err := fanouttest.SetLocalAndGather(ctx, server, answer)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.SetAnswer(answerSDP); err != nil {
		t.Fatal(err)
	}
	w.answered = time.Now()
	return w
}

// next returns the client's next picture, failing after a few seconds.
func (w *viewing) next(t testing.TB) fanouttest.Frame {
	t.Helper()
	select {
	case f := <-w.client.Frames():
		return f
	case <-time.After(5 * time.Second):
		t.Fatalf("no picture within 5 s (viewer %+v, client gaps %d)", w.viewer.Stats(), w.client.Gaps())
		return fanouttest.Frame{}
	}
}

// quiet fails if a picture arrives within d.
func (w *viewing) quiet(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case f := <-w.client.Frames():
		t.Fatalf("unexpected picture, timestamp %d keyframe %v", f.Timestamp, f.Keyframe)
	case <-time.After(d):
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestViewerStartsWithCachedGroup(t *testing.T) {
	aus := fanouttest.Loop(fixture(t), 50, frameDuration)
	h, in, _ := runningHub(t, nil)
	feedAll(t, h, in, aus[:20]) // keyframe at 15: 5 cached
	if got := h.Stats().CachedFrames; got != 5 {
		t.Fatalf("cached %d frames, want 5", got)
	}

	w := connect(t, loopbackAPI(t), h)
	first := w.next(t)
	ttff := first.Received.Sub(w.answered)
	t.Logf("time to first frame after the answer: %v (server sent it %v after the answer)",
		ttff, w.viewer.FirstFrameSent().Sub(w.answered))
	types := fanouttest.NALTypes(first.Data)
	if !first.Keyframe || !fanouttest.HasNAL(first.Data, fanouttest.NALSPS) || !fanouttest.HasNAL(first.Data, fanouttest.NALPPS) {
		t.Fatalf("first picture has NAL types %v, want SPS, PPS and IDR", types)
	}
	// The cached group keeps its own timestamps.
	if want := RTPTimestamp(aus[15].PTS); first.Timestamp != want {
		t.Errorf("first catch-up timestamp %d, want %d", first.Timestamp, want)
	}
	for i := 16; i < 20; i++ {
		f := w.next(t)
		if want := RTPTimestamp(aus[i].PTS); f.Timestamp != want || f.Keyframe {
			t.Errorf("catch-up frame %d: timestamp %d keyframe %v, want %d, false", i, f.Timestamp, f.Keyframe, want)
		}
	}

	// Live frames carry their PTS.
	feed(t, in, aus[20:], 2*time.Millisecond)
	for i := 20; i < len(aus); i++ {
		f := w.next(t)
		if want := RTPTimestamp(aus[i].PTS); f.Timestamp != want || f.Keyframe != aus[i].Keyframe {
			t.Fatalf("live frame %d: timestamp %d keyframe %v, want %d, %v", i, f.Timestamp, f.Keyframe, want, aus[i].Keyframe)
		}
	}
	s := w.viewer.Stats()
	if s.Frames != 35 || s.Dropped != 0 || w.client.Gaps() != 0 {
		t.Errorf("viewer sent %d frames, dropped %d, client saw %d gaps; want 35, 0, 0", s.Frames, s.Dropped, w.client.Gaps())
	}
	if ttff > time.Second {
		t.Errorf("first frame %v after the answer: the cached keyframe should make it immediate", ttff)
	}
}

func TestViewerWithoutCacheWaitsForKeyframe(t *testing.T) {
	aus := fanouttest.Loop(fixture(t), 30, frameDuration)
	h, in, _ := runningHub(t, nil)
	feedAll(t, h, in, aus[1:3]) // no keyframe yet: nothing to cache
	w := connect(t, loopbackAPI(t), h)
	waitFor(t, "the viewer to start", w.viewer.started.Load)
	feed(t, in, aus[3:10], 0)
	w.quiet(t, 100*time.Millisecond)
	feed(t, in, aus[15:17], 0)
	if f := w.next(t); !f.Keyframe || f.Timestamp != RTPTimestamp(aus[15].PTS) {
		t.Fatalf("first picture: keyframe %v timestamp %d, want the keyframe at %d", f.Keyframe, f.Timestamp, RTPTimestamp(aus[15].PTS))
	}
}

func TestSlowViewerDropsAlone(t *testing.T) {
	aus := fanouttest.Loop(fixture(t), 75, frameDuration)
	gate := make(chan struct{})
	h, in, _ := runningHub(t, func(h *Hub) {
		h.onJoin = func(v *Viewer) {
			if v.id != 2 {
				return
			}
			// The slow viewer: a tiny queue and a writer stuck until the gate opens.
			v.queue = make(chan *frame, 2)
			v.beforeQueuedFrame = func() {
				select {
				case <-gate:
				case <-v.ctx.Done():
				}
			}
		}
	})
	api := loopbackAPI(t)
	fast, slow := connect(t, api, h), connect(t, api, h)
	waitFor(t, "both viewers to start", func() bool { return fast.viewer.started.Load() && slow.viewer.started.Load() })

	// Paced a little: a burst of 45 pictures at once overflows the client's socket buffer on
	// loopback, and with nothing after it no NACK could bring the tail back.
	start := time.Now()
	feed(t, in, aus[:45], 2*time.Millisecond)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("feeding 45 access units took %v: the slow viewer held the hub up", took)
	}
	for i := range 45 {
		if f := fast.next(t); f.Timestamp != RTPTimestamp(aus[i].PTS) {
			t.Fatalf("fast viewer frame %d: timestamp %d, want %d", i, f.Timestamp, RTPTimestamp(aus[i].PTS))
		}
	}
	// The slow one holds frame 0 in its writer and 1, 2 in its queue; it lost the other 42.
	if d := slow.viewer.Dropped(); d != 42 {
		t.Errorf("slow viewer dropped %d, want 42", d)
	}
	if d := fast.viewer.Dropped(); d != 0 {
		t.Errorf("fast viewer dropped %d, want 0", d)
	}

	close(gate)
	for i := range 3 {
		if f := slow.next(t); f.Timestamp != RTPTimestamp(aus[i].PTS) {
			t.Fatalf("slow viewer frame %d: timestamp %d, want %d", i, f.Timestamp, RTPTimestamp(aus[i].PTS))
		}
	}
	feed(t, in, aus[45:50], 5*time.Millisecond) // a keyframe at 45; paced for the 2-frame queue
	f := slow.next(t)
	if !f.Keyframe || f.Timestamp != RTPTimestamp(aus[45].PTS) {
		t.Fatalf("slow viewer resumed with keyframe %v timestamp %d, want the keyframe at %d", f.Keyframe, f.Timestamp, RTPTimestamp(aus[45].PTS))
	}
	for i := 46; i < 50; i++ {
		if f := slow.next(t); f.Timestamp != RTPTimestamp(aus[i].PTS) {
			t.Fatalf("slow viewer frame %d: timestamp %d, want %d", i, f.Timestamp, RTPTimestamp(aus[i].PTS))
		}
	}
	st := h.Stats()
	if len(st.Viewers) != 2 || st.Viewers[0].Dropped != 0 || st.Viewers[1].Dropped != 42 {
		t.Errorf("stats %+v", st)
	}
}

func TestKeyframeRequestResendsCachedGroup(t *testing.T) {
	aus := fanouttest.Loop(fixture(t), 30, frameDuration)
	h, in, _ := runningHub(t, func(h *Hub) { h.keyframeInterval = 200 * time.Millisecond })
	feedAll(t, h, in, aus[:20])
	w := connect(t, loopbackAPI(t), h)
	var last fanouttest.Frame
	for range 5 {
		last = w.next(t)
	}

	// Too soon after the catch-up at connection: ignored.
	if err := w.client.RequestKeyframe(); err != nil {
		t.Fatal(err)
	}
	w.quiet(t, 100*time.Millisecond)

	time.Sleep(150 * time.Millisecond)
	if err := w.client.RequestKeyframe(); err != nil {
		t.Fatal(err)
	}
	if err := w.client.RequestKeyframe(); err != nil { // within the interval: one resend only
		t.Fatal(err)
	}
	f := w.next(t)
	if !f.Keyframe || f.Timestamp != last.Timestamp+1 {
		t.Fatalf("after the PLI: keyframe %v timestamp %d, want a keyframe at %d", f.Keyframe, f.Timestamp, last.Timestamp+1)
	}
	for i := 1; i < 5; i++ {
		if f := w.next(t); f.Keyframe || f.Timestamp != last.Timestamp+1+uint32(i) {
			t.Fatalf("resent frame %d: keyframe %v timestamp %d", i, f.Keyframe, f.Timestamp)
		}
	}
	w.quiet(t, 100*time.Millisecond)
	waitFor(t, "the keyframe requests to be counted", func() bool { return w.viewer.Stats().KeyframeRequests == 3 })
	if s := w.viewer.Stats(); s.KeyframeResends != 1 {
		t.Errorf("%d resends, want 1", s.KeyframeResends)
	}

	// The next live frame follows with its own timestamp.
	feed(t, in, aus[20:21], 0)
	if f := w.next(t); f.Timestamp != RTPTimestamp(aus[20].PTS) {
		t.Errorf("live frame timestamp %d, want %d", f.Timestamp, RTPTimestamp(aus[20].PTS))
	}
}

// A keyframe request while the stream has stopped (its newest picture is over a second old)
// resends nothing: the stream's next keyframe answers it, with its own timestamp.
func TestKeyframeRequestWhileStoppedResendsNothing(t *testing.T) {
	aus := fanouttest.Loop(fixture(t), 30, frameDuration)
	stopped := time.Now().Add(-2 * time.Second)
	for i := range aus {
		aus[i].Captured = stopped
	}
	h, in, _ := runningHub(t, func(h *Hub) { h.keyframeInterval = 50 * time.Millisecond })
	feedAll(t, h, in, aus[:20])
	w := connect(t, loopbackAPI(t), h)
	for range 5 { // a new viewer still gets the last group
		w.next(t)
	}
	time.Sleep(100 * time.Millisecond)
	if err := w.client.RequestKeyframe(); err != nil {
		t.Fatal(err)
	}
	w.quiet(t, 200*time.Millisecond)
	waitFor(t, "the keyframe request to be counted", func() bool { return w.viewer.Stats().KeyframeRequests >= 1 })
	if s := w.viewer.Stats(); s.KeyframeResends != 0 {
		t.Errorf("%d resends of a stopped stream's group", s.KeyframeResends)
	}
}

// viewerGoroutines counts the goroutines running a Viewer's methods.
// noViewerGoroutines waits a moment for viewer goroutines that have signalled they are done
// but are still returning (a stack taken right after wg.Done still shows them), and reports
// how many remain.
func noViewerGoroutines() int {
	deadline := time.Now().Add(time.Second)
	n := viewerGoroutines()
	for n != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		n = viewerGoroutines()
	}
	return n
}

func viewerGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "fanout.(*Viewer).run") || strings.Contains(g, "fanout.(*Viewer).readRTCP") {
			n++
		}
	}
	return n
}

func TestLeaveStopsViewer(t *testing.T) {
	aus := fanouttest.Loop(fixture(t), 20, frameDuration)
	h, in, _ := runningHub(t, nil)
	feedAll(t, h, in, aus[:16]) // keyframe at 15: 1 cached
	w := connect(t, loopbackAPI(t), h)
	w.next(t)
	if n := viewerGoroutines(); n != 2 {
		t.Fatalf("%d viewer goroutines, want 2", n)
	}
	h.Leave(w.viewer)
	select {
	case <-w.viewer.Done():
	default:
		t.Fatal("viewer not done after Leave")
	}
	if n := noViewerGoroutines(); n != 0 {
		t.Errorf("%d viewer goroutines after Leave, want 0", n)
	}
	h.Leave(w.viewer) // harmless
	feed(t, in, aus[16:], 0)
	if n := len(h.Stats().Viewers); n != 0 {
		t.Errorf("%d viewers after Leave, want 0", n)
	}
	if f := w.viewer.Stats().Frames; f != 1 {
		t.Errorf("viewer sent %d frames, want 1", f)
	}
}

func TestClosedConnectionEndsViewer(t *testing.T) {
	aus := fanouttest.Loop(fixture(t), 16, frameDuration)
	h, in, _ := runningHub(t, nil)
	feedAll(t, h, in, aus)
	w := connect(t, loopbackAPI(t), h)
	w.next(t)
	if err := w.server.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.viewer.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("viewer not done after its peer connection closed")
	}
	h.Leave(w.viewer)
}

func TestRunEndEndsViewers(t *testing.T) {
	aus := fanouttest.Loop(fixture(t), 16, frameDuration)
	h, in, cancel := runningHub(t, nil)
	feedAll(t, h, in, aus)
	api := loopbackAPI(t)
	w := connect(t, api, h)
	w.next(t)
	cancel()
	select {
	case <-h.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	select {
	case <-w.viewer.Done():
	default:
		t.Fatal("viewer not done after Run returned")
	}
	if n := noViewerGoroutines(); n != 0 {
		t.Errorf("%d viewer goroutines after Run returned, want 0", n)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := h.Join(pc); !errors.Is(err, ErrHubClosed) {
		t.Errorf("Join after Run: %v, want ErrHubClosed", err)
	}
}

func TestRunEndsWhenInputCloses(t *testing.T) {
	h := NewHub("pen1", testLogger(t))
	aus := make(chan media.AccessUnit, 1)
	aus <- media.AccessUnit{Codec: "h265", Data: []byte{0, 0, 0, 1, 0x40, 1}}
	close(aus)
	h.Run(context.Background(), aus)
	if s := h.Stats(); s.AccessUnits != 1 || s.Skipped != 1 {
		t.Errorf("stats %+v, want 1 access unit, skipped", s)
	}
}

func TestRTPTimestamp(t *testing.T) {
	tests := []struct {
		pts  time.Duration
		want uint32
	}{
		{0, 0},
		{time.Second, 90000},
		{time.Second / 15, 6000},
		{time.Millisecond, 90},
		{11*time.Hour + 30*time.Minute, uint32(uint64(41400*90000) % (1 << 32))},
		{-time.Second, uint32(1<<32 - 90000)},
	}
	for _, tt := range tests {
		if got := RTPTimestamp(tt.pts); got != tt.want {
			t.Errorf("RTPTimestamp(%v) = %d, want %d", tt.pts, got, tt.want)
		}
	}
}

func TestGOPCache(t *testing.T) {
	c := gopCache{maxFrames: 3, maxBytes: 100}
	f := func(serial uint64, key bool, size int) *frame {
		return &frame{serial: serial, keyframe: key, size: size}
	}
	if g := c.add(f(1, false, 10)); g != nil {
		t.Fatal("cached a group without a keyframe")
	}
	g1 := c.add(f(2, true, 10))
	g2 := c.add(f(3, false, 10))
	if len(g1.frames) != 1 || len(g2.frames) != 2 || g2.bytes != 20 || g2.newest().serial != 3 {
		t.Fatalf("groups %+v %+v", g1, g2)
	}
	c.add(f(4, false, 10))
	if g := c.add(f(5, false, 10)); g != nil {
		t.Fatal("cached more than maxFrames")
	}
	if g := c.add(f(6, false, 10)); g != nil {
		t.Fatal("cached a group that lost its head")
	}
	if g := c.add(f(7, true, 90)); len(g.frames) != 1 {
		t.Fatalf("group %+v", g)
	}
	if g := c.add(f(8, false, 20)); g != nil {
		t.Fatal("cached more than maxBytes")
	}
	if len(g2.frames) != 2 || g2.frames[1].serial != 3 {
		t.Fatal("an old snapshot changed")
	}
}

// A resent group goes out packed after the last timestamp sent, except frames whose own
// timestamps are later (a group from after a restart), which keep them, across the wrap too.
func TestResendTimestamp(t *testing.T) {
	for _, c := range []struct {
		own, next, want uint32
	}{
		{1000, 5001, 5001},         // older: packed
		{5001, 5001, 5001},         // the same
		{9000, 5001, 9000},         // later: its own
		{10, 1<<32 - 100, 10},      // later across the wrap
		{1<<32 - 100, 10, 10},      // older across the wrap
		{1<<31 + 5001, 5001, 5001}, // half the clock away: taken as older
	} {
		if got := resendTimestamp(c.own, c.next); got != c.want {
			t.Errorf("resendTimestamp(%d, %d) = %d, want %d", c.own, c.next, got, c.want)
		}
	}
}
