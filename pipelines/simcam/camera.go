package simcam

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pigweight/pigweight/pipelines/pen"
)

// Defaults for the zero fields of [Config].
const (
	DefaultPath   = "/pen"
	DefaultWidth  = 640
	DefaultHeight = 480
	DefaultFPS    = 15
	DefaultPigs   = 8
	DefaultSeed   = 1
)

// startTimeout bounds how long Start waits for the first encoded access unit: long enough for
// x264enc to start on a loaded two-core machine, short enough to report a dead source promptly.
const startTimeout = 15 * time.Second

// ErrInvalidConfig is wrapped by the errors Start returns for a config it rejects.
var ErrInvalidConfig = errors.New("invalid simcam config")

// Config describes one simulated camera.
type Config struct {
	// Addr is the RTSP listen address (TCP), e.g. "127.0.0.1:0" or ":8554".
	Addr string
	// Path is the stream path clients ask for; DefaultPath when empty.
	Path string
	// User and Pass, when set, make clients authenticate (Basic or Digest MD5) on DESCRIBE and
	// SETUP. User must not be empty when Pass is set.
	User, Pass string
	// File, when set, is an H.264 file (MP4, MKV, MPEG-TS, ...) served in a loop at its own
	// pace instead of the synthetic pen.
	File string
	// Pen is the synthetic pen; zero fields take the Default* values.
	Pen pen.Config
	// UDP also offers RTP over UDP, on a free even/odd port pair of Addr's host. TCP
	// interleaved transport is always offered.
	UDP bool
	// Logger receives the camera's log; none when nil.
	Logger *slog.Logger
	// OnSend, when set, is called with each access unit's NAL units right after they were
	// written to the stream: a benchmark's capture clock. It runs on the camera's pump and
	// must not keep nalus, which the next access unit reuses.
	OnSend func(nalus [][]byte, sent time.Time)
}

// withDefaults fills the zero fields and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.Addr == "" {
		return c, fmt.Errorf("%w: no listen address", ErrInvalidConfig)
	}
	if c.Path == "" {
		c.Path = DefaultPath
	}
	if !strings.HasPrefix(c.Path, "/") {
		c.Path = "/" + c.Path
	}
	if c.Pass != "" && c.User == "" {
		return c, fmt.Errorf("%w: a password needs a user name", ErrInvalidConfig)
	}
	c.Pen = penWithDefaults(c.Pen)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// penWithDefaults fills the zero fields of a pen config with the Default* values.
func penWithDefaults(p pen.Config) pen.Config {
	if p.Width == 0 {
		p.Width = DefaultWidth
	}
	if p.Height == 0 {
		p.Height = DefaultHeight
	}
	if p.FPS == 0 {
		p.FPS = DefaultFPS
	}
	if p.Pigs == 0 {
		p.Pigs = DefaultPigs
	}
	if p.Seed == 0 {
		p.Seed = DefaultSeed
	}
	return p
}

// Stats counts what a camera has done since Start.
type Stats struct {
	Sessions      int    `json:"sessions"`       // RTSP sessions open now
	Playing       int    `json:"playing"`        // sessions open now that have sent PLAY
	FramesEncoded uint64 `json:"frames_encoded"` // access units the source produced
	FramesSent    uint64 `json:"frames_sent"`    // access units written to the stream while a session played
	BytesSent     uint64 `json:"bytes_sent"`     // RTP bytes written to clients (packets, without TCP framing)
	Refused       uint64 `json:"refused"`        // DESCRIBE and SETUP requests answered 503 while refusing
	Drops         uint64 `json:"drops"`          // calls to Drop
	Loops         uint64 `json:"loops"`          // times a File source started over
}

// Camera is a running simulated camera.
type Camera struct {
	cfg     Config
	log     *slog.Logger
	url     string
	server  *gortsplib.Server
	stream  *gortsplib.ServerStream
	media   *description.Media
	format  *format.H264
	handler *rtspHandler
	scene   *pen.Scene // nil in File mode

	stalled atomic.Bool
	encoded atomic.Uint64
	sent    atomic.Uint64
	loops   atomic.Uint64

	cancel    context.CancelFunc
	pumpDone  chan struct{}
	closeErr  error // set by the pump before pumpDone closes
	closeOnce sync.Once
}

// Start builds the source, starts the RTSP server and returns once the server listens and the
// source has produced its first access unit, so the first DESCRIBE already carries SPS and PPS.
func Start(cfg Config) (*Camera, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Camera{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "simcam"),
		pumpDone: make(chan struct{}),
	}
	if cfg.File != "" {
		// Said here in plain words; filesrc would only say "Resource not found".
		if _, err := os.Stat(cfg.File); err != nil {
			return nil, fmt.Errorf("%w: file: %w", ErrInvalidConfig, err)
		}
	} else {
		c.scene, err = pen.New(cfg.Pen)
		if err != nil {
			return nil, fmt.Errorf("%w: pen: %w", ErrInvalidConfig, err)
		}
	}
	first, err := c.newFeed()
	if err != nil {
		return nil, err
	}
	if err := c.startServer(); err != nil {
		first.close()
		return nil, err
	}

	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	started := make(chan error, 1)
	go func() {
		defer close(c.pumpDone)
		c.pump(ctx, first, started)
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case err = <-started:
	case <-timer.C:
		err = fmt.Errorf("simcam: no video from the source after %s", startTimeout)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	c.log.Info("camera serving", "url", c.url, "source", c.sourceName())
	return c, nil
}

