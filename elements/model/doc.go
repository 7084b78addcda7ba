// Package model owns ONNX Runtime: loading its shared library, probing which execution
// providers work on this machine (TensorRT, CUDA, CPU), and — as the inference element grows —
// sessions, pre-processing and output decoders.
package model
