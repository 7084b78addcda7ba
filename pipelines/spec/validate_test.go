package spec

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// validConfig is a configuration that passes Validate, with one pipeline of each source
// type: pipelines[0] rtsp, [1] file, [2] synthetic (with inference and an output), and every
// webrtc setting used: ice_servers[0] is a STUN server, [1] a TURN server.
func validConfig() *Config {
	c := Default()
	c.WebRTC = WebRTC{
		Loopback:   true,
		UDPPorts:   [2]int{50000, 50100},
		NAT1To1IPs: []string{"203.0.113.7"},
		LocalIPs:   []string{"192.168.1.10"},
		ICEServers: []ICEServer{
			{URLs: []string{"stun:stun.example.org:3478"}},
			{URLs: []string{"turn:turn.example.org:3478?transport=udp"}, Username: "pigweight", Credential: "turn-s3cret"},
		},
		MaxViewers:           200,
		MaxViewersPerAddress: 20,
		ConnectTimeout:       Duration(DefaultConnectTimeout),
	}
	c.Server.MediaDirs = []string{"/videos", "."}
	c.Server.Hostnames = []string{"pigweight.farm.lan", "barn-2"}
	m := DefaultModel()
	m.Name = "demo"
	m.Path = "models/demo.onnx"
	c.Models = []Model{m}

	cam := DefaultPipeline()
	cam.Name = "cam"
	cam.Source.Type = SourceRTSP
	cam.Source.URI = "rtsp://admin:secret@cam.local:554/stream1"

	file := DefaultPipeline()
	file.Name = "file"
	file.Source.Type = SourceFile
	file.Source.URI = "/videos/pen.mp4"

	synth := DefaultPipeline()
	synth.Name = "synth"
	synth.Source.Type = SourceSynthetic
	synth.Inference = Inference{Enabled: true, Model: "demo", Interval: 1}
	synth.Outputs = []Output{{Type: OutputWebRTC, Overlay: OverlayData, Encode: EncodingAuto}}

	c.Pipelines = []Pipeline{cam, file, synth}
	return c
}

func ms(n int) Duration { return Duration(time.Duration(n) * time.Millisecond) }

// fieldErrors asserts that err is an Errors and returns it.
func fieldErrors(t *testing.T, err error) Errors {
	t.Helper()
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %v (%T) is not an Errors", err, err)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
	}
	return es
}

