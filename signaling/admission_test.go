package signaling

import (
	"context"
	"encoding/json"
	"net"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/signaling/admission"
	"github.com/pigweight/pigweight/signaling/fanout"
	"github.com/pigweight/pigweight/signaling/fanout/fanouttest"
	"github.com/pigweight/pigweight/signaling/peer"
)

// dialFrom opens a socket from the local address ip (any of 127.0.0.0/8 reaches the test
// server on Linux), so that a test can play clients of several addresses.
func (e *testEnv) dialFrom(t *testing.T, ip string) *testClient {
	t.Helper()
	d := websocket.Dialer{
		HandshakeTimeout: waitFor,
		NetDialContext:   (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext,
	}
	conn, resp, err := d.Dial(e.wsURL, nil)
	if err != nil {
		t.Fatalf("dial %s from %s: %v (response %v)", e.wsURL, ip, err, resp)
	}
	t.Cleanup(func() { conn.Close() })
	return &testClient{t: t, conn: conn}
}

// waitStats waits until the gate's counters satisfy ok; what is waited on is an event of the
// server's, so the deadline is generous and only a failure comes near it.
func waitStats(t *testing.T, g *admission.Gate, d time.Duration, what string, ok func(admission.Stats) bool) admission.Stats {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		st := g.Stats()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s: gate %+v", d, what, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A join over the cap on all viewers, or over the cap of the client's address, gets an error
// saying which cap and how to raise it; the socket stays up, and a seat given back by a leave
// lets the next join in.
func TestViewerCapsRefuseJoins(t *testing.T) {
	tests := []struct {
		name    string
		limits  admission.Limits
		holders []string // the address of each socket that holds one viewer
		refused string   // the address whose next join is refused
		other   string   // an address that may still join; "" for none
		wantErr string
		setting string
		want    admission.Stats
	}{
		{"global cap", admission.Limits{Max: 3}, []string{"127.0.0.1", "127.0.0.1", "127.0.0.2"}, "127.0.0.3", "",
			"too many viewers on this server", "webrtc.max_viewers", admission.Stats{RefusedServer: 1}},
		{"per-address cap", admission.Limits{Max: 10, MaxPerAddress: 2}, []string{"127.0.0.1", "127.0.0.1"}, "127.0.0.1", "127.0.0.2",
			"too many viewers from this address", "webrtc.max_viewers_per_address", admission.Stats{RefusedAddress: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gate := admission.New(tt.limits, nil)
			e := newTestEnv(t, Config{Admission: gate})
			var holders []*testClient
			var ids []string
			for _, addr := range tt.holders {
				c := e.dialFrom(t, addr)
				ids = append(ids, c.join("cam1"))
				holders = append(holders, c)
			}
			c := e.dialFrom(t, tt.refused)
			c.send(Message{Type: TypeJoin, Stream: "cam2"})
			m := c.readError(Message{Stream: "cam2", Error: tt.wantErr})
			if !strings.Contains(m.Error, tt.setting+" ") {
				t.Errorf("refusal %q does not name %s", m.Error, tt.setting)
			}
			c.sync() // the socket is still up and answering
			if tt.other != "" {
				e.dialFrom(t, tt.other).join("cam3")
			}
			st := gate.Stats()
			if st.RefusedServer != tt.want.RefusedServer || st.RefusedAddress != tt.want.RefusedAddress {
				t.Errorf("refusals: %+v, want %+v", st, tt.want)
			}
			created := len(tt.holders)
			if tt.other != "" {
				created++
			}
			if n := len(e.fake.viewers()); n != created {
				t.Errorf("%d viewers created, want %d: a refused join must create none", n, created)
			}

			// A leave gives the seat back: the refused client gets in.
			before := st.Now
			holders[0].send(Message{Type: TypeLeave, ID: ids[0]})
			waitStats(t, gate, waitFor, "the left viewer's seat back", func(st admission.Stats) bool { return st.Now == before-1 })
			c.join("cam2")

			e.h.Close()
			if st := gate.Stats(); st.Now != 0 || st.Connecting != 0 {
				t.Errorf("after Close: %+v, want every seat back", st)
			}
		})
	}
}

// With fake viewers, the connect deadline and a viewer's own end: a viewer not connected in
// time is closed, once, and the client told; one that connected is kept; one that ends by
// itself is closed and the client told; each gives its seat back, and the socket's viewers no
// longer hold it.
func TestViewerDeadlineAndEnd(t *testing.T) {
	gate := admission.New(admission.Limits{Max: 10}, nil)
	const timeout = 300 * time.Millisecond
	e := newTestEnv(t, Config{Admission: gate, ConnectTimeout: timeout, MaxViewersPerSocket: 2})
	c := e.dial(t, nil)
	slowID := c.join("cam1")
	okID := c.join("cam2")
	e.fake.viewer(t, 1).events.Connected()

	m := c.readError(Message{ID: slowID, Stream: "cam1", Error: "not connected within " + timeout.String()})
	t.Logf("reaped: %+v", m)
	e.fake.viewer(t, 0).waitClosed(t, waitFor)
	st := waitStats(t, gate, waitFor, "the reaped seat back", func(st admission.Stats) bool { return st.Now == 1 })
	if st.Reaped != 1 || st.Connecting != 0 {
		t.Errorf("after the deadline: %+v, want 1 reaped, none connecting", st)
	}
	// The socket no longer holds it: its id is unknown, and its place on the socket is free.
	c.send(Message{Type: TypeLeave, ID: slowID})
	c.readError(Message{ID: slowID, Error: "unknown viewer id"})
	c.join("cam3")
	e.fake.viewer(t, 2).events.Connected() // long before its deadline: it stays
	if e.fake.viewer(t, 1).isClosed() {
		t.Fatal("the connected viewer was closed at the deadline")
	}

	// The connected viewer's connection fails.
	e.fake.viewer(t, 1).events.Ended()
	e.fake.viewer(t, 1).events.Ended() // a second report changes nothing
	c.readError(Message{ID: okID, Stream: "cam2", Error: "viewer ended"})
	e.fake.viewer(t, 1).waitClosed(t, waitFor)
	c.send(Message{Type: TypeLeave, ID: okID})
	c.readError(Message{ID: okID, Error: "unknown viewer id"})
	st = waitStats(t, gate, waitFor, "the ended viewer's seat back", func(st admission.Stats) bool { return st.Now == 1 })
	if st.Reaped != 1 {
		t.Errorf("an ended viewer counted as reaped: %+v", st)
	}
}

// newRealEnv is a Handler with real Pion viewers (PeerViewers) of one stream, "pen", whose
// peer connections gather on 127.0.0.1 only.
func newRealEnv(t *testing.T, cfg Config) *testEnv {
	t.Helper()
	api, err := peer.NewAPI(peer.Config{IncludeLoopback: true, AllowedIPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	hub := fanout.NewHub("pen", nil)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { hub.Run(ctx, make(chan media.AccessUnit)) })
	h := NewHandler(&PeerViewers{API: api, Configuration: func() webrtc.Configuration { return webrtc.Configuration{} }, Hubs: hubMap{"pen": hub}}, cfg, nil)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	t.Cleanup(srv.Close)
	t.Cleanup(h.Close)
	return &testEnv{h: h, srv: srv, wsURL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"}
}

type hubMap map[string]*fanout.Hub

func (m hubMap) Hub(name string) (*fanout.Hub, bool) {
	h, ok := m[name]
	return h, ok
}

// openFiles counts the process's open file descriptors.
func openFiles(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count open files: %v", err)
	}
	return len(entries)
}

// Clients that join and never answer their offers hold real peer connections, with their
// sockets, until the connect deadline: then every viewer is closed, every client hears which
// of its viewers went, every seat is back and the descriptors with them.
func TestUnansweredViewersAreReaped(t *testing.T) {
	const sockets, perSocket = 10, 4
	const timeout = time.Second
	gate := admission.New(admission.Limits{}, nil)
	e := newRealEnv(t, Config{Admission: gate, ConnectTimeout: timeout})
	var clients []*testClient
	for range sockets {
		clients = append(clients, e.dial(t, nil))
	}
	baseline := openFiles(t) // the sockets themselves are in it
	start := time.Now()
	for _, c := range clients {
		for range perSocket {
			c.send(Message{Type: TypeJoin, Stream: "pen"})
		}
	}
	// Each client reads its offers and candidates until it has heard of every viewer's end.
	peak := 0
	for i, c := range clients {
		offered, reaped := map[string]bool{}, map[string]bool{}
		_ = c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		for len(reaped) < perSocket {
			_, data, err := c.conn.ReadMessage()
			if err != nil {
				t.Fatalf("client %d: %v after %d offers and %d reaped (gate %+v)", i, err, len(offered), len(reaped), gate.Stats())
			}
			var m Message
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			switch m.Type {
			case TypeOffer:
				offered[m.ID] = true
				peak = max(peak, openFiles(t))
			case TypeError:
				if !offered[m.ID] || m.Stream != "pen" || m.Error != "not connected within 1s" {
					t.Fatalf("client %d: error %+v, want one for an offered viewer saying it was not connected within 1s", i, m)
				}
				reaped[m.ID] = true
			}
		}
		for id := range reaped {
			// The socket's viewers no longer hold it.
			c.send(Message{Type: TypeLeave, ID: id})
			c.readErrorSkipping(Message{ID: id, Error: "unknown viewer id"})
		}
	}
	if took := time.Since(start); took < timeout {
		t.Errorf("viewers reaped after %v, before the timeout of %v", took, timeout)
	}
	st := waitStats(t, gate, 10*time.Second, "every seat back", func(st admission.Stats) bool { return st.Now == 0 })
	if st.Reaped != sockets*perSocket || st.Connecting != 0 {
		t.Errorf("gate %+v, want %d reaped and none connecting", st, sockets*perSocket)
	}
	// The peer connections' sockets are closed: the count comes back to where it was (a few
	// more may belong to the runtime or the HTTP server).
	deadline := time.Now().Add(20 * time.Second)
	for n := openFiles(t); n > baseline+4; n = openFiles(t) {
		if time.Now().After(deadline) {
			t.Fatalf("%d open files, %d before the joins (peak %d)", n, baseline, peak)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("open files: %d before the joins, peak %d, back to %d", baseline, peak, openFiles(t))
	if peak < baseline+sockets*perSocket/2 {
		t.Logf("the peak (%d) hardly rose above %d: the viewers took fewer descriptors than thought", peak, baseline)
	}
}

// readErrorSkipping reads until an error message and checks it as readError does: late
// candidates of a closed viewer may still be on their way.
func (c *testClient) readErrorSkipping(want Message) {
	c.t.Helper()
	for {
		m := c.read()
		if m.Type == TypeCandidate {
			continue
		}
		if m.Type != TypeError || m.ID != want.ID || !strings.HasPrefix(m.Error, want.Error) {
			c.t.Fatalf("got %+v, want an error like %+v", m, want)
		}
		return
	}
}

// A viewer whose peer connection connects keeps its seat past the connect deadline; when its
// client goes, the seat comes back and the socket hears of it.
func TestConnectedViewerKeepsItsSeat(t *testing.T) {
	const timeout = time.Second
	gate := admission.New(admission.Limits{}, nil)
	e := newRealEnv(t, Config{Admission: gate, ConnectTimeout: timeout})
	c := e.dial(t, nil)
	api, err := fanouttest.NewAPI()
	if err != nil {
		t.Fatal(err)
	}
	client, err := fanouttest.NewClient(api)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })

	c.send(Message{Type: TypeJoin, Stream: "pen"})
	offer := c.read()
	if offer.Type != TypeOffer {
		t.Fatalf("got %+v, want an offer", offer)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	answer, err := client.Answer(ctx, offer.SDP)
	if err != nil {
		t.Fatal(err)
	}
	c.send(Message{Type: TypeAnswer, ID: offer.ID, SDP: answer})

	// The client reads on its own from here: candidates go to its peer connection.
	errs := make(chan Message, 16)
	readerDone := make(chan struct{})
	_ = c.conn.SetReadDeadline(time.Time{}) // c.read's deadline would end this reader early
	go func() {
		defer close(readerDone)
		for {
			_, data, err := c.conn.ReadMessage()
			if err != nil {
				return
			}
			var m Message
			if json.Unmarshal(data, &m) != nil {
				continue
			}
			switch {
			case m.Type == TypeCandidate && m.Candidate.Candidate != "":
				_ = client.PeerConnection().AddICECandidate(*m.Candidate)
			case m.Type == TypeError:
				errs <- m
			}
		}
	}()
	t.Cleanup(func() {
		c.conn.Close()
		<-readerDone
	})
	waitState(t, client, webrtc.PeerConnectionStateConnected)
	waitStats(t, gate, waitFor, "the viewer connected", func(st admission.Stats) bool { return st.Now == 1 && st.Connecting == 0 })

	// Past the deadline, the viewer is still there: nothing to wait on but the time itself.
	time.Sleep(2 * timeout)
	select {
	case m := <-errs:
		t.Fatalf("a connected viewer got %+v", m)
	default:
	}
	if st := gate.Stats(); st.Now != 1 || st.Reaped != 0 {
		t.Fatalf("past the deadline: %+v, want the connected viewer kept", st)
	}

	// The client goes: the server's viewer ends, the seat comes back, the socket is told.
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	// Pion notices a closed DTLS at once; a vanished peer only when ICE fails (~30 s).
	waitStats(t, gate, 40*time.Second, "the seat of the gone client back", func(st admission.Stats) bool { return st.Now == 0 })
	select {
	case m := <-errs:
		if m.ID != offer.ID || !strings.HasPrefix(m.Error, "viewer ended") {
			t.Errorf("got %+v, want the viewer's end", m)
		}
	case <-time.After(waitFor):
		t.Error("the socket was not told its viewer ended")
	}
	if st := gate.Stats(); st.Reaped != 0 {
		t.Errorf("a viewer that had connected counted as reaped: %+v", st)
	}
}

func waitState(t *testing.T, c *fanouttest.Client, want webrtc.PeerConnectionState) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case s := <-c.States():
			if s == want {
				return
			}
			if s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateClosed {
				t.Fatalf("client connection %s, want %s", s, want)
			}
		case <-timeout:
			t.Fatalf("client connection never %s", want)
		}
	}
}
