package onnx

import (
	"fmt"
	"slices"
)

// Value is a tensor of a [Graph] under construction: a graph input, an initializer or a
// node output, with the element type and shape the builder inferred. The zero Value is
// "no value": pass it for an optional operator input that is left out.
type Value struct {
	name  string
	elem  DataType
	shape []Dimension // nil when the builder cannot infer it
}

// Name is the value's name in the graph.
func (v Value) Name() string { return v.name }

// Shape is the inferred shape, nil when unknown. Symbolic dimensions keep their names.
func (v Value) Shape() []Dimension { return slices.Clone(v.shape) }

// Graph builds a [GraphProto] one operator at a time. Every operator method appends a
// node, names its output and infers its shape; the first error (an unknown input, a shape
// that does not fit) sticks, later calls do nothing, and [Graph.Model] returns it. So a
// model is written as a plain sequence of calls with one error check at the end, as with
// bufio.Writer.
//
// A Graph is not safe for concurrent use.
type Graph struct {
	proto GraphProto
	// values are all names in use, for the uniqueness ONNX demands and to catch values
	// from another graph.
	values map[string]Value
	count  map[string]int // per operator, for node names
	err    error
}

// NewGraph starts an empty graph named name.
func NewGraph(name string) *Graph {
	return &Graph{
		proto:  GraphProto{Name: name},
		values: make(map[string]Value),
		count:  make(map[string]int),
	}
}

// Err returns the first error the graph met, or nil.
func (g *Graph) Err() error { return g.err }

func (g *Graph) fail(format string, args ...any) {
	if g.err == nil {
		g.err = invalidf(format, args...)
	}
}

// claim registers a new value name; false (and the error set) if it is taken or empty.
func (g *Graph) claim(v Value) bool {
	if g.err != nil {
		return false
	}
	if v.name == "" {
		g.fail("empty value name")
		return false
	}
	if _, ok := g.values[v.name]; ok {
		g.fail("value name %q used twice", v.name)
		return false
	}
	g.values[v.name] = v
	return true
}

// known checks that every input is a value of this graph or the zero Value.
func (g *Graph) known(op string, in []Value) bool {
	if g.err != nil {
		return false
	}
	for i, v := range in {
		if v.name == "" {
			continue
		}
		if _, ok := g.values[v.name]; !ok {
			g.fail("%s: input %d (%q) is not a value of graph %q", op, i, v.name, g.proto.Name)
			return false
		}
	}
	return true
}

// Input declares a graph input with element type elem and shape dims; use DimParam for
// a dynamic axis such as the batch.
func (g *Graph) Input(name string, elem DataType, dims ...Dimension) Value {
	v := Value{name: name, elem: elem, shape: slices.Clone(dims)}
	if !g.claim(v) {
		return Value{}
	}
	g.proto.Input = append(g.proto.Input, TensorValueInfo(name, elem, v.shape...))
	return v
}

// Output declares v a graph output named name. When v has another name an Identity node
// renames it (ONNX Runtime optimises it away). v's shape must be known.
func (g *Graph) Output(name string, v Value) {
	if !g.known("Output", []Value{v}) {
		return
	}
	if v.name == "" || v.shape == nil {
		g.fail("output %q: value %q has no known shape", name, v.name)
		return
	}
	if v.name != name {
		v = g.node("Identity", []Value{v}, []string{name}, [][]Dimension{v.shape}, v.elem, nil)[0]
		if g.err != nil {
			return
		}
	}
	g.proto.Output = append(g.proto.Output, TensorValueInfo(name, v.elem, v.shape...))
}

// Initializer adds a named float32 constant of shape dims, e.g. a convolution's weights.
func (g *Graph) Initializer(name string, dims []int64, data []float32) Value {
	return g.initializer(FloatTensor(name, slices.Clone(dims), data))
}

// InitializerInt64 adds a named int64 constant of shape dims, e.g. a Reshape's shape.
func (g *Graph) InitializerInt64(name string, dims []int64, data []int64) Value {
	return g.initializer(Int64Tensor(name, slices.Clone(dims), data))
}

func (g *Graph) initializer(t *TensorProto) Value {
	n, err := numElements(t.Dims)
	if err != nil {
		g.fail("initializer %q: %v", t.Name, err)
		return Value{}
	}
	if int64(len(t.RawData)) != n*int64(t.DataType.size()) {
		g.fail("initializer %q: shape %v needs %d elements, got %d bytes", t.Name, t.Dims, n, len(t.RawData))
		return Value{}
	}
	v := Value{name: t.Name, elem: t.DataType, shape: fixedDims(t.Dims)}
	if !g.claim(v) {
		return Value{}
	}
	g.proto.Initializer = append(g.proto.Initializer, t)
	return v
}

