package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// roundTripCases are valid documents. They feed TestRoundTrip and seed FuzzParse and
// FuzzParsePipeline, which check the same round trip on whatever the fuzzer makes of them.
var roundTripCases = []struct {
	name string
	doc  string
}{
	{"minimal", minimal},
	{"defaults only", "server: {}\n"},
	{"weighed", minimal + "    weight:\n      pen: barn-a\n      camera: {height_m: 2.4, fov_deg: 70}\n      roi: [10, 20.5, 600, 440]\n      min_good_frames: 8\n"},
	{"full", `
server:
  listen: "[::]:8080"
  data_dir: /var/lib/pigweight
  api_token: ${PIGWEIGHT_TOKEN}
  max_upload_bytes: 1073741824
  warm_decoders: 6
  media_dirs: [/var/lib/pigweight, /videos]
  hostnames: [pigweight.farm.lan]
  read_timeout: 10s
  write_timeout: 20s
  idle_timeout: 1m
webrtc:
  loopback: false
  udp_ports: [40000, 40010]
  nat_1to1_ips: [203.0.113.7]
  local_ips: [10.0.0.2, 10.0.1.2]
  ice_servers:
    - urls: [stun:stun.example.org]
    - urls: ["turn:turn.example.org:3478?transport=tcp", turns:turn.example.org]
      username: pigweight
      credential: pa$$${PIGWEIGHT_TOKEN}
models:
  - name: pigs-seg.v2
    path: models/pigs-seg.onnx
    format: yolo-seg
    input_size: [640, 640]
    classes: [pig, "pig lying", person]
    providers: [cuda, cpu]
pipelines:
  - name: barn-east
    source:
      type: rtsp
      uri: rtsp://viewer:pa$$w0rd@10.0.0.5:554/Streaming/Channels/101
      transport: tcp
      latency: 0
    decode: nvdec
    inference: {enabled: true, model: pigs-seg.v2, interval: 2}
    outputs:
      - type: webrtc
        overlay: burn
    restart: {backoff_min: 1s, backoff_max: 1h}
  - name: replay
    source:
      type: file
      uri: file:///videos/pen%201.mp4
      loop: true
  - name: demo
    source:
      type: synthetic
      synthetic: {width: 1280, height: 720, fps: 30, pigs: 12, seed: -7}
    inference:
      enabled: false
      model: gone
`},
	{"strings that need quoting", `
server:
  data_dir: "  spaced \"dir\"\t"
  api_token: "true"
models:
  - name: m
    path: "0123"
    classes: ["", "null", "~", "- x", "a: b", "#", "$${literal}", "$$", "multi\nline\n", "ünïcödé", "\u00a0"]
`},
	{"merge-looking value", "server:\n  api_token: <<\n"},
	{"json-like", `{"server": {"listen": ":0"}, "pipelines": [{"name": "a", "source": {"type": "synthetic"}}]}`},
}

func TestRoundTrip(t *testing.T) {
	for _, tt := range roundTripCases {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parse(tt.doc)
			if err != nil {
				t.Fatalf("Parse() = %v", err)
			}
			checkRoundTrip(t, cfg)
		})
	}
}

func TestRoundTripKeepsDollars(t *testing.T) {
	cfg, err := parse("server:\n  api_token: a$$b${PIGWEIGHT_TOKEN}$${X}\n")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.APIToken != "a$bs3cret${X}" {
		t.Fatalf("api_token = %q", cfg.Server.APIToken)
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "a$$bs3cret$${X}") {
		t.Errorf("Marshal() = %s, want the $ doubled", out)
	}
	checkRoundTrip(t, cfg)
}

// checkRoundTrip marshals cfg to YAML, parses it again and compares. The environment used
// has none of the names the fuzzer can invent, so an unescaped ${...} would fail the parse.
func checkRoundTrip(t *testing.T, cfg *Config) {
	t.Helper()
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatalf("yaml.Marshal() = %v", err)
	}
	again, err := testParser(nil).config(out)
	if err != nil {
		t.Fatalf("Parse(Marshal(cfg)) = %v\ndocument:\n%s", err, out)
	}
	if !cfg.Equal(*again) {
		t.Fatalf("round trip changed the config:\n%+v\nbecame\n%+v\ndocument:\n%s", cfg, again, out)
	}

	for i, p := range cfg.Pipelines {
		out, err := yaml.Marshal(p)
		if err != nil {
			t.Fatalf("yaml.Marshal(pipelines[%d]) = %v", i, err)
		}
		q, err := testParser(nil).pipeline(out, newPipelineRules(cfg))
		if err != nil {
			t.Fatalf("ParsePipeline(Marshal(pipelines[%d])) = %v\ndocument:\n%s", i, err, out)
		}
		if !p.Equal(q) {
			t.Fatalf("pipeline round trip changed pipelines[%d]:\n%+v\nbecame\n%+v", i, p, q)
		}
	}
}

