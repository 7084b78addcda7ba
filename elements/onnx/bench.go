package onnx

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Names and sizes of the bench model's input and output, those of a YOLOv8 detector
// exported by Ultralytics.
const (
	BenchInput   = "images"
	BenchOutput  = "output0"
	BenchSize    = 640  // input height and width
	BenchClasses = 80   // COCO classes
	BenchAnchors = 8400 // 80×80 + 40×40 + 20×20 cells at strides 8, 16, 32
)

// BenchModel returns a convolutional network with YOLOv8n's architecture and cost and
// random weights drawn from seed, for performance work: it takes what YOLOv8n takes and
// returns what it returns, so pipelines, batching and decoders can be timed without the
// real weights.
//
// Input "images" is float32 [batch, 3, 640, 640]; output "output0" is float32
// [batch, 84, 8400]: per anchor, a box (centre x, centre y, width, height, in input
// pixels) and 80 class scores in 0..1. The batch is dynamic.
//
// The layers are YOLOv8n's with batch norm folded into the convolutions: a backbone of
// 3×3 stride-2 convolutions and C2f blocks, SPPF, a PAN neck, and a decoupled head at
// strides 8, 16 and 32 whose box branch is decoded by DFL (softmax over 16 bins) against
// the anchor grid. That is 8.7 GFLOPs at batch 1, counting 2 per multiply-add of every
// convolution, and 3.2 million parameters (a 13 MB file). Weights are Gaussian, scaled
// layer by layer so activations keep unit scale through the depth (see benchNet); class
// biases start where Ultralytics starts them, so scores are near zero as in an untrained
// detector and post-processing sees few candidates.
func BenchModel(seed int64) ([]byte, error) {
	n := &benchNet{
		g:     NewGraph("pigweight-bench-yolov8n"),
		rng:   rand.New(rand.NewPCG(uint64(seed), 0x6a09e667f3bcc909)),
		stats: make(map[string]moments),
	}
	x := n.g.Input(BenchInput, DataTypeFloat, DimParam("batch"), Dim(3), Dim(BenchSize), Dim(BenchSize))
	n.stats[x.name] = uniform(3, 0.5, 1.0/12) // pixels uniform in 0..1

	// Backbone; sizes are for 640² input.
	x = n.conv("model.0", x, 16, 3, 2)   // 320²
	x = n.conv("model.1", x, 32, 3, 2)   // 160²
	x = n.c2f("model.2", x, 32, 1, true) //
	x = n.conv("model.3", x, 64, 3, 2)   // 80²
	p3 := n.c2f("model.4", x, 64, 2, true)
	x = n.conv("model.5", p3, 128, 3, 2) // 40²
	p4 := n.c2f("model.6", x, 128, 2, true)
	x = n.conv("model.7", p4, 256, 3, 2) // 20²
	x = n.c2f("model.8", x, 256, 1, true)
	p5 := n.sppf("model.9", x, 256)

	// Neck: top-down, then bottom-up.
	x = n.concat(n.upsample("model.10", p5), p4)
	n4 := n.c2f("model.12", x, 128, 1, false)
	x = n.concat(n.upsample("model.13", n4), p3)
	o3 := n.c2f("model.15", x, 64, 1, false)
	x = n.concat(n.conv("model.16", o3, 64, 3, 2), n4)
	o4 := n.c2f("model.18", x, 128, 1, false)
	x = n.concat(n.conv("model.19", o4, 128, 3, 2), p5)
	o5 := n.c2f("model.21", x, 256, 1, false)

	n.g.Output(BenchOutput, n.detect("model.22", []Value{o3, o4, o5}, []int64{8, 16, 32}))
	m, err := n.g.Model()
	if err != nil {
		return nil, fmt.Errorf("bench model: %w", err)
	}
	m.DocString = fmt.Sprintf("YOLOv8n architecture with random weights (seed %d), for benchmarks only.", seed)
	return m.Marshal()
}

