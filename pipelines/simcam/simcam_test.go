package simcam_test

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/go-gst/go-gst/gst"
	"github.com/go-gst/go-gst/gst/app"
	"github.com/pigweight/pigweight/pipelines/graph"
	"github.com/pigweight/pigweight/pipelines/pen"
	"github.com/pigweight/pigweight/pipelines/pipelinestest"
	"github.com/pigweight/pigweight/pipelines/simcam"
	"github.com/pion/rtp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The leaks tracer counts GStreamer objects for the teardown test; it must be named
	// before gst.Init.
	os.Setenv("GST_TRACERS", "leaks")
	gst.Init(nil)
	goleak.VerifyTestMain(m)
}

// Generous bounds: these tests encode and decode video on a loaded two-core machine.
const (
	frameTimeout = 20 * time.Second // first frames, from client start
	endTimeout   = 15 * time.Second // a client to see an error or EOS
)

// smallPen keeps encoding cheap; every test uses it unless it needs otherwise.
var smallPen = pen.Config{Width: 320, Height: 240, FPS: 15, Pigs: 6, Seed: 3}

func startCamera(t *testing.T, cfg simcam.Config) *simcam.Camera {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Pen == (pen.Config{}) && cfg.File == "" {
		cfg.Pen = smallPen
	}
	cam, err := simcam.Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { cam.Close() })
	return cam
}

