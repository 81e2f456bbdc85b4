package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/hep/heptest"
)

// openConformance opens a fresh store for the suites in heptest.
func openConformance(t *testing.T, clock hep.Clock) hep.Store {
	return openTest(t, filepath.Join(t.TempDir(), "hep.db"), WithClock(clock))
}

func TestConformance(t *testing.T) {
	heptest.Run(t, openConformance)
}

func TestProperty(t *testing.T) {
	heptest.RunProperty(t, openConformance)
}

func openTest(t testing.TB, path string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// rawDB opens the file without the store, as an intruder or an operator's
// sqlite3 shell would.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestPragmas(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "hep.db"))
	ctx := t.Context()
	pragma := func(c *sql.Conn, name string) string {
		t.Helper()
		var v string
		if err := c.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v); err != nil {
			t.Fatalf("PRAGMA %s: %v", name, err)
		}
		return v
	}
	want := map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "10000", "temp_store": "2"}
	for _, pool := range []struct {
		name      string
		db        *sql.DB
		conns     int
		queryOnly string
	}{
		{"writer", s.w, 1, "0"},
		{"reader", s.r, readers, "1"},
	} {
		// Hold every connection of the pool at once, so that each one is
		// checked and not the same idle one again.
		var conns []*sql.Conn
		for range pool.conns {
			c, err := pool.db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		for i, c := range conns {
			for name, w := range want {
				if got := pragma(c, name); got != w {
					t.Errorf("%s conn %d: %s = %s, want %s", pool.name, i, name, got, w)
				}
			}
			if got := pragma(c, "query_only"); got != pool.queryOnly {
				t.Errorf("%s conn %d: query_only = %s, want %s", pool.name, i, got, pool.queryOnly)
			}
		}
		for _, c := range conns {
			c.Close()
		}
	}
	if _, err := s.r.ExecContext(ctx, "INSERT INTO secrets (name, value, create_time) VALUES ('x', zeroblob(32), '2030-01-01T00:00:00.000000000Z')"); err == nil {
		t.Errorf("a reader connection accepted a write")
	}
}

func TestMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hep.db")
	latest := LatestVersion()
	if latest < 1 {
		t.Fatalf("LatestVersion = %d", latest)
	}
	applied, err := Migrate(t.Context(), path)
	if want := []int{1}; err != nil || !slices.Equal(applied[:1], want) || len(applied) != latest {
		t.Fatalf("Migrate(new) = %v, %v; want 1..%d", applied, err, latest)
	}
	applied, err = Migrate(t.Context(), path)
	if err != nil || len(applied) != 0 {
		t.Errorf("Migrate(again) = %v, %v; want nothing applied", applied, err)
	}
	for i := range 2 { // opening migrates nothing more, twice
		s, err := Open(t.Context(), path)
		if err != nil {
			t.Fatalf("Open #%d: %v", i+1, err)
		}
		v, err := s.SchemaVersion(t.Context())
		if err != nil || v != latest {
			t.Errorf("SchemaVersion = %d, %v; want %d", v, err, latest)
		}
		var n int
		if err := s.r.QueryRowContext(t.Context(), "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n != latest {
			t.Errorf("schema_migrations has %d rows, %v; want %d", n, err, latest)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hep.db")
	if _, err := Migrate(t.Context(), path); err != nil {
		t.Fatal(err)
	}
	newer := LatestVersion() + 1
	if _, err := rawDB(t, path).Exec("INSERT INTO schema_migrations (version, applied_time) VALUES (?, '2040-01-01T00:00:00.000000000Z')", newer); err != nil {
		t.Fatal(err)
	}
	wantMsg := fmt.Sprintf("schema version %d is newer", newer)
	if s, err := Open(t.Context(), path); err == nil || !strings.Contains(err.Error(), wantMsg) {
		if s != nil {
			s.Close()
		}
		t.Errorf("Open(newer schema) = %v; want an error saying %q", err, wantMsg)
	}
	if _, err := Migrate(t.Context(), path); err == nil || !strings.Contains(err.Error(), wantMsg) {
		t.Errorf("Migrate(newer schema) = %v; want an error saying %q", err, wantMsg)
	}
}

func TestPathEscaping(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?with#odd%20chars")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "hep.db")
	s := openTest(t, path)
	if _, err := s.Secret(t.Context(), "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at %q: %v", path, err)
	}
}

