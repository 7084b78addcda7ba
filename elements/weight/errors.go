package weight

import "errors"

var (
	// ErrInvalidConfig is matched (errors.Is) by every error Config.Validate returns; errors.As
	// into a *FieldError gives the field path and the problem.
	ErrInvalidConfig = errors.New("weight: invalid configuration")
	// ErrInvalidCheckWeigh means a check-weigh body is not a valid reading: bad JSON, an
	// unknown or repeated field, a weight out of range, a missing or future time.
	ErrInvalidCheckWeigh = errors.New("weight: invalid check-weigh")
	// ErrNoPigThere means a single-pig check-weigh matched no visit: no pig was in view at that
	// time, or none overlapped the reading's box enough to be the one on the scale.
	ErrNoPigThere = errors.New("weight: no pig seen there at that time")
	// ErrNoVisits means a group check-weigh had too few weighed visits near its time to pair
	// its weights with their areas.
	ErrNoVisits = errors.New("weight: too few visits near the check-weigh")
)
