// Package peer builds the Pion WebRTC API that every pigweight peer connection comes from: one
// H.264 codec the browsers decode in hardware and software alike, the two interceptors a sender
// needs (NACK responder, RTCP reports) and the ICE settings that make loopback and LAN viewers
// connect at once.
//
// What it leaves out is as deliberate as what it sets; see WEBRTC-NOTES.md in the shared
// folder for the measurements:
//   - Pion's default interceptor set (NACK generator, TWCC, stats, ...) cost about 60 % CPU and
//     3.5 MB per viewer; a send-only server needs none of the receive-side ones.
//   - mDNS candidates and IPv6 bought nothing on the networks pigweight serves and slowed
//     gathering.
//   - Chromium never reports its loopback candidate: Pion learns it as peer-reflexive and by
//     default waits a second before using such a pair. SetPrflxAcceptanceMinWait(0) removes that
//     second from every connection.
package peer

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/webrtc/v4"
)

// H.264 as pigweight offers it: constrained baseline, level 3.1, non-interleaved packetization
// (single NAL units, STAP-A, FU-A; RFC 6184 section 6.3). Every WebRTC browser decodes it.
const (
	// H264FmtpLine is the fmtp line of the one video codec, as Chromium spells it.
	H264FmtpLine = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
	// H264PayloadType is the payload type the codec has in offers pigweight makes. In an answer
	// the offerer's number wins.
	H264PayloadType webrtc.PayloadType = 102
	// H264ClockRate is the RTP clock of every video codec (RFC 6184 section 8.2.1): RTP timestamps
	// count 90 kHz ticks.
	H264ClockRate = 90000
)

// ErrConfig marks a Config that NewAPI cannot use.
var ErrConfig = errors.New("peer: invalid config")

// Config says where and how peer connections gather ICE candidates. The zero value serves
// every non-loopback IPv4 address on ephemeral ports without STUN or TURN; DefaultConfig adds
// loopback.
type Config struct {
	// IncludeLoopback gathers host candidates on 127.0.0.1 too: needed for a browser on the
	// same machine (and for tests), harmless elsewhere.
	IncludeLoopback bool
	// UDPPortMin and UDPPortMax bound the UDP ports ICE listens on (inclusive), for firewalls
	// and port mappings. Both zero: any ephemeral port.
	UDPPortMin, UDPPortMax uint16
	// ICEServers are STUN and TURN servers for viewers behind NAT. They are not part of the
	// API: they go into each connection's webrtc.Configuration, see Configuration.
	ICEServers []webrtc.ICEServer
	// MintedTURN are TURN servers whose credentials Configuration mints from a shared secret.
	MintedTURN []TURNServer
	// NAT1To1IPs replace the host candidates' addresses with these public IPs: for a server
	// behind a 1:1 NAT (a cloud VM's elastic IP) that knows its public address.
	NAT1To1IPs []string
	// AllowedIPs limits host candidates to these local addresses; nil allows all. With
	// IncludeLoopback, list the loopback address here too.
	AllowedIPs []net.IP
}

// loopbackIPv4 is the loopback address candidates are gathered on.
const loopbackIPv4 = "127.0.0.1"

// DefaultConfig serves loopback and every LAN address: what `pigweight serve` uses unless
// told otherwise.
func DefaultConfig() Config {
	return Config{IncludeLoopback: true}
}

// TURNServer is a TURN server that shares a secret with pigweight instead of a password (the
// TURN REST API, coturn's use-auth-secret): each connection gets a username that carries its
// expiry time and, as its password, the HMAC-SHA1 of that username under the secret, which the
// TURN server checks without a list of users.
type TURNServer struct {
	URLs []string
	// Label, when set, follows the expiry time in the username ("1700000000:label").
	Label  string
	Secret string
	TTL    time.Duration
}

