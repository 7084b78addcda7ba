// Package web is pigweight's one HTTP listener. WebSocket signalling (which needs
// http.Hijacker, absent from Fiber's fasthttp) and WHEP will be served by net/http handlers here;
// everything else goes to the Fiber app of package api.
package web

import (
	"bytes"
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
	"github.com/pigweight/pigweight/pipelines/spec"
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
	// BodyTypes are the media types the route takes in the body of an unsafe request
	// (POST, PUT, PATCH, DELETE) besides JSON, YAML and SDP, which every route takes; "video/*"
	// stands for every subtype. Others are refused with 415. List multipart/form-data only
	// where it is needed (uploads): a cross-site form can send it.
	BodyTypes []string
}

// Options configures Listen. A zero timeout takes the default of package spec.
type Options struct {
	// Logger receives the listener's logs; nil discards them.
	Logger *slog.Logger
	// Hostnames are the names, besides IP addresses, localhost and names under .localhost,
	// that a request's Host header may give (server.hostnames); others are refused with 421.
	Hostnames []string
	// ReadTimeout: a request body must bring MinBodyBytes (or all of itself) in every
	// ReadTimeout, and the header must arrive within it (10 s at most).
	ReadTimeout time.Duration
	// WriteTimeout: an answer the client takes nothing of for this long is cut off.
	WriteTimeout time.Duration
	// IdleTimeout closes a kept-alive connection that sends no request for this long.
	IdleTimeout time.Duration
}

// maxHeaderTimeout bounds how long a request's header may take to arrive, whatever the
// read timeout: a header is a few hundred bytes.
const maxHeaderTimeout = 10 * time.Second

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = spec.DefaultReadTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = spec.DefaultWriteTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = spec.DefaultIdleTimeout
	}
	return o
}

// Listen binds addr (e.g. 127.0.0.1:8080, or 127.0.0.1:0 for a free port) for app and routes.
// Every request, whatever its route, passes the same guards: read and write deadlines, the
// Host check, the cross-origin check, and the check of an unsafe request's body type.
func Listen(addr string, app *fiber.App, opts Options, routes ...Route) (*Server, error) {
	opts = opts.withDefaults()
	log := opts.Logger.With("component", "web")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", bodyTypeGuard(limitBody(adaptor.FiberApp(app), api.MaxBodyBytes), nil, log))
	for _, r := range routes {
		mux.Handle(r.Pattern, bodyTypeGuard(r.Handler, r.BodyTypes, log))
	}
	handler := newCrossOriginGuard(log).wrap(mux)
	handler = newHostGuard(opts.Hostnames, log).wrap(handler)
	handler = withDeadlines(handler, opts.ReadTimeout, opts.WriteTimeout, log)
	return &Server{
		http: &http.Server{
			Handler: handler,
			// No ReadTimeout or WriteTimeout: they bound whole requests; withDeadlines bounds stalls.
			ReadHeaderTimeout: min(maxHeaderTimeout, opts.ReadTimeout),
			IdleTimeout:       opts.IdleTimeout,
			ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
		},
		ln:  ln,
		log: log,
	}, nil
}

// limitBody refuses a request body over limit before it is read: the adaptor reads the whole
// body into memory before Fiber's own BodyLimit could look at it. A body without a length is
// cut at limit+1 bytes, which the app then refuses as too large. The body is read here, not
// by the adaptor, which answers a failed read (a body too slow, see withDeadlines) with a
// bare 500.
func limitBody(next http.Handler, limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", limit))
			return
		}
		if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
			data, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
			switch {
			case errors.Is(err, ErrBodyTooSlow):
				writeError(w, http.StatusRequestTimeout, err.Error())
				return
			case err != nil:
				// Most likely the client went away; the error would only name addresses.
				writeError(w, http.StatusBadRequest, "the request body could not be read")
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(data))
		}
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