// benchNet builds the bench model: the graph, the random source of its weights and the
// expected statistics of its activations.
//
// Random weights alone do not make a usable network: without batch norm nothing keeps
// activations at scale, and through YOLOv8n's depth they fade towards denormals (which
// slow CPUs down) or grow until every class score is 0 or 1 (which floods
// post-processing). So benchNet follows the expected mean and variance of every channel
// through the graph, assuming independent Gaussian pre-activations, and gives each
// convolution what a folded batch norm would: a per-output-channel scale and bias that
// make its pre-activations zero-mean, unit-variance. The estimates are only estimates
// (max pooling and correlated channels defeat them a little), so the weights are also
// made to cancel a shared error in the mean of their inputs (see weights); measured on
// noise input, activations then stay within a factor of two of plan to the head.
type benchNet struct {
	g   *Graph
	rng *rand.Rand
	// stats are the expected per-channel moments of the values built so far, by name.
	stats map[string]moments
}

// moments are the expected mean and variance of each channel of a value, and the group
// of each channel: channels in one group come from one tensor (see weights).
type moments struct {
	mean, vari []float64
	group      []int
}

// uniform returns the moments of c channels in one group that all have mean m and
// variance v.
func uniform(c int64, m, v float64) moments {
	s := moments{mean: make([]float64, c), vari: make([]float64, c), group: make([]int, c)}
	for i := range c {
		s.mean[i], s.vari[i] = m, v
	}
	return s
}

// slice returns the moments of channels [from, to).
func (s moments) slice(from, to int64) moments {
	return moments{mean: s.mean[from:to], vari: s.vari[from:to], group: s.group[from:to]}
}

// channels is the channel count of a [N, C, H, W] value, 0 if unknown (the graph has
// failed already then, and the next operator will not run).
func channels(v Value) int64 {
	if len(v.shape) < 2 {
		return 0
	}
	return v.shape[1].Value
}

// weights adds the weights and bias of a k×k conv from x to cout channels: Gaussian,
// scaled and shifted per output channel so its output has mean shift and variance 1.
//
// Each output channel's weights over every group of input channels sum to zero. A group
// is a tensor the input was concatenated from, and an error in the expected statistics
// of a tensor shifts the mean of all its channels alike; zero-sum weights cancel such a
// shift instead of passing it on, where SiLU would turn it into a larger error still.
func (n *benchNet) weights(name string, x Value, cout, k int64, shift float64) (w, b Value) {
	cin := channels(x)
	in := n.stats[x.name]
	if int64(len(in.mean)) != cin {
		in = uniform(cin, 0, 1) // unknown stats; the graph has failed or will fail
	}
	per := cin * k * k // weights per output channel, laid out [cin][k][k]
	groups := 0
	for _, g := range in.group {
		groups = max(groups, g+1)
	}
	sum := make([]float64, groups)
	count := make([]float64, groups)
	for _, g := range in.group {
		count[g] += float64(k * k)
	}
	ws := make([]float32, cout*per)
	bs := make([]float32, cout)
	raw := make([]float64, per)
	for o := range cout {
		clear(sum)
		for i := range raw {
			raw[i] = n.rng.NormFloat64()
			sum[in.group[int64(i)/(k*k)]] += raw[i]
		}
		var mean, vari float64
		for i := range raw {
			c := int64(i) / (k * k)
			g := in.group[c]
			raw[i] -= sum[g] / count[g]
			mean += raw[i] * in.mean[c]
			vari += raw[i] * raw[i] * in.vari[c]
		}
		scale := 1 / math.Sqrt(max(vari, 1e-12))
		for i, r := range raw {
			ws[o*per+int64(i)] = float32(r * scale)
		}
		bs[o] = float32(shift - mean*scale)
	}
	w = n.g.Initializer(name+".weight", []int64{cout, cin, k, k}, ws)
	b = n.g.Initializer(name+".bias", []int64{cout}, bs)
	return w, b
}

// conv is Ultralytics' Conv: convolution, batch norm (folded into the weights) and SiLU,
// padded to keep the size at stride 1.
func (n *benchNet) conv(name string, x Value, cout, k, stride int64) Value {
	w, b := n.weights(name+".conv", x, cout, k, 0)
	y := n.g.SiLU(n.g.Conv(x, w, b, ConvOptions{Stride: stride, Pad: k / 2}))
	m, v := siluOfMax(1) // pre-activations are N(0, 1)
	n.stats[y.name] = uniform(cout, m, v)
	return y
}

