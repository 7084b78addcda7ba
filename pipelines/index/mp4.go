package index

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

// ISO/IEC 14496-12 (ISO base media file format) and QuickTime: the boxes that say where each
// video sample is and when it is shown.

const (
	// maxTopBoxes bounds the top-level boxes Build walks: a fragmented file has two per
	// fragment, and a fragment a second for 100 hours is 720 000.
	maxTopBoxes = 1 << 21
	// maxMoov bounds the moov box read into memory. A 10-hour 60 fps file's moov is ~30 MB.
	maxMoov = 512 << 20
	// maxMoof bounds one moof box.
	maxMoof = 64 << 20
	// maxEdits bounds an edit list's entries (real files have one to three).
	maxEdits = 4096
)

var be = binary.BigEndian

// mp4Track is what Build keeps of a trak box.
type mp4Track struct {
	id        uint32
	handler   string
	timescale uint32
	entryType string // the first sample entry's type: avc1, hvc1, ...
	entries   uint32 // sample entries in stsd
	entry     []byte // the first sample entry, whole box
	edits     []mp4Edit
	hasElst   bool
	// Sample table boxes (payloads, version and flags included), nil when absent.
	stts, ctts, stss, stps, stsz, stz2, stsc, stco, co64 []byte
}

// mp4Edit is an elst entry: duration in the movie's timescale, media time in the track's
// (-1 for an empty edit).
type mp4Edit struct {
	duration int64
	time     int64
}

// mp4Trex holds a track's fragment defaults (mvex/trex).
type mp4Trex struct {
	sdi, duration, size, flags uint32
}

type mp4Movie struct {
	timescale uint32
	tracks    []*mp4Track
	trex      map[uint32]mp4Trex
	mvex      bool
}

func corruptf(format string, args ...any) error {
	return fmt.Errorf("index: "+format+": %w", append(args, ErrCorrupt)...)
}

func unsupportedf(format string, args ...any) error {
	return fmt.Errorf("index: "+format+": %w", append(args, ErrUnsupported)...)
}

// fourcc quotes a box type for messages, escaping bytes that are not printable.
func fourcc(t string) string { return strconv.Quote(t) }

// eachBox calls fn for each box in b, whose first byte is at file offset at, with the box's
// type, its payload and the file offset of its header.
func eachBox(b []byte, at int64, fn func(typ string, payload []byte, at int64) error) error {
	for off := 0; off < len(b); {
		rest := len(b) - off
		if rest < 8 {
			// QuickTime ends some lists with a 32-bit zero; ffmpeg skips short tails too.
			return nil
		}
		size := int64(be.Uint32(b[off:]))
		typ := string(b[off+4 : off+8])
		hdr := 8
		switch size {
		case 1:
			if rest < 16 {
				return corruptf("box %s at offset %d has a 64-bit size cut short", fourcc(typ), at+int64(off))
			}
			u := be.Uint64(b[off+8:])
			if u > math.MaxInt64 {
				return corruptf("box %s at offset %d claims %d bytes", fourcc(typ), at+int64(off), u)
			}
			size, hdr = int64(u), 16
		case 0:
			size = int64(rest)
		}
		if typ == "uuid" {
			hdr += 16
		}
		if size < int64(hdr) || size > int64(rest) {
			return corruptf("box %s at offset %d claims %d bytes, but its parent has %d left",
				fourcc(typ), at+int64(off), size, rest)
		}
		if err := fn(typ, b[off+hdr:off+int(size)], at+int64(off)); err != nil {
			return err
		}
		off += int(size)
	}
	return nil
}

// buildMP4 indexes an ISO BMFF / QuickTime file.
func buildMP4(f *file) (*Index, error) {
	var (
		moov   []byte
		moovAt int64 = -1
		moofs  []int64
	)
	boxes := 0
	for off := int64(0); off < f.size; {
		boxes++
		if boxes > maxTopBoxes {
			return nil, unsupportedf("more than %d top-level MP4 boxes", maxTopBoxes)
		}
		h, err := f.readUpTo(off, 16)
		if err != nil {
			return nil, err
		}
		size, hdr, typ := int64(0), 8, ""
		if len(h) >= 8 {
			size, typ = int64(be.Uint32(h)), string(h[4:8])
			switch size {
			case 0:
				size = f.size - off
			case 1:
				if len(h) < 16 {
					size = -1
				} else if u := be.Uint64(h[8:]); u <= math.MaxInt64 {
					size, hdr = int64(u), 16
				} else {
					size = -1
				}
			}
		}
		if len(h) < 8 || size < int64(hdr) || size > f.size-off {
			if moovAt >= 0 && !isBoxType(typ) {
				// Junk after the boxes (some recorders pad files): ffmpeg stops there too.
				return buildMP4Tables(f, moov, moovAt, moofs, fmt.Sprintf("ignored %d bytes of trailing data at offset %d", f.size-off, off))
			}
			return nil, corruptf("top-level box %s at offset %d claims %d bytes, past the end of the file (%d bytes); is the file truncated?",
				fourcc(typ), off, size, f.size)
		}
		switch typ {
		case "moov":
			if moovAt >= 0 {
				break // ffmpeg reads the first
			}
			if size-int64(hdr) > maxMoov {
				return nil, unsupportedf("moov box of %d bytes, more than %d", size, maxMoov)
			}
			moov, err = f.read(off+int64(hdr), int(size)-hdr)
			if err != nil {
				return nil, err
			}
			moovAt = off + int64(hdr)
		case "moof":
			moofs = append(moofs, off)
		}
		off += size
	}
	if moovAt < 0 {
		if len(moofs) > 0 {
			return nil, corruptf("MP4 fragments but no moov box (an init segment stored apart?)")
		}
		return nil, unsupportedf("MP4 file without a moov box")
	}
	return buildMP4Tables(f, moov, moovAt, moofs, "")
}

