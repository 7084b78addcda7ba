package videos

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pigweight/pigweight/pipelines/index"
)

func TestUpload(t *testing.T) {
	data := clip(t, "pen.mp4")
	dir := t.TempDir()
	src := newFakeSource()
	l := newLibrary(t, dir, src, 0)

	v, created := mustUpload(t, l, "C:\\farm\\pen 3\x00.mp4", data)
	sum := sha256.Sum256(data)
	want := Video{
		ID: hex.EncodeToString(sum[:])[:16], Name: "pen 3.mp4", SHA256: hex.EncodeToString(sum[:]),
		Bytes: int64(len(data)), Container: "mp4", Codec: "h264", Width: 64, Height: 48,
		Frames: 20, Keyframes: 4, DurationS: 2, FPS: 10, State: StateReady, Progress: 1,
	}
	got := v
	got.Created, got.IndexBuildMS = time.Time{}, 0
	if !created || got != want {
		t.Fatalf("upload: created %v\n got %+v\nwant %+v", created, got, want)
	}
	if time.Since(v.Created) > time.Minute || v.IndexBuildMS < 0 {
		t.Errorf("created %v, index_build_ms %d", v.Created, v.IndexBuildMS)
	}
	wantFiles := []string{"index/" + want.SHA256 + ".pwidx", "videos/" + want.ID + ".json", "videos/" + want.ID + ".mp4"}
	if got := files(t, dir); !slices.Equal(got, wantFiles) {
		t.Errorf("files = %v, want %v", got, wantFiles)
	}
	stored, err := os.ReadFile(filepath.Join(dir, "videos", want.ID+".mp4"))
	if err != nil || !bytes.Equal(stored, data) {
		t.Errorf("stored file differs from the upload (err %v)", err)
	}

	again, created := mustUpload(t, l, "copy.mp4", data)
	if created || again != v {
		t.Errorf("re-upload: created %v, %+v; want the existing %+v", created, again, v)
	}
	if got := files(t, dir); !slices.Equal(got, wantFiles) {
		t.Errorf("after re-upload files = %v, want %v", got, wantFiles)
	}
	if list := l.List(); len(list) != 1 || list[0] != v {
		t.Errorf("List = %+v", list)
	}
	if got, err := l.Get(v.ID); err != nil || got != v {
		t.Errorf("Get = %+v, %v", got, err)
	}

	pic, err := l.Frame(context.Background(), v.ID, 19)
	if err != nil || pic.Frame != 19 || pic.Width != 64 || pic.PTS != 1900*time.Millisecond {
		t.Errorf("Frame 19 = %+v, %v", pic, err)
	}
	for _, n := range []int{-1, 20, math.MaxInt} {
		if _, err := l.Frame(context.Background(), v.ID, n); !errors.Is(err, ErrFrameRange) {
			t.Errorf("Frame %d: %v, want ErrFrameRange", n, err)
		}
	}
	if _, err := l.Frame(context.Background(), "0123456789abcdef", 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("Frame of unknown video: %v", err)
	}
}

// Every container the index reads can be uploaded; the container is told from the content.
func TestUploadContainers(t *testing.T) {
	l := newLibrary(t, t.TempDir(), newFakeSource(), 0)
	for _, c := range []struct {
		file, container string
		extra           []string
	}{
		{"a.mkv", "mkv", nil},
		{"b.ts", "mpegts", nil},
		{"c.mp4", "mp4", []string{"-movflags", "+faststart"}},
		{"d.mp4", "mp4", []string{"-movflags", "+frag_keyframe+empty_moov"}},
		{"e.mp4", "mp4", []string{"-c:v", "libx265", "-tag:v", "hvc1", "-x265-params", "log-level=error"}},
	} {
		t.Run(c.file, func(t *testing.T) {
			v, created := mustUpload(t, l, "clip.bin", clip(t, c.file, c.extra...))
			if !created || v.Container != c.container || v.Frames != 20 || v.Width != 64 {
				t.Errorf("%+v", v)
			}
		})
	}
	if n := len(l.List()); n != 5 {
		t.Errorf("%d videos listed, want 5", n)
	}
}

