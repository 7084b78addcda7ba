package signaling

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// fakeViewers stands in for the fan-out: the real Pion side lives and is tested in other
// packages; here only the protocol is under test. By stream name:
//   - "flood": emits more candidates before the offer than a session may hold back;
//   - "broken": fails with an error that is not ErrUnknownStream;
//   - "slow": blocks in Join until release is closed;
//   - any other name in streams: a viewer whose candidates c1 (from another goroutine) and
//     c2 come before Join returns, and c3 and the end of gathering race with its return;
//   - anything else: ErrUnknownStream.
type fakeViewers struct {
	streams     map[string]bool
	floodCount  int
	slowStarted chan struct{}
	release     chan struct{}

	wg     sync.WaitGroup // goroutines that emit candidates
	mu     sync.Mutex
	joined []*fakeViewer
}

func newFakeViewers(streams ...string) *fakeViewers {
	f := &fakeViewers{
		streams:     make(map[string]bool),
		slowStarted: make(chan struct{}, 1),
		release:     make(chan struct{}),
	}
	for _, s := range streams {
		f.streams[s] = true
	}
	return f
}

// fakeCandidate is the n-th server candidate of stream.
func fakeCandidate(stream string, n int) webrtc.ICECandidateInit {
	return webrtc.ICECandidateInit{
		Candidate:     fmt.Sprintf("candidate:%d 1 udp 2130706431 127.0.0.1 %d typ host", n, 5000+n),
		SDPMid:        ptr("0"),
		SDPMLineIndex: ptr(uint16(0)),
	}
}

// fakeOffer is the canned offer for stream.
func fakeOffer(stream string) string {
	return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=" + stream + "\r\nt=0 0\r\n"
}

func (f *fakeViewers) Join(stream string, events ViewerEvents) (Viewer, string, error) {
	onCandidate := events.Candidate
	switch {
	case stream == "broken":
		return nil, "", errors.New("fake: encoder unavailable")
	case stream == "slow":
		f.slowStarted <- struct{}{}
		<-f.release
	case stream == "flood":
		for i := range f.floodCount {
			c := fakeCandidate(stream, i)
			onCandidate(&c)
		}
	case f.streams[stream]:
		// Candidates overtake the offer, as Pion's do.
		done := make(chan struct{})
		go func() {
			defer close(done)
			c := fakeCandidate(stream, 1)
			onCandidate(&c)
		}()
		<-done
		c2 := fakeCandidate(stream, 2)
		onCandidate(&c2)
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			c3 := fakeCandidate(stream, 3)
			onCandidate(&c3)
			onCandidate(nil)
		}()
	default:
		return nil, "", fmt.Errorf("fake: stream %q: %w", stream, ErrUnknownStream)
	}
	v := &fakeViewer{stream: stream, events: events, closed: make(chan struct{})}
	f.mu.Lock()
	f.joined = append(f.joined, v)
	f.mu.Unlock()
	return v, fakeOffer(stream), nil
}

// viewers returns the viewers created so far, in order.
func (f *fakeViewers) viewers() []*fakeViewer {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*fakeViewer(nil), f.joined...)
}

// viewer waits for the i-th viewer (from 0) to be created and returns it: a socket can be
// closed before the Join that made it has returned.
func (f *fakeViewers) viewer(t *testing.T, i int) *fakeViewer {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		if vs := f.viewers(); len(vs) > i {
			return vs[i]
		}
		if time.Now().After(deadline) {
			t.Fatalf("viewer %d never created", i)
		}
		time.Sleep(time.Millisecond)
	}
}

type fakeViewer struct {
	stream     string
	events     ViewerEvents // what the session gave Join: a test plays the peer connection's reports with it
	mu         sync.Mutex
	answers    []string
	candidates []webrtc.ICECandidateInit
	closes     atomic.Int32
	closed     chan struct{}
}

func (v *fakeViewer) Answer(sdp string) error {
	if strings.Contains(sdp, "reject-me") {
		return errors.New("fake: no matching media section")
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.answers = append(v.answers, sdp)
	return nil
}

func (v *fakeViewer) AddCandidate(c webrtc.ICECandidateInit) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.candidates = append(v.candidates, c)
	return nil
}

func (v *fakeViewer) Close() error {
	if v.closes.Add(1) == 1 {
		close(v.closed)
	}
	return nil
}

func (v *fakeViewer) got() (answers []string, candidates []webrtc.ICECandidateInit) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.answers...), append([]webrtc.ICECandidateInit(nil), v.candidates...)
}

func (v *fakeViewer) isClosed() bool {
	select {
	case <-v.closed:
		return true
	default:
		return false
	}
}

// waitClosed fails the test unless v is closed, exactly once, within d.
func (v *fakeViewer) waitClosed(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-v.closed:
	case <-time.After(d):
		t.Fatalf("viewer of %s not closed after %v", v.stream, d)
	}
	if n := v.closes.Load(); n != 1 {
		t.Fatalf("viewer of %s closed %d times, want 1", v.stream, n)
	}
}
