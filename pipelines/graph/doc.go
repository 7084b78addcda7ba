// Package graph turns a pipeline spec into a running GStreamer pipeline. Every element is made
// from its factory and configured through typed properties; no user string is ever spliced into a
// launch description, so a URI or name containing "!", quotes or spaces cannot change the graph.
//
// The shape is the same for every source: source → (depayload) → parse → decoder → appsink. The
// decoder is chosen when the stream's codec is known: NVDEC (nvh264dec, nvh265dec) when the
// nvcodec plugin found a GPU, the spec allows it and its template takes the stream's profile
// and size, libav's software decoder otherwise.
package graph
