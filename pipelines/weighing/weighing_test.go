package weighing

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/elements/weight"
	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/pipelines/spec"
	"github.com/pigweight/pigweight/pipelines/store"
)

var t0 = time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)

// pigAt is a standing pig's mask seen from above: an ellipse lengthPx by widthPx centred at
// (cx, cy), heading along x, as a mask model's contour and area give it.
func pigAt(cx, cy, lengthPx, widthPx float64) detect.Detection {
	a, b := lengthPx/2, widthPx/2
	contour := make([][2]float32, 48)
	for i := range contour {
		th := 2 * math.Pi * float64(i) / float64(len(contour))
		contour[i] = [2]float32{float32(cx + a*math.Cos(th)), float32(cy + b*math.Sin(th))}
	}
	return detect.Detection{
		Box:   detect.Box{X: float32(cx - a), Y: float32(cy - b), W: float32(2 * a), H: float32(2 * b)},
		Class: "pig", Score: 0.9, Area: int(math.Pi * a * b), Contour: contour,
	}
}

// walk is a frame stream of pigs crossing a 1280×720 view one after the other, each for
// secondsEach seconds at 15 fps, with gaps between them long enough to end each visit.
func walk(pigs int, secondsEach float64) []media.AnalysedFrame {
	const fps = 15
	var frames []media.AnalysedFrame
	n := 0
	for p := range pigs {
		length := 190 + 12*float64(p)
		for i := 0; float64(i) < secondsEach*fps; i++ {
			x := 260 + 760*float64(i)/(secondsEach*fps)
			frames = append(frames, media.AnalysedFrame{
				Frame: uint64(n), Time: t0.Add(time.Duration(n) * time.Second / fps), Width: 1280, Height: 720,
				Detections: []detect.Detection{pigAt(x, 360, length, length/2.6)},
			})
			n++
		}
		for range 2 * fps { // an empty pen between two pigs
			frames = append(frames, media.AnalysedFrame{Frame: uint64(n), Time: t0.Add(time.Duration(n) * time.Second / fps), Width: 1280, Height: 720, Detections: []detect.Detection{}})
			n++
		}
	}
	return frames
}

