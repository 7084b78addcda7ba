package videos

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pigweight/pigweight/pipelines/index"
)

// copyBuffer is the size of the reads of an upload's body.
const copyBuffer = 256 << 10

// maxNameBytes bounds a video's display name.
const maxNameBytes = 200

// upload is an upload in flight, as List shows it.
type upload struct {
	id       string
	name     string
	created  time.Time
	declared int64 // expected size, <= 0 when unknown

	received atomic.Int64 // bytes written so far
	size     atomic.Int64 // final size, once the body has been read
	indexed  atomic.Int64 // furthest byte index.Build has read
	indexing atomic.Bool
}

func (u *upload) snapshot() Video {
	v := Video{ID: u.id, Name: u.name, Created: u.created, Bytes: u.received.Load(), State: StateUploading}
	if u.indexing.Load() {
		v.State = StateIndexing
		if size := u.size.Load(); size > 0 {
			v.Progress = min(1, float64(u.indexed.Load())/float64(size))
		}
	} else if u.declared > 0 {
		v.Progress = min(1, float64(v.Bytes)/float64(u.declared))
	}
	return v
}

// Upload stores the video that body yields under the display name name. declaredSize is the
// size the client announced (-1 when unknown): over MaxUploadBytes it is refused at once, and
// it drives the upload's progress.
//
// created is false when the same content was stored before: the existing video is returned
// and the new copy discarded. Errors match ErrTooLarge, ErrEmpty, ErrUnsupported, ErrCorrupt,
// ErrInterrupted (ctx ended or body failed) or ErrClosed; whatever the error, nothing of the
// upload is left on disk.
func (l *Library) Upload(ctx context.Context, name string, body io.Reader, declaredSize int64) (Video, bool, error) {
	if declaredSize > l.cfg.MaxUploadBytes {
		return Video{}, false, l.tooLarge(declaredSize)
	}
	u, err := l.beginUpload(sanitiseName(name), declaredSize)
	if err != nil {
		return Video{}, false, err
	}
	defer func() {
		l.mu.Lock()
		delete(l.uploads, u.id)
		l.mu.Unlock()
	}()
	start := time.Now()
	v, created, err := l.receive(ctx, u, body)
	switch {
	case err != nil:
		l.log.Info("upload refused", "name", u.name, "bytes", u.received.Load(), "err", err)
	case created:
		l.log.Info("video stored", "video", v.ID, "name", v.Name, "bytes", v.Bytes, "container", v.Container,
			"codec", v.Codec, "frames", v.Frames, "index_ms", v.IndexBuildMS, "took", time.Since(start).Round(time.Millisecond))
	default:
		l.log.Info("upload was already stored", "video", v.ID, "name", u.name)
	}
	return v, created, err
}

func (l *Library) tooLarge(size int64) error {
	if size > 0 {
		return fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, size, l.cfg.MaxUploadBytes)
	}
	return fmt.Errorf("%w of %d bytes", ErrTooLarge, l.cfg.MaxUploadBytes)
}

func (l *Library) beginUpload(name string, declared int64) (*upload, error) {
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand documents it)
	u := &upload{id: "upload-" + hex.EncodeToString(b[:]), name: name, created: time.Now().UTC(), declared: declared}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	l.uploads[u.id] = u
	return u, nil
}

// interrupted says why an upload stopped early: the library closing, the caller's context, or
// cause (a read error).
func (l *Library) interrupted(ctx context.Context, cause error) error {
	switch {
	case l.ctx.Err() != nil:
		return ErrClosed
	case ctx.Err() != nil:
		return fmt.Errorf("%w: %w", ErrInterrupted, context.Cause(ctx))
	}
	return fmt.Errorf("%w: %w", ErrInterrupted, cause)
}

