package signaling

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/pigweight/pigweight/signaling/admission"
)

// session is one socket: readLoop is its only reader, writeLoop its only writer (gorilla
// allows one of each at a time; Close and WriteControl may be called from anywhere), and the
// goroutine that runs run is its owner: it handles what the reader hands it and what the
// viewers' callbacks and connect deadlines post, one at a time, so that the viewers map needs
// no lock. The reader is apart from the owner so that the owner can act on a viewer's event
// while the client sends nothing.
type session struct {
	h    *Handler
	cfg  Config
	conn *websocket.Conn
	log  *slog.Logger
	addr string // the client's address, that its viewers count against (admission.Address)

	out        chan Message  // to the writer; bounded, never closed
	stopped    chan struct{} // closed by stop: the writer sends the close frame and closes the socket
	stopOnce   sync.Once
	closeCode  int // written before stopped is closed; 0: no close frame
	closeText  string
	writerDone chan struct{}

	// Owner only.
	viewers map[string]*viewer
	lastID  int

	// mu guards what the viewers' callbacks and deadlines share with the owner: closing,
	// events and, in each viewer, offerSent, closed, connected and pending. Nothing calls into
	// a Viewer while holding it, so a Viewer whose Close waits for its callbacks cannot
	// deadlock.
	mu      sync.Mutex
	closing bool // nothing more is queued for the client
	// events wait for the owner, which wake tells (capacity 1: one signal covers them all).
	// Each open viewer posts a few at most, and a closed one none, so they stay few.
	events []viewerEvent
	wake   chan struct{}
}

// viewerEvent is something that happened to a viewer off the owner goroutine.
type viewerEvent struct {
	vw   *viewer
	kind eventKind
}

type eventKind int

const (
	// eventDeadline: the connect timeout has passed since the join.
	eventDeadline eventKind = iota
	// eventEnded: the viewer ended by itself (ViewerEvents.Ended).
	eventEnded
)

// viewer is one entry of a session's viewers.
type viewer struct {
	id, stream string
	v          Viewer // set by the owner once Join has returned
	seat       *admission.Seat
	deadline   *time.Timer // posts eventDeadline; stopped when the viewer closes
	reaped     bool        // owner only: closed for not connecting in time

	// Guarded by session.mu.
	offerSent bool      // the offer is queued; candidates may follow it
	closed    bool      // Join failed, or the viewer has left
	connected bool      // its peer connection has connected (once is enough)
	pending   []Message // candidates that came before the offer was queued
}

func newSession(h *Handler, conn *websocket.Conn, addr string, log *slog.Logger) *session {
	return &session{
		h:          h,
		cfg:        h.cfg,
		conn:       conn,
		log:        log,
		addr:       addr,
		wake:       make(chan struct{}, 1),
		out:        make(chan Message, h.cfg.MaxQueuedMessages),
		stopped:    make(chan struct{}),
		writerDone: make(chan struct{}),
		viewers:    make(map[string]*viewer),
	}
}

// run handles the client's messages and the viewers' events until the socket ends, then
// closes the session's viewers. It returns once the reader and the writer have returned too.
func (s *session) run() {
	s.log.Info("socket opened")
	go s.writeLoop()
	messages := make(chan []byte)
	readerDone := make(chan string, 1)
	go func() { readerDone <- s.readLoop(messages) }()
	var reason string
loop:
	for {
		select {
		case data := <-messages:
			s.handle(data)
		case <-s.wake:
			s.handleEvents()
		case reason = <-readerDone:
			break loop
		}
	}
	s.stop(0, "")
	<-s.writerDone

	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	for id, vw := range s.viewers {
		s.closeViewer(vw)
		delete(s.viewers, id)
	}
	s.log.Info("socket closed", "reason", reason)
}

// stop ends the session: the writer sends a close frame with code (none when code is 0), and
// closes the socket, which ends the reader. Only the first call counts; it never blocks.
func (s *session) stop(code int, text string) {
	s.stopOnce.Do(func() {
		s.closeCode, s.closeText = code, text
		close(s.stopped)
	})
}

// readLoop reads until the socket fails, the session is stopped or the client breaks the
// protocol, handing each message to the owner; it returns why it ended, for the log.
func (s *session) readLoop(messages chan<- []byte) string {
	s.conn.SetReadLimit(s.cfg.MaxMessageBytes)
	alive := func() error { return s.conn.SetReadDeadline(time.Now().Add(s.cfg.PongWait)) }
	_ = alive()
	s.conn.SetPongHandler(func(string) error { return alive() })
	for {
		typ, data, err := s.conn.ReadMessage()
		select {
		case <-s.stopped:
			return "ended by the server"
		default:
		}
		if err != nil {
			return readFailure(err)
		}
		if typ != websocket.TextMessage {
			s.stop(websocket.CloseUnsupportedData, "only JSON text messages are accepted")
			return "client sent a binary message"
		}
		select {
		case messages <- data:
		case <-s.stopped:
			return "ended by the server"
		}
		// A message is a sign of life too; and the time the owner took (a Join) is not the
		// peer's silence.
		_ = alive()
	}
}