// startServer starts the RTSP server and its one stream.
func (c *Camera) startServer() error {
	c.format = &format.H264{PayloadTyp: 96, PacketizationMode: 1}
	c.media = &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{c.format}}
	c.handler = newRTSPHandler(c.cfg, c.log)

	var tcp net.Listener
	c.server = &gortsplib.Server{
		Handler:     c.handler,
		RTSPAddress: c.cfg.Addr,
		// Keep the listener to learn the port when ":0" was asked.
		Listen: func(network, address string) (net.Listener, error) {
			ln, err := net.Listen(network, address)
			tcp = ln
			return ln, err
		},
	}
	var udp *udpPair
	if c.cfg.UDP {
		host, _, err := net.SplitHostPort(c.cfg.Addr)
		if err != nil {
			return fmt.Errorf("%w: addr %q: %w", ErrInvalidConfig, c.cfg.Addr, err)
		}
		if udp, err = listenUDPPair(host); err != nil {
			return fmt.Errorf("simcam: UDP ports: %w", err)
		}
		c.server.UDPRTPAddress, c.server.UDPRTCPAddress = udp.rtpAddr, udp.rtcpAddr
		c.server.ListenPacket = udp.listenPacket
	}
	if err := c.server.Start(); err != nil {
		if udp != nil {
			udp.closeUnused()
		}
		return fmt.Errorf("simcam: listen on %s: %w", c.cfg.Addr, err)
	}
	c.stream = &gortsplib.ServerStream{
		Server: c.server,
		Desc:   &description.Session{Title: "pigweight simcam", Medias: []*description.Media{c.media}},
	}
	if err := c.stream.Initialize(); err != nil {
		c.server.Close()
		return fmt.Errorf("simcam: stream: %w", err)
	}
	c.handler.setStream(c.stream)
	c.url = streamURL(tcp.Addr(), c.cfg.Path)
	return nil
}

// streamURL names the stream at the listener's real address. An unspecified host (":8554",
// "0.0.0.0") becomes loopback: the URL is for clients on this machine.
func streamURL(addr net.Addr, path string) string {
	host, port := "127.0.0.1", "0"
	if ta, ok := addr.(*net.TCPAddr); ok {
		port = strconv.Itoa(ta.Port)
		switch {
		case ta.IP.IsUnspecified() && ta.IP.To4() == nil:
			host = "::1"
		case !ta.IP.IsUnspecified():
			host = ta.IP.String()
		}
	}
	u := url.URL{Scheme: "rtsp", Host: net.JoinHostPort(host, port), Path: path}
	return u.String()
}

func (c *Camera) sourceName() string {
	if c.cfg.File != "" {
		return "file"
	}
	return fmt.Sprintf("synthetic %dx%d@%d", c.cfg.Pen.Width, c.cfg.Pen.Height, c.cfg.Pen.FPS)
}

// URL returns the stream's rtsp:// URL, without credentials, with the port actually bound.
func (c *Camera) URL() string { return c.url }

// Drop closes every RTSP session and connection now, as a camera that loses its network
// would. New clients are served as before.
func (c *Camera) Drop() {
	n := c.handler.dropAll()
	c.log.Info("dropped every client", "connections", n)
}

// Stall stops (on) or resumes (off) sending video. Sessions stay open and RTSP requests
// (keep-alives included) are still answered; the source keeps running, so video resumes at
// the live position, from the next keyframe.
func (c *Camera) Stall(on bool) {
	if c.stalled.Swap(on) != on {
		c.log.Info("stall", "on", on)
	}
}

// Refuse makes the camera answer DESCRIBE and SETUP with 503 Service Unavailable (on), or
// serve them again (off). Sessions already playing are not touched.
func (c *Camera) Refuse(on bool) {
	if c.handler.refuse.Swap(on) != on {
		c.log.Info("refuse", "on", on)
	}
}

// Stats returns the camera's counters.
func (c *Camera) Stats() Stats {
	sessions, playing := c.handler.counts()
	return Stats{
		Sessions:      sessions,
		Playing:       playing,
		FramesEncoded: c.encoded.Load(),
		FramesSent:    c.sent.Load(),
		BytesSent:     c.stream.Stats().BytesSent,
		Refused:       c.handler.refused.Load(),
		Drops:         c.handler.drops.Load(),
		Loops:         c.loops.Load(),
	}
}

// Close stops the source (its pipeline to NULL), the RTSP server and its stream, and waits
// for every goroutine. The port is free when it returns. It returns the error that stopping
// the source's pipeline gave, if any; calls after the first return the same.
func (c *Camera) Close() error {
	c.closeOnce.Do(func() {
		if c.cancel != nil {
			c.cancel()
			<-c.pumpDone
		}
		// The server first: once it has returned, no session reads the stream's readers,
		// which ServerStream.Close walks without its lock.
		c.server.Close()
		c.stream.Close()
		c.log.Info("camera closed")
	})
	return c.closeErr
}
