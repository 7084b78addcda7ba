package frames

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pigweight/pigweight/pipelines/index"
	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/pipelines/spec"
)

// Defaults for the zero fields of Config.
const (
	DefaultCacheBytes = 512 << 20
	DefaultPrefetch   = 8
	DefaultIdle       = time.Minute
)

// Errors callers branch on.
var (
	// ErrFrameRange: a frame number outside the video.
	ErrFrameRange = errors.New("frame number out of range")
	// ErrClosed: the reader was closed.
	ErrClosed = errors.New("frame reader closed")
)

// Config configures a Reader.
type Config struct {
	// CacheBytes bounds the decoded-frame cache shared by every video; DefaultCacheBytes when
	// 0, no cache when negative.
	CacheBytes int64
	// Prefetch is how many frames past the last one asked for the decoder runs ahead while no
	// request waits; DefaultPrefetch when 0, none when negative.
	Prefetch int
	// Decode chooses the decoder as for pipelines: auto takes NVDEC where present.
	Decode spec.Decode
	// Idle is how long a video's decoder stays warm without requests; DefaultIdle when 0.
	Idle   time.Duration
	Logger *slog.Logger
}

// Reader returns exact frames of stored videos. It is safe for concurrent use; requests for
// one video are served in turn by that video's decoder, so two requests never decode the
// same group of pictures twice.
type Reader struct {
	cfg   Config
	cache *FrameCache
	log   *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	videos map[string]*video
	// encoders by output format, each pool made on first use; under mu.
	encoders map[string]*encoderPool

	fed atomic.Uint64 // samples fed to decoders
}

// NewReader makes a Reader. Close it to stop its decoders.
func NewReader(cfg Config) *Reader {
	if cfg.CacheBytes == 0 {
		cfg.CacheBytes = DefaultCacheBytes
	}
	if cfg.Prefetch == 0 {
		cfg.Prefetch = DefaultPrefetch
	}
	if cfg.Idle <= 0 {
		cfg.Idle = DefaultIdle
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Reader{
		cfg:      cfg,
		cache:    NewFrameCache(cfg.CacheBytes),
		log:      cfg.Logger.With("component", "frames"),
		ctx:      ctx,
		cancel:   cancel,
		videos:   map[string]*video{},
		encoders: map[string]*encoderPool{},
	}
}

// video is one open video: its file, its decoder and the goroutine that owns both.
type video struct {
	id, path string
	ix       *index.Index
	requests chan request
	stop     context.CancelFunc
	done     chan struct{}
}

type request struct {
	frame int
	reply chan result // buffered: the owner never blocks on a caller that gave up
}

type result struct {
	pic media.Picture
	err error
}

// Frame returns frame n of the video stored at path, whose index is ix; id names the video
// in the cache and must change when the content does (a content hash does).
func (r *Reader) Frame(ctx context.Context, id, path string, ix *index.Index, n int) (media.Picture, error) {
	if n < 0 || n >= len(ix.Frames) {
		return media.Picture{}, fmt.Errorf("%w: frame %d of %d", ErrFrameRange, n, len(ix.Frames))
	}
	if pic, ok := r.cache.Get(id, n); ok {
		return pic, nil
	}
	req := request{frame: n, reply: make(chan result, 1)}
	for {
		v, err := r.open(id, path, ix)
		if err != nil {
			return media.Picture{}, err
		}
		select {
		case v.requests <- req:
		case <-v.done:
			// It went idle just now: open a new one.
			r.forgetVideo(v)
			continue
		case <-ctx.Done():
			return media.Picture{}, ctx.Err()
		}
		select {
		case res := <-req.reply:
			return res.pic, res.err
		case <-v.done:
			select {
			case res := <-req.reply:
				return res.pic, res.err
			default:
				return media.Picture{}, fmt.Errorf("video %s: %w", id, ErrClosed)
			}
		case <-ctx.Done():
			return media.Picture{}, ctx.Err()
		}
	}
}

// open returns the video's owner, starting one if needed.
func (r *Reader) open(id, path string, ix *index.Index) (*video, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx.Err() != nil {
		return nil, ErrClosed
	}
	if v, ok := r.videos[id]; ok {
		return v, nil
	}
	ctx, stop := context.WithCancel(r.ctx)
	v := &video{id: id, path: path, ix: ix, requests: make(chan request), stop: stop, done: make(chan struct{})}
	r.videos[id] = v
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(v.done)
		r.serve(ctx, v)
	}()
	return v, nil
}

// forgetVideo removes v from the open videos if it is still the one registered.
func (r *Reader) forgetVideo(v *video) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.videos[v.id] == v {
		delete(r.videos, v.id)
	}
}

