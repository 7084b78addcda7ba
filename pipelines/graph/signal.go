package graph

// #cgo pkg-config: gstreamer-1.0
// #include <gst/gst.h>
//
// extern void pwSignalPad(GstElement *element, GstPad *pad, gpointer data);
// extern void pwSignal(GstElement *element, gpointer data);
// extern void pwSignalForget(gpointer data, GClosure *closure);
//
// // The handler's data is a cgo.Handle to the Go callback; GLib calls pwSignalForget with it
// // when the handler goes (the element is finalized), which deletes the handle.
// static gulong pw_connect_pad(GstElement *element, const gchar *signal, guintptr handle) {
//     return g_signal_connect_data(element, signal, G_CALLBACK(pwSignalPad), (gpointer)handle,
//         (GClosureNotify)pwSignalForget, 0);
// }
// static gulong pw_connect(GstElement *element, const gchar *signal, guintptr handle) {
//     return g_signal_connect_data(element, signal, G_CALLBACK(pwSignal), (gpointer)handle,
//         (GClosureNotify)pwSignalForget, 0);
// }
import "C"

import (
	"fmt"
	"runtime/cgo"
	"unsafe"

	"github.com/go-gst/go-gst/gst"
)

// Signals are connected here rather than with go-glib's Connect, whose closures are never
// freed: go-glib v1.4.0 keeps a reference of its own on every closure it creates (ClosureNew
// refs and sinks it, then the signal takes its own), so the closure outlives the element, and
// with it the Go function and everything it holds. A callback that held a pipeline's wrapper
// kept the pipeline, its bus and the bus's socket pair for good: two file descriptors leaked
// at every restart of every pipeline. Here the Go callback lives in a cgo.Handle that GLib
// deletes when the element is finalized.

// OnPadAdded calls f with each pad the element adds ("pad-added": parsebin, rtspsrc,
// demuxers). The pad is borrowed for the call: f must not keep it.
func OnPadAdded(e *gst.Element, f func(pad *gst.Pad)) error {
	return connect(e, "pad-added", f, true)
}

// OnSignal calls f each time the element emits signal, a signal that carries no argument
// besides the element (a queue's "overrun", a demuxer's "no-more-pads").
func OnSignal(e *gst.Element, signal string, f func()) error {
	return connect(e, signal, f, false)
}

func connect(e *gst.Element, signal string, f any, withPad bool) error {
	name := C.CString(signal)
	defer C.free(unsafe.Pointer(name))
	h := cgo.NewHandle(f)
	elem := (*C.GstElement)(unsafe.Pointer(e.Instance()))
	var id C.gulong
	if withPad {
		id = C.pw_connect_pad(elem, name, C.guintptr(h))
	} else {
		id = C.pw_connect(elem, name, C.guintptr(h))
	}
	if id == 0 {
		h.Delete()
		return fmt.Errorf("%s has no signal %q", e.GetName(), signal)
	}
	return nil
}
