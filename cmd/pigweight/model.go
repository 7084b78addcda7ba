package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pigweight/pigweight/elements/onnx"

	"github.com/pigweight/pigweight/pipelines/atomicfile"
)

// modelCmd writes the models pigweight generates itself:
//
//	pigweight model demo  -o models/demo.onnx   [--width 640 --height 480]
//	pigweight model bench -o models/bench.onnx  [--seed 1]
func modelCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "demo" && args[0] != "bench") {
		fmt.Fprintln(stderr, "usage: pigweight model demo|bench -o FILE")
		return 2
	}
	kind := args[0]
	fs := flag.NewFlagSet("model "+kind, flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "output file (required)")
	width := fs.Int("width", 640, "demo: input width")
	height := fs.Int("height", 480, "demo: input height")
	seed := fs.Int64("seed", 1, "bench: seed of the random weights")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *out == "" {
		fmt.Fprintln(stderr, "pigweight model: -o FILE is required")
		return 2
	}
	var data []byte
	var err error
	if kind == "demo" {
		data, err = onnx.DemoModel(*width, *height)
	} else {
		data, err = onnx.BenchModel(*seed)
	}
	if err != nil {
		fmt.Fprintln(stderr, "pigweight model:", err)
		return 1
	}
	if err := writeFileAtomic(*out, data); err != nil {
		fmt.Fprintln(stderr, "pigweight model:", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s (%d bytes)\n", *out, len(data))
	return 0
}

// writeFileAtomic writes data to path through a temporary file and a rename, so that a
// reader never sees half a model.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, ".model-*", data)
}
