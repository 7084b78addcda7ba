package spec

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pigweight/pigweight/elements/weight"
)

// fakeEnv is the environment the tests parse with, so that no test touches os env.
var fakeEnv = map[string]string{
	"PIGWEIGHT_TOKEN": "s3cret",
	"FPS":             "30",
	"LAT":             "350ms",
	"HOST":            "cam.local",
	"EMPTY":           "",
	"DOLLAR":          "a${B}c",
	"TILDE":           "~",
	"TURN_PASSWORD":   "turn-s3cret",
}

func testParser(env map[string]string) *parser {
	p := newParser("test.yaml")
	p.lookupEnv = func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
	return p
}

func parse(data string) (*Config, error) { return testParser(fakeEnv).config([]byte(data)) }

// errorLines renders errors as "line:column field: message" for comparison.
func errorLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var out []string
	for _, e := range fieldErrors(t, err) {
		if e.File != "test.yaml" {
			t.Errorf("error %q has file %q, want test.yaml", e, e.File)
		}
		out = append(out, strconv.Itoa(e.Line)+" "+e.Field+": "+e.Message)
	}
	return out
}

const minimal = `
pipelines:
  - name: demo
    source:
      type: synthetic
`

func TestPipelinePen(t *testing.T) {
	cfg, err := parse(minimal + "  - name: cam-2\n    source: {type: synthetic}\n    weight: {pen: demo, roi: [0, 0, 320, 240]}\n")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"demo", "demo"} {
		if got := cfg.Pipelines[i].Pen(); got != want {
			t.Errorf("pipelines[%d].Pen() = %q, want %q", i, got, want)
		}
	}
	if got, want := cfg.Pipelines[1].Weight.ROI, (weight.ROI{W: 320, H: 240}); got != want {
		t.Errorf("roi = %+v, want %+v", got, want)
	}
}

func TestParseAppliesDefaults(t *testing.T) {
	cfg, err := parse(`
models:
  - name: demo
    path: demo.onnx
pipelines:
  - name: demo
    source:
      type: synthetic
    outputs:
      - type: webrtc
`)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	m := DefaultModel()
	m.Name, m.Path = "demo", "demo.onnx"
	want.Models = []Model{m}
	p := DefaultPipeline()
	p.Name = "demo"
	p.Source.Type = SourceSynthetic
	p.Outputs = []Output{{Type: OutputWebRTC, Overlay: OverlayData, Encode: EncodingAuto}}
	want.Pipelines = []Pipeline{p}
	if !cfg.Equal(*want) {
		t.Errorf("Parse() = %+v\nwant %+v", cfg, want)
	}
	// Spot checks against the documented numbers, in case both sides of Equal drift.
	got := cfg.Pipelines[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"listen", cfg.Server.Listen, "127.0.0.1:8080"},
		{"data_dir", cfg.Server.DataDir, "data"},
		{"max_upload_bytes", cfg.Server.MaxUploadBytes, int64(4 << 30)},
		{"frame_cache_bytes", cfg.Server.FrameCacheBytes, int64(512 << 20)},
		{"read_timeout", cfg.Server.ReadTimeout.D(), 30 * time.Second},
		{"write_timeout", cfg.Server.WriteTimeout.D(), 60 * time.Second},
		{"idle_timeout", cfg.Server.IdleTimeout.D(), 2 * time.Minute},
		{"warm_decoders", cfg.Server.WarmDecoders, 0},
		{"webrtc", cfg.WebRTC, WebRTC{Loopback: true, ConnectTimeout: Duration(15 * time.Second)}},
		{"format", cfg.Models[0].Format, FormatMask},
		{"providers", cfg.Models[0].Providers, []Provider{ProviderTensorRT, ProviderCUDA, ProviderCPU}},
		{"decode", got.Decode, DecodeAuto},
		{"transport", got.Source.Transport, TransportAuto},
		{"latency", got.Source.Latency.D(), 200 * time.Millisecond},
		{"interval", got.Inference.Interval, 1},
		{"backoff_min", got.Restart.BackoffMin.D(), 500 * time.Millisecond},
		{"backoff_max", got.Restart.BackoffMax.D(), 30 * time.Second},
		{"synthetic", got.Source.Synthetic, Synthetic{Width: 640, Height: 480, FPS: 15, Pigs: 8, Seed: 1}},
		{"overlay", got.Outputs[0].Overlay, OverlayData},
		{"encode", got.Outputs[0].Encode, EncodingAuto},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
			}
		})
	}
}

