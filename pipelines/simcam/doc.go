// Package simcam is a simulated RTSP camera that fails on cue.
//
// It serves real H.264 over RTSP (RFC 2326) and RTP (RFC 6184): the synthetic pen of package
// pen, rendered in Go and encoded by x264enc, or an H.264 file played in a loop. Drop, Stall
// and Refuse rehearse what real cameras do to a media server: connections cut, video that stops
// while the session stays up, and a camera that turns clients away while it reboots.
//
// GStreamer encodes and parses; gortsplib (github.com/bluenviron/gortsplib/v4) speaks RTSP.
// The caller must call gst.Init before Start.
package simcam
