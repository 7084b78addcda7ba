//go:build !linux

package infer

// toBackground does nothing where threads have no priority of their own to lower.
func toBackground() error { return nil }
