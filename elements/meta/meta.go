// Package meta carries detections on GStreamer buffers as a GstCustomMeta holding a
// GstStructure, so that they travel with their frame through any element to the appsink.
// (go-gst's RegisterAPIType is broken in v1.4.0; custom metas need only these few lines of cgo.)
package meta

// #cgo pkg-config: gstreamer-1.0
// #include <gst/gst.h>
//
// static const char *pw_meta_name = "PwDetectionsMeta";
//
// static void pw_register(void) {
//     // No tags: the meta does not depend on the picture's size or format, so transforming
//     // elements (videoconvert, scalers) copy it.
//     static const gchar *tags[] = { NULL };
//     if (gst_meta_get_info(pw_meta_name) == NULL)
//         gst_meta_register_custom(pw_meta_name, tags, NULL, NULL, NULL);
// }
//
// static void pw_attach(GstBuffer *buf, const void *data, gsize len, gboolean fresh) {
//     GstCustomMeta *m = gst_buffer_get_custom_meta(buf, pw_meta_name);
//     if (m == NULL)
//         m = gst_buffer_add_custom_meta(buf, pw_meta_name);
//     GstStructure *s = gst_custom_meta_get_structure(m);
//     GValue v = G_VALUE_INIT;
//     g_value_init(&v, G_TYPE_BYTES);
//     g_value_take_boxed(&v, g_bytes_new(data, len));
//     gst_structure_take_value(s, "detections", &v);
//     GValue f = G_VALUE_INIT;
//     g_value_init(&f, G_TYPE_BOOLEAN);
//     g_value_set_boolean(&f, fresh);
//     gst_structure_take_value(s, "fresh", &f);
// }
//
// // pw_read returns the detections' bytes (owned by the buffer's meta: valid while buf is) or
// // NULL when the buffer carries none.
// static const void *pw_read(GstBuffer *buf, gsize *len, gboolean *fresh) {
//     GstCustomMeta *m = gst_buffer_get_custom_meta(buf, pw_meta_name);
//     if (m == NULL)
//         return NULL;
//     GstStructure *s = gst_custom_meta_get_structure(m);
//     const GValue *v = gst_structure_get_value(s, "detections");
//     if (v == NULL || !G_VALUE_HOLDS(v, G_TYPE_BYTES))
//         return NULL;
//     if (!gst_structure_get_boolean(s, "fresh", fresh))
//         *fresh = FALSE;
//     GBytes *b = g_value_get_boxed(v);
//     return g_bytes_get_data(b, len);
// }
import "C"

import (
	"sync"
	"unsafe"

	"github.com/go-gst/go-gst/gst"
	"github.com/pigweight/pigweight/elements/detect"
)

// Detections is what one frame carries.
type Detections struct {
	// Fresh is true when the model analysed this very frame; false when the detections were
	// carried over from an earlier analysed frame (inference interval, or a skipped frame).
	Fresh bool
	Items []detect.Detection
}

var registerOnce sync.Once

// Register registers the meta type with GStreamer. Call it after gst.Init, before the first
// Attach; calling it again is harmless.
func Register() {
	registerOnce.Do(func() { C.pw_register() })
}

// Attach puts d on buf, replacing detections it already carries. buf must be writable.
func Attach(buf *gst.Buffer, d Detections) {
	data := detect.AppendBinary(nil, d.Items)
	var ptr unsafe.Pointer
	if len(data) > 0 {
		ptr = unsafe.Pointer(&data[0])
	}
	fresh := C.gboolean(0)
	if d.Fresh {
		fresh = 1
	}
	C.pw_attach((*C.GstBuffer)(unsafe.Pointer(buf.Instance())), ptr, C.gsize(len(data)), fresh)
}

// Read returns the detections buf carries; ok is false when it carries none.
func Read(buf *gst.Buffer) (d Detections, ok bool, err error) {
	var n C.gsize
	var fresh C.gboolean
	ptr := C.pw_read((*C.GstBuffer)(unsafe.Pointer(buf.Instance())), &n, &fresh)
	if ptr == nil {
		return Detections{}, false, nil
	}
	items, err := detect.ParseBinary(unsafe.Slice((*byte)(ptr), int(n)))
	if err != nil {
		return Detections{}, false, err
	}
	return Detections{Fresh: fresh != 0, Items: items}, true, nil
}
