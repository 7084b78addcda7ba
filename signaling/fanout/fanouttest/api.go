package fanouttest

import (
	"net"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/webrtc/v4"

	"github.com/pigweight/pigweight/signaling/peer"
)

// NewAPI returns an API for clients on this machine: pigweight's H.264, a NACK generator and
// RTCP reports as a browser has them, and ICE on 127.0.0.1 only.
func NewAPI() (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: peer.H264Codec(),
		PayloadType:        peer.H264PayloadType,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	registry := &interceptor.Registry{}
	generator, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return nil, err
	}
	registry.Add(generator)
	if err := webrtc.ConfigureRTCPReports(registry); err != nil {
		return nil, err
	}
	var s webrtc.SettingEngine
	s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	s.SetIncludeLoopbackCandidate(true)
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	s.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	s.SetPrflxAcceptanceMinWait(0)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(registry),
		webrtc.WithSettingEngine(s)), nil
}
