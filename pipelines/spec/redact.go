package spec

import "strings"

// RedactURI hides the userinfo of a URI (RFC 3986 section 3.2.1) so that the URI can be
// logged or shown: "rtsp://admin:secret@cam/path" becomes "rtsp://***:***@cam/path", and
// "rtsp://admin@cam" becomes "rtsp://***@cam". A string without "://" is not a URI with an
// authority and is returned unchanged, as is a URI without "@".
//
// Camera passwords are often pasted unescaped, and a password holding "/", "?", "#" or "@"
// makes any parser end the userinfo too early: "rtsp://admin:12/ab@cam/s" even parses, as
// host "admin", port 12. So no delimiter is trusted: everything between "://" and the last
// "@" is hidden. A URI with an "@" in its path or query loses its host in the output too,
// hiding too much rather than too little.
func RedactURI(uri string) string {
	i := strings.Index(uri, "://")
	if i < 0 {
		return uri
	}
	head, rest := uri[:i+len("://")], uri[i+len("://"):]
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return uri
	}
	mask := "***"
	if strings.Contains(rest[:at], ":") {
		mask = "***:***"
	}
	return head + mask + rest[at:]
}
