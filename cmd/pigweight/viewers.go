package main

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/pigweight/pigweight/pipelines"
	"github.com/pigweight/pigweight/pipelines/spec"
	"github.com/pigweight/pigweight/signaling"
	"github.com/pigweight/pigweight/signaling/admission"
	"github.com/pigweight/pigweight/signaling/fanout"
	"github.com/pigweight/pigweight/signaling/peer"
	"github.com/pigweight/pigweight/signaling/whep"
	"github.com/pigweight/pigweight/web"
	"github.com/pigweight/pigweight/web/api"
)

// viewerRoutes wires browser viewers: /ws (WebSocket signalling) and /whep/ (WHEP), both on
// fan-out hubs fed by the pipelines' access units.
type viewerRoutes struct {
	routes []web.Route
	ws     *signaling.Handler
	whep   *whep.Handler
	hubs   *fanout.Hubs
	// admission holds the seats of WebSocket viewers and WHEP sessions together.
	admission *admission.Gate
	once      sync.Once
	// adapting runs the hubs' bitrate adaptation until close.
	stopAdapting context.CancelFunc
	adapting     chan struct{}
}

// adaptEvery is how often encoded streams follow their viewers' bitrate estimates: REMB comes
// about once a second from a browser.
const adaptEvery = time.Second

// newViewerRoutes serves viewers of manager's pipelines with the ICE settings of cfg, within
// its caps on viewers (derived from the open-file limit where the configuration leaves them
// at 0) and its connect timeout.
func newViewerRoutes(manager *pipelines.Manager, cfg spec.WebRTC, log *slog.Logger) (*viewerRoutes, error) {
	pcfg := peerConfig(cfg)
	pionAPI, err := peer.NewAPI(pcfg)
	if err != nil {
		return nil, err
	}
	fdLimit := openFileLimit(log)
	total, perAddress := cfg.ViewerLimits(fdLimit)
	gate := admission.New(admission.Limits{Max: total, MaxPerAddress: perAddress}, log)
	connect := cfg.ConnectTimeout.D()
	if connect <= 0 {
		connect = spec.DefaultConnectTimeout
	}
	log.Info("viewer limits", "max_viewers", total, "max_viewers_per_address", perAddress,
		"connect_timeout", connect, "open_file_limit", fdLimit)
	hubs := fanout.NewHubs(viewerSource{manager}, log)
	ws := signaling.NewHandler(&signaling.PeerViewers{API: pionAPI, Configuration: pcfg.Configuration, Hubs: hubs},
		signaling.Config{
			ICEServers:     func() []webrtc.ICEServer { return pcfg.Configuration().ICEServers },
			Admission:      gate,
			ConnectTimeout: connect,
		}, log)
	wh := whep.NewHandler(pionAPI, hubs, log, whep.WithConfiguration(pcfg.Configuration),
		whep.WithAdmission(gate), whep.WithTimeouts(0, connect))
	ctx, cancel := context.WithCancel(context.Background())
	v := &viewerRoutes{
		routes: []web.Route{{Pattern: "/ws", Handler: ws}, {Pattern: whep.Prefix, Handler: wh}},
		ws:     ws, whep: wh, hubs: hubs, admission: gate,
		stopAdapting: cancel, adapting: make(chan struct{}),
	}
	go func() {
		defer close(v.adapting)
		hubs.AdaptBitrates(ctx, manager, adaptEvery)
	}()
	return v, nil
}

// viewerSource gives the viewers' hubs what the pipelines publish.
type viewerSource struct{ *pipelines.Manager }

// framesForViewers is how many analysed frames wait for a hub: it sends them at once, and an
// overlay late by more than a few frames is worth nothing.
const framesForViewers = 8

// Open subscribes to the pipeline stream's access units and analysed frames.
func (v viewerSource) Open(stream string, buffer int) (fanout.Stream, error) {
	aus, err := v.SubscribeAccessUnits(stream, buffer)
	if err != nil {
		return fanout.Stream{}, err
	}
	frames, err := v.SubscribeFrames(stream, framesForViewers)
	if err != nil {
		aus.Close()
		return fanout.Stream{}, err
	}
	return fanout.Stream{AccessUnits: aus.C, Frames: frames.C, Close: func() { aus.Close(); frames.Close() }}, nil
}

// openFileLimit is the process's soft RLIMIT_NOFILE, which the default caps on viewers are
// derived from. Go raises the soft limit to the hard one at start-up, so this is in effect
// the hard limit (ulimit -Hn, systemd's LimitNOFILE). If it cannot be read, 1024 (the usual
// default) is assumed.
func openFileLimit(log *slog.Logger) uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		log.Warn("cannot read the open-file limit; viewer caps assume 1024; set webrtc.max_viewers", "err", err)
		return 1024
	}
	return rl.Cur
}

// counts reports the viewers against their caps, for GET /api/v1/system.
func (v *viewerRoutes) counts() api.ViewerCounts {
	st := v.admission.Stats()
	return api.ViewerCounts{
		Now: st.Now, Connecting: st.Connecting,
		Max: st.Max, MaxPerAddress: st.MaxPerAddress,
		Refused: api.ViewersRefused{Global: st.RefusedServer, PerAddress: st.RefusedAddress},
		Reaped:  st.Reaped,
	}
}

// close ends every viewer and hub; safe to call twice.
func (v *viewerRoutes) close() {
	v.once.Do(func() {
		v.stopAdapting()
		<-v.adapting
		v.ws.Close()
		v.whep.Close()
		v.hubs.Close()
	})
}

// peerConfig turns the configuration's webrtc section, validated by package spec, into the
// peer connections' settings.
func peerConfig(w spec.WebRTC) peer.Config {
	c := peer.Config{
		IncludeLoopback: w.Loopback,
		// spec bounds both to 0..65535.
		UDPPortMin: uint16(w.UDPPorts[0]),
		UDPPortMax: uint16(w.UDPPorts[1]),
		NAT1To1IPs: slices.Clone(w.NAT1To1IPs),
	}
	if len(w.LocalIPs) > 0 {
		for _, ip := range w.LocalIPs {
			c.AllowedIPs = append(c.AllowedIPs, net.ParseIP(ip))
		}
		// peer's filter applies to loopback too; the config promises loopback whenever it is
		// on, so that local_ips need not repeat it.
		if loopback := net.IPv4(127, 0, 0, 1); w.Loopback && !slices.ContainsFunc(c.AllowedIPs, loopback.Equal) {
			c.AllowedIPs = append(c.AllowedIPs, loopback)
		}
	}
	for _, s := range w.ICEServers {
		if s.Secret != "" {
			ttl := s.CredentialTTL.D()
			if ttl == 0 {
				ttl = spec.DefaultCredentialTTL
			}
			c.MintedTURN = append(c.MintedTURN, peer.TURNServer{URLs: slices.Clone(s.URLs), Label: s.Username, Secret: s.Secret, TTL: ttl})
			continue
		}
		server := webrtc.ICEServer{URLs: slices.Clone(s.URLs), Username: s.Username}
		// Pion reads a non-nil Credential as given; a STUN server needs none.
		if s.Credential != "" {
			server.Credential = s.Credential
			server.CredentialType = webrtc.ICECredentialTypePassword
		}
		c.ICEServers = append(c.ICEServers, server)
	}
	return c
}
