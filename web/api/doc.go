// Package api is pigweight's control API: a Fiber app that lists, adds, removes, starts, stops
// and restarts pipelines, reports what the machine can do, and publishes its own OpenAPI
// document with a page that renders it. It also serves the embedded start page of package
// web/ui.
//
// The package knows the pipeline manager only through the small Pipelines interface and the
// machine only through a System function, so it builds without cgo and is tested against an
// in-memory fake.
//
// Every error leaves as JSON of one shape (see ErrorResponse), including Fiber's own 404, 405
// and 413, so clients never have to parse HTML or plain text.
package api
