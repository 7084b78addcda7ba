//go:build cgo

package onnx

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/pigweight/pigweight/pipelines/pen"
)

// demoPens are the pens the demo model is checked on: different floors and herds.
var demoPens = []pen.Config{
	{Width: 640, Height: 480, Pigs: 8, FPS: 15, Seed: 1},
	{Width: 640, Height: 480, Pigs: 12, FPS: 15, Seed: 2},
	{Width: 640, Height: 480, Pigs: 5, FPS: 15, Seed: 3},
}

// runMask runs the demo model on one frame and returns its mask.
func runMask(t testing.TB, s *session, chw []float32, w, h int) []float32 {
	t.Helper()
	mask, shape := s.run(t, []int64{1, 3, int64(h), int64(w)}, chw)
	if want := []int64{1, 1, int64(h), int64(w)}; !slices.Equal(shape, want) {
		t.Fatalf("mask shape %v, want %v", shape, want)
	}
	return mask
}

func TestDemoModelInputsAndOutputs(t *testing.T) {
	needORT(t)
	model, err := DemoModel(640, 480)
	if err != nil {
		t.Fatal(err)
	}
	// From a file, as the pipeline loads it.
	path := filepath.Join(t.TempDir(), "demo.onnx")
	if err := os.WriteFile(path, model, 0o644); err != nil {
		t.Fatal(err)
	}
	ins, outs, err := ort.GetInputOutputInfo(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		got  []ort.InputOutputInfo
		want string
		dims []int64
	}{
		{"input", ins, DemoInput, []int64{-1, 3, 480, 640}},
		{"output", outs, DemoOutput, []int64{-1, 1, 480, 640}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkTensors(t, tt.name, tt.got, tt.want, tt.dims) })
	}
}

func TestDemoModelFindsPigs(t *testing.T) {
	tests := []struct {
		mode    frameMode
		minIoU  float64
		maxArea float64 // |mask| / |truth| may differ from 1 by this much
	}{
		{clean, 0.90, 0.03},
		{subsampled, 0.85, 0.05},
	}
	frames := 20
	if testing.Short() {
		frames = 5
	}
	for _, cfg := range demoPens {
		model, err := DemoModel(cfg.Width, cfg.Height)
		if err != nil {
			t.Fatal(err)
		}
		s := newSession(t, model, DemoInput, DemoOutput)
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%v/seed%d", tt.mode, cfg.Seed), func(t *testing.T) {
				scene, err := pen.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				var total iou
				worst, pred, truth := 1.0, 0, 0
				// One frame a second: pigs walk, turn and lie down between them.
				for _, f := range penFrames(t, scene, frames, cfg.FPS, tt.mode) {
					mask := runMask(t, s, f.chw, cfg.Width, cfg.Height)
					var one iou
					one.add(mask, f.labels)
					total.inter, total.union = total.inter+one.inter, total.union+one.union
					worst = min(worst, one.value())
					for i, v := range mask {
						if v < 0 || v > 1 {
							t.Fatalf("mask value %v at %d outside 0..1", v, i)
						}
						if v > 0.5 {
							pred++
						}
						if f.labels[i] != 0 {
							truth++
						}
					}
				}
				area := float64(pred) / float64(truth)
				t.Logf("IoU %.4f over %d frames (worst frame %.4f), mask area %.4f of truth", total.value(), frames, worst, area)
				if total.value() < tt.minIoU {
					t.Errorf("IoU %.4f, want at least %.2f", total.value(), tt.minIoU)
				}
				if area < 1-tt.maxArea || area > 1+tt.maxArea {
					t.Errorf("mask area %.4f of truth, want within %.2f of 1", area, tt.maxArea)
				}
			})
		}
	}
}

func TestDemoModelIgnoresEmptyFloor(t *testing.T) {
	for _, cfg := range demoPens {
		w, h := cfg.Width, cfg.Height
		floor := emptyFloor(t, cfg)
		for i := 0; i < len(floor); i += 3 {
			if pen.IsPigPink(floor[i], floor[i+1], floor[i+2]) {
				t.Fatalf("seed %d: the empty floor has pig-pink pixel %d", cfg.Seed, i/3)
			}
		}
		i420 := make([]byte, w*h*3/2)
		rgbToI420(i420, floor, w, h)
		viaI420 := make([]byte, 3*w*h)
		i420ToRGB(viaI420, i420, w, h)
		model, err := DemoModel(w, h)
		if err != nil {
			t.Fatal(err)
		}
		s := newSession(t, model, DemoInput, DemoOutput)
		for _, tt := range []struct {
			mode frameMode
			rgb  []byte
		}{{clean, floor}, {subsampled, viaI420}} {
			t.Run(fmt.Sprintf("%v/seed%d", tt.mode, cfg.Seed), func(t *testing.T) {
				mask := runMask(t, s, toCHW(tt.rgb, w, h), w, h)
				var on int
				var top float32
				for _, v := range mask {
					top = max(top, v)
					if v > 0.5 {
						on++
					}
				}
				t.Logf("%d of %d pixels above 0.5, highest %.2g", on, len(mask), top)
				if float64(on) >= 0.001*float64(len(mask)) {
					t.Errorf("%d pixels of an empty floor above 0.5, want under 0.1%%", on)
				}
			})
		}
	}
}

