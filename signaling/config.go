package signaling

import (
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/pigweight/pigweight/signaling/admission"
)

// Config tunes the WebSocket sessions. The zero value is usable: every zero field takes its
// default.
type Config struct {
	// AllowedOrigins lists the origins ("https://pens.example.com", scheme and host[:port],
	// compared without regard to case) that may open a socket besides the server's own host;
	// "*" allows any. Empty: same host only, that is the Origin header's host must equal the
	// request's Host. A request without an Origin header (not a browser) is allowed.
	AllowedOrigins []string
	// MaxMessageBytes is the largest message the server reads; a bigger one closes the socket
	// with 1009 (message too big). Default 128 KiB, which leaves room for a 64 KiB SDP.
	MaxMessageBytes int64
	// PingInterval is how often the server pings an idle socket. Default 10 s; it must be
	// shorter than PongWait.
	PingInterval time.Duration
	// PongWait is how long the server waits for any frame (a pong, a message) before it drops
	// the peer as dead. Default 30 s.
	PongWait time.Duration
	// WriteWait bounds each write to the socket. Default 5 s.
	WriteWait time.Duration
	// MaxViewersPerSocket bounds the viewers one socket may hold at once. Default 16.
	MaxViewersPerSocket int
	// MaxQueuedMessages bounds the messages waiting to be written to one socket (and the
	// candidates of one viewer waiting for its offer). A client that does not read is
	// disconnected (close code 1013) rather than buffered without end. Default 256.
	MaxQueuedMessages int
	// ICEServers gives the STUN and TURN servers that go to the browser with each offer, so
	// that a viewer behind NAT gathers through the same servers as the server (the config's
	// webrtc.ice_servers); called per offer, so that minted TURN credentials are fresh. Nil:
	// none.
	ICEServers func() []webrtc.ICEServer
	// Admission bounds the viewers of every socket together and of each client address
	// (webrtc.max_viewers, webrtc.max_viewers_per_address); the WHEP handler shares it, so
	// that both kinds of viewer count against the same caps. A join over a cap gets an error
	// message and the socket stays open. Nil: no bound but MaxViewersPerSocket.
	Admission *admission.Gate
	// ConnectTimeout is how long a viewer's peer connection may take to connect after its
	// join. One not connected by then (a client that never answered its offer, or whose ICE
	// never succeeded) is closed, its seat given back, and the client gets an error message
	// naming it. Default 15 s.
	ConnectTimeout time.Duration
}

// Defaults.
const (
	DefaultMaxMessageBytes     = 128 << 10
	DefaultPingInterval        = 10 * time.Second
	DefaultPongWait            = 30 * time.Second
	DefaultWriteWait           = 5 * time.Second
	DefaultMaxViewersPerSocket = 16
	DefaultMaxQueuedMessages   = 256
	DefaultConnectTimeout      = 15 * time.Second
)

// WithDefaults returns c with each zero (or negative) field set to its default.
func (c Config) WithDefaults() Config {
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.PingInterval <= 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.PongWait <= 0 {
		c.PongWait = DefaultPongWait
	}
	if c.WriteWait <= 0 {
		c.WriteWait = DefaultWriteWait
	}
	if c.MaxViewersPerSocket <= 0 {
		c.MaxViewersPerSocket = DefaultMaxViewersPerSocket
	}
	if c.MaxQueuedMessages <= 0 {
		c.MaxQueuedMessages = DefaultMaxQueuedMessages
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	return c
}

// Validate reports a configuration that cannot work, after defaults: a ping interval that is
// not shorter than the pong wait would drop healthy idle sockets.
func (c Config) Validate() error {
	c = c.WithDefaults()
	if c.PingInterval >= c.PongWait {
		return fmt.Errorf("signaling: ping interval %v must be shorter than pong wait %v", c.PingInterval, c.PongWait)
	}
	return nil
}
