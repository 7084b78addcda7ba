// Package whep serves WebRTC-HTTP Egress Protocol sessions (WHEP, draft-ietf-wish-whep): a
// player POSTs its SDP offer to /whep/{stream} and gets the answer back, with every server
// candidate in it, in one request; DELETE on the session URL the answer named ends the
// session. Trickle ICE and ICE restarts (PATCH) are not offered: on loopback and LAN the
// candidates are known before the answer goes out, and the session URL answers PATCH with
// 405, as WHIP (RFC 9725) asks of servers without them.
//
// # Mounting
//
// The handler parses r.URL.Path itself (no ServeMux patterns), expecting the Prefix
// "/whep/", so mount it on that subtree of the server's mux:
//
//	api, _ := peer.NewAPI(cfg)
//	h := whep.NewHandler(api, streams, log, whep.WithConfiguration(cfg.Configuration))
//	mux.Handle(whep.Prefix, h)
//	defer h.Close() // after the HTTP server has shut down
//
// A stream name is one path segment; percent-encoded characters (%2F included) are decoded.
//
//	POST    /whep/{stream}        Content-Type: application/sdp → 201, answer, Location
//	DELETE  /whep/{stream}/{id}   → 204
//	OPTIONS /whep/{stream}        → 204, Accept-Post: application/sdp
//
// Errors: 404 unknown stream or session, 405 other methods, 413 offer over 64 KiB, 415 not
// application/sdp, 400 an offer that does not parse, cannot be applied or has no H.264 video
// to receive, 503 after Close. With an admission gate (WithAdmission), an offer over its cap
// on all viewers gets 503 and over its cap per client address 429, both with Retry-After and
// a body naming the cap and the setting that raises it.
//
// A session takes a seat of the gate before its peer connection is made and gives it back
// when it ends: on DELETE, when its peer connection fails or closes, when it has not
// connected within the connect timeout (15 s; counted as reaped), when its stream's hub
// stops, or on Close.
package whep

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/pigweight/pigweight/signaling/admission"
	"github.com/pigweight/pigweight/signaling/fanout"
)

// Prefix is the path the handler serves under.
const Prefix = "/whep/"

// MaxOfferBytes bounds the offer's body. Browsers' offers are a few KiB.
const MaxOfferBytes = 64 << 10

// Streams finds the hub of a stream by name.
type Streams interface {
	Hub(stream string) (*fanout.Hub, bool)
}

// Option changes a Handler's defaults.
type Option func(*Handler)

// WithConfiguration sets what gives every session's peer connection its configuration (ICE
// servers; usually peer.Config.Configuration, called per session so that minted TURN
// credentials are fresh). Its STUN and TURN servers are also offered to the player in Link
// headers, as draft-ietf-wish-whep describes.
func WithConfiguration(c func() webrtc.Configuration) Option {
	return func(h *Handler) { h.config = c }
}

// WithTimeouts sets how long the answer waits for ICE gathering (default 5 s; then it goes out
// with the candidates found) and how long a session may take to connect (default 15 s; the
// configuration's webrtc.connect_timeout). A zero or negative duration keeps its default.
func WithTimeouts(gather, connect time.Duration) Option {
	return func(h *Handler) {
		if gather > 0 {
			h.gatherTimeout = gather
		}
		if connect > 0 {
			h.connectTimeout = connect
		}
	}
}

// WithAdmission makes every session take a seat of g, usually the gate the WebSocket viewers
// share, so that both kinds of viewer count against the same caps. Without it the handler
// has a gate of its own without caps, which still counts.
func WithAdmission(g *admission.Gate) Option {
	return func(h *Handler) { h.admission = g }
}

// Handler serves WHEP. Make it with NewHandler; Close ends every session.
type Handler struct {
	api            *webrtc.API
	streams        Streams
	log            *slog.Logger
	config         func() webrtc.Configuration
	gatherTimeout  time.Duration
	connectTimeout time.Duration
	admission      *admission.Gate

	mu       sync.Mutex
	sessions map[string]*session
	closed   bool
	wg       sync.WaitGroup // one per session's watch goroutine
}

// NewHandler returns a WHEP handler that makes peer connections from api and finds streams
// in streams.
func NewHandler(api *webrtc.API, streams Streams, log *slog.Logger, opts ...Option) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{
		api:            api,
		streams:        streams,
		log:            log.With("component", "whep"),
		gatherTimeout:  5 * time.Second,
		connectTimeout: 15 * time.Second,
		sessions:       make(map[string]*session),
	}
	for _, o := range opts {
		o(h)
	}
	if h.admission == nil {
		h.admission = admission.New(admission.Limits{}, log)
	}
	return h
}

// Sessions is how many sessions are open.
func (h *Handler) Sessions() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions)
}

