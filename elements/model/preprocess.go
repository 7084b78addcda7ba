package model

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/pigweight/pigweight/elements/detect"
)

// Pre-processing turns one decoded frame into a model's NCHW input tensor: colour
// conversion, letterboxing (aspect kept, centred, grey padding as YOLO trains with),
// resampling, /255 and optional per-channel normalisation, in one pass over the frame.
//
// It works in two steps per content row. The first produces R, G and B of the row in
// fixed point (fixShift fractional bits per 8-bit level) from the frame's planes; the
// second clamps them and writes each output plane's row as float32 or float16, with the
// padding around it. The second step runs from a row buffer that stays in L1, so the
// first step never depends on the output type and the output planes are written
// sequentially.

// PixelFormat is the memory layout of a decoded frame, named as in GStreamer's
// video/x-raw caps. All formats have 8 bits per sample.
type PixelFormat int

// Pixel formats. The zero value is not a format, so a Frame left unset is rejected.
const (
	// I420: a Y plane, then U and V planes of ceil(Width/2)×ceil(Height/2) samples.
	I420 PixelFormat = iota + 1
	// NV12: a Y plane, then one plane of interleaved U,V pairs, ceil(Width/2) pairs
	// by ceil(Height/2) rows.
	NV12
	// RGB: one plane of packed R,G,B bytes (GStreamer RGB).
	RGB
	// BGR: one plane of packed B,G,R bytes (GStreamer BGR).
	BGR
)

// String returns the GStreamer name of the format.
func (f PixelFormat) String() string {
	switch f {
	case I420:
		return "I420"
	case NV12:
		return "NV12"
	case RGB:
		return "RGB"
	case BGR:
		return "BGR"
	}
	return fmt.Sprintf("PixelFormat(%d)", int(f))
}

// ColorMatrix is the YUV→RGB matrix of a YUV frame, from the colorimetry in its caps. Both
// matrices are taken as limited range: Y 16..235, U and V 16..240.
type ColorMatrix int

const (
	// MatrixAuto is GStreamer's guess when caps carry no colorimetry: BT.709 for frames
	// taller than 576 lines, BT.601 otherwise. Set the matrix when the caps say it: the
	// synthetic pen, for one, is BT.601 at every size.
	MatrixAuto ColorMatrix = iota
	// BT601 is ITU-R BT.601 (SD video, colorimetry=bt601).
	BT601
	// BT709 is ITU-R BT.709 (HD video, colorimetry=bt709).
	BT709
)

// String names the matrix.
func (m ColorMatrix) String() string {
	switch m {
	case MatrixAuto:
		return "auto"
	case BT601:
		return "bt601"
	case BT709:
		return "bt709"
	}
	return fmt.Sprintf("ColorMatrix(%d)", int(m))
}

// MatrixFromColorimetry reads the matrix out of a caps colorimetry string: a name
// ("bt601", "bt709") or the range:matrix:transfer:primaries form ("2:4:5:4"; matrix 3 is
// BT.709, 4 is BT.601). Anything else, the empty string included, gives MatrixAuto. The
// range field is not read: full-range frames (range 1, as from jpegdec) are not supported
// and would convert as limited range, with their contrast stretched.
func MatrixFromColorimetry(colorimetry string) ColorMatrix {
	switch colorimetry {
	case "bt601":
		return BT601
	case "bt709":
		return BT709
	}
	if parts := strings.Split(colorimetry, ":"); len(parts) == 4 {
		switch parts[1] {
		case "3":
			return BT709
		case "4":
			return BT601
		}
	}
	return MatrixAuto
}

// MaxFrameSide bounds a frame's and a model input's width and height, in pixels.
const MaxFrameSide = 16384

// Frame is one decoded picture as its planes lie in memory, usually mapped from a
// GstBuffer. The planes are only read, and not kept after the call that reads them.
type Frame struct {
	Format        PixelFormat
	Width, Height int
	// Planes holds Y, U, V for I420; Y and UV for NV12; the packed pixels for RGB and BGR.
	// A plane needs Strides[i] bytes per row, except its last row, which needs only the
	// bytes of its samples.
	Planes  [3][]byte
	Strides [3]int      // bytes from one row of a plane to the next; at least the row's samples
	Matrix  ColorMatrix // YUV formats only
}

