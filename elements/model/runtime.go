package model

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	ort "github.com/yalue/onnxruntime_go"
)

// LibraryEnv names the environment variable that points at libonnxruntime.so.1.
const LibraryEnv = "PIGWEIGHT_ONNXRUNTIME"

// bundledLibrary is where `make deps` puts the library, relative to the project root.
const bundledLibrary = "third_party/onnxruntime/libonnxruntime.so.1"

// ErrLibraryNotFound means no libonnxruntime.so.1 was found where pigweight looks.
var ErrLibraryNotFound = errors.New("libonnxruntime.so.1 not found")

// FindLibrary returns the ONNX Runtime library to load: $PIGWEIGHT_ONNXRUNTIME when set, else
// third_party/onnxruntime/libonnxruntime.so.1 in the working directory, one of its parents, or
// next to (or one above) the executable.
func FindLibrary() (string, error) {
	if p := os.Getenv(LibraryEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", LibraryEnv, p, err)
		}
		return p, nil
	}
	var roots []string
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			roots = append(roots, dir)
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		roots = append(roots, filepath.Dir(exe), filepath.Dir(filepath.Dir(exe)))
	}
	for _, root := range roots {
		p := filepath.Join(root, bundledLibrary)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w (run `make deps`, or set %s)", ErrLibraryNotFound, LibraryEnv)
}

// ProviderInfo says whether one execution provider can be used here.
type ProviderInfo struct {
	Name   string
	Usable bool
	Error  string // why not, when not usable
}

// RuntimeInfo describes the loaded ONNX Runtime.
type RuntimeInfo struct {
	Library   string
	Version   string
	Providers []ProviderInfo
}

// Runtime is the process's ONNX Runtime environment. ONNX Runtime allows one per process:
// open it once in main and hand it to whoever needs sessions.
type Runtime struct {
	info RuntimeInfo
}

// Open loads the shared library at path, initialises the environment and probes providers.
func Open(path string) (*Runtime, error) {
	ort.SetSharedLibraryPath(path)
	if err := ort.InitializeEnvironment(ort.WithLogLevelFatal()); err != nil {
		return nil, fmt.Errorf("load ONNX Runtime %s: %w", path, err)
	}
	rt := &Runtime{info: RuntimeInfo{Library: path, Version: ort.GetVersion()}}
	rt.info.Providers = probeProviders()
	return rt, nil
}

// Info describes the runtime and which providers work.
func (rt *Runtime) Info() RuntimeInfo { return rt.info }

// Close tears the environment down.
func (rt *Runtime) Close() error { return ort.DestroyEnvironment() }

// FirstUsable is the first of providers (in order of preference) that loads here, "cpu" when
// none is listed; "" when none of them does.
func (rt *Runtime) FirstUsable(providers []string) string {
	if len(providers) == 0 {
		return "cpu"
	}
	for _, want := range providers {
		for _, p := range rt.info.Providers {
			if p.Name == want && p.Usable {
				return want
			}
		}
	}
	return ""
}

// probeProviders appends each accelerated provider to a scratch SessionOptions: ONNX Runtime
// loads the provider's library there, so a failure here is the same failure a session would hit.
func probeProviders() []ProviderInfo {
	probe := func(name string, appendTo func(*ort.SessionOptions) error) ProviderInfo {
		opts, err := ort.NewSessionOptions()
		if err != nil {
			return ProviderInfo{Name: name, Error: err.Error()}
		}
		defer opts.Destroy()
		if err := appendTo(opts); err != nil {
			return ProviderInfo{Name: name, Error: err.Error()}
		}
		return ProviderInfo{Name: name, Usable: true}
	}
	tensorrt := probe("tensorrt", func(o *ort.SessionOptions) error {
		trt, err := ort.NewTensorRTProviderOptions()
		if err != nil {
			return err
		}
		defer trt.Destroy()
		return o.AppendExecutionProviderTensorRT(trt)
	})
	cuda := probe("cuda", func(o *ort.SessionOptions) error {
		c, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return err
		}
		defer c.Destroy()
		return o.AppendExecutionProviderCUDA(c)
	})
	return []ProviderInfo{tensorrt, cuda, {Name: "cpu", Usable: true}}
}
