package weight

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/pigweight/pigweight/elements/detect"
	"gonum.org/v1/gonum/stat"
)

// The literature's power law. Brandl & Jørgensen (1996, "Determination of live weight of pigs
// from dimensions measured using image analysis", Comput. Electron. Agric. 15:57–72; 416 pigs
// from 25 to 100 kg, filmed from above) found live weight "almost linear on a logarithmic
// scale" in body area, i.e. W = a·A^b, with errors of 5–6% once fitted to the herd;
// Schofield et al. (1999, J. Agric. Eng. Res. 72:205–210, plan area) and Kongsro (2014,
// Comput. Electron. Agric. 109:32–35, depth camera) weigh pigs from above likewise, with a fit
// per herd. Pigs grow nearly isometrically (Petherick
// 1983: every linear dimension ∝ W^(1/3)), so area ∝ W^(2/3) and b = 1.5. a = 550 puts a
// 100 kg finisher at 0.32 m² of dorsal area and a 30 kg weaner at 0.14 m², the middle of the
// ranges those studies measured. The absolute level depends on the breed and on what the
// segmentation calls the outline, which is why check-weighs refit a (and b, given a range).
const (
	DefaultA = 550.0
	DefaultB = 1.5
)

// Fit and match parameters.
const (
	// MinPairsForSlope is how many pairs Fit needs before it fits b too.
	MinPairsForSlope = 8
	// MinAreaSpread is the least ratio between the 90th and 10th percentile areas for fitting
	// b: over a narrower range the slope is all noise, and only a is fitted.
	MinAreaSpread = 1.25
	// MinFitB and MaxFitB bound a fitted exponent: outside them the data are not a pig's power
	// law (mismatched pairs) and Fit falls back to fitting a alone.
	MinFitB = 0.8
	MaxFitB = 2.5
	// MatchTolerance widens each visit's time span when matching a single-pig reading: the
	// scale's clock and the camera's differ, and a pig steps off the scale before it is read.
	MatchTolerance = 10 * time.Second
	// MinMatchIoU is the least IoU between the reading's box and the pig's box at that time.
	MinMatchIoU = 0.3
	// GroupWindow is how far from a group reading's time its visits may be.
	GroupWindow = 12 * time.Hour
	// MinGroupVisits is the fewest weighed visits a group reading needs.
	MinGroupVisits = 5
	// huberK is Huber's tuning constant: 95% efficiency on normal errors.
	huberK = 1.345
	// maxTheilSen bounds the points Theil–Sen takes pairwise slopes of (n² of them).
	maxTheilSen = 600
)

// Pair is one check-weigh weight matched with a floor area.
type Pair struct {
	AreaM2   float64 `json:"area_m2"`
	WeightKg float64 `json:"weight_kg"`
}

// DefaultCalibration returns the literature's power law, W = 550·A^1.5 (see DefaultA).
func DefaultCalibration() Calibration {
	return Calibration{A: DefaultA, B: DefaultB, Method: "default"}
}

// WeightKg returns the weight in kg for a floor area in m²; 0 for a non-positive area.
func (c Calibration) WeightKg(areaM2 float64) float64 {
	if !(areaM2 > 0) {
		return 0
	}
	return c.A * math.Pow(areaM2, c.B)
}

// AreaM2 returns the floor area in m² of a pig weighing weightKg: the power law inverted.
func (c Calibration) AreaM2(weightKg float64) float64 {
	if !(weightKg > 0) || !(c.A > 0) || !(c.B > 0) {
		return 0
	}
	return math.Pow(weightKg/c.A, 1/c.B)
}

// usable returns cal, or the default when cal cannot weigh anything.
func usable(cal Calibration) Calibration {
	if !(cal.A > 0) || !(cal.B > 0) || math.IsInf(cal.A, 0) || math.IsInf(cal.B, 0) {
		return DefaultCalibration()
	}
	return cal
}

// MatchCheckWeigh pairs a check-weigh with the areas of visits: a single-pig reading with the
// visit MatchVisit finds, a group reading (WeightsKg) its sorted weights with the quantiles of
// the areas of the weighed visits nearest its time (within GroupWindow): the i-th lightest of
// n with the (i+½)/n quantile; fewer than MinGroupVisits such visits give ErrNoVisits.
func MatchCheckWeigh(cw CheckWeigh, visits []Visit) ([]Pair, error) {
	if len(cw.WeightsKg) > 0 {
		return matchGroup(cw, visits)
	}
	i, err := MatchVisit(cw, visits)
	if err != nil {
		return nil, err
	}
	return []Pair{{AreaM2: visits[i].AreaM2, WeightKg: cw.WeightKg}}, nil
}

