package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/pipelines"
	"github.com/pigweight/pigweight/pipelines/spec"
)

// fakePipelines stands in for the pipeline manager: a map behind a mutex. The real manager is
// tested against this API elsewhere.
type fakePipelines struct {
	mu    sync.Mutex
	m     map[string]pipelines.Status
	err   error // when set, every method but List fails with it
	panic bool  // when set, List panics
}

func newFake(names ...string) *fakePipelines {
	f := &fakePipelines{m: make(map[string]pipelines.Status)}
	for _, n := range names {
		f.m[n] = pipelines.Status{Name: n, State: pipelines.StatePlaying, Since: time.Unix(1700000000, 0).UTC(), Decoder: "avdec_h264", Spec: spec.Pipeline{Name: n, Inference: spec.Inference{Enabled: true, Model: "demo"}}}
	}
	return f
}

func (f *fakePipelines) List() []pipelines.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.panic {
		panic("fake manager exploded")
	}
	var out []pipelines.Status
	for _, s := range f.m {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (f *fakePipelines) Get(name string) (pipelines.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return pipelines.Status{}, f.err
	}
	s, ok := f.m[name]
	if !ok {
		return pipelines.Status{}, fmt.Errorf("%w: %q", pipelines.ErrNotFound, name)
	}
	return s, nil
}

// Detections reports one box for a pipeline whose spec enables inference.
func (f *fakePipelines) Detections(name string) (pipelines.Detections, error) {
	st, err := f.Get(name)
	if err != nil {
		return pipelines.Detections{}, err
	}
	if !st.Spec.Inference.Enabled {
		return pipelines.Detections{}, pipelines.ErrNoInference
	}
	return pipelines.Detections{PTS: 66_666_666, Frame: 1, Detections: []detect.Detection{{Box: detect.Box{X: 1, Y: 2, W: 3, H: 4}, Class: "pig", Score: 0.9, Area: 10}}}, nil
}

func (f *fakePipelines) Add(p spec.Pipeline) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	if _, ok := f.m[p.Name]; ok {
		return fmt.Errorf("%w: %q", pipelines.ErrExists, p.Name)
	}
	f.m[p.Name] = pipelines.Status{Name: p.Name, State: pipelines.StateStarting, Since: time.Now().UTC(), Spec: p}
	return nil
}

func (f *fakePipelines) Remove(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	if _, ok := f.m[name]; !ok {
		return fmt.Errorf("%w: %q", pipelines.ErrNotFound, name)
	}
	delete(f.m, name)
	return nil
}

func (f *fakePipelines) setState(name string, st pipelines.State, restart bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	s, ok := f.m[name]
	if !ok {
		return fmt.Errorf("%w: %q", pipelines.ErrNotFound, name)
	}
	s.State = st
	if restart {
		s.Restarts++
	}
	f.m[name] = s
	return nil
}

func (f *fakePipelines) Start(name string) error {
	return f.setState(name, pipelines.StateStarting, false)
}
func (f *fakePipelines) Stop(name string) error {
	return f.setState(name, pipelines.StateStopped, false)
}
func (f *fakePipelines) Restart(name string) error {
	return f.setState(name, pipelines.StateStarting, true)
}

// parseStub stands in for spec.ParsePipeline: JSON only, and the only validation is that name
// and source.type are present, each reported with a made-up line so the error layout can be
// checked.
func parseStub(body []byte) (spec.Pipeline, error) {
	var p spec.Pipeline
	if err := json.Unmarshal(body, &p); err != nil {
		return spec.Pipeline{}, fmt.Errorf("decode: %w", err)
	}
	var errs spec.Errors
	if p.Name == "" {
		errs = append(errs, &spec.FieldError{Line: 1, Column: 1, Field: "name", Message: "is required"})
	}
	if p.Source.Type == "" {
		errs = append(errs, &spec.FieldError{Line: 2, Column: 3, Field: "source.type", Message: "must be one of rtsp, file, synthetic"})
	}
	if len(errs) > 0 {
		return spec.Pipeline{}, errs
	}
	return p, nil
}

func testSystem() System {
	return System{
		GStreamer: "1.24.2",
		Decoders: []Decoder{
			{Name: "nvh264dec", Codec: "h264", Hardware: true, Available: false},
			{Name: "avdec_h264", Codec: "h264", Available: true},
		},
		ONNXRuntime: Runtime{Version: "1.20.1", Providers: []Provider{{Name: "cuda", Error: "no GPU"}, {Name: "cpu", Usable: true}}},
	}
}

