package whep

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/signaling/admission"
	"github.com/pigweight/pigweight/signaling/fanout"
	"github.com/pigweight/pigweight/signaling/fanout/fanouttest"
	"github.com/pigweight/pigweight/signaling/peer"
)

const frameDuration = time.Second / 15

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type streamMap map[string]*fanout.Hub

func (m streamMap) Hub(name string) (*fanout.Hub, bool) {
	h, ok := m[name]
	return h, ok
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// env is a WHEP server on 127.0.0.1 with one stream, pen1, whose hub has cached a group of
// five pictures; feed sends it more.
type env struct {
	handler *Handler
	server  *httptest.Server
	hub     *fanout.Hub
	in      chan media.AccessUnit
	aus     []media.AccessUnit // pen.h264 looped; the first 20 are fed
	stop    context.CancelFunc
}

func newEnv(t *testing.T, opts ...Option) *env {
	t.Helper()
	fixture, err := fanouttest.ReadAccessUnits("../fanout/testdata/pen.h264", frameDuration)
	if err != nil {
		t.Fatal(err)
	}
	api, err := peer.NewAPI(peer.Config{IncludeLoopback: true, AllowedIPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{
		hub: fanout.NewHub("pen1", testLogger()),
		in:  make(chan media.AccessUnit),
		aus: fanouttest.Loop(fixture, 60, frameDuration),
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.stop = cancel
	var wg sync.WaitGroup
	wg.Go(func() { e.hub.Run(ctx, e.in) })

	e.handler = NewHandler(api, streamMap{"pen1": e.hub}, testLogger(), opts...)
	mux := http.NewServeMux()
	mux.Handle(Prefix, e.handler)
	e.server = httptest.NewServer(mux)
	t.Cleanup(func() {
		e.server.Close()
		e.handler.Close()
		cancel()
		wg.Wait()
	})
	e.feed(t, e.aus[:20], 0)
	deadline := time.Now().Add(5 * time.Second)
	for e.hub.Stats().AccessUnits < 20 {
		if time.Now().After(deadline) {
			t.Fatal("hub did not take the access units")
		}
		time.Sleep(time.Millisecond)
	}
	return e
}

func (e *env) feed(t *testing.T, aus []media.AccessUnit, interval time.Duration) {
	t.Helper()
	for _, au := range aus {
		select {
		case e.in <- au:
		case <-time.After(5 * time.Second):
			t.Fatal("hub stopped taking access units")
		}
		time.Sleep(interval)
	}
}

// feedPaced feeds aus from a goroutine that ends with the test.
func (e *env) feedPaced(t *testing.T, aus []media.AccessUnit, interval time.Duration) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	t.Cleanup(func() {
		close(done)
		<-stopped
	})
	go func() {
		defer close(stopped)
		for _, au := range aus {
			select {
			case e.in <- au:
			case <-done:
				return
			}
			time.Sleep(interval)
		}
	}()
}

func (e *env) url(path string) string { return e.server.URL + path }

func request(t *testing.T, method, url, contentType string, body io.Reader) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// play is a WHEP player: a Pion client that POSTed its offer and applied the answer.
type play struct {
	client   *fanouttest.Client
	location string
	answered time.Time
}

// newPlayer makes a Pion player (closed when the test ends) and its offer.
func newPlayer(t *testing.T) (*fanouttest.Client, string) {
	t.Helper()
	api, err := fanouttest.NewAPI()
	if err != nil {
		t.Fatal(err)
	}
	client, err := fanouttest.NewClient(api)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offer, err := client.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return client, offer
}

func (e *env) play(t *testing.T) *play {
	t.Helper()
	client, offer := newPlayer(t)
	posted := time.Now()
	resp := request(t, http.MethodPost, e.url("/whep/pen1"), "application/sdp", strings.NewReader(offer))
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %s: %s", resp.Status, answer)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/sdp" {
		t.Errorf("answer Content-Type %q", ct)
	}
	location := resp.Header.Get("Location")
	if !strings.HasPrefix(location, "/whep/pen1/") || len(location) < len("/whep/pen1/")+16 {
		t.Errorf("Location %q", location)
	}
	if !strings.Contains(string(answer), "a=candidate:") {
		t.Errorf("answer without candidates:\n%s", answer)
	}
	if err := client.SetAnswer(string(answer)); err != nil {
		t.Fatal(err)
	}
	p := &play{client: client, location: location, answered: time.Now()}
	t.Logf("POST answered in %v", p.answered.Sub(posted))
	return p
}

func (p *play) next(t *testing.T) fanouttest.Frame {
	t.Helper()
	select {
	case f := <-p.client.Frames():
		return f
	case <-time.After(5 * time.Second):
		t.Fatal("no picture within 5 s")
		return fanouttest.Frame{}
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPlay(t *testing.T) {
	e := newEnv(t)
	p := e.play(t)

	first := p.next(t)
	t.Logf("time to first frame after the answer: %v", first.Received.Sub(p.answered))
	if !first.Keyframe || !fanouttest.HasNAL(first.Data, fanouttest.NALSPS) || !fanouttest.HasNAL(first.Data, fanouttest.NALPPS) {
		t.Fatalf("first picture has NAL types %v, want SPS, PPS, IDR", fanouttest.NALTypes(first.Data))
	}
	for range 4 { // the rest of the cached group
		p.next(t)
	}
	e.feedPaced(t, e.aus[20:50], 5*time.Millisecond)
	for i := 20; i < 50; i++ {
		if f := p.next(t); f.Timestamp != fanout.RTPTimestamp(e.aus[i].PTS) {
			t.Fatalf("frame %d: timestamp %d, want %d", i, f.Timestamp, fanout.RTPTimestamp(e.aus[i].PTS))
		}
	}

	// A keyframe request gets the cached group again (past the 500 ms rate limit).
	time.Sleep(fanout.DefaultKeyframeInterval)
	if err := p.client.RequestKeyframe(); err != nil {
		t.Fatal(err)
	}
	if f := p.next(t); !f.Keyframe {
		t.Errorf("after a PLI: a picture with NAL types %v, want a keyframe", fanouttest.NALTypes(f.Data))
	}
	if n := e.handler.Sessions(); n != 1 {
		t.Errorf("%d sessions, want 1", n)
	}
}

func TestDeleteEndsSession(t *testing.T) {
	e := newEnv(t)
	p := e.play(t)
	p.next(t)

	resp := request(t, http.MethodDelete, e.url(p.location), "", nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %s", resp.Status)
	}
	if n := e.handler.Sessions(); n != 0 {
		t.Errorf("%d sessions after DELETE, want 0", n)
	}
	// The hub's goroutine lets the viewer go just after Leave has handed it over.
	eventually(t, "the hub to let the viewer go", func() bool { return len(e.hub.Stats().Viewers) == 0 })
	eventually(t, "the player to see the connection close", func() bool {
		select {
		case s := <-p.client.States():
			return s == webrtc.PeerConnectionStateClosed || s == webrtc.PeerConnectionStateFailed
		default:
			return false
		}
	})
	if resp := request(t, http.MethodDelete, e.url(p.location), "", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("second DELETE: %s, want 404", resp.Status)
	}
}

func TestPlayerCloseEndsSession(t *testing.T) {
	gate := admission.New(admission.Limits{Max: 1}, nil)
	e := newEnv(t, WithAdmission(gate))
	p := e.play(t)
	p.next(t)
	if st := gate.Stats(); st.Now != 1 || st.Connecting != 0 {
		t.Errorf("gate %+v, want one connected seat", st)
	}
	if err := p.client.Close(); err != nil {
		t.Fatal(err)
	}
	// The seat comes back once the peer connection is closed, just after the session left
	// the handler's list; the hub's goroutine lets the viewer go just after Leave.
	eventually(t, "the session to end", func() bool {
		return e.handler.Sessions() == 0 && gate.Stats().Now == 0 && len(e.hub.Stats().Viewers) == 0
	})
	// A connected session that ends gives its seat back, and is not counted as reaped.
	if st := gate.Stats(); st.Now != 0 || st.Reaped != 0 {
		t.Errorf("gate %+v, want the seat back, none reaped", st)
	}
}

func TestStreamEndEndsSession(t *testing.T) {
	e := newEnv(t)
	p := e.play(t)
	p.next(t)
	e.stop()
	eventually(t, "the session to end", func() bool { return e.handler.Sessions() == 0 })
	resp := request(t, http.MethodPost, e.url("/whep/pen1"), "application/sdp", strings.NewReader(offerSDP(t, nil)))
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST to an ended stream: %s, want 404", resp.Status)
	}
}

func TestCloseEndsSessions(t *testing.T) {
	e := newEnv(t)
	p := e.play(t)
	p.next(t)
	e.handler.Close()
	if n := e.handler.Sessions(); n != 0 {
		t.Errorf("%d sessions after Close, want 0", n)
	}
	resp := request(t, http.MethodPost, e.url("/whep/pen1"), "application/sdp", strings.NewReader(offerSDP(t, nil)))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("POST after Close: %s, want 503", resp.Status)
	}
}

func TestConnectTimeout(t *testing.T) {
	gate := admission.New(admission.Limits{Max: 1}, nil)
	e := newEnv(t, WithTimeouts(5*time.Second, 200*time.Millisecond), WithAdmission(gate))
	// An offer whose player never connects: the session is dropped after the timeout, as if
	// DELETEd, and its seat is back.
	resp := request(t, http.MethodPost, e.url("/whep/pen1"), "application/sdp", strings.NewReader(offerSDP(t, nil)))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %s", resp.Status)
	}
	if n := e.handler.Sessions(); n != 1 {
		t.Fatalf("%d sessions, want 1", n)
	}
	if st := gate.Stats(); st.Now != 1 || st.Connecting != 1 {
		t.Errorf("gate %+v, want one seat, connecting", st)
	}
	// The seat comes back once the peer connection is closed, just after the session left
	// the handler's list.
	eventually(t, "the unconnected session to end", func() bool { return e.handler.Sessions() == 0 && gate.Stats().Reaped == 1 })
	if st := gate.Stats(); st.Now != 0 || st.Connecting != 0 || st.Reaped != 1 {
		t.Errorf("gate %+v, want the seat back and one reaped", st)
	}
	if resp := request(t, http.MethodDelete, e.url(resp.Header.Get("Location")), "", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("DELETE of the reaped session: %s, want 404", resp.Status)
	}
	// The seat is free again.
	if resp := request(t, http.MethodPost, e.url("/whep/pen1"), "application/sdp", strings.NewReader(offerSDP(t, nil))); resp.StatusCode != http.StatusCreated {
		t.Errorf("POST after the reap: %s", resp.Status)
	}
}

// postFrom POSTs an offer to /whep/pen1 from the local address ip (any of 127.0.0.0/8 reaches
// the test server on Linux).
func (e *env) postFrom(t *testing.T, ip, offer string) *http.Response {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{
		DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext,
	}}
	t.Cleanup(client.CloseIdleConnections)
	req, err := http.NewRequest(http.MethodPost, e.url("/whep/pen1"), strings.NewReader(offer))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/sdp")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// Sessions are capped in all and per client address: the offer over a cap is refused before
// any peer connection is made, with 503 or 429, Retry-After and the setting to raise; a
// DELETE gives the seat back.
func TestAdmissionCapsOffers(t *testing.T) {
	tests := []struct {
		name     string
		limits   admission.Limits
		holders  []string // the address of each session held
		refused  string   // the address whose offer is refused
		other    string   // an address that may still play; "" for none
		status   int
		setting  string
		wantStat admission.Stats
	}{
		{"global cap", admission.Limits{Max: 2}, []string{"127.0.0.1", "127.0.0.2"}, "127.0.0.3", "",
			http.StatusServiceUnavailable, "webrtc.max_viewers", admission.Stats{RefusedServer: 1}},
		{"per-address cap", admission.Limits{Max: 10, MaxPerAddress: 2}, []string{"127.0.0.1", "127.0.0.1"}, "127.0.0.1", "127.0.0.2",
			http.StatusTooManyRequests, "webrtc.max_viewers_per_address", admission.Stats{RefusedAddress: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gate := admission.New(tt.limits, nil)
			e := newEnv(t, WithAdmission(gate), WithTimeouts(0, 30*time.Second))
			var locations []string
			for _, addr := range tt.holders {
				resp := e.postFrom(t, addr, offerSDP(t, nil))
				if resp.StatusCode != http.StatusCreated {
					t.Fatalf("POST from %s: %s", addr, resp.Status)
				}
				locations = append(locations, resp.Header.Get("Location"))
			}
			resp := e.postFrom(t, tt.refused, offerSDP(t, nil))
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("POST over the cap: %s (%s), want %d", resp.Status, body, tt.status)
			}
			if !strings.Contains(string(body), tt.setting+" ") {
				t.Errorf("body %q does not name %s", body, tt.setting)
			}
			if ra := resp.Header.Get("Retry-After"); ra != "30" {
				t.Errorf("Retry-After %q, want 30 (the connect timeout)", ra)
			}
			if tt.other != "" {
				if resp := e.postFrom(t, tt.other, offerSDP(t, nil)); resp.StatusCode != http.StatusCreated {
					t.Errorf("POST from %s: %s", tt.other, resp.Status)
				}
			}
			held := len(tt.holders)
			if tt.other != "" {
				held++
			}
			if n := e.handler.Sessions(); n != held {
				t.Errorf("%d sessions, want %d", n, held)
			}
			// The hub's goroutine takes each viewer in after Join has returned.
			eventually(t, fmt.Sprintf("%d hub viewers", held), func() bool { return len(e.hub.Stats().Viewers) >= held })
			if n := len(e.hub.Stats().Viewers); n != held {
				t.Errorf("%d hub viewers, want %d: a refused offer must make none", n, held)
			}
			st := gate.Stats()
			if st.Now != held || st.RefusedServer != tt.wantStat.RefusedServer || st.RefusedAddress != tt.wantStat.RefusedAddress {
				t.Errorf("gate %+v, want %d seats and refusals %+v", st, held, tt.wantStat)
			}

			// DELETE gives a seat back: the refused address gets in.
			if resp := request(t, http.MethodDelete, e.url(locations[0]), "", nil); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("DELETE: %s", resp.Status)
			}
			if resp := e.postFrom(t, tt.refused, offerSDP(t, nil)); resp.StatusCode != http.StatusCreated {
				t.Errorf("POST after a DELETE: %s", resp.Status)
			}
			e.handler.Close()
			if st := gate.Stats(); st.Now != 0 || st.Connecting != 0 {
				t.Errorf("after Close: gate %+v, want every seat back", st)
			}
		})
	}
}

