// Package pipelines supervises every configured pipeline: one goroutine per pipeline owns its
// GStreamer run (through the Runtime interface, implemented by package graph), moves it through
// starting, playing, retrying, stopped and failed, restarts it with exponential backoff, and
// counts its frames. Pipelines are added and removed at run time without touching the others.
package pipelines
