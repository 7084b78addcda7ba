package store

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/elements/weight"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// openTest opens a store in a fresh directory and closes it when the test ends.
func openTest(t testing.TB) *Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "pigweight.db"))
}

func openAt(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// fixedClock makes s stamp created_at and fitted_at with t, then t+1s, and so on.
func fixedClock(s *Store, t time.Time) {
	s.now = func() time.Time {
		now := t
		t = t.Add(time.Second)
		return now
	}
}

var (
	// A location far from UTC, with a half-hour offset, so that a time kept in local time
	// rather than as an instant would show.
	kathmandu = time.FixedZone("NPT", 5*3600+45*60)
	t0        = time.Date(2025, 3, 14, 9, 26, 53, 589793238, kathmandu)
)

// visit is a full visit of pen starting at start, lasting 20 s.
func visit(pen string, track int64, start time.Time) weight.Visit {
	return weight.Visit{
		Pen: pen, Track: track, Start: start, End: start.Add(20*time.Second + 7),
		WeightKg: 97.125, AreaM2: 0.4321, Frames: 200, GoodFrames: 123,
		Time: start.Add(10*time.Second + 3), Box: detect.Box{X: 10.5, Y: 20.25, W: 300.125, H: 150.0625},
		Path: []weight.PathPoint{
			{Time: start, Box: detect.Box{X: 1, Y: 2, W: 300, H: 150}},
			{Time: start.Add(10*time.Second + 3), Box: detect.Box{X: 10.5, Y: 20.25, W: 300.125, H: 150.0625}},
		},
	}
}

// inUTC is v with its times as the store returns them.
func inUTC(v weight.Visit) weight.Visit {
	v.Start, v.End = v.Start.UTC(), v.End.UTC()
	if !v.Time.IsZero() {
		v.Time = v.Time.UTC()
	}
	if v.Path != nil {
		path := make([]weight.PathPoint, len(v.Path))
		for i, p := range v.Path {
			path[i] = weight.PathPoint{Time: p.Time.UTC(), Box: p.Box}
		}
		v.Path = path
	}
	return v
}

func TestVisitRoundTrip(t *testing.T) {
	unknown := visit("pen-2", 8, t0.UTC())
	unknown.WeightKg, unknown.GoodFrames, unknown.Time, unknown.Box = 0, 0, time.Time{}, detect.Box{}
	tests := []struct {
		name     string
		pipeline string
		visit    weight.Visit
	}{
		{"full visit in a non-UTC location", "cam-1", visit("pen-1", 7, t0)},
		{"unknown weight, no good frame", "cam-2", unknown},
		{"zero-length visit", "", weight.Visit{Pen: "pen-3", Track: 1, Start: t0, End: t0, Frames: 1}},
		{"odd floats", "cam-1", weight.Visit{Pen: "pen-4", Track: 1 << 40, Start: t0, End: t0.Add(1),
			WeightKg: -1e-300, AreaM2: 1e300, Box: detect.Box{X: -1, Y: 3.4e38, W: 1e-45, H: 0.1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t)
			ctx := context.Background()
			id, err := s.AddVisit(ctx, tt.pipeline, tt.visit)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Visits(ctx, tt.visit.Pen, time.Time{}, time.Time{}, 0)
			if err != nil {
				t.Fatal(err)
			}
			want := []StoredVisit{{ID: id, Pipeline: tt.pipeline, Visit: inUTC(tt.visit)}}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got  %+v\nwant %+v", got, want)
			}
			if !got[0].Start.Equal(tt.visit.Start) || got[0].Start.Location() != time.UTC {
				t.Errorf("start %v, want the instant %v in UTC", got[0].Start, tt.visit.Start)
			}
		})
	}
}

func TestStoredVisitJSON(t *testing.T) {
	b, err := json.Marshal(StoredVisit{ID: 3, Pipeline: "cam", Visit: visit("p", 1, t0.UTC())})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "pipeline", "pen", "track", "start", "weight_kg", "box"} {
		if _, ok := m[k]; !ok {
			t.Errorf("%s lacks %q", b, k)
		}
	}
}

