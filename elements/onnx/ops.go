package onnx

import (
	"slices"
)

// Operator methods of Graph, with the shape inference each needs. Signatures follow
// opset 17 (see https://onnx.ai/onnx/operators/).

// ConvOptions are Conv's attributes. Zero values mean ONNX's defaults: stride 1, no
// padding, dilation 1, one group.
type ConvOptions struct {
	// Stride applies to both spatial axes.
	Stride int64
	// Pad pads every side of both spatial axes by the same amount.
	Pad int64
	// Group splits input and output channels into this many independent groups.
	Group int64
}

// Conv is a 2-D convolution of x [N, C, H, W] with weights w [M, C/group, kH, kW] and the
// optional bias b [M] (the zero Value for none).
func (g *Graph) Conv(x, w, b Value, o ConvOptions) Value {
	if !g.known("Conv", []Value{x, w, b}) {
		return Value{}
	}
	stride, pad, group := max(o.Stride, 1), o.Pad, max(o.Group, 1)
	if len(x.shape) != 4 || len(w.shape) != 4 {
		g.fail("Conv: want 4-D input and weights, got %v and %v", x.shape, w.shape)
		return Value{}
	}
	c, m := x.shape[1], w.shape[0]
	if c.Param != "" || c.Value != w.shape[1].Value*group {
		g.fail("Conv %s: input has %v channels, weights %s expect %d (×%d groups)", x.name, c, w.name, w.shape[1].Value, group)
		return Value{}
	}
	if m.Value%group != 0 {
		g.fail("Conv %s: %d output channels do not split into %d groups", w.name, m.Value, group)
		return Value{}
	}
	if b.name != "" && (len(b.shape) != 1 || b.shape[0] != m) {
		g.fail("Conv %s: bias %s has shape %v, want [%d]", w.name, b.name, b.shape, m.Value)
		return Value{}
	}
	out := []Dimension{x.shape[0], m, {}, {}}
	for i := 2; i < 4; i++ {
		in, k := x.shape[i], w.shape[i].Value
		if in.Param != "" {
			g.fail("Conv %s: spatial axis %d is symbolic (%q)", x.name, i, in.Param)
			return Value{}
		}
		n := (in.Value+2*pad-k)/stride + 1
		if n < 1 {
			g.fail("Conv %s: kernel %d does not fit axis %d of size %d", w.name, k, i, in.Value)
			return Value{}
		}
		out[i] = Dim(n)
	}
	kh, kw := w.shape[2].Value, w.shape[3].Value
	return g.node1("Conv", []Value{x, w, b}, out,
		AttrInts("kernel_shape", kh, kw),
		AttrInts("strides", stride, stride),
		AttrInts("pads", pad, pad, pad, pad),
		AttrInts("dilations", 1, 1),
		AttrInt("group", group))
}

// MaxPool is a 2-D max pooling of x [N, C, H, W] with a k×k window.
func (g *Graph) MaxPool(x Value, k, stride, pad int64) Value {
	if !g.known("MaxPool", []Value{x}) {
		return Value{}
	}
	if len(x.shape) != 4 {
		g.fail("MaxPool: want a 4-D input, got %v", x.shape)
		return Value{}
	}
	if k < 1 || stride < 1 || pad < 0 {
		g.fail("MaxPool %s: window %d, stride %d, pad %d", x.name, k, stride, pad)
		return Value{}
	}
	out := slices.Clone(x.shape)
	for i := 2; i < 4; i++ {
		n := (x.shape[i].Value+2*pad-k)/stride + 1
		if x.shape[i].Param != "" || n < 1 {
			g.fail("MaxPool %s: window %d does not fit axis %d (%v)", x.name, k, i, x.shape[i])
			return Value{}
		}
		out[i] = Dim(n)
	}
	return g.node1("MaxPool", []Value{x}, out,
		AttrInts("kernel_shape", k, k),
		AttrInts("strides", stride, stride),
		AttrInts("pads", pad, pad, pad, pad))
}

