package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/pigweight/pigweight/pipelines/pen"
	"github.com/pigweight/pigweight/pipelines/simcam"
	"github.com/pigweight/pigweight/signaling/fanout/fanouttest"
	"github.com/pion/webrtc/v4"
	"gonum.org/v1/gonum/stat"
)

// soakFlags are the settings of one `pigweight bench soak` run.
type soakFlags struct {
	out             string
	duration        time.Duration
	sample          time.Duration
	warmup          time.Duration
	viewers         int
	dropEvery       time.Duration
	scrubEvery      time.Duration
	leaveAfterMax   time.Duration
	clipSeconds     int
	width, height   int
	fps             int
	pipelineTimeout time.Duration
}

func parseSoakFlags(args []string, stderr io.Writer) (soakFlags, error) {
	f := soakFlags{width: 320, height: 240, fps: 15, pipelineTimeout: benchStartTimeout}
	fs := flag.NewFlagSet("bench soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.out, "out", "bench/soak.json", "where the results are written as JSON")
	fs.DurationVar(&f.duration, "duration", 30*time.Minute, "how long the server is kept busy")
	fs.DurationVar(&f.sample, "sample", time.Minute, "how often the server's open files, goroutines and memory are sampled")
	fs.DurationVar(&f.warmup, "warmup", 5*time.Minute, "samples before this are left out of the trend (caches and pools filling up)")
	fs.IntVar(&f.viewers, "viewers", 10, "WHEP viewers that keep joining and leaving")
	fs.DurationVar(&f.dropEvery, "drop-every", 5*time.Second, "the flapping camera drops its clients this often")
	fs.DurationVar(&f.scrubEvery, "scrub-every", 250*time.Millisecond, "one exact frame of an upload is asked for this often")
	fs.DurationVar(&f.leaveAfterMax, "stay", 15*time.Second, "a viewer stays up to this long before it leaves")
	fs.IntVar(&f.clipSeconds, "clip-seconds", 4, "length of the looping file, in seconds")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	switch {
	case fs.NArg() > 0:
		err := fmt.Errorf("unexpected argument %q", fs.Arg(0))
		fmt.Fprintln(stderr, "pigweight bench soak:", err)
		return f, err
	case f.duration <= 0 || f.sample <= 0 || f.warmup < 0 || f.viewers < 0 || f.dropEvery <= 0 || f.scrubEvery <= 0 || f.leaveAfterMax <= 0 || f.clipSeconds < 1:
		err := errors.New("--duration, --sample, --drop-every, --scrub-every, --stay must be positive, --clip-seconds at least 1, --warmup and --viewers not negative")
		fmt.Fprintln(stderr, "pigweight bench soak:", err)
		return f, err
	case f.warmup+2*f.sample > f.duration:
		err := errors.New("--duration must leave at least two samples after --warmup")
		fmt.Fprintln(stderr, "pigweight bench soak:", err)
		return f, err
	}
	return f, nil
}

// soakResults is what `pigweight bench soak` writes.
type soakResults struct {
	Date     string       `json:"date"`
	Command  string       `json:"command"`
	Machine  benchMachine `json:"machine"`
	Load     string       `json:"load"`
	Duration string       `json:"duration"`
	Warmup   string       `json:"warmup"`
	Samples  []soakSample `json:"samples"`
	// QuietBefore and QuietAfter are the server with the load paused, once the viewers have
	// gone: after the warm-up and at the end. Whatever a leak kept is in the difference.
	QuietBefore soakSample `json:"quiet_before"`
	QuietAfter  soakSample `json:"quiet_after"`
	// Trend is, per figure, the least-squares slope per hour over the samples after the
	// warm-up, and the growth from the first of them to the last.
	Trend map[string]soakTrend `json:"trend"`
	// Activity counts what the server went through, for the reader to judge the load.
	Activity soakActivity `json:"activity"`
}

// soakSample is the server process at one moment.
type soakSample struct {
	At         string  `json:"at"` // since the start, e.g. "5m0s"
	FDs        int     `json:"open_files"`
	Goroutines int     `json:"goroutines"`
	RSSMB      float64 `json:"rss_mb"`
	// GStreamerObjects is how many more GStreamer objects are alive than at the server's
	// start (its leaks tracer's count); -1 where the server does not report it.
	GStreamerObjects int `json:"gstreamer_objects"`
	Restarts         int `json:"restarts"` // of every pipeline, so far
}

type soakTrend struct {
	PerHour float64 `json:"per_hour"`
	Growth  float64 `json:"growth"`
}

type soakActivity struct {
	Restarts     int    `json:"restarts"`
	ViewerJoins  uint64 `json:"viewer_joins"`
	ViewerFailed uint64 `json:"viewer_joins_failed"`
	Frames       uint64 `json:"frames_scrubbed"`
	FrameErrors  uint64 `json:"frame_errors"`
	Drops        uint64 `json:"camera_drops"`
}

func benchSoakCmd(args []string, stdout, stderr io.Writer) int {
	f, err := parseSoakFlags(args, stderr)
	if err != nil {
		return 2
	}
	return runBenchmark("soak", args, f.out, stdout, stderr, func(ctx context.Context, progress io.Writer) (benchReport, error) {
		return benchSoak(ctx, f, progress)
	})
}

func (r *soakResults) setCommand(line string) { r.Command = line }

// benchSoak keeps a server busy with everything that used to leak, and samples it.
func benchSoak(ctx context.Context, f soakFlags, progress io.Writer) (*soakResults, error) {
	res := &soakResults{
		Date:     time.Now().UTC().Format(time.RFC3339),
		Machine:  thisMachine(),
		Duration: f.duration.String(),
		Warmup:   f.warmup.String(),
		Load: fmt.Sprintf("a camera that drops its clients every %s; a camera that refuses, retried every 100ms; a %d s file looping; "+
			"%d WHEP viewers joining and leaving (half say goodbye, half vanish); an exact frame of one of two uploads every %s",
			f.dropEvery, f.clipSeconds, f.viewers, f.scrubEvery),
	}
	dir, err := os.MkdirTemp("", "pigweight-bench-soak-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	pc := pen.Config{Width: f.width, Height: f.height, FPS: f.fps}
	fmt.Fprintln(progress, "recording the clips...")
	loop := filepath.Join(dir, "loop.mp4")
	uploads := []string{filepath.Join(dir, "upload-1.mp4"), filepath.Join(dir, "upload-2.mp4")}
	for i, path := range append([]string{loop}, uploads...) {
		clip := simcam.Clip{Pen: pc, Frames: f.clipSeconds * f.fps}
		if i > 0 {
			clip.Pen.Seed, clip.Frames, clip.BFrames = int64(i+1), 10*f.fps, 2
		}
		if err := simcam.WritePenClip(path, clip); err != nil {
			return nil, err
		}
	}
	flapping, err := simcam.Start(simcam.Config{Addr: "127.0.0.1:0", Pen: pc})
	if err != nil {
		return nil, err
	}
	defer flapping.Close()
	refusing, err := closedPort()
	if err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`pipelines:
  - name: flapping
    source: {type: rtsp, uri: %q, transport: tcp}
  - name: refusing
    source: {type: rtsp, uri: %q}
    restart: {backoff_min: 100ms, backoff_max: 100ms}
  - name: loop
    source: {type: file, uri: %q, loop: true}
`, flapping.URL(), "rtsp://"+refusing+"/pen", loop)
	// The leaks tracer makes the server count its GStreamer objects (GET /api/v1/system).
	srv, err := startBenchServer(ctx, dir, cfg, "GST_TRACERS=leaks")
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	fmt.Fprintf(progress, "server pid %d at %s; waiting for its pipelines...\n", srv.cmd.Process.Pid, srv.base)
	for _, name := range []string{"flapping", "loop"} {
		if err := srv.waitPlaying(ctx, name); err != nil {
			return nil, err
		}
	}
	ids, err := uploadAll(ctx, srv.base, uploads)
	if err != nil {
		return nil, err
	}

	api, err := fanouttest.NewAPI()
	if err != nil {
		return nil, err
	}
	l := &soakLoad{f: f, base: srv.base, api: api, camera: flapping, videos: ids}
	defer l.stop()
	start := time.Now()
	sampleOnce := func(quiet bool) (soakSample, error) {
		s, err := srv.sample()
		if err != nil {
			return s, err
		}
		s.At = time.Since(start).Round(time.Second).String()
		what := "under load"
		if quiet {
			what = "quiet"
		} else {
			res.Samples = append(res.Samples, s)
		}
		fmt.Fprintf(progress, "%8s  %5d open files  %5d goroutines  %7.1f MB  %6d GStreamer objects  %5d restarts  (%s)\n",
			s.At, s.FDs, s.Goroutines, s.RSSMB, s.GStreamerObjects, s.Restarts, what)
		return s, nil
	}
	// runFor keeps the load on until the run is d old, sampling it.
	runFor := func(d time.Duration) error {
		l.start(ctx)
		if _, err := sampleOnce(false); err != nil {
			return err
		}
		tick := time.NewTicker(f.sample)
		defer tick.Stop()
		for time.Since(start) < d {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-tick.C:
				if _, err := sampleOnce(false); err != nil {
					return err
				}
			}
		}
		l.stop()
		return srv.waitNoViewers(ctx)
	}
	if err := runFor(f.warmup); err != nil {
		return nil, err
	}
	if res.QuietBefore, err = sampleOnce(true); err != nil {
		return nil, err
	}
	if err := runFor(f.duration); err != nil {
		return nil, err
	}
	if res.QuietAfter, err = sampleOnce(true); err != nil {
		return nil, err
	}
	last := res.Samples[len(res.Samples)-1]
	res.Activity = l.activity()
	res.Activity.Restarts = last.Restarts
	res.Trend = soakTrends(res.Samples, f.warmup)
	return res, nil
}

