package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/pipelines/pen"
	"github.com/pigweight/pigweight/pipelines/pipelinestest"
	"github.com/pigweight/pigweight/pipelines/spec"
	"github.com/pigweight/pigweight/signaling/fanout"
)

// chromiumPath is the Debian chromium that scripts/deps.sh installs; playwright-core drives it
// and never downloads a browser of its own.
const chromiumPath = chromiumBinary

// drawnFrame is window.pigweight.lastDrawn: the detections the live view drew on one frame.
type drawnFrame struct {
	RTP      uint32 `json:"rtp"`      // the detections message's
	VideoRTP uint32 `json:"videoRtp"` // requestVideoFrameCallback's rtpTimestamp of the frame drawn on
	PTS      int64  `json:"pts"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
	Boxes    []struct {
		X, Y, W, H float32
		Class      string  `json:"class"`
		Score      float32 `json:"score"`
		Track      int64   `json:"track"`
		WeightKg   float64 `json:"weightKg"`
		Label      string  `json:"label"`
	} `json:"boxes"`
}

// browserDriver returns node and the folder holding playwright-core, or skips the test when
// the browser test's parts are not installed.
func browserDriver(t *testing.T) (node, modules string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed (scripts/deps.sh installs it); skipping the browser test")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("%s is missing (scripts/deps.sh installs chromium); skipping the browser test", chromiumPath)
	}
	if modules, err = filepath.Abs("../../third_party/node"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(modules, "node_modules", "playwright-core")); err != nil {
		t.Fatalf("playwright-core is not installed under %s: run scripts/deps.sh", modules)
	}
	return node, modules
}

// watching is what headless Chromium saw on a live view page (web/ui/testdata/playing.mjs):
// frames presented over time, and how often the page joined again.
type watching struct {
	Samples    [][2]float64 // [Unix ms, frames presented so far], from the first frame on
	Reconnects int
}

// watch opens srv's live view of stream in headless Chromium for watchMs after its first frame.
// While it watches, opened (if not nil) runs as soon as the page is loading, and joined (if not
// nil) once the page has joined the stream.
func watch(t *testing.T, srv *server, stream string, watchMs int, opened, joined func()) watching {
	t.Helper()
	node, modules := browserDriver(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "../../web/ui/testdata/playing.mjs")
	cmd.Env = append(os.Environ(), "PW_URL="+srv.base+"/view/"+stream, "PW_CHROMIUM="+chromiumPath, "PW_MODULES="+modules, fmt.Sprintf("PW_WATCH_MS=%d", watchMs))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if opened != nil {
		opened()
	}
	if joined != nil {
		for {
			var st struct{ Viewers int }
			if code := srv.getJSON(t, "/api/v1/pipelines/"+stream, &st); code != http.StatusOK {
				t.Fatalf("GET /api/v1/pipelines/%s: %d", stream, code)
			}
			if st.Viewers > 0 {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("the page never joined\n%s", stderr.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
		joined()
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("browser driver: %v\n%s\nserver log:\n%s", err, stderr.String(), srv.logs.String())
	}
	var w watching
	if err := json.Unmarshal(stdout.Bytes(), &w); err != nil || len(w.Samples) < 2 {
		t.Fatalf("driver output %q: %v", stdout.String(), err)
	}
	return w
}

// longestStall is the longest stretch, in ms, in which the page presented no new frame, and
// how many frames it had presented when that stretch ended.
func (w watching) longestStall() (ms, framesBefore float64) {
	since := w.Samples[0][0]
	for i := 1; i < len(w.Samples); i++ {
		if w.Samples[i][1] > w.Samples[i-1][1] {
			if gap := w.Samples[i][0] - since; gap > ms {
				ms, framesBefore = gap, w.Samples[i-1][1]
			}
			since = w.Samples[i][0]
		}
	}
	if gap := w.Samples[len(w.Samples)-1][0] - since; gap > ms { // a stall to the end
		ms, framesBefore = gap, w.Samples[len(w.Samples)-1][1]
	}
	return ms, framesBefore
}

// presentedBetween is how many frames the page presented from a to b.
func (w watching) presentedBetween(a, b time.Time) float64 {
	at := func(t time.Time) float64 { // frames presented by t
		ms, n := float64(t.UnixMilli()), 0.0
		for _, s := range w.Samples {
			if s[0] <= ms {
				n = s[1]
			}
		}
		return n
	}
	return at(b) - at(a)
}

// fps is the rate at which the page presented frames over the whole watch.
func (w watching) fps() float64 {
	first, last := w.Samples[0], w.Samples[len(w.Samples)-1]
	return (last[1] - first[1]) / ((last[0] - first[0]) / 1000)
}

// Headless Chromium keeps showing a stream at its frame rate through its pipeline's restarts
// (a file that loops every two seconds, as a camera that drops and comes back would restart
// it): the timestamps viewers get run on across runs. When they jumped back to zero, Chromium
// froze the picture from the second restart on. The clip has B-frames, which Chromium plays
// at a quarter of the rate when passed through: the pipeline finds them and encodes instead.
func TestBrowserKeepsPlayingAcrossRestarts(t *testing.T) {
	browserDriver(t)
	clip := pipelinestest.TestPatternClip(t, "loop.mp4", "320x240", 15, 2, "-c:v", "libx264", "-bf", "2", "-g", "15")
	srv := startServerWithConfig(t, fmt.Sprintf("server: {media_dirs: [%q]}\npipelines:\n  - name: loop\n    source: {type: file, uri: %q, loop: true}\n    outputs: [{type: webrtc}]\n", filepath.Dir(clip), clip))
	w := watch(t, srv, "loop", 9000, nil, nil)
	stall, _ := w.longestStall()
	t.Logf("%.1f fps presented; longest stall %.0f ms", w.fps(), stall)
	if stall > 1500 {
		t.Errorf("the picture stood still for %.0f ms over four restarts", stall)
	}
	if w.fps() < 12 {
		t.Errorf("%.1f fps presented of a 15 fps stream", w.fps())
	}
	srv.stop(t)
}

// A pipeline stopped for three seconds and started again plays on in Chromium as soon as its
// frames come back. Chromium asks for a keyframe after three seconds without a picture, just
// as the stream returns; resending the stopped stream's last pictures then anchored its clock
// in the past, and it held the restarted stream back for as long again (15 of these 45 frames).
func TestBrowserPlaysOnAfterStopAndStart(t *testing.T) {
	browserDriver(t)
	srv := startServerWithConfig(t, "pipelines:\n  - name: pen\n    source: {type: synthetic}\n")
	post := func(path string) {
		resp, err := http.Post(srv.base+path, "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %d", path, resp.StatusCode)
		}
	}
	var started time.Time
	w := watch(t, srv, "pen", 12000, nil, func() {
		time.Sleep(2 * time.Second)
		post("/api/v1/pipelines/pen/stop")
		time.Sleep(3 * time.Second)
		post("/api/v1/pipelines/pen/start")
		started = time.Now()
	})
	// From one to four seconds after the start: 45 frames at 15 fps.
	got := w.presentedBetween(started.Add(time.Second), started.Add(4*time.Second))
	t.Logf("%.0f frames presented from 1 to 4 s after the start", got)
	if got < 30 {
		t.Errorf("%.0f frames presented from 1 to 4 s after the pipeline started again; want most of 45", got)
	}
	srv.stop(t)
}

// A live view opened before its pipeline exists shows it once the pipeline is added: the
// page's join of an unknown stream is tried again.
func TestBrowserViewWaitsForItsPipeline(t *testing.T) {
	browserDriver(t)
	srv := startServerWithConfig(t, "pipelines: []\n")
	var added time.Time
	// Four seconds of the pipeline: a shorter window measured the start-up more than the rate,
	// and fell under 10 fps on a loaded machine.
	w := watch(t, srv, "later", 6000, func() {
		// The pipeline comes once the page has tried to join it and been told it does not
		// exist: a fixed wait let a page slow to start (a loaded machine) find it there at
		// its first join, with nothing to join again for.
		deadline := time.Now().Add(60 * time.Second)
		refused := regexp.MustCompile(`msg="join of an unknown stream" .*stream=later`)
		for !refused.MatchString(srv.logs.String()) {
			if time.Now().After(deadline) {
				t.Fatalf("the page never tried to join:\n%s", srv.logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		resp, err := http.Post(srv.base+"/api/v1/pipelines", "application/yaml", strings.NewReader("{name: later, source: {type: synthetic}}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("add the pipeline: %d", resp.StatusCode)
		}
		added = time.Now()
	}, nil)
	t.Logf("first frame %.1f s after the pipeline was added; %.1f fps, %d joins again", float64(w.Samples[0][0]-float64(added.UnixMilli()))/1000, w.fps(), w.Reconnects)
	if w.fps() < 10 || w.Reconnects < 1 {
		t.Errorf("%.1f fps after %d joins again", w.fps(), w.Reconnects)
	}
	srv.stop(t)
}

// The live view joins again by itself when it loses the server: the server stops and starts
// again on the same address, and the page, left open, shows the pen again.
func TestBrowserViewJoinsAgainAfterAServerRestart(t *testing.T) {
	browserDriver(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := filepath.Join(t.TempDir(), "pigweight.yaml")
	if err := os.WriteFile(cfg, []byte("pipelines:\n  - name: pen\n    source: {type: synthetic}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, "--config", cfg, "--listen", addr)
	w := watch(t, srv, "pen", 14000, nil, func() {
		time.Sleep(2 * time.Second)
		srv.stop(t)
		time.Sleep(time.Second)
		startServer(t, "--config", cfg, "--listen", addr)
	})
	stall, before := w.longestStall()
	after := w.Samples[len(w.Samples)-1][1] - before
	t.Logf("stall of %.0f ms, then %.0f frames; %d reconnects", stall, after, w.Reconnects)
	if w.Reconnects < 1 || after < 15 {
		t.Errorf("after a stall of %.0f ms the page showed %.0f frames (%d reconnects); want it back at 15 fps", stall, after, w.Reconnects)
	}
}

// The live view in headless Chromium plays the demo pen and draws each analysed frame's boxes
// on that very frame, where the pen's ground truth says the pigs were.
func TestBrowserViewDrawsDetectionsOnTheirFrame(t *testing.T) {
	node, modules := browserDriver(t)

	cfgPath := defaultConfigWithModel(t)
	cfg, err := spec.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	syn := cfg.Pipelines[0].Source.Synthetic
	frameDur := time.Second / time.Duration(syn.FPS)
	srv := startServer(t, "--config", cfgPath)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "../../web/ui/testdata/view.mjs")
	cmd.Env = append(os.Environ(),
		"PW_URL="+srv.base+"/view/"+cfg.Pipelines[0].Name,
		"PW_CHROMIUM="+chromiumPath,
		"PW_MODULES="+modules,
		"PW_TIMEOUT_MS=45000",
		"PW_SAMPLES=8",
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("browser driver: %v\n%s\nserver log:\n%s", err, stderr.String(), srv.logs.String())
	}
	var result struct {
		FramesDecoded []int                     `json:"framesDecoded"`
		Drawn         []drawnFrame              `json:"drawn"`
		Messages      int                       `json:"messages"`
		FramesMatched int                       `json:"framesMatched"`
		Presented     int                       `json:"framesPresented"`
		OnScreen      struct{ Boxes, Hits int } `json:"onScreen"`
		Latency       struct {
			P50, P95 float64
			Samples  int
		} `json:"latency"`
		Clock struct{ Offset, RTT float64 } `json:"clock"`
	}
	if err := json.Unmarshal(out, &result); err != nil {
		t.Fatalf("driver output %q: %v", out, err)
	}
	t.Logf("framesDecoded %v, %d detection messages, %d of %d presented frames matched, %d of %d boxes on the overlay",
		result.FramesDecoded, result.Messages, result.FramesMatched, result.Presented, result.OnScreen.Hits, result.OnScreen.Boxes)

	t.Logf("glass-to-glass latency (server tap → this screen): p50 %.1f ms, p95 %.1f ms over the last of %d frames; clock offset %.2f ms, ping %.2f ms",
		result.Latency.P50, result.Latency.P95, result.Latency.Samples, result.Clock.Offset, result.Clock.RTT)
	// Same machine, same clock: the measured offset is small, and a latency is a positive
	// figure well under a second (its size is for the benchmark, not this test).
	if result.Latency.Samples == 0 || result.Latency.P50 <= 0 || result.Latency.P50 > 1000 || math.Abs(result.Clock.Offset) > 50 {
		t.Errorf("latency %+v with clock %+v", result.Latency, result.Clock)
	}

	// A box's edge on the canvas can be covered by another box's label; most must show.
	if s := result.OnScreen; s.Boxes == 0 || s.Hits*2 < s.Boxes {
		t.Errorf("%d of %d boxes found on the overlay where the frame puts them", s.Hits, s.Boxes)
	}

	// Replay the pen from its seed to each drawn frame, oldest first.
	replay, err := pen.New(pen.Config{Width: syn.Width, Height: syn.Height, Pigs: syn.Pigs, FPS: syn.FPS, Seed: syn.Seed})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(result.Drawn, func(a, b drawnFrame) int { return int(a.PTS - b.PTS) })
	var tp, fp, fn int
	for _, d := range result.Drawn {
		if d.VideoRTP != d.RTP || d.RTP != fanout.RTPTimestamp(time.Duration(d.PTS)) {
			t.Errorf("boxes of rtp %d (pts %d, RTPTimestamp %d) drawn on the frame of rtp %d",
				d.RTP, d.PTS, fanout.RTPTimestamp(time.Duration(d.PTS)), d.VideoRTP)
		}
		if d.Width != syn.Width || d.Height != syn.Height {
			t.Errorf("frame size %dx%d, want %dx%d", d.Width, d.Height, syn.Width, syn.Height)
		}
		n := uint64(time.Duration(d.PTS) / frameDur)
		if n < replay.Frame() {
			t.Fatalf("frame %d drawn, but the replay is at %d", n, replay.Frame())
		}
		for replay.Frame() < n {
			replay.Step()
		}
		dets := make([]detect.Detection, len(d.Boxes))
		for i, b := range d.Boxes {
			dets[i] = detect.Detection{Box: detect.Box{X: b.X, Y: b.Y, W: b.W, H: b.H}, Class: b.Class, Score: b.Score}
		}
		m, f, miss := match(replay.Truth(), dets)
		tp, fp, fn = tp+m, fp+f, fn+miss
	}
	recall := float64(tp) / float64(tp+fn)
	precision := float64(tp) / float64(tp+fp)
	t.Logf("%d drawn frames: recall %.3f, precision %.3f (tp %d, fp %d, fn %d)", len(result.Drawn), recall, precision, tp, fp, fn)

	// The view writes each weighed pig's weight on its box: the estimator runs on the demo
	// pen out of the box, and a track has a weight after a few good frames.
	var boxes, weighed int
	for _, d := range result.Drawn {
		for _, b := range d.Boxes {
			boxes++
			if b.WeightKg <= 0 {
				continue
			}
			weighed++
			if want := fmt.Sprintf("%.1f kg", b.WeightKg); b.Label != want || b.Track <= 0 {
				t.Errorf("box of track %d weighing %.2f kg is labelled %q, want %q", b.Track, b.WeightKg, b.Label, want)
			}
			if b.WeightKg < 10 || b.WeightKg > 250 {
				t.Errorf("track %d weighs %.1f kg: not a pig's weight", b.Track, b.WeightKg)
			}
		}
	}
	t.Logf("%d of %d drawn boxes carry a weight", weighed, boxes)
	if weighed*2 < boxes {
		t.Errorf("only %d of %d drawn boxes carry a weight", weighed, boxes)
	}
	if recall < 0.9 || precision < 0.9 {
		t.Errorf("drawn boxes against the ground truth: recall %.3f, precision %.3f; want both ≥ 0.9", recall, precision)
	}
	srv.stop(t)
}
