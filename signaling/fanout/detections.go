package fanout

import (
	"context"
	"encoding/json"

	"github.com/pion/webrtc/v4"

	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/pipelines/media"
)

// Detection messages: what a viewer's "detections" DataChannel carries.
const (
	// DetectionsLabel is the label of the DataChannel that carries detections.
	DetectionsLabel = "detections"
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

// SendFrames sends each analysed frame from frames to the hub's viewers that have a
// detections channel, until ctx is done, the hub has stopped or frames is closed. Frames that
// come while no viewer has one are not encoded at all.
func (h *Hub) SendFrames(ctx context.Context, frames <-chan media.AnalysedFrame) {
	for {
		var f media.AnalysedFrame
		var ok bool
		select {
		case <-ctx.Done():
			return
		case <-h.done:
			return
		case f, ok = <-frames:
			if !ok {
				return
			}
		}
		if !h.hasDetectionViewers() {
			continue
		}
		dets := f.Detections
		if dets == nil {
			dets = []detect.Detection{}
		}
		msg, err := json.Marshal(DetectionsMessage{
			RTP: RTPTimestamp(f.PTS), PTS: int64(f.PTS), Frame: f.Frame, Detections: dets,
		})
		if err != nil {
			h.log.Warn("detections: encode", "err", err)
			continue
		}
		h.SendDetections(msg)
	}
}
