package graph

import (
	"context"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"github.com/go-gst/go-gst/gst"
	"github.com/go-gst/go-gst/gst/app"
	"github.com/pigweight/pigweight/pipelines/pen"
)

// truthFrames is how many frames of ground truth a synthetic source keeps: enough to cover the
// encoder's, decoder's and inference's delay many times over.
const truthFrames = 256

// syntheticSource renders the demo pen in Go and pushes it into appsrc at the configured rate.
type syntheticSource struct {
	scene    *pen.Scene
	src      *app.Source
	frameDur time.Duration
	size     int
	fail     func(error)

	mu    sync.Mutex
	truth [truthFrames]pen.Truth
}

// buildSynthetic: appsrc (I420 from the pen) → x264enc → h264parse → decoder → sink. The pen is
// encoded and decoded again on purpose, so the rest of the pipeline sees what a camera sends.
func (r *Run) buildSynthetic(sink *gst.Element) error {
	cfg := r.spec.Source.Synthetic
	scene, err := pen.New(pen.Config{Width: cfg.Width, Height: cfg.Height, Pigs: cfg.Pigs, FPS: cfg.FPS, Seed: cfg.Seed})
	if err != nil {
		return &PermanentError{fmt.Errorf("source.synthetic: %w", err)}
	}
	caps := gst.NewCapsFromString(fmt.Sprintf(
		"video/x-raw,format=I420,width=%d,height=%d,framerate=%d/1,colorimetry=%s", cfg.Width, cfg.Height, cfg.FPS, pen.Colorimetry))
	srcElem, err := r.element("appsrc",
		Prop{"caps", caps},
		Prop{"is-live", true},
		// A frame the encoder cannot take yet replaces the oldest queued one: a live source
		// never blocks and never builds a backlog.
		Prop{"max-buffers", uint64(2)},
	)
	if err != nil {
		return err
	}
	SetEnum(srcElem, "leaky-type", "downstream")
	SetEnum(srcElem, "format", "time")
	enc, err := r.element("x264enc",
		Prop{"bitrate", uint(2000)},
		Prop{"key-int-max", uint(cfg.FPS)}, // one keyframe a second: viewers join fast
		Prop{"bframes", uint(0)},
	)
	if err != nil {
		return err
	}
	SetEnum(enc, "tune", "zerolatency")
	SetEnum(enc, "speed-preset", "ultrafast")
	if err := AddAndLink(r.pipeline.Bin, srcElem, enc); err != nil {
		return err
	}
	chain, err := r.decodeChain(H264, false, nil)
	if err != nil {
		return err
	}
	if err := AddAndLink(r.pipeline.Bin, chain...); err != nil {
		return err
	}
	if err := gst.ElementLinkMany(enc, chain[0]); err != nil {
		return err
	}
	if err := chain[len(chain)-1].Link(sink); err != nil {
		return err
	}
	if r.encodeTee != nil {
		if err := r.attachEncoder(r.encodeTee); err != nil {
			return err
		}
	}
	r.synthetic = &syntheticSource{
		scene:    scene,
		src:      app.SrcFromElement(srcElem),
		frameDur: time.Second / time.Duration(cfg.FPS),
		size:     cfg.Width * cfg.Height * 3 / 2,
		fail:     r.fail,
	}
	return nil
}

// feed renders and pushes one frame per frame period until ctx is done. Frame n carries
// PTS n × frame duration, so a decoded frame's PTS names the ground truth it shows.
func (s *syntheticSource) feed(ctx context.Context) {
	tick := time.NewTicker(s.frameDur)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := s.push(); err != nil {
			s.fail(err)
			return
		}
		s.scene.Step()
	}
}

func (s *syntheticSource) push() error {
	buf := gst.NewBufferWithSize(int64(s.size))
	if buf == nil {
		return fmt.Errorf("synthetic: cannot allocate a %d-byte frame", s.size)
	}
	defer Release(buf)
	mi := buf.Map(gst.MapWrite)
	err := s.scene.RenderI420(unsafe.Slice((*byte)(mi.Data()), s.size))
	buf.Unmap()
	if err != nil {
		return fmt.Errorf("synthetic: render: %w", err)
	}
	frame := s.scene.Frame()
	buf.SetPresentationTimestamp(gst.ClockTime(time.Duration(frame) * s.frameDur))
	buf.SetDuration(gst.ClockTime(s.frameDur))
	s.mu.Lock()
	s.truth[frame%truthFrames] = s.scene.Truth()
	s.mu.Unlock()
	switch ret := s.src.PushBuffer(buf); ret {
	case gst.FlowOK, gst.FlowFlushing:
		return nil
	default:
		return fmt.Errorf("synthetic: push frame %d: %s", frame, ret)
	}
}

// truthAt returns the ground truth of the frame shown at pts, if still kept.
func (s *syntheticSource) truthAt(pts time.Duration) (pen.Truth, bool) {
	frame := uint64((pts + s.frameDur/2) / s.frameDur)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.truth[frame%truthFrames]
	return t, t.Frame == frame && len(t.Pigs) > 0
}

// GroundTruth returns the synthetic pen's ground truth for the frame with presentation time
// pts; ok is false for other sources or when the frame is too old.
func (r *Run) GroundTruth(pts time.Duration) (pen.Truth, bool) {
	if r.synthetic == nil {
		return pen.Truth{}, false
	}
	return r.synthetic.truthAt(pts)
}