func newTestApp(t *testing.T, f Pipelines, token string) *fiber.App {
	t.Helper()
	return New(Options{
		Pipelines:     f,
		ParsePipeline: parseStub,
		System:        testSystem,
		Token:         token,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		Version:       "0.1.0-test",
		Reload: func() (any, error) {
			return pipelines.ReloadResult{Unchanged: []string{"pen2"}}, nil
		},
		Videos: newFakeVideos(),
		Pens:   newTestPens(t),
	})
}

type request struct {
	method, path, body string
	header             map[string]string
}

func send(t *testing.T, app *fiber.App, r request) (*http.Response, []byte) {
	t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req := httptest.NewRequest(r.method, "/", body)
	// app.Test sends RequestURI as written, so a test can send what url.Parse would refuse.
	req.RequestURI = r.path
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	res, err := app.Test(req, 5000)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", r.method, r.path, err)
	}
	return res, data
}

const jsonType = "application/json"

var jsonHeader = map[string]string{"Content-Type": jsonType}

func TestRoutes(t *testing.T) {
	tests := []struct {
		name   string
		req    request
		status int
		check  func(t *testing.T, res *http.Response, body []byte)
	}{
		{
			name:   "health",
			req:    request{method: "GET", path: "/api/v1/health"},
			status: 200,
			check:  wantJSON(`{"status":"ok"}`),
		},
		{
			name:   "system",
			req:    request{method: "GET", path: "/api/v1/system"},
			status: 200,
			check: func(t *testing.T, _ *http.Response, body []byte) {
				var m map[string]any
				mustUnmarshal(t, body, &m)
				for _, k := range []string{"version", "gstreamer", "decoders", "nvdec", "onnxruntime"} {
					if _, ok := m[k]; !ok {
						t.Errorf("system JSON lacks %q: %s", k, body)
					}
				}
				var s System
				mustUnmarshal(t, body, &s)
				if s.Version != "0.1.0-test" || s.GStreamer != "1.24.2" || len(s.Decoders) != 2 || len(s.ONNXRuntime.Providers) != 2 {
					t.Errorf("system = %+v", s)
				}
			},
		},
		{
			name:   "list sorted",
			req:    request{method: "GET", path: "/api/v1/pipelines"},
			status: 200,
			check: func(t *testing.T, _ *http.Response, body []byte) {
				var list []pipelines.Status
				mustUnmarshal(t, body, &list)
				if got := names(list); !slices.Equal(got, []string{"barn", "pen 1", "pen2"}) {
					t.Errorf("names = %v", got)
				}
			},
		},
		{
			name:   "get",
			req:    request{method: "GET", path: "/api/v1/pipelines/pen2"},
			status: 200,
			check:  wantStatus("pen2", pipelines.StatePlaying),
		},
		{
			name:   "get percent-encoded name",
			req:    request{method: "GET", path: "/api/v1/pipelines/pen%201"},
			status: 200,
			check:  wantStatus("pen 1", pipelines.StatePlaying),
		},
		{
			name:   "add JSON",
			req:    request{method: "POST", path: "/api/v1/pipelines", body: `{"name":"new","source":{"type":"synthetic"}}`, header: jsonHeader},
			status: 201,
			check: func(t *testing.T, res *http.Response, body []byte) {
				wantStatus("new", pipelines.StateStarting)(t, res, body)
				if loc := res.Header.Get("Location"); loc != "/api/v1/pipelines/new" {
					t.Errorf("Location = %q", loc)
				}
			},
		},
		{
			name:   "add without Content-Type",
			req:    request{method: "POST", path: "/api/v1/pipelines", body: `{"name":"new","source":{"type":"synthetic"}}`},
			status: 201,
			check:  wantStatus("new", pipelines.StateStarting),
		},
		{
			name:   "add as YAML",
			req:    request{method: "POST", path: "/api/v1/pipelines", body: `{"name":"new","source":{"type":"rtsp"}}`, header: map[string]string{"Content-Type": "application/yaml; charset=utf-8"}},
			status: 201,
			check:  wantStatus("new", pipelines.StateStarting),
		},
		{
			name:   "add as text/yaml",
			req:    request{method: "POST", path: "/api/v1/pipelines", body: `{"name":"new","source":{"type":"rtsp"}}`, header: map[string]string{"Content-Type": "text/yaml"}},
			status: 201,
			check:  wantStatus("new", pipelines.StateStarting),
		},
		{
			name:   "delete",
			req:    request{method: "DELETE", path: "/api/v1/pipelines/pen2"},
			status: 204,
			check: func(t *testing.T, _ *http.Response, body []byte) {
				if len(body) != 0 {
					t.Errorf("204 with a body: %q", body)
				}
			},
		},
		{
			name:   "start",
			req:    request{method: "POST", path: "/api/v1/pipelines/pen2/start"},
			status: 200,
			check:  wantStatus("pen2", pipelines.StateStarting),
		},
		{
			name:   "stop",
			req:    request{method: "POST", path: "/api/v1/pipelines/pen2/stop"},
			status: 200,
			check:  wantStatus("pen2", pipelines.StateStopped),
		},
		{
			name:   "restart",
			req:    request{method: "POST", path: "/api/v1/pipelines/pen2/restart"},
			status: 200,
			check: func(t *testing.T, res *http.Response, body []byte) {
				wantStatus("pen2", pipelines.StateStarting)(t, res, body)
				var s pipelines.Status
				mustUnmarshal(t, body, &s)
				if s.Restarts != 1 {
					t.Errorf("restarts = %d, want 1", s.Restarts)
				}
			},
		},
		{
			name:   "openapi",
			req:    request{method: "GET", path: "/api/v1/openapi.json"},
			status: 200,
			check: func(t *testing.T, res *http.Response, body []byte) {
				wantContentType("application/json")(t, res, body)
				var m map[string]any
				mustUnmarshal(t, body, &m)
				if m["openapi"] != "3.0.3" {
					t.Errorf("openapi = %v", m["openapi"])
				}
			},
		},
		{
			name:   "docs",
			req:    request{method: "GET", path: "/docs"},
			status: 200,
			check:  all(wantContentType("text/html"), wantBodyContains("/api/v1/openapi.json")),
		},
		{
			name:   "start page",
			req:    request{method: "GET", path: "/"},
			status: 200,
			check:  all(wantContentType("text/html"), wantBodyContains("/ui/app.js")),
		},
		{
			name:   "start page script",
			req:    request{method: "GET", path: "/ui/app.js"},
			status: 200,
			check:  all(wantContentType("javascript"), wantBodyContains("/api/v1")),
		},
		{
			name:   "start page style",
			req:    request{method: "GET", path: "/ui/style.css"},
			status: 200,
			check:  wantContentType("text/css"),
		},
		{
			name:   "HEAD health",
			req:    request{method: "HEAD", path: "/api/v1/health"},
			status: 200,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := newTestApp(t, newFake("pen2", "barn", "pen 1"), "")
			res, body := send(t, app, tt.req)
			if res.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d; body %s", res.StatusCode, tt.status, body)
			}
			if tt.check != nil {
				tt.check(t, res, body)
			}
		})
	}
}

