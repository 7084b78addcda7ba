package frames

import (
	"github.com/go-gst/go-gst/gst"
	"github.com/pigweight/pigweight/pipelines/graph"
	"github.com/pigweight/pigweight/pipelines/media"
)

// heldPicture is a decoded picture kept for the cache as the decoder's own buffer, not yet
// packed into Go memory.
//
// Packing copies the whole picture (3 MB at 1080p) into a new Go allocation. Done inside the
// decode for the ten pictures before a requested frame, it delayed the answer: pair by pair,
// a random 1080p frame the server's reader decoded took 1.06-1.08× what a reader without a
// cache took for the same frame (bench frames), 1.02-1.05× with packing moved out. Holding a
// reference costs nothing, so the decoder holds them and its owner packs them one at a time
// once the answer is out and no request waits (Reader.serve).
type heldPicture struct {
	frame  int
	buf    *gst.Buffer // a reference of our own: graph.Release it
	layout planeLayout // as the caps were when it came out
}

// hold keeps picture n, which the probe has in buf, for packing later. Past keptBefore
// pictures the oldest is let go: with requests arriving back to back the owner never gets to
// pack, and each held picture pins a decoder buffer.
func (d *decoder) hold(n int, buf *gst.Buffer) {
	if len(d.held) >= keptBefore {
		graph.Release(d.held[0].buf)
		d.held = append(d.held[:0], d.held[1:]...)
	}
	d.held = append(d.held, heldPicture{frame: n, buf: buf.Ref(), layout: d.layout})
}

// holding reports whether pictures wait to be packed.
func (d *decoder) holding() bool { return len(d.held) > 0 }

// packHeld packs the held picture that came out last, the nearest before the frame asked for
// (the first a person stepping back asks for), and lets it go. ok is false when cached says
// the cache has it already: then it is only let go.
func (d *decoder) packHeld(cached func(frame int) bool) (pic media.Picture, ok bool, err error) {
	h := d.held[len(d.held)-1]
	d.held = d.held[:len(d.held)-1]
	defer graph.Release(h.buf)
	if cached(h.frame) {
		return media.Picture{}, false, nil
	}
	pic, err = d.pack(h.buf, h.frame, h.layout)
	return pic, err == nil, err
}

// takeHeld packs held picture n for a request that asks for it, and lets it go.
func (d *decoder) takeHeld(n int) (pic media.Picture, ok bool, err error) {
	for i, h := range d.held {
		if h.frame != n {
			continue
		}
		d.held = append(d.held[:i], d.held[i+1:]...)
		defer graph.Release(h.buf)
		pic, err = d.pack(h.buf, h.frame, h.layout)
		return pic, true, err
	}
	return media.Picture{}, false, nil
}

// dropHeld lets every held picture go: when the decoder starts again elsewhere (the client
// has moved on) and before it is closed.
func (d *decoder) dropHeld() {
	for _, h := range d.held {
		graph.Release(h.buf)
	}
	d.held = d.held[:0]
}

// pack copies picture n out of buf, laid out as l, into Go memory. On error the picture has
// only its frame number.
func (d *decoder) pack(buf *gst.Buffer, n int, l planeLayout) (media.Picture, error) {
	data, unmap := mapped(buf)
	planes, err := l.pack(data)
	unmap()
	if err != nil {
		return media.Picture{Frame: n}, err
	}
	f := d.ix.Frames[n]
	return media.Picture{
		Frame:  n,
		PTS:    ticks(f.PTS-d.ix.Frames[0].PTS, d.ix.Timescale),
		Width:  l.width,
		Height: l.height,
		Format: l.format,
		Planes: planes,
	}, nil
}
