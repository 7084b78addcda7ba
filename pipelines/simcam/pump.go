package simcam

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

const (
	// pullWait bounds how long the pump blocks on the appsink before it looks at its context.
	pullWait = 100 * time.Millisecond
	// retryDelay is the pause before a failed source is built again.
	retryDelay = time.Second
	// lateResync: a file paced this far behind the wall clock (the machine was busy) starts
	// its pacing over from now instead of sending a burst to catch up.
	lateResync = time.Second
	// defaultFrameDur stands in for a buffer duration that a file does not give.
	defaultFrameDur = time.Second / 30
	// stuckAfter: a feed that gives no access unit for this long is built again (a seek
	// that a demuxer accepted but never served, an encoder that hung).
	stuckAfter = 10 * time.Second
	// rtpClock is the RTP clock rate of H.264 video (RFC 6184 §8.2.1).
	rtpClock = 90000
)

// pump owns the feed: it moves access units to the RTSP stream until ctx is done, starts a
// file over at its end and rebuilds a failed source. started receives nil after the first
// access unit, or the error that ended the first feed before it produced one.
func (c *Camera) pump(ctx context.Context, f *feed, started chan<- error) {
	w, err := c.newStreamWriter()
	if err != nil {
		c.closeErr = f.close()
		started <- err
		return
	}
	for {
		err := w.drain(ctx, f, started)
		if errors.Is(err, io.EOF) && c.cfg.File != "" && w.feedFrames > 0 && f.rewind() {
			// Seeking back costs milliseconds where building the feed again costs a
			// noticeable hiccup in the video.
			c.loops.Add(1)
			w.nextFeed()
			continue
		}
		cerr := f.close()
		if ctx.Err() != nil {
			if cerr != nil {
				c.closeErr = fmt.Errorf("simcam: stop source: %w", cerr)
			}
			return
		}
		if cerr != nil {
			c.log.Warn("stop source pipeline", "err", cerr)
		}
		if !w.started {
			started <- fmt.Errorf("simcam: source stopped before its first frame: %w", err)
			return
		}
		wait := retryDelay
		switch {
		case errors.Is(err, io.EOF) && c.cfg.File != "" && w.feedFrames > 0:
			c.loops.Add(1)
			wait = 0
		case errors.Is(err, io.EOF):
			c.log.Warn("source ended without frames; starting it again", "in", retryDelay)
		default:
			c.log.Warn("source failed; starting it again", "err", err, "in", retryDelay)
		}
		for f = nil; f == nil; {
			if !sleep(ctx, wait) {
				return
			}
			if f, err = c.newFeed(); err != nil {
				c.log.Warn("cannot start source", "err", err, "retry_in", retryDelay)
				wait = retryDelay
			}
		}
		w.nextFeed()
	}
}

// sleep waits d or until ctx is done; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// streamWriter turns access units into RTP packets (RFC 6184, packetization mode 1) on the
// camera's one stream, on a timeline that runs on across feeds: a file that starts over, or
// a source rebuilt after a failure, continues where the last one ended.
type streamWriter struct {
	c       *Camera
	enc     *rtph264.Encoder
	rtpBase uint32 // RTP timestamp of stream time 0, random as RFC 3550 §5.1 asks
	paced   bool   // a file is paced here; the pen is paced by its renderer
	started bool   // an access unit has been pulled
	waitKey bool   // send nothing before the next IDR: at start and after a stall

	feedFrames int           // access units pulled from the current feed
	offset     time.Duration // stream time at which the current feed begins
	base       time.Duration // PTS (running time) of the current feed's first access unit
	end        time.Duration // stream time just after the latest frame: where the next feed begins
	lastDur    time.Duration // duration of the latest access unit
	wall       time.Time     // wall-clock time of stream time 0; zero until the first access unit
}

func (c *Camera) newStreamWriter() (*streamWriter, error) {
	enc, err := c.format.CreateEncoder()
	if err != nil {
		return nil, fmt.Errorf("simcam: RTP encoder: %w", err)
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("simcam: RTP timestamp base: %w", err)
	}
	return &streamWriter{
		c:       c,
		enc:     enc,
		rtpBase: binary.BigEndian.Uint32(b[:]),
		paced:   c.cfg.File != "",
		waitKey: true,
		lastDur: defaultFrameDur,
	}, nil
}

// nextFeed makes the next feed's first access unit follow the last one written.
func (w *streamWriter) nextFeed() {
	w.offset = w.end
	w.feedFrames = 0
}

