// Package ui holds pigweight's browser pages as embedded static assets: the start page that
// lists the pipelines and controls them through the control API, and the live view that plays
// one stream over WebRTC with its detections drawn on top. It has no Go logic beyond
// handing the files out; package web/api serves index.html at / and every file at /ui/<name>,
// so the pages refer to their assets by those absolute paths.
package ui

import (
	"embed"
	"io/fs"
)

// assets is read-only by construction (embed.FS has no write methods), so it is not mutable
// package state.
//
//go:embed index.html app.js style.css view.html view.js view.css
var assets embed.FS

// FS returns the pages' files at the root: index.html, app.js and style.css (the start
// page) and view.html, view.js and view.css (the live view, served at /view/{stream}).
func FS() fs.FS {
	return assets
}
