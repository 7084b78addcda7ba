package api

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/elements/weight"
	"github.com/pigweight/pigweight/pipelines/store"
	"github.com/pigweight/pigweight/pipelines/weighing"
)

// The visit newTestPens stores for pen "pen2", and a reading of its pig.
var (
	testVisitStart = time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	testVisit      = weight.Visit{
		Pen: "pen2", Track: 3, Start: testVisitStart, End: testVisitStart.Add(time.Minute),
		WeightKg: 80, AreaM2: weight.DefaultCalibration().AreaM2(80), Frames: 600, GoodFrames: 400,
		Time: testVisitStart.Add(30 * time.Second), Box: detect.Box{X: 100, Y: 100, W: 200, H: 100},
		Path: []weight.PathPoint{
			{Time: testVisitStart, Box: detect.Box{X: 100, Y: 100, W: 200, H: 100}},
			{Time: testVisitStart.Add(time.Minute), Box: detect.Box{X: 100, Y: 100, W: 200, H: 100}},
		},
	}
	testCheckWeigh = `{"time":"2026-01-01T10:00:30Z","weight_kg":88,"box":[102,98,200,104]}`
)

// newTestPens is a real weighing service on a real store in a temporary directory, holding
// testVisit.
func newTestPens(t *testing.T) *weighing.Service {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "pigweight.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddVisit(ctx, "cam-1", testVisit); err != nil {
		t.Fatal(err)
	}
	svc, err := weighing.Open(ctx, st, nil)
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
	return svc
}

func TestPenVisits(t *testing.T) {
	app := newTestApp(t, newFake("pen2"), "")
	get := func(path string) (*http.Response, []byte) {
		return send(t, app, request{method: "GET", path: path})
	}
	res, body := get("/api/v1/pens/pen2/visits")
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	var visits []store.StoredVisit
	if err := json.Unmarshal(body, &visits); err != nil {
		t.Fatal(err)
	}
	if len(visits) != 1 || visits[0].Track != 3 || visits[0].Pipeline != "cam-1" || visits[0].GoodFrames != 400 {
		t.Fatalf("visits = %+v", visits)
	}
	if visits[0].Path != nil {
		t.Errorf("path given without ?path=true: %+v", visits[0].Path)
	}
	if !strings.Contains(string(body), `"weight_kg":80`) || !strings.Contains(string(body), `"box":[100,100,200,100]`) {
		t.Errorf("body lacks the weight or the box: %s", body)
	}
	if _, body := get("/api/v1/pens/pen2/visits?path=true"); !strings.Contains(string(body), `"path":[`) {
		t.Errorf("?path=true: no path in %s", body)
	}

	for _, tt := range []struct {
		query string
		want  int
	}{
		{"?from=2026-01-01T10:00:59Z", 1},
		{"?from=2026-01-01T10:01:01Z", 0},
		{"?to=2026-01-01T10:00:00Z", 0},
		{"?from=2025-12-31T00:00:00Z&to=2026-01-02T00:00:00Z&limit=5", 1},
	} {
		res, body := get("/api/v1/pens/pen2/visits" + tt.query)
		var got []store.StoredVisit
		if err := json.Unmarshal(body, &got); res.StatusCode != 200 || err != nil || len(got) != tt.want {
			t.Errorf("%s: status %d, %d visits, want %d: %s", tt.query, res.StatusCode, len(got), tt.want, body)
		}
	}
	for _, tt := range []struct {
		path, field string
		status      int
	}{
		{"/api/v1/pens/pen2/visits?from=yesterday", "from", 400},
		{"/api/v1/pens/pen2/visits?to=2026-01-01", "to", 400},
		{"/api/v1/pens/pen2/visits?limit=0", "limit", 400},
		{"/api/v1/pens/pen2/visits?path=maybe", "path", 400},
		{"/api/v1/pens/nope/visits", "", 404},
		{"/api/v1/pens/nope/calibration", "", 404},
	} {
		res, body := get(tt.path)
		if res.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d: %s", tt.path, res.StatusCode, tt.status, body)
			continue
		}
		if e := checkErrorShape(t, res, body); e.Field != tt.field {
			t.Errorf("%s: field %q, want %q", tt.path, e.Field, tt.field)
		}
	}

	res, body = get("/api/v1/pens/pen2/visits.csv")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: status %d, type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil || len(rows) != 2 || strings.Join(rows[0], ",") != strings.Join(VisitsCSVHeader, ",") {
		t.Fatalf("csv rows %q, err %v", rows, err)
	}
	if rows[1][6] != "80.00" || rows[1][4] != "2026-01-01T10:00:00Z" {
		t.Errorf("csv row %q: want weight 80.00 and start 2026-01-01T10:00:00Z", rows[1])
	}
}

