package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/pipelines/index"
	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/pipelines/videos"
)

// The fake library holds one 64x48 video of 20 frames and one finished job on it. Route tests
// (pathFor) use their ids.
const (
	fakeVideoID = "0123456789abcdef"
	fakeJobID   = "00000000000000aa"
)

// fakeVideos stands in for videos.Library: maps behind a mutex. The real library is tested
// against this API in package web.
type fakeVideos struct {
	mu        sync.Mutex
	videos    map[string]videos.Video
	jobs      map[string]videos.Job
	format    string // pixel format of the frames; default I420
	maxUpload int64
	uploads   []string // names of the uploads that reached Upload
	declared  []int64  // their declared sizes
	lastJob   videos.JobRequest
}

func newFakeVideos() *fakeVideos {
	created := time.Unix(1700000000, 0).UTC()
	return &fakeVideos{
		maxUpload: 1 << 20,
		videos: map[string]videos.Video{fakeVideoID: {
			ID: fakeVideoID, Name: "pen.mp4", SHA256: fakeVideoID + strings.Repeat("0", 48), Bytes: 12345, Created: created,
			Container: "mp4", Codec: "h264", Width: 64, Height: 48, Frames: 20, Keyframes: 4, DurationS: 2, FPS: 10,
			State: videos.StateReady, Progress: 1,
		}},
		jobs: map[string]videos.Job{fakeJobID: {
			ID: fakeJobID, Video: fakeVideoID, Model: "demo", From: 0, To: 2, Step: 1, State: videos.JobDone,
			Done: 3, Total: 3, Progress: 1, Created: created,
			Results: []videos.FrameResult{
				{Frame: 0, PTSS: 0, Detections: []detect.Detection{{Box: detect.Box{X: 1, Y: 2, W: 3, H: 4}, Class: "pig", Score: 0.5, Area: 12}}},
				{Frame: 1, PTSS: 0.1, Detections: []detect.Detection{}},
				{Frame: 2, PTSS: 0.2, Detections: []detect.Detection{
					{Box: detect.Box{X: 5, Y: 6, W: 7, H: 8}, Class: "pig", Score: 0.25, Area: 56},
					{Box: detect.Box{X: 9, Y: 9, W: 1, H: 1}, Class: `sow, "big"`, Score: 1, Area: 1},
				}},
			},
		}},
	}
}

func (f *fakeVideos) List() []videos.Video {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []videos.Video
	for _, v := range f.videos {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (f *fakeVideos) Get(id string) (videos.Video, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.videos[id]
	if !ok {
		return videos.Video{}, fmt.Errorf("%w: %q", videos.ErrNotFound, id)
	}
	return v, nil
}

func (f *fakeVideos) Delete(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.videos[id]; !ok {
		return fmt.Errorf("%w: %q", videos.ErrNotFound, id)
	}
	delete(f.videos, id)
	return nil
}

// Frame returns a picture whose luma is x+y and chroma 128, in f.format.
func (f *fakeVideos) Frame(ctx context.Context, id string, n int) (media.Picture, error) {
	v, err := f.Get(id)
	if err != nil {
		return media.Picture{}, err
	}
	if n < 0 || n >= v.Frames {
		return media.Picture{}, fmt.Errorf("%w: %d", videos.ErrFrameRange, n)
	}
	f.mu.Lock()
	format := f.format
	f.mu.Unlock()
	w, h := v.Width, v.Height
	y := make([]byte, w*h)
	for r := range h {
		for c := range w {
			y[r*w+c] = byte(r + c)
		}
	}
	cw, ch := (w+1)/2, (h+1)/2
	p := media.Picture{Frame: n, PTS: time.Duration(n) * 100 * time.Millisecond, Width: w, Height: h, Format: "I420", Cached: n%2 == 1,
		Planes: [][]byte{y, bytes.Repeat([]byte{128}, cw*ch), bytes.Repeat([]byte{128}, cw*ch)}}
	switch format {
	case "NV12":
		p.Format, p.Planes = "NV12", [][]byte{y, bytes.Repeat([]byte{128}, 2*cw*ch)}
	case "I420_10LE": // two bytes a sample: raw only
		p.Format, p.Planes = format, [][]byte{append(y, y...), bytes.Repeat([]byte{0, 2}, cw*ch), bytes.Repeat([]byte{0, 2}, cw*ch)}
	}
	return p, nil
}

// Upload stores anything but an empty body or a PNG, named by its hash.
func (f *fakeVideos) Upload(ctx context.Context, name string, body io.Reader, declared int64) (videos.Video, bool, error) {
	f.mu.Lock()
	limit := f.maxUpload
	f.uploads = append(f.uploads, name)
	f.declared = append(f.declared, declared)
	f.mu.Unlock()
	if declared > limit {
		return videos.Video{}, false, videos.ErrTooLarge
	}
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	switch {
	case err != nil:
		return videos.Video{}, false, fmt.Errorf("%w: %w", videos.ErrInterrupted, err)
	case int64(len(data)) > limit:
		return videos.Video{}, false, fmt.Errorf("%w of %d bytes", videos.ErrTooLarge, limit)
	case bytes.HasPrefix(data, []byte("\x89PNG")):
		return videos.Video{}, false, fmt.Errorf("%w: it is a PNG picture", videos.ErrUnsupported)
	case bytes.HasPrefix(data, []byte("corrupt")):
		return videos.Video{}, false, fmt.Errorf("%w: moov box past the end of the file", videos.ErrCorrupt)
	case bytes.HasPrefix(data, []byte("boom")):
		return videos.Video{}, false, errors.New("disk on fire at /secret/path")
	}
	sum := sha256.Sum256(data)
	id := hex.EncodeToString(sum[:8])
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.videos[id]; ok {
		return v, false, nil
	}
	v := videos.Video{ID: id, Name: name, Bytes: int64(len(data)), State: videos.StateReady, Progress: 1, Frames: 1, Width: 2, Height: 2}
	f.videos[id] = v
	return v, true, nil
}

// Encode has no encoder of its own: the handler falls back to Go's, as with a frame source
// without one.
func (f *fakeVideos) Encode(media.Picture, string, int) ([]byte, error) {
	return nil, videos.ErrNoEncoder
}

func (f *fakeVideos) MaxUploadBytes() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxUpload
}

func (f *fakeVideos) StartJob(id string, req videos.JobRequest) (videos.Job, error) {
	v, err := f.Get(id)
	if err != nil {
		return videos.Job{}, err
	}
	if req.Model == "nope" {
		return videos.Job{}, fmt.Errorf("%w: %q", videos.ErrModel, req.Model)
	}
	if req.From < 0 || req.To < videos.LastFrame || req.To >= v.Frames {
		return videos.Job{}, fmt.Errorf("%w: bad range", videos.ErrInvalidJob)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastJob = req
	j := videos.Job{ID: "00000000000000bb", Video: id, Model: "demo", From: req.From, To: req.To, Step: req.Step, State: videos.JobQueued, Created: time.Now().UTC()}
	f.jobs[j.ID] = j
	return j, nil
}

func (f *fakeVideos) Job(id string) (videos.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.jobs[id]
	if !ok {
		return videos.Job{}, fmt.Errorf("%w: %q", videos.ErrJobNotFound, id)
	}
	return j, nil
}

func (f *fakeVideos) Jobs() []videos.Job {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []videos.Job
	for _, j := range f.jobs {
		j.Results = nil
		out = append(out, j)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].ID < out[k].ID })
	return out
}

