package frames

import (
	"errors"
	"fmt"
	"io"
	"math/bits"
	"time"
	"unsafe"

	"github.com/go-gst/go-gst/gst"
	"github.com/pigweight/pigweight/pipelines/graph"
	"github.com/pigweight/pigweight/pipelines/index"
	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/pipelines/spec"
)

// ErrUnsupported is wrapped by errors for videos this package cannot decode frame by frame.
var ErrUnsupported = errors.New("frame access not supported for this video")

// decoder is one warm GStreamer decoder for one video:
//
//	(samples chained in) → h26xparse → decoder → capsfilter (system memory) → fakesink
//
// with a probe before the sink that packs each picture. Only its owner goroutine uses it.
type decoder struct {
	ix   *index.Index
	file io.ReaderAt
	ts   *transportStream // for MPEG-TS: how to take a sample out of its packets
	// name is the decoder element chosen (avdec_h264, nvh264dec, ...).
	name string

	pipeline *gst.Pipeline
	in       *gst.Pad // the parser's sink pad: samples are chained into it
	started  bool     // stream-start and caps sent

	// base is subtracted from every PTS so that buffer timestamps, which cannot be negative,
	// start at 0; frameAt maps a buffer PTS back to the frame it shows.
	base    int64
	frameAt map[uint64]int

	layout    planeLayout
	hasLayout bool
	// got collects the pictures the probe packed during one call into the pipeline; wanted
	// is the frame asked for (-1 while running ahead), and caching says whether a cache takes
	// other pictures too (see keptBefore); without one they would be copied for nothing.
	got      []media.Picture
	probeErr error
	wanted   int
	caching  bool
	// held are the other pictures kept for the cache, packed later (see heldPicture), in the
	// order they came out; let go when the decoder restarts.
	held []heldPicture

	// next is the next sample to feed, -1 when decoding must start again at a sync sample
	// (at first, after draining, after an error); from is the sync sample the run began at.
	next, from int
	// shown is the last frame the run has produced (pictures come out in presentation
	// order), -1 before the first; skipped holds the frames the run left out because no
	// other picture refers to them and they were not asked for.
	shown   int
	skipped map[int]bool
	// skippable says whether unreferenced pictures can be recognised in this stream (see
	// unreferenced).
	skippable bool
	fed       uint64 // samples chained in since the decoder was built
}

