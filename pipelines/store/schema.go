package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are the schema's steps: migrations[i] takes a database from version i to i+1.
// Never edit one that has shipped; append a new one.
//
// Times are INTEGER Unix nanoseconds in UTC (NULL where the Go value is the zero time); a
// visit's path is JSON text (weight.PathPoint's form), read only whole. Ids are AUTOINCREMENT so that an id, once handed out (in a URL, a check-weigh match), is never
// reused after a delete.
var migrations = [][]string{
	// 1: visits, check-weighs, calibrations.
	{
		// pens lists every pen that has a visit or a check-weigh, so that Pens need not scan
		// the visits; the foreign keys keep it complete.
		`CREATE TABLE pens (
			pen TEXT PRIMARY KEY
		)`,
		`CREATE TABLE visits (
			id          INTEGER PRIMARY KEY AUTOINCREMENT,
			pen         TEXT    NOT NULL REFERENCES pens (pen),
			pipeline    TEXT    NOT NULL,
			track       INTEGER NOT NULL,
			start_ns    INTEGER NOT NULL,
			end_ns      INTEGER NOT NULL,
			weight_kg   REAL,
			area_m2     REAL    NOT NULL,
			frames      INTEGER NOT NULL,
			good_frames INTEGER NOT NULL,
			time_ns     INTEGER,
			box_x       REAL    NOT NULL,
			box_y       REAL    NOT NULL,
			box_w       REAL    NOT NULL,
			box_h       REAL    NOT NULL,
			path        TEXT
		)`,
		`CREATE INDEX visits_pen_start ON visits (pen, start_ns)`,
		`CREATE TABLE checkweighs (
			id         INTEGER PRIMARY KEY AUTOINCREMENT,
			pen        TEXT    NOT NULL REFERENCES pens (pen),
			time_ns    INTEGER NOT NULL,
			weight_kg  REAL,
			weights_kg TEXT,
			box_x      REAL,
			box_y      REAL,
			box_w      REAL,
			box_h      REAL,
			created_ns INTEGER NOT NULL
		)`,
		`CREATE INDEX checkweighs_pen_time ON checkweighs (pen, time_ns)`,
		// checkweigh_visits are the visits a check-weigh was matched to, in the caller's order.
		`CREATE TABLE checkweigh_visits (
			checkweigh_id INTEGER NOT NULL REFERENCES checkweighs (id) ON DELETE CASCADE,
			seq           INTEGER NOT NULL,
			visit_id      INTEGER NOT NULL REFERENCES visits (id) ON DELETE CASCADE,
			PRIMARY KEY (checkweigh_id, seq)
		)`,
		`CREATE INDEX checkweigh_visits_visit ON checkweigh_visits (visit_id)`,
		// calibrations is every fit ever saved; a pen's current one is its latest row.
		`CREATE TABLE calibrations (
			id        INTEGER PRIMARY KEY AUTOINCREMENT,
			pen       TEXT    NOT NULL,
			a         REAL    NOT NULL,
			b         REAL    NOT NULL,
			readings  INTEGER NOT NULL,
			residuals TEXT,
			method    TEXT    NOT NULL,
			fitted_ns INTEGER NOT NULL
		)`,
		`CREATE INDEX calibrations_pen ON calibrations (pen, id)`,
	},
}

// migrate applies the migrations the database lacks, all in one transaction: a failure leaves
// the file as it was. The transaction's write lock also keeps two processes opening the same
// new file from both creating the tables.
func (s *Store) migrate(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
			version    INTEGER PRIMARY KEY,
			applied_ns INTEGER NOT NULL
		)`); err != nil {
			return fmt.Errorf("schema_version: %w", err)
		}
		var version int
		if err := tx.QueryRowContext(ctx,
			`SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&version); err != nil {
			return fmt.Errorf("schema version: %w", err)
		}
		if version > len(migrations) {
			return fmt.Errorf("schema version %d is newer than this pigweight knows (%d): "+
				"run the newer pigweight or restore a backup", version, len(migrations))
		}
		for v := version + 1; v <= len(migrations); v++ {
			for _, stmt := range migrations[v-1] {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("migration %d: %w", v, err)
				}
			}
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO schema_version (version, applied_ns) VALUES (?, ?)`,
				v, s.now().UnixNano()); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
		}
		return nil
	})
}
