package index

import (
	"encoding/binary"
	"math"
	"slices"
)

// Matroska and WebM (RFC 9559; EBML is RFC 8794): the Tracks element names the video track,
// Clusters hold its blocks, whose headers give the timestamp and keyframe flag. Block payloads
// are never read.

// EBML and Matroska element IDs, with their marker bits.
const (
	mkvEBML                = 0x1A45DFA3
	mkvDocType             = 0x4282
	mkvSegment             = 0x18538067
	mkvSeekHead            = 0x114D9B74
	mkvInfo                = 0x1549A966
	mkvTimestampScale      = 0x2AD7B1
	mkvTracks              = 0x1654AE6B
	mkvTrackEntry          = 0xAE
	mkvTrackNumber         = 0xD7
	mkvTrackType           = 0x83
	mkvCodecID             = 0x86
	mkvCodecPrivate        = 0x63A2
	mkvVideo               = 0xE0
	mkvPixelWidth          = 0xB0
	mkvPixelHeight         = 0xBA
	mkvContentEncodings    = 0x6D80
	mkvTrackTimestampScale = 0x23314F
	mkvCues                = 0x1C53BB6B
	mkvCuePoint            = 0xBB
	mkvCueTime             = 0xB3
	mkvCueTrackPositions   = 0xB7
	mkvCueTrack            = 0xF7
	mkvCueClusterPosition  = 0xF1
	mkvCueRelativePosition = 0xF0
	mkvCluster             = 0x1F43B675
	mkvTimestamp           = 0xE7
	mkvSimpleBlock         = 0xA3
	mkvBlockGroup          = 0xA0
	mkvBlock               = 0xA1
	mkvReferenceBlock      = 0xFB
	mkvBlockDuration       = 0x9B
	mkvTags                = 0x1254C367
	mkvChapters            = 0x1043A770
	mkvAttachments         = 0x1941A469

	mkvTrackTypeVideo = 1
	// maxMKVHeader bounds the Info, Tracks and Cues elements read into memory.
	maxMKVHeader = 256 << 20
)

// mkvLevel1 reports whether id is a child of Segment (or starts a new segment): an unknown-size
// cluster ends where one of these begins.
func mkvLevel1(id uint32) bool {
	switch id {
	case mkvCluster, mkvCues, mkvTags, mkvChapters, mkvAttachments, mkvSeekHead, mkvInfo, mkvTracks,
		mkvEBML, mkvSegment:
		return true
	}
	return false
}

// mkvUnknownSize marks an element whose size field is all ones.
const mkvUnknownSize = -1

// vint decodes an EBML variable-size integer from b: its value (without the marker bit when
// mask is set), its length, and whether all value bits are ones (an unknown size).
func vint(b []byte, mask bool) (v uint64, n int, allOnes bool, ok bool) {
	if len(b) == 0 || b[0] == 0 {
		return 0, 0, false, false
	}
	n = 1
	for b[0]&(0x80>>(n-1)) == 0 {
		n++
	}
	if len(b) < n {
		return 0, 0, false, false
	}
	v = uint64(b[0])
	if mask {
		v &= uint64(0xff >> n)
	}
	allOnes = v == uint64(0xff>>n)
	for i := 1; i < n; i++ {
		v = v<<8 | uint64(b[i])
		allOnes = allOnes && b[i] == 0xff
	}
	return v, n, allOnes, true
}

// mkvHeader is an element's ID and size and the length of both fields.
type mkvHeader struct {
	id   uint32
	size int64 // mkvUnknownSize when unknown
	hdr  int
}

// parseHeader decodes an element header from b, whose first byte is at file offset at.
func parseHeader(b []byte, at int64) (mkvHeader, error) {
	id, idLen, _, ok := vint(b, false)
	if !ok || idLen > 4 {
		return mkvHeader{}, corruptf("no valid EBML element ID at offset %d", at)
	}
	size, sizeLen, unknown, ok := vint(b[idLen:], true)
	if !ok {
		return mkvHeader{}, corruptf("no valid EBML element size at offset %d", at+int64(idLen))
	}
	h := mkvHeader{id: uint32(id), size: int64(size), hdr: idLen + sizeLen}
	if unknown {
		h.size = mkvUnknownSize
	} else if size > math.MaxInt64/2 {
		return mkvHeader{}, corruptf("EBML element at offset %d claims %d bytes", at, size)
	}
	return h, nil
}

