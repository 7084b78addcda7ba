package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/go-gst/go-gst/gst"
	"github.com/pigweight/pigweight/pipelines/simcam"
)

// simcamFlags are the flags of `pigweight simcam`.
type simcamFlags struct {
	cfg        simcam.Config
	logLevel   string
	dropEvery  time.Duration
	stallEvery time.Duration
	stallFor   time.Duration
	refuseFor  time.Duration
	control    string
}

func parseSimcamFlags(args []string, stderr io.Writer) (simcamFlags, error) {
	var f simcamFlags
	fs := flag.NewFlagSet("simcam", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.cfg.Addr, "listen", "127.0.0.1:8554", "RTSP listen address (TCP)")
	fs.StringVar(&f.cfg.Path, "path", simcam.DefaultPath, "stream path")
	fs.StringVar(&f.cfg.User, "user", "", "user name clients must give (Basic or Digest)")
	fs.StringVar(&f.cfg.Pass, "pass", "", "password clients must give; better set SIMCAM_PASS, which ps does not show")
	fs.StringVar(&f.cfg.File, "file", "", "serve this H.264 file (MP4, MKV, MPEG-TS) in a loop instead of the synthetic pen")
	fs.BoolVar(&f.cfg.UDP, "udp", false, "also offer RTP over UDP (TCP interleaved is always offered)")
	fs.IntVar(&f.cfg.Pen.Width, "width", simcam.DefaultWidth, "synthetic pen: frame width")
	fs.IntVar(&f.cfg.Pen.Height, "height", simcam.DefaultHeight, "synthetic pen: frame height")
	fs.IntVar(&f.cfg.Pen.FPS, "fps", simcam.DefaultFPS, "synthetic pen: frames per second")
	fs.IntVar(&f.cfg.Pen.Pigs, "pigs", simcam.DefaultPigs, "synthetic pen: number of pigs")
	fs.Int64Var(&f.cfg.Pen.Seed, "seed", simcam.DefaultSeed, "synthetic pen: random seed")
	fs.DurationVar(&f.dropEvery, "drop-every", 0, "close every client connection at this interval (0: never)")
	fs.DurationVar(&f.stallEvery, "stall-every", 0, "stop sending video at this interval (0: never); needs --stall-for")
	fs.DurationVar(&f.stallFor, "stall-for", 0, "how long each stall lasts")
	fs.DurationVar(&f.refuseFor, "refuse-for", 0, "refuse new sessions (503) for this long after start")
	fs.StringVar(&f.control, "control", "", "loopback address for HTTP control: POST /drop, POST /stall?on=BOOL, POST /refuse?on=BOOL, GET /stats")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	passSet := false
	fs.Visit(func(fl *flag.Flag) { passSet = passSet || fl.Name == "pass" })
	if !passSet {
		f.cfg.Pass = os.Getenv("SIMCAM_PASS")
	}
	switch {
	case f.dropEvery < 0, f.stallEvery < 0, f.stallFor < 0, f.refuseFor < 0:
		return f, errors.New("durations must not be negative")
	case f.stallEvery > 0 && (f.stallFor <= 0 || f.stallFor >= f.stallEvery):
		return f, errors.New("--stall-every needs --stall-for, shorter than it")
	case f.stallEvery == 0 && f.stallFor > 0:
		return f, errors.New("--stall-for needs --stall-every")
	}
	if f.control != "" {
		if err := checkLoopback(f.control); err != nil {
			return f, fmt.Errorf("--control: %w", err)
		}
	}
	return f, nil
}

// checkLoopback accepts only loopback addresses: the control API has no authentication.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address (the control API has no authentication)", addr)
	}
	return nil
}

