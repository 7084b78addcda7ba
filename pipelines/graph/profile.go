package graph

import "fmt"

// H264Profile names an H.264 profile as GStreamer's caps do, from profile_idc and the
// constraint flags byte after it (as an SPS, an avcC record and RTP's profile-level-id carry
// them); "" for a profile without a name there.
func H264Profile(idc, constraints byte) string {
	switch idc {
	case 66:
		if constraints&0x40 != 0 { // constraint_set1_flag
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
	return ""
}

// H265Profile names an H.265 general_profile_idc as GStreamer's caps do. The format range
// extensions (4) are named by chroma format (0-3) and bit depth, main-444-10 and the like;
// chroma < 0 says they are not known, and gives "" as for a profile without a name.
func H265Profile(idc byte, chroma, depth int) string {
	switch idc {
	case 1:
		return "main"
	case 2:
		return "main-10"
	case 3:
		return "main-still-picture"
	case 4:
		name := map[int]string{0: "monochrome", 1: "main", 2: "main-422", 3: "main-444"}[chroma]
		switch {
		case name == "":
		case depth > 8:
			return fmt.Sprintf("%s-%d", name, depth)
		case chroma == 0 || chroma == 3:
			return name
		}
	}
	return ""
}