func TestEmptyListIsArray(t *testing.T) {
	for _, tt := range []struct {
		name string
		p    Pipelines
	}{
		{"empty manager", newFake()},
		{"no manager", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, body := send(t, newTestApp(t, tt.p, ""), request{method: "GET", path: "/api/v1/pipelines"})
			if got := string(bytes.TrimSpace(body)); got != "[]" {
				t.Errorf("body = %s, want []", got)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	closed := newFake("pen2")
	closed.err = pipelines.ErrClosed
	broken := newFake("pen2")
	broken.err = errors.New("supervisor table corrupt at 0xdeadbeef")
	panicky := newFake("pen2")
	panicky.panic = true

	tests := []struct {
		name      string
		p         Pipelines // nil: a fake holding pen2
		noManager bool      // New gets no Pipelines at all
		noParser  bool      // New gets no ParsePipeline
		req       request
		status    int
		wantError string // substring of "error"
		wantField string
		wantLines []int // lines of "errors", nil when "errors" must be absent
	}{
		{name: "missing name", req: request{method: "POST", path: "/api/v1/pipelines", body: `{"source":{"type":"rtsp"}}`, header: jsonHeader},
			status: 400, wantError: "is required", wantField: "name", wantLines: []int{1}},
		{name: "two problems", req: request{method: "POST", path: "/api/v1/pipelines", body: `{"source":{}}`, header: jsonHeader},
			status: 400, wantError: "is required", wantField: "name", wantLines: []int{1, 2}},
		{name: "not JSON", req: request{method: "POST", path: "/api/v1/pipelines", body: `{"name":`, header: jsonHeader},
			status: 400, wantError: "invalid pipeline"},
		{name: "empty body", req: request{method: "POST", path: "/api/v1/pipelines", body: "  \n", header: jsonHeader},
			status: 400, wantError: "empty"},
		{name: "form body", req: request{method: "POST", path: "/api/v1/pipelines", body: `name=x`, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}},
			status: 415, wantError: "application/yaml"},
		{name: "compressed body", req: request{method: "POST", path: "/api/v1/pipelines", body: `{"name":"x"}`, header: map[string]string{"Content-Type": jsonType, "Content-Encoding": "gzip"}},
			status: 415, wantError: "compressed"},
		{name: "exists", req: request{method: "POST", path: "/api/v1/pipelines", body: `{"name":"pen2","source":{"type":"rtsp"}}`, header: jsonHeader},
			status: 409, wantError: `"pen2" already exists`, wantField: "name"},
		{name: "get unknown", req: request{method: "GET", path: "/api/v1/pipelines/nope"},
			status: 404, wantError: `"nope" not found`},
		{name: "delete unknown", req: request{method: "DELETE", path: "/api/v1/pipelines/nope"},
			status: 404, wantError: `"nope" not found`},
		{name: "start unknown", req: request{method: "POST", path: "/api/v1/pipelines/nope/start"},
			status: 404, wantError: "not found"},
		{name: "stop unknown", req: request{method: "POST", path: "/api/v1/pipelines/nope/stop"},
			status: 404, wantError: "not found"},
		{name: "restart unknown", req: request{method: "POST", path: "/api/v1/pipelines/nope/restart"},
			status: 404, wantError: "not found"},
		{name: "bad escape in name", req: request{method: "GET", path: "/api/v1/pipelines/%zz"},
			status: 400, wantError: "invalid pipeline name"},
		{name: "unknown API route", req: request{method: "GET", path: "/api/v1/nope"},
			status: 404, wantError: "Cannot GET"},
		{name: "unknown route", req: request{method: "GET", path: "/nope"},
			status: 404, wantError: "Cannot GET"},
		{name: "unknown asset", req: request{method: "GET", path: "/ui/nope.js"},
			status: 404},
		{name: "asset outside the page", req: request{method: "GET", path: "/ui/../api.go"},
			status: 404},
		{name: "wrong method", req: request{method: "PUT", path: "/api/v1/pipelines"},
			status: 405, wantError: "method not allowed"},
		{name: "wrong method on read-only route", req: request{method: "PATCH", path: "/api/v1/health"},
			status: 405, wantError: "method not allowed"},
		{name: "closed manager get", p: closed, req: request{method: "GET", path: "/api/v1/pipelines/pen2"},
			status: 503, wantError: "shutting down"},
		{name: "closed manager add", p: closed, req: request{method: "POST", path: "/api/v1/pipelines", body: `{"name":"x","source":{"type":"rtsp"}}`},
			status: 503, wantError: "shutting down"},
		{name: "closed manager stop", p: closed, req: request{method: "POST", path: "/api/v1/pipelines/pen2/stop"},
			status: 503, wantError: "shutting down"},
		{name: "no manager", noManager: true, req: request{method: "GET", path: "/api/v1/pipelines/pen2"},
			status: 503, wantError: "shutting down"},
		{name: "internal error hidden", p: broken, req: request{method: "DELETE", path: "/api/v1/pipelines/pen2"},
			status: 500, wantError: "internal server error"},
		{name: "panic", p: panicky, req: request{method: "GET", path: "/api/v1/pipelines"},
			status: 500, wantError: "internal server error"},
		{name: "no parser", noParser: true, req: request{method: "POST", path: "/api/v1/pipelines", body: `{"name":"x"}`},
			status: 501, wantError: "cannot add"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			switch {
			case tt.noManager:
				p = nil
			case p == nil:
				p = newFake("pen2")
			}
			var logs bytes.Buffer
			opts := Options{
				Pipelines:     p,
				ParsePipeline: parseStub,
				Logger:        slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			}
			if tt.noParser {
				opts.ParsePipeline = nil
			}
			app := New(opts)
			res, body := send(t, app, tt.req)
			if res.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d; body %s", res.StatusCode, tt.status, body)
			}
			e := checkErrorShape(t, res, body)
			if !strings.Contains(e.Error, tt.wantError) {
				t.Errorf("error = %q, want it to contain %q", e.Error, tt.wantError)
			}
			if e.Field != tt.wantField {
				t.Errorf("field = %q, want %q", e.Field, tt.wantField)
			}
			var lines []int
			for _, fe := range e.Errors {
				lines = append(lines, fe.Line)
			}
			if !slices.Equal(lines, tt.wantLines) {
				t.Errorf("errors lines = %v, want %v (errors %+v)", lines, tt.wantLines, e.Errors)
			}
			if len(e.Errors) > 0 && (e.Errors[0].Error != e.Error || e.Errors[0].Field != e.Field) {
				t.Errorf("first of errors %+v differs from error/field %q/%q", e.Errors[0], e.Error, e.Field)
			}
			if tt.status == 500 {
				if strings.Contains(string(body), "deadbeef") || strings.Contains(string(body), "exploded") {
					t.Errorf("500 leaks the detail: %s", body)
				}
				if !strings.Contains(logs.String(), "deadbeef") && !strings.Contains(logs.String(), "exploded") {
					t.Errorf("500 detail not logged; log:\n%s", logs.String())
				}
				// The app survives a panic and keeps serving.
				if res, _ := send(t, app, request{method: "GET", path: "/api/v1/health"}); res.StatusCode != 200 {
					t.Errorf("after a 500, health = %d", res.StatusCode)
				}
			}
		})
	}
}

