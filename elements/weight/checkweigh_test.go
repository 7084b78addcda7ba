package weight

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pigweight/pigweight/elements/detect"
)

// checkWeighNow is the server's clock in the check-weigh tests and the fuzz target.
var checkWeighNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// checkWeighCases feeds TestParseCheckWeigh and the seeds of FuzzParseCheckWeigh.
var checkWeighCases = []struct {
	name string
	body string
	want *CheckWeigh // nil: an error containing errText
	err  string
}{
	{
		name: "single pig",
		body: `{"time": "2025-03-01T08:15:00Z", "weight_kg": 87.5, "box": [100, 120.5, 240, 90]}`,
		want: &CheckWeigh{Time: time.Date(2025, 3, 1, 8, 15, 0, 0, time.UTC), WeightKg: 87.5, Box: &detect.Box{X: 100, Y: 120.5, W: 240, H: 90}},
	},
	{
		name: "group",
		body: `{"weights_kg": [81.2, 90.4, 77], "time": "2025-03-01T09:00:00+01:00"}`,
		want: &CheckWeigh{Time: time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC), WeightsKg: []float64{81.2, 90.4, 77}},
	},
	{
		name: "fractional seconds, within the clock skew",
		body: `{"time": "2025-03-01T12:00:30.25Z", "weights_kg": [1, 400]}`,
		want: &CheckWeigh{Time: time.Date(2025, 3, 1, 12, 0, 30, 250e6, time.UTC), WeightsKg: []float64{1, 400}},
	},
	{name: "empty body", body: ``, err: "unexpected end of JSON"},
	{name: "not an object", body: `[1, 2]`, err: "want a JSON object"},
	{name: "truncated", body: `{"time": "2025-03-01T08:15:00Z", "weight_kg": 87`, err: "unexpected end of JSON"},
	{name: "malformed", body: `{"time": x}`, err: "malformed JSON"},
	{name: "number key", body: `{1: 2}`, err: "malformed JSON"},
	{name: "trailing data", body: `{"time": "2025-03-01T08:15:00Z", "weights_kg": [80]} {}`, err: "data after the object"},
	{name: "unknown field", body: `{"time": "2025-03-01T08:15:00Z", "weights_kg": [80], "pen": "a"}`, err: `unknown field "pen"`},
	{name: "field case matters", body: `{"Time": "2025-03-01T08:15:00Z", "weights_kg": [80]}`, err: `unknown field "Time"`},
	{name: "repeated field", body: `{"time": "2025-03-01T08:15:00Z", "weights_kg": [80], "weights_kg": [90]}`, err: `"weights_kg" given twice`},
	{name: "null", body: `{"time": null, "weights_kg": [80]}`, err: "time: null"},
	{name: "no time", body: `{"weights_kg": [80]}`, err: "time: required"},
	{name: "time not RFC 3339", body: `{"time": "2025-03-01 08:15:00", "weights_kg": [80]}`, err: "is not RFC 3339"},
	{name: "time a number", body: `{"time": 1740816900, "weights_kg": [80]}`, err: "time: want an RFC 3339 string"},
	{name: "time in the future", body: `{"time": "2025-03-01T12:05:00Z", "weights_kg": [80]}`, err: "5m0s in the future"},
	{name: "time before 2000", body: `{"time": "1970-01-01T00:00:00Z", "weights_kg": [80]}`, err: "before 2000"},
	{name: "neither weight", body: `{"time": "2025-03-01T08:15:00Z"}`, err: "exactly one of weight_kg"},
	{name: "both weights", body: `{"time": "2025-03-01T08:15:00Z", "weight_kg": 80, "weights_kg": [80], "box": [1, 1, 2, 2]}`, err: "exactly one of weight_kg"},
	{name: "single without box", body: `{"time": "2025-03-01T08:15:00Z", "weight_kg": 80}`, err: "box: required with weight_kg"},
	{name: "group with box", body: `{"time": "2025-03-01T08:15:00Z", "weights_kg": [80], "box": [1, 1, 2, 2]}`, err: "box: not allowed with weights_kg"},
	{name: "weight too light", body: `{"time": "2025-03-01T08:15:00Z", "weight_kg": 0.5, "box": [1, 1, 2, 2]}`, err: "weight_kg: 0.5 kg outside [1, 400]"},
	{name: "weight too heavy", body: `{"time": "2025-03-01T08:15:00Z", "weights_kg": [80, 401]}`, err: "weights_kg[1]: 401 kg outside [1, 400]"},
	{name: "weight a string", body: `{"time": "2025-03-01T08:15:00Z", "weight_kg": "80", "box": [1, 1, 2, 2]}`, err: "weight_kg: want a number"},
	{name: "weights empty", body: `{"time": "2025-03-01T08:15:00Z", "weights_kg": []}`, err: "weights_kg: empty"},
	{name: "weights not an array", body: `{"time": "2025-03-01T08:15:00Z", "weights_kg": 80}`, err: "weights_kg: want an array"},
	{name: "box of three", body: `{"time": "2025-03-01T08:15:00Z", "weight_kg": 80, "box": [1, 1, 2]}`, err: "box: want [x, y, w, h]"},
	{name: "box negative corner", body: `{"time": "2025-03-01T08:15:00Z", "weight_kg": 80, "box": [-1, 1, 2, 2]}`, err: "box: corner (-1, 1) is negative"},
	{name: "box empty", body: `{"time": "2025-03-01T08:15:00Z", "weight_kg": 80, "box": [1, 1, 0, 2]}`, err: "box: size 0×2 is not positive"},
	{name: "box huge", body: `{"time": "2025-03-01T08:15:00Z", "weight_kg": 80, "box": [1, 1, 1e39, 2]}`, err: "box: 1e+39 out of range"},
}

