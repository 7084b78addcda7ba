package main

import (
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/pigweight/pigweight/pipelines/spec"
	"github.com/pigweight/pigweight/signaling/peer"
)

func TestPeerConfig(t *testing.T) {
	stun := spec.ICEServer{URLs: []string{"stun:stun.example.org:3478"}}
	turn := spec.ICEServer{
		URLs:     []string{"turn:turn.example.org:3478?transport=udp", "turns:turn.example.org"},
		Username: "pigweight", Credential: "s3cret",
	}
	ips := func(s ...string) []net.IP {
		out := make([]net.IP, len(s))
		for i, ip := range s {
			out[i] = net.ParseIP(ip)
		}
		return out
	}
	tests := []struct {
		name string
		in   spec.WebRTC
		want peer.Config
	}{
		{"defaults", spec.Default().WebRTC, peer.DefaultConfig()},
		{"zero", spec.WebRTC{}, peer.Config{}},
		{"every field", spec.WebRTC{
			Loopback:   true,
			UDPPorts:   [2]int{50000, 50100},
			NAT1To1IPs: []string{"203.0.113.7"},
			LocalIPs:   []string{"192.168.1.10"},
			ICEServers: []spec.ICEServer{stun, turn},
		}, peer.Config{
			IncludeLoopback: true,
			UDPPortMin:      50000,
			UDPPortMax:      50100,
			NAT1To1IPs:      []string{"203.0.113.7"},
			// Loopback is on, so its address joins the local ones.
			AllowedIPs: ips("192.168.1.10", "127.0.0.1"),
			ICEServers: []webrtc.ICEServer{
				{URLs: stun.URLs},
				{URLs: turn.URLs, Username: "pigweight", Credential: "s3cret", CredentialType: webrtc.ICECredentialTypePassword},
			},
		}},
		{"whole port range", spec.WebRTC{UDPPorts: [2]int{1, 65535}}, peer.Config{UDPPortMin: 1, UDPPortMax: 65535}},
		{"local ips without loopback", spec.WebRTC{LocalIPs: []string{"10.0.0.2", "10.0.1.2"}},
			peer.Config{AllowedIPs: ips("10.0.0.2", "10.0.1.2")}},
		{"loopback listed", spec.WebRTC{Loopback: true, LocalIPs: []string{"127.0.0.1", "10.0.0.2"}},
			peer.Config{IncludeLoopback: true, AllowedIPs: ips("127.0.0.1", "10.0.0.2")}},
		{"stun with a username only", spec.WebRTC{ICEServers: []spec.ICEServer{{URLs: stun.URLs, Username: "u"}}},
			peer.Config{ICEServers: []webrtc.ICEServer{{URLs: stun.URLs, Username: "u"}}}},
		{"turn with a secret", spec.WebRTC{ICEServers: []spec.ICEServer{
			{URLs: turn.URLs, Username: "pen-a", Secret: "shared", CredentialTTL: spec.Duration(time.Hour)},
			{URLs: turn.URLs, Secret: "shared"},
		}}, peer.Config{MintedTURN: []peer.TURNServer{
			{URLs: turn.URLs, Label: "pen-a", Secret: "shared", TTL: time.Hour},
			{URLs: turn.URLs, Secret: "shared", TTL: spec.DefaultCredentialTTL},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := peerConfig(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("peerConfig() =\n%+v\nwant\n%+v", got, tt.want)
			}
			checkPeerConfig(t, got)
		})
	}
}

// checkPeerConfig checks that Pion takes c as it is: the API builds and a peer connection
// accepts its ICE servers (the TURN credential's type included). Nothing is gathered.
func checkPeerConfig(t *testing.T, c peer.Config) {
	t.Helper()
	api, err := peer.NewAPI(c)
	if err != nil {
		t.Fatalf("peer.NewAPI() = %v", err)
	}
	pc, err := api.NewPeerConnection(c.Configuration())
	if err != nil {
		t.Fatalf("NewPeerConnection() = %v", err)
	}
	if err := pc.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
}

// The webrtc section of the shipped example becomes a configuration Pion accepts.
func TestPeerConfigOfExample(t *testing.T) {
	t.Setenv("PIGWEIGHT_TOKEN", "token")
	t.Setenv("CAM1_PASSWORD", "password")
	t.Setenv("TURN_PASSWORD", "turn-password")
	cfg, err := spec.Load("../../configs/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := peerConfig(cfg.WebRTC)
	if len(c.ICEServers) == 0 || c.UDPPortMin == 0 || len(c.NAT1To1IPs) == 0 || len(c.AllowedIPs) == 0 {
		t.Errorf("the example leaves webrtc settings out: %+v", c)
	}
	checkPeerConfig(t, c)
}
