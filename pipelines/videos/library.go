package videos

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/pipelines/index"
	"github.com/pigweight/pigweight/pipelines/media"
)

// DefaultMaxUploadBytes is the upload limit when Config.MaxUploadBytes is 0: a few hours of a
// 1080p camera.
const DefaultMaxUploadBytes = 8 << 30

// Config configures New.
type Config struct {
	// Dir is the data directory: videos are stored under Dir/videos, index sidecars under
	// Dir/index, jobs under Dir/jobs. They are created when missing.
	Dir string
	// MaxUploadBytes is the largest file Upload accepts; 0 means DefaultMaxUploadBytes.
	MaxUploadBytes int64
	// DefaultModel is the model a job uses when its request names none.
	DefaultModel string
	// JobWorkers is how many jobs run at once; the others wait in state queued and start in
	// the order they were queued. 0 means 1:
	// batch jobs share the inference hardware with live cameras.
	JobWorkers int
	// JobFrames decodes the frames jobs analyse; nil means the FrameSource given to New. A
	// source of their own keeps a job and a person scrubbing the same video from sharing one
	// warm decoder and pulling it back and forth: each would restart it at a keyframe for
	// every frame (scrubbing forward went from 4 to 146 ms a frame while a job ran).
	JobFrames FrameSource
}

// FrameSource decodes frames of stored videos (package frames).
type FrameSource interface {
	// Frame returns frame n (0-based, presentation order) of the video stored at path with
	// index ix.
	Frame(ctx context.Context, id, path string, ix *index.Index, n int) (media.Picture, error)
	// Forget drops the decoder and cached frames of a deleted video.
	Forget(id string)
}

// encodingSource is a FrameSource that also compresses pictures (frames.Reader, with
// GStreamer's jpegenc and pngenc).
type encodingSource interface {
	Encode(p media.Picture, format string, quality int) ([]byte, error)
}

// Analyser runs a model on one picture.
type Analyser interface {
	Analyse(ctx context.Context, p media.Picture) ([]detect.Detection, error)
}

// VideoState says where a video is in its life.
type VideoState string

// Video states. A stored video is always ready; the other states are those of an upload in
// flight.
const (
	StateUploading VideoState = "uploading"
	StateIndexing  VideoState = "indexing"
	StateReady     VideoState = "ready"
)

// Video describes one stored video, or an upload in flight. It is also the metadata file's
// content.
type Video struct {
	// ID is the first 16 hex digits of the content's SHA-256; for an upload in flight, a
	// provisional id starting with "upload-".
	ID string `json:"id"`
	// Name is the client's file name, sanitised, for display only.
	Name string `json:"name"`
	// SHA256 is the hex SHA-256 of the content; empty while uploading.
	SHA256  string    `json:"sha256,omitempty"`
	Bytes   int64     `json:"bytes"` // size; for an upload in flight, bytes received so far
	Created time.Time `json:"created"`
	// Container and Codec are index's names: mp4, mkv or mpegts; h264 or h265.
	Container string `json:"container"`
	Codec     string `json:"codec"`
	Width     int    `json:"width"`
	Height    int    `json:"height"`
	// Frames is the number of pictures shown (frame numbers run from 0 to Frames-1).
	Frames    int `json:"frames"`
	Keyframes int `json:"keyframes"`
	// DurationS is the time from the first frame to the end of the last, in seconds.
	DurationS float64 `json:"duration_s"`
	// FPS is the mean frame rate, Frames / DurationS.
	FPS float64 `json:"fps"`
	// IndexBuildMS is how long building the index took, in milliseconds.
	IndexBuildMS int64      `json:"index_build_ms"`
	State        VideoState `json:"state"`
	// Progress runs from 0 to 1 within each state: bytes received of the declared size while
	// uploading, the part of the file the indexer has reached while indexing; 1 when ready.
	Progress float64 `json:"progress"`
}

// Library stores videos, serves their frames and runs inference jobs over them. Its methods
// are safe for concurrent use.
type Library struct {
	cfg       Config
	videoDir  string
	indexDir  string
	jobDir    string
	src       FrameSource
	jobSrc    FrameSource
	analysers func(model string) (Analyser, error)
	log       *slog.Logger

	ctx    context.Context // cancelled by Close; parent of every job
	cancel context.CancelFunc
	wg     sync.WaitGroup // job goroutines

	mu       sync.Mutex
	closed   bool
	videos   map[string]*video
	uploads  map[string]*upload
	deleting map[string]chan struct{} // closed when the delete of that id has finished
	jobs     map[string]*job
	queue    []*job // queued jobs, oldest first: they run in this order
	running  int    // jobs running, at most Config.JobWorkers
	finished []*job // finished jobs, oldest first, within KeepJobs and KeepJobFrames
}

