package graph

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"time"
	"unsafe"

	"github.com/go-gst/go-gst/gst"
	"github.com/pigweight/pigweight/elements/infer"
	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/pipelines/spec"
)

// buildFile: filesrc → parsebin (demuxer and parser picked from the content) → decoder → sink.
func (r *Run) buildFile(sink *gst.Element) error {
	path := spec.FilePath(r.spec.Source.URI)
	// Said here in plain words; filesrc would only say "Resource not found". Validation has
	// kept the path inside the media folders, so this tells nothing about other files.
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("source file: %w", err)
	}
	src, err := r.element("filesrc", Prop{"location", path})
	if err != nil {
		return err
	}
	parse, err := r.element("parsebin")
	if err != nil {
		return err
	}
	if err := AddAndLink(r.pipeline.Bin, src, parse); err != nil {
		return err
	}
	return OnPadAdded(parse, func(pad *gst.Pad) {
		r.onEncodedPad(pad, sink, func(caps string) (Codec, bool) { return codecFromCaps(caps) })
	})
}

// buildRTSP: rtspsrc → depayloader → parser → decoder → sink, linked when the video pad appears.
func (r *Run) buildRTSP(sink *gst.Element) error {
	src := r.spec.Source
	rtsp, err := r.element("rtspsrc",
		Prop{"location", src.URI},
		Prop{"latency", uint(src.Latency.D().Milliseconds())},
	)
	if err != nil {
		return err
	}
	switch src.Transport {
	case spec.TransportTCP:
		SetEnum(rtsp, "protocols", "tcp")
	case spec.TransportUDP:
		SetEnum(rtsp, "protocols", "udp")
	}
	if err := r.pipeline.Add(rtsp); err != nil {
		return err
	}
	return OnPadAdded(rtsp, func(pad *gst.Pad) {
		r.onEncodedPad(pad, sink, codecFromRTPCaps)
	})
}

// onEncodedPad links a new pad carrying one elementary stream: the first video stream in a
// codec pigweight decodes goes to the decoder; every other stream (audio, a second video) is
// ended in a fakesink so that its demuxer does not stop with not-linked.
func (r *Run) onEncodedPad(pad *gst.Pad, sink *gst.Element, codecOf func(caps string) (Codec, bool)) {
	caps := pad.GetCurrentCaps()
	if caps == nil {
		caps = pad.QueryCaps(nil)
	}
	desc := caps.String()
	codec, isVideo := codecOf(desc)
	if !isVideo || r.Decoder() != "" {
		r.discard(pad)
		return
	}
	if codec == "" {
		r.fail(&PermanentError{fmt.Errorf("unsupported video stream %s (pigweight decodes h264 and h265)", firstField(desc))})
		r.discard(pad)
		return
	}
	chain, err := r.decodeChain(codec, strings.HasPrefix(desc, "application/x-rtp"), caps)
	if err != nil {
		r.fail(err)
		r.discard(pad)
		return
	}
	if err := AddAndLink(r.pipeline.Bin, chain...); err != nil {
		r.fail(fmt.Errorf("link decoder: %w", err))
		return
	}
	if err := chain[len(chain)-1].Link(sink); err != nil {
		r.fail(fmt.Errorf("link sink: %w", err))
		return
	}
	for _, e := range chain {
		e.SyncStateWithParent()
	}
	if r.encodeTee != nil {
		if err := r.attachEncoder(r.encodeTee); err != nil {
			r.fail(err)
			return
		}
	}
	if ret := pad.Link(chain[0].GetStaticPad("sink")); ret != gst.PadLinkOK {
		r.fail(fmt.Errorf("link %s pad: %s", firstField(desc), ret))
	}
}

