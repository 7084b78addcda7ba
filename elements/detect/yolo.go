package detect

import (
	"fmt"
	"math"
	"slices"
)

// YOLODecoder decodes YOLOv8/YOLO11 detect and segment heads. It keeps its scratch buffers
// between calls so that a pipeline decoding every frame does not allocate beyond the result.
// The zero value is ready to use; a YOLODecoder is not safe for concurrent use.
type YOLODecoder struct {
	best   []float32 // per anchor: best class score (channels-first layout)
	bestK  []int32   // and its class
	cands  []candidate
	coeffs []float32 // seg: one detection's mask coefficients
	acc    []float32 // seg: one row of mask logits
	lab    labeller  // seg: components of one instance mask, for its contour
	tracer contourTracer
}

// candidate is an anchor whose best class passed the confidence threshold.
type candidate struct {
	box    Box // model-input pixels
	frame  Box // box in frame pixels, clipped
	score  float32
	cls    int
	anchor int
}

// DecodeYOLO is YOLODecoder.Decode with a fresh decoder, for one-off use.
func DecodeYOLO(out []float32, rows, anchors int, lb Letterbox, opt Options) ([]Detection, error) {
	var d YOLODecoder
	return d.Decode(nil, out, rows, anchors, lb, opt)
}

// DecodeYOLOSeg is YOLODecoder.DecodeSeg with a fresh decoder, for one-off use.
func DecodeYOLOSeg(out []float32, rows, anchors int, protos []float32, nm, ph, pw int, lb Letterbox, opt Options) ([]Detection, error) {
	var d YOLODecoder
	return d.DecodeSeg(nil, out, rows, anchors, protos, nm, ph, pw, lb, opt)
}

// Decode appends to dst the detections of one image's YOLOv8/YOLO11 detect output and returns
// the extended slice.
//
// out holds rows = 4+nc values for each of anchors anchors, laid out as opt.Layout says (rows
// and anchors name the same things in both layouts). Values 0..3 of an anchor are the box
// centre, width and height in model-input pixels; values 4.. are the class scores, already
// through a sigmoid. Each anchor keeps its best class (the lowest id on ties; NaN scores are
// ignored) when that score is at least opt.Confidence. Boxes are mapped to the frame through
// lb and clipped to it, and a box left with no area (it lay in the padding) is dropped. Then
// class-aware NMS (opt.IoU, in model-input pixels as ultralytics does) keeps at most
// opt.MaxDetections. Area is the box's area in frame pixels.
func (d *YOLODecoder) Decode(dst []Detection, out []float32, rows, anchors int, lb Letterbox, opt Options) ([]Detection, error) {
	opt, err := opt.resolve(DefaultYOLOConfidence)
	if err != nil {
		return dst, err
	}
	if err := lb.validate(); err != nil {
		return dst, err
	}
	if rows < 5 || anchors < 0 {
		return dst, fmt.Errorf("%w: yolo output [%d, %d] needs 4 box rows and at least one class", ErrShape, rows, anchors)
	}
	if err := checkLen("yolo output", out, rows, anchors); err != nil {
		return dst, err
	}
	kept := d.candidates(out, rows, anchors, rows-4, lb, &opt)
	start := len(dst)
	for i := range kept {
		c := &kept[i]
		b := c.frame
		dst = append(dst, Detection{
			Box: b, ClassID: c.cls, Class: opt.className(c.cls), Score: c.score,
			Area: int(math.Round(float64(b.W) * float64(b.H))),
		})
	}
	slices.SortFunc(dst[start:], compareDetections)
	return dst, nil
}

// DecodeSeg appends to dst the detections of one image's YOLOv8-seg output and returns the
// extended slice.
//
// out is as for Decode with rows = 4+nc+nm: each anchor's class scores are followed by nm
// mask coefficients. protos holds the nm mask prototypes, [nm, ph, pw], covering the whole
// model input (160×160 for a 640×640 input). Boxes are found as by Decode; then each kept
// box's instance mask is sigmoid(coefficients · protos), cropped to the box and to the
// letterboxed frame (a proto cell counts when its centre lies inside both) and thresholded at
// 0.5. Area is the mask's cell count in frame pixels; with opt.Contours, Contour is the outer
// boundary of the mask's largest 8-connected part, simplified to one proto cell.
func (d *YOLODecoder) DecodeSeg(dst []Detection, out []float32, rows, anchors int, protos []float32, nm, ph, pw int, lb Letterbox, opt Options) ([]Detection, error) {
	opt, err := opt.resolve(DefaultYOLOConfidence)
	if err != nil {
		return dst, err
	}
	if err := lb.validate(); err != nil {
		return dst, err
	}
	if nm < 1 || ph < 1 || pw < 1 {
		return dst, fmt.Errorf("%w: protos [%d, %d, %d]", ErrShape, nm, ph, pw)
	}
	if rows < 5+nm || anchors < 0 {
		return dst, fmt.Errorf("%w: yolo-seg output [%d, %d] needs 4 box rows, at least one class and %d coefficients", ErrShape, rows, anchors, nm)
	}
	if err := checkLen("yolo-seg output", out, rows, anchors); err != nil {
		return dst, err
	}
	if err := checkLen("protos", protos, nm, ph, pw); err != nil {
		return dst, err
	}
	nc := rows - 4 - nm
	kept := d.candidates(out, rows, anchors, nc, lb, &opt)

	fx, fy := float32(lb.DstW)/float32(pw), float32(lb.DstH)/float32(ph) // input pixels per proto cell
	cellArea := float64(fx) * float64(fy) / (float64(lb.Scale) * float64(lb.Scale))
	cx0, cy0, cx1, cy1 := lb.content()
	eps := max(1, max(fx, fy)/lb.Scale)
	if cap(d.coeffs) < nm {
		d.coeffs = make([]float32, nm)
	}
	coeffs := d.coeffs[:nm]
	start := len(dst)
	for i := range kept {
		c := &kept[i]
		b := c.frame
		for k := range coeffs {
			if opt.Layout == LayoutAnchorsFirst {
				coeffs[k] = out[c.anchor*rows+4+nc+k]
			} else {
				coeffs[k] = out[(4+nc+k)*anchors+c.anchor]
			}
		}
		px0, px1 := cellSpan(max(float64(c.box.X), cx0), min(float64(c.box.X+c.box.W), cx1), fx, pw)
		py0, py1 := cellSpan(max(float64(c.box.Y), cy0), min(float64(c.box.Y+c.box.H), cy1), fy, ph)
		count := d.instanceMask(protos, coeffs, ph, pw, px0, px1, py0, py1, opt.Contours)
		det := Detection{
			Box: b, ClassID: c.cls, Class: opt.className(c.cls), Score: c.score,
			Area: int(math.Round(float64(count) * cellArea)),
		}
		if opt.Contours && count > 0 {
			comps := d.lab.finish()
			largest := 0
			for j := range comps {
				if comps[j].count > comps[largest].count {
					largest = j
				}
			}
			det.Contour = d.tracer.trace(d.lab.runs, &comps[largest], fx, fy, lb, eps)
		}
		dst = append(dst, det)
	}
	slices.SortFunc(dst[start:], compareDetections)
	return dst, nil
}

