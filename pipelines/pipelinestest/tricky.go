package pipelinestest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// testsrc is a few seconds of ffmpeg's test pattern, which changes every frame.
func testsrc(size string, rate, seconds int) []string {
	return []string{"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%s:rate=%d:duration=%d", size, rate, seconds)}
}

// TestPatternClip writes to a new file in a temporary folder ffmpeg's moving test pattern at
// size ("320x240"), rate frames a second for seconds, encoded with codec (ffmpeg output
// options: "-c:v", "libx264", ...), and returns its path; it skips the test when ffmpeg is
// not installed. name's extension chooses the container.
func TestPatternClip(t testing.TB, name, size string, rate, seconds int, codec ...string) string {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (make deps installs it)")
	}
	path := filepath.Join(t.TempDir(), name)
	args := append([]string{"-hide_banner", "-loglevel", "error", "-nostdin"}, testsrc(size, rate, seconds)...)
	args = append(append(args, codec...), "-pix_fmt", "yuv420p", path)
	if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return path
}

// HEVC are the ffmpeg options of an H.265 stream as an MP4 carries it for browsers and
// cameras alike (hvc1), for TestPatternClip.
var HEVC = []string{"-c:v", "libx265", "-x265-params", "log-level=error", "-tag:v", "hvc1"}

// clip is a file made by ffmpeg that frame access must get exactly right.
type clip struct {
	name string
	args func(dir string) []string // ffmpeg arguments before the output path
}

// trickyClips lists the clips WriteTrickyClips makes, in the order they are made (the edit-list
// clip is cut from the B-frame one).
func trickyClips() []clip {
	return []clip{
		{"bframes.mp4", func(string) []string {
			return append(testsrc("160x120", 25, 4), "-c:v", "libx264", "-bf", "2", "-g", "25", "-pix_fmt", "yuv420p")
		}},
		{"open-gop.mp4", func(string) []string {
			return append(testsrc("160x120", 30, 4), "-c:v", "libx264", "-x264-params", "open-gop=1:keyint=30:min-keyint=30:bframes=3:scenecut=0", "-pix_fmt", "yuv420p")
		}},
		{"vfr.mp4", func(string) []string {
			// 30 frames at 30 fps, then the rest at 10 fps, each kept as it is.
			return append(testsrc("160x120", 30, 3), "-vf", "setpts='if(lt(N,30),N/30,1+(N-30)/10)/TB'", "-fps_mode", "vfr",
				"-c:v", "libx264", "-bf", "2", "-g", "20", "-pix_fmt", "yuv420p")
		}},
		{"edit-list.mp4", func(dir string) []string {
			// A stream copy cut between keyframes: the edit list hides the frames before the cut,
			// which still have to be decoded.
			return []string{"-ss", "1.3", "-i", filepath.Join(dir, "bframes.mp4"), "-c", "copy"}
		}},
		{"fragmented.mp4", func(string) []string {
			return append(testsrc("160x120", 25, 4), "-c:v", "libx264", "-bf", "2", "-g", "25", "-pix_fmt", "yuv420p",
				"-movflags", "frag_keyframe+empty_moov+default_base_moof")
		}},
		{"cues.mkv", func(string) []string {
			return append(testsrc("160x120", 25, 4), "-c:v", "libx264", "-bf", "2", "-g", "25", "-pix_fmt", "yuv420p")
		}},
		{"hevc.mp4", func(string) []string {
			return append(testsrc("160x120", 25, 4), "-c:v", "libx265", "-x265-params", "keyint=24:bframes=2:log-level=error", "-pix_fmt", "yuv420p", "-tag:v", "hvc1")
		}},
		{"mpegts.ts", func(string) []string {
			return append(testsrc("160x120", 25, 4), "-c:v", "libx264", "-bf", "2", "-g", "25", "-pix_fmt", "yuv420p")
		}},
		{"hevc.ts", func(string) []string {
			return append(testsrc("160x120", 25, 4), "-c:v", "libx265", "-x265-params", "keyint=24:bframes=2:log-level=error", "-pix_fmt", "yuv420p")
		}},
		{"hevc.mkv", func(string) []string {
			return append(testsrc("160x120", 25, 4), "-c:v", "libx265", "-x265-params", "keyint=24:bframes=2:log-level=error", "-pix_fmt", "yuv420p")
		}},
	}
}

// WriteTrickyClips writes, with ffmpeg, the files exact frame access must get right (B-frames,
// open GOP, variable frame rate, an edit list, fragmented MP4, MKV with and without Cues,
// HEVC, MPEG-TS) into dir and returns their names. ffmpeg must be installed.
func WriteTrickyClips(dir string) ([]string, error) {
	quiet := []string{"-hide_banner", "-loglevel", "error", "-nostdin"}
	var names []string
	for _, c := range trickyClips() {
		args := append(append(slices.Clone(quiet), c.args(dir)...), filepath.Join(dir, c.name))
		if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("ffmpeg %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		names = append(names, c.name)
	}
	out, err := exec.Command("ffmpeg", append(append(slices.Clone(quiet), testsrc("160x120", 25, 4)...),
		"-c:v", "libx264", "-bf", "2", "-g", "25", "-pix_fmt", "yuv420p", "-f", "matroska", "pipe:1")...).Output()
	if err != nil {
		return nil, fmt.Errorf("ffmpeg to a pipe: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "no-cues.mkv"), out, 0o600); err != nil {
		return nil, err
	}
	return append(names, "no-cues.mkv"), nil
}
