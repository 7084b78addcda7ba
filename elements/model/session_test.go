package model

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pigweight/pigweight/elements/onnx/onnxtest"
)

// openRuntime loads the bundled ONNX Runtime once for the package's tests.
func openRuntime(t *testing.T) *Runtime {
	t.Helper()
	path, err := FindLibrary()
	if err != nil {
		t.Fatalf("%v (make deps installs it)", err)
	}
	runtimeOnce.Do(func() { testRuntime, runtimeErr = Open(path) })
	if runtimeErr != nil {
		t.Fatal(runtimeErr)
	}
	return testRuntime
}

// Accelerated providers are tried in order and, where they cannot run (no GPU, or this
// CPU-only ONNX Runtime), the session falls back to the next one and records why.
func TestProvidersFallBackCleanly(t *testing.T) {
	rt := openRuntime(t)
	usable := map[string]bool{}
	for _, p := range rt.Info().Providers {
		usable[p.Name] = p.Usable
	}
	s, err := rt.NewSession(SessionConfig{Path: onnxtest.DemoModelFile(t, 64, 48), Providers: []string{"tensorrt", "cuda", "cpu"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	switch {
	case usable["tensorrt"]:
		if s.Provider != "tensorrt" {
			t.Errorf("provider %s although TensorRT is usable", s.Provider)
		}
	case usable["cuda"]:
		if s.Provider != "cuda" || len(s.Fallbacks) != 1 {
			t.Errorf("provider %s, fallbacks %v; want cuda after tensorrt", s.Provider, s.Fallbacks)
		}
	default:
		if s.Provider != "cpu" || len(s.Fallbacks) != 2 || s.Fallbacks[0].Provider != "tensorrt" || s.Fallbacks[1].Provider != "cuda" {
			t.Fatalf("provider %s, fallbacks %+v; want cpu after tensorrt and cuda", s.Provider, s.Fallbacks)
		}
		for _, f := range s.Fallbacks {
			if f.Error == "" {
				t.Errorf("fallback from %s without a reason", f.Provider)
			}
		}
	}
	// The session it fell back to really runs.
	err = s.Run(2, func(i int, dst []float32) {}, func(out Outputs) error {
		if len(out.Data) != 1 || out.Shape[0][0] != 2 {
			t.Errorf("Run gave shapes %v", out.Shape)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Concurrent runs of one session each get their own tensors: every run's outputs are those of
// its own input, even while other runs with other inputs are in progress.
func TestConcurrentRunsKeepTheirOwnTensors(t *testing.T) {
	rt := openRuntime(t)
	s, err := rt.NewSession(SessionConfig{Path: onnxtest.DemoModelFile(t, 64, 48), Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Two inputs with different outputs: a blank image and one of noise.
	outputOf := func(value func(j int) float32) []float32 {
		var got []float32
		err := s.Run(1, func(_ int, dst []float32) {
			for j := range dst {
				dst[j] = value(j)
			}
		}, func(out Outputs) error { got = slices.Clone(out.Image(0, 0)); return nil })
		if err != nil {
			t.Error(err)
		}
		return got
	}
	blank := func(int) float32 { return 0 }
	noise := func(j int) float32 { return float32(j*7919%1000) / 1000 }
	want := [][]float32{outputOf(blank), outputOf(noise)}
	if slices.Equal(want[0], want[1]) {
		t.Fatal("the two inputs give the same output; the test could not tell runs apart")
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				v := blank
				if g%2 == 1 {
					v = noise
				}
				if got := outputOf(v); !slices.Equal(got, want[g%2]) {
					t.Errorf("goroutine %d: output differs from a lone run's", g)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// With no provider that works, loading fails with every reason, not a crash.
func TestNoUsableProviderIsAnError(t *testing.T) {
	rt := openRuntime(t)
	for _, p := range rt.Info().Providers {
		if p.Name == "cuda" && p.Usable {
			t.Skip("CUDA works here")
		}
	}
	_, err := rt.NewSession(SessionConfig{Path: onnxtest.DemoModelFile(t, 64, 48), Providers: []string{"cuda"}})
	if err == nil || !strings.Contains(err.Error(), "cuda:") {
		t.Fatalf("err = %v, want the CUDA failure", err)
	}
}

func TestUnsupportedModelIsRefused(t *testing.T) {
	rt := openRuntime(t)
	bad := filepath.Join(t.TempDir(), "bad.onnx")
	os.WriteFile(bad, []byte("not a model"), 0o600)
	if _, err := rt.NewSession(SessionConfig{Path: bad}); err == nil {
		t.Fatal("a file that is not a model loaded")
	}
}
