package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-gst/go-gst/gst"
	"github.com/pigweight/pigweight/pipelines/pen"
	"github.com/pigweight/pigweight/pipelines/simcam"
)

// pigweight index builds an index once, loads it from its sidecar the second time, and
// refuses what is not a video with exit status 2 and a reason.
func TestIndexCommand(t *testing.T) {
	gst.Init(nil)
	dir := t.TempDir()
	clip := filepath.Join(dir, "pen.mp4")
	if err := simcam.WritePenClip(clip, simcam.Clip{Pen: pen.Config{Width: 160, Height: 120, FPS: 10}, Frames: 30, GOP: 10}); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	for i, want := range []string{"built", "loaded from its sidecar"} {
		var out, errOut bytes.Buffer
		if code := run([]string{"index", "--data-dir", data, clip}, &out, &errOut); code != 0 {
			t.Fatalf("run %d: exit %d\n%s", i, code, errOut.String())
		}
		if s := out.String(); !strings.Contains(s, "160x120, 30 frames, 3 keyframes") || !strings.Contains(s, "index "+want) {
			t.Errorf("run %d: %s", i, s)
		}
	}
	notVideo := filepath.Join(dir, "notes.mp4")
	if err := os.WriteFile(notVideo, []byte("pigs weighed on tuesday\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"index", "--data-dir", data, notVideo}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "not a video") {
		t.Errorf("text file: exit %d, %q", code, errOut.String())
	}
}
