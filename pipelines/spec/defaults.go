package spec

import "time"

// Defaults that are not obvious from the field they fill.
const (
	// DefaultListen keeps a fresh install off the network until the operator opens it on purpose.
	DefaultListen = "127.0.0.1:8080"
	// DefaultDataDir is relative to the working directory of the server.
	DefaultDataDir = "data"
	// DefaultMaxUploadBytes is 4 GiB.
	DefaultMaxUploadBytes int64 = 4 << 30
	// DefaultFrameCacheBytes is 512 MiB: about 170 decoded 1080p frames.
	DefaultFrameCacheBytes int64 = 512 << 20
	// DefaultReadTimeout, DefaultWriteTimeout and DefaultIdleTimeout bound the HTTP
	// connections: a request that takes longer to arrive, an answer that stalls this long,
	// a kept-alive connection that sends nothing.
	DefaultReadTimeout  = 30 * time.Second
	DefaultWriteTimeout = 60 * time.Second
	DefaultIdleTimeout  = 2 * time.Minute
	// DefaultConnectTimeout is how long a viewer's connection may take to come up.
	DefaultConnectTimeout = 15 * time.Second
	// MinBackoff is the shortest wait allowed between restarts of a pipeline: tearing a
	// pipeline down and building it again takes tens of milliseconds, and a shorter backoff
	// spins the CPU without bringing a camera back any sooner.
	MinBackoff = 100 * time.Millisecond
	// MaxURIBytes bounds a source URI: a real camera's URI is under a few hundred bytes,
	// and the URI travels in every status answer.
	MaxURIBytes = 4096
)

// Default returns the configuration used for every field a document leaves out. It has no
// models and no pipelines, and it is valid.
func Default() *Config {
	return &Config{
		Server: Server{
			Listen:          DefaultListen,
			DataDir:         DefaultDataDir,
			MaxUploadBytes:  DefaultMaxUploadBytes,
			FrameCacheBytes: DefaultFrameCacheBytes,
			ReadTimeout:     Duration(DefaultReadTimeout),
			WriteTimeout:    Duration(DefaultWriteTimeout),
			IdleTimeout:     Duration(DefaultIdleTimeout),
		},
		// Loopback costs nothing and is what a browser on the server's machine needs.
		WebRTC: WebRTC{Loopback: true, ConnectTimeout: Duration(DefaultConnectTimeout)},
	}
}

// DefaultPipeline returns the values every pipeline starts from before its document is read.
// Name and Source.Type have no default: a pipeline must say what it is. Code that builds a
// Pipeline by hand should start from this too, or Validate will refuse the zero values.
func DefaultPipeline() Pipeline {
	return Pipeline{
		Source: Source{
			Transport: TransportAuto,
			Latency:   Duration(200 * time.Millisecond),
			Watchdog:  Duration(10 * time.Second),
			// The synthetic defaults are harmless for other source types, and filling them
			// always means switching a pipeline's type never leaves zeros behind.
			Synthetic: Synthetic{Width: 640, Height: 480, FPS: 15, Pigs: 8, Seed: 1},
		},
		Decode:    DecodeAuto,
		Inference: Inference{Interval: 1},
		Restart: Restart{
			BackoffMin: Duration(500 * time.Millisecond),
			BackoffMax: Duration(30 * time.Second),
		},
	}
}

// DefaultModel returns the values every model starts from before its document is read.
func DefaultModel() Model {
	return Model{
		Format:    FormatMask,
		Providers: []Provider{ProviderTensorRT, ProviderCUDA, ProviderCPU},
		MaxBatch:  4,
		MaxWait:   Duration(20 * time.Millisecond),
		IoU:       0.45,
	}
}

// DefaultCredentialTTL is an ICE server's CredentialTTL when it is not set.
const DefaultCredentialTTL = 24 * time.Hour

// Bounds of an encoded output's bitrate, in kbit/s.
const (
	DefaultMinBitrateKbps = 300
	DefaultMaxBitrateKbps = 2500
)

// defaultOutput is what each entry of outputs starts from: an output given without an overlay
// sends detections as data, which costs the encoder nothing, and encodes only when browsers
// need it.
func defaultOutput() Output {
	return Output{Overlay: OverlayData, Encode: EncodingAuto}
}

// Viewer caps chosen when the configuration leaves them at 0.
const (
	// fdsPerViewer is what one viewer costs in file descriptors, with room to spare: a peer
	// connection's UDP socket per local address offered (loopback and one or two more), its
	// WebSocket or WHEP request, and the DTLS/SCTP timers' descriptors.
	fdsPerViewer = 8
	// fdsReserved are kept for everything else: pipelines, uploads, the API's connections.
	fdsReserved = 256
	minViewers  = 16
	// autoMaxViewers caps the derived limit: past about a thousand viewers one machine runs
	// out of CPU for packetizing before it runs out of descriptors.
	autoMaxViewers = 1000
	// DefaultMaxViewersPerAddress is enough for a camera grid of every pen of a barn in one
	// browser, and stops one client from taking every viewer.
	DefaultMaxViewersPerAddress = 64
)

// ViewerLimits returns the caps on viewers in force: max_viewers and max_viewers_per_address
// as configured, or for 0 the defaults, derived from fdLimit (the process's open-file limit,
// RLIMIT_NOFILE) so that viewers can never take the descriptors the rest of the server needs.
func (w WebRTC) ViewerLimits(fdLimit uint64) (total, perAddress int) {
	total = w.MaxViewers
	if total == 0 {
		n := uint64(minViewers)
		if fdLimit > fdsReserved+minViewers*fdsPerViewer {
			n = (fdLimit - fdsReserved) / fdsPerViewer
		}
		total = int(min(n, autoMaxViewers))
	}
	perAddress = w.MaxViewersPerAddress
	if perAddress == 0 {
		perAddress = DefaultMaxViewersPerAddress
	}
	return total, min(perAddress, total)
}

// Warm decoders chosen when server.warm_decoders is 0.
const (
	// warmDecodersPerCore: more warm decoders than people scrubbing at once only hold memory,
	// and a machine of n cores serves a few scrubbers per core.
	warmDecodersPerCore = 4
	// memoryPerWarmDecoder is the machine's memory set against one warm decoder: a 1080p
	// decoder holds ~26 MB, a 4K one four times that, and most memory is for other work.
	memoryPerWarmDecoder = 512 << 20
	minWarmDecoders      = 2
	maxAutoWarmDecoders  = 64
)

// WarmDecodersFor returns how many uploaded videos may keep a warm decoder at once:
// warm_decoders as configured, or for 0 one derived from the machine's memory (bytes) and
// cores.
func (s Server) WarmDecodersFor(memoryBytes uint64, cores int) int {
	if s.WarmDecoders > 0 {
		return s.WarmDecoders
	}
	n := min(uint64(warmDecodersPerCore*max(cores, 1)), memoryBytes/memoryPerWarmDecoder)
	return int(max(min(n, maxAutoWarmDecoders), minWarmDecoders))
}
