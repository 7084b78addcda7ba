package frames_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // image.Decode reads JPEG
	_ "image/png"  // and PNG
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-gst/go-gst/gst"
	"github.com/pigweight/pigweight/pipelines/frames"
	"github.com/pigweight/pigweight/pipelines/index"
	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/pipelines/pipelinestest"
	"go.uber.org/goleak"
)

// clipDir holds the clips every test shares; made once, on first use.
var (
	clipDir   string
	clipNames []string
	clipOnce  sync.Once
	clipErr   error
)

func TestMain(m *testing.M) {
	// The leaks tracer counts GStreamer objects for the teardown tests; it must be named
	// before gst.Init.
	os.Setenv("GST_TRACERS", "leaks")
	gst.Init(nil)
	dir, err := os.MkdirTemp("", "pigweight-frames-")
	if err != nil {
		panic(err)
	}
	clipDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(goleak.IgnoreAnyFunction("github.com/go-gst/go-glib/glib.glibIdleLoop")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// makeClips returns the directory of pipelinestest's tricky clips and their names, writing
// them the first time.
func makeClips(t *testing.T) (dir string, names []string) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (make deps installs it)")
	}
	clipOnce.Do(func() { clipNames, clipErr = pipelinestest.WriteTrickyClips(clipDir) })
	if clipErr != nil {
		t.Fatal(clipErr)
	}
	return clipDir, clipNames
}

// md5Of is what ffmpeg's framemd5 says for the picture if it is right (NVDEC's NV12 counted
// as the I420 it holds).
func md5Of(p media.Picture) string {
	return pipelinestest.RawMD5(p.Format, p.Width, p.Height, slices.Concat(p.Planes...))
}

func buildIndex(t *testing.T, path string) *index.Index {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	ix, err := index.Build(f, st.Size())
	if err != nil {
		t.Fatalf("index %s: %v", path, err)
	}
	return ix
}

// bframesClip is the tricky clip with B-frames most tests here use: its path and index.
func bframesClip(t *testing.T) (string, *index.Index) {
	t.Helper()
	dir, _ := makeClips(t)
	path := filepath.Join(dir, "bframes.mp4")
	return path, buildIndex(t, path)
}

// For every tricky file, random frames (cold, then a few scrubbed forward from each) and the
// first and last are byte for byte what ffmpeg decodes for the same frame number.
func TestRandomFramesMatchFFmpeg(t *testing.T) {
	dir, names := makeClips(t)
	r := frames.NewReader(frames.Config{CacheBytes: 1 << 20}) // small: most requests decode
	defer r.Close()
	rng := rand.New(rand.NewPCG(7, 11))
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			want := pipelinestest.FrameMD5s(t, path)
			ix := buildIndex(t, path)
			if len(ix.Frames) != len(want) {
				t.Fatalf("index has %d frames, ffmpeg decodes %d", len(ix.Frames), len(want))
			}
			asked := []int{0, len(want) - 1}
			for range 6 {
				n := rng.IntN(len(want))
				asked = append(asked, n)
				for k := 1; k <= 2 && n+k < len(want); k++ {
					asked = append(asked, n+k)
				}
			}
			for _, n := range asked {
				pic, err := r.Frame(context.Background(), name, path, ix, n)
				if err != nil {
					t.Fatalf("frame %d: %v", n, err)
				}
				if pic.Frame != n || (pic.Format != "I420" && pic.Format != "NV12") || pic.Width != 160 || pic.Height != 120 {
					t.Fatalf("frame %d: got frame %d, %s %dx%d", n, pic.Frame, pic.Format, pic.Width, pic.Height)
				}
				if got := md5Of(pic); got != want[n] {
					t.Errorf("frame %d (cached %v): md5 %s, ffmpeg %s", n, pic.Cached, got, want[n])
				}
			}
		})
	}
}

// Eight clients asking for one frame at once get it from one decode of its group of pictures.
func TestConcurrentRequestsDecodeOnce(t *testing.T) {
	path, ix := bframesClip(t)
	want := pipelinestest.FrameMD5s(t, path)
	r := frames.NewReader(frames.Config{Prefetch: -1})
	defer r.Close()
	n := 20 // well into the first GOP of 25
	results := make(chan error, 8)
	for range 8 {
		go func() {
			pic, err := r.Frame(context.Background(), "v", path, ix, n)
			if err == nil && md5Of(pic) != want[n] {
				err = fmt.Errorf("wrong picture")
			}
			results <- err
		}()
	}
	for range 8 {
		if err := <-results; err != nil {
			t.Fatal(err)
		}
	}
	f := ix.Frames[n]
	need := uint64(f.Decode - f.Start + 1)
	// Unreferenced B-frames before n are left out; the decoder holds a few pictures back for
	// reordering, so a few samples past n are fed.
	if got := r.Stats().SamplesDecoded; got < need/2 || got > need+8 {
		t.Errorf("%d samples decoded for 8 requests of frame %d, which needs %d", got, n, need)
	}
}

