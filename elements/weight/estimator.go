package weight

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/pigweight/pigweight/elements/detect"
)

const (
	// MinEstimateFrames is how many good frames a track needs before its Estimate carries a
	// weight: fewer and the running median is one noisy mask.
	MinEstimateFrames = 3
	// MaxPathPoints bounds Visit.Path; a longer visit's path is thinned evenly.
	MaxPathPoints = 64
	// maxSamples bounds the good frames a track keeps to pick its visit's representative
	// frame from; a longer visit keeps every 2nd, 4th, … frame.
	maxSamples = 1024
	// seedWeightKg starts the back-height iteration when neither the track nor the pen has a
	// weight yet: mid-way through the grower–finisher range, so that three fixed-point steps
	// reach any pig (each step cuts the error about fivefold).
	seedWeightKg = 60
	// heightSteps is how many fixed-point steps weight → back height → area → weight take.
	heightSteps = 3
)

// Stats counts what an Estimator has seen.
type Stats struct {
	// Frames is how many frames it observed; Masks how many detections they held.
	Frames int64 `json:"frames"`
	Masks  int64 `json:"masks"`
	// Good counts the masks that passed every gate; Rejected the others, by gate.
	Good     int64      `json:"good"`
	Rejected GateCounts `json:"rejected"`
	// Visits counts the visits that ended; VisitsWithoutWeight those with too few good frames.
	Visits              int64 `json:"visits"`
	VisitsWithoutWeight int64 `json:"visits_without_weight"`
	// Tracks is how many tracks are open now.
	Tracks int `json:"tracks"`
}

// Estimator turns one pen camera's frames into per-detection estimates and per-visit weights.
// Its methods are safe for concurrent use (Observe on the streaming thread, SetCalibration and
// Stats from an API), though one Observe at a time is what it is built for.
type Estimator struct {
	mu      sync.Mutex
	cfg     Config
	cal     Calibration
	tracker *Tracker
	tracks  map[int64]*trackState
	stats   Stats

	proj     projection
	penAreas [penAreaHistory]float64 // ended visits' candidate medians, a ring
	penNext  int
	penCount int

	scratch outlineScratch
	ellipse [ellipseVertices][2]float32
	medians []float64
}

// trackState is what the estimator keeps of one open track: its visit so far.
type trackState struct {
	id         int64
	start, end time.Time
	frames     int
	good       int
	roiOnly    bool          // every frame so far was outside the ROI
	areas      runningMedian // floor areas of the good frames
	cands      runningMedian // floor areas of the frames that reached the area gate
	samples    []sample
	sampleStep int // keep every sampleStep-th good frame
	path       []PathPoint
	pathStep   time.Duration
}

// sample is one good frame, kept to pick the visit's representative frame.
type sample struct {
	area float64
	time time.Time
	box  detect.Box
}

// NewEstimator returns an estimator for one pen. cfg should have passed Validate; its zero
// fields take their defaults. A zero or unusable cal selects DefaultCalibration.
func NewEstimator(cfg Config, cal Calibration) *Estimator {
	cfg = cfg.WithDefaults()
	return &Estimator{
		cfg:     cfg,
		cal:     usable(cal),
		tracker: NewTracker(cfg.MinScore, cfg.TrackMemoryFrames),
		tracks:  make(map[int64]*trackState),
	}
}

// SetCalibration replaces the power law; visits that end from now on use it, the frames
// already measured keep the back height the old law gave them (a second-order effect). A zero
// or unusable cal selects DefaultCalibration.
func (e *Estimator) SetCalibration(cal Calibration) {
	e.mu.Lock()
	e.cal = usable(cal)
	e.mu.Unlock()
}

// Calibration returns the power law in use.
func (e *Estimator) Calibration() Calibration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cal
}

// Stats returns the counts so far.
func (e *Estimator) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stats
	s.Tracks = len(e.tracks)
	return s
}

