package graph

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/go-gst/go-glib/glib"
	"github.com/go-gst/go-gst/gst"
	"github.com/go-gst/go-gst/gst/app"
	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/elements/meta"
	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/pipelines/spec"
)

// busPoll bounds how long Wait blocks on the bus before it looks at its context again.
const busPoll = 100 * time.Millisecond

// Runtime starts pipelines. gst.Init must have been called (cmd does it once at start-up).
type Runtime struct {
	Log *slog.Logger
}

// Run is one started GStreamer pipeline.
type Run struct {
	spec     spec.Pipeline
	pipeline *gst.Pipeline
	log      *slog.Logger
	hooks    media.Hooks

	// failed carries an error found on a streaming thread (e.g. an unsupported codec seen at
	// pad-added), where it cannot be returned; Wait picks it up.
	failed chan error

	mu      sync.Mutex
	decoder string
	encoder *gst.Element // the viewers' H.264 encoder; nil for passthrough and once closed
	bitrate int          // the encoder's bitrate now, kbit/s
	// elements are the wrappers of every element made for this run, released by Close: a
	// wrapper left to the collector keeps its element, and what the element holds (a
	// decoder's buffer pool with its poll's descriptors), until some collection finalizes it.
	elements []*gst.Element

	// encodeTee splits decoded frames to the encoding for viewers; nil when viewers get the
	// camera's own access units (see encode.go).
	encodeTee *gst.Element

	synthetic *syntheticSource // nil unless the source is synthetic
	stopFeed  context.CancelFunc
	feedDone  chan struct{}
}

// Start builds the pipeline for p, sets it playing and returns it. hooks receive every decoded
// frame and every encoded access unit, on streaming threads.
func (rt *Runtime) Start(p spec.Pipeline, hooks media.Hooks) (*Run, error) {
	log := rt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pl, err := gst.NewPipeline("")
	if err != nil {
		return nil, fmt.Errorf("new pipeline: %w", err)
	}
	r := &Run{
		spec:     p,
		pipeline: pl,
		log:      log.With("component", "graph", "pipeline", p.Name),
		hooks:    hooks,
		failed:   make(chan error, 1),
	}
	if err := r.build(); err != nil {
		r.Close()
		return nil, err
	}
	if err := pl.SetState(gst.StatePlaying); err != nil {
		err = r.popError(err)
		r.Close()
		return nil, err
	}
	if r.synthetic != nil {
		ctx, cancel := context.WithCancel(context.Background())
		r.stopFeed, r.feedDone = cancel, make(chan struct{})
		go func() {
			defer close(r.feedDone)
			r.synthetic.feed(ctx)
		}()
	}
	return r, nil
}

func (r *Run) build() error {
	sink, err := r.newFrameSink()
	if err != nil {
		return err
	}
	if err := r.pipeline.Add(sink); err != nil {
		return err
	}
	switch r.spec.Source.Type {
	case spec.SourceSynthetic:
		return r.buildSynthetic(sink)
	case spec.SourceFile:
		return r.buildFile(sink)
	case spec.SourceRTSP:
		return r.buildRTSP(sink)
	}
	return &PermanentError{fmt.Errorf("source.type %q is not supported", r.spec.Source.Type)}
}

// Decoder names the decoder element in use, or "" before the stream's codec is known.
func (r *Run) Decoder() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.decoder
}

// Wait blocks until the pipeline posts EOS (io.EOF) or an error, a streaming thread reports a
// failure, or ctx is done.
func (r *Run) Wait(ctx context.Context) error {
	bus := r.pipeline.GetBus()
	defer ReleaseObject(bus.InitiallyUnowned.Object)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-r.failed:
			return err
		default:
		}
		msg := bus.TimedPopFiltered(gst.ClockTime(busPoll), gst.MessageEOS|gst.MessageError)
		if msg == nil {
			continue
		}
		err := r.messageError(msg)
		Release(msg)
		return err
	}
}

// Close stops the feeder, puts the pipeline in NULL and frees it: the pipeline, its bus with
// the bus's socket pair, and every element go now, not whenever the collector gets to their
// wrappers.
func (r *Run) Close() {
	if r.stopFeed != nil {
		r.stopFeed()
		<-r.feedDone
	}
	if err := SetNull(r.pipeline); err != nil {
		r.log.Warn("set pipeline to NULL", "err", err)
	}
	r.mu.Lock()
	r.encoder, r.encodeTee = nil, nil
	for _, e := range r.elements {
		ReleaseObject(e.InitiallyUnowned.Object)
	}
	r.elements = nil
	r.mu.Unlock()
	Dispose(r.pipeline) // in NULL already
}

// element makes an element for this run (see NewElement); Close releases its wrapper.
func (r *Run) element(factory string, props ...Prop) (*gst.Element, error) {
	e, err := NewElement(factory, props...)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.elements = append(r.elements, e)
	r.mu.Unlock()
	return e, nil
}

// fail reports a streaming-thread failure to Wait (the first one wins).
func (r *Run) fail(err error) {
	select {
	case r.failed <- err:
	default:
	}
}

func (r *Run) setDecoder(name string) {
	r.mu.Lock()
	r.decoder = name
	r.mu.Unlock()
}

// messageError turns an EOS or error message into the error Wait returns.
func (r *Run) messageError(msg *gst.Message) error {
	switch msg.Type() {
	case gst.MessageEOS:
		return io.EOF
	case gst.MessageError:
		gerr := msg.ParseError()
		text := fmt.Sprintf("%s: %s", strings.TrimRight(msg.Source(), "0123456789"), gerr.Error())
		if detail := debugDetail(gerr.DebugString()); detail != "" {
			text += " (" + detail + ")"
		}
		return errors.New(r.redact(text))
	}
	return fmt.Errorf("unexpected message %s", msg.TypeName())
}

