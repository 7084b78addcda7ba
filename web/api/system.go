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
	// Viewers counts the browser viewers (WebSocket and WHEP together) against their caps.
	Viewers ViewerCounts `json:"viewers"`
	// Process is what the server process holds now: what grows if something leaks.
	Process Process `json:"process"`
}

// Process is what the server process holds.
type Process struct {
	// Goroutines, OpenFiles (file descriptors, sockets included) and RSSBytes (resident
	// memory) now.
	Goroutines int    `json:"goroutines"`
	OpenFiles  int    `json:"open_files"`
	RSSBytes   uint64 `json:"rss_bytes"`
	// GStreamerObjects counts, by type, how many more GStreamer objects are alive than when
	// the server started; only while GStreamer's leaks tracer runs (GST_TRACERS=leaks in the
	// server's environment), for tracking a leak down.
	GStreamerObjects map[string]int `json:"gstreamer_objects,omitempty"`
}

// ViewerCounts says how many viewers the server holds against its caps (webrtc.max_viewers,
// webrtc.max_viewers_per_address) and what the caps and the connect deadline
// (webrtc.connect_timeout) have done since the start.
type ViewerCounts struct {
	// Now counts the viewers held: created and not yet ended, connected or not.
	Now int `json:"now"`
	// Connecting counts those of Now whose connection is not up yet.
	Connecting int `json:"connecting"`
	// Max and MaxPerAddress are the caps in force (0: none).
	Max           int `json:"max"`
	MaxPerAddress int `json:"max_per_address"`
	// Refused counts the viewers refused, by cap.
	Refused ViewersRefused `json:"refused"`
	// Reaped counts the viewers closed for not connecting within the connect timeout.
	Reaped uint64 `json:"reaped"`
}

// ViewersRefused counts refused viewers by the cap that refused them.
type ViewersRefused struct {
	// Global: the server held Max viewers.
	Global uint64 `json:"global"`
	// PerAddress: the client's address held MaxPerAddress viewers.
	PerAddress uint64 `json:"per_address"`
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
