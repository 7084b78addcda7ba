package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/go-gst/go-gst/gst"
	"github.com/pigweight/pigweight/elements/infer"
	"github.com/pigweight/pigweight/elements/model"
	"github.com/pigweight/pigweight/pipelines"
	"github.com/pigweight/pigweight/pipelines/graph"
	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/pipelines/spec"
	"github.com/pigweight/pigweight/web"
	"github.com/pigweight/pigweight/web/api"
)

// shutdownGrace bounds how long in-flight requests and pipelines get to finish on SIGTERM.
const shutdownGrace = 10 * time.Second

// serveFlags are the flags shared by serve and doctor.
type serveFlags struct {
	config, listen, data, logLevel string
}

func parseServeFlags(name string, args []string, stderr io.Writer) (serveFlags, error) {
	var f serveFlags
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.config, "config", "configs/pigweight.yaml", "configuration file")
	fs.StringVar(&f.listen, "listen", "", "listen address, overrides server.listen")
	fs.StringVar(&f.data, "data", "", "data directory, overrides server.data_dir")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return f, nil
}

// loadConfig reads the config file and applies the command-line overrides.
func loadConfig(f serveFlags) (*spec.Config, error) {
	cfg, err := spec.Load(f.config)
	if err != nil {
		return nil, err
	}
	if f.listen != "" {
		cfg.Server.Listen = f.listen
	}
	if f.data != "" {
		cfg.Server.DataDir = f.data
	}
	return cfg, cfg.Validate()
}

