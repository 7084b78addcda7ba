package weight

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/pigweight/pigweight/elements/detect"
)

// Check-weigh limits.
const (
	// MinCheckWeighKg and MaxCheckWeighKg bound every weight: a piglet to a large boar.
	MinCheckWeighKg = 1.0
	MaxCheckWeighKg = 400.0
	// MaxGroupWeights bounds a group reading's weights: several pens' worth.
	MaxGroupWeights = 1000
	// MaxClockSkew is how far in the future (by the server's clock) a reading may be: the
	// scale's clock is not ours.
	MaxClockSkew = time.Minute
	// MaxCheckWeighBytes bounds the body ParseCheckWeigh reads; a full group is under 20 KiB.
	MaxCheckWeighBytes = 64 << 10
)

// ParseCheckWeigh reads one scale reading from a JSON body:
//
//	{"time": "2025-03-01T08:15:00Z", "weight_kg": 87.5, "box": [x, y, w, h]}
//	{"time": "2025-03-01T08:15:00Z", "weights_kg": [81.2, 90.4, ...]}
//
// Decoding is strict: unknown and repeated fields are refused (names match exactly), as is
// anything after the object. Exactly one of weight_kg and weights_kg is given; box comes with
// weight_kg and only with it; every weight is within [MinCheckWeighKg, MaxCheckWeighKg], a
// group has at most MaxGroupWeights; time is RFC 3339, from 2000 on and at most MaxClockSkew
// after now. Every error wraps ErrInvalidCheckWeigh.
func ParseCheckWeigh(body []byte, now time.Time) (CheckWeigh, error) {
	cw, err := parseCheckWeigh(body, now)
	if err != nil {
		return CheckWeigh{}, fmt.Errorf("%w: %w", ErrInvalidCheckWeigh, err)
	}
	return cw, nil
}

func parseCheckWeigh(body []byte, now time.Time) (CheckWeigh, error) {
	var cw CheckWeigh
	if len(body) > MaxCheckWeighBytes {
		return cw, fmt.Errorf("body of %d bytes, at most %d", len(body), MaxCheckWeighBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil {
		return cw, syntaxErr(err)
	} else if tok != json.Delim('{') {
		return cw, errors.New("want a JSON object")
	}
	seen := map[string]bool{}
	var hasTime, hasWeight, hasWeights bool
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return cw, syntaxErr(err)
		}
		key, ok := tok.(string)
		if !ok { // the decoder reports non-string keys itself; this is belt and braces
			return cw, errors.New("malformed JSON: object key is not a string")
		}
		if seen[key] {
			return cw, fmt.Errorf("%q given twice", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return cw, syntaxErr(err)
		}
		if string(bytes.TrimSpace(raw)) == "null" {
			return cw, fmt.Errorf("%s: null", key)
		}
		switch key {
		case "time":
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return cw, errors.New("time: want an RFC 3339 string")
			}
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return cw, fmt.Errorf("time: %q is not RFC 3339 (2006-01-02T15:04:05Z07:00)", s)
			}
			cw.Time, hasTime = t, true
		case "weight_kg":
			w, err := weightValue(raw, "weight_kg")
			if err != nil {
				return cw, err
			}
			cw.WeightKg, hasWeight = w, true
		case "weights_kg":
			var ws []json.RawMessage
			if err := json.Unmarshal(raw, &ws); err != nil {
				return cw, errors.New("weights_kg: want an array of numbers")
			}
			if len(ws) == 0 {
				return cw, errors.New("weights_kg: empty")
			}
			if len(ws) > MaxGroupWeights {
				return cw, fmt.Errorf("weights_kg: %d weights, at most %d", len(ws), MaxGroupWeights)
			}
			cw.WeightsKg = make([]float64, len(ws))
			for i, r := range ws {
				if cw.WeightsKg[i], err = weightValue(r, fmt.Sprintf("weights_kg[%d]", i)); err != nil {
					return cw, err
				}
			}
			hasWeights = true
		case "box":
			b, err := boxValue(raw)
			if err != nil {
				return cw, err
			}
			cw.Box = &b
		default:
			return cw, fmt.Errorf("unknown field %q", key)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return cw, syntaxErr(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return cw, errors.New("data after the object")
	}

	switch {
	case !hasTime:
		return cw, errors.New("time: required")
	case cw.Time.Before(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)): // a clock never set
		return cw, fmt.Errorf("time: %s is before 2000; is the scale's clock set?", cw.Time.Format(time.RFC3339))
	case cw.Time.After(now.Add(MaxClockSkew)):
		return cw, fmt.Errorf("time: %s is %s in the future", cw.Time.Format(time.RFC3339), cw.Time.Sub(now).Round(time.Second))
	case hasWeight == hasWeights:
		return cw, errors.New("give exactly one of weight_kg (one pig) and weights_kg (a group)")
	case hasWeight && cw.Box == nil:
		return cw, errors.New("box: required with weight_kg, to tell which pig was weighed")
	case hasWeights && cw.Box != nil:
		return cw, errors.New("box: not allowed with weights_kg; a group is matched by distribution")
	}
	return cw, nil
}

func weightValue(raw json.RawMessage, field string) (float64, error) {
	var w float64
	if err := json.Unmarshal(raw, &w); err != nil {
		return 0, fmt.Errorf("%s: want a number of kilograms", field)
	}
	if !(w >= MinCheckWeighKg && w <= MaxCheckWeighKg) {
		return 0, fmt.Errorf("%s: %s kg outside [%s, %s]", field, num(w), num(MinCheckWeighKg), num(MaxCheckWeighKg))
	}
	return w, nil
}

// boxValue reads [x, y, w, h]: exactly four numbers (detect.Box's own decoding would pad or
// drop), the corner not negative, the size positive, all within float32.
func boxValue(raw json.RawMessage) (detect.Box, error) {
	var a []float64
	if err := json.Unmarshal(raw, &a); err != nil || len(a) != 4 {
		return detect.Box{}, errors.New("box: want [x, y, w, h] in frame pixels")
	}
	for _, v := range a {
		if math.Abs(v) > math.MaxFloat32 {
			return detect.Box{}, fmt.Errorf("box: %s out of range", num(v))
		}
	}
	b := detect.Box{X: float32(a[0]), Y: float32(a[1]), W: float32(a[2]), H: float32(a[3])}
	if !(b.X >= 0 && b.Y >= 0) {
		return detect.Box{}, fmt.Errorf("box: corner (%s, %s) is negative", num(a[0]), num(a[1]))
	}
	if !(b.W > 0 && b.H > 0) {
		return detect.Box{}, fmt.Errorf("box: size %s×%s is not positive", num(a[2]), num(a[3]))
	}
	return b, nil
}

// syntaxErr makes the decoder's complaint about malformed JSON readable on its own.
func syntaxErr(err error) error {
	if err == io.EOF {
		return errors.New("unexpected end of JSON")
	}
	return fmt.Errorf("malformed JSON: %w", err)
}
