package frames_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pigweight/pigweight/pipelines/frames"
	"github.com/pigweight/pigweight/pipelines/graph"
	"github.com/pigweight/pigweight/pipelines/pipelinestest"
)

// Decoders that idle out and readers that close, with their JPEG and PNG encoders, leave
// nothing behind: before graph.Dispose every decoder of an upload that idled out kept its
// pipeline's bus, a socket pair, until the collector happened to finalize the wrapper.
func TestDecodersAndEncodersLeaveNothingBehind(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clip.mp4")
	pipelinestest.WriteClip(t, path, 30)
	ix := buildIndex(t, path)
	frame := func(r *frames.Reader, id string) {
		pic, err := r.Frame(context.Background(), id, path, ix, 12)
		if err != nil {
			t.Fatalf("frame 12: %v", err)
		}
		for _, format := range []string{"jpeg", "png"} {
			if _, err := r.Encode(pic, format, 80); err != nil {
				t.Fatalf("%s: %v", format, err)
			}
		}
	}
	t.Run("decoders that idle out", func(t *testing.T) {
		r := frames.NewReader(frames.Config{CacheBytes: -1, Prefetch: -1, Idle: time.Millisecond})
		defer r.Close()
		// A video of its own each round: each opens a decoder, which idles out at once.
		pipelinestest.CheckNoLeak(t, graph.LiveObjectChange, 60, 2, func(i int) {
			frame(r, "video-"+strconv.Itoa(i))
		})
	})
	t.Run("readers that close", func(t *testing.T) {
		pipelinestest.CheckNoLeak(t, graph.LiveObjectChange, 40, 2, func(int) {
			r := frames.NewReader(frames.Config{})
			frame(r, "video")
			r.Close()
		})
	})
}