// client is an RTSP player built from a launch string (fine in tests): it counts decoded
// frames and records how the stream ended. (Its PTS come from rtpjitterbuffer's arrival-time
// smoothing; rtpTimeline checks the camera's own timestamps.)
type client struct {
	pipeline  *gst.Pipeline
	sink      *app.Sink
	frames    atomic.Int64
	ended     chan error // the first error or EOS (io.EOF)
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// openClient plays url over protocols ("tcp" or "udp"); user and pass may be empty.
func openClient(t *testing.T, url, protocols, user, pass string) *client {
	t.Helper()
	auth := ""
	if user != "" || pass != "" {
		auth = fmt.Sprintf(" user-id=%q user-pw=%q", user, pass)
	}
	desc := fmt.Sprintf("rtspsrc location=%q protocols=%s latency=100%s ! rtph264depay ! h264parse ! avdec_h264 ! "+
		"appsink name=sink sync=false max-buffers=4 drop=true enable-last-sample=false", url, protocols, auth)
	pl, err := gst.NewPipelineFromString(desc)
	if err != nil {
		t.Fatalf("client pipeline: %v", err)
	}
	elem, err := pl.GetElementByName("sink")
	if err != nil {
		t.Fatalf("client sink: %v", err)
	}
	c := &client{
		pipeline: pl,
		sink:     app.SinkFromElement(elem),
		ended:    make(chan error, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if err := pl.SetState(gst.StatePlaying); err != nil {
		t.Fatalf("client play: %v", err)
	}
	go c.run()
	t.Cleanup(c.close)
	return c
}

func (c *client) run() {
	defer close(c.done)
	bus := c.pipeline.GetPipelineBus()
	for {
		select {
		case <-c.stop:
			return
		default:
		}
		if s := c.sink.TryPullSample(gst.ClockTime(50 * time.Millisecond)); s != nil {
			c.frames.Add(1)
			runtime.SetFinalizer(s, nil)
			s.Unref()
		}
		if msg := bus.TimedPopFiltered(0, gst.MessageError|gst.MessageEOS); msg != nil {
			var err error = io.EOF
			if msg.Type() == gst.MessageError {
				err = msg.ParseError()
			}
			runtime.SetFinalizer(msg, nil)
			msg.Unref()
			select {
			case c.ended <- err:
			default:
			}
		}
	}
}

func (c *client) close() {
	c.closeOnce.Do(func() {
		close(c.stop)
		<-c.done
		graph.SetNull(c.pipeline)
	})
}

// waitFrames waits until the client has decoded at least n frames in all.
func (c *client) waitFrames(t *testing.T, n int64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for c.frames.Load() < n {
		select {
		case err := <-c.ended:
			t.Fatalf("stream ended after %d of %d frames: %v", c.frames.Load(), n, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d frames after %s", c.frames.Load(), n, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitEnd waits for the stream to end and returns why (io.EOF for EOS).
func (c *client) waitEnd(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case err := <-c.ended:
		return err
	case <-time.After(timeout):
		t.Fatalf("stream still running after %s (%d frames)", timeout, c.frames.Load())
		return nil
	}
}

func TestServesDecodableVideo(t *testing.T) {
	for _, proto := range []string{"tcp", "udp"} {
		t.Run(proto, func(t *testing.T) {
			cam := startCamera(t, simcam.Config{UDP: proto == "udp"})
			c := openClient(t, cam.URL(), proto, "", "")
			c.waitFrames(t, 20, frameTimeout)
			st := cam.Stats()
			if st.Sessions != 1 || st.Playing != 1 {
				t.Errorf("stats say %d sessions, %d playing; want 1, 1", st.Sessions, st.Playing)
			}
			if st.FramesSent == 0 || st.BytesSent == 0 || st.FramesEncoded < st.FramesSent {
				t.Errorf("stats: %+v", st)
			}
		})
	}
}

func TestURL(t *testing.T) {
	cam := startCamera(t, simcam.Config{Path: "barn/pen4"})
	u, err := url.Parse(cam.URL())
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "rtsp" || u.Hostname() != "127.0.0.1" || u.Port() == "0" || u.Port() == "" || u.Path != "/barn/pen4" {
		t.Errorf("URL %q: want rtsp://127.0.0.1:<real port>/barn/pen4", cam.URL())
	}
}

func TestCredentials(t *testing.T) {
	cam := startCamera(t, simcam.Config{User: "farmer", Pass: "s3cret"})
	for _, tc := range []struct {
		name, user, pass string
		ok               bool
	}{
		{"missing", "", "", false},
		{"wrong password", "farmer", "guess", false},
		{"wrong user", "vet", "s3cret", false},
		{"right", "farmer", "s3cret", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := openClient(t, cam.URL(), "tcp", tc.user, tc.pass)
			if tc.ok {
				c.waitFrames(t, 5, frameTimeout)
				return
			}
			if err := c.waitEnd(t, endTimeout); err == nil || errors.Is(err, io.EOF) {
				t.Errorf("refused client ended with %v; want an error", err)
			}
			if n := c.frames.Load(); n > 0 {
				t.Errorf("refused client decoded %d frames", n)
			}
		})
	}
}

func TestWrongPath(t *testing.T) {
	cam := startCamera(t, simcam.Config{})
	u, _ := url.Parse(cam.URL())
	u.Path = "/other"
	c := openClient(t, u.String(), "tcp", "", "")
	if err := c.waitEnd(t, endTimeout); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("client of a missing path ended with %v; want an error", err)
	}
}

func TestDrop(t *testing.T) {
	cam := startCamera(t, simcam.Config{})
	c := openClient(t, cam.URL(), "tcp", "", "")
	c.waitFrames(t, 5, frameTimeout)
	cam.Drop()
	err := c.waitEnd(t, endTimeout)
	t.Logf("dropped client saw: %v", err)
	if cam.Stats().Drops != 1 {
		t.Errorf("Drops = %d, want 1", cam.Stats().Drops)
	}
	// The camera goes on serving.
	again := openClient(t, cam.URL(), "tcp", "", "")
	again.waitFrames(t, 5, frameTimeout)
}

func TestStall(t *testing.T) {
	cam := startCamera(t, simcam.Config{})
	c := openClient(t, cam.URL(), "tcp", "", "")
	c.waitFrames(t, 5, frameTimeout)
	cam.Stall(true)
	// Let what was in flight (jitter buffer, decoder) drain.
	time.Sleep(time.Second)
	before := c.frames.Load()
	sentBefore := cam.Stats().FramesSent
	time.Sleep(3 * time.Second)
	select {
	case err := <-c.ended:
		t.Fatalf("stream ended during the stall: %v", err)
	default:
	}
	if n := c.frames.Load() - before; n > 0 {
		t.Errorf("%d frames arrived during the stall", n)
	}
	if st := cam.Stats(); st.FramesSent != sentBefore || st.Sessions != 1 {
		t.Errorf("during the stall: %+v; want FramesSent %d and the session open", st, sentBefore)
	}
	cam.Stall(false)
	c.waitFrames(t, c.frames.Load()+5, frameTimeout)
}

func TestRefuse(t *testing.T) {
	cam := startCamera(t, simcam.Config{})
	playing := openClient(t, cam.URL(), "tcp", "", "")
	playing.waitFrames(t, 5, frameTimeout)

	cam.Refuse(true)
	refused := openClient(t, cam.URL(), "tcp", "", "")
	if err := refused.waitEnd(t, endTimeout); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("refused client ended with %v; want an error", err)
	}
	if cam.Stats().Refused == 0 {
		t.Error("Stats().Refused = 0 after a refusal")
	}
	// A session already playing is not touched.
	playing.waitFrames(t, playing.frames.Load()+5, frameTimeout)

	cam.Refuse(false)
	openClient(t, cam.URL(), "tcp", "", "").waitFrames(t, 5, frameTimeout)
}

func TestRestartOnSameAddress(t *testing.T) {
	cam, err := simcam.Start(simcam.Config{Addr: "127.0.0.1:0", Pen: smallPen})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(cam.URL())
	c := openClient(t, cam.URL(), "tcp", "", "")
	c.waitFrames(t, 3, frameTimeout)
	if err := cam.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	c.close()
	if err := cam.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	again := startCamera(t, simcam.Config{Addr: u.Host})
	if again.URL() != cam.URL() {
		t.Errorf("URL %q after restart, want %q", again.URL(), cam.URL())
	}
	openClient(t, again.URL(), "tcp", "", "").waitFrames(t, 3, frameTimeout)
}

func TestFileLoops(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clip.mp4")
	pipelinestest.WriteClip(t, path, 15) // half a second at 30 fps, with B-frames
	var sent atomic.Int64
	cam := startCamera(t, simcam.Config{File: path, OnSend: func(nalus [][]byte, _ time.Time) {
		if len(nalus) > 0 {
			sent.Add(1)
		}
	}})
	c := openClient(t, cam.URL(), "tcp", "", "")
	// Three times the clip: the camera must have started over at least twice.
	c.waitFrames(t, 45, frameTimeout)
	if l := cam.Stats().Loops; l < 2 {
		t.Errorf("Loops = %d after 45 frames of a 15-frame clip", l)
	}
	if n := sent.Load(); n < 45 {
		t.Errorf("OnSend called for %d access units; the client received 45", n)
	}
}

// TestRTPTimeline reads the camera's RTP timestamps (one per access unit) with gortsplib's
// client: they must move forward at the source's frame rate, across a file's loops too, with
// no more than B-frame reordering going back.
func TestRTPTimeline(t *testing.T) {
	clip := filepath.Join(t.TempDir(), "clip.mp4")
	pipelinestest.WriteClip(t, clip, 15)
	for _, tc := range []struct {
		name     string
		cfg      simcam.Config
		frameDur time.Duration
		reorder  time.Duration // how far a timestamp may go back (B-frames)
	}{
		{"pen", simcam.Config{}, time.Second / time.Duration(smallPen.FPS), 0},
		{"file", simcam.Config{File: clip}, time.Second / 30, 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cam := startCamera(t, tc.cfg)
			const n = 45
			desc, stamps := rtpTimeline(t, cam.URL(), n)
			if !strings.Contains(desc, "sprop-parameter-sets=") {
				t.Errorf("SDP without SPS/PPS:\n%s", desc)
			}
			const clock = 90000
			seen := map[uint32]bool{}
			var top int64
			for i, ts := range stamps {
				if seen[ts] {
					t.Fatalf("access unit %d repeats RTP timestamp %d", i, ts)
				}
				seen[ts] = true
				rel := int64(int32(ts - stamps[0])) // modulo 2^32, relative to the first
				if back := time.Duration(top-rel) * time.Second / clock; back > tc.reorder {
					t.Fatalf("access unit %d goes back %s (RTP %d after %d)", i, back, rel, top)
				}
				top = max(top, rel)
			}
			// No reset: n access units cover about n frame durations (the pen may skip
			// slots when the machine is busy, so more is fine).
			span := time.Duration(top) * time.Second / clock
			if want := (n - 5) * tc.frameDur; span < want {
				t.Errorf("%d access units span %s of stream time, want at least %s", n, span, want)
			}
		})
	}
}

// rtpTimeline plays url with gortsplib's client over TCP and returns the SDP and the RTP
// timestamps of the first n access units (the packets that carry the marker bit).
func rtpTimeline(t *testing.T, rawURL string, n int) (string, []uint32) {
	t.Helper()
	u, err := base.ParseURL(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	tcp := gortsplib.TransportTCP
	c := gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Transport: &tcp}
	if err := c.Start2(); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	desc, res, err := c.Describe(u)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetupAll(desc.BaseURL, desc.Medias); err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		stamps []uint32
		full   = make(chan struct{})
	)
	c.OnPacketRTPAny(func(_ *description.Media, _ format.Format, pkt *rtp.Packet) {
		mu.Lock()
		defer mu.Unlock()
		if !pkt.Marker || len(stamps) >= n {
			return
		}
		stamps = append(stamps, pkt.Timestamp)
		if len(stamps) == n {
			close(full)
		}
	})
	if _, err := c.Play(nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-full:
	case <-time.After(frameTimeout):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("%d of %d access units after %s", len(stamps), n, frameTimeout)
	}
	mu.Lock()
	defer mu.Unlock()
	return string(res.Body), stamps
}

func TestStartErrors(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), "garbage.mp4")
	if err := os.WriteFile(garbage, []byte("not a video at all, not even close"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  simcam.Config
	}{
		{"no address", simcam.Config{}},
		{"password without user", simcam.Config{Addr: "127.0.0.1:0", Pass: "x"}},
		{"bad pen", simcam.Config{Addr: "127.0.0.1:0", Pen: pen.Config{Width: 7}}},
		{"missing file", simcam.Config{Addr: "127.0.0.1:0", File: filepath.Join(t.TempDir(), "none.mp4")}},
		{"not a video", simcam.Config{Addr: "127.0.0.1:0", File: garbage}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cam, err := simcam.Start(tc.cfg)
			if err == nil {
				cam.Close()
				t.Fatal("Start succeeded")
			}
			t.Logf("Start: %v", err)
		})
	}
}