// InputSpec describes a model's image input: one NCHW image of 3 channels.
type InputSpec struct {
	Width, Height int
	// BGR puts blue in channel 0 and red in channel 2 (OpenCV/Caffe-trained models);
	// otherwise channel 0 is red.
	BGR bool
	// Mean and Std normalise each channel after /255: (v-Mean[c])/Std[c]. They are indexed
	// by the model's channel, so for a BGR model index 0 is blue. Std all zero means no
	// normalisation (and Mean is ignored), which is what YOLO models want.
	Mean, Std [3]float32
	// Pad is the level of the letterbox padding on the 0..1 scale after /255, before
	// normalisation, so the padding looks to the model like a grey image area. Zero
	// selects DefaultPad; PadBlack asks for 0.
	Pad float32
}

// DefaultPad is YOLO's letterbox grey, 114/255.
const DefaultPad float32 = 114.0 / 255

// PadBlack in InputSpec.Pad asks for black (0) padding, which a zero Pad cannot say.
const PadBlack float32 = -1

// Errors that callers branch on. Every error ToNCHW and ToNCHWFloat16 return wraps one.
var (
	// ErrInvalidSpec: an InputSpec that cannot be served.
	ErrInvalidSpec = errors.New("invalid model input spec")
	// ErrInvalidFrame: a Frame whose planes or strides do not hold its declared format
	// and size.
	ErrInvalidFrame = errors.New("invalid frame")
	// ErrTensorSize: a destination whose length is not 3×Height×Width of the input spec.
	ErrTensorSize = errors.New("tensor buffer has the wrong size")
)

// Fixed point of the first step: R, G and B in 1/4096 of an 8-bit level.
const (
	fixShift = 12
	fixMax   = 255 << fixShift
	// lut16Shift turns a fixed-point value into an index of the float16 tables, which
	// have 16 entries per level: an error of at most 1/32 of a level, under half a
	// float16 step for values from 0.25 up.
	lut16Shift = fixShift - 4
	lut16Size  = 4096 // > fixMax>>lut16Shift = 4080, a power of two so masking removes bounds checks
)

// Preprocessor converts frames for one model input. It keeps, for the last frame size
// and format it saw, the letterbox and the source index and weight tables, and the
// YUV→RGB tables of each matrix it has met, so a stream of same-sized frames costs no
// set-up and no allocation per frame.
//
// Resampling, when the frame's letterboxed size differs from its own, is bilinear with
// pixel centres aligned (OpenCV's INTER_LINEAR, which Ultralytics' letterbox uses), with
// chroma sited at the centre of its 2×2 block. Without anti-aliasing, so a large
// downscale samples rather than averages. When the letterbox keeps the frame's size (the
// scale is 1: same size, or only padding), pixels are copied without resampling, each
// 2×2 block using its own chroma sample.
//
// A Preprocessor is not safe for concurrent use: give each streaming thread its own.
type Preprocessor struct {
	spec   InputSpec
	err    error  // from spec.Validate
	chanOf [3]int // output channel c takes R (0), G (1) or B (2)
	out    [3]outChannel
	tables [3]*yuvTables // by ColorMatrix, built on first use
	plan   *plan         // for the last frame size and format
	lut16s bool          // out[*].lut16 built
}

// outChannel turns one channel's fixed-point values into the model's numbers.
type outChannel struct {
	k, b  float32 // float32(v)*k + b
	pad32 float32
	pad16 uint16
	lut16 *[lut16Size]uint16 // float16 of every lut16 index, built on first float16 use
}

// Validate reports why a Preprocessor cannot serve s, if it cannot.
func (s InputSpec) Validate() error {
	if s.Width <= 0 || s.Height <= 0 || s.Width > MaxFrameSide || s.Height > MaxFrameSide {
		return fmt.Errorf("%w: size %dx%d outside 1..%d", ErrInvalidSpec, s.Width, s.Height, MaxFrameSide)
	}
	norm := s.Std != [3]float32{}
	for c, sd := range s.Std {
		if norm && !(sd > 0) || math.IsInf(float64(sd), 0) {
			return fmt.Errorf("%w: std[%d] = %g; give all three positive, or none", ErrInvalidSpec, c, sd)
		}
		if m := float64(s.Mean[c]); math.IsNaN(m) || math.IsInf(m, 0) {
			return fmt.Errorf("%w: mean[%d] = %g", ErrInvalidSpec, c, m)
		}
	}
	if p := s.Pad; p != PadBlack && !(p >= 0 && p <= 1) {
		return fmt.Errorf("%w: pad %g outside 0..1 (use PadBlack for black)", ErrInvalidSpec, p)
	}
	return nil
}

