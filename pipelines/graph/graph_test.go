package graph

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-gst/go-gst/gst"
	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/pipelines/pipelinestest"
	"github.com/pigweight/pigweight/pipelines/spec"
)

func TestMain(m *testing.M) {
	// The leaks tracer counts GStreamer objects for the teardown tests; it must be named
	// before gst.Init.
	os.Setenv("GST_TRACERS", "leaks")
	gst.Init(nil)
	os.Exit(m.Run())
}

// pipelineSpec returns a spec with the defaults a parsed config would have.
func withSource(typ spec.SourceType, uri string) spec.Pipeline {
	p := spec.DefaultPipeline()
	p.Name = "hostile"
	p.Source.Type, p.Source.URI = typ, uri
	return p
}

func pipelineSpec(t *testing.T, yaml string) spec.Pipeline {
	t.Helper()
	p, err := spec.ParsePipeline("test", []byte(yaml), &spec.Config{})
	if err != nil {
		t.Fatalf("spec: %v", err)
	}
	return p
}

// startRun starts p and counts its frames; the run is closed at the end of the test.
func startRun(t *testing.T, p spec.Pipeline) (*Run, *atomic.Int64) {
	t.Helper()
	var frames atomic.Int64
	r, err := (&Runtime{}).Start(p, media.Hooks{OnFrame: func(detect.Frame) { frames.Add(1) }})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(r.Close)
	return r, &frames
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSyntheticSourceDecodesFramesWithGroundTruth(t *testing.T) {
	p := pipelineSpec(t, `{name: pen, source: {type: synthetic, synthetic: {width: 320, height: 240, fps: 30, pigs: 5, seed: 7}}, decode: software}`)
	r, frames := startRun(t, p)
	waitFor(t, "30 decoded frames", func() bool { return frames.Load() >= 30 })
	if got := r.Decoder(); got != "avdec_h264" {
		t.Errorf("decoder = %q, want avdec_h264", got)
	}
	truth, ok := r.GroundTruth(10 * time.Second / 30)
	if !ok || truth.Frame != 10 || len(truth.Pigs) != 5 {
		t.Errorf("ground truth for frame 10 = %+v, %v; want frame 10 with 5 pigs", truth, ok)
	}
}

// encode: always encodes an H.264 camera for viewers too (its bitrate then follows them);
// auto passes it through.
func TestEncodeAlways(t *testing.T) {
	for _, tc := range []struct {
		encode  string
		encoder bool
	}{{"auto", false}, {"always", true}} {
		var aus atomic.Int64
		p := pipelineSpec(t, `{name: pen, source: {type: synthetic, synthetic: {width: 320, height: 240, fps: 30}}, outputs: [{type: webrtc, encode: `+tc.encode+`}]}`)
		r, err := (&Runtime{}).Start(p, media.Hooks{OnAccessUnit: func(media.AccessUnit) { aus.Add(1) }})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "access units", func() bool { return aus.Load() >= 5 })
		if _, ok := r.SetBitrate(1000); ok != tc.encoder {
			t.Errorf("encode: %s: the run has an encoder %v, want %v", tc.encode, ok, tc.encoder)
		}
		r.Close()
	}
}

// A file plays to its end at its own pace, as a camera would: 30 frames at 30 fps take a second.
func TestFileSourcePlaysToEOS(t *testing.T) {
	clip := filepath.Join(t.TempDir(), "clip.mp4")
	pipelinestest.WriteClip(t, clip, 30)
	start := time.Now()
	r, frames := startRun(t, pipelineSpec(t, `{name: f, source: {type: file, uri: "`+clip+`"}}`))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := r.Wait(ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("Wait = %v, want io.EOF", err)
	}
	if played := time.Since(start); played < 900*time.Millisecond {
		t.Errorf("30 frames at 30 fps played in %v", played)
	}
	if got := frames.Load(); got != 30 {
		t.Errorf("frames = %d, want 30", got)
	}
	// The clip is High 4:4:4 at 10 bits (x264enc takes videotestsrc's deep format), which
	// NVDEC does not decode: software, on machines with NVDEC too.
	if got := r.Decoder(); got != "avdec_h264" {
		t.Errorf("decoder = %q, want avdec_h264", got)
	}
}

