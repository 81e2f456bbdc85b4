package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/telemetry"
)

// Store is a hep.Store backed by one SQLite database file.
type Store struct {
	path  string
	w     *sql.DB   // the one writer connection
	r     *sql.DB   // query_only readers
	reads *readsLog // the reads chain of the audit trail, in its own file
	clock hep.Clock
	log   *slog.Logger
	// stmts are the hot statements of sync, prepared once on the writer
	// connection (see prepared); read-only after Open.
	stmts map[string]*sql.Stmt
	// rstmts are the hot statements of reads (a pull's), prepared on the
	// reader pool.
	rstmts map[string]*sql.Stmt
	tel    *telemetry.Telemetry // metrics and spans of transactions (telemetry.go)

	closeOnce sync.Once
	closeErr  error
}

var _ hep.Store = (*Store)(nil)

// readers is the size of the reader pool. Lookups are point queries on
// indexes, so a few connections go a long way; more would only hold memory.
const readers = 4

// Option configures Open.
type Option func(*options)

type options struct {
	clock hep.Clock
	log   *slog.Logger
	tel   *telemetry.Telemetry
}

// WithClock sets the time source of every timestamp the store writes and of
// expiry checks. Tests use it to move time; the default is time.Now.
func WithClock(c hep.Clock) Option {
	return func(o *options) { o.clock = c }
}

// WithLogger sets where the store logs migrations and shutdown problems. It
// never logs names, emails or other payloads. The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

// dsn is the driver name for the database file at path. The pragmas are in
// the DSN because they are per connection: database/sql may open a new
// connection at any time and it must be configured like the others.
func dsn(path string, readOnly bool) string {
	// The path becomes the path of a file: URI; escaping keeps '?', '#' and
	// '%' in a file name from being read as URI syntax. SQLite decodes %XX.
	p := (&url.URL{Path: path}).EscapedPath()
	q := []string{
		"_pragma=busy_timeout(10000)",
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(FULL)",
		"_pragma=foreign_keys(1)",
		// Statement journals (a multi-row insert's, say) in memory rather
		// than in temporary files: they only ever undo one statement of a
		// transaction, and the WAL alone makes a commit durable.
		"_pragma=temp_store(MEMORY)",
	}
	if readOnly {
		// query_only makes a reader refuse writes, so an audited write can
		// never slip onto a reader and escape the single-writer ordering.
		q = append(q, "_pragma=query_only(1)")
	} else {
		q = append(q, "_txlock=immediate")
	}
	return "file:" + p + "?" + strings.Join(q, "&")
}

// DSN is the driver name (for database/sql's "sqlite" driver) of the
// writer connection to the database file at path, with the same pragmas
// the store uses. Benchmarks use it to measure raw SQL on the same setup.
func DSN(path string) string { return dsn(path, false) }

// openDB opens one pool.
func openDB(ctx context.Context, path string, readOnly bool, conns int) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn(path, readOnly))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	// Connections are cheap to keep and each open re-runs the pragmas: keep
	// them for the life of the store.
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// openWriter creates the file at path (private) if missing, opens its one
// writer connection and applies the pending migrations of the folder set, logging
// each. The writer opens first: it creates the file and switches it to WAL
// (a persistent setting) before any reader looks at it.
func openWriter(ctx context.Context, path, set string, log *slog.Logger) (*sql.DB, error) {
	if err := createPrivate(path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("sqlite: creating %s: %w", path, err)
	}
	w, err := openDB(ctx, path, false, 1)
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	applied, err := migrate(ctx, w, set)
	if err != nil {
		w.Close()
		return nil, err
	}
	for _, v := range applied {
		log.InfoContext(ctx, "applied database migration", "file", filepath.Base(path), "version", v)
	}
	return w, nil
}

