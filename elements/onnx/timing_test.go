//go:build cgo

package onnx

import (
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"
)

// TestTiming reports the median time of one inference of each model on this machine's
// CPU with ONNX Runtime's default session options. It takes a minute, so it runs only
// when PIGWEIGHT_ONNX_TIMING is set:
//
//	PIGWEIGHT_ONNX_TIMING=1 go test -run TestTiming -v ./elements/onnx/
func TestTiming(t *testing.T) {
	if os.Getenv("PIGWEIGHT_ONNX_TIMING") == "" {
		t.Skip("set PIGWEIGHT_ONNX_TIMING=1 to time the models")
	}
	needORT(t)
	demo, err := DemoModel(640, 480)
	if err != nil {
		t.Fatal(err)
	}
	bench, err := BenchModel(1)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		model    []byte
		in, out  string
		shape    []int64
		runs     int
		warmRuns int
	}{
		{"demo 640x480 batch 1", demo, DemoInput, DemoOutput, []int64{1, 3, 480, 640}, 20, 3},
		{"bench 640x640 batch 1", bench, BenchInput, BenchOutput, []int64{1, 3, BenchSize, BenchSize}, 20, 3},
		{"bench 640x640 batch 4", bench, BenchInput, BenchOutput, []int64{4, 3, BenchSize, BenchSize}, 20, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSession(t, tt.model, tt.in, tt.out)
			n := int64(1)
			for _, d := range tt.shape {
				n *= d
			}
			data := make([]float32, n)
			for i := range data {
				data[i] = float32(i%251) / 251
			}
			input, err := ort.NewTensor(ort.NewShape(tt.shape...), data)
			if err != nil {
				t.Fatal(err)
			}
			defer input.Destroy()
			var times []time.Duration
			for i := range tt.warmRuns + tt.runs {
				outs := []ort.Value{nil}
				start := time.Now()
				if err := s.s.Run([]ort.Value{input}, outs); err != nil {
					t.Fatal(err)
				}
				d := time.Since(start)
				outs[0].Destroy()
				if i >= tt.warmRuns { // the first runs allocate and plan
					times = append(times, d)
				}
			}
			slices.Sort(times)
			t.Logf("%s: median %v, min %v, max %v over %d runs (%d CPUs, GOARCH %s)", tt.name,
				times[len(times)/2].Round(10*time.Microsecond), times[0].Round(10*time.Microsecond),
				times[len(times)-1].Round(10*time.Microsecond), len(times), runtime.NumCPU(), runtime.GOARCH)
		})
	}
}