// Under decode: auto a file goes to NVDEC where the machine has it and it can decode the
// stream; a stream it cannot take (H.265 under 144 pixels high) is decoded in software
// instead of failing at its first picture.
func TestFileSourceDecoderFitsTheStream(t *testing.T) {
	for _, tc := range []struct {
		name, size string
		codec      []string
		want       string
	}{
		{"h264.mp4", "320x240", []string{"-c:v", "libx264"}, map[bool]string{true: "nvh264dec", false: "avdec_h264"}[NVDEC()]},
		{"small-hevc.mp4", "160x120", pipelinestest.HEVC, "avdec_h265"},
	} {
		clip := pipelinestest.TestPatternClip(t, tc.name, tc.size, 25, 1, tc.codec...)
		r, frames := startRun(t, pipelineSpec(t, `{name: f, source: {type: file, uri: "`+clip+`"}}`))
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err := r.Wait(ctx)
		cancel()
		if !errors.Is(err, io.EOF) {
			t.Fatalf("%s: Wait = %v, want io.EOF", tc.name, err)
		}
		if got := frames.Load(); got != 25 || r.Decoder() != tc.want {
			t.Errorf("%s: %d frames with %s, want 25 with %s", tc.name, got, r.Decoder(), tc.want)
		}
	}
}

// Hostile strings are property values, never launch syntax: they cannot add, remove or
// reconfigure elements.
func TestHostileStringsDoNotChangeTheGraph(t *testing.T) {
	dir := t.TempDir()
	hostile := filepath.Join(dir, `pen ! fakesink name="x" ; 'quoted' ! identity.mp4`)
	pipelinestest.WriteClip(t, hostile, 5)
	cases := []struct {
		name     string
		spec     spec.Pipeline
		elements []string
		owner    string // the element whose property carries the string
		prop     string
		want     string
	}{
		{
			name:     "file path with launch syntax plays",
			spec:     withSource(spec.SourceFile, hostile),
			elements: []string{"appsink", "filesrc", "parsebin"},
			owner:    "filesrc",
			prop:     "location", want: hostile,
		},
		{
			name:     "rtsp uri with launch syntax",
			spec:     withSource(spec.SourceRTSP, `rtsp://127.0.0.1:1/x ! fakesink name="y" ! identity`),
			elements: []string{"appsink", "rtspsrc"},
			owner:    "rtspsrc",
			prop:     "location", want: `rtsp://127.0.0.1:1/x ! fakesink name="y" ! identity`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &Run{spec: tc.spec, failed: make(chan error, 1)}
			pl, err := gst.NewPipeline("")
			if err != nil {
				t.Fatal(err)
			}
			r.pipeline = pl
			if err := r.build(); err != nil {
				t.Fatalf("build: %v", err)
			}
			elems, err := pl.GetElements()
			if err != nil {
				t.Fatal(err)
			}
			var factories []string
			for _, e := range elems {
				factories = append(factories, e.GetFactory().GetName())
				if e.GetFactory().GetName() == tc.owner {
					got, err := e.GetProperty(tc.prop)
					if err != nil || got != tc.want {
						t.Errorf("%s = %q (%v), want %q", tc.prop, got, err, tc.want)
					}
				}
			}
			slices.Sort(factories)
			if !slices.Equal(factories, tc.elements) {
				t.Errorf("elements = %v, want %v", factories, tc.elements)
			}
		})
	}
	// And the hostile file really plays: the path reached filesrc intact.
	r, frames := startRun(t, withSource(spec.SourceFile, hostile))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := r.Wait(ctx); !errors.Is(err, io.EOF) || frames.Load() != 5 {
		t.Fatalf("Wait = %v after %d frames, want io.EOF after 5", err, frames.Load())
	}
}

func TestMissingFileIsAnError(t *testing.T) {
	_, err := (&Runtime{}).Start(pipelineSpec(t, `{name: m, source: {type: file, uri: /nonexistent/clip.mp4}}`), media.Hooks{})
	if err == nil || !containsAny(err.Error(), "no such file", "not found") {
		t.Fatalf("err = %v, want a not-found error", err)
	}
}

func containsAny(s string, subs ...string) bool {
	return slices.ContainsFunc(subs, func(sub string) bool { return strings.Contains(s, sub) })
}