func TestParseOverridesDefaults(t *testing.T) {
	cfg, err := parse(`
server:
  listen: 0.0.0.0:9000
  max_upload_bytes: 1024
models:
  - name: seg
    path: /m/seg.onnx
    format: yolo-seg
    input_size: [640, 384]
    classes: [pig, person]
    providers: [cpu]
pipelines:
  - name: barn
    source:
      type: rtsp
      uri: rtsp://cam.local/s
      transport: tcp
      latency: 1.5s
    decode: software
    inference: {enabled: true, model: seg, interval: 3}
    outputs: [{type: webrtc, overlay: burn}]
    restart: {backoff_min: 1s, backoff_max: 1m}
`)
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Models[0]
	if m.Format != FormatYOLOSeg || m.InputSize != [2]int{640, 384} || !reflect.DeepEqual(m.Providers, []Provider{ProviderCPU}) || len(m.Classes) != 2 {
		t.Errorf("model = %+v", m)
	}
	p := cfg.Pipelines[0]
	want := Pipeline{
		Name: "barn",
		Source: Source{Type: SourceRTSP, URI: "rtsp://cam.local/s", Transport: TransportTCP, Latency: ms(1500), Watchdog: ms(10000),
			Synthetic: DefaultPipeline().Source.Synthetic},
		Decode:    DecodeSoftware,
		Inference: Inference{Enabled: true, Model: "seg", Interval: 3},
		Outputs:   []Output{{Type: OutputWebRTC, Overlay: OverlayBurn, Encode: EncodingAuto}},
		Restart:   Restart{BackoffMin: ms(1000), BackoffMax: Duration(time.Minute)},
	}
	if !p.Equal(want) {
		t.Errorf("pipeline = %+v\nwant %+v", p, want)
	}
	if cfg.Server.Listen != "0.0.0.0:9000" || cfg.Server.MaxUploadBytes != 1024 || cfg.Server.DataDir != "data" {
		t.Errorf("server = %+v", cfg.Server)
	}
}

