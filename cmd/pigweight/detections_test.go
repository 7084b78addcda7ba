package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/pipelines"
	"github.com/pigweight/pigweight/pipelines/pen"
	"github.com/pigweight/pigweight/pipelines/spec"
)

// writeDemoModel generates the demo model the way `make` does.
func writeDemoModel(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "demo.onnx")
	if code := run([]string{"model", "demo", "-o", path}, io.Discard, os.Stderr); code != 0 {
		t.Fatalf("pigweight model demo: exit %d", code)
	}
	return path
}

// defaultConfigWithModel is configs/pigweight.yaml with the demo model generated for this test.
func defaultConfigWithModel(t *testing.T) string {
	t.Helper()
	cfg, err := os.ReadFile("../../configs/pigweight.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), "path: models/demo.onnx") {
		t.Fatal("the default config no longer names models/demo.onnx")
	}
	text := strings.Replace(string(cfg), "path: models/demo.onnx", "path: "+writeDemoModel(t), 1)
	path := filepath.Join(t.TempDir(), "pigweight.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The demo pen's detections, read through the API, match the pen's ground truth: each
// analysed frame is replayed from the same seed to learn where the pigs really were.
func TestDemoPenDetectionsMatchGroundTruth(t *testing.T) {
	cfgPath := defaultConfigWithModel(t)
	cfg, err := spec.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	syn := cfg.Pipelines[0].Source.Synthetic
	replay, err := pen.New(pen.Config{Width: syn.Width, Height: syn.Height, Pigs: syn.Pigs, FPS: syn.FPS, Seed: syn.Seed})
	if err != nil {
		t.Fatal(err)
	}
	frameDur := time.Second / time.Duration(syn.FPS)
	srv := startServer(t, "--config", cfgPath)

	const frames = 300
	var tp, fp, fn int
	seen := map[int64]bool{}
	deadline := time.Now().Add(120 * time.Second)
	for len(seen) < frames {
		if time.Now().After(deadline) {
			t.Fatalf("only %d analysed frames in 120 s\n%s", len(seen), srv.logs.String())
		}
		var d pipelines.Detections
		code := srv.getJSON(t, "/api/v1/pipelines/demo-pen/detections", &d)
		if code != http.StatusOK || seen[d.PTS] {
			time.Sleep(15 * time.Millisecond)
			continue
		}
		seen[d.PTS] = true
		n := uint64(time.Duration(d.PTS) / frameDur)
		if n < replay.Frame() {
			t.Fatalf("frame %d analysed after frame %d: the pipeline restarted?\n%s", n, replay.Frame(), srv.logs.String())
		}
		for replay.Frame() < n {
			replay.Step()
		}
		m, f, miss := match(replay.Truth(), d.Detections)
		tp, fp, fn = tp+m, fp+f, fn+miss
	}
	recall := float64(tp) / float64(tp+fn)
	precision := float64(tp) / float64(tp+fp)
	t.Logf("%d frames: recall %.3f, precision %.3f (tp %d, fp %d, fn %d)", frames, recall, precision, tp, fp, fn)
	if recall < 0.95 || precision < 0.95 {
		t.Errorf("recall %.3f, precision %.3f over %d frames; want both ≥ 0.95", recall, precision, frames)
	}
	srv.stop(t)
}

// match pairs detections with true pigs greedily by IoU ≥ 0.5 and counts matches, false
// detections and missed pigs. Pigs hidden behind others (fewer than 20 visible pixels) are
// not counted either way.
func match(truth pen.Truth, dets []detect.Detection) (matched, spurious, missed int) {
	used := make([]bool, len(dets))
	for _, pig := range truth.Pigs {
		if pig.Area < 20 {
			continue
		}
		tb := detect.Box{X: float32(pig.Box.Min.X), Y: float32(pig.Box.Min.Y), W: float32(pig.Box.Dx()), H: float32(pig.Box.Dy())}
		best, bestIoU := -1, float32(0.5)
		for i, d := range dets {
			if iou := detect.IoU(tb, d.Box); !used[i] && iou >= bestIoU {
				best, bestIoU = i, iou
			}
		}
		if best < 0 {
			missed++
			continue
		}
		used[best] = true
		matched++
	}
	for _, u := range used {
		if !u {
			spurious++
		}
	}
	return matched, spurious, missed
}

// Four pipelines on one model share its session: batches of more than one frame form across them.
// With two workers, two such batches run side by side.
func TestFourPipelinesShareBatches(t *testing.T) {
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("workers %d", workers), func(t *testing.T) {
			var pens strings.Builder
			for i := range 4 {
				fmt.Fprintf(&pens, "  - name: pen-%d\n    source: {type: synthetic, synthetic: {seed: %d}}\n    inference: {enabled: true, model: demo}\n", i, i+1)
			}
			cfg := fmt.Sprintf("models:\n  - name: demo\n    path: %s\n    format: mask\n    classes: [pig]\n    max_batch: 4\n    max_wait: 40ms\n    workers: %d\npipelines:\n%s", writeDemoModel(t), workers, pens.String())
			srv := startServerWithConfig(t, cfg)
			deadline := time.Now().Add(60 * time.Second)
			for {
				var models []struct {
					Name       string
					BatchSizes map[string]uint64 `json:"batch_sizes"`
					Batcher    struct{ Workers, PeakRunning int }
				}
				if code := srv.getJSON(t, "/api/v1/models", &models); code != http.StatusOK || len(models) != 1 {
					t.Fatalf("GET /api/v1/models: %d %+v", code, models)
				}
				m := models[0]
				var multi uint64
				for size, n := range m.BatchSizes {
					if size != "1" {
						multi += n
					}
				}
				if m.Batcher.Workers != workers || m.Batcher.PeakRunning > workers {
					t.Fatalf("batcher %+v: want %d workers and no more batches than that at once", m.Batcher, workers)
				}
				if multi >= 5 && m.Batcher.PeakRunning == workers {
					t.Logf("batch sizes: %v; at most %d batches at once", m.BatchSizes, m.Batcher.PeakRunning)
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("in 60 s: batch sizes %v, at most %d batches at once; want batches of more than one frame and %d side by side\n%s",
						m.BatchSizes, m.Batcher.PeakRunning, workers, srv.logs.String())
				}
				time.Sleep(200 * time.Millisecond)
			}
			srv.stop(t)
		})
	}
}

