package spec

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRedactURI(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"rtsp://admin:secret@cam/path", "rtsp://***:***@cam/path"},
		{"rtsp://admin:secret@cam:554/path?x=1#f", "rtsp://***:***@cam:554/path?x=1#f"},
		{"rtsps://admin@cam/path", "rtsps://***@cam/path"},
		{"rtsp://admin:@cam", "rtsp://***:***@cam"},
		{"rtsp://admin:p%40ss@cam/s", "rtsp://***:***@cam/s"},
		{"rtsp://cam/path", "rtsp://cam/path"},
		// An "@" after the host is taken as possibly ending a password: hiding the host
		// is the price of never showing a password with a "/" in it.
		{"rtsp://cam/stream@2", "rtsp://***@2"},
		{"rtsp://cam/s?user=a@b", "rtsp://***@b"},
		{"rtsp://admin:12/ab@cam/s", "rtsp://***:***@cam/s"},
		{"rtsp://admin:secret@cam/a@b", "rtsp://***:***@b"},
		{"file:///videos/a.mp4", "file:///videos/a.mp4"},
		{"/videos/a.mp4", "/videos/a.mp4"},
		{"", ""},
		{"not a uri", "not a uri"},
		{"user:pass@host", "user:pass@host"},
		// Malformed: url.Parse refuses these, and the password must still go.
		{"rtsp://user:pa ss@host/s", "rtsp://***:***@host/s"},
		{"rtsp://user:pa/ss@host/s", "rtsp://***:***@host/s"},
		{"rtsp://user:pa?ss@host/s", "rtsp://***:***@host/s"},
		{"rtsp://user:pa#ss@host/s", "rtsp://***:***@host/s"},
		{"rtsp://user:p@ss@host/s", "rtsp://***:***@host/s"},
		{"rtsp://us er@host", "rtsp://***@host"},
		{"rtsp://user:pa%zzss@host", "rtsp://***:***@host"},
		{"RTSP://user:secret@host", "RTSP://***:***@host"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := RedactURI(tt.in)
			if got != tt.want {
				t.Errorf("RedactURI(%q) = %q, want %q", tt.in, got, tt.want)
			}
			for _, secret := range []string{"secret", "pa ss", "pa/ss", "pa?ss", "pa#ss", "p@ss", "us er", "zzss", "p%40ss"} {
				if strings.Contains(tt.in, secret) && strings.Contains(got, secret) {
					t.Errorf("RedactURI(%q) = %q still holds %q", tt.in, got, secret)
				}
			}
		})
	}
}

// FuzzRedactURI checks that no password, whatever characters it holds, survives.
func FuzzRedactURI(f *testing.F) {
	for _, s := range [][2]string{{"admin", "secret"}, {"a", "12/ab"}, {"a b", "p@ss"}, {"", "x?y#z"}, {"u", "://a:b@c"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, user, pass string) {
		const tail = "@cam.local/stream"
		uri := "rtsp://" + user + ":" + pass + tail
		got := RedactURI(uri)
		if got != "rtsp://***:***"+tail {
			t.Errorf("RedactURI(%q) = %q", uri, got)
		}
		if RedactURI(got) != got {
			t.Errorf("RedactURI is not idempotent on %q", got)
		}
		// Any string at all: no panic, and the text after the last "@" is kept.
		if r := RedactURI(pass); strings.Contains(pass, "@") && !strings.HasSuffix(r, pass[strings.LastIndex(pass, "@"):]) {
			t.Errorf("RedactURI(%q) = %q lost the host part", pass, r)
		}
	})
}

// TestConfigJSONHidesSecrets: the API token, the TURN credential and secret have no JSON form, so
// whatever shows a Config as JSON cannot show them; the rest of the ICE server still shows.
func TestConfigJSONHidesSecrets(t *testing.T) {
	c := validConfig()
	c.Server.APIToken = "api-s3cret"
	c.WebRTC.ICEServers = append(c.WebRTC.ICEServers, ICEServer{URLs: []string{"turns:turn.example.org"}, Secret: "rest-s3cret"})
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"api-s3cret", c.WebRTC.ICEServers[1].Credential, "rest-s3cret"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("JSON holds the secret %q: %s", secret, b)
		}
	}
	for _, shown := range []string{`"username":"pigweight"`, `"turn:turn.example.org:3478?transport=udp"`, `"udp_ports":[50000,50100]`} {
		if !strings.Contains(string(b), shown) {
			t.Errorf("JSON lacks %s: %s", shown, b)
		}
	}
}
