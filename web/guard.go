package web

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/pigweight/pigweight/web/api"
)

// A page on any web site can make the browser of someone on the server's machine send
// requests to it: forms and no-cors fetches need no permission, and DNS rebinding gives an
// attacker's name this server's address. The guards here refuse what only such a page sends,
// for every route of the listener, and let through browsers on the server's own page and
// clients that are not browsers (curl, scripts), which send neither Origin nor Sec-Fetch-Site.

// hostGuard refuses requests whose Host names this server by a name it does not know. A
// rebinding attacker's page is same-origin with its own name, so the browser's cross-origin
// checks do not stop it; the Host header still carries that name.
type hostGuard struct {
	names map[string]struct{} // lower case, without a trailing dot
	log   *slog.Logger
}

func newHostGuard(hostnames []string, log *slog.Logger) *hostGuard {
	g := &hostGuard{names: make(map[string]struct{}, len(hostnames)), log: log}
	for _, h := range hostnames {
		g.names[canonicalName(h)] = struct{}{}
	}
	return g
}

func canonicalName(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }

// allowed reports whether host (a Host header: name or address, with or without a port)
// names this server: any IP literal, localhost and names under .localhost (RFC 6761: they
// resolve to loopback and never to an attacker's address), and the configured names.
func (g *hostGuard) allowed(host string) bool {
	if host == "" {
		// HTTP/1.0 without Host: not a browser, which always sends one.
		return true
	}
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	name = strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
	if _, err := netip.ParseAddr(name); err == nil {
		return true
	}
	name = canonicalName(name)
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return true
	}
	_, ok := g.names[name]
	return ok
}

func (g *hostGuard) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.allowed(r.Host) {
			g.log.Warn("request refused: its Host is not a name of this server (DNS rebinding, or a name missing from server.hostnames)",
				"host", r.Host, "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path)
			writeError(w, http.StatusMisdirectedRequest, fmt.Sprintf(
				"this server does not answer to the name %q: if it is one of its names, add it to server.hostnames in the configuration (IP addresses and localhost are always accepted)", r.Host))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// crossOriginGuard refuses unsafe requests (anything but GET, HEAD and OPTIONS) that a
// browser says come from another origin. net/http's CrossOriginProtection decides: it
// trusts Sec-Fetch-Site, falls back to comparing Origin with Host, and lets through requests
// with neither header, which browsers never send without.
type crossOriginGuard struct {
	cop *http.CrossOriginProtection
	log *slog.Logger
}

func newCrossOriginGuard(log *slog.Logger) *crossOriginGuard {
	return &crossOriginGuard{cop: http.NewCrossOriginProtection(), log: log}
}

func (g *crossOriginGuard) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := g.cop.Check(r); err != nil {
			g.log.Warn("cross-origin request refused: a page of another site asked the browser to send it",
				"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"),
				"remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path)
			writeError(w, http.StatusForbidden,
				"cross-origin request refused: a page of another site may not change this server; use this server's own page, or a client that is not a browser (curl, a script)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isSafeMethod reports the methods that change nothing, as CrossOriginProtection counts them.
func isSafeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// commonBodyType reports the media types every route takes in the body of an unsafe
// request: JSON and YAML (pipelines, job requests) and SDP (WHEP offers). None of them is a
// type an HTML form or a no-cors fetch can send (the Fetch standard's CORS-safelisted
// Content-Types are text/plain, application/x-www-form-urlencoded and multipart/form-data),
// so a cross-site page cannot send one without the server's CORS consent, which it never gives.
func commonBodyType(mt string) bool {
	switch mt {
	case "application/json", "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "application/sdp":
		return true
	}
	return false
}

// bodyTypeGuard refuses the body of an unsafe request unless its Content-Type is a common
// one or one of extra ("type/subtype", or "type/*" for every subtype). A body without a
// Content-Type passes: a form always sends one. This is a second line behind the
// cross-origin guard, for browsers that send neither Origin nor Sec-Fetch-Site on a form.
func bodyTypeGuard(next http.Handler, extra []string, log *slog.Logger) http.Handler {
	accepted := []string{"application/json", "application/yaml", "application/sdp"}
	accepted = append(accepted, extra...)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ct := r.Header.Get("Content-Type")
		if isSafeMethod(r.Method) || r.ContentLength == 0 || strings.TrimSpace(ct) == "" {
			next.ServeHTTP(w, r)
			return
		}
		mt, _, err := mime.ParseMediaType(ct)
		if err == nil && (commonBodyType(mt) || matchesType(mt, extra)) {
			next.ServeHTTP(w, r)
			return
		}
		log.Info("request refused: its body has a type a cross-site form can send, or one this route does not take",
			"content_type", ct, "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path)
		writeError(w, http.StatusUnsupportedMediaType, fmt.Sprintf(
			"Content-Type %q is not accepted here (forms on any web site can send text/plain, application/x-www-form-urlencoded and multipart/form-data): send %s",
			ct, strings.Join(accepted, ", ")))
	})
}

// matchesType reports whether media type mt is one of types, where "type/*" stands for a
// whole top-level type.
func matchesType(mt string, types []string) bool {
	for _, t := range types {
		if prefix, ok := strings.CutSuffix(t, "/*"); ok {
			if strings.HasPrefix(mt, prefix+"/") {
				return true
			}
		} else if mt == t {
			return true
		}
	}
	return false
}

// writeError answers as the API's errors do: an ErrorResponse as JSON.
func writeError(w http.ResponseWriter, status int, msg string) {
	data, _ := json.Marshal(api.ErrorResponse{Error: msg})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}
