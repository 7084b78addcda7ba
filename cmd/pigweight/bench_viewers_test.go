package main

import (
	"io"
	"slices"
	"testing"
	"time"
)

func TestParseViewersBenchFlags(t *testing.T) {
	f, err := parseViewersBenchFlags(nil, io.Discard)
	if err != nil || !slices.Equal(f.counts, []int{1, 10, 50, 100}) || f.window != 10*time.Second || f.drift != 0 {
		t.Errorf("defaults: %+v, %v", f, err)
	}
	f, err = parseViewersBenchFlags([]string{"--viewers", "20,5", "--drift", "10m"}, io.Discard)
	if err != nil || !slices.Equal(f.counts, []int{5, 20}) || f.drift != 10*time.Minute {
		t.Errorf("narrowed: %+v, %v", f, err)
	}
	for _, bad := range [][]string{{"--viewers", "0"}, {"--window", "0s"}, {"--drift", "-1s"}, {"extra"}} {
		if _, err := parseViewersBenchFlags(bad, io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// The latency clock finds a frame by its last slice, however the server re-framed the access
// unit around it, and forgets old frames.
func TestSendClock(t *testing.T) {
	c := &sendClock{sent: map[uint64]time.Time{}}
	t0 := time.Unix(1000, 0)
	slice := []byte{0x65, 1, 2, 3, 4, 5}
	c.onSend([][]byte{{0x67, 9}, {0x68, 8}, slice}, t0)
	received := append([]byte{0, 0, 0, 1, 0x67, 9, 0, 0, 0, 1, 0x68, 8, 0, 0, 0, 1}, slice...)
	if l, ok := c.latency(received, t0.Add(40*time.Millisecond)); !ok || l != 40*time.Millisecond {
		t.Errorf("latency %v, %v; want 40ms", l, ok)
	}
	if _, ok := c.latency([]byte{0, 0, 1, 0x41, 7, 7}, t0); ok {
		t.Error("an unknown frame has a latency")
	}
	for i := range sendClockKeep {
		c.onSend([][]byte{{0x41, byte(i), byte(i >> 8)}}, t0)
	}
	if _, ok := c.latency(received, t0); ok {
		t.Error("the oldest frame was not forgotten")
	}
}
