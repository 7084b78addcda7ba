package spec

import "github.com/pigweight/pigweight/elements/weight"

// Config is one pigweight configuration file.
type Config struct {
	Server    Server     `yaml:"server" json:"server"`
	WebRTC    WebRTC     `yaml:"webrtc" json:"webrtc"`
	Models    []Model    `yaml:"models" json:"models"`
	Pipelines []Pipeline `yaml:"pipelines" json:"pipelines"`

	// pos is where Parse found each field, for Validate's errors; nil when built in code.
	// It is unexported so that marshalling and Equal ignore it.
	pos *positions
}

// Server configures the HTTP listener and where data lives.
type Server struct {
	// Listen is the address the one HTTP listener binds. Default 127.0.0.1:8080: loopback
	// unless the operator opens it up on purpose.
	Listen string `yaml:"listen" json:"listen"`
	// DataDir holds uploads, indices and history. Default ./data.
	DataDir string `yaml:"data_dir" json:"data_dir"`
	// APIToken, when set, is required as "Authorization: Bearer TOKEN" on every mutating route.
	// Usually given as ${PIGWEIGHT_TOKEN} so the secret stays out of the file.
	APIToken string `yaml:"api_token" json:"-"`
	// MaxUploadBytes bounds one upload. Default 4 GiB.
	MaxUploadBytes int64 `yaml:"max_upload_bytes" json:"max_upload_bytes"`
	// FrameCacheBytes bounds the decoded frames of uploaded videos kept in memory for exact
	// frame access. Default 512 MiB; 0 keeps none.
	FrameCacheBytes int64 `yaml:"frame_cache_bytes" json:"frame_cache_bytes"`
	// WarmDecoders bounds the uploaded videos whose decoder is kept warm at once (each holds
	// a decoder's pictures, ~26 MB at 1080p); the least recently used one is closed first.
	// 0, the default, chooses from the machine's memory and cores (see WarmDecodersFor).
	WarmDecoders int `yaml:"warm_decoders" json:"warm_decoders"`
	// MediaDirs are the folders file sources may play from (their subfolders included).
	// Empty, the default: the data directory and the configuration file's folder.
	MediaDirs []string `yaml:"media_dirs" json:"media_dirs"`
	// Hostnames are the names, besides IP addresses and localhost, that requests may give in
	// their Host header (e.g. pigweight.farm.lan): a name not listed is refused, which stops
	// DNS rebinding. Default none.
	Hostnames []string `yaml:"hostnames" json:"hostnames"`
	// ReadTimeout bounds how long a request may take to arrive; an upload's body must bring
	// at least 64 KiB in every ReadTimeout. Default 30s.
	ReadTimeout Duration `yaml:"read_timeout" json:"read_timeout"`
	// WriteTimeout bounds how long writing an answer may stall: a client that takes nothing
	// for this long is cut off. Default 60s.
	WriteTimeout Duration `yaml:"write_timeout" json:"write_timeout"`
	// IdleTimeout closes a kept-alive connection that sends no request for this long.
	// Default 2m.
	IdleTimeout Duration `yaml:"idle_timeout" json:"idle_timeout"`
}

// WebRTC says how browser viewers' peer connections reach the server: which local addresses and
// UDP ports ICE offers, and which STUN and TURN servers help viewers behind NAT. Viewers are
// served over IPv4 (UDP) only, so every address here is an IPv4 address.
type WebRTC struct {
	// Loopback offers 127.0.0.1 too, for a browser on the server's own machine. Default true.
	Loopback bool `yaml:"loopback" json:"loopback"`
	// UDPPorts bounds the UDP ports ICE listens on, [min, max] inclusive, for a firewall or a
	// port forward. Each viewer takes one port per local address offered, so the range bounds
	// the viewers served at once. [0, 0], the default, takes ephemeral ports.
	UDPPorts [2]int `yaml:"udp_ports" json:"udp_ports"`
	// NAT1To1IPs are the public addresses announced in place of the local ones, for a server
	// behind a 1:1 NAT that knows its public address (a cloud VM's public IP).
	NAT1To1IPs []string `yaml:"nat_1to1_ips" json:"nat_1to1_ips"`
	// LocalIPs, when set, are the only local addresses offered; 127.0.0.1 is added when
	// Loopback is on. Empty, the default, offers every address of the machine.
	LocalIPs []string `yaml:"local_ips" json:"local_ips"`
	// ICEServers are STUN and TURN servers for viewers behind NAT. Default none.
	ICEServers []ICEServer `yaml:"ice_servers" json:"ice_servers"`
	// MaxViewers bounds the viewers served at once, WebSocket viewers and WHEP sessions
	// together: each holds a peer connection with its sockets. 0, the default, derives it
	// from the process's file-descriptor limit (see ViewerLimits).
	MaxViewers int `yaml:"max_viewers" json:"max_viewers"`
	// MaxViewersPerAddress bounds the viewers of one client address. 0, the default, takes
	// 64 (or MaxViewers, if lower).
	MaxViewersPerAddress int `yaml:"max_viewers_per_address" json:"max_viewers_per_address"`
	// ConnectTimeout is how long a new viewer's connection may take to come up; one still
	// not connected then (a client that never answered its offer) is closed. Default 15s.
	ConnectTimeout Duration `yaml:"connect_timeout" json:"connect_timeout"`
}