// checkErrors asserts the shape every failed parse must have.
func checkErrors(t *testing.T, err error) {
	t.Helper()
	var es Errors
	if !errors.As(err, &es) || len(es) == 0 {
		t.Fatalf("error %v (%T) is not a non-empty Errors", err, err)
	}
	for i, e := range es {
		if e.Message == "" {
			t.Errorf("error %d has no message", i)
		}
		if i > 0 && e.Line < es[i-1].Line {
			t.Errorf("errors not sorted by line: %v", err)
		}
	}
}

// fuzzSeeds are documents that do not parse, from the tables of the other tests and from
// what the fuzzer found.
var fuzzSeeds = []string{
	"",
	"~",
	"[]",
	"server: {port: 1}",
	"server:\n  listen: ${UNSET}\n",
	"server:\n  api_token: ${\n",
	"x: &a [1]\ny: *a\n",
	"pipelines:\n  - name: a\n    source: {type: http}\n",
	"pipelines: [{name: a, source: {type: synthetic, synthetic: {fps: 99}}}]",
	"models: [{name: m, path: p, input_size: [1, 2, 3]}]",
	"server: {}\n---\n",
	"server:\n  listen: :1\n  listen: :2\n",
}

func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "three-mistakes.yaml")); err == nil {
		f.Add(b)
	}
	for _, c := range roundTripCases {
		f.Add([]byte(c.doc))
	}
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := testParser(fakeEnv).config(data)
		if err != nil {
			if cfg != nil {
				t.Fatal("Parse returned a config with an error")
			}
			checkErrors(t, err)
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("parsed config fails Validate: %v", err)
		}
		checkRoundTrip(t, cfg)
	})
}

func FuzzParsePipeline(f *testing.F) {
	f.Add([]byte(`{"name": "a", "source": {"type": "synthetic"}}`))
	f.Add([]byte(`{"name": "a", "source": {"type": "rtsp", "uri": "rtsp://${HOST}/s", "latency": "1s"}, "outputs": [{"type": "webrtc"}]}`))
	f.Add([]byte("name: b\nsource:\n  type: file\n  uri: /v.mp4\n  loop: true\ninference: {enabled: true, model: demo}\n"))
	f.Add([]byte(`{"name": "a", "name": "a"}`))
	models := validConfig().Models
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := testParser(fakeEnv).pipeline(data, pipelineRules{models: models})
		if err != nil {
			checkErrors(t, err)
			return
		}
		if err := p.Validate(&Config{Models: models}); err != nil {
			t.Fatalf("parsed pipeline fails Validate: %v", err)
		}
		out, err := yaml.Marshal(p)
		if err != nil {
			t.Fatalf("yaml.Marshal() = %v", err)
		}
		q, err := testParser(nil).pipeline(out, pipelineRules{models: models})
		if err != nil {
			t.Fatalf("ParsePipeline(Marshal(p)) = %v\ndocument:\n%s", err, out)
		}
		if !p.Equal(q) {
			t.Fatalf("round trip changed the pipeline:\n%+v\nbecame\n%+v", p, q)
		}
	})
}

// FuzzMarshalStrings puts arbitrary text in every free-text field of a valid config and
// checks that yaml.Marshal and Parse agree on it: the emitter's quoting, the "$" escaping
// and the expander all have to line up.
func FuzzMarshalStrings(f *testing.F) {
	for _, s := range []string{"", "$", "$$", "${X}", "a: b", "- x", "null", "\n", " x ", "\t", "#c", "\x00", "\xff", "\u2028", "'\"", "|\n  x", "<<", "<"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cfg := validConfig()
		cfg.Server.APIToken = s
		cfg.WebRTC.ICEServers[1].Username = "u" + s
		cfg.WebRTC.ICEServers[1].Credential = "c" + s
		cfg.Server.DataDir = "d" + s
		cfg.Models[0].Path = "p" + s
		cfg.Models[0].Classes = []string{s, s + s}
		cfg.Pipelines[1].Source.URI = "/v/" + s
		if cfg.Validate() != nil {
			return
		}
		checkRoundTrip(t, cfg)
	})
}