func TestParseThreeMistakes(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "three-mistakes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = parse(string(data))
	got := errorLines(t, err)
	want := []string{
		"11 pipelines[0].source.uri: must be rtsp:// or rtsps://",
		"22 pipelines[1].source.synthetic.fps: must be between 1 and 60",
		"25 pipelines[1].restart.backof_min: unknown field (known: backoff_min, backoff_max)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Parse(three-mistakes.yaml) =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Load must say the same, naming the file as given.
	_, err = Load(filepath.Join("testdata", "three-mistakes.yaml"))
	es := fieldErrors(t, err)
	if len(es) != 3 || es[0].File != filepath.Join("testdata", "three-mistakes.yaml") || es[0].Column != 12 {
		t.Errorf("Load() = %v", err)
	}
}

// TestParseErrors covers decoding problems: each document has the listed errors and no others.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"unknown top-level", "servr:\n  listen: x\n",
			[]string{"1 servr: unknown field (known: server, webrtc, models, pipelines)"}},
		{"unknown in webrtc", "webrtc:\n  stun: x\n",
			[]string{"2 webrtc.stun: unknown field (known: loopback, udp_ports, nat_1to1_ips, local_ips, ice_servers, max_viewers, max_viewers_per_address, connect_timeout)"}},
		{"unknown in an ice server", "webrtc:\n  ice_servers:\n    - urls: [stun:a]\n      password: x\n",
			[]string{"4 webrtc.ice_servers[0].password: unknown field (known: urls, username, credential, secret, credential_ttl)"}},
		{"udp_ports one value", "webrtc:\n  udp_ports: [50000]\n",
			[]string{"2 webrtc.udp_ports: must be a list of exactly 2 values"}},
		{"udp_ports string", "webrtc:\n  udp_ports: 50000-50100\n",
			[]string{"2 webrtc.udp_ports: must be a list of exactly 2 values"}},
		{"urls as a string", "webrtc:\n  ice_servers:\n    - urls: stun:a\n",
			[]string{"3 webrtc.ice_servers[0].urls: must be a list, not a string"}},
		{"loopback yes", "webrtc: {loopback: yes}\n",
			[]string{"1 webrtc.loopback: must be true or false"}},
		// A credential from an unset variable is reported once, not again as "required".
		{"credential unset", "webrtc:\n  ice_servers:\n    - urls: [turn:a]\n      username: u\n      credential: ${TURN_PASSWORD_X}\n",
			[]string{"5 webrtc.ice_servers[0].credential: environment variable TURN_PASSWORD_X is not set"}},
		{"unknown in server", "server:\n  port: 80\n",
			[]string{"2 server.port: unknown field (known: listen, data_dir, api_token, max_upload_bytes, frame_cache_bytes, warm_decoders, media_dirs, hostnames, read_timeout, write_timeout, idle_timeout)"}},
		{"unknown at every depth", `
pipelines:
  - name: a
    colour: red
    source:
      type: synthetic
      url: x
      synthetic:
        pig: 4
    outputs:
      - type: webrtc
        overlays: burn
    restart:
      backoff: 1s
models:
  - name: m
    path: m.onnx
    size: 640
`, []string{
			"4 pipelines[0].colour: unknown field (known: name, source, decode, inference, outputs, restart, weight)",
			"7 pipelines[0].source.url: unknown field (known: type, uri, loop, transport, latency, watchdog, synthetic)",
			"9 pipelines[0].source.synthetic.pig: unknown field (known: width, height, fps, pigs, seed)",
			"12 pipelines[0].outputs[0].overlays: unknown field (known: type, overlay, encode, min_bitrate_kbps, max_bitrate_kbps)",
			"14 pipelines[0].restart.backoff: unknown field (known: backoff_min, backoff_max)",
			"18 models[0].size: unknown field (known: name, path, format, input_size, classes, providers, max_batch, max_wait, workers, threads, confidence, iou)",
		}},
		{"weight section", minimal + "    weight:\n      pen: 'barn a'\n      camera: {height_m: 30, pixels_per_metre: 90}\n      roi: [1, 2, 3]\n      min_score: 2\n", []string{
			"7 pipelines[0].weight.pen: must be 1 to 64 letters, digits, '_' or '-'",
			"8 pipelines[0].weight.camera.height_m: 30 outside (0, 20]",
			"9 pipelines[0].weight.roi: want [x, y, w, h], got 3 numbers",
			"10 pipelines[0].weight.min_score: 2 outside (0, 1]",
		}},
		{"weight roi not numbers", minimal + "    weight: {roi: [a, 2, 3, 4]}\n",
			[]string{"6 pipelines[0].weight.roi: want [x, y, w, h]: yaml: unmarshal errors:\n  line 6: cannot unmarshal !!str `a` into float64"}},
		{"weight with fov and scale", minimal + "    weight: {camera: {fov_deg: 70, pixels_per_metre: 90}}\n",
			[]string{"6 pipelines[0].weight.camera.fov_deg: given together with pixels_per_metre; give one of them"}},
		{"keys are case sensitive", "Server: {}\n",
			[]string{"1 Server: unknown field (known: server, webrtc, models, pipelines)"}},
		{"duplicate key", "server:\n  listen: :1\n  listen: :2\n",
			[]string{"3 server.listen: duplicate field (first at line 2)"}},
		{"duplicate section", "server: {}\nserver: {}\n",
			[]string{"2 server: duplicate field (first at line 1)"}},
		{"string for int", minimal + "      synthetic: {fps: fast}\n",
			[]string{"6 pipelines[0].source.synthetic.fps: must be an integer"}},
		{"float for int", minimal + "      synthetic: {fps: 1.5}\n",
			[]string{"6 pipelines[0].source.synthetic.fps: must be an integer"}},
		{"quoted int", minimal + "      synthetic: {fps: \"15\"}\n",
			[]string{"6 pipelines[0].source.synthetic.fps: must be an integer"}},
		{"int overflow", "server: {max_upload_bytes: 99999999999999999999}\n",
			[]string{"1 server.max_upload_bytes: must be an integer"}},
		{"yes for bool", minimal + "      loop: yes\n",
			[]string{"6 pipelines[0].source.loop: must be true or false"}},
		{"list for string", "server: {listen: [a]}\n",
			[]string{"1 server.listen: must be a string, not a list"}},
		{"mapping for list", "pipelines: {name: a}\n",
			[]string{"1 pipelines: must be a list, not a mapping"}},
		{"scalar for mapping", "pipelines:\n  - name: a\n    source: synthetic\n",
			[]string{"3 pipelines[0].source: must be a mapping (key: value), not a string"}},
		{"input_size length", "models:\n  - {name: m, path: p, input_size: [640]}\n",
			[]string{"2 models[0].input_size: must be a list of exactly 2 values"}},
		{"duration without unit", minimal + "      latency: 200\n",
			[]string{"6 pipelines[0].source.latency: needs a unit: write 200ms or 200s, not 200"}},
		{"duration garbage", minimal + "      latency: soon\n",
			[]string{`6 pipelines[0].source.latency: must be a duration such as 200ms or 30s (got "soon")`}},
		// An enum error is not followed by "required" for the same field.
		{"unknown source type", "pipelines:\n  - name: a\n    source: {type: http, uri: x}\n",
			[]string{`3 pipelines[0].source.type: must be one of rtsp, file, synthetic (got "http")`}},
		{"unknown provider", "models:\n  - name: m\n    path: p\n    providers: [cuda, rocm]\n",
			[]string{`4 models[0].providers[1]: must be one of tensorrt, cuda, cpu (got "rocm")`}},
		{"empty name string", "pipelines:\n  - name: ''\n    source: {type: synthetic}\n",
			[]string{"2 pipelines[0].name: required"}},
		{"null keeps default", "server:\n  listen:\n  data_dir: ~\n", nil},
		{"null pipeline", "pipelines:\n  -\n",
			[]string{"2 pipelines[0].name: required", "2 pipelines[0].source.type: required (one of rtsp, file, synthetic)"}},
		{"non-scalar key", "server:\n  ? [a]\n  : b\n",
			[]string{"2 server: keys must be plain names, not a list"}},
		// A missing field is located at its nearest written parent.
		{"default located at parent", minimal + "    restart:\n      backoff_min: 1m\n",
			[]string{"6 pipelines[0].restart.backoff_max: must be at least backoff_min (1m0s)"}},
		{"sorted by line across kinds", `
pipelines:
  - name: a
    source: {type: file, uri: "http://x"}
    decode: gpu
    bogus: 1
`, []string{
			"4 pipelines[0].source.uri: must be a path or a file:// URI",
			`5 pipelines[0].decode: must be one of auto, nvdec, software (got "gpu")`,
			"6 pipelines[0].bogus: unknown field (known: name, source, decode, inference, outputs, restart, weight)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(tt.doc)
			got := errorLines(t, err)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Parse() errors =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestParseWebRTC(t *testing.T) {
	cfg, err := parse(`
webrtc:
  loopback: false
  udp_ports: [50000, 50100]
  nat_1to1_ips: [203.0.113.7]
  local_ips: [192.168.1.10]
  ice_servers:
    - urls: ["stun:stun.example.org:3478"]
    - urls: ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org"]
      username: pigweight
      credential: ${TURN_PASSWORD}
`)
	if err != nil {
		t.Fatal(err)
	}
	want := WebRTC{
		Loopback:   false,
		UDPPorts:   [2]int{50000, 50100},
		NAT1To1IPs: []string{"203.0.113.7"},
		LocalIPs:   []string{"192.168.1.10"},
		ICEServers: []ICEServer{
			{URLs: []string{"stun:stun.example.org:3478"}},
			{URLs: []string{"turn:turn.example.org:3478?transport=udp", "turns:turn.example.org"}, Username: "pigweight", Credential: "turn-s3cret"},
		},
		ConnectTimeout: Duration(DefaultConnectTimeout),
	}
	if !cfg.WebRTC.Equal(want) {
		t.Errorf("webrtc = %+v\nwant %+v", cfg.WebRTC, want)
	}

	// Each rule, located at the line of the field or, for a field left out, of its parent.
	_, err = parse(`
webrtc:
  loopback: false
  udp_ports: [50100, 50000]
  nat_1to1_ips: [203.0.113.7, nope, "2001:db8::7"]
  local_ips: [127.0.0.1]
  ice_servers:
    - urls: ["http://stun.example.org"]
    - urls:
        - stun:stun.example.org:3478
        - turn:turn.example.org?transport=sctp
      username: pigweight
    - urls: []
`)
	got := errorLines(t, err)
	wantErrs := []string{
		"4 webrtc.udp_ports: min must not exceed max (got [50100, 50000])",
		`5 webrtc.nat_1to1_ips[1]: must be an IPv4 address such as 192.0.2.10 (got "nope")`,
		`5 webrtc.nat_1to1_ips[2]: must be an IPv4 address: viewers are served over IPv4 only (got "2001:db8::7")`,
		"6 webrtc.local_ips[0]: a loopback address needs loopback: true",
		"8 webrtc.ice_servers[0].urls[0]: must start with stun:, stuns:, turn: or turns:",
		"9 webrtc.ice_servers[1].credential: required for a turn: or turns: URL (or give a secret)",
		"11 webrtc.ice_servers[1].urls[1]: the only query a turn: URL takes is ?transport=udp or ?transport=tcp",
		"13 webrtc.ice_servers[2].urls: required: one or more stun:, stuns:, turn: or turns: URLs",
	}
	if strings.Join(got, "\n") != strings.Join(wantErrs, "\n") {
		t.Errorf("Parse() errors =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantErrs, "\n"))
	}
}

// TestParseDocumentErrors covers documents that cannot be decoded at all.
func TestParseDocumentErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		line int
		msg  string
	}{
		{"empty", "", 0, "document is empty"},
		{"comments only", "# nothing\n\n", 0, "document is empty"},
		{"null", "~\n", 1, "document is empty"},
		{"bare separator", "---\n", 2, "document is empty"},
		{"list", "- a\n- b\n", 1, "the top level must be a mapping of settings (key: value), not a list"},
		{"scalar", "hello\n", 1, "the top level must be a mapping of settings (key: value), not a string"},
		{"two documents", "server: {}\n---\nserver: {}\n", 2, "only one YAML document is allowed"},
		{"syntax", "server:\n  listen: [\n", 2, "invalid YAML: "},
		{"tab indent", "server:\n\tlisten: x\n", 2, "invalid YAML: "},
		{"too large", "server: {}\n#" + strings.Repeat("x", MaxDocumentBytes), 0, "document is larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(tt.doc)
			es := fieldErrors(t, err)
			if len(es) != 1 || es[0].Line != tt.line || !strings.Contains(es[0].Message, tt.msg) {
				t.Errorf("Parse() = %v, want one error at line %d containing %q", err, tt.line, tt.msg)
			}
		})
	}
}

func TestParseCapsErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString("server:\n")
	for i := range 1000 {
		b.WriteString("  k" + strconv.Itoa(i) + ": 1\n")
	}
	_, err := parse(b.String())
	es := fieldErrors(t, err)
	if len(es) != maxErrors+1 {
		t.Fatalf("got %d errors, want %d", len(es), maxErrors+1)
	}
	if es[0].Line != 2 || es[maxErrors-1].Line != maxErrors+1 {
		t.Errorf("kept errors are not the first ones: %v ... %v", es[0], es[maxErrors-1])
	}
	if last := es[maxErrors]; last.Message != "900 more errors not shown; fix these first" {
		t.Errorf("last error = %v", last)
	}
}

// TestParseHostile checks that documents built to exhaust the parser fail fast with an error.
func TestParseHostile(t *testing.T) {
	laughs := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 'b'; i <= 'j'; i++ {
		prev := string(i - 1)
		laughs += string(i) + ": &" + string(i) + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev +
			", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n"
	}
	tests := []struct {
		name string
		doc  string
		msg  string
	}{
		{"billion laughs in unknown keys", laughs, "unknown field"},
		{"billion laughs in a known list", "models:\n  - &m {name: m, path: p}\n  - *m\n", "anchors (&m) are not supported"},
		{"alias of a scalar", "server:\n  listen: &l :80\n  data_dir: *l\n", "not supported"},
		{"alias in a known field", "x: &a 1\nserver:\n  data_dir: *a\n", "aliases (*a) are not supported"},
		{"merge key", "base: &b {type: synthetic}\npipelines:\n  - name: a\n    source:\n      <<: *b\n", "unknown field"},
		{"deep flow nesting", "pipelines: " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "\n", "invalid YAML"},
		{"deep nesting in a known field", "server:\n  listen: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n", "must be a string, not a list"},
		{"deep block nesting", nestedBlocks(1400), "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := parse(tt.doc)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Parse() = %v, want an error containing %q", err, tt.msg)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Parse() took %v", d)
			}
		})
	}
}

