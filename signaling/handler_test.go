package signaling

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
)

// waitFor bounds every wait in these tests; nothing should come near it.
const waitFor = 5 * time.Second

// testEnv is a Handler on a real httptest server (127.0.0.1, free port) with fake viewers.
type testEnv struct {
	h     *Handler
	fake  *fakeViewers
	srv   *httptest.Server
	wsURL string
}

func newTestEnv(t *testing.T, cfg Config) *testEnv {
	t.Helper()
	fake := newFakeViewers("cam1", "cam2", "cam3")
	fake.floodCount = 50
	h := NewHandler(fake, cfg, nil)
	srv := httptest.NewServer(h)
	// Cleanups run last first: the handler closes its sockets before the server goes.
	t.Cleanup(fake.wg.Wait)
	t.Cleanup(srv.Close)
	t.Cleanup(h.Close)
	return &testEnv{h: h, fake: fake, srv: srv, wsURL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"}
}

func (e *testEnv) sessions() int {
	e.h.mu.Lock()
	defer e.h.mu.Unlock()
	return len(e.h.sessions)
}

// testClient is a browser's side of a socket.
type testClient struct {
	t    *testing.T
	conn *websocket.Conn
}

func (e *testEnv) dial(t *testing.T, header http.Header) *testClient {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(e.wsURL, header)
	if err != nil {
		t.Fatalf("dial %s: %v (response %v)", e.wsURL, err, resp)
	}
	t.Cleanup(func() { conn.Close() })
	return &testClient{t: t, conn: conn}
}

func (c *testClient) send(m Message) {
	c.t.Helper()
	if err := c.conn.WriteJSON(m); err != nil {
		c.t.Fatalf("send %+v: %v", m, err)
	}
}

func (c *testClient) sendRaw(s string) {
	c.t.Helper()
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatalf("send %q: %v", s, err)
	}
}

// read returns the next message, which must parse.
func (c *testClient) read() Message {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(waitFor))
	typ, data, err := c.conn.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	if typ != websocket.TextMessage {
		c.t.Fatalf("read: frame type %d, want text", typ)
	}
	m, err := ParseMessage(data)
	if err != nil {
		c.t.Fatalf("server sent %s: %v", data, err)
	}
	return m
}

// readError reads the next message, which must be an error with want's ID and Stream and a
// text starting with want.Error.
func (c *testClient) readError(want Message) Message {
	c.t.Helper()
	m := c.read()
	if m.Type != TypeError || m.ID != want.ID || m.Stream != want.Stream || !strings.HasPrefix(m.Error, want.Error) {
		c.t.Fatalf("got %+v, want an error like %+v", m, want)
	}
	return m
}

// expectClose reads until the server closes the socket and checks the close code.
func (c *testClient) expectClose(code int) {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(waitFor))
	for {
		_, data, err := c.conn.ReadMessage()
		if err == nil {
			continue // messages queued before the close
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			c.t.Fatalf("socket ended with %v (last data %q), want close code %d", err, data, code)
		}
		if ce.Code != code {
			c.t.Fatalf("close code %d (%q), want %d", ce.Code, ce.Text, code)
		}
		return
	}
}

// join joins stream and checks that the offer comes first, then c1, c2, c3 and the end of
// gathering, in that order; it returns the viewer id.
func (c *testClient) join(stream string) string {
	c.t.Helper()
	c.send(Message{Type: TypeJoin, Stream: stream})
	offer := c.read()
	if offer.Type != TypeOffer || offer.Stream != stream || offer.SDP != fakeOffer(stream) || offer.ID == "" {
		c.t.Fatalf("first message after join %s: %+v, want its offer", stream, offer)
	}
	for n := 1; n <= 4; n++ {
		m := c.read()
		want := webrtc.ICECandidateInit{}
		if n <= 3 {
			want = fakeCandidate(stream, n)
		}
		if m.Type != TypeCandidate || m.ID != offer.ID || m.Candidate == nil || !reflect.DeepEqual(*m.Candidate, want) {
			c.t.Fatalf("message %d after the offer of %s: %+v, want candidate %+v", n, stream, m, want)
		}
	}
	return offer.ID
}

// sync proves that everything sent before has been handled: the socket handles messages in
// order, and an answer for an id that does not exist always gets an error.
func (c *testClient) sync() {
	c.t.Helper()
	c.send(Message{Type: TypeAnswer, ID: "sync", SDP: "v=0"})
	c.readError(Message{ID: "sync", Error: "unknown viewer id"})
}

func TestJoinSendsOfferThenCandidates(t *testing.T) {
	e := newTestEnv(t, Config{})
	c := e.dial(t, nil)
	// Several times, so that the candidate that races with Join's return lands on both sides.
	for range 5 {
		for _, stream := range []string{"cam1", "cam2"} {
			id := c.join(stream)
			c.send(Message{Type: TypeLeave, ID: id})
		}
	}
	c.sync()
}

