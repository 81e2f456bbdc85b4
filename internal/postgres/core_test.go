package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/pgtest"
)

// adminCtx is a context with an admin actor, for fixture calls.
func adminCtx(t testing.TB) context.Context {
	return hep.WithActor(t.Context(), hep.Actor{ID: "local:test", Role: hep.RoleAdmin, Action: "test.fixture", RequestID: "r", Peer: "local"})
}

// rawExec runs one statement on url outside any store.
func rawExec(t testing.TB, url, query string, args ...any) error {
	t.Helper()
	c, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	_, err = c.Exec(t.Context(), query, args...)
	return err
}

func TestMigrations(t *testing.T) {
	url := pgtest.NewDatabase(t, "") // empty: nothing migrated yet
	ctx := t.Context()
	latest := LatestVersion()
	if latest < 1 {
		t.Fatalf("LatestVersion = %d", latest)
	}
	if v, err := SchemaVersionOf(ctx, url); err != nil || v != 0 {
		t.Errorf("SchemaVersionOf(empty) = %d, %v; want 0", v, err)
	}
	applied, err := Migrate(ctx, url)
	if err != nil || len(applied) != latest || applied[0] != 1 {
		t.Fatalf("Migrate(new) = %v, %v; want 1..%d", applied, err, latest)
	}
	applied, err = Migrate(ctx, url)
	if err != nil || len(applied) != 0 {
		t.Errorf("Migrate(again) = %v, %v; want nothing applied", applied, err)
	}
	for i := range 2 { // opening migrates nothing more, twice
		s, err := Open(ctx, url)
		if err != nil {
			t.Fatalf("Open #%d: %v", i+1, err)
		}
		if v, err := s.SchemaVersion(ctx); err != nil || v != latest {
			t.Errorf("SchemaVersion = %d, %v; want %d", v, err, latest)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := SchemaVersionOf(ctx, url); err != nil || v != latest {
		t.Errorf("SchemaVersionOf = %d, %v; want %d", v, err, latest)
	}
}

// TestMigrateConcurrently starts several replicas on a new database at
// once: each migration is applied exactly once.
func TestMigrateConcurrently(t *testing.T) {
	url := pgtest.NewDatabase(t, "")
	const replicas = 4
	var wg sync.WaitGroup
	applied := make([][]int, replicas)
	errs := make([]error, replicas)
	for i := range replicas {
		wg.Go(func() { applied[i], errs[i] = Migrate(t.Context(), url) })
	}
	wg.Wait()
	var all []int
	for i := range replicas {
		if errs[i] != nil {
			t.Fatalf("Migrate #%d: %v", i, errs[i])
		}
		all = append(all, applied[i]...)
	}
	slices.Sort(all)
	want := make([]int, LatestVersion())
	for i := range want {
		want[i] = i + 1
	}
	if !slices.Equal(all, want) {
		t.Errorf("migrations applied over %d concurrent Migrates: %v; want each of %v once", replicas, all, want)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	url := newURL(t)
	newer := LatestVersion() + 1
	if err := rawExec(t, url, "INSERT INTO schema_migrations (version, applied_time) VALUES ($1, '2040-01-01T00:00:00.000000000Z')", newer); err != nil {
		t.Fatal(err)
	}
	wantMsg := fmt.Sprintf("schema version %d is newer", newer)
	if s, err := Open(t.Context(), url); err == nil || !strings.Contains(err.Error(), wantMsg) {
		if s != nil {
			s.Close()
		}
		t.Errorf("Open(newer schema) = %v; want an error saying %q", err, wantMsg)
	}
	if _, err := Migrate(t.Context(), url); err == nil || !strings.Contains(err.Error(), wantMsg) {
		t.Errorf("Migrate(newer schema) = %v; want an error saying %q", err, wantMsg)
	}
}

// TestBadURLs: a wrong password, an unreachable server and a malformed
// URL fail Open at once with one line that never holds the password.
func TestBadURLs(t *testing.T) {
	good := newURL(t)
	u, _ := url.Parse(good)
	realPW, _ := u.User.Password()
	const secret = "s3cret-Pa55word"
	wrongPW := *u
	wrongPW.User = url.UserPassword(u.User.Username(), secret)
	noServer := wrongPW
	noServer.Host = "127.0.0.1:1"
	for _, c := range []struct{ name, url string }{
		{"WrongPassword", wrongPW.String()},
		{"NoServer", noServer.String()},
		{"Malformed", "postgres://user:" + secret + "@[::1:5432/db"},
		{"PasswordParameter", "postgres://127.0.0.1:1/db?password=" + secret},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			s, err := Open(ctx, c.url)
			if err == nil {
				s.Close()
				t.Fatalf("Open succeeded")
			}
			msg := err.Error()
			if strings.Contains(msg, secret) || strings.Contains(msg, realPW) || strings.Contains(msg, "\n") {
				t.Errorf("Open error %q holds a password or several lines", msg)
			}
			t.Logf("%s", msg)
		})
	}
	if r := Redact(good); strings.Contains(r, realPW) || !strings.Contains(r, "xxxxx") {
		t.Errorf("Redact(url) = %q", r)
	}
}

func TestErrorsCarryNoPII(t *testing.T) {
	s := openTest(t, newURL(t))
	in := hep.AccountCreate{Email: "private.person@clinic.example", DisplayName: "Private Person", Role: hep.RoleClinician}
	if _, err := s.CreateAccount(adminCtx(t), in, "h"); err != nil {
		t.Fatal(err)
	}
	_, err := s.CreateAccount(adminCtx(t), in, "h")
	if hep.ErrorCode(err) != hep.CodeAlreadyExists || strings.Contains(err.Error(), "private") || strings.Contains(err.Error(), "Private") {
		t.Errorf("duplicate CreateAccount error %q; want ALREADY_EXISTS without the email or name", err)
	}
	// A raw unique violation (Detail holds the key) maps without the value.
	err = s.tx(t.Context(), func(tx *sql.Tx) error {
		_, err := tx.ExecContext(t.Context(), "INSERT INTO accounts (id, email, display_name, role, password_hash, create_time, update_time) SELECT $1, email, display_name, role, password_hash, create_time, update_time FROM accounts", strings.Repeat("a", 36))
		return err
	})
	if err == nil || strings.Contains(err.Error(), "private") {
		t.Errorf("raw duplicate insert error %q; want an error without the email", err)
	}
}

func TestPanicRollsBack(t *testing.T) {
	s := openTest(t, newURL(t))
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("panic did not propagate")
			}
		}()
		_ = s.tx(t.Context(), func(tx *sql.Tx) error {
			if _, err := tx.Exec("INSERT INTO secrets (name, value, create_time) VALUES ('p', decode(repeat('00', 32), 'hex'), '2030-01-01T00:00:00.000000000Z')"); err != nil {
				t.Fatal(err)
			}
			panic("boom")
		})
	}()
	var n int
	if err := s.db.QueryRowContext(t.Context(), "SELECT count(*) FROM secrets WHERE name = 'p'").Scan(&n); err != nil || n != 0 {
		t.Errorf("after a panicking tx, %d rows, %v; want 0", n, err)
	}
	if _, err := s.Secret(t.Context(), "q"); err != nil {
		t.Errorf("Secret after a panicking tx: %v", err)
	}
}