// NewPreprocessor prepares the per-channel constants for spec. It cannot fail: a spec that
// Validate rejects makes every conversion return that error, which wraps ErrInvalidSpec.
func NewPreprocessor(spec InputSpec) *Preprocessor {
	p := &Preprocessor{spec: spec, chanOf: [3]int{0, 1, 2}}
	if p.err = spec.Validate(); p.err != nil {
		return p
	}
	if spec.BGR {
		p.chanOf = [3]int{2, 1, 0}
	}
	pad := spec.Pad
	switch pad {
	case 0:
		pad = DefaultPad
	case PadBlack:
		pad = 0
	}
	norm := spec.Std != [3]float32{}
	for c := range p.out {
		o := &p.out[c]
		o.k = 1 / float32(255<<fixShift)
		o.pad32 = pad
		if norm {
			o.k = float32(1 / (255 * (1 << fixShift) * float64(spec.Std[c])))
			o.b = -spec.Mean[c] / spec.Std[c]
			o.pad32 = (pad - spec.Mean[c]) / spec.Std[c]
		}
		o.pad16 = Float32ToFloat16(o.pad32)
	}
	return p
}

// Spec returns the input spec the Preprocessor was made for.
func (p *Preprocessor) Spec() InputSpec { return p.spec }

// Letterbox returns how a frameW×frameH frame maps into the model input: the letterbox
// every ToNCHW call for that size returns, for mapping detections back.
func (p *Preprocessor) Letterbox(frameW, frameH int) detect.Letterbox {
	return detect.NewLetterbox(frameW, frameH, p.spec.Width, p.spec.Height)
}

// ToNCHW writes f into dst as one float32 NCHW image of the input spec: dst holds
// 3×Height×Width values, channel after channel. It returns the letterbox that maps model
// coordinates back to the frame's.
func (p *Preprocessor) ToNCHW(dst []float32, f Frame) (detect.Letterbox, error) {
	pl, tab, err := p.prepare(&f, len(dst))
	if err != nil {
		return detect.Letterbox{}, err
	}
	w, h := p.spec.Width, p.spec.Height
	n := w * h
	planes := [3][]float32{dst[:n:n], dst[n : 2*n : 2*n], dst[2*n : 3*n : 3*n]}
	x0, x1 := pl.lb.PadX, pl.lb.PadX+pl.cw
	for c, plane := range planes {
		fill(plane[:pl.lb.PadY*w], p.out[c].pad32)
		fill(plane[(pl.lb.PadY+pl.ch)*w:], p.out[c].pad32)
	}
	pl.each(&f, tab, func(j int, rgb *[3][]int32) {
		off := (pl.lb.PadY + j) * w
		for c, plane := range planes {
			o := &p.out[c]
			row := plane[off : off+w]
			fill(row[:x0], o.pad32)
			emitFloat32(row[x0:x1], rgb[p.chanOf[c]], o.k, o.b)
			fill(row[x1:], o.pad32)
		}
	})
	return pl.lb, nil
}

// ToNCHWFloat16 is ToNCHW for models whose input is float16: dst holds the IEEE 754
// half-precision bit patterns. Values go through a table with 16 entries per 8-bit
// level, so they are off by at most 1/32 of a level (0.00012 on the 0..1 scale) before
// rounding to float16: finer than a float16 step near 1, coarser near 0, and in any case
// far below the 8-bit source's own step.
func (p *Preprocessor) ToNCHWFloat16(dst []uint16, f Frame) (detect.Letterbox, error) {
	pl, tab, err := p.prepare(&f, len(dst))
	if err != nil {
		return detect.Letterbox{}, err
	}
	if !p.lut16s {
		for c := range p.out {
			p.out[c].lut16 = newLUT16(p.out[c].k, p.out[c].b)
		}
		p.lut16s = true
	}
	w, h := p.spec.Width, p.spec.Height
	n := w * h
	planes := [3][]uint16{dst[:n:n], dst[n : 2*n : 2*n], dst[2*n : 3*n : 3*n]}
	x0, x1 := pl.lb.PadX, pl.lb.PadX+pl.cw
	for c, plane := range planes {
		fill(plane[:pl.lb.PadY*w], p.out[c].pad16)
		fill(plane[(pl.lb.PadY+pl.ch)*w:], p.out[c].pad16)
	}
	pl.each(&f, tab, func(j int, rgb *[3][]int32) {
		off := (pl.lb.PadY + j) * w
		for c, plane := range planes {
			o := &p.out[c]
			row := plane[off : off+w]
			fill(row[:x0], o.pad16)
			emitFloat16(row[x0:x1], rgb[p.chanOf[c]], o.lut16)
			fill(row[x1:], o.pad16)
		}
	})
	return pl.lb, nil
}

