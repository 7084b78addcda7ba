package frames

import (
	"fmt"

	"github.com/go-gst/go-gst/gst"
	"github.com/pigweight/pigweight/pipelines/graph"
	"github.com/pigweight/pigweight/pipelines/index"
	"github.com/pigweight/pigweight/pipelines/spec"
)

// ChooseDecoder names the decoder element frame access uses for ix under policy: NVDEC (auto)
// only where it can decode this stream.
func ChooseDecoder(ix *index.Index, policy spec.Decode) (string, error) {
	codec, err := codecOf(ix)
	if err != nil {
		return "", err
	}
	return graph.ChooseDecoderFor(policy, codec, streamCaps(ix, codec))
}

func codecOf(ix *index.Index) (graph.Codec, error) {
	switch ix.Codec {
	case index.CodecH264:
		return graph.H264, nil
	case index.CodecH265:
		return graph.H265, nil
	}
	return "", fmt.Errorf("%w: codec %q", ErrUnsupported, ix.Codec)
}

// streamCaps describes ix's video as the parser hands it to a decoder (Annex B access units,
// profile, size), for choosing one that can decode it. The profile comes from the MP4/MKV
// decoder configuration record; MPEG-TS carries none, so only the size is known there.
func streamCaps(ix *index.Index, codec graph.Codec) *gst.Caps {
	desc := fmt.Sprintf("video/x-%s,stream-format=byte-stream,alignment=au", codec)
	if ix.Width > 0 && ix.Height > 0 {
		desc += fmt.Sprintf(",width=%d,height=%d", ix.Width, ix.Height)
	}
	if p := profileOf(codec, ix.CodecConfig); p != "" {
		desc += ",profile=" + p
	}
	return gst.NewCapsFromString(desc)
}

// profileOf names the profile in an avcC or hvcC record the way GStreamer's caps do; "" when
// the record is missing or the profile is one GStreamer has no name for.
func profileOf(codec graph.Codec, record []byte) string {
	switch {
	case codec == graph.H264 && len(record) >= 4:
		// configurationVersion, AVCProfileIndication, profile_compatibility, AVCLevelIndication
		constrained := record[2]&0x40 != 0 // constraint_set1_flag
		switch record[1] {
		case 66:
			if constrained {
				return "constrained-baseline"
			}
			return "baseline"
		case 77:
			return "main"
		case 88:
			return "extended"
		case 100:
			return "high"
		case 110:
			return "high-10"
		case 122:
			return "high-4:2:2"
		case 244:
			return "high-4:4:4"
		}
	case codec == graph.H265 && len(record) >= 19:
		// general_profile_space(2) general_tier_flag(1) general_profile_idc(5), ... then
		// chromaFormat and the bit depths at bytes 16 to 18, each in its low bits.
		chroma, depth := record[16]&3, 8+int(record[17]&7)
		switch record[1] & 0x1f {
		case 1:
			return "main"
		case 2:
			return "main-10"
		case 3:
			return "main-still-picture"
		case 4: // format range extensions, named by chroma format and depth: main-444-10, ...
			name := map[byte]string{0: "monochrome", 1: "main", 2: "main-422", 3: "main-444"}[chroma]
			switch {
			case depth > 8:
				return fmt.Sprintf("%s-%d", name, depth)
			case chroma == 0 || chroma == 3:
				return name
			}
		}
	}
	return ""
}
