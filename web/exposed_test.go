package web

import (
	"net"
	"testing"
)

// Only loopback addresses keep the server to this machine; the wildcard and LAN addresses
// expose it (serve warns when they do without an API token).
func TestExposed(t *testing.T) {
	for _, c := range []struct {
		ip   string
		want bool
	}{
		{"127.0.0.1", false}, {"127.0.0.53", false}, {"::1", false},
		{"0.0.0.0", true}, {"::", true}, {"192.168.1.20", true}, {"fe80::1", true},
	} {
		if got := exposed(&net.TCPAddr{IP: net.ParseIP(c.ip), Port: 8080}); got != c.want {
			t.Errorf("%s: exposed %v, want %v", c.ip, got, c.want)
		}
	}
}