func TestChooseDecoder(t *testing.T) {
	nvdec := NVDEC()
	cases := []struct {
		policy    spec.Decode
		codec     Codec
		want      string
		permanent bool
	}{
		{spec.DecodeSoftware, H264, "avdec_h264", false},
		{spec.DecodeSoftware, H265, "avdec_h265", false},
		{spec.DecodeAuto, H264, map[bool]string{true: "nvh264dec", false: "avdec_h264"}[nvdec], false},
		{spec.DecodeNVDEC, H264, map[bool]string{true: "nvh264dec", false: ""}[nvdec], !nvdec},
		{spec.DecodeAuto, Codec("vp9"), "", true},
	}
	for _, tc := range cases {
		t.Run(string(tc.policy)+"/"+string(tc.codec), func(t *testing.T) {
			got, err := ChooseDecoder(tc.policy, tc.codec)
			var perm *PermanentError
			if tc.permanent != errors.As(err, &perm) || got != tc.want {
				t.Fatalf("ChooseDecoder = %q, %v; want %q, permanent %v", got, err, tc.want, tc.permanent)
			}
		})
	}
}

// NVDEC takes only the streams its sink template does: auto leaves the others to software,
// nvdec refuses them (permanently) instead of failing at the first picture.
func TestChooseDecoderForAStream(t *testing.T) {
	nvdec := NVDEC()
	hw := func(name string) string { return map[bool]string{true: name, false: ""}[nvdec] }
	cases := []struct {
		policy    spec.Decode
		codec     Codec
		caps      string
		want      string
		permanent bool
	}{
		{spec.DecodeAuto, H264, "profile=high,width=1920,height=1080", map[bool]string{true: "nvh264dec", false: "avdec_h264"}[nvdec], false},
		{spec.DecodeNVDEC, H264, "profile=high,width=1920,height=1080", hw("nvh264dec"), !nvdec},
		// NVDEC decodes no 10-bit H.264, and no H.265 under 144 pixels on a side.
		{spec.DecodeAuto, H264, "profile=high-10,width=1920,height=1080", "avdec_h264", false},
		{spec.DecodeNVDEC, H264, "profile=high-10,width=1920,height=1080", "", true},
		{spec.DecodeAuto, H265, "profile=main,width=160,height=120", "avdec_h265", false},
		{spec.DecodeNVDEC, H265, "profile=main,width=160,height=120", "", true},
		{spec.DecodeSoftware, H265, "profile=main,width=1920,height=1080", "avdec_h265", false},
	}
	for _, tc := range cases {
		t.Run(string(tc.policy)+"/"+string(tc.codec)+"/"+tc.caps, func(t *testing.T) {
			caps := gst.NewCapsFromString("video/x-" + string(tc.codec) + ",stream-format=byte-stream,alignment=au," + tc.caps)
			got, err := ChooseDecoderFor(tc.policy, tc.codec, caps)
			var perm *PermanentError
			if tc.permanent != errors.As(err, &perm) || got != tc.want {
				t.Fatalf("ChooseDecoderFor = %q, %v; want %q, permanent %v", got, err, tc.want, tc.permanent)
			}
		})
	}
}

