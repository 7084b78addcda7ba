package batch

import "strconv"

// Priority ranks items; a greater value outranks a smaller one. Higher-priority items are
// batched first and dropped last.
type Priority int

const (
	// PriorityJob is for batch jobs on uploaded files: they ride along when a batch has room.
	PriorityJob Priority = iota
	// PriorityLive is for live camera streams.
	PriorityLive

	numPriorities = int(PriorityLive) + 1
)

// String returns "job", "live", or the number for an unknown priority.
func (p Priority) String() string {
	switch p {
	case PriorityJob:
		return "job"
	case PriorityLive:
		return "live"
	}
	return "priority(" + strconv.Itoa(int(p)) + ")"
}

func (p Priority) valid() bool { return p >= 0 && int(p) < numPriorities }