// offerSDP makes an offer from a Pion peer connection that is closed right after: media nil
// offers to receive pigweight's H.264; otherwise media registers the codecs.
func offerSDP(t *testing.T, media func(*webrtc.MediaEngine) error) string {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if media == nil {
		media = func(m *webrtc.MediaEngine) error {
			return m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: peer.H264Codec(), PayloadType: 102}, webrtc.RTPCodecTypeVideo)
		}
	}
	if err := media(m); err != nil {
		t.Fatal(err)
	}
	var s webrtc.SettingEngine
	s.SetIncludeLoopbackCandidate(true)
	s.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(s))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	return pc.LocalDescription().SDP
}

func TestErrors(t *testing.T) {
	e := newEnv(t)
	valid := offerSDP(t, nil)
	vp8Only := offerSDP(t, func(m *webrtc.MediaEngine) error {
		return m.RegisterCodec(webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
			PayloadType:        96,
		}, webrtc.RTPCodecTypeVideo)
	})
	tests := []struct {
		name, method, path, contentType, body string
		want                                  int
	}{
		{"unknown stream", http.MethodPost, "/whep/nope", "application/sdp", valid, http.StatusNotFound},
		{"wrong content type", http.MethodPost, "/whep/pen1", "text/plain", valid, http.StatusUnsupportedMediaType},
		{"no content type", http.MethodPost, "/whep/pen1", "", valid, http.StatusUnsupportedMediaType},
		{"not SDP", http.MethodPost, "/whep/pen1", "application/sdp", "hello", http.StatusBadRequest},
		{"invalid offer", http.MethodPost, "/whep/pen1", "application/sdp", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:102 H264/90000\r\na=recvonly\r\n", http.StatusBadRequest},
		{"no H.264", http.MethodPost, "/whep/pen1", "application/sdp", vp8Only, http.StatusBadRequest},
		{"too large", http.MethodPost, "/whep/pen1", "application/sdp", valid + strings.Repeat("a=x\r\n", MaxOfferBytes/5), http.StatusRequestEntityTooLarge},
		{"GET", http.MethodGet, "/whep/pen1", "", "", http.StatusMethodNotAllowed},
		{"PATCH", http.MethodPatch, "/whep/pen1/abc", "application/trickle-ice-sdpfrag", "", http.StatusMethodNotAllowed},
		{"unknown session", http.MethodDelete, "/whep/pen1/abc", "", "", http.StatusNotFound},
		{"no stream", http.MethodPost, "/whep/", "application/sdp", valid, http.StatusNotFound},
		{"too deep", http.MethodDelete, "/whep/pen1/abc/def", "", "", http.StatusNotFound},
		{"options", http.MethodOptions, "/whep/pen1", "", "", http.StatusNoContent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := request(t, tt.method, e.url(tt.path), tt.contentType, strings.NewReader(tt.body))
			if resp.StatusCode != tt.want {
				body, _ := io.ReadAll(resp.Body)
				t.Errorf("%s %s: %s (%s), want %d", tt.method, tt.path, resp.Status, strings.TrimSpace(string(body)), tt.want)
			}
		})
	}
	if n := e.handler.Sessions(); n != 0 {
		t.Errorf("%d sessions after refused offers, want 0", n)
	}
	if n := len(e.hub.Stats().Viewers); n != 0 {
		t.Errorf("%d viewers after refused offers, want 0", n)
	}
}

