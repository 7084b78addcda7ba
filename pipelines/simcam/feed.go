package simcam

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/go-gst/go-gst/gst"
	"github.com/go-gst/go-gst/gst/app"
	"github.com/pigweight/pigweight/pipelines/graph"
	"github.com/pigweight/pigweight/pipelines/pen"
)

// auCaps is what the pump reads: Annex B, one access unit per buffer. h264parse with
// config-interval -1 puts SPS and PPS before every IDR, so a client can join at any keyframe.
const auCaps = "video/x-h264,stream-format=byte-stream,alignment=au"

// feed is one GStreamer pipeline that produces H.264 access units into an appsink, and, for
// the synthetic pen, the goroutine that renders frames into its appsrc. A feed is owned by
// the pump: built, drained, closed, and built again when a file ends or the pipeline fails.
type feed struct {
	pipeline *gst.Pipeline
	bus      *gst.Bus
	sink     *app.Sink
	// failed carries a failure found on a streaming thread (a file without H.264 video, a
	// push that failed), where it cannot be returned; the first one wins.
	failed chan error

	stopRender context.CancelFunc // nil unless synthetic
	renderDone chan struct{}
}

// newFeed builds and starts the source the config asks for.
func (c *Camera) newFeed() (*feed, error) {
	if c.cfg.File != "" {
		return newFileFeed(c.cfg.File)
	}
	return newSyntheticFeed(c.scene)
}

