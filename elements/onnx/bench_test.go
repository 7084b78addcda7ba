//go:build cgo

package onnx

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
)

// benchImages returns a batch of random images in 0..1.
func benchImages(batch int) []float32 {
	rng := rand.New(rand.NewPCG(7, 7))
	x := make([]float32, batch*3*BenchSize*BenchSize)
	for i := range x {
		x[i] = rng.Float32()
	}
	return x
}

func TestBenchModelInputsAndOutputs(t *testing.T) {
	model, err := BenchModel(1)
	if err != nil {
		t.Fatal(err)
	}
	ins, outs := ioInfo(t, model)
	tests := []struct {
		name string
		got  []ort.InputOutputInfo
		want string
		dims []int64
	}{
		{"input", ins, BenchInput, []int64{-1, 3, BenchSize, BenchSize}},
		{"output", outs, BenchOutput, []int64{-1, 4 + BenchClasses, BenchAnchors}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkTensors(t, tt.name, tt.got, tt.want, tt.dims) })
	}
}

func TestBenchModelRuns(t *testing.T) {
	tests := []struct {
		seed  int64
		batch int
	}{
		{1, 1},
		{1, 2},
		{2, 1},
		{3, 1},
	}
	// Sessions belong to the parent test: a subtest's cleanup would close them early.
	sessions := map[int64]*session{}
	for _, tt := range tests {
		if sessions[tt.seed] == nil {
			model, err := BenchModel(tt.seed)
			if err != nil {
				t.Fatal(err)
			}
			sessions[tt.seed] = newSession(t, model, BenchInput, BenchOutput)
		}
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("seed%d/batch%d", tt.seed, tt.batch), func(t *testing.T) {
			s := sessions[tt.seed]
			out, shape := s.run(t, []int64{int64(tt.batch), 3, BenchSize, BenchSize}, benchImages(tt.batch))
			if want := []int64{int64(tt.batch), 4 + BenchClasses, BenchAnchors}; !slices.Equal(shape, want) {
				t.Fatalf("output shape %v, want %v", shape, want)
			}
			const rows = 4 + BenchClasses
			var (
				sizeMin, sizeMax float32 = math.MaxFloat32, 0
				scoreMax         float32
				candidates       int // scores above a usual confidence threshold
			)
			for i, v := range out {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("output %d is %v", i, v)
				}
				switch row := (i / BenchAnchors) % rows; {
				case row == 2 || row == 3: // width, height
					sizeMin, sizeMax = min(sizeMin, v), max(sizeMax, v)
				case row >= 4:
					scoreMax = max(scoreMax, v)
					if v > 0.25 {
						candidates++
					}
				}
			}
			t.Logf("box sizes %.1f..%.1f px, class scores up to %.3f, %d above 0.25", sizeMin, sizeMax, scoreMax, candidates)
			// Activations neither died (every box the same size) nor blew up (sizes at the
			// DFL's limit of 15 strides on each side, scores saturated).
			if sizeMin <= 0 || sizeMax >= 2*15*32 || sizeMax-sizeMin < 1 {
				t.Errorf("box sizes %.1f..%.1f px: activations died or blew up", sizeMin, sizeMax)
			}
			if scoreMax >= 0.99 || float64(candidates) > 1e-3*float64(tt.batch*BenchClasses*BenchAnchors) {
				t.Errorf("class scores up to %.3f, %d above 0.25: want an untrained detector's near-zero scores", scoreMax, candidates)
			}
		})
	}
}
