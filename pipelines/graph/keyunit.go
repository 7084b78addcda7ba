package graph

// #cgo pkg-config: gstreamer-video-1.0
// #include <gst/video/video.h>
//
// // An upstream force-key-unit event, as a viewer's picture-loss request asks for it: as soon
// // as possible, with the stream's headers (SPS/PPS) in front.
// static GstEvent *pw_force_key_unit(void) {
//     return gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0);
// }
import "C"

import (
	"unsafe"

	"github.com/go-gst/go-gst/gst"
)

// forceKeyUnitEvent is GstVideo's force-key-unit event, which go-gst v1.4.0 does not wrap.
func forceKeyUnitEvent() *gst.Event {
	return gst.FromGstEventUnsafeFull(unsafe.Pointer(C.pw_force_key_unit()))
}
