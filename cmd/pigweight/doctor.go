package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-gst/go-gst/gst"
	"github.com/pigweight/pigweight/elements/model"
	"github.com/pigweight/pigweight/pipelines/graph"
	"github.com/pigweight/pigweight/pipelines/spec"
)

// check is one line of the doctor's report.
type check struct {
	name string
	err  error  // nil when it passed
	fix  string // what to do about err
	info string // detail shown when it passed
	// optional checks report but do not fail the run (NVDEC on a machine without a GPU).
	optional bool
}

// doctor checks that the machine can run the config and prints a fix for each failure. Exit
// code 0 only when every required check passes.
func doctor(args []string, stdout, stderr io.Writer) int {
	f, err := parseServeFlags("doctor", args, stderr)
	if err != nil {
		return 2
	}
	cfg, err := loadConfig(f)
	if err != nil {
		printConfigErrors(stderr, f.config, err)
		return 2
	}
	gst.Init(nil)
	checks := []check{{name: "config " + f.config, info: fmt.Sprintf("%d pipeline(s), %d model(s)", len(cfg.Pipelines), len(cfg.Models))}}
	checks = append(checks, gstreamerChecks(cfg)...)
	checks = append(checks, runtimeChecks(cfg.Models)...)
	checks = append(checks, dataDirCheck(cfg.Server.DataDir), portCheck(cfg.Server.Listen))

	failed := 0
	for _, c := range checks {
		switch {
		case c.err == nil:
			fmt.Fprintf(stdout, "ok    %s", c.name)
			if c.info != "" {
				fmt.Fprintf(stdout, ": %s", c.info)
			}
			fmt.Fprintln(stdout)
		case c.optional:
			fmt.Fprintf(stdout, "note  %s: %v\n", c.name, c.err)
		default:
			failed++
			fmt.Fprintf(stdout, "FAIL  %s: %v\n", c.name, c.err)
			if c.fix != "" {
				fmt.Fprintf(stdout, "      fix: %s\n", c.fix)
			}
		}
	}
	if failed > 0 {
		fmt.Fprintf(stdout, "%d check(s) failed: this config cannot run here yet\n", failed)
		return 1
	}
	fmt.Fprintln(stdout, "all checks passed")
	return 0
}

// gstreamerChecks: the GStreamer version, every element the config's pipelines need, and NVDEC.
func gstreamerChecks(cfg *spec.Config) []check {
	checks := []check{{name: "GStreamer", info: graph.Version()}}
	var need []string
	for _, p := range cfg.Pipelines {
		for _, e := range graph.RequiredElements(p) {
			if !slices.Contains(need, e) {
				need = append(need, e)
			}
		}
	}
	for _, e := range need {
		c := check{name: "element " + e, err: graph.CheckElement(e)}
		if c.err != nil {
			c.fix = "make deps (installs the Debian packages pigweight needs)"
		}
		checks = append(checks, c)
	}
	nvdec := check{name: "NVDEC", info: "nvh264dec available: hardware decoding", optional: true}
	if !graph.NVDEC() {
		nvdec.err = fmt.Errorf("not available: decoding in software (avdec_h264); needs an NVIDIA GPU, its driver and the nvcodec plugin")
	}
	return append(checks, nvdec)
}

// runtimeChecks: ONNX Runtime loads, which providers work, and every configured model loads.
func runtimeChecks(models []spec.Model) []check {
	c := check{name: "ONNX Runtime"}
	path, err := model.FindLibrary()
	if err != nil {
		c.err, c.fix = err, "make deps (fetches libonnxruntime.so.1 from the onnxruntime-node npm package)"
		return []check{c}
	}
	rt, err := model.Open(path)
	if err != nil {
		c.err, c.fix = err, "remove third_party/onnxruntime and run make deps again"
		return []check{c}
	}
	defer rt.Close()
	checks := []check{runtimeInfo(c, rt, path)}
	for _, m := range models {
		mc := check{name: "model " + m.Name, fix: "make models (for the generated demo and bench models), or fix models[].path"}
		s, err := rt.NewSession(engineConfig(m).Session)
		if err != nil {
			mc.err = err
		} else {
			mc.info = fmt.Sprintf("%s loads on %s, input %v", m.Path, s.Provider, s.Input.Shape)
			s.Close()
		}
		checks = append(checks, mc)
	}
	return checks
}

func runtimeInfo(c check, rt *model.Runtime, path string) check {
	info := rt.Info()
	providers := make([]string, len(info.Providers))
	for i, p := range info.Providers {
		providers[i] = p.Name + " unavailable"
		if p.Usable {
			providers[i] = p.Name + " usable"
		}
	}
	c.info = fmt.Sprintf("%s from %s; providers: %s", info.Version, path, strings.Join(providers, ", "))
	return c
}

func dataDirCheck(dir string) check {
	c := check{name: "data dir " + dir, fix: "create it and make it writable by this user, or set server.data_dir / --data"}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		c.err = err
		return c
	}
	probe, err := os.CreateTemp(dir, ".doctor-*")
	if err != nil {
		c.err = err
		return c
	}
	probe.Close()
	os.Remove(probe.Name())
	abs, _ := filepath.Abs(dir)
	c.info = "writable (" + abs + ")"
	return c
}

func portCheck(addr string) check {
	c := check{name: "listen " + addr, fix: "stop whatever holds the port, or set server.listen / --listen"}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		c.err = err
		return c
	}
	ln.Close()
	c.info = "free"
	return c
}