func TestAddressInUse(t *testing.T) {
	cam := startCamera(t, simcam.Config{})
	u, _ := url.Parse(cam.URL())
	other, err := simcam.Start(simcam.Config{Addr: u.Host, Pen: smallPen})
	if err == nil {
		other.Close()
		t.Fatal("a second camera started on a bound address")
	}
}

// A pen clip has the frames, GOP and B-frames asked for, as ffprobe reads them.
func TestWritePenClip(t *testing.T) {
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe not installed (make deps installs it)")
	}
	path := filepath.Join(t.TempDir(), "pen.mp4")
	clip := simcam.Clip{Pen: pen.Config{Width: 320, Height: 240, FPS: 15}, Frames: 45, GOP: 15, BFrames: 2}
	if err := simcam.WritePenClip(path, clip); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0",
		"-show_entries", "frame=key_frame,pict_type", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	var keys, bs []int
	lines := strings.Fields(string(out))
	for i, line := range lines {
		key, typ, _ := strings.Cut(line, ",")
		if key == "1" {
			keys = append(keys, i)
		}
		if typ == "B" {
			bs = append(bs, i)
		}
	}
	if len(lines) != 45 || !slices.Equal(keys, []int{0, 15, 30}) || len(bs) == 0 {
		t.Errorf("%d frames, keyframes at %v, %d B-frames; want 45 frames, keyframes at [0 15 30] and some B-frames", len(lines), keys, len(bs))
	}
	if err := simcam.WritePenClip(path, simcam.Clip{Frames: 0}); !errors.Is(err, simcam.ErrInvalidConfig) {
		t.Errorf("zero frames: %v, want ErrInvalidConfig", err)
	}
}
