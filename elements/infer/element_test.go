package infer

import (
	"context"
	"fmt"
	"os"
	goruntime "runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-gst/go-gst/gst"
	"github.com/go-gst/go-gst/gst/app"
	"github.com/pigweight/pigweight/elements/batch"
	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/elements/meta"
	"github.com/pigweight/pigweight/elements/model"
	"github.com/pigweight/pigweight/elements/onnx/onnxtest"
	"go.uber.org/goleak"
)

var ortRuntime *model.Runtime

func TestMain(m *testing.M) {
	gst.Init(nil)
	if err := RegisterElement(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	path, err := model.FindLibrary()
	if err == nil {
		ortRuntime, err = model.Open(path)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err, "(make deps installs ONNX Runtime)")
		os.Exit(1)
	}
	goleak.VerifyTestMain(m)
}

// newEngine registers an engine on a 160×120 demo model for the test's pipelines.
func newEngine(t *testing.T, name string, maxBatch int, maxWait time.Duration) *Engine {
	t.Helper()
	return newEngineWorkers(t, name, maxBatch, maxWait, 1, 160, 120)
}

// newEngineWorkers loads the demo model for width×height frames with the given workers.
func newEngineWorkers(t *testing.T, name string, maxBatch int, maxWait time.Duration, workers, width, height int) *Engine {
	t.Helper()
	e, err := NewEngine(ortRuntime, EngineConfig{
		Name: name, Session: model.SessionConfig{Path: onnxtest.DemoModelFile(t, width, height)}, Format: "mask", Classes: []string{"pig"},
		MaxBatch: maxBatch, MaxWait: maxWait, Workers: workers,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := AddEngine(e); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		RemoveEngine(name)
		e.Close()
	})
	return e
}

// launch builds a test pipeline (launch syntax is fine in tests: the strings are ours).
func launch(t *testing.T, desc string) *gst.Pipeline {
	t.Helper()
	p, err := gst.NewPipelineFromString(desc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.SetState(gst.StateNull)
		goruntime.KeepAlive(p) // the wrapper's finalizer must not dispose p mid-change
	})
	return p
}

// play launches a test pipeline that ends in an appsink named sink and sets it playing.
func play(t *testing.T, desc string) (*gst.Pipeline, *app.Sink) {
	t.Helper()
	p := launch(t, desc)
	el, err := p.GetElementByName("sink")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetState(gst.StatePlaying); err != nil {
		t.Fatal(err)
	}
	return p, app.SinkFromElement(el)
}

// Every frame leaves with detections; with interval 3, frames 0, 3, 6, 9 are analysed and
// the others carry the last result. EOS passes through.
func TestDetectionsOnEveryFrameWithInterval(t *testing.T) {
	newEngine(t, "interval", 2, 10*time.Millisecond)
	p, sink := play(t, "videotestsrc num-buffers=10 ! video/x-raw,format=I420,width=160,height=120 ! pwinfer model=interval interval=3 ! appsink name=sink sync=false")
	for i := range 10 {
		sample := sink.TryPullSample(gst.ClockTime(10 * time.Second))
		if sample == nil {
			t.Fatalf("frame %d never arrived", i)
		}
		d, ok, err := meta.Read(sample.GetBuffer())
		if err != nil || !ok {
			t.Fatalf("frame %d: detections %v, %v", i, ok, err)
		}
		if want := i%3 == 0; d.Fresh != want {
			t.Errorf("frame %d: analysed %v, want %v", i, d.Fresh, want)
		}
	}
	msg := p.GetBus().TimedPopFiltered(gst.ClockTime(10*time.Second), gst.MessageEOS|gst.MessageError)
	if msg == nil || msg.Type() != gst.MessageEOS {
		t.Fatalf("want EOS, got %v", msg)
	}
}

