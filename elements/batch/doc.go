// Package batch is the cross-stream dynamic batcher behind the pwinfer element: frames of every
// stream that uses one model meet here and run as batches on that model's single inference
// session, the way DeepStream's nvstreammux feeds nvinfer.
//
// Each stream's streaming thread calls [Batcher.Submit] and blocks until its own frame's result
// is ready. One worker goroutine per [Batcher] forms batches and runs them one at a time through
// a [RunFunc] (ONNX Runtime in production, a plain Go function in tests); while a batch runs, new
// frames queue and form the next one.
//
// A batch goes when it reaches the target size or when its oldest frame has waited
// [Config.MaxWait]. The target is [Config.MaxBatch], or, with a [Config.LatencyBudget], adapts
// between 1 and MaxBatch to keep the 95th percentile of queue wait plus run time within the
// budget (see adapt.go for the rule).
//
// The queue is bounded: when inference falls behind, frames are skipped ([ErrSkipped]) and
// counted, so latency never creeps. Live camera frames ([PriorityLive]) outrank frames of batch
// jobs on uploaded files ([PriorityJob]): they are batched first and dropped last, and within a
// priority the oldest frame is the one dropped, because for live video a fresh frame is worth more
// than a stale one.
//
// The package is pure Go, with no GStreamer or ONNX Runtime, so that it builds and tests with
// CGO_ENABLED=0.
package batch