// Observe takes one frame. It returns one Estimate per detection, in order, and the visits
// that ended with it (tracks lost for longer than the tracker's memory).
func (e *Estimator) Observe(f Frame) (estimates []Estimate, ended []Visit) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stats.Frames++
	e.stats.Masks += int64(len(f.Detections))
	if e.proj.w != f.Width || e.proj.h != f.Height {
		e.proj = e.cfg.Camera.projection(f.Width, f.Height)
	}
	pen := e.penDistribution()
	ids, endedIDs := e.tracker.Update(f.Detections)

	estimates = make([]Estimate, len(f.Detections))
	for i := range f.Detections {
		d := &f.Detections[i]
		id := ids[i]
		ts := e.tracks[id]
		if ts == nil && id != 0 {
			ts = &trackState{id: id, start: f.Time, roiOnly: true, sampleStep: 1, pathStep: time.Second}
			e.tracks[id] = ts
		}
		gate, area := e.judge(d, f, ts, pen)
		if gate == "" {
			e.stats.Good++
		} else {
			e.stats.Rejected.Add(gate)
		}
		est := Estimate{Track: id, Gate: gate}
		if ts != nil {
			ts.observe(f.Time, d.Box, gate, area)
			if ts.areas.len() >= MinEstimateFrames {
				est.WeightKg = e.cal.WeightKg(ts.areas.median())
			}
		}
		estimates[i] = est
	}
	for _, id := range endedIDs {
		if v, ok := e.finish(id); ok {
			ended = append(ended, v)
		}
	}
	return estimates, ended
}

// Flush ends every open visit at end (the stream stopped) and returns them. end only bounds
// the visits: each one's End stays its last detection's time, never later than end.
func (e *Estimator) Flush(end time.Time) []Visit {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Visit
	for _, id := range e.tracker.Flush() {
		if v, ok := e.finish(id); ok {
			if !end.IsZero() && v.End.After(end) {
				v.End = end
			}
			out = append(out, v)
		}
	}
	return out
}

// judge runs the gates on one detection and measures its floor area. It returns the first
// gate that refused it ("" if none) and its floor area in m² (0 when no gate got that far).
func (e *Estimator) judge(d *detect.Detection, f Frame, ts *trackState, pen penAreas) (Gate, float64) {
	if float64(d.Score) < e.cfg.MinScore {
		return GateScore, 0
	}
	if g := edgeGate(d.Box, f.Width, f.Height, e.cfg.ROI, e.cfg.EdgeMarginPx); g != "" {
		return g, 0
	}
	p := &e.proj
	pixelArea := float64(d.Area)
	hasContour := len(d.Contour) >= 3
	var j float64
	if hasContour {
		j = flankMoment(d.Contour, p.cx, p.cy)
		if pixelArea <= 0 {
			pixelArea = math.Abs(polygonArea(d.Contour))
		}
	} else if pixelArea <= 0 {
		pixelArea = float64(d.Box.W) * float64(d.Box.H)
	}

	// Weight, back height and area depend on each other: iterate from the best guess.
	w := float64(seedWeightKg)
	switch {
	case ts != nil && ts.areas.len() > 0:
		w = e.cal.WeightKg(ts.areas.median())
	case pen.median > 0:
		w = e.cal.WeightKg(pen.median)
	}
	var area, k float64
	top := pixelArea // the back's pixels, for the box-only flank's ellipse
	for range heightSteps {
		k = p.k(BackHeight(w))
		var flank float64
		if hasContour {
			flank = contourFlank(j, k)
		} else {
			flank = p.boxFlank(d.Box, k, top, e.ellipse[:])
			top = pixelArea - flank
		}
		area = p.areaM2(pixelArea, flank, k)
		w = e.cal.WeightKg(area)
	}
	if !(area > 0) {
		return GateShape, 0
	}

	var s shape
	if hasContour {
		s = e.scratch.measureContour(d.Contour, float64(d.Area), p.cx, p.cy, k)
	} else {
		topPx := pixelArea // without geometry nothing was removed
		if p.f > 0 {
			pxPerM := p.f / (k * p.heightM)
			topPx = area * pxPerM * pxPerM
		}
		s = measureBox(d.Box, p.backBox(d.Box, k), pixelArea, topPx)
	}
	if shapeGate(s) {
		return GateShape, area
	}
	if ts != nil {
		// Every area that got this far describes the pig, merged or not: the pen's
		// distribution is built from these, so that the area gate cannot lock out the pen's
		// largest or smallest pigs by never letting them in.
		ts.cands.push(area)
	}
	if pen.outside(area) {
		return GateArea, area
	}
	if lyingGate(s, area, pen.median) {
		return GateLying, area
	}
	if ts != nil && ts.areas.len() >= MinTrackAreaSamples &&
		outsideRatio(area, ts.areas.median(), MinTrackAreaRatio, MaxTrackAreaRatio) {
		return GateArea, area
	}
	return "", area
}