func TestAddVisitRefuses(t *testing.T) {
	s := openTest(t)
	ok := visit("pen-1", 1, t0)
	tests := []struct {
		name string
		edit func(v *weight.Visit)
	}{
		{"no pen", func(v *weight.Visit) { v.Pen = "" }},
		{"no start", func(v *weight.Visit) { v.Start = time.Time{} }},
		{"no end", func(v *weight.Visit) { v.End = time.Time{} }},
		{"ends before it starts", func(v *weight.Visit) { v.End = v.Start.Add(-1) }},
		{"start before 1678", func(v *weight.Visit) { v.Start = time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"end after 2262", func(v *weight.Visit) { v.End = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"time after 2262", func(v *weight.Visit) { v.Time = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := ok
			tt.edit(&v)
			if id, err := s.AddVisit(context.Background(), "cam", v); err == nil {
				t.Fatalf("stored as %d", id)
			}
		})
	}
	if vs, _ := s.Visits(context.Background(), "pen-1", time.Time{}, time.Time{}, 0); len(vs) != 0 {
		t.Errorf("refused visits were stored: %+v", vs)
	}
}

func TestVisitsRange(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	base := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return base.Add(time.Duration(sec) * time.Second) }
	// Visits of pen "a", as [start, end] in seconds after base; added out of order so that the
	// ordering comes from the query.
	spans := map[string][2]int{
		"early":   {0, 10},
		"tied-1":  {20, 25},
		"long":    {5, 100},
		"tied-2":  {20, 22},
		"late":    {50, 60},
		"instant": {30, 30},
	}
	order := []string{"late", "early", "tied-1", "long", "instant", "tied-2"}
	ids := map[int64]string{}
	for i, name := range order {
		span := spans[name]
		v := weight.Visit{Pen: "a", Track: int64(i), Start: at(span[0]), End: at(span[1])}
		id, err := s.AddVisit(ctx, name, v)
		if err != nil {
			t.Fatal(err)
		}
		ids[id] = name
	}
	if _, err := s.AddVisit(ctx, "other pen", weight.Visit{Pen: "b", Start: at(0), End: at(100)}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		from, to time.Time
		limit    int
		want     string // pipelines in the order returned
	}{
		{"unbounded", time.Time{}, time.Time{}, 0, "early long tied-1 tied-2 instant late"},
		{"limit", time.Time{}, time.Time{}, 2, "early long"},
		{"limit larger than the result", time.Time{}, time.Time{}, 100, "early long tied-1 tied-2 instant late"},
		{"to excludes a visit starting at to", time.Time{}, at(20), 0, "early long"},
		{"from includes a visit ending at from", at(10), time.Time{}, 0, "early long tied-1 tied-2 instant late"},
		{"from excludes a visit ending before from", at(10).Add(1), time.Time{}, 0, "long tied-1 tied-2 instant late"},
		{"window", at(23), at(50), 0, "long tied-1 instant"},
		{"window with limit", at(23), at(50), 2, "long tied-1"},
		{"instant window catches the instant visit", at(30), at(30).Add(1), 0, "long instant"},
		{"window inside one long visit", at(70), at(80), 0, "long"},
		{"after everything", at(101), time.Time{}, 0, ""},
		{"empty window", at(40), at(40), 0, ""},
		{"location of the bounds does not matter", at(23).In(kathmandu), at(50).In(kathmandu), 0, "long tied-1 instant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Visits(ctx, "a", tt.from, tt.to, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, v := range got {
				if ids[v.ID] != v.Pipeline {
					t.Errorf("visit %d is %q, stored as %q", v.ID, v.Pipeline, ids[v.ID])
				}
				names = append(names, v.Pipeline)
			}
			if g := strings.Join(names, " "); g != tt.want {
				t.Errorf("got %q, want %q", g, tt.want)
			}
		})
	}

	if got, err := s.Visits(ctx, "no such pen", time.Time{}, time.Time{}, 0); err != nil || got == nil || len(got) != 0 {
		t.Errorf("unknown pen: %v, %v; want an empty list", got, err)
	}
}