func TestIntegrityCheckAndBackup(t *testing.T) {
	s, _ := auditFixture(t, 3)
	ctx := t.Context()
	c, err := s.CreateAccount(ctx, hep.AccountCreate{Email: "c@clinic.example", DisplayName: "C", Role: hep.RoleClinician}, "h")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreatePatient(ctx, hep.PatientCreate{DisplayName: "P", TimeZone: "UTC"}, c.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Errorf("IntegrityCheck: %v", err)
	}

	dst := filepath.Join(t.TempDir(), "copy.db")
	if err := s.Backup(ctx, dst); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	if err := s.Backup(ctx, dst); err == nil {
		t.Errorf("Backup over an existing file succeeded")
	}
	b := openTest(t, dst)
	if err := b.IntegrityCheck(ctx); err != nil {
		t.Errorf("IntegrityCheck of the copy: %v", err)
	}
	if v, err := hep.VerifyAudit(ctx, b, nil); err != nil || !v.OK() || v.Events != 5 {
		t.Errorf("VerifyAudit of the copy = %+v, %v; want 5 intact events", v, err)
	}
	// The copy is both files: its reads chain came along.
	_, heads, err := b.AuditHeads(ctx)
	if err != nil || len(heads) != 2 || heads[1].Chain != hep.ChainReads || heads[1].Seq != 3 {
		t.Errorf("heads of the copy = %+v, %v; want the 3 events of the reads chain", heads, err)
	}
	if _, _, err := b.AccountCredentials(ctx, c.Email); err != nil {
		t.Errorf("the copy lacks the account: %v", err)
	}
}

func TestFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hep.db")
	s := openTest(t, path)
	if _, err := s.Secret(t.Context(), "k"); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "copy.db")
	if err := s.Backup(t.Context(), dst); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", dst, ReadsPath(path), ReadsPath(path) + "-wal", ReadsPath(dst)} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if got := fi.Mode().Perm(); got&0o077 != 0 {
			t.Errorf("%s has mode %v; want no group or other access", filepath.Base(p), got)
		}
	}
}

func TestBusyIsUnavailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hep.db")
	openTest(t, path)
	holder := rawDB(t, path)
	conn, err := holder.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(context.Background(), "ROLLBACK")

	impatient, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer impatient.Close()
	_, err = impatient.BeginTx(t.Context(), nil)
	if got := hep.ErrorCode(mapErr(err)); got != hep.CodeUnavailable {
		t.Errorf("BEGIN IMMEDIATE on a locked database: %v (mapped %v); want UNAVAILABLE", err, mapErr(err))
	}
}

func TestErrorsCarryNoPII(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "hep.db"))
	in := hep.AccountCreate{Email: "private.person@clinic.example", DisplayName: "Private Person", Role: hep.RoleClinician}
	if _, err := s.CreateAccount(t.Context(), in, "h"); err != nil {
		t.Fatal(err)
	}
	_, err := s.CreateAccount(t.Context(), in, "h")
	if err == nil || strings.Contains(err.Error(), "private") || strings.Contains(err.Error(), "Private") {
		t.Errorf("duplicate CreateAccount error %q; want ALREADY_EXISTS without the email or name", err)
	}
}

func TestPanicRollsBack(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "hep.db"))
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("panic did not propagate")
			}
		}()
		_ = s.tx(t.Context(), func(tx *sql.Tx) error {
			if _, err := tx.Exec("INSERT INTO secrets (name, value, create_time) VALUES ('p', zeroblob(32), '2030-01-01T00:00:00.000000000Z')"); err != nil {
				t.Fatal(err)
			}
			panic("boom")
		})
	}()
	// The writer connection is usable and the insert is gone.
	var n int
	if err := s.w.QueryRowContext(t.Context(), "SELECT count(*) FROM secrets WHERE name = 'p'").Scan(&n); err != nil || n != 0 {
		t.Errorf("after a panicking tx, %d rows, %v; want 0", n, err)
	}
	if _, err := s.Secret(t.Context(), "q"); err != nil {
		t.Errorf("Secret after a panicking tx: %v", err)
	}
}