// A model slower than the stream: the frames dropped in front of pwinfer are counted in the
// pipeline's status, and the frames that reach the sink are the ones the model analysed.
func TestFramesSkippedBeforeInferenceAreCounted(t *testing.T) {
	model := filepath.Join(t.TempDir(), "bench.onnx")
	if code := run([]string{"model", "bench", "-o", model}, io.Discard, os.Stderr); code != 0 {
		t.Fatalf("pigweight model bench: exit %d", code)
	}
	// The bench model needs ~50 ms a frame on this machine's two cores: far below 30 fps.
	cfg := fmt.Sprintf("models:\n  - name: slow\n    path: %s\n    format: yolo\n    classes: [pig]\n    max_batch: 1\npipelines:\n  - name: fast\n    source: {type: synthetic, synthetic: {width: 160, height: 120, fps: 30}}\n    inference: {enabled: true, model: slow}\n", model)
	srv := startServerWithConfig(t, cfg)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var st pipelines.Status
		if code := srv.getJSON(t, "/api/v1/pipelines/fast", &st); code != http.StatusOK {
			t.Fatalf("GET /api/v1/pipelines/fast: %d", code)
		}
		if st.InferenceSkipped > 0 && st.Frames >= 30 {
			var models []struct {
				Batcher struct{ Completed uint64 }
			}
			if code := srv.getJSON(t, "/api/v1/models", &models); code != http.StatusOK || len(models) != 1 {
				t.Fatalf("GET /api/v1/models: %d %+v", code, models)
			}
			t.Logf("%d frames through the model, %d skipped before it; %d analysed", st.Frames, st.InferenceSkipped, models[0].Batcher.Completed)
			if models[0].Batcher.Completed > st.Frames+2 {
				t.Errorf("the model analysed %d frames but only %d reached the sink", models[0].Batcher.Completed, st.Frames)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s: %d frames, %d skipped before inference\n%s", st.Frames, st.InferenceSkipped, srv.logs.String())
		}
		time.Sleep(250 * time.Millisecond)
	}
	srv.stop(t)
}