func TestCheckWeighRoundTrip(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	created := time.Date(2025, 7, 1, 8, 0, 0, 123456789, time.UTC)
	fixedClock(s, created)
	v1, err := s.AddVisit(ctx, "cam", visit("pen-1", 1, t0))
	if err != nil {
		t.Fatal(err)
	}
	v2, err := s.AddVisit(ctx, "cam", visit("pen-1", 2, t0.Add(time.Minute)))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		cw      weight.CheckWeigh
		matched []int64
	}{
		// Added in this order; listed by time, so the single one (latest) comes last.
		{"single pig with box", weight.CheckWeigh{Time: t0.Add(2 * time.Hour), WeightKg: 101.5,
			Box: &detect.Box{X: 1, Y: 2, W: 3.5, H: 4.25}}, []int64{v1}},
		{"group, matched in the caller's order", weight.CheckWeigh{Time: t0.Add(time.Hour),
			WeightsKg: []float64{99.5, 101.25, 0.001}}, []int64{v2, v1}},
		{"unmatched", weight.CheckWeigh{Time: t0.Add(-time.Hour).Add(1), WeightKg: 80}, nil},
	}
	want := map[int64]StoredCheckWeigh{}
	for i, tt := range tests {
		id, err := s.AddCheckWeigh(ctx, "pen-1", tt.cw, tt.matched)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		cw := tt.cw
		cw.Time = cw.Time.UTC()
		want[id] = StoredCheckWeigh{ID: id, Pen: "pen-1", CheckWeigh: cw, Matched: tt.matched,
			CreatedAt: created.Add(time.Duration(i) * time.Second)}
	}
	got, err := s.CheckWeighs(ctx, "pen-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(tests) {
		t.Fatalf("got %d check-weighs, want %d", len(got), len(tests))
	}
	for i, cw := range got {
		if i > 0 && cw.Time.Before(got[i-1].Time) {
			t.Errorf("check-weigh %d listed before an earlier one", cw.ID)
		}
		if !reflect.DeepEqual(cw, want[cw.ID]) {
			t.Errorf("got  %+v\nwant %+v", cw, want[cw.ID])
		}
	}

	if id, err := s.AddCheckWeigh(ctx, "pen-1", weight.CheckWeigh{Time: t0, WeightKg: 1}, []int64{v1, 9999}); err == nil {
		t.Errorf("a match to a visit that does not exist was stored as %d", id)
	}
	if id, err := s.AddCheckWeigh(ctx, "pen-1", weight.CheckWeigh{WeightKg: 1}, nil); err == nil {
		t.Errorf("a reading without a time was stored as %d", id)
	}
	if got, _ := s.CheckWeighs(ctx, "pen-1"); len(got) != len(tests) {
		t.Errorf("refused readings left %d check-weighs, want %d", len(got), len(tests))
	}
	if got, err := s.CheckWeighs(ctx, "pen-2"); err != nil || got == nil || len(got) != 0 {
		t.Errorf("unknown pen: %v, %v; want an empty list", got, err)
	}
}

func TestCalibrations(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	fitted := time.Date(2025, 8, 1, 0, 0, 0, 999999999, time.UTC)
	fixedClock(s, fitted)

	if _, _, err := s.Calibration(ctx, "pen-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("uncalibrated pen: %v, want ErrNotFound", err)
	}
	if m, err := s.Calibrations(ctx); err != nil || len(m) != 0 {
		t.Fatalf("no calibrations: %v, %v", m, err)
	}

	history := []weight.Calibration{
		{A: 0.045, B: 1.5, Method: "default"},
		{A: 0.05, B: 1.5, Readings: 3, Residuals: []float64{0.01, -0.02, 0.005}, Method: "a only"},
		{A: 0.052, B: 1.46, Readings: 12, Residuals: []float64{0.1, -0.1, 0, 1e-17, -0.3, 0.2,
			0.01, 0.02, 0.03, 0.04, 0.05, -0.06}, Method: "a and b"},
	}
	for _, c := range history {
		if err := s.SaveCalibration(ctx, "pen-1", c); err != nil {
			t.Fatal(err)
		}
	}
	other := weight.Calibration{A: 1, B: 2, Readings: 1, Residuals: []float64{0}, Method: "a only"}
	if err := s.SaveCalibration(ctx, "pen-2", other); err != nil {
		t.Fatal(err)
	}

	c, at, err := s.Calibration(ctx, "pen-1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, history[2]) || !at.Equal(fitted.Add(2*time.Second)) || at.Location() != time.UTC {
		t.Errorf("current: %+v at %v, want %+v at %v", c, at, history[2], fitted.Add(2*time.Second))
	}
	m, err := s.Calibrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]weight.Calibration{"pen-1": history[2], "pen-2": other}; !reflect.DeepEqual(m, want) {
		t.Errorf("calibrations %+v, want %+v", m, want)
	}
	h, err := s.CalibrationHistory(ctx, "pen-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != len(history) {
		t.Fatalf("history has %d, want %d", len(h), len(history))
	}
	for i, fc := range h {
		if !reflect.DeepEqual(fc.Calibration, history[i]) || fc.Pen != "pen-1" ||
			!fc.FittedAt.Equal(fitted.Add(time.Duration(i)*time.Second)) {
			t.Errorf("history[%d] = %+v, want %+v", i, fc, history[i])
		}
	}
	// Saving an older-looking fit still makes it current: current is the last saved.
	fixedClock(s, fitted.Add(-time.Hour))
	if err := s.SaveCalibration(ctx, "pen-1", history[0]); err != nil {
		t.Fatal(err)
	}
	if c, _, _ := s.Calibration(ctx, "pen-1"); !reflect.DeepEqual(c, history[0]) {
		t.Errorf("after a clock step back, current is %+v, want %+v", c, history[0])
	}
}