func TestValidConfigIsValid(t *testing.T) {
	if err := validConfig().Validate(); err != nil {
		t.Fatalf("validConfig().Validate() = %v", err)
	}
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	long := strings.Repeat("a", 64)
	tests := []struct {
		name   string
		mutate func(c *Config)
		// field is the path of the one expected error; "" when the config must be valid.
		field string
		msg   string // substring of the message
	}{
		// server
		{"listen any host", func(c *Config) { c.Server.Listen = ":8080" }, "", ""},
		{"listen ipv6", func(c *Config) { c.Server.Listen = "[::1]:0" }, "", ""},
		{"listen max port", func(c *Config) { c.Server.Listen = "0.0.0.0:65535" }, "", ""},
		{"listen no port", func(c *Config) { c.Server.Listen = "localhost" }, "server.listen", "must be host:port"},
		{"listen empty", func(c *Config) { c.Server.Listen = "" }, "server.listen", "must be host:port"},
		{"listen port too big", func(c *Config) { c.Server.Listen = "127.0.0.1:65536" }, "server.listen", "between 0 and 65535"},
		{"listen port negative", func(c *Config) { c.Server.Listen = "127.0.0.1:-1" }, "server.listen", "between 0 and 65535"},
		{"listen port name", func(c *Config) { c.Server.Listen = "127.0.0.1:http" }, "server.listen", "between 0 and 65535"},
		{"listen port with sign", func(c *Config) { c.Server.Listen = "127.0.0.1:+80" }, "server.listen", "between 0 and 65535"},
		{"listen port 0", func(c *Config) { c.Server.Listen = "127.0.0.1:0" }, "", ""},
		{"data_dir empty", func(c *Config) { c.Server.DataDir = "" }, "server.data_dir", "required"},
		{"max_upload_bytes 1", func(c *Config) { c.Server.MaxUploadBytes = 1 }, "", ""},
		{"max_upload_bytes 0", func(c *Config) { c.Server.MaxUploadBytes = 0 }, "server.max_upload_bytes", "must be greater than 0"},
		{"max_upload_bytes negative", func(c *Config) { c.Server.MaxUploadBytes = -1 }, "server.max_upload_bytes", "must be greater than 0"},
		{"frame_cache_bytes 0", func(c *Config) { c.Server.FrameCacheBytes = 0 }, "", ""},
		{"frame_cache_bytes negative", func(c *Config) { c.Server.FrameCacheBytes = -1 }, "server.frame_cache_bytes", "must not be negative"},
		{"warm_decoders 8", func(c *Config) { c.Server.WarmDecoders = 8 }, "", ""},
		{"warm_decoders negative", func(c *Config) { c.Server.WarmDecoders = -1 }, "server.warm_decoders", "between 0 and 256"},
		{"media_dirs default", func(c *Config) { c.Server.MediaDirs = nil; c.Server.DataDir = "/videos" }, "", ""},
		{"media_dirs empty entry", func(c *Config) { c.Server.MediaDirs = []string{"/videos", " "} }, "server.media_dirs[1]", "must not be empty"},
		{"hostname with port", func(c *Config) { c.Server.Hostnames = []string{"barn:8080"} }, "server.hostnames[0]", `without scheme or port (got "barn:8080")`},
		{"hostname with scheme", func(c *Config) { c.Server.Hostnames = []string{"http://barn"} }, "server.hostnames[0]", "without scheme or port"},
		{"hostname empty", func(c *Config) { c.Server.Hostnames = []string{""} }, "server.hostnames[0]", "must be a host name"},
		{"read_timeout 0", func(c *Config) { c.Server.ReadTimeout = 0 }, "server.read_timeout", "between 1s and 1h0m0s"},
		{"write_timeout 2h", func(c *Config) { c.Server.WriteTimeout = Duration(2 * time.Hour) }, "server.write_timeout", "between 1s and 1h0m0s"},
		{"idle_timeout 0", func(c *Config) { c.Server.IdleTimeout = 0 }, "server.idle_timeout", "between 1s and 24h0m0s"},

		// webrtc
		{"webrtc defaults", func(c *Config) { c.WebRTC = Default().WebRTC }, "", ""},
		{"webrtc zero", func(c *Config) { c.WebRTC = WebRTC{ConnectTimeout: Duration(time.Second)} }, "", ""},
		{"max viewers auto", func(c *Config) { c.WebRTC.MaxViewers, c.WebRTC.MaxViewersPerAddress = 0, 0 }, "", ""},
		{"max viewers negative", func(c *Config) { c.WebRTC.MaxViewers = -1 }, "webrtc.max_viewers", "between 0 and 100000"},
		{"max viewers per address above max", func(c *Config) { c.WebRTC.MaxViewersPerAddress = 201 }, "webrtc.max_viewers_per_address", "must not exceed max_viewers (200)"},
		{"max viewers per address with auto max", func(c *Config) { c.WebRTC.MaxViewers, c.WebRTC.MaxViewersPerAddress = 0, 500 }, "", ""},
		{"connect timeout 0", func(c *Config) { c.WebRTC.ConnectTimeout = 0 }, "webrtc.connect_timeout", "between 1s and 5m0s"},
		{"connect timeout 1h", func(c *Config) { c.WebRTC.ConnectTimeout = Duration(time.Hour) }, "webrtc.connect_timeout", "between 1s and 5m0s"},
		{"udp ports ephemeral", func(c *Config) { c.WebRTC.UDPPorts = [2]int{} }, "", ""},
		{"udp ports one port", func(c *Config) { c.WebRTC.UDPPorts = [2]int{50000, 50000} }, "", ""},
		{"udp ports whole range", func(c *Config) { c.WebRTC.UDPPorts = [2]int{1, 65535} }, "", ""},
		{"udp ports reversed", func(c *Config) { c.WebRTC.UDPPorts = [2]int{50100, 50000} }, "webrtc.udp_ports", "min must not exceed max (got [50100, 50000])"},
		{"udp ports min 0", func(c *Config) { c.WebRTC.UDPPorts = [2]int{0, 50100} }, "webrtc.udp_ports[0]", "must be between 1 and 65535"},
		{"udp ports max 0", func(c *Config) { c.WebRTC.UDPPorts = [2]int{50000, 0} }, "webrtc.udp_ports[1]", "must be between 1 and 65535"},
		{"udp ports too big", func(c *Config) { c.WebRTC.UDPPorts = [2]int{50000, 65536} }, "webrtc.udp_ports[1]", "must be between 1 and 65535"},
		{"udp ports negative", func(c *Config) { c.WebRTC.UDPPorts = [2]int{-1, 50000} }, "webrtc.udp_ports[0]", "must be between 1 and 65535"},
		{"nat 1:1 two", func(c *Config) { c.WebRTC.NAT1To1IPs = []string{"203.0.113.7", "198.51.100.1"} }, "", ""},
		{"nat 1:1 name", func(c *Config) { c.WebRTC.NAT1To1IPs = []string{"203.0.113.7", "vm.example.org"} }, "webrtc.nat_1to1_ips[1]", `must be an IPv4 address such as 192.0.2.10 (got "vm.example.org")`},
		{"nat 1:1 empty", func(c *Config) { c.WebRTC.NAT1To1IPs = []string{""} }, "webrtc.nat_1to1_ips[0]", "must be an IPv4 address"},
		{"nat 1:1 with mask", func(c *Config) { c.WebRTC.NAT1To1IPs = []string{"203.0.113.7/32"} }, "webrtc.nat_1to1_ips[0]", "must be an IPv4 address"},
		{"nat 1:1 ipv6", func(c *Config) { c.WebRTC.NAT1To1IPs = []string{"2001:db8::7"} }, "webrtc.nat_1to1_ips[0]", "viewers are served over IPv4 only"},
		{"local ip invalid", func(c *Config) { c.WebRTC.LocalIPs = []string{"eth0"} }, "webrtc.local_ips[0]", `must be an IPv4 address such as 192.0.2.10 (got "eth0")`},
		{"local ip ipv6", func(c *Config) { c.WebRTC.LocalIPs = []string{"::1"} }, "webrtc.local_ips[0]", "viewers are served over IPv4 only"},
		{"local ip loopback", func(c *Config) { c.WebRTC.LocalIPs = []string{"127.0.0.1"} }, "", ""},
		{"local ip loopback without loopback", func(c *Config) {
			c.WebRTC.Loopback = false
			c.WebRTC.LocalIPs = []string{"192.168.1.10", "127.0.0.1"}
		}, "webrtc.local_ips[1]", "a loopback address needs loopback: true"},
		{"no loopback", func(c *Config) { c.WebRTC.Loopback = false }, "", ""},
		{"ice server without urls", func(c *Config) { c.WebRTC.ICEServers[0].URLs = nil }, "webrtc.ice_servers[0].urls", "required"},
		{"stun default port", func(c *Config) { c.WebRTC.ICEServers[0].URLs = []string{"stun:stun.example.org"} }, "", ""},
		{"stun upper case", func(c *Config) { c.WebRTC.ICEServers[0].URLs = []string{"STUN:stun.example.org"} }, "", ""},
		{"stun ip", func(c *Config) { c.WebRTC.ICEServers[0].URLs = []string{"stun:192.0.2.1:3478"} }, "", ""},
		{"stun ipv6 literal", func(c *Config) { c.WebRTC.ICEServers[0].URLs = []string{"stun:[2001:db8::1]:3478"} }, "", ""},
		{"stuns", func(c *Config) { c.WebRTC.ICEServers[0].URLs = []string{"stuns:stun.example.org:5349"} }, "", ""},
		{"stun with credentials", func(c *Config) { c.WebRTC.ICEServers[0].Username, c.WebRTC.ICEServers[0].Credential = "u", "p" }, "", ""},
		{"turn with a secret", func(c *Config) {
			c.WebRTC.ICEServers[1].Username, c.WebRTC.ICEServers[1].Credential, c.WebRTC.ICEServers[1].Secret = "", "", "shared"
			c.WebRTC.ICEServers[1].CredentialTTL = Duration(time.Hour)
		}, "", ""},
		{"turn with a secret and a credential", func(c *Config) { c.WebRTC.ICEServers[1].Secret = "shared" }, "webrtc.ice_servers[1].credential", "give a credential or a secret, not both"},
		{"stun with a secret", func(c *Config) { c.WebRTC.ICEServers[0].Secret = "shared" }, "webrtc.ice_servers[0].secret", "only for turn: or turns: URLs"},
		{"credential ttl without a secret", func(c *Config) { c.WebRTC.ICEServers[1].CredentialTTL = Duration(time.Hour) }, "webrtc.ice_servers[1].credential_ttl", "only with a secret"},
		{"credential ttl too short", func(c *Config) {
			c.WebRTC.ICEServers[1].Credential, c.WebRTC.ICEServers[1].Secret = "", "shared"
			c.WebRTC.ICEServers[1].CredentialTTL = Duration(time.Second)
		}, "webrtc.ice_servers[1].credential_ttl", "between 1m and 720h"},
		{"turn urls", func(c *Config) {
			c.WebRTC.ICEServers[1].URLs = []string{"turn:turn.example.org", "turn:turn.example.org:3478?transport=tcp", "turns:turn.example.org:5349?transport=tcp"}
		}, "", ""},
		{"url http", func(c *Config) { c.WebRTC.ICEServers[1].URLs = []string{"http://turn.example.org"} }, "webrtc.ice_servers[1].urls[0]", "must start with stun:, stuns:, turn: or turns:"},
		{"url without scheme", func(c *Config) { c.WebRTC.ICEServers[0].URLs = []string{"stun.example.org"} }, "webrtc.ice_servers[0].urls[0]", "must start with stun:, stuns:, turn: or turns:"},
		{"url empty", func(c *Config) { c.WebRTC.ICEServers[0].URLs = []string{""} }, "webrtc.ice_servers[0].urls[0]", "must start with stun:"},
		{"url with slashes", func(c *Config) { c.WebRTC.ICEServers[0].URLs = []string{"stun://stun.example.org:3478"} }, "webrtc.ice_servers[0].urls[0]", `must be stun:host or stun:host:port, without "//"`},
		{"url without host", func(c *Config) { c.WebRTC.ICEServers[0].URLs = []string{"stun:"} }, "webrtc.ice_servers[0].urls[0]", "must include a host, e.g. stun:stun.example.org"},
		{"url port only", func(c *Config) { c.WebRTC.ICEServers[1].URLs = []string{"turns::5349"} }, "webrtc.ice_servers[1].urls[0]", "must include a host, e.g. turns:turn.example.org"},
		{"url empty port", func(c *Config) { c.WebRTC.ICEServers[0].URLs = []string{"stun:stun.example.org:"} }, "webrtc.ice_servers[0].urls[0]", "port must be a number between 1 and 65535"},
		{"url port too big", func(c *Config) { c.WebRTC.ICEServers[0].URLs = []string{"stun:stun.example.org:65536"} }, "webrtc.ice_servers[0].urls[0]", "port must be a number between 1 and 65535"},
		{"url port name", func(c *Config) { c.WebRTC.ICEServers[0].URLs = []string{"stun:stun.example.org:stun"} }, "webrtc.ice_servers[0].urls[0]", "port must be a number"},
		{"url too many colons", func(c *Config) { c.WebRTC.ICEServers[0].URLs = []string{"stun:a:1:2"} }, "webrtc.ice_servers[0].urls[0]", "must be stun:host or stun:host:port"},
		{"stun with query", func(c *Config) { c.WebRTC.ICEServers[0].URLs = []string{"stun:stun.example.org?transport=udp"} }, "webrtc.ice_servers[0].urls[0]", "stun: URLs take no ?query"},
		{"turn bad transport", func(c *Config) { c.WebRTC.ICEServers[1].URLs = []string{"turn:turn.example.org?transport=sctp"} }, "webrtc.ice_servers[1].urls[0]", "?transport=udp or ?transport=tcp"},
		{"turn two queries", func(c *Config) {
			c.WebRTC.ICEServers[1].URLs = []string{"turn:turn.example.org?transport=udp&x=1"}
		}, "webrtc.ice_servers[1].urls[0]", "?transport=udp or ?transport=tcp"},
		{"turn credentials in url", func(c *Config) { c.WebRTC.ICEServers[1].URLs = []string{"turn:pigweight:pw@turn.example.org"} }, "webrtc.ice_servers[1].urls[0]", "give them as username and credential"},
		{"turn without username", func(c *Config) { c.WebRTC.ICEServers[1].Username = "" }, "webrtc.ice_servers[1].username", "required for a turn: or turns: URL (or give a secret)"},
		{"turn without credential", func(c *Config) { c.WebRTC.ICEServers[1].Credential = "" }, "webrtc.ice_servers[1].credential", "required for a turn: or turns: URL (or give a secret)"},
		{"turns among stun urls", func(c *Config) {
			c.WebRTC.ICEServers[0].URLs = append(c.WebRTC.ICEServers[0].URLs, "turns:turn.example.org")
			c.WebRTC.ICEServers[0].Username = "pigweight"
		}, "webrtc.ice_servers[0].credential", "required for a turn: or turns: URL (or give a secret)"},

		// models
		{"model name with dot", func(c *Config) { c.Models[0].Name = "yolo.v8-seg_n"; c.Pipelines[2].Inference.Model = "yolo.v8-seg_n" }, "", ""},
		{"model name 64", func(c *Config) { c.Models[0].Name = long; c.Pipelines[2].Inference.Model = long }, "", ""},
		{"model name 65", func(c *Config) { c.Models[0].Name = long + "a"; c.Pipelines[2].Inference.Enabled = false }, "models[0].name", "1 to 64 letters"},
		{"model name space", func(c *Config) { c.Models[0].Name = "my model"; c.Pipelines[2].Inference.Enabled = false }, "models[0].name", "1 to 64 letters"},
		{"model name empty", func(c *Config) { c.Models[0].Name = ""; c.Pipelines[2].Inference.Enabled = false }, "models[0].name", "required"},
		{"model name duplicate", func(c *Config) { c.Models = append(c.Models, c.Models[0]) }, "models[1].name", `duplicate name "demo" (first used by models[0])`},
		{"model path empty", func(c *Config) { c.Models[0].Path = "" }, "models[0].path", "required"},
		{"model format yolo-seg", func(c *Config) { c.Models[0].Format = FormatYOLOSeg }, "", ""},
		{"model format unknown", func(c *Config) { c.Models[0].Format = "onnx" }, "models[0].format", `must be one of yolo, yolo-seg, mask (got "onnx")`},
		{"model format empty", func(c *Config) { c.Models[0].Format = "" }, "models[0].format", "required"},
		{"input_size max", func(c *Config) { c.Models[0].InputSize = [2]int{8192, 8192} }, "", ""},
		{"input_size from model", func(c *Config) { c.Models[0].InputSize = [2]int{0, 0} }, "", ""},
		{"input_size negative", func(c *Config) { c.Models[0].InputSize = [2]int{-1, 640} }, "models[0].input_size[0]", "between 0 and 8192"},
		{"input_size too big", func(c *Config) { c.Models[0].InputSize = [2]int{640, 8193} }, "models[0].input_size[1]", "between 0 and 8192"},
		{"providers cpu only", func(c *Config) { c.Models[0].Providers = []Provider{ProviderCPU} }, "", ""},
		{"providers none", func(c *Config) { c.Models[0].Providers = nil }, "", ""},
		{"providers duplicate", func(c *Config) { c.Models[0].Providers = []Provider{ProviderCUDA, ProviderCPU, ProviderCUDA} }, "models[0].providers[2]", `duplicate provider "cuda"`},
		{"providers unknown", func(c *Config) { c.Models[0].Providers = []Provider{"rocm"} }, "models[0].providers[0]", "must be one of tensorrt, cuda, cpu"},

		// pipelines
		{"no pipelines", func(c *Config) { c.Pipelines = nil }, "", ""},
		{"empty pipelines", func(c *Config) { c.Pipelines = []Pipeline{} }, "", ""},
		{"pipeline name 64", func(c *Config) { c.Pipelines[0].Name = long }, "", ""},
		{"pipeline name 65", func(c *Config) { c.Pipelines[0].Name = long + "a" }, "pipelines[0].name", "1 to 64 letters"},
		{"pipeline name dot", func(c *Config) { c.Pipelines[0].Name = "barn.east" }, "pipelines[0].name", "1 to 64 letters"},
		{"pipeline name slash", func(c *Config) { c.Pipelines[0].Name = "barn/east" }, "pipelines[0].name", "1 to 64 letters"},
		{"pipeline name empty", func(c *Config) { c.Pipelines[0].Name = "" }, "pipelines[0].name", "required"},
		{"pipeline name duplicate", func(c *Config) { c.Pipelines[2].Name = "cam" }, "pipelines[2].name", `duplicate name "cam" (first used by pipelines[0])`},

		// source.type
		{"source type empty", func(c *Config) { c.Pipelines[0].Source.Type = "" }, "pipelines[0].source.type", "required (one of rtsp, file, synthetic)"},
		{"source type unknown", func(c *Config) { c.Pipelines[0].Source.Type = "http" }, "pipelines[0].source.type", "must be one of rtsp, file, synthetic"},

		// rtsp
		{"rtsps", func(c *Config) { c.Pipelines[0].Source.URI = "rtsps://cam.local/s" }, "", ""},
		{"rtsp upper case scheme", func(c *Config) { c.Pipelines[0].Source.URI = "RTSP://cam.local/s" }, "", ""},
		{"rtsp ip and port", func(c *Config) { c.Pipelines[0].Source.URI = "rtsp://192.168.1.20:8554/live" }, "", ""},
		{"rtsp http", func(c *Config) { c.Pipelines[0].Source.URI = "http://cam.local/s" }, "pipelines[0].source.uri", "must be rtsp:// or rtsps://"},
		{"rtsp path only", func(c *Config) { c.Pipelines[0].Source.URI = "/dev/video0" }, "pipelines[0].source.uri", "must be rtsp:// or rtsps://"},
		{"rtsp no host", func(c *Config) { c.Pipelines[0].Source.URI = "rtsp:///stream" }, "pipelines[0].source.uri", "must include a host"},
		{"rtsp port no host", func(c *Config) { c.Pipelines[0].Source.URI = "rtsp://:554/stream" }, "pipelines[0].source.uri", "must include a host"},
		{"rtsp empty", func(c *Config) { c.Pipelines[0].Source.URI = "" }, "pipelines[0].source.uri", "required"},
		{"rtsp port 99999", func(c *Config) { c.Pipelines[0].Source.URI = "rtsp://cam.local:99999/s" }, "pipelines[0].source.uri", "port must be a number between 1 and 65535"},
		{"rtsp port 0", func(c *Config) { c.Pipelines[0].Source.URI = "rtsp://cam.local:0/s" }, "pipelines[0].source.uri", "port must be a number between 1 and 65535"},
		{"rtsp port 65535", func(c *Config) { c.Pipelines[0].Source.URI = "rtsp://cam.local:65535/s" }, "", ""},
		{"rtsp uri too long", func(c *Config) { c.Pipelines[0].Source.URI = "rtsp://cam.local/" + strings.Repeat("a", 1<<20) }, "pipelines[0].source.uri", "must be at most 4096 bytes (got 1048593)"},
		{"rtsp uri at the limit", func(c *Config) { c.Pipelines[0].Source.URI = "rtsp://cam.local/" + strings.Repeat("a", MaxURIBytes-17) }, "", ""},
		{"rtsp unescaped password", func(c *Config) { c.Pipelines[0].Source.URI = "rtsp://user:pa ss@host/" }, "pipelines[0].source.uri", "is not a valid URI"},

		// file
		{"file relative path", func(c *Config) { c.Pipelines[1].Source.URI = "videos/pen.mp4" }, "", ""},
		{"file uri", func(c *Config) { c.Pipelines[1].Source.URI = "file:///videos/pen.mp4" }, "", ""},
		{"file uri localhost", func(c *Config) { c.Pipelines[1].Source.URI = "file://localhost/videos/pen.mp4" }, "", ""},
		{"file windows path", func(c *Config) { c.Pipelines[1].Source.URI = `C:\videos\pen.mp4` }, "", ""},
		{"file colon in name", func(c *Config) { c.Pipelines[1].Source.URI = "videos/12:00.mp4" }, "", ""},
		{"file loop", func(c *Config) { c.Pipelines[1].Source.Loop = true }, "", ""},
		{"file empty", func(c *Config) { c.Pipelines[1].Source.URI = "" }, "pipelines[1].source.uri", "required"},
		{"file http", func(c *Config) { c.Pipelines[1].Source.URI = "http://example.com/pen.mp4" }, "pipelines[1].source.uri", "must be a path or a file:// URI"},
		{"file rtsp", func(c *Config) { c.Pipelines[1].Source.URI = "rtsp://cam/s" }, "pipelines[1].source.uri", "must be a path or a file:// URI"},
		{"file remote host", func(c *Config) { c.Pipelines[1].Source.URI = "file://nas/videos/pen.mp4" }, "pipelines[1].source.uri", "must name a local file"},
		{"file uri without path", func(c *Config) { c.Pipelines[1].Source.URI = "file://" }, "pipelines[1].source.uri", "must include a path"},
		{"file outside media dirs", func(c *Config) { c.Pipelines[1].Source.URI = "/etc/passwd" }, "pipelines[1].source.uri", "must be a file under server.media_dirs (/videos, .)"},
		{"file uri outside media dirs", func(c *Config) { c.Pipelines[1].Source.URI = "file:///etc/passwd" }, "pipelines[1].source.uri", "must be a file under server.media_dirs"},
		{"file missing outside media dirs", func(c *Config) { c.Pipelines[1].Source.URI = "/nonexistent/x.mp4" }, "pipelines[1].source.uri", "must be a file under server.media_dirs (/videos, .)"},
		{"file climbing out", func(c *Config) { c.Pipelines[1].Source.URI = "/videos/../etc/passwd" }, "pipelines[1].source.uri", "must be a file under server.media_dirs"},
		{"file relative climbing out", func(c *Config) { c.Pipelines[1].Source.URI = "../../../../../../etc/passwd" }, "pipelines[1].source.uri", "must be a file under server.media_dirs"},
		{"file in a media dir's subfolder", func(c *Config) { c.Pipelines[1].Source.URI = "/videos/2026/pen.mp4" }, "", ""},
		{"file in a sibling of a media dir", func(c *Config) { c.Pipelines[1].Source.URI = "/videos2/pen.mp4" }, "pipelines[1].source.uri", "must be a file under server.media_dirs"},
		{"file uri too long", func(c *Config) { c.Pipelines[1].Source.URI = "/videos/" + strings.Repeat("a", MaxURIBytes) }, "pipelines[1].source.uri", "must be at most 4096 bytes"},

		// synthetic
		{"synthetic uri", func(c *Config) { c.Pipelines[2].Source.URI = "x" }, "pipelines[2].source.uri", "must be empty"},
		{"synthetic min size", func(c *Config) {
			c.Pipelines[2].Source.Synthetic.Width, c.Pipelines[2].Source.Synthetic.Height = 160, 120
		}, "", ""},
		{"synthetic max size", func(c *Config) {
			c.Pipelines[2].Source.Synthetic.Width, c.Pipelines[2].Source.Synthetic.Height = 3840, 2160
		}, "", ""},
		{"synthetic width small", func(c *Config) { c.Pipelines[2].Source.Synthetic.Width = 158 }, "pipelines[2].source.synthetic.width", "even number between 160 and 3840"},
		{"synthetic width big", func(c *Config) { c.Pipelines[2].Source.Synthetic.Width = 3842 }, "pipelines[2].source.synthetic.width", "even number between 160 and 3840"},
		{"synthetic width odd", func(c *Config) { c.Pipelines[2].Source.Synthetic.Width = 641 }, "pipelines[2].source.synthetic.width", "even number"},
		{"synthetic height big", func(c *Config) { c.Pipelines[2].Source.Synthetic.Height = 2162 }, "pipelines[2].source.synthetic.height", "even number between 120 and 2160"},
		{"synthetic height odd", func(c *Config) { c.Pipelines[2].Source.Synthetic.Height = 481 }, "pipelines[2].source.synthetic.height", "even number between 120 and 2160"},
		{"synthetic fps 1", func(c *Config) { c.Pipelines[2].Source.Synthetic.FPS = 1 }, "", ""},
		{"synthetic fps 60", func(c *Config) { c.Pipelines[2].Source.Synthetic.FPS = 60 }, "", ""},
		{"synthetic fps 0", func(c *Config) { c.Pipelines[2].Source.Synthetic.FPS = 0 }, "pipelines[2].source.synthetic.fps", "must be between 1 and 60"},
		{"synthetic fps 61", func(c *Config) { c.Pipelines[2].Source.Synthetic.FPS = 61 }, "pipelines[2].source.synthetic.fps", "must be between 1 and 60"},
		{"synthetic pigs 4", func(c *Config) { c.Pipelines[2].Source.Synthetic.Pigs = 4 }, "", ""},
		{"synthetic pigs 12", func(c *Config) { c.Pipelines[2].Source.Synthetic.Pigs = 12 }, "", ""},
		{"synthetic pigs 3", func(c *Config) { c.Pipelines[2].Source.Synthetic.Pigs = 3 }, "pipelines[2].source.synthetic.pigs", "must be between 4 and 12"},
		{"synthetic pigs 13", func(c *Config) { c.Pipelines[2].Source.Synthetic.Pigs = 13 }, "pipelines[2].source.synthetic.pigs", "must be between 4 and 12"},
		{"synthetic ranges ignored for rtsp", func(c *Config) { c.Pipelines[0].Source.Synthetic = Synthetic{} }, "", ""},

		// transport, latency, loop
		{"transport tcp on rtsp", func(c *Config) { c.Pipelines[0].Source.Transport = TransportTCP }, "", ""},
		{"transport udp on rtsp", func(c *Config) { c.Pipelines[0].Source.Transport = TransportUDP }, "", ""},
		{"transport tcp on file", func(c *Config) { c.Pipelines[1].Source.Transport = TransportTCP }, "pipelines[1].source.transport", "only applies to rtsp sources"},
		{"transport udp on synthetic", func(c *Config) { c.Pipelines[2].Source.Transport = TransportUDP }, "pipelines[2].source.transport", "only applies to rtsp sources"},
		{"transport unknown", func(c *Config) { c.Pipelines[0].Source.Transport = "quic" }, "pipelines[0].source.transport", "must be one of auto, tcp, udp"},
		{"transport empty", func(c *Config) { c.Pipelines[0].Source.Transport = "" }, "pipelines[0].source.transport", "required"},
		{"latency 0", func(c *Config) { c.Pipelines[0].Source.Latency = 0 }, "", ""},
		{"latency 10s", func(c *Config) { c.Pipelines[0].Source.Latency = ms(10000) }, "", ""},
		{"latency above 10s", func(c *Config) { c.Pipelines[0].Source.Latency = ms(10001) }, "pipelines[0].source.latency", "must be between 0s and 10s"},
		{"latency negative", func(c *Config) { c.Pipelines[0].Source.Latency = ms(-1) }, "pipelines[0].source.latency", "must be between 0s and 10s"},
		{"loop on rtsp", func(c *Config) { c.Pipelines[0].Source.Loop = true }, "pipelines[0].source.loop", "only applies to file sources"},
		{"loop on synthetic", func(c *Config) { c.Pipelines[2].Source.Loop = true }, "pipelines[2].source.loop", "only applies to file sources"},

		// decode
		{"decode nvdec", func(c *Config) { c.Pipelines[0].Decode = DecodeNVDEC }, "", ""},
		{"decode software", func(c *Config) { c.Pipelines[0].Decode = DecodeSoftware }, "", ""},
		{"decode unknown", func(c *Config) { c.Pipelines[0].Decode = "vaapi" }, "pipelines[0].decode", "must be one of auto, nvdec, software"},
		{"decode empty", func(c *Config) { c.Pipelines[0].Decode = "" }, "pipelines[0].decode", "required"},

		// inference
		{"inference disabled unknown model", func(c *Config) { c.Pipelines[0].Inference.Model = "x" }, "", ""},
		{"inference without model", func(c *Config) { c.Pipelines[2].Inference.Model = "" }, "pipelines[2].inference.model", "required when inference is enabled"},
		{"inference unknown model", func(c *Config) { c.Pipelines[2].Inference.Model = "x" }, "pipelines[2].inference.model", `no model named "x" (have: demo)`},
		{"inference no models", func(c *Config) { c.Models = nil }, "pipelines[2].inference.model", `no model named "demo" (have: none)`},
		{"interval 1000", func(c *Config) { c.Pipelines[2].Inference.Interval = 1000 }, "", ""},
		{"interval 0", func(c *Config) { c.Pipelines[2].Inference.Interval = 0 }, "pipelines[2].inference.interval", "must be between 1 and 1000"},
		{"interval 1001", func(c *Config) { c.Pipelines[2].Inference.Interval = 1001 }, "pipelines[2].inference.interval", "must be between 1 and 1000"},

		// outputs
		{"output burn", func(c *Config) { c.Pipelines[2].Outputs[0].Overlay = OverlayBurn }, "", ""},
		{"output type empty", func(c *Config) { c.Pipelines[2].Outputs[0].Type = "" }, "pipelines[2].outputs[0].type", "required (one of webrtc)"},
		{"output type unknown", func(c *Config) { c.Pipelines[2].Outputs[0].Type = "hls" }, "pipelines[2].outputs[0].type", `must be one of webrtc (got "hls")`},
		{"output duplicate", func(c *Config) {
			c.Pipelines[2].Outputs = append(c.Pipelines[2].Outputs, Output{Type: OutputWebRTC, Overlay: OverlayBurn, Encode: EncodingAuto})
		}, "pipelines[2].outputs[1].type", `duplicate output type "webrtc" (also outputs[0])`},
		{"output overlay unknown", func(c *Config) { c.Pipelines[2].Outputs[0].Overlay = "fancy" }, "pipelines[2].outputs[0].overlay", "must be one of data, burn"},

		// restart
		{"backoff equal", func(c *Config) { c.Pipelines[0].Restart = Restart{ms(1000), ms(1000)} }, "", ""},
		{"backoff max 1h", func(c *Config) { c.Pipelines[0].Restart.BackoffMax = Duration(time.Hour) }, "", ""},
		{"backoff min 0", func(c *Config) { c.Pipelines[0].Restart.BackoffMin = 0 }, "pipelines[0].restart.backoff_min", "must be at least 100ms"},
		{"backoff min negative", func(c *Config) { c.Pipelines[0].Restart.BackoffMin = ms(-5) }, "pipelines[0].restart.backoff_min", "must be at least 100ms"},
		{"backoff min 1ns", func(c *Config) { c.Pipelines[0].Restart.BackoffMin = 1 }, "pipelines[0].restart.backoff_min", "must be at least 100ms"},
		{"backoff min 99ms", func(c *Config) { c.Pipelines[0].Restart.BackoffMin = ms(99) }, "pipelines[0].restart.backoff_min", "must be at least 100ms"},
		{"backoff min 100ms", func(c *Config) { c.Pipelines[0].Restart.BackoffMin = ms(100) }, "", ""},
		{"backoff max below min", func(c *Config) { c.Pipelines[0].Restart = Restart{ms(2000), ms(1000)} }, "pipelines[0].restart.backoff_max", "must be at least backoff_min (2s)"},
		{"backoff max above 1h", func(c *Config) { c.Pipelines[0].Restart.BackoffMax = Duration(time.Hour + time.Second) }, "pipelines[0].restart.backoff_max", "must be at most 1h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(c)
			err := c.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			es := fieldErrors(t, err)
			if len(es) != 1 {
				t.Fatalf("Validate() = %d errors, want 1:\n%v", len(es), err)
			}
			e := es[0]
			if e.Field != tt.field || !strings.Contains(e.Message, tt.msg) {
				t.Errorf("Validate() = %q, want field %q and message containing %q", e, tt.field, tt.msg)
			}
			if e.Line != 0 || e.File != "" {
				t.Errorf("error of a config built in code has file %q line %d, want none", e.File, e.Line)
			}
		})
	}
}