func TestParseCheckWeigh(t *testing.T) {
	for _, tt := range checkWeighCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCheckWeigh([]byte(tt.body), checkWeighNow)
			if tt.want == nil {
				if !errors.Is(err, ErrInvalidCheckWeigh) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseCheckWeigh error = %v, want ErrInvalidCheckWeigh containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCheckWeigh error = %v", err)
			}
			if !equalCheckWeigh(got, *tt.want) {
				t.Errorf("ParseCheckWeigh = %+v, want %+v", got, *tt.want)
			}
		})
	}
}

func TestParseCheckWeighLimits(t *testing.T) {
	group := func(n int) []byte {
		ws := make([]float64, n)
		for i := range ws {
			ws[i] = 50
		}
		b, _ := json.Marshal(map[string]any{"time": "2025-03-01T08:15:00Z", "weights_kg": ws})
		return b
	}
	if _, err := ParseCheckWeigh(group(MaxGroupWeights), checkWeighNow); err != nil {
		t.Errorf("a group of %d: %v", MaxGroupWeights, err)
	}
	if _, err := ParseCheckWeigh(group(MaxGroupWeights+1), checkWeighNow); !errors.Is(err, ErrInvalidCheckWeigh) {
		t.Errorf("a group of %d: error %v, want ErrInvalidCheckWeigh", MaxGroupWeights+1, err)
	}
	big := append([]byte(`{"time": "2025-03-01T08:15:00Z", "weights_kg": [80]}`), make([]byte, MaxCheckWeighBytes)...)
	if _, err := ParseCheckWeigh(big, checkWeighNow); !errors.Is(err, ErrInvalidCheckWeigh) {
		t.Errorf("an oversized body: error %v, want ErrInvalidCheckWeigh", err)
	}
}

func equalCheckWeigh(a, b CheckWeigh) bool {
	if !a.Time.Equal(b.Time) || a.WeightKg != b.WeightKg || !slices.Equal(a.WeightsKg, b.WeightsKg) {
		return false
	}
	if (a.Box == nil) != (b.Box == nil) {
		return false
	}
	return a.Box == nil || *a.Box == *b.Box
}

// FuzzParseCheckWeigh checks that the parser never panics and that what it accepts survives a
// round trip: marshalled back to JSON, it parses to the same reading.
func FuzzParseCheckWeigh(f *testing.F) {
	for _, tt := range checkWeighCases {
		f.Add([]byte(tt.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		cw, err := ParseCheckWeigh(body, checkWeighNow)
		if err != nil {
			if !errors.Is(err, ErrInvalidCheckWeigh) {
				t.Fatalf("error %v does not wrap ErrInvalidCheckWeigh", err)
			}
			return
		}
		out, err := json.Marshal(cw)
		if err != nil {
			t.Fatalf("marshal %+v: %v", cw, err)
		}
		back, err := ParseCheckWeigh(out, checkWeighNow)
		if err != nil {
			t.Fatalf("re-parse %s: %v", out, err)
		}
		if !equalCheckWeigh(cw, back) {
			t.Fatalf("round trip %s: %+v → %+v", out, cw, back)
		}
	})
}
