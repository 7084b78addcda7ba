package graph

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/pipelines/pipelinestest"
)

// Every pipeline torn down must leave nothing behind: before Dispose and the signal helpers,
// each one kept its bus (a socket pair) and its elements for good, because go-glib's signal
// closures are never freed and held the pipeline's wrapper: 2-4 open files more per restart,
// and a camera left down for a day exhausted the process's descriptors.
func TestTeardownLeavesNothingBehind(t *testing.T) {
	dir := t.TempDir()
	clip := filepath.Join(dir, "clip.mp4")
	pipelinestest.WriteClip(t, clip, 30)
	// A port nothing listens on: the camera refuses at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusing := "rtsp://" + ln.Addr().String() + "/pen"
	ln.Close()

	for _, c := range []struct {
		name, yaml string
		// played: the round waits for a decoded frame (else for the run to fail).
		played bool
	}{
		{"synthetic", `{name: pen, source: {type: synthetic, synthetic: {width: 160, height: 120, fps: 30, pigs: 4}}, decode: software}`, true},
		{"synthetic encoded for viewers", `{name: pen, source: {type: synthetic, synthetic: {width: 160, height: 120, fps: 30, pigs: 4}}, decode: software, outputs: [{type: webrtc, encode: always}]}`, true},
		{"file", `{name: rec, source: {type: file, uri: "` + clip + `"}, decode: software}`, true},
		{"refusing camera", `{name: cam, source: {type: rtsp, uri: "` + refusing + `"}}`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := pipelineSpec(t, c.yaml)
			pipelinestest.CheckNoLeak(t, LiveObjectChange, 100, 2, func(int) {
				var frames, units atomic.Int64
				r, err := (&Runtime{}).Start(p, media.Hooks{
					OnFrame:      func(detect.Frame) { frames.Add(1) },
					OnAccessUnit: func(media.AccessUnit) { units.Add(1) },
				})
				if err != nil {
					t.Fatalf("start: %v", err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				defer cancel()
				if c.played {
					for frames.Load() == 0 || units.Load() == 0 {
						if ctx.Err() != nil {
							t.Fatal("no frame within 15s")
						}
						time.Sleep(5 * time.Millisecond)
					}
				} else if err := r.Wait(ctx); err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "rtspsrc") {
					t.Fatalf("the refusing camera's run ended with %v, want rtspsrc's error", err)
				}
				r.Close()
			})
		})
	}
}