// newLUT16 tabulates the float16 of every fixed-point value at 1/16-level steps.
func newLUT16(k, b float32) *[lut16Size]uint16 {
	t := new([lut16Size]uint16)
	for i := range t {
		v := min(i, fixMax>>lut16Shift) << lut16Shift
		t[i] = Float32ToFloat16(float32(v)*k + b)
	}
	return t
}

// prepare checks f and the destination length and returns the plan for f's size and
// format and the YUV tables for its matrix (nil for RGB formats).
func (p *Preprocessor) prepare(f *Frame, dstLen int) (*plan, *yuvTables, error) {
	if p.err != nil {
		return nil, nil, p.err
	}
	if want := 3 * p.spec.Width * p.spec.Height; dstLen != want {
		return nil, nil, fmt.Errorf("%w: %d values, want %d (3×%d×%d)", ErrTensorSize, dstLen, want, p.spec.Height, p.spec.Width)
	}
	if err := f.check(); err != nil {
		return nil, nil, err
	}
	var tab *yuvTables
	if f.Format == I420 || f.Format == NV12 {
		m := f.Matrix
		if m == MatrixAuto {
			m = BT601
			if f.Height > 576 {
				m = BT709
			}
		}
		if p.tables[m] == nil {
			p.tables[m] = newYUVTables(m)
		}
		tab = p.tables[m]
	}
	if pl := p.plan; pl == nil || pl.format != f.Format || pl.w != f.Width || pl.h != f.Height {
		p.plan = newPlan(f.Format, f.Width, f.Height, p.Letterbox(f.Width, f.Height))
	}
	return p.plan, tab, nil
}

// check reports why f's planes cannot hold its declared format and size, if they cannot.
func (f *Frame) check() error {
	if f.Width <= 0 || f.Height <= 0 || f.Width > MaxFrameSide || f.Height > MaxFrameSide {
		return fmt.Errorf("%w: size %dx%d outside 1..%d", ErrInvalidFrame, f.Width, f.Height, MaxFrameSide)
	}
	if f.Matrix < MatrixAuto || f.Matrix > BT709 {
		return fmt.Errorf("%w: unknown colour matrix %v", ErrInvalidFrame, f.Matrix)
	}
	cw, ch := (f.Width+1)/2, (f.Height+1)/2
	var err error
	switch f.Format {
	case I420:
		err = errors.Join(f.checkPlane(0, "Y", f.Width, f.Height),
			f.checkPlane(1, "U", cw, ch), f.checkPlane(2, "V", cw, ch))
	case NV12:
		err = errors.Join(f.checkPlane(0, "Y", f.Width, f.Height), f.checkPlane(1, "UV", 2*cw, ch))
	case RGB, BGR:
		err = f.checkPlane(0, f.Format.String(), 3*f.Width, f.Height)
	default:
		return fmt.Errorf("%w: unknown pixel format %v", ErrInvalidFrame, f.Format)
	}
	if err != nil {
		return fmt.Errorf("%w: %v %dx%d: %w", ErrInvalidFrame, f.Format, f.Width, f.Height, err)
	}
	return nil
}

// checkPlane checks that plane i has rows of at least rowBytes and room for all of them.
func (f *Frame) checkPlane(i int, name string, rowBytes, rows int) error {
	n, stride := len(f.Planes[i]), f.Strides[i]
	if stride < rowBytes {
		return fmt.Errorf("%s stride %d is less than a row's %d bytes", name, stride, rowBytes)
	}
	// (rows-1)·stride + rowBytes ≤ n, without the multiplication that could overflow.
	if n < rowBytes || (n-rowBytes)/stride < rows-1 {
		return fmt.Errorf("%s plane is %d bytes, want %d rows of stride %d", name, n, rows, stride)
	}
	return nil
}

