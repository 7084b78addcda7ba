package frames

import (
	"fmt"

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
	// The profile comes from the MP4/MKV decoder configuration record; MPEG-TS has none, so
	// only the size is known there.
	stream := graph.StreamCaps(codec, profileOf(codec, ix.CodecConfig), ix.Width, ix.Height)
	return graph.ChooseDecoderFor(policy, codec, stream)
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

// profileOf names the profile in an avcC or hvcC record the way GStreamer's caps do; "" when
// the record is missing or the profile is one GStreamer has no name for.
func profileOf(codec graph.Codec, record []byte) string {
	switch {
	case codec == graph.H264 && len(record) >= 4:
		// configurationVersion, AVCProfileIndication, profile_compatibility, AVCLevelIndication
		return graph.H264Profile(record[1], record[2])
	case codec == graph.H265 && len(record) >= 19:
		// general_profile_space(2) general_tier_flag(1) general_profile_idc(5), ... then
		// chromaFormat and the bit depths at bytes 16 to 18, each in its low bits.
		return graph.H265Profile(record[1]&0x1f, int(record[16]&3), 8+int(record[17]&7))
	}
	return ""
}