// checkErrorShape checks that body is a JSON error of the one shape every error has, and
// decodes it.
func checkErrorShape(t *testing.T, res *http.Response, body []byte) ErrorResponse {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want JSON", ct)
	}
	var raw map[string]json.RawMessage
	mustUnmarshal(t, body, &raw)
	for k := range raw {
		if k != "error" && k != "field" && k != "errors" {
			t.Errorf("unexpected key %q in error %s", k, body)
		}
	}
	if _, ok := raw["error"]; !ok {
		t.Errorf("error body without \"error\": %s", body)
	}
	var e ErrorResponse
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("decode error body %s: %v", body, err)
	}
	if e.Error == "" {
		t.Errorf("empty error message: %s", body)
	}
	return e
}

// pathFor turns a registered route path into a request path naming pipeline "pen2", and the
// video, frame and job that newFakeVideos holds.
func pathFor(route string) string {
	return strings.NewReplacer(":name", "pen2", ":pen", "pen2", ":id", fakeVideoID, ":n", "0", ":job", fakeJobID).Replace(route)
}

// apiRoutes are the app's routes without HEAD (Fiber adds one per GET) and without the start
// page's routes, which are not part of the API.
func apiRoutes(app *fiber.App) []fiber.Route {
	var out []fiber.Route
	for _, r := range app.GetRoutes(true) {
		if r.Method == fiber.MethodHead || r.Path == "/" || strings.HasPrefix(r.Path, "/ui/") {
			continue
		}
		out = append(out, r)
	}
	return out
}

