package pipelines_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/pipelines"
	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/pipelines/spec"
)

// framesRun is a run that reports an analysed 320x240 frame with one detection every
// millisecond until it is closed.
type framesRun struct {
	stop chan struct{}
	done chan struct{}
}

func startFramesRun(hooks media.Hooks) *framesRun {
	r := &framesRun{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for i := 0; ; i++ {
			select {
			case <-r.stop:
				return
			case <-time.After(time.Millisecond):
			}
			hooks.OnFrame(detect.Frame{PTS: time.Duration(i) * 40 * time.Millisecond, Width: 320, Height: 240, Analysed: true,
				Detections: []detect.Detection{{Box: detect.Box{X: 1, Y: 2, W: 30, H: 20}, Class: "pig", Score: 0.9}}})
		}
	}()
	return r
}

func (*framesRun) Decoder() string { return "test" }

func (r *framesRun) Wait(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func (r *framesRun) Close() {
	close(r.stop)
	<-r.done
}

// trackStage numbers each run's frames' detections as tracks and counts its runs' ends.
type trackStage struct {
	mu     sync.Mutex
	ended  int
	starts atomic.Int32
}

type trackRun struct {
	s *trackStage
	n int64
}

func (s *trackStage) StartRun(spec.Pipeline) pipelines.RunStage {
	s.starts.Add(1)
	return &trackRun{s: s}
}

func (r *trackRun) Annotate(f *media.AnalysedFrame) {
	r.n++
	for i := range f.Detections {
		f.Detections[i].Track, f.Detections[i].WeightKg = r.n, 50
	}
}

func (r *trackRun) End() {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	r.s.ended++
}

// Analysed frames leave a pipeline one way: through its frame stage, then to every
// subscriber (each with its own bounded queue) and to the latest-detections answer.
func TestAnalysedFramesPassTheStageToEverySubscriber(t *testing.T) {
	m := pipelines.NewManager(pipelines.RuntimeFunc(func(_ spec.Pipeline, hooks media.Hooks) (pipelines.Run, error) {
		return startFramesRun(hooks), nil
	}), nil)
	stage := &trackStage{}
	m.SetFrameStage(stage)
	p := spec.DefaultPipeline()
	p.Name = "pen"
	p.Source.Type = spec.SourceSynthetic
	p.Inference = spec.Inference{Enabled: true, Model: "demo", Interval: 1}
	if err := m.Add(p); err != nil {
		t.Fatal(err)
	}
	fast, err := m.SubscribeFrames("pen", 64)
	if err != nil {
		t.Fatal(err)
	}
	slow, err := m.SubscribeFrames("pen", 1)
	if err != nil {
		t.Fatal(err)
	}
	var last int64
	for range 50 {
		f := <-fast.C
		if f.Width != 320 || f.Height != 240 || len(f.Detections) != 1 {
			t.Fatalf("frame %+v", f)
		}
		d := f.Detections[0]
		if d.Track <= last || d.WeightKg != 50 {
			t.Fatalf("detection %+v after track %d: the stage did not annotate it", d, last)
		}
		last = d.Track
		if f.Time.IsZero() || time.Since(f.Time) > time.Minute {
			t.Fatalf("capture time %v of a camera-like source, want about now", f.Time)
		}
	}
	if slow.Dropped() == 0 {
		t.Error("a subscriber that never reads lost nothing")
	}
	d, err := m.Detections("pen")
	if err != nil || len(d.Detections) != 1 || d.Detections[0].Track == 0 {
		t.Errorf("latest detections %+v, %v: want the annotated frame", d, err)
	}
	m.Close()
	for range fast.C {
	}
	if _, ok := <-slow.C; ok {
		for range slow.C {
		}
	}
	stage.mu.Lock()
	defer stage.mu.Unlock()
	if got := int(stage.starts.Load()); stage.ended != got || got == 0 {
		t.Errorf("%d runs started, %d ended", got, stage.ended)
	}
}
