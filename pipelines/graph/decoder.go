package graph

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/go-gst/go-gst/gst"
	"github.com/pigweight/pigweight/pipelines/spec"
)

// Codec is a compressed video format pigweight decodes.
type Codec string

// Supported codecs.
const (
	H264 Codec = "h264"
	H265 Codec = "h265"
)

// DecoderInfo says whether a decoder element exists on this machine.
type DecoderInfo struct {
	Name      string
	Codec     Codec
	Hardware  bool
	Available bool
}

// decoders in preference order for decode: auto.
var decoders = []DecoderInfo{
	{Name: "nvh264dec", Codec: H264, Hardware: true},
	{Name: "nvh265dec", Codec: H265, Hardware: true},
	{Name: "avdec_h264", Codec: H264},
	{Name: "avdec_h265", Codec: H265},
}

// Decoders lists the decoders pigweight can use and whether each is present. The nvcodec plugin
// registers nvh264dec only when it finds a GPU with NVDEC, so presence means usable.
func Decoders() []DecoderInfo {
	out := make([]DecoderInfo, len(decoders))
	for i, d := range decoders {
		d.Available = gst.Find(d.Name) != nil
		out[i] = d
	}
	return out
}

// NVDEC reports whether hardware decoding is available for H.264.
func NVDEC() bool { return gst.Find("nvh264dec") != nil }

// PermanentError is a failure that restarting cannot cure: the spec asks for something this
// machine does not have.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string   { return e.Err.Error() }
func (e *PermanentError) Unwrap() error   { return e.Err }
func (e *PermanentError) Permanent() bool { return true }

// ChooseDecoder picks the decoder element for codec under the spec's decode policy.
func ChooseDecoder(policy spec.Decode, codec Codec) (string, error) {
	return ChooseDecoderFor(policy, codec, nil)
}

// ChooseDecoderFor is ChooseDecoder for a stream whose caps are known (profile, width,
// height; nil when not): NVDEC takes only what its sink template does (no 10-bit H.264, no
// H.265 under 144 pixels on a side, ...), so auto leaves such a stream to the software
// decoder, and nvdec refuses it with the reason instead of failing at the first picture.
func ChooseDecoderFor(policy spec.Decode, codec Codec, stream *gst.Caps) (string, error) {
	var hardware, software string
	for _, d := range decoders {
		if d.Codec != codec {
			continue
		}
		if d.Hardware {
			hardware = d.Name
		} else {
			software = d.Name
		}
	}
	if software == "" {
		return "", &PermanentError{fmt.Errorf("unsupported video codec %q (pigweight decodes h264 and h265)", codec)}
	}
	switch policy {
	case spec.DecodeNVDEC:
		factory := gst.Find(hardware)
		if factory == nil {
			return "", &PermanentError{fmt.Errorf("decode: nvdec, but %s is not available (no NVIDIA GPU, driver or nvcodec plugin); use decode: auto or software", hardware)}
		}
		if stream != nil && !factory.CanSinkAnyCaps(stream) {
			return "", &PermanentError{fmt.Errorf("decode: nvdec, but %s cannot decode this stream (%s); use decode: auto or software", hardware, stream)}
		}
		return hardware, nil
	case spec.DecodeSoftware:
	default: // auto
		if factory := gst.Find(hardware); factory != nil && (stream == nil || factory.CanSinkAnyCaps(stream)) {
			return hardware, nil
		}
	}
	if gst.Find(software) == nil {
		return "", &PermanentError{missingPlugin(software)}
	}
	return software, nil
}

// StreamCaps are the caps a decoder is offered after the parser: Annex B access units of
// codec, with the stream's profile and size where known ("" and 0 where not).
func StreamCaps(codec Codec, profile string, width, height int) *gst.Caps {
	caps := gst.NewEmptySimpleCaps("video/x-" + string(codec))
	caps.SetValue("stream-format", "byte-stream")
	caps.SetValue("alignment", "au")
	if profile != "" {
		caps.SetValue("profile", profile)
	}
	if width > 0 && height > 0 {
		caps.SetValue("width", width)
		caps.SetValue("height", height)
	}
	return caps
}

// offeredCaps are the StreamCaps of a source's stream as far as its caps tell: a demuxed
// file's give the profile and size, RTP's the profile (profile-level-id, profile-id) where
// the camera's SDP has it. nil when they tell neither: the codec alone decides.
func offeredCaps(codec Codec, stream *gst.Caps) *gst.Caps {
	if stream == nil || stream.GetSize() == 0 {
		return nil
	}
	s := stream.GetStructureAt(0)
	switch name := s.Name(); {
	case strings.HasPrefix(name, "video/x-"):
		return StreamCaps(codec, field[string](s, "profile"), field[int](s, "width"), field[int](s, "height"))
	case name == "application/x-rtp":
		if profile := rtpProfile(codec, s); profile != "" {
			return StreamCaps(codec, profile, 0, 0)
		}
	}
	return nil
}