func (f *fakeVideos) CancelJob(id string) (videos.Job, error) {
	j, err := f.Job(id)
	if err != nil {
		return videos.Job{}, err
	}
	if j.State == videos.JobQueued || j.State == videos.JobRunning {
		j.State = videos.JobCancelled
	}
	j.Results = nil
	return j, nil
}

var _ Videos = (*videos.Library)(nil)

func TestVideoRoutes(t *testing.T) {
	type check func(t *testing.T, f *fakeVideos, res *http.Response, body []byte)
	tests := []struct {
		name   string
		req    request
		format string // pixel format the fake decodes to
		status int
		check  check
	}{
		{name: "list", req: request{method: "GET", path: "/api/v1/videos"}, status: 200,
			check: func(t *testing.T, _ *fakeVideos, _ *http.Response, body []byte) {
				var list []videos.Video
				mustUnmarshal(t, body, &list)
				if len(list) != 1 || list[0].ID != fakeVideoID || list[0].Frames != 20 {
					t.Errorf("list = %+v", list)
				}
			}},
		{name: "get", req: request{method: "GET", path: "/api/v1/videos/" + fakeVideoID}, status: 200,
			check: func(t *testing.T, _ *fakeVideos, _ *http.Response, body []byte) {
				var m map[string]any
				mustUnmarshal(t, body, &m)
				for _, k := range []string{"id", "name", "bytes", "created", "container", "codec", "width", "height", "frames", "keyframes", "duration_s", "fps", "index_build_ms", "state", "progress"} {
					if _, ok := m[k]; !ok {
						t.Errorf("video JSON lacks %q: %s", k, body)
					}
				}
			}},
		{name: "get unknown", req: request{method: "GET", path: "/api/v1/videos/ffffffffffffffff"}, status: 404},
		{name: "get bad escape", req: request{method: "GET", path: "/api/v1/videos/%zz"}, status: 400},
		{name: "delete", req: request{method: "DELETE", path: "/api/v1/videos/" + fakeVideoID}, status: 204,
			check: func(t *testing.T, f *fakeVideos, _ *http.Response, body []byte) {
				if len(body) != 0 || len(f.List()) != 0 {
					t.Errorf("body %q, videos left %v", body, f.List())
				}
			}},
		{name: "delete unknown", req: request{method: "DELETE", path: "/api/v1/videos/ffffffffffffffff"}, status: 404},
		{name: "frame jpeg", req: request{method: "GET", path: "/api/v1/videos/" + fakeVideoID + "/frames/3"}, status: 200,
			check: func(t *testing.T, _ *fakeVideos, res *http.Response, body []byte) {
				wantFrameHeaders(t, res, "image/jpeg", "3", "0.3", "hit")
				img, err := jpeg.Decode(bytes.NewReader(body))
				if err != nil || img.Bounds() != image.Rect(0, 0, 64, 48) {
					t.Fatalf("decode: %v, %v", img, err)
				}
				// Luma x+y survives JPEG within a few levels; chroma 128 means grey.
				r, g, b, _ := img.At(40, 20).RGBA()
				if d := int(r>>8) - 60; d < -6 || d > 6 || r != g || g != b {
					t.Errorf("pixel (40,20) = %d %d %d, want grey 60", r>>8, g>>8, b>>8)
				}
			}},
		{name: "frame jpeg quality", req: request{method: "GET", path: "/api/v1/videos/" + fakeVideoID + "/frames/0?format=jpg&quality=5"}, status: 200,
			check: func(t *testing.T, _ *fakeVideos, res *http.Response, body []byte) {
				wantFrameHeaders(t, res, "image/jpeg", "0", "0", "miss")
				if _, err := jpeg.Decode(bytes.NewReader(body)); err != nil {
					t.Error(err)
				}
			}},
		{name: "frame png", req: request{method: "GET", path: "/api/v1/videos/" + fakeVideoID + "/frames/19?format=png"}, status: 200,
			check: func(t *testing.T, _ *fakeVideos, res *http.Response, body []byte) {
				wantFrameHeaders(t, res, "image/png", "19", "1.9", "hit")
				img, err := png.Decode(bytes.NewReader(body))
				if err != nil || img.Bounds().Dx() != 64 || img.Bounds().Dy() != 48 {
					t.Fatalf("decode: %v", err)
				}
				if r, _, _, _ := img.At(40, 20).RGBA(); r>>8 != 60 {
					t.Errorf("pixel (40,20) = %d, want 60 (PNG is lossless)", r>>8)
				}
			}},
		{name: "frame raw", req: request{method: "GET", path: "/api/v1/videos/" + fakeVideoID + "/frames/2?format=raw"}, status: 200,
			check: func(t *testing.T, f *fakeVideos, res *http.Response, body []byte) {
				wantFrameHeaders(t, res, "application/octet-stream", "2", "0.2", "miss")
				pic, _ := f.Frame(context.Background(), fakeVideoID, 2)
				if len(body) != 64*48*3/2 || !bytes.Equal(body, slices.Concat(pic.Planes...)) {
					t.Errorf("raw body of %d bytes differs from the planes", len(body))
				}
			}},
		{name: "frame raw in a format images cannot hold", format: "NV12", req: request{method: "GET", path: "/api/v1/videos/" + fakeVideoID + "/frames/2?format=raw"}, status: 200,
			check: func(t *testing.T, _ *fakeVideos, res *http.Response, body []byte) {
				if res.Header.Get("X-Pixel-Format") != "NV12" || len(body) != 64*48*3/2 {
					t.Errorf("format %q, %d bytes", res.Header.Get("X-Pixel-Format"), len(body))
				}
			}},
		{name: "frame jpeg from NV12", format: "NV12", req: request{method: "GET", path: "/api/v1/videos/" + fakeVideoID + "/frames/2"}, status: 200},
		{name: "frame jpeg in a format images cannot hold", format: "I420_10LE", req: request{method: "GET", path: "/api/v1/videos/" + fakeVideoID + "/frames/2"}, status: 422},
		{name: "frame past the end", req: request{method: "GET", path: "/api/v1/videos/" + fakeVideoID + "/frames/20"}, status: 404},
		{name: "frame negative", req: request{method: "GET", path: "/api/v1/videos/" + fakeVideoID + "/frames/-1"}, status: 400},
		{name: "frame not a number", req: request{method: "GET", path: "/api/v1/videos/" + fakeVideoID + "/frames/first"}, status: 400},
		{name: "frame huge", req: request{method: "GET", path: "/api/v1/videos/" + fakeVideoID + "/frames/99999999999999999999999"}, status: 400},
		{name: "frame of unknown video", req: request{method: "GET", path: "/api/v1/videos/ffffffffffffffff/frames/0"}, status: 404},
		{name: "frame bad format", req: request{method: "GET", path: "/api/v1/videos/" + fakeVideoID + "/frames/0?format=gif"}, status: 400},
		{name: "frame bad quality", req: request{method: "GET", path: "/api/v1/videos/" + fakeVideoID + "/frames/0?quality=101"}, status: 400},
		// Numbers are plain decimal digits: strconv.Atoi alone read "+5" as frame 5.
		{name: "frame with a plus sign", req: request{method: "GET", path: "/api/v1/videos/" + fakeVideoID + "/frames/+5"}, status: 400,
			check: wantErrorContaining(`frame number "+5" is not a non-negative integer: write it in decimal digits only`)},
		{name: "frame minus zero", req: request{method: "GET", path: "/api/v1/videos/" + fakeVideoID + "/frames/-0"}, status: 400},
		{name: "frame with a decimal point", req: request{method: "GET", path: "/api/v1/videos/" + fakeVideoID + "/frames/5.0"}, status: 400},
		{name: "frame in hex", req: request{method: "GET", path: "/api/v1/videos/" + fakeVideoID + "/frames/0x5"}, status: 400},
		{name: "frame with a space", req: request{method: "GET", path: "/api/v1/videos/" + fakeVideoID + "/frames/%205"}, status: 400},
		{name: "frame huge says why", req: request{method: "GET", path: "/api/v1/videos/" + fakeVideoID + "/frames/99999999999999999999999"}, status: 400,
			check: wantErrorContaining("too large")},
		{name: "frame with leading zeros", req: request{method: "GET", path: "/api/v1/videos/" + fakeVideoID + "/frames/007?format=raw"}, status: 200,
			check: func(t *testing.T, _ *fakeVideos, res *http.Response, _ []byte) {
				if got := res.Header.Get("X-Frame-Number"); got != "7" {
					t.Errorf("X-Frame-Number %q, want 7", got)
				}
			}},
		{name: "quality with a plus sign", req: request{method: "GET", path: "/api/v1/videos/" + fakeVideoID + "/frames/0?quality=%2B50"}, status: 400,
			check: wantErrorContaining(`quality "+50" is not a non-negative integer`)},
		{name: "quality negative", req: request{method: "GET", path: "/api/v1/videos/" + fakeVideoID + "/frames/0?quality=-5"}, status: 400},
		{name: "infer defaults", req: request{method: "POST", path: "/api/v1/videos/" + fakeVideoID + "/infer"}, status: 202,
			check: func(t *testing.T, f *fakeVideos, res *http.Response, body []byte) {
				var j videos.Job
				mustUnmarshal(t, body, &j)
				if loc := res.Header.Get("Location"); loc != "/api/v1/jobs/"+j.ID || j.State != videos.JobQueued {
					t.Errorf("Location %q, job %+v", loc, j)
				}
				if want := (videos.JobRequest{To: videos.LastFrame, Step: 1}); f.lastJob != want {
					t.Errorf("request = %+v, want %+v", f.lastJob, want)
				}
			}},
		{name: "infer range", req: request{method: "POST", path: "/api/v1/videos/" + fakeVideoID + "/infer", header: jsonHeader,
			body: `{"from":2,"to":9,"step":3,"model":"demo"}`}, status: 202,
			check: func(t *testing.T, f *fakeVideos, _ *http.Response, _ []byte) {
				if want := (videos.JobRequest{Model: "demo", From: 2, To: 9, Step: 3}); f.lastJob != want {
					t.Errorf("request = %+v, want %+v", f.lastJob, want)
				}
			}},
		{name: "infer step 0", req: request{method: "POST", path: "/api/v1/videos/" + fakeVideoID + "/infer", body: `{"step":0}`}, status: 400},
		{name: "infer bad range", req: request{method: "POST", path: "/api/v1/videos/" + fakeVideoID + "/infer", body: `{"to":20}`}, status: 400},
		{name: "infer unknown model", req: request{method: "POST", path: "/api/v1/videos/" + fakeVideoID + "/infer", body: `{"model":"nope"}`}, status: 400},
		{name: "infer unknown field", req: request{method: "POST", path: "/api/v1/videos/" + fakeVideoID + "/infer", body: `{"frames":[1]}`}, status: 400},
		{name: "infer not JSON", req: request{method: "POST", path: "/api/v1/videos/" + fakeVideoID + "/infer", body: `from=1`,
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, status: 415},
		{name: "infer unknown video", req: request{method: "POST", path: "/api/v1/videos/ffffffffffffffff/infer"}, status: 404},
		{name: "jobs", req: request{method: "GET", path: "/api/v1/jobs"}, status: 200,
			check: func(t *testing.T, _ *fakeVideos, _ *http.Response, body []byte) {
				if !strings.Contains(string(body), fakeJobID) || strings.Contains(string(body), "results") {
					t.Errorf("jobs = %s", body)
				}
			}},
		{name: "job", req: request{method: "GET", path: "/api/v1/jobs/" + fakeJobID}, status: 200,
			check: func(t *testing.T, _ *fakeVideos, _ *http.Response, body []byte) {
				var j videos.Job
				mustUnmarshal(t, body, &j)
				if j.ID != fakeJobID || len(j.Results) != 3 || len(j.Results[2].Detections) != 2 {
					t.Errorf("job = %s", body)
				}
			}},
		{name: "job csv", req: request{method: "GET", path: "/api/v1/jobs/" + fakeJobID + "/results.csv"}, status: 200,
			check: func(t *testing.T, _ *fakeVideos, res *http.Response, body []byte) {
				if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
					t.Errorf("Content-Type %q", ct)
				}
				if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename=job-`+fakeJobID+`.csv` {
					t.Errorf("Content-Disposition %q", cd)
				}
				rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
				want := [][]string{
					{"frame", "pts_s", "class", "score", "x", "y", "w", "h", "area"},
					{"0", "0", "pig", "0.5", "1", "2", "3", "4", "12"},
					{"2", "0.2", "pig", "0.25", "5", "6", "7", "8", "56"},
					{"2", "0.2", `sow, "big"`, "1", "9", "9", "1", "1", "1"},
				}
				if err != nil || !reflect.DeepEqual(rows, want) {
					t.Errorf("CSV = %q, %v", rows, err)
				}
			}},
		{name: "job unknown", req: request{method: "GET", path: "/api/v1/jobs/nope"}, status: 404},
		{name: "job csv unknown", req: request{method: "GET", path: "/api/v1/jobs/nope/results.csv"}, status: 404},
		{name: "cancel job", req: request{method: "DELETE", path: "/api/v1/jobs/" + fakeJobID}, status: 200,
			check: func(t *testing.T, _ *fakeVideos, _ *http.Response, body []byte) {
				var j videos.Job
				mustUnmarshal(t, body, &j)
				if j.ID != fakeJobID || j.State != videos.JobDone || j.Results != nil {
					t.Errorf("cancelled = %s", body)
				}
			}},
		{name: "cancel unknown job", req: request{method: "DELETE", path: "/api/v1/jobs/nope"}, status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeVideos()
			f.format = tt.format
			app := New(Options{Pipelines: newFake(), Videos: f, Logger: slog.New(slog.DiscardHandler)})
			res, body := send(t, app, tt.req)
			if res.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d; body %.300s", res.StatusCode, tt.status, body)
			}
			if tt.status >= 400 {
				checkErrorShape(t, res, body)
				if res.Header.Get("Cache-Control") != "" {
					t.Errorf("an error is cacheable: %q", res.Header.Get("Cache-Control"))
				}
			}
			if tt.check != nil {
				tt.check(t, f, res, body)
			}
		})
	}
}

// wantErrorContaining checks that an error answer's message says what.
func wantErrorContaining(what string) func(t *testing.T, _ *fakeVideos, _ *http.Response, body []byte) {
	return func(t *testing.T, _ *fakeVideos, _ *http.Response, body []byte) {
		var e ErrorResponse
		mustUnmarshal(t, body, &e)
		if !strings.Contains(e.Error, what) {
			t.Errorf("error %q does not say %q", e.Error, what)
		}
	}
}

func wantFrameHeaders(t *testing.T, res *http.Response, contentType, n, pts, cache string) {
	t.Helper()
	for k, want := range map[string]string{
		"Content-Type": contentType, "X-Frame-Number": n, "X-Frame-PTS": pts, "X-Frame-Width": "64", "X-Frame-Height": "48",
		"X-Pixel-Format": "I420", "X-Frame-Cache": cache, "Cache-Control": "private, max-age=3600",
	} {
		if got := res.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

// Without a library the read routes list nothing and the rest answer 503.
func TestNoVideos(t *testing.T) {
	app := New(Options{Pipelines: newFake()})
	for _, r := range []request{
		{method: "GET", path: "/api/v1/videos"}, {method: "GET", path: "/api/v1/jobs"},
	} {
		if res, body := send(t, app, r); res.StatusCode != 200 || string(bytes.TrimSpace(body)) != "[]" {
			t.Errorf("%s %s = %d %s", r.method, r.path, res.StatusCode, body)
		}
	}
	for _, r := range []request{
		{method: "GET", path: "/api/v1/videos/x"}, {method: "DELETE", path: "/api/v1/videos/x"},
		{method: "GET", path: "/api/v1/videos/x/frames/0"}, {method: "POST", path: "/api/v1/videos/x/infer"},
		{method: "GET", path: "/api/v1/jobs/x"}, {method: "DELETE", path: "/api/v1/jobs/x"},
		{method: "POST", path: "/api/v1/videos", body: "data"},
	} {
		res, body := send(t, app, r)
		if res.StatusCode != 503 {
			t.Errorf("%s %s = %d %s", r.method, r.path, res.StatusCode, body)
		}
		checkErrorShape(t, res, body)
	}
	rec := httptest.NewRecorder()
	UploadHandler(nil, "", nil).ServeHTTP(rec, httptest.NewRequest("POST", "/api/v1/videos", strings.NewReader("x")))
	if rec.Code != 503 {
		t.Errorf("UploadHandler(nil) = %d %s", rec.Code, rec.Body)
	}
}

// multipartBody builds a multipart/form-data body: a "note" field, then the file in field.
func multipartBody(t *testing.T, field, filename string, data []byte) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.WriteField("note", "pen 3, morning"); err != nil {
		t.Fatal(err)
	}
	fw, err := mw.CreateFormFile(field, filename)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), &buf
}

func TestUploadHandler(t *testing.T) {
	const token = "s3cret-token"
	video := []byte("\x00\x00\x00\x20ftypisom pretend video")
	type upload struct {
		name     string
		method   string
		path     string
		ctype    string
		body     func(t *testing.T) (string, io.Reader) // content type (overrides ctype), body
		length   int64                                  // Content-Length; 0: the body's, -1: chunked
		auth     string
		header   map[string]string
		status   int
		wantName string // name that reached Upload; "-" when Upload must not be called
		error    string // substring of the error
	}
	raw := func(data []byte) func(*testing.T) (string, io.Reader) {
		return func(*testing.T) (string, io.Reader) { return "", bytes.NewReader(data) }
	}
	form := func(field, filename string, data []byte) func(*testing.T) (string, io.Reader) {
		return func(t *testing.T) (string, io.Reader) { return multipartBody(t, field, filename, data) }
	}
	bearer := "Bearer " + token
	tests := []upload{
		{name: "multipart", body: form("file", "Pen 3.mp4", video), auth: bearer, status: 201, wantName: "Pen 3.mp4"},
		{name: "raw", path: "/api/v1/videos?name=barn.mkv", ctype: "application/octet-stream", body: raw(video), auth: bearer, status: 201, wantName: "barn.mkv"},
		{name: "raw video type, chunked", ctype: "video/mp4", body: raw(video), length: -1, auth: bearer, status: 201, wantName: ""},
		{name: "raw without type", body: raw(video), auth: bearer, status: 201, wantName: ""},
		{name: "no token", body: form("file", "a.mp4", video), status: 401, wantName: "-", error: "needs an API token"},
		{name: "wrong token", body: form("file", "a.mp4", video), auth: "Bearer nope", status: 401, wantName: "-", error: "wrong"},
		{name: "basic auth", body: form("file", "a.mp4", video), auth: "Basic " + token, status: 401, wantName: "-"},
		{name: "GET", method: "GET", auth: bearer, body: raw(nil), status: 405, wantName: "-"},
		{name: "too large by Content-Length", ctype: "application/octet-stream", body: raw(make([]byte, 1<<20+1)), auth: bearer, status: 413, wantName: "-", error: "limit"},
		{name: "multipart too large by Content-Length", body: form("file", "big.mp4", make([]byte, 1<<20+multipartOverhead)), auth: bearer, status: 413, wantName: "-"},
		{name: "too large, chunked", ctype: "application/octet-stream", body: raw(make([]byte, 1<<20+1)), length: -1, auth: bearer, status: 413, wantName: ""},
		{name: "multipart too large, chunked", body: form("file", "big.mp4", make([]byte, 2<<20)), length: -1, auth: bearer, status: 413, wantName: "big.mp4"},
		{name: "multipart without a file", body: form("video", "a.mp4", video), auth: bearer, status: 400, wantName: "-", error: `"file"`},
		{name: "multipart without boundary", ctype: "multipart/form-data", body: raw(video), auth: bearer, status: 400, wantName: "-"},
		{name: "text body", ctype: "text/plain", body: raw(video), auth: bearer, status: 415, wantName: "-", error: "multipart/form-data"},
		{name: "compressed", ctype: "application/octet-stream", header: map[string]string{"Content-Encoding": "gzip"}, body: raw(video), auth: bearer, status: 415, wantName: "-"},
		{name: "PNG", body: form("file", "pig.mp4", []byte("\x89PNG\r\n\x1a\n")), auth: bearer, status: 415, wantName: "pig.mp4", error: "PNG"},
		{name: "corrupt", body: form("file", "c.mp4", []byte("corrupt")), auth: bearer, status: 422, wantName: "c.mp4", error: "moov"},
		{name: "internal error hidden", body: form("file", "b.mp4", []byte("boom")), auth: bearer, status: 500, wantName: "b.mp4", error: "internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeVideos()
			srv := httptest.NewServer(UploadHandler(f, token, slog.New(slog.DiscardHandler)))
			defer srv.Close()
			ctype, body := tt.body(t)
			if ctype == "" {
				ctype = tt.ctype
			}
			method, path := cmpOr(tt.method, "POST"), cmpOr(tt.path, "/api/v1/videos")
			if tt.length == -1 {
				body = io.MultiReader(body) // hides the length: sent chunked
			}
			req, err := http.NewRequest(method, srv.URL+path, body)
			if err != nil {
				t.Fatal(err)
			}
			if ctype != "" {
				req.Header.Set("Content-Type", ctype)
			}
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			data, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d; body %s", res.StatusCode, tt.status, data)
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("no nosniff header")
			}
			if tt.status >= 400 {
				e := checkErrorShape(t, res, data)
				if !strings.Contains(e.Error, tt.error) {
					t.Errorf("error %q does not say %q", e.Error, tt.error)
				}
				if tt.status == 401 && !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("401 without a Bearer challenge")
				}
			} else {
				var v videos.Video
				mustUnmarshal(t, data, &v)
				if loc := res.Header.Get("Location"); loc != "/api/v1/videos/"+v.ID {
					t.Errorf("Location %q for %+v", loc, v)
				}
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if tt.wantName == "-" {
				if len(f.uploads) != 0 {
					t.Errorf("Upload was called: %v", f.uploads)
				}
			} else if len(f.uploads) != 1 || f.uploads[0] != tt.wantName {
				t.Errorf("uploads %v, want one named %q", f.uploads, tt.wantName)
			}
		})
	}

	t.Run("again", func(t *testing.T) {
		f := newFakeVideos()
		h := UploadHandler(f, "", nil)
		for i, want := range []int{201, 200} {
			ctype, body := multipartBody(t, "file", "a.mp4", video)
			req := httptest.NewRequest("POST", "/api/v1/videos", body)
			req.Header.Set("Content-Type", ctype)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != want {
				t.Errorf("upload %d: %d %s", i, rec.Code, rec.Body)
			}
		}
		// The declared size is the body's for a raw upload, at most the limit for multipart.
		if f.declared[0] <= int64(len(video)) || f.declared[0] > f.maxUpload {
			t.Errorf("declared %v", f.declared)
		}
	})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// The Fiber app serves the upload route too, for small bodies, with the app's token check.
func TestUploadThroughApp(t *testing.T) {
	f := newFakeVideos()
	app := New(Options{Pipelines: newFake(), Videos: f, Token: "tok"})
	ctype, body := multipartBody(t, "file", "small.mp4", []byte("\x00\x00\x00\x08ftyp"))
	res, data := send(t, app, request{method: "POST", path: "/api/v1/videos", body: body.String(), header: map[string]string{"Content-Type": ctype}})
	if res.StatusCode != 401 {
		t.Fatalf("without token: %d %s", res.StatusCode, data)
	}
	res, data = send(t, app, request{method: "POST", path: "/api/v1/videos", body: body.String(),
		header: map[string]string{"Content-Type": ctype, "Authorization": "Bearer tok"}})
	if res.StatusCode != 201 || len(f.uploads) != 1 || f.uploads[0] != "small.mp4" {
		t.Fatalf("with token: %d %s; uploads %v", res.StatusCode, data, f.uploads)
	}
	if n := len(res.Header.Values("X-Content-Type-Options")); n != 1 {
		t.Errorf("X-Content-Type-Options sent %d times", n)
	}
}

func TestVideoErrorStatus(t *testing.T) {
	for _, tt := range []struct {
		err    error
		status int
	}{
		{fmt.Errorf("x: %w", videos.ErrNotFound), 404},
		{videos.ErrJobNotFound, 404},
		{videos.ErrFrameRange, 404},
		{videos.ErrTooLarge, 413},
		{&http.MaxBytesError{Limit: 5}, 413},
		{fmt.Errorf("%w: %w", videos.ErrInterrupted, &http.MaxBytesError{Limit: 5}), 413},
		{fmt.Errorf("%w: it is a PNG", videos.ErrUnsupported), 415},
		{fmt.Errorf("x: %w", index.ErrUnsupported), 500}, // only the library's own errors are mapped
		{videos.ErrCorrupt, 422},
		{videos.ErrEmpty, 422},
		{videos.ErrInterrupted, 400},
		{videos.ErrBusy, 409},
		{videos.ErrInvalidJob, 400},
		{videos.ErrModel, 400},
		{videos.ErrTooManyJobs, 429},
		{videos.ErrClosed, 503},
		{errNoVideos, 503},
		{context.DeadlineExceeded, 504},
		{errors.New("disk on fire"), 500},
	} {
		status, msg, ok := videoError(tt.err, 100)
		if status != tt.status || ok != (status != 500) || msg == "" || (status == 500 && strings.Contains(msg, "fire")) {
			t.Errorf("videoError(%v) = %d %q %v, want %d", tt.err, status, msg, ok, tt.status)
		}
	}
}

func TestPictureImage(t *testing.T) {
	plane := func(n int, v byte) []byte { return bytes.Repeat([]byte{v}, n) }
	for _, tt := range []struct {
		name string
		pic  media.Picture
		ok   bool
	}{
		{"I420", media.Picture{Format: "I420", Width: 4, Height: 2, Planes: [][]byte{plane(8, 1), plane(2, 2), plane(2, 3)}}, true},
		{"I420 odd size", media.Picture{Format: "I420", Width: 5, Height: 3, Planes: [][]byte{plane(15, 1), plane(6, 2), plane(6, 3)}}, true},
		{"YV12", media.Picture{Format: "YV12", Width: 4, Height: 2, Planes: [][]byte{plane(8, 1), plane(2, 3), plane(2, 2)}}, true},
		{"Y42B", media.Picture{Format: "Y42B", Width: 4, Height: 2, Planes: [][]byte{plane(8, 1), plane(4, 2), plane(4, 3)}}, true},
		{"Y444", media.Picture{Format: "Y444", Width: 4, Height: 2, Planes: [][]byte{plane(8, 1), plane(8, 2), plane(8, 3)}}, true},
		{"GRAY8", media.Picture{Format: "GRAY8", Width: 4, Height: 2, Planes: [][]byte{plane(8, 1)}}, true},
		{"NV12", media.Picture{Format: "NV12", Width: 4, Height: 2, Planes: [][]byte{plane(8, 1), {2, 3, 2, 3}}}, true},
		{"NV12 short chroma", media.Picture{Format: "NV12", Width: 4, Height: 2, Planes: [][]byte{plane(8, 1), {2, 3}}}, false},
		{"short chroma", media.Picture{Format: "I420", Width: 4, Height: 2, Planes: [][]byte{plane(8, 1), plane(1, 2), plane(2, 3)}}, false},
		{"missing plane", media.Picture{Format: "I420", Width: 4, Height: 2, Planes: [][]byte{plane(8, 1)}}, false},
		{"10-bit", media.Picture{Format: "I420_10LE", Width: 4, Height: 2, Planes: [][]byte{plane(16, 1), plane(4, 2), plane(4, 3)}}, false},
		{"no size", media.Picture{Format: "I420"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			img, err := pictureImage(tt.pic)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v", err)
			}
			if !tt.ok {
				return
			}
			if img.Bounds() != image.Rect(0, 0, tt.pic.Width, tt.pic.Height) {
				t.Errorf("bounds %v", img.Bounds())
			}
			// Every pixel is readable (no plane is too short for the layout: that would panic)
			// and, for the YUV formats, Cb and Cr are the planes they should be.
			for y := range tt.pic.Height {
				for x := range tt.pic.Width {
					_, _, _, _ = img.At(x, y).RGBA()
				}
			}
			if ycc, ok := img.(*image.YCbCr); ok {
				if c := ycc.YCbCrAt(tt.pic.Width-1, tt.pic.Height-1); c.Y != 1 || c.Cb != 2 || c.Cr != 3 {
					t.Errorf("last pixel %+v", c)
				}
			}
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, img, nil); err != nil {
				t.Error(err)
			}
		})
	}
}

// The video schemas of the OpenAPI document are exactly the JSON fields of the types they
// describe, and their enums the values those types take.
func TestOpenAPIVideoSchemas(t *testing.T) {
	doc := openAPIDoc(t)
	schema := func(name string) map[string]any {
		s, _ := lookup(doc, "#/components/schemas/"+name)
		m, _ := s.(map[string]any)
		return m
	}
	for name, typ := range map[string]reflect.Type{
		"Video":        reflect.TypeFor[videos.Video](),
		"Job":          reflect.TypeFor[videos.Job](),
		"FrameResult":  reflect.TypeFor[videos.FrameResult](),
		"InferRequest": reflect.TypeFor[inferRequest](),
	} {
		props, _ := schema(name)["properties"].(map[string]any)
		var got []string
		for p := range props {
			got = append(got, p)
		}
		sort.Strings(got)
		if want := jsonNames(typ); !slices.Equal(got, want) {
			t.Errorf("schema %s has properties %v; %s has JSON fields %v", name, got, typ, want)
		}
	}
	enum := func(schemaName, prop string) []any {
		p, _ := schema(schemaName)["properties"].(map[string]any)[prop].(map[string]any)
		e, _ := p["enum"].([]any)
		return e
	}
	if got, want := enum("Video", "state"), []any{string(videos.StateUploading), string(videos.StateIndexing), string(videos.StateReady)}; !slices.Equal(got, want) {
		t.Errorf("Video.state enum %v, want %v", got, want)
	}
	if got, want := enum("Job", "state"), []any{string(videos.JobQueued), string(videos.JobRunning), string(videos.JobDone), string(videos.JobFailed), string(videos.JobCancelled)}; !slices.Equal(got, want) {
		t.Errorf("Job.state enum %v, want %v", got, want)
	}
	if got, want := enum("Video", "container"), []any{index.ContainerMP4, index.ContainerMKV, index.ContainerMPEGTS, ""}; !slices.Equal(got, want) {
		t.Errorf("Video.container enum %v, want %v", got, want)
	}
	// The CSV columns documented are the ones written.
	desc, _ := lookup(doc, "#/paths/~1api~1v1~1jobs~1{job}~1results.csv/get/description")
	if !strings.Contains(desc.(string), strings.Join(videos.CSVHeader, ",")) {
		t.Errorf("CSV description %q lacks the header %v", desc, videos.CSVHeader)
	}
	if strconv.Itoa(videos.MaxJobFrames) != "100000" {
		t.Errorf("the document says jobs are limited to 100000 frames; MaxJobFrames is %d", videos.MaxJobFrames)
	}
}
