// Package atomicfile writes files that readers and crashes see whole or not at all.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write writes data to path through a temporary file in the same directory, named by pattern
// as os.CreateTemp takes it (so that what a crash leaves behind can be recognised and
// cleared), synced, renamed over path, and the directory synced so that the rename survives a
// power cut. The file is readable by its owner only (os.CreateTemp's 0600). On failure the
// temporary file is removed and path is left as it was.
func Write(path, pattern string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	SyncDir(dir)
	return nil
}

// SyncDir makes the renames in dir durable. A failure only weakens durability after a power
// cut, so it is ignored.
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
