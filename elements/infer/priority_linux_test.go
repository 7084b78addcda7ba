package infer

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pigweight/pigweight/elements/batch"
	"github.com/pigweight/pigweight/elements/model"
	"github.com/pigweight/pigweight/elements/onnx/onnxtest"
)

// threadCPU maps this process's threads to the CPU time they have used (schedstat, in ns) and
// says which of them run at inference's priority.
func threadCPU(t *testing.T) (cpu map[string]int64, niced map[string]bool) {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Skip("no /proc:", err)
	}
	cpu, niced = map[string]int64{}, map[string]bool{}
	for _, task := range tasks {
		dir := filepath.Join("/proc/self/task", task.Name())
		stat, err1 := os.ReadFile(filepath.Join(dir, "stat"))
		sched, err2 := os.ReadFile(filepath.Join(dir, "schedstat"))
		if err1 != nil || err2 != nil {
			continue // the thread ended
		}
		if ns, err := strconv.ParseInt(strings.Fields(string(sched))[0], 10, 64); err == nil {
			cpu[task.Name()] = ns
		}
		// Fields after the command's closing parenthesis: state is field 3, nice 19 (1-based,
		// as proc(5) counts them).
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if nice, _ := strconv.Atoi(f[19-3]); nice == backgroundNice {
			niced[task.Name()] = true
		}
	}
	return cpu, niced
}

// Inference runs on threads of lower priority than video: the batcher's workers and the
// threads ONNX Runtime starts for the session (here two intra-op threads per run) are
// niced, and the inference work is done on them, not on the callers' threads.
func TestInferenceRunsAtBackgroundPriority(t *testing.T) {
	e, err := NewEngine(ortRuntime, EngineConfig{
		Name: "niced", Session: model.SessionConfig{Path: onnxtest.DemoModelFile(t, 320, 240), Threads: 2}, Format: "mask", Classes: []string{"pig"},
		MaxBatch: 1, Workers: 2,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	// Pre-processing runs on the caller's thread: done beforehand, it stays out of the count.
	pre := e.NewPreprocessor()
	frame := model.Frame{Width: 320, Height: 240, Format: model.I420, Planes: [3][]byte{make([]byte, 320*240), make([]byte, 160*120), make([]byte, 160*120)}, Strides: [3]int{320, 160, 160}}
	jobs := make([]Prepared, 40)
	for i := range jobs {
		if jobs[i], err = e.Prepare(pre, frame); err != nil {
			t.Fatal(err)
		}
	}
	cpu0, _ := threadCPU(t)
	for _, j := range jobs {
		if _, err := e.Infer(context.Background(), j, batch.PriorityLive); err != nil {
			t.Fatal(err)
		}
	}
	cpu1, niced := threadCPU(t)
	var all, background int64
	var workers int
	for tid, ns := range cpu1 {
		all += ns - cpu0[tid]
		if niced[tid] {
			background += ns - cpu0[tid]
			workers++
		}
	}
	// The model runs on the niced threads (the batcher's workers and ONNX Runtime's intra-op
	// threads), which must have done most of the process's work meanwhile.
	t.Logf("%d niced threads: %v of %v", workers, time.Duration(background), time.Duration(all))
	if workers < 2 || background < all/2 {
		t.Errorf("%d threads at nice %d used %v of the %v of CPU the process used during inference, want most", workers, backgroundNice, time.Duration(background), time.Duration(all))
	}
}
