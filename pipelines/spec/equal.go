package spec

import "slices"

// Equal reports whether p and q describe the same pipeline, so that a hot reload restarts
// only what changed. A nil and an empty Outputs are equal: both mean no outputs.
func (p Pipeline) Equal(q Pipeline) bool {
	// Source, Inference, Restart and Weight hold only comparable fields; a field added to them that
	// is not comparable stops this from compiling, which is the reminder wanted here.
	return p.Name == q.Name &&
		p.Source == q.Source &&
		p.Decode == q.Decode &&
		p.Inference == q.Inference &&
		slices.Equal(p.Outputs, q.Outputs) &&
		p.Restart == q.Restart &&
		p.Weight == q.Weight
}

// Equal reports whether c and d hold the same settings. Where each was parsed from (the
// positions Validate uses) does not count. Nil and empty lists are equal.
func (c Config) Equal(d Config) bool {
	return c.Server.Equal(d.Server) &&
		c.WebRTC.Equal(d.WebRTC) &&
		slices.EqualFunc(c.Models, d.Models, modelEqual) &&
		slices.EqualFunc(c.Pipelines, d.Pipelines, Pipeline.Equal)
}

func modelEqual(a, b Model) bool {
	return a.Name == b.Name &&
		a.Path == b.Path &&
		a.Format == b.Format &&
		a.InputSize == b.InputSize &&
		slices.Equal(a.Classes, b.Classes) &&
		slices.Equal(a.Providers, b.Providers) &&
		a.MaxBatch == b.MaxBatch &&
		a.MaxWait == b.MaxWait &&
		a.Workers == b.Workers &&
		a.Threads == b.Threads &&
		a.Confidence == b.Confidence &&
		a.IoU == b.IoU
}

// Equal reports whether w and x hold the same settings, credentials included. Nil and empty
// lists are equal.
func (w WebRTC) Equal(x WebRTC) bool {
	return w.Loopback == x.Loopback &&
		w.UDPPorts == x.UDPPorts &&
		w.MaxViewers == x.MaxViewers &&
		w.MaxViewersPerAddress == x.MaxViewersPerAddress &&
		w.ConnectTimeout == x.ConnectTimeout &&
		slices.Equal(w.NAT1To1IPs, x.NAT1To1IPs) &&
		slices.Equal(w.LocalIPs, x.LocalIPs) &&
		slices.EqualFunc(w.ICEServers, x.ICEServers, func(a, b ICEServer) bool {
			return slices.Equal(a.URLs, b.URLs) && a.Username == b.Username && a.Credential == b.Credential &&
				a.Secret == b.Secret && a.CredentialTTL == b.CredentialTTL
		})
}

// Equal reports whether s and t hold the same settings, the token included. Nil and empty
// lists are equal.
func (s Server) Equal(t Server) bool {
	return s.Listen == t.Listen &&
		s.DataDir == t.DataDir &&
		s.APIToken == t.APIToken &&
		s.MaxUploadBytes == t.MaxUploadBytes &&
		s.FrameCacheBytes == t.FrameCacheBytes &&
		s.WarmDecoders == t.WarmDecoders &&
		slices.Equal(s.MediaDirs, t.MediaDirs) &&
		slices.Equal(s.Hostnames, t.Hostnames) &&
		s.ReadTimeout == t.ReadTimeout &&
		s.WriteTimeout == t.WriteTimeout &&
		s.IdleTimeout == t.IdleTimeout
}
