package onnx

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of GraphProto in onnx.proto.
const (
	graphNode        protowire.Number = 1
	graphName        protowire.Number = 2
	graphInitializer protowire.Number = 5
	graphDocString   protowire.Number = 10
	graphInput       protowire.Number = 11
	graphOutput      protowire.Number = 12
	graphValueInfo   protowire.Number = 13
)

// GraphProto is a computation: nodes in topological order, the constant tensors they
// read (initializers) and the typed inputs and outputs of the whole graph.
type GraphProto struct {
	// Name names the graph; ONNX Runtime reports it as the graph name in model metadata.
	Name string
	// Node lists the operators, each after the nodes that produce its inputs.
	Node []*NodeProto
	// Initializer holds the named constants (weights). Since IR version 4 they need not
	// be listed in Input.
	Initializer []*TensorProto
	// DocString describes the graph for people.
	DocString string
	// Input and Output are the graph's interface, with element types and shapes.
	Input, Output []*ValueInfoProto
	// ValueInfo optionally types intermediate values; ONNX Runtime checks it against its
	// own shape inference.
	ValueInfo []*ValueInfoProto
}

func (g *GraphProto) appendTo(b []byte) ([]byte, error) {
	for i, n := range g.Node {
		if n == nil {
			return nil, invalidf("node %d is nil", i)
		}
		nb, err := n.appendTo(nil)
		if err != nil {
			return nil, fmt.Errorf("node %d (%s %q): %w", i, n.OpType, n.Name, err)
		}
		b = appendBytesField(b, graphNode, nb)
	}
	b = appendString(b, graphName, g.Name)
	for i, t := range g.Initializer {
		if t == nil {
			return nil, invalidf("initializer %d is nil", i)
		}
		tb, err := t.appendTo(nil)
		if err != nil {
			return nil, fmt.Errorf("initializer %q: %w", t.Name, err)
		}
		b = appendBytesField(b, graphInitializer, tb)
	}
	b = appendString(b, graphDocString, g.DocString)
	lists := []struct {
		num  protowire.Number
		what string
		vs   []*ValueInfoProto
	}{
		{graphInput, "input", g.Input},
		{graphOutput, "output", g.Output},
		{graphValueInfo, "value_info", g.ValueInfo},
	}
	for _, l := range lists {
		for i, v := range l.vs {
			if v == nil {
				return nil, invalidf("%s %d is nil", l.what, i)
			}
			vb, err := v.appendTo(nil)
			if err != nil {
				return nil, fmt.Errorf("%s %q: %w", l.what, v.Name, err)
			}
			b = appendBytesField(b, l.num, vb)
		}
	}
	return b, nil
}

// Field numbers of NodeProto in onnx.proto.
const (
	nodeInput     protowire.Number = 1
	nodeOutput    protowire.Number = 2
	nodeName      protowire.Number = 3
	nodeOpType    protowire.Number = 4
	nodeAttribute protowire.Number = 5
	nodeDocString protowire.Number = 6
	nodeDomain    protowire.Number = 7
)

// NodeProto is one operator call.
type NodeProto struct {
	// Input and Output name values; an empty input name leaves out an optional input
	// that comes before one that is given.
	Input, Output []string
	// Name identifies the node in errors and profiles; it should be unique in the graph.
	Name string
	// OpType is the operator, e.g. "Conv".
	OpType string
	// Domain is the operator set the operator is from; "" for standard ONNX operators.
	Domain string
	// Attribute holds the operator's attributes.
	Attribute []*AttributeProto
	// DocString describes the node for people.
	DocString string
}

func (n *NodeProto) appendTo(b []byte) ([]byte, error) {
	if n.OpType == "" {
		return nil, invalidf("node has no op_type")
	}
	if len(n.Output) == 0 {
		return nil, invalidf("node has no outputs")
	}
	// Inputs keep their empty names: position is what tells ONNX which input is which.
	for _, s := range n.Input {
		b = appendStringAlways(b, nodeInput, s)
	}
	for _, s := range n.Output {
		b = appendStringAlways(b, nodeOutput, s)
	}
	b = appendString(b, nodeName, n.Name)
	b = appendString(b, nodeOpType, n.OpType)
	for _, a := range n.Attribute {
		if a == nil {
			return nil, invalidf("nil attribute")
		}
		ab, err := a.appendTo(nil)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", a.Name, err)
		}
		b = appendBytesField(b, nodeAttribute, ab)
	}
	b = appendString(b, nodeDocString, n.DocString)
	b = appendString(b, nodeDomain, n.Domain)
	return b, nil
}
