package fanout

import (
	"context"
	"encoding/json"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/pipelines"
)

// DetectionSource gives a stream's latest analysed frame: the pipeline manager.
type DetectionSource interface {
	Detections(name string) (pipelines.Detections, error)
}

// Detection messages: what a viewer's "detections" DataChannel carries.
const (
	// DetectionsLabel is the label of the DataChannel that carries detections.
	DetectionsLabel = "detections"
	// DefaultDetectionsPoll is how often a hub looks for a newly analysed frame: faster than
	// any camera's frame interval, and a lookup costs a map access under a lock.
	DefaultDetectionsPoll = 10 * time.Millisecond
	// maxDetectionsBuffered is how many bytes may wait in a viewer's channel before its
	// messages are dropped (counted): an overlay a second late is worthless.
	maxDetectionsBuffered = 64 << 10
)

// DetectionsMessage is one analysed frame as a viewer receives it, JSON on the DataChannel.
// RTP is the frame's RTP timestamp (RTPTimestamp of PTS), which the browser matches with
// requestVideoFrameCallback's metadata.rtpTimestamp to draw the boxes on the right picture.
type DetectionsMessage struct {
	RTP        uint32             `json:"rtp"`
	PTS        int64              `json:"pts"` // nanoseconds, the access units' clock
	Frame      uint64             `json:"frame"`
	Detections []detect.Detection `json:"detections"`
}

// SetDetectionsChannel makes dc the channel the hub sends v's detections on. Create dc on the
// viewer's peer connection before the offer.
func (v *Viewer) SetDetectionsChannel(dc *webrtc.DataChannel) {
	answerPings(dc)
	v.detections.Store(dc)
}

// SendDetections sends msg (a DetectionsMessage as JSON) to every viewer whose detections
// channel is open, never waiting: a viewer whose channel has too much queued loses it.
func (h *Hub) SendDetections(msg []byte) {
	vs := h.viewers.Load()
	if vs == nil {
		return
	}
	for _, v := range *vs {
		dc := v.detections.Load()
		if dc == nil || v.ended() || dc.ReadyState() != webrtc.DataChannelStateOpen {
			continue
		}
		if dc.BufferedAmount() > maxDetectionsBuffered {
			v.detectionsDropped.Add(1)
			continue
		}
		if err := dc.SendText(string(msg)); err != nil {
			v.detectionsDropped.Add(1)
			continue
		}
		v.detectionsSent.Add(1)
	}
}

// hasDetectionViewers says whether any viewer has a detections channel, so that a hub without
// one does not encode messages for nobody.
func (h *Hub) hasDetectionViewers() bool {
	vs := h.viewers.Load()
	if vs == nil {
		return false
	}
	for _, v := range *vs {
		if v.detections.Load() != nil {
			return true
		}
	}
	return false
}

// PollDetections sends the stream's newly analysed frames from src to the hub's viewers,
// looking every interval, until ctx is done or the hub has stopped.
func (h *Hub) PollDetections(ctx context.Context, src DetectionSource, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var last int64
	var seen bool
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.done:
			return
		case <-tick.C:
		}
		if !h.hasDetectionViewers() {
			continue
		}
		d, err := src.Detections(h.stream)
		if err != nil || (seen && d.PTS == last) {
			continue
		}
		last, seen = d.PTS, true
		dets := d.Detections
		if dets == nil {
			dets = []detect.Detection{}
		}
		msg, err := json.Marshal(DetectionsMessage{
			RTP: RTPTimestamp(time.Duration(d.PTS)), PTS: d.PTS, Frame: d.Frame, Detections: dets,
		})
		if err != nil {
			h.log.Warn("detections: encode", "err", err)
			continue
		}
		h.SendDetections(msg)
	}
}
