package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the pigweight executable built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pigweight-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "pigweight")
	if prebuilt := os.Getenv("PIGWEIGHT_TEST_BINARY"); prebuilt != "" {
		// A machine without Go (a GPU machine the tests are carried to) runs a binary built here.
		binary = prebuilt
	} else if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build pigweight: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestServeRefusesInvalidConfigListingEveryMistake(t *testing.T) {
	var stderr bytes.Buffer
	code := run([]string{"serve", "--config", "../../pipelines/spec/testdata/three-mistakes.yaml", "--data", t.TempDir()}, io.Discard, &stderr)
	if code != 2 {
		t.Fatalf("exit code %d, want 2; stderr:\n%s", code, stderr.String())
	}
	located := regexp.MustCompile(`three-mistakes\.yaml:\d+:`).FindAllString(stderr.String(), -1)
	if len(located) != 3 {
		t.Errorf("want 3 problems with file:line, got %d:\n%s", len(located), stderr.String())
	}
}

func TestUnknownCommand(t *testing.T) {
	if code := run([]string{"frobnicate"}, io.Discard, io.Discard); code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
}

// server is a running `pigweight serve` process.
type server struct {
	base   string
	cmd    *exec.Cmd
	exited chan error
	logs   *syncBuffer
}

// startServerWithConfig writes cfg as a configuration file and starts the server on it.
func startServerWithConfig(t *testing.T, cfg string) *server {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pigweight.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return startServer(t, "--config", path)
}

// startServer runs the binary with args (after "serve") and waits until it listens.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve", "--listen", "127.0.0.1:0", "--data", t.TempDir()}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	srv := &server{cmd: cmd, exited: make(chan error, 1), logs: &syncBuffer{}}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		listening := regexp.MustCompile(`msg=listening .*addr=(\S+)`)
		for sc.Scan() {
			srv.logs.WriteString(sc.Text() + "\n")
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		srv.exited <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	select {
	case a := <-addr:
		srv.base = "http://" + a
	case <-time.After(60 * time.Second):
		t.Fatalf("server did not start listening:\n%s", srv.logs.String())
	}
	return srv
}

// getJSON decodes GET base+path into v and returns the status code.
func (s *server) getJSON(t *testing.T, path string, v any) int {
	t.Helper()
	resp, err := http.Get(s.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	return resp.StatusCode
}

// stop sends SIGTERM and expects a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, s.logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop within 15 s of SIGTERM")
	}
	if !strings.Contains(s.logs.String(), "msg=stopped") {
		t.Errorf("no clean-stop log line:\n%s", s.logs.String())
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) WriteString(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.WriteString(s)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// The default config, as `make run` starts it: the demo pen plays with its frame count rising,
// and SIGTERM shuts the server down cleanly.
func TestServeDefaultConfigPlaysDemoPen(t *testing.T) {
	srv := startServer(t, "--config", defaultConfigWithModel(t))
	type status struct {
		Name   string
		State  string
		Frames uint64
	}
	deadline := time.Now().Add(60 * time.Second)
	var first uint64
	for {
		var list []status
		if code := srv.getJSON(t, "/api/v1/pipelines", &list); code != http.StatusOK || len(list) != 1 || list[0].Name != "demo-pen" {
			t.Fatalf("GET /api/v1/pipelines: %d %+v", code, list)
		}
		st := list[0]
		if st.State == "playing" && first == 0 && st.Frames > 0 {
			first = st.Frames
		} else if st.State == "playing" && st.Frames > first+15 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo pen not playing with rising frames: %+v\n%s", st, srv.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	srv.stop(t)
}

func TestDoctorPassesOnThisMachine(t *testing.T) {
	var stdout bytes.Buffer
	code := run([]string{"doctor", "--config", defaultConfigWithModel(t), "--listen", "127.0.0.1:0", "--data", t.TempDir()}, &stdout, io.Discard)
	if code != 0 {
		t.Fatalf("doctor exit %d:\n%s", code, stdout.String())
	}
	for _, want := range []string{"ok    GStreamer", "ok    element x264enc", "ok    ONNX Runtime", "ok    model demo", "all checks passed"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("doctor output lacks %q:\n%s", want, stdout.String())
		}
	}
}

func TestDoctorFailsWithAFix(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "nvdec.yaml")
	os.WriteFile(cfg, []byte("pipelines:\n  - name: gpu\n    source: {type: synthetic}\n    decode: nvdec\n"), 0o600)
	var stdout bytes.Buffer
	code := run([]string{"doctor", "--config", cfg, "--listen", "127.0.0.1:0", "--data", dir}, &stdout, io.Discard)
	if strings.Contains(stdout.String(), "ok    element nvh264dec") {
		t.Skip("this machine has NVDEC")
	}
	if code == 0 || !strings.Contains(stdout.String(), "FAIL  element nvh264dec") || !strings.Contains(stdout.String(), "fix:") {
		t.Fatalf("doctor exit %d, want a failure with a fix:\n%s", code, stdout.String())
	}
}

