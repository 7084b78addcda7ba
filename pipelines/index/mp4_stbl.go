package index

import "math"

// mp4Table is a track's samples in file order, expanded from the sample table boxes, the way
// ffmpeg's mov_build_index lists them.
type mp4Table struct {
	off   []int64
	size  []int32
	dts   []int64 // from 0, less shift, as ffmpeg's index timestamps
	dur   []int64 // stts delta (the last sample's is its own delta)
	ctts  []int32 // composition offsets, nil without ctts
	key   []bool
	shift int64 // ffmpeg's dts_shift: the largest negative composition offset, negated
	// lastDur is the duration of the last sample added, for Index.Duration.
	lastDur int64
}

// sampleTable expands the track's sample table, checking every count against the others and
// every sample against the file.
func (t *mp4Track) sampleTable(f *file) (*mp4Table, error) {
	if t.entries > 1 {
		if err := t.checkOneDescription(); err != nil {
			return nil, err
		}
	}
	n, sizeOf, err := t.sampleSizes(f)
	if err != nil {
		return nil, err
	}
	tab := &mp4Table{
		off:  make([]int64, n),
		size: make([]int32, n),
		dts:  make([]int64, n),
		dur:  make([]int64, n),
		key:  make([]bool, n),
	}
	for i := 0; i < n; i++ {
		tab.size[i] = sizeOf(i)
	}
	if err := t.chunks(f, tab); err != nil {
		return nil, err
	}
	if err := t.times(tab); err != nil {
		return nil, err
	}
	if err := t.syncSamples(tab); err != nil {
		return nil, err
	}
	return tab, nil
}

// checkOneDescription refuses a track whose samples use a sample description other than the
// first (the codec could change mid-track).
func (t *mp4Track) checkOneDescription() error {
	p := t.stsc
	if len(p) < 8 {
		return nil // sampleTable reports it
	}
	n := int(be.Uint32(p[4:]))
	for i := 0; i < n && 8+12*i+12 <= len(p); i++ {
		if sdi := be.Uint32(p[8+12*i+8:]); sdi != 1 {
			return unsupportedf("the video track's samples use sample description %d of %d; only one is supported", sdi, t.entries)
		}
	}
	return nil
}

// sampleSizes returns the number of samples and their sizes from stsz or stz2.
func (t *mp4Track) sampleSizes(f *file) (int, func(int) int32, error) {
	if p := t.stsz; p != nil {
		if len(p) < 12 {
			return 0, nil, corruptf("stsz box of %d bytes, too short", len(p))
		}
		fixed, count := be.Uint32(p[4:]), be.Uint32(p[8:])
		if count > MaxSamples {
			return 0, nil, unsupportedf("video track of %d samples, more than %d", count, MaxSamples)
		}
		n := int(count)
		if fixed != 0 {
			if fixed > math.MaxInt32 || uint64(fixed)*uint64(count) > uint64(f.size) {
				return 0, nil, corruptf("stsz claims %d samples of %d bytes, more than the file's %d bytes", count, fixed, f.size)
			}
			return n, func(int) int32 { return int32(fixed) }, nil
		}
		if uint64(len(p)-12) < 4*uint64(count) {
			return 0, nil, corruptf("stsz claims %d samples but holds only %d entries", count, (len(p)-12)/4)
		}
		for i := 0; i < n; i++ {
			if s := be.Uint32(p[12+4*i:]); s > math.MaxInt32 {
				return 0, nil, corruptf("stsz entry %d gives a sample of %d bytes", i, s)
			}
		}
		return n, func(i int) int32 { return int32(be.Uint32(p[12+4*i:])) }, nil
	}
	if p := t.stz2; p != nil {
		if len(p) < 12 {
			return 0, nil, corruptf("stz2 box of %d bytes, too short", len(p))
		}
		bits, count := int(p[7]), be.Uint32(p[8:])
		if bits != 4 && bits != 8 && bits != 16 {
			return 0, nil, corruptf("stz2 field size %d (4, 8 or 16 allowed)", bits)
		}
		if count > MaxSamples {
			return 0, nil, unsupportedf("video track of %d samples, more than %d", count, MaxSamples)
		}
		if uint64(len(p)-12)*8 < uint64(bits)*uint64(count) {
			return 0, nil, corruptf("stz2 claims %d samples but holds fewer entries", count)
		}
		e := p[12:]
		return int(count), func(i int) int32 {
			switch bits {
			case 4:
				b := e[i/2]
				if i%2 == 0 {
					return int32(b >> 4)
				}
				return int32(b & 15)
			case 8:
				return int32(e[i])
			}
			return int32(be.Uint16(e[2*i:]))
		}, nil
	}
	if t.stco == nil && t.co64 == nil && t.stts == nil {
		return 0, func(int) int32 { return 0 }, nil // an empty moov of a fragmented file
	}
	return 0, nil, corruptf("video track %d has no stsz or stz2 box", t.id)
}

