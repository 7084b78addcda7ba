package fanout

import (
	"time"

	"github.com/pion/rtp/codecs"

	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/signaling/peer"
)

// rtpPayloadMTU is the largest RTP payload the hub makes: Pion's 1200-byte packets less the
// 12-byte RTP header, which keeps SRTP packets under every path MTU seen in practice.
const rtpPayloadMTU = 1200 - 12

// RTPTimestamp is the RTP timestamp a viewer receives for a live access unit with this PTS:
// the PTS in 90 kHz ticks, rounded to the nearest, wrapping at 2^32 (RFC 3550 section 5.1).
// Rounding matters: 1/15 s is 66666666 ns, which must be 6000 ticks, not 5999.
func RTPTimestamp(pts time.Duration) uint32 {
	// Whole seconds and the rest apart, so that the product never overflows.
	const second = int64(time.Second)
	sec, rest := int64(pts)/second, int64(pts)%second
	scaled := rest*peer.H264ClockRate + second/2
	ticks := scaled / second
	if scaled%second < 0 {
		ticks-- // floor, for PTS before zero
	}
	return uint32(sec*peer.H264ClockRate + ticks)
}

// frame is one access unit packetized for RTP. It is immutable once made: every viewer's
// writer reads the same payloads, each putting its own header in front.
type frame struct {
	serial    uint64 // consecutive from 1 in the hub's order
	timestamp uint32 // RTPTimestamp(PTS)
	keyframe  bool
	payloads  [][]byte // in order; the last one ends the picture (marker bit)
	size      int      // bytes in payloads
	captured  time.Time
}

// packetizer turns access units into frames. The H.264 payloader keeps state across calls
// (parameter sets waiting for the next NAL unit to share a STAP-A), so one packetizer serves
// one stream, from the hub's goroutine only.
type packetizer struct {
	payloader codecs.H264Payloader
	serial    uint64
}

// packetize returns au as a frame, or nil when it holds no NAL unit worth sending.
func (p *packetizer) packetize(au media.AccessUnit) *frame {
	payloads := p.payloader.Payload(rtpPayloadMTU, au.Data)
	if len(payloads) == 0 {
		return nil
	}
	size := 0
	for _, pl := range payloads {
		size += len(pl)
	}
	p.serial++
	return &frame{
		serial:    p.serial,
		timestamp: RTPTimestamp(au.PTS),
		keyframe:  au.Keyframe,
		payloads:  payloads,
		size:      size,
		captured:  au.Captured,
	}
}

// gop is a snapshot of the keyframe cache: frames[0] is a keyframe and the serials that follow
// are consecutive, so the frames decode from scratch to the newest picture. Snapshots are
// immutable; the hub publishes a new one for every access unit.
type gop struct {
	frames []*frame
	bytes  int
}

func (g *gop) newest() *frame { return g.frames[len(g.frames)-1] }

// gopCache is the hub's side of the keyframe cache.
type gopCache struct {
	frames    []*frame
	bytes     int
	valid     bool // frames start at a keyframe and no limit has been passed since
	maxFrames int
	maxBytes  int
}

// add extends the cache with f and returns the snapshot to publish: nil while there is no
// usable group (before the first keyframe, or after the group outgrew the limits).
func (c *gopCache) add(f *frame) *gop {
	switch {
	case f.keyframe:
		// A fresh array: snapshots of the old group still point into the old one.
		c.frames = append(make([]*frame, 0, 2*len(c.frames)+1), f)
		c.bytes = f.size
		c.valid = true
	case !c.valid:
		return nil
	case len(c.frames)+1 > c.maxFrames || c.bytes+f.size > c.maxBytes:
		// A new viewer would wait for the next keyframe rather than get a burst this big.
		c.frames, c.bytes, c.valid = nil, 0, false
		return nil
	default:
		// Appending writes past every published snapshot's length, so readers never see it.
		c.frames = append(c.frames, f)
		c.bytes += f.size
	}
	n := len(c.frames)
	return &gop{frames: c.frames[:n:n], bytes: c.bytes}
}
