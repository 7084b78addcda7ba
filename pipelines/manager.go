package pipelines

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"

	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/pipelines/spec"
)

// Runtime builds and starts the media side of one pipeline. The manager owns when; the runtime
// owns how (GStreamer, in package graph). Keeping it behind an interface keeps this package free
// of cgo, so the API can use its types.
type Runtime interface {
	// Start builds the pipeline for p and sets it playing; hooks receive its frames and
	// access units.
	Start(p spec.Pipeline, hooks media.Hooks) (Run, error)
}

// RuntimeFunc adapts a function to Runtime, so that cmd can wire graph in without graph
// importing this package.
type RuntimeFunc func(p spec.Pipeline, hooks media.Hooks) (Run, error)

// Start calls f.
func (f RuntimeFunc) Start(p spec.Pipeline, hooks media.Hooks) (Run, error) {
	return f(p, hooks)
}

// Run is one started instance of a pipeline.
type Run interface {
	// Decoder names the decoder element chosen, once known ("" before the stream's caps arrive).
	Decoder() string
	// Wait blocks until the pipeline ends: io.EOF at end of stream, another error on failure, or
	// ctx.Err() when ctx is done first.
	Wait(ctx context.Context) error
	// Close stops the pipeline and releases it. It is called exactly once, after Wait.
	Close()
}

// Encoder is implemented by runs that encode for viewers (graph.Run does): the encoder's
// bitrate can follow what the viewers can take, and a viewer can ask it for a keyframe.
type Encoder interface {
	// SetBitrate asks for kbps kbit/s (clamped to the output's bounds) and returns the bitrate
	// in force; ok is false when the run encodes nothing.
	SetBitrate(kbps int) (now int, ok bool)
	// RequestKeyframe asks for a keyframe as soon as possible; false when the run encodes
	// nothing.
	RequestKeyframe() bool
}

// Permanent is implemented by errors that a restart cannot cure (a decoder the machine lacks).
// The supervisor moves such a pipeline to failed instead of retrying.
type Permanent interface {
	Permanent() bool
}

func isPermanent(err error) bool {
	var p Permanent
	return errors.As(err, &p) && p.Permanent()
}

// Manager supervises every pipeline: one goroutine per pipeline owns its run, restarts it with
// backoff, and records its status. Pipelines are added, removed, stopped and started at run
// time without touching the others.
type Manager struct {
	runtime Runtime
	log     *slog.Logger

	mu        sync.Mutex
	pipelines map[string]*supervisor
	closed    bool
	// kept is where pipelines added through the API are kept for the next start; "" when
	// they are not (see KeepAPIPipelines).
	kept keptDir
	// stage works on every analysed frame before it is published; nil for none.
	stage FrameStage
}

// NewManager returns a manager that starts pipelines through runtime.
func NewManager(runtime Runtime, log *slog.Logger) *Manager {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{
		runtime:   runtime,
		log:       log.With("component", "pipelines"),
		pipelines: make(map[string]*supervisor),
	}
}

// Add registers p and starts it.
func (m *Manager) Add(p spec.Pipeline) error { return m.add(p, false) }

func (m *Manager) add(p spec.Pipeline, fromConfig bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if _, ok := m.pipelines[p.Name]; ok {
		return fmt.Errorf("%w: %q", ErrExists, p.Name)
	}
	if !fromConfig && m.kept != "" {
		if err := m.kept.save(p); err != nil {
			return fmt.Errorf("keep pipeline %q for the next start: %w", p.Name, err)
		}
	}
	m.startLocked(p, fromConfig)
	return nil
}

// startLocked registers p and starts it; m.mu is held.
func (m *Manager) startLocked(p spec.Pipeline, fromConfig bool) {
	s := m.newSupervisorLocked(p)
	s.fromConfig = fromConfig
	m.pipelines[p.Name] = s
	s.start()
}