func TestToken(t *testing.T) {
	const token = "s3cret-token"
	routes := apiRoutes(newTestApp(t, newFake(), token))
	var mutating, reading int
	for _, r := range routes {
		isRead := r.Method == fiber.MethodGet
		if isRead {
			reading++
		} else {
			mutating++
		}
		body := ""
		switch {
		case r.Method == fiber.MethodPost && r.Path == "/api/v1/pipelines":
			body = `{"name":"new","source":{"type":"rtsp"}}`
		case r.Method == fiber.MethodPost && r.Path == "/api/v1/pens/:pen/checkweighs":
			body = testCheckWeigh
		}
		cases := []struct {
			name   string
			auth   string
			want   int // 0: anything but 401
			bearer string
		}{
			{name: "no token", auth: "", want: 401, bearer: `Bearer realm="pigweight"`},
			{name: "wrong token", auth: "Bearer nope", want: 401, bearer: `error="invalid_token"`},
			{name: "token prefix", auth: "Bearer " + token[:4], want: 401, bearer: `error="invalid_token"`},
			{name: "basic scheme", auth: "Basic " + token, want: 401, bearer: "Bearer"},
			{name: "right token", auth: "Bearer " + token},
			{name: "scheme case-insensitive", auth: "bearer " + token},
		}
		for _, c := range cases {
			t.Run(r.Method+" "+r.Path+"/"+c.name, func(t *testing.T) {
				app := newTestApp(t, newFake("pen2"), token)
				h := map[string]string{}
				if c.auth != "" {
					h["Authorization"] = c.auth
				}
				res, resBody := send(t, app, request{method: r.Method, path: pathFor(r.Path), body: body, header: h})
				if isRead || c.want == 0 {
					if res.StatusCode == 401 || res.StatusCode >= 400 {
						t.Fatalf("status = %d, want success; body %s", res.StatusCode, resBody)
					}
					return
				}
				if res.StatusCode != c.want {
					t.Fatalf("status = %d, want %d; body %s", res.StatusCode, c.want, resBody)
				}
				checkErrorShape(t, res, resBody)
				if got := res.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") || !strings.Contains(got, c.bearer) {
					t.Errorf("WWW-Authenticate = %q, want Bearer with %q", got, c.bearer)
				}
			})
		}
	}
	if mutating < 5 || reading < 5 {
		t.Fatalf("only %d mutating and %d reading routes found", mutating, reading)
	}

	// The token guards /api only: pages stay reachable, and the check happens before routing.
	t.Run("pages need no token", func(t *testing.T) {
		app := newTestApp(t, newFake(), token)
		for _, p := range []string{"/", "/docs", "/ui/app.js"} {
			if res, _ := send(t, app, request{method: "GET", path: p}); res.StatusCode != 200 {
				t.Errorf("GET %s = %d", p, res.StatusCode)
			}
		}
	})
}

