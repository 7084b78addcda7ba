package spec

import (
	"encoding/json"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a time.Duration written as a Go duration string ("200ms", "30s", "1h30m") in
// YAML and JSON. A bare number is refused rather than guessed: "latency: 200" could mean
// milliseconds or seconds, and either guess is wrong for someone.
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String returns the Go form, e.g. "200ms".
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML reads a Go duration string. "0" is accepted as zero, the one number whose
// unit does not matter.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("must be a duration such as 200ms or 30s, not %s", kindName(n))
	}
	v, err := parseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML writes the Go form, which UnmarshalYAML reads back exactly.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalJSON writes the Go form as a JSON string, e.g. "200ms".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a JSON string holding a Go duration.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("must be a duration string such as \"200ms\": %w", err)
	}
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

func parseDuration(s string) (Duration, error) {
	v, err := time.ParseDuration(s)
	if err == nil {
		return Duration(v), nil
	}
	if isNumber(s) {
		return 0, fmt.Errorf("needs a unit: write %sms or %ss, not %s", s, s, s)
	}
	return 0, fmt.Errorf("must be a duration such as 200ms or 30s (got %s)", quoteShort(s))
}

// isNumber reports whether s looks like a number without a unit ("200", "-1", "1.5").
func isNumber(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	digits := 0
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
		case (c == '-' || c == '+') && i == 0:
		default:
			return false
		}
	}
	return digits > 0
}