// credential mints a username and password valid until expires.
func (t TURNServer) credential(expires time.Time) (username, password string) {
	username = strconv.FormatInt(expires.Unix(), 10)
	if t.Label != "" {
		username += ":" + t.Label
	}
	mac := hmac.New(sha1.New, []byte(t.Secret))
	mac.Write([]byte(username))
	return username, base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Configuration is the webrtc.Configuration for one peer connection made with this config's
// API: the settings that Pion keeps per connection rather than per API. Each call mints fresh
// credentials for the MintedTURN servers.
func (c Config) Configuration() webrtc.Configuration {
	servers := slices.Clone(c.ICEServers)
	now := time.Now()
	for _, t := range c.MintedTURN {
		username, password := t.credential(now.Add(t.TTL))
		servers = append(servers, webrtc.ICEServer{URLs: slices.Clone(t.URLs), Username: username,
			Credential: password, CredentialType: webrtc.ICECredentialTypePassword})
	}
	return webrtc.Configuration{ICEServers: servers}
}

// Validate reports the first setting NewAPI cannot use.
func (c Config) Validate() error {
	if c.UDPPortMax < c.UDPPortMin {
		return fmt.Errorf("%w: udp port range %d-%d is empty", ErrConfig, c.UDPPortMin, c.UDPPortMax)
	}
	if (c.UDPPortMin == 0) != (c.UDPPortMax == 0) {
		return fmt.Errorf("%w: udp port range needs both ends (%d-%d)", ErrConfig, c.UDPPortMin, c.UDPPortMax)
	}
	for _, ip := range c.NAT1To1IPs {
		if net.ParseIP(ip) == nil {
			return fmt.Errorf("%w: nat 1:1 address %q is not an IP", ErrConfig, ip)
		}
	}
	// Pion parses the ICE servers' URLs when a connection is made; an empty entry is the one
	// mistake worth catching here, as it would fail every connection.
	for i, s := range c.ICEServers {
		if len(s.URLs) == 0 {
			return fmt.Errorf("%w: ice server %d has no URLs", ErrConfig, i)
		}
	}
	for i, t := range c.MintedTURN {
		if len(t.URLs) == 0 || t.Secret == "" || t.TTL <= 0 {
			return fmt.Errorf("%w: minted TURN server %d needs URLs, a secret and a positive TTL", ErrConfig, i)
		}
	}
	return nil
}

// NewAPI returns the API that pigweight's peer connections come from. Every connection it
// makes speaks H.264 constrained baseline only, answers NACKs from its send buffer, sends
// sender reports and reads receiver reports, and gathers UDP4 host candidates per cfg.
func NewAPI(cfg Config) (*webrtc.API, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	media, err := newMediaEngine()
	if err != nil {
		return nil, err
	}
	registry, err := newInterceptors()
	if err != nil {
		return nil, err
	}
	settings, err := newSettingEngine(cfg)
	if err != nil {
		return nil, err
	}
	return webrtc.NewAPI(
		webrtc.WithMediaEngine(media),
		webrtc.WithInterceptorRegistry(registry),
		webrtc.WithSettingEngine(settings),
	), nil
}

// H264Codec is the codec capability of every video track pigweight sends.
func H264Codec() webrtc.RTPCodecCapability {
	return webrtc.RTPCodecCapability{
		MimeType:    webrtc.MimeTypeH264,
		ClockRate:   H264ClockRate,
		SDPFmtpLine: H264FmtpLine,
		// nack: retransmission from the responder's buffer (RFC 4585 section 6.2.1); nack pli and
		// ccm fir: the viewer asks for a keyframe (RFC 4585 section 6.3.1, RFC 5104 section 3.5.1),
		// which the fan-out answers from its cache.
		RTCPFeedback: []webrtc.RTCPFeedback{
			{Type: webrtc.TypeRTCPFBNACK},
			{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"},
			{Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"},
			// goog-remb: the viewer reports the bitrate it can take, which an encoded stream
			// follows (see fanout.Hub.BitrateEstimate).
			{Type: webrtc.TypeRTCPFBGoogREMB},
		},
	}
}

func newMediaEngine() (*webrtc.MediaEngine, error) {
	m := &webrtc.MediaEngine{}
	err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: H264Codec(),
		PayloadType:        H264PayloadType,
	}, webrtc.RTPCodecTypeVideo)
	if err != nil {
		return nil, fmt.Errorf("peer: register h264: %w", err)
	}
	return m, nil
}

// newInterceptors holds the send side's needs only. The registry holds factories: each peer
// connection builds its own interceptors from it.
func newInterceptors() (*interceptor.Registry, error) {
	registry := &interceptor.Registry{}
	responder, err := nack.NewResponderInterceptor()
	if err != nil {
		return nil, fmt.Errorf("peer: nack responder: %w", err)
	}
	registry.Add(responder)
	if err := webrtc.ConfigureRTCPReports(registry); err != nil {
		return nil, fmt.Errorf("peer: rtcp reports: %w", err)
	}
	return registry, nil
}

func newSettingEngine(cfg Config) (webrtc.SettingEngine, error) {
	var s webrtc.SettingEngine
	s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	s.SetIncludeLoopbackCandidate(cfg.IncludeLoopback)
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	s.SetPrflxAcceptanceMinWait(0)
	if cfg.UDPPortMin != 0 {
		if err := s.SetEphemeralUDPPortRange(cfg.UDPPortMin, cfg.UDPPortMax); err != nil {
			return s, fmt.Errorf("%w: udp port range: %w", ErrConfig, err)
		}
	}
	if len(cfg.NAT1To1IPs) > 0 {
		// Unspecified mode: host candidates are replaced, which is what a 1:1 NAT needs.
		rules := []webrtc.ICEAddressRewriteRule{{
			External:        slices.Clone(cfg.NAT1To1IPs),
			AsCandidateType: webrtc.ICECandidateTypeHost,
		}}
		if cfg.IncludeLoopback {
			// The catch-all rule would rewrite the loopback candidate too, and a browser on
			// the server's own machine would be offered only the public address. A rule for
			// that local address wins over the catch-all: loopback stays loopback.
			rules = append(rules, webrtc.ICEAddressRewriteRule{
				External:        []string{loopbackIPv4},
				Local:           loopbackIPv4,
				AsCandidateType: webrtc.ICECandidateTypeHost,
			})
		}
		err := s.SetICEAddressRewriteRules(rules...)
		if err != nil {
			return s, fmt.Errorf("%w: nat 1:1: %w", ErrConfig, err)
		}
	}
	if cfg.AllowedIPs != nil {
		allowed := slices.Clone(cfg.AllowedIPs)
		s.SetIPFilter(func(ip net.IP) bool {
			return slices.ContainsFunc(allowed, ip.Equal)
		})
	}
	return s, nil
}
