// Package onnx writes ONNX models from Go, and builds the two models pigweight ships
// without a training run.
//
// The writer is a hand-encoded subset of onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto):
// [ModelProto], [GraphProto], [NodeProto], [AttributeProto], [TensorProto],
// [ValueInfoProto] and the types they hold, with the field numbers of that file and
// nothing generated. [ModelProto.Marshal] produces the bytes ONNX Runtime loads. Tensors
// carry their data as raw_data, little-endian.
//
// [Graph] is a builder on top of the writer: it names values, infers their shapes, emits
// value_info for every intermediate and keeps the first error, so a model reads as a
// sequence of operator calls (g.Conv, g.Relu, g.Concat, ...) with one error check at
// the end, in [Graph.Model].
//
// [DemoModel] finds pigs in frames of the synthetic pen (package pipelines/pen) by colour
// alone, with fixed hand-chosen weights; [BenchModel] is a YOLOv8n-sized network with
// random weights for performance work. Both use standard operators of opset 17 only.
//
// The package needs no cgo; only its tests load ONNX Runtime.
package onnx