// soakLoad is everything the soak does to the server besides its pipelines: the flapping
// camera's drops, the viewers and the scrubbing. It can be stopped and started again.
type soakLoad struct {
	f      soakFlags
	base   string
	api    *webrtc.API
	camera *simcam.Camera
	videos []string

	cancel context.CancelFunc
	wg     sync.WaitGroup
	rounds uint64 // starts so far: each start's viewers and scrubber draw other numbers

	joins, failed, frames, frameErrors, drops atomic.Uint64
}

func (l *soakLoad) start(ctx context.Context) {
	ctx, l.cancel = context.WithCancel(ctx)
	l.rounds++
	round := l.rounds
	l.wg.Go(func() {
		tick := time.NewTicker(l.f.dropEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				l.camera.Drop()
				l.drops.Add(1)
			}
		}
	})
	for i := range l.f.viewers {
		stream := []string{"flapping", "loop"}[i%2]
		rng := rand.New(rand.NewPCG(uint64(i), round))
		l.wg.Go(func() {
			for ctx.Err() == nil {
				stay := time.Second + time.Duration(rng.Int64N(int64(l.f.leaveAfterMax)))
				err := soakViewer(ctx, l.api, l.base, stream, stay, i%2 == 0)
				switch {
				case ctx.Err() != nil:
				case err != nil:
					l.failed.Add(1) // the flapping camera may be between connections
					sleepCtx(ctx, time.Second)
				default:
					l.joins.Add(1)
				}
			}
		})
	}
	l.wg.Go(func() {
		rng := rand.New(rand.NewPCG(1, round))
		tick := time.NewTicker(l.f.scrubEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				format := []string{"jpeg", "jpeg", "png", "raw"}[rng.IntN(4)]
				url := fmt.Sprintf("%s/api/v1/videos/%s/frames/%d?format=%s", l.base, l.videos[rng.IntN(len(l.videos))], rng.IntN(10*l.f.fps), format)
				if err := drain(ctx, url); err == nil {
					l.frames.Add(1)
				} else if ctx.Err() == nil {
					l.frameErrors.Add(1)
				}
			}
		}
	})
}

