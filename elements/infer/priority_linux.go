package infer

import (
	"runtime"
	"syscall"
)

// backgroundNice is the scheduling priority of the threads that run inference. Inference is
// throughput work that skips frames when it falls behind; decoding and sending video to
// viewers, and decoding the frames someone scrubs to, wait on a person. On a busy machine the
// scheduler now serves those first and inference takes the rest; on an idle one nothing
// changes (nice only weighs threads that compete).
const backgroundNice = 10

// toBackground locks the calling goroutine to its OS thread for the rest of its life and lowers
// that thread's priority. Threads it starts afterwards inherit the priority: ONNX Runtime's
// intra-op pool, made with the session. Lowering is always allowed, raising again is not, so
// the thread must never go back to Go's pool: the goroutine never unlocks, and Go ends the
// thread when the goroutine ends.
func toBackground() error {
	runtime.LockOSThread()
	return syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), backgroundNice)
}
