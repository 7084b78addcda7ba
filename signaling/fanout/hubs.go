package fanout

import (
	"context"
	"log/slog"
	"sync"

	"github.com/pigweight/pigweight/pipelines"
)

// Source is where hubs get their streams' access units: the pipeline manager.
type Source interface {
	SubscribeAccessUnits(name string, buffer int) (*pipelines.Subscription, error)
}

// subscriptionBuffer is how many access units a hub's subscription holds: a hub reads them at
// once, so this only absorbs scheduling hiccups.
const subscriptionBuffer = 64

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
	hub *Hub
	sub *pipelines.Subscription
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
	sub, err := h.src.SubscribeAccessUnits(stream, subscriptionBuffer)
	if err != nil {
		return nil, false
	}
	hub := NewHub(stream, h.log)
	h.hubs[stream] = &hubEntry{hub: hub, sub: sub}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		hub.Run(h.ctx, sub.C)
	}()
	// A manager that analyses frames also feeds the viewers' detections channels.
	if det, ok := h.src.(DetectionSource); ok {
		h.wg.Go(func() { hub.PollDetections(h.ctx, det, DefaultDetectionsPoll) })
	}
	return hub, true
}

// Close stops every hub (their viewers leave) and waits for them.
func (h *Hubs) Close() {
	h.mu.Lock()
	h.cancel()
	for name, e := range h.hubs {
		e.sub.Close()
		delete(h.hubs, name)
	}
	h.mu.Unlock()
	h.wg.Wait()
}