// Without a cache, only the picture asked for is copied out of the decoder: a frame deep in
// its group costs one picture of Go memory, not one per picture decoded on the way.
func TestUncachedFrameCopiesOnePicture(t *testing.T) {
	path, ix := bframesClip(t)
	r := frames.NewReader(frames.Config{CacheBytes: -1, Prefetch: -1})
	defer r.Close()
	ctx := context.Background()
	if _, err := r.Frame(ctx, "v", path, ix, 0); err != nil { // builds the decoder
		t.Fatal(err)
	}
	n := 23 // the first group has 25 frames
	before := r.Stats().SamplesDecoded
	pic, allocated := allocatingFrame(t, r, path, ix, n)
	picture := uint64(pic.Bytes())
	decoded := r.Stats().SamplesDecoded - before
	if got := allocated; got > 3*picture {
		t.Errorf("%d samples decoded for frame %d allocated %d bytes; one picture is %d", decoded, n, got, picture)
	}
	if decoded < 10 {
		t.Errorf("only %d samples decoded for frame %d: the test no longer decodes a group", decoded, n)
	}
}

// allocatingFrame asks r for frame n and returns it with the bytes Go allocated meanwhile.
func allocatingFrame(t *testing.T, r *frames.Reader, path string, ix *index.Index, n int) (media.Picture, uint64) {
	t.Helper()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	pic, err := r.Frame(context.Background(), "v", path, ix, n)
	runtime.ReadMemStats(&m1)
	if err != nil {
		t.Fatal(err)
	}
	return pic, m1.TotalAlloc - m0.TotalAlloc
}

// With a cache, a frame deep in its group takes the ten pictures before it into the cache
// (stepping back is then a hit) and no more: the pictures further back cost no Go memory,
// and asking for one decodes it, right.
func TestCachedFrameKeepsTheFramesJustBeforeIt(t *testing.T) {
	path, ix := bframesClip(t)
	want := pipelinestest.FrameMD5s(t, path)
	r := frames.NewReader(frames.Config{Prefetch: -1})
	defer r.Close()
	ctx := context.Background()
	if _, err := r.Frame(ctx, "v", path, ix, 24); err != nil { // builds the decoder
		t.Fatal(err)
	}
	r.Forget("v")
	const n, kept = 23, 10 // the first group has 25 frames
	pic, allocated := allocatingFrame(t, r, path, ix, n)
	picture := uint64(pic.Bytes())
	if got := allocated; got > (kept+4)*picture {
		t.Errorf("frame %d allocated %d bytes, %.1f pictures; want about %d", n, got, float64(got)/float64(picture), kept+1)
	}
	for back := n - kept; back <= n-1; back++ {
		if p, err := r.Frame(ctx, "v", path, ix, back); err != nil || !p.Cached || md5Of(p) != want[back] {
			t.Errorf("frame %d: err %v, cached %v, right %v; want a cache hit", back, err, p.Cached, md5Of(p) == want[back])
		}
	}
	if p, err := r.Frame(ctx, "v", path, ix, n-kept-1); err != nil || p.Cached || md5Of(p) != want[n-kept-1] {
		t.Errorf("frame %d: err %v, cached %v, right %v; want it decoded again", n-kept-1, err, p.Cached, md5Of(p) == want[n-kept-1])
	}
}

