package peer

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var loopback = []net.IP{net.IPv4(127, 0, 0, 1)}

// offer returns the parsed offer of a fresh connection from cfg's API that sends one H.264
// track, with every candidate gathered.
func offer(t *testing.T, cfg Config) *sdp.SessionDescription {
	t.Helper()
	api, err := NewAPI(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(cfg.Configuration())
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	track, err := webrtc.NewTrackLocalStaticRTP(H264Codec(), "video", "pigweight")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(5 * time.Second):
		t.Fatal("gathering timed out")
	}
	parsed, err := pc.LocalDescription().Unmarshal()
	if err != nil {
		t.Fatal(err)
	}
	return parsed
}

func attributes(m *sdp.MediaDescription, key string) []string {
	var values []string
	for _, a := range m.Attributes {
		if a.Key == key {
			values = append(values, a.Value)
		}
	}
	return values
}

type candidate struct {
	ip   string
	port int
	typ  string
}

func candidates(t *testing.T, m *sdp.MediaDescription) []candidate {
	t.Helper()
	var out []candidate
	for _, v := range attributes(m, "candidate") {
		f := strings.Fields(v) // foundation component transport priority ip port typ type ...
		if len(f) < 8 {
			t.Fatalf("candidate %q", v)
		}
		port, err := strconv.Atoi(f[5])
		if err != nil {
			t.Fatal(err)
		}
		if f[2] != "udp" && f[2] != "UDP" {
			t.Errorf("candidate over %s: %q", f[2], v)
		}
		out = append(out, candidate{ip: f[4], port: port, typ: f[7]})
	}
	return out
}

func TestOfferedCodec(t *testing.T) {
	d := offer(t, Config{IncludeLoopback: true, AllowedIPs: loopback})
	if len(d.MediaDescriptions) != 1 {
		t.Fatalf("%d media sections, want 1", len(d.MediaDescriptions))
	}
	m := d.MediaDescriptions[0]
	pt := strconv.Itoa(int(H264PayloadType))
	if strings.Join(m.MediaName.Formats, " ") != pt {
		t.Errorf("formats %v, want only %s", m.MediaName.Formats, pt)
	}
	if got := attributes(m, "rtpmap"); len(got) != 1 || got[0] != pt+" H264/90000" {
		t.Errorf("rtpmap %v", got)
	}
	if got := attributes(m, "fmtp"); len(got) != 1 || got[0] != pt+" "+H264FmtpLine {
		t.Errorf("fmtp %v, want %s %s", got, pt, H264FmtpLine)
	}
	fb := strings.Join(attributes(m, "rtcp-fb"), ", ")
	if want := pt + " nack, " + pt + " nack pli, " + pt + " ccm fir, " + pt + " goog-remb"; fb != want {
		t.Errorf("rtcp-fb %q, want %q", fb, want)
	}
	// Only the interceptors a sender needs: no TWCC, so no transport-wide header extension.
	if ext := attributes(m, "extmap"); len(ext) != 0 {
		t.Errorf("header extensions %v, want none", ext)
	}
}

func TestCandidates(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		check func(t *testing.T, c candidate)
	}{
		{
			name: "loopback",
			cfg:  Config{IncludeLoopback: true, AllowedIPs: loopback},
			check: func(t *testing.T, c candidate) {
				if c.ip != "127.0.0.1" || c.typ != "host" {
					t.Errorf("candidate %+v, want a host candidate on 127.0.0.1", c)
				}
			},
		},
		{
			name: "port range",
			cfg:  Config{IncludeLoopback: true, AllowedIPs: loopback, UDPPortMin: 42000, UDPPortMax: 42999},
			check: func(t *testing.T, c candidate) {
				if c.port < 42000 || c.port > 42999 {
					t.Errorf("candidate %+v outside 42000-42999", c)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cands := candidates(t, offer(t, tt.cfg).MediaDescriptions[0])
			if len(cands) == 0 {
				t.Fatal("no candidates")
			}
			for _, c := range cands {
				if strings.HasSuffix(c.ip, ".local") {
					t.Errorf("mDNS candidate %+v", c)
				}
				tt.check(t, c)
			}
		})
	}
}

// With NAT 1:1, every local address is announced as the public one except loopback, which a
// browser on the server's own machine needs as it is.
func TestNAT1To1KeepsLoopback(t *testing.T) {
	cands := candidates(t, offer(t, Config{IncludeLoopback: true, NAT1To1IPs: []string{"203.0.113.7"}}).MediaDescriptions[0])
	seen := map[string]bool{}
	for _, c := range cands {
		if c.ip != "127.0.0.1" && c.ip != "203.0.113.7" {
			t.Errorf("candidate %+v, want 127.0.0.1 or the public address 203.0.113.7", c)
		}
		seen[c.ip] = true
	}
	if !seen["127.0.0.1"] {
		t.Errorf("no loopback candidate among %+v", cands)
	}
	if hasNonLoopbackIPv4(t) && !seen["203.0.113.7"] {
		t.Errorf("this machine has a LAN address, but no candidate announces the public one: %+v", cands)
	}
}

