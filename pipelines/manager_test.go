package pipelines_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-gst/go-gst/gst"
	"github.com/pigweight/pigweight/pipelines"
	"github.com/pigweight/pigweight/pipelines/graph"
	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/pipelines/pipelinestest"
	"github.com/pigweight/pigweight/pipelines/spec"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	gst.Init(nil)
	goleak.VerifyTestMain(m)
}

// newManager returns a manager over the real GStreamer runtime, closed at the end of the test.
func newManager(t *testing.T) *pipelines.Manager {
	t.Helper()
	rt := &graph.Runtime{}
	m := pipelines.NewManager(pipelines.RuntimeFunc(func(p spec.Pipeline, hooks media.Hooks) (pipelines.Run, error) {
		return rt.Start(p, hooks)
	}), nil)
	t.Cleanup(m.Close)
	return m
}

func parse(t *testing.T, doc string) spec.Pipeline {
	t.Helper()
	p, err := spec.ParsePipeline("test", []byte(doc), &spec.Config{})
	if err != nil {
		t.Fatalf("spec: %v", err)
	}
	return p
}

func synthetic(t *testing.T, name string) spec.Pipeline {
	return parse(t, `{name: `+name+`, source: {type: synthetic, synthetic: {width: 160, height: 120, fps: 30, pigs: 4}}}`)
}

func status(t *testing.T, m *pipelines.Manager, name string) pipelines.Status {
	t.Helper()
	st, err := m.Get(name)
	if err != nil {
		t.Fatalf("Get(%q): %v", name, err)
	}
	return st
}

// waitStatus polls until cond holds for the pipeline's status.
func waitStatus(t *testing.T, m *pipelines.Manager, name, what string, cond func(pipelines.Status) bool) pipelines.Status {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := status(t, m, name)
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: timed out waiting for %s; status %+v", name, what, st)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func playingWith(frames uint64) func(pipelines.Status) bool {
	return func(st pipelines.Status) bool { return st.State == pipelines.StatePlaying && st.Frames >= frames }
}

func TestSyntheticPipelinePlays(t *testing.T) {
	m := newManager(t)
	if err := m.Add(synthetic(t, "pen")); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, m, "pen", "playing with frames", playingWith(45))
	if st.Decoder != "avdec_h264" && st.Decoder != "nvh264dec" {
		t.Errorf("decoder = %q", st.Decoder)
	}
	if st.FPS < 20 || st.FPS > 40 {
		t.Errorf("fps = %.1f, want about 30", st.FPS)
	}
	if err := m.Add(synthetic(t, "pen")); err == nil {
		t.Error("adding a duplicate name succeeded")
	}
}

func TestLoopingFileRestartsCleanlyAtEOS(t *testing.T) {
	clip := filepath.Join(t.TempDir(), "clip.mp4")
	pipelinestest.WriteClip(t, clip, 10)
	m := newManager(t)
	if err := m.Add(parse(t, `{name: loop, source: {type: file, uri: "`+clip+`", loop: true}}`)); err != nil {
		t.Fatal(err)
	}
	first := waitStatus(t, m, "loop", "playing", playingWith(1))
	// A loop is not a restart: the pipeline stays playing, since its first frame.
	st := waitStatus(t, m, "loop", "three loops", func(st pipelines.Status) bool {
		if st.State != pipelines.StatePlaying || !st.Since.Equal(first.Since) {
			t.Fatalf("while looping: %s since %v, want playing since %v", st.State, st.Since, first.Since)
		}
		return st.Frames >= 30
	})
	if st.Restarts != 0 || st.LastError != "" {
		t.Errorf("a loop counted as a failure: restarts %d, last error %q", st.Restarts, st.LastError)
	}
}

// A looping file's timestamps keep going forward across its restarts, as a camera's would
// across a reconnect: a browser that sees them jump back stops showing the video.
func TestTimestampsRunOnAcrossRestarts(t *testing.T) {
	clip := filepath.Join(t.TempDir(), "clip.mp4")
	pipelinestest.WriteClip(t, clip, 20) // 667 ms
	m := newManager(t)
	if err := m.Add(parse(t, `{name: loop, source: {type: file, uri: "`+clip+`", loop: true}}`)); err != nil {
		t.Fatal(err)
	}
	sub, err := m.SubscribeAccessUnits("loop", 512)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	timeout := time.After(15 * time.Second)
	// Access units come in decode order, so B-frames put a PTS up to a few frames before the
	// latest; a restart without the shift would go back by most of the clip.
	const reorder = 200 * time.Millisecond
	var latest time.Duration
	for i := range 70 { // three restarts and more
		select {
		case au := <-sub.C:
			if au.PTS < latest-reorder {
				t.Fatalf("access unit %d: pts %v after %v", i, au.PTS, latest)
			}
			latest = max(latest, au.PTS)
		case <-timeout:
			t.Fatalf("only %d access units in 15 s", i)
		}
	}
}