// yuvTables hold limited-range YUV→RGB for one matrix: R = y[Y]+rv[V],
// G = y[Y]+gu[U]+gv[V], B = y[Y]+bu[U], all in fixed point. The coefficients are the
// same numbers for interpolated samples, which are not table indices.
type yuvTables struct {
	y, rv, gu, gv, bu      [256]int32
	cy, crv, cgu, cgv, cbu int
}

func newYUVTables(m ColorMatrix) *yuvTables {
	kr, kb := 0.299, 0.114
	if m == BT709 {
		kr, kb = 0.2126, 0.0722
	}
	kg := 1 - kr - kb
	const one = 1 << fixShift
	ys, cs := 255.0/219, 255.0/224 // limited range: Y 16..235, C 16..240
	cy := ys * one
	crv := 2 * (1 - kr) * cs * one
	cbu := 2 * (1 - kb) * cs * one
	cgu := -2 * kb * (1 - kb) / kg * cs * one
	cgv := -2 * kr * (1 - kr) / kg * cs * one
	t := &yuvTables{
		cy: int(math.Round(cy)), crv: int(math.Round(crv)), cbu: int(math.Round(cbu)),
		cgu: int(math.Round(cgu)), cgv: int(math.Round(cgv)),
	}
	for i := range 256 {
		yv, c := float64(i-16), float64(i-128)
		t.y[i] = int32(math.Round(yv * cy))
		t.rv[i] = int32(math.Round(c * crv))
		t.gu[i] = int32(math.Round(c * cgu))
		t.gv[i] = int32(math.Round(c * cgv))
		t.bu[i] = int32(math.Round(c * cbu))
	}
	return t
}

// tap is where one output column or row samples the frame: two neighbours, and the
// weight of the second out of tapOne (the first has the rest). For columns i0 and i1 are
// byte offsets in a row; for rows they are row numbers.
type tap struct {
	i0, i1 int32
	w      int32
}

// Interpolation weights have tapBits fractional bits, as OpenCV's for 8-bit images, so a
// sample interpolated on both axes has 2·tapBits and fits 31 bits.
const (
	tapBits = 11
	tapOne  = 1 << tapBits
)

// plan is everything about converting one frame size and format that does not change
// from frame to frame.
type plan struct {
	format PixelFormat
	w, h   int
	lb     detect.Letterbox
	cw, ch int  // the frame's size in the input, after scaling
	same   bool // cw, ch equal the frame's size: copy, no resampling

	// resampling: taps per content column and row, for luma (or packed pixels) and chroma
	cols, rows   []tap
	ccols, crows []tap

	rgb [3][]int32 // one content row, R, G, B in fixed point
	yuv [3][]int32 // resampling YUV: one content row, Y, U, V in 1/256 of a level
	// copy path, YUV: one chroma row's R, G and B contributions, at luma width
	cr, cg, cb []int32
}

func newPlan(format PixelFormat, w, h int, lb detect.Letterbox) *plan {
	// The content size as detect.NewLetterbox rounds it.
	cw := min(max(int(float32(w)*lb.Scale+0.5), 0), lb.DstW-lb.PadX)
	ch := min(max(int(float32(h)*lb.Scale+0.5), 0), lb.DstH-lb.PadY)
	if cw == 0 || ch == 0 {
		cw, ch = 0, 0 // a frame so elongated that it scales to nothing: padding only
	}
	pl := &plan{format: format, w: w, h: h, lb: lb, cw: cw, ch: ch, same: cw == w && ch == h}
	for i := range pl.rgb {
		pl.rgb[i] = make([]int32, cw)
	}
	yuv := format == I420 || format == NV12
	if pl.same {
		if yuv {
			pl.cr, pl.cg, pl.cb = make([]int32, w), make([]int32, w), make([]int32, w)
		}
		return pl
	}
	bpp, cstep := 1, 1 // bytes per luma sample, per chroma sample in a row of U or V
	if !yuv {
		bpp = 3
	} else if format == NV12 {
		cstep = 2
	}
	if yuv {
		for i := range pl.yuv {
			pl.yuv[i] = make([]int32, cw)
		}
	}
	pl.cols = make([]tap, cw)
	pl.rows = make([]tap, ch)
	for i := range pl.cols {
		pl.cols[i] = linearTap(i, cw, w, bpp, false)
	}
	for i := range pl.rows {
		pl.rows[i] = linearTap(i, ch, h, 1, false)
	}
	if yuv {
		pl.ccols = make([]tap, cw)
		pl.crows = make([]tap, ch)
		for i := range pl.ccols {
			pl.ccols[i] = linearTap(i, cw, w, cstep, true)
		}
		for i := range pl.crows {
			pl.crows[i] = linearTap(i, ch, h, 1, true)
		}
	}
	return pl
}