func TestParsePath(t *testing.T) {
	tests := []struct {
		path, stream, id string
		ok               bool
	}{
		{"/whep/pen1", "pen1", "", true},
		{"/whep/pen1/abc", "pen1", "abc", true},
		{"/whep/pen%2F2/abc", "pen/2", "abc", true},
		{"/whep/pen%20one", "pen one", "", true},
		{"/whep/", "", "", false},
		{"/whep", "", "", false},
		{"/whep//abc", "", "", false},
		{"/whep/pen1/", "", "", false},
		{"/whep/pen1/abc/def", "", "", false},
		{"/other/pen1", "", "", false},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		stream, id, ok := parsePath(u)
		if stream != tt.stream || id != tt.id || ok != tt.ok {
			t.Errorf("parsePath(%q) = %q, %q, %v; want %q, %q, %v", tt.path, stream, id, ok, tt.stream, tt.id, tt.ok)
		}
	}
}

func TestICEServerLinks(t *testing.T) {
	got := iceServerLinks([]webrtc.ICEServer{
		{URLs: []string{"stun:stun.example.net"}},
		{URLs: []string{"turn:turn.example.net?transport=udp"}, Username: "pig", Credential: "oink"},
	})
	want := []string{
		`<stun:stun.example.net>; rel="ice-server"`,
		`<turn:turn.example.net?transport=udp>; rel="ice-server"; username="pig"; credential="oink"; credential-type="password"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("links\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Each session's peer connection and Link headers come from a configuration made for that
// session, so that TURN credentials minted per call are fresh for every player.
func TestConfigurationPerSession(t *testing.T) {
	var calls atomic.Int32
	e := newEnv(t, WithTimeouts(300*time.Millisecond, 30*time.Second), WithConfiguration(func() webrtc.Configuration {
		n := calls.Add(1)
		return webrtc.Configuration{ICEServers: []webrtc.ICEServer{{URLs: []string{"stun:127.0.0.1:9"},
			Username: fmt.Sprintf("viewer-%d", n), Credential: "c", CredentialType: webrtc.ICECredentialTypePassword}}}
	}))
	for i := 1; i <= 2; i++ {
		_, offer := newPlayer(t)
		resp := request(t, http.MethodPost, e.url("/whep/pen1"), "application/sdp", strings.NewReader(offer))
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST %d: %s", i, resp.Status)
		}
		want := fmt.Sprintf(`username="viewer-%d"`, i)
		if links := resp.Header.Values("Link"); len(links) != 1 || !strings.Contains(links[0], want) {
			t.Errorf("session %d: Link headers %q, want one with %s", i, links, want)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("configuration made %d times for 2 sessions", n)
	}
}
