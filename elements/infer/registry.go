package infer

import (
	"fmt"
	"sync"
)

// engines maps model names to their engines for the pwinfer elements of this process.
//
// It is the one package-level variable holding state, on purpose: GStreamer creates elements
// by factory name with no arguments, so an element can only find its model's shared engine
// through a process-wide table. cmd fills it at start-up (AddEngine) and empties it at shutdown.
var engines = struct {
	sync.RWMutex
	byName map[string]*Engine
}{byName: make(map[string]*Engine)}

// AddEngine makes e available to pwinfer elements whose model property is e.Name().
func AddEngine(e *Engine) error {
	engines.Lock()
	defer engines.Unlock()
	if _, ok := engines.byName[e.Name()]; ok {
		return fmt.Errorf("model %q is already registered", e.Name())
	}
	engines.byName[e.Name()] = e
	return nil
}

// RemoveEngine removes the engine named name; elements already holding it keep using it until
// they stop.
func RemoveEngine(name string) {
	engines.Lock()
	defer engines.Unlock()
	delete(engines.byName, name)
}

// EngineByName returns the engine registered as name.
func EngineByName(name string) (*Engine, bool) {
	engines.RLock()
	defer engines.RUnlock()
	e, ok := engines.byName[name]
	return e, ok
}

// Engines lists every registered engine.
func Engines() []*Engine {
	engines.RLock()
	defer engines.RUnlock()
	out := make([]*Engine, 0, len(engines.byName))
	for _, e := range engines.byName {
		out = append(out, e)
	}
	return out
}
