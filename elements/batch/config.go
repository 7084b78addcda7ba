package batch

import (
	"fmt"
	"time"
)

// Config sets how batches form. The zero value is not valid: MaxBatch must be set.
type Config struct {
	// MaxBatch is the largest batch the run function gets (≥1); the model's batch dimension.
	MaxBatch int
	// MaxWait is how long the oldest queued item may wait for its batch to reach the target size
	// before the batch goes anyway. Zero sends whatever is queued as soon as the worker is free.
	MaxWait time.Duration
	// QueueLimit bounds the queued items (not counting the batch that runs). Zero means
	// 4×MaxBatch; otherwise it must be at least MaxBatch, so that a full batch can form.
	QueueLimit int
	// LatencyBudget turns on adaptive batch sizing: the target size grows while the 95th
	// percentile of queue wait plus run time stays within it and shrinks when it does not (see
	// adapt.go). Zero disables adaptation: the target is MaxBatch.
	LatencyBudget time.Duration
	// Workers is how many batches may run at once (the run function must allow concurrent
	// calls when it is above 1). Zero means 1.
	Workers int
	// WorkerInit, when set, runs first on each worker's goroutine, which runs every batch of
	// that worker: for example to lock it to an OS thread and lower the thread's priority.
	WorkerInit func()
}

// withDefaults validates c and fills in the defaults.
func (c Config) withDefaults() (Config, error) {
	if c.MaxBatch < 1 {
		return c, fmt.Errorf("batch: MaxBatch %d: must be at least 1", c.MaxBatch)
	}
	if c.MaxWait < 0 {
		return c, fmt.Errorf("batch: MaxWait %v: must not be negative", c.MaxWait)
	}
	if c.Workers < 0 {
		return c, fmt.Errorf("batch: Workers %d: must not be negative", c.Workers)
	}
	c.Workers = max(c.Workers, 1)
	if c.LatencyBudget < 0 {
		return c, fmt.Errorf("batch: LatencyBudget %v: must not be negative", c.LatencyBudget)
	}
	switch {
	case c.QueueLimit == 0:
		c.QueueLimit = 4 * c.MaxBatch
	case c.QueueLimit < c.MaxBatch:
		return c, fmt.Errorf("batch: QueueLimit %d: must be 0 (default) or at least MaxBatch (%d)",
			c.QueueLimit, c.MaxBatch)
	}
	return c, nil
}
