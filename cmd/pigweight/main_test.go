package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
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
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
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

// The default config, as `make run` starts it: the demo pen plays with its frame count rising,
// and SIGTERM shuts the server down cleanly.
func TestServeDefaultConfigPlaysDemoPen(t *testing.T) {
	cmd := exec.Command(binary, "serve", "--config", "../../configs/pigweight.yaml", "--listen", "127.0.0.1:0", "--data", t.TempDir())
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	addr := make(chan string, 1)
	var logs bytes.Buffer
	go func() {
		sc := bufio.NewScanner(stderr)
		listening := regexp.MustCompile(`msg=listening .*addr=(\S+)`)
		for sc.Scan() {
			logs.WriteString(sc.Text() + "\n")
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })

	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not start listening:\n%s", logs.String())
	}
	demoFrames := func() (string, uint64) {
		resp, err := http.Get(base + "/api/v1/pipelines")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var list []struct {
			Name   string
			State  string
			Frames uint64
		}
		if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list) != 1 || list[0].Name != "demo-pen" {
			t.Fatalf("GET /api/v1/pipelines: %v %+v", err, list)
		}
		return list[0].State, list[0].Frames
	}
	deadline := time.Now().Add(60 * time.Second)
	var first uint64
	for {
		state, frames := demoFrames()
		if state == "playing" && first == 0 && frames > 0 {
			first = frames
		} else if state == "playing" && frames > first+15 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo pen not playing with rising frames: %s %d\n%s", state, frames, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop within 15 s of SIGTERM")
	}
	if !strings.Contains(logs.String(), "msg=stopped") {
		t.Errorf("no clean-stop log line:\n%s", logs.String())
	}
}

func TestDoctorPassesOnThisMachine(t *testing.T) {
	var stdout bytes.Buffer
	code := run([]string{"doctor", "--config", "../../configs/pigweight.yaml", "--listen", "127.0.0.1:0", "--data", t.TempDir()}, &stdout, io.Discard)
	if code != 0 {
		t.Fatalf("doctor exit %d:\n%s", code, stdout.String())
	}
	for _, want := range []string{"ok    GStreamer", "ok    element x264enc", "ok    ONNX Runtime", "all checks passed"} {
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