// penAreas is the pen's current distribution of floor areas, one value per pig: its quartiles.
// All zero while unknown.
type penAreas struct {
	q25, median, q75 float64
}

// outside reports whether a mask's area is implausible for the pen: above MaxPenAreaRatio ×
// the upper quartile (two pigs merged) or below MinPenAreaRatio × the lower one (a pig cut or
// half hidden). Quartiles rather than the median leave the pen's spread inside: a pen of mixed
// sizes keeps its heaviest and lightest pigs, while a uniform pen's bounds stay near
// 1.6× and 0.55× its median.
func (p penAreas) outside(area float64) bool {
	return p.median > 0 && (area > MaxPenAreaRatio*p.q75 || area < MinPenAreaRatio*p.q25)
}

// penDistribution returns the quartiles of the pen's pigs' floor areas: one value per open
// track with MinEstimateFrames candidate frames (its running median) and per recent visit, so
// that a pig that lingers counts once. Zero while fewer than MinPenAreaSamples values exist.
func (e *Estimator) penDistribution() penAreas {
	e.medians = e.medians[:0]
	for _, ts := range e.tracks {
		if ts.cands.len() >= MinEstimateFrames {
			e.medians = append(e.medians, ts.cands.median())
		}
	}
	e.medians = append(e.medians, e.penAreas[:e.penCount]...)
	if len(e.medians) < MinPenAreaSamples {
		return penAreas{}
	}
	slices.Sort(e.medians)
	return penAreas{
		q25:    quantileSorted(e.medians, 0.25),
		median: quantileSorted(e.medians, 0.5),
		q75:    quantileSorted(e.medians, 0.75),
	}
}

// finish ends track id's visit. ok is false for a track that was never inside the ROI: a
// neighbouring pen's pig is nobody's visit.
func (e *Estimator) finish(id int64) (v Visit, ok bool) {
	ts := e.tracks[id]
	if ts == nil {
		return Visit{}, false
	}
	delete(e.tracks, id)
	if ts.roiOnly {
		return Visit{}, false
	}
	v = Visit{
		Pen: e.cfg.Pen, Track: id, Start: ts.start, End: ts.end,
		Frames: ts.frames, GoodFrames: ts.good, Path: ts.path,
	}
	if ts.good > 0 {
		v.AreaM2 = ts.areas.median()
		best := math.Inf(1)
		for _, s := range ts.samples {
			if d := math.Abs(s.area - v.AreaM2); d < best {
				best, v.Time, v.Box = d, s.time, s.box
			}
		}
	}
	if ts.good >= e.cfg.MinGoodFrames && v.AreaM2 > 0 {
		// The median weight is the weight of the median area: the power law is monotonic.
		v.WeightKg = e.cal.WeightKg(v.AreaM2)
	}
	if ts.cands.len() >= MinEstimateFrames {
		e.penAreas[e.penNext] = ts.cands.median()
		e.penNext = (e.penNext + 1) % penAreaHistory
		e.penCount = min(e.penCount+1, penAreaHistory)
	}
	e.stats.Visits++
	if v.WeightKg == 0 {
		e.stats.VisitsWithoutWeight++
	}
	return v, true
}

// observe records one frame of the track: gate is its verdict, area its floor area.
func (ts *trackState) observe(t time.Time, box detect.Box, gate Gate, area float64) {
	ts.frames++
	ts.end = t
	if gate != GateROI {
		ts.roiOnly = false
	}
	if n := len(ts.path); n == 0 || t.Sub(ts.path[n-1].Time) >= ts.pathStep {
		if n == MaxPathPoints {
			ts.path = thin(ts.path)
			ts.pathStep *= 2
		}
		ts.path = append(ts.path, PathPoint{Time: t, Box: box})
	}
	if gate != "" {
		return
	}
	ts.good++
	ts.areas.push(area)
	if (ts.good-1)%ts.sampleStep == 0 {
		if len(ts.samples) == maxSamples {
			ts.samples = thin(ts.samples)
			ts.sampleStep *= 2
		}
		ts.samples = append(ts.samples, sample{area: area, time: t, box: box})
	}
}

// thin keeps every other element of s, in place.
func thin[T any](s []T) []T {
	n := 0
	for i := 0; i < len(s); i += 2 {
		s[n] = s[i]
		n++
	}
	clear(s[n:])
	return s[:n]
}
