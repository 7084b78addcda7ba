package onnx

import (
	"fmt"
	"math"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// A reader for the protobuf wire format, independent of the writer, so tests can check
// what was actually encoded: field numbers, wire types and values.

// wireMsg is a decoded message: each field number's values in order.
type wireMsg map[protowire.Number][]wireVal

// wireVal is one field value as it was on the wire.
type wireVal struct {
	typ   protowire.Type
	u     uint64 // varint, fixed32, fixed64
	bytes []byte // length-delimited
}

func decodeWire(b []byte) (wireMsg, error) {
	m := wireMsg{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		v := wireVal{typ: typ}
		switch typ {
		case protowire.VarintType:
			v.u, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var u uint32
			u, n = protowire.ConsumeFixed32(b)
			v.u = uint64(u)
		case protowire.Fixed64Type:
			v.u, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			v.bytes, n = protowire.ConsumeBytes(b)
		default:
			return nil, fmt.Errorf("field %d: unexpected wire type %d", num, typ)
		}
		if n < 0 {
			return nil, fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		m[num] = append(m[num], v)
	}
	return m, nil
}

func mustDecode(t testing.TB, b []byte) wireMsg {
	t.Helper()
	m, err := decodeWire(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// str is the last value of a string field ("" if absent), as proto readers take it.
func (m wireMsg) str(num protowire.Number) string {
	vs := m[num]
	if len(vs) == 0 {
		return ""
	}
	return string(vs[len(vs)-1].bytes)
}

// int is the last value of an int64 varint field (0 if absent).
func (m wireMsg) int(num protowire.Number) int64 {
	vs := m[num]
	if len(vs) == 0 {
		return 0
	}
	return int64(vs[len(vs)-1].u)
}

// strs are all values of a repeated string field.
func (m wireMsg) strs(num protowire.Number) []string {
	var out []string
	for _, v := range m[num] {
		out = append(out, string(v.bytes))
	}
	return out
}

// ints are all values of a repeated int64 field, unpacked as onnx.proto declares them.
func (m wireMsg) ints(num protowire.Number) []int64 {
	var out []int64
	for _, v := range m[num] {
		out = append(out, int64(v.u))
	}
	return out
}

// f32 is the last value of a float field.
func (m wireMsg) f32(num protowire.Number) float32 {
	vs := m[num]
	if len(vs) == 0 {
		return 0
	}
	return math.Float32frombits(uint32(vs[len(vs)-1].u))
}

// msgs decodes every value of a repeated message field.
func (m wireMsg) msgs(t testing.TB, num protowire.Number) []wireMsg {
	t.Helper()
	var out []wireMsg
	for _, v := range m[num] {
		if v.typ != protowire.BytesType {
			t.Fatalf("field %d has wire type %d, want bytes", num, v.typ)
		}
		out = append(out, mustDecode(t, v.bytes))
	}
	return out
}

// msg decodes the last value of a message field, empty if absent.
func (m wireMsg) msg(t testing.TB, num protowire.Number) wireMsg {
	t.Helper()
	ms := m.msgs(t, num)
	if len(ms) == 0 {
		return wireMsg{}
	}
	return ms[len(ms)-1]
}

// wireShape reads the shape of a ValueInfoProto as strings: numbers, or the
// symbolic names.
func wireShape(t testing.TB, vi wireMsg) []string {
	t.Helper()
	tensor := vi.msg(t, 2).msg(t, 1) // ValueInfoProto.type → TypeProto.tensor_type
	var out []string
	for _, d := range tensor.msg(t, 2).msgs(t, 1) { // .shape → TensorShapeProto.dim
		if p := d.str(2); p != "" {
			out = append(out, p)
		} else {
			out = append(out, fmt.Sprint(d.int(1)))
		}
	}
	return out
}
