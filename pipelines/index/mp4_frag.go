package index

import (
	"math"
	"math/bits"
)

// Fragmented MP4 (ISO/IEC 14496-12 8.8): after the moov, moof boxes each describe runs of
// samples (trun) per track (traf), with defaults in tfhd and, failing those, in mvex/trex.

// tfhd and trun flags.
const (
	tfhdBaseDataOffset    = 0x000001
	tfhdSampleDescription = 0x000002
	tfhdDefaultDuration   = 0x000008
	tfhdDefaultSize       = 0x000010
	tfhdDefaultFlags      = 0x000020
	tfhdDefaultBaseIsMoof = 0x020000

	trunDataOffset       = 0x000001
	trunFirstSampleFlags = 0x000004
	trunDuration         = 0x000100
	trunSize             = 0x000200
	trunFlags            = 0x000400
	trunCompositionTime  = 0x000800

	// A sample that is not a sync sample, or depends on others: ffmpeg counts either as not
	// a keyframe.
	sampleIsNonSync   = 0x00010000
	sampleDependsOnYe = 0x01000000
)

// fragSample is a sample read from a trun, before its PTS is known.
type fragSample struct {
	off  int64
	size int32
	dts  int64
	cto  int32
	key  bool
}

// readFragments appends the video track's samples from every moof to ix.Samples. Decode times
// come from tfdt less the edit list's time offset (ffmpeg's sc->time_offset) or follow on from
// the samples before; the edit list is not otherwise applied to fragments, as in ffmpeg.
func readFragments(f *file, ix *Index, tr *mp4Track, trex mp4Trex, moofs []int64, tab *mp4Table, timeOffset int64) error {
	next := int64(0)
	if n := len(tab.dts); n > 0 {
		next = tab.dts[n-1] + tab.dur[n-1]
	}
	var samples []fragSample
	shift := tab.shift
	for _, at := range moofs {
		h, err := f.read(at, 16)
		if err != nil {
			h, err = f.read(at, 8)
			if err != nil {
				return err
			}
		}
		size, hdr := int64(be.Uint32(h)), 8
		if size == 1 {
			if len(h) < 16 {
				return corruptf("moof at offset %d cut short", at)
			}
			size, hdr = int64(be.Uint64(h[8:])), 16
		} else if size == 0 {
			size = f.size - at
		}
		if size-int64(hdr) > maxMoof {
			return unsupportedf("moof box at offset %d of %d bytes, more than %d", at, size, maxMoof)
		}
		moof, err := f.read(at+int64(hdr), int(size)-hdr)
		if err != nil {
			return err
		}
		implicit := at // where a traf's data starts when tfhd names no base
		err = eachBox(moof, at+int64(hdr), func(typ string, p []byte, trafAt int64) error {
			if typ != "traf" {
				return nil
			}
			got, end, err := readTraf(f, p, trafAt, at, implicit, tr.id, trex, &next, timeOffset,
				MaxSamples-len(ix.Samples)-len(samples))
			if err != nil {
				return err
			}
			implicit = end
			for _, s := range got {
				if s.cto < 0 && -int64(s.cto) > shift {
					shift = -int64(s.cto)
				}
			}
			samples = append(samples, got...)
			if len(got) > 0 {
				tab.lastDur = next - got[len(got)-1].dts
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, s := range samples {
		ix.Samples = append(ix.Samples, Sample{
			Offset: s.off, Size: s.size, DTS: s.dts, PTS: s.dts + shift + int64(s.cto), Key: s.key,
		})
	}
	return nil
}

// readTraf reads one traf: the samples of track id, if it is that track's, and where its data
// ends (the implicit base of the next traf).
func readTraf(f *file, traf []byte, trafAt, moofAt, implicit int64, id uint32, trex mp4Trex,
	next *int64, timeOffset int64, room int) ([]fragSample, int64, error) {
	var (
		tfhd  []byte
		tfdt  = int64(-1)
		truns [][]byte
	)
	err := eachBox(traf, trafAt+8, func(typ string, p []byte, at int64) error {
		switch typ {
		case "tfhd":
			if tfhd == nil {
				tfhd = p
			}
		case "tfdt":
			if len(p) < 8 {
				return corruptf("tfdt box at offset %d is %d bytes, too short", at, len(p))
			}
			if p[0] == 1 {
				if len(p) < 12 {
					return corruptf("tfdt box at offset %d is %d bytes, too short", at, len(p))
				}
				u := be.Uint64(p[4:])
				if u > math.MaxInt64/2 {
					return corruptf("tfdt at offset %d gives decode time %d", at, u)
				}
				tfdt = int64(u)
			} else {
				tfdt = int64(be.Uint32(p[4:]))
			}
		case "trun":
			truns = append(truns, p)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	if len(tfhd) < 8 {
		return nil, 0, corruptf("traf at offset %d without a usable tfhd", trafAt)
	}
	flags, track := be.Uint32(tfhd)&0xffffff, be.Uint32(tfhd[4:])
	// Optional tfhd fields follow in flag order.
	p := tfhd[8:]
	field := func(n int) (uint64, error) {
		if len(p) < n {
			return 0, corruptf("tfhd at offset %d is cut short", trafAt)
		}
		var v uint64
		if n == 8 {
			v = be.Uint64(p)
		} else {
			v = uint64(be.Uint32(p))
		}
		p = p[n:]
		return v, nil
	}
	base := implicit
	if flags&tfhdDefaultBaseIsMoof != 0 {
		base = moofAt
	}
	def := trex
	for _, fl := range []struct {
		bit uint32
		n   int
		set func(uint64)
	}{
		{tfhdBaseDataOffset, 8, func(v uint64) { base = int64(min(v, math.MaxInt64/2)) }},
		{tfhdSampleDescription, 4, func(v uint64) { def.sdi = uint32(v) }},
		{tfhdDefaultDuration, 4, func(v uint64) { def.duration = uint32(v) }},
		{tfhdDefaultSize, 4, func(v uint64) { def.size = uint32(v) }},
		{tfhdDefaultFlags, 4, func(v uint64) { def.flags = uint32(v) }},
	} {
		if flags&fl.bit == 0 {
			continue
		}
		v, err := field(fl.n)
		if err != nil {
			return nil, 0, err
		}
		fl.set(v)
	}
	mine := track == id
	if mine && def.sdi > 1 {
		return nil, 0, unsupportedf("fragment at offset %d uses sample description %d; only one is supported", moofAt, def.sdi)
	}
	var out []fragSample
	if mine && tfdt >= 0 {
		*next = tfdt - timeOffset
	}
	end := base
	for ti, t := range truns {
		if len(t) < 8 {
			return nil, 0, corruptf("trun %d of the traf at offset %d is %d bytes, too short", ti, trafAt, len(t))
		}
		tflags, count := be.Uint32(t)&0xffffff, be.Uint32(t[4:])
		q := t[8:]
		off := base
		if tflags&trunDataOffset != 0 {
			if len(q) < 4 {
				return nil, 0, corruptf("trun at offset %d cut short", trafAt)
			}
			off = base + int64(int32(be.Uint32(q)))
			q = q[4:]
		}
		first, hasFirst := uint32(0), tflags&trunFirstSampleFlags != 0
		if hasFirst {
			if len(q) < 4 {
				return nil, 0, corruptf("trun at offset %d cut short", trafAt)
			}
			first, q = be.Uint32(q), q[4:]
		}
		per := 4 * bits.OnesCount32(tflags&(trunDuration|trunSize|trunFlags|trunCompositionTime))
		if per > 0 && uint64(count)*uint64(per) > uint64(len(q)) {
			return nil, 0, corruptf("trun at offset %d claims %d samples but holds %d bytes of entries", trafAt, count, len(q))
		}
		if mine && int64(count) > int64(room-len(out)) {
			return nil, 0, unsupportedf("fragments add up to more than %d samples", MaxSamples)
		}
		if !mine && per == 0 {
			// Another track's run: only its data's end matters.
			sz := int64(def.size) * int64(count)
			if sz > f.size {
				return nil, 0, corruptf("trun at offset %d claims %d samples of %d bytes, more than the file", trafAt, count, def.size)
			}
			end = off + sz
			continue
		}
		for i := uint32(0); i < count; i++ {
			dur, size, sflags, cto := def.duration, def.size, def.flags, uint32(0)
			if tflags&trunDuration != 0 {
				dur, q = be.Uint32(q), q[4:]
			}
			if tflags&trunSize != 0 {
				size, q = be.Uint32(q), q[4:]
			}
			if tflags&trunFlags != 0 {
				sflags, q = be.Uint32(q), q[4:]
			}
			if tflags&trunCompositionTime != 0 {
				cto, q = be.Uint32(q), q[4:]
			}
			if i == 0 && hasFirst {
				sflags = first
			}
			if size > 0x3FFFFFFF {
				return nil, 0, corruptf("trun at offset %d gives a sample of %d bytes", trafAt, size)
			}
			if off < 0 || off > f.size-int64(size) {
				if !mine {
					return nil, 0, corruptf("another track's sample at offset %d (%d bytes) is past the end of the file (%d bytes)", off, size, f.size)
				}
				return nil, 0, corruptf("fragment sample at offset %d (%d bytes, trun at offset %d) is past the end of the file (%d bytes)",
					off, size, trafAt, f.size)
			}
			if mine {
				if dur > math.MaxInt32 {
					return nil, 0, corruptf("trun at offset %d gives a negative or huge sample duration %d", trafAt, dur)
				}
				out = append(out, fragSample{
					off: off, size: int32(size), dts: *next, cto: int32(cto),
					key: sflags&(sampleIsNonSync|sampleDependsOnYe) == 0,
				})
				*next += int64(dur)
			}
			off += int64(size)
		}
		end = off
	}
	return out, end, nil
}
