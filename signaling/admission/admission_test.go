package admission

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// step is one thing a viewer does at a gate; the table below plays viewers through them.
type step struct {
	op   string // "admit", "connect", "release", "reap"
	addr string // admit: the client's address
	seat int    // connect, release, reap: the index of the seat admitted earlier
	want error  // admit: the error wrapped, nil for a seat
}

func TestGate(t *testing.T) {
	tests := []struct {
		name   string
		limits Limits
		steps  []step
		want   Stats
	}{
		{"no caps", Limits{}, []step{
			{op: "admit", addr: "a"}, {op: "admit", addr: "a"}, {op: "admit", addr: "b"},
		}, Stats{Now: 3, Connecting: 3}},
		{"global cap refuses, then frees on release", Limits{Max: 2}, []step{
			{op: "admit", addr: "a"}, {op: "admit", addr: "b"},
			{op: "admit", addr: "c", want: ErrServerFull},
			{op: "release", seat: 0},
			{op: "admit", addr: "c"},
		}, Stats{Now: 2, Connecting: 2, Max: 2, RefusedServer: 1}},
		{"per-address cap refuses that address only", Limits{Max: 10, MaxPerAddress: 2}, []step{
			{op: "admit", addr: "a"}, {op: "admit", addr: "a"},
			{op: "admit", addr: "a", want: ErrAddressFull},
			{op: "admit", addr: "b"},
			{op: "reap", seat: 1},
			{op: "admit", addr: "a"},
		}, Stats{Now: 3, Connecting: 3, Max: 10, MaxPerAddress: 2, RefusedAddress: 1, Reaped: 1}},
		{"global cap first", Limits{Max: 1, MaxPerAddress: 1}, []step{
			{op: "admit", addr: "a"},
			{op: "admit", addr: "a", want: ErrServerFull},
		}, Stats{Now: 1, Connecting: 1, Max: 1, MaxPerAddress: 1, RefusedServer: 1}},
		{"connected seats are not connecting", Limits{}, []step{
			{op: "admit", addr: "a"}, {op: "admit", addr: "a"},
			{op: "connect", seat: 0}, {op: "connect", seat: 0},
		}, Stats{Now: 2, Connecting: 1}},
		{"given back once, however often", Limits{Max: 2}, []step{
			{op: "admit", addr: "a"}, {op: "admit", addr: "a"},
			{op: "reap", seat: 0}, {op: "release", seat: 0}, {op: "reap", seat: 0}, {op: "connect", seat: 0},
			{op: "connect", seat: 1}, {op: "release", seat: 1}, {op: "release", seat: 1},
		}, Stats{Max: 2, Reaped: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := New(tt.limits, nil)
			var seats []*Seat
			for i, s := range tt.steps {
				switch s.op {
				case "admit":
					seat, err := g.Admit(s.addr)
					if !errors.Is(err, s.want) || (err == nil) != (seat != nil) {
						t.Fatalf("step %d: Admit(%q) = %v, %v; want error %v", i, s.addr, seat, err, s.want)
					}
					if seat != nil {
						seats = append(seats, seat)
					}
				case "connect":
					seats[s.seat].Connected()
				case "release":
					seats[s.seat].Release()
				case "reap":
					seats[s.seat].Reap()
				}
			}
			if got := g.Stats(); got != tt.want {
				t.Errorf("Stats() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// A refusal tells the client which cap refused it and which setting raises it.
func TestRefusalNamesTheSetting(t *testing.T) {
	g := New(Limits{Max: 2, MaxPerAddress: 1}, nil)
	if _, err := g.Admit("a"); err != nil {
		t.Fatal(err)
	}
	_, err := g.Admit("a")
	if !errors.Is(err, ErrAddressFull) || !strings.Contains(err.Error(), "webrtc.max_viewers_per_address") || !strings.Contains(err.Error(), "at most 1") {
		t.Errorf("per-address refusal: %v", err)
	}
	if _, err := g.Admit("b"); err != nil {
		t.Fatal(err)
	}
	_, err = g.Admit("c")
	if !errors.Is(err, ErrServerFull) || !strings.Contains(err.Error(), "webrtc.max_viewers ") || !strings.Contains(err.Error(), "at most 2") {
		t.Errorf("global refusal: %v", err)
	}
}

// Many viewers coming and going at once never exceed the caps, and leave the gate empty.
func TestGateConcurrent(t *testing.T) {
	g := New(Limits{Max: 8, MaxPerAddress: 3}, nil)
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			addr := string(rune('a' + w%4))
			for range 200 {
				seat, err := g.Admit(addr)
				if err != nil {
					continue
				}
				if st := g.Stats(); st.Now > 8 {
					t.Errorf("%d seats held, cap 8", st.Now)
				}
				seat.Connected()
				seat.Release()
				seat.Release()
			}
		})
	}
	wg.Wait()
	if st := g.Stats(); st.Now != 0 || st.Connecting != 0 || len(g.byAddress) != 0 {
		t.Errorf("after everyone left: %+v, %d addresses", st, len(g.byAddress))
	}
}

func TestAddress(t *testing.T) {
	for _, tt := range []struct{ remote, want string }{
		{"127.0.0.1:5000", "127.0.0.1"},
		{"[::1]:5000", "::1"},
		{"192.0.2.7:1", "192.0.2.7"},
		{"unix-socket", "unix-socket"},
	} {
		r := &http.Request{RemoteAddr: tt.remote, Header: http.Header{"X-Forwarded-For": {"203.0.113.9"}}}
		if got := Address(r); got != tt.want {
			t.Errorf("Address(%q) = %q, want %q", tt.remote, got, tt.want)
		}
	}
}
