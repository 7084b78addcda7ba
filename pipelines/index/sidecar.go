package index

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/pigweight/pigweight/pipelines/atomicfile"
)

// Sidecar files: an index saved next to the recordings, named by the recording's content hash.
//
// Format (all integers varints unless said otherwise):
//
//	"PWIX" version(1 byte)
//	container codec hash (strings: length, bytes)
//	width height timescale nalLengthSize duration fileSize packetSize
//	codecConfig (length, bytes)
//	warnings (count, strings)
//	samples (count, then per sample: flags byte (1 key, 2 shown), offset less the end of the
//	  sample before, size, DTS less the DTS before, PTS less DTS)
//	CRC-32C of everything before it (4 bytes, little endian)
//
// Frames are not stored: they follow from the samples (Index.assignFrames).

const (
	sidecarMagic   = "PWIX"
	sidecarVersion = 1
	sidecarExt     = ".pwidx"
	// maxSidecar bounds the sidecar Load reads; MaxSamples samples take at most ~40 bytes each.
	maxSidecar = 64 * MaxSamples
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Hash returns the hex SHA-256 of everything r yields: the key of a file's sidecar. SHA-256
// runs at over a gigabyte a second on CPUs with SHA extensions, and unlike a sampled hash it
// cannot mistake an edited recording for the original.
func Hash(r io.Reader) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", fmt.Errorf("index: hash: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// validHash reports whether h looks like what Hash returns, so that it is safe in a file name.
func validHash(h string) bool {
	if len(h) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(h); i++ {
		if !('0' <= h[i] && h[i] <= '9' || 'a' <= h[i] && h[i] <= 'f') {
			return false
		}
	}
	return true
}

// MarshalBinary encodes the index in the compact, versioned, checksummed sidecar format.
func (ix *Index) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 64+len(ix.CodecConfig)+12*len(ix.Samples))
	b = append(b, sidecarMagic...)
	b = append(b, sidecarVersion)
	for _, s := range []string{ix.Container, ix.Codec, ix.Hash} {
		b = appendString(b, s)
	}
	for _, v := range []int64{int64(ix.Width), int64(ix.Height), int64(ix.Timescale), int64(ix.NALLengthSize),
		ix.Duration, ix.FileSize, int64(ix.PacketSize)} {
		b = binary.AppendVarint(b, v)
	}
	b = appendString(b, string(ix.CodecConfig))
	b = binary.AppendUvarint(b, uint64(len(ix.Warnings)))
	for _, w := range ix.Warnings {
		b = appendString(b, w)
	}
	b = binary.AppendUvarint(b, uint64(len(ix.Samples)))
	var end, dts int64
	for _, s := range ix.Samples {
		var flags byte
		if s.Key {
			flags |= 1
		}
		if s.Frame >= 0 {
			flags |= 2
		}
		b = append(b, flags)
		b = binary.AppendVarint(b, s.Offset-end)
		b = binary.AppendUvarint(b, uint64(s.Size))
		b = binary.AppendVarint(b, s.DTS-dts)
		b = binary.AppendVarint(b, s.PTS-s.DTS)
		end, dts = s.Offset+int64(s.Size), s.DTS
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// UnmarshalBinary decodes what MarshalBinary encoded. A wrong magic, version or checksum, or
// contents that break the index's invariants, give an error matching ErrCorrupt.
func (ix *Index) UnmarshalBinary(data []byte) error {
	if len(data) < len(sidecarMagic)+1+4 || string(data[:4]) != sidecarMagic {
		return fmt.Errorf("index: not an index sidecar: %w", ErrCorrupt)
	}
	if v := data[4]; v != sidecarVersion {
		return fmt.Errorf("index: sidecar version %d, this build reads %d: %w", v, sidecarVersion, ErrCorrupt)
	}
	body := data[:len(data)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(data[len(body):]) {
		return fmt.Errorf("index: sidecar checksum mismatch: %w", ErrCorrupt)
	}
	d := decoder{b: body[5:]}
	var out Index
	out.Container, out.Codec, out.Hash = d.string(), d.string(), d.string()
	var v [7]int64
	for i := range v {
		v[i] = d.varint()
	}
	if v[0] < 0 || v[0] > math.MaxInt32 || v[1] < 0 || v[1] > math.MaxInt32 || v[2] <= 0 || v[2] > math.MaxUint32 ||
		v[3] < 0 || v[3] > 4 || v[5] < 0 || v[6] != 0 && v[6] != tsPacket && v[6] != tsPacket+4 {
		d.fail("header fields out of range")
	}
	out.Width, out.Height, out.Timescale, out.NALLengthSize = int(v[0]), int(v[1]), uint32(v[2]), int(v[3])
	out.Duration, out.FileSize, out.PacketSize = v[4], v[5], int(v[6])
	if cfg := d.string(); cfg != "" {
		out.CodecConfig = []byte(cfg)
	}
	if n := d.count(maxWarnings, 1); n > 0 {
		out.Warnings = make([]string, n)
		for i := range out.Warnings {
			out.Warnings[i] = d.string()
		}
	}
	n := d.count(MaxSamples, 5)
	out.Samples = make([]Sample, n)
	var end, dts int64
	for i := range out.Samples {
		flags := d.byte()
		s := &out.Samples[i]
		s.Key = flags&1 != 0
		if flags&2 == 0 {
			s.Frame = -1
		}
		s.Offset = end + d.varint()
		size := d.uvarint()
		if size > math.MaxInt32 {
			d.fail("sample size out of range")
		}
		s.Size = int32(size)
		s.DTS = dts + d.varint()
		s.PTS = s.DTS + d.varint()
		end, dts = s.Offset+int64(s.Size), s.DTS
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return d.err
	}
	if err := out.assignFrames(); err != nil {
		return fmt.Errorf("index: sidecar: %w", err)
	}
	if err := out.check(); err != nil {
		return fmt.Errorf("index: sidecar: %w", err)
	}
	*ix = out
	return nil
}

// decoder reads the sidecar body; the first error sticks and later reads return zeros.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("index: sidecar: %s: %w", what, ErrCorrupt)
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail("cut short")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a count of items that take at least minSize bytes each, at most limit.
func (d *decoder) count(limit, minSize int) int {
	n := d.uvarint()
	if n > uint64(limit) || n > uint64(len(d.b)/minSize) {
		d.fail("count out of range")
		return 0
	}
	return int(n)
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("string cut short")
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// sidecarPath is where the sidecar for content hash lives in dir.
func sidecarPath(dir, hash string) (string, error) {
	if !validHash(hash) {
		return "", fmt.Errorf("index: %q is not a content hash from Hash", hash)
	}
	return filepath.Join(dir, hash+sidecarExt), nil
}

// Load reads the sidecar for content hash from dir. A missing sidecar gives an error matching
// fs.ErrNotExist; a corrupt one, one of another format version or one made for other content,
// an error matching ErrCorrupt.
func Load(dir, hash string) (*Index, error) {
	path, err := sidecarPath(dir, hash)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("index: load sidecar: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSidecar+1))
	if err != nil {
		return nil, fmt.Errorf("index: load sidecar %s: %w", path, err)
	}
	if len(data) > maxSidecar {
		return nil, fmt.Errorf("index: sidecar %s is larger than %d bytes: %w", path, maxSidecar, ErrCorrupt)
	}
	ix := &Index{}
	if err := ix.UnmarshalBinary(data); err != nil {
		return nil, fmt.Errorf("index: sidecar %s: %w", path, err)
	}
	if ix.Hash != hash {
		return nil, fmt.Errorf("index: sidecar %s was made for content %q: %w", path, ix.Hash, ErrCorrupt)
	}
	return ix, nil
}

// sidecarTempSuffix ends the name of a sidecar being written; SidecarTempPattern matches the
// ones a crash left behind, for whoever owns the directory to remove.
const (
	sidecarTempSuffix  = ".pwidx.tmp"
	SidecarTempPattern = ".*" + sidecarTempSuffix
)

// Save writes the index as the sidecar for content hash in dir, creating dir if need be. The
// write is atomic: a temporary file, synced, then renamed over the old sidecar, so readers see
// the old sidecar or the new one, never half of one.
func (ix *Index) Save(dir, hash string) error {
	path, err := sidecarPath(dir, hash)
	if err != nil {
		return err
	}
	if ix.Hash != "" && ix.Hash != hash {
		return fmt.Errorf("index: save the index of content %s as the sidecar of %s", ix.Hash, hash)
	}
	c := *ix
	c.Hash = hash
	data, err := c.MarshalBinary()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("index: save sidecar: %w", err)
	}
	if err := atomicfile.Write(path, "."+hash+".*"+sidecarTempSuffix, data); err != nil {
		return fmt.Errorf("index: save sidecar %s: %w", path, err)
	}
	return nil
}

// Open returns the index of the file at path: it hashes the file, loads the sidecar from
// dataDir if there is a valid one for that content, and otherwise builds the index and saves
// it there. A corrupt or stale sidecar is rebuilt, never trusted.
func Open(path, dataDir string) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("index: %s is not a regular file: %w", path, ErrUnsupported)
	}
	hash, err := Hash(io.NewSectionReader(f, 0, st.Size()))
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", path, err)
	}
	if ix, err := Load(dataDir, hash); err == nil && ix.FileSize == st.Size() {
		return ix, nil
	}
	ix, err := Build(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", path, err)
	}
	ix.Hash = hash
	if err := ix.Save(dataDir, hash); err != nil {
		return nil, fmt.Errorf("index %s: %w", path, err)
	}
	return ix, nil
}
