package onnx

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// The field numbers below are typed in from onnx.proto
// (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto), not taken from the writer's
// constants, so a wrong number in the writer fails here.

// sampleModel is a model that uses every field the writer encodes.
func sampleModel() *ModelProto {
	w := FloatTensor("w", []int64{2, 1, 1, 1}, []float32{1.5, -2})
	return &ModelProto{
		IRVersion:       IRVersion,
		OpsetImport:     []OperatorSetIdProto{{Domain: "", Version: OpsetVersion}},
		ProducerName:    "pigweight",
		ProducerVersion: "test",
		Domain:          "com.pigweight",
		ModelVersion:    3,
		DocString:       "doc",
		MetadataProps:   []StringStringEntryProto{{Key: "k", Value: "v"}},
		Graph: &GraphProto{
			Name:        "g",
			DocString:   "graph doc",
			Initializer: []*TensorProto{w},
			Node: []*NodeProto{{
				Name: "conv", OpType: "Conv", Domain: "", DocString: "node doc",
				Input: []string{"x", "w", ""}, Output: []string{"y"},
				Attribute: []*AttributeProto{
					AttrInts("pads", 0, 0, -1, 0),
					AttrInt("group", 0),
					AttrFloat("alpha", 0.25),
					AttrString("auto_pad", "NOTSET"),
					AttrFloats("scales", 1, 2),
					AttrTensor("value", Int64Tensor("c", nil, []int64{-7})),
				},
			}},
			Input:     []*ValueInfoProto{TensorValueInfo("x", DataTypeFloat, DimParam("batch"), Dim(1), Dim(0), Dim(4))},
			Output:    []*ValueInfoProto{TensorValueInfo("y", DataTypeFloat, DimParam("batch"), Dim(2), Dim(0), Dim(4))},
			ValueInfo: []*ValueInfoProto{{Name: "untyped"}},
		},
	}
}

