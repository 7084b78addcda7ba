// Package ui holds pigweight's browser pages as embedded static assets: the start page that
// lists the pipelines and controls them through the control API. It has no Go logic beyond
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
//go:embed index.html app.js style.css
var assets embed.FS

// FS returns the page's files: index.html, app.js and style.css at the root.
func FS() fs.FS {
	return assets
}
