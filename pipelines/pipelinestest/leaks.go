package pipelinestest

import (
	"fmt"
	"maps"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"
)

// Census counts the GStreamer objects alive now against a fixed earlier moment, by type
// (graph.LiveObjectChange); ok is false where the leaks tracer is not running.
type Census func() (change map[string]int, ok bool)

// Footprint is what a process holds that a leak per pipeline grows.
type Footprint struct {
	FDs        int
	Goroutines int
	// Objects is the census's count by type; nil without a census.
	Objects map[string]int
}

// TakeFootprint counts the open file descriptors (/proc/self/fd), the goroutines and, with a
// census, the GStreamer objects.
func TakeFootprint(t testing.TB, census Census) Footprint {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("count open files: %v", err)
	}
	f := Footprint{FDs: len(fds), Goroutines: runtime.NumGoroutine()}
	if census != nil {
		if f.Objects, _ = census(); f.Objects == nil {
			f.Objects = map[string]int{}
		}
	}
	return f
}

// grownSince says what f holds beyond base, or "" when nothing: fds or goroutines above
// base plus slack, or GStreamer objects of any type above their count in base.
func (f Footprint) grownSince(base Footprint, slack int) string {
	var grown []string
	if f.FDs > base.FDs+slack {
		grown = append(grown, fmt.Sprintf("%d open files (was %d)", f.FDs, base.FDs))
	}
	if f.Goroutines > base.Goroutines+slack {
		grown = append(grown, fmt.Sprintf("%d goroutines (was %d)", f.Goroutines, base.Goroutines))
	}
	for _, typ := range slices.Sorted(maps.Keys(f.Objects)) {
		if n := f.Objects[typ]; n > base.Objects[typ] {
			grown = append(grown, fmt.Sprintf("%d %s (was %d)", n, typ, base.Objects[typ]))
		}
	}
	return strings.Join(grown, ", ")
}

// CheckNoLeak runs round rounds times and fails the test unless the process comes back to
// the footprint it had before them: open files and goroutines within slack, and not one
// GStreamer object more of any type (with a census). One round runs first, uncounted, so
// that what GStreamer creates once per process (plugins, pad templates, clocks) is in the
// baseline. Open files must come back without the collector's help: a pipeline's descriptors
// (its bus's socket pair) are freed when it is torn down, not when Go finalizes a wrapper,
// which an idle server may not do for minutes. Elements whose last wrapper is garbage are
// freed by Go's finalizers, so for the objects it collects and waits, up to a generous
// deadline.
func CheckNoLeak(t *testing.T, census Census, rounds, slack int, round func(i int)) {
	t.Helper()
	round(-1)
	settle()
	base := TakeFootprint(t, census)
	// The collector stays off until the descriptors are counted, as in a server whose large
	// heap (a full frame cache) makes collections rare.
	gcPercent := debug.SetGCPercent(-1)
	for i := range rounds {
		round(i)
	}
	deadline := time.Now().Add(5 * time.Second)
	for fds := TakeFootprint(t, nil).FDs; fds > base.FDs+slack; fds = TakeFootprint(t, nil).FDs {
		if time.Now().After(deadline) {
			debug.SetGCPercent(gcPercent)
			t.Fatalf("after %d rounds, %d files are open (%d before) until the collector runs: "+
				"something torn down was not freed", rounds, fds, base.FDs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	debug.SetGCPercent(gcPercent)
	deadline = time.Now().Add(20 * time.Second)
	for {
		settle()
		now := TakeFootprint(t, census)
		grown := now.grownSince(base, slack)
		if grown == "" {
			t.Logf("after %d rounds: %d open files (%d before), %d goroutines (%d before)",
				rounds, now.FDs, base.FDs, now.Goroutines, base.Goroutines)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d rounds the process still holds %s", rounds, grown)
		}
	}
}

// settle runs the collector and gives the finalizers it queued time to run.
func settle() {
	for range 3 {
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
	}
}
