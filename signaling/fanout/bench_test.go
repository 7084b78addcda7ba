package fanout

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/pigweight/pigweight/signaling/peer"
)

// What sharing the packetization saves: Pion's TrackLocalStaticSample packetizes per track,
// that is per viewer; the hub packetizes once and every viewer only writes. Compare
// BenchmarkPacketize (per packet, paid once per stream here) with BenchmarkWriteRTP (per
// packet and viewer either way).

func BenchmarkPacketize(b *testing.B) {
	aus := fixture(b)
	var p packetizer
	packets := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		packets += len(p.packetize(aus[i%len(aus)]).payloads)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(packets), "ns/packet")
}

// sendingPair connects a server track to a client that reads and discards, and returns the
// track once packets can flow.
func sendingPair(b *testing.B) (*webrtc.TrackLocalStaticRTP, *webrtc.TrackLocalStaticSample) {
	b.Helper()
	api := loopbackAPI(b)
	server, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		b.Fatal(err)
	}
	track, err := webrtc.NewTrackLocalStaticRTP(peer.H264Codec(), "video", "pigweight")
	if err != nil {
		b.Fatal(err)
	}
	sampleTrack, err := webrtc.NewTrackLocalStaticSample(peer.H264Codec(), "video2", "pigweight")
	if err != nil {
		b.Fatal(err)
	}
	var senders []*webrtc.RTPSender
	for _, tr := range []webrtc.TrackLocal{track, sampleTrack} {
		s, err := server.AddTrack(tr)
		if err != nil {
			b.Fatal(err)
		}
		senders = append(senders, s)
	}
	connected := make(chan struct{})
	server.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			close(connected)
		}
	})
	client, err := clientAPI(b).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		b.Fatal(err)
	}
	readers := make(chan struct{}, 4)
	client.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		go func() {
			defer func() { readers <- struct{}{} }()
			buf := make([]byte, 1500)
			for {
				if _, _, err := t.Read(buf); err != nil {
					return
				}
			}
		}()
	})
	for range 2 {
		if _, err := client.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			b.Fatal(err)
		}
	}
	offer, err := client.CreateOffer(nil)
	if err != nil {
		b.Fatal(err)
	}
	gc := webrtc.GatheringCompletePromise(client)
	if err := client.SetLocalDescription(offer); err != nil {
		b.Fatal(err)
	}
	<-gc
	if err := server.SetRemoteDescription(*client.LocalDescription()); err != nil {
		b.Fatal(err)
	}
	answer, err := server.CreateAnswer(nil)
	if err != nil {
		b.Fatal(err)
	}
	gs := webrtc.GatheringCompletePromise(server)
	if err := server.SetLocalDescription(answer); err != nil {
		b.Fatal(err)
	}
	<-gs
	if err := client.SetRemoteDescription(*server.LocalDescription()); err != nil {
		b.Fatal(err)
	}
	select {
	case <-connected:
	case <-time.After(5 * time.Second):
		b.Fatal("not connected")
	}
	for _, s := range senders {
		go func() {
			buf := make([]byte, 1500)
			for {
				if _, _, err := s.Read(buf); err != nil {
					return
				}
			}
		}()
	}
	b.Cleanup(func() {
		_ = client.GracefulClose()
		_ = server.GracefulClose()
	})
	return track, sampleTrack
}

// BenchmarkWriteRTP is one viewer's cost per packet: interceptors, SRTP, the UDP write.
func BenchmarkWriteRTP(b *testing.B) {
	aus := fixture(b)
	var p packetizer
	var frames []*frame
	for _, au := range aus {
		frames = append(frames, p.packetize(au))
	}
	track, _ := sendingPair(b)
	pkt := rtp.Packet{Header: rtp.Header{Version: 2}}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for n < b.N {
		for _, f := range frames {
			for i, payload := range f.payloads {
				pkt.Header.Marker = i == len(f.payloads)-1
				pkt.Payload = payload
				if err := track.WriteRTP(&pkt); err != nil {
					b.Fatal(err)
				}
				pkt.Header.SequenceNumber++
				n++
			}
			pkt.Header.Timestamp += 6000
			if n >= b.N {
				break
			}
		}
		// Let the receiver keep up, as a paced camera would: 30 pictures at once already
		// overflow a loopback socket's buffer now and then. Not timed.
		b.StopTimer()
		time.Sleep(time.Millisecond)
		b.StartTimer()
	}
}

// BenchmarkWriteSample is the per-viewer cost per packet with Pion's own packetizing track.
func BenchmarkWriteSample(b *testing.B) {
	aus := fixture(b)
	_, track := sendingPair(b)
	var p packetizer
	perAU := 0
	for _, au := range aus {
		perAU += len(p.packetize(au).payloads)
	}
	b.ReportAllocs()
	b.ResetTimer()
	packets := 0
	for packets < b.N {
		for _, au := range aus {
			if err := track.WriteSample(media.Sample{Data: au.Data, Duration: frameDuration}); err != nil {
				b.Fatal(err)
			}
		}
		packets += perAU
		b.StopTimer()
		time.Sleep(time.Millisecond)
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(packets), "ns/packet")
}