// ICEServer is one STUN or TURN server, as in the browser's RTCIceServer
// (https://www.w3.org/TR/webrtc/#rtciceserver-dictionary).
type ICEServer struct {
	// URLs are stun:, stuns:, turn: or turns: URLs of one server (RFC 7064, RFC 7065), e.g.
	// stun:stun.example.org:3478 or turn:turn.example.org:3478?transport=udp.
	URLs []string `yaml:"urls" json:"urls"`
	// Username and Credential log in to a TURN server: turn: and turns: URLs need both, or a
	// Secret. Credential is usually given as ${NAME} so the secret stays out of the file, and
	// it is never shown: it has no JSON form and Validate never quotes it.
	Username   string `yaml:"username" json:"username"`
	Credential string `yaml:"credential" json:"-"`
	// Secret, in place of a Credential, is the TURN server's shared secret (coturn's
	// static-auth-secret, the TURN REST API): every connection then gets a credential of its
	// own that expires after CredentialTTL, so a viewer's page holds nothing that works for
	// good. Username, if given, is added to the minted usernames. Never shown, like Credential.
	Secret string `yaml:"secret" json:"-"`
	// CredentialTTL is how long a credential minted from Secret stays valid (TURN checks it at
	// every allocation refresh, so it bounds a session's length too). Default 24h.
	CredentialTTL Duration `yaml:"credential_ttl" json:"credential_ttl"`
}

// Model describes one ONNX model the inference element can load.
type Model struct {
	// Name is what inference.model refers to; unique, letters, digits, '_', '.' and '-'.
	Name string `yaml:"name" json:"name"`
	// Path is the .onnx file, relative to the server's working directory or absolute.
	Path string `yaml:"path" json:"path"`
	// Format is the output decoder: yolo, yolo-seg or mask.
	Format ModelFormat `yaml:"format" json:"format"`
	// InputSize is the model input, width and height in pixels (e.g. [640, 640]); 0 = read from the model.
	InputSize [2]int `yaml:"input_size" json:"input_size"`
	// Classes names the model's class indices, in order, for labels in the overlay.
	Classes []string `yaml:"classes" json:"classes"`
	// Providers is the execution provider preference, tried in order. Default [tensorrt, cuda, cpu].
	Providers []Provider `yaml:"providers" json:"providers"`
	// MaxBatch bounds the batches formed across every pipeline using this model. Default 4.
	MaxBatch int `yaml:"max_batch" json:"max_batch"`
	// MaxWait is the longest a frame waits for its batch to fill. Default 20ms.
	MaxWait Duration `yaml:"max_wait" json:"max_wait"`
	// Workers is how many batches of this model run at once; 0 (default) chooses two when
	// the model runs on a CPU of two cores or more and one otherwise (see infer.Parallelism).
	Workers int `yaml:"workers" json:"workers"`
	// Threads is how many CPU threads each run uses (ONNX Runtime's intra-op threads);
	// 0 shares the cores out among the workers.
	Threads int `yaml:"threads" json:"threads"`
	// Confidence is the score below which detections are dropped; 0 takes the decoder's
	// default (0.5 for masks, 0.25 for YOLO).
	Confidence float64 `yaml:"confidence" json:"confidence"`
	// IoU is the overlap above which non-maximum suppression drops the weaker of two boxes of
	// one class (yolo and yolo-seg). Default 0.45.
	IoU float64 `yaml:"iou" json:"iou"`
}

// Pipeline is one stream: a source, its decoder, optional inference, and outputs.
type Pipeline struct {
	// Name identifies the pipeline in URLs and logs; unique, letters, digits, '_' and '-'.
	Name      string    `yaml:"name" json:"name"`
	Source    Source    `yaml:"source" json:"source"`
	Decode    Decode    `yaml:"decode" json:"decode"`
	Inference Inference `yaml:"inference" json:"inference"`
	Outputs   []Output  `yaml:"outputs" json:"outputs"`
	Restart   Restart   `yaml:"restart" json:"restart"`
	// Weight says how the pigs this pipeline's model finds are weighed: the pen their visits
	// join (default: the pipeline's name; several cameras on one pen name the same pen), the
	// camera's geometry, the part of the frame that is the pen, and the quality gates.
	Weight weight.Config `yaml:"weight" json:"weight"`
}

