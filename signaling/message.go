package signaling

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"
)

// Message types.
const (
	TypeJoin      = "join"      // browser → server: {stream}
	TypeOffer     = "offer"     // server → browser: {id, sdp, stream}
	TypeAnswer    = "answer"    // browser → server: {id, sdp}
	TypeCandidate = "candidate" // both ways: {id, candidate}
	TypeLeave     = "leave"     // browser → server: {id}
	TypeError     = "error"     // both ways: {error, id?, stream?}
)

// Bounds that ParseMessage enforces.
const (
	// MaxSDPBytes bounds a session description; a browser's offer or answer for one video
	// track and a DataChannel is a few KiB.
	MaxSDPBytes = 64 << 10
	// MaxNameLen bounds stream names and viewer ids, which are made of [A-Za-z0-9_-].
	MaxNameLen = 64
	// MaxCandidateBytes bounds each string of a candidate (candidate, sdpMid, usernameFragment).
	MaxCandidateBytes = 4 << 10
	// MaxErrorBytes bounds an error message's text.
	MaxErrorBytes = 4 << 10
)

// Message is one signalling message. Which fields a type carries is listed with the Type
// constants; ParseMessage clears the others.
type Message struct {
	Type   string `json:"type"`
	Stream string `json:"stream,omitempty"`
	ID     string `json:"id,omitempty"`
	SDP    string `json:"sdp,omitempty"`
	// Candidate is an ICE candidate as RTCIceCandidateInit spells it; an empty Candidate.Candidate
	// marks the end of gathering.
	Candidate *webrtc.ICECandidateInit `json:"candidate,omitempty"`
	Error     string                   `json:"error,omitempty"`
	// ICEServers, on an offer, are the STUN and TURN servers the browser should use for its
	// side of the connection (as RTCConfiguration.iceServers). Only the server sends them;
	// ParseMessage does not read them.
	ICEServers []webrtc.ICEServer `json:"ice_servers,omitempty"`
}

// fieldSet names the optional fields of Message, to say which a type requires or allows.
type fieldSet uint8

const (
	fieldStream fieldSet = 1 << iota
	fieldID
	fieldSDP
	fieldCandidate
	fieldError
)

// typeFields says which fields a message type requires and which it may carry besides; ok is
// false for an unknown type.
func typeFields(typ string) (required, optional fieldSet, ok bool) {
	switch typ {
	case TypeJoin:
		return fieldStream, 0, true
	case TypeOffer:
		return fieldID | fieldSDP, fieldStream, true
	case TypeAnswer:
		return fieldID | fieldSDP, 0, true
	case TypeCandidate:
		return fieldID | fieldCandidate, 0, true
	case TypeLeave:
		return fieldID, 0, true
	case TypeError:
		return fieldError, fieldID | fieldStream, true
	}
	return 0, 0, false
}

// ParseMessage decodes and validates one message.
//
// It is strict on what it knows and lenient on what it does not: keys are matched exactly (case
// included), a known field of the wrong JSON type makes the message malformed, unknown keys are
// ignored, and known fields that the message's type does not carry are cleared. Each field the
// type requires must be present and within bounds (MaxSDPBytes, MaxNameLen, ...).
//
// The error wraps ErrMalformedMessage, ErrUnknownType or ErrInvalidMessage. With the latter two
// the returned Message still holds the fields that decoded, so that a caller can tell an error
// message from a request and echo a request's id.
func ParseMessage(data []byte) (Message, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return Message{}, fmt.Errorf("%w: %s", ErrMalformedMessage, jsonProblem("", err))
	}
	if obj == nil { // the JSON was null
		return Message{}, fmt.Errorf("%w: not a JSON object", ErrMalformedMessage)
	}
	var m Message
	for _, f := range [...]struct {
		key string
		dst *string
	}{{"type", &m.Type}, {"stream", &m.Stream}, {"id", &m.ID}, {"sdp", &m.SDP}, {"error", &m.Error}} {
		if raw, ok := obj[f.key]; ok {
			if err := json.Unmarshal(raw, f.dst); err != nil {
				return Message{}, fmt.Errorf("%w: %s", ErrMalformedMessage, jsonProblem(f.key, err))
			}
		}
	}
	if raw, ok := obj["candidate"]; ok {
		c, err := parseCandidate(raw)
		if err != nil {
			return Message{}, fmt.Errorf("%w: %w", ErrMalformedMessage, err)
		}
		m.Candidate = c
	}

	required, optional, ok := typeFields(m.Type)
	if !ok {
		if m.Type == "" {
			return m, fmt.Errorf("%w: no \"type\"", ErrUnknownType)
		}
		return m, fmt.Errorf("%w %.64q", ErrUnknownType, m.Type)
	}
	m.keepOnly(required | optional)
	if err := m.validate(required); err != nil {
		return m, fmt.Errorf("%w: %s: %w", ErrInvalidMessage, m.Type, err)
	}
	return m, nil
}