func TestBodyLimit(t *testing.T) {
	valid := `{"name":"big","source":{"type":"rtsp"}}`
	tests := []struct {
		name    string
		size    int
		chunked bool // no Content-Length: the server finds out only while reading
		status  int
	}{
		{name: "at the limit", size: MaxBodyBytes, status: 201},
		{name: "one byte over", size: MaxBodyBytes + 1, status: 413},
		{name: "far over", size: 8 * MaxBodyBytes, status: 413},
		{name: "chunked at the limit", size: MaxBodyBytes, chunked: true, status: 201},
		{name: "chunked over", size: 2 * MaxBodyBytes, chunked: true, status: 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A real listener: fasthttp refuses the body while reading the request, before any
			// handler runs, and that is the path under test.
			addr := serve(t, newTestApp(t, newFake(), ""))
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
				conn.Close()
				t.Fatal(err)
			}
			// JSON allows trailing whitespace, so padding keeps the body valid.
			body := valid + strings.Repeat(" ", tt.size-len(valid))
			var req bytes.Buffer
			fmt.Fprintf(&req, "POST /api/v1/pipelines HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n", addr)
			if tt.chunked {
				req.WriteString("Transfer-Encoding: chunked\r\n\r\n")
				for chunk := range slices.Chunk([]byte(body), 64<<10) {
					fmt.Fprintf(&req, "%x\r\n%s\r\n", len(chunk), chunk)
				}
				req.WriteString("0\r\n\r\n")
			} else {
				fmt.Fprintf(&req, "Content-Length: %d\r\n\r\n%s", tt.size, body)
			}
			// The server may answer 413 and close before it has read everything, so write
			// concurrently and ignore write errors: the response is what counts.
			written := make(chan struct{})
			go func() {
				defer close(written)
				_, _ = conn.Write(req.Bytes())
			}()
			defer func() {
				conn.Close()
				<-written
			}()
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			data, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d; body %.200s", res.StatusCode, tt.status, data)
			}
			if tt.status == 413 {
				if e := checkErrorShape(t, res, data); !strings.Contains(e.Error, "limit") {
					t.Errorf("error = %q", e.Error)
				}
			}
		})
	}
}

// TestBodyLimitUnderNetHTTP covers the app mounted through Fiber's net/http adaptor, as package
// web mounts it: there fasthttp's BodyLimit does not apply and the app checks the bound itself.
func TestBodyLimitUnderNetHTTP(t *testing.T) {
	valid := `{"name":"big","source":{"type":"rtsp"}}`
	tests := []struct {
		name   string
		method string
		path   string
		size   int
		status int
	}{
		{name: "add at the limit", method: "POST", path: "/api/v1/pipelines", size: MaxBodyBytes, status: 201},
		{name: "add over", method: "POST", path: "/api/v1/pipelines", size: MaxBodyBytes + 1, status: 413},
		// A route that ignores bodies still refuses a huge one.
		{name: "action over", method: "POST", path: "/api/v1/pipelines/pen2/stop", size: MaxBodyBytes + 1, status: 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := adaptor.FiberApp(newTestApp(t, newFake("pen2"), ""))
			body := valid + strings.Repeat(" ", tt.size-len(valid))
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(body))
			req.Header.Set("Content-Type", jsonType)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			res := rec.Result()
			data := rec.Body.Bytes()
			if res.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d; body %.200s", res.StatusCode, tt.status, data)
			}
			if tt.status == 413 {
				checkErrorShape(t, res, data)
			}
		})
	}
}

