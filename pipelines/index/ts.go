package index

import (
	"bufio"
	"fmt"
	"io"
	"math"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
)

// MPEG-TS (ISO/IEC 13818-1): one pass over the transport packets. The PAT names the first
// program's PMT, the PMT its first video stream, and each PES packet on that stream is one
// sample (one access unit, as every muxer we know writes them). Keyframes are found the way
// ffmpeg's parsers find them: an H.264 IDR slice or recovery point SEI, an H.265 IRAP picture.

const (
	tsPacket    = 188
	tsClock     = 90000
	tsWrap      = int64(1) << 33
	maxSection  = 4096 + 3
	maxNALKept  = 4096 // bytes of an SPS or SEI NAL unit kept for parsing
	tsPESHeader = 9
)

// tsReader is the state of one pass.
type tsReader struct {
	ix       *Index
	pktSize  int
	pat, pmt tsSection
	pmtPID   int // -1 until the PAT is read
	videoPID int // -1 until the PMT is read
	pes      *tsPES
	nal      nalScanner
	lastPTS  int64
	lastDTS  int64
	have     bool
	vcl      []uint8 // first VCL NAL type per sample (H.265), for hideLeadingRASL
	dims     bool
	noPTS    int64 // offset of the first PES without a PTS, -1 for none
}

// tsSection gathers a PSI section that may span packets.
type tsSection struct {
	buf  []byte
	open bool
	done bool
}

// tsPES is the video PES packet being read.
type tsPES struct {
	off, end int64 // first packet's offset, end of the last packet's
	hdr      []byte
	hdrDone  bool
	pts, dts int64
	hasPTS   bool
	hasDTS   bool
}

func buildTS(f *file, pktSize, syncAt int) (*Index, error) {
	t := &tsReader{
		ix:       &Index{Container: ContainerMPEGTS, Timescale: tsClock, PacketSize: pktSize},
		pktSize:  pktSize,
		pmtPID:   -1,
		videoPID: -1,
		noPTS:    -1,
	}
	r := bufio.NewReaderSize(io.NewSectionReader(f.r, 0, f.size), 1<<20)
	buf := make([]byte, pktSize)
	n := f.size / int64(pktSize)
	for i := int64(0); i < n; i++ {
		off := i * int64(pktSize)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, fmt.Errorf("index: read transport packet at offset %d: %w", off, err)
		}
		p := buf[syncAt : syncAt+tsPacket]
		if p[0] != 0x47 {
			return nil, corruptf("transport packet at offset %d has no sync byte", off+int64(syncAt))
		}
		if err := t.packet(off, p); err != nil {
			return nil, err
		}
	}
	if rest := f.size % int64(pktSize); rest != 0 {
		t.ix.warnf("ignored a partial transport packet of %d bytes at the end (a truncated recording?)", rest)
	}
	if err := t.endPES(); err != nil {
		return nil, err
	}
	switch {
	case t.pmtPID < 0:
		return nil, unsupportedf("MPEG-TS without a program association table")
	case t.videoPID < 0:
		return nil, unsupportedf("MPEG-TS whose first program has no video stream")
	case t.noPTS >= 0:
		return nil, unsupportedf("video PES packet at offset %d has no PTS", t.noPTS)
	}
	t.hideLeadingRASL()
	return t.ix, nil
}

func (t *tsReader) packet(off int64, p []byte) error {
	pusi := p[1]&0x40 != 0
	pid := int(p[1]&0x1f)<<8 | int(p[2])
	afc := p[3] >> 4 & 3
	var payload []byte
	switch afc {
	case 1:
		payload = p[4:]
	case 3:
		if n := int(p[4]); n <= 183 {
			payload = p[5+n:]
		}
	}
	switch {
	case pid == 0 && !t.pat.done:
		t.pat.add(payload, pusi)
		if s := t.pat.complete(); s != nil {
			t.readPAT(s)
		}
	case pid == t.pmtPID && !t.pmt.done:
		t.pmt.add(payload, pusi)
		if s := t.pmt.complete(); s != nil {
			return t.readPMT(s)
		}
	case pid == t.videoPID:
		return t.video(off, payload, pusi)
	}
	return nil
}

