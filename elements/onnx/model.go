package onnx

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// IRVersion is the ONNX IR version this package writes: 8, the format of July 2021, which
// every ONNX Runtime since 1.10 reads.
const IRVersion = 8

// OpsetVersion is the version of the default operator set ("" or "ai.onnx") the builder
// imports. The builder's operators use their opset 17 signatures: ReduceMin takes its axes
// as an attribute, Split its sizes as an optional input.
const OpsetVersion = 17

// ErrInvalidModel is wrapped by every error Marshal and the builder return for a model
// that would not be valid ONNX: a tensor whose data does not match its shape, a node
// without an operator, a shape mismatch between operator inputs.
var ErrInvalidModel = errors.New("invalid ONNX model")

// invalidf returns an error wrapping ErrInvalidModel.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidModel, fmt.Sprintf(format, args...))
}

// Field numbers of ModelProto in onnx.proto.
const (
	modelIRVersion       protowire.Number = 1
	modelProducerName    protowire.Number = 2
	modelProducerVersion protowire.Number = 3
	modelDomain          protowire.Number = 4
	modelModelVersion    protowire.Number = 5
	modelDocString       protowire.Number = 6
	modelGraph           protowire.Number = 7
	modelOpsetImport     protowire.Number = 8
	modelMetadataProps   protowire.Number = 14
)

// ModelProto is the top-level ONNX message: a graph plus the IR version and the operator
// sets it was written against.
type ModelProto struct {
	// IRVersion is the ONNX IR version, usually [IRVersion].
	IRVersion int64
	// OpsetImport lists the operator sets the graph uses; the default domain must be
	// among them.
	OpsetImport []OperatorSetIdProto
	// ProducerName and ProducerVersion name the tool that wrote the model.
	ProducerName, ProducerVersion string
	// Domain is a reverse-DNS namespace for the model, e.g. "com.pigweight".
	Domain string
	// ModelVersion is the version of the model itself, not of ONNX.
	ModelVersion int64
	// DocString describes the model for people.
	DocString string
	// Graph is the computation; it must be set.
	Graph *GraphProto
	// MetadataProps are free-form key/value pairs ONNX Runtime exposes as custom metadata.
	MetadataProps []StringStringEntryProto
}

// Marshal encodes m in the protobuf wire format of onnx.proto. It checks what ONNX
// Runtime would reject later with a less helpful message: a missing graph, tensors whose
// data does not fit their shape, nodes without an operator.
func (m *ModelProto) Marshal() ([]byte, error) {
	if m.Graph == nil {
		return nil, invalidf("model has no graph")
	}
	var b []byte
	b = appendInt64(b, modelIRVersion, m.IRVersion)
	b = appendString(b, modelProducerName, m.ProducerName)
	b = appendString(b, modelProducerVersion, m.ProducerVersion)
	b = appendString(b, modelDomain, m.Domain)
	b = appendInt64(b, modelModelVersion, m.ModelVersion)
	b = appendString(b, modelDocString, m.DocString)
	g, err := m.Graph.appendTo(nil)
	if err != nil {
		return nil, fmt.Errorf("graph %q: %w", m.Graph.Name, err)
	}
	b = appendBytesField(b, modelGraph, g)
	for _, o := range m.OpsetImport {
		b = appendBytesField(b, modelOpsetImport, o.appendTo(nil))
	}
	for _, p := range m.MetadataProps {
		b = appendBytesField(b, modelMetadataProps, p.appendTo(nil))
	}
	return b, nil
}

// OperatorSetIdProto names one operator set a model imports.
type OperatorSetIdProto struct {
	// Domain is the operator set's domain; "" is the default ONNX domain (ai.onnx).
	Domain string
	// Version is the operator set version, e.g. [OpsetVersion].
	Version int64
}

func (o OperatorSetIdProto) appendTo(b []byte) []byte {
	b = appendString(b, 1, o.Domain)
	// Always written: version 0 is not meaningful, but a reader must not guess it.
	return appendInt64Always(b, 2, o.Version)
}

// StringStringEntryProto is one key/value pair of metadata.
type StringStringEntryProto struct {
	Key, Value string
}

func (e StringStringEntryProto) appendTo(b []byte) []byte {
	b = appendString(b, 1, e.Key)
	return appendString(b, 2, e.Value)
}

// The helpers below skip zero values of optional fields: in proto2 an absent optional
// field reads as its default, which is the zero value for every field this package writes
// through them. Fields whose presence matters (an attribute's value, a dimension) use the
// *Always variants.

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	return appendStringAlways(b, num, s)
}

func appendStringAlways(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendInt64(b []byte, num protowire.Number, v int64) []byte {
	if v == 0 {
		return b
	}
	return appendInt64Always(b, num, v)
}

// appendInt64Always writes an int64 as protobuf does: a negative value is its two's
// complement as a 10-byte varint, not zigzag (that would be sint64).
func appendInt64Always(b []byte, num protowire.Number, v int64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}
