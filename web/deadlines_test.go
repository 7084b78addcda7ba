package web_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pigweight/pigweight/web"
	"github.com/pigweight/pigweight/web/api"
)

// dial opens a raw connection to the server at host (127.0.0.1:PORT), closed when the test
// ends: the tests here misbehave in ways net/http's client will not.
func dial(t *testing.T, host string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// A body that trickles in (here 20 bytes a second, far under 64 KiB a read timeout) is cut
// by the read timeout on every route that reads bodies, with an error that says why.
func TestSlowBodyIsCut(t *testing.T) {
	const timeout = 300 * time.Millisecond
	srv := newOpenServer(t, web.Options{ReadTimeout: timeout})
	for _, c := range []struct {
		name, path, contentType string
		status                  int
		reason                  string
	}{
		{"the app", "/api/v1/pipelines", "application/yaml", http.StatusRequestTimeout, "too slow"},
		// The failed read cancels the request's context too, and the library reports that.
		{"the upload route", "/api/v1/videos?name=slow.mp4", "application/octet-stream", http.StatusBadRequest, "upload interrupted"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn := dial(t, srv.host)
			if _, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: 100000\r\n\r\n", c.path, srv.host, c.contentType); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			trickled := make(chan struct{})
			go func() {
				defer close(trickled)
				tick := time.NewTicker(50 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						if _, err := conn.Write([]byte{0}); err != nil {
							return
						}
					}
				}
			}()
			defer func() { close(stop); <-trickled }()
			// Generous: the whole body would take 5000 s at this rate.
			_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			start := time.Now()
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer to the trickling body after %v: %v", time.Since(start), err)
			}
			defer resp.Body.Close()
			var e api.ErrorResponse
			data, _ := io.ReadAll(resp.Body)
			if err := json.Unmarshal(data, &e); resp.StatusCode != c.status || err != nil || !strings.Contains(e.Error, c.reason) {
				t.Errorf("%d %s; want %d saying %q", resp.StatusCode, data, c.status, c.reason)
			}
			if took := time.Since(start); took < timeout {
				t.Errorf("cut after %v, before the read timeout of %v", took, timeout)
			}
		})
	}
}

// pacedReader gives chunk bytes of r at a time, one every interval: an upload over a slow
// but steady link.
type pacedReader struct {
	r        io.Reader
	chunk    int
	interval time.Duration
	last     time.Time
}

func (p *pacedReader) Read(b []byte) (int, error) {
	if wait := time.Until(p.last.Add(p.interval)); wait > 0 {
		time.Sleep(wait)
	}
	p.last = time.Now()
	return p.r.Read(b[:min(len(b), p.chunk)])
}

// The read timeout bounds stalls, not uploads: a large upload that keeps coming, taking many
// read timeouts in all, is stored.
func TestSteadyUploadOutlastsTheReadTimeout(t *testing.T) {
	const timeout = time.Second
	clip := ffmpegClip(t, "big.mp4", "320x240", "-vf", "noise=alls=60:allf=t", "-qp", "0")
	srv := newOpenServer(t, web.Options{ReadTimeout: timeout})
	// 640 KiB/s: a read timeout's 64 KiB in a tenth of it.
	body := &pacedReader{r: bytes.NewReader(clip), chunk: 32 << 10, interval: 50 * time.Millisecond}
	req, err := http.NewRequest("POST", srv.base+"/api/v1/videos?name=big.mp4", body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(clip))
	req.Header.Set("Content-Type", "application/octet-stream")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	took := time.Since(start)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload of %d bytes over %v: %d %s", len(clip), took, resp.StatusCode, data)
	}
	if took < 2*timeout {
		t.Fatalf("the upload took %v; the test needs it to outlast several read timeouts of %v", took, timeout)
	}
}

// A kept-alive connection that sends nothing more is closed after the idle timeout.
func TestIdleConnectionIsClosed(t *testing.T) {
	const timeout = 300 * time.Millisecond
	srv := newOpenServer(t, web.Options{IdleTimeout: timeout})
	conn := dial(t, srv.host)
	if _, err := fmt.Fprintf(conn, "GET /api/v1/health HTTP/1.1\r\nHost: %s\r\n\r\n", srv.host); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("health: %d, close %v; want 200 on a kept-alive connection", resp.StatusCode, resp.Close)
	}
	idle := time.Now()
	n, err := r.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the idle connection was still open after %v", time.Since(idle))
	}
	if n != 0 || (err != io.EOF && !errors.Is(err, net.ErrClosed) && !strings.Contains(fmt.Sprint(err), "reset")) {
		t.Fatalf("read %d bytes, %v; want the server to close the connection", n, err)
	}
	if took := time.Since(idle); took < timeout/2 {
		t.Errorf("closed after %v, well before the idle timeout of %v", took, timeout)
	}
}

