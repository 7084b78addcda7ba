package spec

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pigweight/pigweight/elements/weight"
	"github.com/pigweight/pigweight/pipelines/pen"
)

// Limits that Validate enforces and whose reason is not in the message.
const (
	// maxInputSize is a sanity bound on a model's input edge, far above any real model's,
	// that catches a typo (64000 for 640) before it becomes a huge allocation.
	maxInputSize = 8192
	// maxLatency bounds rtspsrc's jitter buffer: more than that and "live" is no longer live.
	maxLatency = 10 * time.Second
	// maxBackoff bounds the wait between restarts so that a fixed camera is back within the hour.
	maxBackoff  = time.Hour
	maxInterval = 1000
	// maxViewers bounds max_viewers and max_viewers_per_address, far above what one machine
	// serves, to catch a typo.
	maxViewers = 100000
)

var (
	// Pipeline names appear in URLs (/pipelines/NAME/...), so they are URL-safe as written.
	pipelineNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	// Model names may also hold dots, as file names do ("yolov8n-seg.v2").
	modelNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	// uriSchemeRE matches an RFC 3986 scheme at the start of a string.
	uriSchemeRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*):`)
	// hostnameRE matches a DNS name (RFC 1123 labels), the form a Host header names a server by.
	hostnameRE = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$`)
)

// Validate checks every rule of the schema and returns Errors holding every violation, or
// nil. On a Config from Parse or Load the errors carry the file, line and column of the field
// as it was written (or of its nearest written parent, for a field left to its default);
// on a Config built in code they carry only the field path.
func (c *Config) Validate() error {
	if c == nil {
		return Errors{{Message: "no configuration"}}
	}
	v := validator{pos: c.pos}
	v.config(c)
	return v.err()
}

// Validate checks the pipeline's rules, with inference.model looked up in cfg's models and a
// file source held to cfg's media folders, and returns Errors (field paths relative to the
// pipeline, no positions), or nil. A nil cfg has no models and no media folders.
func (p *Pipeline) Validate(cfg *Config) error {
	if p == nil {
		return Errors{{Message: "no pipeline"}}
	}
	var v validator
	v.pipeline("", p, newPipelineRules(cfg))
	return v.err()
}

// pipelineRules is what checking a pipeline needs from its configuration.
type pipelineRules struct {
	models []Model
	// mediaDirs are the folders a file source may play from; empty: anywhere (a
	// configuration built in code without a data directory).
	mediaDirs []string
}

func newPipelineRules(cfg *Config) pipelineRules {
	if cfg == nil {
		return pipelineRules{}
	}
	return pipelineRules{models: cfg.Models, mediaDirs: cfg.MediaDirectories()}
}

// MediaDirectories returns the folders file sources may play from: server.media_dirs, or by
// default the data directory and the folder of the file the configuration was read from.
func (c *Config) MediaDirectories() []string {
	if len(c.Server.MediaDirs) > 0 {
		return c.Server.MediaDirs
	}
	var dirs []string
	if c.Server.DataDir != "" {
		dirs = append(dirs, c.Server.DataDir)
	}
	if c.pos != nil && c.pos.file != "" {
		dirs = append(dirs, filepath.Dir(c.pos.file))
	}
	return dirs
}

// validator collects rule violations.
type validator struct {
	pos  *positions // nil for a value built in code
	errs Errors
}

func (v *validator) add(path, format string, args ...any) {
	e := &FieldError{Field: path, Message: fmt.Sprintf(format, args...)}
	if v.pos != nil {
		e.File = v.pos.file
		e.Line, e.Column = v.pos.lookup(path)
	}
	v.errs = append(v.errs, e)
}

func (v *validator) err() error {
	if len(v.errs) == 0 {
		return nil // not a nil Errors, which would be a non-nil error
	}
	sortErrors(v.errs)
	return v.errs
}