// After a request, the next frames are decoded in the background, and asking for them then
// is a cache hit; a cache too small for a picture keeps none and frames still come right.
func TestPrefetchAndCache(t *testing.T) {
	dir, _ := makeClips(t)
	path := filepath.Join(dir, "cues.mkv")
	ix := buildIndex(t, path)
	want := pipelinestest.FrameMD5s(t, path)
	r := frames.NewReader(frames.Config{Prefetch: 5})
	defer r.Close()
	ctx := context.Background()
	if _, err := r.Frame(ctx, "v", path, ix, 30); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for r.Stats().SamplesDecoded < uint64(ix.Frames[35].Decode-ix.Frames[30].Start+1) {
		if time.Now().After(deadline) {
			t.Fatalf("prefetch did not run: %+v", r.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for n := 31; n <= 35; n++ {
		pic, err := r.Frame(ctx, "v", path, ix, n)
		if err != nil {
			t.Fatal(err)
		}
		if !pic.Cached || md5Of(pic) != want[n] {
			t.Errorf("frame %d: cached %v, md5 right %v", n, pic.Cached, md5Of(pic) == want[n])
		}
	}
	if _, err := r.Frame(ctx, "v", path, ix, len(ix.Frames)); !errors.Is(err, frames.ErrFrameRange) {
		t.Errorf("frame past the end: %v, want ErrFrameRange", err)
	}

	r.Forget("v")
	if st := r.Stats(); st.Cache.Pictures != 0 || st.Decoders != 0 {
		t.Errorf("after Forget: %+v", st)
	}

	tiny := frames.NewReader(frames.Config{CacheBytes: 100, Prefetch: -1})
	defer tiny.Close()
	for _, n := range []int{5, 5, 6} {
		pic, err := tiny.Frame(ctx, "v", path, ix, n)
		if err != nil || pic.Cached || md5Of(pic) != want[n] {
			t.Fatalf("tiny cache, frame %d: err %v, cached %v", n, err, pic.Cached)
		}
	}
}

// The cache evicts least recently used pictures to stay within its budget.
func TestFrameCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := frames.NewFrameCache(300)
	pic := func(n int) media.Picture { return media.Picture{Frame: n, Planes: [][]byte{make([]byte, 100)}} }
	c.Put("a", pic(1))
	c.Put("a", pic(2))
	c.Put("b", pic(1))
	c.Get("a", 1) // now a/2 is the least recently used
	c.Put("a", pic(3))
	if _, ok := c.Get("a", 2); ok {
		t.Error("a/2 still cached")
	}
	for _, k := range []struct {
		v string
		n int
	}{{"a", 1}, {"b", 1}, {"a", 3}} {
		if _, ok := c.Get(k.v, k.n); !ok {
			t.Errorf("%s/%d evicted", k.v, k.n)
		}
	}
	if st := c.Stats(); st.Bytes != 300 || st.Evictions != 1 {
		t.Errorf("stats %+v", st)
	}
	c.Forget("a")
	if st := c.Stats(); st.Pictures != 1 || st.Bytes != 100 {
		t.Errorf("after Forget: %+v", st)
	}
}

// bframesFrames opens the B-frame clip for the encoder tests: a reader (closed at the end of
// the test) and its decoded frame n.
func bframesFrames(t *testing.T) (*frames.Reader, func(n int) media.Picture) {
	t.Helper()
	path, ix := bframesClip(t)
	r := frames.NewReader(frames.Config{Prefetch: -1})
	t.Cleanup(r.Close)
	return r, func(n int) media.Picture {
		t.Helper()
		pic, err := r.Frame(context.Background(), "v", path, ix, n)
		if err != nil {
			t.Fatal(err)
		}
		return pic
	}
}

// Encode compresses decoded pictures, odd sizes included, into JPEG and PNG files Go's
// decoders read back as the same picture (within JPEG's loss and the colour conversion), and
// refuses formats it does not handle.
func TestEncode(t *testing.T) {
	r, frame := bframesFrames(t)
	decoded := frame(10)
	// An odd size: chroma rows and columns round up, and GStreamer's rows are padded to four
	// bytes where the packed planes are not.
	const w, h = 161, 121
	cw, ch := (w+1)/2, (h+1)/2
	odd := media.Picture{Width: w, Height: h, Format: "I420", Planes: [][]byte{make([]byte, w*h), make([]byte, cw*ch), make([]byte, cw*ch)}}
	for y := range h {
		for x := range w {
			odd.Planes[0][y*w+x] = byte(16 + (x+2*y)%200)
		}
	}
	for i := range odd.Planes[1] {
		odd.Planes[1][i], odd.Planes[2][i] = 128, 128 // grey: RGB's channels all follow luma
	}
	// The same at 10 bits a sample (little-endian), as HDR cameras and phones record.
	deep := media.Picture{Width: w, Height: h, Format: "I420_10LE", Planes: [][]byte{make([]byte, 2*w*h), make([]byte, 2*cw*ch), make([]byte, 2*cw*ch)}}
	for i, v := range odd.Planes[0] {
		binary.LittleEndian.PutUint16(deep.Planes[0][2*i:], uint16(v)<<2|uint16(i%4))
	}
	for i := range cw * ch {
		binary.LittleEndian.PutUint16(deep.Planes[1][2*i:], 512)
		binary.LittleEndian.PutUint16(deep.Planes[2][2*i:], 512)
	}
	for _, c := range []struct {
		pic       media.Picture
		checkLuma bool // a real frame's colours are checked by size and readability only
	}{{decoded, false}, {odd, true}, {deep, true}, {decoded, false}} {
		pic := c.pic
		for _, format := range []string{frames.FormatJPEG, frames.FormatPNG} {
			data, err := r.Encode(pic, format, 95)
			if err != nil {
				t.Fatalf("%s %dx%d: %v", format, pic.Width, pic.Height, err)
			}
			img, _, err := image.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("%s %dx%d: Go cannot read the file: %v", format, pic.Width, pic.Height, err)
			}
			if img.Bounds().Dx() != pic.Width || img.Bounds().Dy() != pic.Height {
				t.Fatalf("%s %dx%d: decoded %v", format, pic.Width, pic.Height, img.Bounds())
			}
			if !c.checkLuma {
				continue
			}
			// PNG is RGB from limited-range video: luma 16-235 spread to 0-255.
			diff := 0.0
			for y := range h {
				for x := range w {
					got, _, _, _ := img.At(x, y).RGBA()
					want := float64(odd.Planes[0][y*w+x]) // deep's luma is odd's, four times finer
					if format == frames.FormatPNG {
						want = min(255, max(0, (want-16)*255/219))
					}
					diff += math.Abs(float64(got>>8) - want)
				}
			}
			if mean := diff / float64(w*h); mean > 3 {
				t.Errorf("%s %dx%d: luma differs by %.1f on average", format, w, h, mean)
			}
		}
	}
	if _, err := r.Encode(media.Picture{Width: 2, Height: 2, Format: "RGB", Planes: [][]byte{make([]byte, 12)}}, frames.FormatJPEG, 90); !errors.Is(err, frames.ErrEncodeFormat) {
		t.Errorf("RGB picture: %v, want ErrEncodeFormat", err)
	}
	if _, err := r.Encode(decoded, "gif", 90); !errors.Is(err, frames.ErrEncodeFormat) {
		t.Errorf("gif: %v, want ErrEncodeFormat", err)
	}
}

// Encodes from many goroutines at once, different pictures, formats and qualities mixed, give
// exactly the files the same encodes give one at a time: encoders working side by side share
// no state, an encoder reused for another picture size starts afresh, and nothing outside the
// picture (padding, memory past its end) finds its way into the file.
func TestEncodeConcurrently(t *testing.T) {
	r, frame := bframesFrames(t)
	type job struct {
		pic     media.Picture
		format  string
		quality int
	}
	var jobs []job
	for i, n := range []int{0, 7, 13, 29} {
		pic := frame(n)
		// Widths off the 16-pixel blocks: libjpeg reads past each row, and the file must not
		// depend on what lies there.
		w := 59 + 3*i
		cw := (w + 1) / 2
		pic, err := media.Planar(pic) // NVDEC's NV12 as I420
		if err != nil {
			t.Fatal(err)
		}
		small := media.Picture{Width: w, Height: 47, Format: "I420", Planes: [][]byte{pic.Planes[0][:w*47], pic.Planes[1][:cw*24], pic.Planes[2][:cw*24]}}
		// And both as NVDEC hands pictures out, which must make the same files, and at 10
		// bits, which libjpeg takes converted.
		for _, p := range []media.Picture{pic, small, interleaved(pic), interleaved(small), deepened(pic), deepened(small)} {
			jobs = append(jobs, job{p, frames.FormatJPEG, 60 + 10*i}, job{p, frames.FormatPNG, 0})
		}
	}
	want := make([][]byte, len(jobs))
	for i, j := range jobs {
		data, err := r.Encode(j.pic, j.format, j.quality)
		if err != nil {
			t.Fatalf("job %d: %v", i, err)
		}
		want[i] = data
		if j.pic.Format == "NV12" && !bytes.Equal(data, want[i-4]) {
			t.Errorf("%s %dx%d: the NV12 picture makes another file than the same picture in I420", j.format, j.pic.Width, j.pic.Height)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*len(jobs))
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range len(jobs) {
				i := (k + g*5) % len(jobs) // each goroutine in another order
				j := jobs[i]
				data, err := r.Encode(j.pic, j.format, j.quality)
				if err == nil && !bytes.Equal(data, want[i]) {
					err = fmt.Errorf("%s %dx%d quality %d: %d bytes differ from the same encode alone (%d bytes)", j.format, j.pic.Width, j.pic.Height, j.quality, len(data), len(want[i]))
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// interleaved is p (I420) as NV12: U and V samples alternating in one plane.
func interleaved(p media.Picture) media.Picture {
	uv := make([]byte, 0, 2*len(p.Planes[1]))
	for i := range p.Planes[1] {
		uv = append(uv, p.Planes[1][i], p.Planes[2][i])
	}
	p.Format, p.Planes = "NV12", [][]byte{p.Planes[0], uv}
	return p
}

// deepened is p (I420) at 10 bits a sample, the two new low bits varying.
func deepened(p media.Picture) media.Picture {
	planes := make([][]byte, len(p.Planes))
	for i, plane := range p.Planes {
		planes[i] = make([]byte, 2*len(plane))
		for j, v := range plane {
			binary.LittleEndian.PutUint16(planes[i][2*j:], uint16(v)<<2|uint16(j%4))
		}
	}
	p.Format, p.Planes = "I420_10LE", planes
	return p
}

// Past Config.WarmDecoders, opening another video closes the least recently used one first
// (a cache hit counts as a use); a video closed that way answers right when asked again, from
// a new decoder; and however many clients scrub however many videos at once, no more
// decoders than the cap are ever warm.
func TestWarmDecodersCapped(t *testing.T) {
	path, ix := bframesClip(t)
	want := pipelinestest.FrameMD5s(t, path)
	const warm = 2
	ctx := context.Background()
	// No cache: every request reaches a decoder, and what it costs says whether that
	// decoder was warm.
	r := frames.NewReader(frames.Config{WarmDecoders: warm, CacheBytes: -1, Prefetch: -1})
	defer r.Close()
	frame := func(r *frames.Reader, id string, n int) (cost uint64) {
		t.Helper()
		before := r.Stats().SamplesDecoded
		pic, err := r.Frame(ctx, id, path, ix, n)
		if err != nil {
			t.Fatalf("%s frame %d: %v", id, n, err)
		}
		if md5Of(pic) != want[n] {
			t.Errorf("%s frame %d: wrong picture", id, n)
		}
		if st := r.Stats(); st.Decoders > warm || st.MaxDecoders != warm {
			t.Fatalf("after %s frame %d: %d decoders warm, cap %d; want at most %d", id, n, st.Decoders, st.MaxDecoders, warm)
		}
		return r.Stats().SamplesDecoded - before
	}
	wantWarm := func(r *frames.Reader, ids ...string) {
		t.Helper()
		if got := r.WarmVideos(); !slices.Equal(got, ids) {
			t.Errorf("warm videos %q, want %q", got, ids)
		}
	}

	frame(r, "a", 18)
	frame(r, "b", 18)
	frame(r, "a", 19) // a is now the most recent, b the least
	wantWarm(r, "a", "b")
	frame(r, "c", 18)
	wantWarm(r, "a", "c")
	if st := r.Stats(); st.DecodersClosed != 1 {
		t.Errorf("%d decoders closed, want 1 (b)", st.DecodersClosed)
	}
	// a's decoder was left warm: its next frame continues where it stood. b's was closed:
	// its frame 19, deep in the first group of 25, is decoded from the keyframe again.
	if cost := frame(r, "a", 20); cost > 6 {
		t.Errorf("a frame 20 cost %d samples: a's decoder was not kept warm", cost)
	}
	if cost := frame(r, "b", 19); cost < 10 {
		t.Errorf("b frame 19 cost only %d samples: b's decoder was not closed", cost)
	}
	wantWarm(r, "a", "b") // c was the least recently used

	// A cache hit is a use: the video being looked at keeps its decoder.
	cached := frames.NewReader(frames.Config{WarmDecoders: warm, Prefetch: -1})
	defer cached.Close()
	frame(cached, "a", 18)
	frame(cached, "b", 18)
	if pic, err := cached.Frame(ctx, "a", path, ix, 18); err != nil || !pic.Cached {
		t.Fatalf("a frame 18 again: err %v, cached %v; want a hit", err, pic.Cached)
	}
	frame(cached, "c", 18)
	wantWarm(cached, "a", "c")

	// Many clients on more videos than the cap at once, so that opens wait for decoders
	// busy with a request: never more than the cap warm, every answer right.
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	stop := make(chan struct{})
	most := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				most <- n
				return
			default:
			}
			n = max(n, r.Stats().Decoders)
			runtime.Gosched()
		}
	}()
	for c := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 3))
			for range 8 {
				id, n := fmt.Sprintf("v%d", rng.IntN(5)), rng.IntN(len(want))
				pic, err := r.Frame(ctx, id, path, ix, n)
				if err == nil && md5Of(pic) != want[n] {
					err = fmt.Errorf("%s frame %d: wrong picture", id, n)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := <-most; n > warm {
		t.Errorf("%d decoders warm at once, cap %d", n, warm)
	}
	if st := r.Stats(); st.Decoders > warm {
		t.Errorf("%d decoders warm at the end, cap %d", st.Decoders, warm)
	}
}