// TestValidateNeverEchoesICESecrets: an ICE server's URL may hold a password pasted in by
// mistake, and its credential is one; neither may reach a message.
func TestValidateNeverEchoesICESecrets(t *testing.T) {
	for _, u := range []string{
		"turn:pigweight:hunter2@turn.example.org",
		"turn://pigweight:hunter2@turn.example.org",
		"http://pigweight:hunter2@turn.example.org",
		"turn:turn.example.org?password=hunter2",
		"stun:hunter2:99999",
		"turn:hunter2:x:y",
		"turn:turn.example.org:hunter2",
	} {
		t.Run(u, func(t *testing.T) {
			c := validConfig()
			c.WebRTC.ICEServers[1].URLs = []string{u}
			c.WebRTC.ICEServers[1].Username = ""
			c.WebRTC.ICEServers[1].Credential = "hunter2"
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			if strings.Contains(err.Error(), "hunt") {
				t.Errorf("error %q contains the password", err)
			}
		})
	}
}

// TestValidateNeverEchoesURI guards against camera passwords in logs: the URI is the one
// field whose value must not appear in a message.
func TestValidateNeverEchoesURI(t *testing.T) {
	for _, uri := range []string{
		"http://admin:hunter2@cam/s",
		"rtsp://admin:hunter2@/s",
		"rtsp://admin:hunt er2@cam/s",
		"rtsp://admin:hunter2/x@cam/s",
	} {
		t.Run(uri, func(t *testing.T) {
			c := validConfig()
			c.Pipelines[0].Source.URI = uri
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			if strings.Contains(err.Error(), "hunt") {
				t.Errorf("error %q contains the password", err)
			}
		})
	}
}

