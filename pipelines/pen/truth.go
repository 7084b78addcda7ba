package pen

import (
	"fmt"
	"image"
	"math"
)

// Truth is the ground truth of one frame.
type Truth struct {
	// Frame is the index of the frame this truth describes, as Scene.Frame counts.
	Frame uint64
	// Pigs is ordered by ID, which is also the drawing order: a higher ID is drawn on top.
	Pigs []PigTruth
}

// PigTruth is one pig in one frame.
type PigTruth struct {
	// ID is stable across frames, 1..N; it is also the pig's value in the label map.
	ID int
	// Box is the tight bounding box of the pig's visible pixels (after occlusion by pigs
	// drawn above it); empty when none is visible.
	Box image.Rectangle
	// Area is the number of visible pixels.
	Area int
	// BodyArea is the number of pixels the whole silhouette (trunk, head, ears and tail)
	// covers in this frame, occlusion ignored. It wavers by a percent or so from frame to
	// frame as the pig turns across the pixel grid.
	BodyArea int
	// TrueArea is the silhouette's exact sub-pixel area, rounded; it is constant for a pig.
	// BodyArea stays within 2% of it for pigs of a hundred pixels' length, and within a
	// dozen pixels for the smallest pigs, whose tails are thinner than a pixel.
	TrueArea int
	// WeightKg is the pig's true weight: WeightFromArea(TrueArea, PixelsPerMetre()).
	// It is constant for a pig, as a weight should be across a minute of video.
	WeightKg float64
	// LengthPx is the snout-tip to rump length in pixels.
	LengthPx float64
	// Center is the middle of the snout–rump axis, rounded to a pixel.
	Center image.Point
	// HeadingDeg is the way the snout points, in [0, 360): 0 is +x (right) and angles grow
	// clockwise on screen, towards +y (down).
	HeadingDeg float64
	// Lying is true while the pig lies still.
	Lying bool
}

// Truth returns the ground truth of the current frame. The result is a copy.
func (s *Scene) Truth() Truth {
	s.compose()
	t := Truth{Frame: s.frame, Pigs: make([]PigTruth, len(s.pigs))}
	for i := range s.pigs {
		p := &s.pigs[i]
		m := &p.motion
		heading := m.heading * 180 / math.Pi
		if heading >= 360 { // a heading a hair under 2π can round up
			heading = 0
		}
		t.Pigs[i] = PigTruth{
			ID:         p.id,
			Box:        p.visBox,
			Area:       p.visArea,
			BodyArea:   p.bodyArea,
			TrueArea:   int(math.Round(p.trueArea)),
			WeightKg:   p.weightKg,
			LengthPx:   p.length,
			Center:     image.Pt(int(math.Round(m.x)), int(math.Round(m.y))),
			HeadingDeg: heading,
			Lying:      m.mode == modeLie,
		}
	}
	return t
}

// Labels returns the label map of the current frame, Width*Height bytes in rows: 0 where
// no pig is, else the ID of the top-most pig. The result is a copy.
func (s *Scene) Labels() []uint8 {
	s.compose()
	out := make([]uint8, len(s.labels))
	copy(out, s.labels)
	return out
}

// LabelsInto copies the label map of the current frame into dst, which must be
// Width*Height bytes long; it allocates nothing.
func (s *Scene) LabelsInto(dst []uint8) error {
	if len(dst) != len(s.labels) {
		return fmt.Errorf("label buffer is %d bytes, want %d (%dx%d)", len(dst), len(s.labels),
			s.cfg.Width, s.cfg.Height)
	}
	s.compose()
	copy(dst, s.labels)
	return nil
}
