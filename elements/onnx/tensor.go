package onnx

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// DataType is an element type (TensorProto.DataType in onnx.proto).
type DataType int32

// Element types this package knows the size of.
const (
	DataTypeFloat  DataType = 1
	DataTypeUint8  DataType = 2
	DataTypeInt8   DataType = 3
	DataTypeInt32  DataType = 6
	DataTypeInt64  DataType = 7
	DataTypeBool   DataType = 9
	DataTypeDouble DataType = 11
)

// size is the number of bytes one element takes in raw_data; 0 for a type this package
// does not know.
func (d DataType) size() int {
	switch d {
	case DataTypeUint8, DataTypeInt8, DataTypeBool:
		return 1
	case DataTypeFloat, DataTypeInt32:
		return 4
	case DataTypeInt64, DataTypeDouble:
		return 8
	}
	return 0
}

// Field numbers of TensorProto in onnx.proto.
const (
	tensorDims     protowire.Number = 1
	tensorDataType protowire.Number = 2
	tensorName     protowire.Number = 8
	tensorRawData  protowire.Number = 9
	tensorDoc      protowire.Number = 12
)

// TensorProto is a constant tensor: an initializer (weights) or an attribute value.
// Its data is always in RawData, packed little-endian, as ONNX prescribes for raw_data
// whatever the host's byte order.
type TensorProto struct {
	// Name is the value name nodes refer to; required for initializers.
	Name string
	// Dims is the shape; empty for a scalar.
	Dims []int64
	// DataType is the element type.
	DataType DataType
	// RawData holds the elements, little-endian, row-major.
	RawData []byte
	// DocString describes the tensor for people.
	DocString string
}

// FloatTensor returns a float32 tensor named name with shape dims holding data.
// Marshal rejects it if len(data) does not match dims.
func FloatTensor(name string, dims []int64, data []float32) *TensorProto {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return &TensorProto{Name: name, Dims: dims, DataType: DataTypeFloat, RawData: raw}
}

// Int64Tensor returns an int64 tensor named name with shape dims holding data, the
// form shape and axis inputs (Reshape, Split) take.
func Int64Tensor(name string, dims []int64, data []int64) *TensorProto {
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return &TensorProto{Name: name, Dims: dims, DataType: DataTypeInt64, RawData: raw}
}

// numElements is the product of dims, or an error for a negative dimension.
func numElements(dims []int64) (int64, error) {
	n := int64(1)
	for _, d := range dims {
		if d < 0 {
			return 0, invalidf("negative dimension in %v", dims)
		}
		n *= d
	}
	return n, nil
}

func (t *TensorProto) appendTo(b []byte) ([]byte, error) {
	n, err := numElements(t.Dims)
	if err != nil {
		return nil, err
	}
	if sz := t.DataType.size(); sz == 0 {
		return nil, invalidf("tensor data type %d not supported", t.DataType)
	} else if int64(len(t.RawData)) != n*int64(sz) {
		return nil, invalidf("tensor %v of type %d needs %d bytes of data, has %d",
			t.Dims, t.DataType, n*int64(sz), len(t.RawData))
	}
	// dims is a plain (not packed) repeated field in onnx.proto.
	for _, d := range t.Dims {
		b = appendInt64Always(b, tensorDims, d)
	}
	b = protowire.AppendTag(b, tensorDataType, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(t.DataType))
	b = appendString(b, tensorName, t.Name)
	b = appendBytesField(b, tensorRawData, t.RawData)
	b = appendString(b, tensorDoc, t.DocString)
	return b, nil
}