// c2f is Ultralytics' C2f: a 1×1 conv split in two halves, a chain of bottlenecks
// (two 3×3 convs, with a residual add when shortcut) on the second half, and a 1×1 conv
// over every intermediate concatenated.
func (n *benchNet) c2f(name string, x Value, cout int64, blocks int, shortcut bool) Value {
	c := cout / 2
	cv1 := n.conv(name+".cv1", x, 2*c, 1, 1)
	y := n.g.Split(cv1, 1, 2)
	for i, v := range y {
		s := n.stats[cv1.name]
		if int64(len(s.mean)) == 2*c {
			n.stats[v.name] = s.slice(int64(i)*c, int64(i+1)*c)
		}
	}
	for i := range blocks {
		in := y[len(y)-1]
		m := fmt.Sprintf("%s.m.%d", name, i)
		out := n.conv(m+".cv2", n.conv(m+".cv1", in, c, 3, 1), c, 3, 1)
		if shortcut {
			out = n.add(in, out)
		}
		y = append(y, out)
	}
	return n.conv(name+".cv2", n.concat(y...), cout, 1, 1)
}

// sppf is spatial pyramid pooling, fast: three chained 5×5 max pools over a halved
// input, concatenated with it.
func (n *benchNet) sppf(name string, x Value, cout int64) Value {
	y := []Value{n.conv(name+".cv1", x, channels(x)/2, 1, 1)}
	for i := range 3 {
		p := n.g.MaxPool(y[len(y)-1], 5, 1, 2)
		// Chained 5×5 pools are one pool over 5², 9², 13² pixels of the conv's output;
		// counting those pixels as independent overstates the max a little.
		side := 4*(i+1) + 1
		m, v := siluOfMax(side * side)
		n.stats[p.name] = uniform(channels(p), m, v)
		y = append(y, p)
	}
	return n.conv(name+".cv2", n.concat(y...), cout, 1, 1)
}

// add is a residual add of independent values.
func (n *benchNet) add(a, b Value) Value {
	y := n.g.Add(a, b)
	sa, sb := n.stats[a.name], n.stats[b.name]
	if len(sa.mean) == len(sb.mean) {
		s := uniform(int64(len(sa.mean)), 0, 0)
		for i := range s.mean {
			s.mean[i], s.vari[i] = sa.mean[i]+sb.mean[i], sa.vari[i]+sb.vari[i]
		}
		n.stats[y.name] = s
	}
	return y
}

// concat joins values along the channels, and their moments with them; the groups of
// each value become groups of their own.
func (n *benchNet) concat(vs ...Value) Value {
	y := n.g.Concat(1, vs...)
	var s moments
	next := 0
	for _, v := range vs {
		st := n.stats[v.name]
		s.mean = append(s.mean, st.mean...)
		s.vari = append(s.vari, st.vari...)
		top := 0
		for _, g := range st.group {
			s.group = append(s.group, next+g)
			top = max(top, g+1)
		}
		next += top
	}
	n.stats[y.name] = s
	return y
}

// upsample doubles the spatial size, repeating pixels, which keeps the moments.
func (n *benchNet) upsample(name string, x Value) Value {
	y := n.g.Upsample(name+".scales", x, 2)
	n.stats[y.name] = n.stats[x.name]
	return y
}

// siluOfMax returns the mean and variance of SiLU(max of k independent standard
// normals), by numerical integration: k = 1 is a conv + SiLU, larger k its max-pooled
// output.
func siluOfMax(k int) (mean, vari float64) {
	const lo, hi, steps = -10.0, 10.0, 20000
	dz := (hi - lo) / steps
	var m2 float64
	for i := range steps {
		z := lo + (float64(i)+0.5)*dz
		// Density of the max of k standard normals: k·φ(z)·Φ(z)^(k-1).
		pdf := float64(k) * math.Exp(-z*z/2) / math.Sqrt(2*math.Pi) *
			math.Pow(0.5*math.Erfc(-z/math.Sqrt2), float64(k-1))
		a := z / (1 + math.Exp(-z))
		mean += a * pdf * dz
		m2 += a * a * pdf * dz
	}
	return mean, m2 - mean*mean
}

