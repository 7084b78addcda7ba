// Package fanout sends one stream's encoded video to many WebRTC viewers: one Hub per stream,
// one Viewer per peer connection, the camera's H.264 passed through without re-encoding.
//
// The Hub is an actor (mediamtx style): Run's goroutine owns the viewer set and the keyframe
// cache, and it never waits for a viewer. Each access unit is packetized into RTP payloads once
// (RFC 6184: single NAL units, STAP-A for the parameter sets, FU-A) and the immutable payloads
// are shared by every viewer. Each Viewer has its own bounded queue and writer goroutine that
// stamps its own sequence numbers onto the shared payloads; a viewer that falls behind loses
// access units (counted) and resumes at the next keyframe, so it never delays the others. A
// second goroutine per viewer reads the viewer's RTCP, which is what makes Pion's NACK
// responder work at all and how keyframe requests reach the hub.
//
// # Keyframes without an encoder
//
// A passthrough stream has no encoder to ask for a keyframe, so the hub keeps the last group of
// pictures: the last keyframe and every access unit since. A viewer that connects, or that asks
// for a keyframe (PLI, RFC 4585 section 6.3.1; FIR, RFC 5104 section 4.3.1; at most once per
// 500 ms), gets that whole group at once, which brings its decoder to the current picture
// without waiting for the camera's next keyframe.
//
// # RTP timestamps
//
// An access unit's RTP timestamp is its PTS on the 90 kHz clock (RTPTimestamp), so anything
// keyed by the PTS (detections sent over a DataChannel) finds the frame in the browser through
// requestVideoFrameCallback's rtpTimestamp. That holds for the cached group a new viewer starts
// with, too. The one exception is a group resent after a keyframe request: its frames go out
// one tick apart, just after the last timestamp the viewer got, because their own timestamps
// lie up to a GOP in the past (a frame whose own timestamp is later keeps it). A stream that
// has stopped gets no resend: its old pictures would anchor the browser's clock in the past
// (see resendTimestamp and staleGroup).
//
// Both choices come from measurements with Chromium 156 on loopback (15 fps, 1 s GOP, group
// of 14 frames, headless, noisy 2-core machine):
//   - Resend with the true, older timestamps: the picture came back, but latency jumped to
//     ~200 ms and took ~2.5 s to recover. Packed after the last timestamp: no visible change.
//   - Join with the true timestamps: a picture within ~5-15 ms of the answer, sometimes the
//     group's old keyframe first, then played fast to the live picture within ~150 ms; steady
//     latency (server to presented frame) p50 6-13 ms. Join with packed timestamps: the newest
//     picture first, but Chromium's jitter buffer then held every frame ~7 ms longer for the
//     rest of the session (p50 17-31 ms after 20 s).
package fanout