// Op appends a node of any operator with the given inputs and attributes and returns its
// numOutputs outputs. It infers no shapes: the outputs' shapes are unknown, so they cannot
// feed shape-checked operators or become graph outputs. It is the way out for operators
// the builder has no method for.
func (g *Graph) Op(opType string, inputs []Value, numOutputs int, attrs ...*AttributeProto) []Value {
	if numOutputs < 1 {
		g.fail("%s: %d outputs", opType, numOutputs)
		return make([]Value, max(numOutputs, 0))
	}
	return g.node(opType, inputs, nil, make([][]Dimension, numOutputs), DataTypeFloat, attrs)
}

// node appends one node. names are the outputs' names, generated when nil; shapes has one
// entry per output (nil for unknown).
func (g *Graph) node(op string, in []Value, names []string, shapes [][]Dimension, elem DataType, attrs []*AttributeProto) []Value {
	outs := make([]Value, len(shapes))
	if !g.known(op, in) {
		return outs
	}
	g.count[op]++
	nodeName := fmt.Sprintf("%s_%d", op, g.count[op])
	n := &NodeProto{Name: nodeName, OpType: op, Attribute: attrs}
	for _, v := range in {
		n.Input = append(n.Input, v.name)
	}
	// ONNX lets trailing optional inputs be left out entirely rather than named "".
	for len(n.Input) > 0 && n.Input[len(n.Input)-1] == "" {
		n.Input = n.Input[:len(n.Input)-1]
	}
	for i, s := range shapes {
		name := nodeName
		if names != nil {
			name = names[i]
		} else if len(shapes) > 1 {
			name = fmt.Sprintf("%s:%d", nodeName, i)
		}
		v := Value{name: name, elem: elem, shape: s}
		if !g.claim(v) {
			return make([]Value, len(shapes))
		}
		outs[i] = v
		n.Output = append(n.Output, name)
		if s != nil {
			g.proto.ValueInfo = append(g.proto.ValueInfo, TensorValueInfo(name, elem, s...))
		}
	}
	g.proto.Node = append(g.proto.Node, n)
	return outs
}

// node1 appends a node with one output of the given shape, as most operators have.
func (g *Graph) node1(op string, in []Value, shape []Dimension, attrs ...*AttributeProto) Value {
	elem := DataTypeFloat
	if len(in) > 0 {
		elem = in[0].elem
	}
	return g.node(op, in, nil, [][]Dimension{shape}, elem, attrs)[0]
}

// Model wraps the graph in a ModelProto of IR version [IRVersion] importing the default
// operator set at [OpsetVersion], produced by "pigweight"; callers may set the model's
// other fields before [ModelProto.Marshal]. It returns the graph's first error, if any.
func (g *Graph) Model() (*ModelProto, error) {
	if g.err != nil {
		return nil, fmt.Errorf("graph %q: %w", g.proto.Name, g.err)
	}
	if len(g.proto.Output) == 0 {
		return nil, fmt.Errorf("graph %q: %w", g.proto.Name, invalidf("no outputs"))
	}
	// The model gets its own lists, so building on the graph does not change it; the
	// nodes and tensors themselves are shared.
	p := g.proto
	p.Node = slices.Clone(p.Node)
	p.Initializer = slices.Clone(p.Initializer)
	p.Input = slices.Clone(p.Input)
	p.Output = slices.Clone(p.Output)
	// Graph outputs are typed in Output; repeating them in value_info is legal but noise.
	outs := make(map[string]bool, len(p.Output))
	for _, o := range p.Output {
		outs[o.Name] = true
	}
	p.ValueInfo = slices.DeleteFunc(slices.Clone(p.ValueInfo), func(v *ValueInfoProto) bool { return outs[v.Name] })
	return &ModelProto{
		IRVersion:    IRVersion,
		OpsetImport:  []OperatorSetIdProto{{Domain: "", Version: OpsetVersion}},
		ProducerName: "pigweight",
		Graph:        &p,
	}, nil
}

// fixedDims turns a constant's shape into Dimensions.
func fixedDims(dims []int64) []Dimension {
	out := make([]Dimension, len(dims))
	for i, d := range dims {
		out[i] = Dim(d)
	}
	return out
}