// Open opens (creating if needed) the database at path, applies any pending
// migrations and returns the store. It refuses a database whose schema is
// newer than this code.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := options{clock: time.Now, log: slog.New(slog.DiscardHandler)}
	for _, f := range opts {
		f(&o)
	}
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	w, err := openWriter(ctx, path, mainMigrations, o.log)
	if err != nil {
		return nil, err
	}
	stmts := map[string]*sql.Stmt{}
	for _, q := range preparedQueries {
		st, err := w.PrepareContext(ctx, q)
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("sqlite: preparing statements: %w", err)
		}
		stmts[q] = st
	}
	r, err := openDB(ctx, path, true, readers)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: opening readers of %s: %w", path, err)
	}
	rstmts := map[string]*sql.Stmt{}
	for _, q := range readerQueries {
		st, err := r.PrepareContext(ctx, q)
		if err != nil {
			r.Close()
			w.Close()
			return nil, fmt.Errorf("sqlite: preparing statements: %w", err)
		}
		rstmts[q] = st
	}
	s := &Store{path: path, w: w, r: r, clock: o.clock, log: o.log, stmts: stmts, rstmts: rstmts, tel: o.tel}
	if s.reads, err = openReads(ctx, path, s.now, o.log); err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	s.registerMetrics()
	return s, nil
}

// preparedQueries are run many times per transaction (a push of 500 logs
// runs each of them hundreds of times). Parsing and planning an INSERT
// with its CHECKs, foreign keys and triggers costs more than running it,
// so these are prepared once, at Open, on the writer connection.
var preparedQueries = []string{
	bumpQuery, upsertEntryQuery, entryQuery, insertLogQuery, insertCheckinQuery, logByIDQuery, checkinByIDQuery,
	recordQuery(hep.KindLog), recordQuery(hep.KindCheckin), insertResultQuery, insertLogNewQuery, changeSeqQuery, setChangeSeqQuery, pageLogsQuery,
	suspendedQuery, lastAuditQuery, insertAuditQuery,
	endQuery(hep.KindLog, false), endQuery(hep.KindLog, true), endQuery(hep.KindCheckin, false), endQuery(hep.KindCheckin, true),
}

// readerQueries are the hot statements of reads, prepared on the readers.
var readerQueries = []string{pageLogsQuery, logByIDQuery, checkinByIDQuery}

// prepared returns query as a statement of tx: the store's prepared one
// (database/sql reuses it on the writer connection), or, for a query not
// in preparedQueries, one prepared for tx alone.
func (s *Store) prepared(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if st, ok := s.stmts[query]; ok {
		return tx.StmtContext(ctx, st), nil
	}
	return tx.PrepareContext(ctx, query)
}

// Close checkpoints the WAL into the database file and closes the store.
// Calling it again returns the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		aerr := s.reads.close()
		for _, st := range s.rstmts {
			st.Close()
		}
		rerr := s.r.Close()
		for _, st := range s.stmts {
			st.Close()
		}
		// Best effort: leaves a single self-contained file behind (handy
		// for copies) and gives the planner fresh statistics. Failure is
		// harmless; the WAL is replayed at the next open.
		if _, err := s.w.ExecContext(ctx, "PRAGMA optimize"); err != nil {
			s.log.Warn("sqlite optimize on close failed", "err", err.Error())
		}
		if _, err := s.w.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			s.log.Warn("sqlite checkpoint on close failed", "err", err.Error())
		}
		werr := s.w.Close()
		s.closeErr = errors.Join(aerr, rerr, werr)
	})
	return s.closeErr
}

// now is the store's time, in UTC and without a monotonic reading, so that
// what is returned equals what is stored.
func (s *Store) now() time.Time { return s.clock().UTC().Round(0) }

// commitThen makes tx commit and still return err: the one case is a
// refresh-token reuse, whose session revocation must stick although the
// call fails.
type commitThen struct{ err error }

func (c *commitThen) Error() string { return c.err.Error() }
func (c *commitThen) Unwrap() error { return c.err }

