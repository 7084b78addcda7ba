package main

import (
	"log/slog"
	"sync"

	"github.com/pigweight/pigweight/pipelines"
	"github.com/pigweight/pigweight/signaling"
	"github.com/pigweight/pigweight/signaling/fanout"
	"github.com/pigweight/pigweight/signaling/peer"
	"github.com/pigweight/pigweight/signaling/whep"
	"github.com/pigweight/pigweight/web"
)

// viewerRoutes wires browser viewers: /ws (WebSocket signalling) and /whep/ (WHEP), both on
// fan-out hubs fed by the pipelines' access units.
type viewerRoutes struct {
	routes []web.Route
	ws     *signaling.Handler
	whep   *whep.Handler
	hubs   *fanout.Hubs
	once   sync.Once
}

func newViewerRoutes(manager *pipelines.Manager, log *slog.Logger) (*viewerRoutes, error) {
	pcfg := peer.DefaultConfig()
	api, err := peer.NewAPI(pcfg)
	if err != nil {
		return nil, err
	}
	hubs := fanout.NewHubs(manager, log)
	ws := signaling.NewHandler(&signaling.PeerViewers{API: api, Config: pcfg.Configuration(), Hubs: hubs}, signaling.Config{}, log)
	wh := whep.NewHandler(api, hubs, log, whep.WithConfiguration(pcfg.Configuration()))
	return &viewerRoutes{
		routes: []web.Route{{Pattern: "/ws", Handler: ws}, {Pattern: whep.Prefix, Handler: wh}},
		ws:     ws, whep: wh, hubs: hubs,
	}, nil
}

// close ends every viewer and hub; safe to call twice.
func (v *viewerRoutes) close() {
	v.once.Do(func() {
		v.ws.Close()
		v.whep.Close()
		v.hubs.Close()
	})
}