func nestedBlocks(depth int) string {
	var b strings.Builder
	for i := range depth {
		b.WriteString(strings.Repeat(" ", i))
		b.WriteString("a:\n")
	}
	return b.String()
}

func TestParseEnv(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		// check inspects a successful parse; nil when errs is set.
		check func(t *testing.T, c *Config)
		errs  []string
	}{
		{"string", "server:\n  api_token: ${PIGWEIGHT_TOKEN}\n", func(t *testing.T, c *Config) {
			if c.Server.APIToken != "s3cret" {
				t.Errorf("api_token = %q", c.Server.APIToken)
			}
		}, nil},
		{"inside a string", minimal[:len(minimal)-len("      type: synthetic\n")] + "      type: rtsp\n      uri: rtsp://${HOST}:554/s\n",
			func(t *testing.T, c *Config) {
				if got := c.Pipelines[0].Source.URI; got != "rtsp://cam.local:554/s" {
					t.Errorf("uri = %q", got)
				}
			}, nil},
		{"integer", minimal + "      synthetic:\n        fps: ${FPS}\n", func(t *testing.T, c *Config) {
			if got := c.Pipelines[0].Source.Synthetic.FPS; got != 30 {
				t.Errorf("fps = %d", got)
			}
		}, nil},
		{"duration", minimal + "      latency: ${LAT}\n", func(t *testing.T, c *Config) {
			if got := c.Pipelines[0].Source.Latency.D(); got != 350*time.Millisecond {
				t.Errorf("latency = %v", got)
			}
		}, nil},
		// In flow style the reference must be quoted; the value is still typed by its text.
		{"quoted integer", minimal + "      synthetic: {fps: \"${FPS}\"}\n", func(t *testing.T, c *Config) {
			if got := c.Pipelines[0].Source.Synthetic.FPS; got != 30 {
				t.Errorf("fps = %d", got)
			}
		}, nil},
		{"non-integer", minimal + "      synthetic:\n        fps: ${HOST}\n", nil,
			[]string{"7 pipelines[0].source.synthetic.fps: must be an integer"}},
		{"explicit tag keeps its type", minimal + "      synthetic:\n        fps: !!str ${FPS}\n", nil,
			[]string{"7 pipelines[0].source.synthetic.fps: must be an integer"}},
		{"null-looking value is a string", "server:\n  api_token: ${TILDE}\n", func(t *testing.T, c *Config) {
			if c.Server.APIToken != "~" {
				t.Errorf("api_token = %q", c.Server.APIToken)
			}
		}, nil},
		{"escape", "server:\n  api_token: pa$$word$${X}\n", func(t *testing.T, c *Config) {
			if c.Server.APIToken != "pa$word${X}" {
				t.Errorf("api_token = %q", c.Server.APIToken)
			}
		}, nil},
		{"lone dollar kept", "server:\n  api_token: pa$word$\n", func(t *testing.T, c *Config) {
			if c.Server.APIToken != "pa$word$" {
				t.Errorf("api_token = %q", c.Server.APIToken)
			}
		}, nil},
		{"value not expanded twice", "server:\n  api_token: ${DOLLAR}\n", func(t *testing.T, c *Config) {
			if c.Server.APIToken != "a${B}c" {
				t.Errorf("api_token = %q", c.Server.APIToken)
			}
		}, nil},
		{"empty value is an empty string", "server:\n  api_token: x\n  data_dir: ${EMPTY}\n", nil,
			[]string{"3 server.data_dir: required"}},
		{"unset", "server:\n  listen: :80\n  api_token: ${PIGWEIGHT_TOKEN_X}\n", nil,
			[]string{"3 server.api_token: environment variable PIGWEIGHT_TOKEN_X is not set"}},
		{"two unset", "server:\n  api_token: ${A1}${A2}\n", nil,
			[]string{"2 server.api_token: environment variable A1 is not set", "2 server.api_token: environment variable A2 is not set"}},
		// An unset variable leaves the default, so "required" must not follow it.
		{"unset no cascade", "pipelines:\n  - name: ${NAME_X}\n    source: {type: synthetic}\n", nil,
			[]string{"2 pipelines[0].name: environment variable NAME_X is not set"}},
		{"unterminated", "server:\n  api_token: ${PIGWEIGHT_TOKEN\n", nil,
			[]string{"2 server.api_token: unterminated ${ (write $$ for a literal $)"}},
		{"invalid name", "server:\n  api_token: ${1A}\n", nil,
			[]string{"2 server.api_token: invalid environment variable reference; want ${NAME} with letters, digits and _ (write $$ for a literal $)"}},
		{"keys not expanded", "server:\n  ${X}: 1\n", nil,
			[]string{"2 server.${X}: unknown field (known: listen, data_dir, api_token, max_upload_bytes, frame_cache_bytes, warm_decoders, media_dirs, hostnames, read_timeout, write_timeout, idle_timeout)"}},
		{"list items", "models:\n  - name: m\n    path: p\n    classes: [pig, \"${HOST}\"]\n", func(t *testing.T, c *Config) {
			if got := c.Models[0].Classes; !reflect.DeepEqual(got, []string{"pig", "cam.local"}) {
				t.Errorf("classes = %q", got)
			}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse(tt.doc)
			if tt.errs != nil {
				got := errorLines(t, err)
				if strings.Join(got, "\n") != strings.Join(tt.errs, "\n") {
					t.Errorf("Parse() errors =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.errs, "\n"))
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse() = %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestParseUsesProcessEnvironment(t *testing.T) {
	t.Setenv("PIGWEIGHT_SPEC_TEST_TOKEN", "from-env")
	cfg, err := Parse("x.yaml", []byte("server: {api_token: '${PIGWEIGHT_SPEC_TEST_TOKEN}'}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.APIToken != "from-env" {
		t.Errorf("api_token = %q", cfg.Server.APIToken)
	}
}

// TestValidateAfterParse checks that a parsed Config keeps its positions for later Validate
// calls, and that a Config built in code has none.
func TestValidateAfterParse(t *testing.T) {
	cfg, err := parse("server:\n  listen: :80\npipelines:\n  - name: a\n    source:\n      type: synthetic\n")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Pipelines[0].Source.Synthetic.FPS = 0 // not written: located at its parent, source
	cfg.Server.Listen = "nope"
	got := errorLines(t, cfg.Validate())
	want := []string{"2 server.listen: must be host:port, e.g. 127.0.0.1:8080", "5 pipelines[0].source.synthetic.fps: must be between 1 and 60"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Validate() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	es := fieldErrors(t, cfg.Validate())
	if es[0].Column != 11 {
		t.Errorf("column = %d, want 11 (the value)", es[0].Column)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte(minimal), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(good)
	if err != nil || len(cfg.Pipelines) != 1 {
		t.Fatalf("Load(good) = %v, %v", cfg, err)
	}

	_, err = Load(filepath.Join(dir, "missing.yaml"))
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrInvalid) {
		t.Errorf("Load(missing) = %v, want fs.ErrNotExist and not ErrInvalid", err)
	}

	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte(minimal+"#"+strings.Repeat("x", 2*MaxDocumentBytes)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Load(big) = %v", err)
	}
}

func TestParsePipeline(t *testing.T) {
	cfg := validConfig()
	tests := []struct {
		name  string
		doc   string
		cfg   *Config
		check func(t *testing.T, p Pipeline)
		errs  []string
	}{
		{"json", `{"name": "pen3", "source": {"type": "rtsp", "uri": "rtsp://cam3/s", "latency": "500ms"},
 "inference": {"enabled": true, "model": "demo"}, "outputs": [{"type": "webrtc"}]}`, cfg,
			func(t *testing.T, p Pipeline) {
				want := DefaultPipeline()
				want.Name = "pen3"
				want.Source.Type, want.Source.URI, want.Source.Latency = SourceRTSP, "rtsp://cam3/s", ms(500)
				want.Inference = Inference{Enabled: true, Model: "demo", Interval: 1}
				want.Outputs = []Output{{Type: OutputWebRTC, Overlay: OverlayData, Encode: EncodingAuto}}
				if !p.Equal(want) {
					t.Errorf("ParsePipeline() = %+v\nwant %+v", p, want)
				}
			}, nil},
		{"yaml", "name: pen4\nsource:\n  type: file\n  uri: /v/a.mp4\n  loop: true\n", nil,
			func(t *testing.T, p Pipeline) {
				if p.Name != "pen4" || !p.Source.Loop || p.Restart.BackoffMax.D() != 30*time.Second {
					t.Errorf("ParsePipeline() = %+v", p)
				}
			}, nil},
		{"json unknown field", "{\"name\": \"a\",\n \"source\": {\"type\": \"synthetic\", \"url\": \"x\"}}", cfg, nil,
			[]string{"2 source.url: unknown field (known: type, uri, loop, transport, latency, watchdog, synthetic)"}},
		{"json wrong type", `{"name": "a", "source": {"type": "synthetic", "synthetic": {"fps": "15"}}}`, cfg, nil,
			[]string{"1 source.synthetic.fps: must be an integer"}},
		{"json bare latency", `{"name": "a", "source": {"type": "synthetic", "latency": 200}}`, cfg, nil,
			[]string{"1 source.latency: needs a unit: write 200ms or 200s, not 200"}},
		{"json duplicate key", `{"name": "a", "name": "b", "source": {"type": "synthetic"}}`, cfg, nil,
			[]string{"1 name: duplicate field (first at line 1)"}},
		{"unknown model", `{"name": "a", "source": {"type": "synthetic"}, "inference": {"enabled": true, "model": "x"}}`, cfg, nil,
			[]string{`1 inference.model: no model named "x" (have: demo)`}},
		{"nil config", `{"name": "a", "source": {"type": "synthetic"}, "inference": {"enabled": true, "model": "demo"}}`, nil, nil,
			[]string{`1 inference.model: no model named "demo" (have: none)`}},
		{"json array", `[1, 2]`, cfg, nil,
			[]string{"1 : the top level must be a mapping of settings (key: value), not a list"}},
		{"empty", ``, cfg, nil, []string{"0 : document is empty"}},
		{"validation", "name: a b\nsource:\n  type: rtsp\n  uri: http://x\n", cfg, nil,
			[]string{"1 name: must be 1 to 64 letters, digits, '_' or '-'", "4 source.uri: must be rtsp:// or rtsps://"}},
		{"env", `{"name": "a", "source": {"type": "rtsp", "uri": "rtsp://${HOST}/s"}}`, cfg,
			func(t *testing.T, p Pipeline) {
				if p.Source.URI != "rtsp://cam.local/s" {
					t.Errorf("uri = %q", p.Source.URI)
				}
			}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var models []Model
			if tt.cfg != nil {
				models = tt.cfg.Models
			}
			p, err := testParser(fakeEnv).pipeline([]byte(tt.doc), pipelineRules{models: models})
			if tt.errs != nil {
				got := errorLines(t, err)
				if strings.Join(got, "\n") != strings.Join(tt.errs, "\n") {
					t.Errorf("ParsePipeline() errors =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.errs, "\n"))
				}
				if !p.Equal(Pipeline{}) {
					t.Errorf("ParsePipeline() returned %+v with an error", p)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePipeline() = %v", err)
			}
			tt.check(t, p)
		})
	}

	// The exported function passes cfg's models through.
	if _, err := ParsePipeline("body.json", []byte(`{"name": "a", "source": {"type": "synthetic"}, "inference": {"enabled": true, "model": "demo"}}`), cfg); err != nil {
		t.Errorf("ParsePipeline() = %v", err)
	}
}

func TestFieldErrorFormat(t *testing.T) {
	tests := []struct {
		e    FieldError
		want string
	}{
		{FieldError{File: "c.yaml", Line: 3, Column: 5, Field: "server.listen", Message: "bad"}, "c.yaml:3:5: server.listen: bad"},
		{FieldError{File: "c.yaml", Line: 3, Field: "server.listen", Message: "bad"}, "c.yaml:3: server.listen: bad"},
		{FieldError{Field: "server.listen", Message: "bad"}, "server.listen: bad"},
		{FieldError{File: "c.yaml", Message: "document is empty"}, "c.yaml: document is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.e.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

// An API client must not read the server's environment back through a pipeline it adds.
func TestParsePipelineDoesNotExpandEnvironment(t *testing.T) {
	t.Setenv("PIGWEIGHT_TEST_SECRET", "hunter2")
	_, err := ParsePipeline("request", []byte(`{name: cam, source: {type: rtsp, uri: "rtsp://u:${PIGWEIGHT_TEST_SECRET}@cam/x"}}`), nil)
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 1 || errs[0].Field != "source.uri" || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v, want one source.uri error without the secret", err)
	}
	p, err := ParsePipeline("request", []byte(`{name: cam, source: {type: rtsp, uri: "rtsp://u:pa$$word@cam/x"}}`), nil)
	if err != nil || p.Source.URI != "rtsp://u:pa$word@cam/x" {
		t.Fatalf("$$ escape: %q, %v", p.Source.URI, err)
	}
}

// The shipped configs are the reference users copy from: they must stay valid.
func TestShippedConfigsParse(t *testing.T) {
	t.Setenv("PIGWEIGHT_TOKEN", "token")
	t.Setenv("CAM1_PASSWORD", "password")
	t.Setenv("TURN_PASSWORD", "password")
	for _, path := range []string{"../../configs/pigweight.yaml", "../../configs/example.yaml"} {
		if _, err := Load(path); err != nil {
			t.Errorf("%v", err)
		}
	}
}