// regMax is the number of DFL bins per box side.
const regMax = 16

// detect is YOLOv8's Detect head with its export-time decoding: per level a box branch
// (to 4×16 DFL logits) and a class branch (to 80 logits), levels flattened and joined,
// then boxes decoded against the anchor grid and classes squashed to 0..1.
func (n *benchNet) detect(name string, levels []Value, strides []int64) Value {
	c2 := max(16, channels(levels[0])/4, 4*regMax)
	c3 := max(channels(levels[0]), min(BenchClasses, 100))
	var boxes, classes []Value
	for i, x := range levels {
		cv2 := fmt.Sprintf("%s.cv2.%d", name, i)
		cv3 := fmt.Sprintf("%s.cv3.%d", name, i)
		box := n.conv(cv2+".1", n.conv(cv2+".0", x, c2, 3, 1), c2, 3, 1)
		w, b := n.weights(cv2+".2", box, 4*regMax, 1, 1) // Ultralytics starts box biases at 1
		box = n.g.Conv(box, w, b, ConvOptions{})
		cls := n.conv(cv3+".1", n.conv(cv3+".0", x, c3, 3, 1), c3, 3, 1)
		// Ultralytics' bias_init: about 5 objects per 640² image spread over the classes.
		s := float64(strides[i])
		w, b = n.weights(cv3+".2", cls, BenchClasses, 1, math.Log(5.0/BenchClasses/math.Pow(BenchSize/s, 2)))
		cls = n.g.Conv(cls, w, b, ConvOptions{})
		boxes = append(boxes, n.g.Reshape(cv2+".flat", box, []int64{0, 4 * regMax, -1}))
		classes = append(classes, n.g.Reshape(cv3+".flat", cls, []int64{0, BenchClasses, -1}))
	}
	box := n.g.Concat(2, boxes...) // [b, 64, 8400]
	cls := n.g.Concat(2, classes...)

	// DFL: each side's distance is the expectation over 16 bins, as a fixed 1×1 conv.
	box = n.g.Reshape(name+".dfl.in", box, []int64{0, 4, regMax, BenchAnchors})
	box = n.g.Transpose(n.g.Softmax(box, 2), 0, 2, 1, 3) // [b, 16, 4, 8400]
	bins := make([]float32, regMax)
	for i := range bins {
		bins[i] = float32(i)
	}
	dist := n.g.Conv(box, n.g.Initializer(name+".dfl.conv.weight", []int64{1, regMax, 1, 1}, bins), Value{}, ConvOptions{})
	dist = n.g.Reshape(name+".dfl.out", dist, []int64{0, 4, BenchAnchors})

	// dist2bbox: distances left, top, right, bottom from each anchor → centre and size,
	// in input pixels.
	anchors, stride := anchorGrid(strides)
	anch := n.g.Initializer(name+".anchors", []int64{1, 2, BenchAnchors}, anchors)
	str := n.g.Initializer(name+".strides", []int64{1, 1, BenchAnchors}, stride)
	lt := n.g.Split(dist, 1, 2)
	x1y1 := n.g.Sub(anch, lt[0])
	x2y2 := n.g.Add(anch, lt[1])
	half := n.g.Initializer(name+".half", []int64{1}, []float32{0.5})
	centre := n.g.Mul(n.g.Add(x1y1, x2y2), half)
	size := n.g.Sub(x2y2, x1y1)
	xywh := n.g.Mul(n.g.Concat(1, centre, size), str)
	return n.g.Concat(1, xywh, n.g.Sigmoid(cls))
}

// anchorGrid returns the anchor centres (x row, then y row, in grid cells, offset by half
// a cell) and each anchor's stride, for 640² input at the given strides.
func anchorGrid(strides []int64) (xy, stride []float32) {
	xy = make([]float32, 2*BenchAnchors)
	stride = make([]float32, BenchAnchors)
	i := 0
	for _, s := range strides {
		n := BenchSize / int(s)
		for y := range n {
			for x := range n {
				if i < BenchAnchors {
					xy[i] = float32(x) + 0.5
					xy[BenchAnchors+i] = float32(y) + 0.5
					stride[i] = float32(s)
				}
				i++
			}
		}
	}
	return xy, stride
}
