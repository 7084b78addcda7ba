package simcam

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
)

// rtspHandler answers the RTSP requests of readers (RFC 2326 §10): DESCRIBE, SETUP, PLAY. It
// checks credentials, refuses on cue and keeps the open connections and sessions so that Drop
// can close them. gortsplib calls it from its connection and session goroutines.
type rtspHandler struct {
	path       string
	user, pass string
	log        *slog.Logger

	refuse  atomic.Bool
	refused atomic.Uint64
	drops   atomic.Uint64

	mu       sync.Mutex
	stream   *gortsplib.ServerStream // nil until the server has started
	conns    map[*gortsplib.ServerConn]struct{}
	sessions map[*gortsplib.ServerSession]bool // value: the session has sent PLAY
}

func newRTSPHandler(cfg Config, log *slog.Logger) *rtspHandler {
	return &rtspHandler{
		path:     cfg.Path,
		user:     cfg.User,
		pass:     cfg.Pass,
		log:      log,
		conns:    make(map[*gortsplib.ServerConn]struct{}),
		sessions: make(map[*gortsplib.ServerSession]bool),
	}
}

func (h *rtspHandler) setStream(st *gortsplib.ServerStream) {
	h.mu.Lock()
	h.stream = st
	h.mu.Unlock()
}

// OnConnOpen implements gortsplib.ServerHandlerOnConnOpen.
func (h *rtspHandler) OnConnOpen(ctx *gortsplib.ServerHandlerOnConnOpenCtx) {
	h.mu.Lock()
	h.conns[ctx.Conn] = struct{}{}
	h.mu.Unlock()
	h.log.Debug("connection opened", "remote", ctx.Conn.NetConn().RemoteAddr().String())
}

// OnConnClose implements gortsplib.ServerHandlerOnConnClose.
func (h *rtspHandler) OnConnClose(ctx *gortsplib.ServerHandlerOnConnCloseCtx) {
	h.mu.Lock()
	delete(h.conns, ctx.Conn)
	h.mu.Unlock()
	h.log.Debug("connection closed", "remote", ctx.Conn.NetConn().RemoteAddr().String(), "reason", ctx.Error)
}

// OnSessionOpen implements gortsplib.ServerHandlerOnSessionOpen.
func (h *rtspHandler) OnSessionOpen(ctx *gortsplib.ServerHandlerOnSessionOpenCtx) {
	h.mu.Lock()
	h.sessions[ctx.Session] = false
	h.mu.Unlock()
}

// OnSessionClose implements gortsplib.ServerHandlerOnSessionClose.
func (h *rtspHandler) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	h.mu.Lock()
	delete(h.sessions, ctx.Session)
	h.mu.Unlock()
	h.log.Debug("session closed", "reason", ctx.Error)
}

// OnRequest implements gortsplib.ServerHandlerOnRequest. It hides the User-Agent from
// gortsplib: v4.16 holds every SETUP from a "GStreamer..." agent for one second, a workaround
// for rtspclientsink publishers. This camera has no publishers, and the delay would slow every
// rtspsrc (re)connection, pigweight's own included, by a second that no real camera adds.
func (h *rtspHandler) OnRequest(_ *gortsplib.ServerConn, req *base.Request) {
	delete(req.Header, "User-Agent")
}

// OnDescribe implements gortsplib.ServerHandlerOnDescribe.
func (h *rtspHandler) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	res, err := h.admit(ctx.Conn, ctx.Request, ctx.Path)
	if res != nil {
		return res, nil, err
	}
	return &base.Response{StatusCode: base.StatusOK}, h.currentStream(), nil
}

// OnSetup implements gortsplib.ServerHandlerOnSetup.
func (h *rtspHandler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	res, err := h.admit(ctx.Conn, ctx.Request, ctx.Path)
	if res != nil {
		return res, nil, err
	}
	return &base.Response{StatusCode: base.StatusOK}, h.currentStream(), nil
}