// A refused upload leaves nothing behind: no file in the data directory, nothing listed.
func TestUploadRefused(t *testing.T) {
	mp4 := clip(t, "pen.mp4")
	faststart := clip(t, "fast.mp4", "-movflags", "+faststart")
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 2000)...)
	random := make([]byte, 100_000)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	random[4] = 'x' // not by chance an MP4 box type or a TS sync byte
	random[0] = 0

	tests := []struct {
		name     string
		body     func() io.Reader
		declared int64 // -2: len(data)
		max      int64
		ctx      func() context.Context
		want     []error // any of them
		reason   string  // substring of the message
	}{
		{name: "PNG named mp4", body: reader(png), want: []error{ErrUnsupported, index.ErrUnsupported}, reason: "PNG"},
		{name: "JPEG", body: reader([]byte("\xff\xd8\xff\xe0\x00\x10JFIF")), want: []error{ErrUnsupported}, reason: "JPEG"},
		{name: "text", body: reader([]byte("name,weight\npig 1,103.5\n")), want: []error{ErrUnsupported}, reason: "text"},
		{name: "random bytes", body: reader(random), want: []error{ErrUnsupported}},
		{name: "MP4 cut in half", body: reader(mp4[:len(mp4)/2]), want: []error{ErrCorrupt, ErrUnsupported}},
		{name: "faststart MP4 cut in half", body: reader(faststart[:len(faststart)/2]), want: []error{ErrCorrupt}},
		{name: "empty", body: reader(nil), want: []error{ErrEmpty}},
		{name: "declared too large", body: reader(mp4), declared: int64(len(mp4)), max: int64(len(mp4)) - 1, want: []error{ErrTooLarge}},
		{name: "too large while streaming", body: reader(mp4), declared: -1, max: int64(len(mp4)) - 1, want: []error{ErrTooLarge}},
		{name: "lies about its size", body: reader(mp4), declared: 10, max: int64(len(mp4)) - 1, want: []error{ErrTooLarge}},
		{name: "reader fails midway", body: func() io.Reader { return &errReader{data: mp4[:len(mp4)/2], err: io.ErrUnexpectedEOF} },
			want: []error{ErrInterrupted}},
		{name: "reader fails at once", body: func() io.Reader { return &errReader{err: errors.New("connection reset")} },
			want: []error{ErrInterrupted}, reason: "connection reset"},
		{name: "cancelled", body: reader(mp4), ctx: func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, want: []error{ErrInterrupted}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l := newLibrary(t, dir, newFakeSource(), tt.max)
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx()
			}
			body := tt.body()
			declared := tt.declared
			if declared == 0 {
				declared = -1
			}
			v, created, err := l.Upload(ctx, "x.mp4", body, declared)
			ok := false
			for _, w := range tt.want {
				ok = ok || errors.Is(err, w)
			}
			if !ok || created || v != (Video{}) {
				t.Fatalf("Upload = %+v, %v, %v; want one of %v", v, created, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not say %q", err, tt.reason)
			}
			if got := files(t, dir); len(got) != 0 {
				t.Errorf("left behind: %v", got)
			}
			if list := l.List(); len(list) != 0 {
				t.Errorf("listed: %+v", list)
			}
		})
	}
}

func reader(data []byte) func() io.Reader {
	return func() io.Reader { return bytes.NewReader(data) }
}

