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

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one embedded schema step.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the embedded migrations in order. Their versions must be
// 1, 2, 3, ... without gaps: a gap would mean a lost file.
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
			return nil, fmt.Errorf("sqlite: migration file %q is not named NNNN_name.sql", name)
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
			return nil, fmt.Errorf("sqlite: migration %s: want version %d", m.name, i+1)
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

// Migrate applies the pending migrations to the database at path (creating
// it if needed) and returns the versions it applied, for "hepd migrate".
// Open migrates too; this is for upgrading without serving.
func Migrate(ctx context.Context, path string) (applied []int, err error) {
	if path == "" {
		return nil, fmt.Errorf("sqlite: empty database path")
	}
	if err := createPrivate(path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("sqlite: creating %s: %w", path, err)
	}
	db, err := openDB(ctx, path, false, 1)
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	defer func() {
		if cerr := db.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	return migrate(ctx, db)
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
func migrate(ctx context.Context, db *sql.DB) ([]int, error) {
	ms, err := migrations()
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
