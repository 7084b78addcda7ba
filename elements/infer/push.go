package infer

// #cgo pkg-config: gstreamer-1.0
// #include <gst/gst.h>
//
// static gboolean eventIsSerialized(GstEvent *ev) { return GST_EVENT_IS_SERIALIZED(ev); }
import "C"

import (
	"unsafe"

	"github.com/go-gst/go-gst/gst"
)

// pushOwned pushes buf on pad, handing over the reference the caller owns. gst.Pad.Push takes
// a reference of its own, which would leave the buffer shared (not writable) downstream.
func pushOwned(pad *gst.Pad, buf *gst.Buffer) gst.FlowReturn {
	return gst.FlowReturn(C.gst_pad_push((*C.GstPad)(unsafe.Pointer(pad.Instance())), (*C.GstBuffer)(unsafe.Pointer(buf.Instance()))))
}

// pushEventOwned pushes ev on pad, handing over the reference the caller owns (gst.Pad.PushEvent
// takes one of its own).
func pushEventOwned(pad *gst.Pad, ev *gst.Event) bool {
	return C.gst_pad_push_event((*C.GstPad)(unsafe.Pointer(pad.Instance())), (*C.GstEvent)(unsafe.Pointer(ev.Instance()))) != 0
}

// serialized reports whether ev travels in order with the buffers.
func serialized(ev *gst.Event) bool {
	return C.eventIsSerialized((*C.GstEvent)(unsafe.Pointer(ev.Instance()))) != 0
}