// Upsample enlarges the two spatial axes of x [N, C, H, W] by the whole factor f,
// repeating pixels (Resize, nearest). Its scales are an initializer named name.
func (g *Graph) Upsample(name string, x Value, f int64) Value {
	if !g.known("Resize", []Value{x}) {
		return Value{}
	}
	if len(x.shape) != 4 || f < 1 {
		g.fail("Upsample %s: want a 4-D input and a factor ≥ 1, got %v and %d", x.name, x.shape, f)
		return Value{}
	}
	scales := g.Initializer(name, []int64{4}, []float32{1, 1, float32(f), float32(f)})
	out := slices.Clone(x.shape)
	out[2], out[3] = Dim(x.shape[2].Value*f), Dim(x.shape[3].Value*f)
	// roi is unused by nearest resizing but comes before scales, so it is named "".
	return g.node1("Resize", []Value{x, {}, scales}, out,
		AttrString("mode", "nearest"),
		AttrString("coordinate_transformation_mode", "asymmetric"),
		AttrString("nearest_mode", "floor"))
}

// Relu is max(x, 0).
func (g *Graph) Relu(x Value) Value { return g.unary("Relu", x) }

// Sigmoid is 1/(1+exp(-x)).
func (g *Graph) Sigmoid(x Value) Value { return g.unary("Sigmoid", x) }

// SiLU is x·sigmoid(x), YOLOv8's activation, as two standard operators (ONNX Runtime
// fuses them).
func (g *Graph) SiLU(x Value) Value { return g.Mul(x, g.Sigmoid(x)) }

// Softmax normalises x along axis.
func (g *Graph) Softmax(x Value, axis int64) Value {
	return g.unary("Softmax", x, AttrInt("axis", axis))
}

func (g *Graph) unary(op string, x Value, attrs ...*AttributeProto) Value {
	if !g.known(op, []Value{x}) {
		return Value{}
	}
	return g.node1(op, []Value{x}, slices.Clone(x.shape), attrs...)
}

// Add is a + b, broadcasting as numpy does.
func (g *Graph) Add(a, b Value) Value { return g.elementwise("Add", a, b) }

// Sub is a - b, broadcasting as numpy does.
func (g *Graph) Sub(a, b Value) Value { return g.elementwise("Sub", a, b) }

// Mul is a · b, broadcasting as numpy does.
func (g *Graph) Mul(a, b Value) Value { return g.elementwise("Mul", a, b) }

// Min is the element-wise minimum of its inputs, broadcasting as numpy does.
func (g *Graph) Min(vs ...Value) Value { return g.elementwise("Min", vs...) }

// Max is the element-wise maximum of its inputs, broadcasting as numpy does.
func (g *Graph) Max(vs ...Value) Value { return g.elementwise("Max", vs...) }

func (g *Graph) elementwise(op string, vs ...Value) Value {
	if !g.known(op, vs) {
		return Value{}
	}
	if len(vs) == 0 {
		g.fail("%s: no inputs", op)
		return Value{}
	}
	shape := vs[0].shape
	for _, v := range vs[1:] {
		var ok bool
		if shape, ok = broadcast(shape, v.shape); !ok {
			g.fail("%s: shapes %v and %v do not broadcast", op, vs[0].shape, v.shape)
			return Value{}
		}
	}
	return g.node1(op, vs, shape)
}

