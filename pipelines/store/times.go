package store

import (
	"database/sql"
	"fmt"
	"math"
	"time"
)

// The instants an int64 of Unix nanoseconds can hold: 1677-09-21 to 2262-04-11.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// nanos is t as stored: Unix nanoseconds, the same number whatever t's location.
func nanos(t time.Time) (int64, error) {
	if t.Before(minTime) || t.After(maxTime) {
		return 0, fmt.Errorf("time %s is outside the years 1678 to 2262", t.Format(time.RFC3339Nano))
	}
	return t.UnixNano(), nil
}

// nullNanos is nanos with the zero time as NULL.
func nullNanos(t time.Time) (sql.NullInt64, error) {
	if t.IsZero() {
		return sql.NullInt64{}, nil
	}
	n, err := nanos(t)
	return sql.NullInt64{Int64: n, Valid: err == nil}, err
}

// fromNanos is the stored n as a UTC time; NULL is the zero time.
func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// nullFloat is f with 0 (unknown) as NULL.
func nullFloat(f float64) sql.NullFloat64 {
	return sql.NullFloat64{Float64: f, Valid: f != 0}
}
