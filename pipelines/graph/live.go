package graph

// #cgo pkg-config: gstreamer-1.0
// #include <gst/gst.h>
//
// // The leaks tracer, when GST_TRACERS named it before gst_init; NULL otherwise.
// static GstTracer *pw_leaks_tracer(void) {
//     GstTracer *found = NULL;
//     GList *tracers = gst_tracing_get_active_tracers();
//     for (GList *l = tracers; l != NULL; l = l->next) {
//         if (found == NULL && g_strcmp0(G_OBJECT_TYPE_NAME(l->data), "GstLeaksTracer") == 0)
//             found = gst_object_ref(l->data);
//     }
//     g_list_free_full(tracers, gst_object_unref);
//     return found;
// }
//
// static gboolean pw_census_start(void) {
//     GstTracer *tracer = pw_leaks_tracer();
//     if (tracer == NULL)
//         return FALSE;
//     g_signal_emit_by_name(tracer, "activity-start-tracking");
//     gst_object_unref(tracer);
//     return TRUE;
// }
//
// extern void pwCensusCount(char *type, int delta, guintptr counts);
//
// static void pw_census_list(const GstStructure *checkpoint, const char *field, int delta, guintptr counts) {
//     const GValue *list = gst_structure_get_value(checkpoint, field);
//     guint n = list != NULL ? gst_value_list_get_size(list) : 0;
//     for (guint i = 0; i < n; i++) {
//         const GstStructure *s = gst_value_get_structure(gst_value_list_get_value(list, i));
//         const gchar *type = gst_structure_get_string(s, "type-name");
//         if (type != NULL)
//             pwCensusCount((char *)type, delta, counts);
//     }
// }
//
// // Adds to counts the objects created (+1) and destroyed (-1) since the last checkpoint.
// static gboolean pw_census_checkpoint(guintptr counts) {
//     GstTracer *tracer = pw_leaks_tracer();
//     if (tracer == NULL)
//         return FALSE;
//     GstStructure *checkpoint = NULL;
//     g_signal_emit_by_name(tracer, "activity-get-checkpoint", &checkpoint);
//     gst_object_unref(tracer);
//     if (checkpoint == NULL)
//         return FALSE;
//     pw_census_list(checkpoint, "objects-created-list", 1, counts);
//     pw_census_list(checkpoint, "objects-removed-list", -1, counts);
//     gst_structure_free(checkpoint);
//     return TRUE;
// }
import "C"

import (
	"maps"
	"runtime/cgo"
	"sync"
)

// census follows GStreamer's leaks tracer, of which a process has one, and which tracks
// activity once: starting it twice leaves the tracer locked. Hence one census per process.
var census struct {
	sync.Mutex
	started, ok bool
	net         map[string]int // created minus destroyed since the first call, by type
}

// LiveObjectChange returns, by type name, how many more GStreamer objects (elements, pads,
// buses, buffers, ...) are alive now than at its first call in this process, as GStreamer's
// leaks tracer counts them; types whose count is back where it was are left out. It needs
// GST_TRACERS=leaks in the environment before gst.Init; without it ok is false. Tests and the
// soak benchmark use it to show that pipelines torn down leave nothing behind. Unlike the
// tracer's get-live-objects, it takes no reference to any object, so it is safe while
// pipelines run.
func LiveObjectChange() (change map[string]int, ok bool) {
	census.Lock()
	defer census.Unlock()
	if !census.started {
		census.started = true
		census.ok = bool(C.pw_census_start() != 0)
		census.net = map[string]int{}
		return map[string]int{}, census.ok
	}
	if !census.ok {
		return nil, false
	}
	h := cgo.NewHandle(census.net)
	defer h.Delete()
	if C.pw_census_checkpoint(C.guintptr(h)) == 0 {
		return nil, false
	}
	maps.DeleteFunc(census.net, func(_ string, n int) bool { return n == 0 })
	return maps.Clone(census.net), true
}
