package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql migrations_reads/*.sql
var migrationFS embed.FS

// The migration folders: one per kind of database file. The main file
// holds everything; the reads file (readsPath) holds the reads chain of
// the audit trail.
const (
	mainMigrations  = "migrations"
	readsMigrations = "migrations_reads"
)

// migration is one embedded schema step.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the embedded migrations of a folder in order. Their
// versions must be 1, 2, 3, ... without gaps: a gap would mean a lost file.
func migrations(dir string) ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("sqlite: migration file %q is not named NNNN_name.sql", name)
		}
		b, err := migrationFS.ReadFile(path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("sqlite: migration %s: want version %d", m.name, i+1)
		}
	}
	return ms, nil
}

// LatestVersion is the schema version this code migrates databases to.
func LatestVersion() int {
	ms, err := migrations(mainMigrations)
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// Migrate applies the pending migrations to the database at path and to
// its reads file (creating them if needed) and returns the versions it
// applied to the main file, for "hepd migrate". Open migrates too; this is
// for upgrading without serving.
func Migrate(ctx context.Context, path string) (applied []int, err error) {
	if path == "" {
		return nil, fmt.Errorf("sqlite: empty database path")
	}
	for _, f := range []struct{ path, dir string }{{path, mainMigrations}, {readsPath(path), readsMigrations}} {
		if err := createPrivate(f.path); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("sqlite: creating %s: %w", f.path, err)
		}
		db, err := openDB(ctx, f.path, false, 1)
		if err != nil {
			return nil, fmt.Errorf("sqlite: opening %s: %w", f.path, err)
		}
		got, err := migrate(ctx, db, f.dir)
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		if f.dir == mainMigrations {
			applied = got
		}
	}
	return applied, nil
}

// SchemaVersion returns the database's current schema version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.r.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v)
	return v, mapErr(err)
}

const createSchemaMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version      INTEGER NOT NULL PRIMARY KEY,
	applied_time TEXT    NOT NULL
) STRICT`

// migrate applies each pending migration in its own transaction on db (a
// writer). applied_time is wall-clock time even under a test clock: it is
// operational metadata, not part of the record. The version is read inside the transaction, under the write lock
// that BEGIN IMMEDIATE takes, so two processes opening the same new file at
// once apply each migration exactly once.
func migrate(ctx context.Context, db *sql.DB, dir string) ([]int, error) {
	ms, err := migrations(dir)
	if err != nil {
		return nil, err
	}
	latest := ms[len(ms)-1].version
	var applied []int
	for {
		done, v, err := migrateStep(ctx, db, ms, latest)
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
func migrateStep(ctx context.Context, db *sql.DB, ms []migration, latest int) (done bool, version int, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, 0, mapErr(err)
	}
	defer func() {
		if err != nil || done {
			_ = tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, createSchemaMigrations); err != nil {
		return false, 0, mapErr(err)
	}
	var cur int
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&cur); err != nil {
		return false, 0, mapErr(err)
	}
	if cur > latest {
		return false, 0, fmt.Errorf("sqlite: database schema version %d is newer than this hepd knows (%d); run a newer hepd", cur, latest)
	}
	if cur == latest {
		return true, 0, nil
	}
	m := ms[cur] // versions are 1..latest without gaps
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, 0, fmt.Errorf("sqlite: migration %s: %w", m.name, mapErr(err))
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_time) VALUES (?, ?)", m.version, ts(time.Now())); err != nil {
		return false, 0, mapErr(err)
	}
	if err := tx.Commit(); err != nil {
		return false, 0, mapErr(err)
	}
	return false, m.version, nil
}
