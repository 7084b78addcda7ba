package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/pigweight/pigweight/pipelines/pen"
	"github.com/pigweight/pigweight/pipelines/simcam"
	"github.com/pigweight/pigweight/signaling/fanout/fanouttest"
	"github.com/pion/webrtc/v4"
)

// viewersBenchFlags are the settings of one `pigweight bench viewers` run.
type viewersBenchFlags struct {
	out                 string
	counts              []int
	window, drift       time.Duration
	driftViewers        int
	width, height, fps  int
	kbps                int
	joinTimeout, settle time.Duration
}

func parseViewersBenchFlags(args []string, stderr io.Writer) (viewersBenchFlags, error) {
	f := viewersBenchFlags{counts: []int{1, 10, 50, 100}, joinTimeout: 10 * time.Second, settle: 2 * time.Second}
	fs := flag.NewFlagSet("bench viewers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.out, "out", "bench/viewers.json", "where the results are written as JSON")
	fs.DurationVar(&f.window, "window", 10*time.Second, "measurement window at each viewer count")
	fs.DurationVar(&f.drift, "drift", 0, "after the counts, watch latency this long (e.g. 10m) with --drift-viewers viewers; 0 skips it")
	fs.IntVar(&f.driftViewers, "drift-viewers", 10, "viewers kept for the drift run")
	fs.IntVar(&f.width, "width", 1280, "width of the camera's recorded clip")
	fs.IntVar(&f.height, "height", 720, "height of the camera's recorded clip")
	fs.IntVar(&f.fps, "fps", 30, "frame rate of the camera's clip")
	fs.IntVar(&f.kbps, "kbps", 2500, "bitrate of the camera's clip")
	fs.Func("viewers", "viewer counts to measure, comma-separated (default 1,10,50,100)", func(s string) (err error) {
		f.counts, err = parseSizes(s)
		return err
	})
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	var problems []string
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	if f.window <= 0 || f.drift < 0 || f.driftViewers < 1 || f.fps < 1 || f.kbps < 1 {
		problems = append(problems, "--window must be positive, --drift not negative, --drift-viewers, --fps and --kbps at least 1")
	}
	if len(problems) > 0 {
		err := errors.New(strings.Join(problems, "; "))
		fmt.Fprintln(stderr, "pigweight bench viewers:", err)
		return f, err
	}
	return f, nil
}

// viewersResults is what `pigweight bench viewers` writes.
type viewersResults struct {
	Date    string         `json:"date"`
	Command string         `json:"command"`
	Machine benchMachine   `json:"machine"`
	Stream  string         `json:"stream"`
	Idle    float64        `json:"server_cpu_cores_no_viewers"`
	Steps   []viewersStep  `json:"steps"`
	Drift   []driftMinute  `json:"drift,omitempty"`
	Joins   timings        `json:"time_to_first_frame_ms"`
	Browser *browserResult `json:"browser,omitempty"`
}

// browserResult is what the live view measured in headless Chromium, with the Go viewers on.
type browserResult struct {
	// Latency is glass to glass: the frame reaching the server → Chromium showing it, with
	// the clock offset learned over the DataChannel.
	Latency       timings `json:"latency_ms"`
	ClockOffsetMS float64 `json:"clock_offset_ms"`
	PingMS        float64 `json:"ping_ms"`
	// FirstFrameMS is from the page starting to load to its first frame on screen.
	FirstFrameMS   float64 `json:"first_frame_ms"`
	JitterBufferMS float64 `json:"jitter_buffer_ms"`
	Skipped        string  `json:"skipped,omitempty"`
}

// viewersStep is one viewer count held for the window.
type viewersStep struct {
	Viewers int `json:"viewers"`
	// ServerCPU is the server process's CPU in cores over the window; PerViewerMS is what each
	// viewer added to it, in CPU milliseconds per second, and ViewersPerCore its inverse.
	ServerCPU      float64 `json:"server_cpu_cores"`
	PerViewerMS    float64 `json:"cpu_ms_per_viewer_per_s"`
	ViewersPerCore float64 `json:"viewers_per_core"`
	// ClientsCPU is this process's CPU (the Go viewers and the camera), for context.
	ClientsCPU float64 `json:"clients_cpu_cores"`
	// FPS is the frames per second the slowest and the median viewer received.
	MinFPS    float64 `json:"min_fps"`
	MedianFPS float64 `json:"median_fps"`
	Latency   timings `json:"latency_ms"`
	Joins     timings `json:"time_to_first_frame_ms"`
	Gaps      uint64  `json:"rtp_gaps"`
}

// driftMinute is the latency over one minute of the drift run.
type driftMinute struct {
	Minute  int     `json:"minute"`
	Latency timings `json:"latency_ms"`
}

// benchViewersCmd measures WebRTC viewers of one camera stream: time to first frame, latency
// from the camera sending a frame to a viewer having it, and the server's CPU per viewer.
//
//	pigweight bench viewers [--viewers 1,10,50,100] [--window 10s] [--drift 10m]
func benchViewersCmd(args []string, stdout, stderr io.Writer) int {
	f, err := parseViewersBenchFlags(args, stderr)
	if err != nil {
		return 2
	}
	return runBenchmark("viewers", args, f.out, stdout, stderr, func(ctx context.Context, progress io.Writer) (benchReport, error) {
		return benchViewers(ctx, f, progress)
	})
}

func (r *viewersResults) setCommand(line string) { r.Command = line }

// sendClock remembers when the camera sent each access unit, keyed by its last slice's bytes,
// which pass through the server untouched (passthrough): the latency clock.
type sendClock struct {
	mu   sync.Mutex
	sent map[uint64]time.Time
	keys []uint64 // in sending order, to forget the oldest
}

const sendClockKeep = 1000

func frameKey(lastNAL []byte) uint64 {
	h := fnv.New64a()
	h.Write(lastNAL[max(0, len(lastNAL)-64):])
	return h.Sum64() ^ uint64(len(lastNAL))
}

func (c *sendClock) onSend(nalus [][]byte, at time.Time) {
	if len(nalus) == 0 {
		return
	}
	k := frameKey(nalus[len(nalus)-1])
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent[k] = at
	c.keys = append(c.keys, k)
	if len(c.keys) > sendClockKeep {
		delete(c.sent, c.keys[0])
		c.keys = c.keys[1:]
	}
}

// latency is how long ago the frame whose Annex B data this is left the camera.
func (c *sendClock) latency(data []byte, received time.Time) (time.Duration, bool) {
	i := bytes.LastIndex(data, []byte{0, 0, 1})
	if i < 0 {
		return 0, false
	}
	c.mu.Lock()
	sent, ok := c.sent[frameKey(data[i+3:])]
	c.mu.Unlock()
	return received.Sub(sent), ok
}

// benchViewer is one Go WebRTC viewer and what it saw.
type benchViewer struct {
	client *fanouttest.Client
	ttff   time.Duration
	done   chan struct{}

	mu        sync.Mutex
	frames    int
	latencies []time.Duration
}

func (v *benchViewer) take() (frames int, lat []time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	frames, lat = v.frames, v.latencies
	v.frames, v.latencies = 0, nil
	return frames, lat
}

func benchViewers(ctx context.Context, f viewersBenchFlags, progress io.Writer) (*viewersResults, error) {
	res := &viewersResults{
		Date:    time.Now().UTC().Format(time.RFC3339),
		Machine: thisMachine(),
		Stream:  fmt.Sprintf("pen %dx%d, %d fps, %d kb/s H.264, a keyframe a second, over RTSP from a simulated camera, passed through", f.width, f.height, f.fps, f.kbps),
	}
	dir, err := os.MkdirTemp("", "pigweight-bench-viewers-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	clip := filepath.Join(dir, "pen.mp4")
	fmt.Fprintf(progress, "recording a %dx%d pen clip...\n", f.width, f.height)
	if err := simcam.WritePenClip(clip, simcam.Clip{Pen: pen.Config{Width: f.width, Height: f.height, FPS: f.fps}, Frames: 10 * f.fps, GOP: f.fps, BitrateKbps: f.kbps}); err != nil {
		return nil, err
	}
	clock := &sendClock{sent: map[uint64]time.Time{}}
	cam, err := simcam.Start(simcam.Config{Addr: "127.0.0.1:0", File: clip, OnSend: clock.onSend})
	if err != nil {
		return nil, err
	}
	defer cam.Close()

	// Every bench viewer comes from this machine's address: lift the cap per address (64 by
	// default) to the cap on all viewers, which the open-file limit sets.
	srv, err := startBenchServer(ctx, dir, fmt.Sprintf("webrtc:\n  max_viewers_per_address: 100000\npipelines:\n  - name: cam\n    source: {type: rtsp, uri: %q, transport: tcp}\n", cam.URL()))
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	fmt.Fprintf(progress, "server pid %d at %s; waiting for the stream...\n", srv.cmd.Process.Pid, srv.base)
	if err := srv.waitPlaying(ctx, "cam"); err != nil {
		return nil, err
	}
	if err := sleepCtx(ctx, f.settle); err != nil {
		return nil, err
	}
	c0, t0 := srv.cpu(), time.Now()
	if err := sleepCtx(ctx, f.window); err != nil {
		return nil, err
	}
	res.Idle = (srv.cpu() - c0).Seconds() / time.Since(t0).Seconds()

	api, err := fanouttest.NewAPI()
	if err != nil {
		return nil, err
	}
	var viewers []*benchViewer
	defer func() {
		for _, v := range viewers {
			v.client.Close()
			<-v.done
		}
	}()
	var allJoins []time.Duration
	for _, n := range f.counts {
		var joins []time.Duration
		for len(viewers) < n {
			fmt.Fprintf(progress, "\rjoining viewer %d/%d", len(viewers)+1, n)
			v, err := joinViewer(ctx, api, srv.base+"/whep/cam", clock, f.joinTimeout)
			if err != nil {
				return nil, fmt.Errorf("viewer %d: %w", len(viewers)+1, err)
			}
			viewers = append(viewers, v)
			joins = append(joins, v.ttff)
		}
		fmt.Fprintln(progress)
		allJoins = append(allJoins, joins...)
		if err := sleepCtx(ctx, f.settle); err != nil {
			return nil, err
		}
		for _, v := range viewers {
			v.take()
		}
		gaps0 := totalGaps(viewers)
		c0, s0, t0 := srv.cpu(), selfCPU(), time.Now()
		if err := sleepCtx(ctx, f.window); err != nil {
			return nil, err
		}
		wall := time.Since(t0).Seconds()
		step := viewersStep{Viewers: n, ServerCPU: (srv.cpu() - c0).Seconds() / wall, ClientsCPU: (selfCPU() - s0).Seconds() / wall, Joins: summarise(joins), Gaps: totalGaps(viewers) - gaps0}
		var fps []float64
		var lat []time.Duration
		for _, v := range viewers {
			frames, l := v.take()
			fps = append(fps, float64(frames)/wall)
			lat = append(lat, l...)
		}
		slices.Sort(fps)
		step.MinFPS, step.MedianFPS = fps[0], median(fps)
		step.Latency = summarise(lat)
		step.PerViewerMS = 1000 * max(0, step.ServerCPU-res.Idle) / float64(n)
		if step.PerViewerMS > 0 {
			step.ViewersPerCore = 1000 / step.PerViewerMS
		}
		fmt.Fprintf(progress, "%d viewers: server %.3f cores, %.2f ms/s per viewer, %.1f fps min, latency p50 %.1f ms\n", n, step.ServerCPU, step.PerViewerMS, step.MinFPS, step.Latency.P50)
		res.Steps = append(res.Steps, step)
	}
	res.Joins = summarise(allJoins)
	res.Browser = browserLatency(ctx, srv.base+"/view/cam", progress)

	if f.drift > 0 {
		for len(viewers) > f.driftViewers {
			v := viewers[len(viewers)-1]
			v.client.Close()
			<-v.done
			viewers = viewers[:len(viewers)-1]
		}
		for _, v := range viewers {
			v.take()
		}
		for m := 1; time.Duration(m-1)*time.Minute < f.drift; m++ {
			fmt.Fprintf(progress, "\rdrift: minute %d of %v", m, f.drift)
			if err := sleepCtx(ctx, time.Minute); err != nil {
				return nil, err
			}
			var lat []time.Duration
			for _, v := range viewers {
				_, l := v.take()
				lat = append(lat, l...)
			}
			res.Drift = append(res.Drift, driftMinute{Minute: m, Latency: summarise(lat)})
		}
		fmt.Fprintln(progress)
	}
	return res, nil
}

// browserLatency watches the live view in headless Chromium for 20 s (scripts/view-latency.mjs),
// or says why it could not.
func browserLatency(ctx context.Context, url string, progress io.Writer) *browserResult {
	const seconds = 20
	node, err := exec.LookPath("node")
	if err != nil {
		return &browserResult{Skipped: "node is not installed (make deps)"}
	}
	if _, err := os.Stat(chromiumBinary); err != nil {
		return &browserResult{Skipped: chromiumBinary + " is missing (make deps)"}
	}
	modules, _ := filepath.Abs("third_party/node")
	if _, err := os.Stat(filepath.Join(modules, "node_modules", "playwright-core")); err != nil {
		return &browserResult{Skipped: "playwright-core is not under third_party/node (make deps; run from the repository)"}
	}
	fmt.Fprintf(progress, "watching the live view in headless Chromium for %d s...\n", seconds)
	ctx, cancel := context.WithTimeout(ctx, (seconds+40)*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "scripts/view-latency.mjs")
	cmd.Env = append(os.Environ(), "PW_URL="+url, "PW_CHROMIUM="+chromiumBinary, "PW_MODULES="+modules, fmt.Sprintf("PW_SECONDS=%d", seconds))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return &browserResult{Skipped: fmt.Sprintf("browser: %v: %s", err, strings.TrimSpace(stderr.String()))}
	}
	var page struct {
		Latencies    []float64
		Clock        struct{ Offset, RTT float64 }
		FirstFrameMS float64 `json:"firstFrameMs"`
		Stats        struct {
			JitterBufferMS float64 `json:"jitterBufferMs"`
		}
	}
	if err := json.Unmarshal(out, &page); err != nil {
		return &browserResult{Skipped: fmt.Sprintf("browser output %q: %v", out, err)}
	}
	lat := make([]time.Duration, len(page.Latencies))
	for i, l := range page.Latencies {
		lat[i] = time.Duration(l * float64(time.Millisecond))
	}
	return &browserResult{Latency: summarise(lat), ClockOffsetMS: page.Clock.Offset, PingMS: page.Clock.RTT,
		FirstFrameMS: page.FirstFrameMS, JitterBufferMS: page.Stats.JitterBufferMS}
}

// chromiumBinary is Debian's chromium, which make deps installs.
const chromiumBinary = "/usr/bin/chromium"

func totalGaps(vs []*benchViewer) uint64 {
	var n uint64
	for _, v := range vs {
		n += v.client.Gaps()
	}
	return n
}

// joinViewer connects one Go viewer over WHEP and waits for its first frame; ttff runs from
// the offer's POST to that frame.
func joinViewer(ctx context.Context, api *webrtc.API, url string, clock *sendClock, timeout time.Duration) (*benchViewer, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client, err := fanouttest.NewClient(api)
	if err != nil {
		return nil, err
	}
	offer, err := client.Offer(ctx)
	if err != nil {
		client.Close()
		return nil, err
	}
	start := time.Now()
	resp, err := http.Post(url, "application/sdp", strings.NewReader(offer))
	if err != nil {
		client.Close()
		return nil, err
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		client.Close()
		return nil, fmt.Errorf("WHEP: %d %s", resp.StatusCode, answer)
	}
	if err := client.SetAnswer(string(answer)); err != nil {
		client.Close()
		return nil, err
	}
	v := &benchViewer{client: client, done: make(chan struct{})}
	for v.ttff == 0 {
		select {
		case fr := <-client.Frames():
			v.ttff = fr.Received.Sub(start)
		case <-client.States():
		case <-ctx.Done():
			client.Close()
			return nil, errors.New("no frame within the join timeout")
		}
	}
	go func() {
		defer close(v.done)
		for fr := range framesUntilClosed(client) {
			l, ok := clock.latency(fr.Data, fr.Received)
			v.mu.Lock()
			v.frames++
			if ok {
				v.latencies = append(v.latencies, l)
			}
			v.mu.Unlock()
		}
	}()
	return v, nil
}

// framesUntilClosed relays a client's frames until its peer connection closes.
func framesUntilClosed(c *fanouttest.Client) <-chan fanouttest.Frame {
	out := make(chan fanouttest.Frame)
	go func() {
		defer close(out)
		for {
			select {
			case fr := <-c.Frames():
				out <- fr
			case s := <-c.States():
				if s == webrtc.PeerConnectionStateClosed || s == webrtc.PeerConnectionStateFailed {
					return
				}
			}
		}
	}()
	return out
}

// benchServer is a `pigweight serve` child process, so that its CPU is measured apart from the
// viewers'.
type benchServer struct {
	cmd    *exec.Cmd
	base   string
	exited chan struct{}
}

// startBenchServer starts `pigweight serve` on the configuration cfg, written into dir (its
// data directory is dir/data), with env added to its environment.
func startBenchServer(ctx context.Context, dir, cfg string, env ...string) (*benchServer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "bench.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "serve", "--config", cfgPath, "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "data"), "--log-level", "info")
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &benchServer{cmd: cmd, exited: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		defer close(s.exited)
		sc := bufio.NewScanner(stderr)
		listening := regexp.MustCompile(`msg=listening .*addr=(\S+)`)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		cmd.Wait()
	}()
	select {
	case a := <-addr:
		s.base = "http://" + a
		return s, nil
	case <-s.exited:
		return nil, errors.New("the server exited before listening")
	case <-time.After(60 * time.Second):
		s.stop()
		return nil, errors.New("the server did not listen within 60 s")
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
}