// readFailure words why reading ended.
func readFailure(err error) string {
	var closeErr *websocket.CloseError
	var netErr net.Error
	switch {
	case errors.As(err, &closeErr):
		return "client closed the socket (" + strconv.Itoa(closeErr.Code) + ")"
	case errors.Is(err, websocket.ErrReadLimit):
		return "client sent a message over the size limit"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "client stopped answering pings"
	}
	return err.Error()
}

// writeLoop writes queued messages and pings until the session is stopped or a write fails;
// then it closes the socket.
func (s *session) writeLoop() {
	defer close(s.writerDone)
	defer s.conn.Close()
	ping := time.NewTicker(s.cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-s.stopped:
			if s.closeCode != 0 {
				_ = s.conn.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(s.closeCode, s.closeText), time.Now().Add(s.cfg.WriteWait))
			}
			return
		case m := <-s.out:
			data, err := json.Marshal(m)
			if err == nil {
				_ = s.conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteWait))
				err = s.conn.WriteMessage(websocket.TextMessage, data)
			}
			if err != nil {
				s.log.Info("write to socket failed", "err", err)
				s.stop(0, "")
				return
			}
		case <-ping.C:
			if err := s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(s.cfg.WriteWait)); err != nil {
				s.log.Info("ping failed", "err", err)
				s.stop(0, "")
				return
			}
		}
	}
}

// handle acts on one message from the client.
func (s *session) handle(data []byte) {
	m, err := ParseMessage(data)
	if err != nil {
		if m.Type == TypeError {
			// Never answer an error with an error: two such peers would never stop.
			s.log.Debug("client sent an invalid error message", "err", err)
			return
		}
		s.log.Debug("client sent an invalid message", "err", err)
		reply := Message{Error: err.Error()}
		if validName(m.ID) {
			reply.ID = m.ID
		}
		s.sendError(reply)
		return
	}
	switch m.Type {
	case TypeJoin:
		s.join(m.Stream)
	case TypeAnswer:
		if vw := s.lookup(m.ID); vw != nil {
			if err := vw.v.Answer(m.SDP); err != nil {
				s.log.Info("answer rejected", "viewer", vw.id, "stream", vw.stream, "err", err)
				s.sendError(Message{ID: m.ID, Error: "answer rejected: " + err.Error()})
			}
		}
	case TypeCandidate:
		if vw := s.lookup(m.ID); vw != nil {
			if err := vw.v.AddCandidate(*m.Candidate); err != nil {
				s.log.Debug("candidate rejected", "viewer", vw.id, "stream", vw.stream, "err", err)
				s.sendError(Message{ID: m.ID, Error: "candidate rejected: " + err.Error()})
			}
		}
	case TypeLeave:
		if vw := s.lookup(m.ID); vw != nil {
			delete(s.viewers, vw.id)
			s.closeViewer(vw)
			s.log.Info("viewer left", "viewer", vw.id, "stream", vw.stream)
		}
	case TypeError:
		s.log.Info("client reported an error", "viewer", m.ID, "stream", m.Stream, "error", m.Error)
	case TypeOffer:
		s.sendError(Message{ID: m.ID, Error: "unexpected offer: the server makes the offers"})
	}
}

// join creates a viewer of stream and queues its offer, then the candidates that came first.
// The viewer takes a seat first, before its peer connection takes any socket, and has
// ConnectTimeout from now to connect.
func (s *session) join(stream string) {
	if len(s.viewers) >= s.cfg.MaxViewersPerSocket {
		s.sendError(Message{Stream: stream,
			Error: "too many viewers on this socket (at most " + strconv.Itoa(s.cfg.MaxViewersPerSocket) + ")"})
		return
	}
	seat, err := s.cfg.Admission.Admit(s.addr)
	if err != nil {
		// The gate logs refusals, spaced out.
		s.sendError(Message{Stream: stream, Error: err.Error()})
		return
	}
	s.lastID++
	vw := &viewer{id: "v" + strconv.Itoa(s.lastID), stream: stream, seat: seat}
	vw.deadline = time.AfterFunc(s.cfg.ConnectTimeout, func() { s.post(vw, eventDeadline) })
	v, offer, err := s.h.viewers.Join(stream, s.viewerEvents(vw))
	if err != nil {
		vw.deadline.Stop()
		s.mu.Lock()
		vw.closed, vw.pending = true, nil
		s.mu.Unlock()
		seat.Release()
		if errors.Is(err, ErrUnknownStream) {
			s.log.Info("join of an unknown stream", "stream", stream)
			s.sendError(Message{Stream: stream, Error: ErrUnknownStream.Error()})
			return
		}
		s.log.Warn("join failed", "stream", stream, "err", err)
		s.sendError(Message{Stream: stream, Error: "join failed"})
		return
	}
	vw.v = v
	s.viewers[vw.id] = vw

	var servers []webrtc.ICEServer
	if s.h.cfg.ICEServers != nil {
		servers = s.h.cfg.ICEServers()
	}
	s.mu.Lock()
	s.queueLocked(Message{Type: TypeOffer, Stream: stream, ID: vw.id, SDP: offer, ICEServers: servers})
	for _, c := range vw.pending {
		s.queueLocked(c)
	}
	vw.pending, vw.offerSent = nil, true
	s.mu.Unlock()
	s.log.Info("viewer joined", "viewer", vw.id, "stream", stream)
}