func TestAnswerAndCandidatesReachTheirViewer(t *testing.T) {
	e := newTestEnv(t, Config{})
	c := e.dial(t, nil)
	id1 := c.join("cam1")
	id2 := c.join("cam2")
	if id1 == id2 {
		t.Fatalf("two viewers share id %q", id1)
	}
	answer2 := fakeOffer("answer-for-cam2")
	c.send(Message{Type: TypeAnswer, ID: id2, SDP: answer2})
	cand := webrtc.ICECandidateInit{Candidate: "candidate:9 1 udp 1 127.0.0.1 9 typ host", SDPMid: ptr("0")}
	c.send(Message{Type: TypeCandidate, ID: id1, Candidate: &cand})
	c.send(Message{Type: TypeCandidate, ID: id1, Candidate: &webrtc.ICECandidateInit{}})
	c.sync()

	vs := e.fake.viewers()
	if len(vs) != 2 || vs[0].stream != "cam1" || vs[1].stream != "cam2" {
		t.Fatalf("viewers %+v, want cam1 and cam2", vs)
	}
	a1, c1 := vs[0].got()
	a2, c2 := vs[1].got()
	if len(a1) != 0 || !reflect.DeepEqual(a2, []string{answer2}) {
		t.Errorf("answers: cam1 %q, cam2 %q; want only cam2's", a1, a2)
	}
	if !reflect.DeepEqual(c1, []webrtc.ICECandidateInit{cand, {}}) || len(c2) != 0 {
		t.Errorf("candidates: cam1 %+v, cam2 %+v; want cam1 to get both", c1, c2)
	}
}

func TestLeaveClosesTheViewer(t *testing.T) {
	e := newTestEnv(t, Config{})
	c := e.dial(t, nil)
	id1 := c.join("cam1")
	c.join("cam2")
	c.send(Message{Type: TypeLeave, ID: id1})
	c.send(Message{Type: TypeAnswer, ID: id1, SDP: "v=0"})
	c.readError(Message{ID: id1, Error: "unknown viewer id"})
	vs := e.fake.viewers()
	vs[0].waitClosed(t, waitFor)
	if vs[1].isClosed() {
		t.Fatal("leaving cam1 closed cam2 too")
	}
	c.send(Message{Type: TypeLeave, ID: id1})
	c.readError(Message{ID: id1, Error: "unknown viewer id"})
}

func TestSocketCloseClosesItsViewers(t *testing.T) {
	e := newTestEnv(t, Config{})
	c := e.dial(t, nil)
	other := e.dial(t, nil)
	c.join("cam1")
	c.join("cam2")
	other.join("cam3")
	_ = c.conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(waitFor))
	c.conn.Close()
	vs := e.fake.viewers()
	vs[0].waitClosed(t, waitFor)
	vs[1].waitClosed(t, waitFor)
	other.sync()
	if vs[2].isClosed() {
		t.Fatal("closing one socket closed another socket's viewer")
	}
}

func TestErrorsKeepTheSocket(t *testing.T) {
	e := newTestEnv(t, Config{MaxViewersPerSocket: 2})
	c := e.dial(t, nil)
	id := c.join("cam1")
	for _, tc := range []struct {
		name string
		send string
		want Message
	}{
		{"bad JSON", `{"type":"join",`, Message{Error: "malformed message"}},
		{"not an object", `[1,2]`, Message{Error: "malformed message"}},
		{"wrong JSON type", `{"type":"join","stream":7}`, Message{Error: "malformed message"}},
		{"unknown type", `{"type":"subscribe","stream":"cam1"}`, Message{Error: "unknown message type"}},
		{"unknown stream", `{"type":"join","stream":"nope"}`, Message{Stream: "nope", Error: "unknown stream"}},
		{"join that fails", `{"type":"join","stream":"broken"}`, Message{Stream: "broken", Error: "join failed"}},
		{"invalid stream name", `{"type":"join","stream":"a/b"}`, Message{Error: "invalid message"}},
		{"answer for unknown id", `{"type":"answer","id":"v99","sdp":"v=0"}`, Message{ID: "v99", Error: "unknown viewer id"}},
		{"candidate for unknown id", `{"type":"candidate","id":"v99","candidate":{"candidate":""}}`, Message{ID: "v99", Error: "unknown viewer id"}},
		{"leave of unknown id", `{"type":"leave","id":"v99"}`, Message{ID: "v99", Error: "unknown viewer id"}},
		{"answer that is no SDP", `{"type":"answer","id":"` + id + `","sdp":"hello"}`, Message{ID: id, Error: "invalid message"}},
		{"answer the viewer rejects", `{"type":"answer","id":"` + id + `","sdp":"v=0 reject-me"}`, Message{ID: id, Error: "answer rejected"}},
		{"offer from the client", `{"type":"offer","id":"` + id + `","sdp":"v=0"}`, Message{ID: id, Error: "unexpected offer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			c.sendRaw(tc.send)
			c.readError(tc.want)
		})
	}
	c.t = t

	// An error from the client is logged, never answered: the next reply is the sync's.
	c.send(Message{Type: TypeError, ID: id, Error: "setRemoteDescription failed"})
	c.sendRaw(`{"type":"error"}`)
	c.sync()

	// The socket still works, up to its viewer limit.
	c.join("cam2")
	c.send(Message{Type: TypeJoin, Stream: "cam3"})
	c.readError(Message{Stream: "cam3", Error: "too many viewers"})
	if n := len(e.fake.viewers()); n != 2 {
		t.Fatalf("%d viewers created, want 2", n)
	}
}