// An upload in flight is listed with its progress; it cannot be deleted or decoded yet.
func TestUploadProgress(t *testing.T) {
	data := clip(t, "pen.mp4")
	l := newLibrary(t, t.TempDir(), newFakeSource(), 0)
	pr, pw := io.Pipe()
	type result struct {
		v       Video
		created bool
		err     error
	}
	done := make(chan result, 1)
	go func() {
		v, created, err := l.Upload(context.Background(), "slow.mp4", pr, int64(len(data)))
		done <- result{v, created, err}
	}()
	half := len(data) / 2
	if _, err := pw.Write(data[:half]); err != nil {
		t.Fatal(err)
	}
	var up Video
	deadline := time.Now().Add(patience)
	for {
		list := l.List()
		if len(list) == 1 && list[0].Bytes == int64(half) {
			up = list[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("upload never showed %d bytes: %+v", half, list)
		}
		time.Sleep(time.Millisecond)
	}
	if !strings.HasPrefix(up.ID, "upload-") || up.State != StateUploading || up.Name != "slow.mp4" ||
		math.Abs(up.Progress-float64(half)/float64(len(data))) > 1e-9 {
		t.Errorf("in flight: %+v", up)
	}
	if got, err := l.Get(up.ID); err != nil || got.ID != up.ID {
		t.Errorf("Get(%s) = %+v, %v", up.ID, got, err)
	}
	if err := l.Delete(up.ID); !errors.Is(err, ErrBusy) {
		t.Errorf("Delete in flight: %v, want ErrBusy", err)
	}
	if _, err := l.Frame(context.Background(), up.ID, 0); !errors.Is(err, ErrBusy) {
		t.Errorf("Frame in flight: %v, want ErrBusy", err)
	}
	if _, err := l.StartJob(up.ID, JobRequest{To: LastFrame}); !errors.Is(err, ErrBusy) {
		t.Errorf("StartJob in flight: %v, want ErrBusy", err)
	}
	if _, err := pw.Write(data[half:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	r := <-done
	if r.err != nil || !r.created || r.v.State != StateReady {
		t.Fatalf("upload: %+v", r)
	}
	if _, err := l.Get(up.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("provisional id still known: %v", err)
	}
}

// Two uploads of the same content at once store it once.
func TestConcurrentSameUpload(t *testing.T) {
	data := clip(t, "pen.mp4")
	dir := t.TempDir()
	l := newLibrary(t, dir, newFakeSource(), 0)
	results := make(chan bool, 4)
	for range 4 {
		go func() {
			_, created, err := l.Upload(context.Background(), "p.mp4", bytes.NewReader(data), -1)
			if err != nil {
				t.Error(err)
			}
			results <- created
		}()
	}
	created := 0
	for range 4 {
		if <-results {
			created++
		}
	}
	if created != 1 || len(l.List()) != 1 || len(files(t, dir)) != 3 {
		t.Errorf("created %d times; files %v", created, files(t, dir))
	}
}

func TestRestart(t *testing.T) {
	data := clip(t, "pen.mp4")
	dir := t.TempDir()
	src := newFakeSource()
	l := newLibrary(t, dir, src, 0)
	v, _ := mustUpload(t, l, "pen.mp4", data)
	other, _ := mustUpload(t, l, "other.mkv", clip(t, "o.mkv"))
	l.Close()

	// What a crash can leave: a half-received upload, half-written metadata, a half-written
	// sidecar, a video renamed into place whose metadata was never written (and its sidecar).
	leftovers := []string{"videos/.upload-123.tmp", "videos/.meta-456.tmp", "index/." + v.SHA256 + ".789" + ".pwidx.tmp",
		"videos/fedcba9876543210.mp4", "index/fedcba9876543210" + strings.Repeat("0", 48) + ".pwidx"}
	for _, f := range leftovers {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A sidecar lost: the index is rebuilt from the file on first use.
	if err := os.Remove(filepath.Join(dir, "index", other.SHA256+".pwidx")); err != nil {
		t.Fatal(err)
	}

	l2 := newLibrary(t, dir, src, 0)
	list := l2.List()
	if len(list) != 2 || list[0] != other || list[1] != v {
		t.Fatalf("after restart List = %+v\nwant %+v, %+v", list, other, v)
	}
	for _, f := range leftovers {
		if _, err := os.Stat(filepath.Join(dir, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("leftover %s not removed: %v", f, err)
		}
	}
	for _, x := range []Video{v, other} {
		if pic, err := l2.Frame(context.Background(), x.ID, 5); err != nil || pic.Frame != 5 {
			t.Errorf("Frame of %s after restart: %+v, %v", x.Name, pic, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "index", other.SHA256+".pwidx")); err != nil {
		t.Errorf("rebuilt sidecar not saved: %v", err)
	}
	if _, created := mustUpload(t, l2, "again.mp4", data); created {
		t.Error("a video known before the restart was stored again")
	}
}

func TestDelete(t *testing.T) {
	dir := t.TempDir()
	src := newFakeSource()
	l := newLibrary(t, dir, src, 0)
	v, _ := mustUpload(t, l, "pen.mp4", clip(t, "pen.mp4"))
	keep, _ := mustUpload(t, l, "keep.ts", clip(t, "keep.ts"))
	if err := l.Delete(v.ID); err != nil {
		t.Fatal(err)
	}
	want := []string{"index/" + keep.SHA256 + ".pwidx", "videos/" + keep.ID + ".json", "videos/" + keep.ID + ".ts"}
	if got := files(t, dir); !slices.Equal(got, want) {
		t.Errorf("files = %v, want %v", got, want)
	}
	if got := src.forgotten(); !slices.Equal(got, []string{v.ID}) {
		t.Errorf("Forget calls %v", got)
	}
	if _, err := l.Get(v.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: %v", err)
	}
	if err := l.Delete(v.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete: %v", err)
	}
	if list := l.List(); len(list) != 1 || list[0].ID != keep.ID {
		t.Errorf("List = %+v", list)
	}
	// Uploading it again stores it again.
	if _, created := mustUpload(t, l, "pen.mp4", clip(t, "pen.mp4")); !created {
		t.Error("upload after delete did not store the video")
	}
}

func TestJob(t *testing.T) {
	l := newLibrary(t, t.TempDir(), newFakeSource(), 0)
	v, _ := mustUpload(t, l, "pen.mp4", clip(t, "pen.mp4"))

	j := mustStartJob(t, l, v.ID, JobRequest{From: 1, To: LastFrame, Step: 2})
	if j.State != JobQueued || j.Model != "demo" || j.From != 1 || j.To != 19 || j.Step != 2 || j.Total != 10 || j.Video != v.ID {
		t.Errorf("queued job = %+v", j)
	}
	j = waitJob(t, l, j.ID)
	if j.State != JobDone || j.Done != 10 || j.Progress != 1 || j.Error != "" || j.Started == nil || len(j.Results) != 10 {
		t.Fatalf("finished job = %+v", j)
	}
	for i, r := range j.Results {
		if n := 1 + 2*i; r.Frame != n || math.Abs(r.PTSS-float64(n)/10) > 1e-9 || len(r.Detections) != 1 || r.Detections[0].Box.X != float32(n) {
			t.Errorf("result %d = %+v", i, r)
		}
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, j); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 11 || !slices.Equal(rows[0], CSVHeader) || !slices.Equal(rows[1], []string{"1", "0.1", "pig", "0.75", "1", "2", "10", "5.5", "55"}) {
		t.Errorf("CSV = %v", rows)
	}

	// A model that finds nothing in some frames: those frames have no CSV row but are in the
	// results with an empty list.
	j2 := mustStartJob(t, l, v.ID, JobRequest{Model: "sparse", From: 0, To: 3})
	j2 = waitJob(t, l, j2.ID)
	buf.Reset()
	if err := WriteCSV(&buf, j2); err != nil {
		t.Fatal(err)
	}
	if rows, _ := csv.NewReader(&buf).ReadAll(); len(rows) != 3 || len(j2.Results) != 4 || j2.Results[1].Detections == nil {
		t.Errorf("sparse job: %d CSV rows, results %+v", len(rows), j2.Results)
	}

	list := l.Jobs()
	if len(list) != 2 || list[0].ID != j2.ID || list[1].ID != j.ID || list[0].Results != nil || list[1].Results != nil {
		t.Errorf("Jobs = %+v", list)
	}
}

func TestJobRefused(t *testing.T) {
	l := newLibrary(t, t.TempDir(), newFakeSource(), 0)
	v, _ := mustUpload(t, l, "pen.mp4", clip(t, "pen.mp4"))
	tests := []struct {
		name string
		id   string
		req  JobRequest
		want error
	}{
		{"unknown video", "0123456789abcdef", JobRequest{To: LastFrame}, ErrNotFound},
		{"negative from", v.ID, JobRequest{From: -1, To: 5}, ErrInvalidJob},
		{"from past the end", v.ID, JobRequest{From: 20, To: LastFrame}, ErrInvalidJob},
		{"to past the end", v.ID, JobRequest{To: 20}, ErrInvalidJob},
		{"to before from", v.ID, JobRequest{From: 5, To: 4}, ErrInvalidJob},
		{"to below -1", v.ID, JobRequest{To: -2}, ErrInvalidJob},
		{"negative step", v.ID, JobRequest{To: 5, Step: -1}, ErrInvalidJob},
		{"unknown model", v.ID, JobRequest{To: 5, Model: "yolo-cow"}, ErrModel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if j, err := l.StartJob(tt.id, tt.req); !errors.Is(err, tt.want) {
				t.Errorf("StartJob = %+v, %v; want %v", j, err, tt.want)
			}
		})
	}
	if n := len(l.Jobs()); n != 0 {
		t.Errorf("%d jobs listed after refusals", n)
	}
	if _, err := l.Job("nope"); !errors.Is(err, ErrJobNotFound) {
		t.Errorf("Job(nope): %v", err)
	}
	if _, err := l.CancelJob("nope"); !errors.Is(err, ErrJobNotFound) {
		t.Errorf("CancelJob(nope): %v", err)
	}

	noDefault, err := New(Config{Dir: t.TempDir()}, newFakeSource(), analysers, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer noDefault.Close()
	w, _, err := noDefault.Upload(context.Background(), "p.mp4", bytes.NewReader(clip(t, "pen.mp4")), -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noDefault.StartJob(w.ID, JobRequest{To: LastFrame}); !errors.Is(err, ErrModel) {
		t.Errorf("no model and no default: %v", err)
	}
}

func TestJobFails(t *testing.T) {
	src := newFakeSource()
	src.failAt = 3
	l := newLibrary(t, t.TempDir(), src, 0)
	v, _ := mustUpload(t, l, "pen.mp4", clip(t, "pen.mp4"))
	j := mustStartJob(t, l, v.ID, JobRequest{To: LastFrame})
	j = waitJob(t, l, j.ID)
	if j.State != JobFailed || j.Done != 3 || !strings.Contains(j.Error, "frame 3: decoder exploded") {
		t.Errorf("job = %+v", j)
	}
}

// Cancelling, deleting the video and closing the library each stop a running job and a
// queued one.
func TestJobStops(t *testing.T) {
	for _, how := range []string{"cancel", "delete", "close"} {
		t.Run(how, func(t *testing.T) {
			src := newFakeSource()
			src.release = make(chan struct{}) // frames never come
			l := newLibrary(t, t.TempDir(), src, 0)
			v, _ := mustUpload(t, l, "pen.mp4", clip(t, "pen.mp4"))
			running := mustStartJob(t, l, v.ID, JobRequest{To: LastFrame})
			queued := mustStartJob(t, l, v.ID, JobRequest{To: LastFrame})
			deadline := time.Now().Add(patience)
			for {
				j, _ := l.Job(running.ID)
				if j.State == JobRunning {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("job never ran: %+v", j)
				}
				time.Sleep(time.Millisecond)
			}
			if j, _ := l.Job(queued.ID); j.State != JobQueued {
				t.Errorf("second job with one worker: %+v", j)
			}
			switch how {
			case "cancel":
				for _, id := range []string{running.ID, queued.ID} {
					if _, err := l.CancelJob(id); err != nil {
						t.Fatal(err)
					}
				}
			case "delete":
				if err := l.Delete(v.ID); err != nil {
					t.Fatal(err)
				}
			case "close":
				l.Close()
			}
			for _, id := range []string{running.ID, queued.ID} {
				j := waitJob(t, l, id)
				if j.State != JobCancelled || j.Error == "" {
					t.Errorf("%s: %+v", id, j)
				}
			}
			if how == "close" {
				if _, err := l.StartJob(v.ID, JobRequest{To: LastFrame}); !errors.Is(err, ErrClosed) {
					t.Errorf("StartJob after Close: %v", err)
				}
				if _, _, err := l.Upload(context.Background(), "x.mp4", bytes.NewReader(clip(t, "x.mp4")), -1); !errors.Is(err, ErrClosed) {
					t.Errorf("Upload after Close: %v", err)
				}
			}
		})
	}
}

func TestSanitiseName(t *testing.T) {
	for in, want := range map[string]string{
		"pen.mp4":                        "pen.mp4",
		"../../etc/passwd":               "passwd",
		`C:\Users\farm\barn 2.MOV`:       "barn 2.MOV",
		"  spaced  ":                     "spaced",
		"bell\a\x00name\n.mp4":           "bellname.mp4",
		"evil\u202egnp.mp4":              "evilgnp.mp4",
		"bad\xffutf8.mkv":                "badutf8.mkv",
		"":                               "video",
		"dir/":                           "video",
		"..":                             "video",
		strings.Repeat("é", 150) + ".ts": strings.Repeat("é", 100),
	} {
		if got := sanitiseName(in); got != want {
			t.Errorf("sanitiseName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSniff(t *testing.T) {
	for _, tt := range []struct {
		head string
		ok   bool
	}{
		{"\x00\x00\x00\x20ftypisom", true},
		{"\x00\x00\x00\x08free\x00\x00", true},
		{"\x1a\x45\xdf\xa3\x9f", true},
		{"\x47\x40\x00\x10", true},
		{"\x47\x40\x00\x10" + strings.Repeat("\xff", 184) + "\x47\x01", true},
		{"\x47\x40\x00\x10" + strings.Repeat("\xff", 184) + "\x48\x01", false},
		{"\x00\x00\x00\x00\x47\x40", true},
		{"\x89PNG\r\n\x1a\n", false},
		{"GIF89a", false},
		{"RIFF\x00\x00\x00\x00AVI ", false},
		{"hello, world\n", false},
		{"Good pigs\n", false},
		{"\x00\x00\x00\x01\x67", false},
		{"\x01\x02\x03", false},
	} {
		if got := sniff([]byte(tt.head)) == ""; got != tt.ok {
			t.Errorf("sniff(%q) = %q", tt.head, sniff([]byte(tt.head)))
		}
	}
}

func FuzzSniff(f *testing.F) {
	for _, s := range []string{"\x00\x00\x00\x20ftypisom", "\x1a\x45\xdf\xa3", "\x47", "é\xc3", "text"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		// Accepted means: an MP4 box header or the EBML magic, or transport packets that are
		// not text.
		if sniff(head) != "" {
			return
		}
		boxOrEBML := len(head) >= 8 && isMP4Box(head[4:8]) || len(head) >= 4 && string(head[:4]) == "\x1a\x45\xdf\xa3"
		ts := syncedTS(head, 188, 0) || syncedTS(head, 192, 4)
		if !boxOrEBML && (!ts || looksLikeText(head)) {
			t.Errorf("sniff accepted %q", head)
		}
	})
}

// Finished jobs are forgotten oldest first once there are too many or their results together
// are too large; the newest stays even when it alone is over the frame limit.
func TestOldJobsForgotten(t *testing.T) {
	l := newLibrary(t, t.TempDir(), newFakeSource(), 0)
	finish := func(id string, frames int) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		j := &job{id: id, state: JobDone, ctx: ctx, cancel: cancel, results: make([]FrameResult, frames)}
		l.jobs[id] = j
		l.finished = append(l.finished, j)
	}
	kept := func() []string {
		var ids []string
		for _, j := range l.finished {
			if _, ok := l.jobs[j.id]; !ok {
				t.Errorf("job %s kept in the list but not by id", j.id)
			}
			ids = append(ids, j.id)
		}
		return ids
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, frames := range []int{10, 20, 30} {
		finish(strconv.Itoa(i), frames)
		l.forgetOldJobsLocked(2, 45)
	}
	if got := kept(); !slices.Equal(got, []string{"2"}) {
		// 2 jobs at most: "0" goes; then 20+30 > 45: "1" goes too.
		t.Errorf("kept %v, want [2]", got)
	}
	finish("big", 100)
	l.forgetOldJobsLocked(2, 45)
	if got := kept(); !slices.Equal(got, []string{"big"}) {
		t.Errorf("kept %v, want only the newest, over the limit as it is", got)
	}
	if _, ok := l.jobs["0"]; ok {
		t.Error("a forgotten job is still found by id")
	}
}

// A restart loses no job: finished ones are listed again with their results, and those the
// shutdown stopped resume after their last saved result, without analysing a frame twice.
func TestJobsSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	src := newFakeSource()
	first := newLibrary(t, dir, src, 0)
	v, _ := mustUpload(t, first, "pen.mp4", clip(t, "pen.mp4"))
	done := mustStartJob(t, first, v.ID, JobRequest{From: 1, To: LastFrame, Step: 2})
	done = waitJob(t, first, done.ID)
	src.mu.Lock()
	src.release = make(chan struct{}) // from here on a frame comes only when released
	src.mu.Unlock()
	cancelled := mustStartJob(t, first, v.ID, JobRequest{To: 3})
	if _, err := first.CancelJob(cancelled.ID); err != nil {
		t.Fatal(err)
	}
	cancelled = waitJob(t, first, cancelled.ID)
	running := mustStartJob(t, first, v.ID, JobRequest{From: 2, To: 17, Step: 3}) // frames 2, 5, ..., 17
	queued := mustStartJob(t, first, v.ID, JobRequest{To: 4})
	releaseFrames(t, first, src, running.ID, 2)
	first.Close()
	src.mu.Lock()
	callsBefore := src.calls
	src.mu.Unlock()

	free := newFakeSource()
	second := newLibrary(t, dir, free, 0)
	if j, err := second.Job(done.ID); err != nil || j.State != JobDone || !reflect.DeepEqual(j.Results, done.Results) || !j.Created.Equal(done.Created) {
		t.Errorf("finished job after the restart: %+v, %v\nbefore: %+v", j, err, done)
	}
	if j, err := second.Job(cancelled.ID); err != nil || j.State != JobCancelled || j.Error != cancelled.Error {
		t.Errorf("cancelled job after the restart: %+v, %v", j, err)
	}
	resumed := waitJob(t, second, running.ID)
	if resumed.State != JobDone || len(resumed.Results) != 6 {
		t.Fatalf("resumed job: %+v", resumed)
	}
	for i, r := range resumed.Results {
		if n := 2 + 3*i; r.Frame != n || len(r.Detections) != 1 || r.Detections[0].Box.X != float32(n) {
			t.Errorf("resumed job's result %d = %+v", i, r)
		}
	}
	if j := waitJob(t, second, queued.ID); j.State != JobDone || len(j.Results) != 5 {
		t.Errorf("job queued at the shutdown: %+v", j)
	}
	free.mu.Lock()
	if free.calls != 4+5 {
		t.Errorf("after the restart %d frames were decoded, want the 4 the stopped job had left and the queued job's 5", free.calls)
	}
	free.mu.Unlock()
	if callsBefore < 2 {
		t.Errorf("only %d frames decoded before the restart", callsBefore)
	}
	if list := second.Jobs(); len(list) != 4 {
		t.Errorf("%d jobs listed after the restart, want 4: %+v", len(list), list)
	}

	// A third start finds them all finished, and nothing runs again.
	second.Close()
	third := newLibrary(t, dir, newFakeSource(), 0)
	if j, err := third.Job(running.ID); err != nil || j.State != JobDone || !reflect.DeepEqual(j.Results, resumed.Results) {
		t.Errorf("resumed job after another restart: %+v, %v", j, err)
	}
}

// A crash in the middle of saving a result, or a video deleted while the server was down,
// cost the job no more than that: the torn line is cut off and the frame analysed again, and
// the job whose video is gone says so.
func TestKeptJobsAfterACrash(t *testing.T) {
	dir := t.TempDir()
	src := newFakeSource()
	src.release = make(chan struct{})
	first := newLibrary(t, dir, src, 0)
	v, _ := mustUpload(t, first, "pen.mp4", clip(t, "pen.mp4"))
	other, _ := mustUpload(t, first, "other.mp4", clip(t, "other.mp4", "-vf", "hflip"))
	j := mustStartJob(t, first, v.ID, JobRequest{To: 5})
	orphan := mustStartJob(t, first, other.ID, JobRequest{To: 5})
	releaseFrames(t, first, src, j.ID, 3)
	first.Close()
	// What a crash leaves: half a line after three whole ones, and another video's files gone.
	results := filepath.Join(dir, "jobs", j.ID+".results")
	f, err := os.OpenFile(results, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"frame":3,"pts_s":0.3,"detec`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, name := range []string{other.ID + ".json", other.ID + ".mp4"} {
		if err := os.Remove(filepath.Join(dir, "videos", name)); err != nil {
			t.Fatal(err)
		}
	}

	free := newFakeSource()
	second := newLibrary(t, dir, free, 0)
	got := waitJob(t, second, j.ID)
	if got.State != JobDone || len(got.Results) != 6 {
		t.Fatalf("job after the crash: %+v", got)
	}
	for i, r := range got.Results {
		if r.Frame != i || len(r.Detections) != 1 {
			t.Errorf("result %d = %+v", i, r)
		}
	}
	free.mu.Lock()
	if free.calls != 3 {
		t.Errorf("%d frames decoded after the crash, want the 3 not saved whole", free.calls)
	}
	free.mu.Unlock()
	if o, err := second.Job(orphan.ID); err != nil || o.State != JobFailed || !strings.Contains(o.Error, "no longer stored") {
		t.Errorf("job of a video gone while the server was down: %+v, %v", o, err)
	}
	data, err := os.ReadFile(results)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n"); len(lines) != 6 || !strings.HasPrefix(lines[3], `{"frame":3,`) {
		t.Errorf("results file after resuming:\n%s", data)
	}
}

// Jobs decode with a source of their own when one is given, so that a person scrubbing the
// video keeps their decoder; deleting the video drops it from both.
func TestJobsDecodeWithTheirOwnSource(t *testing.T) {
	scrub, jobs := newFakeSource(), newFakeSource()
	l, err := New(Config{Dir: t.TempDir(), DefaultModel: "demo", JobFrames: jobs}, scrub, analysers, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	v, _ := mustUpload(t, l, "pen.mp4", clip(t, "pen.mp4"))
	j := mustStartJob(t, l, v.ID, JobRequest{To: LastFrame})
	if _, err := l.Frame(context.Background(), v.ID, 7); err != nil {
		t.Fatal(err)
	}
	if j = waitJob(t, l, j.ID); j.State != JobDone {
		t.Fatalf("job: %+v", j)
	}
	scrub.mu.Lock()
	jobs.mu.Lock()
	if scrub.calls != 1 || jobs.calls != 20 {
		t.Errorf("the person's source decoded %d frames (want their 1), the jobs' %d (want 20)", scrub.calls, jobs.calls)
	}
	jobs.mu.Unlock()
	scrub.mu.Unlock()
	if err := l.Delete(v.ID); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(scrub.forgotten(), []string{v.ID}) || !slices.Equal(jobs.forgotten(), []string{v.ID}) {
		t.Errorf("forgotten: by the person's source %v, by the jobs' %v", scrub.forgotten(), jobs.forgotten())
	}
}
