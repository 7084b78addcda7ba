package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pigweight/pigweight/pipelines"
	"github.com/pigweight/pigweight/web"
	"github.com/pigweight/pigweight/web/api"
)

// openServer is the server of the default configuration: no token, on loopback. It has the
// API over a real manager, a reload that only counts, a real video library and the upload
// route beside the app, as cmd/pigweight mounts them.
type openServer struct {
	base    string
	host    string // 127.0.0.1:PORT
	dir     string // the video library's
	reloads *atomic.Int32
}

func newOpenServer(t *testing.T, opts web.Options, routes ...web.Route) openServer {
	t.Helper()
	dir := t.TempDir()
	lib := videoLibrary(t, dir)
	reloads := new(atomic.Int32)
	app, closeManager := pipelineApp(nil, api.Options{
		Videos: lib,
		Reload: func() (any, error) { reloads.Add(1); return pipelines.ReloadResult{}, nil },
	})
	base := serveAppWith(t, opts, app, func() { closeManager(); lib.Close() }, append(routes, uploadRoute(lib, ""))...)
	return openServer{base: base, host: strings.TrimPrefix(base, "http://"), dir: dir, reloads: reloads}
}

// call is a request with what a browser (or an attacker's page through it) would set.
type call struct {
	method, path string
	host         string // the Host header; empty: the server's address
	contentType  string
	body         []byte
	headers      map[string]string
}

// do sends c to base and returns the status and the error's message, if the answer is one.
func (c call) do(t *testing.T, base string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(c.method, base+c.path, bytes.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.host != "" {
		req.Host = c.host
	}
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var e api.ErrorResponse
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(data, &e); err != nil || e.Error == "" {
			t.Errorf("%s %s: %d with a body that is not an API error: %q", c.method, c.path, resp.StatusCode, data)
		}
	}
	return resp.StatusCode, e.Error
}

const penYAML = "name: pen\nsource: {type: synthetic, synthetic: {width: 160, height: 120, fps: 30, pigs: 4}}\n"

// A page on any site can make a browser on the server's machine send forms, no-cors fetches
// and uploads to it. With no token configured, nothing of that may reach the API; the
// server's own page, curl and scripts still can.
func TestCrossSiteRequestsRefused(t *testing.T) {
	srv := newOpenServer(t, web.Options{})
	// curl-like: no Origin, no Sec-Fetch-Site.
	if code, msg := (call{method: "POST", path: "/api/v1/pipelines", contentType: "application/yaml", body: []byte(penYAML)}).do(t, srv.base); code != http.StatusCreated {
		t.Fatalf("add from a script: %d %s", code, msg)
	}
	waitPlaying(t, srv.base, "pen", 1)
	stored := dataFiles(t, srv.dir)

	formType, form := multipartFile(t, "pen.mp4", []byte("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"))
	evil := map[string]string{"Origin": "http://evil.example"}
	crossSite := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}
	sameSite := map[string]string{"Sec-Fetch-Site": "same-site"} // another port of this host
	page := map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": srv.base}
	for _, c := range []struct {
		name   string
		call   call
		status int
		reason string
	}{
		{"stop from another site", call{method: "POST", path: "/api/v1/pipelines/pen/stop", headers: evil}, 403, "cross-origin"},
		{"stop, Sec-Fetch-Site cross-site", call{method: "POST", path: "/api/v1/pipelines/pen/stop", headers: crossSite}, 403, "cross-origin"},
		{"stop, Sec-Fetch-Site alone", call{method: "POST", path: "/api/v1/pipelines/pen/stop", headers: map[string]string{"Sec-Fetch-Site": "cross-site"}}, 403, "cross-origin"},
		{"restart from another port", call{method: "POST", path: "/api/v1/pipelines/pen/restart", headers: sameSite}, 403, "cross-origin"},
		{"delete from another site", call{method: "DELETE", path: "/api/v1/pipelines/pen", headers: evil}, 403, "cross-origin"},
		{"reload, text/plain form", call{method: "POST", path: "/api/v1/reload", contentType: "text/plain", body: []byte("x=1"), headers: evil}, 403, "cross-origin"},
		{"reload, urlencoded form", call{method: "POST", path: "/api/v1/reload", contentType: "application/x-www-form-urlencoded", body: []byte("a=b"), headers: crossSite}, 403, "cross-origin"},
		{"upload from another site", call{method: "POST", path: "/api/v1/videos", contentType: formType, body: form, headers: evil}, 403, "cross-origin"},
		{"upload, Sec-Fetch-Site cross-site", call{method: "POST", path: "/api/v1/videos", contentType: formType, body: form, headers: crossSite}, 403, "cross-origin"},
		{"reload, text/plain without Origin", call{method: "POST", path: "/api/v1/reload", contentType: "text/plain", body: []byte("x")}, 415, "text/plain"},
		{"reload, urlencoded from the page", call{method: "POST", path: "/api/v1/reload", contentType: "application/x-www-form-urlencoded", body: []byte("a=b"), headers: page}, 415, "application/json"},
		{"stop, text/plain body", call{method: "POST", path: "/api/v1/pipelines/pen/stop", contentType: "text/plain; charset=utf-8", body: []byte("x")}, 415, "text/plain"},
		{"stop, urlencoded body", call{method: "POST", path: "/api/v1/pipelines/pen/stop", contentType: "application/x-www-form-urlencoded", body: []byte("a=b")}, 415, "urlencoded"},
		{"multipart beside the upload route", call{method: "POST", path: "/api/v1/pipelines", contentType: formType, body: form, headers: page}, 415, "multipart"},
		{"upload as text/plain", call{method: "POST", path: "/api/v1/videos", contentType: "text/plain", body: form}, 415, "multipart/form-data"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, msg := c.call.do(t, srv.base)
			if code != c.status || !strings.Contains(msg, c.reason) {
				t.Errorf("%d %q; want %d with %q in the reason", code, msg, c.status, c.reason)
			}
		})
	}
	if st := getStatus(t, srv.base, "pen"); st.State != pipelines.StatePlaying || st.Restarts != 0 {
		t.Errorf("refused requests reached the pipeline: %+v", st)
	}
	if n := srv.reloads.Load(); n != 0 {
		t.Errorf("refused requests reloaded %d times", n)
	}
	if got := dataFiles(t, srv.dir); !slices.Equal(got, stored) {
		t.Errorf("refused uploads changed the data dir: %v, want %v", got, stored)
	}

	// The server's own page (same-origin, as browsers mark it) and scripts go through.
	for _, c := range []struct {
		name   string
		call   call
		status int
	}{
		{"stop from the page, Origin only", call{method: "POST", path: "/api/v1/pipelines/pen/stop", headers: map[string]string{"Origin": srv.base}}, 200},
		{"start from the page", call{method: "POST", path: "/api/v1/pipelines/pen/start", headers: page}, 200},
		{"restart from a script", call{method: "POST", path: "/api/v1/pipelines/pen/restart"}, 200},
		{"reload typed by the user", call{method: "POST", path: "/api/v1/reload", headers: map[string]string{"Sec-Fetch-Site": "none"}}, 200},
		{"reload with a JSON body from the page", call{method: "POST", path: "/api/v1/reload", contentType: "application/json", body: []byte("{}"), headers: page}, 200},
		{"GET from another site", call{method: "GET", path: "/api/v1/pipelines", headers: crossSite}, 200},
		{"add as JSON from the page", call{method: "POST", path: "/api/v1/pipelines", contentType: "application/json", body: []byte(`{"name": "pen2", "source": {"type": "synthetic"}}`), headers: page}, 201},
		{"add without a Content-Type", call{method: "POST", path: "/api/v1/pipelines", body: []byte("name: pen3\nsource: {type: synthetic}\n")}, 201},
		{"delete from the page", call{method: "DELETE", path: "/api/v1/pipelines/pen2", headers: page}, 204},
		{"delete from a script", call{method: "DELETE", path: "/api/v1/pipelines/pen3"}, 204},
	} {
		t.Run(c.name, func(t *testing.T) {
			if code, msg := c.call.do(t, srv.base); code != c.status {
				t.Errorf("%d %s; want %d", code, msg, c.status)
			}
		})
	}
	if n := srv.reloads.Load(); n != 2 {
		t.Errorf("reloaded %d times, want 2", n)
	}
	t.Run("upload from the page", func(t *testing.T) {
		ct, body := multipartFile(t, "pen.mp4", ffmpegClip(t, "pen.mp4", "64x48"))
		if code, msg := (call{method: "POST", path: "/api/v1/videos", contentType: ct, body: body, headers: page}).do(t, srv.base); code != http.StatusCreated {
			t.Errorf("%d %s", code, msg)
		}
	})
}

