package videos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/pipelines/index"
	"github.com/pigweight/pigweight/pipelines/media"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// patience bounds every wait; the tests synchronise on events and only use it to fail
// instead of hanging.
const patience = 10 * time.Second

// clip makes a small video with ffmpeg's test pattern: 64x48, 10 fps, 2 s (20 frames), one
// keyframe every 5 frames. extra arguments go before the output file.
func clip(t testing.TB, name string, extra ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not installed")
	}
	out := filepath.Join(t.TempDir(), name)
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y",
		"-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-t", "2",
		"-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "5"}
	args = append(append(args, extra...), out)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if msg, err := exec.CommandContext(ctx, "ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, msg)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// fakeSource stands in for package frames: it returns a mid-grey I420 picture of the index's
// size whose PTS comes from the index, after checking that the file is there.
type fakeSource struct {
	mu      sync.Mutex
	forgot  []string
	calls   int
	failAt  int // frame number that fails; -1 never
	release chan struct{}
}

func newFakeSource() *fakeSource { return &fakeSource{failAt: -1} }

func (f *fakeSource) Frame(ctx context.Context, id, path string, ix *index.Index, n int) (media.Picture, error) {
	f.mu.Lock()
	f.calls++
	fail, release := n == f.failAt, f.release
	f.mu.Unlock()
	if release != nil {
		select {
		case <-release:
		case <-ctx.Done():
			return media.Picture{}, ctx.Err()
		}
	}
	if fail {
		return media.Picture{}, errors.New("decoder exploded")
	}
	if _, err := os.Stat(path); err != nil {
		return media.Picture{}, err
	}
	if n < 0 || n >= len(ix.Frames) {
		return media.Picture{}, fmt.Errorf("frame %d of %d", n, len(ix.Frames))
	}
	w, h := ix.Width, ix.Height
	cw, ch := (w+1)/2, (h+1)/2
	pts := time.Duration(float64(ix.Frames[n].PTS-ix.Frames[0].PTS) / float64(ix.Timescale) * float64(time.Second))
	return media.Picture{
		Frame: n, PTS: pts, Width: w, Height: h, Format: "I420",
		Planes: [][]byte{bytes.Repeat([]byte{128}, w*h), bytes.Repeat([]byte{128}, cw*ch), bytes.Repeat([]byte{128}, cw*ch)},
	}, nil
}

func (f *fakeSource) Forget(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forgot = append(f.forgot, id)
}

func (f *fakeSource) forgotten() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.forgot...)
}

// fakeAnalyser finds one pig per frame, at x = frame number, and none in odd frames when
// sparse is set.
type fakeAnalyser struct{ sparse bool }

func (a fakeAnalyser) Analyse(ctx context.Context, p media.Picture) ([]detect.Detection, error) {
	if a.sparse && p.Frame%2 == 1 {
		return nil, nil
	}
	return []detect.Detection{
		{Box: detect.Box{X: float32(p.Frame), Y: 2, W: 10, H: 5.5}, Class: "pig", Score: 0.75, Area: 55},
	}, nil
}

func analysers(model string) (Analyser, error) {
	switch model {
	case "demo":
		return fakeAnalyser{}, nil
	case "sparse":
		return fakeAnalyser{sparse: true}, nil
	}
	return nil, fmt.Errorf("no model %q", model)
}

// newLibrary opens a library in dir, closed at the end of the test.
func newLibrary(t *testing.T, dir string, src FrameSource, max int64) *Library {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	l, err := New(Config{Dir: dir, MaxUploadBytes: max, DefaultModel: "demo"}, src, analysers, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

// testWriter sends logs to t.Log, so that they show only for failing tests.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// files lists the regular files under dir, relative to it, sorted.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func mustUpload(t *testing.T, l *Library, name string, data []byte) (Video, bool) {
	t.Helper()
	v, created, err := l.Upload(context.Background(), name, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("upload %s: %v", name, err)
	}
	return v, created
}

// mustStartJob starts a job that the test expects to be accepted.
func mustStartJob(t *testing.T, l *Library, videoID string, req JobRequest) Job {
	t.Helper()
	j, err := l.StartJob(videoID, req)
	if err != nil {
		t.Fatalf("start job on %s: %v", videoID, err)
	}
	return j
}

// waitJob polls until the job has finished.
func waitJob(t *testing.T, l *Library, id string) Job {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		j, err := l.Job(id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Finished != nil {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s never finished: %+v", id, j)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// releaseFrames lets n frames through src (made with a release channel) and waits until job
// id has analysed n frames in all.
func releaseFrames(t *testing.T, l *Library, src *fakeSource, id string, n int) {
	t.Helper()
	for range n {
		src.release <- struct{}{}
	}
	deadline := time.Now().Add(patience)
	for j, _ := l.Job(id); j.Done < n; j, _ = l.Job(id) {
		if time.Now().After(deadline) {
			t.Fatalf("%d frames released, job = %+v", n, j)
		}
		time.Sleep(time.Millisecond)
	}
}

// errReader yields data, then fails.
type errReader struct {
	data []byte
	err  error
}

func (r *errReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

var _ io.Reader = (*errReader)(nil)
