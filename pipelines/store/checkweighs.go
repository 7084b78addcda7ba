package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/elements/weight"
)

// StoredCheckWeigh is a check-weigh as the store keeps it: its id, pen, when it was entered
// and the visits it was matched to. The reading's own fields are flattened into the same
// JSON object.
type StoredCheckWeigh struct {
	ID  int64  `json:"id"`
	Pen string `json:"pen"`
	weight.CheckWeigh
	// Matched are the ids of the visits the reading was matched to, in the order given to
	// AddCheckWeigh; empty when it matched none.
	Matched []int64 `json:"matched,omitempty"`
	// CreatedAt is when the reading was stored (UTC).
	CreatedAt time.Time `json:"created_at"`
}

// AddCheckWeigh stores a scale reading of pen and the visits it was matched to (none, one
// for a single pig, several for a group), and returns its id. The reading's Time is required;
// a zero WeightKg and an empty WeightsKg are stored as NULL. A matched id that is not a stored
// visit is an error.
func (s *Store) AddCheckWeigh(ctx context.Context, pen string, cw weight.CheckWeigh, matched []int64) (int64, error) {
	id, err := s.addCheckWeigh(ctx, pen, cw, matched)
	if err != nil {
		return 0, fmt.Errorf("add check-weigh of pen %q at %s: %w", pen, cw.Time.Format(time.RFC3339Nano), err)
	}
	return id, nil
}

func (s *Store) addCheckWeigh(ctx context.Context, pen string, cw weight.CheckWeigh, matched []int64) (int64, error) {
	if pen == "" {
		return 0, errors.New("no pen")
	}
	if cw.Time.IsZero() {
		return 0, errors.New("no time")
	}
	at, err := nanos(cw.Time)
	if err != nil {
		return 0, err
	}
	var weights sql.NullString
	if len(cw.WeightsKg) > 0 {
		b, err := json.Marshal(cw.WeightsKg)
		if err != nil {
			return 0, fmt.Errorf("weights: %w", err)
		}
		weights = sql.NullString{String: string(b), Valid: true}
	}
	var box [4]sql.NullFloat64
	if cw.Box != nil {
		for i, f := range [4]float32{cw.Box.X, cw.Box.Y, cw.Box.W, cw.Box.H} {
			box[i] = sql.NullFloat64{Float64: float64(f), Valid: true}
		}
	}
	var id int64
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := addPen(ctx, tx, pen); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO checkweighs
			(pen, time_ns, weight_kg, weights_kg, box_x, box_y, box_w, box_h, created_ns)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			RETURNING id`,
			pen, at, nullFloat(cw.WeightKg), weights, box[0], box[1], box[2], box[3],
			s.now().UnixNano(),
		).Scan(&id); err != nil {
			return err
		}
		for i, visit := range matched {
			if _, err := tx.ExecContext(ctx, `INSERT INTO checkweigh_visits
				(checkweigh_id, seq, visit_id) VALUES (?, ?, ?)`, id, i, visit); err != nil {
				return fmt.Errorf("match visit %d: %w", visit, err)
			}
		}
		return nil
	})
	return id, err
}

// CheckWeighs lists the check-weighs of pen, ordered by their time (then id). The result is
// empty, not nil, when there are none.
func (s *Store) CheckWeighs(ctx context.Context, pen string) ([]StoredCheckWeigh, error) {
	cws, err := s.checkWeighs(ctx, pen)
	if err != nil {
		return nil, fmt.Errorf("check-weighs of pen %q: %w", pen, err)
	}
	return cws, nil
}

func (s *Store) checkWeighs(ctx context.Context, pen string) ([]StoredCheckWeigh, error) {
	// One statement, so that readings and their matches come from the same snapshot: a
	// reading with several matches spans consecutive rows.
	rows, err := s.reader.QueryContext(ctx, `SELECT c.id, c.time_ns, c.weight_kg, c.weights_kg,
		c.box_x, c.box_y, c.box_w, c.box_h, c.created_ns, m.visit_id
		FROM checkweighs c LEFT JOIN checkweigh_visits m ON m.checkweigh_id = c.id
		WHERE c.pen = ?
		ORDER BY c.time_ns, c.id, m.seq`, pen)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cws := []StoredCheckWeigh{}
	for rows.Next() {
		var (
			id, at, created int64
			weightKg        sql.NullFloat64
			weights         sql.NullString
			box             [4]sql.NullFloat64
			visit           sql.NullInt64
		)
		if err := rows.Scan(&id, &at, &weightKg, &weights, &box[0], &box[1], &box[2], &box[3],
			&created, &visit); err != nil {
			return nil, err
		}
		if n := len(cws); n == 0 || cws[n-1].ID != id {
			cw := StoredCheckWeigh{ID: id, Pen: pen}
			cw.Time = fromNanos(sql.NullInt64{Int64: at, Valid: true})
			cw.CreatedAt = fromNanos(sql.NullInt64{Int64: created, Valid: true})
			cw.WeightKg = weightKg.Float64
			if weights.Valid {
				if err := json.Unmarshal([]byte(weights.String), &cw.WeightsKg); err != nil {
					return nil, fmt.Errorf("check-weigh %d: weights: %w", id, err)
				}
			}
			if box[0].Valid {
				cw.Box = &detect.Box{
					X: float32(box[0].Float64), Y: float32(box[1].Float64),
					W: float32(box[2].Float64), H: float32(box[3].Float64),
				}
			}
			cws = append(cws, cw)
		}
		if visit.Valid {
			last := &cws[len(cws)-1]
			last.Matched = append(last.Matched, visit.Int64)
		}
	}
	return cws, rows.Err()
}
