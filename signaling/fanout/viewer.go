package fanout

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Viewer is one peer connection's view of a hub's stream. Its writer goroutine sends the
// hub's frames from its own bounded queue; its RTCP goroutine reads what the viewer reports.
type Viewer struct {
	id     uint64
	hub    *Hub
	pc     *webrtc.PeerConnection
	track  *webrtc.TrackLocalStaticRTP
	sender *webrtc.RTPSender
	joined time.Time

	queue     chan *frame
	keyframes chan struct{} // a keyframe request waits here, at most one
	connected chan struct{}
	connOnce  sync.Once

	ctx      context.Context // done when the viewer ends, for whatever reason
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once

	// started is set by the writer when it begins sending; from then on the hub queues frames.
	started atomic.Bool
	// needKeyframe belongs to the hub's goroutine: the viewer lost a frame and waits for a
	// keyframe.
	needKeyframe bool

	firstFrame       atomic.Int64 // unix nanoseconds; 0 until the first frame went out
	frames           atomic.Uint64
	packets          atomic.Uint64
	bytes            atomic.Uint64
	dropped          atomic.Uint64
	keyframeRequests atomic.Uint64
	keyframeResends  atomic.Uint64
	writeErrors      atomic.Uint64
	// remb is the viewer's latest receiver estimate of what it can take, bit/s (REMB,
	// draft-alvestrand-rmcat-remb); 0 before its first.
	remb atomic.Uint64
	// detections is the viewer's DataChannel for detections; nil when it has none.
	detections        atomic.Pointer[webrtc.DataChannel]
	detectionsSent    atomic.Uint64
	detectionsDropped atomic.Uint64
	beforeQueuedFrame func() // test hook: runs in the writer before each queued frame

	// The writer goroutine's own state.
	packet       rtp.Packet
	lastSerial   uint64 // the newest frame sent; 0 before the first
	lastTS       uint32
	waitKeyframe bool
	lastCatchUp  time.Time
}

func newViewer(h *Hub, pc *webrtc.PeerConnection, track *webrtc.TrackLocalStaticRTP, sender *webrtc.RTPSender) *Viewer {
	ctx, cancel := context.WithCancel(context.Background())
	v := &Viewer{
		id:        h.nextID.Add(1),
		hub:       h,
		pc:        pc,
		track:     track,
		sender:    sender,
		joined:    time.Now(),
		queue:     make(chan *frame, h.viewerQueue),
		keyframes: make(chan struct{}, 1),
		connected: make(chan struct{}),
		ctx:       ctx,
		cancel:    cancel,
		// Nothing sent yet: only a keyframe (or the cached group) can start the picture.
		waitKeyframe: true,
	}
	// RFC 3550 section 5.1: the first sequence number is random.
	v.packet.Header = rtp.Header{Version: 2, SequenceNumber: uint16(rand.Uint32())}
	return v
}

// ID tells the hub's viewers apart, in the order they joined.
func (v *Viewer) ID() uint64 { return v.id }

// Sender is the RTP sender of the viewer's track on its peer connection.
func (v *Viewer) Sender() *webrtc.RTPSender { return v.sender }

// Connected tells the viewer that its peer connection is connected, so that it starts sending
// at once. Calling it again, or before the connection is up, does no harm: the viewer checks.
func (v *Viewer) Connected() {
	v.connOnce.Do(func() { close(v.connected) })
}

// Done is closed when the viewer has ended: Leave, the hub's Run returning, or its peer
// connection closing. Its owner should then call Leave, which also waits for its goroutines.
func (v *Viewer) Done() <-chan struct{} { return v.ctx.Done() }

