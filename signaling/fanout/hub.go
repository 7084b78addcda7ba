package fanout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/signaling/peer"
)

// Defaults of every hub.
const (
	// DefaultViewerQueue is how many access units a viewer may fall behind before it loses
	// some: about two seconds at 30 fps.
	DefaultViewerQueue = 64
	// DefaultKeyframeInterval is the least time between two cached-group sends to one viewer:
	// a browser asks for a keyframe several times while it waits for one.
	DefaultKeyframeInterval = 500 * time.Millisecond
	// DefaultCacheFrames and DefaultCacheBytes bound the keyframe cache. A longer group is not
	// cached (new viewers wait for the next keyframe). A group resent after a keyframe
	// request goes out one RTP tick per frame, so the frame limit must stay below a frame
	// interval in ticks (1500 at 60 fps).
	DefaultCacheFrames = 300
	DefaultCacheBytes  = 8 << 20
)

// ErrHubClosed is returned by Join once the hub's Run has returned.
var ErrHubClosed = errors.New("fanout: hub closed")

// Hub fans one stream's access units out to its viewers. Make it with NewHub, run it with Run
// (once), and add viewers with Join while it runs.
type Hub struct {
	stream string
	log    *slog.Logger

	joins  chan *Viewer
	leaves chan *Viewer
	done   chan struct{} // closed when Run has returned
	ran    atomic.Bool

	// Published by the Run goroutine for viewers' writers and for Stats.
	cache   atomic.Pointer[gop]
	viewers atomic.Pointer[[]*Viewer]

	accessUnits atomic.Uint64
	skipped     atomic.Uint64
	nextID      atomic.Uint64

	// Settings, fixed before Run; tests shrink them.
	viewerQueue      int
	keyframeInterval time.Duration
	connectPoll      time.Duration
	cacheFrames      int
	cacheBytes       int
	onJoin           func(*Viewer) // test hook, called before the viewer's goroutines start
	// requestKeyframe asks the stream's encoder for a keyframe (nil: passthrough, or nobody to
	// ask); lastKeyframeRequest (unix nanos) spaces the requests out.
	requestKeyframe     func()
	lastKeyframeRequest atomic.Int64
}

// KeyframeSource gives keyframes on request for streams that pigweight encodes (the pipeline
// manager); for a passthrough stream it returns an error and nothing happens.
type KeyframeSource interface {
	RequestKeyframe(stream string) error
}

// askKeyframe asks the encoder for a keyframe when a viewer joins or loses a picture, at most
// once per keyframe interval: the cached group serves the viewer at once, and the keyframe
// makes the next group, and so the next catch-up, short.
func (h *Hub) askKeyframe() {
	if h.requestKeyframe == nil {
		return
	}
	now := time.Now().UnixNano()
	last := h.lastKeyframeRequest.Load()
	if now-last < int64(h.keyframeInterval) || !h.lastKeyframeRequest.CompareAndSwap(last, now) {
		return
	}
	h.requestKeyframe()
}

// NewHub returns the hub of stream, not yet running.
func NewHub(stream string, log *slog.Logger) *Hub {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Hub{
		stream:           stream,
		log:              log.With("component", "fanout", "stream", stream),
		joins:            make(chan *Viewer),
		leaves:           make(chan *Viewer),
		done:             make(chan struct{}),
		viewerQueue:      DefaultViewerQueue,
		keyframeInterval: DefaultKeyframeInterval,
		connectPoll:      20 * time.Millisecond,
		cacheFrames:      DefaultCacheFrames,
		cacheBytes:       DefaultCacheBytes,
	}
}

// Stream is the name of the hub's stream.
func (h *Hub) Stream() string { return h.stream }

// Done is closed when Run has returned and every viewer has stopped.
func (h *Hub) Done() <-chan struct{} { return h.done }

// Run fans out access units from aus until ctx is done or aus is closed, then ends every
// viewer and returns. Access units that are not H.264 are skipped (counted). Run may be called
// once; Join waits for it.
func (h *Hub) Run(ctx context.Context, aus <-chan media.AccessUnit) {
	if !h.ran.CompareAndSwap(false, true) {
		h.log.Error("hub already running; second Run ignored")
		return
	}
	var (
		viewers   []*Viewer
		packets   packetizer
		cache     = gopCache{maxFrames: h.cacheFrames, maxBytes: h.cacheBytes}
		warnCodec = true
	)
	publish := func() {
		snapshot := slices.Clone(viewers)
		h.viewers.Store(&snapshot)
	}
	defer func() {
		for _, v := range viewers {
			v.stop()
		}
		viewers = nil
		publish()
		h.cache.Store(nil)
		close(h.done)
		h.log.Debug("hub stopped")
	}()

	for {
		select {
		case <-ctx.Done():
			return
		case v := <-h.joins:
			viewers = append(viewers, v)
			publish()
		case v := <-h.leaves:
			if i := slices.Index(viewers, v); i >= 0 {
				viewers = slices.Delete(viewers, i, i+1)
				publish()
			}
		case au, ok := <-aus:
			if !ok {
				return
			}
			if au.Codec != "" && au.Codec != "h264" {
				h.skipped.Add(1)
				h.accessUnits.Add(1)
				if warnCodec {
					h.log.Warn("access units are not H.264; viewers get no video",
						"codec", au.Codec)
					warnCodec = false
				}
				continue
			}
			f := packets.packetize(au)
			if f == nil {
				h.skipped.Add(1)
				h.accessUnits.Add(1)
				continue
			}
			// The cache first: a viewer that starts now either finds f in the cache or gets it
			// through its queue (see Viewer.run).
			h.cache.Store(cache.add(f))
			if n := len(viewers); h.offer(viewers, f) != n {
				viewers = slices.DeleteFunc(viewers, (*Viewer).ended)
				publish()
			}
			h.sendTiming(f)
			// Counted once handled, so that a Stats that shows it shows its effects too.
			h.accessUnits.Add(1)
		}
	}
}

