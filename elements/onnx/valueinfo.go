package onnx

import (
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// ValueInfoProto types a named value: a graph input or output, or an intermediate.
type ValueInfoProto struct {
	// Name is the value's name.
	Name string
	// Type is its type; graph inputs and outputs must have one.
	Type *TypeProto
	// DocString describes the value for people.
	DocString string
}

// TensorValueInfo returns the ValueInfoProto of a tensor named name with element type
// elem and the given dimensions.
func TensorValueInfo(name string, elem DataType, dims ...Dimension) *ValueInfoProto {
	return &ValueInfoProto{Name: name, Type: &TypeProto{Tensor: &TypeProtoTensor{
		ElemType: elem,
		Shape:    &TensorShapeProto{Dim: dims},
	}}}
}

func (v *ValueInfoProto) appendTo(b []byte) ([]byte, error) {
	if v.Name == "" {
		return nil, invalidf("value info has no name")
	}
	b = appendStringAlways(b, 1, v.Name)
	if v.Type != nil {
		tb, err := v.Type.appendTo(nil)
		if err != nil {
			return nil, err
		}
		b = appendBytesField(b, 2, tb)
	}
	return appendString(b, 3, v.DocString), nil
}

// TypeProto is the type of a value. Only tensors are supported: sequences, maps and
// optionals are left out of this writer.
type TypeProto struct {
	// Tensor is the tensor type (field tensor_type of the value oneof).
	Tensor *TypeProtoTensor
	// Denotation optionally says what the value means, e.g. "IMAGE".
	Denotation string
}

// Field numbers of TypeProto in onnx.proto.
const (
	typeTensorType protowire.Number = 1
	typeDenotation protowire.Number = 6
)

func (t *TypeProto) appendTo(b []byte) ([]byte, error) {
	if t.Tensor == nil {
		return nil, invalidf("type has no tensor type")
	}
	tt := t.Tensor
	if tt.ElemType.size() == 0 {
		return nil, invalidf("tensor element type %d not supported", tt.ElemType)
	}
	var inner []byte
	inner = protowire.AppendTag(inner, 1, protowire.VarintType)
	inner = protowire.AppendVarint(inner, uint64(tt.ElemType))
	// A nil shape means "rank unknown", an empty one a scalar, so only nil is left out.
	if tt.Shape != nil {
		inner = appendBytesField(inner, 2, tt.Shape.appendTo(nil))
	}
	b = appendBytesField(b, typeTensorType, inner)
	return appendString(b, typeDenotation, t.Denotation), nil
}

// TypeProtoTensor is TypeProto.Tensor in onnx.proto: an element type and a shape.
type TypeProtoTensor struct {
	// ElemType is the element type.
	ElemType DataType
	// Shape is the shape; nil when even the rank is unknown.
	Shape *TensorShapeProto
}

// TensorShapeProto is a tensor's shape, one Dimension per axis.
type TensorShapeProto struct {
	// Dim lists the dimensions, outermost first.
	Dim []Dimension
}

func (s *TensorShapeProto) appendTo(b []byte) []byte {
	for _, d := range s.Dim {
		b = appendBytesField(b, 1, d.appendTo(nil))
	}
	return b
}

// Dimension is TensorShapeProto.Dimension in onnx.proto: a fixed size (Value), or, when
// Param is set, a symbolic one such as "batch" that every value sharing the name agrees on.
type Dimension struct {
	// Value is the size when Param is empty.
	Value int64
	// Param names a symbolic size; when set, Value is ignored.
	Param string
	// Denotation optionally says what the axis means, e.g. "DATA_BATCH".
	Denotation string
}

// Dim returns a fixed dimension.
func Dim(v int64) Dimension { return Dimension{Value: v} }

// DimParam returns a symbolic dimension named name, e.g. DimParam("batch").
func DimParam(name string) Dimension { return Dimension{Param: name} }

// String is the size, or the symbolic name.
func (d Dimension) String() string {
	if d.Param != "" {
		return d.Param
	}
	return strconv.FormatInt(d.Value, 10)
}

func (d Dimension) appendTo(b []byte) []byte {
	// dim_value and dim_param are a oneof: exactly one is written, dim_value even when 0,
	// because a dimension with neither means "unknown".
	if d.Param != "" {
		b = appendStringAlways(b, 2, d.Param)
	} else {
		b = appendInt64Always(b, 1, d.Value)
	}
	return appendString(b, 3, d.Denotation)
}