// TestRetries: serialization failures, deadlocks and errRetry run the
// function again; spent retries are UNAVAILABLE, never an internal error.
func TestRetries(t *testing.T) {
	s := openTest(t, newURL(t))
	for _, code := range []string{"40001", "40P01"} {
		calls := 0
		err := s.tx(t.Context(), func(tx *sql.Tx) error {
			calls++
			if calls < 3 {
				return &pgconn.PgError{Code: code, Message: "injected"}
			}
			return nil
		})
		if err != nil || calls != 3 {
			t.Errorf("%s twice, then success: %v after %d calls; want nil after 3", code, err, calls)
		}
	}
	calls := 0
	err := s.tx(t.Context(), func(tx *sql.Tx) error {
		calls++
		return errRetry
	})
	if hep.ErrorCode(err) != hep.CodeUnavailable || calls != maxAttempts {
		t.Errorf("always errRetry: %v after %d calls; want UNAVAILABLE after %d", err, calls, maxAttempts)
	}
	calls = 0
	err = s.tx(t.Context(), func(tx *sql.Tx) error {
		calls++
		return &pgconn.PgError{Code: "40001", Message: "injected"}
	})
	if hep.ErrorCode(err) != hep.CodeUnavailable {
		t.Errorf("always 40001: %v; want UNAVAILABLE", err)
	}
}