// chunks places the samples in the file: stsc says how many samples each chunk holds, stco or
// co64 where each chunk starts; samples of a chunk follow each other.
func (t *mp4Track) chunks(f *file, tab *mp4Table) error {
	n := len(tab.off)
	var offs []byte
	width, name := 4, "stco"
	switch {
	case t.stco != nil:
		offs = t.stco
	case t.co64 != nil:
		offs, width, name = t.co64, 8, "co64"
	default:
		if n == 0 {
			return nil
		}
		return corruptf("video track %d has no stco or co64 box", t.id)
	}
	if len(offs) < 8 {
		return corruptf("%s box of %d bytes, too short", name, len(offs))
	}
	chunks := be.Uint32(offs[4:])
	if uint64(len(offs)-8) < uint64(width)*uint64(chunks) {
		return corruptf("%s claims %d chunks but holds only %d entries", name, chunks, (len(offs)-8)/width)
	}
	chunkOff := func(c int) int64 {
		if width == 4 {
			return int64(be.Uint32(offs[8+4*c:]))
		}
		u := be.Uint64(offs[8+8*c:])
		if u > math.MaxInt64 {
			return math.MaxInt64
		}
		return int64(u)
	}
	p := t.stsc
	if p == nil || len(p) < 8 {
		if n == 0 && chunks == 0 {
			return nil
		}
		return corruptf("video track %d has no usable stsc box", t.id)
	}
	runs := be.Uint32(p[4:])
	if uint64(len(p)-8) < 12*uint64(runs) {
		return corruptf("stsc claims %d entries but holds only %d", runs, (len(p)-8)/12)
	}
	first := func(r int) uint32 { return be.Uint32(p[8+12*r:]) }
	perChunk := func(r int) uint32 { return be.Uint32(p[8+12*r+4:]) }
	for r := 0; r < int(runs); r++ {
		if first(r) == 0 || (r > 0 && first(r) <= first(r-1)) {
			return corruptf("stsc entry %d starts at chunk %d, not after the entry before", r, first(r))
		}
	}
	if runs == 0 && n > 0 {
		return corruptf("stsc is empty but stsz lists %d samples", n)
	}
	s, r := 0, 0
	for c := 0; c < int(chunks); c++ {
		for r+1 < int(runs) && uint32(c+1) >= first(r+1) {
			r++
		}
		at := chunkOff(c)
		if at >= f.size {
			return corruptf("%s entry %d at offset %d is past the end of the file (%d bytes)", name, c, at, f.size)
		}
		for k := uint32(0); k < perChunk(r); k++ {
			if s >= n {
				return corruptf("stsc and %s place more samples than stsz's %d (chunk %d)", name, n, c)
			}
			size := int64(tab.size[s])
			if at > f.size-size {
				return corruptf("sample %d (%d bytes at offset %d, %s entry %d) runs past the end of the file (%d bytes)",
					s, size, at, name, c, f.size)
			}
			tab.off[s] = at
			at += size
			s++
		}
	}
	if s != n {
		return corruptf("stsc and %s place %d samples but stsz lists %d", name, s, n)
	}
	return nil
}

// times fills dts and ctts from stts and ctts.
func (t *mp4Track) times(tab *mp4Table) error {
	n := len(tab.dts)
	p := t.stts
	if p == nil {
		if n == 0 {
			return nil
		}
		return corruptf("video track %d has no stts box", t.id)
	}
	if len(p) < 8 {
		return corruptf("stts box of %d bytes, too short", len(p))
	}
	runs := be.Uint32(p[4:])
	if uint64(len(p)-8) < 8*uint64(runs) {
		return corruptf("stts claims %d entries but holds only %d", runs, (len(p)-8)/8)
	}
	// Composition offsets first: they set the shift that all decode times carry.
	if c := t.ctts; c != nil {
		if err := tab.compositionOffsets(c); err != nil {
			return err
		}
	}
	dts := -tab.shift
	s := 0
	for r := 0; r < int(runs); r++ {
		count, delta := be.Uint32(p[8+8*r:]), be.Uint32(p[12+8*r:])
		if delta > math.MaxInt32 {
			return corruptf("stts entry %d has a negative or huge sample delta %d", r, delta)
		}
		if uint64(count) > uint64(n-s) {
			return corruptf("stts counts more samples than stsz's %d", n)
		}
		for k := uint32(0); k < count; k++ {
			tab.dts[s] = dts
			tab.dur[s] = int64(delta)
			dts += int64(delta)
			s++
		}
	}
	if s != n {
		return corruptf("stts counts %d samples but stsz lists %d", s, n)
	}
	if n > 0 {
		tab.lastDur = tab.dur[n-1]
	}
	return nil
}

