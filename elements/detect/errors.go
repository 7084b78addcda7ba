package detect

import "errors"

var (
	// ErrShape means a tensor's length does not match the shape given for it, or the shape
	// itself cannot be decoded (a zero dimension, too few rows for the boxes).
	ErrShape = errors.New("detect: tensor shape mismatch")
	// ErrLetterbox means a Letterbox has a non-positive size or scale.
	ErrLetterbox = errors.New("detect: invalid letterbox")
	// ErrOptions means an Options field is out of range.
	ErrOptions = errors.New("detect: invalid options")
	// ErrBinaryVersion means binary detections were written by an encoding version this
	// package does not read.
	ErrBinaryVersion = errors.New("detect: unknown binary version")
	// ErrBinaryCorrupt means binary detections are truncated or malformed.
	ErrBinaryCorrupt = errors.New("detect: corrupt binary detections")
)
