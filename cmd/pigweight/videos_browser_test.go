package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The start page's Videos section in headless Chromium: an upload without the API token is
// refused with a reason that points at the token field; with it, the file goes up with a
// progress bar, the table lists its frames, the viewer shows exact frames stepped with → and
// scrubbed with the slider (one frame request at a time), "analyse" ends with a link to the
// results, and "delete" removes the video and closes the viewer.
func TestBrowserVideosUploadAndFrameViewer(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed (scripts/deps.sh installs it); skipping the browser test")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("%s is missing (scripts/deps.sh installs chromium); skipping the browser test", chromiumPath)
	}
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not installed (make deps installs it); skipping the browser test")
	}
	modules, err := filepath.Abs("../../third_party/node")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(modules, "node_modules", "playwright-core")); err != nil {
		t.Fatalf("playwright-core is not installed under %s: run scripts/deps.sh", modules)
	}

	dir := t.TempDir()
	clip := filepath.Join(dir, "pen 2 (morning).mp4")
	if out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "lavfi",
		"-i", "testsrc2=size=320x240:rate=25:duration=2", "-c:v", "libx264", "-pix_fmt", "yuv420p", clip).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	const token = "s3cret-pig-token"
	cfg := fmt.Sprintf("server:\n  api_token: %s\nmodels:\n  - name: demo\n    path: %s\n    format: mask\n    classes: [pig]\npipelines: []\n", token, writeDemoModel(t))
	cfgPath := filepath.Join(dir, "videos.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, "--config", cfgPath)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "../../web/ui/testdata/videos.mjs")
	cmd.Env = append(os.Environ(),
		"PW_URL="+srv.base+"/",
		"PW_CHROMIUM="+chromiumPath,
		"PW_MODULES="+modules,
		"PW_CLIP="+clip,
		"PW_TOKEN="+token,
		"PW_TIMEOUT_MS=40000",
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("browser driver: %v\n%s\nserver log:\n%s", err, stderr.String(), srv.logs.String())
	}
	var r struct {
		Refused       string    `json:"refused"`
		Uploaded      string    `json:"uploaded"`
		ProgressSeen  []*string `json:"progressSeen"`
		Cells         []string  `json:"cells"`
		ViewerFocused string    `json:"viewerFocused"`
		At10          struct {
			Src          string `json:"src"`
			NaturalWidth int    `json:"naturalWidth"`
			Number       string `json:"number"`
			Info         string `json:"info"`
		} `json:"at10"`
		ScrubRequests int      `json:"scrubRequests"`
		MaxInFlight   int      `json:"maxInFlight"`
		CSV           string   `json:"csv"`
		Job           string   `json:"job"`
		ViewerHidden  bool     `json:"viewerHidden"`
		Logs          []string `json:"logs"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("driver output %q: %v", out, err)
	}
	t.Logf("refused: %q; uploaded: %q; row %q; at frame 10: %+v; scrubbing made %d frame requests, at most %d at once; job %q",
		r.Refused, r.Uploaded, r.Cells, r.At10, r.ScrubRequests, r.MaxInFlight, r.Job)

	if !strings.Contains(r.Refused, "API token") {
		t.Errorf("upload without the token: %q, want a reason naming the API token", r.Refused)
	}
	if !strings.Contains(r.Uploaded, "50 frames") || !strings.Contains(r.Uploaded, "320×240") {
		t.Errorf("upload result %q", r.Uploaded)
	}
	// The bar had a value while bytes went up, and none (indeterminate) while indexing.
	if !slices.ContainsFunc(r.ProgressSeen, func(v *string) bool { return v == nil }) || !slices.ContainsFunc(r.ProgressSeen, func(v *string) bool { return v != nil }) {
		t.Errorf("upload progress bar values %v: want some, then none while indexing", r.ProgressSeen)
	}
	if len(r.Cells) < 8 || !strings.HasPrefix(r.Cells[0], "pen 2 (morning)") || r.Cells[1] != "50" || r.Cells[5] != "320×240" || r.Cells[7] != "ready" {
		t.Errorf("table row %q", r.Cells)
	}
	if r.ViewerFocused != "viewer" {
		t.Errorf("focus after opening the viewer is on %q, want the viewer", r.ViewerFocused)
	}
	if !strings.HasSuffix(r.At10.Src, "/frames/10") || r.At10.NaturalWidth != 320 || r.At10.Number != "10" || !strings.Contains(r.At10.Info, "0.400 s") {
		t.Errorf("after 10 × →: %+v", r.At10)
	}
	// 30 slider positions: each fetch skips those passed meanwhile, so usually far fewer.
	if r.MaxInFlight != 1 || r.ScrubRequests < 1 || r.ScrubRequests > 30 {
		t.Errorf("frame requests: %d while scrubbing, at most %d at once; want one at a time", r.ScrubRequests, r.MaxInFlight)
	}
	if !strings.HasSuffix(r.CSV, "/results.csv") {
		t.Fatalf("results link %q (job cell %q)", r.CSV, r.Job)
	}
	resp, body := get(t, srv.base+r.CSV)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "frame,") {
		t.Errorf("GET %s: %d %.80s", r.CSV, resp.StatusCode, body)
	}
	if !r.ViewerHidden {
		t.Error("the viewer stayed open on the deleted video")
	}
	var list []json.RawMessage
	if code := srv.getJSON(t, "/api/v1/videos", &list); code != http.StatusOK || len(list) != 0 {
		t.Errorf("videos after delete: %d %s", code, list)
	}
	for _, l := range r.Logs {
		if strings.HasPrefix(l, "pageerror") || strings.Contains(l, "Content Security Policy") {
			t.Errorf("page console: %s", l)
		}
	}
	srv.stop(t)
}