// A demuxed file stream's caps offer the decoder its profile and size, typed as the decoders'
// templates type them (an int64 width would intersect with nothing and leave NVDEC unused);
// RTP caps offer the profile the camera's SDP gives, if it gives one.
func TestOfferedCapsKeepProfileAndSize(t *testing.T) {
	demuxed := gst.NewCapsFromString("video/x-h264, stream-format=(string)avc, alignment=(string)au, level=(string)4, profile=(string)high, codec_data=(buffer)01640028ffe1, width=(int)1920, height=(int)1080, framerate=(fraction)30/1")
	want := "video/x-h264, stream-format=(string)byte-stream, alignment=(string)au, profile=(string)high, width=(int)1920, height=(int)1080"
	if got := offeredCaps(H264, demuxed); got == nil || got.String() != want {
		t.Errorf("offered %v, want %s", got, want)
	}
	for _, tc := range []struct {
		codec Codec
		rtp   string
		want  string // "" for nil
	}{
		{H264, "encoding-name=(string)H264", ""},
		{H264, "encoding-name=(string)H264, profile-level-id=(string)640028", "video/x-h264, stream-format=(string)byte-stream, alignment=(string)au, profile=(string)high"},
		{H264, "encoding-name=(string)H264, profile-level-id=(string)42e01f", "video/x-h264, stream-format=(string)byte-stream, alignment=(string)au, profile=(string)constrained-baseline"},
		{H264, "encoding-name=(string)H264, profile-level-id=(string)6e0032", "video/x-h264, stream-format=(string)byte-stream, alignment=(string)au, profile=(string)high-10"},
		{H264, "encoding-name=(string)H264, profile-level-id=(string)nonsense", ""},
		{H265, "encoding-name=(string)H265, profile-id=(string)1", "video/x-h265, stream-format=(string)byte-stream, alignment=(string)au, profile=(string)main"},
		{H265, "encoding-name=(string)H265, profile-id=(string)4", ""}, // range extensions: which one is not said
	} {
		got := offeredCaps(tc.codec, gst.NewCapsFromString("application/x-rtp, media=(string)video, "+tc.rtp))
		if (got == nil) != (tc.want == "") || got != nil && got.String() != tc.want {
			t.Errorf("RTP caps %s offered %v, want %q", tc.rtp, got, tc.want)
		}
	}
	if !gst.NewCapsFromString(want).CanIntersect(gst.NewCapsFromString("video/x-h264, stream-format=(string)byte-stream, width=(int)[ 48, 4096 ]")) {
		t.Error("offered caps do not intersect a template's ranges")
	}
}