// tx runs fn in one write transaction on the writer connection. It commits
// if fn returns nil (or a *commitThen) and rolls back on any other error or
// a panic. Errors come back mapped by mapErr.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) (err error) {
	// Telemetry: the wait for the one writer, then the transaction.
	obs := s.tel.BeginTx(ctx, engine, telemetry.Write)
	tx, err := s.w.BeginTx(ctx, nil)
	obs.Acquired()
	if err != nil {
		obs.End(false, err)
		return mapErr(err)
	}
	forget := track(tx, obs)
	committed := false
	done := false
	defer func() {
		if !done {
			// A panic in fn: leave nothing half-written on the one writer
			// connection, then let the panic continue.
			_ = tx.Rollback()
			err = errPanicked
		}
		forget()
		obs.End(committed, err)
	}()
	ferr := fn(tx)
	done = true
	var keep *commitThen
	if ferr != nil && !errors.As(ferr, &keep) {
		_ = tx.Rollback()
		return mapErr(ferr)
	}
	if err := tx.Commit(); err != nil {
		return mapErr(err)
	}
	committed = true
	if keep != nil {
		return mapErr(keep.err)
	}
	return nil
}

// IntegrityCheck runs SQLite's integrity and foreign-key checks and returns
// an error describing the first problems found, or nil.
func (s *Store) IntegrityCheck(ctx context.Context) error {
	var problems []string
	rows, err := s.r.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return mapErr(err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return mapErr(err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := closeRows(rows); err != nil {
		return err
	}
	rows, err = s.r.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return mapErr(err)
	}
	for rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fkid int64
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			rows.Close()
			return mapErr(err)
		}
		problems = append(problems, fmt.Sprintf("foreign key violation: %s row %d references missing %s", table, rowid.Int64, parent))
	}
	if err := closeRows(rows); err != nil {
		return err
	}
	if len(problems) > 0 {
		if len(problems) > 10 {
			problems = append(problems[:10], "...")
		}
		return fmt.Errorf("sqlite: integrity check failed: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Backup writes a consistent, compacted copy of the database to dstPath,
// and of its reads file to ReadsPath(dstPath); neither may exist. Writers
// carry on meanwhile: VACUUM INTO reads one snapshot and takes no write
// lock. It runs on connections of its own because query_only readers
// refuse it and the writers must stay free. The two files are two
// snapshots: the reads chain may hold a few rows more than were read from
// the main file's copy, never fewer.
func (s *Store) Backup(ctx context.Context, dstPath string) error {
	if dstPath == "" {
		return errors.New("sqlite: empty backup path")
	}
	if err := s.r.PingContext(ctx); err != nil { // closed?
		return mapErr(err)
	}
	dsts := []string{dstPath, readsPath(dstPath)}
	for _, d := range dsts {
		if _, err := os.Stat(d); err == nil {
			return fmt.Errorf("sqlite: backup: %s exists", d)
		}
	}
	err := func() error {
		for i, src := range []string{s.path, readsPath(s.path)} {
			// VACUUM INTO accepts an empty file: creating it first,
			// exclusively, refuses to overwrite and keeps the copy private.
			if err := createPrivate(dsts[i]); err != nil {
				return err
			}
			db, err := openDB(ctx, src, false, 1)
			if err != nil {
				return err
			}
			_, err = db.ExecContext(ctx, "VACUUM INTO ?", dsts[i])
			db.Close()
			if err != nil {
				return mapErr(err)
			}
		}
		return nil
	}()
	if err != nil {
		for _, d := range dsts {
			os.Remove(d)
		}
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	return nil
}

// createPrivate creates an empty file at path readable by its owner only:
// the database holds health data. SQLite gives the -wal and -shm files the
// database file's permissions. fs.ErrExist if path exists.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

// closeRows closes rows and reports the iteration error, if any.
func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return mapErr(err)
}

// scanner is a row to scan: *sql.Row or *sql.Rows.
type scanner = interface{ Scan(...any) error }

// queryAll runs a query and scans every row with scan.
func queryAll[T any](ctx context.Context, q querier, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var out []T
	for rows.Next() {
		x, err := scan(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, x)
	}
	return out, closeRows(rows)
}