// OnPlay implements gortsplib.ServerHandlerOnPlay.
func (h *rtspHandler) OnPlay(ctx *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	h.mu.Lock()
	if _, ok := h.sessions[ctx.Session]; ok {
		h.sessions[ctx.Session] = true
	}
	h.mu.Unlock()
	h.log.Debug("playing", "remote", ctx.Conn.NetConn().RemoteAddr().String())
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// admit returns the refusal for a DESCRIBE or SETUP, or nil to serve it: 503 while refusing,
// 401 without the right credentials, 404 for another path. A camera turned away before it
// checks credentials, so refusal comes first.
func (h *rtspHandler) admit(conn *gortsplib.ServerConn, req *base.Request, path string) (*base.Response, error) {
	if h.refuse.Load() {
		h.refused.Add(1)
		return &base.Response{StatusCode: base.StatusServiceUnavailable}, errRefusing
	}
	if h.user != "" && !conn.VerifyCredentials(req, h.user, h.pass) {
		// gortsplib turns ErrServerAuth into a challenge (WWW-Authenticate) when the request
		// carried no credentials, and closes the connection after wrong ones.
		return &base.Response{StatusCode: base.StatusUnauthorized}, liberrors.ErrServerAuth{}
	}
	if path != h.path {
		return &base.Response{StatusCode: base.StatusNotFound}, fmt.Errorf("no stream at %q", path)
	}
	if h.currentStream() == nil {
		return &base.Response{StatusCode: base.StatusServiceUnavailable}, errRefusing
	}
	return nil, nil
}

// errRefusing is the error behind a 503; gortsplib keeps the connection open after it, as a
// camera that is busy would.
var errRefusing = errors.New("camera refuses new sessions")

func (h *rtspHandler) currentStream() *gortsplib.ServerStream {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stream
}

// dropAll closes every session and connection and returns how many connections there were.
// Close only cancels: the closing runs in gortsplib's goroutines, so this never blocks.
func (h *rtspHandler) dropAll() int {
	h.drops.Add(1)
	h.mu.Lock()
	sessions := make([]*gortsplib.ServerSession, 0, len(h.sessions))
	for ss := range h.sessions {
		sessions = append(sessions, ss)
	}
	conns := make([]*gortsplib.ServerConn, 0, len(h.conns))
	for sc := range h.conns {
		conns = append(conns, sc)
	}
	h.mu.Unlock()
	for _, ss := range sessions {
		ss.Close()
	}
	for _, sc := range conns {
		sc.Close()
	}
	return len(conns)
}

// counts returns the open sessions and, of those, the playing ones.
func (h *rtspHandler) counts() (sessions, playing int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.sessions {
		if p {
			playing++
		}
	}
	return len(h.sessions), playing
}

// udpPair is an RTP/RTCP port pair (even, even+1: RFC 3550 §11) bound before the server
// starts, so that no other process can take it in between; the server gets the sockets
// through its ListenPacket hook.
type udpPair struct {
	rtpAddr, rtcpAddr string

	mu    sync.Mutex
	conns map[string]*net.UDPConn // not yet handed to the server
}

// udpPairTries bounds the search for a free even/odd pair.
const udpPairTries = 64

func listenUDPPair(host string) (*udpPair, error) {
	for range udpPairTries {
		rtp, err := listenUDP(host, 0)
		if err != nil {
			return nil, err
		}
		port := rtp.LocalAddr().(*net.UDPAddr).Port
		if port%2 != 0 || port == 65535 {
			rtp.Close()
			continue
		}
		rtcp, err := listenUDP(host, port+1)
		if err != nil {
			rtp.Close()
			continue
		}
		p := &udpPair{
			rtpAddr:  net.JoinHostPort(host, strconv.Itoa(port)),
			rtcpAddr: net.JoinHostPort(host, strconv.Itoa(port+1)),
		}
		p.conns = map[string]*net.UDPConn{p.rtpAddr: rtp, p.rtcpAddr: rtcp}
		return p, nil
	}
	return nil, fmt.Errorf("no free even/odd port pair on %q after %d tries", host, udpPairTries)
}

func listenUDP(host string, port int) (*net.UDPConn, error) {
	pc, err := net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}

// listenPacket hands the server the pre-bound socket for address.
func (p *udpPair) listenPacket(network, address string) (net.PacketConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.conns[address]; ok {
		delete(p.conns, address)
		return c, nil
	}
	return net.ListenPacket(network, address)
}

// closeUnused closes the sockets the server did not take (it failed to start).
func (p *udpPair) closeUnused() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for a, c := range p.conns {
		c.Close()
		delete(p.conns, a)
	}
}
