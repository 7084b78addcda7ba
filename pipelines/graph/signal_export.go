package graph

// #include <gst/gst.h>
import "C"

import (
	"runtime/cgo"
	"unsafe"

	"github.com/go-gst/go-gst/gst"
)

// The exported callbacks of signal.go live in a file of their own: a cgo preamble beside
// //export may hold declarations only.

//export pwSignalPad
func pwSignalPad(_ *C.GstElement, pad *C.GstPad, data C.gpointer) {
	f := cgo.Handle(uintptr(data)).Value().(func(*gst.Pad))
	p := gst.FromGstPadUnsafeNone(unsafe.Pointer(pad))
	defer ReleaseObject(p.InitiallyUnowned.Object) // the pad is f's for the call only
	f(p)
}

//export pwSignal
func pwSignal(_ *C.GstElement, data C.gpointer) {
	cgo.Handle(uintptr(data)).Value().(func())()
}

//export pwSignalForget
func pwSignalForget(data C.gpointer, _ *C.GClosure) {
	cgo.Handle(uintptr(data)).Delete()
}

//export pwCensusCount
func pwCensusCount(typ *C.char, delta C.int, counts C.guintptr) {
	cgo.Handle(counts).Value().(map[string]int)[C.GoString(typ)] += int(delta)
}
