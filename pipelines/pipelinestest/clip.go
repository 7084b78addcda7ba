// Package pipelinestest has fixtures shared by the tests of the pipeline packages.
package pipelinestest

import (
	"crypto/md5"
	"encoding/hex"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pigweight/pigweight/pipelines/media"
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

// FrameMD5s is what ffmpeg decodes from path, frame by frame, in pigweight's frame numbering
// (the first video track, every picture in presentation order after the edit list): the MD5
// of each picture's raw planes, as `ffmpeg -f framemd5` writes it. Tests skip when ffmpeg is
// missing.
func FrameMD5s(t testing.TB, path string) []string {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (make deps installs it)")
	}
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-i", path,
		"-map", "0:v:0", "-fps_mode", "passthrough", "-f", "framemd5", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg framemd5 %s: %v", path, err)
	}
	var sums []string
	for line := range strings.Lines(string(out)) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, ",")
		sums = append(sums, strings.TrimSpace(f[len(f)-1]))
	}
	return sums
}

// RawMD5 is the MD5 ffmpeg's framemd5 gives a picture whose planes, packed one after another,
// are raw: as they are for planar formats, and for NV12 (what NVDEC hands out) after its
// interleaved chroma is split into U and V planes as in I420, which is what ffmpeg decodes.
func RawMD5(format string, width, height int, raw []byte) string {
	if format == "NV12" && len(raw) > width*height {
		p := media.Picture{Format: format, Width: width, Height: height, Planes: [][]byte{raw[:width*height], raw[width*height:]}}
		if planar, err := media.Planar(p); err == nil {
			raw = slices.Concat(planar.Planes...)
		}
	}
	sum := md5.Sum(raw)
	return hex.EncodeToString(sum[:])
}
