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
		},
		// Loopback costs nothing and is what a browser on the server's machine needs.
		WebRTC: WebRTC{Loopback: true},
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
