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
	// DefaultWarmDecoders: a 1080p decoder holds ~26 MB, so eight hold ~200 MB.
	DefaultWarmDecoders = 8
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
	Idle time.Duration
	// WarmDecoders bounds how many videos keep a warm decoder at once: past it, the least
	// recently used video that no request is waiting on is closed before another opens.
	// DefaultWarmDecoders when 0, no bound when negative.
	WarmDecoders int
	Logger       *slog.Logger
}

// Reader returns exact frames of stored videos. It is safe for concurrent use; requests for
// one video are served in turn by that video's decoder, so two requests never decode the
// same group of pictures twice. At most Config.WarmDecoders videos have a decoder at once.
type Reader struct {
	cfg   Config
	cache *FrameCache
	log   *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	videos map[string]*video // open videos, those closing for the cap included
	// clock orders videos by their last request (video.used); under mu.
	clock uint64
	// changed is closed, and replaced, whenever a video leaves or its last request is
	// answered: an open waiting for a place under Config.WarmDecoders looks again. Under mu.
	changed chan struct{}
	// encoders by output format, each pool made on first use; under mu.
	encoders map[string]*encoderPool

	fed    atomic.Uint64 // samples fed to decoders
	closed atomic.Uint64 // videos closed to stay within Config.WarmDecoders
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
	if cfg.WarmDecoders == 0 {
		cfg.WarmDecoders = DefaultWarmDecoders
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
		changed:  make(chan struct{}),
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

	// Under Reader.mu: users counts the Frame calls between open and their answer (a video
	// with users is never closed for the cap); used is the Reader.clock of its last request;
	// closing is set once it is being closed for the cap, and no request is sent to it then.
	users   int
	used    uint64
	closing bool
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
		r.touch(id)
		return pic, nil
	}
	req := request{frame: n, reply: make(chan result, 1)}
	for {
		v, err := r.open(ctx, id, path, ix)
		if err != nil {
			return media.Picture{}, err
		}
		res, sent := r.ask(ctx, v, req)
		r.release(v)
		if !sent && res.err == nil {
			// It went idle just now: open a new one.
			r.forgetVideo(v)
			continue
		}
		return res.pic, res.err
	}
}

// ask sends req to v's owner and waits for the answer; sent is false, with no error, when v
// ended before taking the request.
func (r *Reader) ask(ctx context.Context, v *video, req request) (res result, sent bool) {
	select {
	case v.requests <- req:
	case <-v.done:
		return result{}, false
	case <-ctx.Done():
		return result{err: ctx.Err()}, false
	}
	select {
	case res := <-req.reply:
		return res, true
	case <-v.done:
		select {
		case res := <-req.reply:
			return res, true
		default:
			return result{err: fmt.Errorf("video %s: %w", v.id, ErrClosed)}, true
		}
	case <-ctx.Done():
		return result{err: ctx.Err()}, true
	}
}

// open returns the video's owner, starting one if needed, and counts the caller among its
// users until release. Past Config.WarmDecoders it first closes the least recently used video
// no request is waiting on, and waits until that decoder is gone: the cap bounds the
// decoders that exist, not only those listed. When every open video has a request in flight,
// it waits for one to be answered.
func (r *Reader) open(ctx context.Context, id, path string, ix *index.Index) (*video, error) {
	r.mu.Lock()
	for {
		if r.ctx.Err() != nil {
			r.mu.Unlock()
			return nil, ErrClosed
		}
		var wait <-chan struct{}
		if v, ok := r.videos[id]; ok {
			if !v.closing {
				r.clock++
				v.users++
				v.used = r.clock
				r.mu.Unlock()
				return v, nil
			}
			wait = v.done // closed for the cap just now: open it again once it is gone
		} else if r.cfg.WarmDecoders > 0 && len(r.videos) >= r.cfg.WarmDecoders {
			wait = r.changed
			if victim := r.leastRecentlyUsedLocked(); victim != nil {
				victim.closing = true
				victim.stop()
				wait = victim.done
				r.closed.Add(1)
				r.log.Debug("closing the least recently used video's decoder", "video", victim.id, "for", id, "warm_decoders", r.cfg.WarmDecoders)
			}
		} else {
			break
		}
		r.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		r.mu.Lock()
	}
	defer r.mu.Unlock()
	r.clock++
	ctx, stop := context.WithCancel(r.ctx)
	v := &video{id: id, path: path, ix: ix, requests: make(chan request), stop: stop, done: make(chan struct{}), users: 1, used: r.clock}
	r.videos[id] = v
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(v.done)
		r.serve(ctx, v)
	}()
	return v, nil
}

