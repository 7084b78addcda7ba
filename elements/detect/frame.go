package detect

import "time"

// Frame is what a pipeline reports for each decoded frame that reaches its end.
type Frame struct {
	// PTS is the frame's presentation timestamp within its stream.
	PTS time.Duration
	// Width and Height are the frame's size in pixels, the detections' coordinate space.
	Width, Height int
	// Analysed is true when the model ran on this very frame (not on an earlier one whose
	// result it carries, with an inference interval or after a skip).
	Analysed bool
	// Detections are the objects in the frame (from the last analysed frame when !Analysed);
	// nil when the pipeline has no inference.
	Detections []Detection
}
