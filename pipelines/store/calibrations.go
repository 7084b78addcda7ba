package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pigweight/pigweight/elements/weight"
)

// FittedCalibration is one calibration of a pen's history and when it was saved.
type FittedCalibration struct {
	ID  int64  `json:"id"`
	Pen string `json:"pen"`
	weight.Calibration
	// FittedAt is when SaveCalibration stored it (UTC).
	FittedAt time.Time `json:"fitted_at"`
}

// SaveCalibration makes c the current calibration of pen, stamped with the time now. The
// previous ones stay in the history ([Store.CalibrationHistory]).
func (s *Store) SaveCalibration(ctx context.Context, pen string, c weight.Calibration) error {
	if err := s.saveCalibration(ctx, pen, c); err != nil {
		return fmt.Errorf("save calibration of pen %q: %w", pen, err)
	}
	return nil
}

func (s *Store) saveCalibration(ctx context.Context, pen string, c weight.Calibration) error {
	if pen == "" {
		return errors.New("no pen")
	}
	var residuals sql.NullString
	if len(c.Residuals) > 0 {
		b, err := json.Marshal(c.Residuals)
		if err != nil {
			return fmt.Errorf("residuals: %w", err)
		}
		residuals = sql.NullString{String: string(b), Valid: true}
	}
	fitted, err := nanos(s.now())
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO calibrations
			(pen, a, b, readings, residuals, method, fitted_ns) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			pen, c.A, c.B, c.Readings, residuals, c.Method, fitted)
		return err
	})
}

// calibrationColumns are what scanCalibration reads, in its order.
const calibrationColumns = `id, pen, a, b, readings, residuals, method, fitted_ns`

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanCalibration(row scanner) (FittedCalibration, error) {
	var (
		c         FittedCalibration
		residuals sql.NullString
		fitted    int64
	)
	if err := row.Scan(&c.ID, &c.Pen, &c.A, &c.B, &c.Readings, &residuals, &c.Method, &fitted); err != nil {
		return FittedCalibration{}, err
	}
	if residuals.Valid {
		if err := json.Unmarshal([]byte(residuals.String), &c.Residuals); err != nil {
			return FittedCalibration{}, fmt.Errorf("calibration %d: residuals: %w", c.ID, err)
		}
	}
	c.FittedAt = fromNanos(sql.NullInt64{Int64: fitted, Valid: true})
	return c, nil
}

// Calibration is the current calibration of pen (the last saved) and when it was saved. The
// error matches [ErrNotFound] when the pen has none.
func (s *Store) Calibration(ctx context.Context, pen string) (weight.Calibration, time.Time, error) {
	c, err := scanCalibration(s.reader.QueryRowContext(ctx, `SELECT `+calibrationColumns+`
		FROM calibrations WHERE pen = ? ORDER BY id DESC LIMIT 1`, pen))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return weight.Calibration{}, time.Time{}, fmt.Errorf("calibration of pen %q: %w", pen, err)
	}
	return c.Calibration, c.FittedAt, nil
}

// Calibrations is the current calibration of every pen that has one, by pen.
func (s *Store) Calibrations(ctx context.Context) (map[string]weight.Calibration, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT `+calibrationColumns+`
		FROM calibrations WHERE id IN (SELECT MAX(id) FROM calibrations GROUP BY pen)`)
	if err != nil {
		return nil, fmt.Errorf("calibrations: %w", err)
	}
	defer rows.Close()
	current := map[string]weight.Calibration{}
	for rows.Next() {
		c, err := scanCalibration(rows)
		if err != nil {
			return nil, fmt.Errorf("calibrations: %w", err)
		}
		current[c.Pen] = c.Calibration
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("calibrations: %w", err)
	}
	return current, nil
}

// CalibrationHistory lists every calibration saved for pen, oldest first; the last is the
// current one. The result is empty, not nil, when there are none.
func (s *Store) CalibrationHistory(ctx context.Context, pen string) ([]FittedCalibration, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT `+calibrationColumns+`
		FROM calibrations WHERE pen = ? ORDER BY id`, pen)
	if err != nil {
		return nil, fmt.Errorf("calibration history of pen %q: %w", pen, err)
	}
	defer rows.Close()
	history := []FittedCalibration{}
	for rows.Next() {
		c, err := scanCalibration(rows)
		if err != nil {
			return nil, fmt.Errorf("calibration history of pen %q: %w", pen, err)
		}
		history = append(history, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("calibration history of pen %q: %w", pen, err)
	}
	return history, nil
}
