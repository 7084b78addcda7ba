package index

import "errors"

// ErrUnsupported is matched by the errors Build returns for input it cannot index: not a
// video container (a PNG, random bytes, an empty file), a container without a video track, or a
// first video track whose codec is not H.264 or H.265.
var ErrUnsupported = errors.New("unsupported input")

// ErrCorrupt is matched by the errors Build and UnmarshalBinary return for input whose tables
// lie: sizes and offsets past the end of the file, counts that do not add up, a truncated file,
// a sidecar whose checksum does not match.
var ErrCorrupt = errors.New("corrupt input")
