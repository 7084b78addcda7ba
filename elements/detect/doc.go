// Package detect turns the raw output tensors of detection and segmentation models into
// detections in frame pixels, and carries those detections as compact binary metadata.
//
// The decoders read the float32 output of one image (the caller slices the batch) and the
// Letterbox that placed the frame into the model input:
//
//   - DecodeYOLO: YOLOv8/YOLO11 detect heads, [4+nc, anchors] or, with LayoutAnchorsFirst,
//     [anchors, 4+nc]; per-anchor best class, confidence filter, class-aware NMS.
//   - DecodeYOLOSeg: YOLOv8-seg heads plus their mask prototypes; each kept box gets the area
//     (and, on request, the contour) of its instance mask.
//   - DecodeMask: semantic masks [C, H, W]; each 8-connected component of one class becomes a
//     detection with its pixel area.
//
// MaskDecoder and YOLODecoder keep scratch buffers between calls so that a pipeline decoding
// every frame does not allocate; the Decode* functions are one-shot conveniences around them.
//
// Results are sorted by score, best first, then by position (top to bottom, left to right) so
// that equal inputs always give equal outputs.
//
// AppendBinary and ParseBinary encode detections for a video buffer's metadata.
//
// The package is pure Go and needs no cgo.
package detect
