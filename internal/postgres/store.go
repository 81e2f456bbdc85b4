package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/telemetry"
)

// Store is a hep.Store backed by one PostgreSQL database, shared with any
// number of other Stores (hepd replicas).
type Store struct {
	pool *pgxpool.Pool
	db   *sql.DB // database/sql over pool (stdlib.OpenDBFromPool)
	// w and r are db under the SQLite store's names: one pool serves
	// writes and reads alike here (the ported code keeps its shape).
	w, r  *sql.DB
	reads *readsLog // the reads chain's group-committing writer (reads.go)
	clock hep.Clock
	log   *slog.Logger
	// stmts are preparedQueries prepared on db (database/sql prepares
	// each on a connection the first time a transaction of that
	// connection uses it); rstmts the readerQueries. Read-only after Open.
	stmts, rstmts map[string]*sql.Stmt
	tel           *telemetry.Telemetry

	closeOnce sync.Once
	closeErr  error
}

var _ hep.Store = (*Store)(nil)

// Option configures Open.
type Option func(*options)

type options struct {
	clock    hep.Clock
	log      *slog.Logger
	tel      *telemetry.Telemetry
	maxConns int32
}

// WithClock sets the time source of every timestamp the store writes and of
// expiry checks. Tests use it to move time; the default is time.Now.
func WithClock(c hep.Clock) Option {
	return func(o *options) { o.clock = c }
}

// WithLogger sets where the store logs migrations and shutdown problems. It
// never logs names, emails, payloads or the database password. The default
// discards.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

// WithMaxConns bounds the store's connection pool (default: the URL's
// pool_max_conns, else 10). Each replica holds up to this many
// connections, plus one while it leads (TryLead).
func WithMaxConns(n int32) Option {
	return func(o *options) { o.maxConns = n }
}

// defaultMaxConns is the pool size when neither the URL nor WithMaxConns
// sets one: enough for a busy replica on a small database server, few
// enough that a handful of replicas stay far below max_connections.
const defaultMaxConns = 10

// connectTimeout bounds each attempt to connect when the URL does not.
const connectTimeout = 10 * time.Second

// poolConfig parses url (errors never repeat the URL: it may hold a
// password).
func poolConfig(url string, maxConns int32) (*pgxpool.Config, error) {
	if url == "" {
		return nil, errors.New("postgres: empty database URL")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parsing the database URL %s: %s", Redact(url), redactErr(err, url))
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	} else if !hasParam(url, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.HealthCheckPeriod = 30 * time.Second
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	// Times are text; the session's zone must never matter, but say UTC
	// so that anything printed by the server (logs, now()) reads alike.
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "hepd"
	}
	return cfg, nil
}

// connect opens a pool on url and checks that the database answers.
func connect(ctx context.Context, url string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := poolConfig(url, maxConns)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connecting to %s: %s", Redact(url), redactErr(err, url))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connecting to %s: %s", Redact(url), redactErr(err, url))
	}
	return pool, nil
}

// Open connects to the database at url (postgres://...), applies any
// pending migrations and returns the store. It refuses a database whose
// schema is newer than this code. Errors name the URL without its
// password.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	o := options{clock: time.Now, log: slog.New(slog.DiscardHandler)}
	for _, f := range opts {
		f(&o)
	}
	pool, err := connect(ctx, url, o.maxConns)
	if err != nil {
		return nil, err
	}
	applied, err := migratePool(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	for _, v := range applied {
		o.log.InfoContext(ctx, "applied database migration", "engine", engine, "version", v)
	}
	db := stdlib.OpenDBFromPool(pool)
	s := &Store{pool: pool, db: db, w: db, r: db, clock: o.clock, log: o.log, tel: o.tel,
		stmts: map[string]*sql.Stmt{}, rstmts: map[string]*sql.Stmt{}}
	fail := func(err error) (*Store, error) {
		for _, st := range s.stmts {
			st.Close()
		}
		for _, st := range s.rstmts {
			st.Close()
		}
		db.Close()
		pool.Close()
		return nil, err
	}
	for _, set := range []struct {
		qs []string
		m  map[string]*sql.Stmt
	}{{preparedQueries, s.stmts}, {readerQueries, s.rstmts}} {
		for _, q := range set.qs {
			if _, ok := set.m[q]; ok {
				continue
			}
			st, err := db.PrepareContext(ctx, q)
			if err != nil {
				return fail(fmt.Errorf("postgres: preparing statements: %w", mapErr(err)))
			}
			set.m[q] = st
		}
	}
	s.reads = newReadsLog(s)
	s.registerMetrics()
	return s, nil
}