// simcamCmd runs a simulated RTSP camera until SIGINT or SIGTERM, rehearsing the faults its
// flags ask for; it prints the stream URL on stdout. Exit codes as for run.
func simcamCmd(args []string, stdout, stderr io.Writer) int {
	f, err := parseSimcamFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "pigweight simcam:", err)
		}
		return 2
	}
	log, err := newLogger(stderr, f.logLevel)
	if err != nil {
		fmt.Fprintln(stderr, "pigweight simcam:", err)
		return 2
	}
	f.cfg.Logger = log

	gst.Init(nil)
	cam, err := simcam.Start(f.cfg)
	if err != nil {
		log.Error("cannot start the camera", "err", err)
		if errors.Is(err, simcam.ErrInvalidConfig) {
			return 2
		}
		return 1
	}
	defer cam.Close()
	fmt.Fprintln(stdout, cam.URL())

	var control *http.Server
	if f.control != "" {
		ln, err := net.Listen("tcp", f.control)
		if err != nil {
			log.Error("cannot listen for control; choose another --control address", "err", err)
			return 1
		}
		control = &http.Server{Handler: simcamControl(cam), ReadHeaderTimeout: 5 * time.Second}
		served := make(chan struct{})
		go func() {
			defer close(served)
			if err := control.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				log.Error("control server stopped", "err", err)
			}
		}()
		log.Info("control API listening", "addr", ln.Addr().String())
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			control.Shutdown(ctx)
			<-served
		}()
	}

	ctx, cancel := context.WithCancel(context.Background())
	faultsDone := make(chan struct{})
	go func() {
		defer close(faultsDone)
		rehearseFaults(ctx, cam, f, log)
	}()
	defer func() {
		cancel()
		<-faultsDone
	}()

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	sig := <-signals
	// From here a second signal takes the default action and ends the process at once.
	signal.Stop(signals)
	log.Info("shutting down", "signal", sig.String())
	return 0
}

// rehearseFaults drives the scheduled faults until ctx is done: refuse for a while after
// start, drop every client at an interval, stall at an interval for a while.
func rehearseFaults(ctx context.Context, cam *simcam.Camera, f simcamFlags, log *slog.Logger) {
	var refuseEnd, dropTick, stallTick, stallEnd <-chan time.Time
	if f.refuseFor > 0 {
		cam.Refuse(true)
		t := time.NewTimer(f.refuseFor)
		defer t.Stop()
		refuseEnd = t.C
	}
	if f.dropEvery > 0 {
		t := time.NewTicker(f.dropEvery)
		defer t.Stop()
		dropTick = t.C
	}
	var stallTimer *time.Timer
	if f.stallEvery > 0 {
		t := time.NewTicker(f.stallEvery)
		defer t.Stop()
		stallTick = t.C
		stallTimer = time.NewTimer(f.stallFor)
		stallTimer.Stop()
		defer stallTimer.Stop()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-refuseEnd:
			cam.Refuse(false)
		case <-dropTick:
			cam.Drop()
		case <-stallTick:
			cam.Stall(true)
			stallTimer.Reset(f.stallFor)
			stallEnd = stallTimer.C
		case <-stallEnd:
			cam.Stall(false)
			stallEnd = nil
		}
		log.Debug("fault schedule", "stats", cam.Stats())
	}
}

// simcamControl is the HTTP control API: faults on demand and the camera's counters.
func simcamControl(cam *simcam.Camera) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /drop", func(w http.ResponseWriter, _ *http.Request) {
		cam.Drop()
		w.WriteHeader(http.StatusNoContent)
	})
	toggle := func(set func(bool)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			on, err := strconv.ParseBool(r.URL.Query().Get("on"))
			if err != nil {
				http.Error(w, "want ?on=true or ?on=false", http.StatusBadRequest)
				return
			}
			set(on)
			w.WriteHeader(http.StatusNoContent)
		}
	}
	mux.HandleFunc("POST /stall", toggle(cam.Stall))
	mux.HandleFunc("POST /refuse", toggle(cam.Refuse))
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(cam.Stats())
	})
	return mux
}