// FirstFrameSent is when the viewer's first picture went out; zero before.
func (v *Viewer) FirstFrameSent() time.Time {
	if ns := v.firstFrame.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// Dropped counts the access units the viewer lost by falling behind.
func (v *Viewer) Dropped() uint64 { return v.dropped.Load() }

// Stats is a snapshot of the viewer's counters.
func (v *Viewer) Stats() ViewerStats {
	return ViewerStats{
		ID:                v.id,
		Joined:            v.joined,
		FirstFrameSent:    v.FirstFrameSent(),
		Frames:            v.frames.Load(),
		Packets:           v.packets.Load(),
		Bytes:             v.bytes.Load(),
		Dropped:           v.dropped.Load(),
		KeyframeRequests:  v.keyframeRequests.Load(),
		KeyframeResends:   v.keyframeResends.Load(),
		WriteErrors:       v.writeErrors.Load(),
		DetectionsSent:    v.detectionsSent.Load(),
		DetectionsDropped: v.detectionsDropped.Load(),
	}
}

// ViewerStats is a snapshot of one viewer's counters.
type ViewerStats struct {
	ID             uint64
	Joined         time.Time
	FirstFrameSent time.Time // zero until the first picture went out
	// Frames, Packets and Bytes (RTP payload) went out, catch-up frames included.
	Frames, Packets, Bytes uint64
	// Dropped access units were lost by falling behind.
	Dropped uint64
	// KeyframeRequests counts PLIs and FIRs received; KeyframeResends the cached groups sent in
	// answer (the first one, at connection, not included).
	KeyframeRequests, KeyframeResends uint64
	// WriteErrors counts packets Pion refused.
	WriteErrors uint64
	// DetectionsSent and DetectionsDropped count detection messages on the viewer's DataChannel;
	// dropped ones found too much data queued.
	DetectionsSent, DetectionsDropped uint64
}

func (v *Viewer) start() {
	v.wg.Add(2)
	go v.run()
	go v.readRTCP()
}

// stop ends the viewer and waits for its goroutines. Removing the track stops the sender,
// which is what ends a blocked RTCP read.
func (v *Viewer) stop() {
	v.stopOnce.Do(func() {
		v.cancel()
		if err := v.pc.RemoveTrack(v.sender); err != nil {
			// Closed connection, or one that never negotiated: stop the sender directly.
			_ = v.sender.Stop()
		}
		v.wg.Wait()
	})
}

func (v *Viewer) ended() bool { return v.ctx.Err() != nil }

// run is the writer goroutine.
func (v *Viewer) run() {
	defer v.wg.Done()
	defer v.cancel()
	if !v.awaitConnection() {
		return
	}
	// started before the cache is read: every frame newer than the cache's newest is then
	// queued (the hub publishes the cache before it queues), and older ones are skipped below.
	v.started.Store(true)
	v.catchUp()
	for {
		select {
		case <-v.ctx.Done():
			return
		case f := <-v.queue:
			if v.beforeQueuedFrame != nil {
				v.beforeQueuedFrame()
			}
			v.sendLive(f)
		case <-v.keyframes:
			if time.Since(v.lastCatchUp) < v.hub.keyframeInterval {
				continue
			}
			if v.catchUp() {
				v.keyframeResends.Add(1)
			}
		}
	}
}

// awaitConnection waits until the peer connection is connected and its SRTP session has
// started, and reports whether it has. Packets written before SRTP starts are dropped without
// an error.
func (v *Viewer) awaitConnection() bool {
	if !v.awaitConnected() {
		return false
	}
	// Pion reports the DTLS transport connected, and with it the peer connection, a moment
	// before it starts SRTP, under the transport's lock. Taking that lock (State does) waits
	// for SRTP: without this the cached keyframe went out into nothing now and then, and the
	// viewer waited up to a whole GOP for the next one.
	if t := v.sender.Transport(); t != nil {
		t.State()
	}
	return true
}

func (v *Viewer) awaitConnected() bool {
	if v.pc.ConnectionState() == webrtc.PeerConnectionStateConnected {
		return true
	}
	poll := time.NewTicker(v.hub.connectPoll)
	defer poll.Stop()
	for {
		select {
		case <-v.ctx.Done():
			return false
		case <-v.connected:
			return true
		case <-poll.C:
			if v.pc.ConnectionState() == webrtc.PeerConnectionStateConnected {
				return true
			}
		}
	}
}

// catchUp sends the cached group of pictures, which decodes from its keyframe to the hub's
// newest picture, and reports whether there was one. For a new viewer the frames keep their
// own timestamps; after a keyframe request they go out one tick apart after the last one sent
// (see the package comment for why, and what Chromium made of the alternatives).
func (v *Viewer) catchUp() bool {
	start := time.Now()
	v.lastCatchUp = start
	g := v.hub.cache.Load()
	if g == nil {
		return false
	}
	resend, next := v.lastSerial != 0, v.lastTS+1
	if at := g.newest().captured; resend && !at.IsZero() && time.Since(at) > staleGroup {
		// The stream has stopped (a camera that dropped, a pipeline stopped): its last pictures
		// are the past, and packed after the last timestamp sent they would anchor the viewer's
		// clock there, so that Chromium held every frame of the restarted stream back by as
		// long as it had been away. The restarted stream's first keyframe answers the request.
		return false
	}
	paced := &pacer{start: start}
	for _, f := range g.frames {
		ts := f.timestamp
		if resend {
			ts = resendTimestamp(ts, next)
			next = ts + 1
		}
		if !v.sendPaced(f, ts, paced) {
			return false
		}
	}
	v.lastSerial = g.newest().serial
	v.waitKeyframe = false
	return true
}

// staleGroup is how old the cached group's newest picture may be for a keyframe request to
// resend the group: a camera sends a picture every fraction of a second.
const staleGroup = time.Second

// resendTimestamp is the RTP timestamp a frame of a resent group goes out with, next being one
// tick after the last timestamp sent: next, unless the frame's own timestamp is later still.
// A group is usually older than what the viewer has (packed after it, see the package
// comment), but after a pipeline restart the viewer may ask for a keyframe before the new
// run's first frames reached it, and the group is the new run's: its timestamps ran on while
// the stream was down, and packed into the past they would make Chromium hold every later
// frame back for as long as the stream had been away, as a stale group did (see staleGroup).
func resendTimestamp(own, next uint32) uint32 {
	if int32(own-next) > 0 { // own is after next, in RTP's wrapping arithmetic
		return own
	}
	return next
}

// catchUpRate bounds how fast a cached group goes out, in bytes a second (80 Mbit/s): sent in
// one burst, a 720p keyframe and its group overflowed receiving sockets now and then on
// loopback, and each loss cost a NACK round (100 ms) or a whole GOP (up to a second) before
// the first picture. Paced, every join in the viewer benchmark got its first frame in 15-25 ms.
const catchUpRate = 10 << 20

// catchUpBurst is how many bytes of a catch-up go out back to back before pacing waits.
const catchUpBurst = 32 << 10

// pacer spreads a catch-up's packets out at catchUpRate.
type pacer struct {
	start         time.Time
	sent, unpaced int
}

// wait returns once the bytes sent so far are due, or false when the viewer has ended.
func (p *pacer) wait(v *Viewer) bool {
	if p.unpaced < catchUpBurst {
		return true
	}
	p.unpaced = 0
	wait := time.Until(p.start.Add(time.Duration(p.sent) * time.Second / catchUpRate))
	if wait <= 0 {
		return !v.ended()
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-v.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// sendLive sends a frame from the queue unless the viewer already has it (from a catch-up) or
// could not decode it (it follows a gap, and is no keyframe).
func (v *Viewer) sendLive(f *frame) {
	if f.serial <= v.lastSerial {
		return
	}
	if !f.keyframe && (v.waitKeyframe || f.serial != v.lastSerial+1) {
		v.waitKeyframe = true
		return
	}
	v.send(f, f.timestamp)
	v.lastSerial = f.serial
	v.waitKeyframe = false
}

// send writes f's payloads behind the viewer's own headers. The track sets SSRC and payload
// type, and copies the packet, so one rtp.Packet serves every write.
func (v *Viewer) send(f *frame, timestamp uint32) {
	v.sendPaced(f, timestamp, nil)
}

// sendPaced is send with the packets spread out by p (nil: back to back); it reports false
// when the viewer ended on the way.
func (v *Viewer) sendPaced(f *frame, timestamp uint32, p *pacer) bool {
	h := &v.packet.Header
	h.Timestamp = timestamp
	last := len(f.payloads) - 1
	for i, payload := range f.payloads {
		if p != nil {
			if !p.wait(v) {
				return false
			}
			p.sent += len(payload)
			p.unpaced += len(payload)
		}
		h.Marker = i == last
		v.packet.Payload = payload
		if err := v.track.WriteRTP(&v.packet); err != nil {
			v.writeErrors.Add(1)
			if errors.Is(err, io.ErrClosedPipe) {
				v.cancel()
			}
		}
		h.SequenceNumber++
	}
	v.packet.Payload = nil
	v.lastTS = timestamp
	v.frames.Add(1)
	v.packets.Add(uint64(len(f.payloads)))
	v.bytes.Add(uint64(f.size))
	if v.firstFrame.Load() == 0 {
		v.firstFrame.Store(time.Now().UnixNano())
	}
	return true
}

// readRTCP reads everything the viewer sends about the track. Reading is what runs Pion's
// interceptors (the NACK responder answers from here); keyframe requests go to the writer.
// It ends the viewer when the sender stops: Leave, or the peer connection closing.
func (v *Viewer) readRTCP() {
	defer v.wg.Done()
	defer v.cancel()
	buf := make([]byte, 1500)
	for {
		n, _, err := v.sender.Read(buf)
		if err != nil {
			return
		}
		packets, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, p := range packets {
			switch p := p.(type) {
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				v.remb.Store(uint64(p.Bitrate))
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				v.keyframeRequests.Add(1)
				v.hub.askKeyframe()
				select {
				case v.keyframes <- struct{}{}:
				default:
				}
			}
		}
	}
}
