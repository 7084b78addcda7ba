package videos

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pigweight/pigweight/pipelines/atomicfile"
	"github.com/pigweight/pigweight/pipelines/index"
)

// File names under Dir/videos. Only names of these shapes are ever created or removed there.
const (
	uploadTempPattern = ".upload-*.tmp" // an upload being received
	metaTempPattern   = ".meta-*.tmp"   // metadata being written
	metaExt           = ".json"
	idLen             = 16 // hex digits of the SHA-256 in an id
)

// containerExt is the extension a stored file gets: GStreamer's typefind does not need it,
// but people looking at the directory do.
func containerExt(container string) string {
	switch container {
	case index.ContainerMP4:
		return ".mp4"
	case index.ContainerMKV:
		return ".mkv"
	case index.ContainerMPEGTS:
		return ".ts"
	}
	return ".video"
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}

func validID(id string) bool { return len(id) == idLen && isHex(id) }

func (l *Library) metaPath(id string) string { return filepath.Join(l.videoDir, id+metaExt) }

func (l *Library) videoPath(id, container string) string {
	return filepath.Join(l.videoDir, id+containerExt(container))
}

// load reads the metadata of every stored video and tidies the directories: temporary files of
// interrupted uploads and index saves, and video files whose upload never committed (no
// metadata), are removed.
func (l *Library) load() error {
	entries, err := os.ReadDir(l.videoDir)
	if err != nil {
		return fmt.Errorf("videos: %w", err)
	}
	files := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() {
			continue
		}
		if m1, _ := filepath.Match(uploadTempPattern, name); m1 {
			l.removeLeftover(filepath.Join(l.videoDir, name), "temporary file of an interrupted upload")
			continue
		}
		if m2, _ := filepath.Match(metaTempPattern, name); m2 {
			l.removeLeftover(filepath.Join(l.videoDir, name), "temporary metadata of an interrupted upload")
			continue
		}
		files[name] = true
	}
	for name := range files {
		id, ok := strings.CutSuffix(name, metaExt)
		if !ok || !validID(id) {
			continue
		}
		v, err := l.readMeta(id)
		if err != nil {
			l.log.Warn("skipping a stored video whose metadata cannot be used; remove its files or upload it again",
				"file", filepath.Join(l.videoDir, name), "err", err)
			continue
		}
		l.videos[id] = v
	}
	// Sidecars whose writing a crash interrupted.
	temps, _ := filepath.Glob(filepath.Join(l.indexDir, index.SidecarTempPattern))
	for _, t := range temps {
		l.removeLeftover(t, "temporary file of an interrupted index save")
	}
	// A video file without metadata is an upload that was renamed into place but never
	// committed, or a delete that was interrupted.
	for name := range files {
		ext := filepath.Ext(name)
		id := strings.TrimSuffix(name, ext)
		if ext == metaExt || !validID(id) || files[id+metaExt] {
			continue
		}
		l.removeLeftover(filepath.Join(l.videoDir, name), "video file without metadata (interrupted upload or delete)")
		if sidecars, _ := filepath.Glob(filepath.Join(l.indexDir, id+"*.pwidx")); len(sidecars) == 1 {
			l.removeLeftover(sidecars[0], "index of a video file without metadata")
		}
	}
	if len(l.videos) > 0 {
		l.log.Info("videos loaded", "count", len(l.videos), "dir", l.videoDir)
	}
	return nil
}

func (l *Library) removeLeftover(path, what string) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		l.log.Warn("cannot remove a leftover file; remove it by hand", "file", path, "what", what, "err", err)
		return
	}
	l.log.Info("removed a leftover file", "file", path, "what", what)
}

// readJSON reads a kept record (video metadata, a job's record) into v.
func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

func (l *Library) readMeta(id string) (*video, error) {
	var m Video
	if err := readJSON(l.metaPath(id), &m); err != nil {
		return nil, err
	}
	switch {
	case m.ID != id:
		return nil, fmt.Errorf("metadata names video %q", m.ID)
	case len(m.SHA256) != 64 || !isHex(m.SHA256) || !strings.HasPrefix(m.SHA256, id):
		return nil, fmt.Errorf("metadata has content hash %q, which does not match id %s", m.SHA256, id)
	case m.Frames <= 0:
		return nil, fmt.Errorf("metadata says %d frames", m.Frames)
	}
	path := l.videoPath(id, m.Container)
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() != m.Bytes {
		return nil, fmt.Errorf("%s has %d bytes, its metadata says %d", path, st.Size(), m.Bytes)
	}
	m.State, m.Progress = StateReady, 1
	return &video{meta: m, path: path}, nil
}

// writeMeta writes the metadata of a video atomically.
func (l *Library) writeMeta(m Video) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(l.metaPath(m.ID), metaTempPattern, append(data, '\n'))
}
