package web_test

import (
	"bytes"
	"context"
	"encoding/csv"
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
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/pipelines/index"
	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/pipelines/videos"
	"github.com/pigweight/pigweight/web"
	"github.com/pigweight/pigweight/web/api"
)

// greySource stands in for package frames: a mid-grey I420 picture of the index's size. The
// real decoder is tested in its own package; here the subject is the HTTP path.
type greySource struct{}

func (greySource) Frame(ctx context.Context, id, path string, ix *index.Index, n int) (media.Picture, error) {
	w, h := ix.Width, ix.Height
	c := ((w + 1) / 2) * ((h + 1) / 2)
	return media.Picture{Frame: n, PTS: time.Duration(n) * 100 * time.Millisecond, Width: w, Height: h, Format: "I420",
		Planes: [][]byte{bytes.Repeat([]byte{128}, w*h), bytes.Repeat([]byte{128}, c), bytes.Repeat([]byte{128}, c)}}, nil
}

func (greySource) Forget(string) {}

// onePig finds one pig in every frame.
type onePig struct{}

func (onePig) Analyse(ctx context.Context, p media.Picture) ([]detect.Detection, error) {
	return []detect.Detection{{Box: detect.Box{X: float32(p.Frame), Y: 1, W: 2, H: 3}, Class: "pig", Score: 0.5, Area: 6}}, nil
}

const maxUpload = 4 << 20

// videoServer serves the API with a real video library in dir, the upload route mounted
// beside the app as cmd/pigweight mounts it.
func videoServer(t *testing.T, dir string) string {
	t.Helper()
	lib := videoLibrary(t, dir)
	app := api.New(api.Options{Videos: lib, Token: token})
	return serveApp(t, app, lib.Close, uploadRoute(lib, token))
}

// videoLibrary is a real video library in dir, its frames from greySource, its one model
// onePig; the caller closes it.
func videoLibrary(t *testing.T, dir string) *videos.Library {
	t.Helper()
	lib, err := videos.New(videos.Config{Dir: dir, MaxUploadBytes: maxUpload, DefaultModel: "demo"}, greySource{},
		func(model string) (videos.Analyser, error) {
			if model != "demo" {
				return nil, fmt.Errorf("no model %q", model)
			}
			return onePig{}, nil
		}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return lib
}

// uploadRoute is the upload route as cmd/pigweight mounts it beside the app.
func uploadRoute(lib *videos.Library, token string) web.Route {
	return web.Route{Pattern: "POST /api/v1/videos", Handler: api.UploadHandler(lib, token, nil), BodyTypes: api.UploadBodyTypes()}
}

// ffmpegClip makes a clip of ffmpeg's test pattern, 10 fps for 2 s (20 frames).
func ffmpegClip(t *testing.T, name, size string, extra ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not installed")
	}
	out := filepath.Join(t.TempDir(), name)
	args := append([]string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi",
		"-i", "testsrc=size=" + size + ":rate=10", "-t", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p"}, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if msg, err := exec.CommandContext(ctx, "ffmpeg", append(args, out)...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, msg)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// postVideo uploads data as the multipart field "file"; chunked hides the length.
func postVideo(t *testing.T, base, filename string, data []byte, chunked bool) (int, []byte) {
	t.Helper()
	contentType, form := multipartFile(t, filename, data)
	var body io.Reader = bytes.NewReader(form)
	if chunked {
		body = io.MultiReader(body)
	}
	req, err := http.NewRequest("POST", base+"/api/v1/videos", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("upload %s: %v", filename, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// multipartFile is a multipart/form-data body with data as the file field "file", as a
// browser's form or curl -F sends it; it returns the body's Content-Type and the body.
func multipartFile(t *testing.T, filename string, data []byte) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(data)
	_ = mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// dataFiles lists the files under dir, relative to it.
func dataFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, rel)
		}
		return err
	})
	sort.Strings(out)
	return out
}