func TestPipelineValidate(t *testing.T) {
	models := []Model{{Name: "demo"}, {Name: "other"}}
	tests := []struct {
		name   string
		mutate func(p *Pipeline)
		want   []string // "field: message" of each error, in order
	}{
		{"valid", func(p *Pipeline) {}, nil},
		{"model found", func(p *Pipeline) { p.Inference = Inference{Enabled: true, Model: "other", Interval: 1} }, nil},
		{"model missing", func(p *Pipeline) { p.Inference = Inference{Enabled: true, Model: "x", Interval: 1} },
			[]string{`inference.model: no model named "x" (have: demo, other)`}},
		{"relative paths", func(p *Pipeline) { p.Name = ""; p.Source.URI = "http://x"; p.Restart.BackoffMin = 0 },
			[]string{"name: required", "source.uri: must be rtsp:// or rtsps://", "restart.backoff_min: must be at least 100ms: a quicker restart only spins the CPU, it brings no source back sooner"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPipeline()
			p.Name = "cam"
			p.Source.Type = SourceRTSP
			p.Source.URI = "rtsp://cam/s"
			tt.mutate(&p)
			err := p.Validate(&Config{Models: models})
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			es := fieldErrors(t, err)
			var got []string
			for _, e := range es {
				got = append(got, e.Field+": "+e.Message)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Validate() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestZeroPipelineIsInvalid documents that a Pipeline built from its zero value, not from
// DefaultPipeline, fails: there are no hidden defaults at Validate time.
func TestZeroPipelineIsInvalid(t *testing.T) {
	var p Pipeline
	if p.Validate(nil) == nil {
		t.Fatal("zero Pipeline validated")
	}
	var np *Pipeline
	var nc *Config
	if np.Validate(nil) == nil || nc.Validate() == nil {
		t.Fatal("nil validated")
	}
}

// A link inside a media folder that leads out of it is as good as a path outside it.
func TestFileSourceThroughALinkOutOfTheMediaDirs(t *testing.T) {
	media, outside := t.TempDir(), t.TempDir()
	secret := outside + "/secret.mp4"
	if err := os.WriteFile(secret, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, media+"/pen.mp4"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, media+"/more"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(media+"/real.mp4", []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for uri, ok := range map[string]bool{
		media + "/real.mp4":             true,
		media + "/missing.mp4":          true, // inside: the pipeline says it is missing when it starts
		media + "/pen.mp4":              false,
		media + "/more/secret.mp4":      false,
		"file://" + media + "/pen.mp4":  false,
		"file://" + media + "/real.mp4": true,
	} {
		c := validConfig()
		c.Server.MediaDirs = []string{media}
		c.Pipelines[1].Source.URI = uri
		err := c.Validate()
		if (err == nil) != ok {
			t.Errorf("%s: Validate() = %v, want ok %v", uri, err, ok)
		}
	}
}

// The default media folders are the data directory and the configuration file's folder.
func TestDefaultMediaDirectories(t *testing.T) {
	c, err := Parse("/etc/pigweight/pigweight.yaml", []byte("server: {data_dir: /var/lib/pigweight}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.MediaDirectories(), ","); got != "/var/lib/pigweight,/etc/pigweight" {
		t.Errorf("MediaDirectories() = %s, want the data directory and the file's folder", got)
	}
	c.Server.MediaDirs = []string{"/srv/videos"}
	if got := strings.Join(c.MediaDirectories(), ","); got != "/srv/videos" {
		t.Errorf("MediaDirectories() = %s, want server.media_dirs alone", got)
	}
}

func TestViewerLimits(t *testing.T) {
	for _, c := range []struct {
		w              WebRTC
		fds            uint64
		total, perAddr int
	}{
		{WebRTC{}, 1024, 96, 64},
		{WebRTC{}, 1 << 20, 1000, 64},
		{WebRTC{}, 100, 16, 16},
		{WebRTC{MaxViewers: 10}, 1 << 20, 10, 10},
		{WebRTC{MaxViewers: 500, MaxViewersPerAddress: 200}, 1024, 500, 200},
		{WebRTC{MaxViewersPerAddress: 5}, 1024, 96, 5},
	} {
		total, per := c.w.ViewerLimits(c.fds)
		if total != c.total || per != c.perAddr {
			t.Errorf("%+v with %d fds: ViewerLimits() = %d, %d; want %d, %d", c.w, c.fds, total, per, c.total, c.perAddr)
		}
	}
}

func TestWarmDecodersFor(t *testing.T) {
	for _, c := range []struct {
		s     Server
		mem   uint64
		cores int
		want  int
	}{
		{Server{}, 24 << 30, 2, 8},
		{Server{}, 1 << 30, 16, 2},
		{Server{}, 128 << 30, 64, 64},
		{Server{}, 0, 0, 2},
		{Server{WarmDecoders: 3}, 128 << 30, 64, 3},
	} {
		if got := c.s.WarmDecodersFor(c.mem, c.cores); got != c.want {
			t.Errorf("%+v, %d bytes, %d cores: WarmDecodersFor() = %d, want %d", c.s, c.mem, c.cores, got, c.want)
		}
	}
}