// compositionOffsets reads ctts. ffmpeg reads the offsets as signed whatever the box version,
// and computes its dts_shift from all entries but the last two.
func (tab *mp4Table) compositionOffsets(p []byte) error {
	n := len(tab.dts)
	if len(p) < 8 {
		return corruptf("ctts box of %d bytes, too short", len(p))
	}
	runs := int(be.Uint32(p[4:]))
	if uint64(len(p)-8) < 8*uint64(runs) {
		return corruptf("ctts claims %d entries but holds only %d", runs, (len(p)-8)/8)
	}
	ctts := make([]int32, n)
	s := 0
	shift := int64(0)
	for r := 0; r < runs; r++ {
		count, off := int32(be.Uint32(p[8+8*r:])), int32(be.Uint32(p[12+8*r:]))
		if count <= 0 {
			continue // ffmpeg ignores them
		}
		if r+2 < runs {
			if off < -(1<<28) || off > 1<<28 {
				tab.ctts = nil // ffmpeg: "CTTS invalid", and carries on without
				return nil
			}
			if off < 0 && -int64(off) > shift {
				shift = -int64(off)
			}
		}
		if int64(count) > int64(n-s) {
			return corruptf("ctts counts more samples than stsz's %d", n)
		}
		for k := int32(0); k < count; k++ {
			ctts[s] = off
			s++
		}
	}
	if s != n {
		return corruptf("ctts counts %d samples but stsz lists %d", s, n)
	}
	tab.ctts, tab.shift = ctts, shift
	return nil
}

// syncSamples sets key from stss (and stps, QuickTime's partial sync samples, which ffmpeg
// also takes as keyframes). Without stss every sample is a sync sample; with an empty one only
// the first is, as in ffmpeg.
func (t *mp4Track) syncSamples(tab *mp4Table) error {
	n := len(tab.key)
	if t.stss == nil {
		for i := range tab.key {
			tab.key[i] = true
		}
		return nil
	}
	for _, b := range []struct {
		p    []byte
		name string
	}{{t.stss, "stss"}, {t.stps, "stps"}} {
		p := b.p
		if p == nil {
			continue
		}
		if len(p) < 8 {
			return corruptf("%s box of %d bytes, too short", b.name, len(p))
		}
		count := be.Uint32(p[4:])
		if uint64(len(p)-8) < 4*uint64(count) {
			return corruptf("%s claims %d entries but holds only %d", b.name, count, (len(p)-8)/4)
		}
		if count == 0 && b.name == "stss" && n > 0 && t.stps == nil {
			tab.key[0] = true
			continue
		}
		// Sample numbers count from 1; ffmpeg takes a table starting at 0 as counting from 0.
		base := uint32(1)
		if count > 0 && be.Uint32(p[8:]) == 0 {
			base = 0
		}
		prev := int64(-1)
		for i := 0; i < int(count); i++ {
			v := be.Uint32(p[8+4*i:])
			s := int64(v) - int64(base)
			if s < 0 || s >= int64(n) {
				return corruptf("%s entry %d names sample %d of %d", b.name, i, v, n)
			}
			if s <= prev {
				return corruptf("%s entry %d (sample %d) is not after the entry before", b.name, i, v)
			}
			prev = s
			tab.key[s] = true
		}
	}
	return nil
}

// mp4Entry is one sample of ffmpeg's rebuilt index: which file sample, at which decode time,
// and whether its picture is shown.
type mp4Entry struct {
	src     int32
	dts     int64
	discard bool
}

// applyEntries lists the samples in ix: the edit list's entries, or every sample when entries
// is nil. PTS is DTS plus the shift plus the composition offset, as ffmpeg's mov_read_packet.
func (tab *mp4Table) applyEntries(ix *Index, entries []mp4Entry) {
	pts := func(src int, dts int64) int64 {
		if tab.ctts == nil {
			return dts
		}
		return dts + tab.shift + int64(tab.ctts[src])
	}
	if entries == nil {
		ix.Samples = make([]Sample, len(tab.off))
		for i := range tab.off {
			ix.Samples[i] = Sample{
				Offset: tab.off[i], Size: tab.size[i], DTS: tab.dts[i],
				PTS: pts(i, tab.dts[i]), Key: tab.key[i],
			}
		}
		return
	}
	ix.Samples = make([]Sample, len(entries))
	for i, e := range entries {
		s := int(e.src)
		ix.Samples[i] = Sample{
			Offset: tab.off[s], Size: tab.size[s], DTS: e.dts,
			PTS: pts(s, e.dts), Key: tab.key[s],
		}
		if e.discard {
			ix.Samples[i].Frame = -1
		}
	}
}

// duration is the time from the first shown picture to the end of the last, with the last
// sample's own duration.
func (tab *mp4Table) duration(ix *Index) int64 {
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for i := range ix.Samples {
		s := &ix.Samples[i]
		if s.Frame < 0 {
			continue
		}
		lo, hi = min(lo, s.PTS), max(hi, s.PTS)
	}
	if lo > hi {
		return 0
	}
	return hi - lo + tab.lastDur
}
