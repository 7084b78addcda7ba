package model

import "sync"

// ONNX Runtime has one environment per process: the tests share it.
var (
	runtimeOnce sync.Once
	testRuntime *Runtime
	runtimeErr  error
)
