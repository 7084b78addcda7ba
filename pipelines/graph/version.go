package graph

// #cgo pkg-config: gstreamer-1.0
// #include <gst/gst.h>
import "C"

// Version is the GStreamer library version in use, e.g. "GStreamer 1.22.0".
func Version() string {
	s := C.gst_version_string()
	defer C.g_free(C.gpointer(s))
	return C.GoString(s)
}
