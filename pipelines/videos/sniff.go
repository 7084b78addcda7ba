package videos

import (
	"bytes"
	"unicode/utf8"
)

// sniffLen is how many leading bytes sniff wants before it judges an upload.
const sniffLen = 512

// sniff looks at the first bytes of an upload and returns why it cannot be a video container
// that index.Build reads, or "" when it may be one. It only refuses what is clearly something
// else, so that a bad upload fails before it is written to disk; index.Build has the last word.
func sniff(head []byte) string {
	switch {
	case len(head) >= 8 && isMP4Box(head[4:8]):
		return ""
	case bytes.HasPrefix(head, []byte{0x1A, 0x45, 0xDF, 0xA3}): // EBML: Matroska, WebM
		return ""
	}
	for _, m := range []struct{ magic, what string }{
		{"\x89PNG\r\n\x1a\n", "it is a PNG picture"},
		{"\xff\xd8\xff", "it is a JPEG picture"},
		{"GIF8", "it is a GIF picture"},
		{"BM", "it looks like a BMP picture"},
		{"II*\x00", "it is a TIFF picture"},
		{"MM\x00*", "it is a TIFF picture"},
		{"RIFF", "it is a RIFF file (AVI or WAV): upload MP4, MKV/WebM or MPEG-TS"},
		{"OggS", "it is an Ogg file"},
		{"FLV", "it is an FLV file: upload MP4, MKV/WebM or MPEG-TS"},
		{"ID3", "it is an MP3 audio file"},
		{"fLaC", "it is a FLAC audio file"},
		{"%PDF", "it is a PDF document"},
		{"PK\x03\x04", "it is a ZIP archive"},
		{"\x1f\x8b", "it is gzip-compressed"},
		{"7z\xbc\xaf", "it is a 7-Zip archive"},
		{"\x00\x00\x00\x01", "it is a raw H.264/H.265 stream without a container"},
		{"\x00\x00\x01", "it is a raw MPEG stream without a container"},
	} {
		if bytes.HasPrefix(head, []byte(m.magic)) {
			return m.what
		}
	}
	if looksLikeText(head) {
		return "it is text"
	}
	// MPEG-TS comes last: its sync byte is a 'G', as in GIF or plain text.
	if syncedTS(head, 188, 0) || syncedTS(head, 192, 4) {
		return ""
	}
	return "its first bytes are not those of an MP4/MOV, MKV/WebM or MPEG-TS file"
}

// syncedTS reports whether head has the sync byte of transport packets of pktSize bytes at
// offset syncAt (188 and 0 for MPEG-TS, 192 and 4 for M2TS) in every packet it holds.
func syncedTS(head []byte, pktSize, syncAt int) bool {
	if len(head) <= syncAt {
		return false
	}
	for i := syncAt; i < len(head); i += pktSize {
		if head[i] != 0x47 {
			return false
		}
	}
	return true
}

// isMP4Box reports whether t is the type of a box that can start an ISO BMFF or QuickTime file.
func isMP4Box(t []byte) bool {
	switch string(t) {
	case "ftyp", "moov", "mdat", "free", "skip", "wide", "pnot", "styp", "sidx", "moof", "uuid", "junk", "pdin":
		return true
	}
	return false
}

// looksLikeText reports whether head is valid UTF-8 without control characters other than
// white space (a truncated last rune is allowed: head may end mid-character).
func looksLikeText(head []byte) bool {
	if len(head) == 0 {
		return false
	}
	for len(head) > 0 {
		r, size := utf8.DecodeRune(head)
		if r == utf8.RuneError && size <= 1 {
			return len(head) < utf8.UTFMax && !utf8.FullRune(head)
		}
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' || r == 0x7f {
			return false
		}
		head = head[size:]
	}
	return true
}
