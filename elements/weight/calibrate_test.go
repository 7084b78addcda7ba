package weight

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pigweight/pigweight/elements/detect"
)

// noisyPairs draws n pairs from W = a·A^b over areas [lo, hi], with multiplicative noise of
// sd and a share of outliers (mismatched pigs: weight off by ±30–60%).
func noisyPairs(rng *rand.Rand, n int, a, b, lo, hi, sd, outliers float64) []Pair {
	out := make([]Pair, n)
	for i := range out {
		area := lo + (hi-lo)*rng.Float64()
		w := a * math.Pow(area, b) * math.Exp(sd*rng.NormFloat64())
		if rng.Float64() < outliers {
			f := 1.3 + 0.3*rng.Float64()
			if rng.IntN(2) == 0 {
				f = 1 / f
			}
			w *= f
		}
		out[i] = Pair{AreaM2: area, WeightKg: w}
	}
	return out
}

func TestFit(t *testing.T) {
	tests := []struct {
		name       string
		pairs      []Pair
		wantA      float64
		wantB      float64
		tolA, tolB float64 // relative
		method     string
	}{
		{
			name:  "a and b from a growth period, 5% noise, 15% outliers",
			pairs: noisyPairs(rand.New(rand.NewPCG(1, 1)), 200, 420, 1.3, 0.12, 0.38, 0.05, 0.15),
			wantA: 420, wantB: 1.3, tolA: 0.05, tolB: 0.05, method: "a and b",
		},
		{
			name:  "a and b, steeper law, 40 pairs",
			pairs: noisyPairs(rand.New(rand.NewPCG(2, 2)), 40, 700, 1.7, 0.15, 0.35, 0.04, 0.1),
			wantA: 700, wantB: 1.7, tolA: 0.08, tolB: 0.08, method: "a and b",
		},
		{
			name:  "few pairs: a only",
			pairs: noisyPairs(rand.New(rand.NewPCG(3, 3)), 6, 480, DefaultB, 0.15, 0.35, 0.04, 0),
			wantA: 480, wantB: DefaultB, tolA: 0.04, method: "a only",
		},
		{
			name:  "narrow range: a only, outliers ignored",
			pairs: noisyPairs(rand.New(rand.NewPCG(4, 4)), 100, 600, DefaultB, 0.28, 0.31, 0.05, 0.2),
			wantA: 600, wantB: DefaultB, tolA: 0.03, method: "a only",
		},
		{
			name:  "exact data",
			pairs: noisyPairs(rand.New(rand.NewPCG(5, 5)), 20, 510, 1.42, 0.1, 0.4, 0, 0),
			wantA: 510, wantB: 1.42, tolA: 1e-6, tolB: 1e-6, method: "a and b",
		},
		{
			name:  "implausible slope falls back to a only",
			pairs: []Pair{{0.1, 100}, {0.15, 95}, {0.2, 105}, {0.25, 98}, {0.3, 101}, {0.35, 99}, {0.4, 100}, {0.45, 102}},
			wantA: 100 / math.Pow(0.25, DefaultB), wantB: DefaultB, tolA: 0.6, method: "a only",
		},
		{
			name:  "nothing usable: the default",
			pairs: []Pair{{0, 10}, {0.2, -1}, {math.Inf(1), 50}},
			wantA: DefaultA, wantB: DefaultB, method: "default",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cal := Fit(tt.pairs)
			if cal.Method != tt.method {
				t.Fatalf("method %q, want %q (%+v)", cal.Method, tt.method, cal)
			}
			if e := math.Abs(cal.A-tt.wantA) / tt.wantA; e > tt.tolA {
				t.Errorf("a = %.2f, want %.2f ± %.0f%%", cal.A, tt.wantA, 100*tt.tolA)
			}
			if e := math.Abs(cal.B-tt.wantB) / tt.wantB; e > tt.tolB {
				t.Errorf("b = %.3f, want %.3f ± %.0f%%", cal.B, tt.wantB, 100*tt.tolB)
			}
			if tt.method != "default" && (cal.Readings != len(tt.pairs) || len(cal.Residuals) != len(tt.pairs)) {
				t.Errorf("readings %d, residuals %d, want %d", cal.Readings, len(cal.Residuals), len(tt.pairs))
			}
			for i, r := range cal.Residuals {
				p := tt.pairs[i]
				if want := cal.WeightKg(p.AreaM2)/p.WeightKg - 1; math.Abs(r-want) > 1e-12 {
					t.Fatalf("residual %d = %v, want %v", i, r, want)
				}
			}
		})
	}
}

func TestDefaultCalibration(t *testing.T) {
	c := DefaultCalibration()
	tests := []struct{ kg, lo, hi float64 }{
		{100, 0.30, 0.35}, // finishing pig
		{30, 0.13, 0.16},  // weaner
	}
	for _, tt := range tests {
		if a := c.AreaM2(tt.kg); a < tt.lo || a > tt.hi {
			t.Errorf("AreaM2(%v) = %.3f, want [%v, %v]", tt.kg, a, tt.lo, tt.hi)
		}
		if w := c.WeightKg(c.AreaM2(tt.kg)); math.Abs(w-tt.kg) > 1e-9 {
			t.Errorf("WeightKg(AreaM2(%v)) = %v", tt.kg, w)
		}
	}
}

