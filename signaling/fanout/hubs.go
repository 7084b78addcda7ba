package fanout

import (
	"context"
	"log/slog"
	"sync"

	"github.com/pigweight/pigweight/pipelines/media"
)

// Source is where hubs get their streams: the pipeline manager, adapted by cmd. Signalling
// knows nothing of pipelines; this is all it needs of them.
type Source interface {
	// Open subscribes to stream's output, buffering up to buffer access units; an error when
	// no such stream exists.
	Open(stream string, buffer int) (Stream, error)
	// RequestKeyframe asks stream's encoder for a keyframe as soon as it can; an error (and
	// nothing happens) for a stream that passes the camera's own access units through.
	RequestKeyframe(stream string) error
}

// Stream is one pipeline's output as a hub takes it.
type Stream struct {
	// AccessUnits are its encoded pictures, starting with the current group of pictures.
	AccessUnits <-chan media.AccessUnit
	// Frames are its analysed frames, for the viewers' detections channels; nil, or a channel
	// that never carries any, for a stream without analysis.
	Frames <-chan media.AnalysedFrame
	// Close ends the subscriptions; both channels are closed then, or when the pipeline ends.
	Close func()
}

// subscriptionBuffer is how many access units a hub's subscription holds. A hub reads them at
// once; the size is for the group of pictures a new subscription starts with (the pipeline
// keeps up to 300 access units of it), so that a hub's first viewer gets a picture at once.
const subscriptionBuffer = 300

// Hubs keeps one hub per stream that has viewers, fed by a subscription to its pipeline. A hub
// starts with the stream's first viewer and ends with its pipeline.
type Hubs struct {
	src    Source
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	mu   sync.Mutex
	hubs map[string]*hubEntry
	wg   sync.WaitGroup
}

type hubEntry struct {
	hub    *Hub
	stream Stream
}

// NewHubs returns an empty set of hubs over src.
func NewHubs(src Source, log *slog.Logger) *Hubs {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Hubs{src: src, log: log, ctx: ctx, cancel: cancel, hubs: make(map[string]*hubEntry)}
}

// Hub returns the running hub of stream, starting it if needed; false when no pipeline of
// that name exists or the set is closed.
func (h *Hubs) Hub(stream string) (*Hub, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx.Err() != nil {
		return nil, false
	}
	if e, ok := h.hubs[stream]; ok {
		select {
		case <-e.hub.Done():
			delete(h.hubs, stream) // its pipeline went away; it may be back
		default:
			return e.hub, true
		}
	}
	st, err := h.src.Open(stream, subscriptionBuffer)
	if err != nil {
		return nil, false
	}
	hub := NewHub(stream, h.log)
	hub.requestKeyframe = func() { _ = h.src.RequestKeyframe(stream) }
	h.hubs[stream] = &hubEntry{hub: hub, stream: st}
	h.wg.Go(func() { hub.Run(h.ctx, st.AccessUnits) })
	if st.Frames != nil {
		h.wg.Go(func() { hub.SendFrames(h.ctx, st.Frames) })
	}
	return hub, true
}

// Viewers counts the viewers of stream now, whether they came through signalling or WHEP: 0
// when the stream has no running hub. It never waits for a hub's goroutine.
func (h *Hubs) Viewers(stream string) int {
	h.mu.Lock()
	e, ok := h.hubs[stream]
	h.mu.Unlock()
	if !ok {
		return 0
	}
	vs := e.hub.viewers.Load()
	if vs == nil {
		return 0
	}
	// A viewer whose connection closed stays in the hub's list until the next frame or its
	// Leave; it is not watching any more.
	n := 0
	for _, v := range *vs {
		if !v.ended() {
			n++
		}
	}
	return n
}

// Close stops every hub (their viewers leave) and waits for them.
func (h *Hubs) Close() {
	h.mu.Lock()
	h.cancel()
	for name, e := range h.hubs {
		e.stream.Close()
		delete(h.hubs, name)
	}
	h.mu.Unlock()
	h.wg.Wait()
}