// drain writes the feed's access units until it ends, fails or ctx is done.
func (w *streamWriter) drain(ctx context.Context, f *feed, started chan<- error) error {
	last := time.Now()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		au, err := f.pull(pullWait)
		if err != nil {
			return err
		}
		if au == nil {
			if time.Since(last) > stuckAfter {
				return fmt.Errorf("no video from the source for %s", stuckAfter)
			}
			continue
		}
		last = time.Now()
		err = w.write(ctx, au)
		au.release()
		if err != nil {
			return err
		}
		if !w.started {
			w.started = true
			started <- nil
		}
	}
}

// write places one access unit on the timeline, paces it (file), keeps the SDP's SPS and PPS
// current, and sends it unless the camera is stalled.
func (w *streamWriter) write(ctx context.Context, au *accessUnit) error {
	w.c.encoded.Add(1)
	if !au.hasPTS || len(au.data) == 0 {
		return nil // h264parse timestamps every access unit it outputs; skip a stray one
	}
	if w.feedFrames == 0 {
		// A feed starts at a keyframe, which has the lowest PTS of what follows; its
		// decode time may be earlier (B-frames), so the stream's DTS may dip below zero.
		w.base = au.pts
	}
	w.feedFrames++
	pts := w.offset + au.pts - w.base
	dts := w.offset + au.decodeTime() - w.base
	if au.dur > 0 {
		w.lastDur = au.dur
	}
	w.end = max(w.end, pts+w.lastDur)

	now := time.Now()
	if w.wall.IsZero() {
		w.wall = now.Add(-dts)
	}
	if w.paced {
		switch late := now.Sub(w.wall.Add(dts)); {
		case late < 0:
			if !sleep(ctx, -late) {
				return ctx.Err()
			}
		case late > lateResync:
			w.wall = now.Add(-dts)
			w.c.log.Debug("source behind the wall clock; pacing from now", "late", late)
		}
	}

	var nalus h264.AnnexB
	if err := nalus.Unmarshal(au.data); err != nil {
		w.c.log.Debug("skip an unreadable access unit", "err", err)
		return nil
	}
	nalus, idr := w.inspect(nalus)
	if w.c.stalled.Load() {
		w.waitKey = true
		return nil
	}
	if w.waitKey {
		if !idr {
			return nil
		}
		w.waitKey = false
	}
	pkts, err := w.enc.Encode(nalus)
	if err != nil {
		return fmt.Errorf("packetize: %w", err)
	}
	ts := w.rtpBase + uint32(rtpTicks(pts))
	ntp := w.wall.Add(pts)
	for _, pkt := range pkts {
		pkt.Timestamp = ts
		if err := w.c.stream.WritePacketRTPWithNTP(w.c.media, pkt, ntp); err != nil {
			return fmt.Errorf("write RTP: %w", err)
		}
	}
	if _, playing := w.c.handler.counts(); playing > 0 {
		w.c.sent.Add(1)
	}
	if w.c.cfg.OnSend != nil {
		w.c.cfg.OnSend(nalus, time.Now())
	}
	return nil
}

// inspect drops access unit delimiters (RTP marks access units with the marker bit), copies
// new SPS and PPS into the format, so the next DESCRIBE announces them in
// sprop-parameter-sets, and reports whether the access unit holds an IDR slice.
func (w *streamWriter) inspect(nalus [][]byte) (kept [][]byte, idr bool) {
	kept = nalus[:0]
	var sps, pps []byte
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeAccessUnitDelimiter:
			continue
		case h264.NALUTypeSPS:
			sps = n
		case h264.NALUTypePPS:
			pps = n
		case h264.NALUTypeIDR:
			idr = true
		}
		kept = append(kept, n)
	}
	if sps != nil || pps != nil {
		curSPS, curPPS := w.c.format.SafeParams()
		if sps == nil {
			sps = curSPS
		}
		if pps == nil {
			pps = curPPS
		}
		if !bytes.Equal(sps, curSPS) || !bytes.Equal(pps, curPPS) {
			// Copies: the access unit's memory goes back to GStreamer after write.
			w.c.format.SafeSetParams(bytes.Clone(sps), bytes.Clone(pps))
		}
	}
	return kept, idr
}

// rtpTicks converts a duration to 90 kHz ticks without overflowing for durations of years.
func rtpTicks(d time.Duration) int64 {
	const unit = int64(time.Second) / 10000 // 100 µs = 9 ticks exactly
	n := int64(d)
	return n/unit*rtpClock/10000 + n%unit*rtpClock/int64(time.Second)
}
