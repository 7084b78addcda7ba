package weight

import (
	"time"

	"github.com/pigweight/pigweight/elements/detect"
)

// Frame is one analysed frame of a pen's camera, as the estimator takes it.
type Frame struct {
	// Time is when the frame was captured (for the synthetic pen, its simulated time).
	Time time.Time
	// Width and Height are the frame's size in pixels: the detections' coordinate space.
	Width, Height int
	// Detections are the objects the model found in the frame.
	Detections []detect.Detection
}

// Estimate is what the estimator says about one detection of a frame.
type Estimate struct {
	// Track is the detection's track id, unique within the estimator, from 1; 0 for a
	// low-score detection that no track claimed (ByteTrack starts no track from those).
	Track int64 `json:"track"`
	// WeightKg is the track's weight so far (median of its good frames), 0 while unknown.
	WeightKg float64 `json:"weight_kg,omitempty"`
	// Gate is why this frame's mask was refused, "" when it was good.
	Gate Gate `json:"gate,omitempty"`
}

// Gate names the quality check that refused a mask. The values are in gates.go.
type Gate string

// Visit is a track's stretch inside the view: one pig seen from when it entered until it left
// (or was lost).
type Visit struct {
	// Pen is the pen's name, from Config.Pen.
	Pen string `json:"pen"`
	// Track is the visit's track id within its estimator.
	Track int64 `json:"track"`
	// Start and End are the times of the visit's first and last detection.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// WeightKg is the median weight of the visit's good frames; 0 when it had too few.
	WeightKg float64 `json:"weight_kg"`
	// AreaM2 is the median floor area of its good frames (square metres, corrected for the
	// camera and back height): what calibration refits a and b against. 0 when it had none.
	AreaM2 float64 `json:"area_m2"`
	// Frames counts the frames the track had a detection in; GoodFrames those that passed
	// every gate.
	Frames     int `json:"frames"`
	GoodFrames int `json:"good_frames"`
	// Time and Box are one of its good frames (the one nearest the median), so that anyone can
	// match the visit to a pig; zero when it had none.
	Time time.Time  `json:"time"`
	Box  detect.Box `json:"box"`
	// Path is where the pig was during the visit, a box at most every second and at most
	// MaxPathPoints of them (thinned evenly on long visits): MatchCheckWeigh looks up where the
	// pig was at a scale reading's time with it.
	Path []PathPoint `json:"path,omitempty"`
}

// PathPoint is where a track's detection was at one time.
type PathPoint struct {
	Time time.Time  `json:"time"`
	Box  detect.Box `json:"box"`
}

// CheckWeigh is one scale reading: one pig (WeightKg and Box, matched to the visit at that
// place and time) or a group weighing (WeightsKg, matched by distribution). ParseCheckWeigh
// reads and checks one.
type CheckWeigh struct {
	// Time is when the scale read.
	Time time.Time `json:"time"`
	// WeightKg is a single pig's weight; Box is where that pig stood in the frame.
	WeightKg float64     `json:"weight_kg,omitempty"`
	Box      *detect.Box `json:"box,omitempty"`
	// WeightsKg are the weights of a group weighed at once (say, the whole pen on sale day).
	WeightsKg []float64 `json:"weights_kg,omitempty"`
}

// Calibration is a pen's power law W = A·area^B (kg, m²) and how it was fitted.
type Calibration struct {
	A float64 `json:"a"`
	B float64 `json:"b"`
	// Readings is how many check-weigh weights the fit used; 0 for the literature defaults.
	Readings int `json:"readings"`
	// Residuals are the fit's relative errors (estimate/scale - 1), one per reading used.
	Residuals []float64 `json:"residuals,omitempty"`
	// Method says how: "default", "a only" or "a and b".
	Method string `json:"method"`
}
