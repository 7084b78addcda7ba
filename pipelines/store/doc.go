// Package store is pigweight's one database: the visits the weight estimator reports, the
// check-weighs a farmer enters from the scale, and each pen's calibration with its history.
// Everything that must survive a restart lives here, behind one [Store], so that the rest of
// the server never writes SQL and so that PostgreSQL can later stand in for SQLite behind the
// same methods.
//
// # SQLite
//
// [Open] takes the path of one file, pigweight.db in the server's data directory, and opens it
// with the pure Go driver modernc.org/sqlite (no cgo). The database runs in WAL mode with
// synchronous=NORMAL: a commit is written to the WAL file before the call returns, and fsync
// waits for the next checkpoint. A crashed or killed process (kill -9, an OOM kill, a panic)
// therefore loses nothing acknowledged, because the written pages are in the operating system's
// cache and the next Open replays the WAL; only a power cut or kernel crash may lose the last
// commits, and even then the file stays consistent. The crash test proves the first half.
//
// Writes go through one connection, so goroutines queue in Go instead of failing with
// SQLITE_BUSY; reads use a pool of read-only connections and, in WAL mode, never wait for a
// writer. busy_timeout covers the other processes that may open the file (a second server by
// mistake, the sqlite3 shell).
//
// # Schema
//
// The schema is a numbered list of migrations; Open applies the ones the file lacks, in one
// transaction, and records each in schema_version. A file written by a newer pigweight (a
// version past the list) is refused rather than guessed at.
//
// Times are stored as integer Unix nanoseconds (UTC), so they keep their nanoseconds, sort and
// compare as numbers in range queries, and come back in UTC whatever location they were given
// in. The representable range is the years 1678 to 2262; times outside it are refused.
//
// # Portability
//
// The statements use ? placeholders, RETURNING and ON CONFLICT DO NOTHING, which PostgreSQL
// also understands (after a rebind of ? to $n); the migrations' DDL is SQLite's and will need a
// PostgreSQL twin.
package store
