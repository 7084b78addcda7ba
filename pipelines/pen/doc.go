// Package pen renders a synthetic top view of a pig pen, frame by frame, together with
// the exact ground truth of every frame.
//
// It stands in for a ceiling camera: the demo and the end-to-end tests push its frames
// through appsrc, an H.264 encoder and decoder and the detection model, then compare the
// detections with [Scene.Truth] and [Scene.Labels]. Because the truth is compared pixel
// for pixel, the label map and the colours come from the same per-pixel test and nothing
// is anti-aliased.
//
// The picture is built so that a plain convolutional model can separate pigs from the
// background by colour alone: pigs are pink to pale flesh (see [IsPigPink]), the concrete
// floor, the slatted dung area, the walls and the feeder are greys and browns that are
// darker and less saturated and never pass that test.
//
// A [Scene] is deterministic: the same [Config] gives byte-identical frames and truth for
// the same binary. Its pigs walk, pause, turn and lie down, stay inside the pen walls and
// mostly keep out of each other's way. Each pig's true weight follows from its body area
// through [WeightFromArea], so a weight estimator can be checked against it.
//
// A Scene is not safe for concurrent use; the caller that owns the appsrc owns the Scene.
package pen
