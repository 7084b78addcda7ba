package index

import (
	"fmt"
	"sort"
)

// MaxSamples is the most samples Build indexes in one file (about 46 hours at 25 frames per
// second); a file that claims more is refused with ErrUnsupported. It bounds the memory a
// hostile file can make Build allocate.
const MaxSamples = 1 << 22

// Container names, as stored in Index.Container.
const (
	ContainerMP4    = "mp4"
	ContainerMKV    = "mkv"
	ContainerMPEGTS = "mpegts"
)

// Codec names, as stored in Index.Codec.
const (
	CodecH264 = "h264"
	CodecH265 = "h265"
)

// Frame is one picture, listed in presentation order.
type Frame struct {
	// PTS is the presentation time in Timescale units, after the edit list, as ffmpeg's demuxer
	// reports it (ffprobe -show_packets). The first shown frame is usually at 0 but need not be:
	// see the package documentation.
	PTS int64
	// DTS is the decode time in Timescale units. Matroska has none: there it is made up from
	// the sorted presentation times, so that it increases in decode order and never passes PTS.
	DTS int64
	// Offset is the byte offset of the sample's data in the file. For MPEG-TS it is the offset
	// of the first transport packet of the sample's PES packet (for M2TS, of that packet's
	// 4-byte prefix): the sample must be demultiplexed again from the packets of the video PID
	// in Offset..Offset+Size.
	Offset int64
	// Size is the sample's size in bytes; for MPEG-TS, the bytes from the first to the end of
	// the last transport packet of the PES packet, other streams' packets included.
	Size int32
	// Key is true for a sync sample: decoding can start here.
	Key bool
	// Decode is this frame's position in decode order, an index into Index.Samples.
	Decode int32
	// Start is the decode-order position of the sync sample to start decoding from to get this
	// frame right: the last sync sample at or before Decode, or the one before that when this
	// frame is a leading picture of an open GOP (shown before that sync sample).
	Start int32
}

// Sample is one coded sample, listed in decode order.
type Sample struct {
	Offset int64 // byte offset of the data in the file; see Frame.Offset
	Size   int32 // bytes; see Frame.Size
	DTS    int64 // decode time in Timescale units; see Frame.DTS
	PTS    int64 // presentation time in Timescale units
	Key    bool  // a sync sample
	// Frame is the index in Index.Frames of the picture this sample shows, or -1 when the
	// picture is decoded but never shown (outside the edit list, before the first sync sample).
	Frame int32
}

// Index is what Build learns from a file's tables: the coded samples in decode order and the
// shown pictures in presentation order. Nothing changes an Index once Build, Load or Open has
// returned it, so any number of goroutines may read it.
type Index struct {
	Container string // ContainerMP4, ContainerMKV or ContainerMPEGTS
	Codec     string // CodecH264 or CodecH265
	Width     int    // pixels, from the container (MPEG-TS: from the sequence parameter set)
	Height    int
	// Timescale is the number of PTS/DTS units per second: the MP4 track's timescale,
	// 1e9/TimestampScale for Matroska (1000 by default), 90000 for MPEG-TS.
	Timescale uint32
	// CodecConfig is the decoder configuration: the avcC or hvcC record body for MP4, the
	// CodecPrivate for Matroska (the same records), nil for MPEG-TS (parameter sets in band).
	CodecConfig []byte
	// NALLengthSize is the size of the big-endian length before each NAL unit in a sample: 1, 2
	// or 4 for MP4 and Matroska, 0 for MPEG-TS (Annex B start codes).
	NALLengthSize int
	// PacketSize is, for MPEG-TS, the size of a transport packet in the file: 188, or 192 for
	// M2TS (AVCHD), whose packets carry a 4-byte timestamp before the sync byte. 0 otherwise.
	PacketSize int
	// Frames lists the shown pictures in presentation order.
	Frames []Frame
	// Samples lists every sample fed to the decoder, in decode order, including those the edit
	// list hides.
	Samples []Sample
	// Duration is the time from the first frame's PTS to the end of the last frame, in Timescale
	// units.
	Duration int64
	// FileSize is the size in bytes of the file the index was built from.
	FileSize int64
	// Hash is the content hash of that file (see Hash), when the index came from Open or Load;
	// empty from Build.
	Hash string
	// Warnings lists what was odd but not fatal about the file (at most a few dozen), for the
	// operator.
	Warnings []string
}

// maxWarnings bounds Index.Warnings so that a file full of oddities cannot grow it unbounded.
const maxWarnings = 32

func (ix *Index) warnf(format string, args ...any) {
	switch {
	case len(ix.Warnings) < maxWarnings-1:
		ix.Warnings = append(ix.Warnings, fmt.Sprintf(format, args...))
	case len(ix.Warnings) == maxWarnings-1:
		ix.Warnings = append(ix.Warnings, "more warnings left out")
	}
}

// FrameAtTime returns the index of the frame shown at presentation time pts (Timescale units):
// the last frame whose PTS is at or before pts, the first frame for a time before it, and -1
// when there are no frames.
func (ix *Index) FrameAtTime(pts int64) int {
	if len(ix.Frames) == 0 {
		return -1
	}
	// First frame whose PTS is after pts, minus one.
	lo, hi := 0, len(ix.Frames)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if ix.Frames[m].PTS <= pts {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return 0
	}
	return lo - 1
}

