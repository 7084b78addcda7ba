package fanout

import (
	"encoding/json"
	"time"

	"github.com/pion/webrtc/v4"
)

// Latency clock: so that a viewer can measure glass-to-glass latency, from the moment a frame
// reached pigweight to the moment its own screen shows it, two kinds of messages share the
// detections channel with the detections:
//
//   - every timingEvery-th frame, {"type":"time","rtp":T,"captured":MS}: the frame with RTP
//     timestamp T reached the server at MS (Unix milliseconds, fractional);
//   - a viewer's {"type":"ping","t":X} is answered {"type":"pong","t":X,"server":MS}, from
//     which the viewer works out its clock's offset from the server's (NTP's way: half the
//     round trip), without trusting the two machines' clocks to agree.
const timingEvery = 10

// clockMessage is a ping from a viewer or the server's pong.
type clockMessage struct {
	Type   string  `json:"type"`
	T      float64 `json:"t"`
	Server float64 `json:"server,omitempty"`
}

// timeMessage says when the frame with RTP timestamp RTP reached the server.
type timeMessage struct {
	Type     string  `json:"type"`
	RTP      uint32  `json:"rtp"`
	Captured float64 `json:"captured"`
}

// unixMillis is t as fractional Unix milliseconds, the unit of a browser's clock.
func unixMillis(t time.Time) float64 {
	return float64(t.UnixNano()) / float64(time.Millisecond)
}

// answerPings replies to the viewer's pings on dc. Anything else a viewer sends is ignored.
func answerPings(dc *webrtc.DataChannel) {
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		if !m.IsString || len(m.Data) > 256 {
			return
		}
		var ping clockMessage
		if json.Unmarshal(m.Data, &ping) != nil || ping.Type != "ping" {
			return
		}
		pong, err := json.Marshal(clockMessage{Type: "pong", T: ping.T, Server: unixMillis(time.Now())})
		if err == nil {
			_ = dc.SendText(string(pong))
		}
	})
}

// sendTiming tells viewers with a detections channel when f reached the server, for every
// timingEvery-th frame.
func (h *Hub) sendTiming(f *frame) {
	if f.serial%timingEvery != 0 || f.captured.IsZero() || !h.hasDetectionViewers() {
		return
	}
	msg, err := json.Marshal(timeMessage{Type: "time", RTP: f.timestamp, Captured: unixMillis(f.captured)})
	if err == nil {
		h.SendDetections(msg)
	}
}
