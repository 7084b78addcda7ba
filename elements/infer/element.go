package infer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/go-gst/go-glib/glib"
	"github.com/go-gst/go-gst/gst"
	"github.com/go-gst/go-gst/gst/base"
	"github.com/pigweight/pigweight/elements/batch"
	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/elements/meta"
	"github.com/pigweight/pigweight/elements/model"
	"github.com/pigweight/pigweight/elements/overlay"
)

// ElementName is the factory name the element is registered under.
const ElementName = "pwinfer"

// Property ids, 0-based in the order of properties (go-gst numbers them from 0).
const (
	propModel = iota
	propInterval
	propMaxBatch
	propMaxWait
	propPriority
	propBurn
)

var properties = []*glib.ParamSpec{
	glib.NewStringParam("model", "Model", "Name of the model (from the config's models) to run", nil, glib.ParameterReadWrite),
	glib.NewUintParam("interval", "Interval", "Analyse every Nth frame; the others carry the last result", 1, 1000, 1, glib.ParameterReadWrite),
	glib.NewUintParam("max-batch", "Max batch", "Largest batch the model's shared batcher forms (set per model in the config)", 0, 1024, 0, glib.ParameterReadable),
	glib.NewUint64Param("max-wait", "Max wait", "Longest a frame waits for its batch to fill, in ns (set per model in the config)", 0, 1<<62, 0, glib.ParameterReadable),
	glib.NewStringParam("priority", "Priority", "live (camera streams) or job (uploads); live frames are batched first", nil, glib.ParameterReadWrite),
	glib.NewBoolParam("burn", "Burn", "Draw each frame's detections into the picture (overlay: burn)", false, glib.ParameterReadWrite),
}

var registerOnce sync.Once

// RegisterElement registers pwinfer with GStreamer (and the detections meta). Call it after
// gst.Init; calling it again is harmless.
func RegisterElement() error {
	var err error
	registerOnce.Do(func() {
		meta.Register()
		if !gst.RegisterElement(nil, ElementName, gst.RankNone, &element{}, base.ExtendsBaseTransform) {
			err = errors.New("register the pwinfer element")
		}
	})
	return err
}

// element is pwinfer: a transform that hands each analysed frame to its model's engine and
// attaches the detections as buffer meta when its batch is done. The frame itself passes
// through untouched, in order. With a model of more workers than streams, a stream keeps
// several frames in flight, so that one camera can use every worker; otherwise each frame waits
// for its batch before the next is taken, as an in-place transform would.
type element struct {
	self *base.GstBaseTransform // saved in Constructed: v1.4.0 passes nil to the vmethods

	model    atomic.Pointer[string]
	interval atomic.Uint32
	job      atomic.Bool
	burn     atomic.Bool

	mu     sync.Mutex
	ctx    context.Context // cancelled on flush and on PAUSED→READY, so a waiting frame returns
	cancel context.CancelFunc
	engine *Engine
	pre    *model.Preprocessor
	format model.PixelFormat
	matrix model.ColorMatrix
	width  int
	height int
	frames uint64
	last   meta.Detections

	// inFlight are the frames taken and not yet pushed, oldest first. Only the streaming
	// thread (and state changes, once it has stopped) touch it; qmu keeps the race detector
	// informed.
	qmu      sync.Mutex
	inFlight []*outgoing
	// analysed is signalled whenever one of this element's analyses finishes.
	analysed chan struct{}
}

// outgoing is a frame between its arrival and its push downstream, or a serialized event
// queued behind such frames.
type outgoing struct {
	event *gst.Event  // an event (a reference of ours), or nil for a frame
	buf   *gst.Buffer // the reference submit_input_buffer handed over
	frame model.Frame // format and size; planes are set again when it is drawn into
	// done is closed once res holds the frame's analysis; nil for a frame that is not
	// analysed (interval), which carries the last analysed frame's detections.
	done chan struct{}
	res  analysis
}