// TestDeadlockRetried makes a real deadlock: two transactions lock two
// patients in opposite orders. PostgreSQL aborts one (40P01); tx runs it
// again and both succeed.
func TestDeadlockRetried(t *testing.T) {
	s := openTest(t, newURL(t))
	ctx := adminCtx(t)
	c, err := s.CreateAccount(ctx, hep.AccountCreate{Email: "c@clinic.example", DisplayName: "C", Role: hep.RoleClinician}, "h")
	if err != nil {
		t.Fatal(err)
	}
	var ps [2]string
	for i := range ps {
		p, err := s.CreatePatient(ctx, hep.PatientCreate{DisplayName: "P", TimeZone: "UTC"}, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		ps[i] = p.ID
	}
	var first sync.WaitGroup
	first.Add(2)
	var attempts atomic.Int32
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for w := range 2 {
		wg.Go(func() {
			once := false
			errs[w] = s.tx(ctx, func(tx *sql.Tx) error {
				attempts.Add(1)
				if err := lockPatient(ctx, tx, ps[w]); err != nil {
					return err
				}
				if !once {
					once = true
					first.Done()
					first.Wait() // both hold their first lock
				}
				return lockPatient(ctx, tx, ps[1-w])
			})
		})
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Errorf("deadlocked transactions: %v, %v; want both to succeed after a retry", errs[0], errs[1])
	}
	if n := attempts.Load(); n < 3 {
		t.Errorf("%d attempts; want a retry (at least 3)", n)
	}
}

// TestUnavailable stops the database under an open store: calls fail
// UNAVAILABLE (nothing half-written), and once it is back the same store
// works again without a restart.
func TestUnavailable(t *testing.T) {
	url := newURL(t)
	s := openTest(t, url)
	ctx := adminCtx(t)
	if _, err := s.CreateAccount(ctx, hep.AccountCreate{Email: "a@clinic.example", DisplayName: "A", Role: hep.RoleClinician}, "h"); err != nil {
		t.Fatal(err)
	}
	srv := pgtest.Get(t)
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	defer func() {
		if !restarted {
			if err := srv.Start(); err != nil {
				t.Fatal(err)
			}
		}
	}()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := s.CreateAccount(cctx, hep.AccountCreate{Email: "b@clinic.example", DisplayName: "B", Role: hep.RoleClinician}, "h"); hep.ErrorCode(err) != hep.CodeUnavailable {
		t.Errorf("CreateAccount with the database down: %v; want UNAVAILABLE", err)
	}
	if _, err := s.ListAccounts(cctx, hep.AccountFilter{Limit: 10}); hep.ErrorCode(err) != hep.CodeUnavailable {
		t.Errorf("ListAccounts with the database down: %v; want UNAVAILABLE", err)
	}
	if _, _, err := s.AccountCredentials(cctx, "a@clinic.example"); hep.ErrorCode(err) != hep.CodeUnavailable {
		t.Errorf("AccountCredentials with the database down: %v; want UNAVAILABLE", err)
	}
	if err := s.Ping(cctx); hep.ErrorCode(err) != hep.CodeUnavailable {
		t.Errorf("Ping with the database down: %v; want UNAVAILABLE", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	if _, err := s.CreateAccount(ctx, hep.AccountCreate{Email: "b@clinic.example", DisplayName: "B", Role: hep.RoleClinician}, "h"); err != nil {
		t.Errorf("CreateAccount after the restart: %v", err)
	}
	got, err := s.ListAccounts(ctx, hep.AccountFilter{Limit: 10})
	if err != nil || len(got) != 2 {
		t.Errorf("ListAccounts after the restart = %d accounts, %v; want 2 (nothing of the failed call)", len(got), err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping after the restart: %v", err)
	}
}

// TestRotateAcrossReplicas: two replicas rotate the same refresh token at
// once, many times over. Each time exactly one rotation succeeds and the
// other is a reuse that revokes the session.
func TestRotateAcrossReplicas(t *testing.T) {
	url := newURL(t)
	a, b := openTest(t, url), openTest(t, url)
	ctx := adminCtx(t)
	acct, err := a.CreateAccount(ctx, hep.AccountCreate{Email: "c@clinic.example", DisplayName: "C", Role: hep.RoleClinician}, "h")
	if err != nil {
		t.Fatal(err)
	}
	for round := range 20 {
		h0 := fmt.Sprintf("%064x", round*3+1)
		sess, err := a.StartSession(ctx, hep.SessionStart{AccountID: acct.ID, Refresh: hep.RefreshToken{Hash: h0, ExpireTime: time.Now().Add(time.Hour)}})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, s := range []*Store{a, b} {
			next := hep.RefreshToken{Hash: fmt.Sprintf("%064x", round*3+2+i), ExpireTime: time.Now().Add(time.Hour)}
			wg.Go(func() { _, errs[i] = s.RotateRefreshToken(ctx, h0, next) })
		}
		wg.Wait()
		ok, reused := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case hep.ErrorCode(err) == hep.CodeUnauthenticated && reasonOf(err) == hep.ReasonRefreshTokenReused:
				reused++
			default:
				t.Errorf("round %d: RotateRefreshToken: %v", round, err)
			}
		}
		if ok != 1 || reused != 1 {
			t.Fatalf("round %d: %d rotations and %d reuses; want 1 and 1", round, ok, reused)
		}
		got, err := b.Session(ctx, sess.ID)
		if err != nil || got.Live() {
			t.Errorf("round %d: session after the reuse = %+v, %v; want revoked", round, got, err)
		}
	}
}

func reasonOf(err error) string {
	var he *hep.Error
	if errors.As(err, &he) {
		return he.Reason
	}
	return ""
}

// TestAuditAcrossReplicas: three replicas write and read at once; the
// trail stays two gapless chains that verify, with one row per call.
func TestAuditAcrossReplicas(t *testing.T) {
	url := newURL(t)
	stores := []*Store{openTest(t, url), openTest(t, url), openTest(t, url)}
	ctx := adminCtx(t)
	const perWorker = 15
	var wg sync.WaitGroup
	var calls atomic.Int64
	for w := range 6 {
		s := stores[w%len(stores)]
		wg.Go(func() {
			for i := range perWorker {
				var err error
				switch i % 3 {
				case 0:
					_, err = s.CreateAccount(ctx, hep.AccountCreate{Email: fmt.Sprintf("u%d-%d@clinic.example", w, i), DisplayName: "U", Role: hep.RoleClinician}, "h")
				case 1:
					_, err = s.ListAccounts(ctx, hep.AccountFilter{Limit: 5})
				case 2:
					err = s.AppendAudit(ctx, hep.AuditEvent{ActorID: "x", ActorRole: hep.RoleAdmin, Action: "x.y", Resource: "r", Outcome: "DENIED"})
				}
				if err != nil {
					t.Errorf("worker %d call %d: %v", w, i, err)
					return
				}
				calls.Add(1)
			}
		})
	}
	wg.Wait()
	v, err := hep.VerifyAudit(t.Context(), stores[1], nil)
	if err != nil || !v.OK() {
		t.Fatalf("VerifyAudit = %+v, %v; want intact", v, err)
	}
	if v.Events != calls.Load() {
		t.Errorf("%d audit events for %d calls", v.Events, calls.Load())
	}
	// Chain order is commit order: sequences have no gaps (VerifyAudit)
	// and times never go backwards along a chain (one clock here).
	for _, table := range []string{"audit_events", "audit_reads"} {
		var back int
		if err := stores[0].db.QueryRowContext(t.Context(), "SELECT count(*) FROM "+table+" a JOIN "+table+" b ON b.seq = a.seq + 1 WHERE b.time < a.time").Scan(&back); err != nil || back != 0 {
			t.Errorf("%s: %d events earlier than their predecessor, %v", table, back, err)
		}
	}
}

func TestAuditAppendOnly(t *testing.T) {
	url := newURL(t)
	s := openTest(t, url)
	ctx := adminCtx(t)
	if _, err := s.CreateAccount(ctx, hep.AccountCreate{Email: "c@clinic.example", DisplayName: "C", Role: hep.RoleClinician}, "h"); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx, hep.AuditEvent{ActorID: "a", ActorRole: hep.RoleAdmin, Action: "x.y", Resource: "r", Outcome: hep.OutcomeOK}); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"audit_events", "audit_reads"} {
		for _, q := range []string{
			"UPDATE " + table + " SET outcome = 'PERMISSION_DENIED' WHERE seq = 1",
			"DELETE FROM " + table + " WHERE seq = 1",
			"DELETE FROM " + table,
			"TRUNCATE " + table,
		} {
			err := rawExec(t, url, q)
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: %v; want the append-only trigger to refuse", q, err)
			}
		}
	}
	if v, err := hep.VerifyAudit(t.Context(), s, nil); err != nil || !v.OK() || v.Events != 2 {
		t.Errorf("VerifyAudit = %+v, %v; want 2 events, intact", v, err)
	}
}