func TestMatchCheckWeigh(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	visit := func(track int64, startS, endS float64, area float64, box detect.Box, path ...PathPoint) Visit {
		return Visit{
			Track: track, Start: t0.Add(time.Duration(startS * float64(time.Second))), End: t0.Add(time.Duration(endS * float64(time.Second))),
			AreaM2: area, WeightKg: DefaultCalibration().WeightKg(area), GoodFrames: 20, Frames: 30, Box: box, Path: path,
		}
	}
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	boxA := detect.Box{X: 100, Y: 100, W: 200, H: 80}
	boxB := detect.Box{X: 700, Y: 300, W: 200, H: 80}
	visits := []Visit{
		visit(1, 0, 60, 0.25, boxA),
		visit(2, 0, 60, 0.30, boxB),
		// Track 3 walks from A's place to B's; its representative box is at B.
		visit(3, 100, 160, 0.20, boxB,
			PathPoint{at(100), boxA}, PathPoint{at(110), boxA}, PathPoint{at(130), boxB}, PathPoint{at(160), boxB}),
		{Track: 4, Start: at(0), End: at(60), Box: boxA, GoodFrames: 2}, // never weighed
	}
	single := func(s, kg float64, b detect.Box) CheckWeigh { return CheckWeigh{Time: at(s), WeightKg: kg, Box: &b} }
	tests := []struct {
		name string
		cw   CheckWeigh
		want []Pair
		err  error
	}{
		{"the pig at A", single(30, 80, boxA), []Pair{{0.25, 80}}, nil},
		{"the pig at B", single(30, 95, detect.Box{X: 710, Y: 305, W: 190, H: 80}), []Pair{{0.30, 95}}, nil},
		{"within the tolerance after the visit", single(65, 80, boxA), []Pair{{0.25, 80}}, nil},
		{"too long after", single(75, 80, boxA), nil, ErrNoPigThere},
		{"nobody there", single(30, 80, detect.Box{X: 400, Y: 500, W: 100, H: 60}), nil, ErrNoPigThere},
		{"along the path: at A early in the visit", single(105, 70, boxA), []Pair{{0.20, 70}}, nil},
		{"along the path: halfway between", single(120, 70, detect.Box{X: 400, Y: 200, W: 200, H: 80}), []Pair{{0.20, 70}}, nil},
		{"no box", CheckWeigh{Time: at(30), WeightKg: 80}, nil, ErrInvalidCheckWeigh},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MatchCheckWeigh(tt.cw, visits)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || len(got) != len(tt.want) || got[0] != tt.want[0] {
				t.Fatalf("MatchCheckWeigh = %v, %v, want %v", got, err, tt.want)
			}
		})
	}
}

func TestMatchGroup(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	law := Calibration{A: 450, B: 1.35}
	rng := rand.New(rand.NewPCG(7, 7))
	// A pen of 20 pigs, each visiting three times in the morning.
	var weights []float64
	var visits []Visit
	for i := range 20 {
		kg := 70 + 30*rng.Float64()
		weights = append(weights, kg)
		for j := range 3 {
			start := t0.Add(time.Duration(rng.IntN(3*3600)) * time.Second)
			area := law.AreaM2(kg) * (1 + 0.01*rng.NormFloat64())
			visits = append(visits, Visit{Track: int64(3*i + j), Start: start, End: start.Add(time.Minute), AreaM2: area, WeightKg: DefaultCalibration().WeightKg(area)})
		}
	}
	// Yesterday's visits are out of the window.
	visits = append(visits, Visit{Track: 999, Start: t0.Add(-30 * time.Hour), End: t0.Add(-30 * time.Hour), AreaM2: 0.05, WeightKg: 10})
	pairs, err := MatchCheckWeigh(CheckWeigh{Time: t0.Add(4 * time.Hour), WeightsKg: weights}, visits)
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != len(weights) {
		t.Fatalf("%d pairs, want %d", len(pairs), len(weights))
	}
	cal := Fit(pairs)
	for _, kg := range []float64{70, 85, 100} {
		if got := cal.WeightKg(law.AreaM2(kg)); math.Abs(got-kg)/kg > 0.03 {
			t.Errorf("after the group fit (%+v) a %v kg pig weighs %.1f", cal, kg, got)
		}
	}
	if _, err := MatchCheckWeigh(CheckWeigh{Time: t0.Add(48 * time.Hour), WeightsKg: weights}, visits); !errors.Is(err, ErrNoVisits) {
		t.Errorf("a group two days later: error %v, want ErrNoVisits", err)
	}
}

// TestCalibrateEndToEnd weighs a pen whose pigs follow a law that is not the default one:
// before calibration the estimates are off, after fitting check-weighs they are right.
func TestCalibrateEndToEnd(t *testing.T) {
	law := Calibration{A: 430, B: 1.3}
	cam := testCamera{3, 90, 1280, 720}
	rng := rand.New(rand.NewPCG(9, 9))
	weights := []float64{35, 48, 60, 72, 85, 98, 110, 118}
	ws := lanes(weights, rng, false)
	for i := range ws {
		ws[i].law = law
	}
	frames := film(cam, ws, 10, 24, true)
	e := NewEstimator(Config{Camera: cam.config()}, Calibration{})
	visits := observeAll(e, frames)
	var pairs []Pair
	for _, v := range visits {
		kg := truth(cam, ws, v)
		// A scale reading at the visit's representative frame, with the pig's box then.
		p, err := MatchCheckWeigh(CheckWeigh{Time: v.Time, WeightKg: kg, Box: &v.Box}, visits)
		if err != nil {
			t.Fatal(err)
		}
		pairs = append(pairs, p...)
	}
	cal := Fit(pairs)
	if cal.Method != "a and b" {
		t.Fatalf("fit %+v", cal)
	}
	for _, v := range visits {
		kg := truth(cam, ws, v)
		if got := cal.WeightKg(v.AreaM2); math.Abs(got-kg)/kg > 0.03 {
			t.Errorf("visit %d: %.1f kg calibrated (%.1f before), pig %.0f kg", v.Track, got, v.WeightKg, kg)
		}
	}
	t.Logf("fit %+v", cal)
}