// hasNonLoopbackIPv4 reports whether an interface that is up has an IPv4 address other than
// loopback, which ICE gathers on.
func hasNonLoopbackIPv4(t *testing.T) bool {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
			return true
		}
	}
	t.Log("no LAN address here: only loopback is checked")
	return false
}

// TestConnect connects two connections from the API over loopback: the settings suffice for
// ICE and DTLS to complete, quickly.
func TestConnect(t *testing.T) {
	api, err := NewAPI(Config{IncludeLoopback: true, AllowedIPs: loopback})
	if err != nil {
		t.Fatal(err)
	}
	a, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	connected := make(chan struct{})
	b.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			close(connected)
		}
	})
	if _, err := a.CreateDataChannel("probe", nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	o, err := a.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	ga := webrtc.GatheringCompletePromise(a)
	if err := a.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	<-ga
	if err := b.SetRemoteDescription(*a.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	answer, err := b.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gb := webrtc.GatheringCompletePromise(b)
	if err := b.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-gb
	if err := a.SetRemoteDescription(*b.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-connected:
		t.Logf("connected in %v", time.Since(start))
	case <-time.After(5 * time.Second):
		t.Fatal("not connected within 5 s")
	}
	_ = a.GracefulClose()
	_ = b.GracefulClose()
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero", Config{}, true},
		{"default", DefaultConfig(), true},
		{"port range", Config{UDPPortMin: 40000, UDPPortMax: 40100}, true},
		{"one port", Config{UDPPortMin: 40000, UDPPortMax: 40000}, true},
		{"reversed ports", Config{UDPPortMin: 40100, UDPPortMax: 40000}, false},
		{"half a range", Config{UDPPortMax: 40000}, false},
		{"nat ip", Config{NAT1To1IPs: []string{"203.0.113.7"}}, true},
		{"nat name", Config{NAT1To1IPs: []string{"pigs.example.net"}}, false},
		{"stun", Config{ICEServers: []webrtc.ICEServer{{URLs: []string{"stun:stun.example.net"}}}}, true},
		{"ice server without urls", Config{ICEServers: []webrtc.ICEServer{{}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrConfig) {
				t.Errorf("error %v does not wrap ErrConfig", err)
			}
			if _, apiErr := NewAPI(tt.cfg); (apiErr == nil) != tt.ok {
				t.Errorf("NewAPI: %v, want ok %v", apiErr, tt.ok)
			}
		})
	}
}

func TestConfigurationCopiesServers(t *testing.T) {
	cfg := Config{ICEServers: []webrtc.ICEServer{{URLs: []string{"stun:stun.example.net"}}}}
	c := cfg.Configuration()
	c.ICEServers[0] = webrtc.ICEServer{}
	if cfg.ICEServers[0].URLs == nil {
		t.Error("Configuration shares its servers with the Config")
	}
}

// A minted TURN credential is the TURN REST API's: the username carries the expiry time (and
// the label), the password is base64(HMAC-SHA1(secret, username)). The expected password was
// computed apart from this code (Python's hmac).
func TestMintedTURNCredential(t *testing.T) {
	server := TURNServer{URLs: []string{"turn:turn.example.org"}, Label: "pigweight", Secret: "north-pen"}
	if u, p := server.credential(time.Unix(1700000000, 0)); u != "1700000000:pigweight" || p != "mNHwBxpTdXwGYdI/4m7DwjTmitE=" {
		t.Errorf("credential = %q, %q", u, p)
	}
	server.Label = ""
	if u, p := server.credential(time.Unix(1700000000, 0)); u != "1700000000" || p != "CE5R83BLFJIcb5HhttKpbO35mig=" {
		t.Errorf("credential without a label = %q, %q", u, p)
	}

	server.TTL = time.Hour
	cfg := Config{ICEServers: []webrtc.ICEServer{{URLs: []string{"stun:stun.example.net"}}}, MintedTURN: []TURNServer{server}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	got := cfg.Configuration().ICEServers
	if len(got) != 2 || got[0].URLs[0] != "stun:stun.example.net" || got[1].URLs[0] != "turn:turn.example.org" {
		t.Fatalf("ICE servers %+v", got)
	}
	expires, err := strconv.ParseInt(got[1].Username, 10, 64)
	if err != nil || expires < before.Add(time.Hour).Unix() || expires > time.Now().Add(time.Hour).Unix() {
		t.Errorf("username %q: want the expiry an hour from now", got[1].Username)
	}
	if _, want := server.credential(time.Unix(expires, 0)); got[1].Credential != want || got[1].CredentialType != webrtc.ICECredentialTypePassword {
		t.Errorf("credential %v (%v), want %q", got[1].Credential, got[1].CredentialType, want)
	}
	cfg.MintedTURN[0].Secret = ""
	if err := cfg.Validate(); err == nil {
		t.Error("a minted TURN server without a secret passed validation")
	}
}
