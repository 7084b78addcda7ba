package onnx

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// AttributeType says which value field of an [AttributeProto] is in use
// (AttributeProto.AttributeType in onnx.proto).
type AttributeType int32

// Attribute types this package writes.
const (
	AttributeFloat   AttributeType = 1
	AttributeInt     AttributeType = 2
	AttributeString  AttributeType = 3
	AttributeTensor  AttributeType = 4
	AttributeFloats  AttributeType = 6
	AttributeInts    AttributeType = 7
	AttributeStrings AttributeType = 8
)

// Field numbers of AttributeProto in onnx.proto.
const (
	attrName    protowire.Number = 1
	attrF       protowire.Number = 2
	attrI       protowire.Number = 3
	attrS       protowire.Number = 4
	attrT       protowire.Number = 5
	attrFloats  protowire.Number = 7
	attrInts    protowire.Number = 8
	attrStrings protowire.Number = 9
	attrType    protowire.Number = 20
)

// AttributeProto is one named attribute of a node. Type selects the field that holds the
// value; the others are ignored when encoding.
type AttributeProto struct {
	// Name is the attribute's name as the operator's schema spells it, e.g. "strides".
	Name string
	// Type says which of the fields below holds the value.
	Type AttributeType
	// F, I, S and T are the single values: float, int, string (bytes) and tensor.
	F float32
	I int64
	S []byte
	T *TensorProto
	// Floats, Ints and Strings are the list values.
	Floats  []float32
	Ints    []int64
	Strings [][]byte
}

// AttrFloat returns a FLOAT attribute.
func AttrFloat(name string, v float32) *AttributeProto {
	return &AttributeProto{Name: name, Type: AttributeFloat, F: v}
}

// AttrInt returns an INT attribute.
func AttrInt(name string, v int64) *AttributeProto {
	return &AttributeProto{Name: name, Type: AttributeInt, I: v}
}

// AttrString returns a STRING attribute.
func AttrString(name, v string) *AttributeProto {
	return &AttributeProto{Name: name, Type: AttributeString, S: []byte(v)}
}

// AttrTensor returns a TENSOR attribute, as Constant's "value" takes.
func AttrTensor(name string, t *TensorProto) *AttributeProto {
	return &AttributeProto{Name: name, Type: AttributeTensor, T: t}
}

// AttrFloats returns a FLOATS attribute.
func AttrFloats(name string, v ...float32) *AttributeProto {
	return &AttributeProto{Name: name, Type: AttributeFloats, Floats: v}
}

// AttrInts returns an INTS attribute.
func AttrInts(name string, v ...int64) *AttributeProto {
	return &AttributeProto{Name: name, Type: AttributeInts, Ints: v}
}

func (a *AttributeProto) appendTo(b []byte) ([]byte, error) {
	if a.Name == "" {
		return nil, invalidf("attribute has no name")
	}
	b = appendStringAlways(b, attrName, a.Name)
	// The singular value is written even when zero: proto2 readers such as ONNX Runtime
	// may check that the field is present, not just that it reads as zero.
	switch a.Type {
	case AttributeFloat:
		b = protowire.AppendTag(b, attrF, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.F))
	case AttributeInt:
		b = appendInt64Always(b, attrI, a.I)
	case AttributeString:
		b = appendBytesField(b, attrS, a.S)
	case AttributeTensor:
		if a.T == nil {
			return nil, invalidf("tensor attribute without a tensor")
		}
		tb, err := a.T.appendTo(nil)
		if err != nil {
			return nil, err
		}
		b = appendBytesField(b, attrT, tb)
	// floats and ints are plain (not packed) repeated fields in onnx.proto, so each
	// element gets its own tag.
	case AttributeFloats:
		for _, f := range a.Floats {
			b = protowire.AppendTag(b, attrFloats, protowire.Fixed32Type)
			b = protowire.AppendFixed32(b, math.Float32bits(f))
		}
	case AttributeInts:
		for _, v := range a.Ints {
			b = appendInt64Always(b, attrInts, v)
		}
	case AttributeStrings:
		for _, s := range a.Strings {
			b = appendBytesField(b, attrStrings, s)
		}
	default:
		return nil, invalidf("attribute type %d not supported", a.Type)
	}
	b = protowire.AppendTag(b, attrType, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(a.Type)), nil
}