// eachElement calls fn for each child element in b (a master element's data, read into
// memory, whose first byte is at file offset at).
func eachElement(b []byte, at int64, fn func(id uint32, data []byte, at int64) error) error {
	for off := 0; off < len(b); {
		h, err := parseHeader(b[off:], at+int64(off))
		if err != nil {
			return err
		}
		if h.size == mkvUnknownSize || h.size > int64(len(b)-off-h.hdr) {
			return corruptf("EBML element 0x%X at offset %d claims more bytes than its parent holds", h.id, at+int64(off))
		}
		start := off + h.hdr
		if err := fn(h.id, b[start:start+int(h.size)], at+int64(start)); err != nil {
			return err
		}
		off = start + int(h.size)
	}
	return nil
}

// ebmlUint decodes an unsigned integer element's data.
func ebmlUint(b []byte) (uint64, bool) {
	if len(b) > 8 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v, true
}

// ebmlFloat decodes a float element's data (0, 4 or 8 bytes).
func ebmlFloat(b []byte) (float64, bool) {
	switch len(b) {
	case 0:
		return 0, true
	case 4:
		return float64(math.Float32frombits(binary.BigEndian.Uint32(b))), true
	case 8:
		return math.Float64frombits(binary.BigEndian.Uint64(b)), true
	}
	return 0, false
}

// cursor reads element headers through a window over the file, so that walking a cluster's
// blocks costs few reads.
type cursor struct {
	f     *file
	buf   []byte
	start int64
	n     int
}

// peek returns up to n (at most 64) bytes at off, fewer at the end of the file.
func (c *cursor) peek(off int64, n int) ([]byte, error) {
	if off >= c.start && off+int64(n) <= c.start+int64(c.n) {
		return c.buf[off-c.start : off-c.start+int64(n)], nil
	}
	if c.buf == nil {
		c.buf = make([]byte, 64<<10)
	}
	m := len(c.buf)
	if rest := c.f.size - off; rest < int64(m) {
		m = int(max(rest, 0))
	}
	if err := c.f.readInto(off, c.buf[:m]); err != nil {
		return nil, err
	}
	c.start, c.n = off, m
	return c.buf[:min(n, m)], nil
}

// header reads the element header at off.
func (c *cursor) header(off int64) (mkvHeader, error) {
	b, err := c.peek(off, 12)
	if err != nil {
		return mkvHeader{}, err
	}
	return parseHeader(b, off)
}

// mkvReader is the state of one Matroska walk.
type mkvReader struct {
	f        *file
	c        cursor
	ix       *Index
	segStart int64
	scale    uint64 // TimestampScale, ns per tick
	track    uint64 // the video track's number, 0 before Tracks is read
	tracks   bool
	// keyBlocks holds the file offsets of the video track's keyframe SimpleBlock and BlockGroup
	// elements, to check the Cues against.
	keyBlocks map[int64]bool
	// clusters maps each Cluster's offset to the length of its header.
	clusters map[int64]int
	cues     []mkvCue
	durs     []int64 // BlockDuration per sample, 0 when absent
}

type mkvCue struct {
	time     uint64
	cluster  uint64 // relative to the segment's data
	relative uint64 // relative to the cluster's data, 0 when absent
}

