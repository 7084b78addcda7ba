// Package web is pigweight's one HTTP listener. WebSocket signalling (which needs
// http.Hijacker, absent from Fiber's fasthttp) and WHEP will be served by net/http handlers here;
// everything else goes to the Fiber app of package api.
package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/pigweight/pigweight/web/api"
)

// Server is the HTTP listener.
type Server struct {
	http *http.Server
	ln   net.Listener
	log  *slog.Logger
}

// Route is a net/http handler served beside the Fiber app: WebSocket signalling needs
// http.Hijacker, which fasthttp lacks, and WHEP is plain HTTP with SDP bodies.
type Route struct {
	Pattern string // a net/http ServeMux pattern, e.g. "/ws" or "/whep/"
	Handler http.Handler
}

// Listen binds addr (e.g. 127.0.0.1:8080, or 127.0.0.1:0 for a free port) for app and routes.
func Listen(addr string, app *fiber.App, log *slog.Logger, routes ...Route) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", limitBody(adaptor.FiberApp(app), api.MaxBodyBytes))
	for _, r := range routes {
		mux.Handle(r.Pattern, r.Handler)
	}
	return &Server{
		http: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		ln:  ln,
		log: log.With("component", "web"),
	}, nil
}

// limitBody refuses a request body over limit before it is read: the adaptor reads the whole
// body into memory before Fiber's own BodyLimit could look at it. A body without a length is
// cut at limit+1 bytes, which the app then refuses as too large.
func limitBody(next http.Handler, limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			fmt.Fprintf(w, `{"error":"request body is larger than %d bytes"}`+"\n", limit)
			return
		}
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.LimitReader(r.Body, limit+1), r.Body}
		next.ServeHTTP(w, r)
	})
}

// Addr is the address the server listens on (with the real port when 0 was asked for).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Exposed reports whether the server can be reached from other machines: it listens on an
// address that is not loopback (0.0.0.0, a LAN address).
func (s *Server) Exposed() bool { return exposed(s.ln.Addr()) }

func exposed(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return !ok || !tcp.IP.IsLoopback()
}

// Serve runs the server until Shutdown; it returns nil after a clean shutdown.
func (s *Server) Serve() error {
	s.log.Info("listening", "addr", s.ln.Addr().String())
	err := s.http.Serve(s.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections and waits for requests in flight until ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.http.Shutdown(ctx)
}
