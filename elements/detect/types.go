package detect

import (
	"encoding/json"
	"fmt"
	"math"
)

// Box is an axis-aligned rectangle in frame pixels: top-left corner, width and height.
type Box struct {
	X, Y, W, H float32
}

// MarshalJSON writes the box as [x, y, w, h], the API's form.
func (b Box) MarshalJSON() ([]byte, error) {
	return json.Marshal([4]float32{b.X, b.Y, b.W, b.H})
}

// UnmarshalJSON reads [x, y, w, h].
func (b *Box) UnmarshalJSON(data []byte) error {
	var a [4]float32
	if err := json.Unmarshal(data, &a); err != nil {
		return err
	}
	*b = Box{a[0], a[1], a[2], a[3]}
	return nil
}

// Detection is one object found in one frame, in that frame's pixel coordinates.
type Detection struct {
	Box     Box     `json:"box"`
	ClassID int     `json:"class_id"`
	Class   string  `json:"class"` // the model's class name, or the id as text when unnamed
	Score   float32 `json:"score"`
	// Area is the object's size in frame pixels: mask pixels for mask and yolo-seg decoders,
	// box area for yolo.
	Area int `json:"area"`
	// Contour is the object's outer boundary, a closed polygon in frame pixels (the last point
	// joins the first), simplified. The mask and yolo-seg decoders fill it when
	// Options.Contours is set.
	Contour [][2]float32 `json:"contour,omitempty"`
	// Track and WeightKg are filled after the model, by the weight estimator of a pipeline
	// that weighs: the detection's track id (from 1) and its pig's weight so far in kg, 0
	// while unknown.
	Track    int64   `json:"track,omitempty"`
	WeightKg float64 `json:"weight_kg,omitempty"`
}

// Letterbox maps between a frame and a model input of another size: the frame is scaled by
// Scale (same factor on both axes, aspect kept) and placed at (PadX, PadY) in the input;
// the rest of the input is padding.
type Letterbox struct {
	SrcW, SrcH int     // frame size
	DstW, DstH int     // model input size
	Scale      float32 // input pixels per frame pixel
	PadX, PadY int     // where the scaled frame starts in the input
}

// NewLetterbox fits a srcW×srcH frame into a dstW×dstH input, centred.
func NewLetterbox(srcW, srcH, dstW, dstH int) Letterbox {
	scale := min(float32(dstW)/float32(srcW), float32(dstH)/float32(srcH))
	w, h := int(float32(srcW)*scale+0.5), int(float32(srcH)*scale+0.5)
	return Letterbox{SrcW: srcW, SrcH: srcH, DstW: dstW, DstH: dstH, Scale: scale, PadX: (dstW - w) / 2, PadY: (dstH - h) / 2}
}

// ToFrame maps a box in model-input pixels to frame pixels, clipped to the frame.
func (l Letterbox) ToFrame(b Box) Box {
	x0 := (b.X - float32(l.PadX)) / l.Scale
	y0 := (b.Y - float32(l.PadY)) / l.Scale
	x1 := (b.X + b.W - float32(l.PadX)) / l.Scale
	y1 := (b.Y + b.H - float32(l.PadY)) / l.Scale
	x0, y0 = clamp(x0, 0, float32(l.SrcW)), clamp(y0, 0, float32(l.SrcH))
	x1, y1 = clamp(x1, 0, float32(l.SrcW)), clamp(y1, 0, float32(l.SrcH))
	return Box{X: x0, Y: y0, W: x1 - x0, H: y1 - y0}
}

// ToFramePoint maps a point in model-input pixels to frame pixels, clipped to the frame.
func (l Letterbox) ToFramePoint(x, y float32) (float32, float32) {
	return clamp((x-float32(l.PadX))/l.Scale, 0, float32(l.SrcW)), clamp((y-float32(l.PadY))/l.Scale, 0, float32(l.SrcH))
}

// content returns where the scaled frame lies in the model input: [x0, x1) × [y0, y1) in
// input pixels. The rest of the input is padding.
func (l Letterbox) content() (x0, y0, x1, y1 float64) {
	x0, y0 = float64(l.PadX), float64(l.PadY)
	return x0, y0, x0 + float64(l.SrcW)*float64(l.Scale), y0 + float64(l.SrcH)*float64(l.Scale)
}

// validate rejects a letterbox that cannot map anything: sizes must be positive and the scale
// positive and finite.
func (l Letterbox) validate() error {
	if l.SrcW <= 0 || l.SrcH <= 0 || l.DstW <= 0 || l.DstH <= 0 || !(l.Scale > 0) || math.IsInf(float64(l.Scale), 0) {
		return fmt.Errorf("%w: frame %dx%d, input %dx%d, scale %v", ErrLetterbox, l.SrcW, l.SrcH, l.DstW, l.DstH, l.Scale)
	}
	return nil
}

func clamp(v, lo, hi float32) float32 { return max(lo, min(v, hi)) }