func buildMKV(f *file) (*Index, error) {
	m := &mkvReader{f: f, c: cursor{f: f}, scale: 1000000, keyBlocks: map[int64]bool{}, clusters: map[int64]int{}}
	m.ix = &Index{Container: ContainerMKV}
	h, err := m.c.header(0)
	if err != nil {
		return nil, err
	}
	if h.size == mkvUnknownSize || int64(h.hdr)+h.size > f.size {
		return nil, corruptf("EBML header of %d bytes in a %d-byte file", h.size, f.size)
	}
	head, err := f.read(int64(h.hdr), int(h.size))
	if err != nil {
		return nil, err
	}
	docType := "matroska" // the default
	err = eachElement(head, int64(h.hdr), func(id uint32, d []byte, _ int64) error {
		if id == mkvDocType {
			docType = string(d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if docType != "matroska" && docType != "webm" {
		return nil, unsupportedf("EBML document of type %q, not Matroska or WebM", docType)
	}
	off := int64(h.hdr) + h.size
	for {
		if off >= f.size {
			return nil, corruptf("Matroska file without a Segment")
		}
		h, err = m.c.header(off)
		if err != nil {
			return nil, err
		}
		if h.id == mkvSegment {
			break
		}
		if h.size == mkvUnknownSize || h.size > f.size-off-int64(h.hdr) {
			return nil, corruptf("element 0x%X at offset %d before the Segment claims %d bytes", h.id, off, h.size)
		}
		off += int64(h.hdr) + h.size
	}
	m.segStart = off + int64(h.hdr)
	segEnd := f.size
	if h.size != mkvUnknownSize {
		if h.size > f.size-m.segStart {
			return nil, corruptf("Segment claims %d bytes but the file has %d after its header; is the file truncated?",
				h.size, f.size-m.segStart)
		}
		segEnd = m.segStart + h.size
	}
	if err := m.segment(segEnd); err != nil {
		return nil, err
	}
	if !m.tracks {
		return nil, corruptf("Matroska file without Tracks")
	}
	if m.track == 0 {
		return nil, unsupportedf("Matroska file without a video track")
	}
	if err := m.decodeTimes(); err != nil {
		return nil, err
	}
	m.checkCues()
	return m.ix, nil
}

// segment walks the Segment's children up to end.
func (m *mkvReader) segment(end int64) error {
	for off := m.segStart; off < end; {
		h, err := m.c.header(off)
		if err != nil {
			return err
		}
		data := off + int64(h.hdr)
		if h.id == mkvCluster {
			if !m.tracks {
				return unsupportedf("a Cluster at offset %d comes before the Tracks", off)
			}
			if off, err = m.cluster(off, h, end); err != nil {
				return err
			}
			continue
		}
		if h.size == mkvUnknownSize {
			return corruptf("element 0x%X at offset %d has an unknown size", h.id, off)
		}
		if h.size > end-data {
			return corruptf("element 0x%X at offset %d claims %d bytes, past the end of the Segment at %d; is the file truncated?",
				h.id, off, h.size, end)
		}
		switch h.id {
		case mkvInfo, mkvTracks, mkvCues:
			if h.size > maxMKVHeader {
				return unsupportedf("element 0x%X of %d bytes", h.id, h.size)
			}
			b, err := m.f.read(data, int(h.size))
			if err != nil {
				return err
			}
			switch h.id {
			case mkvInfo:
				err = m.info(b, data)
			case mkvTracks:
				err = m.parseTracks(b, data)
			case mkvCues:
				err = m.parseCues(b, data)
			}
			if err != nil {
				return err
			}
		}
		off = data + h.size
	}
	return nil
}

func (m *mkvReader) info(b []byte, at int64) error {
	return eachElement(b, at, func(id uint32, d []byte, at int64) error {
		if id == mkvTimestampScale {
			v, ok := ebmlUint(d)
			if !ok || v == 0 || v > 1e9 {
				return unsupportedf("Matroska TimestampScale %d at offset %d", v, at)
			}
			m.scale = v
		}
		return nil
	})
}

func (m *mkvReader) parseTracks(b []byte, at int64) error {
	if m.tracks {
		return nil
	}
	m.tracks = true
	return eachElement(b, at, func(id uint32, d []byte, at int64) error {
		if id != mkvTrackEntry || m.track != 0 {
			return nil
		}
		var (
			number, kind uint64
			codec        string
			private      []byte
			w, h         uint64
			encoded      bool
			tscale       = 1.0
		)
		err := eachElement(d, at, func(id uint32, d []byte, at int64) error {
			switch id {
			case mkvTrackNumber:
				number, _ = ebmlUint(d)
			case mkvTrackType:
				kind, _ = ebmlUint(d)
			case mkvCodecID:
				codec = string(d)
			case mkvCodecPrivate:
				private = d
			case mkvContentEncodings:
				encoded = true
			case mkvTrackTimestampScale:
				tscale, _ = ebmlFloat(d)
			case mkvVideo:
				return eachElement(d, at, func(id uint32, d []byte, _ int64) error {
					switch id {
					case mkvPixelWidth:
						w, _ = ebmlUint(d)
					case mkvPixelHeight:
						h, _ = ebmlUint(d)
					}
					return nil
				})
			}
			return nil
		})
		if err != nil || kind != mkvTrackTypeVideo {
			return err
		}
		// The first video track: ffmpeg's 0:v:0.
		ix := m.ix
		switch codec {
		case "V_MPEG4/ISO/AVC":
			ix.Codec = CodecH264
		case "V_MPEGH/ISO/HEVC":
			ix.Codec = CodecH265
		default:
			return unsupportedf("the first video track's codec is %q, not H.264 or H.265", codec)
		}
		if encoded {
			return unsupportedf("the video track is compressed or encrypted (ContentEncodings)")
		}
		if tscale != 1 {
			return unsupportedf("the video track has TrackTimestampScale %g", tscale)
		}
		if number == 0 {
			return corruptf("the video track at offset %d has no TrackNumber", at)
		}
		if w > math.MaxInt32 || h > math.MaxInt32 {
			return corruptf("the video track claims %dx%d pixels", w, h)
		}
		m.track, ix.Width, ix.Height = number, int(w), int(h)
		ix.CodecConfig = append([]byte(nil), private...)
		cfgType := "avcC"
		if ix.Codec == CodecH265 {
			cfgType = "hvcC"
		}
		return setLengthSize(ix, ix.CodecConfig, "CodecPrivate ("+cfgType+")")
	})
}

func (m *mkvReader) parseCues(b []byte, at int64) error {
	return eachElement(b, at, func(id uint32, d []byte, at int64) error {
		if id != mkvCuePoint {
			return nil
		}
		var t uint64
		var pos []mkvCue
		err := eachElement(d, at, func(id uint32, d []byte, at int64) error {
			switch id {
			case mkvCueTime:
				t, _ = ebmlUint(d)
			case mkvCueTrackPositions:
				var c mkvCue
				var track uint64
				err := eachElement(d, at, func(id uint32, d []byte, _ int64) error {
					switch id {
					case mkvCueTrack:
						track, _ = ebmlUint(d)
					case mkvCueClusterPosition:
						c.cluster, _ = ebmlUint(d)
					case mkvCueRelativePosition:
						c.relative, _ = ebmlUint(d)
					}
					return nil
				})
				if err == nil && track == m.track && m.track != 0 && len(m.cues) < MaxSamples {
					pos = append(pos, c)
				}
				return err
			}
			return nil
		})
		for _, c := range pos {
			c.time = t
			m.cues = append(m.cues, c)
		}
		return err
	})
}

// cluster reads the blocks of the cluster whose header h is at off, and returns where it ends:
// at its size, or for an unknown-size cluster (live recordings) where the next Segment child
// starts.
func (m *mkvReader) cluster(off int64, h mkvHeader, segEnd int64) (int64, error) {
	data := off + int64(h.hdr)
	m.clusters[off] = h.hdr
	end := segEnd
	if h.size != mkvUnknownSize {
		if h.size > segEnd-data {
			return 0, corruptf("Cluster at offset %d claims %d bytes, past the end of the Segment at %d; is the file truncated?",
				off, h.size, segEnd)
		}
		end = data + h.size
	}
	ts := int64(-1)
	for p := data; p < end; {
		e, err := m.c.header(p)
		if err != nil {
			return 0, err
		}
		if h.size == mkvUnknownSize && mkvLevel1(e.id) {
			return p, nil
		}
		ed := p + int64(e.hdr)
		if e.size == mkvUnknownSize || e.size > end-ed {
			return 0, corruptf("element 0x%X at offset %d in the Cluster at %d claims %d bytes, past its end at %d; is the file truncated?",
				e.id, p, off, e.size, end)
		}
		switch e.id {
		case mkvTimestamp:
			b, err := m.c.peek(ed, int(min(e.size, 9)))
			if err != nil {
				return 0, err
			}
			v, ok := ebmlUint(b[:min(int(e.size), len(b))])
			if !ok || v > math.MaxInt64/4 {
				return 0, corruptf("Cluster Timestamp at offset %d is not a valid integer", p)
			}
			ts = int64(v)
		case mkvSimpleBlock:
			if err := m.block(p, ed, e.size, ts, true, false, 0); err != nil {
				return 0, err
			}
		case mkvBlockGroup:
			if err := m.blockGroup(p, ed, e.size, ts); err != nil {
				return 0, err
			}
		}
		p = ed + e.size
	}
	return end, nil
}

// blockGroup reads a BlockGroup's Block header and whether it references other blocks.
func (m *mkvReader) blockGroup(at, data, size, ts int64) error {
	var (
		blockData, blockSize int64 = -1, 0
		ref                  bool
		dur                  int64
	)
	for p, end := data, data+size; p < end; {
		e, err := m.c.header(p)
		if err != nil {
			return err
		}
		ed := p + int64(e.hdr)
		if e.size == mkvUnknownSize || e.size > end-ed {
			return corruptf("element 0x%X at offset %d in a BlockGroup claims more bytes than the group holds", e.id, p)
		}
		switch e.id {
		case mkvBlock:
			blockData, blockSize = ed, e.size
		case mkvReferenceBlock:
			ref = true
		case mkvBlockDuration:
			b, err := m.c.peek(ed, int(min(e.size, 9)))
			if err != nil {
				return err
			}
			if v, ok := ebmlUint(b[:min(int(e.size), len(b))]); ok && v < math.MaxInt32 {
				dur = int64(v)
			}
		}
		p = ed + e.size
	}
	if blockData < 0 {
		return nil
	}
	return m.block(at, blockData, blockSize, ts, false, !ref, dur)
}

// block adds the block whose SimpleBlock or BlockGroup element starts at at (its data at data,
// size bytes) if it
// belongs to the video track. A SimpleBlock says whether it is a keyframe; a Block in a
// BlockGroup is one when the group has no ReferenceBlock (key).
func (m *mkvReader) block(at, data, size, ts int64, simple, key bool, dur int64) error {
	b, err := m.c.peek(data, 12)
	if err != nil {
		return err
	}
	track, n, _, ok := vint(b, true)
	if !ok || int64(n)+3 > size || len(b) < n+3 {
		return corruptf("block at offset %d has no valid header", at)
	}
	if track != m.track {
		return nil
	}
	if ts < 0 {
		return corruptf("block at offset %d comes before its Cluster's Timestamp", at)
	}
	rel := int64(int16(binary.BigEndian.Uint16(b[n:])))
	flags := b[n+2]
	if flags&0x06 != 0 {
		return unsupportedf("laced video block at offset %d", at)
	}
	if simple {
		key = flags&0x80 != 0
	}
	if len(m.ix.Samples) >= MaxSamples {
		return unsupportedf("video track of more than %d blocks", MaxSamples)
	}
	hdr := int64(n) + 3
	if size-hdr > math.MaxInt32 {
		return unsupportedf("video block at offset %d of %d bytes", at, size)
	}
	if key {
		m.keyBlocks[at] = true
	}
	m.ix.Samples = append(m.ix.Samples, Sample{
		Offset: data + hdr, Size: int32(size - hdr), PTS: ts + rel, Key: key,
	})
	m.durs = append(m.durs, dur)
	return nil
}

// decodeTimes converts block timestamps to the index timescale and makes up decode times:
// Matroska stores presentation times only. DTS[i] is the i-th smallest PTS, moved back by the
// largest amount any picture is shown before that, so that DTS rises and never passes PTS.
func (m *mkvReader) decodeTimes() error {
	ix := m.ix
	g := gcd(1e9, m.scale)
	ix.Timescale = uint32(1e9 / g)
	mult := int64(m.scale / g)
	for i := range ix.Samples {
		s := &ix.Samples[i]
		if s.PTS > math.MaxInt64/4/mult || s.PTS < math.MinInt64/4/mult {
			return corruptf("block timestamp %d ticks of %d ns is out of range", s.PTS, m.scale)
		}
		s.PTS *= mult
		m.durs[i] *= mult
	}
	sorted := make([]int64, len(ix.Samples))
	for i := range ix.Samples {
		sorted[i] = ix.Samples[i].PTS
	}
	slices.Sort(sorted)
	delay := int64(0)
	for i := range ix.Samples {
		delay = max(delay, sorted[i]-ix.Samples[i].PTS)
	}
	for i := range ix.Samples {
		ix.Samples[i].DTS = sorted[i] - delay
	}
	// The last picture's BlockDuration, if it has one, ends the stream.
	if n := len(sorted); n > 0 {
		for i := range ix.Samples {
			if ix.Samples[i].PTS == sorted[n-1] && m.durs[i] > 0 {
				ix.Duration = sorted[n-1] - sorted[0] + m.durs[i]
			}
		}
	}
	return nil
}

// checkCues compares the Cues with the blocks: each cue of the video track should point at a
// keyframe with the cue's time. The blocks' own flags stay the truth; disagreements become
// warnings, since seeking players trust the Cues.
func (m *mkvReader) checkCues() {
	if len(m.cues) == 0 {
		m.ix.warnf("no Cues for the video track (a live recording?): players cannot seek in it quickly")
		return
	}
	bad := 0
	for _, c := range m.cues {
		if c.relative == 0 {
			continue // no block position: nothing to check cheaply
		}
		at := m.segStart + int64(c.cluster)
		hdr, ok := m.clusters[at]
		if !ok || !m.keyBlocks[at+int64(hdr)+int64(c.relative)] {
			bad++
		}
	}
	if bad > 0 {
		m.ix.warnf("%d of %d Cues for the video track do not point at a keyframe block; the blocks' flags are used", bad, len(m.cues))
	}
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