// field is a caps field's value, or T's zero value when it is missing or of another type.
func field[T any](s *gst.Structure, name string) T {
	v, _ := s.GetValue(name)
	t, _ := v.(T)
	return t
}

// rtpProfile names the profile RTP caps give (from the SDP's fmtp): H.264's profile-level-id
// holds profile_idc and the constraint flags in its first two hex bytes, H.265's profile-id
// is general_profile_idc.
func rtpProfile(codec Codec, s *gst.Structure) string {
	switch codec {
	case H264:
		if b, err := hex.DecodeString(field[string](s, "profile-level-id")); err == nil && len(b) == 3 {
			return H264Profile(b[0], b[1])
		}
	case H265:
		if idc, err := strconv.ParseUint(field[string](s, "profile-id"), 10, 5); err == nil {
			return H265Profile(byte(idc), -1, 0)
		}
	}
	return ""
}

// missingPlugin explains which Debian package provides a factory that could not be made.
func missingPlugin(factory string) error {
	if factory == "nvh264dec" || factory == "nvh265dec" {
		return fmt.Errorf("GStreamer element %s is not available (needs an NVIDIA GPU with its driver and the nvcodec plugin from gstreamer1.0-plugins-bad)", factory)
	}
	pkg := map[string]string{
		"avdec_h264": "gstreamer1.0-libav", "avdec_h265": "gstreamer1.0-libav",
		"x264enc": "gstreamer1.0-plugins-ugly", "h264parse": "gstreamer1.0-plugins-bad",
		"h265parse": "gstreamer1.0-plugins-bad", "rtspsrc": "gstreamer1.0-plugins-good",
		"rtph264depay": "gstreamer1.0-plugins-good", "rtph265depay": "gstreamer1.0-plugins-good",
		"parsebin": "gstreamer1.0-plugins-base", "appsrc": "gstreamer1.0-plugins-base",
		"appsink": "gstreamer1.0-plugins-base", "filesrc": "libgstreamer1.0-0",
	}[factory]
	if pkg == "" {
		return fmt.Errorf("GStreamer element %s is not available", factory)
	}
	return fmt.Errorf("GStreamer element %s is not available (install %s)", factory, pkg)
}

// RequiredElements lists the GStreamer factories p needs on this machine, decoders included
// (for sources whose codec is only known at run time, the decoders of both codecs).
func RequiredElements(p spec.Pipeline) []string {
	var need []string
	switch p.Source.Type {
	case spec.SourceSynthetic:
		need = []string{"appsrc", "x264enc", "h264parse"}
	case spec.SourceFile:
		need = []string{"filesrc", "parsebin", "h264parse", "h265parse", "clocksync"}
	case spec.SourceRTSP:
		need = []string{"rtspsrc", "rtph264depay", "rtph265depay", "h264parse", "h265parse"}
	}
	need = append(need, "appsink")
	if p.Inference.Enabled {
		need = append(need, "queue", "videoconvert")
	}
	// A webrtc output may encode once for viewers (H.265 cameras, B-frames, overlay burn,
	// encode: always); x264enc is the encoder that is always there (nvh264enc is taken when
	// present).
	if o, ok := p.WebRTCOutput(); ok && (p.Source.Type != spec.SourceSynthetic || o.Overlay == spec.OverlayBurn || o.Encode == spec.EncodingAlways) {
		need = append(need, "tee", "queue", "videoconvert", "x264enc", "h264parse", "fakesink")
	}
	for _, codec := range []Codec{H264, H265} {
		if p.Source.Type == spec.SourceSynthetic && codec != H264 {
			continue
		}
		for _, d := range decoders {
			if d.Codec != codec || d.Hardware != (p.Decode == spec.DecodeNVDEC) {
				continue
			}
			need = append(need, d.Name)
		}
	}
	// Each once, in the order first needed.
	seen := map[string]bool{}
	return slices.DeleteFunc(need, func(f string) bool {
		dup := seen[f]
		seen[f] = true
		return dup
	})
}

// CheckElement returns nil when factory is installed, else an error saying what to install.
func CheckElement(factory string) error {
	if gst.Find(factory) != nil {
		return nil
	}
	return missingPlugin(factory)
}