// offer hands f to every started viewer without waiting, and returns how many viewers are
// still alive.
func (h *Hub) offer(viewers []*Viewer, f *frame) int {
	alive := 0
	for _, v := range viewers {
		if v.ended() {
			continue
		}
		alive++
		if !v.started.Load() {
			continue
		}
		if v.needKeyframe && !f.keyframe {
			v.dropped.Add(1)
			continue
		}
		select {
		case v.queue <- f:
			v.needKeyframe = false
		default:
			// Lost: what follows cannot be decoded until the next keyframe.
			v.dropped.Add(1)
			if !v.needKeyframe {
				h.log.Debug("viewer falls behind; resuming at the next keyframe", "viewer", v.id)
			}
			v.needKeyframe = true
		}
	}
	return alive
}

// Join makes pc a viewer of the hub's stream: it adds a send-only H.264 track to pc, so call
// it before creating the offer or the answer. The viewer starts sending once pc connects (call
// Viewer.Connected from pc's OnConnectionStateChange to start at once; otherwise it notices
// within 20 ms), beginning with the cached group of pictures, so its first picture needs no
// new keyframe. Call Leave when done with the viewer.
func (h *Hub) Join(pc *webrtc.PeerConnection) (*Viewer, error) {
	select {
	case <-h.done:
		return nil, ErrHubClosed
	default:
	}
	track, err := webrtc.NewTrackLocalStaticRTP(peer.H264Codec(), "video", "pigweight")
	if err != nil {
		return nil, fmt.Errorf("fanout %s: track: %w", h.stream, err)
	}
	sender, err := pc.AddTrack(track)
	if err != nil {
		return nil, fmt.Errorf("fanout %s: add track: %w", h.stream, err)
	}
	v := newViewer(h, pc, track, sender)
	if h.onJoin != nil {
		h.onJoin(v)
	}
	v.start()
	h.askKeyframe()
	select {
	case h.joins <- v:
		h.log.Debug("viewer joined", "viewer", v.id)
		return v, nil
	case <-h.done:
		v.stop()
		return nil, ErrHubClosed
	}
}

// Leave ends v: it stops v's goroutines, removes its track from its peer connection, and
// returns when they have stopped. Leaving twice, or after Run has returned, is harmless.
func (h *Hub) Leave(v *Viewer) {
	if v == nil || v.hub != h {
		return
	}
	select {
	case h.leaves <- v:
	case <-h.done:
	}
	v.stop()
	h.log.Debug("viewer left", "viewer", v.id, "frames", v.frames.Load(), "dropped", v.dropped.Load())
}

// Stats says what the hub and each of its viewers have done so far. It never waits for the
// hub's goroutine.
func (h *Hub) Stats() Stats {
	s := Stats{
		Stream:      h.stream,
		AccessUnits: h.accessUnits.Load(),
		Skipped:     h.skipped.Load(),
	}
	if g := h.cache.Load(); g != nil {
		s.CachedFrames = len(g.frames)
		s.CachedBytes = g.bytes
	}
	if vs := h.viewers.Load(); vs != nil {
		for _, v := range *vs {
			s.Viewers = append(s.Viewers, v.Stats())
		}
	}
	return s
}

// Stats is a snapshot of a hub's counters.
type Stats struct {
	Stream string
	// AccessUnits counts those received from the source; Skipped those of them not sent
	// (not H.264, or without a NAL unit).
	AccessUnits, Skipped uint64
	// CachedFrames and CachedBytes measure the keyframe cache: the last keyframe and the access
	// units since, as RTP payloads. Zero before the first keyframe.
	CachedFrames, CachedBytes int
	// Viewers are the current viewers, in the order they joined.
	Viewers []ViewerStats
}

// BitrateEstimate is the lowest bitrate, in bit/s, that the hub's viewers say they can take
// (their REMB estimates), and how many viewers sent one; 0, 0 when none has.
func (h *Hub) BitrateEstimate() (bps uint64, viewers int) {
	vs := h.viewers.Load()
	if vs == nil {
		return 0, 0
	}
	for _, v := range *vs {
		if v.ended() {
			continue
		}
		if r := v.remb.Load(); r > 0 {
			if viewers == 0 || r < bps {
				bps = r
			}
			viewers++
		}
	}
	return bps, viewers
}
