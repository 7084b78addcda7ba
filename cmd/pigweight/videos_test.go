package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pigweight/pigweight/pipelines/pipelinestest"
	"github.com/pigweight/pigweight/pipelines/videos"
)

// upload posts a file as multipart field "file" and returns the status and body.
func upload(t *testing.T, base, name string, data []byte) (int, []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(data)
	mw.Close()
	resp, err := http.Post(base+"/api/v1/videos", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// Through the server: an uploaded recording gives back exactly ffmpeg's frames (raw planes
// byte for byte, JPEG decodable), bad uploads get a 4xx with a reason and leave nothing
// behind, and a batch job on the demo model analyses the frames asked for.
func TestUploadedVideoExactFramesAndJobs(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (make deps installs it)")
	}
	dir := t.TempDir()
	clip := filepath.Join(dir, "pen.mp4")
	if out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "lavfi",
		"-i", "testsrc2=size=320x240:rate=25:duration=4", "-c:v", "libx264", "-bf", "2", "-g", "25", "-pix_fmt", "yuv420p", clip).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	sums := pipelinestest.FrameMD5s(t, clip)
	data, err := os.ReadFile(clip)
	if err != nil {
		t.Fatal(err)
	}

	cfg := fmt.Sprintf("server:\n  max_upload_bytes: %d\nmodels:\n  - name: demo\n    path: %s\n    format: mask\n    classes: [pig]\npipelines: []\n", len(data)+4096, writeDemoModel(t))
	cfgPath := filepath.Join(dir, "videos.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(dir, "data")
	srv := startServer(t, "--config", cfgPath, "--data", dataDir)

	code, body := upload(t, srv.base, "pen.mp4", data)
	if code != http.StatusCreated {
		t.Fatalf("upload: %d %s", code, body)
	}
	var v videos.Video
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	if v.Frames != len(sums) || v.Width != 320 || v.Codec != "h264" || v.State != videos.StateReady {
		t.Fatalf("video %+v; ffmpeg decodes %d frames", v, len(sums))
	}
	if code, body := upload(t, srv.base, "again.mp4", data); code != http.StatusOK {
		t.Errorf("same file again: %d %s", code, body)
	}

	for _, n := range []int{0, 37, 38, 12, 99, len(sums) - 1} {
		resp, raw := get(t, fmt.Sprintf("%s/api/v1/videos/%s/frames/%d?format=raw", srv.base, v.ID, n))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("frame %d: %d %s", n, resp.StatusCode, raw)
		}
		format := resp.Header.Get("X-Pixel-Format")
		if got := rawMD5(resp, raw); got != sums[n] || (format != "I420" && format != "NV12") {
			t.Errorf("frame %d: md5 %s (%s), ffmpeg %s", n, got, format, sums[n])
		}
	}
	resp, jpg := get(t, fmt.Sprintf("%s/api/v1/videos/%s/frames/38", srv.base, v.ID))
	if img, err := jpeg.Decode(bytes.NewReader(jpg)); err != nil || img.Bounds().Dx() != 320 || resp.Header.Get("X-Frame-Cache") != "hit" {
		t.Errorf("frame 38 as JPEG: %v, cache %q", err, resp.Header.Get("X-Frame-Cache"))
	}
	if resp, _ := get(t, fmt.Sprintf("%s/api/v1/videos/%s/frames/%d", srv.base, v.ID, len(sums))); resp.StatusCode != http.StatusNotFound {
		t.Errorf("frame past the end: %d", resp.StatusCode)
	}

	// Bad uploads: refused with a reason, nothing left in the data directory.
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 200)...)
	for _, bad := range []struct {
		name string
		data []byte
		code int
	}{
		{"picture.mp4", png, http.StatusUnsupportedMediaType},
		{"noise.mp4", bytes.Repeat([]byte("pig"), 3000), http.StatusUnsupportedMediaType},
		{"cut.mp4", data[:len(data)/2], http.StatusUnprocessableEntity},
		{"huge.mp4", append(bytes.Clone(data), make([]byte, 8192)...), http.StatusRequestEntityTooLarge},
	} {
		code, body := upload(t, srv.base, bad.name, bad.data)
		var e struct{ Error string }
		json.Unmarshal(body, &e)
		if code != bad.code || e.Error == "" {
			t.Errorf("%s: %d %s, want %d with a reason", bad.name, code, body, bad.code)
		}
	}
	stored, _ := filepath.Glob(filepath.Join(dataDir, "videos", "*"))
	if len(stored) != 2 { // the video and its metadata
		t.Errorf("data directory after bad uploads: %v", stored)
	}
	if resp, _ := get(t, srv.base+"/api/v1/health"); resp.StatusCode != http.StatusOK {
		t.Fatalf("health after bad uploads: %d", resp.StatusCode)
	}

	// A batch job over every fifth frame of the first second.
	resp, err = http.Post(fmt.Sprintf("%s/api/v1/videos/%s/infer", srv.base, v.ID), "application/json", strings.NewReader(`{"from": 0, "to": 24, "step": 5}`))
	if err != nil {
		t.Fatal(err)
	}
	var job videos.Job
	json.NewDecoder(resp.Body).Decode(&job)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || job.Total != 5 {
		t.Fatalf("infer: %d %+v", resp.StatusCode, job)
	}
	deadline := time.Now().Add(60 * time.Second)
	for job.State != videos.JobDone {
		if time.Now().After(deadline) || job.State == videos.JobFailed {
			t.Fatalf("job %+v\n%s", job, srv.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
		srv.getJSON(t, "/api/v1/jobs/"+job.ID, &job)
	}
	if len(job.Results) != 5 || job.Results[1].Frame != 5 {
		t.Errorf("job results %+v", job.Results)
	}
	if resp, csv := get(t, srv.base+"/api/v1/jobs/"+job.ID+"/results.csv"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(csv), "frame,") {
		t.Errorf("CSV: %d %.80s", resp.StatusCode, csv)
	}
	srv.stop(t)
}

// Every tricky file (B-frames, open GOP, VFR, edit list, fragmented MP4, MKV with and without
// Cues, HEVC, MPEG-TS) uploaded to the server gives, for random frames and its first and last,
// ?format=raw bytes whose MD5 is what ffmpeg's framemd5 says for the same frame number.
func TestEveryTrickyUploadServesExactFrames(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (make deps installs it)")
	}
	dir := t.TempDir()
	names, err := pipelinestest.WriteTrickyClips(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "cfg.yaml")
	if err := os.WriteFile(cfgPath, []byte("pipelines: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, "--config", cfgPath)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, name := range names {
		path := filepath.Join(dir, name)
		sums := pipelinestest.FrameMD5s(t, path)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		code, body := upload(t, srv.base, name, data)
		var v videos.Video
		if err := json.Unmarshal(body, &v); err != nil || code != http.StatusCreated {
			t.Fatalf("%s: upload %d %s", name, code, body)
		}
		if v.Frames != len(sums) {
			t.Errorf("%s: %d frames, ffmpeg decodes %d", name, v.Frames, len(sums))
			continue
		}
		for _, n := range []int{0, len(sums) - 1, rng.IntN(len(sums)), rng.IntN(len(sums)), rng.IntN(len(sums))} {
			resp, raw := get(t, fmt.Sprintf("%s/api/v1/videos/%s/frames/%d?format=raw", srv.base, v.ID, n))
			if got := rawMD5(resp, raw); resp.StatusCode != http.StatusOK || got != sums[n] {
				t.Errorf("%s frame %d: %d, md5 %s, ffmpeg %s", name, n, resp.StatusCode, got, sums[n])
			}
		}
	}
	srv.stop(t)
}

// rawMD5 is what ffmpeg's framemd5 says for a ?format=raw answer if it is right.
func rawMD5(resp *http.Response, raw []byte) string {
	w, _ := strconv.Atoi(resp.Header.Get("X-Frame-Width"))
	h, _ := strconv.Atoi(resp.Header.Get("X-Frame-Height"))
	return pipelinestest.RawMD5(resp.Header.Get("X-Pixel-Format"), w, h, raw)
}
