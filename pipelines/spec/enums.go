package spec

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// SourceType says what kind of source feeds a pipeline.
type SourceType string

// The source types.
const (
	SourceRTSP      SourceType = "rtsp"      // a camera or server reached over RTSP(S)
	SourceFile      SourceType = "file"      // a video file on the server's disk
	SourceSynthetic SourceType = "synthetic" // the generated demo pen; needs no camera
)

func sourceTypes() []SourceType { return []SourceType{SourceRTSP, SourceFile, SourceSynthetic} }

// UnmarshalYAML accepts only the known source types.
func (t *SourceType) UnmarshalYAML(n *yaml.Node) error { return enumFromYAML(n, t, sourceTypes()) }

// MarshalYAML writes the type as a plain string.
func (t SourceType) MarshalYAML() (any, error) { return string(t), nil }

// MarshalJSON writes the type as a JSON string.
func (t SourceType) MarshalJSON() ([]byte, error) { return json.Marshal(string(t)) }

// UnmarshalJSON accepts a JSON string naming a known type, or "" (unset).
func (t *SourceType) UnmarshalJSON(b []byte) error { return enumFromJSON(b, t, sourceTypes()) }

// Transport is the RTSP lower transport.
type Transport string

// The RTSP transports.
const (
	TransportAuto Transport = "auto" // let rtspsrc try UDP, then fall back to TCP
	TransportTCP  Transport = "tcp"  // interleaved in the RTSP connection; passes NAT and firewalls
	TransportUDP  Transport = "udp"
)

func transports() []Transport { return []Transport{TransportAuto, TransportTCP, TransportUDP} }

// UnmarshalYAML accepts only the known transports.
func (t *Transport) UnmarshalYAML(n *yaml.Node) error { return enumFromYAML(n, t, transports()) }

// MarshalYAML writes the transport as a plain string.
func (t Transport) MarshalYAML() (any, error) { return string(t), nil }

// MarshalJSON writes the transport as a JSON string.
func (t Transport) MarshalJSON() ([]byte, error) { return json.Marshal(string(t)) }

// UnmarshalJSON accepts a JSON string naming a known transport, or "" (unset).
func (t *Transport) UnmarshalJSON(b []byte) error { return enumFromJSON(b, t, transports()) }

// Decode chooses the video decoder.
type Decode string

// The decoders.
const (
	DecodeAuto     Decode = "auto"     // NVDEC when the GPU has it and can decode the stream, else software
	DecodeNVDEC    Decode = "nvdec"    // NVIDIA's hardware decoder only
	DecodeSoftware Decode = "software" // a CPU decoder only
)

func decodes() []Decode { return []Decode{DecodeAuto, DecodeNVDEC, DecodeSoftware} }

// Valid says whether d is one of the decoders.
func (d Decode) Valid() bool { return slices.Contains(decodes(), d) }

// UnmarshalYAML accepts only the known decoders.
func (d *Decode) UnmarshalYAML(n *yaml.Node) error { return enumFromYAML(n, d, decodes()) }

// MarshalYAML writes the decoder as a plain string.
func (d Decode) MarshalYAML() (any, error) { return string(d), nil }

// MarshalJSON writes the decoder as a JSON string.
func (d Decode) MarshalJSON() ([]byte, error) { return json.Marshal(string(d)) }

// UnmarshalJSON accepts a JSON string naming a known decoder, or "" (unset).
func (d *Decode) UnmarshalJSON(b []byte) error { return enumFromJSON(b, d, decodes()) }

// ModelFormat names how a model's output tensors are decoded.
type ModelFormat string

// The model output formats.
const (
	FormatYOLO    ModelFormat = "yolo"     // YOLO detection output: boxes
	FormatYOLOSeg ModelFormat = "yolo-seg" // YOLO segmentation output: boxes and masks
	FormatMask    ModelFormat = "mask"     // a dense per-pixel mask
)

func modelFormats() []ModelFormat { return []ModelFormat{FormatYOLO, FormatYOLOSeg, FormatMask} }

// UnmarshalYAML accepts only the known formats.
func (f *ModelFormat) UnmarshalYAML(n *yaml.Node) error { return enumFromYAML(n, f, modelFormats()) }

// MarshalYAML writes the format as a plain string.
func (f ModelFormat) MarshalYAML() (any, error) { return string(f), nil }

// MarshalJSON writes the format as a JSON string.
func (f ModelFormat) MarshalJSON() ([]byte, error) { return json.Marshal(string(f)) }

// UnmarshalJSON accepts a JSON string naming a known format, or "" (unset).
func (f *ModelFormat) UnmarshalJSON(b []byte) error { return enumFromJSON(b, f, modelFormats()) }

// Provider is an ONNX Runtime execution provider.
type Provider string

// The execution providers.
const (
	ProviderTensorRT Provider = "tensorrt"
	ProviderCUDA     Provider = "cuda"
	ProviderCPU      Provider = "cpu"
)

func providers() []Provider { return []Provider{ProviderTensorRT, ProviderCUDA, ProviderCPU} }

// UnmarshalYAML accepts only the known providers.
func (p *Provider) UnmarshalYAML(n *yaml.Node) error { return enumFromYAML(n, p, providers()) }

