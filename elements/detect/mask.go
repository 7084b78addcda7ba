package detect

import (
	"fmt"
	"math"
	"slices"
)

// MaskDecoder decodes semantic segmentation masks into one detection per connected component.
// It keeps its scratch buffers between calls so that a pipeline decoding every frame does not
// allocate. The zero value is ready to use; a MaskDecoder is not safe for concurrent use.
type MaskDecoder struct {
	lab    labeller
	best   []float32 // per column of one row: the highest channel probability
	bestK  []int32   // and its channel
	hits   []maskHit
	tracer contourTracer
}

// maskHit is a component that passed MinArea, with its detection under construction.
type maskHit struct {
	det  Detection
	comp int32
}

// DecodeMask is MaskDecoder.Decode with a fresh decoder, for one-off use.
func DecodeMask(mask []float32, channels, h, w int, lb Letterbox, opt Options) ([]Detection, error) {
	var d MaskDecoder
	return d.Decode(nil, mask, channels, h, w, lb, opt)
}

// Decode appends to dst the detections found in mask, a [channels, h, w] tensor of per-pixel
// probabilities for one image, and returns the extended slice.
//
// The mask covers the whole model input described by lb, at the input's resolution or a lower
// one: mask cell (x, y) covers input pixels [x·DstW/w, (x+1)·DstW/w) × [y·DstH/h, (y+1)·DstH/h).
// Cells whose centre lies in the letterbox padding are ignored.
//
// With one channel, a cell is foreground of class 0 when its probability is greater than
// opt.Confidence. With more, channel 0 is background and channel k is class k-1: a cell
// belongs to the class of its highest channel (the lowest channel on ties) when that is not
// channel 0 and its probability is greater than opt.Confidence.
//
// Each 8-connected set of foreground cells of one class is a detection: Score is the mean
// probability of its cells, Box its bounding box and Area its cell count, both in frame
// pixels. Components whose Area is below opt.MinArea are dropped. With opt.Contours, Contour
// is the component's outer boundary simplified to one mask cell (at least one frame pixel).
//
// Without contours and with room in dst, Decode does not allocate once its buffers have grown
// to the mask's size.
func (d *MaskDecoder) Decode(dst []Detection, mask []float32, channels, h, w int, lb Letterbox, opt Options) ([]Detection, error) {
	opt, err := opt.resolve(DefaultMaskConfidence)
	if err != nil {
		return dst, err
	}
	if err := lb.validate(); err != nil {
		return dst, err
	}
	if channels < 1 || h < 1 || w < 1 {
		return dst, fmt.Errorf("%w: mask shape [%d, %d, %d]", ErrShape, channels, h, w)
	}
	if err := checkLen("mask", mask, channels, h, w); err != nil {
		return dst, err
	}

	fx, fy := float32(lb.DstW)/float32(w), float32(lb.DstH)/float32(h) // input pixels per cell
	cx0, cy0, cx1, cy1 := lb.content()
	x0, x1 := cellSpan(cx0, cx1, fx, w)
	y0, y1 := cellSpan(cy0, cy1, fy, h)
	n := x1 - x0
	conf := opt.Confidence
	plane := h * w

	d.lab.reset()
	if channels > 1 && cap(d.best) < w {
		d.best, d.bestK = make([]float32, w), make([]int32, w)
	}
	for y := y0; y < y1; y++ {
		d.lab.beginRow(y)
		row := mask[y*w+x0 : y*w+x1]
		if channels == 1 {
			scanRuns(&d.lab, row, x0, conf)
			continue
		}
		best, bestK := d.best[:n], d.bestK[:n]
		copy(best, row)
		clear(bestK)
		for c := 1; c < channels; c++ {
			off := c*plane + y*w + x0
			argmaxInto(best, bestK, mask[off:off+n], int32(c))
		}
		scanClassRuns(&d.lab, best, bestK, x0, conf)
	}
	comps := d.lab.finish()

	// Cells to frame pixels: a cell is fx×fy input pixels, an input pixel 1/Scale² of a
	// frame pixel.
	cellArea := float64(fx) * float64(fy) / (float64(lb.Scale) * float64(lb.Scale))
	minArea := opt.minArea(lb)
	d.hits = d.hits[:0]
	for i := range comps {
		c := &comps[i]
		area := int(math.Round(float64(c.count) * cellArea))
		if area < minArea {
			continue
		}
		box := lb.ToFrame(Box{
			X: float32(c.x0) * fx, Y: float32(c.y0) * fy,
			W: float32(c.x1-c.x0) * fx, H: float32(c.y1-c.y0) * fy,
		})
		d.hits = append(d.hits, maskHit{
			det:  Detection{Box: box, ClassID: int(c.cls), Score: float32(c.sum / float64(c.count)), Area: area},
			comp: int32(i),
		})
	}
	slices.SortStableFunc(d.hits, func(a, b maskHit) int { return compareDetections(a.det, b.det) })
	if len(d.hits) > opt.MaxDetections {
		d.hits = d.hits[:opt.MaxDetections]
	}
	eps := max(1, max(fx, fy)/lb.Scale)
	for i := range d.hits {
		h := &d.hits[i]
		h.det.Class = opt.className(h.det.ClassID)
		if opt.Contours {
			h.det.Contour = d.tracer.trace(d.lab.runs, &comps[h.comp], fx, fy, lb, eps)
		}
		dst = append(dst, h.det)
		h.det = Detection{} // drop references held by the scratch
	}
	return dst, nil
}

// cellSpan returns the cells [i0, i1) of an axis of n cells, each f input pixels wide, whose
// centres lie in [lo, hi) input pixels.
func cellSpan(lo, hi float64, f float32, n int) (int, int) {
	i0 := int(math.Ceil(lo/float64(f) - 0.5))
	i1 := int(math.Ceil(hi/float64(f) - 0.5))
	i0 = max(0, min(i0, n))
	i1 = max(i0, min(i1, n))
	return i0, i1
}

// argmaxInto raises best to ch where ch is greater, recording channel k in bestK.
func argmaxInto(best []float32, bestK []int32, ch []float32, k int32) {
	best, bestK = best[:len(ch)], bestK[:len(ch)]
	for i, v := range ch {
		if v > best[i] {
			best[i], bestK[i] = v, k
		}
	}
}

// scanRuns feeds the runs of cells above conf in one row of a single-channel mask; row starts
// at column x0.
func scanRuns(lab *labeller, row []float32, x0 int, conf float32) {
	n := len(row)
	for i := 0; i < n; i++ {
		if !(row[i] > conf) {
			continue
		}
		s := i
		var sum float32
		for ; i < n && row[i] > conf; i++ {
			sum += row[i]
		}
		lab.addRun(x0+s, x0+i, 0, sum)
	}
}

// scanClassRuns feeds the runs of one row of an argmax'd multi-channel mask: cells whose best
// channel k is not background and whose probability is above conf, one run per stretch of
// equal k, labelled class k-1.
func scanClassRuns(lab *labeller, best []float32, bestK []int32, x0 int, conf float32) {
	n := len(best)
	bestK = bestK[:n]
	for i := 0; i < n; {
		k := bestK[i]
		if k == 0 || !(best[i] > conf) {
			i++
			continue
		}
		s := i
		var sum float32
		for ; i < n && bestK[i] == k && best[i] > conf; i++ {
			sum += best[i]
		}
		lab.addRun(x0+s, x0+i, k-1, sum)
	}
}
