package pipelines_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pigweight/pigweight/pipelines"
	"github.com/pigweight/pigweight/pipelines/spec"
)

func parseKept(file string, data []byte) (spec.Pipeline, error) {
	return spec.ParsePipeline(file, data, &spec.Config{})
}

// asideFiles lists dir's files set aside as NAME.yaml.WHY-TIME.
func asideFiles(t *testing.T, dir, name, why string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, name+".yaml."+why+"-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Pipelines added through the API come back at the next start, exactly as they were added
// (a password with a '$' included); deleted ones do not; the configuration file's pipelines
// are never written there. A kept file that no longer validates, or whose name the
// configuration now takes, is set aside with the reason, never lost or overwritten.
func TestAPIPipelinesAreKeptForTheNextStart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pipelines")
	first := newManager(t)
	if restored, problems := first.KeepAPIPipelines(dir, parseKept); len(restored)+len(problems) != 0 {
		t.Fatalf("empty directory: restored %v, problems %v", restored, problems)
	}
	if err := first.AddFromConfig(synthetic(t, "from-file")); err != nil {
		t.Fatal(err)
	}
	cam := parse(t, `{name: cam, source: {type: rtsp, uri: "rtsp://viewer:pa$$s@127.0.0.1:1/pen", latency: 150ms}, restart: {backoff_min: 1s, backoff_max: 2s}}`)
	if !strings.Contains(cam.Source.URI, "pa$s") {
		t.Fatalf("uri %q", cam.Source.URI)
	}
	for _, p := range []spec.Pipeline{cam, synthetic(t, "short-lived"), synthetic(t, "clash")} {
		if err := first.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := first.Remove("short-lived"); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	slices.Sort(files)
	if want := []string{filepath.Join(dir, "cam.yaml"), filepath.Join(dir, "clash.yaml")}; !slices.Equal(files, want) {
		t.Fatalf("kept files %v, want %v", files, want)
	}
	if st, err := os.Stat(filepath.Join(dir, "cam.yaml")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("cam.yaml: %v, mode %v; want 0600 (it holds the camera's password)", err, st.Mode().Perm())
	}
	first.Close()

	// Another start: the configuration now defines "clash", and one kept file was broken.
	if err := os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("name: broken\nsource:\n  type: rtsp\n  latency: soon\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Kept by an earlier version, which took a backoff of 1ns and spun the CPU until the
	// process died, at every start.
	if err := os.WriteFile(filepath.Join(dir, "spinner.yaml"), []byte("name: spinner\nsource: {type: synthetic}\nrestart: {backoff_min: 1ns, backoff_max: 1ns}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	unfinished := filepath.Join(dir, ".pen-9.123.tmp") // a write cut short by a crash
	if err := os.WriteFile(unfinished, []byte("name: pen-9\nsour"), 0o600); err != nil {
		t.Fatal(err)
	}
	second := newManager(t)
	for _, name := range []string{"from-file", "clash"} {
		if err := second.AddFromConfig(synthetic(t, name)); err != nil {
			t.Fatal(err)
		}
	}
	restored, problems := second.KeepAPIPipelines(dir, parseKept)
	if !slices.Equal(restored, []string{"cam"}) {
		t.Errorf("restored %v, want [cam]", restored)
	}
	var said []string
	for _, err := range problems {
		said = append(said, err.Error())
	}
	text := strings.Join(said, "\n")
	if len(problems) != 3 || !strings.Contains(text, "broken.yaml:4") || !strings.Contains(text, "latency") || !strings.Contains(text, `"clash"`) ||
		!strings.Contains(text, "spinner.yaml:3") || !strings.Contains(text, "restart.backoff_min: must be at least 100ms") {
		t.Errorf("problems:\n%s\nwant the broken file's line and field, the spinner's backoff, and the clash", text)
	}
	if _, err := os.Stat(unfinished); !os.IsNotExist(err) {
		t.Errorf("an unfinished write was left: %v", err)
	}
	if len(asideFiles(t, dir, "broken", "bad")) != 1 || len(asideFiles(t, dir, "spinner", "bad")) != 1 || len(asideFiles(t, dir, "clash", "replaced")) != 1 {
		t.Errorf("broken and clashing files not set aside: %v", files)
	}
	data, err := os.ReadFile(filepath.Join(dir, "cam.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	back, err := parseKept("cam.yaml", data)
	if err != nil || !back.Equal(cam) {
		t.Errorf("cam read back as %+v (%v), want %+v", back, err, cam)
	}
	if st := status(t, second, "cam"); st.State == pipelines.StateFailed || st.Spec.Source.Latency != cam.Source.Latency || st.Origin != pipelines.OriginAPI {
		t.Errorf("restored cam: %+v", st)
	}
	if st := status(t, second, "from-file"); st.Origin != pipelines.OriginConfig {
		t.Errorf("the file's pipeline has origin %q", st.Origin)
	}

	// A reload whose file now defines "cam" too: the file's replaces it, the kept one is set aside.
	if _, err := second.Reload([]spec.Pipeline{synthetic(t, "from-file"), synthetic(t, "clash"), synthetic(t, "cam")}); err != nil {
		t.Fatal(err)
	}
	if st := status(t, second, "cam"); st.Origin != pipelines.OriginConfig {
		t.Errorf("cam after the file took its name: origin %q", st.Origin)
	}
	if _, err := os.Stat(filepath.Join(dir, "cam.yaml")); !os.IsNotExist(err) || len(asideFiles(t, dir, "cam", "replaced")) != 1 {
		t.Errorf("cam.yaml after the file took its name: %v, set aside %v", err, asideFiles(t, dir, "cam", "replaced"))
	}
	// Removing a pipeline of the file touches nothing kept.
	if err := second.Remove("cam"); err != nil {
		t.Error(err)
	}
}
