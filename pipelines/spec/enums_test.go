package spec

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestEnumYAML(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		into func() (any, func() string) // a fresh target and a way to read it back
		want string                      // the value read, or the error's text
		ok   bool
	}{
		{"source type", "rtsp", func() (any, func() string) { var v SourceType; return &v, func() string { return string(v) } }, "rtsp", true},
		{"source type unknown", "http", func() (any, func() string) { var v SourceType; return &v, func() string { return string(v) } },
			`must be one of rtsp, file, synthetic (got "http")`, false},
		{"source type list", "[rtsp]", func() (any, func() string) { var v SourceType; return &v, func() string { return string(v) } },
			"must be one of rtsp, file, synthetic, not a list", false},
		{"transport", "udp", func() (any, func() string) { var v Transport; return &v, func() string { return string(v) } }, "udp", true},
		{"transport case", "TCP", func() (any, func() string) { var v Transport; return &v, func() string { return string(v) } },
			`must be one of auto, tcp, udp (got "TCP")`, false},
		{"decode", "nvdec", func() (any, func() string) { var v Decode; return &v, func() string { return string(v) } }, "nvdec", true},
		{"format", "yolo-seg", func() (any, func() string) { var v ModelFormat; return &v, func() string { return string(v) } }, "yolo-seg", true},
		{"provider", "tensorrt", func() (any, func() string) { var v Provider; return &v, func() string { return string(v) } }, "tensorrt", true},
		{"output", "webrtc", func() (any, func() string) { var v OutputType; return &v, func() string { return string(v) } }, "webrtc", true},
		{"overlay", "burn", func() (any, func() string) { var v Overlay; return &v, func() string { return string(v) } }, "burn", true},
		{"overlay long value", strings.Repeat("b", 100), func() (any, func() string) { var v Overlay; return &v, func() string { return string(v) } },
			`must be one of data, burn (got "` + strings.Repeat("b", 40) + `"...)`, false},
		{"duration", "1m30s", func() (any, func() string) { var v Duration; return &v, func() string { return v.String() } }, "1m30s", true},
		{"duration zero", "0", func() (any, func() string) { var v Duration; return &v, func() string { return v.String() } }, "0s", true},
		{"duration bare", "30", func() (any, func() string) { var v Duration; return &v, func() string { return v.String() } },
			"needs a unit: write 30ms or 30s, not 30", false},
		{"duration float", "1.5", func() (any, func() string) { var v Duration; return &v, func() string { return v.String() } },
			"needs a unit: write 1.5ms or 1.5s, not 1.5", false},
		{"duration mapping", "{a: 1}", func() (any, func() string) { var v Duration; return &v, func() string { return v.String() } },
			"must be a duration such as 200ms or 30s, not a mapping", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target, read := tt.into()
			err := yaml.Unmarshal([]byte(tt.doc), target)
			if tt.ok {
				if err != nil || read() != tt.want {
					t.Fatalf("Unmarshal(%q) = %q, %v; want %q", tt.doc, read(), err, tt.want)
				}
				// And back: MarshalYAML writes a plain string that reads back the same.
				out, err := yaml.Marshal(target)
				if err != nil || strings.TrimSpace(string(out)) != tt.want {
					t.Errorf("Marshal() = %q, %v; want %q", out, err, tt.want)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Errorf("Unmarshal(%q) error = %v, want %q", tt.doc, err, tt.want)
			}
		})
	}
}

func TestEnumAndDurationJSON(t *testing.T) {
	p := validConfig().Pipelines[2]
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"latency":"200ms"`, `"backoff_max":"30s"`, `"type":"synthetic"`, `"decode":"auto"`, `"overlay":"data"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("json.Marshal(pipeline) = %s, missing %s", b, want)
		}
	}
	var q Pipeline
	if err := json.Unmarshal(b, &q); err != nil {
		t.Fatal(err)
	}
	if !p.Equal(q) {
		t.Errorf("JSON round trip: %+v\nwant %+v", q, p)
	}

	// The API token stays out of JSON: status pages must not show it.
	c := validConfig()
	c.Server.APIToken = "s3cret"
	if b, _ := json.Marshal(c); strings.Contains(string(b), "s3cret") {
		t.Errorf("json.Marshal(config) shows the API token: %s", b)
	}

	tests := []struct {
		name string
		json string
		into any
		ok   bool
	}{
		{"duration", `"1h"`, new(Duration), true},
		{"duration number", `200`, new(Duration), false},
		{"duration no unit", `"200"`, new(Duration), false},
		{"enum", `"tcp"`, new(Transport), true},
		{"enum empty", `""`, new(Transport), true},
		{"enum unknown", `"quic"`, new(Transport), false},
		{"enum number", `1`, new(Decode), false},
		{"source type", `"file"`, new(SourceType), true},
		{"format", `"mask"`, new(ModelFormat), true},
		{"provider", `"gpu"`, new(Provider), false},
		{"output", `"webrtc"`, new(OutputType), true},
		{"overlay", `"burn"`, new(Overlay), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := json.Unmarshal([]byte(tt.json), tt.into)
			if (err == nil) != tt.ok {
				t.Errorf("Unmarshal(%s) = %v, want ok=%v", tt.json, err, tt.ok)
			}
		})
	}
}

func TestDurationD(t *testing.T) {
	if got := Duration(3 * time.Second).D(); got != 3*time.Second {
		t.Errorf("D() = %v", got)
	}
}
