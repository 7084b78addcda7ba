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

// Picture formats Encode writes.
const (
	FormatJPEG = "jpeg"
	FormatPNG  = "png"
)

// encodable are the decoded pixel formats the encoders take: what software and NVDEC
// decoders hand out for 8-bit video, and for 10-bit (HDR cameras, phones), which
// videoconvert brings to 8 bits on the way.
var encodable = map[string]bool{
	"I420": true, "YV12": true, "NV12": true, "NV21": true, "Y42B": true, "Y444": true, "GRAY8": true,
	"I420_10LE": true, "I422_10LE": true, "Y444_10LE": true, "P010_10LE": true,
}

// ErrEncodeFormat is returned for a picture or an output format the encoders do not handle.
var ErrEncodeFormat = errors.New("format not handled by the picture encoders")

// encoderPool keeps warm encoders of one format, as many as there are cores at most: requests
// beyond that wait for a free one (a 1080p JPEG takes ~10 ms of one core, so more would only
// take turns on the CPU).
type encoderPool struct {
	format string
	slots  chan struct{} // one token per encoder in use

	mu     sync.Mutex
	idle   []*encoder
	all    []*encoder
	closed bool
}

func newEncoderPool(format string, size int) *encoderPool {
	return &encoderPool{format: format, slots: make(chan struct{}, max(1, size))}
}

// encode compresses p on a free encoder, making one if none is idle.
func (p *encoderPool) encode(pic media.Picture, quality int) ([]byte, error) {
	p.slots <- struct{}{}
	defer func() { <-p.slots }()
	e, err := p.take()
	if err != nil {
		return nil, err
	}
	defer p.give(e)
	return e.encode(pic, quality)
}

func (p *encoderPool) take() (*encoder, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	if n := len(p.idle); n > 0 {
		e := p.idle[n-1]
		p.idle = p.idle[:n-1]
		return e, nil
	}
	e, err := newEncoder(p.format)
	if err != nil {
		return nil, err
	}
	p.all = append(p.all, e)
	return e, nil
}

func (p *encoderPool) give(e *encoder) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.idle = append(p.idle, e)
}

// close stops every encoder, after the encodes in progress.
func (p *encoderPool) close() {
	p.mu.Lock()
	p.closed = true
	all := p.all
	p.all, p.idle = nil, nil
	p.mu.Unlock()
	for _, e := range all {
		e.close()
	}
}

// encoder compresses decoded pictures with GStreamer, several times faster than Go's
// image/jpeg and image/png (a 1080p frame: JPEG ~10 ms against ~50, PNG ~55 against ~250).
// One warm chain serves one request at a time:
//
//	(pictures chained in) → jpegenc → fakesink
//	(pictures chained in) → videoconvert → RGB → pngenc → fakesink
//
// with a probe before the sink that copies each file out. Every element works within the
// chain call, so the file is there when Chain returns.
type encoder struct {
	mu       sync.Mutex
	pipeline *gst.Pipeline
	enc      *gst.Element // jpegenc or pngenc
	quality  bool         // whether enc has a quality property (jpegenc)
	in       *gst.Pad
	caps     string      // the caps last sent; "" before the first picture
	layout   planeLayout // the buffer layout those caps mean
	out      []byte      // the file of the picture being encoded
}

