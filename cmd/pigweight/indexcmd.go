package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/pigweight/pigweight/pipelines/index"
)

// indexCmd builds (or loads) the keyframe index of a video file, as an upload does, showing
// progress, and prints what it found.
//
//	pigweight index [--data-dir DIR] FILE
func indexCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("index", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "data", "where the index sidecar is kept (the server's data_dir)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: pigweight index [--data-dir DIR] FILE")
		return 2
	}
	path := fs.Arg(0)
	ix, loaded, took, err := indexWithProgress(path, filepath.Join(*dataDir, "index"), stderr)
	if err != nil {
		fmt.Fprintln(stderr, "pigweight index:", err)
		if errors.Is(err, index.ErrUnsupported) || errors.Is(err, index.ErrCorrupt) {
			return 2
		}
		return 1
	}
	how := "built"
	if loaded {
		how = "loaded from its sidecar"
	}
	seconds := float64(ix.Duration) / float64(ix.Timescale)
	fmt.Fprintf(stdout, "%s: %s %s %dx%d, %d frames, %d keyframes, %.3f s", path, ix.Container, ix.Codec, ix.Width, ix.Height, len(ix.Frames), ix.Keyframes(), seconds)
	if seconds > 0 {
		fmt.Fprintf(stdout, " (%.3f fps)", float64(len(ix.Frames))/seconds)
	}
	fmt.Fprintf(stdout, "\nindex %s in %v; content hash %s\n", how, took.Round(10*time.Microsecond), ix.Hash)
	for _, w := range ix.Warnings {
		fmt.Fprintln(stdout, "warning:", w)
	}
	return 0
}

// indexWithProgress does what index.Open does, drawing a progress bar on w for the hash and
// for the tables read; it reports whether the index came from a valid sidecar.
func indexWithProgress(path, sidecars string, w io.Writer) (ix *index.Index, loaded bool, took time.Duration, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, false, 0, err
	}
	if !st.Mode().IsRegular() {
		return nil, false, 0, fmt.Errorf("%s is not a regular file: %w", path, index.ErrUnsupported)
	}
	bar := newProgressBar(w, st.Size())
	defer bar.finish()

	bar.label = "hashing "
	hash, err := index.Hash(io.TeeReader(io.NewSectionReader(f, 0, st.Size()), bar))
	if err != nil {
		return nil, false, 0, err
	}
	start := time.Now()
	if ix, err := index.Load(sidecars, hash); err == nil && ix.FileSize == st.Size() {
		return ix, true, time.Since(start), nil
	}
	bar.label, bar.done = "indexing", 0
	ix, err = index.Build(countingReaderAt{f, bar}, st.Size())
	took = time.Since(start)
	if err != nil {
		return nil, false, took, err
	}
	ix.Hash = hash
	return ix, false, took, ix.Save(sidecars, hash)
}

// countingReaderAt reports the bytes read through it to a progress bar.
type countingReaderAt struct {
	r   io.ReaderAt
	bar *progressBar
}

func (c countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.bar.Write(p[:n])
	return n, err
}

// progressBar draws "label [=====     ]  42%" on one terminal line, at most ten times a second.
type progressBar struct {
	w     io.Writer
	total int64
	label string
	done  int64
	drawn atomic.Int64 // unix nanos of the last draw
}

func newProgressBar(w io.Writer, total int64) *progressBar {
	return &progressBar{w: w, total: max(total, 1)}
}

// Write counts len(p) bytes as done; it never fails, so it can sit in a TeeReader.
func (b *progressBar) Write(p []byte) (int, error) {
	b.done += int64(len(p))
	now := time.Now().UnixNano()
	if now-b.drawn.Load() >= int64(100*time.Millisecond) || b.done >= b.total {
		b.drawn.Store(now)
		b.draw()
	}
	return len(p), nil
}

func (b *progressBar) draw() {
	const width = 30
	frac := min(1, float64(b.done)/float64(b.total))
	filled := int(frac * width)
	bar := make([]byte, width)
	for i := range bar {
		bar[i] = ' '
		if i < filled {
			bar[i] = '='
		}
	}
	fmt.Fprintf(b.w, "\r%s [%s] %3.0f%%", b.label, bar, 100*frac)
}

func (b *progressBar) finish() {
	if b.drawn.Load() != 0 {
		fmt.Fprintln(b.w)
	}
}
