package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/gofiber/fiber/v2"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-gst/go-gst/gst"
	"github.com/pigweight/pigweight/pipelines"
	"github.com/pigweight/pigweight/pipelines/graph"
	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/pipelines/spec"
	"github.com/pigweight/pigweight/web"
	"github.com/pigweight/pigweight/web/api"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	gst.Init(nil)
	goleak.VerifyTestMain(m)
}

const token = "s3cret-token"

// server runs the API over a real manager and real GStreamer pipelines on 127.0.0.1:0.
func server(t *testing.T) string {
	return serverWithLog(t, nil)
}

func serverWithLog(t *testing.T, log *slog.Logger) string {
	t.Helper()
	app, closeManager := pipelineApp(log, api.Options{Token: token})
	return serveApp(t, app, closeManager)
}

// pipelineApp is the API of opts over a real manager running real GStreamer pipelines; the
// function returned closes the manager.
func pipelineApp(log *slog.Logger, opts api.Options) (*fiber.App, func()) {
	cfg := &spec.Config{}
	rt := &graph.Runtime{Log: log}
	m := pipelines.NewManager(pipelines.RuntimeFunc(func(p spec.Pipeline, hooks media.Hooks) (pipelines.Run, error) {
		return rt.Start(p, hooks)
	}), log)
	opts.Logger = log
	opts.Pipelines = m
	opts.ParsePipeline = func(body []byte) (spec.Pipeline, error) { return spec.ParsePipeline("request", body, cfg) }
	opts.System = func() api.System { return api.System{GStreamer: graph.Version(), NVDEC: graph.NVDEC()} }
	return api.New(opts), m.Close
}

// serveApp serves app and routes on 127.0.0.1:0 until the test ends, then shuts the server
// down, calls done and closes app; it returns the server's base URL.
func serveApp(t *testing.T, app *fiber.App, done func(), routes ...web.Route) string {
	t.Helper()
	return serveAppWith(t, web.Options{}, app, done, routes...)
}

// serveAppWith is serveApp with the listener's options.
func serveAppWith(t *testing.T, opts web.Options, app *fiber.App, done func(), routes ...web.Route) string {
	t.Helper()
	srv, err := web.Listen("127.0.0.1:0", app, opts, routes...)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
		done()
		_ = app.Shutdown()
	})
	return "http://" + srv.Addr().String()
}

func do(t *testing.T, method, url, body string, auth bool) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/yaml")
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func getStatus(t *testing.T, base, name string) pipelines.Status {
	t.Helper()
	code, body := do(t, "GET", base+"/api/v1/pipelines/"+name, "", false)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", name, code, body)
	}
	var st pipelines.Status
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func waitPlaying(t *testing.T, base, name string, frames uint64) pipelines.Status {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := getStatus(t, base, name)
		if st.State == pipelines.StatePlaying && st.Frames >= frames {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never played %d frames: %+v", name, frames, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The API drives a real manager: add, list, stop, start, restart and delete real pipelines.
func TestAPIOverRealManager(t *testing.T) {
	base := server(t)
	pen := `name: pen
source: {type: synthetic, synthetic: {width: 160, height: 120, fps: 30, pigs: 4}}
`
	if code, body := do(t, "POST", base+"/api/v1/pipelines", pen, false); code != http.StatusUnauthorized {
		t.Fatalf("POST without token: %d %s", code, body)
	}
	if code, body := do(t, "POST", base+"/api/v1/pipelines", pen, true); code != http.StatusCreated {
		t.Fatalf("POST: %d %s", code, body)
	}
	if code, body := do(t, "POST", base+"/api/v1/pipelines", pen, true); code != http.StatusConflict {
		t.Fatalf("POST duplicate: %d %s", code, body)
	}
	code, body := do(t, "POST", base+"/api/v1/pipelines", "name: bad\nsource: {type: rtsp, uri: http://cam/x}\n", true)
	var apiErr struct{ Error, Field string }
	if err := json.Unmarshal(body, &apiErr); code != http.StatusBadRequest || err != nil || apiErr.Field != "source.uri" {
		t.Fatalf("POST invalid: %d %s", code, body)
	}
	st := waitPlaying(t, base, "pen", 60)
	if st.Decoder == "" || st.FPS <= 0 {
		t.Errorf("playing status lacks decoder or fps: %+v", st)
	}

	code, body = do(t, "GET", base+"/api/v1/pipelines", "", false)
	var list []pipelines.Status
	if err := json.Unmarshal(body, &list); code != http.StatusOK || err != nil || len(list) != 1 || list[0].Name != "pen" {
		t.Fatalf("GET list: %d %s", code, body)
	}

	for _, action := range []string{"stop", "start", "restart"} {
		if code, body := do(t, "POST", base+"/api/v1/pipelines/pen/"+action, "", true); code >= 300 {
			t.Fatalf("%s: %d %s", action, code, body)
		}
		if action == "stop" {
			if st := getStatus(t, base, "pen"); st.State != pipelines.StateStopped {
				t.Fatalf("after stop: %s", st.State)
			}
		} else {
			waitPlaying(t, base, "pen", 1)
		}
	}
	if code, body := do(t, "DELETE", base+"/api/v1/pipelines/pen", "", true); code != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", code, body)
	}
	if code, _ := do(t, "GET", base+"/api/v1/pipelines/pen", "", false); code != http.StatusNotFound {
		t.Fatalf("GET after DELETE: %d", code)
	}
	if code, body := do(t, "GET", base+"/api/v1/system", "", false); code != http.StatusOK || !strings.Contains(string(body), "GStreamer 1.") {
		t.Fatalf("GET system: %d %s", code, body)
	}
}

// lockedBuffer collects log output from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A camera's password never leaves the process: not in logs, status, errors or the API.
func TestCredentialsNeverShow(t *testing.T) {
	var logs lockedBuffer
	base := serverWithLog(t, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	const password = "pa55-Secret"
	body := `{"name": "cam", "source": {"type": "rtsp", "uri": "rtsp://admin:` + password + `@127.0.0.1:1/stream"}, "restart": {"backoff_min": "100ms", "backoff_max": "200ms"}}`
	if code, resp := do(t, "POST", base+"/api/v1/pipelines", body, true); code != http.StatusCreated || strings.Contains(string(resp), password) {
		t.Fatalf("POST: %d %s", code, resp)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := getStatus(t, base, "cam")
		if st.Restarts >= 2 && st.LastError != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("camera never failed twice: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, path := range []string{"/api/v1/pipelines", "/api/v1/pipelines/cam"} {
		code, resp := do(t, "GET", base+path, "", false)
		if code != http.StatusOK || strings.Contains(string(resp), password) || !strings.Contains(string(resp), "rtsp://***") {
			t.Errorf("GET %s: %d %s", path, code, resp)
		}
	}
	if strings.Contains(logs.String(), password) {
		t.Errorf("the password is in the log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "retrying") {
		t.Errorf("the log does not show the retries:\n%s", logs.String())
	}
}