// preparedQueries are the hot statements of writes, prepared once at Open
// (files append theirs in init). readerQueries are those of reads. pgx
// also caches every statement it runs per connection, so this mostly
// keeps the SQLite store's shape.
var (
	preparedQueries = []string{lastAuditQuery, insertAuditQuery}
	readerQueries   []string
)

// prepared returns query as a statement of tx: the store's prepared one,
// or, for a query not in preparedQueries, one prepared for tx alone.
func (s *Store) prepared(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if st, ok := s.stmts[query]; ok {
		return tx.StmtContext(ctx, st), nil
	}
	if st, ok := s.rstmts[query]; ok {
		return tx.StmtContext(ctx, st), nil
	}
	return tx.PrepareContext(ctx, query)
}

// Close stops the reads chain's writer (after the rows handed to it) and
// closes the pool. Calling it again returns the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		rerr := s.reads.close()
		for _, st := range s.stmts {
			st.Close()
		}
		for _, st := range s.rstmts {
			st.Close()
		}
		derr := s.db.Close()
		s.pool.Close()
		s.closeErr = errors.Join(rerr, derr)
	})
	return s.closeErr
}

// Ping checks that the database answers (for readiness probes):
// UNAVAILABLE if it does not.
func (s *Store) Ping(ctx context.Context) error {
	return mapErr(s.pool.Ping(ctx))
}

// Pool is the store's connection pool, for benchmarks and tools that
// measure raw SQL on the same database.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// TryLead tries to become the one replica that runs the background job
// name (the day-close adherence evaluation, checkpoints): a session
// advisory lock on a connection taken from the pool for as long as the
// lead is held. ok is false if another session holds it. release gives
// the lead up and returns the connection; it is safe to call twice. The
// lead also ends if the connection dies (a database restart): run each
// round of the job as TryLead, work, release, rather than holding the
// lead for ever. Session advisory locks need a session-pooled connection
// (not pgbouncer's transaction pooling; see docs/operations.md).
func (s *Store) TryLead(ctx context.Context, name string) (release func(), ok bool, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, mapErr(err)
	}
	key := leadKey(name)
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok); err != nil {
		conn.Release()
		return nil, false, mapErr(err)
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var unlocked bool
			if err := conn.QueryRow(ctx, "SELECT pg_advisory_unlock($1)", key).Scan(&unlocked); err != nil || !unlocked {
				// The session is unusable or lost the lock: drop it, which
				// ends the session and any lock it still holds.
				conn.Hijack().Close(ctx)
				return
			}
			conn.Release()
		})
	}, true, nil
}

// leadKey is the advisory lock key of a job name: hep's namespace and the
// name, hashed to 63 bits.
func leadKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("hep.lead/" + name))
	return int64(h.Sum64() >> 1)
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

// errRetry, returned by a transaction's function, rolls the transaction
// back and runs it again (like a serialization failure): for a conflict
// the function itself recognised, such as a concurrent insert of the same
// key that a second look will find.
var errRetry = errors.New("postgres: retry the transaction")

// Retries of one store method: serialization failures, deadlocks,
// errRetry, and connection failures before the commit was sent.
const (
	maxAttempts  = 6
	retryBackoff = 20 * time.Millisecond // doubled per attempt, jittered
	maxBackoff   = 500 * time.Millisecond
)