// waitQueued waits until a frame sits in the engine's batcher, waiting for company.
func waitQueued(t *testing.T, e *Engine) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.batcher.Metrics().QueueLen == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no frame ever waited in the batcher")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A frame waiting for its batch must not hold up a state change or a flush: the engine
// believes a second stream will come (so the lone frame waits for max-wait, a minute).
func TestWaitingFrameDoesNotBlockStopOrFlush(t *testing.T) {
	cases := []struct {
		name string
		act  func(p *gst.Pipeline) error
	}{
		{"set NULL", func(p *gst.Pipeline) error { return p.SetState(gst.StateNull) }},
		{"flushing seek", func(p *gst.Pipeline) error {
			if !p.SeekSimple(0, gst.FormatTime, gst.SeekFlagFlush) {
				return fmt.Errorf("seek refused")
			}
			return nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, "stuck", 4, time.Minute)
			e.attach() // a phantom second stream that never sends
			defer e.detach()
			p := launch(t, "videotestsrc ! video/x-raw,format=I420,width=160,height=120 ! pwinfer model=stuck ! fakesink sync=false")
			if err := p.SetState(gst.StatePlaying); err != nil {
				t.Fatal(err)
			}
			waitQueued(t, e)
			done := make(chan error, 1)
			go func() { done <- tc.act(p) }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("blocked behind the waiting frame")
			}
			if err := p.SetState(gst.StateNull); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestUnknownModelFailsTheStateChange(t *testing.T) {
	p := launch(t, "videotestsrc num-buffers=1 ! pwinfer model=nope ! fakesink")
	if err := p.SetState(gst.StatePlaying); err == nil {
		msg := p.GetBus().TimedPopFiltered(gst.ClockTime(5*time.Second), gst.MessageError)
		if msg == nil {
			t.Fatal("a pipeline with an unknown model played without an error")
		}
	}
}

// pinkBlobFrame is a 160×120 I420 grey floor with one pig-pink 40×30 rectangle at (50, 40):
// what the demo model finds.
func pinkBlobFrame() []byte {
	const w, h = 160, 120
	f := make([]byte, w*h*3/2)
	y, u, v := f[:w*h], f[w*h:w*h*5/4], f[w*h*5/4:]
	for i := range y {
		y[i] = 102 // RGB 100, 100, 100 in BT.601 limited range
	}
	for i := range u {
		u[i], v[i] = 128, 128
	}
	for r := 40; r < 70; r++ {
		for c := 50; c < 90; c++ {
			y[r*w+c] = 167 // RGB 235, 150, 150
			u[(r/2)*(w/2)+c/2], v[(r/2)*(w/2)+c/2] = 115, 165
		}
	}
	return f
}

// With burn, the detections are drawn into the frame's picture; without, it passes untouched.
func TestBurnDrawsDetectionsIntoThePicture(t *testing.T) {
	newEngine(t, "burn", 1, time.Millisecond)
	for _, burn := range []bool{false, true} {
		p := launch(t, fmt.Sprintf("appsrc name=src format=time caps=video/x-raw,format=I420,width=160,height=120,framerate=10/1 ! pwinfer model=burn burn=%v ! appsink name=sink sync=false", burn))
		src, _ := p.GetElementByName("src")
		el, _ := p.GetElementByName("sink")
		if err := p.SetState(gst.StatePlaying); err != nil {
			t.Fatal(err)
		}
		buf := gst.NewBufferFromBytes(pinkBlobFrame())
		if ret := app.SrcFromElement(src).PushBuffer(buf); ret != gst.FlowOK {
			t.Fatalf("push: %v", ret)
		}
		sample := app.SinkFromElement(el).TryPullSample(gst.ClockTime(10 * time.Second))
		if sample == nil {
			t.Fatal("no frame came out")
		}
		d, _, _ := meta.Read(sample.GetBuffer())
		mi := sample.GetBuffer().Map(gst.MapRead)
		out := append([]byte(nil), mi.Bytes()...)
		sample.GetBuffer().Unmap()
		if len(d.Items) != 1 {
			t.Fatalf("burn=%v: %d detections of the pink blob", burn, len(d.Items))
		}
		b := d.Items[0].Box
		edge := out[int(b.Y+1)*160+int(b.X+b.W/2)] // a pixel on the box's top edge
		inside := out[55*160+70]
		if burn && (edge != 145 || inside != 167) {
			t.Errorf("burned: top edge Y %d (want 145, the box colour), inside Y %d (want 167, untouched)", edge, inside)
		}
		if !burn && edge == 145 {
			t.Errorf("burn off, yet the box was drawn")
		}
		p.SetState(gst.StateNull)
	}
}

// With a model of two workers one stream keeps two frames in analysis, so two batches run at
// once, and the frames still leave in order, each with its own fresh detections, before EOS.
// The first batch is held until batch `releasedBy` starts: the second shows two frames in
// analysis; the third shows that a newer frame finishing first frees its worker for the next
// frame at once, instead of idling until the oldest is done. The sixth never comes while the
// first is held: the stream holds at most four frames (twice its two) from the held one on, so
// a stalled frame cannot pile up decoded ones behind it. (The first batch is the first or the
// second frame's, whichever goroutine reaches the batcher first: five batches may start.)
func TestOneStreamUsesEveryWorker(t *testing.T) {
	for _, tt := range []struct {
		releasedBy int32
		patience   time.Duration
		starts     bool
	}{{2, 5 * time.Second, true}, {3, 5 * time.Second, true}, {6, time.Second, false}} {
		t.Run(fmt.Sprintf("first batch held until batch %d", tt.releasedBy), func(t *testing.T) {
			gaveUp := oneStreamTwoWorkers(t, tt.releasedBy, tt.patience)
			if gaveUp == tt.starts {
				t.Errorf("batch %d started while the first was held: %v; want %v", tt.releasedBy, !gaveUp, tt.starts)
			}
		})
	}
}

// oneStreamTwoWorkers plays frames through pwinfer on two workers, holding the first batch until
// batch releasedBy starts or patience runs out, and reports whether it ran out.
func oneStreamTwoWorkers(t *testing.T, releasedBy int32, patience time.Duration) bool {
	name := fmt.Sprintf("two-workers-%d", releasedBy)
	e := newEngineWorkers(t, name, 1, 0, 2, 160, 120)
	gaveUp := holdFirstBatch(t, e, releasedBy, patience)
	const frames = 30
	p, sink := play(t, fmt.Sprintf("videotestsrc num-buffers=%d ! video/x-raw,format=I420,width=160,height=120 ! pwinfer model=%s ! appsink name=sink sync=false", frames, name))
	last := time.Duration(-1)
	for i := range frames {
		sample := sink.TryPullSample(gst.ClockTime(10 * time.Second))
		if sample == nil {
			t.Fatalf("frame %d never arrived", i)
		}
		buf := sample.GetBuffer()
		pts := time.Duration(buf.PresentationTimestamp())
		if pts <= last {
			t.Fatalf("frame %d: pts %v after %v: out of order", i, pts, last)
		}
		last = pts
		if d, ok, err := meta.Read(buf); err != nil || !ok || !d.Fresh {
			t.Fatalf("frame %d: detections %+v, %v, %v; want its own", i, d, ok, err)
		}
	}
	msg := p.GetBus().TimedPopFiltered(gst.ClockTime(10*time.Second), gst.MessageEOS|gst.MessageError)
	if msg == nil || msg.Type() != gst.MessageEOS {
		t.Fatalf("want EOS, got %v", msg)
	}
	if m := e.Info().Batcher; m.PeakRunning != 2 || m.Completed != frames {
		t.Errorf("batcher: %d completed, at most %d batches at once; want %d and 2", m.Completed, m.PeakRunning, frames)
	}
	return gaveUp.Load()
}

// holdFirstBatch gives e a batcher of two workers whose first batch waits until batch
// releasedBy starts, or patience runs out, which the returned flag then says.
func holdFirstBatch(t *testing.T, e *Engine, releasedBy int32, patience time.Duration) *atomic.Bool {
	t.Helper()
	var runs atomic.Int32
	gaveUp := new(atomic.Bool)
	release := make(chan struct{})
	e.batcher.Close()
	var err error
	e.batcher, err = batch.New(batch.Config{MaxBatch: 1, Workers: 2}, func(ctx context.Context, jobs []*job) ([][]detect.Detection, error) {
		switch runs.Add(1) {
		case 1:
			select {
			case <-release:
			case <-time.After(patience):
				gaveUp.Store(true)
			}
		case releasedBy:
			close(release)
		}
		return e.run(ctx, jobs)
	})
	if err != nil {
		t.Fatal(err)
	}
	return gaveUp
}

// A tag event (parsers and decoders send bitrate tags every few frames) keeps its place
// between the frames, yet does not make the stream wait for the frames before it: the first
// batch is held until the second starts, which needs the frame after the tag.
func TestTagsKeepTheirPlaceWithoutWaiting(t *testing.T) {
	e := newEngineWorkers(t, "tags", 1, 0, 2, 160, 120)
	gaveUp := holdFirstBatch(t, e, 2, 5*time.Second)
	p := launch(t, "appsrc name=src format=time caps=video/x-raw,format=I420,width=160,height=120,framerate=10/1 ! pwinfer model=tags ! fakesink name=sink sync=false")
	el, _ := p.GetElementByName("src")
	src := app.SrcFromElement(el)
	sink, _ := p.GetElementByName("sink")
	var mu sync.Mutex
	var seen []string
	sink.GetStaticPad("sink").AddProbe(gst.PadProbeTypeBuffer|gst.PadProbeTypeEventDownstream, func(_ *gst.Pad, info *gst.PadProbeInfo) gst.PadProbeReturn {
		mu.Lock()
		defer mu.Unlock()
		if info.Type()&gst.PadProbeTypeBuffer != 0 {
			seen = append(seen, fmt.Sprint("frame ", int64(info.GetBuffer().PresentationTimestamp())/int64(100*time.Millisecond)))
		} else if ev := info.GetEvent(); ev != nil && (ev.Type() == gst.EventTypeTag || ev.Type() == gst.EventTypeEOS) {
			seen = append(seen, ev.Type().String())
		}
		return gst.PadProbeOK
	})
	if err := p.SetState(gst.StatePlaying); err != nil {
		t.Fatal(err)
	}
	push := func(i int) {
		buf := gst.NewBufferFromBytes(make([]byte, 160*120*3/2))
		buf.SetPresentationTimestamp(gst.ClockTime(time.Duration(i) * 100 * time.Millisecond))
		if ret := src.PushBuffer(buf); ret != gst.FlowOK {
			t.Fatalf("push frame %d: %v", i, ret)
		}
	}
	tags := gst.NewEmptyTagList()
	tags.AddValue(gst.TagMergeReplace, gst.TagBitrate, uint(1000))
	push(0)
	el.SendEvent(gst.NewTagEvent(tags)) // appsrc queues serialized events among its buffers
	push(1)
	push(2)
	src.EndStream()
	msg := p.GetBus().TimedPopFiltered(gst.ClockTime(10*time.Second), gst.MessageEOS|gst.MessageError)
	if msg == nil || msg.Type() != gst.MessageEOS {
		t.Fatalf("want EOS, got %v", msg)
	}
	p.SetState(gst.StateNull)
	if gaveUp.Load() {
		t.Error("the stream waited for the frame before the tag: the second batch never started while the first was held")
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"frame 0", "tag", "frame 1", "frame 2", "eos"}; !slices.Equal(seen, want) {
		t.Errorf("downstream saw %q; want %q", seen, want)
	}
}

// Zero workers choose two on a CPU of two cores or more and one elsewhere; zero threads share
// the cores out among several workers; explicit settings stay as they are.
func TestParallelism(t *testing.T) {
	cores := goruntime.NumCPU()
	autoWorkers, autoThreads := 1, 0
	if cores >= 2 {
		autoWorkers, autoThreads = 2, cores/2
	}
	type want struct{ workers, threads int }
	tests := []struct {
		providers        []string
		workers, threads int
		want             want
	}{
		{[]string{"cpu"}, 0, 0, want{autoWorkers, autoThreads}},
		{nil, 0, 0, want{autoWorkers, autoThreads}},
		{[]string{"cpu"}, 1, 0, want{1, 0}},
		{[]string{"cpu"}, 3, 2, want{3, 2}},
		{[]string{"cpu"}, 4, 0, want{4, max(1, cores/4)}},
	}
	if ortRuntime.FirstUsable([]string{"cuda"}) == "" {
		// CUDA listed first but unusable here: the CPU it falls back to decides.
		tests = append(tests, struct {
			providers        []string
			workers, threads int
			want             want
		}{[]string{"cuda", "cpu"}, 0, 0, want{autoWorkers, autoThreads}})
	}
	for _, tt := range tests {
		w, th := Parallelism(ortRuntime, tt.providers, tt.workers, tt.threads)
		if (want{w, th}) != tt.want {
			t.Errorf("Parallelism(%v, %d, %d) = %d workers, %d threads; want %+v", tt.providers, tt.workers, tt.threads, w, th, tt.want)
		}
	}
}
