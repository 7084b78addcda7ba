// Package onnxtest helps tests that need a model file.
package onnxtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pigweight/pigweight/elements/onnx"
)

// DemoModelFile writes the demo model for width×height frames into the test's directory and
// returns its path.
func DemoModelFile(t testing.TB, width, height int) string {
	t.Helper()
	data, err := onnx.DemoModel(width, height)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "demo.onnx")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