// newDecoder builds and starts the decoder pipeline for ix's codec.
func newDecoder(ix *index.Index, file io.ReaderAt, policy spec.Decode, caching bool) (*decoder, error) {
	codec, err := codecOf(ix)
	if err != nil {
		return nil, err
	}
	parser, format := string(codec)+"parse", "video/x-h264,stream-format=avc"
	if codec == graph.H265 {
		format = "video/x-h265,stream-format=hvc1"
	}
	var ts *transportStream
	switch {
	case ix.Container == index.ContainerMPEGTS && len(ix.Samples) > 0:
		// Parameter sets travel in band, before each keyframe.
		format = "video/x-" + string(codec) + ",stream-format=byte-stream"
		first := make([]byte, ix.PacketSize)
		if _, err := file.ReadAt(first, ix.Samples[0].Offset); err != nil {
			return nil, fmt.Errorf("read the first transport packet: %w", err)
		}
		if ts, err = newTransportStream(first, ix.PacketSize); err != nil {
			return nil, err
		}
	case ix.NALLengthSize == 0 || len(ix.CodecConfig) == 0:
		return nil, fmt.Errorf("%w: %s video without a decoder configuration record", ErrUnsupported, ix.Container)
	}
	name, err := ChooseDecoder(ix, policy)
	if err != nil {
		return nil, err
	}
	d := &decoder{ix: ix, file: file, ts: ts, name: name, next: -1, frameAt: make(map[uint64]int, len(ix.Frames)), skipped: map[int]bool{}, caching: caching}
	d.skippable = singleTemporalLayer(ix)
	for _, s := range ix.Samples {
		d.base = min(d.base, s.PTS)
	}
	for i, f := range ix.Frames {
		d.frameAt[d.bufferPTS(f.PTS)] = i
	}

	if d.pipeline, err = gst.NewPipeline(""); err != nil {
		return nil, err
	}
	parse, err := graph.NewElement(parser)
	if err != nil {
		return nil, err
	}
	dec, err := graph.NewElement(name)
	if err != nil {
		return nil, err
	}
	// System memory: a hardware decoder would otherwise hand over GPU memory.
	raw, err := graph.NewElement("capsfilter", graph.Prop{Name: "caps", Value: gst.NewCapsFromString("video/x-raw")})
	if err != nil {
		return nil, err
	}
	// async=false: the pipeline reaches PLAYING without a preroll buffer, which only arrives
	// once the first sample is chained in.
	sink, err := graph.NewDiscardSink()
	if err != nil {
		return nil, err
	}
	if err := graph.AddAndLink(d.pipeline.Bin, parse, dec, raw, sink); err != nil {
		return nil, fmt.Errorf("link decoder: %w", err)
	}
	d.in = parse.GetStaticPad("sink")
	raw.GetStaticPad("src").AddProbe(gst.PadProbeTypeBuffer|gst.PadProbeTypeEventDownstream, d.probe)
	if err := d.pipeline.SetState(gst.StatePlaying); err != nil {
		d.close()
		return nil, fmt.Errorf("start decoder: %w", d.busError(err))
	}

	// Only bytes from the file's own tables, hex-encoded, and fixed words go into the caps.
	desc := format + ",alignment=au"
	if ts == nil {
		desc += fmt.Sprintf(",codec_data=(buffer)%x", ix.CodecConfig)
	}
	caps := gst.NewCapsFromString(desc)
	if caps == nil {
		d.close()
		return nil, fmt.Errorf("%w: unusable decoder configuration record", ErrUnsupported)
	}
	d.in.SendEvent(gst.NewStreamStartEvent("pigweight-frames"))
	if !d.in.SendEvent(gst.NewCapsEvent(caps)) {
		d.close()
		return nil, fmt.Errorf("%w: %s refused the stream's caps", ErrUnsupported, parser)
	}
	return d, nil
}

// bufferPTS converts a PTS in the index's timescale to the buffer timestamp fed to the
// decoder, in nanoseconds from base, without overflowing for long videos at fine timescales.
func (d *decoder) bufferPTS(pts int64) uint64 {
	return mulDiv(uint64(pts-d.base), uint64(time.Second), uint64(d.ix.Timescale))
}

// mulDiv is a×b/c in 128-bit intermediate precision, saturating where the result would not
// fit in 64 bits.
func mulDiv(a, b, c uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi >= c {
		return ^uint64(0)
	}
	q, _ := bits.Div64(hi, lo, c)
	return q
}

// probe packs every decoded picture that shows a frame of the index; pictures the edit list
// hides are dropped here.
func (d *decoder) probe(pad *gst.Pad, info *gst.PadProbeInfo) gst.PadProbeReturn {
	if info.Type()&gst.PadProbeTypeEventDownstream != 0 {
		if ev := info.GetEvent(); ev != nil && ev.Type() == gst.EventTypeCaps {
			d.hasLayout = false
		}
		return gst.PadProbeOK
	}
	buf := info.GetBuffer()
	if buf == nil {
		return gst.PadProbeOK
	}
	n, ok := d.frameAt[uint64(buf.PresentationTimestamp())]
	if !ok {
		return gst.PadProbeOK
	}
	f := d.ix.Frames[n]
	if int(f.Start) < d.from {
		// A leading picture of the group the run began at refers to the group before it,
		// which was not decoded: whatever came out is wrong.
		return gst.PadProbeOK
	}
	d.shown = n
	if !d.worthKeeping(n) {
		// Packing copies the whole picture into Go memory: only for pictures someone keeps.
		return gst.PadProbeOK
	}
	if !d.hasLayout {
		caps := pad.GetCurrentCaps()
		if caps == nil {
			d.probeErr = errors.New("decoded picture without caps")
			return gst.PadProbeOK
		}
		d.layout, d.probeErr = layoutOf(caps)
		graph.Release(caps)
		if d.probeErr != nil {
			return gst.PadProbeOK
		}
		d.hasLayout = true
	}
	if n != d.wanted {
		// For the cache only: packed after the frame asked for is answered.
		d.hold(n, buf)
		return gst.PadProbeOK
	}
	pic, err := d.pack(buf, n, d.layout)
	if err != nil {
		d.probeErr = err
		return gst.PadProbeOK
	}
	d.got = append(d.got, pic)
	return gst.PadProbeOK
}