// backoff sleeps before attempt (1-based, > 1), or returns ctx's error.
func backoff(ctx context.Context, attempt int) error {
	d := retryBackoff << (attempt - 2)
	if d > maxBackoff {
		d = maxBackoff
	}
	d = d/2 + rand.N(d) // jitter: [d/2, 3d/2)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// tx runs fn in one READ COMMITTED transaction. It commits if fn returns
// nil (or a *commitThen) and rolls back on any other error or a panic. A
// serialization failure (40001), a deadlock (40P01), errRetry or a
// connection failure before COMMIT was sent rolls back and runs fn again,
// after a jittered backoff, a few times; so fn must be safe to run again:
// it sets what it returns rather than appending to it. Errors come back
// mapped by mapErr (a connection failure is UNAVAILABLE).
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) (err error) {
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			if berr := backoff(ctx, attempt); berr != nil {
				return mapErr(errors.Join(berr, err))
			}
		}
		var retry bool
		retry, err = s.attempt(ctx, fn)
		if !retry || attempt == maxAttempts {
			if retry && errors.Is(err, errRetry) {
				err = hep.Errorf(hep.CodeUnavailable, "the database is busy; retry")
			}
			return mapErr(err)
		}
	}
}

// attempt runs fn once in a transaction; retry says whether the failure
// may be retried (nothing was committed).
func (s *Store) attempt(ctx context.Context, fn func(*sql.Tx) error) (retry bool, err error) {
	obs := s.tel.BeginTx(ctx, engine, telemetry.Write)
	tx, err := s.db.BeginTx(ctx, nil)
	obs.Acquired()
	if err != nil {
		obs.End(false, mapErr(err))
		return retryable(err) && ctx.Err() == nil, err
	}
	forget := track(tx, obs)
	committed := false
	done := false
	defer func() {
		if !done {
			// A panic in fn: leave nothing half-written, then let the
			// panic continue.
			_ = tx.Rollback()
			err = errPanicked
		}
		forget()
		obs.End(committed, mapErr(err))
	}()
	ferr := fn(tx)
	done = true
	var keep *commitThen
	if ferr != nil && !errors.As(ferr, &keep) {
		_ = tx.Rollback()
		return retryable(ferr) && ctx.Err() == nil, ferr
	}
	if err := tx.Commit(); err != nil {
		// A serialization failure or deadlock reported at COMMIT (a
		// deferred constraint's check) rolled back: safe to retry. A
		// connection lost during COMMIT may or may not have committed:
		// UNAVAILABLE, and the client's retry is idempotent.
		return isSerialization(err) && ctx.Err() == nil, err
	}
	committed = true
	if keep != nil {
		return false, keep.err
	}
	return false, nil
}

// read runs fn in one read-only REPEATABLE READ transaction: every
// statement of fn sees the same snapshot (the SQLite store's reader
// transaction). A read never waits for writers and is retried on a lost
// connection like tx.
func (s *Store) read(ctx context.Context, fn func(*sql.Tx) error) (err error) {
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			if berr := backoff(ctx, attempt); berr != nil {
				return mapErr(errors.Join(berr, err))
			}
		}
		var retry bool
		retry, err = s.readOnce(ctx, fn)
		if !retry || attempt == maxAttempts {
			return mapErr(err)
		}
	}
}

func (s *Store) readOnce(ctx context.Context, fn func(*sql.Tx) error) (retry bool, err error) {
	obs := s.tel.BeginTx(ctx, engine, telemetry.Read)
	defer func() { obs.End(err == nil, mapErr(err)) }()
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	obs.Acquired()
	if err != nil {
		return retryable(err) && ctx.Err() == nil, err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return retryable(err) && ctx.Err() == nil, err
	}
	err = tx.Commit()
	return retryable(err) && ctx.Err() == nil, err
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

// querier is what *sql.DB and *sql.Tx have in common, so lookups can run
// inside a transaction or on the pool.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

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

// b2i stores a bool in the 0/1 BIGINT columns the schema keeps from the
// SQLite one (scanning them into a bool works as it is).
func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// limit turns a page size into a SQL LIMIT argument: non-positive means
// no limit (NULL, which PostgreSQL reads as LIMIT ALL; the transport
// always sets one).
func limit(n int) any {
	if n <= 0 {
		return nil
	}
	return n
}