// MatchVisit returns the index in visits of the pig a single-pig reading weighed: the weighed
// visit whose span (±MatchTolerance) holds the reading's time and whose box at that time
// overlaps the reading's box best, at least MinMatchIoU, else ErrNoPigThere.
func MatchVisit(cw CheckWeigh, visits []Visit) (int, error) {
	if cw.Box == nil || !(cw.WeightKg > 0) {
		return -1, fmt.Errorf("%w: a single reading needs weight_kg and box", ErrInvalidCheckWeigh)
	}
	best, bestIoU := -1, 0.0
	for i := range visits {
		v := &visits[i]
		if !(v.WeightKg > 0 && v.AreaM2 > 0) ||
			cw.Time.Before(v.Start.Add(-MatchTolerance)) || cw.Time.After(v.End.Add(MatchTolerance)) {
			continue
		}
		if iou := IoU(v.boxAt(cw.Time), *cw.Box); iou > bestIoU {
			best, bestIoU = i, iou
		}
	}
	if best < 0 || bestIoU < MinMatchIoU {
		return -1, fmt.Errorf("%w: at %s the best weighed visit overlaps the box by IoU %.2f, need %.2f",
			ErrNoPigThere, cw.Time.Format(time.RFC3339), bestIoU, MinMatchIoU)
	}
	return best, nil
}

func matchGroup(cw CheckWeigh, visits []Visit) ([]Pair, error) {
	type near struct {
		area float64
		dist time.Duration
	}
	var cands []near
	for i := range visits {
		v := &visits[i]
		if !(v.WeightKg > 0 && v.AreaM2 > 0) {
			continue
		}
		mid := v.Start.Add(v.End.Sub(v.Start) / 2)
		d := cw.Time.Sub(mid).Abs()
		if d <= GroupWindow {
			cands = append(cands, near{v.AreaM2, d})
		}
	}
	if len(cands) < MinGroupVisits {
		return nil, fmt.Errorf("%w: %d weighed visits within %s of %s, need %d",
			ErrNoVisits, len(cands), GroupWindow, cw.Time.Format(time.RFC3339), MinGroupVisits)
	}
	// The nearest in time, a few per weight: enough for smooth quantiles, recent enough
	// that the pigs have not grown since.
	slices.SortFunc(cands, func(a, b near) int { return cmp.Compare(a.dist, b.dist) })
	cands = cands[:min(len(cands), max(3*len(cw.WeightsKg), 20))]
	areas := make([]float64, len(cands))
	for i, c := range cands {
		areas[i] = c.area
	}
	slices.Sort(areas)
	weights := slices.Clone(cw.WeightsKg)
	slices.Sort(weights)
	n := float64(len(weights))
	pairs := make([]Pair, len(weights))
	for i, w := range weights {
		pairs[i] = Pair{AreaM2: quantileSorted(areas, (float64(i)+0.5)/n), WeightKg: w}
	}
	return pairs, nil
}

// boxAt returns where the visit's pig was at t: interpolated along its path, else its
// representative box.
func (v *Visit) boxAt(t time.Time) detect.Box {
	p := v.Path
	if len(p) == 0 {
		return v.Box
	}
	i, _ := slices.BinarySearchFunc(p, t, func(pp PathPoint, t time.Time) int { return pp.Time.Compare(t) })
	switch {
	case i == 0:
		return p[0].Box
	case i == len(p):
		return p[len(p)-1].Box
	}
	a, b := p[i-1], p[i]
	span := b.Time.Sub(a.Time)
	if span <= 0 {
		return b.Box
	}
	f := float32(t.Sub(a.Time).Seconds() / span.Seconds())
	return detect.Box{
		X: a.Box.X + (b.Box.X-a.Box.X)*f, Y: a.Box.Y + (b.Box.Y-a.Box.Y)*f,
		W: a.Box.W + (b.Box.W-a.Box.W)*f, H: a.Box.H + (b.Box.H-a.Box.H)*f,
	}
}