func (s *benchServer) waitPlaying(ctx context.Context, name string) error {
	deadline := time.Now().Add(benchStartTimeout)
	for {
		resp, err := http.Get(s.base + "/api/v1/pipelines/" + name)
		if err == nil {
			var st struct{ State, LastError string }
			json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if st.State == "playing" {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("pipeline %s: %s %s", name, st.State, st.LastError)
			}
		}
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// cpu is the server process's CPU time so far, from /proc.
func (s *benchServer) cpu() time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	_, rest, _ := strings.Cut(string(data), ") ")
	fields := strings.Fields(rest)
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / userHZ
}

func (s *benchServer) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// selfCPU is this process's CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (r *viewersResults) print(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "machine: %s, %d cores, %s, %s\nstream:  %s\nserver with no viewers: %.3f cores\n\n", m.CPU, m.Cores, m.Go, m.GStreamer, r.Stream, r.Idle)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "viewers\tserver cores\tms/s per viewer\tviewers/core\tmin fps\tmedian fps\tlatency p50\tp95\tfirst frame p50\tp95\tRTP gaps\tclients' cores\t")
	for _, s := range r.Steps {
		fmt.Fprintf(tw, "%d\t%.3f\t%.2f\t%.0f\t%.1f\t%.1f\t%.1f\t%.1f\t%.0f\t%.0f\t%d\t%.2f\t\n", s.Viewers, s.ServerCPU, s.PerViewerMS, s.ViewersPerCore,
			s.MinFPS, s.MedianFPS, s.Latency.P50, s.Latency.P95, s.Joins.P50, s.Joins.P95, s.Gaps, s.ClientsCPU)
	}
	tw.Flush()
	fmt.Fprintf(w, "\ntime to first frame over all %d joins: p50 %.0f ms, p95 %.0f ms (latency: camera sends → Go viewer has the whole frame)\n", r.Joins.N, r.Joins.P50, r.Joins.P95)
	if b := r.Browser; b != nil {
		if b.Skipped != "" {
			fmt.Fprintf(w, "\nbrowser: skipped: %s\n", b.Skipped)
		} else {
			fmt.Fprintf(w, "\nheadless Chromium on the live view, beside the Go viewers: glass-to-glass latency (frame reaches the server → shown) p50 %.1f ms, p95 %.1f ms over %d frames; clock offset %.2f ms (ping %.2f ms); first frame %.0f ms after the page began loading; jitter buffer %.1f ms\n",
				b.Latency.P50, b.Latency.P95, b.Latency.N, b.ClockOffsetMS, b.PingMS, b.FirstFrameMS, b.JitterBufferMS)
		}
	}
	if len(r.Drift) > 0 {
		fmt.Fprintln(w, "\ndrift (latency per minute):")
		for _, d := range r.Drift {
			fmt.Fprintf(w, "  minute %2d: p50 %.1f ms, p95 %.1f ms, %d frames\n", d.Minute, d.Latency.P50, d.Latency.P95, d.Latency.N)
		}
	}
}