// linearTap places output sample i of n on a source of srcN luma samples with centres
// aligned, and returns its two neighbours, clamped to the edges, times step. With chroma
// it samples the half-resolution plane, whose samples sit at the centres of 2×2 blocks.
func linearTap(i, n, srcN, step int, chroma bool) tap {
	s := (float64(i)+0.5)*float64(srcN)/float64(n) - 0.5
	last := srcN - 1
	if chroma {
		s = (s+0.5)/2 - 0.5
		last = (srcN+1)/2 - 1
	}
	s = max(s, 0)
	i0 := min(int(s), last)
	i1 := min(i0+1, last)
	w1 := int32(math.Round((s - float64(i0)) * tapOne))
	if i0 == last {
		w1 = 0
	}
	return tap{i0: int32(i0 * step), i1: int32(i1 * step), w: w1}
}

// each produces each content row of f in turn, in fixed point, and hands it to emit
// with its index.
func (pl *plan) each(f *Frame, t *yuvTables, emit func(j int, rgb *[3][]int32)) {
	switch {
	case pl.cw == 0:
		// Padding only.
	case pl.same && t != nil:
		pl.copyYUV(f, t, emit)
	case pl.same:
		pl.copyPacked(f, emit)
	case t != nil:
		pl.resampleYUV(f, t, emit)
	default:
		pl.resamplePacked(f, emit)
	}
}

// copyYUV converts at scale 1. Each chroma row is turned into R, G and B contributions
// once, at luma width, and serves its two luma rows.
func (pl *plan) copyYUV(f *Frame, t *yuvTables, emit func(int, *[3][]int32)) {
	w := pl.w
	cw := (w + 1) / 2
	ys := f.Strides[0]
	us, vs := f.Strides[1], f.Strides[2]
	voff, cstep := 0, 1
	if f.Format == NV12 {
		vs, voff, cstep = us, 1, 2
	}
	uplane, vplane := f.Planes[1], f.Planes[2]
	if f.Format == NV12 {
		vplane = uplane
	}
	r, g, b := pl.rgb[0][:w], pl.rgb[1][:w], pl.rgb[2][:w]
	cr, cg, cb := pl.cr[:w], pl.cg[:w], pl.cb[:w]
	for j := range pl.h {
		if j&1 == 0 {
			crow := j >> 1
			u := uplane[crow*us : crow*us+cstep*(cw-1)+1]
			v := vplane[crow*vs+voff : crow*vs+voff+cstep*(cw-1)+1]
			chromaRow(cr, cg, cb, u, v, cstep, t)
		}
		lumaRow(r, g, b, f.Planes[0][j*ys:j*ys+w], cr, cg, cb, &t.y)
		emit(j, &pl.rgb)
	}
}

// chromaRow fills cr, cg, cb (luma width) with the contributions of the chroma row u, v,
// each chroma sample covering two luma columns.
func chromaRow(cr, cg, cb []int32, u, v []byte, step int, t *yuvTables) {
	n := len(cr)
	for x := 0; x+1 < n; x += 2 {
		i := (x >> 1) * step
		uu, vv := u[i], v[i]
		rc, gc, bc := t.rv[vv], t.gu[uu]+t.gv[vv], t.bu[uu]
		cr[x], cr[x+1] = rc, rc
		cg[x], cg[x+1] = gc, gc
		cb[x], cb[x+1] = bc, bc
	}
	if n&1 == 1 {
		i := (n >> 1) * step
		uu, vv := u[i], v[i]
		cr[n-1], cg[n-1], cb[n-1] = t.rv[vv], t.gu[uu]+t.gv[vv], t.bu[uu]
	}
}

// lumaRow adds each luma sample's contribution to the row's chroma contributions.
func lumaRow(r, g, b []int32, y []byte, cr, cg, cb []int32, ty *[256]int32) {
	r, g, b = r[:len(y)], g[:len(y)], b[:len(y)]
	cr, cg, cb = cr[:len(y)], cg[:len(y)], cb[:len(y)]
	for x, yv := range y {
		yy := ty[yv]
		r[x] = yy + cr[x]
		g[x] = yy + cg[x]
		b[x] = yy + cb[x]
	}
}

