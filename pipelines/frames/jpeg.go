package frames

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"github.com/go-gst/go-gst/gst"
	"github.com/pigweight/pigweight/pipelines/graph"
	"github.com/pigweight/pigweight/pipelines/media"
)

// jpegFormats are the decoded formats the JPEG encoder takes as they are (jpegenc reads them
// without conversion).
var jpegFormats = map[string]bool{"I420": true, "YV12": true, "NV12": true, "NV21": true, "Y42B": true, "Y444": true, "GRAY8": true}

// ErrJPEGFormat is returned for pictures in a format the JPEG encoder does not take.
var ErrJPEGFormat = errors.New("picture format not taken by the JPEG encoder")

// jpegEncoder compresses decoded pictures with GStreamer's jpegenc (libjpeg-turbo), several
// times faster than image/jpeg (a 1080p frame: ~10 ms against ~50). One warm element serves
// every request in turn:
//
//	(pictures chained in) → jpegenc → fakesink
//
// with a probe on jpegenc's source pad that copies each JPEG out. jpegenc encodes within the
// chain call, so the JPEG is there when Chain returns.
type jpegEncoder struct {
	mu       sync.Mutex
	pipeline *gst.Pipeline
	enc      *gst.Element
	in       *gst.Pad
	caps     string      // the caps last sent; "" before the first picture
	layout   planeLayout // the buffer layout those caps mean
	out      []byte      // the JPEG of the picture being encoded
}

func newJPEGEncoder() (*jpegEncoder, error) {
	e := &jpegEncoder{}
	var err error
	if e.pipeline, err = gst.NewPipeline(""); err != nil {
		return nil, err
	}
	if e.enc, err = graph.NewElement("jpegenc"); err != nil {
		return nil, err
	}
	sink, err := graph.NewElement("fakesink", graph.Prop{Name: "sync", Value: false}, graph.Prop{Name: "async", Value: false}, graph.Prop{Name: "enable-last-sample", Value: false})
	if err != nil {
		return nil, err
	}
	if err := graph.AddAndLink(e.pipeline.Bin, e.enc, sink); err != nil {
		return nil, fmt.Errorf("link JPEG encoder: %w", err)
	}
	e.in = e.enc.GetStaticPad("sink")
	e.enc.GetStaticPad("src").AddProbe(gst.PadProbeTypeBuffer, func(_ *gst.Pad, info *gst.PadProbeInfo) gst.PadProbeReturn {
		if buf := info.GetBuffer(); buf != nil {
			data, unmap := mapped(buf)
			e.out = append(e.out[:0], data...)
			unmap()
		}
		return gst.PadProbeOK
	})
	if err := e.pipeline.SetState(gst.StatePlaying); err != nil {
		e.close()
		return nil, fmt.Errorf("start JPEG encoder: %w", err)
	}
	e.in.SendEvent(gst.NewStreamStartEvent("pigweight-jpeg"))
	return e, nil
}

// encode compresses p at quality (1-100).
func (e *jpegEncoder) encode(p media.Picture, quality int) ([]byte, error) {
	if !jpegFormats[p.Format] {
		return nil, fmt.Errorf("%w: %s", ErrJPEGFormat, p.Format)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pipeline == nil {
		return nil, ErrClosed
	}
	// Only a format from the list above and two integers go into the caps.
	caps := fmt.Sprintf("video/x-raw,format=%s,width=%d,height=%d,framerate=0/1", p.Format, p.Width, p.Height)
	if caps != e.caps {
		c := gst.NewCapsFromString(caps)
		if c == nil {
			return nil, fmt.Errorf("unusable picture caps %s", caps)
		}
		layout, err := layoutOf(c)
		if err != nil {
			return nil, err
		}
		if !e.in.SendEvent(gst.NewCapsEvent(c)) {
			return nil, fmt.Errorf("jpegenc refused %s", caps)
		}
		if e.caps == "" {
			e.in.SendEvent(gst.NewSegmentEvent(gst.NewFormattedSegment(gst.FormatTime)))
		}
		e.caps, e.layout = caps, layout
	}
	buf, err := e.layout.unpack(p.Planes)
	if err != nil {
		return nil, err
	}
	if err := e.enc.SetProperty("quality", quality); err != nil {
		return nil, fmt.Errorf("jpegenc quality %d: %w", quality, err)
	}
	e.out = e.out[:0]
	ret := e.in.Chain(buf)
	graph.Release(buf)
	if ret != gst.FlowOK || len(e.out) == 0 {
		e.caps = "" // start afresh next time
		return nil, fmt.Errorf("jpegenc: %s", ret)
	}
	return append([]byte(nil), e.out...), nil
}

func (e *jpegEncoder) close() {
	if e.pipeline != nil {
		e.pipeline.SetState(gst.StateNull)
		e.pipeline = nil
	}
}

// unpack lays packed planes (pack's output) out in a new buffer of this layout.
func (l planeLayout) unpack(planes [][]byte) (*gst.Buffer, error) {
	if len(planes) != l.planes {
		return nil, fmt.Errorf("%s picture with %d planes, its layout has %d", l.format, len(planes), l.planes)
	}
	for p := range l.planes {
		if len(planes[p]) != l.rowBytes[p]*l.rows[p] {
			return nil, fmt.Errorf("%s %dx%d picture's plane %d has %d bytes, want %d", l.format, l.width, l.height, p, len(planes[p]), l.rowBytes[p]*l.rows[p])
		}
	}
	// Whole rows, padding included, for every plane: GstVideoFrame refuses a buffer shorter
	// than the caps' full size.
	size := 0
	for p := range l.planes {
		size = max(size, l.offset[p]+l.stride[p]*l.rows[p])
	}
	buf := gst.NewBufferWithSize(int64(size))
	if buf == nil {
		return nil, fmt.Errorf("cannot allocate a %d-byte picture", size)
	}
	mi := buf.Map(gst.MapWrite)
	data := unsafe.Slice((*byte)(mi.Data()), size)
	for p := range l.planes {
		rb := l.rowBytes[p]
		for y := range l.rows[p] {
			copy(data[l.offset[p]+y*l.stride[p]:][:rb], planes[p][y*rb:(y+1)*rb])
		}
	}
	buf.Unmap()
	return buf, nil
}