// viewerEvents returns the callbacks through which vw reports. None blocks.
func (s *session) viewerEvents(vw *viewer) ViewerEvents {
	return ViewerEvents{
		Candidate: s.candidateSink(vw),
		Connected: func() {
			s.mu.Lock()
			vw.connected = true
			s.mu.Unlock()
			vw.seat.Connected()
		},
		Ended: func() { s.post(vw, eventEnded) },
	}
}

// post hands an event of vw to the owner; events of a closed viewer, or after the session
// has ended, are dropped. It never blocks.
func (s *session) post(vw *viewer, kind eventKind) {
	s.mu.Lock()
	if s.closing || vw.closed {
		s.mu.Unlock()
		return
	}
	s.events = append(s.events, viewerEvent{vw: vw, kind: kind})
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default: // a wake-up is pending already; it takes this event too
	}
}

// handleEvents acts on the events posted since the last call: it closes viewers that have not
// connected within ConnectTimeout and viewers that ended by themselves, and tells the client.
func (s *session) handleEvents() {
	s.mu.Lock()
	events := s.events
	s.events = nil
	s.mu.Unlock()
	for _, ev := range events {
		vw := ev.vw
		if s.viewers[vw.id] != vw {
			continue // left, or closed by an earlier event
		}
		switch ev.kind {
		case eventDeadline:
			s.mu.Lock()
			connected := vw.connected
			s.mu.Unlock()
			if connected {
				continue
			}
			delete(s.viewers, vw.id)
			vw.reaped = true
			s.closeViewer(vw)
			s.log.Info("viewer closed: not connected in time", "viewer", vw.id, "stream", vw.stream,
				"connect_timeout", s.cfg.ConnectTimeout)
			s.sendError(Message{ID: vw.id, Stream: vw.stream, Error: "not connected within " + s.cfg.ConnectTimeout.String()})
		case eventEnded:
			delete(s.viewers, vw.id)
			s.closeViewer(vw)
			s.log.Info("viewer ended: its connection failed or closed, or its stream stopped", "viewer", vw.id, "stream", vw.stream)
			s.sendError(Message{ID: vw.id, Stream: vw.stream, Error: "viewer ended: its connection failed or closed, or the stream stopped"})
		}
	}
}

// candidateSink returns the callback through which vw's server candidates reach the client:
// held back until the offer is queued, dropped once the viewer is closed. It never blocks.
func (s *session) candidateSink(vw *viewer) func(*webrtc.ICECandidateInit) {
	return func(c *webrtc.ICECandidateInit) {
		init := webrtc.ICECandidateInit{} // end of gathering
		if c != nil {
			init = *c
		}
		m := Message{Type: TypeCandidate, ID: vw.id, Candidate: &init}
		s.mu.Lock()
		defer s.mu.Unlock()
		switch {
		case vw.closed || s.closing:
			// Too late: nobody will read it.
		case vw.offerSent:
			s.queueLocked(m)
		case len(vw.pending) >= s.cfg.MaxQueuedMessages:
			s.overflowLocked()
		default:
			vw.pending = append(vw.pending, m)
		}
	}
}

// lookup returns the viewer with id, or answers the client that there is none.
func (s *session) lookup(id string) *viewer {
	vw := s.viewers[id]
	if vw == nil {
		s.sendError(Message{ID: id, Error: "unknown viewer id"})
	}
	return vw
}

// closeViewer marks vw closed, so that its late candidates and events are dropped, closes it
// and then gives its seat back: every way a viewer ends goes through here, once.
func (s *session) closeViewer(vw *viewer) {
	vw.deadline.Stop()
	s.mu.Lock()
	vw.closed, vw.pending = true, nil
	s.mu.Unlock()
	if err := vw.v.Close(); err != nil {
		s.log.Warn("closing viewer failed", "viewer", vw.id, "stream", vw.stream, "err", err)
	}
	if vw.reaped {
		vw.seat.Reap()
	} else {
		vw.seat.Release()
	}
}

// sendError queues an error message; its text is cut to MaxErrorBytes.
func (s *session) sendError(m Message) {
	m.Type = TypeError
	m.Error = truncate(m.Error, MaxErrorBytes)
	s.mu.Lock()
	s.queueLocked(m)
	s.mu.Unlock()
}

// queueLocked queues m for the writer, or stops the session if the client has let the queue
// fill. s.mu is held.
func (s *session) queueLocked(m Message) {
	if s.closing {
		return
	}
	select {
	case s.out <- m:
	default:
		s.overflowLocked()
	}
}

// overflowLocked drops a client that lets messages pile up. s.mu is held.
func (s *session) overflowLocked() {
	s.closing = true
	s.log.Warn("client is not reading its socket; closing it", "max_queued", s.cfg.MaxQueuedMessages)
	s.stop(websocket.CloseTryAgainLater, "too many messages waiting to be sent")
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