// copyPacked converts packed RGB or BGR at scale 1.
func (pl *plan) copyPacked(f *Frame, emit func(int, *[3][]int32)) {
	w, s := pl.w, f.Strides[0]
	ro, bo := 0, 2
	if f.Format == BGR {
		ro, bo = 2, 0
	}
	r, g, b := pl.rgb[0][:w], pl.rgb[1][:w], pl.rgb[2][:w]
	for j := range pl.h {
		row := f.Planes[0][j*s : j*s+3*w]
		for x := range r {
			px := row[3*x : 3*x+3 : 3*x+3]
			r[x] = int32(px[ro]) << fixShift
			g[x] = int32(px[1]) << fixShift
			b[x] = int32(px[bo]) << fixShift
		}
		emit(j, &pl.rgb)
	}
}

// resampleYUV converts with bilinear resampling: Y, U and V are each interpolated into a
// row buffer, then the row is converted. Separate passes keep each loop's working set in
// registers.
func (pl *plan) resampleYUV(f *Frame, t *yuvTables, emit func(int, *[3][]int32)) {
	w, cw := pl.w, (pl.w+1)/2
	ys, us, vs := f.Strides[0], f.Strides[1], f.Strides[2]
	uplane, vplane, voff, crowBytes := f.Planes[1], f.Planes[2], 0, cw
	if f.Format == NV12 {
		vplane, vs, voff, crowBytes = uplane, us, 1, 2*cw
	}
	for j, ty := range pl.rows {
		tc := pl.crows[j]
		y0 := f.Planes[0][int(ty.i0)*ys : int(ty.i0)*ys+w]
		y1 := f.Planes[0][int(ty.i1)*ys : int(ty.i1)*ys+w]
		u0 := uplane[int(tc.i0)*us : int(tc.i0)*us+crowBytes]
		u1 := uplane[int(tc.i1)*us : int(tc.i1)*us+crowBytes]
		v0 := vplane[int(tc.i0)*vs+voff : int(tc.i0)*vs+crowBytes]
		v1 := vplane[int(tc.i1)*vs+voff : int(tc.i1)*vs+crowBytes]
		interpolateRow(pl.yuv[0], y0, y1, pl.cols, ty)
		interpolateRow(pl.yuv[1], u0, u1, pl.ccols, tc)
		interpolateRow(pl.yuv[2], v0, v1, pl.ccols, tc)
		convertRow(&pl.rgb, &pl.yuv, t)
		emit(j, &pl.rgb)
	}
}

// interpolateRow samples between rows r0 and r1 at each of cols, with ty's vertical
// weights, into dst in 1/256 of a level.
func interpolateRow(dst []int32, r0, r1 []byte, cols []tap, ty tap) {
	cols = cols[:len(dst)]
	if ty.w == 0 {
		// On a source row (an odd downscale factor, or an edge): one row, one rounding.
		const down = tapBits - 8
		for x, tx := range cols {
			dst[x] = int32((lerp(r0, tx) + 1<<(down-1)) >> down)
		}
		return
	}
	const down = 2*tapBits - 8
	wy := int(ty.w)
	for x, tx := range cols {
		a := lerp(r0, tx)
		dst[x] = int32((a<<tapBits + (lerp(r1, tx)-a)*wy + 1<<(down-1)) >> down)
	}
}

// convertRow turns a row of Y, U, V in 1/256 of a level into R, G, B in fixed point.
func convertRow(rgb, yuv *[3][]int32, t *yuvTables) {
	cy, crv, cgu, cgv, cbu := int(t.cy), int(t.crv), int(t.cgu), int(t.cgv), int(t.cbu)
	yr := yuv[0]
	ur, vr := yuv[1][:len(yr)], yuv[2][:len(yr)]
	r, g, b := rgb[0][:len(yr)], rgb[1][:len(yr)], rgb[2][:len(yr)]
	for x, yv := range yr {
		// Coefficients in 1/4096 times samples in 1/256 give fixed point after >>8.
		yy := (int(yv) - 16<<8) * cy
		uc, vc := int(ur[x])-128<<8, int(vr[x])-128<<8
		r[x] = int32((yy + vc*crv) >> 8)
		g[x] = int32((yy + uc*cgu + vc*cgv) >> 8)
		b[x] = int32((yy + uc*cbu) >> 8)
	}
}

