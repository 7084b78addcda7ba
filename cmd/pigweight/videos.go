package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/pigweight/pigweight/elements/batch"
	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/elements/infer"
	"github.com/pigweight/pigweight/elements/model"
	"github.com/pigweight/pigweight/pipelines/frames"
	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/pipelines/spec"
	"github.com/pigweight/pigweight/pipelines/videos"
)

// jobFrameCacheBytes is the cache of the frame reader jobs decode with: enough for the frames
// it decodes ahead of a job (frames.DefaultPrefetch) at 1080p, while the model works.
const jobFrameCacheBytes = 64 << 20

// jobWorkers is how many jobs run at once (videos.Config.JobWorkers): batch jobs share the
// inference hardware with live cameras.
const jobWorkers = 1

// newVideoLibrary wires uploaded videos: exact frames from a frames.Reader (one warm decoder
// per open video, a decoded-frame cache), and batch jobs on the loaded models with a reader of
// their own, so that a job never moves the decoder of someone scrubbing the same video.
// closeFrames closes the readers, after the library. The videos that keep a warm decoder at
// once are capped by server.warm_decoders, or by what this machine's memory and cores allow.
func newVideoLibrary(cfg *spec.Config, engines []*infer.Engine, log *slog.Logger) (lib *videos.Library, closeFrames func(), err error) {
	cache := cfg.Server.FrameCacheBytes
	if cache == 0 {
		cache = -1 // frames.Config's 0 means its default; the config's 0 means none
	}
	memory, cores := machineMemory(log), runtime.NumCPU()
	warm := cfg.Server.WarmDecodersFor(memory, cores)
	log.Info("uploaded videos: warm decoders capped", "warm_decoders", warm, "configured", cfg.Server.WarmDecoders,
		"memory_bytes", memory, "cores", cores)
	reader := frames.NewReader(frames.Config{CacheBytes: cache, WarmDecoders: warm, Logger: log})
	// Jobs have a cap of their own, one decoder per job running, on top of warm: each job
	// reads one video from start to end, so more would never be used; and sharing the cap
	// would let people scrubbing close a running job's decoder (or a job take their place),
	// the very tug-of-war a reader of their own is there to avoid.
	jobReader := frames.NewReader(frames.Config{CacheBytes: jobFrameCacheBytes, WarmDecoders: jobWorkers, Logger: log.With("for", "jobs")})
	closeFrames = func() {
		reader.Close()
		jobReader.Close()
	}
	var defaultModel string
	if len(engines) > 0 {
		defaultModel = engines[0].Name()
	}
	lib, err = videos.New(videos.Config{
		Dir:            cfg.Server.DataDir,
		MaxUploadBytes: cfg.Server.MaxUploadBytes,
		DefaultModel:   defaultModel,
		JobWorkers:     jobWorkers,
		JobFrames:      jobReader,
	}, reader, func(name string) (videos.Analyser, error) {
		for _, e := range engines {
			if e.Name() == name {
				return &pictureAnalyser{engine: e, pre: e.NewPreprocessor()}, nil
			}
		}
		return nil, fmt.Errorf("no model %q is loaded", name)
	}, log)
	if err != nil {
		closeFrames()
		return nil, nil, err
	}
	return lib, closeFrames, nil
}

// pictureAnalyser runs a model on decoded frames of uploaded videos at job priority: live
// cameras go first, and a frame the batcher drops for them is submitted again, so a job
// analyses every frame it was asked for.
type pictureAnalyser struct {
	engine *infer.Engine
	mu     sync.Mutex // the pre-processor is not safe for concurrent use
	pre    *model.Preprocessor
}

// resubmitAfter is how long a job frame waits before going back to a batcher that dropped it.
const resubmitAfter = 20 * time.Millisecond

func (a *pictureAnalyser) Analyse(ctx context.Context, p media.Picture) ([]detect.Detection, error) {
	frame, err := modelFrame(p)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for {
		dets, err := a.engine.Analyse(ctx, a.pre, frame, batch.PriorityJob)
		if !errors.Is(err, batch.ErrSkipped) {
			return dets, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(resubmitAfter):
		}
	}
}

// modelFrame points a pre-processing frame at a picture's packed planes.
func modelFrame(p media.Picture) (model.Frame, error) {
	f := model.Frame{Width: p.Width, Height: p.Height}
	cw := (p.Width + 1) / 2
	switch p.Format {
	case "I420":
		if len(p.Planes) != 3 {
			return f, fmt.Errorf("I420 picture with %d planes", len(p.Planes))
		}
		f.Format, f.Strides = model.I420, [3]int{p.Width, cw, cw}
		f.Planes = [3][]byte{p.Planes[0], p.Planes[1], p.Planes[2]}
	case "NV12":
		if len(p.Planes) != 2 {
			return f, fmt.Errorf("NV12 picture with %d planes", len(p.Planes))
		}
		f.Format, f.Strides = model.NV12, [3]int{p.Width, 2 * cw, 0}
		f.Planes = [3][]byte{p.Planes[0], p.Planes[1], nil}
	default:
		return f, fmt.Errorf("inference reads 8-bit 4:2:0 pictures (I420, NV12), not %s", p.Format)
	}
	return f, nil
}