func (s *tsSection) add(payload []byte, pusi bool) {
	if pusi {
		if len(payload) == 0 || int(payload[0])+1 > len(payload) {
			s.open = false
			return
		}
		payload = payload[1+int(payload[0]):]
		s.buf, s.open = s.buf[:0], true
	}
	if s.open && len(s.buf) < maxSection {
		s.buf = append(s.buf, payload[:min(len(payload), maxSection-len(s.buf))]...)
	}
}

// complete returns the section once all of it is there and its CRC holds; a bad section is
// dropped and the next one awaited.
func (s *tsSection) complete() []byte {
	if !s.open || len(s.buf) < 3 {
		return nil
	}
	n := 3 + (int(s.buf[1]&0x0f)<<8 | int(s.buf[2]))
	if len(s.buf) < n {
		return nil
	}
	s.open = false
	if n < 12 || crc32MPEG(s.buf[:n]) != 0 {
		return nil
	}
	return s.buf[:n]
}

func (t *tsReader) readPAT(s []byte) {
	if s[0] != 0 {
		return
	}
	for i := 8; i+4 <= len(s)-4; i += 4 {
		program, pid := int(s[i])<<8|int(s[i+1]), int(s[i+2]&0x1f)<<8|int(s[i+3])
		if program != 0 {
			t.pmtPID = pid
			t.pat.done = true
			return
		}
	}
}

func (t *tsReader) readPMT(s []byte) error {
	if s[0] != 2 {
		return nil
	}
	t.pmt.done = true
	i := 12 + (int(s[10]&0x0f)<<8 | int(s[11]))
	for i+5 <= len(s)-4 {
		kind, pid := s[i], int(s[i+1]&0x1f)<<8|int(s[i+2])
		i += 5 + (int(s[i+3]&0x0f)<<8 | int(s[i+4]))
		switch kind {
		case 0x1b:
			t.ix.Codec = CodecH264
		case 0x24:
			t.ix.Codec = CodecH265
		case 0x01, 0x02, 0x10, 0x20, 0x33, 0x42, 0xd1, 0xea:
			return unsupportedf("the first video stream of the MPEG-TS has stream type 0x%02x, not H.264 or H.265", kind)
		default:
			continue
		}
		t.videoPID = pid
		t.nal.codec = t.ix.Codec
		return nil
	}
	return nil
}

func (t *tsReader) video(off int64, payload []byte, pusi bool) error {
	if pusi {
		if err := t.endPES(); err != nil {
			return err
		}
		if len(t.ix.Samples) >= MaxSamples {
			return unsupportedf("video stream of more than %d PES packets", MaxSamples)
		}
		t.pes = &tsPES{off: off}
		t.nal.reset()
	}
	p := t.pes
	if p == nil {
		return nil // joined the stream mid-packet
	}
	p.end = off + int64(t.pktSize)
	if !p.hdrDone {
		// The header is 9 bytes and then as many as its last byte says; it may span packets.
		for len(payload) > 0 && len(p.hdr) < p.headerSize() {
			take := min(len(payload), p.headerSize()-len(p.hdr))
			p.hdr = append(p.hdr, payload[:take]...)
			payload = payload[take:]
		}
		if len(p.hdr) < p.headerSize() {
			return nil
		}
		p.hdrDone = true
		p.parseHeader()
	}
	t.nal.feed(payload)
	return nil
}

// headerSize is the size of the PES header as far as it is known.
func (p *tsPES) headerSize() int {
	if len(p.hdr) < tsPESHeader {
		return tsPESHeader
	}
	return tsPESHeader + int(p.hdr[8])
}