// keptBefore is how many pictures before a requested frame go to the cache with it: enough
// to step back from it (the page steps ten with Shift) without decoding the group again. The
// pictures further back are decoded on the way too, but copying each out (3 MB at 1080p) for
// a cache that rarely sees them asked for cost more than it saved: a jump to the end of a
// 2-second group copied 60 pictures, and a few jumps evicted every other video's frames.
// Keeping them means decoding the unreferenced ones among them, which a frame alone would
// leave out: that is what is left of the cache's cost to a random frame (1.02-1.05× the
// uncached time at 1080p in software; 0.98-0.99× when they too were left out, but then
// stepping back to one of them decoded the group again).
const keptBefore = 10

// worthKeeping says whether picture n is packed: the frame asked for, and with a cache the
// keptBefore pictures before it and every picture decoded while running ahead.
func (d *decoder) worthKeeping(n int) bool {
	if n == d.wanted {
		return true
	}
	return d.caching && (d.wanted < 0 || n >= d.wanted-keptBefore)
}

// ticks converts a duration in timescale units to a time.Duration.
func ticks(t int64, timescale uint32) time.Duration {
	neg := t < 0
	if neg {
		t = -t
	}
	q := min(mulDiv(uint64(t), uint64(time.Second), uint64(timescale)), 1<<63-1)
	if neg {
		return -time.Duration(q)
	}
	return time.Duration(q)
}

// restart flushes the decoder and positions it at sync sample s.
func (d *decoder) restart(s int) {
	d.dropHeld()
	if d.started {
		d.in.SendEvent(gst.NewFlushStartEvent())
		d.in.SendEvent(gst.NewFlushStopEvent(true))
	}
	d.in.SendEvent(gst.NewSegmentEvent(gst.NewFormattedSegment(gst.FormatTime)))
	d.started = true
	d.next, d.from, d.shown = s, s, -1
	clear(d.skipped)
}

// canContinue reports whether frame n comes out of the current run by feeding more samples:
// the run began at or before n's sync sample, has reached it, and has neither shown nor
// skipped n yet.
func (d *decoder) canContinue(n int) bool {
	f := d.ix.Frames[n]
	return d.next >= 0 && d.from <= int(f.Start) && int(f.Start) <= d.next && n > d.shown && !d.skipped[n]
}

// decodeTo feeds samples until frame n has been decoded and returns it; with a cache, the
// pictures worth keeping on the way are held (see heldPicture).
func (d *decoder) decodeTo(n int) ([]media.Picture, error) {
	if !d.canContinue(n) {
		d.restart(int(d.ix.Frames[n].Start))
	}
	var out []media.Picture
	for {
		pics, err := d.step(n)
		out = append(out, pics...)
		if err != nil {
			return out, err
		}
		for _, p := range pics {
			if p.Frame == n {
				return out, nil
			}
		}
		if d.next < 0 {
			return out, fmt.Errorf("frame %d did not come out of the decoder (%s)", n, d.name)
		}
	}
}

// step feeds the next sample, or drains the decoder after the last one, and returns the
// target if it came out (the other pictures worth keeping are held). After a drain the next
// request starts again at a sync sample.
// While target (a frame number; -1 for none) lies ahead in decode order, samples no other
// picture refers to are left out unless they are worth keeping: nobody asked for them, and
// each costs a whole decode.
func (d *decoder) step(target int) ([]media.Picture, error) {
	d.got, d.probeErr, d.wanted = nil, nil, target
	if d.next < 0 {
		return nil, nil
	}
	if d.next >= len(d.ix.Samples) {
		d.in.SendEvent(gst.NewEOSEvent()) // drains: the decoder hands out what it holds back
		d.next = -1
		return d.got, d.probeErr
	}
	s := d.ix.Samples[d.next]
	buf, err := d.read(s)
	if err != nil {
		d.next = -1
		return nil, err
	}
	if target >= 0 && d.skippable && !s.Key && s.Frame != int32(target) && d.next < int(d.ix.Frames[target].Decode) && !d.worthKeeping(int(s.Frame)) && d.unreferenced(buf) {
		graph.Release(buf)
		d.skipped[int(s.Frame)] = true
		d.next++
		return nil, nil
	}
	ret := d.in.Chain(buf)
	graph.Release(buf)
	if ret != gst.FlowOK {
		d.next = -1
		return d.got, d.busError(fmt.Errorf("decode sample %d: %s", d.next, ret))
	}
	d.next++
	d.fed++
	return d.got, d.probeErr
}