func newEncoder(format string) (*encoder, error) {
	e := &encoder{}
	var chain []*gst.Element
	add := func(factory string, props ...graph.Prop) (*gst.Element, error) {
		el, err := graph.NewElement(factory, props...)
		if err == nil {
			chain = append(chain, el)
		}
		return el, err
	}
	var err error
	switch format {
	case FormatJPEG:
		// Every picture reaches jpegenc 8-bit and planar (see encode), in a buffer of ours.
		e.enc, err = add("jpegenc")
		e.quality = true
	case FormatPNG:
		// videoconvert reads the caps' colorimetry (BT.709 or BT.601 by size, limited range,
		// as GStreamer assumes for video without it) where image/png would take the samples
		// as full-range BT.601.
		if _, err = add("videoconvert"); err == nil {
			if _, err = add("capsfilter", graph.Prop{Name: "caps", Value: gst.NewCapsFromString("video/x-raw,format=RGB")}); err == nil {
				e.enc, err = add("pngenc", graph.Prop{Name: "compression-level", Value: uint(1)})
			}
		}
	default:
		return nil, fmt.Errorf("%w: %q", ErrEncodeFormat, format)
	}
	if err != nil {
		return nil, err
	}
	sink, err := graph.NewDiscardSink()
	if err != nil {
		return nil, err
	}
	chain = append(chain, sink)
	if e.pipeline, err = gst.NewPipeline(""); err != nil {
		return nil, err
	}
	if err := graph.AddAndLink(e.pipeline.Bin, chain...); err != nil {
		return nil, fmt.Errorf("link %s encoder: %w", format, err)
	}
	e.in = chain[0].GetStaticPad("sink")
	sink.GetStaticPad("sink").AddProbe(gst.PadProbeTypeBuffer, func(_ *gst.Pad, info *gst.PadProbeInfo) gst.PadProbeReturn {
		if buf := info.GetBuffer(); buf != nil {
			data, unmap := mapped(buf)
			e.out = append(e.out[:0], data...)
			unmap()
		}
		return gst.PadProbeOK
	})
	if err := e.pipeline.SetState(gst.StatePlaying); err != nil {
		e.close()
		return nil, fmt.Errorf("start %s encoder: %w", format, err)
	}
	e.in.SendEvent(gst.NewStreamStartEvent("pigweight-" + format))
	return e, nil
}

// encode compresses p; quality (1-100) counts for JPEG only.
func (e *encoder) encode(p media.Picture, quality int) ([]byte, error) {
	if !encodable[p.Format] {
		return nil, fmt.Errorf("%w: %s pictures", ErrEncodeFormat, p.Format)
	}
	// libjpeg reads each row to the end of its last block, past the picture's width: only our
	// own buffers (unpack) have that padding cleared. So jpegenc gets no picture it would
	// convert into rows of its own (NV12: it splits the chroma itself) and none that
	// videoconvert would bring to 8 bits in its buffers (10-bit): both made the file depend on
	// stale memory, one frame different JPEGs. Converted here, NVDEC's pictures make the same
	// files as a software decoder's.
	convert := media.Planar
	if e.quality { // jpegenc
		convert = media.EightBit
	}
	p, err := convert(p)
	if err != nil {
		return nil, err
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
			return nil, fmt.Errorf("the encoder refused %s", caps)
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
	if e.quality {
		if err := e.enc.SetProperty("quality", quality); err != nil {
			graph.Release(buf)
			return nil, fmt.Errorf("encoder quality %d: %w", quality, err)
		}
	}
	e.out = e.out[:0]
	ret := e.in.Chain(buf)
	graph.Release(buf)
	if ret != gst.FlowOK || len(e.out) == 0 {
		e.caps = "" // start afresh next time
		return nil, fmt.Errorf("encode %dx%d %s picture: %s", p.Width, p.Height, p.Format, ret)
	}
	return append([]byte(nil), e.out...), nil
}

func (e *encoder) close() {
	e.mu.Lock() // an encode in progress finishes first
	defer e.mu.Unlock()
	if e.pipeline != nil {
		graph.Dispose(e.pipeline)
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
	// than the caps' full size. jpegenc hands libjpeg the rows where they lie, and libjpeg
	// reads each row to the end of its last block (up to 31 bytes past the width): into the
	// row's padding, the next row or the gap before the next plane, and after the last row
	// past the picture. All of that is zeroed (and the tail ours), so that one picture always
	// makes the same file and no stale memory reaches it.
	const tail = 32
	size := 0
	for p := range l.planes {
		size = max(size, l.offset[p]+l.stride[p]*l.rows[p])
	}
	size += tail
	buf := gst.NewBufferWithSize(int64(size))
	if buf == nil {
		return nil, fmt.Errorf("cannot allocate a %d-byte picture", size)
	}
	mi := buf.Map(gst.MapWrite)
	data := unsafe.Slice((*byte)(mi.Data()), size)
	clear(data)
	for p := range l.planes {
		rb := l.rowBytes[p]
		for y := range l.rows[p] {
			copy(data[l.offset[p]+y*l.stride[p]:][:rb], planes[p][y*rb:(y+1)*rb])
		}
	}
	buf.Unmap()
	return buf, nil
}
