package signaling

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

func ptr[T any](v T) *T { return &v }

const testSDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"

// messageCases feeds the parse test, the marshal test and the fuzz seeds. want is checked
// when err is nil; otherwise the error must wrap err.
var messageCases = []struct {
	name string
	in   string
	want Message
	err  error
}{
	// join
	{"join", `{"type":"join","stream":"pen-1_a"}`, Message{Type: TypeJoin, Stream: "pen-1_a"}, nil},
	{"join drops fields it does not carry", `{"type":"join","stream":"pen1","id":"x","sdp":"junk","error":"e","candidate":{"candidate":""}}`,
		Message{Type: TypeJoin, Stream: "pen1"}, nil},
	{"join ignores unknown keys", `{"type":"join","stream":"pen1","extra":{"a":[1,2]},"Stream":5}`, Message{Type: TypeJoin, Stream: "pen1"}, nil},
	{"join with 64-char stream", `{"type":"join","stream":"` + strings.Repeat("a", 64) + `"}`, Message{Type: TypeJoin, Stream: strings.Repeat("a", 64)}, nil},
	{"join without stream", `{"type":"join"}`, Message{}, ErrInvalidMessage},
	{"join with null stream", `{"type":"join","stream":null}`, Message{}, ErrInvalidMessage},
	{"join with 65-char stream", `{"type":"join","stream":"` + strings.Repeat("a", 65) + `"}`, Message{}, ErrInvalidMessage},
	{"join with slash in stream", `{"type":"join","stream":"../etc"}`, Message{}, ErrInvalidMessage},
	{"join with space in stream", `{"type":"join","stream":"pen 1"}`, Message{}, ErrInvalidMessage},
	{"join with numeric stream", `{"type":"join","stream":1}`, Message{}, ErrMalformedMessage},
	{"join with keys in another case", `{"Type":"join","stream":"pen1"}`, Message{}, ErrUnknownType},

	// offer
	{"offer", `{"type":"offer","stream":"pen1","id":"v1","sdp":"` + jsonText(testSDP) + `"}`,
		Message{Type: TypeOffer, Stream: "pen1", ID: "v1", SDP: testSDP}, nil},
	{"offer without stream", `{"type":"offer","id":"v1","sdp":"v=0"}`, Message{Type: TypeOffer, ID: "v1", SDP: "v=0"}, nil},
	{"offer without sdp", `{"type":"offer","id":"v1"}`, Message{}, ErrInvalidMessage},

	// answer
	{"answer", `{"type":"answer","id":"v1","sdp":"` + jsonText(testSDP) + `"}`, Message{Type: TypeAnswer, ID: "v1", SDP: testSDP}, nil},
	{"answer with sdp of 64 KiB", `{"type":"answer","id":"v1","sdp":"v=0` + strings.Repeat("x", MaxSDPBytes-3) + `"}`,
		Message{Type: TypeAnswer, ID: "v1", SDP: "v=0" + strings.Repeat("x", MaxSDPBytes-3)}, nil},
	{"answer with sdp over 64 KiB", `{"type":"answer","id":"v1","sdp":"v=0` + strings.Repeat("x", MaxSDPBytes-2) + `"}`, Message{}, ErrInvalidMessage},
	{"answer with sdp that is no session description", `{"type":"answer","id":"v1","sdp":"hello"}`, Message{}, ErrInvalidMessage},
	{"answer without id", `{"type":"answer","sdp":"v=0"}`, Message{}, ErrInvalidMessage},
	{"answer without sdp", `{"type":"answer","id":"v1"}`, Message{}, ErrInvalidMessage},
	{"answer with object sdp", `{"type":"answer","id":"v1","sdp":{}}`, Message{}, ErrMalformedMessage},
	{"answer with bad id", `{"type":"answer","id":"v1\n","sdp":"v=0"}`, Message{}, ErrInvalidMessage},

	// candidate
	{"candidate", `{"type":"candidate","id":"v1","candidate":{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"abcd"}}`,
		Message{Type: TypeCandidate, ID: "v1", Candidate: &webrtc.ICECandidateInit{
			Candidate: "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host", SDPMid: ptr("0"), SDPMLineIndex: ptr(uint16(0)), UsernameFragment: ptr("abcd")}}, nil},
	{"candidate end of gathering", `{"type":"candidate","id":"v1","candidate":{"candidate":""}}`,
		Message{Type: TypeCandidate, ID: "v1", Candidate: &webrtc.ICECandidateInit{}}, nil},
	{"candidate with nulls", `{"type":"candidate","id":"v1","candidate":{"candidate":"c","sdpMid":null,"sdpMLineIndex":null,"usernameFragment":null}}`,
		Message{Type: TypeCandidate, ID: "v1", Candidate: &webrtc.ICECandidateInit{Candidate: "c"}}, nil},
	{"candidate with largest mline index", `{"type":"candidate","id":"v1","candidate":{"candidate":"c","sdpMLineIndex":65535}}`,
		Message{Type: TypeCandidate, ID: "v1", Candidate: &webrtc.ICECandidateInit{Candidate: "c", SDPMLineIndex: ptr(uint16(65535))}}, nil},
	{"candidate without candidate", `{"type":"candidate","id":"v1"}`, Message{}, ErrInvalidMessage},
	{"candidate with null candidate", `{"type":"candidate","id":"v1","candidate":null}`, Message{}, ErrInvalidMessage},
	{"candidate as a string", `{"type":"candidate","id":"v1","candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host"}`, Message{}, ErrMalformedMessage},
	{"candidate with mline index too big", `{"type":"candidate","id":"v1","candidate":{"candidate":"c","sdpMLineIndex":65536}}`, Message{}, ErrMalformedMessage},
	{"candidate with negative mline index", `{"type":"candidate","id":"v1","candidate":{"candidate":"c","sdpMLineIndex":-1}}`, Message{}, ErrMalformedMessage},
	{"candidate with fractional mline index", `{"type":"candidate","id":"v1","candidate":{"candidate":"c","sdpMLineIndex":0.5}}`, Message{}, ErrMalformedMessage},
	{"candidate with numeric sdpMid", `{"type":"candidate","id":"v1","candidate":{"candidate":"c","sdpMid":0}}`, Message{}, ErrMalformedMessage},
	{"candidate too long", `{"type":"candidate","id":"v1","candidate":{"candidate":"` + strings.Repeat("c", MaxCandidateBytes+1) + `"}}`, Message{}, ErrInvalidMessage},
	{"candidate without id", `{"type":"candidate","candidate":{"candidate":""}}`, Message{}, ErrInvalidMessage},

	// leave
	{"leave", `{"type":"leave","id":"v1"}`, Message{Type: TypeLeave, ID: "v1"}, nil},
	{"leave without id", `{"type":"leave"}`, Message{}, ErrInvalidMessage},
	{"leave with empty id", `{"type":"leave","id":""}`, Message{}, ErrInvalidMessage},

	// error
	{"error", `{"type":"error","error":"unknown stream","stream":"pen9"}`, Message{Type: TypeError, Stream: "pen9", Error: "unknown stream"}, nil},
	{"error with id", `{"type":"error","error":"answer rejected","id":"v1"}`, Message{Type: TypeError, ID: "v1", Error: "answer rejected"}, nil},
	{"error without text", `{"type":"error","id":"v1"}`, Message{}, ErrInvalidMessage},
	{"error too long", `{"type":"error","error":"` + strings.Repeat("e", MaxErrorBytes+1) + `"}`, Message{}, ErrInvalidMessage},

	// anything
	{"unknown type", `{"type":"subscribe","stream":"pen1"}`, Message{}, ErrUnknownType},
	{"no type", `{"stream":"pen1"}`, Message{}, ErrUnknownType},
	{"numeric type", `{"type":1}`, Message{}, ErrMalformedMessage},
	{"empty", ``, Message{}, ErrMalformedMessage},
	{"not JSON", `hello`, Message{}, ErrMalformedMessage},
	{"truncated", `{"type":"join","stream":"pen1"`, Message{}, ErrMalformedMessage},
	{"trailing data", `{"type":"join","stream":"pen1"}{}`, Message{}, ErrMalformedMessage},
	{"null", `null`, Message{}, ErrMalformedMessage},
	{"array", `[{"type":"join","stream":"pen1"}]`, Message{}, ErrMalformedMessage},
	{"string", `"join"`, Message{}, ErrMalformedMessage},
}