// video is a stored video.
type video struct {
	meta Video // immutable
	path string
	// users counts Frame calls and jobs that use the file; Delete waits for them. Add is
	// only called under Library.mu while the video is in Library.videos.
	users sync.WaitGroup

	ixMu sync.Mutex
	ix   *index.Index // loaded on first use
}

// New opens the library in cfg.Dir: it loads the videos stored there, removes what
// interrupted uploads left behind, lists the jobs kept there and resumes those that were
// stopped before they finished. src decodes frames; analysers returns the analyser of a
// model, or an error when it has no such model.
func New(cfg Config, src FrameSource, analysers func(model string) (Analyser, error), log *slog.Logger) (*Library, error) {
	if cfg.Dir == "" {
		return nil, errors.New("videos: no data directory")
	}
	if src == nil {
		return nil, errors.New("videos: no frame source")
	}
	if cfg.MaxUploadBytes < 0 || cfg.JobWorkers < 0 {
		return nil, fmt.Errorf("videos: negative limit (max upload %d bytes, %d job workers)", cfg.MaxUploadBytes, cfg.JobWorkers)
	}
	if cfg.MaxUploadBytes == 0 {
		cfg.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if cfg.JobWorkers == 0 {
		cfg.JobWorkers = 1
	}
	if analysers == nil {
		analysers = func(model string) (Analyser, error) {
			return nil, errors.New("this server has no models for jobs")
		}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Library{
		cfg:       cfg,
		videoDir:  filepath.Join(cfg.Dir, "videos"),
		indexDir:  filepath.Join(cfg.Dir, "index"),
		jobDir:    filepath.Join(cfg.Dir, "jobs"),
		src:       src,
		jobSrc:    src,
		analysers: analysers,
		log:       log.With("component", "videos"),
		videos:    make(map[string]*video),
		uploads:   make(map[string]*upload),
		deleting:  make(map[string]chan struct{}),
		jobs:      make(map[string]*job),
	}
	if cfg.JobFrames != nil {
		l.jobSrc = cfg.JobFrames
	}
	for _, dir := range []string{l.videoDir, l.indexDir, l.jobDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("videos: %w", err)
		}
	}
	if err := l.load(); err != nil {
		return nil, err
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.loadJobs(); err != nil {
		l.cancel()
		return nil, err
	}
	l.dispatchLocked()
	return l, nil
}

// MaxUploadBytes is the largest file Upload accepts.
func (l *Library) MaxUploadBytes() int64 { return l.cfg.MaxUploadBytes }

// List returns every stored video and every upload in flight, newest first.
func (l *Library) List() []Video {
	l.mu.Lock()
	out := make([]Video, 0, len(l.videos)+len(l.uploads))
	for _, v := range l.videos {
		out = append(out, v.meta)
	}
	for _, u := range l.uploads {
		out = append(out, u.snapshot())
	}
	l.mu.Unlock()
	slices.SortFunc(out, func(a, b Video) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

// Get returns one video, or an upload in flight by its provisional id; ErrNotFound when
// there is none.
func (l *Library) Get(id string) (Video, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if v, ok := l.videos[id]; ok {
		return v.meta, nil
	}
	if u, ok := l.uploads[id]; ok {
		return u.snapshot(), nil
	}
	return Video{}, fmt.Errorf("%w: %q", ErrNotFound, id)
}

// Delete removes a video: its file, metadata and sidecar, and the frame source's state for
// it. Jobs running on the video are cancelled first (they end in state cancelled and stay
// listed), and Delete waits for them and for frame requests in flight. An upload in flight
// cannot be deleted (ErrBusy); ErrNotFound when there is no such video.
func (l *Library) Delete(id string) error {
	l.mu.Lock()
	v, ok := l.videos[id]
	if !ok {
		_, uploading := l.uploads[id]
		l.mu.Unlock()
		if uploading {
			return fmt.Errorf("%w: %q is still uploading", ErrBusy, id)
		}
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	delete(l.videos, id)
	done := make(chan struct{})
	l.deleting[id] = done
	for _, j := range l.jobs {
		if j.video == id {
			l.cancelJobLocked(j)
		}
	}
	l.mu.Unlock()

	v.users.Wait()
	// The metadata goes first: it is what commits a video, so a crash halfway leaves an
	// uncommitted file that New removes.
	var errs []error
	for _, p := range []string{l.metaPath(id), v.path, filepath.Join(l.indexDir, v.meta.SHA256+".pwidx")} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	l.src.Forget(id)
	if l.cfg.JobFrames != nil {
		l.cfg.JobFrames.Forget(id)
	}

	l.mu.Lock()
	delete(l.deleting, id)
	close(done)
	l.mu.Unlock()
	if err := errors.Join(errs...); err != nil {
		l.log.Error("video deleted, but files are left", "video", id, "err", err)
		return fmt.Errorf("videos: delete %s: %w", id, err)
	}
	l.log.Info("video deleted", "video", id, "name", v.meta.Name)
	return nil
}

// Encode compresses a decoded frame as "jpeg" (quality 1-100) or "png" with the frame
// source's encoders; ErrNoEncoder when it has none, and its error for a picture it cannot
// take.
func (l *Library) Encode(p media.Picture, format string, quality int) ([]byte, error) {
	enc, ok := l.src.(encodingSource)
	if !ok {
		return nil, ErrNoEncoder
	}
	return enc.Encode(p, format, quality)
}

// Frame returns frame n (0-based, presentation order) of video id: ErrNotFound for an unknown
// video, ErrBusy while it uploads, ErrFrameRange when n is not in [0, frames).
func (l *Library) Frame(ctx context.Context, id string, n int) (media.Picture, error) {
	v, err := l.acquire(id)
	if err != nil {
		return media.Picture{}, err
	}
	defer v.users.Done()
	if n < 0 || n >= v.meta.Frames {
		return media.Picture{}, fmt.Errorf("%w: video %s has %d frames, numbered 0 to %d; asked for %d",
			ErrFrameRange, id, v.meta.Frames, v.meta.Frames-1, n)
	}
	ix, err := l.indexOf(v)
	if err != nil {
		return media.Picture{}, err
	}
	return l.src.Frame(ctx, id, v.path, ix, n)
}

// acquire looks up a stored video and counts the caller as its user; the caller must call
// v.users.Done.
func (l *Library) acquire(id string) (*video, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	v, ok := l.videos[id]
	if !ok {
		if _, uploading := l.uploads[id]; uploading {
			return nil, fmt.Errorf("%w: %q is still uploading", ErrBusy, id)
		}
		return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	v.users.Add(1)
	return v, nil
}

// indexOf returns the video's index, loading its sidecar on first use, or rebuilding it from
// the file when the sidecar is missing or does not match.
func (l *Library) indexOf(v *video) (*index.Index, error) {
	v.ixMu.Lock()
	defer v.ixMu.Unlock()
	if v.ix != nil {
		return v.ix, nil
	}
	ix, err := index.Load(l.indexDir, v.meta.SHA256)
	if err == nil && (ix.FileSize != v.meta.Bytes || len(ix.Frames) != v.meta.Frames) {
		err = fmt.Errorf("sidecar describes %d bytes and %d frames, the video has %d and %d",
			ix.FileSize, len(ix.Frames), v.meta.Bytes, v.meta.Frames)
	}
	if err != nil {
		l.log.Warn("rebuilding a video's index", "video", v.meta.ID, "reason", err)
		if ix, err = l.rebuildIndex(v); err != nil {
			l.log.Error("cannot index a stored video; delete it and upload it again", "video", v.meta.ID, "err", err)
			return nil, fmt.Errorf("videos: index of %s: %w", v.meta.ID, err)
		}
	}
	v.ix = ix
	return ix, nil
}

func (l *Library) rebuildIndex(v *video) (*index.Index, error) {
	f, err := os.Open(v.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ix, err := index.Build(f, v.meta.Bytes)
	if err != nil {
		return nil, err
	}
	if len(ix.Frames) != v.meta.Frames {
		return nil, fmt.Errorf("the file now has %d frames, its metadata says %d", len(ix.Frames), v.meta.Frames)
	}
	if err := ix.Save(l.indexDir, v.meta.SHA256); err != nil {
		l.log.Warn("cannot save a rebuilt index; it will be rebuilt again after a restart", "video", v.meta.ID, "err", err)
	}
	return ix, nil
}

// Close stops every job and waits for them: a job it stops ends cancelled here, but is kept
// on disk as it was, to resume when New opens the directory again. Uploads in flight fail
// with ErrClosed and remove their temporary files themselves. Close is idempotent.
func (l *Library) Close() {
	l.mu.Lock()
	l.closed = true
	for _, j := range l.jobs {
		l.cancelJobLocked(j)
	}
	l.mu.Unlock()
	l.cancel()
	l.wg.Wait()
}
