package pipelines

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pigweight/pigweight/pipelines/atomicfile"
	"github.com/pigweight/pigweight/pipelines/spec"
	"gopkg.in/yaml.v3"
)

// keptHeader opens every kept pipeline's file.
const keptHeader = "# A pipeline added through pigweight's API, kept for the next start. pigweight writes\n" +
	"# this file when the pipeline is added and removes it when the pipeline is deleted.\n"

// keptDir holds the pipelines added through the API, one YAML document per pipeline
// (NAME.yaml, as POST /pipelines takes it), so that a camera added on the page survives a
// restart of the server. Pipeline names are letters, digits, '_' and '-', so they are safe
// file names. Files are written whole and renamed into place, readable by the owner only:
// a camera URI may hold a password.
type keptDir string

func (k keptDir) path(name string) string { return filepath.Join(string(k), name+".yaml") }

func (k keptDir) save(p spec.Pipeline) error {
	doc, err := yaml.Marshal(p)
	if err != nil {
		return err
	}
	return atomicfile.Write(k.path(p.Name), "."+p.Name+".*.tmp", append([]byte(keptHeader), doc...))
}

// setAside renames the kept pipeline's file to NAME.yaml.WHY-TIME, where it no longer counts
// but stays for the user to look at, and returns the new path.
func (k keptDir) setAside(name, why string) (string, error) {
	path := k.path(name)
	aside := fmt.Sprintf("%s.%s-%s", path, why, time.Now().UTC().Format("20060102T150405Z"))
	if err := os.Rename(path, aside); err != nil {
		return "", fmt.Errorf("could not set %s aside: %w", path, err)
	}
	return aside, nil
}

// setAsideBecause sets the kept pipeline's file aside for err and returns err saying where it
// went.
func (k keptDir) setAsideBecause(err error, name, why string) error {
	aside, aerr := k.setAside(name, why)
	if aerr != nil {
		return fmt.Errorf("%w (and %v)", err, aerr)
	}
	return fmt.Errorf("%w (set aside as %s)", err, aside)
}

func (k keptDir) remove(name string) error {
	if err := os.Remove(k.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// KeepAPIPipelines makes m keep the pipelines added through the API in dir from now on:
// each one's spec is written there when it is added and removed when it is (or when the
// configuration file takes its name over on a reload). It first adds the pipelines dir holds
// from earlier runs, read by parse (which validates them as an API request would be), and
// returns their names. A file that cannot be read or no longer validates is renamed to
// NAME.yaml.bad-TIME, so that nothing the user wrote is lost or overwritten, and its problem is
// among the returned errors; so is a kept pipeline whose name the configuration file now uses
// (the configuration wins; the kept one goes to NAME.yaml.replaced-TIME).
func (m *Manager) KeepAPIPipelines(dir string, parse func(file string, data []byte) (spec.Pipeline, error)) (restored []string, problems []error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, []error{fmt.Errorf("kept pipelines: %w", err)}
	}
	k := keptDir(dir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, []error{fmt.Errorf("kept pipelines: %w", err)}
	}
	var found []spec.Pipeline
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") && strings.HasSuffix(e.Name(), ".tmp") {
			os.Remove(filepath.Join(dir, e.Name())) // a write the last run did not finish
			continue
		}
		name, ok := strings.CutSuffix(e.Name(), ".yaml")
		if !ok || e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		var p spec.Pipeline
		if err == nil {
			p, err = parse(path, data)
		}
		if err == nil && p.Name != name {
			err = fmt.Errorf("%s: holds pipeline %q; the file must be named %s.yaml", path, p.Name, p.Name)
		}
		if err != nil {
			problems = append(problems, k.setAsideBecause(err, name, "bad"))
			continue
		}
		found = append(found, p)
	}
	slices.SortFunc(found, func(a, b spec.Pipeline) int { return strings.Compare(a.Name, b.Name) })

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, append(problems, ErrClosed)
	}
	for _, p := range found {
		if _, taken := m.pipelines[p.Name]; taken {
			err := fmt.Errorf("kept pipeline %q: the configuration file defines a pipeline of that name, which wins", p.Name)
			problems = append(problems, k.setAsideBecause(err, p.Name, "replaced"))
			continue
		}
		m.startLocked(p, false)
		restored = append(restored, p.Name)
	}
	m.kept = k
	return restored, problems
}