// read loads one sample into a new buffer with its timestamp and keyframe flag.
func (d *decoder) read(s index.Sample) (*gst.Buffer, error) {
	if d.ts != nil {
		span := make([]byte, s.Size)
		if _, err := d.file.ReadAt(span, s.Offset); err != nil {
			return nil, fmt.Errorf("read sample at byte %d: %w", s.Offset, err)
		}
		au, err := d.ts.accessUnit(span)
		if err != nil {
			return nil, fmt.Errorf("sample at byte %d: %w", s.Offset, err)
		}
		buf := gst.NewBufferFromBytes(au)
		d.stamp(buf, s)
		return buf, nil
	}
	buf := gst.NewBufferWithSize(int64(s.Size))
	if buf == nil {
		return nil, fmt.Errorf("cannot allocate a %d-byte sample", s.Size)
	}
	mi := buf.Map(gst.MapWrite)
	_, err := d.file.ReadAt(unsafe.Slice((*byte)(mi.Data()), int(s.Size)), s.Offset)
	buf.Unmap()
	if err != nil {
		graph.Release(buf)
		return nil, fmt.Errorf("read sample at byte %d: %w", s.Offset, err)
	}
	d.stamp(buf, s)
	return buf, nil
}

func (d *decoder) stamp(buf *gst.Buffer, s index.Sample) {
	buf.SetPresentationTimestamp(gst.ClockTime(d.bufferPTS(s.PTS)))
	if !s.Key {
		buf.SetFlags(gst.BufferFlagDeltaUnit)
	}
}

// busError prefers the element error the decoder posted to the flow return it caused.
func (d *decoder) busError(fallback error) error {
	bus := d.pipeline.GetPipelineBus()
	defer graph.ReleaseObject(bus.InitiallyUnowned.Object)
	if msg := bus.TimedPopFiltered(0, gst.MessageError); msg != nil {
		defer graph.Release(msg)
		gerr := msg.ParseError()
		return fmt.Errorf("%s: %s", msg.Source(), gerr.Error())
	}
	return fallback
}

// close stops the pipeline and frees it.
func (d *decoder) close() {
	if d.pipeline != nil {
		graph.Dispose(d.pipeline)
		d.pipeline = nil
	}
}

// unreferenced reports whether a sample's picture is one no other picture predicts from: in
// H.264 its slices have nal_ref_idc 0, in H.265 they are sub-layer non-reference slices
// (TRAIL_N, RASL_N, ...), which with a single temporal layer nothing refers to.
func (d *decoder) unreferenced(buf *gst.Buffer) bool {
	data, unmap := mapped(buf)
	defer unmap()
	found, unref := false, false
	nalUnits(data, d.ix.NALLengthSize, func(nal []byte) bool {
		switch d.ix.Codec {
		case index.CodecH264:
			if t := nal[0] & 0x1f; t >= 1 && t <= 5 {
				found, unref = true, nal[0]&0x60 == 0
			}
		case index.CodecH265:
			if t := nal[0] >> 1 & 0x3f; t < 32 {
				found, unref = true, t < 16 && t%2 == 0
			}
		}
		return !found
	})
	return unref
}

// singleTemporalLayer reports whether unreferenced pictures can be left out of ix's stream:
// always for H.264; for H.265 when its hvcC record says the stream has one temporal layer
// (with more, a sub-layer non-reference picture may still serve a higher layer).
func singleTemporalLayer(ix *index.Index) bool {
	switch ix.Codec {
	case index.CodecH264:
		return true
	case index.CodecH265:
		// hvcC byte 21: constantFrameRate(2) numTemporalLayers(3) temporalIdNested(1) lengthSizeMinusOne(2).
		return len(ix.CodecConfig) > 21 && ix.CodecConfig[21]>>3&7 == 1
	}
	return false
}