// finished reports whether the frame (or event) needs nothing more before it is pushed.
func (f *outgoing) finished() bool {
	if f.done == nil {
		return true
	}
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

type analysis struct {
	dets []detect.Detection
	err  error
}

func (e *element) New() glib.GoObjectSubclass {
	el := &element{}
	el.interval.Store(1)
	el.analysed = make(chan struct{}, 1)
	el.ctx, el.cancel = context.WithCancel(context.Background())
	return el
}

func (e *element) ClassInit(klass *glib.ObjectClass) {
	class := gst.ToElementClass(klass)
	class.SetMetadata("pigweight inference", "Filter/Analyzer/Video",
		"Runs an ONNX model on frames of every stream in shared batches and attaches detections as meta",
		"pigweight")
	caps := gst.NewCapsFromString("video/x-raw, format=(string){ I420, NV12 }")
	class.AddPadTemplate(gst.NewPadTemplate("src", gst.PadDirectionSource, gst.PadPresenceAlways, caps))
	class.AddPadTemplate(gst.NewPadTemplate("sink", gst.PadDirectionSink, gst.PadPresenceAlways, caps))
	class.InstallProperties(properties)
}

func (e *element) Constructed(obj *glib.Object) {
	e.self = base.ToGstBaseTransform(obj)
	// Flushing unblocks frames waiting for their batches (a seek or a flush would otherwise
	// wait for inference nobody needs any more) and drops them. Serialized events keep their
	// place among the frames: tags and custom events, which come every few frames (parsers
	// and decoders send bitrate tags), queue behind the frames in flight and go downstream
	// after them; the others (caps, segment, EOS, ...) change how frames are read or end the
	// stream, so they wait until the frames before them are pushed, then pass.
	e.self.GetStaticPad("sink").AddProbe(gst.PadProbeTypeEventFlush|gst.PadProbeTypeEventDownstream, func(_ *gst.Pad, info *gst.PadProbeInfo) gst.PadProbeReturn {
		ev := info.GetEvent()
		if ev == nil {
			return gst.PadProbeOK
		}
		switch ev.Type() {
		case gst.EventTypeFlushStart:
			e.stopWaiting()
		case gst.EventTypeFlushStop:
			e.dropInFlight()
			e.resumeWaiting()
		case gst.EventTypeTag, gst.EventTypeCustomDownstream, gst.EventTypeCustomBoth:
			if e.queueEvent(ev) {
				return gst.PadProbeDrop // it goes downstream from the queue
			}
		default:
			if serialized(ev) {
				e.mu.Lock()
				ctx := e.ctx
				e.mu.Unlock()
				e.pushInFlight(ctx, 1)
			}
		}
		return gst.PadProbeOK
	})
}

// queueEvent puts a serialized event behind the frames in flight and reports whether it did;
// with none in flight it may pass at once.
func (e *element) queueEvent(ev *gst.Event) bool {
	e.qmu.Lock()
	defer e.qmu.Unlock()
	if len(e.inFlight) == 0 {
		return false
	}
	e.inFlight = append(e.inFlight, &outgoing{event: ev.Ref()}) // the probe's drop unrefs its own
	return true
}

func (e *element) SetProperty(obj *glib.Object, id uint, value *glib.Value) {
	v, err := value.GoValue()
	if err != nil {
		return
	}
	switch id {
	case propModel:
		s, _ := v.(string)
		e.model.Store(&s)
	case propInterval:
		if n, ok := v.(uint); ok && n > 0 {
			e.interval.Store(uint32(n))
		}
	case propPriority:
		s, _ := v.(string)
		e.job.Store(s == "job")
	case propBurn:
		b, _ := v.(bool)
		e.burn.Store(b)
	}
}

func (e *element) GetProperty(obj *glib.Object, id uint) *glib.Value {
	var v any
	switch id {
	case propModel:
		if p := e.model.Load(); p != nil {
			v = *p
		} else {
			v = ""
		}
	case propInterval:
		v = uint(e.interval.Load())
	case propMaxBatch, propMaxWait:
		var batch uint
		var wait uint64
		if eng, ok := EngineByName(e.modelName()); ok {
			batch, wait = uint(eng.cfg.MaxBatch), uint64(eng.cfg.MaxWait)
		}
		if id == propMaxBatch {
			v = batch
		} else {
			v = wait
		}
	case propPriority:
		v = "live"
		if e.job.Load() {
			v = "job"
		}
	case propBurn:
		v = e.burn.Load()
	default:
		return nil
	}
	out, err := glib.GValue(v)
	if err != nil {
		return nil
	}
	return out
}

func (e *element) modelName() string {
	if p := e.model.Load(); p != nil {
		return *p
	}
	return ""
}

// ChangeState unblocks waiting frames before chaining up on PAUSED→READY: deactivating the
// sink pad waits for the streaming thread, which would otherwise wait for its batch forever.
func (e *element) ChangeState(el *gst.Element, transition gst.StateChange) gst.StateChangeReturn {
	switch transition {
	case gst.StateChangeReadyToPaused:
		name := e.modelName()
		eng, ok := EngineByName(name)
		if !ok {
			el.ErrorMessage(gst.DomainLibrary, gst.LibraryErrorSettings,
				fmt.Sprintf("pwinfer: no model named %q is loaded", name), "")
			return gst.StateChangeFailure
		}
		e.mu.Lock()
		e.engine, e.pre, e.frames, e.last = eng, eng.NewPreprocessor(), 0, meta.Detections{}
		e.mu.Unlock()
		eng.attach()
		e.resumeWaiting()
	case gst.StateChangePausedToReady:
		e.stopWaiting()
	}
	ret := el.ParentChangeState(transition)
	if transition == gst.StateChangePausedToReady || (transition == gst.StateChangeReadyToPaused && ret == gst.StateChangeFailure) {
		e.dropInFlight()
		e.mu.Lock()
		eng := e.engine
		e.engine = nil
		e.mu.Unlock()
		if eng != nil {
			eng.detach()
		}
	}
	return ret
}

func (e *element) stopWaiting() {
	e.mu.Lock()
	e.cancel()
	e.mu.Unlock()
}

func (e *element) resumeWaiting() {
	e.mu.Lock()
	if e.ctx.Err() != nil {
		e.ctx, e.cancel = context.WithCancel(context.Background())
	}
	e.mu.Unlock()
}

// SetCaps records the frame layout.
func (e *element) SetCaps(_ *base.GstBaseTransform, incaps, _ *gst.Caps) bool {
	s := incaps.GetStructureAt(0)
	format, _ := s.GetValue("format")
	width, _ := s.GetValue("width")
	height, _ := s.GetValue("height")
	w, wok := width.(int)
	h, hok := height.(int)
	if !wok || !hok || w <= 0 || h <= 0 {
		return false
	}
	colorimetry, _ := s.GetValue("colorimetry")
	cm, _ := colorimetry.(string)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.width, e.height = w, h
	e.matrix = model.MatrixFromColorimetry(cm)
	switch format {
	case "I420":
		e.format = model.I420
	case "NV12":
		e.format = model.NV12
	default:
		return false
	}
	return true
}

// SubmitInputBuffer takes each frame (and the reference to it). Every interval-th frame is
// pre-processed here and goes to its batch from a goroutine; then the frames that are done go
// downstream in order, each with detections, waiting while the stream already has its share of
// the model's workers busy (Engine.InFlightPerStream). Overriding it bypasses the in-place path
// (and generate_output, whose v1.4.0 binding cannot return a buffer): the element pushes on its
// source pad itself.
func (e *element) SubmitInputBuffer(_ *base.GstBaseTransform, _ bool, buf *gst.Buffer) gst.FlowReturn {
	e.mu.Lock()
	ctx, eng, pre := e.ctx, e.engine, e.pre
	n := e.frames
	e.frames++
	frame := model.Frame{Format: e.format, Width: e.width, Height: e.height, Matrix: e.matrix}
	e.mu.Unlock()
	f := &outgoing{buf: buf, frame: frame}
	window := 1
	if eng != nil {
		window = eng.InFlightPerStream()
	}
	if eng != nil && n%uint64(e.interval.Load()) == 0 {
		mi := buf.Map(gst.MapRead)
		err := frame.SetPlanes(unsafe.Slice((*byte)(mi.Data()), int(mi.Size())))
		var prepared Prepared
		if err == nil {
			prepared, err = eng.Prepare(pre, frame)
		}
		buf.Unmap()
		if err != nil {
			buf.Unref()
			e.self.ErrorMessage(gst.DomainStream, gst.StreamErrorFormat, "pwinfer: "+err.Error(), "")
			return gst.FlowError
		}
		prio := batch.PriorityLive
		if e.job.Load() {
			prio = batch.PriorityJob
		}
		f.done = make(chan struct{})
		go func() {
			f.res.dets, f.res.err = eng.Infer(ctx, prepared, prio)
			close(f.done)
			select {
			case e.analysed <- struct{}{}:
			default: // a wake-up is pending already; the waiter looks at every frame
			}
		}()
	}
	e.qmu.Lock()
	e.inFlight = append(e.inFlight, f)
	e.qmu.Unlock()
	return e.pushInFlight(ctx, window)
}

// pushInFlight pushes the finished frames at the head, oldest first, and waits for analyses
// to finish while window or more are unfinished (window 1: until every frame is pushed). It
// waits for any analysis, not the oldest: batches finish out of order, and a worker that is
// done first should get the next frame at once. Finished frames behind an unfinished one count
// too, up to twice the window, so that a slow frame cannot pile up decoded frames behind it.
func (e *element) pushInFlight(ctx context.Context, window int) gst.FlowReturn {
	for {
		if ret := e.pushFinished(ctx); ret != gst.FlowOK {
			return ret
		}
		e.qmu.Lock()
		held, unfinished := len(e.inFlight), 0
		for _, f := range e.inFlight {
			if !f.finished() {
				unfinished++
			}
		}
		e.qmu.Unlock()
		if unfinished < window && held < 2*window {
			return gst.FlowOK
		}
		<-e.analysed // Infer returns at once when ctx ends (flush, stop)
	}
}

// pushFinished pushes frames from the head while they are finished.
func (e *element) pushFinished(ctx context.Context) gst.FlowReturn {
	for {
		e.qmu.Lock()
		if len(e.inFlight) == 0 || !e.inFlight[0].finished() {
			e.qmu.Unlock()
			return gst.FlowOK
		}
		f := e.inFlight[0]
		e.inFlight = e.inFlight[1:]
		e.qmu.Unlock()
		if ret := e.finish(ctx, f); ret != gst.FlowOK {
			return ret
		}
	}
}

// finish pushes a queued event, or attaches a frame's detections (its own, or the last analysed
// frame's), draws them in when burning, and pushes the frame.
func (e *element) finish(ctx context.Context, f *outgoing) gst.FlowReturn {
	if f.event != nil {
		pushEventOwned(e.self.SrcPad(), f.event)
		return gst.FlowOK
	}
	buf := f.buf.MakeWritable() // meta and burning write to it; usually it is ours alone already
	var dets []detect.Detection
	switch {
	case f.done != nil && f.res.err == nil:
		dets = f.res.dets
		e.mu.Lock()
		e.last = meta.Detections{Items: dets}
		e.mu.Unlock()
		meta.Attach(buf, meta.Detections{Fresh: true, Items: dets})
	case f.done == nil || errors.Is(f.res.err, batch.ErrSkipped):
		dets = e.attachLast(buf)
	case ctx.Err() != nil:
		buf.Unref()
		return gst.FlowFlushing
	default:
		buf.Unref()
		e.self.ErrorMessage(gst.DomainLibrary, gst.LibraryErrorFailed, "pwinfer: inference failed: "+f.res.err.Error(), "")
		return gst.FlowError
	}
	e.burnIn(buf, f.frame, dets)
	return pushOwned(e.self.SrcPad(), buf)
}

// dropInFlight lets go of the frames in flight and the events queued behind them (flush,
// stop). Their analyses, cancelled with the element's context, finish on their own; nobody
// reads the results.
func (e *element) dropInFlight() {
	e.qmu.Lock()
	dropped := e.inFlight
	e.inFlight = nil
	e.qmu.Unlock()
	for _, f := range dropped {
		if f.event != nil {
			f.event.Unref() // a tag or custom event of the flushed stretch
		} else {
			f.buf.Unref()
		}
	}
}

// attachLast gives a frame that was not analysed the last analysed frame's detections, and
// returns them.
func (e *element) attachLast(buf *gst.Buffer) []detect.Detection {
	e.mu.Lock()
	last := e.last
	e.mu.Unlock()
	meta.Attach(buf, last)
	return last.Items
}

// burnIn draws dets into the picture when the burn property is set. The buffer is writable
// here: finish made it so and has just added its meta.
func (e *element) burnIn(buf *gst.Buffer, frame model.Frame, dets []detect.Detection) {
	if !e.burn.Load() || len(dets) == 0 {
		return
	}
	mi := buf.Map(gst.MapWrite)
	if mi == nil {
		return
	}
	defer buf.Unmap()
	if frame.SetPlanes(unsafe.Slice((*byte)(mi.Data()), int(mi.Size()))) != nil {
		return
	}
	pic := overlay.Picture{Width: frame.Width, Height: frame.Height, Strides: frame.Strides}
	copy(pic.Planes[:], frame.Planes[:])
	pic.Format = overlay.I420
	if frame.Format == model.NV12 {
		pic.Format = overlay.NV12
	}
	_ = overlay.Draw(pic, dets) // SetPlanes checked the planes; Draw only refuses short ones
}