// serve owns one video's file and decoder: it answers requests in turn, runs ahead while
// none waits, and ends after Config.Idle without requests.
func (r *Reader) serve(ctx context.Context, v *video) {
	defer r.forgetVideo(v)
	log := r.log.With("video", v.id)
	var dec *decoder
	var file *os.File
	defer func() {
		if dec != nil {
			dec.close()
		}
		if file != nil {
			file.Close()
		}
	}()
	idle := time.NewTimer(r.cfg.Idle)
	defer idle.Stop()
	aheadTo := -1 // prefetch until this frame is cached

	for {
		var req request
		if aheadTo >= 0 && dec != nil {
			select {
			case req = <-v.requests:
			case <-ctx.Done():
				return
			default:
				// Nobody waits: decode one more sample ahead.
				pics, err := dec.step(-1)
				r.fed.Add(1)
				r.keep(v.id, pics)
				if err != nil || dec.next < 0 || r.cache.has(v.id, aheadTo) {
					aheadTo = -1
				}
				continue
			}
		} else {
			select {
			case req = <-v.requests:
			case <-idle.C:
				return
			case <-ctx.Done():
				return
			}
		}
		idle.Reset(r.cfg.Idle)

		if pic, ok := r.cache.Get(v.id, req.frame); ok {
			req.reply <- result{pic: pic}
			continue
		}
		if dec == nil {
			var err error
			if file == nil {
				if file, err = os.Open(v.path); err != nil {
					req.reply <- result{err: err}
					return
				}
			}
			if dec, err = newDecoder(v.ix, file, r.cfg.Decode, r.cfg.CacheBytes > 0); err != nil {
				req.reply <- result{err: err}
				return
			}
		}
		fed := dec.fed
		pics, err := dec.decodeTo(req.frame)
		r.fed.Add(dec.fed - fed)
		r.keep(v.id, pics)
		var res result
		for _, p := range pics {
			if p.Frame == req.frame {
				res.pic = p
			}
		}
		if err != nil {
			log.Warn("decode failed", "frame", req.frame, "err", err)
			res.err = fmt.Errorf("frame %d: %w", req.frame, err)
		}
		req.reply <- res
		aheadTo = -1
		if err == nil && r.cfg.Prefetch > 0 {
			aheadTo = min(req.frame+r.cfg.Prefetch, len(v.ix.Frames)-1)
		}
	}
}

func (r *Reader) keep(id string, pics []media.Picture) {
	for _, p := range pics {
		r.cache.Put(id, p)
	}
}

// Forget closes a video's decoder and drops its cached frames (for a deleted video).
func (r *Reader) Forget(id string) {
	r.mu.Lock()
	v := r.videos[id]
	r.mu.Unlock()
	if v != nil {
		v.stop()
		<-v.done
	}
	r.cache.Forget(id)
}

// Stats reports the cache's counters and the number of warm decoders.
type Stats struct {
	Cache    CacheStats `json:"cache"`
	Decoders int        `json:"decoders"`
	// SamplesDecoded counts the coded samples fed to decoders, prefetch included.
	SamplesDecoded uint64 `json:"samples_decoded"`
}

// Stats returns the reader's counters.
func (r *Reader) Stats() Stats {
	r.mu.Lock()
	n := len(r.videos)
	r.mu.Unlock()
	return Stats{Cache: r.cache.Stats(), Decoders: n, SamplesDecoded: r.fed.Load()}
}

// Encode compresses a decoded picture as a JPEG (quality 1-100) or PNG file with GStreamer,
// as many pictures at once as there are cores; ErrEncodeFormat for a format it does not
// handle.
func (r *Reader) Encode(p media.Picture, format string, quality int) ([]byte, error) {
	if format != FormatJPEG && format != FormatPNG {
		return nil, fmt.Errorf("%w: %q", ErrEncodeFormat, format)
	}
	r.mu.Lock()
	if r.ctx.Err() != nil {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	pool := r.encoders[format]
	if pool == nil {
		pool = newEncoderPool(format, runtime.GOMAXPROCS(0))
		r.encoders[format] = pool
	}
	r.mu.Unlock()
	return pool.encode(p, quality)
}

// Close stops every decoder and the picture encoders, and waits for them.
func (r *Reader) Close() {
	r.cancel()
	r.wg.Wait()
	r.mu.Lock()
	pools := r.encoders
	r.encoders = map[string]*encoderPool{}
	r.mu.Unlock()
	for _, pool := range pools {
		pool.close()
	}
}