func TestMarshalFieldNumbers(t *testing.T) {
	b, err := sampleModel().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	model := mustDecode(t, b)
	graph := model.msg(t, 7)
	node := graph.msgs(t, 1)[0]
	attrs := node.msgs(t, 5)
	attr := func(i int) wireMsg { return attrs[i] }
	init := graph.msgs(t, 5)[0]
	in := graph.msgs(t, 11)[0]
	opset := model.msgs(t, 8)[0]
	meta := model.msgs(t, 14)[0]
	constant := attr(5).msg(t, 5)

	tests := []struct {
		name      string
		got, want any
	}{
		{"ModelProto.ir_version = 1", model.int(1), int64(8)},
		{"ModelProto.producer_name = 2", model.str(2), "pigweight"},
		{"ModelProto.producer_version = 3", model.str(3), "test"},
		{"ModelProto.domain = 4", model.str(4), "com.pigweight"},
		{"ModelProto.model_version = 5", model.int(5), int64(3)},
		{"ModelProto.doc_string = 6", model.str(6), "doc"},
		{"OperatorSetIdProto.domain = 1 (default domain left out)", len(opset[1]), 0},
		{"OperatorSetIdProto.version = 2", opset.int(2), int64(17)},
		{"StringStringEntryProto.key = 1", meta.str(1), "k"},
		{"StringStringEntryProto.value = 2", meta.str(2), "v"},
		{"GraphProto.name = 2", graph.str(2), "g"},
		{"GraphProto.doc_string = 10", graph.str(10), "graph doc"},
		{"GraphProto.output = 12", graph.msgs(t, 12)[0].str(1), "y"},
		{"GraphProto.value_info = 13", graph.msgs(t, 13)[0].str(1), "untyped"},
		{"NodeProto.input = 1 (empty names kept)", node.strs(1), []string{"x", "w", ""}},
		{"NodeProto.output = 2", node.strs(2), []string{"y"}},
		{"NodeProto.name = 3", node.str(3), "conv"},
		{"NodeProto.op_type = 4", node.str(4), "Conv"},
		{"NodeProto.doc_string = 6", node.str(6), "node doc"},
		{"AttributeProto.name = 1", attr(0).str(1), "pads"},
		{"AttributeProto.ints = 8, unpacked, negative as 10-byte varint", attr(0).ints(8), []int64{0, 0, -1, 0}},
		{"AttributeProto.type = 20 (INTS = 7)", attr(0).int(20), int64(7)},
		{"AttributeProto.i = 3, written even when 0", len(attr(1)[3]), 1},
		{"AttributeProto.type INT = 2", attr(1).int(20), int64(2)},
		{"AttributeProto.f = 2", attr(2).f32(2), float32(0.25)},
		{"AttributeProto.f is fixed32", attr(2)[2][0].typ, protowire.Fixed32Type},
		{"AttributeProto.type FLOAT = 1", attr(2).int(20), int64(1)},
		{"AttributeProto.s = 4", attr(3).str(4), "NOTSET"},
		{"AttributeProto.type STRING = 3", attr(3).int(20), int64(3)},
		{"AttributeProto.floats = 7, unpacked", len(attr(4)[7]), 2},
		{"AttributeProto.type FLOATS = 6", attr(4).int(20), int64(6)},
		{"AttributeProto.t = 5", constant.str(8), "c"},
		{"AttributeProto.type TENSOR = 4", attr(5).int(20), int64(4)},
		{"TensorProto.dims = 1, unpacked", init.ints(1), []int64{2, 1, 1, 1}},
		{"TensorProto.data_type = 2 (FLOAT = 1)", init.int(2), int64(1)},
		{"TensorProto.name = 8", init.str(8), "w"},
		{"TensorProto.raw_data = 9, little-endian", init.msgBytes(9), le32(1.5, -2)},
		{"TensorProto int64 data_type INT64 = 7", constant.int(2), int64(7)},
		{"TensorProto int64 raw_data", constant.msgBytes(9), binary.LittleEndian.AppendUint64(nil, uint64(math.MaxUint64-6))},
		{"TensorProto scalar has no dims", len(constant[1]), 0},
		{"ValueInfoProto.name = 1", in.str(1), "x"},
		{"TypeProto.tensor_type = 1, Tensor.elem_type = 1", in.msg(t, 2).msg(t, 1).int(1), int64(1)},
		{"TensorShapeProto.dim = 1, dim_param = 2, dim_value = 1 (0 kept)", wireShape(t, in), []string{"batch", "1", "0", "4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !equalAny(tt.got, tt.want) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

// msgBytes is the last value of a bytes field.
func (m wireMsg) msgBytes(num protowire.Number) []byte {
	vs := m[num]
	if len(vs) == 0 {
		return nil
	}
	return vs[len(vs)-1].bytes
}

func le32(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func equalAny(a, b any) bool {
	switch a := a.(type) {
	case []string:
		return slices.Equal(a, b.([]string))
	case []int64:
		return slices.Equal(a, b.([]int64))
	case []byte:
		return slices.Equal(a, b.([]byte))
	}
	return a == b
}

func TestMarshalRejectsInvalidModels(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(m *ModelProto)
	}{
		{"no graph", func(m *ModelProto) { m.Graph = nil }},
		{"tensor data short", func(m *ModelProto) { m.Graph.Initializer[0].RawData = m.Graph.Initializer[0].RawData[1:] }},
		{"negative dim", func(m *ModelProto) { m.Graph.Initializer[0].Dims[0] = -2 }},
		{"unknown data type", func(m *ModelProto) { m.Graph.Initializer[0].DataType = 99 }},
		{"node without op", func(m *ModelProto) { m.Graph.Node[0].OpType = "" }},
		{"node without outputs", func(m *ModelProto) { m.Graph.Node[0].Output = nil }},
		{"nil node", func(m *ModelProto) { m.Graph.Node = append(m.Graph.Node, nil) }},
		{"attribute without name", func(m *ModelProto) { m.Graph.Node[0].Attribute[0].Name = "" }},
		{"attribute of unknown type", func(m *ModelProto) { m.Graph.Node[0].Attribute[0].Type = 42 }},
		{"tensor attribute without tensor", func(m *ModelProto) { m.Graph.Node[0].Attribute[5].T = nil }},
		{"value info without name", func(m *ModelProto) { m.Graph.Input[0].Name = "" }},
		{"type without tensor", func(m *ModelProto) { m.Graph.Output[0].Type.Tensor = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := sampleModel()
			tt.spoil(m)
			if _, err := m.Marshal(); !errors.Is(err, ErrInvalidModel) {
				t.Errorf("Marshal = %v, want an error wrapping ErrInvalidModel", err)
			}
		})
	}
}