// The encoded access units come out before decoding, in Annex B, with running-time PTS and
// a keyframe once a second (the synthetic source's GOP), parameter sets before each keyframe.
func TestAccessUnitsAreTapped(t *testing.T) {
	p := pipelineSpec(t, `{name: pen, source: {type: synthetic, synthetic: {width: 160, height: 120, fps: 30, pigs: 4}}}`)
	aus := make(chan media.AccessUnit, 100)
	r, err := (&Runtime{}).Start(p, media.Hooks{OnAccessUnit: func(au media.AccessUnit) {
		select {
		case aus <- au:
		default:
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var keyframes int
	var last time.Duration = -1
	for i := range 61 {
		select {
		case au := <-aus:
			if au.Codec != "h264" || !bytes.HasPrefix(au.Data, []byte{0, 0, 0, 1}) && !bytes.HasPrefix(au.Data, []byte{0, 0, 1}) {
				t.Fatalf("access unit %d: codec %q, data % x...", i, au.Codec, au.Data[:min(8, len(au.Data))])
			}
			if au.PTS <= last {
				t.Errorf("access unit %d: PTS %v after %v", i, au.PTS, last)
			}
			last = au.PTS
			if au.Keyframe {
				keyframes++
				// SPS (type 7) precedes the picture of every keyframe.
				if !bytes.Contains(au.Data, []byte{0, 0, 1, 0x67}) {
					t.Errorf("keyframe %d without SPS", i)
				}
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d access units", i)
		}
	}
	if keyframes < 2 || keyframes > 4 {
		t.Errorf("%d keyframes in 61 access units at a 1 s GOP, want 2–3", keyframes)
	}
}

// An H.265 camera has nothing a browser can take as it is: with a webrtc output its decoded
// frames are encoded once to H.264, and only that encoding reaches the viewers' hook. Without
// the output, the camera's own H.265 access units are tapped as usual.
func TestH265IsEncodedOnceForViewers(t *testing.T) {
	clip := pipelinestest.TestPatternClip(t, "hevc.mp4", "320x240", 30, 3, pipelinestest.HEVC...)
	for _, tc := range []struct {
		outputs string
		want    string
	}{{"[{type: webrtc}]", "h264"}, {"[]", "h265"}} {
		p := pipelineSpec(t, `{name: cam, source: {type: file, uri: "`+clip+`", loop: true}, outputs: `+tc.outputs+`}`)
		var mu sync.Mutex
		codecs := map[string]int{}
		keyframes := 0
		var keyAt []int // access unit numbers of the H.264 keyframes
		r, err := (&Runtime{}).Start(p, media.Hooks{OnAccessUnit: func(au media.AccessUnit) {
			mu.Lock()
			defer mu.Unlock()
			codecs[au.Codec]++
			if au.Keyframe && au.Codec == "h264" && bytes.Contains(au.Data, []byte{0, 0, 1, 0x67}) {
				keyframes++ // an IDR with its SPS in front: a viewer can start here
				keyAt = append(keyAt, codecs["h264"])
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "30 access units", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return codecs[tc.want] >= 30
		})
		// The encoder's bitrate follows what it is asked within the output's bounds (300–2500
		// kbit/s by default); a passthrough stream has none to set.
		now, ok := r.SetBitrate(100)
		if tc.want == "h264" {
			// Right after a keyframe of its own 30-frame GOP, the encoder is asked for another:
			// it comes within a few frames, not 30.
			waitFor(t, "a keyframe", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(keyAt) > 0 && codecs["h264"]-keyAt[len(keyAt)-1] <= 2
			})
			if !r.RequestKeyframe() {
				t.Error("RequestKeyframe on an encoding run = false")
			}
			mu.Lock()
			asked, before := codecs["h264"], len(keyAt)
			mu.Unlock()
			waitFor(t, "the forced keyframe", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(keyAt) > before
			})
			mu.Lock()
			if gap := keyAt[before] - asked; gap > 10 {
				t.Errorf("keyframe %d access units after the request; want a forced one within 10 (the GOP is 30)", gap)
			}
			mu.Unlock()
			got, _ := r.encoder.GetProperty("bitrate")
			if !ok || now != 300 || got != uint(300) {
				t.Errorf("SetBitrate(100) = %d, %v; encoder bitrate %v; want 300 (the minimum)", now, ok, got)
			}
		} else if ok || r.RequestKeyframe() {
			t.Errorf("a passthrough stream has an encoder: SetBitrate = %d, %v", now, ok)
		}
		r.Close()
		mu.Lock()
		if len(codecs) != 1 || (tc.want == "h264" && keyframes == 0) {
			t.Errorf("outputs %s: access units by codec %v, %d H.264 keyframes with SPS; want only %s", tc.outputs, codecs, keyframes, tc.want)
		}
		mu.Unlock()
	}
}

// A webrtc output that may encode (any camera; the pen only when burning boxes in) needs the
// encoder branch's elements, each listed once.
func TestRequiredElementsOfAnEncodingOutput(t *testing.T) {
	cam := pipelineSpec(t, `{name: cam, source: {type: rtsp, uri: "rtsp://cam/1"}, outputs: [{type: webrtc}]}`)
	need := RequiredElements(cam)
	for _, f := range []string{"tee", "x264enc", "rtph265depay", "avdec_h265"} {
		if !slices.Contains(need, f) {
			t.Errorf("%s missing from %v", f, need)
		}
	}
	seen := map[string]bool{}
	for _, f := range need {
		if seen[f] {
			t.Errorf("%s listed twice in %v", f, need)
		}
		seen[f] = true
	}
	pen := pipelineSpec(t, `{name: pen, source: {type: synthetic}, outputs: [{type: webrtc}]}`)
	if slices.Contains(RequiredElements(pen), "tee") {
		t.Errorf("the pen passes its H.264 through, yet needs a tee: %v", RequiredElements(pen))
	}
}

// A pipeline whose wrapper is last used by SetNull must not be disposed before it reaches
// NULL, however often the collector runs meanwhile. Without the keep-alive this crashed within
// a few dozen rounds (SIGSEGV in gst_element_set_state; CI saw it in simcam under load).
func TestSetNullKeepsThePipelineUntilItIsStopped(t *testing.T) {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	}()
	defer func() { close(stop); <-done }()
	for range 200 {
		playAndSetNull(t)
	}
}

// playAndSetNull plays a small encoding pipeline and stops it; SetNull is the wrapper's last use.
func playAndSetNull(t *testing.T) {
	p, err := gst.NewPipelineFromString("videotestsrc is-live=true ! video/x-raw,width=160,height=120 ! " +
		"x264enc tune=zerolatency ! queue ! fakesink")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetState(gst.StatePlaying); err != nil {
		t.Fatal(err)
	}
	p.GetState(gst.StatePlaying, gst.ClockTime(2*time.Second))
	if err := SetNull(p); err != nil {
		t.Fatal(err)
	}
}
