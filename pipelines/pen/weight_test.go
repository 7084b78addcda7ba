package pen_test

import (
	"math"
	"testing"

	"github.com/pigweight/pigweight/pipelines/pen"
)

func TestWeightFromArea(t *testing.T) {
	tests := []struct {
		name    string
		areaPx  int
		ppm     float64
		want    float64
		epsilon float64
	}{
		{"one square metre", 10000, 100, 380, 1e-9},
		{"same area at another scale", 40000, 200, 380, 1e-9},
		{"quarter square metre", 2500, 100, 380 * math.Pow(0.25, 1.25), 1e-9},
		{"smallest pig", 857, 96, 20, 1}, // 0.093 m²
		{"largest pig", 3900, 96, 130, 1.5},
		{"no area", 0, 96, 0, 0},
		{"negative area", -5, 96, 0, 0},
		{"no scale", 1000, 0, 0, 0},
		{"NaN scale", 1000, math.NaN(), 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := pen.WeightFromArea(tt.areaPx, tt.ppm)
			if math.Abs(got-tt.want) > tt.epsilon {
				t.Errorf("WeightFromArea(%d, %g) = %g, want %g ± %g", tt.areaPx, tt.ppm, got, tt.want, tt.epsilon)
			}
		})
	}
}

func TestWeightFromAreaIsMonotonic(t *testing.T) {
	prev := 0.0
	for a := 1; a < 20000; a += 7 {
		w := pen.WeightFromArea(a, 96)
		if w <= prev {
			t.Fatalf("WeightFromArea(%d) = %g, not above WeightFromArea(%d) = %g", a, w, a-7, prev)
		}
		prev = w
	}
}
