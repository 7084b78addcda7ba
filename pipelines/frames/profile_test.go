package frames

import (
	"os"
	"testing"

	"github.com/pigweight/pigweight/pipelines/graph"
	"github.com/pigweight/pigweight/pipelines/index"
	"github.com/pigweight/pigweight/pipelines/pipelinestest"
)

// The profile in a file's decoder configuration record is named as GStreamer's caps name it:
// it decides whether NVDEC can take the stream.
func TestProfileFromTheDecoderConfiguration(t *testing.T) {
	for _, tc := range []struct {
		name  string
		codec graph.Codec
		args  []string
		want  string
	}{
		{"high.mp4", graph.H264, []string{"-c:v", "libx264"}, "high"},
		{"baseline.mp4", graph.H264, []string{"-c:v", "libx264", "-profile:v", "baseline"}, "constrained-baseline"},
		{"main.mp4", graph.H265, pipelinestest.HEVC, "main"},
	} {
		path := pipelinestest.TestPatternClip(t, tc.name, "160x120", 25, 1, tc.args...)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		ix, err := index.Build(f, st.Size())
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := profileOf(tc.codec, ix.CodecConfig); got != tc.want {
			t.Errorf("%s: profile %q, want %q", tc.name, got, tc.want)
		}
	}
	// Records the clips above do not cover: 10-bit H.264, H.265 Main 10 and 4:4:4 12-bit.
	hvcC := func(profile, chroma, depthMinus8 byte) []byte {
		r := make([]byte, 23)
		r[0], r[1], r[16], r[17], r[18] = 1, profile, 0xfc|chroma, 0xf8|depthMinus8, 0xf8|depthMinus8
		return r
	}
	for _, tc := range []struct {
		codec  graph.Codec
		record []byte
		want   string
	}{
		{graph.H264, []byte{1, 110, 0, 40}, "high-10"},
		{graph.H265, hvcC(2, 1, 2), "main-10"},
		{graph.H265, hvcC(4, 3, 4), "main-444-12"},
		{graph.H265, hvcC(4, 1, 0), ""}, // range extensions at 4:2:0 8-bit: no name
		{graph.H264, nil, ""},
	} {
		if got := profileOf(tc.codec, tc.record); got != tc.want {
			t.Errorf("%s record %x: profile %q, want %q", tc.codec, tc.record, got, tc.want)
		}
	}
}
