// Package media holds what a running pipeline hands to the rest of pigweight: decoded frames'
// analysis and encoded access units. It has no cgo, so that the pipeline manager, the API and
// the WebRTC side can use it without GStreamer.
package media

import (
	"fmt"
	"time"

	"github.com/pigweight/pigweight/elements/detect"
)

// AccessUnit is one encoded picture as the source sent it, before decoding: what a WebRTC
// viewer can be sent without transcoding.
type AccessUnit struct {
	Codec    string // "h264" or "h265"
	PTS      time.Duration
	Keyframe bool
	// Data is the picture in Annex B byte-stream form (start codes), parameter sets included
	// before each keyframe. The receiver owns it.
	Data []byte
	// Captured is when the access unit reached pigweight (the wall clock at the pipeline's
	// tap): the start of the glass-to-glass latency a viewer measures.
	Captured time.Time
}

// Hooks receive what a running pipeline produces. They are called from GStreamer streaming
// threads and must return quickly; any may be nil.
type Hooks struct {
	OnFrame      func(detect.Frame)
	OnAccessUnit func(AccessUnit)
	// OnSkipped is called for each decoded frame dropped before inference because inference
	// was behind: a live source keeps its newest frames rather than building a backlog.
	OnSkipped func()
}

// Picture is one decoded frame of a stored video, as exact-frame access returns it.
type Picture struct {
	// Frame is the frame's number: 0-based, in presentation order, after the container's
	// edit list (ffmpeg's numbering for -map 0:v:0 -fps_mode passthrough).
	Frame int
	// PTS is the frame's presentation time from the start of the video.
	PTS           time.Duration
	Width, Height int
	// Format is the decoder's pixel format, named as in GStreamer caps: "I420" for 8-bit
	// 4:2:0, "I420_10LE", "Y444", "NV12", ...
	Format string
	// Planes are the picture's planes in order, each row holding exactly its samples (no
	// stride padding): for I420, Y then U then V, the bytes ffmpeg's rawvideo and framemd5
	// see for yuv420p. Shared with a cache: the receiver must not modify them.
	Planes [][]byte
	// Cached says the picture came from the decoded-frame cache rather than the decoder.
	Cached bool
}

// Bytes is the total size of the picture's planes.
func (p Picture) Bytes() int {
	n := 0
	for _, plane := range p.Planes {
		n += len(plane)
	}
	return n
}

// Planar returns p with NV12's or NV21's interleaved chroma (NVDEC hands out NV12) split into
// the separate U and V planes of I420, the luma shared rather than copied: the same picture
// as a software decoder's. Other pictures come back as they are.
func Planar(p Picture) (Picture, error) {
	if p.Format != "NV12" && p.Format != "NV21" {
		return p, nil
	}
	w, h := p.Width, p.Height
	cw, ch := (w+1)/2, (h+1)/2
	if w <= 0 || h <= 0 || len(p.Planes) != 2 || len(p.Planes[0]) != w*h || len(p.Planes[1]) != 2*cw*ch {
		return Picture{}, fmt.Errorf("%s picture of %dx%d has planes of the wrong size", p.Format, w, h)
	}
	u, v := make([]byte, cw*ch), make([]byte, cw*ch)
	first, second := u, v // the order of the interleaved samples
	if p.Format == "NV21" {
		first, second = v, u
	}
	for i, uv := 0, p.Planes[1]; i < len(u); i++ {
		first[i], second[i] = uv[2*i], uv[2*i+1]
	}
	p.Format, p.Planes = "I420", [][]byte{p.Planes[0], u, v}
	return p, nil
}

// eightBit names the 8-bit format each 10-bit one EightBit brings a picture to.
var eightBit = map[string]string{"I420_10LE": "I420", "I422_10LE": "Y42B", "Y444_10LE": "Y444", "P010_10LE": "NV12"}

// EightBit is Planar for a picture of 8-bit samples, and brings a 10-bit picture (I420_10LE,
// I422_10LE, Y444_10LE, or P010_10LE as NVDEC hands out) to 8 bits, each sample rounded, and
// planar (P010 becomes I420).
func EightBit(p Picture) (Picture, error) {
	format, ok := eightBit[p.Format]
	if !ok {
		return Planar(p)
	}
	// P010 keeps its 10 bits at the top of each 16-bit sample, the others at the bottom.
	shift := 2
	if p.Format == "P010_10LE" {
		shift = 8
	}
	planes := make([][]byte, len(p.Planes))
	for i, plane := range p.Planes {
		if len(plane)%2 != 0 {
			return Picture{}, fmt.Errorf("%s picture's plane %d has an odd number of bytes", p.Format, i)
		}
		out := make([]byte, len(plane)/2)
		for j := range out {
			v := int(plane[2*j]) | int(plane[2*j+1])<<8
			out[j] = byte(min(255, (v+1<<(shift-1))>>shift))
		}
		planes[i] = out
	}
	p.Format, p.Planes = format, planes
	return Planar(p)
}

// AnalysedFrame is one frame that left a pipeline's model, with what was found in it: the one
// stream of analysis a pipeline publishes, to which the viewers' overlay, the weight estimator
// and later metrics and events subscribe.
type AnalysedFrame struct {
	// PTS is the frame's presentation timestamp on its access units' clock (continuous across
	// the pipeline's restarts, as the access units' are).
	PTS time.Duration
	// Frame is the frame's index in the stream since the pipeline (re)started, from 0.
	Frame uint64
	// Time is when the frame was captured: for a synthetic pen that grows, its simulated time;
	// otherwise the wall clock when the frame left the pipeline.
	Time time.Time
	// Width and Height are the frame's size in pixels, the detections' coordinate space; 0
	// when the pipeline did not say.
	Width, Height int
	// Detections are the objects in the frame, never nil. A stage before publication (the
	// weight estimator) may fill their Track and WeightKg.
	Detections []detect.Detection
}