func TestCheckWeighs(t *testing.T) {
	app := newTestApp(t, newFake("pen2"), "")
	post := func(body string, header map[string]string) (*http.Response, []byte) {
		if header == nil {
			header = map[string]string{"Content-Type": "application/json"}
		}
		return send(t, app, request{method: "POST", path: "/api/v1/pens/pen2/checkweighs", body: body, header: header})
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, tt := range []struct {
		name, body string
		header     map[string]string
		status     int
		want       string
	}{
		{"no pig there", `{"time":"2026-01-01T10:00:30Z","weight_kg":88,"box":[500,300,150,90]}`, nil, 422, "IoU"},
		{"no visit then", `{"time":"2026-01-02T10:00:30Z","weight_kg":88,"box":[100,100,200,100]}`, nil, 422, "IoU"},
		{"too heavy", `{"time":"2026-01-01T10:00:30Z","weight_kg":500,"box":[100,100,200,100]}`, nil, 400, "weight_kg"},
		{"future", `{"time":"` + future + `","weight_kg":88,"box":[100,100,200,100]}`, nil, 400, "future"},
		{"not json", `time=now`, nil, 400, "JSON"},
		{"form", `a=b`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "application/json"},
		{"group too few visits", `{"time":"2026-01-01T10:00:30Z","weights_kg":[80,90,100]}`, nil, 422, "visits"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, body := post(tt.body, tt.header)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.status, body)
			}
			if e := checkErrorShape(t, res, body); !strings.Contains(e.Error, tt.want) {
				t.Errorf("error %q does not mention %q", e.Error, tt.want)
			}
		})
	}
	if _, body := send(t, app, request{method: "GET", path: "/api/v1/pens/pen2/checkweighs"}); string(body) != "[]" {
		t.Fatalf("refused readings were stored: %s", body)
	}

	res, body := post(testCheckWeigh, nil)
	if res.StatusCode != 201 {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	var got weighing.CheckWeighResult
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Calibration.Readings != 1 || got.Calibration.Method != "a only" || len(got.CheckWeigh.Matched) != 1 {
		t.Fatalf("result %+v: want a fit of a alone on 1 reading matched to the one visit", got)
	}
	// The visit is weighed again with the fit: the scale said 88, the default law 80.
	_, body = send(t, app, request{method: "GET", path: "/api/v1/pens/pen2/visits"})
	var visits []store.StoredVisit
	if err := json.Unmarshal(body, &visits); err != nil || len(visits) != 1 {
		t.Fatalf("visits %s: %v", body, err)
	}
	if w := visits[0].WeightKg; w < 87.9 || w > 88.1 {
		t.Errorf("visit weight after the check-weigh = %.2f, want 88", w)
	}
	_, body = send(t, app, request{method: "GET", path: "/api/v1/pens/pen2/calibration"})
	var cal weighing.PenCalibration
	if err := json.Unmarshal(body, &cal); err != nil || len(cal.History) != 1 || cal.FittedAt.IsZero() || cal.Calibration.Readings != 1 {
		t.Errorf("calibration %s: %v", body, err)
	}
	_, body = send(t, app, request{method: "GET", path: "/api/v1/pens"})
	var pens []weighing.PenStatus
	if err := json.Unmarshal(body, &pens); err != nil || len(pens) != 1 || pens[0].Pen != "pen2" || pens[0].Calibration.Readings != 1 {
		t.Errorf("pens %s: %v", body, err)
	}
}