func TestPens(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if pens, err := s.Pens(ctx); err != nil || len(pens) != 0 {
		t.Fatalf("empty store: %v, %v", pens, err)
	}
	for _, pen := range []string{"pen-b", "pen-a", "pen-b"} {
		if _, err := s.AddVisit(ctx, "cam", visit(pen, 1, t0)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddCheckWeigh(ctx, "pen-c", weight.CheckWeigh{Time: t0, WeightKg: 90}, nil); err != nil {
		t.Fatal(err)
	}
	// A calibration alone does not make a pen.
	if err := s.SaveCalibration(ctx, "pen-d", weight.Calibration{A: 1, B: 1, Method: "default"}); err != nil {
		t.Fatal(err)
	}
	pens, err := s.Pens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"pen-a", "pen-b", "pen-c"}; !reflect.DeepEqual(pens, want) {
		t.Errorf("pens %q, want %q", pens, want)
	}
}

// TestReopen stores one of everything, closes, reopens twice and finds it all, with the
// migrations applied once.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	// The directory name has what a URI would misread: the DSN must escape it.
	dir := filepath.Join(t.TempDir(), "data ?x=1#frag%20")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "pigweight.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	vid, err := s.AddVisit(ctx, "cam", visit("pen-1", 1, t0))
	if err != nil {
		t.Fatal(err)
	}
	cid, err := s.AddCheckWeigh(ctx, "pen-1", weight.CheckWeigh{Time: t0, WeightKg: 97}, []int64{vid})
	if err != nil {
		t.Fatal(err)
	}
	cal := weight.Calibration{A: 0.05, B: 1.4, Readings: 2, Residuals: []float64{0.1, -0.1}, Method: "a and b"}
	if err := s.SaveCalibration(ctx, "pen-1", cal); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database is not at the path given: %v", err)
	}

	for round := range 2 {
		s := openAt(t, path)
		vs, err := s.Visits(ctx, "pen-1", time.Time{}, time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if want := []StoredVisit{{ID: vid, Pipeline: "cam", Visit: inUTC(visit("pen-1", 1, t0))}}; !reflect.DeepEqual(vs, want) {
			t.Errorf("round %d: visits %+v, want %+v", round, vs, want)
		}
		cws, err := s.CheckWeighs(ctx, "pen-1")
		if err != nil {
			t.Fatal(err)
		}
		if len(cws) != 1 || cws[0].ID != cid || !reflect.DeepEqual(cws[0].Matched, []int64{vid}) {
			t.Errorf("round %d: check-weighs %+v", round, cws)
		}
		if c, _, err := s.Calibration(ctx, "pen-1"); err != nil || !reflect.DeepEqual(c, cal) {
			t.Errorf("round %d: calibration %+v, %v", round, c, err)
		}
		var versions, max int
		if err := s.reader.QueryRowContext(ctx,
			`SELECT COUNT(*), MAX(version) FROM schema_version`).Scan(&versions, &max); err != nil {
			t.Fatal(err)
		}
		if versions != len(migrations) || max != len(migrations) {
			t.Errorf("round %d: schema_version has %d rows up to %d, want %d", round, versions, max, len(migrations))
		}
		// Ids keep counting after a reopen.
		if id, err := s.AddVisit(ctx, "cam", visit("pen-2", 1, t0)); err != nil || id <= vid {
			t.Errorf("round %d: new visit %d, %v; want an id above %d", round, id, err, vid)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "pigweight.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.writer.ExecContext(ctx,
		`INSERT INTO schema_version (version, applied_ns) VALUES (?, 0)`, len(migrations)+1); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path)
	if err == nil {
		s.Close()
		t.Fatal("opened a database of a newer schema")
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "newer") {
		t.Errorf("error %q does not name the path and the cause", err)
	}
}

func TestOpenBadFile(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("this is not a database\n", 500)), 0o644); err != nil {
		t.Fatal(err)
	}
	// A real database whose header was overwritten.
	header := filepath.Join(dir, "header.db")
	s, err := Open(context.Background(), header)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddVisit(context.Background(), "cam", visit("pen-1", 1, t0)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(header, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("SQLite format 9\x00"), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	tests := []struct{ name, path string }{
		{"not a database", garbage},
		{"corrupt header", header},
		{"a directory", dir},
		{"missing directory", filepath.Join(dir, "no", "such", "pigweight.db")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(context.Background(), tt.path)
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), tt.path) {
				t.Errorf("error %q does not name %s", err, tt.path)
			}
			t.Log(err)
		})
	}
}