// jsonText escapes s for use inside a JSON string literal.
func jsonText(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

func TestParseMessage(t *testing.T) {
	for _, tc := range messageCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMessage([]byte(tc.in))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("ParseMessage: error %v, want one wrapping %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseMessage: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseMessage:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestMarshalMessage checks that what the server writes is what ParseMessage reads.
func TestMarshalMessage(t *testing.T) {
	for _, tc := range messageCases {
		if tc.err != nil {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			data, err := json.Marshal(tc.want)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseMessage(data)
			if err != nil {
				t.Fatalf("ParseMessage(%s): %v", data, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("round trip of %s:\n got %+v\nwant %+v", data, got, tc.want)
			}
		})
	}
}

// TestParseMessageKeepsIDOnInvalid checks what the handler relies on to echo a request's id and
// to never answer an error message.
func TestParseMessageKeepsIDOnInvalid(t *testing.T) {
	m, err := ParseMessage([]byte(`{"type":"answer","id":"v7","sdp":"not sdp"}`))
	if !errors.Is(err, ErrInvalidMessage) || m.ID != "v7" || m.Type != TypeAnswer {
		t.Fatalf("got %+v, %v; want the id and type kept with ErrInvalidMessage", m, err)
	}
	m, err = ParseMessage([]byte(`{"type":"error","id":"v7"}`))
	if !errors.Is(err, ErrInvalidMessage) || m.Type != TypeError {
		t.Fatalf("got %+v, %v; want type error kept with ErrInvalidMessage", m, err)
	}
}

func FuzzParseMessage(f *testing.F) {
	for _, tc := range messageCases {
		// The cases at the size bounds (64 KiB) would make every mutation and minimisation slow;
		// the table tests cover them.
		if len(tc.in) <= 4<<10 {
			f.Add([]byte(tc.in))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMessage(data)
		if err != nil {
			switch {
			case errors.Is(err, ErrMalformedMessage), errors.Is(err, ErrUnknownType), errors.Is(err, ErrInvalidMessage):
			default:
				t.Fatalf("ParseMessage(%q): error %v wraps no sentinel", data, err)
			}
			return
		}
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", m, err)
		}
		again, err := ParseMessage(out)
		if err != nil {
			t.Fatalf("re-parse of %s (from %q): %v", out, data, err)
		}
		if !reflect.DeepEqual(m, again) {
			t.Fatalf("round trip changed the message:\n first %+v\nsecond %+v", m, again)
		}
	})
}