// lerp interpolates between the two samples of a row that t names, times tapOne.
func lerp(row []byte, t tap) int {
	a := int(row[t.i0])
	return a<<tapBits + (int(row[t.i1])-a)*int(t.w)
}

// resamplePacked converts packed RGB or BGR with bilinear resampling.
func (pl *plan) resamplePacked(f *Frame, emit func(int, *[3][]int32)) {
	w, s := pl.w, f.Strides[0]
	ro, bo := 0, 2
	if f.Format == BGR {
		ro, bo = 2, 0
	}
	r, g, b := pl.rgb[0], pl.rgb[1], pl.rgb[2]
	cols := pl.cols[:len(r)]
	r, g, b = r[:len(cols)], g[:len(cols)], b[:len(cols)]
	// Interpolated values come in 2^-2·tapBits of a level; fixed point wants 2^-fixShift.
	const down = 2*tapBits - fixShift
	for j, ty := range pl.rows {
		p0 := f.Planes[0][int(ty.i0)*s : int(ty.i0)*s+3*w]
		p1 := f.Planes[0][int(ty.i1)*s : int(ty.i1)*s+3*w]
		wy := int(ty.w)
		for x, tx := range cols {
			r[x] = int32((lerp2(p0, p1, tx, ro, wy) + 1<<(down-1)) >> down)
			g[x] = int32((lerp2(p0, p1, tx, 1, wy) + 1<<(down-1)) >> down)
			b[x] = int32((lerp2(p0, p1, tx, bo, wy) + 1<<(down-1)) >> down)
		}
		emit(j, &pl.rgb)
	}
}

// lerp2 interpolates the byte at offset o of the pixels t names in rows r0 and r1, then
// between the rows with weight wy for r1, times tapOne².
func lerp2(r0, r1 []byte, t tap, o, wy int) int {
	i0, i1, w := int(t.i0)+o, int(t.i1)+o, int(t.w)
	a, b := int(r0[i0]), int(r1[i0])
	a = a<<tapBits + (int(r0[i1])-a)*w
	b = b<<tapBits + (int(r1[i1])-b)*w
	return a<<tapBits + (b-a)*wy
}

// emitFloat32 clamps fixed-point values to 0..255 levels and scales them to the model's
// numbers.
func emitFloat32(dst []float32, src []int32, k, b float32) {
	src = src[:len(dst)]
	for i, v := range src {
		v = min(max(v, 0), fixMax)
		dst[i] = float32(v)*k + b
	}
}

// emitFloat16 clamps fixed-point values and looks up their float16.
func emitFloat16(dst []uint16, src []int32, lut *[lut16Size]uint16) {
	src = src[:len(dst)]
	for i, v := range src {
		v = min(max(v, 0), fixMax)
		dst[i] = lut[(v+1<<(lut16Shift-1))>>lut16Shift&(lut16Size-1)]
	}
}

func fill[T float32 | uint16](s []T, v T) {
	for i := range s {
		s[i] = v
	}
}

// Float32ToFloat16 returns the IEEE 754 binary16 bit pattern nearest to f, ties to even.
// Values beyond ±65504 (after rounding) become ±Inf, values below half the smallest
// subnormal become ±0, and NaN stays a (quiet) NaN.
func Float32ToFloat16(f float32) uint16 {
	bits := math.Float32bits(f)
	sign := uint16(bits>>16) & 0x8000
	exp := int(bits>>23) & 0xff
	mant := bits & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00 | uint16(mant>>13) // quiet, keeping the payload's top bits
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15 // float16 exponent
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Subnormal: m·2⁻²⁴ with the implicit bit made explicit.
		if e < -10 {
			return sign
		}
		full := mant | 0x800000
		shift := uint(14 - e)
		m := full >> shift
		rem, half := full&(1<<shift-1), uint32(1)<<(shift-1)
		if rem > half || rem == half && m&1 == 1 {
			m++ // may carry into the smallest normal, which is the right encoding
		}
		return sign | uint16(m)
	}
	m := mant >> 13
	rem := mant & 0x1fff
	h := uint32(e)<<10 | m
	if rem > 0x1000 || rem == 0x1000 && m&1 == 1 {
		h++ // a carry into the exponent is right, up to Inf
	}
	return sign | uint16(h)
}