// candidates picks each anchor's best class, keeps those scoring at least opt.Confidence
// whose box covers some of the frame, and runs class-aware NMS over them. The result, best
// first, lives in d.cands.
func (d *YOLODecoder) candidates(out []float32, rows, anchors, nc int, lb Letterbox, opt *Options) []candidate {
	conf := opt.Confidence
	d.cands = d.cands[:0]
	add := func(cx, cy, w, h, score float32, cls, anchor int) {
		box := centreBox(cx, cy, w, h)
		frame := lb.ToFrame(box)
		if frame.W > 0 && frame.H > 0 { // false for NaN too
			d.cands = append(d.cands, candidate{box: box, frame: frame, score: score, cls: cls, anchor: anchor})
		}
	}
	switch opt.Layout {
	case LayoutAnchorsFirst:
		for a := range anchors {
			p := out[a*rows : a*rows+rows]
			best, bestK := float32(math.Inf(-1)), 0
			for k, v := range p[4 : 4+nc] {
				if v > best {
					best, bestK = v, k
				}
			}
			if best >= conf {
				add(p[0], p[1], p[2], p[3], best, bestK, a)
			}
		}
	default:
		// Class-major: each class row is read contiguously, which is what the cache wants for
		// [84, 8400].
		if cap(d.best) < anchors {
			d.best, d.bestK = make([]float32, anchors), make([]int32, anchors)
		}
		best, bestK := d.best[:anchors], d.bestK[:anchors]
		for a := range best {
			best[a] = float32(math.Inf(-1))
		}
		for k := range nc {
			argmaxInto(best, bestK, out[(4+k)*anchors:(5+k)*anchors], int32(k))
		}
		cx, cy, w, h := out[:anchors], out[anchors:2*anchors], out[2*anchors:3*anchors], out[3*anchors:4*anchors]
		for a, s := range best {
			if s >= conf {
				add(cx[a], cy[a], w[a], h[a], s, int(bestK[a]), a)
			}
		}
	}
	slices.SortStableFunc(d.cands, func(a, b candidate) int { return compareRank(a.score, b.score, &a.box, &b.box, a.cls, b.cls) })
	return suppress(d.cands, opt.IoU, opt.MaxDetections, func(c *candidate) (Box, int) { return c.box, c.cls })
}

func centreBox(cx, cy, w, h float32) Box {
	return Box{X: cx - w/2, Y: cy - h/2, W: w, H: h}
}

// instanceMask counts the cells of proto window [px0, px1) × [py0, py1) where
// coeffs · protos > 0, which is sigmoid(coeffs · protos) > 0.5. With contours it also feeds
// the mask's runs to d.lab, in proto cell coordinates.
func (d *YOLODecoder) instanceMask(protos, coeffs []float32, ph, pw, px0, px1, py0, py1 int, contours bool) int {
	n := px1 - px0
	if cap(d.acc) < n {
		d.acc = make([]float32, n)
	}
	acc := d.acc[:n]
	plane := ph * pw
	count := 0
	d.lab.reset()
	for y := py0; y < py1; y++ {
		clear(acc)
		for k, c := range coeffs {
			off := k*plane + y*pw + px0
			p := protos[off : off+len(acc)]
			for i := range acc {
				acc[i] += c * p[i]
			}
		}
		if contours {
			d.lab.beginRow(y)
		}
		for i := 0; i < n; i++ {
			if !(acc[i] > 0) {
				continue
			}
			s := i
			for i < n && acc[i] > 0 {
				i++
			}
			count += i - s
			if contours {
				d.lab.addRun(px0+s, px0+i, 0, 0)
			}
		}
	}
	return count
}
