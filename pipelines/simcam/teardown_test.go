package simcam_test

import (
	"path/filepath"
	"testing"

	"github.com/pigweight/pigweight/pipelines/graph"
	"github.com/pigweight/pigweight/pipelines/pipelinestest"
	"github.com/pigweight/pigweight/pipelines/simcam"
)

// A camera started and closed, from a file (whose demuxer's signals the feed connects to) or
// from the pen, leaves nothing behind: before graph.OnPadAdded, go-glib's closures held each
// file feed, and with it its pipeline, for good.
func TestCamerasLeaveNothingBehind(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clip.mp4")
	pipelinestest.WriteClip(t, path, 15)
	for name, cfg := range map[string]simcam.Config{
		"file": {File: path},
		"pen":  {Pen: smallPen},
	} {
		t.Run(name, func(t *testing.T) {
			pipelinestest.CheckNoLeak(t, graph.LiveObjectChange, 30, 2, func(int) {
				cfg.Addr = "127.0.0.1:0"
				cam, err := simcam.Start(cfg)
				if err != nil {
					t.Fatalf("Start: %v", err)
				}
				if err := cam.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
			})
		})
	}
}
