package frames

import (
	"bytes"
	"fmt"
)

// tsPacket is the size of an MPEG transport packet without M2TS's 4-byte timecode prefix.
const tsPacket = 188

// transportStream pulls one video access unit out of the transport packets an MPEG-TS index
// sample spans: the packets of other streams in between are skipped, the video packets'
// payloads joined and the PES header dropped, leaving the Annex B picture.
type transportStream struct {
	packetSize int // 188, or 192 for M2TS
	syncAt     int // where the sync byte lies in a packet: 0, or 4 after M2TS's prefix
	pid        int // the video stream's packet identifier
}

// newTransportStream learns the layout from the first packet of the first sample, which the
// index guarantees carries the start of a video PES packet.
func newTransportStream(first []byte, packetSize int) (*transportStream, error) {
	ts := &transportStream{packetSize: packetSize}
	if packetSize == 192 {
		ts.syncAt = 4
	}
	if len(first) < ts.syncAt+tsPacket || first[ts.syncAt] != 0x47 {
		return nil, fmt.Errorf("%w: the first video sample does not start with a transport packet", ErrUnsupported)
	}
	p := first[ts.syncAt:]
	ts.pid = int(p[1]&0x1f)<<8 | int(p[2])
	return ts, nil
}

// accessUnit returns the Annex B access unit carried in span (whole packets).
func (ts *transportStream) accessUnit(span []byte) ([]byte, error) {
	var au bytes.Buffer
	for off := 0; off+ts.packetSize <= len(span); off += ts.packetSize {
		p := span[off+ts.syncAt : off+ts.syncAt+tsPacket]
		if p[0] != 0x47 {
			return nil, fmt.Errorf("transport packet without a sync byte %d bytes into a sample", off)
		}
		if int(p[1]&0x1f)<<8|int(p[2]) != ts.pid {
			continue
		}
		var payload []byte
		switch p[3] >> 4 & 3 {
		case 1:
			payload = p[4:]
		case 3:
			if n := int(p[4]); n <= 183 {
				payload = p[5+n:]
			}
		}
		if p[1]&0x40 != 0 { // payload unit start: the PES header comes first
			if au.Len() > 0 {
				break // the next access unit begins
			}
			if len(payload) < 9 || payload[0] != 0 || payload[1] != 0 || payload[2] != 1 || 9+int(payload[8]) > len(payload) {
				return nil, fmt.Errorf("malformed PES header %d bytes into a sample", off)
			}
			payload = payload[9+int(payload[8]):]
		}
		au.Write(payload)
	}
	if au.Len() == 0 {
		return nil, fmt.Errorf("no video payload in the sample's transport packets")
	}
	return au.Bytes(), nil
}

// nalUnits calls fn with each NAL unit of a sample, length-prefixed (lengthSize 1, 2 or 4)
// or, for lengthSize 0, in Annex B form; fn returns false to stop.
func nalUnits(data []byte, lengthSize int, fn func(nal []byte) bool) {
	if lengthSize > 0 {
		for len(data) > lengthSize {
			n := 0
			for _, b := range data[:lengthSize] {
				n = n<<8 | int(b)
			}
			data = data[lengthSize:]
			if n == 0 || n > len(data) {
				return
			}
			if !fn(data[:n]) {
				return
			}
			data = data[n:]
		}
		return
	}
	start := []byte{0, 0, 1}
	i := bytes.Index(data, start)
	for i >= 0 {
		data = data[i+3:]
		next := bytes.Index(data, start)
		nal := data
		if next >= 0 {
			nal = data[:next]
		}
		// A four-byte start code leaves a zero at the end of the previous unit.
		for len(nal) > 0 && nal[len(nal)-1] == 0 {
			nal = nal[:len(nal)-1]
		}
		if len(nal) > 0 && !fn(nal) {
			return
		}
		i = next
	}
}
