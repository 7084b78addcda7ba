package fanouttest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

// Frame is one picture a Client reassembled from RTP.
type Frame struct {
	Timestamp uint32    // RTP timestamp
	Data      []byte    // Annex B: each NAL unit behind a four-byte start code
	Keyframe  bool      // holds an IDR slice
	Packets   int       // RTP packets it came in
	Received  time.Time // when its last packet arrived
}

// Client is a viewer played by a Pion peer connection: it offers to receive one H.264 video
// track and reassembles every complete picture it gets. Like a browser, it reorders packets
// and asks for missing ones with NACKs (when its API has the generator, see NewAPI); a picture
// that stays incomplete is dropped, and so is everything up to the next keyframe, as a decoder
// would have to.
type Client struct {
	pc     *webrtc.PeerConnection
	frames chan Frame

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup

	ssrc     atomic.Uint32
	gaps     atomic.Uint64
	overflow atomic.Uint64
	state    chan webrtc.PeerConnectionState
	messages chan DataMessage
	channels sync.Map // label → *webrtc.DataChannel, as the server opened them
}

// DataMessage is one message the client received on a DataChannel the server opened.
type DataMessage struct {
	Label    string
	Data     []byte
	Received time.Time
}

// NewClient makes a client from api (whose media engine must know H.264), normally NewAPI's.
func NewClient(api *webrtc.API) (*Client, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	c := &Client{
		pc:       pc,
		frames:   make(chan Frame, 4096),
		state:    make(chan webrtc.PeerConnectionState, 16),
		messages: make(chan DataMessage, 4096),
	}
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		label := dc.Label()
		c.channels.Store(label, dc)
		dc.OnMessage(func(m webrtc.DataChannelMessage) {
			select {
			case c.messages <- DataMessage{Label: label, Data: m.Data, Received: time.Now()}:
			default:
				c.overflow.Add(1)
			}
		})
	})
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		_ = pc.Close()
		return nil, err
	}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		select {
		case c.state <- s:
		default:
		}
	})
	pc.OnTrack(func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closed {
			return
		}
		c.ssrc.Store(uint32(track.SSRC()))
		c.wg.Add(1)
		go c.read(track)
	})
	return c, nil
}

// SetLocalAndGather sets desc as pc's local description, waits until ICE gathering is complete
// (no trickle) or ctx ends, and returns the local SDP with every candidate in it.
func SetLocalAndGather(ctx context.Context, pc *webrtc.PeerConnection, desc webrtc.SessionDescription) (string, error) {
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(desc); err != nil {
		return "", err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", fmt.Errorf("gathering: %w", ctx.Err())
	}
	return pc.LocalDescription().SDP, nil
}

// PeerConnection is the client's peer connection.
func (c *Client) PeerConnection() *webrtc.PeerConnection { return c.pc }

// Offer makes the client's offer, with every ICE candidate in it (no trickle).
func (c *Client) Offer(ctx context.Context) (string, error) {
	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		return "", err
	}
	return SetLocalAndGather(ctx, c.pc, offer)
}

// Answer applies the server's offer (the server offers, as pigweight's /ws does) and returns
// the client's answer with every ICE candidate in it. The client's own receive-only
// transceiver takes the offered video.
func (c *Client) Answer(ctx context.Context, offer string) (string, error) {
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", err
	}
	answer, err := c.pc.CreateAnswer(nil)
	if err != nil {
		return "", err
	}
	return SetLocalAndGather(ctx, c.pc, answer)
}

// Messages delivers what arrives on DataChannels the server opened (up to 4096 unread; the
// client counts what did not fit).
func (c *Client) Messages() <-chan DataMessage { return c.messages }

// SendText sends a text message on the DataChannel the server opened with label; it fails
// while there is none or it is not open yet.
func (c *Client) SendText(label, text string) error {
	dc, ok := c.channels.Load(label)
	if !ok {
		return fmt.Errorf("fanouttest: no data channel %q", label)
	}
	return dc.(*webrtc.DataChannel).SendText(text)
}

// SetAnswer applies the server's answer.
func (c *Client) SetAnswer(sdp string) error {
	return c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp})
}

