package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/go-gst/go-gst/gst"
)

// benchReport is what a benchmark measured: printed for a person, kept as JSON.
type benchReport interface {
	// setCommand records the command line that produced it.
	setCommand(line string)
	// print writes it for a person.
	print(w io.Writer)
}

// runBenchmark runs `pigweight bench NAME ARGS` once its flags are read: GStreamer is
// initialised, the first SIGINT or SIGTERM stops it with nothing written, and its report is
// printed and written to out as JSON.
func runBenchmark(name string, args []string, out string, stdout, stderr io.Writer, run func(ctx context.Context, progress io.Writer) (benchReport, error)) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	gst.Init(nil)
	res, err := run(ctx, stderr)
	if ctx.Err() != nil {
		fmt.Fprintf(stderr, "pigweight bench %s: interrupted; nothing written\n", name)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "pigweight bench %s: %v\n", name, err)
		return 1
	}
	res.setCommand(strings.Join(append([]string{"pigweight", "bench", name}, args...), " "))
	res.print(stdout)
	data, err := json.MarshalIndent(res, "", "  ")
	if err == nil {
		err = writeFileAtomic(out, append(data, '\n'))
	}
	if err != nil {
		fmt.Fprintf(stderr, "pigweight bench %s: %v\n", name, err)
		return 1
	}
	fmt.Fprintf(stdout, "\nwrote %s\n", out)
	return 0
}
