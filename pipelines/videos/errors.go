package videos

import (
	"errors"
	"strings"

	"github.com/pigweight/pigweight/pipelines/index"
)

// Errors callers branch on. Errors returned by Library match one of these (errors.Is) when
// they are about the request rather than the server.
var (
	// ErrNotFound: no video of that id.
	ErrNotFound = errors.New("video not found")
	// ErrJobNotFound: no job of that id (jobs are forgotten after KeepJobs newer ones finish).
	ErrJobNotFound = errors.New("job not found")
	// ErrTooLarge: the upload is, or says it is, larger than Config.MaxUploadBytes.
	ErrTooLarge = errors.New("upload is larger than the limit")
	// ErrEmpty: the upload has no bytes.
	ErrEmpty = errors.New("upload is empty")
	// ErrUnsupported: the upload is not a video that can be indexed (a picture, text, audio,
	// another codec). It also matches index.ErrUnsupported.
	ErrUnsupported error = &kindError{msg: "not a video that can be indexed", also: index.ErrUnsupported}
	// ErrCorrupt: the upload looks like a supported container but its tables lie or it is
	// truncated. It also matches index.ErrCorrupt.
	ErrCorrupt error = &kindError{msg: "the video is corrupt or truncated", also: index.ErrCorrupt}
	// ErrInterrupted: the upload stopped before its end: the client went away, the body could
	// not be read, or the caller's context ended.
	ErrInterrupted = errors.New("upload interrupted")
	// ErrBusy: the video cannot be used or changed now: it is still uploading, or it is being
	// deleted.
	ErrBusy = errors.New("video is busy")
	// ErrFrameRange: a frame number outside [0, frames).
	ErrFrameRange = errors.New("frame number out of range")
	// ErrInvalidJob: a job request with a bad range or step.
	ErrInvalidJob = errors.New("invalid job request")
	// ErrModel: the job's model is unknown or cannot be used.
	ErrModel = errors.New("model not available")
	// ErrNoEncoder: the frame source cannot compress pictures itself; the caller does.
	ErrNoEncoder = errors.New("no picture encoder")
	// ErrTooManyJobs: MaxPendingJobs jobs are already queued or running.
	ErrTooManyJobs = errors.New("too many jobs queued or running")
	// ErrClosed: the library was closed.
	ErrClosed = errors.New("video library is closed")
)

// kindError is a sentinel that also matches a sentinel of another package, so that callers of
// either package can branch on it.
type kindError struct {
	msg  string
	also error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.also }

// rejection is an upload refused for a reason a person can act on. It reads
// "<kind>: <reason>" and matches both kind and the error that caused it, if any.
type rejection struct {
	kind   error
	reason string
	cause  error
}

func (e *rejection) Error() string { return e.kind.Error() + ": " + e.reason }

func (e *rejection) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

// indexError turns an error of index.Build into a rejection whose reason reads well on its own:
// the package prefix and the sentinel's text are dropped, the cause is kept for errors.Is.
func indexError(err error) error {
	var kind, sentinel error
	switch {
	case errors.Is(err, index.ErrUnsupported):
		kind, sentinel = ErrUnsupported, index.ErrUnsupported
	case errors.Is(err, index.ErrCorrupt):
		kind, sentinel = ErrCorrupt, index.ErrCorrupt
	default:
		return err
	}
	reason := strings.TrimPrefix(err.Error(), "index: ")
	reason = strings.TrimSuffix(reason, ": "+sentinel.Error())
	return &rejection{kind: kind, reason: reason, cause: err}
}