// AddFromConfig registers p as defined by the configuration file (see Reload) and starts it.
func (m *Manager) AddFromConfig(p spec.Pipeline) error { return m.add(p, true) }

// Remove stops the pipeline and forgets it.
func (m *Manager) Remove(name string) error {
	m.mu.Lock()
	s, ok := m.pipelines[name]
	var forget error
	if ok {
		delete(m.pipelines, name)
		if !s.fromConfig && m.kept != "" {
			forget = m.kept.remove(name)
		}
	}
	m.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	s.stop()
	s.closeSubscriptions()
	if forget != nil {
		return fmt.Errorf("pipeline %q removed, but it will be back at the next start: %w", name, forget)
	}
	return nil
}

// Start starts a stopped or failed pipeline; a running one is left alone.
func (m *Manager) Start(name string) error {
	s, err := m.lookup(name)
	if err != nil {
		return err
	}
	s.start()
	return nil
}

// Stop stops the pipeline and keeps it, in state stopped.
func (m *Manager) Stop(name string) error {
	s, err := m.lookup(name)
	if err != nil {
		return err
	}
	s.stop()
	return nil
}

// Restart stops the pipeline and starts it again at once.
func (m *Manager) Restart(name string) error {
	s, err := m.lookup(name)
	if err != nil {
		return err
	}
	s.stop()
	s.start()
	return nil
}

// Get returns the status of one pipeline.
func (m *Manager) Get(name string) (Status, error) {
	s, err := m.lookup(name)
	if err != nil {
		return Status{}, err
	}
	return s.status(), nil
}

// Detections returns the latest analysed frame of the pipeline.
func (m *Manager) Detections(name string) (Detections, error) {
	s, err := m.lookup(name)
	if err != nil {
		return Detections{}, err
	}
	return s.detections()
}

// List returns the status of every pipeline, sorted by name.
func (m *Manager) List() []Status {
	m.mu.Lock()
	sups := make([]*supervisor, 0, len(m.pipelines))
	for _, s := range m.pipelines {
		sups = append(sups, s)
	}
	m.mu.Unlock()
	out := make([]Status, 0, len(sups))
	for _, s := range sups {
		out = append(out, s.status())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Close stops every pipeline, waiting for each to reach NULL, ends every subscription, and
// refuses further additions.
// The stops run in parallel so that one slow pipeline does not hold up the others' shutdown.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	sups := make([]*supervisor, 0, len(m.pipelines))
	for _, s := range m.pipelines {
		sups = append(sups, s)
	}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range sups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.stop()
			s.closeSubscriptions() // their pipelines have ended
		}()
	}
	wg.Wait()
}

func (m *Manager) lookup(name string) (*supervisor, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	s, ok := m.pipelines[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return s, nil
}

// SetEncoderBitrate asks pipeline name's encoding for viewers to run at kbps kbit/s and returns
// the bitrate in force. ErrNotFound for an unknown pipeline; ErrNotEncoding while the pipeline
// runs nothing that encodes (passthrough, or between restarts).
func (m *Manager) SetEncoderBitrate(name string, kbps int) (int, error) {
	enc, err := m.encoder(name)
	if err != nil {
		return 0, err
	}
	if now, ok := enc.SetBitrate(kbps); ok {
		return now, nil
	}
	return 0, ErrNotEncoding
}

// RequestKeyframe asks pipeline name's encoding for viewers for a keyframe; errors as for
// SetEncoderBitrate.
func (m *Manager) RequestKeyframe(name string) error {
	enc, err := m.encoder(name)
	if err != nil {
		return err
	}
	if !enc.RequestKeyframe() {
		return ErrNotEncoding
	}
	return nil
}

// encoder returns the current run of pipeline name if it encodes for viewers.
func (m *Manager) encoder(name string) (Encoder, error) {
	s, err := m.lookup(name)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	run := s.run
	s.mu.Unlock()
	if enc, ok := run.(Encoder); ok {
		return enc, nil
	}
	return nil, ErrNotEncoding
}