func TestVideoUploadsOverHTTP(t *testing.T) {
	small := ffmpegClip(t, "pen.mp4", "64x48")
	// Noise, losslessly coded, so that it is larger than the Fiber app's 1 MiB body limit:
	// only a streamed upload can get it through.
	big := ffmpegClip(t, "big.mp4", "320x240", "-vf", "noise=alls=60:allf=t", "-qp", "0")
	if len(big) <= api.MaxBodyBytes || len(big) > maxUpload {
		t.Fatalf("big clip has %d bytes; the test wants more than %d and at most %d", len(big), api.MaxBodyBytes, maxUpload)
	}
	dir := t.TempDir()
	base := videoServer(t, dir)

	code, body := postVideo(t, base, "pen.mp4", small, false)
	var v videos.Video
	if err := json.Unmarshal(body, &v); code != http.StatusCreated || err != nil || v.Frames != 20 || v.Width != 64 || v.Height != 48 || v.Name != "pen.mp4" {
		t.Fatalf("upload: %d %s", code, body)
	}
	if code, body := postVideo(t, base, "again.mp4", small, true); code != http.StatusOK || !strings.Contains(string(body), v.ID) {
		t.Fatalf("re-upload: %d %s", code, body)
	}
	code, body = postVideo(t, base, "big.mp4", big, false)
	var bigV videos.Video
	if err := json.Unmarshal(body, &bigV); code != http.StatusCreated || err != nil || bigV.Bytes != int64(len(big)) || bigV.Width != 320 {
		t.Fatalf("upload of %d bytes: %d %s", len(big), code, body)
	}
	stored := dataFiles(t, dir)
	if len(stored) != 6 {
		t.Fatalf("data dir after two uploads: %v", stored)
	}

	random := make([]byte, 50_000)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	random[0], random[4] = 0, 0 // not by chance an MP4 box or a transport packet
	oversize := append([]byte("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"), make([]byte, maxUpload)...)
	for _, bad := range []struct {
		name    string
		data    []byte
		chunked bool
		status  []int
		reason  string
	}{
		{"PNG named mp4", append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 500)...), false, []int{415}, "PNG"},
		{"random bytes", random, false, []int{415}, ""},
		{"MP4 cut in half", small[:len(small)/2], false, []int{415, 422}, ""},
		{"large MP4 cut in half", big[:len(big)/2], true, []int{415, 422}, ""},
		{"too large", oversize, false, []int{413}, "limit"},
		{"too large, chunked", oversize, true, []int{413}, "limit"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			code, body := postVideo(t, base, "x.mp4", bad.data, bad.chunked)
			var e api.ErrorResponse
			if err := json.Unmarshal(body, &e); !slices.Contains(bad.status, code) || err != nil || e.Error == "" || !strings.Contains(e.Error, bad.reason) {
				t.Errorf("%d %s; want %v with a reason", code, body, bad.status)
			}
			if got := dataFiles(t, dir); !slices.Equal(got, stored) {
				t.Errorf("data dir changed: %v, want %v", got, stored)
			}
			if code, _ := do(t, "GET", base+"/api/v1/health", "", false); code != http.StatusOK {
				t.Errorf("health after a refused upload: %d", code)
			}
		})
	}

	// Without the token the upload route refuses, like the rest of the API.
	req, _ := http.NewRequest("POST", base+"/api/v1/videos", bytes.NewReader(small))
	req.Header.Set("Content-Type", "application/octet-stream")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("upload without token: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	code, body = do(t, "GET", base+"/api/v1/videos", "", false)
	var list []videos.Video
	if err := json.Unmarshal(body, &list); code != http.StatusOK || err != nil || len(list) != 2 || list[0].ID != bigV.ID {
		t.Fatalf("list: %d %s", code, body)
	}

	frame := func(n int, format string) (*http.Response, []byte) {
		resp, err := http.Get(fmt.Sprintf("%s/api/v1/videos/%s/frames/%d?format=%s", base, v.ID, n, format))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp, data
	}
	resp, data := frame(7, "jpeg")
	img, err := jpeg.Decode(bytes.NewReader(data))
	if resp.StatusCode != http.StatusOK || err != nil || img.Bounds().Dx() != 64 || img.Bounds().Dy() != 48 {
		t.Fatalf("jpeg frame: %d %v", resp.StatusCode, err)
	}
	if resp.Header.Get("X-Frame-Number") != "7" || resp.Header.Get("X-Frame-PTS") != "0.7" || resp.Header.Get("Cache-Control") != "private, max-age=3600" {
		t.Errorf("frame headers %v", resp.Header)
	}
	if resp, data := frame(19, "raw"); resp.StatusCode != http.StatusOK || len(data) != 64*48*3/2 || resp.Header.Get("X-Pixel-Format") != "I420" {
		t.Errorf("raw frame: %d, %d bytes", resp.StatusCode, len(data))
	}
	if resp, _ := frame(20, "raw"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("frame 20 of 20: %d", resp.StatusCode)
	}

	code, body = do(t, "POST", base+"/api/v1/videos/"+v.ID+"/infer", "", true)
	var j videos.Job
	if err := json.Unmarshal(body, &j); code != http.StatusAccepted || err != nil || j.Total != 20 {
		t.Fatalf("infer: %d %s", code, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for j.State != videos.JobDone {
		if time.Now().After(deadline) {
			t.Fatalf("job never finished: %+v", j)
		}
		time.Sleep(10 * time.Millisecond)
		_, body = do(t, "GET", base+"/api/v1/jobs/"+j.ID, "", false)
		if err := json.Unmarshal(body, &j); err != nil {
			t.Fatal(err)
		}
	}
	code, body = do(t, "GET", base+"/api/v1/jobs/"+j.ID+"/results.csv", "", false)
	if rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll(); code != http.StatusOK || err != nil || len(rows) != 21 {
		t.Errorf("CSV: %d, %d rows, %v", code, len(rows), err)
	}

	if code, body := do(t, "DELETE", base+"/api/v1/videos/"+v.ID, "", true); code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", code, body)
	}
	// The job's results outlive the video (jobs/); the video's own files go.
	got := slices.DeleteFunc(dataFiles(t, dir), func(f string) bool { return strings.HasPrefix(f, "jobs/"+j.ID+".") })
	if len(got) != 3 || slices.ContainsFunc(got, func(f string) bool { return strings.Contains(f, v.ID) }) {
		t.Errorf("data dir after delete: %v", got)
	}
}
