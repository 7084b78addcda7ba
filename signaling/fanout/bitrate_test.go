package fanout

import (
	"context"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// Down at once to the headroom below the estimate; up by at most a tenth per step.
func TestNextBitrate(t *testing.T) {
	cases := []struct{ current, estimate, want int }{
		{2500, 1000, 850},  // congestion: straight down
		{850, 3000, 936},   // recovery: a tenth more
		{2000, 2400, 2040}, // within headroom: to 85 % of the estimate
		{2000, 2352, 1999}, // 85 % of 2352 is below current: down
	}
	for _, tc := range cases {
		if got := nextBitrate(tc.current, tc.estimate); got != tc.want {
			t.Errorf("nextBitrate(%d, %d) = %d, want %d", tc.current, tc.estimate, got, tc.want)
		}
	}
}

// fakeEncoders records the bitrates asked for.
type fakeEncoders struct{ asked chan int }

func (f *fakeEncoders) SetEncoderBitrate(_ string, kbps int) (int, error) {
	f.asked <- kbps
	return kbps, nil
}

// A viewer's REMB reaches the hub's estimate, and AdaptBitrates asks the stream's encoder for
// the headroom below it.
func TestREMBDrivesTheEncoderBitrate(t *testing.T) {
	hubs := NewHubs(idleSource("pen1"), testLogger(t))
	t.Cleanup(hubs.Close)
	h, ok := hubs.Hub("pen1")
	if !ok {
		t.Fatal("no hub")
	}
	client, v := detectionsViewer(t, h)
	ssrc := uint32(v.Sender().GetParameters().Encodings[0].SSRC)
	waitFor(t, "the viewer's REMB", func() bool {
		_ = client.PeerConnection().WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 1_000_000, SSRCs: []uint32{ssrc}}})
		bps, n := h.BitrateEstimate()
		return n == 1 && bps == 1_000_000
	})
	enc := &fakeEncoders{asked: make(chan int, 16)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		hubs.AdaptBitrates(ctx, enc, 10*time.Millisecond)
	}()
	defer func() { cancel(); <-done }()
	select {
	case kbps := <-enc.asked:
		if kbps != 850 {
			t.Errorf("encoder asked for %d kbit/s, want 850 (85 %% of 1000)", kbps)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the encoder was never asked")
	}
}
