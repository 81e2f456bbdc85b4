package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one embedded schema step.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the embedded migrations in order. Their versions must
// be 1, 2, 3, ... without gaps: a gap would mean a lost file. PostgreSQL's
// versions are its own; they do not follow the SQLite store's.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("postgres: migration file %q is not named NNNN_name.sql", name)
		}
		b, err := migrationFS.ReadFile(path.Join("migrations", name))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("postgres: migration %s: want version %d", m.name, i+1)
		}
	}
	return ms, nil
}

// LatestVersion is the schema version this code migrates databases to.
func LatestVersion() int {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// Migrate applies the pending migrations to the database at url and
// returns the versions it applied, for "hepd migrate". Open migrates too;
// this is for upgrading without serving.
func Migrate(ctx context.Context, url string) (applied []int, err error) {
	pool, err := connect(ctx, url, 2)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	return migratePool(ctx, pool)
}

// SchemaVersionOf returns the schema version of the database at url
// without migrating it (0 for a database hep never migrated).
func SchemaVersionOf(ctx context.Context, url string) (int, error) {
	pool, err := connect(ctx, url, 1)
	if err != nil {
		return 0, err
	}
	defer pool.Close()
	return schemaVersion(ctx, pool)
}

// SchemaVersion returns the database's current schema version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	return schemaVersion(ctx, s.pool)
}

func schemaVersion(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass('schema_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return 0, mapErr(err)
	}
	if !exists {
		return 0, nil
	}
	var v int
	err := pool.QueryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v)
	return v, mapErr(err)
}

const createSchemaMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version      BIGINT NOT NULL PRIMARY KEY,
	applied_time TEXT   COLLATE "C" NOT NULL
)`

// migrateLockKey is the advisory lock that serializes migrations: several
// replicas starting at once on a new database apply each step once.
const migrateLockKey = int64(0x6865_7000_0000_0001) // "hep" 1

// migratePool applies each pending migration in its own transaction, under
// a transaction-scoped advisory lock taken before the version is read, so
// concurrent migrators wait for each other and apply each step exactly
// once. applied_time is wall-clock time even under a test clock: it is
// operational metadata, not part of the record.
func migratePool(ctx context.Context, pool *pgxpool.Pool) ([]int, error) {
	ms, err := migrations()
	if err != nil {
		return nil, err
	}
	latest := ms[len(ms)-1].version
	var applied []int
	for {
		done, v, err := migrateStep(ctx, pool, ms, latest)
		if err != nil {
			return applied, err
		}
		if done {
			return applied, nil
		}
		applied = append(applied, v)
	}
}

// migrateStep applies the next pending migration, if any.
func migrateStep(ctx context.Context, pool *pgxpool.Pool, ms []migration, latest int) (done bool, version int, err error) {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return false, 0, mapErr(err)
	}
	defer func() {
		if err != nil || done {
			_ = tx.Rollback(context.Background())
		}
	}()
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLockKey); err != nil {
		return false, 0, mapErr(err)
	}
	if _, err := tx.Exec(ctx, createSchemaMigrations); err != nil {
		return false, 0, mapErr(err)
	}
	var cur int
	if err := tx.QueryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&cur); err != nil {
		return false, 0, mapErr(err)
	}
	if cur > latest {
		return false, 0, fmt.Errorf("postgres: database schema version %d is newer than this hepd knows (%d); run a newer hepd", cur, latest)
	}
	if cur == latest {
		return true, 0, nil
	}
	m := ms[cur] // versions are 1..latest without gaps
	// The simple protocol runs a file of several statements as one.
	if _, err := tx.Exec(ctx, m.sql, pgx.QueryExecModeSimpleProtocol); err != nil {
		return false, 0, fmt.Errorf("postgres: migration %s: %w", m.name, mapErr(err))
	}
	if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, applied_time) VALUES ($1, $2)", m.version, ts(time.Now())); err != nil {
		return false, 0, mapErr(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, 0, mapErr(err)
	}
	return false, m.version, nil
}

var _ = errors.New