// Close ends every session and waits until they are torn down. Later offers get 503.
func (h *Handler) Close() {
	h.mu.Lock()
	h.closed = true
	for _, s := range h.sessions {
		s.end(errClosed)
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// ServeHTTP routes /whep/{stream} and /whep/{stream}/{session}.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	stream, id, ok := parsePath(r.URL)
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch {
	case id == "" && r.Method == http.MethodPost:
		h.offer(w, r, stream)
	case id == "" && r.Method == http.MethodOptions:
		w.Header().Set("Allow", "OPTIONS, POST")
		w.Header().Set("Accept-Post", "application/sdp")
		w.WriteHeader(http.StatusNoContent)
	case id == "":
		w.Header().Set("Allow", "OPTIONS, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	case r.Method == http.MethodDelete:
		h.delete(w, stream, id)
	default:
		// PATCH included: no trickle ICE, no ICE restart.
		w.Header().Set("Allow", "DELETE")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// parsePath splits Prefix{stream}[/{id}] into its decoded segments.
func parsePath(u *url.URL) (stream, id string, ok bool) {
	rest, found := strings.CutPrefix(u.EscapedPath(), Prefix)
	if !found || rest == "" {
		return "", "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) > 2 || parts[0] == "" || (len(parts) == 2 && parts[1] == "") {
		return "", "", false
	}
	stream, err := url.PathUnescape(parts[0])
	if err != nil {
		return "", "", false
	}
	if len(parts) == 2 {
		if id, err = url.PathUnescape(parts[1]); err != nil {
			return "", "", false
		}
	}
	return stream, id, true
}

// errBadOffer marks what is the player's fault (400).
var errBadOffer = errors.New("bad offer")

func (h *Handler) offer(w http.ResponseWriter, r *http.Request, stream string) {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	hub, found := h.streams.Hub(stream)
	if !found {
		http.Error(w, "no such stream", http.StatusNotFound)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/sdp" {
		http.Error(w, "the offer must be application/sdp", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxOfferBytes))
	if err != nil {
		if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
			http.Error(w, "offer too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading the offer failed", http.StatusBadRequest)
		return
	}
	offer := webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(body)}
	if _, err := offer.Unmarshal(); err != nil {
		http.Error(w, "the offer is not SDP: "+err.Error(), http.StatusBadRequest)
		return
	}

	// The seat comes before the peer connection: refusing must cost no socket.
	seat, err := h.admission.Admit(admission.Address(r))
	if err != nil {
		// A seat frees when a viewer leaves or, at the latest, when an unconnected one is
		// reaped: the connect timeout is the wait worth suggesting.
		w.Header().Set("Retry-After", strconv.Itoa(int((h.connectTimeout+time.Second-1)/time.Second)))
		status := http.StatusServiceUnavailable
		if errors.Is(err, admission.ErrAddressFull) {
			status = http.StatusTooManyRequests
		}
		http.Error(w, err.Error(), status)
		return
	}
	config := h.configuration()
	s, answer, err := h.open(r.Context(), hub, offer, config, seat)
	switch {
	case errors.Is(err, errClosed):
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	case errors.Is(err, fanout.ErrHubClosed):
		http.Error(w, "the stream has ended", http.StatusNotFound)
		return
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		h.log.Info("player left before the answer", "stream", stream)
		return
	case errors.Is(err, errBadOffer):
		h.log.Info("offer refused", "stream", stream, "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	case err != nil:
		h.log.Error("session failed to start", "stream", stream, "err", err)
		http.Error(w, "the session could not start", http.StatusInternalServerError)
		return
	}
	for _, link := range iceServerLinks(config.ICEServers) {
		w.Header().Add("Link", link)
	}
	w.Header().Set("Location", Prefix+url.PathEscape(stream)+"/"+s.id)
	w.Header().Set("Content-Type", "application/sdp")
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

func (h *Handler) delete(w http.ResponseWriter, stream, id string) {
	h.mu.Lock()
	s, ok := h.sessions[id]
	h.mu.Unlock()
	if !ok || s.stream != stream {
		http.Error(w, "no such session", http.StatusNotFound)
		return
	}
	s.end(errDeleted)
	<-s.finished
	w.WriteHeader(http.StatusNoContent)
}

// Why sessions end, for the log.
var (
	errClosed         = errors.New("handler closed")
	errDeleted        = errors.New("deleted by the player")
	errConnection     = errors.New("peer connection failed or closed")
	errConnectTimeout = errors.New("not connected in time")
	errViewerEnded    = errors.New("viewer ended (stream stopped or track closed)")
)

// session is one player's view of one stream.
type session struct {
	id        string
	stream    string
	hub       *fanout.Hub
	pc        *webrtc.PeerConnection
	viewer    *fanout.Viewer
	seat      *admission.Seat
	started   time.Time
	ctx       context.Context // done: tear the session down
	end       context.CancelCauseFunc
	connected chan struct{}
	connOnce  sync.Once
	finished  chan struct{} // closed when torn down
}

// configuration is the configuration of one new session's peer connection.
func (h *Handler) configuration() webrtc.Configuration {
	if h.config == nil {
		return webrtc.Configuration{}
	}
	return h.config()
}

// open creates the session's peer connection and viewer, applies the offer and returns the
// answer with every candidate gathered. On success the session is registered and watched, and
// holds seat until it ends; on failure seat is given back.
func (h *Handler) open(ctx context.Context, hub *fanout.Hub, offer webrtc.SessionDescription, config webrtc.Configuration, seat *admission.Seat) (*session, string, error) {
	pc, err := h.api.NewPeerConnection(config)
	if err != nil {
		seat.Release()
		return nil, "", fmt.Errorf("peer connection: %w", err)
	}
	viewer, err := hub.Join(pc)
	if err != nil {
		_ = pc.Close()
		seat.Release()
		return nil, "", err
	}
	sctx, end := context.WithCancelCause(context.Background())
	s := &session{
		id:        rand.Text(),
		stream:    hub.Stream(),
		hub:       hub,
		pc:        pc,
		viewer:    viewer,
		seat:      seat,
		started:   time.Now(),
		ctx:       sctx,
		end:       end,
		connected: make(chan struct{}),
		finished:  make(chan struct{}),
	}
	fail := func(err error) (*session, string, error) {
		end(err)
		hub.Leave(viewer)
		_ = pc.Close()
		seat.Release()
		return nil, "", err
	}
	pc.OnConnectionStateChange(func(state webrtc.PeerConnectionState) {
		switch state {
		case webrtc.PeerConnectionStateConnected:
			viewer.Connected()
			seat.Connected()
			s.connOnce.Do(func() { close(s.connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			s.end(errConnection)
		}
	})

	if err := pc.SetRemoteDescription(offer); err != nil {
		return fail(fmt.Errorf("%w: %w", errBadOffer, err))
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail(fmt.Errorf("%w: %w", errBadOffer, err))
	}
	if len(viewer.Sender().GetParameters().Codecs) == 0 {
		return fail(fmt.Errorf("%w: no H.264 (packetization-mode=1) video to receive", errBadOffer))
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return fail(fmt.Errorf("local description: %w", err))
	}
	timeout := time.NewTimer(h.gatherTimeout)
	defer timeout.Stop()
	select {
	case <-gathered:
	case <-timeout.C:
		h.log.Warn("ICE gathering incomplete; answering with the candidates found", "stream", s.stream)
	case <-ctx.Done():
		return fail(ctx.Err())
	}

	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return fail(errClosed)
	}
	h.sessions[s.id] = s
	h.wg.Add(1)
	h.mu.Unlock()
	go h.watch(s)
	h.log.Info("session started", "stream", s.stream, "session", s.id)
	return s, pc.LocalDescription().SDP, nil
}

// watch waits for the session's end and tears it down.
func (h *Handler) watch(s *session) {
	defer h.wg.Done()
	connectTimeout := time.NewTimer(h.connectTimeout)
	defer connectTimeout.Stop()
	connected := s.connected
	for s.ctx.Err() == nil {
		select {
		case <-connected:
			connected = nil
			connectTimeout.Stop()
		case <-connectTimeout.C:
			s.end(errConnectTimeout)
		case <-s.viewer.Done():
			s.end(errViewerEnded)
		case <-s.ctx.Done():
		}
	}
	h.mu.Lock()
	delete(h.sessions, s.id)
	h.mu.Unlock()
	s.hub.Leave(s.viewer)
	if err := s.pc.Close(); err != nil {
		h.log.Debug("closing the peer connection", "session", s.id, "err", err)
	}
	// After the close: the seat stands for the connection's sockets.
	if errors.Is(context.Cause(s.ctx), errConnectTimeout) {
		s.seat.Reap()
	} else {
		s.seat.Release()
	}
	close(s.finished)
	st := s.viewer.Stats()
	h.log.Info("session ended", "stream", s.stream, "session", s.id, "reason", context.Cause(s.ctx),
		"duration", time.Since(s.started).Round(time.Millisecond),
		"frames", st.Frames, "dropped", st.Dropped, "keyframe_requests", st.KeyframeRequests)
}

// iceServerLinks are the Link header values announcing servers (RFC 8288, with the
// attributes draft-ietf-wish-whep gives them).
func iceServerLinks(servers []webrtc.ICEServer) []string {
	var links []string
	for _, s := range servers {
		for _, u := range s.URLs {
			link := "<" + u + `>; rel="ice-server"`
			if cred, ok := s.Credential.(string); ok && s.Username != "" {
				link += fmt.Sprintf(`; username=%q; credential=%q; credential-type="password"`, s.Username, cred)
			}
			links = append(links, link)
		}
	}
	return links
}