// sortErrors orders errors by position, keeping document order among equals (all of a
// config built in code are at line 0).
func sortErrors(es Errors) {
	slices.SortStableFunc(es, func(a, b *FieldError) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}

func (v *validator) config(c *Config) {
	v.server("server", &c.Server)
	v.webrtc("webrtc", &c.WebRTC)

	first := map[string]string{}
	for i := range c.Models {
		path := indexPath("models", i)
		m := &c.Models[i]
		v.model(path, m)
		if m.Name == "" {
			continue
		}
		if prev, dup := first[m.Name]; dup {
			v.add(joinPath(path, "name"), "duplicate name %q (first used by %s)", m.Name, prev)
		} else {
			first[m.Name] = path
		}
	}

	first = map[string]string{}
	rules := newPipelineRules(c)
	for i := range c.Pipelines {
		path := indexPath("pipelines", i)
		p := &c.Pipelines[i]
		v.pipeline(path, p, rules)
		if p.Name == "" {
			continue
		}
		if prev, dup := first[p.Name]; dup {
			v.add(joinPath(path, "name"), "duplicate name %q (first used by %s)", p.Name, prev)
		} else {
			first[p.Name] = path
		}
	}
}

func (v *validator) server(path string, s *Server) {
	if _, port, err := net.SplitHostPort(s.Listen); err != nil {
		v.add(joinPath(path, "listen"), "must be host:port, e.g. 127.0.0.1:8080")
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		v.add(joinPath(path, "listen"), "port must be a number between 0 and 65535")
	}
	if s.DataDir == "" {
		v.add(joinPath(path, "data_dir"), "required")
	}
	if s.MaxUploadBytes <= 0 {
		v.add(joinPath(path, "max_upload_bytes"), "must be greater than 0")
	}
	if s.FrameCacheBytes < 0 {
		v.add(joinPath(path, "frame_cache_bytes"), "must not be negative")
	}
	v.between(joinPath(path, "warm_decoders"), s.WarmDecoders, 0, 256)
	for i, d := range s.MediaDirs {
		if strings.TrimSpace(d) == "" {
			v.add(indexPath(joinPath(path, "media_dirs"), i), "must not be empty")
		}
	}
	for i, h := range s.Hostnames {
		if !hostnameRE.MatchString(h) {
			v.add(indexPath(joinPath(path, "hostnames"), i), "must be a host name such as pigweight.farm.lan, without scheme or port (got %s)", quoteShort(h))
		}
	}
	v.durationBetween(joinPath(path, "read_timeout"), s.ReadTimeout, time.Second, time.Hour)
	v.durationBetween(joinPath(path, "write_timeout"), s.WriteTimeout, time.Second, time.Hour)
	v.durationBetween(joinPath(path, "idle_timeout"), s.IdleTimeout, time.Second, 24*time.Hour)
}

// durationBetween reports d outside lo..hi.
func (v *validator) durationBetween(path string, d Duration, lo, hi time.Duration) {
	if d.D() < lo || d.D() > hi {
		v.add(path, "must be between %s and %s", lo, hi)
	}
}

func (v *validator) webrtc(path string, w *WebRTC) {
	at := func(name string) string { return joinPath(path, name) }

	if lo, hi := w.UDPPorts[0], w.UDPPorts[1]; lo != 0 || hi != 0 {
		ok := true
		for i, port := range w.UDPPorts {
			if port < 1 || port > 65535 {
				v.add(indexPath(at("udp_ports"), i), "must be between 1 and 65535 (or leave udp_ports out for ephemeral ports)")
				ok = false
			}
		}
		if ok && lo > hi {
			v.add(at("udp_ports"), "min must not exceed max (got [%d, %d])", lo, hi)
		}
	}
	for i, ip := range w.NAT1To1IPs {
		v.ipv4(indexPath(at("nat_1to1_ips"), i), ip)
	}
	for i, ip := range w.LocalIPs {
		p := indexPath(at("local_ips"), i)
		// Without loopback, Pion never gathers on 127.0.0.1, and a loopback-only list would
		// leave viewers with no address at all.
		if v.ipv4(p, ip) && net.ParseIP(ip).IsLoopback() && !w.Loopback {
			v.add(p, "a loopback address needs loopback: true")
		}
	}
	for i := range w.ICEServers {
		v.iceServer(indexPath(at("ice_servers"), i), &w.ICEServers[i])
	}
	v.between(at("max_viewers"), w.MaxViewers, 0, maxViewers)
	v.between(at("max_viewers_per_address"), w.MaxViewersPerAddress, 0, maxViewers)
	if w.MaxViewers > 0 && w.MaxViewersPerAddress > w.MaxViewers {
		v.add(at("max_viewers_per_address"), "must not exceed max_viewers (%d)", w.MaxViewers)
	}
	v.durationBetween(at("connect_timeout"), w.ConnectTimeout, time.Second, 5*time.Minute)
}

// ipv4 reports s unless it is an IPv4 address, and says whether it is one. Viewers are
// served over UDP on IPv4 only, so an IPv6 address could never be used.
func (v *validator) ipv4(path, s string) bool {
	ip := net.ParseIP(s)
	switch {
	case ip == nil:
		v.add(path, "must be an IPv4 address such as 192.0.2.10 (got %s)", quoteShort(s))
	case ip.To4() == nil:
		v.add(path, "must be an IPv4 address: viewers are served over IPv4 only (got %s)", quoteShort(s))
	default:
		return true
	}
	return false
}

// iceServer checks one STUN or TURN server. No message quotes a URL or the credential: a
// URL written with the password inside it is a mistake this check exists to catch.
func (v *validator) iceServer(path string, s *ICEServer) {
	at := func(name string) string { return joinPath(path, name) }
	if len(s.URLs) == 0 {
		v.add(at("urls"), "required: one or more stun:, stuns:, turn: or turns: URLs")
	}
	turn := false
	for i, u := range s.URLs {
		if v.iceURL(indexPath(at("urls"), i), u) {
			turn = true
		}
	}
	switch {
	case !turn:
		if s.Secret != "" {
			v.add(at("secret"), "only for turn: or turns: URLs")
		}
	case s.Secret != "":
		if s.Credential != "" {
			v.add(at("credential"), "give a credential or a secret, not both")
		}
	default:
		// Pion refuses a TURN server without them when every connection starts; saying so
		// now names the field.
		if s.Username == "" {
			v.add(at("username"), "required for a turn: or turns: URL (or give a secret)")
		}
		if s.Credential == "" {
			v.add(at("credential"), "required for a turn: or turns: URL (or give a secret)")
		}
	}
	if d := s.CredentialTTL.D(); d != 0 && (s.Secret == "" || d < time.Minute || d > 30*24*time.Hour) {
		v.add(at("credential_ttl"), "only with a secret, between 1m and 720h")
	}
}

// iceURL checks a STUN (RFC 7064) or TURN (RFC 7065) URL as Pion will parse it:
// scheme:host[:port], and for TURN an optional ?transport=udp or ?transport=tcp. It says
// whether the URL is a TURN one.
func (v *validator) iceURL(path, raw string) (turn bool) {
	scheme, rest, found := strings.Cut(raw, ":")
	scheme = strings.ToLower(scheme)
	if !found || !slices.Contains([]string{"stun", "stuns", "turn", "turns"}, scheme) {
		v.add(path, "must start with stun:, stuns:, turn: or turns:")
		return false
	}
	turn = strings.HasPrefix(scheme, "turn")
	hostPort, query, hasQuery := strings.Cut(rest, "?")
	if strings.Contains(hostPort, "@") {
		v.add(path, "must not hold a user name or password: give them as username and credential")
		return turn
	}
	if strings.HasPrefix(hostPort, "//") {
		v.add(path, "must be %s:host or %s:host:port, without \"//\"", scheme, scheme)
		return turn
	}
	if _, err := url.Parse(raw); err != nil {
		v.add(path, "is not a valid URL")
		return turn
	}
	host, port, err := net.SplitHostPort(hostPort)
	hasPort := err == nil
	if !hasPort {
		// No port: the scheme's default (3478, or 5349 for stuns and turns).
		if host, _, err = net.SplitHostPort(hostPort + ":0"); err != nil {
			v.add(path, "must be %s:host or %s:host:port", scheme, scheme)
			return turn
		}
	}
	switch {
	case host == "":
		v.add(path, "must include a host, e.g. %s:%s.example.org", scheme, strings.TrimSuffix(scheme, "s"))
	case hasPort && !validPort(port):
		v.add(path, "port must be a number between 1 and 65535")
	case hasQuery && !turn:
		v.add(path, "%s: URLs take no ?query", scheme)
	case hasQuery && query != "transport=udp" && query != "transport=tcp":
		v.add(path, "the only query a %s: URL takes is ?transport=udp or ?transport=tcp", scheme)
	}
	return turn
}

func validPort(s string) bool {
	n, err := strconv.ParseUint(s, 10, 16)
	return err == nil && n > 0
}

func (v *validator) model(path string, m *Model) {
	switch {
	case m.Name == "":
		v.add(joinPath(path, "name"), "required")
	case !modelNameRE.MatchString(m.Name):
		v.add(joinPath(path, "name"), "must be 1 to 64 letters, digits, '_', '.' or '-'")
	}
	if m.Path == "" {
		v.add(joinPath(path, "path"), "required")
	}
	checkEnum(v, joinPath(path, "format"), m.Format, modelFormats())
	for i, n := range m.InputSize {
		if n < 0 || n > maxInputSize {
			v.add(indexPath(joinPath(path, "input_size"), i), "must be between 0 and %d", maxInputSize)
		}
	}
	v.between(joinPath(path, "max_batch"), m.MaxBatch, 1, 64)
	v.between(joinPath(path, "workers"), m.Workers, 0, 16)
	v.between(joinPath(path, "threads"), m.Threads, 0, 256)
	if d := m.MaxWait.D(); d < 0 || d > time.Second {
		v.add(joinPath(path, "max_wait"), "must be between 0s and 1s")
	}
	if m.Confidence < 0 || m.Confidence >= 1 {
		v.add(joinPath(path, "confidence"), "must be at least 0 and below 1")
	}
	if m.IoU <= 0 || m.IoU > 1 {
		v.add(joinPath(path, "iou"), "must be above 0 and at most 1")
	}
	seen := map[Provider]int{}
	for i, pr := range m.Providers {
		pp := indexPath(joinPath(path, "providers"), i)
		if !checkEnum(v, pp, pr, providers()) {
			continue
		}
		if j, dup := seen[pr]; dup {
			v.add(pp, "duplicate provider %q (also providers[%d])", pr, j)
		} else {
			seen[pr] = i
		}
	}
}

// checkEnum reports a value outside allowed and says whether it was inside. Parse never
// lets one through; a Config built in code can hold anything, "" included.
func checkEnum[T ~string](v *validator, path string, val T, allowed []T) bool {
	if slices.Contains(allowed, val) {
		return true
	}
	if val == "" {
		v.add(path, "required (%s)", strings.TrimPrefix(oneOf(allowed), "must be "))
	} else {
		v.add(path, "%s (got %s)", oneOf(allowed), quoteShort(string(val)))
	}
	return false
}

// between reports n outside lo..hi.
func (v *validator) between(path string, n, lo, hi int) {
	if n < lo || n > hi {
		v.add(path, "must be between %d and %d", lo, hi)
	}
}

// pipeline checks p, whose fields live under path ("" for ParsePipeline's relative paths).
func (v *validator) pipeline(path string, p *Pipeline, rules pipelineRules) {
	at := func(name string) string { return joinPath(path, name) }

	switch {
	case p.Name == "":
		v.add(at("name"), "required")
	case !pipelineNameRE.MatchString(p.Name):
		v.add(at("name"), "must be 1 to 64 letters, digits, '_' or '-'")
	}

	v.source(at("source"), &p.Source, rules.mediaDirs)
	checkEnum(v, at("decode"), p.Decode, decodes())

	in := at("inference")
	if p.Inference.Enabled {
		switch {
		case p.Inference.Model == "":
			v.add(joinPath(in, "model"), "required when inference is enabled")
		case !slices.ContainsFunc(rules.models, func(m Model) bool { return m.Name == p.Inference.Model }):
			v.add(joinPath(in, "model"), "no model named %q (have: %s)", p.Inference.Model, modelNames(rules.models))
		}
	}
	v.between(joinPath(in, "interval"), p.Inference.Interval, 1, maxInterval)
	v.weight(at("weight"), &p.Weight)

	seen := map[OutputType]int{}
	for i, o := range p.Outputs {
		op := indexPath(at("outputs"), i)
		if checkEnum(v, joinPath(op, "type"), o.Type, outputTypes()) {
			if j, dup := seen[o.Type]; dup {
				v.add(joinPath(op, "type"), "duplicate output type %q (also outputs[%d])", o.Type, j)
			} else {
				seen[o.Type] = i
			}
		}
		checkEnum(v, joinPath(op, "overlay"), o.Overlay, overlays())
		checkEnum(v, joinPath(op, "encode"), o.Encode, encodings())
		if lo, hi := o.BitrateBounds(); lo < 50 || hi > 100000 || lo > hi {
			v.add(joinPath(op, "min_bitrate_kbps"), "want 50 ≤ min_bitrate_kbps ≤ max_bitrate_kbps ≤ 100000 (got %d and %d)", lo, hi)
		}
		if o.Overlay == OverlayBurn && !p.Inference.Enabled {
			v.add(joinPath(op, "overlay"), "burn draws the model's detections into the video: enable inference, or use overlay: data")
		}
	}

	rp := at("restart")
	lo, hi := p.Restart.BackoffMin.D(), p.Restart.BackoffMax.D()
	if lo < MinBackoff {
		v.add(joinPath(rp, "backoff_min"), "must be at least %s: a quicker restart only spins the CPU, it brings no source back sooner", MinBackoff)
	}
	switch {
	case hi < lo:
		v.add(joinPath(rp, "backoff_max"), "must be at least backoff_min (%s)", lo)
	case hi > maxBackoff:
		v.add(joinPath(rp, "backoff_max"), "must be at most %s", maxBackoff)
	}
}

// weight checks a pipeline's weight section: the pen's name like a pipeline's, the rest as
// the estimator itself checks it.
func (v *validator) weight(path string, w *weight.Config) {
	if w.Pen != "" && !pipelineNameRE.MatchString(w.Pen) {
		v.add(joinPath(path, "pen"), "must be 1 to 64 letters, digits, '_' or '-'")
	}
	var problems weight.ConfigErrors
	if errors.As(w.Validate(), &problems) {
		for _, e := range problems {
			v.add(joinPath(path, e.Field), "%s", e.Message)
		}
	}
}

func modelNames(models []Model) string {
	if len(models) == 0 {
		return "none"
	}
	names := make([]string, len(models))
	for i, m := range models {
		names[i] = m.Name
	}
	return strings.Join(names, ", ")
}

func (v *validator) source(path string, s *Source, mediaDirs []string) {
	at := func(name string) string { return joinPath(path, name) }

	tooLong := len(s.URI) > MaxURIBytes
	if tooLong {
		v.add(at("uri"), "must be at most %d bytes (got %d)", MaxURIBytes, len(s.URI))
	}
	switch s.Type {
	case SourceRTSP:
		if !tooLong {
			v.rtspURI(at("uri"), s.URI)
		}
	case SourceFile:
		if !tooLong && v.fileURI(at("uri"), s.URI) {
			v.mediaFile(at("uri"), s.URI, mediaDirs)
		}
	case SourceSynthetic:
		if s.URI != "" {
			v.add(at("uri"), "must be empty for a synthetic source")
		}
		sy := at("synthetic")
		v.evenBetween(joinPath(sy, "width"), s.Synthetic.Width, pen.MinWidth, pen.MaxWidth)
		v.evenBetween(joinPath(sy, "height"), s.Synthetic.Height, pen.MinHeight, pen.MaxHeight)
		v.between(joinPath(sy, "fps"), s.Synthetic.FPS, 1, 60)
		v.between(joinPath(sy, "pigs"), s.Synthetic.Pigs, pen.MinPigs, pen.MaxPigs)
	default:
		checkEnum(v, at("type"), s.Type, sourceTypes())
	}

	// Options of one source type set on another are mistakes, usually left over from
	// editing a copied pipeline; silently ignoring them would hide that. An unknown type
	// has already been reported and says nothing about which options belong.
	known := slices.Contains(sourceTypes(), s.Type)
	if checkEnum(v, at("transport"), s.Transport, transports()) &&
		known && s.Type != SourceRTSP && s.Transport != TransportAuto {
		v.add(at("transport"), "only applies to rtsp sources")
	}
	if s.Loop && known && s.Type != SourceFile {
		v.add(at("loop"), "only applies to file sources")
	}
	if w := s.Watchdog.D(); w != 0 && (w < time.Second || w > time.Hour) {
		v.add(at("watchdog"), "must be 0 (off) or between 1s and 1h")
	}
	if l := s.Latency.D(); l < 0 || l > maxLatency {
		v.add(at("latency"), "must be between 0s and %s", maxLatency)
	}
}

func (v *validator) evenBetween(path string, n, lo, hi int) {
	if n < lo || n > hi || n%2 != 0 {
		v.add(path, "must be an even number between %d and %d", lo, hi)
	}
}

// rtspURI checks an rtsp source's URI. Messages never echo the URI: it usually holds the
// camera's password.
func (v *validator) rtspURI(path, uri string) {
	if uri == "" {
		v.add(path, "required")
		return
	}
	u, err := url.Parse(uri)
	if err != nil {
		v.add(path, "is not a valid URI (are special characters in the password percent-encoded?)")
		return
	}
	if u.Scheme != "rtsp" && u.Scheme != "rtsps" {
		v.add(path, "must be rtsp:// or rtsps://")
		return
	}
	if u.Hostname() == "" {
		v.add(path, "must include a host, e.g. rtsp://camera.local/stream")
	}
	if port := u.Port(); port != "" && !validPort(port) {
		v.add(path, "port must be a number between 1 and 65535")
	}
}

// fileURI checks a file source's URI: a path, or a file:// URI for a local file. It says
// whether the URI names one.
func (v *validator) fileURI(path, uri string) bool {
	if uri == "" {
		v.add(path, "required")
		return false
	}
	m := uriSchemeRE.FindStringSubmatch(uri)
	// A one-letter "scheme" is a Windows drive (C:\videos), which is a path.
	if m == nil || len(m[1]) == 1 {
		return true
	}
	if !strings.EqualFold(m[1], "file") {
		v.add(path, "must be a path or a file:// URI")
		return false
	}
	u, err := url.Parse(uri)
	switch {
	case err != nil:
		v.add(path, "is not a valid file:// URI")
	case u.Host != "" && u.Host != "localhost":
		v.add(path, "must name a local file: file:///path (three slashes)")
	case u.Path == "":
		v.add(path, "must include a path: file:///path")
	default:
		return true
	}
	return false
}

// mediaFile refuses a file source outside the media folders, whether or not the file exists
// (the message is the same either way, so that it tells nothing about the server's files).
func (v *validator) mediaFile(path, uri string, dirs []string) {
	if len(dirs) == 0 {
		return
	}
	file := FilePath(uri)
	if !under(file, dirs) {
		v.add(path, "must be a file under server.media_dirs (%s); add its folder there to play it", strings.Join(dirs, ", "))
	}
}

// FilePath returns the path a file source's URI names: the URI itself, or a file:// URI's path.
func FilePath(uri string) string {
	if !strings.HasPrefix(strings.ToLower(uri), "file:") {
		return uri
	}
	if u, err := url.Parse(uri); err == nil {
		return u.Path
	}
	return uri
}

// under reports whether file lies inside one of dirs, both as written (after "..", relative
// to the working directory) and once symbolic links are followed, so that neither "../" nor a
// link leads out.
func under(file string, dirs []string) bool {
	abs, err := filepath.Abs(file)
	if err != nil {
		return false
	}
	real := abs
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		real = r
	}
	written, resolved := false, false
	for _, d := range dirs {
		dir, err := filepath.Abs(d)
		if err != nil {
			continue
		}
		realDir := dir
		if r, err := filepath.EvalSymlinks(dir); err == nil {
			realDir = r
		}
		written = written || within(abs, dir)
		resolved = resolved || within(real, realDir)
	}
	return written && resolved
}

// within reports whether path is dir or lies below it; both are absolute and clean.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
