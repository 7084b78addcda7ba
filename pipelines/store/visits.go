package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pigweight/pigweight/elements/weight"
)

// StoredVisit is a visit as the store keeps it: its id and the pipeline that reported it.
// The visit's own fields are flattened into the same JSON object.
type StoredVisit struct {
	ID       int64  `json:"id"`
	Pipeline string `json:"pipeline"`
	weight.Visit
}

// AddVisit stores a visit that the pipeline named pipeline reported, and returns its id. The
// visit is durable when AddVisit returns (one transaction per visit: a pen reports a few a
// minute). Its Pen, Start and End are required, End not before Start; a zero WeightKg
// (unknown) is stored as NULL, as is a zero Time.
func (s *Store) AddVisit(ctx context.Context, pipeline string, v weight.Visit) (int64, error) {
	id, err := s.addVisit(ctx, pipeline, v)
	if err != nil {
		return 0, fmt.Errorf("add visit of pen %q track %d: %w", v.Pen, v.Track, err)
	}
	return id, nil
}

func (s *Store) addVisit(ctx context.Context, pipeline string, v weight.Visit) (int64, error) {
	if v.Pen == "" {
		return 0, errors.New("no pen")
	}
	if v.Start.IsZero() || v.End.IsZero() {
		return 0, errors.New("no start or end time")
	}
	if v.End.Before(v.Start) {
		return 0, fmt.Errorf("ends (%s) before it starts (%s)",
			v.End.Format(time.RFC3339Nano), v.Start.Format(time.RFC3339Nano))
	}
	start, err := nanos(v.Start)
	if err != nil {
		return 0, fmt.Errorf("start: %w", err)
	}
	end, err := nanos(v.End)
	if err != nil {
		return 0, fmt.Errorf("end: %w", err)
	}
	at, err := nullNanos(v.Time)
	if err != nil {
		return 0, fmt.Errorf("time: %w", err)
	}
	var path sql.NullString
	if len(v.Path) > 0 {
		utc := make([]weight.PathPoint, len(v.Path))
		for i, p := range v.Path {
			utc[i] = weight.PathPoint{Time: p.Time.UTC(), Box: p.Box}
		}
		b, err := json.Marshal(utc)
		if err != nil {
			return 0, fmt.Errorf("path: %w", err)
		}
		path = sql.NullString{String: string(b), Valid: true}
	}
	var id int64
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := addPen(ctx, tx, v.Pen); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO visits
			(pen, pipeline, track, start_ns, end_ns, weight_kg, area_m2, frames, good_frames,
			 time_ns, box_x, box_y, box_w, box_h, path)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			RETURNING id`,
			v.Pen, pipeline, v.Track, start, end, nullFloat(v.WeightKg), v.AreaM2, v.Frames,
			v.GoodFrames, at, v.Box.X, v.Box.Y, v.Box.W, v.Box.H, path,
		).Scan(&id)
	})
	return id, err
}

// addPen makes sure pen is listed in pens.
func addPen(ctx context.Context, tx *sql.Tx, pen string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO pens (pen) VALUES (?) ON CONFLICT DO NOTHING`, pen)
	return err
}

// Visits lists the visits of pen that overlap [from, to), ordered by start (then id). A visit
// overlaps when it starts before to and ends at or after from: a visit is a closed interval,
// its first frame to its last. A zero from or to leaves that side unbounded; an empty window
// (to not after from) holds nothing; limit > 0 keeps the first limit visits. The result is empty, not nil, when none match.
func (s *Store) Visits(ctx context.Context, pen string, from, to time.Time, limit int) ([]StoredVisit, error) {
	visits, err := s.visits(ctx, pen, from, to, limit)
	if err != nil {
		return nil, fmt.Errorf("visits of pen %q: %w", pen, err)
	}
	return visits, nil
}

func (s *Store) visits(ctx context.Context, pen string, from, to time.Time, limit int) ([]StoredVisit, error) {
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return []StoredVisit{}, nil // [from, to) is empty, whatever overlaps its one edge
	}
	var q strings.Builder
	q.WriteString(`SELECT id, pipeline, pen, track, start_ns, end_ns, weight_kg, area_m2, frames,
		good_frames, time_ns, box_x, box_y, box_w, box_h, path
		FROM visits WHERE pen = ?`)
	args := []any{pen}
	if !to.IsZero() {
		n, err := nanos(to)
		if err != nil {
			return nil, fmt.Errorf("to: %w", err)
		}
		q.WriteString(` AND start_ns < ?`)
		args = append(args, n)
	}
	if !from.IsZero() {
		n, err := nanos(from)
		if err != nil {
			return nil, fmt.Errorf("from: %w", err)
		}
		q.WriteString(` AND end_ns >= ?`)
		args = append(args, n)
	}
	q.WriteString(` ORDER BY start_ns, id`)
	if limit > 0 {
		q.WriteString(` LIMIT ?`)
		args = append(args, limit)
	}

	rows, err := s.reader.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	visits := []StoredVisit{}
	for rows.Next() {
		var (
			v          StoredVisit
			start, end int64
			weightKg   sql.NullFloat64
			at         sql.NullInt64
			path       sql.NullString
		)
		if err := rows.Scan(&v.ID, &v.Pipeline, &v.Pen, &v.Track, &start, &end, &weightKg,
			&v.AreaM2, &v.Frames, &v.GoodFrames, &at,
			&v.Box.X, &v.Box.Y, &v.Box.W, &v.Box.H, &path); err != nil {
			return nil, err
		}
		if path.Valid {
			if err := json.Unmarshal([]byte(path.String), &v.Path); err != nil {
				return nil, fmt.Errorf("visit %d: path: %w", v.ID, err)
			}
		}
		v.Start = fromNanos(sql.NullInt64{Int64: start, Valid: true})
		v.End = fromNanos(sql.NullInt64{Int64: end, Valid: true})
		v.WeightKg = weightKg.Float64
		v.Time = fromNanos(at)
		visits = append(visits, v)
	}
	return visits, rows.Err()
}

// Pens lists, in order, the pens that have a visit or a check-weigh.
func (s *Store) Pens(ctx context.Context) ([]string, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT pen FROM pens ORDER BY pen`)
	if err != nil {
		return nil, fmt.Errorf("pens: %w", err)
	}
	defer rows.Close()
	pens := []string{}
	for rows.Next() {
		var pen string
		if err := rows.Scan(&pen); err != nil {
			return nil, fmt.Errorf("pens: %w", err)
		}
		pens = append(pens, pen)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pens: %w", err)
	}
	return pens, nil
}