// isBoxType reports whether t looks like a four-character code: four printable ASCII bytes.
func isBoxType(t string) bool {
	if len(t) != 4 {
		return false
	}
	for i := 0; i < 4; i++ {
		if t[i] < 0x20 || t[i] > 0x7e {
			return false
		}
	}
	return true
}

func buildMP4Tables(f *file, moov []byte, moovAt int64, moofs []int64, warning string) (*Index, error) {
	mv, err := parseMoov(moov, moovAt)
	if err != nil {
		return nil, err
	}
	var tr *mp4Track
	for _, t := range mv.tracks {
		if t.handler == "vide" {
			tr = t
			break
		}
	}
	if tr == nil {
		return nil, unsupportedf("MP4 file with %d tracks, none of them video", len(mv.tracks))
	}
	ix := &Index{Container: ContainerMP4, Timescale: tr.timescale}
	if warning != "" {
		ix.warnf("%s", warning)
	}
	if err := tr.describe(ix); err != nil {
		return nil, err
	}
	if tr.timescale == 0 {
		return nil, corruptf("video track %d has timescale 0", tr.id)
	}
	tab, err := tr.sampleTable(f)
	if err != nil {
		return nil, err
	}
	// ffmpeg's time offset of a fragmented track: the first edit's media time less the empty
	// edit before it.
	timeOffset := int64(0)
	if tr.hasElst {
		entries, err := fixIndex(tab, tr.edits, mv.timescale, tr.timescale)
		if err != nil {
			return nil, fmt.Errorf("index: video track %d edit list: %w", tr.id, err)
		}
		tab.applyEntries(ix, entries)
		timeOffset = firstEditOffset(tr.edits, mv.timescale, tr.timescale)
	} else {
		tab.applyEntries(ix, nil)
	}
	if len(moofs) > 0 {
		if !mv.mvex {
			ix.warnf("moof boxes without mvex in moov: fragments ignored")
		} else if err := readFragments(f, ix, tr, mv.trex[tr.id], moofs, tab, timeOffset); err != nil {
			return nil, err
		}
	}
	ix.Duration = tab.duration(ix)
	return ix, nil
}

func parseMoov(moov []byte, at int64) (*mp4Movie, error) {
	mv := &mp4Movie{trex: map[uint32]mp4Trex{}}
	err := eachBox(moov, at, func(typ string, p []byte, at int64) error {
		switch typ {
		case "mvhd":
			ts, err := fullBoxU32(p, 12, 20, "mvhd", at)
			if err != nil {
				return err
			}
			mv.timescale = ts
		case "trak":
			if len(mv.tracks) >= 1024 {
				return unsupportedf("more than 1024 tracks")
			}
			t, err := parseTrak(p, at)
			if err != nil {
				return err
			}
			mv.tracks = append(mv.tracks, t)
		case "mvex":
			mv.mvex = true
			return eachBox(p, at+8, func(typ string, p []byte, at int64) error {
				if typ != "trex" {
					return nil
				}
				if len(p) < 24 {
					return corruptf("trex box at offset %d is %d bytes, too short", at, len(p))
				}
				mv.trex[be.Uint32(p[4:])] = mp4Trex{
					sdi: be.Uint32(p[8:]), duration: be.Uint32(p[12:]),
					size: be.Uint32(p[16:]), flags: be.Uint32(p[20:]),
				}
				return nil
			})
		}
		return nil
	})
	return mv, err
}

// fullBoxU32 reads the 32-bit field at offset v0 (version 0) or v1 (version 1) of a full box.
func fullBoxU32(p []byte, v0, v1 int, name string, at int64) (uint32, error) {
	if len(p) < 4 {
		return 0, corruptf("%s box at offset %d is %d bytes, too short", name, at, len(p))
	}
	o := v0
	if p[0] == 1 {
		o = v1
	}
	if len(p) < o+4 {
		return 0, corruptf("%s box at offset %d (version %d) is %d bytes, too short", name, at, p[0], len(p))
	}
	return be.Uint32(p[o:]), nil
}

