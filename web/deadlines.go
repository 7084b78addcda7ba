package web

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// MinBodyBytes is what a request body must bring in every read timeout: a 4 GiB upload over
// a slow farm link takes hours and is fine while it moves (64 KiB in 30 s is 17 kbit/s), a
// body trickling in to hold a connection open is cut.
const MinBodyBytes = 64 << 10

// writeChunk is the most one connection write is given at a time, so that the write
// deadline bounds a stall rather than a whole (large) answer.
const writeChunk = 64 << 10

// ErrBodyTooSlow is what reading a request body returns once it has brought less than
// MinBodyBytes in a read timeout; the error matches os.ErrDeadlineExceeded too. The Fiber
// app's routes answer it with 408. The failed read also cancels the request's context, so a
// handler that watches its context (the upload route) may report that instead.
var ErrBodyTooSlow = errors.New("request body too slow")

// withDeadlines bounds how long each request may stall, with rolling deadlines set through
// http.ResponseController, where http.Server's ReadTimeout and WriteTimeout would bound
// whole requests and so cut long uploads and downloads that are moving:
//
//   - the body must bring MinBodyBytes in every read window (or all of itself, if smaller);
//   - every write of up to writeChunk bytes must go out within the write timeout.
//
// A hijacked connection (a WebSocket) is left alone from then on: net/http clears the
// deadlines when it hands the connection over, and gorilla sets its own.
func withDeadlines(next http.Handler, read, write time.Duration, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		dw := &deadlineWriter{ResponseWriter: w, rc: rc, timeout: write}
		dw.extend()
		if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
			// No read deadline without a body: net/http's background read, waiting for the
			// next request, would see it fire and cancel this request's context.
			_ = rc.SetReadDeadline(time.Now().Add(read))
			r.Body = &deadlineBody{body: r.Body, w: dw, timeout: read, req: r, log: log}
		}
		next.ServeHTTP(dw, r)
		// net/http flushes what is buffered after the handler returns: give it a window too.
		dw.extend()
	})
}

// deadlineWriter extends the connection's write deadline before every chunk it writes.
type deadlineWriter struct {
	http.ResponseWriter
	rc       *http.ResponseController
	timeout  time.Duration
	hijacked atomic.Bool
}

func (w *deadlineWriter) extend() {
	if !w.hijacked.Load() {
		_ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	}
}

// Write writes p in chunks, each within the write timeout.
func (w *deadlineWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return w.ResponseWriter.Write(p) // still sends the header, as net/http's does
	}
	n := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), writeChunk)]
		w.extend()
		m, err := w.ResponseWriter.Write(chunk)
		n += m
		if err != nil {
			return n, err
		}
		p = p[m:]
	}
	return n, nil
}

// FlushError flushes within the write timeout; http.ResponseController finds it.
func (w *deadlineWriter) FlushError() error {
	w.extend()
	return w.rc.Flush()
}

// Flush is http.Flusher, for handlers that assert it.
func (w *deadlineWriter) Flush() { _ = w.FlushError() }

// Hijack is http.Hijacker, which gorilla asserts directly; the connection is the caller's
// from then on, and no deadline is touched again.
func (w *deadlineWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := w.rc.Hijack()
	if err == nil {
		w.hijacked.Store(true)
	}
	return conn, brw, err
}

// Unwrap lets http.ResponseController reach the server's ResponseWriter.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// deadlineBody moves the read deadline on each time MinBodyBytes have arrived, and clears
// it at the end of the body, before net/http's background read (which waits for the next
// request) could trip over it.
type deadlineBody struct {
	body    io.ReadCloser
	w       *deadlineWriter
	timeout time.Duration
	req     *http.Request
	log     *slog.Logger
	window  int64 // bytes since the deadline was last moved
	total   int64
	done    bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if b.done || b.w.hijacked.Load() {
		return n, err
	}
	b.window += int64(n)
	b.total += int64(n)
	switch {
	case errors.Is(err, io.EOF):
		b.done = true
		_ = b.w.rc.SetReadDeadline(time.Time{})
	case err != nil:
		// The deadline stays: before it answers, net/http reads what is left of the body
		// (to keep the connection), and that must fail at once, not wait for the trickle.
		b.done = true
		if errors.Is(err, os.ErrDeadlineExceeded) {
			b.log.Info("request body too slow: cut", "remote", b.req.RemoteAddr, "method", b.req.Method,
				"path", b.req.URL.Path, "bytes", b.total, "min_bytes", MinBodyBytes, "read_timeout", b.timeout.String())
			return n, &slowBodyError{timeout: b.timeout, cause: err}
		}
	case b.window >= MinBodyBytes:
		b.window = 0
		_ = b.w.rc.SetReadDeadline(time.Now().Add(b.timeout))
	}
	return n, err
}

func (b *deadlineBody) Close() error { return b.body.Close() }

// slowBodyError is ErrBodyTooSlow with the timeout; its message, which clients see, leaves
// out the connection's addresses that the cause names.
type slowBodyError struct {
	timeout time.Duration
	cause   error
}

func (e *slowBodyError) Error() string {
	return fmt.Sprintf("%v: less than %d KiB arrived in %s (server.read_timeout)", ErrBodyTooSlow, MinBodyBytes>>10, e.timeout)
}

func (e *slowBodyError) Unwrap() []error { return []error{ErrBodyTooSlow, e.cause} }
