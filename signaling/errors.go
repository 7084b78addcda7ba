package signaling

import "errors"

// Errors that callers branch on. ParseMessage wraps ErrMalformedMessage, ErrUnknownType or
// ErrInvalidMessage with the detail; Viewers.Join wraps ErrUnknownStream.
var (
	// ErrUnknownStream is returned (wrapped) by Viewers.Join for a stream that does not exist.
	// The client receives an error message whose text is exactly this error's.
	ErrUnknownStream = errors.New("unknown stream")

	// ErrMalformedMessage means the message is not a JSON object or a field has the wrong JSON
	// type.
	ErrMalformedMessage = errors.New("malformed message")

	// ErrUnknownType means the message's type is missing or none of the protocol's types.
	ErrUnknownType = errors.New("unknown message type")

	// ErrInvalidMessage means a field the type requires is missing, or a field is out of
	// bounds (length, character set, SDP shape).
	ErrInvalidMessage = errors.New("invalid message")
)