// parseCandidate decodes an RTCIceCandidateInit with exact keys and strict types; null is no
// candidate.
func parseCandidate(raw json.RawMessage) (*webrtc.ICECandidateInit, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, errors.New(jsonProblem("candidate", err))
	}
	if obj == nil {
		return nil, nil
	}
	var c webrtc.ICECandidateInit
	for _, f := range [...]struct {
		key string
		dst any
	}{
		{"candidate", &c.Candidate}, {"sdpMid", &c.SDPMid},
		{"sdpMLineIndex", &c.SDPMLineIndex}, {"usernameFragment", &c.UsernameFragment},
	} {
		if raw, ok := obj[f.key]; ok {
			if err := json.Unmarshal(raw, f.dst); err != nil {
				return nil, errors.New(jsonProblem("candidate."+f.key, err))
			}
		}
	}
	return &c, nil
}

// jsonProblem words a decoding error for the client, without Go type names where it can.
func jsonProblem(key string, err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		want := "a string"
		switch typeErr.Type.String() {
		case "map[string]json.RawMessage":
			want = "an object"
		case "uint16":
			want = "an integer from 0 to 65535"
		}
		if key == "" {
			return "not a JSON object"
		}
		return fmt.Sprintf("%q must be %s, not %s", key, want, typeErr.Value)
	}
	if key == "" {
		return err.Error()
	}
	return fmt.Sprintf("%q: %v", key, err)
}

// keepOnly clears the fields outside keep.
func (m *Message) keepOnly(keep fieldSet) {
	if keep&fieldStream == 0 {
		m.Stream = ""
	}
	if keep&fieldID == 0 {
		m.ID = ""
	}
	if keep&fieldSDP == 0 {
		m.SDP = ""
	}
	if keep&fieldCandidate == 0 {
		m.Candidate = nil
	}
	if keep&fieldError == 0 {
		m.Error = ""
	}
}

// validate checks that the required fields are present and that every present field is within
// bounds.
func (m *Message) validate(required fieldSet) error {
	for _, f := range [...]struct {
		field   fieldSet
		key     string
		present bool
	}{
		{fieldStream, "stream", m.Stream != ""},
		{fieldID, "id", m.ID != ""},
		{fieldSDP, "sdp", m.SDP != ""},
		{fieldCandidate, "candidate", m.Candidate != nil},
		{fieldError, "error", m.Error != ""},
	} {
		if required&f.field != 0 && !f.present {
			return fmt.Errorf("missing %q", f.key)
		}
	}
	if m.Stream != "" && !validName(m.Stream) {
		return fmt.Errorf("\"stream\" must be 1 to %d characters of A-Z a-z 0-9 _ -", MaxNameLen)
	}
	if m.ID != "" && !validName(m.ID) {
		return fmt.Errorf("\"id\" must be 1 to %d characters of A-Z a-z 0-9 _ -", MaxNameLen)
	}
	if m.SDP != "" {
		if len(m.SDP) > MaxSDPBytes {
			return fmt.Errorf("\"sdp\" is longer than %d bytes", MaxSDPBytes)
		}
		// RFC 8866 §5: a session description starts with the version line "v=0".
		if !strings.HasPrefix(m.SDP, "v=0") {
			return errors.New("\"sdp\" is not a session description (it must start with v=0)")
		}
	}
	if c := m.Candidate; c != nil {
		if len(c.Candidate) > MaxCandidateBytes ||
			(c.SDPMid != nil && len(*c.SDPMid) > MaxCandidateBytes) ||
			(c.UsernameFragment != nil && len(*c.UsernameFragment) > MaxCandidateBytes) {
			return fmt.Errorf("\"candidate\" has a string longer than %d bytes", MaxCandidateBytes)
		}
	}
	if len(m.Error) > MaxErrorBytes {
		return fmt.Errorf("\"error\" is longer than %d bytes", MaxErrorBytes)
	}
	return nil
}

// validName reports whether s is a valid stream name or viewer id: 1 to MaxNameLen characters
// of [A-Za-z0-9_-].
func validName(s string) bool {
	if len(s) == 0 || len(s) > MaxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