// TestDemoModelBatch checks the dynamic batch: two frames at once give what each gives
// alone.
func TestDemoModelBatch(t *testing.T) {
	cfg := demoPens[0]
	w, h := cfg.Width, cfg.Height
	model, err := DemoModel(w, h)
	if err != nil {
		t.Fatal(err)
	}
	s := newSession(t, model, DemoInput, DemoOutput)
	scene, err := pen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	frames := penFrames(t, scene, 2, 30, clean)
	both, shape := s.run(t, []int64{2, 3, int64(h), int64(w)}, append(slices.Clone(frames[0].chw), frames[1].chw...))
	if want := []int64{2, 1, int64(h), int64(w)}; !slices.Equal(shape, want) {
		t.Fatalf("shape %v, want %v", shape, want)
	}
	for i, f := range frames {
		one := runMask(t, s, f.chw, w, h)
		if !slices.Equal(one, both[i*w*h:(i+1)*w*h]) {
			t.Errorf("frame %d differs between batch 1 and batch 2", i)
		}
	}
}

// TestDemoModelOtherSizes checks that nothing in the model is tied to 640×480.
func TestDemoModelOtherSizes(t *testing.T) {
	tests := []pen.Config{
		{Width: 320, Height: 240, Pigs: 6, FPS: 15, Seed: 4},
		{Width: 1280, Height: 720, Pigs: 10, FPS: 15, Seed: 5},
	}
	for _, cfg := range tests {
		t.Run(fmt.Sprintf("%dx%d", cfg.Width, cfg.Height), func(t *testing.T) {
			model, err := DemoModel(cfg.Width, cfg.Height)
			if err != nil {
				t.Fatal(err)
			}
			s := newSession(t, model, DemoInput, DemoOutput)
			scene, err := pen.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var total iou
			for _, f := range penFrames(t, scene, 3, cfg.FPS, subsampled) {
				total.add(runMask(t, s, f.chw, cfg.Width, cfg.Height), f.labels)
			}
			t.Logf("IoU %.4f on chroma-subsampled frames", total.value())
			if total.value() < 0.85 {
				t.Errorf("IoU %.4f, want at least 0.85", total.value())
			}
		})
	}
}

// TestDemoModelTouchingPigs reports how many pigs the demo mask merges by touch, against
// the truth's own count (TestTouchingPigsCeiling): the mask should merge no more.
func TestDemoModelTouchingPigs(t *testing.T) {
	cfg := touchPen
	w, h := cfg.Width, cfg.Height
	model, err := DemoModel(w, h)
	if err != nil {
		t.Fatal(err)
	}
	s := newSession(t, model, DemoInput, DemoOutput)
	// Every third frame of the span TestTouchingPigsCeiling covers: contacts last
	// seconds, so this sees the same ones at a third of the cost.
	const every = 3
	n := touchFrames() / every
	for _, mode := range []frameMode{clean, subsampled} {
		t.Run(mode.String(), func(t *testing.T) {
			scene, err := pen.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			on := make([]bool, w*h)
			var byMask, byTruth int
			for _, f := range penFrames(t, scene, n, every, mode) {
				for i, v := range runMask(t, s, f.chw, w, h) {
					on[i] = v > 0.5
				}
				byMask += mergedPigs(components(on, w, h), f.labels)
				for i, id := range f.labels {
					on[i] = id != 0
				}
				byTruth += mergedPigs(components(on, w, h), f.labels)
			}
			t.Logf("merged pig-frames: %d by the mask, %d by the truth, of %d", byMask, byTruth, n*cfg.Pigs)
			// Chroma bleed (4:2:0) may join pigs across a gap of a few pixels; it must stay
			// within 4% of the pig-frames, well inside the detector's 5% recall allowance.
			if byMask > byTruth+n*cfg.Pigs/25 {
				t.Errorf("the mask merges %d pig-frames, the truth only %d", byMask, byTruth)
			}
		})
	}
}