// popError replaces a bare state-change failure with the element error that caused it, if one
// was posted.
func (r *Run) popError(fallback error) error {
	bus := r.pipeline.GetBus()
	defer ReleaseObject(bus.InitiallyUnowned.Object)
	msg := bus.TimedPopFiltered(0, gst.MessageError)
	if msg == nil {
		return fallback
	}
	defer Release(msg)
	return r.messageError(msg)
}

// redact removes the source URI's credentials from text that GStreamer produced (rtspsrc puts
// the location in its errors).
func (r *Run) redact(text string) string {
	if uri := r.spec.Source.URI; uri != "" {
		text = strings.ReplaceAll(text, uri, spec.RedactURI(uri))
	}
	return text
}

// debugDetail keeps what a GStreamer debug string says to the operator ("No such file ...")
// and drops its first line when that is only the source location in GStreamer's C code.
func debugDetail(debug string) string {
	first, rest, found := strings.Cut(debug, "\n")
	if found && strings.Contains(first, ".c(") {
		return strings.Join(strings.Fields(rest), " ")
	}
	return strings.Join(strings.Fields(first), " ")
}

// newFrameSink makes the appsink that receives decoded frames (with their detections, when the
// pipeline runs a model). Samples are released explicitly: leaving them to Go finalizers let RSS
// grow by gigabytes.
func (r *Run) newFrameSink() (*gst.Element, error) {
	// Frames are paced before they get here (cameras by themselves, files by decodeChain's
	// clocksync). async=false: the pipeline goes to PLAYING without waiting for a first frame
	// here, so the clock runs, and the pacing with it, from the first frame on; a first frame
	// that waits for its analysis would otherwise leave the file unpaced until it arrives.
	e, err := r.element("appsink",
		Prop{"sync", false},
		Prop{"async", false},
		Prop{"max-buffers", uint(2)},
		Prop{"drop", true},
		Prop{"enable-last-sample", false},
	)
	if err != nil {
		return nil, err
	}
	// The frame size, read from the first sample's caps: the appsink's callbacks come one at a
	// time on its streaming thread, and a run's frames keep their size.
	var width, height int
	app.SinkFromElement(e).SetCallbacks(&app.SinkCallbacks{
		NewSampleFunc: func(s *app.Sink) gst.FlowReturn {
			sample := s.PullSample()
			if sample == nil {
				return gst.FlowEOS
			}
			defer Release(sample)
			buf := sample.GetBuffer()
			defer Release(buf)
			if width == 0 {
				width, height = sampleSize(sample)
			}
			// Running time, not the raw PTS: encoders shift timestamps (x264enc by 1000 hours, to
			// keep DTS positive) and say so in the segment; running time undoes that.
			pts := sample.GetSegment().ToRunningTime(gst.FormatTime, uint64(buf.PresentationTimestamp()))
			frame := detect.Frame{PTS: time.Duration(pts), Width: width, Height: height}
			if d, ok, err := meta.Read(buf); err != nil {
				r.log.Warn("unreadable detections on a frame", "err", err)
			} else if ok {
				frame.Analysed, frame.Detections = d.Fresh, d.Items
			}
			if r.hooks.OnFrame != nil {
				r.hooks.OnFrame(frame)
			}
			return gst.FlowOK
		},
	})
	return e, nil
}

// sampleSize is the width and height its caps give a sample of raw video; 0, 0 when they
// give none.
func sampleSize(sample *gst.Sample) (width, height int) {
	caps := sample.GetCaps()
	if caps == nil {
		return 0, 0
	}
	defer Release(caps)
	if caps.GetSize() == 0 {
		return 0, 0
	}
	st := caps.GetStructureAt(0)
	return field[int](st, "width"), field[int](st, "height")
}

// SetNull puts a pipeline in NULL, keeping its wrapper alive until the state change has
// returned. go-gst's methods take the C pointer and then no longer use the wrapper, so while
// SetState is the wrapper's last use the collector may finalize it mid-call: its unref drops
// the pipeline's last reference and disposes it halfway to NULL (a SIGSEGV in
// gst_element_set_state after "Trying to dispose element ..., but it is in READY").
func SetNull(p *gst.Pipeline) error {
	err := p.SetState(gst.StateNull)
	runtime.KeepAlive(p)
	return err
}

// Dispose puts a pipeline in NULL and drops its wrapper's reference at once: the pipeline, its
// bus with the bus's socket pair, and every element no other wrapper holds are freed now, not
// whenever the collector gets to the wrapper (which a callback that holds it can put off for
// good). p must not be used afterwards.
func Dispose(p *gst.Pipeline) error {
	err := SetNull(p)
	ReleaseObject(p.InitiallyUnowned.Object)
	return err
}

// releasable is a go-gst wrapper whose reference is dropped by a finalizer unless released.
type releasable interface{ Unref() }

// Release drops a mini object's wrapper's reference (a buffer, sample, message, event or
// caps) now and disarms its finalizer. Not for GObjects (elements, pads, buses, pipelines):
// see ReleaseObject.
func Release[T releasable](obj T) {
	runtime.SetFinalizer(obj, nil)
	obj.Unref()
}

// ReleaseObject drops a GObject wrapper's reference now and disarms its finalizer. go-glib
// arms that finalizer on the wrapper's inner *glib.Object (x.InitiallyUnowned.Object for
// go-gst's types), not on the wrapper, so Release would leave it armed: a second unref later,
// of an object that may be gone by then.
func ReleaseObject(o *glib.Object) {
	runtime.SetFinalizer(o, nil)
	o.Unref()
}