func openService(t *testing.T) (*Service, *store.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "pigweight.db"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := Open(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := svc.Close(); err != nil {
			t.Error(err)
		}
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	return svc, st
}

// waitStored waits for the writer to have stored n visits.
func waitStored(t *testing.T, svc *Service, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for svc.Stats().Stored < n {
		if time.Now().After(deadline) {
			t.Fatalf("stored %+v, want %d visits", svc.Stats(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRunsAnnotateAndStoreVisits(t *testing.T) {
	svc, st := openService(t)
	ctx := context.Background()
	p := spec.DefaultPipeline()
	p.Name = "cam-1"
	p.Weight.Pen = "pen-a"
	run := svc.StartRun(p)
	var weighed, frames int
	for _, f := range walk(3, 8) {
		run.Annotate(&f)
		for _, d := range f.Detections {
			frames++
			if d.Track <= 0 {
				t.Fatalf("frame %d: detection without a track: %+v", f.Frame, d)
			}
			if d.WeightKg > 0 {
				weighed++
			}
		}
	}
	if weighed*10 < frames*9 {
		t.Errorf("%d of %d detections carry a weight", weighed, frames)
	}
	// Three pigs, each gone for two seconds after its walk: three visits ended and stored
	// while the run goes on, before End.
	waitStored(t, svc, 3)
	visits, err := svc.Visits(ctx, "pen-a", time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(visits) != 3 {
		t.Fatalf("%d visits, want 3: %+v", len(visits), visits)
	}
	for i, v := range visits {
		if v.Pipeline != "cam-1" || v.Pen != "pen-a" || v.Frames != 120 || v.GoodFrames < 60 || !(v.WeightKg > 10) || len(v.Path) == 0 {
			t.Errorf("visit %d: %+v", i, v)
		}
		if i > 0 && !(v.WeightKg > visits[i-1].WeightKg) {
			t.Errorf("visit %d weighs %.1f kg, not more than visit %d's %.1f kg: the pigs grow longer", i, v.WeightKg, i-1, visits[i-1].WeightKg)
		}
	}
	pens, err := svc.Pens(ctx)
	if err != nil || len(pens) != 1 || pens[0].Pen != "pen-a" || pens[0].Pipelines[0] != "cam-1" || pens[0].Estimators.Visits != 3 {
		t.Fatalf("pens %+v, %v", pens, err)
	}

	// A check-weigh of the second pig, 8% heavier than the default law says: the law is
	// refitted, the running estimator takes it, and the stored visits are weighed with it.
	v := visits[1]
	scale := 1.08 * v.WeightKg
	body := fmt.Sprintf(`{"time":%q,"weight_kg":%.3f,"box":[%g,%g,%g,%g]}`, v.Time.Format(time.RFC3339Nano), scale, v.Box.X, v.Box.Y, v.Box.W, v.Box.H)
	res, err := svc.AddCheckWeigh(ctx, "pen-a", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if res.Calibration.Readings != 1 || res.Calibration.Method != "a only" || len(res.CheckWeigh.Matched) != 1 || res.CheckWeigh.Matched[0] != v.ID {
		t.Fatalf("check-weigh result %+v", res)
	}
	if got := run.est.Calibration(); got.A != res.Calibration.A {
		t.Errorf("the running estimator has a = %g, want the fit's %g", got.A, res.Calibration.A)
	}
	again, err := svc.Visits(ctx, "pen-a", time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := again[1].WeightKg; math.Abs(got/scale-1) > 0.001 {
		t.Errorf("the weighed pig's visit says %.2f kg after the check-weigh, the scale %.2f", got, scale)
	}
	if got, want := again[0].WeightKg/visits[0].WeightKg, 1.08; math.Abs(got/want-1) > 0.001 {
		t.Errorf("an earlier visit was reweighed by %.4f, want %.4f", got, want)
	}

	// The calibration outlives the service: a new one on the same store starts with it.
	run.End()
	cal, _, err := st.Calibration(ctx, "pen-a")
	if err != nil || cal.A != res.Calibration.A {
		t.Errorf("stored calibration %+v, %v", cal, err)
	}
}

func TestCheckWeighRefusals(t *testing.T) {
	svc, _ := openService(t)
	ctx := context.Background()
	p := spec.DefaultPipeline()
	p.Name = "cam-1"
	run := svc.StartRun(p)
	for _, f := range walk(1, 6) {
		run.Annotate(&f)
	}
	waitStored(t, svc, 1)
	for _, tt := range []struct {
		name, pen, body string
		want            error
	}{
		{"unknown pen", "nope", `{"time":"2026-03-01T06:00:03Z","weight_kg":80,"box":[500,300,200,80]}`, ErrUnknownPen},
		{"nobody there", "cam-1", `{"time":"2026-03-01T06:00:03Z","weight_kg":80,"box":[20,20,100,50]}`, weight.ErrNoPigThere},
		{"too light", "cam-1", `{"time":"2026-03-01T06:00:03Z","weight_kg":0.5,"box":[500,300,200,80]}`, weight.ErrInvalidCheckWeigh},
		// The pen's own clock is the latest of the wall clock and its frames' capture times.
		{"future", "cam-1", `{"time":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `","weight_kg":80,"box":[500,300,200,80]}`, weight.ErrInvalidCheckWeigh},
		{"group with one visit", "cam-1", `{"time":"2026-03-01T06:00:03Z","weights_kg":[80,90]}`, weight.ErrNoVisits},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.AddCheckWeigh(ctx, tt.pen, []byte(tt.body))
			if !errorsIs(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if list, err := svc.CheckWeighs(ctx, "cam-1"); err != nil || len(list) != 0 {
		t.Errorf("refused readings stored: %+v, %v", list, err)
	}
}

// TestEndStoresOpenVisits: a run that ends (the pipeline stopped) stores its open visits, and
// Close waits for them.
func TestEndStoresOpenVisits(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "pigweight.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, err := Open(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := spec.DefaultPipeline()
	p.Name = "cam-1"
	run := svc.StartRun(p)
	frames := walk(1, 6)
	for _, f := range frames[:60] { // the pig is still in view
		run.Annotate(&f)
	}
	run.End()
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	visits, err := st.Visits(ctx, "cam-1", time.Time{}, time.Time{}, 0)
	if err != nil || len(visits) != 1 || visits[0].Frames != 60 {
		t.Fatalf("visits %+v, %v", visits, err)
	}
}

// TestStoreAwayLosesNothingSilently: with the database gone, visits wait and are retried, and
// Close says how many could not be stored.
func TestStoreAwayLosesNothingSilently(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "pigweight.db"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := Open(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.Close() // every write fails from now on
	p := spec.DefaultPipeline()
	p.Name = "cam-1"
	run := svc.StartRun(p)
	for _, f := range walk(2, 4) {
		run.Annotate(&f)
	}
	run.End()
	deadline := time.Now().Add(5 * time.Second)
	for svc.Stats().Failed < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s := svc.Stats(); s.Failed < 2 || s.Stored != 0 {
		t.Fatalf("stats %+v: want retries and nothing stored", s)
	}
	err = svc.Close()
	if err == nil {
		t.Fatal("Close says nothing of the visits it could not store")
	}
	t.Log(err)
}

func errorsIs(err, target error) bool { return err != nil && errors.Is(err, target) }