// MarshalYAML writes the provider as a plain string.
func (p Provider) MarshalYAML() (any, error) { return string(p), nil }

// MarshalJSON writes the provider as a JSON string.
func (p Provider) MarshalJSON() ([]byte, error) { return json.Marshal(string(p)) }

// UnmarshalJSON accepts a JSON string naming a known provider, or "" (unset).
func (p *Provider) UnmarshalJSON(b []byte) error { return enumFromJSON(b, p, providers()) }

// OutputType says what consumes a pipeline's stream.
type OutputType string

// The output types.
const (
	OutputWebRTC OutputType = "webrtc" // browser viewers
)

func outputTypes() []OutputType { return []OutputType{OutputWebRTC} }

// UnmarshalYAML accepts only the known output types.
func (t *OutputType) UnmarshalYAML(n *yaml.Node) error { return enumFromYAML(n, t, outputTypes()) }

// MarshalYAML writes the type as a plain string.
func (t OutputType) MarshalYAML() (any, error) { return string(t), nil }

// MarshalJSON writes the type as a JSON string.
func (t OutputType) MarshalJSON() ([]byte, error) { return json.Marshal(string(t)) }

// UnmarshalJSON accepts a JSON string naming a known type, or "" (unset).
func (t *OutputType) UnmarshalJSON(b []byte) error { return enumFromJSON(b, t, outputTypes()) }

// Overlay says where detections are drawn for viewers.
type Overlay string

// The overlay modes.
const (
	OverlayData Overlay = "data" // sent on a DataChannel and drawn by the page; video untouched
	OverlayBurn Overlay = "burn" // drawn into the video before encoding
)

func overlays() []Overlay { return []Overlay{OverlayData, OverlayBurn} }

// UnmarshalYAML accepts only the known overlay modes.
func (o *Overlay) UnmarshalYAML(n *yaml.Node) error { return enumFromYAML(n, o, overlays()) }

// MarshalYAML writes the mode as a plain string.
func (o Overlay) MarshalYAML() (any, error) { return string(o), nil }

// MarshalJSON writes the mode as a JSON string.
func (o Overlay) MarshalJSON() ([]byte, error) { return json.Marshal(string(o)) }

// UnmarshalJSON accepts a JSON string naming a known mode, or "" (unset).
func (o *Overlay) UnmarshalJSON(b []byte) error { return enumFromJSON(b, o, overlays()) }

// Encoding says when a webrtc output encodes the video for viewers instead of passing the
// camera's H.264 through.
type Encoding string

// The encoding modes.
const (
	// EncodingAuto encodes when browsers cannot play the camera's stream as it is: H.265, or
	// H.264 with B-frames (found while playing; the pipeline then restarts once, encoding),
	// or boxes burned in.
	EncodingAuto Encoding = "auto"
	// EncodingAlways encodes every stream: one H.264 encoding whose bitrate follows the
	// viewers (for viewers on slow links).
	EncodingAlways Encoding = "always"
)

func encodings() []Encoding { return []Encoding{EncodingAuto, EncodingAlways} }

// UnmarshalYAML accepts only the known encoding modes.
func (e *Encoding) UnmarshalYAML(n *yaml.Node) error { return enumFromYAML(n, e, encodings()) }

// MarshalYAML writes the mode as a plain string.
func (e Encoding) MarshalYAML() (any, error) { return string(e), nil }

// MarshalJSON writes the mode as a JSON string.
func (e Encoding) MarshalJSON() ([]byte, error) { return json.Marshal(string(e)) }

// UnmarshalJSON accepts a JSON string naming a known mode, or "" (unset).
func (e *Encoding) UnmarshalJSON(b []byte) error { return enumFromJSON(b, e, encodings()) }

// enumFromYAML sets *out to n's value if it is one of allowed. Only scalars qualify: a list or
// mapping where a name belongs is a mistake, not something to stringify.
func enumFromYAML[T ~string](n *yaml.Node, out *T, allowed []T) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("%s, not %s", oneOf(allowed), kindName(n))
	}
	v := T(n.Value)
	if !slices.Contains(allowed, v) {
		return fmt.Errorf("%s (got %s)", oneOf(allowed), quoteShort(n.Value))
	}
	*out = v
	return nil
}

// enumFromJSON is enumFromYAML for JSON. It also takes "", the zero value, so that a struct
// built in code and marshalled before its defaults were applied still reads back.
func enumFromJSON[T ~string](b []byte, out *T, allowed []T) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%s: %w", oneOf(allowed), err)
	}
	if s != "" && !slices.Contains(allowed, T(s)) {
		return fmt.Errorf("%s (got %s)", oneOf(allowed), quoteShort(s))
	}
	*out = T(s)
	return nil
}

// oneOf is the message for a value outside an enum: "must be one of rtsp, file, synthetic".
func oneOf[T ~string](allowed []T) string {
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	return "must be one of " + strings.Join(names, ", ")
}

// quoteShort quotes a value for an error message, cut short so that a pasted blob cannot
// flood the operator's terminal.
func quoteShort(s string) string {
	const max = 40
	if len(s) > max {
		// Cut on a rune boundary so the quoted text stays valid UTF-8.
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return fmt.Sprintf("%q...", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}