// receive does the work of Upload for u.
func (l *Library) receive(ctx context.Context, u *upload, body io.Reader) (Video, bool, error) {
	buf := make([]byte, copyBuffer)
	// Judge the first bytes before anything touches the disk.
	n, err := io.ReadAtLeast(body, buf[:sniffLen], sniffLen)
	switch {
	case errors.Is(err, io.EOF) && n == 0:
		return Video{}, false, ErrEmpty
	case err != nil && !errors.Is(err, io.ErrUnexpectedEOF):
		return Video{}, false, l.interrupted(ctx, err)
	}
	eof := err != nil
	if why := sniff(buf[:n]); why != "" {
		return Video{}, false, &rejection{kind: ErrUnsupported, reason: why}
	}

	tmp, err := os.CreateTemp(l.videoDir, uploadTempPattern)
	if err != nil {
		return Video{}, false, fmt.Errorf("videos: upload: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = tmp.Close()
			if err := os.Remove(tmp.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
				l.log.Error("cannot remove a failed upload's temporary file; it is removed at the next start", "file", tmp.Name(), "err", err)
			}
		}
	}()

	h := sha256.New()
	total := int64(0)
	chunk := buf[:n]
	for {
		if len(chunk) > 0 {
			total += int64(len(chunk))
			if total > l.cfg.MaxUploadBytes {
				return Video{}, false, l.tooLarge(0)
			}
			h.Write(chunk)
			if _, err := tmp.Write(chunk); err != nil {
				return Video{}, false, fmt.Errorf("videos: upload: %w", err)
			}
			u.received.Store(total)
		}
		if eof {
			break
		}
		if ctx.Err() != nil || l.ctx.Err() != nil {
			return Video{}, false, l.interrupted(ctx, nil)
		}
		n, err := body.Read(buf)
		chunk = buf[:n]
		if errors.Is(err, io.EOF) {
			eof = true
		} else if err != nil {
			return Video{}, false, l.interrupted(ctx, err)
		}
	}
	if err := tmp.Sync(); err != nil {
		return Video{}, false, fmt.Errorf("videos: upload: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	id := sum[:idLen]
	if v, ok := l.stored(id, sum); ok {
		return v, false, nil
	}

	u.size.Store(total)
	u.indexing.Store(true)
	began := time.Now()
	ix, err := index.Build(&progressReaderAt{r: tmp, ctx: ctx, lib: l.ctx, furthest: &u.indexed}, total)
	if err != nil {
		if ctx.Err() != nil || l.ctx.Err() != nil {
			return Video{}, false, l.interrupted(ctx, err)
		}
		return Video{}, false, indexError(err)
	}
	took := time.Since(began)
	if len(ix.Warnings) > 0 {
		l.log.Info("the indexer found oddities in an upload", "name", u.name, "warnings", strings.Join(ix.Warnings, "; "))
	}
	if err := ix.Save(l.indexDir, sum); err != nil {
		return Video{}, false, fmt.Errorf("videos: upload: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return Video{}, false, fmt.Errorf("videos: upload: %w", err)
	}
	meta := Video{
		ID: id, Name: u.name, SHA256: sum, Bytes: total, Created: time.Now().UTC(),
		Container: ix.Container, Codec: ix.Codec, Width: ix.Width, Height: ix.Height,
		Frames: len(ix.Frames), Keyframes: ix.Keyframes(),
		IndexBuildMS: took.Milliseconds(), State: StateReady, Progress: 1,
	}
	if ix.Timescale > 0 && ix.Duration > 0 {
		meta.DurationS = float64(ix.Duration) / float64(ix.Timescale)
		meta.FPS = float64(meta.Frames) / meta.DurationS
	}
	ix.Hash = sum
	v, created, err := l.commit(ctx, tmp.Name(), meta, ix)
	if err == nil {
		// Renamed away, or a copy of a video already stored that the deferred cleanup must
		// remove.
		committed = created
	}
	return v, created, err
}

// stored returns the video already stored under id, if its content hash is sum.
func (l *Library) stored(id, sum string) (Video, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if v, ok := l.videos[id]; ok && v.meta.SHA256 == sum {
		return v.meta, true
	}
	return Video{}, false
}

// commit moves the received file into place and writes its metadata, unless the same content
// was stored meanwhile (created false; the caller removes its copy).
func (l *Library) commit(ctx context.Context, tmpPath string, meta Video, ix *index.Index) (Video, bool, error) {
	for {
		v, created, deleting, err := l.tryCommit(tmpPath, meta, ix)
		if deleting == nil {
			return v, created, err
		}
		// A delete of this very content is removing its files: let it finish, then store ours.
		select {
		case <-deleting:
		case <-ctx.Done():
			return Video{}, false, l.interrupted(ctx, nil)
		}
	}
}

// tryCommit is one attempt of commit; it returns the channel to wait on when a delete of the
// same id is in progress.
func (l *Library) tryCommit(tmpPath string, meta Video, ix *index.Index) (Video, bool, <-chan struct{}, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return Video{}, false, nil, ErrClosed
	}
	if done, ok := l.deleting[meta.ID]; ok {
		return Video{}, false, done, nil
	}
	if v, ok := l.videos[meta.ID]; ok {
		if v.meta.SHA256 != meta.SHA256 {
			// Two contents whose SHA-256 agree in the first 64 bits: about one chance in 10^19
			// for a pair; refuse rather than overwrite.
			return Video{}, false, nil, fmt.Errorf("videos: upload: id %s is taken by other content", meta.ID)
		}
		return v.meta, false, nil, nil
	}
	path := l.videoPath(meta.ID, meta.Container)
	if err := os.Rename(tmpPath, path); err != nil {
		return Video{}, false, nil, fmt.Errorf("videos: upload: %w", err)
	}
	if err := l.writeMeta(meta); err != nil {
		_ = os.Remove(path)
		return Video{}, false, nil, fmt.Errorf("videos: upload: write metadata: %w", err)
	}
	l.videos[meta.ID] = &video{meta: meta, path: path, ix: ix}
	return meta, true, nil, nil
}

// progressReaderAt is the upload's file as index.Build reads it: it records the furthest byte
// read, which is the indexing progress, and stops the build when the upload is cancelled.
type progressReaderAt struct {
	r        io.ReaderAt
	ctx, lib context.Context
	furthest *atomic.Int64
}

func (p *progressReaderAt) ReadAt(b []byte, off int64) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, err
	}
	if err := p.lib.Err(); err != nil {
		return 0, err
	}
	n, err := p.r.ReadAt(b, off)
	end := off + int64(n)
	for {
		cur := p.furthest.Load()
		if end <= cur || p.furthest.CompareAndSwap(cur, end) {
			break
		}
	}
	return n, err
}

// sanitiseName makes a client's file name fit for display: the last path element only,
// without control characters, trimmed, valid UTF-8, at most maxNameBytes bytes. It is never
// used as a path.
func sanitiseName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.ToValidUTF8(name, "")
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError || unicode.In(r, unicode.Cf) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	for len(name) > maxNameBytes {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if name == "" || name == "." || name == ".." {
		return "video"
	}
	return name
}