// Pen is the pen this pipeline's visits join: weight.pen, or the pipeline's name.
func (p Pipeline) Pen() string {
	if p.Weight.Pen != "" {
		return p.Weight.Pen
	}
	return p.Name
}

// Source says where a pipeline's video comes from.
type Source struct {
	// Type is required: rtsp, file or synthetic.
	Type SourceType `yaml:"type" json:"type"`
	// URI: rtsp:// or rtsps:// for rtsp; a path or file:// URI for file; unused for synthetic.
	URI string `yaml:"uri" json:"uri"`
	// Loop restarts a file source from the beginning at its end.
	Loop bool `yaml:"loop" json:"loop"`
	// Transport for rtsp: auto, tcp or udp. Default auto.
	Transport Transport `yaml:"transport" json:"transport"`
	// Latency is rtspsrc's jitter-buffer latency. Default 200ms.
	Latency Duration `yaml:"latency" json:"latency"`
	// Watchdog restarts the pipeline when no video frame has come out of it for this long,
	// even if the connection looks alive (a camera that stalls). Default 10s; 0 disables it.
	Watchdog Duration `yaml:"watchdog" json:"watchdog"`
	// Synthetic configures the generated demo pen (type synthetic only).
	Synthetic Synthetic `yaml:"synthetic" json:"synthetic"`
}

// Synthetic configures the generated top-view pig pen.
type Synthetic struct {
	Width  int   `yaml:"width" json:"width"`   // default 640
	Height int   `yaml:"height" json:"height"` // default 480
	FPS    int   `yaml:"fps" json:"fps"`       // default 15
	Pigs   int   `yaml:"pigs" json:"pigs"`     // 4..12, default 8
	Seed   int64 `yaml:"seed" json:"seed"`     // default 1
}

// Inference runs a model on the pipeline's frames.
type Inference struct {
	// Enabled turns inference on; off, the pipeline only decodes and serves video.
	Enabled bool `yaml:"enabled" json:"enabled"`
	// Model is the name of one of Config.Models; required when Enabled.
	Model string `yaml:"model" json:"model"`
	// Interval: infer every Nth frame. Default 1.
	Interval int `yaml:"interval" json:"interval"`
}

// Output is one consumer of a pipeline's stream.
type Output struct {
	// Type: webrtc (browser viewers).
	Type OutputType `yaml:"type" json:"type"`
	// Overlay for webrtc: data (DataChannel, drawn by the page) or burn (drawn into the video). Default data.
	Overlay Overlay `yaml:"overlay" json:"overlay"`
	// Encode for webrtc: auto (encode only what browsers cannot play as it is) or always.
	// Default auto.
	Encode Encoding `yaml:"encode" json:"encode"`
	// MinBitrateKbps and MaxBitrateKbps bound the bitrate of a stream pigweight encodes for
	// viewers (H.265 cameras, B-frames, overlay burn, encode: always): it starts at the
	// maximum and follows the lowest estimate its viewers report (REMB). 0 takes the
	// defaults, 300 and 2500.
	MinBitrateKbps int `yaml:"min_bitrate_kbps" json:"min_bitrate_kbps"`
	MaxBitrateKbps int `yaml:"max_bitrate_kbps" json:"max_bitrate_kbps"`
}

// WebRTCOutput returns the pipeline's webrtc output (there is at most one), if it has one.
func (p Pipeline) WebRTCOutput() (Output, bool) {
	for _, o := range p.Outputs {
		if o.Type == OutputWebRTC {
			return o, true
		}
	}
	return Output{}, false
}

// BitrateBounds returns the output's bitrate bounds in kbit/s, the defaults for zero fields
// (an Output built in code rather than decoded).
func (o Output) BitrateBounds() (lo, hi int) {
	lo, hi = o.MinBitrateKbps, o.MaxBitrateKbps
	if lo == 0 {
		lo = DefaultMinBitrateKbps
	}
	if hi == 0 {
		hi = DefaultMaxBitrateKbps
	}
	return lo, hi
}

// Restart bounds the exponential backoff between restarts of a failed pipeline.
type Restart struct {
	BackoffMin Duration `yaml:"backoff_min" json:"backoff_min"` // default 500ms
	BackoffMax Duration `yaml:"backoff_max" json:"backoff_max"` // default 30s
}
