// Command pigweight is the pigweight media server and its tools.
//
//	pigweight serve  --config configs/pigweight.yaml [--listen ADDR] [--data DIR]
//	pigweight doctor --config configs/pigweight.yaml
package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `pigweight: livestock video analytics server

usage:
  pigweight serve  [--config FILE] [--listen ADDR] [--data DIR] [--log-level LEVEL]
  pigweight doctor [--config FILE]
  pigweight model  demo|bench -o FILE
  pigweight bench  [--model models/bench.onnx] [--out bench/results.json]
  pigweight bench  frames [--file F] [--out bench/frames.json]
  pigweight index  [--data-dir DIR] FILE
  pigweight simcam [--listen 127.0.0.1:8554] [--path /pen] [--user U] [--file F] [fault flags]
  pigweight version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a subcommand and returns the process exit code: 0 success, 1 runtime failure,
// 2 bad usage or invalid configuration.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stderr)
	case "doctor":
		return doctor(args[1:], stdout, stderr)
	case "model":
		return modelCmd(args[1:], stdout, stderr)
	case "simcam":
		return simcamCmd(args[1:], stdout, stderr)
	case "bench":
		return benchCmd(args[1:], stdout, stderr)
	case "index":
		return indexCmd(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "pigweight", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "pigweight: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// newLogger returns the process logger: key/value text on stderr.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}