// serve runs app on 127.0.0.1:0 until the test ends and returns its address.
func serve(t *testing.T, app *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Listener(ln) }()
	t.Cleanup(func() {
		if err := app.ShutdownWithTimeout(5 * time.Second); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String()
}

func TestDocsPageIsSelfContained(t *testing.T) {
	for _, bad := range []string{"http://", "https://", "//cdn", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"} {
		if strings.Contains(docsHTML, bad) {
			t.Errorf("docs.html contains %q: it must load nothing from outside and put data in the DOM only as text", bad)
		}
	}
}

// --- helpers --------------------------------------------------------------------------------

func mustUnmarshal(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("unmarshal %.300s: %v", data, err)
	}
}

func names(list []pipelines.Status) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s.Name
	}
	return out
}

func wantJSON(want string) func(*testing.T, *http.Response, []byte) {
	return func(t *testing.T, _ *http.Response, body []byte) {
		var got, exp any
		mustUnmarshal(t, body, &got)
		mustUnmarshal(t, []byte(want), &exp)
		g, _ := json.Marshal(got)
		e, _ := json.Marshal(exp)
		if !bytes.Equal(g, e) {
			t.Errorf("body = %s, want %s", g, e)
		}
	}
}

func wantStatus(name string, state pipelines.State) func(*testing.T, *http.Response, []byte) {
	return func(t *testing.T, _ *http.Response, body []byte) {
		var s pipelines.Status
		mustUnmarshal(t, body, &s)
		if s.Name != name || s.State != state {
			t.Errorf("status = %q %q, want %q %q", s.Name, s.State, name, state)
		}
	}
}

func wantContentType(sub string) func(*testing.T, *http.Response, []byte) {
	return func(t *testing.T, res *http.Response, _ []byte) {
		if ct := res.Header.Get("Content-Type"); !strings.Contains(ct, sub) {
			t.Errorf("Content-Type = %q, want %q", ct, sub)
		}
	}
}

func wantBodyContains(sub string) func(*testing.T, *http.Response, []byte) {
	return func(t *testing.T, _ *http.Response, body []byte) {
		if !bytes.Contains(body, []byte(sub)) {
			t.Errorf("body lacks %q", sub)
		}
	}
}

func all(checks ...func(*testing.T, *http.Response, []byte)) func(*testing.T, *http.Response, []byte) {
	return func(t *testing.T, res *http.Response, body []byte) {
		for _, c := range checks {
			c(t, res, body)
		}
	}
}

// TestOpenAPICoversRoutes checks that the document describes exactly the routes the app serves:
// a route added without its description, or a description left behind by a removed route,
// fails here.
func TestOpenAPICoversRoutes(t *testing.T) {
	app := newTestApp(t, newFake(), "")
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	mustUnmarshal(t, mustOpenAPI(t), &doc)

	type key struct{ method, path string }
	served := map[key]bool{}
	for _, r := range apiRoutes(app) {
		// Fiber writes parameters as :name, OpenAPI as {name}.
		parts := strings.Split(r.Path, "/")
		for i, p := range parts {
			if strings.HasPrefix(p, ":") {
				parts[i] = "{" + p[1:] + "}"
			}
		}
		served[key{strings.ToLower(r.Method), strings.Join(parts, "/")}] = true
	}
	documented := map[key]bool{}
	for path, item := range doc.Paths {
		for method := range item {
			if method == "parameters" || method == "summary" || method == "description" {
				continue
			}
			documented[key{method, path}] = true
		}
	}
	for k := range served {
		t.Run("served "+k.method+" "+k.path, func(t *testing.T) {
			if !documented[k] {
				t.Errorf("route %s %s is not in the OpenAPI document", strings.ToUpper(k.method), k.path)
			}
		})
	}
	for k := range documented {
		t.Run("documented "+k.method+" "+k.path, func(t *testing.T) {
			if !served[k] {
				t.Errorf("OpenAPI documents %s %s, which the app does not serve", strings.ToUpper(k.method), k.path)
			}
		})
	}
	if len(served) < 11 {
		t.Errorf("only %d routes found: %v", len(served), served)
	}
}

