package detect

import (
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Defaults for the zero values of Options.
const (
	DefaultYOLOConfidence = 0.25
	DefaultMaskConfidence = 0.5
	DefaultIoU            = 0.45
	DefaultMaxDetections  = 300
	// DefaultMinAreaFraction is the share of the frame's pixels below which a mask component
	// is dropped when Options.MinArea is zero: 0.02%, about 61 pixels of a 640×480 frame.
	DefaultMinAreaFraction = 0.0002
)

// Layout says how a YOLO head's output is laid out. The shape alone cannot tell ([84, 84]
// is both), so the caller says.
type Layout uint8

const (
	// LayoutChannelsFirst is [4+nc(+nm), anchors]: row r of anchor a at out[r*anchors+a].
	// This is what ultralytics exports to ONNX (1×84×8400 for a 640 COCO model).
	LayoutChannelsFirst Layout = iota
	// LayoutAnchorsFirst is [anchors, 4+nc(+nm)]: row r of anchor a at out[a*rows+r], as
	// written by exports that transpose the head.
	LayoutAnchorsFirst
)

// Options tune the decoders. The zero value selects the defaults.
type Options struct {
	// Confidence is the score a detection must reach (yolo: score >= Confidence) or a mask
	// pixel's probability must exceed (mask: p > Confidence). Zero selects
	// DefaultYOLOConfidence for the yolo decoders and DefaultMaskConfidence for DecodeMask.
	Confidence float32
	// IoU is the NMS threshold: a box whose IoU with a better box of the same class is greater
	// than this is dropped. Zero selects DefaultIoU.
	IoU float32
	// MaxDetections caps the result, best scores kept. Zero selects DefaultMaxDetections.
	MaxDetections int
	// Classes names the class ids; an id without a name is reported as its decimal text.
	Classes []string
	// MinArea drops mask components smaller than this many frame pixels (DecodeMask only).
	// Zero selects DefaultMinAreaFraction of the frame; a negative value keeps all.
	MinArea int
	// Contours asks DecodeMask and DecodeYOLOSeg to fill Detection.Contour.
	Contours bool
	// Layout is the yolo output layout; the mask decoder ignores it.
	Layout Layout
}

// resolve fills in defaults and checks ranges. defConf is the decoder's default confidence.
func (o Options) resolve(defConf float32) (Options, error) {
	if o.Confidence == 0 {
		o.Confidence = defConf
	}
	if o.IoU == 0 {
		o.IoU = DefaultIoU
	}
	if o.MaxDetections == 0 {
		o.MaxDetections = DefaultMaxDetections
	}
	switch {
	case !(o.Confidence >= 0 && o.Confidence <= 1):
		return o, fmt.Errorf("%w: confidence %v not in [0, 1]", ErrOptions, o.Confidence)
	case !(o.IoU >= 0 && o.IoU <= 1):
		return o, fmt.Errorf("%w: iou %v not in [0, 1]", ErrOptions, o.IoU)
	case o.MaxDetections < 0:
		return o, fmt.Errorf("%w: max detections %d is negative", ErrOptions, o.MaxDetections)
	case o.Layout != LayoutChannelsFirst && o.Layout != LayoutAnchorsFirst:
		return o, fmt.Errorf("%w: unknown layout %d", ErrOptions, o.Layout)
	}
	return o, nil
}

// minArea is the resolved MinArea for a frame: 0 keeps everything.
func (o *Options) minArea(lb Letterbox) int {
	switch {
	case o.MinArea < 0:
		return 0
	case o.MinArea > 0:
		return o.MinArea
	}
	return int(math.Round(DefaultMinAreaFraction * float64(lb.SrcW) * float64(lb.SrcH)))
}

// className names class id: its entry in Classes, or the id as text. strconv.Itoa does not
// allocate for ids below 100.
func (o *Options) className(id int) string {
	if id >= 0 && id < len(o.Classes) {
		return o.Classes[id]
	}
	return strconv.Itoa(id)
}

// tensorLen multiplies dims, reporting false if any is negative or the product overflows int.
func tensorLen(dims ...int) (int, bool) {
	n := 1
	for _, d := range dims {
		if d < 0 {
			return 0, false
		}
		if d != 0 && n > math.MaxInt/d {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// checkLen reports ErrShape unless len(data) is the product of dims.
func checkLen(name string, data []float32, dims ...int) error {
	n, ok := tensorLen(dims...)
	if !ok || n != len(data) {
		// A copy, so that dims does not escape and the common path does not allocate.
		return fmt.Errorf("%w: %s has %d values, shape %v", ErrShape, name, len(data), slices.Clone(dims))
	}
	return nil
}
