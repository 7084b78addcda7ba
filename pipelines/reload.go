package pipelines

import (
	"sort"

	"github.com/pigweight/pigweight/pipelines/spec"
)

// ReloadResult says what a reload changed, by pipeline name.
type ReloadResult struct {
	Added     []string `json:"added"`
	Removed   []string `json:"removed"`
	Restarted []string `json:"restarted"`
	Unchanged []string `json:"unchanged"`
}

// Reload makes the pipelines that came from the configuration file match ps: new ones start,
// missing ones stop and go, changed ones restart with their new spec, and the rest — and every
// pipeline added through the API — are not touched. Subscribers of a restarted pipeline stay
// subscribed.
func (m *Manager) Reload(ps []spec.Pipeline) (ReloadResult, error) {
	var res ReloadResult
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return res, ErrClosed
	}
	want := make(map[string]spec.Pipeline, len(ps))
	for _, p := range ps {
		want[p.Name] = p
	}
	var stop []*supervisor
	var start []*supervisor
	for name, s := range m.pipelines {
		p, keep := want[name]
		switch {
		case !keep && s.fromConfig:
			delete(m.pipelines, name)
			stop = append(stop, s)
			res.Removed = append(res.Removed, name)
		case keep && s.spec.Equal(p) && s.fromConfig:
			res.Unchanged = append(res.Unchanged, name)
			delete(want, name)
		case keep:
			// Changed, or an API pipeline the file now defines: the file wins.
			if !s.fromConfig && m.kept != "" {
				const what = "the configuration file now defines a pipeline added through the API: the file's replaces it"
				if aside, err := m.kept.setAside(name, "replaced"); err != nil {
					m.log.Error(what, "pipeline", name, "err", err)
				} else {
					m.log.Warn(what, "pipeline", name, "kept_as", aside)
				}
			}
			next := m.newSupervisorLocked(p)
			next.fromConfig = true
			m.pipelines[name] = next
			stop = append(stop, s)
			start = append(start, next)
			res.Restarted = append(res.Restarted, name)
			delete(want, name)
		}
	}
	for name, p := range want {
		s := m.newSupervisorLocked(p)
		s.fromConfig = true
		m.pipelines[name] = s
		start = append(start, s)
		res.Added = append(res.Added, name)
	}
	m.mu.Unlock()

	replaced := make(map[string]*supervisor, len(start))
	for _, s := range start {
		replaced[s.spec.Name] = s
	}
	for _, s := range stop {
		s.stop()
		if next, ok := replaced[s.spec.Name]; ok {
			next.timeline.follow(&s.timeline) // its viewers stay: so do their timestamps
			s.handOverSubscriptions(next)
		} else {
			s.closeSubscriptions()
		}
	}
	for _, s := range start {
		s.start()
	}
	for _, names := range [][]string{res.Added, res.Removed, res.Restarted, res.Unchanged} {
		sort.Strings(names)
	}
	return res, nil
}