// parseHeader reads PTS and DTS from a PES header (ISO/IEC 13818-1 2.4.3.7).
func (p *tsPES) parseHeader() {
	h := p.hdr
	if h[0] != 0 || h[1] != 0 || h[2] != 1 {
		return
	}
	flags := h[7] >> 6
	if flags&2 != 0 && len(h) >= 14 {
		p.pts, p.hasPTS = tsTimestamp(h[9:]), true
		if flags == 3 && len(h) >= 19 {
			p.dts, p.hasDTS = tsTimestamp(h[14:]), true
		}
	}
}

func tsTimestamp(b []byte) int64 {
	return int64(b[0]>>1&7)<<30 | int64(b[1])<<22 | int64(b[2]>>1)<<15 | int64(b[3])<<7 | int64(b[4]>>1)
}

// unwrap places a 33-bit timestamp next to the one before it, across wraparounds.
func unwrap(prev, raw int64, have bool) int64 {
	if !have {
		return raw
	}
	v := prev&^(tsWrap-1) + raw
	if v < prev-tsWrap/2 {
		v += tsWrap
	} else if v > prev+tsWrap/2 {
		v -= tsWrap
	}
	return v
}

func (t *tsReader) endPES() error {
	p := t.pes
	if p == nil {
		return nil
	}
	t.pes = nil
	t.nal.end()
	if !p.hasPTS {
		if t.noPTS < 0 {
			t.noPTS = p.off
		}
		return nil
	}
	size := p.end - p.off
	if size > math.MaxInt32 {
		return unsupportedf("video PES packet at offset %d spans %d bytes", p.off, size)
	}
	pts := unwrap(t.lastPTS, p.pts, t.have)
	dts := pts
	if p.hasDTS {
		dts = unwrap(t.lastDTS, p.dts, t.have)
	}
	t.lastPTS, t.lastDTS, t.have = pts, dts, true
	n := &t.nal
	key := n.irap || n.idr || (n.recovery && n.slice)
	t.ix.Samples = append(t.ix.Samples, Sample{Offset: p.off, Size: int32(size), DTS: dts, PTS: pts, Key: key})
	t.vcl = append(t.vcl, n.firstVCL)
	if !t.dims && n.sps != nil {
		t.dims = true
		t.ix.Width, t.ix.Height = spsDims(t.ix.Codec, n.sps)
	}
	return nil
}

// hideLeadingRASL hides the RASL pictures of a stream that starts at an H.265 CRA or BLA
// picture, as Index.hideLeadingRASL does for length-prefixed samples.
func (t *tsReader) hideLeadingRASL() {
	if t.ix.Codec != CodecH265 {
		return
	}
	s := t.ix.Samples
	for i := range s {
		if !s[i].Key {
			continue
		}
		if v := t.vcl[i]; v < h265NALBLAWLP || v == h265NALIDRWRADL || v == h265NALIDRNLP || v > h265NALCRA {
			return
		}
		for j := i + 1; j < len(s) && j <= i+maxRASLLookahead && !s[j].Key; j++ {
			if t.vcl[j] == h265NALRASLN || t.vcl[j] == h265NALRASLR {
				s[j].Frame = -1
			}
		}
		return
	}
}

// spsDims returns the picture size a sequence parameter set gives, 0x0 when it cannot be
// parsed. The parser is a library's: a panic in it on hostile bytes costs only the size.
func spsDims(codec string, nal []byte) (w, h int) {
	defer func() {
		if recover() != nil {
			w, h = 0, 0
		}
	}()
	if codec == CodecH264 {
		var s h264.SPS
		if s.Unmarshal(nal) == nil {
			w, h = s.Width(), s.Height()
		}
	} else {
		var s h265.SPS
		if s.Unmarshal(nal) == nil {
			w, h = s.Width(), s.Height()
		}
	}
	// Cropping in a hostile SPS can make the size negative.
	if w <= 0 || h <= 0 || w > 1<<16 || h > 1<<16 {
		return 0, 0
	}
	return w, h
}

