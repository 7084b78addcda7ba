package graph

import (
	"fmt"

	"github.com/go-gst/go-gst/gst"
	"github.com/pigweight/pigweight/pipelines/spec"
)

// Encode once: a stream the browsers cannot take as the camera sends it (H.265), or one whose
// viewers want the detections drawn into the picture (overlay: burn), is encoded to H.264 once
// per pipeline, from the decoded (and drawn-on) frames, and that one encoding is what every
// viewer's hub fans out:
//
//	… → decoder → tee ─→ [queue (leaky) → videoconvert → pwinfer] → frame sink
//	                  └→ queue (leaky) → videoconvert → I420 → encoder → h264parse → AU tap → fakesink
//
// or, when the boxes are burned in, with the tee after pwinfer (the encoding then shows the
// frames pwinfer passes, each with its detections drawn in).
//
// The passthrough tap before the decoder is then left out, so viewers get only the encoding.

// encodeKeyframeFrames is the encoder's GOP: one keyframe a second at 30 fps, so that a
// joining viewer's catch-up stays short.
const encodeKeyframeFrames = 30

// encodes reports whether the pipeline re-encodes for viewers: it has a webrtc output and the
// camera's codec is not H.264, the output burns the overlay in, or it says encode: always
// (which the supervisor also sets for a camera found to send B-frames).
func (r *Run) encodes(codec Codec) bool {
	o, ok := r.spec.WebRTCOutput()
	return ok && (codec != H264 || o.Overlay == spec.OverlayBurn || o.Encode == spec.EncodingAlways)
}

// burns reports whether pwinfer draws the detections into the frames.
func (r *Run) burns() bool {
	o, ok := r.spec.WebRTCOutput()
	return ok && o.Overlay == spec.OverlayBurn && r.spec.Inference.Enabled
}

// ChooseEncoder picks NVENC's H.264 encoder where the GPU has one, else x264.
func ChooseEncoder() (string, error) {
	for _, name := range []string{"nvh264enc", "x264enc"} {
		if gst.Find(name) != nil {
			return name, nil
		}
	}
	return "", &PermanentError{missingPlugin("x264enc")}
}

// attachEncoder hangs the encoding branch on tee, which is in the pipeline already, and
// brings the branch to the pipeline's state.
func (r *Run) attachEncoder(tee *gst.Element) error {
	queue, err := r.element("queue", Prop{"max-size-buffers", uint(2)}, Prop{"max-size-bytes", uint(0)}, Prop{"max-size-time", uint64(0)})
	if err != nil {
		return err
	}
	// The encoder must never hold up the frames' other branch: it drops the oldest instead.
	SetEnum(queue, "leaky", "downstream")
	convert, err := r.element("videoconvert")
	if err != nil {
		return err
	}
	raw, err := r.element("capsfilter", Prop{"caps", gst.NewCapsFromString("video/x-raw,format=I420")})
	if err != nil {
		return err
	}
	name, err := ChooseEncoder()
	if err != nil {
		return err
	}
	// The encoding starts at the output's maximum; SetBitrate follows the viewers from there.
	o, _ := r.spec.WebRTCOutput()
	_, kbps := o.BitrateBounds()
	var enc *gst.Element
	if name == "x264enc" {
		enc, err = r.element(name, Prop{"bitrate", uint(kbps)}, Prop{"key-int-max", uint(encodeKeyframeFrames)}, Prop{"bframes", uint(0)})
		if err == nil {
			SetEnum(enc, "tune", "zerolatency")
			SetEnum(enc, "speed-preset", "veryfast")
		}
	} else {
		enc, err = r.element(name, Prop{"bitrate", uint(kbps)}, Prop{"gop-size", encodeKeyframeFrames})
	}
	if err != nil {
		return err
	}
	parse, err := r.element("h264parse", Prop{"config-interval", -1})
	if err != nil {
		return err
	}
	// Constrained baseline-compatible output: what peer.H264Codec offers every browser.
	filter, err := r.element("capsfilter", Prop{"caps", gst.NewCapsFromString("video/x-h264,stream-format=byte-stream,alignment=au")})
	if err != nil {
		return err
	}
	r.tapAccessUnits(filter.GetStaticPad("src"), H264)
	sink, err := r.element("fakesink", discardSinkProps()...)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.encoder, r.bitrate = enc, kbps
	r.mu.Unlock()
	branch := []*gst.Element{queue, convert, raw, enc, parse, filter, sink}
	if err := AddAndLink(r.pipeline.Bin, branch...); err != nil {
		return fmt.Errorf("link encoder: %w", err)
	}
	if err := tee.Link(queue); err != nil {
		return fmt.Errorf("link encoder: %w", err)
	}
	for _, e := range branch {
		e.SyncStateWithParent()
	}
	return nil
}

// SetBitrate sets the encoding's bitrate in kbit/s, clamped to the output's bounds, and
// reports the bitrate now in force; ok is false when the pipeline passes the camera's stream
// through (nothing to set). Both encoders take a new bitrate while playing.
func (r *Run) SetBitrate(kbps int) (now int, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.encoder == nil {
		return 0, false
	}
	o, _ := r.spec.WebRTCOutput()
	lo, hi := o.BitrateBounds()
	kbps = max(lo, min(kbps, hi))
	if kbps != r.bitrate {
		r.encoder.SetProperty("bitrate", uint(kbps))
		r.bitrate = kbps
	}
	return r.bitrate, true
}

// RequestKeyframe asks the encoding for a keyframe as soon as it can (a viewer joined or lost
// a picture); false when the pipeline passes the camera's stream through.
func (r *Run) RequestKeyframe() bool {
	// The pad is taken under the lock Close releases the encoder under; its own reference
	// keeps it valid after, and once the pipeline is stopped it is flushing and refuses the
	// event. The event itself goes without the lock: it travels upstream for a while.
	r.mu.Lock()
	var pad *gst.Pad
	if r.encoder != nil {
		pad = r.encoder.GetStaticPad("src")
	}
	r.mu.Unlock()
	if pad == nil {
		return false
	}
	defer ReleaseObject(pad.InitiallyUnowned.Object)
	return pad.SendEvent(forceKeyUnitEvent())
}