func parseTrak(trak []byte, at int64) (*mp4Track, error) {
	t := &mp4Track{}
	var walk func(b []byte, at int64) error
	walk = func(b []byte, at int64) error {
		return eachBox(b, at, func(typ string, p []byte, at int64) error {
			var err error
			switch typ {
			case "mdia", "minf", "stbl", "edts":
				return walk(p, at+8)
			case "tkhd":
				t.id, err = fullBoxU32(p, 12, 20, "tkhd", at)
			case "mdhd":
				t.timescale, err = fullBoxU32(p, 12, 20, "mdhd", at)
			case "hdlr":
				if len(p) < 12 {
					return corruptf("hdlr box at offset %d is %d bytes, too short", at, len(p))
				}
				t.handler = string(p[8:12])
			case "elst":
				err = t.parseElst(p, at)
			case "stsd":
				if len(p) < 8 {
					return corruptf("stsd box at offset %d is %d bytes, too short", at, len(p))
				}
				t.entries = be.Uint32(p[4:])
				// Only the first entry: a track that uses another is refused in sampleTable.
				return eachBox(p[8:], at+16, func(typ string, e []byte, at int64) error {
					if t.entry == nil {
						t.entryType = typ
						t.entry = e
					}
					return nil
				})
			case "stts":
				t.stts = p
			case "ctts":
				t.ctts = p
			case "stss":
				t.stss = p
			case "stps":
				t.stps = p
			case "stsz":
				t.stsz = p
			case "stz2":
				t.stz2 = p
			case "stsc":
				t.stsc = p
			case "stco":
				t.stco = p
			case "co64":
				t.co64 = p
			}
			return err
		})
	}
	return t, walk(trak, at+8)
}

func (t *mp4Track) parseElst(p []byte, at int64) error {
	if len(p) < 8 {
		return corruptf("elst box at offset %d is %d bytes, too short", at, len(p))
	}
	if t.hasElst {
		return nil // ffmpeg warns of a duplicate and keeps the first
	}
	v, n := p[0], be.Uint32(p[4:])
	size := 12
	if v == 1 {
		size = 20
	}
	if uint64(n)*uint64(size) > uint64(len(p)-8) {
		return corruptf("elst box at offset %d claims %d entries but holds %d bytes", at, n, len(p)-8)
	}
	if n > maxEdits {
		return unsupportedf("edit list with %d entries, more than %d", n, maxEdits)
	}
	t.hasElst = true
	t.edits = make([]mp4Edit, n)
	for i := range t.edits {
		e := p[8+i*size:]
		if v == 1 {
			d := be.Uint64(e)
			if d > math.MaxInt64 {
				return corruptf("elst entry %d at offset %d has duration %d", i, at, d)
			}
			t.edits[i] = mp4Edit{duration: int64(d), time: int64(be.Uint64(e[8:]))}
		} else {
			t.edits[i] = mp4Edit{duration: int64(be.Uint32(e)), time: int64(int32(be.Uint32(e[4:])))}
		}
	}
	return nil
}

// describe fills the codec fields of ix from the track's first sample entry.
func (t *mp4Track) describe(ix *Index) error {
	if t.entry == nil {
		return corruptf("video track %d has no sample description", t.id)
	}
	var cfgType string
	switch t.entryType {
	case "avc1", "avc3":
		ix.Codec, cfgType = CodecH264, "avcC"
	case "hvc1", "hev1", "dvh1", "dvhe":
		ix.Codec, cfgType = CodecH265, "hvcC"
	case "encv":
		return unsupportedf("the first video track is encrypted (encv)")
	default:
		return unsupportedf("the first video track is %s, not H.264 or H.265", fourcc(t.entryType))
	}
	// VisualSampleEntry: 78 bytes after the box header, then child boxes.
	if len(t.entry) < 78 {
		return corruptf("%s sample entry is %d bytes, too short", t.entryType, len(t.entry))
	}
	ix.Width, ix.Height = int(be.Uint16(t.entry[24:])), int(be.Uint16(t.entry[26:]))
	err := eachBox(t.entry[78:], 0, func(typ string, p []byte, _ int64) error {
		if typ == cfgType && ix.CodecConfig == nil {
			ix.CodecConfig = append([]byte(nil), p...)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if ix.CodecConfig == nil {
		return corruptf("%s sample entry without %s", t.entryType, cfgType)
	}
	return setLengthSize(ix, ix.CodecConfig, cfgType)
}

// setLengthSize reads the NAL length size from an avcC or hvcC record.
func setLengthSize(ix *Index, cfg []byte, cfgType string) error {
	var b byte
	switch {
	case ix.Codec == CodecH264 && len(cfg) >= 5:
		b = cfg[4]
	case ix.Codec == CodecH265 && len(cfg) >= 23:
		b = cfg[21]
	default:
		return corruptf("%s record of %d bytes, too short", cfgType, len(cfg))
	}
	if cfg[0] != 1 {
		return unsupportedf("%s record version %d", cfgType, cfg[0])
	}
	ix.NALLengthSize = int(b&3) + 1
	if ix.NALLengthSize == 3 {
		return corruptf("%s record gives NAL lengths of 3 bytes, which decoders refuse", cfgType)
	}
	return nil
}