// DNS rebinding gives an attacker's name this server's address: the page is then
// same-origin with it, and only the Host header shows the name.
func TestWrongHostRefused(t *testing.T) {
	srv := newOpenServer(t, web.Options{Hostnames: []string{"pigweight.farm.lan"}})
	_, port, _ := strings.Cut(srv.host, ":")
	for _, c := range []struct {
		name   string
		call   call
		status int
	}{
		{"rebound name", call{method: "GET", path: "/api/v1/pipelines", host: "evil.example:" + port}, 421},
		{"rebound name, no port", call{method: "GET", path: "/", host: "evil.example"}, 421},
		{"rebound name, same-origin stop", call{method: "POST", path: "/api/v1/pipelines/pen/stop", host: "evil.example:" + port,
			headers: map[string]string{"Origin": "http://evil.example:" + port, "Sec-Fetch-Site": "same-origin"}}, 421},
		{"rebound name, WebSocket", call{method: "GET", path: "/ws", host: "evil.example:" + port,
			headers: map[string]string{"Connection": "Upgrade", "Upgrade": "websocket"}}, 421},
		{"a configured name as a prefix", call{method: "GET", path: "/api/v1/health", host: "pigweight.farm.lan.evil.example:" + port}, 421},
		{"a name ending like localhost", call{method: "GET", path: "/api/v1/health", host: "evillocalhost:" + port}, 421},
		{"the address", call{method: "GET", path: "/api/v1/health"}, 200},
		{"localhost", call{method: "GET", path: "/api/v1/health", host: "localhost:" + port}, 200},
		{"under .localhost", call{method: "GET", path: "/api/v1/health", host: "pen.localhost:" + port}, 200},
		{"IPv6 loopback", call{method: "GET", path: "/api/v1/health", host: "[::1]:" + port}, 200},
		{"a LAN address", call{method: "GET", path: "/api/v1/health", host: "192.168.1.20"}, 200},
		{"a configured name", call{method: "GET", path: "/api/v1/health", host: "pigweight.farm.lan:" + port}, 200},
		{"a configured name, other case, no port", call{method: "GET", path: "/api/v1/health", host: "PigWeight.Farm.LAN"}, 200},
		{"a configured name, fully qualified", call{method: "GET", path: "/api/v1/health", host: "pigweight.farm.lan.:" + port}, 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, msg := c.call.do(t, srv.base)
			if code != c.status || (c.status == 421 && !strings.Contains(msg, "server.hostnames")) {
				t.Errorf("%d %q; want %d", code, msg, c.status)
			}
		})
	}
}
