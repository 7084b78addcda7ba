package signaling

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pigweight/pigweight/signaling/admission"
)

// Handler serves GET /ws: it upgrades each request to a WebSocket and runs a session on it
// until the socket ends or Close is called. It is a net/http handler because gorilla needs
// http.Hijacker, which Fiber's fasthttp does not offer.
type Handler struct {
	viewers  Viewers
	cfg      Config
	log      *slog.Logger
	upgrader websocket.Upgrader
	anyOK    bool                // AllowedOrigins holds "*"
	origins  map[string]struct{} // the other AllowedOrigins, lower case

	mu       sync.Mutex
	closed   bool
	sessions map[*session]struct{}
	lastID   uint64         // numbers sessions in the logs
	wg       sync.WaitGroup // one per ServeHTTP in progress
}

// NewHandler returns a handler that creates viewers through v. Zero fields of cfg take their
// defaults; a ping interval not shorter than the pong wait is halved from the pong wait, with a
// warning (Config.Validate reports it earlier); a nil Admission gets a gate of its own without
// caps, which still counts. A nil log discards.
func NewHandler(v Viewers, cfg Config, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "signaling")
	if err := cfg.Validate(); err != nil {
		cfg = cfg.WithDefaults()
		cfg.PingInterval = cfg.PongWait / 2
		log.Warn("ping interval adjusted; set it below the pong wait", "err", err, "ping_interval", cfg.PingInterval)
	}
	cfg = cfg.WithDefaults()
	if cfg.Admission == nil {
		cfg.Admission = admission.New(admission.Limits{}, log)
	}
	h := &Handler{
		viewers:  v,
		cfg:      cfg,
		log:      log,
		origins:  make(map[string]struct{}),
		sessions: make(map[*session]struct{}),
	}
	for _, o := range cfg.AllowedOrigins {
		if o == "*" {
			h.anyOK = true
			continue
		}
		h.origins[strings.ToLower(strings.TrimSuffix(o, "/"))] = struct{}{}
	}
	h.upgrader = websocket.Upgrader{
		HandshakeTimeout: cfg.WriteWait,
		CheckOrigin:      h.checkOrigin,
		Error:            h.refuse,
	}
	return h
}

// ServeHTTP upgrades the request and runs the socket's session: this goroutine is the
// session's owner, and the session starts one reader and one writer beside it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		http.Error(w, "server is shutting down", http.StatusServiceUnavailable)
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()

	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // refuse has answered and logged
	}
	s := h.register(conn, r)
	if s == nil { // Close came during the upgrade
		_ = conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"),
			time.Now().Add(h.cfg.WriteWait))
		_ = conn.Close()
		return
	}
	defer h.unregister(s)
	s.run()
}

// Close closes every socket (close code 1001) and waits until their sessions have ended and
// closed their viewers, which have given their seats back. Requests after Close get 503.
func (h *Handler) Close() {
	h.mu.Lock()
	h.closed = true
	for s := range h.sessions {
		s.stop(websocket.CloseGoingAway, "server shutting down")
	}
	h.mu.Unlock()
	h.wg.Wait()
}

func (h *Handler) register(conn *websocket.Conn, r *http.Request) *session {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.lastID++
	s := newSession(h, conn, admission.Address(r), h.log.With("session", h.lastID, "remote", r.RemoteAddr))
	h.sessions[s] = struct{}{}
	return s
}

func (h *Handler) unregister(s *session) {
	h.mu.Lock()
	delete(h.sessions, s)
	h.mu.Unlock()
}

// checkOrigin allows requests without an Origin header (not from a browser, so not a
// cross-site request), from the server's own host, and from the configured origins.
func (h *Handler) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || h.anyOK {
		return true
	}
	if u, err := url.Parse(origin); err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host) {
		return true
	}
	_, ok := h.origins[strings.ToLower(origin)]
	return ok
}

// refuse answers a request that cannot be upgraded.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, status int, reason error) {
	if status == http.StatusForbidden {
		h.log.Warn("websocket refused: origin not allowed; list it in the signalling AllowedOrigins if it is yours",
			"origin", r.Header.Get("Origin"), "host", r.Host, "remote", r.RemoteAddr)
	} else {
		h.log.Debug("websocket upgrade failed", "status", status, "err", reason, "remote", r.RemoteAddr)
	}
	w.Header().Set("Sec-Websocket-Version", "13")
	http.Error(w, http.StatusText(status), status)
}