// Editing the config file and sending SIGHUP restarts only what changed.
func TestSIGHUPReloadsOnlyWhatChanged(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pens.yaml")
	pen := func(name string, seed int) string {
		return fmt.Sprintf("  - name: %s\n    source: {type: synthetic, synthetic: {width: 160, height: 120, fps: 15, pigs: 4, seed: %d}}\n", name, seed)
	}
	write := func(body string) {
		if err := os.WriteFile(cfg, []byte("pipelines:\n"+body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(pen("kept", 1) + pen("changed", 1) + pen("removed", 1))
	srv := startServer(t, "--config", cfg)
	type status struct {
		Name  string
		State string
		Since time.Time
		Spec  struct {
			Source struct{ Synthetic struct{ Seed int } }
		}
	}
	statuses := func() map[string]status {
		var list []status
		if code := srv.getJSON(t, "/api/v1/pipelines", &list); code != http.StatusOK {
			t.Fatalf("GET /api/v1/pipelines: %d", code)
		}
		out := map[string]status{}
		for _, st := range list {
			out[st.Name] = st
		}
		return out
	}
	waitFor := func(what string, cond func(map[string]status) bool) map[string]status {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			sts := statuses()
			if cond(sts) {
				return sts
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s: %+v\n%s", what, sts, srv.logs.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	before := waitFor("three playing", func(s map[string]status) bool {
		return len(s) == 3 && s["kept"].State == "playing" && s["changed"].State == "playing" && s["removed"].State == "playing"
	})

	write(pen("kept", 1) + pen("changed", 7) + pen("added", 1))
	if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	after := waitFor("the reload", func(s map[string]status) bool {
		_, removed := s["removed"]
		return !removed && s["added"].State == "playing" && s["changed"].Spec.Source.Synthetic.Seed == 7
	})
	if !after["kept"].Since.Equal(before["kept"].Since) {
		t.Errorf("the unchanged pipeline was restarted: since %v → %v", before["kept"].Since, after["kept"].Since)
	}
	srv.stop(t)
}

// A pipeline added through the API is there again, as added, after the server restarts on the
// same data directory; one deleted through the API is not.
func TestPipelinesAddedThroughTheAPISurviveARestart(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pens.yaml")
	if err := os.WriteFile(cfg, []byte("pipelines:\n  - name: from-file\n    source: {type: synthetic, synthetic: {width: 160, height: 120, fps: 15, pigs: 4}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	add := func(srv *server, name string, seed int) {
		t.Helper()
		body := fmt.Sprintf("name: %s\nsource: {type: synthetic, synthetic: {width: 160, height: 120, fps: 15, pigs: 4, seed: %d}}\n", name, seed)
		resp, err := http.Post(srv.base+"/api/v1/pipelines", "application/yaml", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("add %s: %d %s", name, resp.StatusCode, answer)
		}
	}
	type status struct {
		Name string
		Spec struct {
			Source struct{ Synthetic struct{ Seed int } }
		}
	}
	names := func(srv *server) map[string]int {
		var list []status
		if code := srv.getJSON(t, "/api/v1/pipelines", &list); code != http.StatusOK {
			t.Fatalf("GET /api/v1/pipelines: %d", code)
		}
		seeds := map[string]int{}
		for _, st := range list {
			seeds[st.Name] = st.Spec.Source.Synthetic.Seed
		}
		return seeds
	}

	first := startServer(t, "--config", cfg, "--data", data)
	add(first, "pen-2", 5)
	add(first, "pen-3", 6)
	req, _ := http.NewRequest(http.MethodDelete, first.base+"/api/v1/pipelines/pen-3", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete pen-3: %v %v", resp, err)
	}
	first.stop(t)

	second := startServer(t, "--config", cfg, "--data", data)
	got := names(second)
	if want := map[string]int{"from-file": 1, "pen-2": 5}; !maps.Equal(got, want) {
		t.Errorf("after the restart: pipelines and seeds %v, want %v", got, want)
	}
	second.stop(t)
}
