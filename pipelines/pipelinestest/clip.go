// Package pipelinestest has fixtures shared by the tests of the pipeline packages.
package pipelinestest

import (
	"os/exec"
	"strconv"
	"testing"
)

// WriteClip encodes a short 160×120, 30 fps H.264 MP4 of frames frames with gst-launch-1.0.
// It is a fixture maker: the code under test never uses launch strings.
func WriteClip(t testing.TB, path string, frames int) {
	t.Helper()
	out, err := exec.Command("gst-launch-1.0", "-q",
		"videotestsrc", "num-buffers="+strconv.Itoa(frames), "!", "video/x-raw,width=160,height=120,framerate=30/1",
		"!", "x264enc", "!", "mp4mux", "!", "filesink", "location="+path).CombinedOutput()
	if err != nil {
		t.Fatalf("gst-launch-1.0: %v\n%s", err, out)
	}
}
