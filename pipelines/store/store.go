package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	// The pure Go SQLite driver, registered as "sqlite".
	_ "modernc.org/sqlite"
)

// ErrNotFound is matched by the errors of lookups that found nothing, such as
// [Store.Calibration] for a pen that was never calibrated.
var ErrNotFound = errors.New("not found")

// busyTimeout is how long a statement waits for another process's lock before SQLITE_BUSY.
// In-process writers never wait on it: they queue for the one write connection.
const busyTimeout = 10 * time.Second

// maxReaders bounds the read pool; each SQLite connection keeps its own page cache.
const maxReaders = 8

// Store is the database. Its methods are safe for concurrent use by several goroutines.
type Store struct {
	path string
	// writer has exactly one connection: SQLite allows one writer at a time, and queueing in
	// database/sql is fairer and cheaper than retrying on SQLITE_BUSY.
	writer *sql.DB
	// reader holds query_only connections; in WAL mode they read a snapshot while the writer
	// commits.
	reader *sql.DB
	// now stamps created_at and fitted_at; tests replace it.
	now func() time.Time
}

// Open opens the database file at path, creating it when missing, and brings its schema up to
// date. The errors name the path: a file that is not a SQLite database, one that cannot be
// read or created, or one written by a newer pigweight.
func Open(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path, "NORMAL")
}

// open is Open with the synchronous mode as a parameter, so that the benchmark can show what
// FULL (an fsync per commit, surviving power loss) would cost.
func open(ctx context.Context, path, synchronous string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{path: path, now: time.Now}

	// WAL with synchronous=NORMAL: see the package comment for why a killed process still
	// loses nothing acknowledged. _txlock=immediate makes every transaction take the write lock
	// at BEGIN, so a transaction never fails halfway when another process holds the lock.
	s.writer, err = sql.Open("sqlite", dsn(abs, url.Values{
		"_pragma": {
			fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()),
			"journal_mode(WAL)",
			"synchronous(" + synchronous + ")",
			"foreign_keys(1)",
		},
		"_txlock": {"immediate"},
	}))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s.writer.SetMaxOpenConns(1)
	s.writer.SetMaxIdleConns(1)
	s.writer.SetConnMaxIdleTime(0)
	s.writer.SetConnMaxLifetime(0)

	if err := s.writer.PingContext(ctx); err != nil {
		s.writer.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.writer.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}

	s.reader, err = sql.Open("sqlite", dsn(abs, url.Values{
		"_pragma": {
			fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()),
			"query_only(1)",
		},
	}))
	if err != nil {
		s.writer.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s.reader.SetMaxOpenConns(maxReaders)
	s.reader.SetMaxIdleConns(2)
	if err := s.reader.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

// dsn makes a file: URI of an absolute path, so that a path with '?', '#' or '%' in it stays
// one path (the driver cuts a plain name at its first '?'). SQLite ignores the
// underscore-prefixed keys; the driver reads them.
func dsn(abs string, q url.Values) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	return u.String()
}

// Path is the file the store was opened on, as given to [Open].
func (s *Store) Path() string { return s.path }

// Close closes the database. With WAL the last connection checkpoints the log into the main
// file. Calls in flight fail; the store must not be used afterwards.
func (s *Store) Close() error {
	var errs []error
	if s.reader != nil {
		errs = append(errs, s.reader.Close())
	}
	errs = append(errs, s.writer.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close store %s: %w", s.path, err)
	}
	return nil
}

// inTx runs fn in a write transaction and commits it; fn's error rolls it back.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback() // the error that matters is fn's
		return err
	}
	return tx.Commit()
}