// decodeChain makes (depayloader →) parser → capsfilter → decoder (→ clocksync for a file)
// (→ queue → videoconvert → pwinfer) for codec, with the encoding's tee after the decoder
// (after pwinfer when boxes are burned in), and records the decoder chosen. The capsfilter
// pins the parser's output to Annex B access units, which the access-unit tap hands on as they
// are. stream is the source pad's caps (demuxed or RTP), for choosing a decoder that can take it.
func (r *Run) decodeChain(codec Codec, rtp bool, stream *gst.Caps) ([]*gst.Element, error) {
	decoderName, err := ChooseDecoderFor(r.spec.Decode, codec, offeredCaps(codec, stream))
	if err != nil {
		return nil, err
	}
	var chain []*gst.Element
	add := func(factory string, props ...Prop) (*gst.Element, error) {
		e, err := r.element(factory, props...)
		if err != nil {
			return nil, &PermanentError{err}
		}
		chain = append(chain, e)
		return e, nil
	}
	if rtp {
		if _, err := add("rtp" + string(codec) + "depay"); err != nil {
			return nil, err
		}
	}
	// Parameter sets before every keyframe: a viewer or recorder can start at any keyframe.
	if _, err := add(string(codec)+"parse", Prop{"config-interval", -1}); err != nil {
		return nil, err
	}
	filter, err := add("capsfilter", Prop{"caps", gst.NewCapsFromString("video/x-" + string(codec) + ",stream-format=byte-stream,alignment=au")})
	if err != nil {
		return nil, err
	}
	if !r.encodes(codec) {
		r.tapAccessUnits(filter.GetStaticPad("src"), codec)
	}
	if _, err := add(decoderName); err != nil {
		return nil, err
	}
	if r.spec.Source.Type == spec.SourceFile {
		// A file plays at its own pace, as a camera would: decoded frames leave on their
		// timestamps. Paced any later, the decoder would run ahead of a model slower than the
		// file, the leaky queue in front of it would keep only the newest frames, and the
		// stream would jump to its end after the first analysis.
		if _, err := add("clocksync"); err != nil {
			return nil, err
		}
	}
	// Viewers of an encoding without boxes drawn in need nothing from the model: their branch
	// leaves before inference, so that their video neither waits for analysis nor falls to
	// the analysed rate when the model is behind (the detections reach them as data).
	teeAfterInference := r.burns()
	if r.encodes(codec) && !teeAfterInference {
		if r.encodeTee, err = add("tee"); err != nil {
			return nil, err
		}
	}
	if r.spec.Inference.Enabled {
		// A frame that waits for inference must not hold up the decoder and the source (an
		// RTSP camera would lose packets): the queue keeps the newest two decoded frames and
		// drops older ones when inference is behind. videoconvert passes I420/NV12 through
		// untouched and converts anything else (10-bit, 4:4:4) to what pwinfer reads.
		queue, err := add("queue", Prop{"max-size-buffers", uint(2)}, Prop{"max-size-bytes", uint(0)}, Prop{"max-size-time", uint64(0)})
		if err != nil {
			return nil, err
		}
		SetEnum(queue, "leaky", "downstream")
		// A full leaky queue signals overrun, then drops its oldest frame: one call per drop.
		if r.hooks.OnSkipped != nil {
			if err := OnSignal(queue, "overrun", r.hooks.OnSkipped); err != nil {
				return nil, err
			}
		}
		if _, err := add("videoconvert"); err != nil {
			return nil, err
		}
		if _, err := add(infer.ElementName, Prop{"model", r.spec.Inference.Model}, Prop{"interval", uint(r.spec.Inference.Interval)}, Prop{"burn", r.burns()}); err != nil {
			return nil, err
		}
	}
	if teeAfterInference {
		if r.encodeTee, err = add("tee"); err != nil {
			return nil, err
		}
	}
	r.setDecoder(decoderName)
	return chain, nil
}

// tapAccessUnits hands every encoded access unit leaving pad to the AccessUnit hook, with its
// running time and keyframe flag. A probe, not a tee: no extra thread or queue per stream.
func (r *Run) tapAccessUnits(pad *gst.Pad, codec Codec) {
	if r.hooks.OnAccessUnit == nil {
		return
	}
	pad.AddProbe(gst.PadProbeTypeBuffer, func(pad *gst.Pad, info *gst.PadProbeInfo) gst.PadProbeReturn {
		buf := info.GetBuffer() // borrowed: the probe holds no reference of its own
		if buf == nil {
			return gst.PadProbeOK
		}
		pts := uint64(buf.PresentationTimestamp())
		if ev := pad.GetStickyEvent(gst.EventTypeSegment, 0); ev != nil {
			pts = ev.ParseSegment().ToRunningTime(gst.FormatTime, pts)
			Release(ev)
		}
		mi := buf.Map(gst.MapRead)
		data := bytes.Clone(unsafe.Slice((*byte)(mi.Data()), int(mi.Size())))
		buf.Unmap()
		r.hooks.OnAccessUnit(media.AccessUnit{
			Codec:    string(codec),
			PTS:      time.Duration(pts),
			Keyframe: !buf.HasFlags(gst.BufferFlagDeltaUnit),
			Data:     data,
			Captured: time.Now(),
		})
		return gst.PadProbeOK
	})
}

// discard ends a stream pigweight does not use in a fakesink.
func (r *Run) discard(pad *gst.Pad) {
	fake, err := r.element("fakesink", discardSinkProps()...)
	if err != nil {
		return
	}
	if err := r.pipeline.Add(fake); err != nil {
		return
	}
	fake.SyncStateWithParent()
	pad.Link(fake.GetStaticPad("sink"))
}

// codecFromCaps maps parsed caps (video/x-h264, ...) to a codec; ok is false for non-video.
func codecFromCaps(caps string) (codec Codec, isVideo bool) {
	switch name := firstField(caps); {
	case name == "video/x-h264":
		return H264, true
	case name == "video/x-h265":
		return H265, true
	case strings.HasPrefix(name, "video/"):
		return "", true
	}
	return "", false
}

// codecFromRTPCaps maps RTP caps (media=video, encoding-name=H264) to a codec.
func codecFromRTPCaps(caps string) (codec Codec, isVideo bool) {
	if !strings.Contains(caps, "media=(string)video") {
		return "", false
	}
	switch {
	case strings.Contains(caps, "encoding-name=(string)H264"):
		return H264, true
	case strings.Contains(caps, "encoding-name=(string)H265"):
		return H265, true
	}
	return "", true
}

func firstField(caps string) string {
	if i := strings.IndexByte(caps, ','); i >= 0 {
		return caps[:i]
	}
	return caps
}
