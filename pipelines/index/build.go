package index

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Build reads the tables of the container in r (size bytes) and returns its index. The
// container is recognised by its content, never by a file name. Errors match ErrUnsupported or
// ErrCorrupt, or are the reader's own.
func Build(r io.ReaderAt, size int64) (*Index, error) {
	if size < 0 {
		return nil, fmt.Errorf("index: negative file size %d", size)
	}
	if size == 0 {
		return nil, fmt.Errorf("index: the file is empty: %w", ErrUnsupported)
	}
	f := &file{r: r, size: size}
	head, err := f.readUpTo(0, 1024)
	if err != nil {
		return nil, err
	}
	return buildAs(f, sniff(head, size))
}

// buildAs indexes f as the container kind names (see sniff).
func buildAs(f *file, kind string) (*Index, error) {
	var (
		ix  *Index
		err error
	)
	switch kind {
	case ContainerMP4:
		ix, err = buildMP4(f)
	case ContainerMKV:
		ix, err = buildMKV(f)
	case ContainerMPEGTS:
		ix, err = buildTS(f, tsPacket, 0)
	case "m2ts":
		ix, err = buildTS(f, tsPacket+4, 4)
	default:
		return nil, fmt.Errorf("index: not a video container we can index: %s: %w", kind, ErrUnsupported)
	}
	if err != nil {
		return nil, err
	}
	ix.FileSize = f.size
	if err := ix.finish(f); err != nil {
		return nil, err
	}
	return ix, nil
}

// finish turns the samples a container reader listed into frames and checks the result.
func (ix *Index) finish(f *file) error {
	if len(ix.Samples) == 0 {
		return fmt.Errorf("index: the %s %s video track has no samples: %w", ix.Container, ix.Codec, ErrUnsupported)
	}
	if ix.Codec == CodecH265 {
		if err := ix.hideLeadingRASL(f); err != nil {
			return err
		}
	}
	if err := ix.assignFrames(); err != nil {
		return err
	}
	if ix.Duration <= 0 {
		ix.Duration = estimateDuration(ix.Frames)
	}
	return ix.check()
}

// estimateDuration is the time from the first frame to the last plus the interval between the
// last two, for containers that do not say how long the last frame lasts.
func estimateDuration(frames []Frame) int64 {
	n := len(frames)
	if n < 2 {
		return 0
	}
	return 2*frames[n-1].PTS - frames[n-2].PTS - frames[0].PTS
}

// sniff names the container in head, the first bytes of a file of size bytes, or describes
// what the file looks like instead.
func sniff(head []byte, size int64) string {
	switch {
	case len(head) >= 8 && isMP4Box(head[4:8]):
		return ContainerMP4
	case bytes.HasPrefix(head, []byte{0x1A, 0x45, 0xDF, 0xA3}):
		return ContainerMKV
	case looksLikeTS(head, size, 188, 0):
		return ContainerMPEGTS
	case looksLikeTS(head, size, 192, 4):
		return "m2ts"
	}
	for _, m := range []struct{ magic, name string }{
		{"\x89PNG\r\n\x1a\n", "looks like PNG"},
		{"\xff\xd8\xff", "looks like JPEG"},
		{"GIF8", "looks like GIF"},
		{"RIFF", "looks like RIFF (AVI or WAV)"},
		{"OggS", "looks like Ogg"},
		{"FLV", "looks like FLV"},
		{"ID3", "looks like MP3"},
		{"fLaC", "looks like FLAC"},
		{"%PDF", "looks like PDF"},
		{"PK\x03\x04", "looks like a ZIP archive"},
		{"\x1f\x8b", "looks like gzip"},
		{"\x00\x00\x00\x01", "looks like a raw Annex B stream (no container)"},
		{"\x00\x00\x01", "looks like a raw MPEG stream (no container)"},
	} {
		if bytes.HasPrefix(head, []byte(m.magic)) {
			return m.name
		}
	}
	return "unrecognised content"
}

// isMP4Box reports whether t is the type of a box that starts an ISO BMFF / QuickTime file.
func isMP4Box(t []byte) bool {
	switch string(t) {
	case "ftyp", "moov", "mdat", "free", "skip", "wide", "pnot", "styp", "sidx", "moof", "uuid", "junk", "pdin":
		return true
	}
	return false
}

// looksLikeTS reports whether head starts with transport packets of pktSize bytes whose sync
// byte sits at syncAt: every packet in head (up to five) must have it, and at least one whole
// packet must be there.
func looksLikeTS(head []byte, size int64, pktSize, syncAt int) bool {
	n := 0
	for off := 0; off+syncAt < len(head) && int64(off+syncAt) < size && n < 5; off += pktSize {
		if head[off+syncAt] != 0x47 {
			return false
		}
		n++
	}
	return n > 0 && size >= int64(pktSize)
}

// file is the input with its size, for reads that are checked against the end.
type file struct {
	r    io.ReaderAt
	size int64
}

// errShort is wrapped by reads past the end of the file; callers add what they were reading.
var errShort = errors.New("the file ends first")

// read returns n bytes at off, or an error matching ErrCorrupt when they are not all in the file.
func (f *file) read(off int64, n int) ([]byte, error) {
	if off < 0 || n < 0 || off > f.size || int64(n) > f.size-off {
		return nil, fmt.Errorf("%d bytes at offset %d of a %d-byte file: %w: %w", n, off, f.size, errShort, ErrCorrupt)
	}
	b := make([]byte, n)
	if err := f.readInto(off, b); err != nil {
		return nil, err
	}
	return b, nil
}

// readInto fills b from off, which the caller has checked lies in the file.
func (f *file) readInto(off int64, b []byte) error {
	got, err := f.r.ReadAt(b, off)
	if got == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("index: read %d of %d bytes at offset %d: %w: %w", got, len(b), off, errShort, ErrCorrupt)
	}
	return fmt.Errorf("index: read at offset %d: %w", off, err)
}

// readUpTo returns up to n bytes at off, fewer at the end of the file.
func (f *file) readUpTo(off int64, n int) ([]byte, error) {
	if off >= f.size {
		return nil, nil
	}
	if rest := f.size - off; int64(n) > rest {
		n = int(rest)
	}
	return f.read(off, n)
}