// nalScanner finds the NAL units of an Annex B access unit fed to it in pieces, and notes what
// makes it a keyframe.
type nalScanner struct {
	codec    string
	zeros    int
	expect   bool // the next byte is a NAL header
	keep     bool // cur is being gathered
	cur      []byte
	typ      uint8
	idr      bool // H.264 IDR slice
	recovery bool // H.264 recovery point SEI
	slice    bool // H.264 slice of any kind
	irap     bool // H.265 IRAP picture
	firstVCL uint8
	vclSeen  bool
	sps      []byte // the first SPS of the access unit
}

func (n *nalScanner) reset() {
	n.zeros, n.expect, n.keep = 0, false, false
	n.idr, n.recovery, n.slice, n.irap, n.vclSeen = false, false, false, false, false
	n.firstVCL, n.sps = 0, nil
}

func (n *nalScanner) feed(b []byte) {
	for _, c := range b {
		if n.expect {
			n.expect = false
			n.begin(c)
			n.zeros = 0
			continue
		}
		if n.keep && len(n.cur) < maxNALKept {
			n.cur = append(n.cur, c)
		}
		if c == 0 {
			n.zeros++
			continue
		}
		if c == 1 && n.zeros >= 2 {
			if n.keep && len(n.cur) < maxNALKept {
				// Drop the start code gathered with the NAL unit.
				n.cur = n.cur[:max(len(n.cur)-n.zeros-1, 1)]
			}
			n.end()
			n.expect = true
		}
		n.zeros = 0
	}
}

// begin starts a NAL unit whose header's first byte is c.
func (n *nalScanner) begin(c byte) {
	n.keep = false
	if n.codec == CodecH264 {
		n.typ = c & 0x1f
		switch {
		case n.typ == h264NALIDR:
			n.idr, n.slice = true, true
		case n.typ >= 1 && n.typ <= 5:
			n.slice = true
		case n.typ == h264NALSEI, n.typ == h264NALSPS && n.sps == nil:
			n.keep = true
		}
	} else {
		n.typ = c >> 1 & 0x3f
		switch {
		case n.typ <= h265NALVCLLast:
			if !n.vclSeen {
				n.vclSeen, n.firstVCL = true, n.typ
				n.irap = n.typ >= h265NALBLAWLP && n.typ <= h265NALIRAPLast
			}
		case n.typ == h265NALSPS && n.sps == nil:
			n.keep = true
		}
	}
	if n.keep {
		n.cur = append(n.cur[:0], c)
	}
}

// end finishes the NAL unit being gathered.
func (n *nalScanner) end() {
	if !n.keep {
		return
	}
	n.keep = false
	b := n.cur
	switch {
	case n.codec == CodecH264 && n.typ == h264NALSEI:
		if seiHasRecoveryPoint(h264.EmulationPreventionRemove(b[1:])) {
			n.recovery = true
		}
	case n.sps == nil:
		n.sps = append([]byte(nil), b...)
	}
}

// seiHasRecoveryPoint reports whether an H.264 SEI RBSP holds a recovery point message
// (H.264 7.3.2.3.1, D.1.8).
func seiHasRecoveryPoint(b []byte) bool {
	for len(b) > 0 && b[0] != 0x80 {
		typ, size := 0, 0
		for len(b) > 0 && b[0] == 0xff {
			typ += 255
			b = b[1:]
		}
		if len(b) == 0 {
			return false
		}
		typ += int(b[0])
		b = b[1:]
		for len(b) > 0 && b[0] == 0xff {
			size += 255
			b = b[1:]
		}
		if len(b) == 0 {
			return false
		}
		size += int(b[0])
		b = b[1:]
		if typ == h264SEIRecovery {
			return true
		}
		if size > len(b) {
			return false
		}
		b = b[size:]
	}
	return false
}

// crc32MPEG is the CRC-32 of MPEG-2 sections (polynomial 0x04C11DB7, MSB first, no final
// XOR); a section followed by its CRC gives 0.
func crc32MPEG(b []byte) uint32 {
	crc := uint32(0xffffffff)
	for _, c := range b {
		crc ^= uint32(c) << 24
		for i := 0; i < 8; i++ {
			if crc&0x80000000 != 0 {
				crc = crc<<1 ^ 0x04c11db7
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