// A camera that sends B-frames is passed through until they show; then a pipeline with a
// webrtc output restarts once, quietly, and encodes for viewers (no B-frames: timestamps rise
// in decode order), while one without keeps passing the camera's stream through.
func TestBFramesAreEncodedForViewers(t *testing.T) {
	clip := filepath.Join(t.TempDir(), "clip.mp4")
	pipelinestest.WriteClip(t, clip, 30) // x264enc's defaults: B-frames
	m := newManager(t)
	for _, p := range []string{
		`{name: viewed, source: {type: file, uri: "` + clip + `", loop: true}, outputs: [{type: webrtc}]}`,
		`{name: unviewed, source: {type: file, uri: "` + clip + `", loop: true}}`,
	} {
		if err := m.Add(parse(t, p)); err != nil {
			t.Fatal(err)
		}
	}
	reorders := func(name string) int {
		t.Helper()
		sub, err := m.SubscribeAccessUnits(name, 512)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		timeout := time.After(15 * time.Second)
		var latest time.Duration
		n := 0
		for i := range 45 {
			select {
			case au := <-sub.C:
				if i > 0 && au.PTS < latest {
					n++
				}
				latest = max(latest, au.PTS)
			case <-timeout:
				t.Fatalf("%s: only %d access units in 15 s", name, i)
			}
		}
		return n
	}
	waitStatus(t, m, "viewed", "playing", playingWith(30))
	if n := reorders("viewed"); n != 0 {
		t.Errorf("viewed: %d access units out of presentation order after the switch; want an encoding without B-frames", n)
	}
	if st := status(t, m, "viewed"); st.Restarts != 0 || st.LastError != "" {
		t.Errorf("the switch counted as a failure: %+v", st)
	}
	if n := reorders("unviewed"); n == 0 {
		t.Error("unviewed: no B-frames in its access units; the camera's stream should pass through untouched")
	}
}

func TestFileWithoutLoopStopsAtEOS(t *testing.T) {
	clip := filepath.Join(t.TempDir(), "clip.mp4")
	pipelinestest.WriteClip(t, clip, 10)
	m := newManager(t)
	if err := m.Add(parse(t, `{name: once, source: {type: file, uri: "`+clip+`"}}`)); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, m, "once", "stopped", func(st pipelines.Status) bool { return st.State == pipelines.StateStopped && st.Frames > 0 })
	if st.Frames != 10 {
		t.Errorf("frames = %d, want 10", st.Frames)
	}
}

// A file that vanishes fails the pipeline at its next loop: it retries with growing backoff,
// visibly, while a second pipeline keeps its full frame rate.
func TestVanishedFileRetriesWithoutDisturbingOthers(t *testing.T) {
	clip := filepath.Join(t.TempDir(), "clip.mp4")
	pipelinestest.WriteClip(t, clip, 10)
	m := newManager(t)
	if err := m.Add(synthetic(t, "steady")); err != nil {
		t.Fatal(err)
	}
	if err := m.Add(parse(t, `{name: vanishing, source: {type: file, uri: "`+clip+`", loop: true}, restart: {backoff_min: 100ms, backoff_max: 400ms}}`)); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, m, "vanishing", "playing", playingWith(1))
	waitStatus(t, m, "steady", "playing", playingWith(1))
	if err := os.Remove(clip); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, m, "vanishing", "retrying", func(st pipelines.Status) bool { return st.State == pipelines.StateRetrying })
	if !strings.Contains(st.LastError, "clip.mp4") || st.NextRetry.IsZero() {
		t.Errorf("retrying status lacks the cause or the next retry: %+v", st)
	}
	before := status(t, m, "steady")
	time.Sleep(2 * time.Second)
	after := status(t, m, "steady")
	if after.State != pipelines.StatePlaying || after.Frames-before.Frames < 45 {
		t.Errorf("the steady pipeline was disturbed: %d frames in 2 s, state %s", after.Frames-before.Frames, after.State)
	}
	if st := status(t, m, "vanishing"); st.Restarts < 3 {
		t.Errorf("restarts = %d after 2 s at 100–400 ms backoff, want ≥ 3", st.Restarts)
	}
	pipelinestest.WriteClip(t, clip, 10)
	waitStatus(t, m, "vanishing", "playing again", func(st pipelines.Status) bool { return st.State == pipelines.StatePlaying })
}

