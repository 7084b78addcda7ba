// Package weight turns a pen camera's detections into pig weights: a tracker gives each
// detection a track, quality gates refuse the masks that would mislead (cut by the frame,
// merged, odd shapes, low scores, lying pigs), the camera turns pixel area into floor area, a
// power law W = a·A^b turns that into kilograms, and each visit (a track's stretch in view)
// gets the median of its good frames. Check-weighs from a scale refit a and b per pen.
//
// It is pure Go: no GStreamer, no ONNX Runtime, nothing of the synthetic pen. Its inputs are
// detections, the camera settings and check-weighs.
//
// # From frames to weights
//
// Tracker associates detections frame to frame in the ByteTrack manner (confident detections
// by IoU, then low-score ones only to extend a track, then a centroid fallback for fast moves);
// a track unseen for more than Config.TrackMemoryFrames frames ends, and with it its visit.
// The gates (gates.go) run in order score, roi, edge, shape, area, lying, and the first that
// fails names the frame's Gate. For a frame that passes the shape gates, Camera.FloorArea
// undoes the perspective: the back of a pig stands at BackHeight(W) above the floor, so it
// looks (H/(H−h))² larger than the floor, and off-axis the camera sees its flank as well
// (camera.go has the geometry). Because the back height depends on the weight, weight →
// height → area → weight is iterated three times. A visit's weight is the power law applied to
// the median area of its good frames (the same as the median of their weights, the law being
// monotonic), and needs Config.MinGoodFrames of them.
//
// # Lying pigs are excluded, not corrected
//
// A lying pig is refused (GateLying), not weighed with a correction. Lying changes everything
// the area-to-weight law stands on at once: the outline is no longer the back but the back and
// one flank (on its side) or a curled ball (on its belly), the legs and belly spread on the
// floor, and the body's top is far lower than the standing back height, so the perspective
// correction would be wrong too. None of this is a fixed factor: it depends on how the pig
// lies, so a correction would add error, not remove it. The published area–weight relations
// (Brandl & Jørgensen 1996, Schofield et al. 1999, Kashiha et al. 2014) describe pigs imaged
// standing, and a pen camera sees every pig stand many times a day: a visit spent lying gets no weight
// (Visit.WeightKg 0, counted in Stats.VisitsWithoutWeight) and the pig is weighed on its next
// visit. What we can tell from above is coarse: an outline rounder than LyingElongation
// (1.5, a curled pig; a standing pig's back is 1.7–4 times as long as wide) or rounder than
// WideElongation (2.1) and over WideAreaRatio (1.3×) the pen's median area (on its side) is
// lying. A pig lying stretched out on its belly looks much like a standing one and is not
// told apart; its area is within the area gates and it costs a few percent on those frames,
// which the visit's median mostly discards.
//
// # Calibration
//
// DefaultCalibration is the literature's law (calibrate.go cites it). MatchCheckWeigh pairs a
// scale reading with visits' areas (one pig by time and box, a group by quantiles) and Fit
// refits a, and b when the areas span enough, robustly in log space.
package weight