func TestTryLead(t *testing.T) {
	url := newURL(t)
	a, b := openTest(t, url), openTest(t, url)
	releaseA, ok, err := a.TryLead(t.Context(), "day-close")
	if err != nil || !ok {
		t.Fatalf("A TryLead = %v, %v; want the lead", ok, err)
	}
	if _, ok, err := b.TryLead(t.Context(), "day-close"); err != nil || ok {
		t.Errorf("B TryLead while A leads = %v, %v; want no lead", ok, err)
	}
	releaseB2, ok, err := b.TryLead(t.Context(), "checkpoint")
	if err != nil || !ok {
		t.Errorf("B TryLead of another job = %v, %v; want the lead", ok, err)
	} else {
		releaseB2()
	}
	releaseA()
	releaseA() // harmless twice
	releaseB, ok, err := b.TryLead(t.Context(), "day-close")
	if err != nil || !ok {
		t.Fatalf("B TryLead after A released = %v, %v; want the lead", ok, err)
	}
	releaseB()
}

// TestCollation: text compares bytewise whatever the database's locale,
// as in SQLite (ids and times sort as text; "~" bounds every id).
func TestCollation(t *testing.T) {
	s := openTest(t, newURL(t))
	var got bool
	if err := s.db.QueryRowContext(t.Context(), `SELECT bool_and(c.collname = 'C') FROM pg_attribute a
		JOIN pg_class r ON r.oid = a.attrelid JOIN pg_namespace n ON n.oid = r.relnamespace
		JOIN pg_collation c ON c.oid = a.attcollation
		WHERE n.nspname = 'public' AND r.relkind = 'r' AND a.atttypid = 'text'::regtype AND a.attnum > 0`).Scan(&got); err != nil || !got {
		t.Errorf("every text column COLLATE \"C\": %v, %v", got, err)
	}
}