func TestStopStartRestartRemove(t *testing.T) {
	m := newManager(t)
	for _, name := range []string{"a", "b"} {
		if err := m.Add(synthetic(t, name)); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, m, name, "playing", playingWith(1))
	}
	if err := m.Stop("a"); err != nil {
		t.Fatal(err)
	}
	stopped := status(t, m, "a")
	if stopped.State != pipelines.StateStopped {
		t.Fatalf("state after Stop = %s", stopped.State)
	}
	time.Sleep(300 * time.Millisecond)
	if st := status(t, m, "a"); st.Frames != stopped.Frames {
		t.Errorf("frames rose while stopped: %d → %d", stopped.Frames, st.Frames)
	}
	if err := m.Start("a"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, m, "a", "playing after Start", playingWith(stopped.Frames+10))
	if err := m.Restart("b"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, m, "b", "playing after Restart", playingWith(1))
	if err := m.Remove("a"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Get("a"); err == nil {
		t.Error("removed pipeline still listed")
	}
	if got := m.List(); len(got) != 1 || got[0].Name != "b" || got[0].State != pipelines.StatePlaying {
		t.Errorf("List after Remove = %+v", got)
	}
	for _, op := range []func(string) error{m.Start, m.Stop, m.Restart, m.Remove} {
		if err := op("nope"); err == nil {
			t.Error("operation on an unknown pipeline succeeded")
		}
	}
}

func TestUnreachableCameraRetriesWithBackoff(t *testing.T) {
	m := newManager(t)
	// Port 1 on loopback refuses connections at once.
	p := parse(t, `{name: cam, source: {type: rtsp, uri: "rtsp://user:secret@127.0.0.1:1/stream"}, restart: {backoff_min: 100ms, backoff_max: 200ms}}`)
	if err := m.Add(p); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, m, "cam", "two restarts", func(st pipelines.Status) bool { return st.Restarts >= 2 })
	if st.LastError == "" || strings.Contains(st.LastError, "secret") {
		t.Errorf("last error %q: want a cause without the password", st.LastError)
	}
}

func TestNVDECWithoutGPUFails(t *testing.T) {
	if graph.NVDEC() {
		t.Skip("this machine has NVDEC")
	}
	m := newManager(t)
	p := synthetic(t, "gpu")
	p.Decode = spec.DecodeNVDEC
	if err := m.Add(p); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, m, "gpu", "failed", func(st pipelines.Status) bool { return st.State == pipelines.StateFailed })
	if !strings.Contains(st.LastError, "nvh264dec") {
		t.Errorf("last error %q does not name the missing decoder", st.LastError)
	}
}

