package pipelines

import (
	"sync/atomic"

	"github.com/pigweight/pigweight/pipelines/media"
)

// Subscription delivers a pipeline's encoded access units, across restarts, until closed.
// Each has its own bounded buffer: a reader that falls behind loses access units (counted)
// and resumes at the next keyframe, and never slows the pipeline or other readers.
type Subscription struct {
	// C receives the access units; it is closed when the subscription or its pipeline ends.
	C <-chan media.AccessUnit

	c            chan media.AccessUnit
	owner        atomic.Pointer[supervisor] // changes when a reload replaces the pipeline
	dropped      atomic.Uint64
	needKeyframe bool // touched only by the sender, under the owner's subsMu
}

// Dropped counts the access units this subscriber lost by not keeping up.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close ends the subscription and closes C.
func (s *Subscription) Close() {
	// A reload may move the subscription to the pipeline's new supervisor meanwhile: follow it.
	for {
		owner := s.owner.Load()
		if owner.unsubscribe(s) || s.owner.Load() == owner {
			return
		}
	}
}

// SubscribeAccessUnits delivers the encoded access units of the pipeline name, buffering up to
// buffer of them for a slow reader.
func (m *Manager) SubscribeAccessUnits(name string, buffer int) (*Subscription, error) {
	s, err := m.lookup(name)
	if err != nil {
		return nil, err
	}
	return s.subscribe(max(1, buffer)), nil
}

func (s *supervisor) subscribe(buffer int) *Subscription {
	c := make(chan media.AccessUnit, buffer)
	sub := &Subscription{C: c, c: c, needKeyframe: true}
	sub.owner.Store(s)
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	if s.subs == nil {
		s.subs = make(map[*Subscription]struct{})
	}
	s.subs[sub] = struct{}{}
	// A new subscriber starts with the current group of pictures rather than waiting up to a
	// whole GOP for the camera's next keyframe: a first viewer sees a picture at once.
	if len(s.gop.units) > 0 && len(s.gop.units) <= buffer {
		for _, au := range s.gop.units {
			c <- au
		}
		sub.needKeyframe = false
	}
	return sub
}

// Bounds of the group of pictures a supervisor keeps for new subscribers: a longer group
// is not kept, and its subscribers start at the next keyframe.
const (
	gopMaxUnits = 300
	gopMaxBytes = 8 << 20
)

// gopCache is the current group of pictures: the last keyframe and what followed it.
type gopCache struct {
	units []media.AccessUnit
	bytes int
}

func (g *gopCache) add(au media.AccessUnit) {
	switch {
	case au.Keyframe:
		g.units, g.bytes = append(g.units[:0:0], au), len(au.Data)
	case len(g.units) == 0:
	case len(g.units) >= gopMaxUnits || g.bytes+len(au.Data) > gopMaxBytes:
		g.units, g.bytes = nil, 0
	default:
		g.units = append(g.units, au)
		g.bytes += len(au.Data)
	}
}

// resetGOP forgets the group of pictures: a new run starts a new stream.
func (s *supervisor) resetGOP() {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	s.gop = gopCache{}
}

// unsubscribe ends sub if s holds it, and says whether it did.
func (s *supervisor) unsubscribe(sub *Subscription) bool {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	if _, ok := s.subs[sub]; !ok {
		return false
	}
	delete(s.subs, sub)
	close(sub.c)
	return true
}

// closeSubscriptions ends every subscription (the pipeline is removed).
func (s *supervisor) closeSubscriptions() {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	for sub := range s.subs {
		delete(s.subs, sub)
		close(sub.c)
	}
}

// publish hands au to every subscriber without ever blocking. A subscriber starts, and after a
// loss resumes, at a keyframe: a decoder cannot use what comes before one.
func (s *supervisor) publish(au media.AccessUnit) {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	s.gop.add(au)
	for sub := range s.subs {
		if sub.needKeyframe && !au.Keyframe {
			continue
		}
		select {
		case sub.c <- au:
			sub.needKeyframe = false
		default:
			sub.dropped.Add(1)
			sub.needKeyframe = true
		}
	}
}
