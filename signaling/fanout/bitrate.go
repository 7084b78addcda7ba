package fanout

import (
	"context"
	"time"
)

// EncoderBitrates sets the bitrate of a stream pigweight encodes for viewers: the pipeline
// manager. A passthrough stream answers with an error, and is left alone.
type EncoderBitrates interface {
	SetEncoderBitrate(stream string, kbps int) (int, error)
}

// Adaptive bitrate: an encoded stream follows the lowest estimate its viewers send (REMB),
// with headroom, stepping down at once and up gently, so that one congested viewer does not
// stall and a recovered one does not flood.
const (
	// rembHeadroom is the share of a viewer's estimate the encoder aims at.
	rembHeadroom = 0.85
	// rembStepUp is the most the bitrate rises per adjustment.
	rembStepUp = 1.10
)

// nextBitrate is the bitrate, kbit/s, an encoder at current should move to when its slowest
// viewer estimates estimateKbps.
func nextBitrate(current, estimateKbps int) int {
	target := int(float64(estimateKbps) * rembHeadroom)
	if target <= current {
		return target
	}
	return min(target, int(float64(current)*rembStepUp)+1)
}

// AdaptBitrates adjusts, every interval until ctx is done or the hubs close, each encoded
// stream's bitrate to what its viewers report they can take. Streams without estimates keep
// their bitrate.
func (h *Hubs) AdaptBitrates(ctx context.Context, enc EncoderBitrates, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	current := map[string]int{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.ctx.Done():
			return
		case <-tick.C:
		}
		h.mu.Lock()
		hubs := make(map[string]*Hub, len(h.hubs))
		for name, e := range h.hubs {
			hubs[name] = e.hub
		}
		h.mu.Unlock()
		for name, hub := range hubs {
			bps, n := hub.BitrateEstimate()
			if n == 0 {
				continue
			}
			now, ok := current[name]
			if !ok {
				// The encoder's own bitrate is unknown until the first answer: ask for the
				// estimate outright, and step from what it says it runs at.
				now = int(bps / 1000)
			}
			got, err := enc.SetEncoderBitrate(name, nextBitrate(now, int(bps/1000)))
			if err != nil {
				delete(current, name)
				continue
			}
			current[name] = got
		}
		for name := range current {
			if _, ok := hubs[name]; !ok {
				delete(current, name)
			}
		}
	}
}