func mustOpenAPI(t *testing.T) []byte {
	t.Helper()
	data, err := openAPIJSON("test")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDetectionsRoute(t *testing.T) {
	f := newFake("plain", "analysed")
	f.m["plain"] = pipelines.Status{Name: "plain", Spec: spec.Pipeline{Name: "plain"}}
	app := New(Options{Pipelines: f})
	cases := []struct {
		name, want string
		status     int
	}{
		{"analysed", `{"pts":66666666,"frame":1,"time":"0001-01-01T00:00:00Z","detections":[{"box":[1,2,3,4],"class_id":0,"class":"pig","score":0.9,"area":10}]}`, 200},
		{"plain", `inference is not enabled`, 404},
		{"missing", `not found`, 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := app.Test(httptest.NewRequest("GET", "/api/v1/pipelines/"+tc.name+"/detections", nil))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.want) {
				t.Errorf("%d %s; want %d containing %s", resp.StatusCode, body, tc.status, tc.want)
			}
		})
	}
}

// TestViewers checks that every answer carrying a pipeline's status reports its viewers, from
// the hook, and 0 without one.
func TestViewers(t *testing.T) {
	viewers := map[string]int{"barn": 3, "pen2": 1}
	var asked []string
	var mu sync.Mutex
	app := New(Options{
		Pipelines:     newFake("barn", "pen2", "quiet"),
		ParsePipeline: parseStub,
		Viewers: func(stream string) int {
			mu.Lock()
			defer mu.Unlock()
			asked = append(asked, stream)
			return viewers[stream]
		},
	})
	// viewersOf reads the raw JSON, so that a missing field fails rather than reads as 0.
	viewersOf := func(t *testing.T, obj map[string]any) any {
		t.Helper()
		n, ok := obj["viewers"]
		if !ok {
			t.Errorf("pipeline %v has no viewers field", obj["name"])
		}
		return n
	}

	res, body := send(t, app, request{method: "GET", path: "/api/v1/pipelines"})
	if res.StatusCode != 200 {
		t.Fatalf("list: %d %s", res.StatusCode, body)
	}
	var list []map[string]any
	mustUnmarshal(t, body, &list)
	got := map[string]any{}
	for _, p := range list {
		got[p["name"].(string)] = viewersOf(t, p)
	}
	if want := map[string]any{"barn": 3.0, "pen2": 1.0, "quiet": 0.0}; !reflect.DeepEqual(got, want) {
		t.Errorf("list viewers = %v, want %v", got, want)
	}
	if !slices.Equal(asked, []string{"barn", "pen2", "quiet"}) {
		t.Errorf("hook asked for %v, want each pipeline once", asked)
	}

	for _, r := range []request{
		{method: "GET", path: "/api/v1/pipelines/barn"},
		{method: "POST", path: "/api/v1/pipelines/barn/restart"},
	} {
		res, body := send(t, app, r)
		if res.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", r.method, r.path, res.StatusCode, body)
		}
		var one map[string]any
		mustUnmarshal(t, body, &one)
		if n := viewersOf(t, one); n != 3.0 {
			t.Errorf("%s %s: viewers = %v, want 3", r.method, r.path, n)
		}
	}
	res, body = send(t, app, request{method: "POST", path: "/api/v1/pipelines", body: `{"name":"new","source":{"type":"synthetic"}}`, header: jsonHeader})
	var added map[string]any
	mustUnmarshal(t, body, &added)
	if res.StatusCode != 201 || viewersOf(t, added) != 0.0 {
		t.Errorf("add: %d %s, want 201 with viewers 0", res.StatusCode, body)
	}

	// Without a hook, every pipeline has none.
	res, body = send(t, New(Options{Pipelines: newFake("barn")}), request{method: "GET", path: "/api/v1/pipelines/barn"})
	var one map[string]any
	mustUnmarshal(t, body, &one)
	if res.StatusCode != 200 || viewersOf(t, one) != 0.0 {
		t.Errorf("without a hook: %d %s, want viewers 0", res.StatusCode, body)
	}
}
