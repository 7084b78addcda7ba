package frames

import (
	"os"
	"slices"
	"testing"

	"github.com/pigweight/pigweight/pipelines/index"
	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/pipelines/pipelinestest"
	"github.com/pigweight/pigweight/pipelines/spec"
)

// With a cache, decoding a frame hands back that frame alone: the ten pictures before it
// are held as the decoder's own buffers, not copied out, so keeping them costs the answer
// nothing. Packed later (nearest the frame first) or taken by a request, they are the right
// pictures; a restart elsewhere lets them go.
func TestDecodeHoldsThePicturesBeforeTheFrame(t *testing.T) {
	path := pipelinestest.TestPatternClip(t, "bframes.mp4", "160x120", 25, 2, "-c:v", "libx264", "-bf", "2", "-g", "25")
	want := pipelinestest.FrameMD5s(t, path)
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
		t.Fatal(err)
	}
	d, err := newDecoder(ix, f, spec.DecodeAuto, true)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		d.dropHeld()
		d.close()
	}()
	right := func(p media.Picture) bool {
		return pipelinestest.RawMD5(p.Format, p.Width, p.Height, slices.Concat(p.Planes...)) == want[p.Frame]
	}
	heldFrames := func() []int {
		var out []int
		for _, h := range d.held {
			out = append(out, h.frame)
		}
		return out
	}
	span := func(from, to int) []int {
		var out []int
		for n := from; n <= to; n++ {
			out = append(out, n)
		}
		return out
	}

	const n = 23 // the first group has 25 frames
	pics, err := d.decodeTo(n)
	if err != nil {
		t.Fatal(err)
	}
	if len(pics) != 1 || pics[0].Frame != n || !right(pics[0]) {
		t.Fatalf("decodeTo(%d) packed %d pictures (first %d, right %v); want frame %d alone", n, len(pics), pics[0].Frame, right(pics[0]), n)
	}
	if got := heldFrames(); !slices.Equal(got, span(n-keptBefore, n-1)) {
		t.Fatalf("held %v, want %v", got, span(n-keptBefore, n-1))
	}

	if pic, ok, err := d.takeHeld(17); !ok || err != nil || pic.Frame != 17 || !right(pic) {
		t.Errorf("takeHeld(17): ok %v, err %v, frame %d, right %v", ok, err, pic.Frame, right(pic))
	}
	if _, ok, _ := d.takeHeld(n); ok {
		t.Errorf("takeHeld(%d) found the frame already answered", n)
	}
	var packed []int
	for d.holding() {
		pic, ok, err := d.packHeld(func(frame int) bool { return frame == 15 })
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			if !right(pic) {
				t.Errorf("held frame %d packed wrong", pic.Frame)
			}
			packed = append(packed, pic.Frame)
		}
	}
	if want := []int{22, 21, 20, 19, 18, 16, 14, 13}; !slices.Equal(packed, want) {
		t.Errorf("packed %v, want %v (nearest first, 17 taken, 15 cached already)", packed, want)
	}

	if _, err := d.decodeTo(40); err != nil {
		t.Fatal(err)
	}
	if _, err := d.decodeTo(5); err != nil { // back in the first group: a restart
		t.Fatal(err)
	}
	if got := heldFrames(); !slices.Equal(got, span(0, 4)) {
		t.Errorf("after a restart, held %v; want %v", got, span(0, 4))
	}
}