// Fit fits the power law to pairs by robust regression in log space, log W = log a + b·log A:
// Theil–Sen for a start (the median of pairwise slopes, indifferent to up to 29% of bad
// pairs), then Huber-weighted least squares from there. With fewer than MinPairsForSlope
// pairs, areas spanning less than MinAreaSpread, or a slope outside [MinFitB, MaxFitB], b
// stays DefaultB and only a is fitted (a Huber location of log W − b·log A). Pairs with a
// non-positive or non-finite value are skipped. No usable pair gives DefaultCalibration.
func Fit(pairs []Pair) Calibration {
	var x, y []float64
	var used []Pair
	for _, p := range pairs {
		if p.AreaM2 > 0 && p.WeightKg > 0 && !math.IsInf(p.AreaM2, 0) && !math.IsInf(p.WeightKg, 0) {
			x = append(x, math.Log(p.AreaM2))
			y = append(y, math.Log(p.WeightKg))
			used = append(used, p)
		}
	}
	if len(x) == 0 {
		return DefaultCalibration()
	}
	cal := Calibration{B: DefaultB, Method: "a only", Readings: len(x)}
	logA := math.NaN()
	if len(x) >= MinPairsForSlope && logSpread(x) >= math.Log(MinAreaSpread) {
		if la, b := huberLine(x, y); b >= MinFitB && b <= MaxFitB {
			logA, cal.B, cal.Method = la, b, "a and b"
		}
	}
	if math.IsNaN(logA) {
		r := make([]float64, len(x))
		for i := range x {
			r[i] = y[i] - cal.B*x[i]
		}
		logA = huberLocation(r)
	}
	cal.A = math.Exp(logA)
	cal.Residuals = make([]float64, len(used))
	for i, p := range used {
		cal.Residuals[i] = cal.WeightKg(p.AreaM2)/p.WeightKg - 1
	}
	return cal
}

// logSpread is the 90th minus the 10th percentile of x.
func logSpread(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	return quantileSorted(s, 0.9) - quantileSorted(s, 0.1)
}

// huberLine fits y = a + b·x: Theil–Sen, then iteratively reweighted least squares with Huber
// weights at a scale fixed from the Theil–Sen residuals' MAD.
func huberLine(x, y []float64) (a, b float64) {
	b = theilSen(x, y)
	r := make([]float64, len(x))
	for i := range x {
		r[i] = y[i] - b*x[i]
	}
	a = medianOf(slices.Clone(r))
	for i := range x {
		r[i] = y[i] - a - b*x[i]
	}
	scale := madScale(r)
	w := make([]float64, len(x))
	for range 50 {
		for i := range x {
			w[i] = huberWeight(y[i]-a-b*x[i], scale)
		}
		na, nb := stat.LinearRegression(x, y, w, false)
		done := math.Abs(na-a) < 1e-9 && math.Abs(nb-b) < 1e-9
		a, b = na, nb
		if done {
			break
		}
	}
	return a, b
}

// huberLocation returns Huber's M-estimate of the centre of r.
func huberLocation(r []float64) float64 {
	m := medianOf(slices.Clone(r))
	dev := make([]float64, len(r))
	for i, v := range r {
		dev[i] = v - m
	}
	scale := madScale(dev)
	w := make([]float64, len(r))
	for range 50 {
		for i, v := range r {
			w[i] = huberWeight(v-m, scale)
		}
		nm := stat.Mean(r, w)
		done := math.Abs(nm-m) < 1e-12
		m = nm
		if done {
			break
		}
	}
	return m
}

// madScale is the normal-consistent median absolute deviation of residuals r, with a floor so
// that exact data (all residuals 0) weigh every point fully.
func madScale(r []float64) float64 {
	a := make([]float64, len(r))
	for i, v := range r {
		a[i] = math.Abs(v)
	}
	return max(1.4826*medianOf(a), 1e-6)
}

func huberWeight(r, scale float64) float64 {
	if u := math.Abs(r) / scale; u > huberK {
		return huberK / u
	}
	return 1
}

// theilSen returns the median of the slopes between all pairs of points with distinct x
// (evenly subsampled to maxTheilSen points).
func theilSen(x, y []float64) float64 {
	step := 1
	if len(x) > maxTheilSen {
		step = (len(x) + maxTheilSen - 1) / maxTheilSen
	}
	var slopes []float64
	for i := 0; i < len(x); i += step {
		for j := i + step; j < len(x); j += step {
			if dx := x[j] - x[i]; math.Abs(dx) > 1e-12 {
				slopes = append(slopes, (y[j]-y[i])/dx)
			}
		}
	}
	if len(slopes) == 0 {
		return DefaultB
	}
	return medianOf(slopes)
}
