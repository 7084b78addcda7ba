package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/pigweight/pigweight/pipelines/graph"
	"github.com/pigweight/pigweight/web/api"
)

// processInfo is this process's part of GET /api/v1/system.
func processInfo() api.Process {
	p := api.Process{Goroutines: runtime.NumGoroutine()}
	p.OpenFiles, p.RSSBytes, _ = processFootprint("self")
	if objects, ok := graph.LiveObjectChange(); ok {
		p.GStreamerObjects = objects
	}
	return p
}

// processFootprint reads a process's open files and resident memory from /proc; pid is a
// number or "self".
func processFootprint(pid string) (openFiles int, rssBytes uint64, err error) {
	fds, err := os.ReadDir("/proc/" + pid + "/fd")
	if err != nil {
		return 0, 0, fmt.Errorf("open files of process %s: %w", pid, err)
	}
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return len(fds), 0, fmt.Errorf("memory of process %s: %w", pid, err)
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			// "VmRSS:	  123456 kB"
			if kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64); err == nil {
				rssBytes = kb << 10
			}
		}
	}
	return len(fds), rssBytes, nil
}
