package weight

import "github.com/pigweight/pigweight/elements/detect"

// The gates, in the order the estimator applies them: a mask is refused by the first that
// fails. The order puts the cheap and certain checks first and keeps the reasons meaningful:
// a lying pig is reported as lying, not as an area outlier of its own track.
const (
	// GateScore refuses a detection the model is unsure of (score below Config.MinScore).
	GateScore Gate = "score"
	// GateROI refuses a detection whose box centre is outside Config.ROI: not this pen's pig.
	GateROI Gate = "roi"
	// GateEdge refuses a box within Config.EdgeMarginPx of the frame's or the ROI's edge: the
	// pig is cut and its mask too small.
	GateEdge Gate = "edge"
	// GateShape refuses a mask that is not one standing pig's outline: not solid (two pigs
	// touching, a pig half hidden behind another), or too thin.
	GateShape Gate = "shape"
	// GateArea refuses a mask whose floor area is implausible: far from the pen's current
	// distribution (two pigs merged, a pig cut in half), or from its own track's median.
	GateArea Gate = "area"
	// GateLying refuses a pig that lies: curled up round, or on its side, wider and larger.
	GateLying Gate = "lying"
)

// Gate thresholds. They come from pig geometry, not from any one scene: a standing pig's back
// seen from above is an elongated, nearly convex outline (length ÷ width about 1.7–4, head
// included), and the pigs of one pen are of similar size (weight CV 10–15%, so area CV under
// 10%).
const (
	// MinSolidity is the least mask area ÷ convex hull area of a standing pig. A pig's outline
	// is nearly convex (0.93–0.98, a turned head costs a few points); two pigs touching or a
	// pig with a bite taken out by an occluder fall well below.
	MinSolidity = 0.85
	// MaxElongation is the most length ÷ width of the moment ellipse: beyond it the mask is a
	// sliver (a pig cut lengthwise by an occluder, two pigs nose to tail).
	MaxElongation = 4.5
	// MinBoxFill is the least mask area ÷ box area without a contour: an ellipse of
	// elongation 4.5 turned 45° still fills a third of its box.
	MinBoxFill = 0.3
	// LyingElongation: an outline rounder than this is a pig lying curled up; a standing
	// pig's never is.
	LyingElongation = 1.5
	// WideElongation and WideAreaRatio: an outline rounder than WideElongation and larger than
	// WideAreaRatio × the pen's median area is a pig lying on its side, its flank and legs
	// spread on the floor.
	WideElongation = 2.1
	WideAreaRatio  = 1.3
	// MaxPenAreaRatio and MinPenAreaRatio bound a mask's floor area against the pen's pigs:
	// above 1.6× the upper quartile of their areas is two pigs merged, below 0.55× the lower
	// quartile a pig cut or half hidden. In a pen of even size the quartiles sit a few percent
	// either side of the median, and 1.6× the area is 2× the weight.
	MaxPenAreaRatio = 1.6
	MinPenAreaRatio = 0.55
	// MinPenAreaSamples is how many pigs' medians the pen distribution needs before the area
	// gate applies: before that there is nothing to compare with.
	MinPenAreaSamples = 5
	// MaxTrackAreaRatio and MinTrackAreaRatio bound a mask's area against its own track's
	// running median once that has MinTrackAreaSamples good frames: tighter, since it is one
	// pig, but loose enough for posture (head down, bending: ±10%) and mask noise.
	MaxTrackAreaRatio   = 1.33
	MinTrackAreaRatio   = 0.75
	MinTrackAreaSamples = 8
	// penAreaHistory is how many ended visits' areas (with the open tracks' medians) make the
	// pen's distribution: recent enough to follow growth, many enough to be robust.
	penAreaHistory = 32
)

// GateCounts counts refused masks by gate.
type GateCounts struct {
	Score int64 `json:"score"`
	ROI   int64 `json:"roi"`
	Edge  int64 `json:"edge"`
	Shape int64 `json:"shape"`
	Area  int64 `json:"area"`
	Lying int64 `json:"lying"`
}

// Add counts one refusal by g; "" and unknown gates are not counted.
func (c *GateCounts) Add(g Gate) {
	if p := c.field(g); p != nil {
		*p++
	}
}

// Count returns how many masks g refused.
func (c GateCounts) Count(g Gate) int64 {
	if p := c.field(g); p != nil {
		return *p
	}
	return 0
}

// Total returns how many masks were refused by any gate.
func (c GateCounts) Total() int64 { return c.Score + c.ROI + c.Edge + c.Shape + c.Area + c.Lying }

func (c *GateCounts) field(g Gate) *int64 {
	switch g {
	case GateScore:
		return &c.Score
	case GateROI:
		return &c.ROI
	case GateEdge:
		return &c.Edge
	case GateShape:
		return &c.Shape
	case GateArea:
		return &c.Area
	case GateLying:
		return &c.Lying
	}
	return nil
}

// edgeGate returns GateROI for a box centred outside roi, GateEdge for a box within margin of
// the frame's border or roi's edge, "" otherwise.
func edgeGate(b detect.Box, frameW, frameH int, roi ROI, margin float64) Gate {
	x0, y0 := float64(b.X), float64(b.Y)
	x1, y1 := x0+float64(b.W), y0+float64(b.H)
	if !roi.IsZero() {
		cx, cy := (x0+x1)/2, (y0+y1)/2
		if cx < roi.X || cy < roi.Y || cx > roi.X+roi.W || cy > roi.Y+roi.H {
			return GateROI
		}
		if x0 <= roi.X+margin || y0 <= roi.Y+margin || x1 >= roi.X+roi.W-margin || y1 >= roi.Y+roi.H-margin {
			return GateEdge
		}
	}
	if x0 <= margin || y0 <= margin || x1 >= float64(frameW)-margin || y1 >= float64(frameH)-margin {
		return GateEdge
	}
	return ""
}

// shapeGate reports whether s is not one standing pig's outline.
func shapeGate(s shape) bool {
	if s.solidity > 0 && s.solidity < MinSolidity {
		return true
	}
	if s.fill > 0 && s.fill < MinBoxFill {
		return true
	}
	return s.elongation > MaxElongation
}

// lyingGate reports whether s, of floor area areaM2, looks like a lying pig; penMedian is the
// pen's median area, 0 while unknown (then only the curled-up test applies).
func lyingGate(s shape, areaM2, penMedian float64) bool {
	if s.elongation == 0 {
		return false // box-only detection whose shape is unknown
	}
	if s.elongation < LyingElongation {
		return true
	}
	return penMedian > 0 && s.elongation < WideElongation && areaM2 > WideAreaRatio*penMedian
}

// outsideRatio reports whether v is outside [lo·ref, hi·ref]; never when ref is unknown (0).
func outsideRatio(v, ref, lo, hi float64) bool {
	return ref > 0 && (v < lo*ref || v > hi*ref)
}