func TestOversizeMessageCloses1009(t *testing.T) {
	e := newTestEnv(t, Config{MaxMessageBytes: 1024})
	c := e.dial(t, nil)
	c.join("cam1")
	c.sendRaw(`{"type":"answer","id":"v1","sdp":"v=0` + strings.Repeat("x", 1024) + `"}`)
	c.expectClose(websocket.CloseMessageTooBig)
	e.fake.viewer(t, 0).waitClosed(t, waitFor)
}

func TestBinaryMessageCloses1003(t *testing.T) {
	e := newTestEnv(t, Config{})
	c := e.dial(t, nil)
	c.join("cam1")
	if err := c.conn.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"join","stream":"cam2"}`)); err != nil {
		t.Fatal(err)
	}
	c.expectClose(websocket.CloseUnsupportedData)
	e.fake.viewer(t, 0).waitClosed(t, waitFor)
}

func TestClientThatDoesNotReadIsClosed1013(t *testing.T) {
	e := newTestEnv(t, Config{MaxQueuedMessages: 8})
	c := e.dial(t, nil)
	c.send(Message{Type: TypeJoin, Stream: "flood"}) // 50 candidates before the offer
	c.expectClose(websocket.CloseTryAgainLater)
	e.fake.viewer(t, 0).waitClosed(t, waitFor)
}

func TestOriginCheck(t *testing.T) {
	e := newTestEnv(t, Config{})
	listed := newTestEnv(t, Config{AllowedOrigins: []string{"https://Pens.Example.com"}})
	anyOrigin := newTestEnv(t, Config{AllowedOrigins: []string{"*"}})
	host := strings.TrimPrefix(e.srv.URL, "http://")
	for _, tc := range []struct {
		name   string
		env    *testEnv
		origin string
		want   int
	}{
		{"no Origin (not a browser)", e, "", http.StatusSwitchingProtocols},
		{"same host", e, "http://" + host, http.StatusSwitchingProtocols},
		{"same host in capitals", e, "HTTP://" + strings.ToUpper(host), http.StatusSwitchingProtocols},
		{"other host", e, "https://evil.example", http.StatusForbidden},
		{"same name, other port", e, "http://127.0.0.1:1", http.StatusForbidden},
		{"null origin", e, "null", http.StatusForbidden},
		{"listed origin", listed, "https://pens.example.com", http.StatusSwitchingProtocols},
		{"listed host, other scheme", listed, "http://pens.example.com", http.StatusForbidden},
		{"unlisted origin", listed, "https://evil.example", http.StatusForbidden},
		{"any origin allowed", anyOrigin, "https://evil.example", http.StatusSwitchingProtocols},
	} {
		t.Run(tc.name, func(t *testing.T) {
			header := http.Header{}
			if tc.origin != "" {
				header.Set("Origin", tc.origin)
			}
			conn, resp, err := websocket.DefaultDialer.Dial(tc.env.wsURL, header)
			if conn != nil {
				conn.Close()
			}
			if resp == nil {
				t.Fatalf("dial: %v, no response", err)
			}
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d (%v), want %d", resp.StatusCode, err, tc.want)
			}
		})
	}
	resp, err := http.Get(e.srv.URL + "/ws")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("plain GET /ws: status %d, want 400", resp.StatusCode)
	}
}

func TestPingKeepsAnIdleSocketAlive(t *testing.T) {
	cfg := Config{PingInterval: 25 * time.Millisecond, PongWait: 250 * time.Millisecond}
	e := newTestEnv(t, cfg)
	c := e.dial(t, nil)
	id := c.join("cam1")

	// A browser answers pings as long as it reads, which it always does.
	var pings atomic.Int32
	c.conn.SetPingHandler(func(data string) error {
		pings.Add(1)
		return c.conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(waitFor))
	})
	msgs := make(chan Message, 16)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer close(msgs)
		for {
			_, data, err := c.conn.ReadMessage()
			if err != nil {
				return
			}
			m, _ := ParseMessage(data)
			msgs <- m
		}
	}()
	idle := 4 * cfg.PongWait
	time.Sleep(idle)
	if n := pings.Load(); n < 5 {
		t.Errorf("%d pings in %v, want at least 5 (one per %v)", n, idle, cfg.PingInterval)
	}
	if e.fake.viewer(t, 0).isClosed() {
		t.Fatal("an idle socket that answers pings was dropped")
	}
	c.send(Message{Type: TypeLeave, ID: id})
	c.send(Message{Type: TypeAnswer, ID: id, SDP: "v=0"})
	select {
	case m := <-msgs:
		if m.Type != TypeError || m.ID != id {
			t.Fatalf("got %+v, want the error for the left viewer", m)
		}
	case <-time.After(waitFor):
		t.Fatal("no reply after idling")
	}
	c.conn.Close()
	<-readerDone
}

func TestDeadPeerIsDropped(t *testing.T) {
	cfg := Config{PingInterval: 20 * time.Millisecond, PongWait: 150 * time.Millisecond}
	e := newTestEnv(t, cfg)
	c := e.dial(t, nil)
	c.join("cam1")
	// From now on the client reads nothing, so it answers no ping.
	start := time.Now()
	e.fake.viewer(t, 0).waitClosed(t, waitFor)
	// The pong wait counts from the last message handled (the join), a little before start.
	if took := time.Since(start); took < cfg.PongWait/2 {
		t.Errorf("dropped after %v, before the pong wait of %v", took, cfg.PongWait)
	}
	deadline := time.Now().Add(waitFor)
	for e.sessions() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("session still registered")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCloseWaitsForEverything(t *testing.T) {
	e := newTestEnv(t, Config{})
	var clients []*testClient
	for _, stream := range []string{"cam1", "cam2", "cam3"} {
		c := e.dial(t, nil)
		c.join(stream)
		clients = append(clients, c)
	}
	// One socket is inside a Join when Close comes.
	slow := e.dial(t, nil)
	slow.send(Message{Type: TypeJoin, Stream: "slow"})
	select {
	case <-e.fake.slowStarted:
	case <-time.After(waitFor):
		t.Fatal("slow join never started")
	}
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		e.h.Close()
	}()
	select {
	case <-closed:
		t.Fatal("Close returned while a Join was still running")
	case <-time.After(50 * time.Millisecond):
	}
	close(e.fake.release)
	select {
	case <-closed:
	case <-time.After(waitFor):
		t.Fatal("Close did not return")
	}

	// Everything is done the moment Close returns.
	vs := e.fake.viewers()
	if len(vs) != 4 {
		t.Fatalf("%d viewers, want 4", len(vs))
	}
	for _, v := range vs {
		if !v.isClosed() {
			t.Errorf("viewer of %s still open after Close", v.stream)
		}
	}
	if n := e.sessions(); n != 0 {
		t.Errorf("%d sessions after Close", n)
	}
	for _, c := range clients {
		c.expectClose(websocket.CloseGoingAway)
		c.conn.Close()
	}
	slow.conn.Close()

	_, resp, err := websocket.DefaultDialer.Dial(e.wsURL, nil)
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after Close: %v, %v; want 503", resp, err)
	}
	e.h.Close() // again: harmless
	e.srv.Close()
	e.fake.wg.Wait()
	goleak.VerifyNone(t)
}

// The configured STUN/TURN servers travel with each offer, for the browser's side.
func TestOfferCarriesICEServers(t *testing.T) {
	servers := []webrtc.ICEServer{{URLs: []string{"turn:turn.example.org:3478"}, Username: "pig", Credential: "weight"}}
	e := newTestEnv(t, Config{ICEServers: func() []webrtc.ICEServer { return servers }})
	c := e.dial(t, nil)
	c.send(Message{Type: TypeJoin, Stream: "cam1"})
	_ = c.conn.SetReadDeadline(time.Now().Add(waitFor))
	_, data, err := c.conn.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	var offer struct {
		Type       string
		ICEServers []struct {
			URLs       []string `json:"urls"`
			Username   string   `json:"username"`
			Credential string   `json:"credential"`
		} `json:"ice_servers"`
	}
	if err := json.Unmarshal(data, &offer); err != nil {
		t.Fatal(err)
	}
	if offer.Type != TypeOffer || len(offer.ICEServers) != 1 || offer.ICEServers[0].URLs[0] != "turn:turn.example.org:3478" ||
		offer.ICEServers[0].Username != "pig" || offer.ICEServers[0].Credential != "weight" {
		t.Errorf("offer %s", data)
	}
}
