// Package fanouttest helps test code that sends video with the fanout package: it reads the
// committed H.264 fixture into access units, and it plays a viewer with a real Pion peer
// connection that reassembles the pictures it receives. Only tests import it.
package fanouttest

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"github.com/pigweight/pigweight/pipelines/media"
)

// H.264 NAL unit types (ITU-T H.264 table 7-1) that the tests look for.
const (
	NALSlice = 1
	NALIDR   = 5
	NALSEI   = 6
	NALSPS   = 7
	NALPPS   = 8
	NALAUD   = 9
)

// ReadAccessUnits reads an Annex B H.264 file into access units, one picture each, with PTS
// frameDuration apart from zero. A keyframe is an access unit with an IDR slice.
func ReadAccessUnits(path string, frameDuration time.Duration) ([]media.AccessUnit, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	units := SplitAccessUnits(data)
	if len(units) == 0 {
		return nil, fmt.Errorf("%s: no H.264 access units", path)
	}
	aus := make([]media.AccessUnit, len(units))
	for i, u := range units {
		aus[i] = media.AccessUnit{
			Codec:    "h264",
			PTS:      time.Duration(i) * frameDuration,
			Keyframe: HasNAL(u, NALIDR),
			Data:     u,
		}
	}
	return aus, nil
}

// Loop returns n access units that repeat aus with PTS continuing frameDuration apart, as a
// camera would send them. aus must start with a keyframe. The data is shared, not copied.
func Loop(aus []media.AccessUnit, n int, frameDuration time.Duration) []media.AccessUnit {
	out := make([]media.AccessUnit, n)
	for i := range out {
		out[i] = aus[i%len(aus)]
		out[i].PTS = time.Duration(i) * frameDuration
	}
	return out
}

// SplitAccessUnits cuts an Annex B byte stream into access units (H.264 section 7.4.1.2.3): a
// new one begins at an access unit delimiter, at an SPS, PPS or SEI after a picture's slices,
// or at a slice whose first_mb_in_slice is zero after a picture's slices.
func SplitAccessUnits(stream []byte) [][]byte {
	var (
		units    [][]byte
		start    = -1 // offset of the current access unit's first start code
		hasSlice bool
	)
	for _, n := range nalUnits(stream) {
		typ := n.data[0] & 0x1f
		begins := false
		switch typ {
		case NALAUD:
			begins = true
		case NALSPS, NALPPS, NALSEI:
			begins = hasSlice
		case NALSlice, NALIDR:
			// first_mb_in_slice is ue(v): zero is the single bit 1.
			begins = hasSlice && len(n.data) > 1 && n.data[1]&0x80 != 0
		}
		if begins && start >= 0 {
			units = append(units, stream[start:n.start])
			start, hasSlice = -1, false
		}
		if start < 0 {
			start = n.start
		}
		if typ == NALSlice || typ == NALIDR {
			hasSlice = true
		}
	}
	if start >= 0 {
		units = append(units, stream[start:])
	}
	return units
}

// NALTypes lists the types of the NAL units in an Annex B access unit, in order.
func NALTypes(au []byte) []int {
	var types []int
	for _, n := range nalUnits(au) {
		types = append(types, int(n.data[0]&0x1f))
	}
	return types
}

// HasNAL reports whether the Annex B access unit holds a NAL unit of type typ.
func HasNAL(au []byte, typ int) bool {
	for _, n := range nalUnits(au) {
		if int(n.data[0]&0x1f) == typ {
			return true
		}
	}
	return false
}

type nalUnit struct {
	start int    // offset of its start code (with a leading zero byte, if four bytes long)
	data  []byte // from the NAL header on, without the start code
}

func nalUnits(stream []byte) []nalUnit {
	var units []nalUnit
	i := bytes.Index(stream, []byte{0, 0, 1})
	for i >= 0 {
		start := i
		if start > 0 && stream[start-1] == 0 {
			start--
		}
		body := i + 3
		next := bytes.Index(stream[body:], []byte{0, 0, 1})
		end := len(stream)
		if next >= 0 {
			end = body + next
			// Trailing zeros belong to the next (four-byte) start code.
			for end > body && stream[end-1] == 0 {
				end--
			}
		}
		if end > body {
			units = append(units, nalUnit{start: start, data: stream[body:end]})
		}
		if next < 0 {
			break
		}
		i = body + next
	}
	return units
}