// testRoutes are net/http routes that write as the tests need; written reports the error
// that ended each answer of /endless.
func testRoutes(written chan<- error) []web.Route {
	endless := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				written <- err
				return
			}
		}
	})
	// 40 pieces of 16 KiB, one every 50 ms: 2 s in all, each piece quick.
	steady := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		piece := bytes.Repeat([]byte("y"), 16<<10)
		for range 40 {
			if _, err := w.Write(piece); err != nil {
				return
			}
			_ = rc.Flush()
			time.Sleep(50 * time.Millisecond)
		}
	})
	return []web.Route{{Pattern: "GET /endless", Handler: endless}, {Pattern: "GET /steady", Handler: steady}}
}

// An answer the client stops taking is cut off after the write timeout; one that keeps
// moving is not, however long it takes in all.
func TestWriteTimeoutCutsStalledReadersOnly(t *testing.T) {
	const timeout = 300 * time.Millisecond
	written := make(chan error, 1)
	app := api.New(api.Options{})
	base := serveAppWith(t, web.Options{WriteTimeout: timeout}, app, func() {}, testRoutes(written)...)
	host := strings.TrimPrefix(base, "http://")

	t.Run("stalled", func(t *testing.T) {
		conn := dial(t, host)
		if _, err := fmt.Fprintf(conn, "GET /endless HTTP/1.1\r\nHost: %s\r\n\r\n", host); err != nil {
			t.Fatal(err)
		}
		// The client reads nothing: once the socket buffers are full, writes stall.
		select {
		case err := <-written:
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("the answer ended with %v; want the write deadline", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the answer to a client that reads nothing was never cut off")
		}
	})
	t.Run("moving", func(t *testing.T) {
		start := time.Now()
		resp, err := http.Get(base + "/steady")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		if err != nil || n != 40*16<<10 {
			t.Fatalf("got %d bytes in %v, %v; want all %d", n, time.Since(start), err, 40*16<<10)
		}
	})
}

// A hijacked connection keeps no deadline of the request that opened it, even when the
// handler returns at once and the connection idles far past every timeout: a WebSocket
// (gorilla, which sets deadlines of its own on each write) and a bare hijacked connection
// (which sets none).
func TestHijackedConnectionsOutliveTheTimeouts(t *testing.T) {
	const timeout = 200 * time.Millisecond
	var echoes sync.WaitGroup
	upgrader := websocket.Upgrader{}
	// As the signalling handler does, each connection lives on in goroutines of its own.
	wsEcho := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		echoes.Go(func() {
			defer ws.Close()
			for {
				kind, msg, err := ws.ReadMessage()
				if err != nil {
					return
				}
				if err := ws.WriteMessage(kind, msg); err != nil {
					return
				}
			}
		})
	})
	rawEcho := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		echoes.Go(func() {
			defer conn.Close()
			if _, err := io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n"); err != nil {
				return
			}
			_, _ = io.Copy(conn, brw.Reader)
		})
	})
	app := api.New(api.Options{})
	base := serveAppWith(t, web.Options{ReadTimeout: timeout, WriteTimeout: timeout, IdleTimeout: timeout}, app, echoes.Wait,
		web.Route{Pattern: "GET /ws-echo", Handler: wsEcho}, web.Route{Pattern: "GET /raw-echo", Handler: rawEcho})
	host := strings.TrimPrefix(base, "http://")
	const msg = "still there?"

	t.Run("WebSocket", func(t *testing.T) {
		ws, _, err := websocket.DefaultDialer.Dial("ws://"+host+"/ws-echo", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		// Not an assertion: the socket has to sit idle past every timeout before it is used.
		time.Sleep(3 * timeout)
		_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		if err := ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		if _, got, err := ws.ReadMessage(); err != nil || string(got) != msg {
			t.Fatalf("echo after idling: %q, %v", got, err)
		}
	})
	t.Run("bare", func(t *testing.T) {
		conn := dial(t, host)
		if _, err := fmt.Fprintf(conn, "GET /raw-echo HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n", host); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(conn)
		resp, err := http.ReadResponse(r, nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade: %v %v", resp, err)
		}
		time.Sleep(3 * timeout) // as above
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(conn, msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(r, got); err != nil || string(got) != msg {
			t.Fatalf("echo after idling: %q, %v", got, err)
		}
	})
}
