package simcam

import (
	"fmt"
	"time"
	"unsafe"

	"github.com/go-gst/go-gst/gst"
	"github.com/go-gst/go-gst/gst/app"
	"github.com/pigweight/pigweight/pipelines/graph"
	"github.com/pigweight/pigweight/pipelines/pen"
)

// Clip describes a recording of the synthetic pen: what a camera of the pen would have
// written to disk. Benchmarks replay it (through a File camera, or as an upload) so that
// encoding is not part of what they measure.
type Clip struct {
	Pen    pen.Config // zero fields take the Default* values
	Frames int        // number of frames, at least 1
	// GOP is the keyframe interval in frames; 0 means one keyframe a second.
	GOP int
	// BFrames is the number of consecutive B-frames x264 may use (0: PTS = DTS, like most
	// cameras; recordings from editing tools have 2 or 3).
	BFrames int
	// BitrateKbps is x264's target; 0 means 2000 per 640×480, scaled by area.
	BitrateKbps int
}

// WritePenClip renders c.Frames frames of the pen and encodes them with x264enc into an MP4
// file at path: appsrc → x264enc → h264parse → mp4mux → filesink. It blocks until the file is
// complete.
func WritePenClip(path string, c Clip) error {
	scene, err := pen.New(penWithDefaults(c.Pen))
	if err != nil {
		return fmt.Errorf("simcam: clip: %w", err)
	}
	pc := scene.Config()
	if c.Frames < 1 {
		return fmt.Errorf("%w: a clip needs at least one frame", ErrInvalidConfig)
	}
	if c.GOP <= 0 {
		c.GOP = pc.FPS
	}
	if c.BitrateKbps <= 0 {
		c.BitrateKbps = max(200, 2000*pc.Width*pc.Height/(640*480))
	}

	pl, err := gst.NewPipeline("")
	if err != nil {
		return fmt.Errorf("simcam: clip: %w", err)
	}
	defer graph.Dispose(pl)
	// Only integers from a validated pen config go into the caps string.
	caps := gst.NewCapsFromString(fmt.Sprintf(
		"video/x-raw,format=I420,width=%d,height=%d,framerate=%d/1,colorimetry=%s",
		pc.Width, pc.Height, pc.FPS, pen.Colorimetry))
	src, err := graph.NewElement("appsrc",
		graph.Prop{Name: "caps", Value: caps},
		graph.Prop{Name: "block", Value: true}, // a file has no deadline: wait for the encoder
		graph.Prop{Name: "max-buffers", Value: uint64(4)},
	)
	if err != nil {
		return err
	}
	graph.SetEnum(src, "format", "time")
	enc, err := graph.NewElement("x264enc",
		graph.Prop{Name: "bitrate", Value: uint(c.BitrateKbps)},
		graph.Prop{Name: "key-int-max", Value: uint(c.GOP)},
		graph.Prop{Name: "bframes", Value: uint(c.BFrames)},
	)
	if err != nil {
		return err
	}
	graph.SetEnum(enc, "speed-preset", "veryfast")
	elems := []*gst.Element{src, enc}
	for _, factory := range []string{"h264parse", "mp4mux"} {
		e, err := graph.NewElement(factory)
		if err != nil {
			return err
		}
		elems = append(elems, e)
	}
	sink, err := graph.NewElement("filesink", graph.Prop{Name: "location", Value: path})
	if err != nil {
		return err
	}
	if err := graph.AddAndLink(pl.Bin, append(elems, sink)...); err != nil {
		return fmt.Errorf("simcam: clip: %w", err)
	}
	if err := pl.SetState(gst.StatePlaying); err != nil {
		return fmt.Errorf("simcam: clip: %w", err)
	}

	appSrc := app.SrcFromElement(src)
	frameDur := time.Second / time.Duration(pc.FPS)
	size := pc.Width * pc.Height * 3 / 2
	for i := range c.Frames {
		buf := gst.NewBufferWithSize(int64(size))
		if buf == nil {
			return fmt.Errorf("simcam: clip: cannot allocate a %d-byte frame", size)
		}
		mi := buf.Map(gst.MapWrite)
		err := scene.RenderI420(unsafe.Slice((*byte)(mi.Data()), size))
		buf.Unmap()
		if err != nil {
			graph.Release(buf)
			return fmt.Errorf("simcam: clip: render: %w", err)
		}
		buf.SetPresentationTimestamp(gst.ClockTime(time.Duration(i) * frameDur))
		buf.SetDuration(gst.ClockTime(frameDur))
		ret := appSrc.PushBuffer(buf)
		graph.Release(buf)
		if ret != gst.FlowOK {
			return clipFailure(pl, fmt.Errorf("push frame %d: %s", i, ret))
		}
		scene.Step()
	}
	appSrc.EndStream()
	bus := pl.GetPipelineBus()
	defer graph.ReleaseObject(bus.InitiallyUnowned.Object)
	msg := bus.TimedPopFiltered(gst.ClockTimeNone, gst.MessageEOS|gst.MessageError)
	if msg == nil {
		return fmt.Errorf("simcam: clip: the bus closed before the end of the stream")
	}
	defer graph.Release(msg)
	if msg.Type() == gst.MessageError {
		return fmt.Errorf("simcam: clip: %w", messageError(msg))
	}
	return nil
}

// clipFailure prefers the element error that stopped the pipeline to the flow return it caused.
func clipFailure(pl *gst.Pipeline, fallback error) error {
	bus := pl.GetPipelineBus()
	defer graph.ReleaseObject(bus.InitiallyUnowned.Object)
	if msg := bus.TimedPopFiltered(0, gst.MessageError); msg != nil {
		defer graph.Release(msg)
		return fmt.Errorf("simcam: clip: %w", messageError(msg))
	}
	return fmt.Errorf("simcam: clip: %w", fallback)
}