// stop ends the load and waits for it; a stopped load may be stopped again.
func (l *soakLoad) stop() {
	if l.cancel != nil {
		l.cancel()
	}
	l.wg.Wait()
}

func (l *soakLoad) activity() soakActivity {
	return soakActivity{ViewerJoins: l.joins.Load(), ViewerFailed: l.failed.Load(), Frames: l.frames.Load(),
		FrameErrors: l.frameErrors.Load(), Drops: l.drops.Load()}
}

// waitNoViewers waits until the server holds no viewer: those that left without a word are
// closed once their connection times out.
func (s *benchServer) waitNoViewers(ctx context.Context) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var sys struct {
			Viewers struct{ Now int } `json:"viewers"`
		}
		if err := getJSON(s.base+"/api/v1/system", &sys); err != nil {
			return err
		}
		if sys.Viewers.Now == 0 {
			// A moment for what the last viewer held (its sockets, its goroutines) to go.
			return sleepCtx(ctx, 2*time.Second)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d viewers still held 2 minutes after the last left", sys.Viewers.Now)
		}
		if err := sleepCtx(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// uploadAll uploads each file and returns the videos' ids.
func uploadAll(ctx context.Context, base string, paths []string) ([]string, error) {
	var ids []string
	for _, path := range paths {
		body, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/videos?name="+filepath.Base(path), body)
		if err != nil {
			body.Close()
			return nil, err
		}
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := http.DefaultClient.Do(req)
		body.Close()
		if err != nil {
			return nil, err
		}
		var v struct{ ID, Error string }
		json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if v.ID == "" {
			return nil, fmt.Errorf("upload %s: %d %s", filepath.Base(path), resp.StatusCode, v.Error)
		}
		ids = append(ids, v.ID)
	}
	return ids, nil
}

// drain GETs url and reads the answer to its end; an error for anything but 200.
func drain(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// soakViewer joins stream over WHEP, waits for its first frame, watches for stay and leaves:
// with a DELETE (goodbye), or by closing its peer connection without a word, as a phone that
// loses its network does, which the server must notice by itself.
func soakViewer(ctx context.Context, api *webrtc.API, base, stream string, stay time.Duration, goodbye bool) error {
	client, err := fanouttest.NewClient(api)
	if err != nil {
		return err
	}
	defer client.Close()
	join, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	offer, err := client.Offer(join)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(join, http.MethodPost, base+"/whep/"+stream, strings.NewReader(offer))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/sdp")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("WHEP: %s %s", resp.Status, answer)
	}
	session := resp.Header.Get("Location")
	if err := client.SetAnswer(string(answer)); err != nil {
		return err
	}
	for first := false; !first; {
		select {
		case <-client.Frames():
			first = true
		case <-client.States():
		case <-join.Done():
			return errors.New("no frame within 15s")
		}
	}
	watch := time.NewTimer(stay)
	defer watch.Stop()
	for watching := true; watching; {
		select {
		case <-client.Frames():
		case <-client.States():
		case <-watch.C:
			watching = false
		case <-ctx.Done():
			watching = false
		}
	}
	if goodbye && session != "" {
		req, err := http.NewRequest(http.MethodDelete, base+session, nil)
		if err == nil {
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}
	return nil
}

// sample reads the server process's open files and memory from /proc and its goroutines,
// GStreamer objects and restarts from its API.
func (s *benchServer) sample() (soakSample, error) {
	fds, rss, err := processFootprint(strconv.Itoa(s.cmd.Process.Pid))
	if err != nil {
		return soakSample{}, err
	}
	out := soakSample{FDs: fds, RSSMB: float64(rss) / (1 << 20), GStreamerObjects: -1}
	var sys struct {
		Process struct {
			Goroutines       int            `json:"goroutines"`
			GStreamerObjects map[string]int `json:"gstreamer_objects"`
		} `json:"process"`
	}
	if err := getJSON(s.base+"/api/v1/system", &sys); err != nil {
		return soakSample{}, err
	}
	out.Goroutines = sys.Process.Goroutines
	if sys.Process.GStreamerObjects != nil {
		out.GStreamerObjects = 0
		for _, n := range sys.Process.GStreamerObjects {
			out.GStreamerObjects += n
		}
	}
	var pipelines []struct{ Restarts int }
	if err := getJSON(s.base+"/api/v1/pipelines", &pipelines); err != nil {
		return soakSample{}, err
	}
	for _, p := range pipelines {
		out.Restarts += p.Restarts
	}
	return out, nil
}

func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// soakTrends fits a line through each figure's samples after the warm-up.
func soakTrends(samples []soakSample, warmup time.Duration) map[string]soakTrend {
	var hours []float64
	series := map[string][]float64{}
	for _, s := range samples {
		at, _ := time.ParseDuration(s.At)
		if at < warmup {
			continue
		}
		hours = append(hours, at.Hours())
		series["open_files"] = append(series["open_files"], float64(s.FDs))
		series["goroutines"] = append(series["goroutines"], float64(s.Goroutines))
		series["rss_mb"] = append(series["rss_mb"], s.RSSMB)
		if s.GStreamerObjects >= 0 {
			series["gstreamer_objects"] = append(series["gstreamer_objects"], float64(s.GStreamerObjects))
		}
	}
	out := map[string]soakTrend{}
	for name, ys := range series {
		if len(ys) < 2 || len(ys) != len(hours) {
			continue
		}
		_, slope := stat.LinearRegression(hours, ys, nil, false)
		out[name] = soakTrend{PerHour: slope, Growth: ys[len(ys)-1] - ys[0]}
	}
	return out
}

func (r *soakResults) print(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "machine: %s, %d cores, %s, %s\nload:    %s\n\n", m.CPU, m.Cores, m.Go, m.GStreamer, r.Load)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "at\topen files\tgoroutines\tRSS MB\tGStreamer objects\trestarts\t")
	for _, s := range r.Samples {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%d\t%d\t\n", s.At, s.FDs, s.Goroutines, s.RSSMB, s.GStreamerObjects, s.Restarts)
	}
	tw.Flush()
	b, a := r.QuietBefore, r.QuietAfter
	fmt.Fprintf(w, "\nquiet (no viewers, no scrubbing), after the warm-up and at the end: %d → %d open files, %d → %d goroutines, %.1f → %.1f MB, %d → %d GStreamer objects\n",
		b.FDs, a.FDs, b.Goroutines, a.Goroutines, b.RSSMB, a.RSSMB, b.GStreamerObjects, a.GStreamerObjects)
	fmt.Fprintf(w, "under load after the %s warm-up, growth (per hour by least squares):\n", r.Warmup)
	for _, name := range []string{"open_files", "goroutines", "rss_mb", "gstreamer_objects"} {
		if t, ok := r.Trend[name]; ok {
			fmt.Fprintf(w, "  %-18s %+8.1f  (%+.1f/h)\n", name, t.Growth, t.PerHour)
		}
	}
	act := r.Activity
	fmt.Fprintf(w, "activity: %d restarts, %d camera drops, %d viewer joins (%d failed), %d frames scrubbed (%d errors)\n",
		act.Restarts, act.Drops, act.ViewerJoins, act.ViewerFailed, act.Frames, act.FrameErrors)
}
