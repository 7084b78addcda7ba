package batch

import "errors"

var (
	// ErrSkipped means the item was dropped to keep the queue bounded; it never ran. The element
	// passes its frame on without a fresh result and counts it.
	ErrSkipped = errors.New("batch: item skipped, queue full")

	// ErrClosed means the batcher was closed before the item's result was ready, or Submit was
	// called after Close.
	ErrClosed = errors.New("batch: batcher closed")

	// ErrRunPanic wraps a panic raised by the run function; every item of that batch gets it.
	ErrRunPanic = errors.New("batch: run function panicked")
)