func serve(args []string, stderr io.Writer) int {
	f, err := parseServeFlags("serve", args, stderr)
	if err != nil {
		return 2
	}
	log, err := newLogger(stderr, f.logLevel)
	if err != nil {
		fmt.Fprintln(stderr, "pigweight:", err)
		return 2
	}
	cfg, err := loadConfig(f)
	if err != nil {
		printConfigErrors(stderr, f.config, err)
		return 2
	}
	if err := os.MkdirAll(cfg.Server.DataDir, 0o750); err != nil {
		log.Error("cannot create the data directory; set server.data_dir or --data", "err", err)
		return 1
	}

	gst.Init(nil)
	// Under GST_TRACERS=leaks, the system status counts GStreamer objects from here on.
	graph.LiveObjectChange()
	if err := infer.RegisterElement(); err != nil {
		log.Error("cannot register the inference element", "err", err)
		return 1
	}
	ort, ortInfo := openRuntime(log)
	if ort != nil {
		defer ort.Close()
	}
	engines := loadEngines(ort, cfg.Models, log)
	defer closeEngines(engines)
	manager := pipelines.NewManager(gstRuntime(log), log)
	pens, closeWeighing, err := openWeighing(cfg.Server.DataDir, log)
	if err != nil {
		log.Error("cannot open the database in the data directory (move the file away to start afresh)", "err", err)
		return 1
	}
	defer closeWeighing() // after manager.Close below: the runs' open visits are stored too
	manager.SetFrameStage(weighingStage{pens})
	limitGoMemory(cfg.Server.FrameCacheBytes, log)
	library, closeFrames, err := newVideoLibrary(cfg, engines, log)
	if err != nil {
		log.Error("cannot open the video library in the data directory", "dir", cfg.Server.DataDir, "err", err)
		return 1
	}
	defer closeFrames()
	defer library.Close()
	viewers, err := newViewerRoutes(manager, cfg.WebRTC, log)
	if err != nil {
		log.Error("cannot set up WebRTC; check the webrtc section of the configuration", "err", err)
		return 1
	}
	defer viewers.close()
	app := api.New(api.Options{
		Pipelines: manager,
		ParsePipeline: func(body []byte) (spec.Pipeline, error) {
			return spec.ParsePipeline("request", body, cfg)
		},
		System:  func() api.System { return systemInfo(ortInfo, viewers.counts()) },
		Token:   cfg.Server.APIToken,
		Logger:  log,
		Version: version,
		Models:  func() any { return modelInfos(engines) },
		Reload:  func() (any, error) { return reload(f, cfg, manager, log) },
		Videos:  library,
		Viewers: viewers.hubs.Viewers,
		Pens:    pens,
	})
	// Uploads bypass the Fiber app, which would hold the whole body in memory.
	upload := web.Route{Pattern: "POST /api/v1/videos", Handler: api.UploadHandler(library, cfg.Server.APIToken, log), BodyTypes: api.UploadBodyTypes()}
	srv, err := web.Listen(cfg.Server.Listen, app, web.Options{
		Logger:       log,
		Hostnames:    cfg.Server.Hostnames,
		ReadTimeout:  cfg.Server.ReadTimeout.D(),
		WriteTimeout: cfg.Server.WriteTimeout.D(),
		IdleTimeout:  cfg.Server.IdleTimeout.D(),
	}, append(viewers.routes, upload)...)
	if err != nil {
		log.Error("cannot listen; is another pigweight running? set server.listen or --listen", "err", err)
		return 1
	}
	if srv.Exposed() && cfg.Server.APIToken == "" {
		log.Warn("listening beyond this machine without server.api_token: anyone who can reach it can add, stop and delete pipelines and upload and delete videos; set server.api_token", "addr", srv.Addr().String())
	}
	for _, p := range cfg.Pipelines {
		if err := manager.AddFromConfig(p); err != nil {
			log.Error("add pipeline", "pipeline", p.Name, "err", err)
		}
	}
	// Pipelines added through the API (the page's "Add pipeline") survive restarts.
	kept, problems := manager.KeepAPIPipelines(filepath.Join(cfg.Server.DataDir, "pipelines"), func(file string, data []byte) (spec.Pipeline, error) {
		return spec.ParsePipeline(file, data, cfg)
	})
	for _, err := range problems {
		log.Error("a pipeline added through the API could not be restored", "err", err)
	}
	if len(kept) > 0 {
		log.Info("pipelines added through the API restored", "pipelines", kept)
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(signals)
	hangups := make(chan os.Signal, 1)
	signal.Notify(hangups, syscall.SIGHUP)
	defer signal.Stop(hangups)

	code := 0
wait:
	for {
		select {
		case <-hangups:
			// The result and any error are logged by reload.
			_, _ = reload(f, cfg, manager, log)
		case sig := <-signals:
			log.Info("shutting down; send the signal again to force", "signal", sig.String())
			break wait
		case err := <-served:
			log.Error("HTTP server stopped", "err", err)
			code = 1
			break wait
		}
	}
	// A second signal forces the exit, whatever is still draining.
	go func() {
		<-signals
		log.Warn("second signal: exiting now")
		os.Exit(1)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	// WebSockets are hijacked connections that Shutdown does not track: close them first.
	viewers.close()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Warn("HTTP shutdown", "err", err)
	}
	manager.Close()
	log.Info("stopped")
	return code
}

// reload re-reads the configuration file and applies its pipelines: only those that changed
// restart. Server and model settings apply at the next start; a changed one is logged.
func reload(f serveFlags, running *spec.Config, manager *pipelines.Manager, log *slog.Logger) (pipelines.ReloadResult, error) {
	cfg, err := loadConfig(f)
	if err != nil {
		log.Error("reload refused: the configuration has problems; nothing changed", "config", f.config, "err", err)
		return pipelines.ReloadResult{}, err
	}
	if !cfg.Server.Equal(running.Server) || !cfg.WebRTC.Equal(running.WebRTC) || !slices.EqualFunc(cfg.Models, running.Models, modelsEqual) {
		log.Warn("server, webrtc and models settings changed: they apply at the next start", "config", f.config)
	}
	res, err := manager.Reload(cfg.Pipelines)
	if err != nil {
		return res, err
	}
	log.Info("configuration reloaded", "added", res.Added, "removed", res.Removed, "restarted", res.Restarted, "unchanged", len(res.Unchanged))
	return res, nil
}

func modelsEqual(a, b spec.Model) bool {
	return spec.Config{Models: []spec.Model{a}}.Equal(spec.Config{Models: []spec.Model{b}})
}

// openRuntime loads ONNX Runtime if it can; the server runs without it (no inference), and
// /api/v1/system says why.
func openRuntime(log *slog.Logger) (*model.Runtime, api.Runtime) {
	path, err := model.FindLibrary()
	if err != nil {
		log.Warn("ONNX Runtime not loaded: inference is unavailable", "err", err)
		return nil, api.Runtime{Error: err.Error()}
	}
	rt, err := model.Open(path)
	if err != nil {
		log.Warn("ONNX Runtime not loaded: inference is unavailable", "err", err)
		return nil, api.Runtime{Error: err.Error()}
	}
	info := rt.Info()
	out := api.Runtime{Version: info.Version}
	for _, p := range info.Providers {
		out.Providers = append(out.Providers, api.Provider{Name: p.Name, Usable: p.Usable, Error: p.Error})
	}
	log.Info("ONNX Runtime loaded", "version", info.Version, "library", path)
	return rt, out
}

// loadEngines loads every configured model and makes it available to pwinfer elements. A model
// that cannot load is logged; pipelines using it retry (and say why) until it can.
func loadEngines(rt *model.Runtime, models []spec.Model, log *slog.Logger) []*infer.Engine {
	var engines []*infer.Engine
	for _, m := range models {
		if rt == nil {
			log.Error("model not loaded: ONNX Runtime is unavailable", "model", m.Name)
			continue
		}
		e, err := infer.NewEngine(rt, engineConfig(m), log)
		if err != nil {
			log.Error("model not loaded; pipelines using it will retry", "model", m.Name, "err", err)
			continue
		}
		if err := infer.AddEngine(e); err != nil {
			log.Error("model not loaded", "model", m.Name, "err", err)
			e.Close()
			continue
		}
		engines = append(engines, e)
	}
	return engines
}

// engineConfig turns a model's config into the inference engine's.
func engineConfig(m spec.Model) infer.EngineConfig {
	providers := make([]string, len(m.Providers))
	for i, p := range m.Providers {
		providers[i] = string(p)
	}
	return infer.EngineConfig{
		Name:       m.Name,
		Session:    model.SessionConfig{Path: m.Path, Providers: providers, Threads: m.Threads},
		Workers:    m.Workers,
		Format:     string(m.Format),
		Classes:    m.Classes,
		MaxBatch:   m.MaxBatch,
		MaxWait:    m.MaxWait.D(),
		Confidence: float32(m.Confidence),
		IoU:        float32(m.IoU),
	}
}

// closeEngines runs after the pipelines have stopped: no element waits on an engine any more.
func closeEngines(engines []*infer.Engine) {
	for _, e := range engines {
		infer.RemoveEngine(e.Name())
		e.Close()
	}
}

func modelInfos(engines []*infer.Engine) []infer.Info {
	out := make([]infer.Info, len(engines))
	for i, e := range engines {
		out[i] = e.Info()
	}
	return out
}

// systemInfo answers GET /api/v1/system.
func systemInfo(ort api.Runtime, viewers api.ViewerCounts) api.System {
	sys := api.System{Version: version, GStreamer: graph.Version(), NVDEC: graph.NVDEC(), ONNXRuntime: ort, Viewers: viewers, Process: processInfo()}
	for _, d := range graph.Decoders() {
		sys.Decoders = append(sys.Decoders, api.Decoder{Name: d.Name, Codec: string(d.Codec), Hardware: d.Hardware, Available: d.Available})
	}
	return sys
}

// printConfigErrors prints every configuration problem, one a line.
func printConfigErrors(w io.Writer, file string, err error) {
	var errs spec.Errors
	if errors.As(err, &errs) {
		fmt.Fprintf(w, "pigweight: %s has %d problem(s):\n", file, len(errs))
		for _, e := range errs {
			fmt.Fprintln(w, "  "+e.Error())
		}
		return
	}
	fmt.Fprintf(w, "pigweight: %s: %v\n", file, err)
}

// gstRuntime runs pipelines with GStreamer (package graph).
func gstRuntime(log *slog.Logger) pipelines.Runtime {
	rt := &graph.Runtime{Log: log}
	return pipelines.RuntimeFunc(func(p spec.Pipeline, hooks media.Hooks) (pipelines.Run, error) {
		return rt.Start(p, hooks)
	})
}
