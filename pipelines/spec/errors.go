package spec

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is matched by every error Parse, ParsePipeline, Load and Validate return for a
// configuration that is wrong (as opposed to a file that cannot be read), so callers can
// tell "fix the file" from "fix the disk" with errors.Is. errors.As into an Errors value gives the
// individual problems.
var ErrInvalid = errors.New("invalid configuration")

// FieldError is one problem in a configuration, located by file, line and field path.
type FieldError struct {
	File   string // file name as given to Parse; "" when the config was built in code
	Line   int    // 1-based; 0 when unknown
	Column int    // 1-based; 0 when unknown
	// Field is the path of the field, e.g. "pipelines[1].source.uri"; "" for a whole-document error.
	Field   string
	Message string
}

// Error formats the problem as "file:line:column: field: message", leaving out what is unknown.
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(":")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, "%d:", e.Column)
		}
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Errors is every problem found in one configuration, in document order.
type Errors []*FieldError

// Is reports whether target is ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// Error lists the problems one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Is reports whether target is ErrInvalid.
func (es Errors) Is(target error) bool { return target == ErrInvalid }