// broadcast is numpy's multidirectional broadcasting of two shapes.
func broadcast(a, b []Dimension) ([]Dimension, bool) {
	if a == nil || b == nil {
		return nil, true
	}
	n := max(len(a), len(b))
	out := make([]Dimension, n)
	for i := range n {
		var da, db Dimension = Dim(1), Dim(1)
		if j := i - (n - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (n - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da.Param == "" && da.Value == 1:
			out[i] = db
		case db.Param == "" && db.Value == 1:
			out[i] = da
		default:
			return nil, false
		}
	}
	return out, true
}

// ReduceMin is the minimum of x over axes; keepDims keeps them as size 1.
func (g *Graph) ReduceMin(x Value, axes []int64, keepDims bool) Value {
	if !g.known("ReduceMin", []Value{x}) {
		return Value{}
	}
	var out []Dimension
	for i, d := range x.shape {
		switch {
		case !slices.Contains(axes, int64(i)):
			out = append(out, d)
		case keepDims:
			out = append(out, Dim(1))
		}
	}
	keep := int64(0)
	if keepDims {
		keep = 1
	}
	return g.node1("ReduceMin", []Value{x}, out, AttrInts("axes", axes...), AttrInt("keepdims", keep))
}

// Concat joins its inputs along axis; all other axes must agree.
func (g *Graph) Concat(axis int64, vs ...Value) Value {
	if !g.known("Concat", vs) {
		return Value{}
	}
	if len(vs) == 0 || axis < 0 || int(axis) >= len(vs[0].shape) {
		g.fail("Concat: bad axis %d or no inputs", axis)
		return Value{}
	}
	out := slices.Clone(vs[0].shape)
	for _, v := range vs[1:] {
		if len(v.shape) != len(out) {
			g.fail("Concat: ranks differ: %v and %v", vs[0].shape, v.shape)
			return Value{}
		}
		for i := range out {
			switch {
			case int64(i) == axis:
				if v.shape[i].Param != "" || out[i].Param != "" {
					g.fail("Concat: symbolic concat axis")
					return Value{}
				}
				out[i].Value += v.shape[i].Value
			case v.shape[i] != out[i]:
				g.fail("Concat: shapes %v and %v differ off axis %d", vs[0].shape, v.shape, axis)
				return Value{}
			}
		}
	}
	return g.node1("Concat", vs, out, AttrInt("axis", axis))
}

// Split cuts x into n equal parts along axis.
func (g *Graph) Split(x Value, axis int64, n int) []Value {
	if !g.known("Split", []Value{x}) {
		return make([]Value, n)
	}
	if n < 1 || axis < 0 || int(axis) >= len(x.shape) || x.shape[axis].Param != "" || x.shape[axis].Value%int64(n) != 0 {
		g.fail("Split: cannot cut %v into %d along axis %d", x.shape, n, axis)
		return make([]Value, n)
	}
	part := slices.Clone(x.shape)
	part[axis].Value /= int64(n)
	shapes := make([][]Dimension, n)
	for i := range shapes {
		shapes[i] = part
	}
	return g.node("Split", []Value{x}, nil, shapes, x.elem, []*AttributeProto{AttrInt("axis", axis)})
}

// Reshape gives x the shape shape, whose constant becomes an initializer named name.
// As in ONNX, 0 copies the input's dimension and one -1 takes what is left; a symbolic
// dimension can only be copied with 0.
func (g *Graph) Reshape(name string, x Value, shape []int64) Value {
	if !g.known("Reshape", []Value{x}) {
		return Value{}
	}
	out := make([]Dimension, len(shape))
	known, rest := int64(1), -1
	for i, s := range shape {
		switch {
		case s == 0 && i < len(x.shape):
			out[i] = x.shape[i]
		case s == -1 && rest < 0:
			rest = i
		case s > 0:
			out[i] = Dim(s)
			known *= s
		default:
			g.fail("Reshape %s: bad target shape %v", x.name, shape)
			return Value{}
		}
	}
	// The input's elements, less the symbolic dimensions copied through with 0.
	total := int64(1)
	for i, d := range x.shape {
		copied := i < len(shape) && shape[i] == 0
		switch {
		case copied:
		case d.Param != "":
			g.fail("Reshape %s: symbolic dimension %q must be copied with 0", x.name, d.Param)
			return Value{}
		default:
			total *= d.Value
		}
	}
	if rest >= 0 {
		out[rest] = Dim(total / known)
		known *= total / known
	}
	if known != total {
		g.fail("Reshape %s: %v does not fit %v", x.name, x.shape, shape)
		return Value{}
	}
	s := g.InitializerInt64(name, []int64{int64(len(shape))}, shape)
	return g.node1("Reshape", []Value{x, s}, out)
}

// Transpose permutes the axes of x: output axis i is input axis perm[i].
func (g *Graph) Transpose(x Value, perm ...int64) Value {
	if !g.known("Transpose", []Value{x}) {
		return Value{}
	}
	if len(perm) != len(x.shape) {
		g.fail("Transpose %s: permutation %v for rank %d", x.name, perm, len(x.shape))
		return Value{}
	}
	out := make([]Dimension, len(perm))
	seen := make([]bool, len(perm))
	for i, p := range perm {
		if p < 0 || int(p) >= len(perm) || seen[p] {
			g.fail("Transpose %s: %v is not a permutation", x.name, perm)
			return Value{}
		}
		seen[p] = true
		out[i] = x.shape[p]
	}
	return g.node1("Transpose", []Value{x}, out, AttrInts("perm", perm...))
}