// leastRecentlyUsedLocked returns the open video asked least recently among those no request
// is waiting on and not already closing, or nil. The caller holds r.mu. A linear scan: there
// are at most Config.WarmDecoders videos.
func (r *Reader) leastRecentlyUsedLocked() *video {
	var lru *video
	for _, v := range r.videos {
		if v.users == 0 && !v.closing && (lru == nil || v.used < lru.used) {
			lru = v
		}
	}
	return lru
}

// release ends a use that open began.
func (r *Reader) release(v *video) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v.users--
	if v.users == 0 {
		r.signalLocked()
	}
}

// touch marks an open video as just used: a cache hit is a request too, and the video being
// looked at should not be the one closed for the cap.
func (r *Reader) touch(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := r.videos[id]; ok {
		r.clock++
		v.used = r.clock
	}
}

// signalLocked wakes every open waiting for a place under the cap. The caller holds r.mu.
func (r *Reader) signalLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// forgetVideo removes v from the open videos if it is still the one registered.
func (r *Reader) forgetVideo(v *video) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.videos[v.id] == v {
		delete(r.videos, v.id)
		r.signalLocked()
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
			dec.dropHeld()
			dec.close()
		}
		if file != nil {
			file.Close()
		}
	}()
	idle := time.NewTimer(r.cfg.Idle)
	defer idle.Stop()
	aheadTo := -1 // prefetch until this frame is decoded
	cached := func(n int) bool { return r.cache.has(v.id, n) }

	for {
		var req request
		if dec != nil && (dec.holding() || aheadTo >= 0) {
			select {
			case req = <-v.requests:
			case <-ctx.Done():
				return
			default:
				// Nobody waits: work for the cache, one picture packed or one sample decoded
				// at a time, so that a request arriving meanwhile waits for no more than that.
				// Held pictures go first: they are the ones next to what was asked for.
				if dec.holding() {
					pic, ok, err := dec.packHeld(cached)
					if err != nil {
						log.Warn("cannot keep a decoded picture", "frame", pic.Frame, "err", err)
					} else if ok {
						r.cache.Put(v.id, pic)
					}
					continue
				}
				fed := dec.fed
				_, err := dec.step(-1)
				r.fed.Add(dec.fed - fed)
				if err != nil || dec.next < 0 || dec.shown >= aheadTo || cached(aheadTo) {
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
		if dec != nil {
			// Decoded already, not packed yet: as good as a cache hit.
			if pic, ok, err := dec.takeHeld(req.frame); ok {
				if err == nil {
					r.cache.Put(v.id, pic)
					pic.Cached = true
				}
				req.reply <- result{pic: pic, err: err}
				continue
			}
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
	Cache CacheStats `json:"cache"`
	// Decoders is the number of videos with a warm decoder (one being closed included), at
	// most MaxDecoders when that is above 0.
	Decoders    int `json:"decoders"`
	MaxDecoders int `json:"max_decoders"`
	// DecodersClosed counts the decoders closed to make room under MaxDecoders.
	DecodersClosed uint64 `json:"decoders_closed"`
	// SamplesDecoded counts the coded samples fed to decoders, prefetch included.
	SamplesDecoded uint64 `json:"samples_decoded"`
}

// Stats returns the reader's counters.
func (r *Reader) Stats() Stats {
	r.mu.Lock()
	n := len(r.videos)
	r.mu.Unlock()
	return Stats{Cache: r.cache.Stats(), Decoders: n, MaxDecoders: max(r.cfg.WarmDecoders, 0),
		DecodersClosed: r.closed.Load(), SamplesDecoded: r.fed.Load()}
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