// Reload restarts only what changed, and leaves pipelines added through the API alone.
func TestReloadTouchesOnlyWhatChanged(t *testing.T) {
	m := newManager(t)
	a, b := synthetic(t, "a"), synthetic(t, "b")
	for _, p := range []spec.Pipeline{a, b} {
		if err := m.AddFromConfig(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Add(synthetic(t, "api")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b", "api"} {
		waitStatus(t, m, name, "playing", playingWith(1))
	}
	sub, err := m.SubscribeAccessUnits("b", 64)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	aBefore := status(t, m, "a")

	b2 := b
	b2.Source.Synthetic.Seed = 99
	res, err := m.Reload([]spec.Pipeline{a, b2, synthetic(t, "d")})
	if err != nil {
		t.Fatal(err)
	}
	want := pipelines.ReloadResult{Added: []string{"d"}, Restarted: []string{"b"}, Unchanged: []string{"a"}}
	if !slices.Equal(res.Added, want.Added) || !slices.Equal(res.Restarted, want.Restarted) || !slices.Equal(res.Unchanged, want.Unchanged) || len(res.Removed) != 0 {
		t.Fatalf("Reload = %+v, want %+v", res, want)
	}
	if st := status(t, m, "b"); st.Spec.Source.Synthetic.Seed != 99 {
		t.Errorf("b kept its old spec: %+v", st.Spec.Source.Synthetic)
	}
	waitStatus(t, m, "d", "playing", playingWith(1))
	if st := status(t, m, "a"); st.Since != aBefore.Since || st.Restarts != 0 {
		t.Errorf("unchanged pipeline a was restarted: %+v", st)
	}
	// The subscriber of b follows it across the restart, from a keyframe, and its timestamps
	// keep rising (the synthetic source has no B-frames).
	deadline := time.After(10 * time.Second)
	last := time.Duration(-1)
	for keyframes := 0; keyframes < 2; {
		select {
		case au, ok := <-sub.C:
			if !ok {
				t.Fatal("subscription closed by the restart")
			}
			if au.PTS <= last {
				t.Fatalf("pts %v after %v across the reload", au.PTS, last)
			}
			last = au.PTS
			if au.Keyframe {
				keyframes++
			}
		case <-deadline:
			t.Fatal("no access units after the reload")
		}
	}

	res, err = m.Reload(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Removed, []string{"a", "b", "d"}) {
		t.Errorf("Reload(nil) removed %v, want a, b, d", res.Removed)
	}
	if got := m.List(); len(got) != 1 || got[0].Name != "api" {
		t.Errorf("after removing the file's pipelines: %+v", got)
	}
	if _, ok := <-sub.C; ok {
		// Drain: the channel must close once the pipeline is gone.
		for range sub.C {
		}
	}
}

// A subscriber that does not read loses access units (counted) without slowing the pipeline,
// and starts again at a keyframe.
func TestSlowSubscriberDropsWithoutSlowingThePipeline(t *testing.T) {
	m := newManager(t)
	if err := m.Add(synthetic(t, "pen")); err != nil {
		t.Fatal(err)
	}
	sub, err := m.SubscribeAccessUnits("pen", 2)
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, m, "pen", "playing", playingWith(1))
	before := status(t, m, "pen").Frames
	time.Sleep(2 * time.Second)
	after := status(t, m, "pen")
	if after.Frames-before < 45 || sub.Dropped() == 0 {
		t.Fatalf("%d frames in 2 s, %d dropped; want full rate and drops", after.Frames-before, sub.Dropped())
	}
	if au := <-sub.C; !au.Keyframe {
		t.Error("a subscriber's first access unit is not a keyframe")
	}
	if after.BitrateKbps <= 0 {
		t.Errorf("bitrate %.1f kbit/s", after.BitrateKbps)
	}
	sub.Close()
	if _, ok := <-sub.C; ok {
		for range sub.C {
		}
	}
}

// A subscriber that arrives mid-GOP gets the current group of pictures at once, from its
// keyframe, instead of waiting for the next keyframe.
func TestNewSubscriberStartsWithTheCurrentGOP(t *testing.T) {
	m := newManager(t)
	if err := m.Add(synthetic(t, "pen")); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, m, "pen", "playing", playingWith(1))
	// Wait for the middle of a GOP: a keyframe, then a few more frames.
	probe, err := m.SubscribeAccessUnits("pen", 512)
	if err != nil {
		t.Fatal(err)
	}
	for since := -1; since < 4; {
		au := <-probe.C
		switch {
		case au.Keyframe:
			since = 0
		case since >= 0:
			since++
		}
	}
	probe.Close()
	sub, err := m.SubscribeAccessUnits("pen", 512)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if n := len(sub.C); n < 5 {
		t.Errorf("%d access units waiting right after subscribing; want the GOP so far (at least 5)", n)
	}
	first := <-sub.C
	if !first.Keyframe {
		t.Error("the first access unit is not the GOP's keyframe")
	}
	next := <-sub.C
	if next.Keyframe || next.PTS <= first.PTS {
		t.Errorf("second access unit: keyframe %v, pts %v after %v", next.Keyframe, next.PTS, first.PTS)
	}
}

// SetEncoderBitrate reaches the encoder of a pipeline that encodes for viewers (an H.265
// camera), within its bounds, and says so for a passthrough pipeline and an unknown one.
func TestSetEncoderBitrate(t *testing.T) {
	m := newManager(t)
	plain := synthetic(t, "plain")
	if err := m.Add(plain); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, m, "plain", "playing", playingWith(1))
	if _, err := m.SetEncoderBitrate("plain", 1000); !errors.Is(err, pipelines.ErrNotEncoding) {
		t.Errorf("passthrough pipeline: %v, want ErrNotEncoding", err)
	}
	if _, err := m.SetEncoderBitrate("nope", 1000); !errors.Is(err, pipelines.ErrNotFound) {
		t.Errorf("unknown pipeline: %v, want ErrNotFound", err)
	}
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (make deps installs it)")
	}
	clip := filepath.Join(t.TempDir(), "hevc.mp4")
	if out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30:duration=2",
		"-c:v", "libx265", "-x265-params", "log-level=error", "-pix_fmt", "yuv420p", clip).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	if err := m.Add(parse(t, `{name: hevc, source: {type: file, uri: "`+clip+`", loop: true}, outputs: [{type: webrtc, max_bitrate_kbps: 1500}]}`)); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, m, "hevc", "playing", playingWith(1))
	if now, err := m.SetEncoderBitrate("hevc", 9000); err != nil || now != 1500 {
		t.Errorf("encoding pipeline: %d, %v; want 1500 (its maximum)", now, err)
	}
}
