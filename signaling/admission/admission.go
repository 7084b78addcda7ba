// Package admission bounds the viewers one server serves at once: a cap on all of them and a
// cap per client address, shared by the WebSocket viewers (package signaling) and the WHEP
// sessions (package whep). Every viewer holds a peer connection with its UDP sockets, so
// without a bound a few clients can take every file descriptor the process has, after which
// the API and the pipelines fail too (accept4: too many open files).
//
// A viewer takes a Seat when it is created, before its peer connection, and gives it back once
// when it ends, however it ends. The Gate counts the seats held, those whose connection is not
// up yet, the refusals by cap and the viewers reaped for not connecting in time.
package admission

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Errors that Admit wraps, with the cap and how to raise it; callers branch on them (WHEP
// answers 503 to the first and 429 to the second).
var (
	// ErrServerFull means the server holds as many viewers as webrtc.max_viewers allows.
	ErrServerFull = errors.New("too many viewers on this server")
	// ErrAddressFull means the client's address holds as many viewers as
	// webrtc.max_viewers_per_address allows.
	ErrAddressFull = errors.New("too many viewers from this address")
)

// Limits are the caps a Gate enforces.
type Limits struct {
	// Max bounds the viewers at once, of every address together; 0: no bound.
	Max int
	// MaxPerAddress bounds the viewers of one client address at once; 0: no bound.
	MaxPerAddress int
}

// warnEvery spaces the warnings about refusals: a client that retries in a loop would
// otherwise write a line per attempt. Each warning says how many refusals it stands for.
const warnEvery = 10 * time.Second

// Gate hands out seats to viewers within its Limits. It is safe for concurrent use; its
// methods never block beyond its own short critical sections.
type Gate struct {
	limits Limits
	log    *slog.Logger

	mu         sync.Mutex
	now        int            // seats held
	connecting int            // seats whose viewer has not connected yet
	byAddress  map[string]int // seats held per address; an address holding none is absent
	refusedAll uint64         // refused for Max
	refusedOne uint64         // refused for MaxPerAddress
	reaped     uint64
	lastWarn   time.Time
	unwarned   uint64 // refusals since the last warning
}

// New returns a gate with limits. A nil log discards.
func New(limits Limits, log *slog.Logger) *Gate {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Gate{
		limits:    Limits{Max: max(limits.Max, 0), MaxPerAddress: max(limits.MaxPerAddress, 0)},
		log:       log.With("component", "admission"),
		byAddress: make(map[string]int),
	}
}

// Limits returns the caps the gate enforces.
func (g *Gate) Limits() Limits { return g.limits }

// Address is the client address a request's viewers count against: the IP of its
// RemoteAddr. X-Forwarded-For is not read: any client can write it, and one that did could
// pose as many addresses.
func Address(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Admit takes a seat for a new viewer of the client at addr (see Address). Over a cap it
// returns an error wrapping ErrServerFull or ErrAddressFull whose text names the cap and the
// setting that raises it, meant for the client.
func (g *Gate) Admit(addr string) (*Seat, error) {
	g.mu.Lock()
	var err error
	switch {
	case g.limits.Max > 0 && g.now >= g.limits.Max:
		g.refusedAll++
		err = fmt.Errorf("%w (at most %d; the server's webrtc.max_viewers raises it)", ErrServerFull, g.limits.Max)
	case g.limits.MaxPerAddress > 0 && g.byAddress[addr] >= g.limits.MaxPerAddress:
		g.refusedOne++
		err = fmt.Errorf("%w (at most %d per address; the server's webrtc.max_viewers_per_address raises it)", ErrAddressFull, g.limits.MaxPerAddress)
	default:
		g.now++
		g.connecting++
		g.byAddress[addr]++
		g.mu.Unlock()
		return &Seat{g: g, addr: addr}, nil
	}
	warn, refusals := false, uint64(0)
	g.unwarned++
	if now := time.Now(); now.Sub(g.lastWarn) >= warnEvery {
		warn, refusals = true, g.unwarned
		g.lastWarn, g.unwarned = now, 0
	}
	held, heldHere := g.now, g.byAddress[addr]
	g.mu.Unlock()

	if !warn {
		g.log.Debug("viewer refused", "address", addr, "err", err)
		return nil, err
	}
	if errors.Is(err, ErrServerFull) {
		g.log.Warn("viewers refused: the server holds webrtc.max_viewers viewers; raise it, or the open-file limit (ulimit -n, LimitNOFILE) it is derived from when 0",
			"max_viewers", g.limits.Max, "viewers", held, "address", addr, "refused", refusals, "per", warnEvery)
	} else {
		g.log.Warn("viewers refused: one address holds webrtc.max_viewers_per_address viewers; raise it if one client (a proxy, a video wall) needs more",
			"max_viewers_per_address", g.limits.MaxPerAddress, "address", addr, "viewers_of_address", heldHere, "refused", refusals, "per", warnEvery)
	}
	return nil, err
}

// Stats is a snapshot of a gate's counters.
type Stats struct {
	// Now counts the seats held: viewers created and not yet ended, connected or not.
	Now int
	// Connecting counts the viewers among Now whose peer connection is not up yet.
	Connecting int
	// Max and MaxPerAddress are the caps (0: none).
	Max, MaxPerAddress int
	// RefusedServer and RefusedAddress count the viewers refused for Max and for
	// MaxPerAddress since the start.
	RefusedServer, RefusedAddress uint64
	// Reaped counts the viewers closed for not connecting in time since the start.
	Reaped uint64
}

// Stats returns the gate's counters now.
func (g *Gate) Stats() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return Stats{
		Now: g.now, Connecting: g.connecting,
		Max: g.limits.Max, MaxPerAddress: g.limits.MaxPerAddress,
		RefusedServer: g.refusedAll, RefusedAddress: g.refusedOne,
		Reaped: g.reaped,
	}
}

// Seat is one viewer's place in a Gate. Its methods may be called from any goroutine, in any
// order and more than once: the seat is given back once, by the first Release or Reap.
type Seat struct {
	g    *Gate
	addr string
	// Guarded by g.mu.
	connected, released bool
}

// Connected records that the viewer's peer connection is up: it no longer counts as
// connecting. A viewer whose connection drops and comes back is still one viewer.
func (s *Seat) Connected() {
	g := s.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if !s.connected && !s.released {
		s.connected = true
		g.connecting--
	}
}

// Release gives the seat back: the viewer has ended.
func (s *Seat) Release() { s.release(false) }

// Reap gives the seat back of a viewer closed because it did not connect in time, and counts
// it as reaped.
func (s *Seat) Reap() { s.release(true) }

func (s *Seat) release(reaped bool) {
	g := s.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if s.released {
		return
	}
	s.released = true
	g.now--
	if !s.connected {
		g.connecting--
	}
	if n := g.byAddress[s.addr] - 1; n > 0 {
		g.byAddress[s.addr] = n
	} else {
		delete(g.byAddress, s.addr)
	}
	if reaped {
		g.reaped++
	}
}
