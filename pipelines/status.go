package pipelines

import (
	"errors"
	"time"

	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/pipelines/spec"
)

// State is where a pipeline's supervisor stands.
type State string

// The states a pipeline moves through. starting → playing; on an error or an unexpected end,
// retrying (backoff) → starting again; stopped when asked to stop or when a non-looping file
// ends; failed when a restart cannot help (for example a decoder the machine does not have).
const (
	StateStarting State = "starting"
	StatePlaying  State = "playing"
	StateRetrying State = "retrying"
	StateStopped  State = "stopped"
	StateFailed   State = "failed"
)

// Errors callers branch on.
var (
	ErrNotFound = errors.New("pipeline not found")
	ErrExists   = errors.New("pipeline already exists")
	ErrClosed   = errors.New("manager closed")
	// ErrNoInference: the pipeline does not run a model.
	ErrNoInference = errors.New("inference is not enabled for this pipeline")
	// ErrNoDetections: the pipeline runs a model but has not analysed a frame yet.
	ErrNoDetections = errors.New("no frame analysed yet")
	// ErrNotEncoding: the pipeline passes its camera's stream through; it has no encoder.
	ErrNotEncoding = errors.New("pipeline does not encode for viewers")
)

// Detections is a pipeline's latest analysed frame.
type Detections struct {
	// PTS is the frame's presentation timestamp in nanoseconds.
	PTS int64 `json:"pts"`
	// Frame is the frame's index in the stream since the pipeline (re)started, from 0.
	Frame      uint64             `json:"frame"`
	Time       time.Time          `json:"time"` // when the frame left the pipeline
	Detections []detect.Detection `json:"detections"`
}

// Status is a snapshot of one pipeline, as the API reports it.
type Status struct {
	Name  string `json:"name"`
	State State  `json:"state"`
	// Since is when the pipeline entered State: for a playing camera, connected since.
	Since time.Time `json:"since"`
	// Decoder is the decoder element the last start chose (e.g. avdec_h264, nvh264dec).
	Decoder string `json:"decoder"`
	// Frames and FPS count the frames through the pipeline: decoded and past the model.
	// Decoded frames dropped in front of a busy model count in InferenceSkipped instead.
	Frames uint64  `json:"frames"`
	FPS    float64 `json:"fps"`
	// InferenceSkipped counts decoded frames dropped before inference because it was behind
	// (the model's batcher counts its own skips apart).
	InferenceSkipped uint64 `json:"inference_skipped"`
	// BitrateKbps is the encoded stream's bitrate as it arrives (before decoding).
	BitrateKbps float64 `json:"bitrate_kbps"`
	// Restarts counts restarts after failures (for a camera: reconnects).
	Restarts  int    `json:"restarts"`
	LastError string `json:"last_error"`
	// NextRetry is when a retrying pipeline starts again; zero otherwise.
	NextRetry time.Time `json:"next_retry,omitzero"`
	// Origin says where the pipeline is defined: OriginConfig (the configuration file, whose
	// next reload or start brings it back as the file says) or OriginAPI (added through the
	// API, and kept for the next start until deleted).
	Origin string        `json:"origin"`
	Spec   spec.Pipeline `json:"spec"`
}

// Origins of a pipeline (Status.Origin).
const (
	OriginConfig = "config"
	OriginAPI    = "api"
)
