package api

// System is what GET /api/v1/system reports: the facts about this machine that decide which
// decoders and inference providers pipelines can use.
type System struct {
	// Version is pigweight's own version.
	Version string `json:"version"`
	// GStreamer is the runtime GStreamer version, e.g. "1.24.2"; "" when it could not be loaded.
	GStreamer string    `json:"gstreamer"`
	Decoders  []Decoder `json:"decoders"`
	// NVDEC says whether at least one NVIDIA hardware decoder is available.
	NVDEC       bool    `json:"nvdec"`
	ONNXRuntime Runtime `json:"onnxruntime"`
}

// Decoder is one decoder element pigweight knows how to use, and whether this machine has it.
type Decoder struct {
	// Name is the GStreamer element factory, e.g. "nvh264dec" or "avdec_h264".
	Name string `json:"name"`
	// Codec is "h264" or "h265".
	Codec     string `json:"codec"`
	Hardware  bool   `json:"hardware"`
	Available bool   `json:"available"`
}

// Runtime describes the ONNX Runtime library pigweight loaded.
type Runtime struct {
	Version   string     `json:"version"`
	Providers []Provider `json:"providers"`
	// Error says why the library could not be loaded; "" when it was.
	Error string `json:"error,omitempty"`
}

// Provider is one ONNX Runtime execution provider (tensorrt, cuda, cpu) and whether a session
// could be created with it on this machine.
type Provider struct {
	Name   string `json:"name"`
	Usable bool   `json:"usable"`
	// Error says why the provider is not usable; "" when it is.
	Error string `json:"error,omitempty"`
}

// normalized returns s with nil slices replaced by empty ones, so the JSON has [] rather than
// null and clients can iterate without a check.
func (s System) normalized() System {
	if s.Decoders == nil {
		s.Decoders = []Decoder{}
	}
	if s.ONNXRuntime.Providers == nil {
		s.ONNXRuntime.Providers = []Provider{}
	}
	return s
}
