package pipelines

import (
	"sync/atomic"

	"github.com/pigweight/pigweight/pipelines/media"
)

// Subscription delivers what a pipeline publishes (its encoded access units, or its analysed
// frames), across restarts, until closed. Each has its own bounded buffer: a reader that falls
// behind loses items (counted) and never slows the pipeline or other readers. A reader of
// access units that lost some resumes at the next keyframe.
type Subscription[T any] struct {
	// C receives the items; it is closed when the subscription or its pipeline ends.
	C <-chan T

	c       chan T
	owner   atomic.Pointer[supervisor] // changes when a reload replaces the pipeline
	set     func(*supervisor) *subscribers[T]
	dropped atomic.Uint64
	// needKeyframe is touched only by the sender, under the owner's subsMu.
	needKeyframe bool
}

// Dropped counts the items this subscriber lost by not keeping up.
func (s *Subscription[T]) Dropped() uint64 { return s.dropped.Load() }

// Close ends the subscription and closes C.
func (s *Subscription[T]) Close() {
	// A reload may move the subscription to the pipeline's new supervisor meanwhile: follow it.
	for {
		owner := s.owner.Load()
		if s.unsubscribe(owner) || s.owner.Load() == owner {
			return
		}
	}
}

// unsubscribe ends s if owner holds it, and says whether it did.
func (s *Subscription[T]) unsubscribe(owner *supervisor) bool {
	owner.subsMu.Lock()
	defer owner.subsMu.Unlock()
	subs := s.set(owner)
	if _, ok := subs.m[s]; !ok {
		return false
	}
	delete(subs.m, s)
	close(s.c)
	return true
}

// subscribers is one kind of a supervisor's subscriptions, guarded by its subsMu.
type subscribers[T any] struct {
	m map[*Subscription[T]]struct{}
}

func (b *subscribers[T]) add(owner *supervisor, buffer int, set func(*supervisor) *subscribers[T]) *Subscription[T] {
	c := make(chan T, buffer)
	sub := &Subscription[T]{C: c, c: c, set: set, needKeyframe: true}
	sub.owner.Store(owner)
	if b.m == nil {
		b.m = make(map[*Subscription[T]]struct{})
	}
	b.m[sub] = struct{}{}
	return sub
}

// closeAll ends every subscription (the pipeline is removed).
func (b *subscribers[T]) closeAll() {
	for sub := range b.m {
		delete(b.m, sub)
		close(sub.c)
	}
}

// handOver moves every subscription to next, which replaces their owner; a reader of access
// units resumes at next's first keyframe.
func (b *subscribers[T]) handOver(next *supervisor, to *subscribers[T]) {
	if to.m == nil {
		to.m = make(map[*Subscription[T]]struct{})
	}
	for sub := range b.m {
		sub.owner.Store(next)
		sub.needKeyframe = true
		to.m[sub] = struct{}{}
	}
	b.m = nil
}

// offer hands item to sub without waiting, and says whether it fitted.
func (sub *Subscription[T]) offer(item T) bool {
	select {
	case sub.c <- item:
		return true
	default:
		sub.dropped.Add(1)
		return false
	}
}

func accessUnitSubs(s *supervisor) *subscribers[media.AccessUnit] { return &s.units }
func frameSubs(s *supervisor) *subscribers[media.AnalysedFrame]   { return &s.analysed }

// SubscribeAccessUnits delivers the encoded access units of the pipeline name, buffering up to
// buffer of them for a slow reader.
func (m *Manager) SubscribeAccessUnits(name string, buffer int) (*Subscription[media.AccessUnit], error) {
	s, err := m.lookup(name)
	if err != nil {
		return nil, err
	}
	return s.subscribeAccessUnits(max(1, buffer)), nil
}

// SubscribeFrames delivers the analysed frames of the pipeline name (after its frame stage:
// with tracks and weights where it weighs), buffering up to buffer of them for a slow reader.
// A pipeline without inference publishes none.
func (m *Manager) SubscribeFrames(name string, buffer int) (*Subscription[media.AnalysedFrame], error) {
	s, err := m.lookup(name)
	if err != nil {
		return nil, err
	}
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	return s.analysed.add(s, max(1, buffer), frameSubs), nil
}

func (s *supervisor) subscribeAccessUnits(buffer int) *Subscription[media.AccessUnit] {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	sub := s.units.add(s, buffer, accessUnitSubs)
	// A new subscriber starts with the current group of pictures rather than waiting up to a
	// whole GOP for the camera's next keyframe: a first viewer sees a picture at once.
	if len(s.gop.units) > 0 && len(s.gop.units) <= buffer {
		for _, au := range s.gop.units {
			sub.c <- au
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

// closeSubscriptions ends every subscription (the pipeline is removed).
func (s *supervisor) closeSubscriptions() {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	s.units.closeAll()
	s.analysed.closeAll()
}

// handOverSubscriptions moves s's subscribers to next, which replaces s.
func (s *supervisor) handOverSubscriptions(next *supervisor) {
	s.subsMu.Lock()
	units, analysed := s.units, s.analysed
	s.units, s.analysed = subscribers[media.AccessUnit]{}, subscribers[media.AnalysedFrame]{}
	s.subsMu.Unlock()
	next.subsMu.Lock()
	defer next.subsMu.Unlock()
	units.handOver(next, &next.units)
	analysed.handOver(next, &next.analysed)
}

// publish hands au to every subscriber without ever blocking. A subscriber starts, and after a
// loss resumes, at a keyframe: a decoder cannot use what comes before one.
func (s *supervisor) publish(au media.AccessUnit) {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	s.gop.add(au)
	for sub := range s.units.m {
		if sub.needKeyframe && !au.Keyframe {
			continue
		}
		sub.needKeyframe = !sub.offer(au)
	}
}

// publishFrame hands f to every subscriber of analysed frames without ever blocking.
func (s *supervisor) publishFrame(f media.AnalysedFrame) {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	for sub := range s.analysed.m {
		sub.offer(f)
	}
}