// newSyntheticFeed: appsrc (I420 rendered in Go) → x264enc → h264parse → appsink.
func newSyntheticFeed(scene *pen.Scene) (*feed, error) {
	cfg := scene.Config()
	f, err := newFeedPipeline()
	if err != nil {
		return nil, err
	}
	// Only integers from a validated pen config go into the caps string.
	caps := gst.NewCapsFromString(fmt.Sprintf(
		"video/x-raw,format=I420,width=%d,height=%d,framerate=%d/1,colorimetry=%s",
		cfg.Width, cfg.Height, cfg.FPS, pen.Colorimetry))
	src, err := graph.NewElement("appsrc",
		graph.Prop{Name: "caps", Value: caps},
		graph.Prop{Name: "is-live", Value: true},
		// A frame the encoder cannot take yet replaces the oldest queued one: the camera
		// never blocks its renderer and never builds a backlog.
		graph.Prop{Name: "max-buffers", Value: uint64(2)},
	)
	if err != nil {
		return nil, err
	}
	graph.SetEnum(src, "leaky-type", "downstream")
	graph.SetEnum(src, "format", "time")
	enc, err := graph.NewElement("x264enc",
		graph.Prop{Name: "bitrate", Value: uint(2000)},
		graph.Prop{Name: "key-int-max", Value: uint(cfg.FPS)}, // a keyframe a second: clients join fast
		graph.Prop{Name: "bframes", Value: uint(0)},           // like most cameras: PTS = DTS
	)
	if err != nil {
		return nil, err
	}
	graph.SetEnum(enc, "tune", "zerolatency")
	graph.SetEnum(enc, "speed-preset", "ultrafast")
	parse, err := graph.NewElement("h264parse", graph.Prop{Name: "config-interval", Value: int(-1)})
	if err != nil {
		return nil, err
	}
	sink, err := newAUSink()
	if err != nil {
		return nil, err
	}
	if err := graph.AddAndLink(f.pipeline.Bin, src, enc, parse, sink); err != nil {
		return nil, fmt.Errorf("link encoder: %w", err)
	}
	f.sink = app.SinkFromElement(sink)
	if err := f.play(); err != nil {
		return nil, err
	}
	r := &renderer{
		scene:    scene,
		src:      app.SrcFromElement(src),
		frameDur: time.Second / time.Duration(cfg.FPS),
		size:     cfg.Width * cfg.Height * 3 / 2,
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.stopRender, f.renderDone = cancel, make(chan struct{})
	go func() {
		defer close(f.renderDone)
		if err := r.run(ctx); err != nil {
			f.fail(err)
		}
	}()
	return f, nil
}

// newFileFeed: filesrc → parsebin (demuxer and parser picked from the content) → h264parse →
// appsink. The path is a property value, never part of a launch description.
func newFileFeed(path string) (*feed, error) {
	f, err := newFeedPipeline()
	if err != nil {
		return nil, err
	}
	src, err := graph.NewElement("filesrc", graph.Prop{Name: "location", Value: path})
	if err != nil {
		return nil, err
	}
	demux, err := graph.NewElement("parsebin")
	if err != nil {
		return nil, err
	}
	parse, err := graph.NewElement("h264parse", graph.Prop{Name: "config-interval", Value: int(-1)})
	if err != nil {
		return nil, err
	}
	sink, err := newAUSink()
	if err != nil {
		return nil, err
	}
	if err := graph.AddAndLink(f.pipeline.Bin, src, demux); err != nil {
		return nil, fmt.Errorf("link file source: %w", err)
	}
	if err := graph.AddAndLink(f.pipeline.Bin, parse, sink); err != nil {
		return nil, fmt.Errorf("link parser: %w", err)
	}
	var linked atomic.Bool
	if err := graph.OnPadAdded(demux, func(pad *gst.Pad) {
		f.onFilePad(pad, parse, &linked)
	}); err != nil {
		return nil, err
	}
	if err := graph.OnSignal(demux, "no-more-pads", func() {
		if !linked.Load() {
			f.fail(fmt.Errorf("%s has no H.264 video stream", path))
		}
	}); err != nil {
		return nil, err
	}
	f.sink = app.SinkFromElement(sink)
	if err := f.play(); err != nil {
		return nil, err
	}
	return f, nil
}

// onFilePad links the file's first H.264 stream to the parser and ends every other stream
// in a fakesink, so that the demuxer does not stop with not-linked. Runs on a streaming thread.
func (f *feed) onFilePad(pad *gst.Pad, parse *gst.Element, linked *atomic.Bool) {
	caps := pad.GetCurrentCaps()
	if caps == nil {
		caps = pad.QueryCaps(nil)
	}
	desc := caps.String()
	graph.Release(caps)
	if strings.HasPrefix(desc, "video/x-h264") && linked.CompareAndSwap(false, true) {
		if ret := pad.Link(parse.GetStaticPad("sink")); ret != gst.PadLinkOK {
			f.fail(fmt.Errorf("link H.264 stream: %s", ret))
		}
		return
	}
	fake, err := graph.NewDiscardSink()
	if err != nil {
		f.fail(err)
		return
	}
	if err := f.pipeline.Add(fake); err != nil {
		f.fail(err)
		return
	}
	fake.SyncStateWithParent()
	pad.Link(fake.GetStaticPad("sink"))
}

func newFeedPipeline() (*feed, error) {
	pl, err := gst.NewPipeline("")
	if err != nil {
		return nil, fmt.Errorf("new pipeline: %w", err)
	}
	return &feed{pipeline: pl, bus: pl.GetPipelineBus(), failed: make(chan error, 1)}, nil
}

// newAUSink makes the appsink the pump pulls access units from. It does not drop: a pump that
// falls behind holds the pipeline back (a file pauses; the live pen drops raw frames at its
// leaky appsrc instead of holes in the H.264 stream).
func newAUSink() (*gst.Element, error) {
	return graph.NewElement("appsink",
		graph.Prop{Name: "caps", Value: gst.NewCapsFromString(auCaps)},
		graph.Prop{Name: "sync", Value: false}, // the pump paces a file; the renderer paces the pen
		graph.Prop{Name: "max-buffers", Value: uint(8)},
		graph.Prop{Name: "drop", Value: false},
		graph.Prop{Name: "enable-last-sample", Value: false},
	)
}

// play sets the pipeline playing, or tears it down and returns the element error that stopped it.
func (f *feed) play() error {
	if err := f.pipeline.SetState(gst.StatePlaying); err != nil {
		if msg := f.bus.TimedPopFiltered(0, gst.MessageError); msg != nil {
			err = messageError(msg)
			graph.Release(msg)
		}
		f.close()
		return fmt.Errorf("start source: %w", err)
	}
	return nil
}

// fail reports a streaming-thread failure to the pump (the first one wins).
func (f *feed) fail(err error) {
	select {
	case f.failed <- err:
	default:
	}
}

// pull waits up to wait for the next access unit. It returns nil, nil when none came in that
// time, io.EOF once the stream has ended and every access unit was pulled, or the failure
// that stopped the pipeline.
func (f *feed) pull(wait time.Duration) (*accessUnit, error) {
	if s := f.sink.TryPullSample(gst.ClockTime(wait)); s != nil {
		return newAccessUnit(s), nil
	}
	select {
	case err := <-f.failed:
		return nil, err
	default:
	}
	// Popping with a filter discards the other messages, so the unwatched bus never grows.
	// EOS is read from the sink, not the bus: the bus says EOS while samples may still wait.
	if msg := f.bus.TimedPopFiltered(0, gst.MessageError); msg != nil {
		defer graph.Release(msg)
		return nil, messageError(msg)
	}
	if f.sink.IsEOS() {
		return nil, io.EOF
	}
	return nil, nil
}

// rewind starts a file over with a flushing seek to its beginning; it reports false where the
// demuxer cannot seek (then the pump builds the feed again). After it, running time starts
// again from zero.
func (f *feed) rewind() bool {
	return f.pipeline.SeekSimple(0, gst.FormatTime, gst.SeekFlagFlush|gst.SeekFlagKeyUnit)
}

// close stops the renderer, puts the pipeline in NULL and drops it.
func (f *feed) close() error {
	if f.stopRender != nil {
		f.stopRender()
		<-f.renderDone
		f.stopRender = nil
	}
	if f.pipeline == nil {
		return nil
	}
	graph.ReleaseObject(f.bus.InitiallyUnowned.Object)
	err := graph.Dispose(f.pipeline)
	f.pipeline, f.bus = nil, nil
	return err
}

// accessUnit is one pulled H.264 access unit, mapped for reading until release.
type accessUnit struct {
	sample *gst.Sample
	buf    *gst.Buffer
	data   []byte // Annex B; points into the mapped buffer

	// Running times (the segment applied: x264enc shifts raw timestamps by 1000 hours), so
	// DTS may be negative; hasPTS/hasDTS are false where the buffer had none.
	pts, dts       time.Duration
	hasPTS, hasDTS bool
	dur            time.Duration // 0 when unknown
}

func newAccessUnit(s *gst.Sample) *accessUnit {
	buf := s.GetBuffer()
	au := &accessUnit{sample: s, buf: buf}
	seg := s.GetSegment()
	if t := buf.PresentationTimestamp(); t != gst.ClockTimeNone {
		au.pts, au.hasPTS = time.Duration(seg.ToRunningTimeFull(gst.FormatTime, uint64(t))), true
	}
	if t := buf.DecodingTimestamp(); t != gst.ClockTimeNone {
		au.dts, au.hasDTS = time.Duration(seg.ToRunningTimeFull(gst.FormatTime, uint64(t))), true
	}
	if d := buf.Duration(); d != gst.ClockTimeNone {
		au.dur = time.Duration(d)
	}
	// Mapped rather than copied: gortsplib marshals every RTP packet before WritePacketRTP
	// returns, so the data is not needed after release.
	mi := buf.Map(gst.MapRead)
	if n := int(mi.Size()); n > 0 {
		au.data = unsafe.Slice((*byte)(mi.Data()), n)
	}
	return au
}

// decodeTime is when the access unit is due at the decoder: its DTS, or its PTS without one.
func (a *accessUnit) decodeTime() time.Duration {
	if a.hasDTS {
		return a.dts
	}
	return a.pts
}

func (a *accessUnit) release() {
	a.data = nil
	a.buf.Unmap()
	graph.Release(a.buf)
	graph.Release(a.sample)
}

// renderer draws the pen and pushes one I420 frame per frame period into the appsrc.
type renderer struct {
	scene    *pen.Scene
	src      *app.Source
	frameDur time.Duration
	size     int
}

// run pushes frames until ctx is done. A frame's PTS is the wall-clock time since the start,
// rounded to the frame grid: like a camera's capture clock, it keeps time when a frame is
// skipped because the machine was busy.
func (r *renderer) run(ctx context.Context) error {
	tick := time.NewTicker(r.frameDur)
	defer tick.Stop()
	start := time.Now()
	next := int64(0) // the lowest frame slot not yet used
	for {
		slot := max(int64((time.Since(start)+r.frameDur/2)/r.frameDur), next)
		next = slot + 1
		if err := r.push(time.Duration(slot) * r.frameDur); err != nil {
			return err
		}
		r.scene.Step()
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (r *renderer) push(pts time.Duration) error {
	buf := gst.NewBufferWithSize(int64(r.size))
	if buf == nil {
		return fmt.Errorf("render: cannot allocate a %d-byte frame", r.size)
	}
	defer graph.Release(buf)
	mi := buf.Map(gst.MapWrite)
	err := r.scene.RenderI420(unsafe.Slice((*byte)(mi.Data()), r.size))
	buf.Unmap()
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	buf.SetPresentationTimestamp(gst.ClockTime(pts))
	buf.SetDuration(gst.ClockTime(r.frameDur))
	switch ret := r.src.PushBuffer(buf); ret {
	case gst.FlowOK, gst.FlowFlushing:
		return nil
	default:
		return fmt.Errorf("render: push frame at %s: %s", pts, ret)
	}
}

// messageError turns an error message into an error naming the element that posted it.
func messageError(msg *gst.Message) error {
	if msg.Type() != gst.MessageError {
		return fmt.Errorf("unexpected message %s", msg.TypeName())
	}
	gerr := msg.ParseError()
	text := fmt.Sprintf("%s: %s", strings.TrimRight(msg.Source(), "0123456789"), gerr.Error())
	// The debug string's first line is only a place in GStreamer's C code; keep the rest
	// ("No such file ...") where there is one.
	if _, rest, ok := strings.Cut(gerr.DebugString(), "\n"); ok && strings.TrimSpace(rest) != "" {
		text += " (" + strings.Join(strings.Fields(rest), " ") + ")"
	}
	return errors.New(text)
}