// Keyframes returns the number of sync samples in decode order (Samples with Key set).
func (ix *Index) Keyframes() int {
	n := 0
	for i := range ix.Samples {
		if ix.Samples[i].Key {
			n++
		}
	}
	return n
}

// DecodeRange returns the samples to feed a decoder, Samples[start:end] in that order, to get
// frame n; ok is false when n is out of range. The decoder must be drained after the last
// sample: with B-frames it holds pictures back until it sees later ones.
func (ix *Index) DecodeRange(n int) (start, end int, ok bool) {
	if n < 0 || n >= len(ix.Frames) {
		return 0, 0, false
	}
	f := ix.Frames[n]
	return int(f.Start), int(f.Decode) + 1, true
}

// assignFrames builds Frames from Samples, whose Frame fields hold -1 for samples that are not
// shown and anything else for those that are: samples decoded before the first sync sample are
// hidden, the rest sorted by PTS (decode order among equal PTS), and Start worked out.
// The result depends only on Samples, which is what lets UnmarshalBinary store just those.
func (ix *Index) assignFrames() error {
	firstKey := -1
	for i := range ix.Samples {
		if ix.Samples[i].Key {
			firstKey = i
			break
		}
	}
	if firstKey < 0 {
		return fmt.Errorf("index: none of the %d video samples is a sync sample, so no picture can be decoded: %w",
			len(ix.Samples), ErrCorrupt)
	}
	shown := make([]int32, 0, len(ix.Samples))
	for i := range ix.Samples {
		if i < firstKey {
			ix.Samples[i].Frame = -1
		}
		if ix.Samples[i].Frame >= 0 {
			shown = append(shown, int32(i))
		}
	}
	if len(shown) == 0 {
		return fmt.Errorf("index: the edit list hides all %d video samples: %w", len(ix.Samples), ErrCorrupt)
	}
	sort.SliceStable(shown, func(a, b int) bool {
		return ix.Samples[shown[a]].PTS < ix.Samples[shown[b]].PTS
	})
	// lastKey[i]: the last sync sample at or before i (-1 for none).
	lastKey := make([]int32, len(ix.Samples))
	k := int32(-1)
	for i := range ix.Samples {
		if ix.Samples[i].Key {
			k = int32(i)
		}
		lastKey[i] = k
	}
	ix.Frames = make([]Frame, len(shown))
	for n, d := range shown {
		s := &ix.Samples[d]
		s.Frame = int32(n)
		start := lastKey[d]
		if s.PTS < ix.Samples[start].PTS && start > 0 {
			// A leading picture of an open GOP refers to the GOP before: start one sync
			// sample earlier, when there is one.
			if prev := lastKey[start-1]; prev >= 0 {
				start = prev
			}
		}
		ix.Frames[n] = Frame{
			PTS: s.PTS, DTS: s.DTS, Offset: s.Offset, Size: s.Size, Key: s.Key,
			Decode: d, Start: start,
		}
	}
	return nil
}

// check verifies the invariants every Index satisfies; Build and UnmarshalBinary end with it.
func (ix *Index) check() error {
	if len(ix.Samples) > MaxSamples {
		return fmt.Errorf("index: %d samples, more than %d: %w", len(ix.Samples), MaxSamples, ErrCorrupt)
	}
	if ix.Timescale == 0 {
		return fmt.Errorf("index: timescale 0: %w", ErrCorrupt)
	}
	seen := 0
	for i := range ix.Samples {
		s := &ix.Samples[i]
		if s.Frame < -1 || int(s.Frame) >= len(ix.Frames) {
			return fmt.Errorf("index: sample %d names frame %d of %d: %w", i, s.Frame, len(ix.Frames), ErrCorrupt)
		}
		if s.Size < 0 || s.Offset < 0 || (ix.FileSize > 0 && s.Offset+int64(s.Size) > ix.FileSize) {
			return fmt.Errorf("index: sample %d (%d bytes at %d) is outside the file (%d bytes): %w",
				i, s.Size, s.Offset, ix.FileSize, ErrCorrupt)
		}
		if s.Frame >= 0 {
			seen++
			if int(ix.Frames[s.Frame].Decode) != i {
				return fmt.Errorf("index: sample %d and frame %d do not name each other: %w", i, s.Frame, ErrCorrupt)
			}
		}
	}
	if seen != len(ix.Frames) {
		return fmt.Errorf("index: %d frames but %d shown samples: %w", len(ix.Frames), seen, ErrCorrupt)
	}
	for n := range ix.Frames {
		f := &ix.Frames[n]
		if f.Decode < 0 || int(f.Decode) >= len(ix.Samples) || f.Start < 0 || f.Start > f.Decode {
			return fmt.Errorf("index: frame %d decodes sample %d from %d of %d: %w",
				n, f.Decode, f.Start, len(ix.Samples), ErrCorrupt)
		}
		if !ix.Samples[f.Start].Key {
			return fmt.Errorf("index: frame %d starts decoding at sample %d, not a sync sample: %w", n, f.Start, ErrCorrupt)
		}
		if n > 0 && f.PTS < ix.Frames[n-1].PTS {
			return fmt.Errorf("index: frame %d is out of presentation order: %w", n, ErrCorrupt)
		}
	}
	return nil
}