// Frames delivers the reassembled pictures. It holds 4096; the client counts what did not fit.
func (c *Client) Frames() <-chan Frame { return c.frames }

// States delivers the peer connection's state changes (up to 16 unread).
func (c *Client) States() <-chan webrtc.PeerConnectionState { return c.state }

// Gaps counts the RTP sequence gaps seen.
func (c *Client) Gaps() uint64 { return c.gaps.Load() }

// RequestKeyframe sends a Picture Loss Indication (RFC 4585 section 6.3.1) for the track.
func (c *Client) RequestKeyframe() error {
	ssrc := c.ssrc.Load()
	if ssrc == 0 {
		return errors.New("fanouttest: no track yet")
	}
	return c.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
}

// Close closes the peer connection and waits for the client's goroutines.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	err := c.pc.GracefulClose()
	c.wg.Wait()
	return err
}

// How long the client waits for a missing packet (which its NACKs may bring back) before it
// gives the picture up.
const lossTimeout = 500 * time.Millisecond

func (c *Client) read(track *webrtc.TrackRemote) {
	defer c.wg.Done()
	var (
		a       assembler
		pending = map[uint16]*rtp.Packet{} // arrived after a gap, by sequence number
		next    uint16                     // the sequence number due
		started bool
		gapAt   time.Time // when the oldest gap was seen
	)
	drain := func() {
		for p, ok := pending[next]; ok; p, ok = pending[next] {
			delete(pending, next)
			next++
			a.push(p, c)
		}
		if len(pending) == 0 {
			gapAt = time.Time{}
			return
		}
		if gapAt.IsZero() {
			gapAt = time.Now()
		}
	}
	for {
		_ = track.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		pkt, _, err := track.ReadRTP()
		var netErr net.Error
		switch {
		case errors.As(err, &netErr) && netErr.Timeout():
		case err != nil:
			return
		case !started:
			next, started = pkt.SequenceNumber, true
			pending[pkt.SequenceNumber] = pkt
		case int16(pkt.SequenceNumber-next) >= 0: // not a late duplicate
			pending[pkt.SequenceNumber] = pkt
		}
		drain()
		if len(pending) > 0 && time.Since(gapAt) > lossTimeout {
			// Give the missing packets up: skip to the oldest one that came.
			c.gaps.Add(1)
			a.lose()
			oldest := next
			for seq := range pending {
				if int16(seq-next) > 0 && (oldest == next || int16(seq-oldest) < 0) {
					oldest = seq
				}
			}
			next = oldest
			gapAt = time.Time{}
			drain()
		}
	}
}

// assembler turns in-order RTP packets into pictures.
type assembler struct {
	depacketizer codecs.H264Packet
	cur          Frame
	broken       bool // the current picture lost a packet
	waitKey      bool // a picture was lost: nothing decodes before the next keyframe
}

func (a *assembler) lose() {
	a.broken = true
}

func (a *assembler) reset() {
	a.cur = Frame{}
	a.broken = false
	a.depacketizer = codecs.H264Packet{}
}

func (a *assembler) push(pkt *rtp.Packet, c *Client) {
	if a.cur.Packets > 0 && pkt.Timestamp != a.cur.Timestamp {
		// The previous picture never got its marker: lost.
		a.reset()
		a.waitKey = true
	}
	if a.broken && a.cur.Packets == 0 {
		// The loss was at the end of the last picture or at the start of this one: assume this.
		a.waitKey = true
	}
	a.cur.Timestamp = pkt.Timestamp
	a.cur.Packets++
	nal, err := a.depacketizer.Unmarshal(pkt.Payload)
	if err != nil {
		a.broken = true
	}
	a.cur.Data = append(a.cur.Data, nal...)
	if !pkt.Marker {
		return
	}
	a.cur.Received = time.Now()
	a.cur.Keyframe = HasNAL(a.cur.Data, NALIDR)
	switch {
	case a.broken:
		a.waitKey = true
	case a.waitKey && !a.cur.Keyframe:
	default:
		a.waitKey = false
		select {
		case c.frames <- a.cur:
		default:
			c.overflow.Add(1)
		}
	}
	a.reset()
}
