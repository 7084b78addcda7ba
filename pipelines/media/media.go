// Package media holds what a running pipeline hands to the rest of pigweight: decoded frames'
// analysis and encoded access units. It has no cgo, so that the pipeline manager, the API and
// the WebRTC side can use it without GStreamer.
package media

import (
	"time"

	"github.com/pigweight/pigweight/elements/detect"
)

// AccessUnit is one encoded picture as the source sent it, before decoding: what a WebRTC
// viewer can be sent without transcoding.
type AccessUnit struct {
	Codec    string // "h264" or "h265"
	PTS      time.Duration
	Keyframe bool
	// Data is the picture in Annex B byte-stream form (start codes), parameter sets included
	// before each keyframe. The receiver owns it.
	Data []byte
}

// Hooks receive what a running pipeline produces. They are called from GStreamer streaming
// threads and must return quickly; any may be nil.
type Hooks struct {
	OnFrame      func(detect.Frame)
	OnAccessUnit func(AccessUnit)
	// OnSkipped is called for each decoded frame dropped before inference because inference
	// was behind: a live source keeps its newest frames rather than building a backlog.
	OnSkipped func()
}
