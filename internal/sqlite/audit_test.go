package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/hep/heptest"
)

// tamperer goes around the store: a connection of its own to the chain's
// file, with the append-only triggers dropped and CHECKs ignored, as
// anyone holding the files can.
type tamperer struct {
	t    *testing.T
	path string
}

func (tm tamperer) db(chain string) *sql.DB {
	p := tm.path
	if chain == hep.ChainReads {
		p = ReadsPath(tm.path)
	}
	db := rawDB(tm.t, p)
	for _, q := range []string{
		"DROP TRIGGER IF EXISTS audit_events_no_update",
		"DROP TRIGGER IF EXISTS audit_events_no_delete",
		"PRAGMA ignore_check_constraints = 1",
	} {
		if _, err := db.Exec(q); err != nil {
			tm.t.Fatalf("%s: %v", q, err)
		}
	}
	return db
}

func (tm tamperer) DeleteAuditEvents(ctx context.Context, chain string, from, to int64) error {
	_, err := tm.db(chain).ExecContext(ctx, "DELETE FROM audit_events WHERE seq BETWEEN ? AND ?", from, to)
	return err
}

func (tm tamperer) PutAuditEvent(ctx context.Context, e hep.AuditEvent) error {
	_, err := tm.db(e.Chain).ExecContext(ctx, strings.Replace(insertAuditQuery, "INSERT", "INSERT OR REPLACE", 1), auditArgs(e)...)
	return err
}

func TestTamper(t *testing.T) {
	heptest.RunTamper(t, func(t *testing.T, clock hep.Clock) (hep.Store, heptest.Tamperer) {
		path := filepath.Join(t.TempDir(), "hep.db")
		return openTest(t, path, WithClock(clock)), tamperer{t: t, path: path}
	})
}

// auditFixture opens a store with n events in its reads chain (AppendAudit
// writes there).
func auditFixture(t *testing.T, n int) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hep.db")
	s := openTest(t, path)
	for i := range n {
		ev := hep.AuditEvent{ActorID: "a", ActorRole: hep.RoleAdmin, Action: "x.y", Resource: fmt.Sprint(i), Outcome: hep.OutcomeOK}
		if err := s.AppendAudit(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	return s, path
}

func TestAuditAppendOnly(t *testing.T) {
	s, path := auditFixture(t, 3)
	c, err := s.CreateAccount(t.Context(), hep.AccountCreate{Email: "c@clinic.example", DisplayName: "C", Role: hep.RoleClinician}, "h")
	if err != nil {
		t.Fatal(err)
	}
	_ = c
	for _, db := range []*sql.DB{s.w, rawDB(t, path), s.reads.w, rawDB(t, ReadsPath(path))} {
		for _, q := range []string{
			"UPDATE audit_events SET outcome = 'PERMISSION_DENIED' WHERE seq = 1",
			"DELETE FROM audit_events WHERE seq = 1",
			"DELETE FROM audit_events",
		} {
			_, err := db.ExecContext(t.Context(), q)
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: %v; want the append-only trigger to refuse", q, err)
			}
		}
	}
	if v, err := hep.VerifyAudit(t.Context(), s, nil); err != nil || !v.OK() || v.Events != 4 {
		t.Errorf("VerifyAudit = %+v, %v; want 4 events, intact", v, err)
	}
}

// TestAuditTamperingSQL is tampering as raw SQL does it, beyond what
// heptest's Tamperer can say: renumbering in place, an unparseable time.
func TestAuditTamperingSQL(t *testing.T) {
	tests := []struct {
		name    string
		tamper  []string
		wantSeq int64
		problem string
	}{
		{"outcome changed", []string{"UPDATE audit_events SET outcome = 'PERMISSION_DENIED' WHERE seq = 2"}, 2, "altered"},
		{"time changed", []string{"UPDATE audit_events SET time = '2031-01-01T00:00:00.000000000Z' WHERE seq = 3"}, 3, "altered"},
		{"middle row deleted", []string{"DELETE FROM audit_events WHERE seq = 2"}, 2, "gap"},
		{"first row deleted", []string{"DELETE FROM audit_events WHERE seq = 1"}, 1, "gap"},
		{"rows renumbered after a delete", []string{
			"DELETE FROM audit_events WHERE seq = 2",
			"UPDATE audit_events SET seq = seq - 1 WHERE seq > 2",
		}, 2, "prev_hash"},
		{"hash replaced", []string{
			"UPDATE audit_events SET hash = '" + strings.Repeat("0", 64) + "' WHERE seq = 2",
		}, 2, "altered"},
		{"genesis replaced", []string{"UPDATE audit_events SET prev_hash = '' WHERE seq = 1"}, 1, "prev_hash"},
		{"unparseable time", []string{"UPDATE audit_events SET time = 'yesterday' WHERE seq = 4"}, 4, "altered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, path := auditFixture(t, 5)
			raw := tamperer{t: t, path: path}.db(hep.ChainReads)
			for _, q := range tt.tamper {
				if _, err := raw.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			v, err := hep.VerifyAudit(t.Context(), s, nil)
			if err != nil {
				t.Fatalf("VerifyAudit: %v", err)
			}
			if v.BrokenChain != hep.ChainReads || v.BrokenSeq != tt.wantSeq || !strings.Contains(v.Problem, tt.problem) {
				t.Errorf("VerifyAudit = %+v; want reads broken at %d with a problem mentioning %q", v, tt.wantSeq, tt.problem)
			}
		})
	}
}

// TestReadsDoNotWaitForWriter holds the main file's write lock, as a long
// push does, and reads through the store meanwhile: every audited read,
// and the record of a failed call, completes; the writes wait.
func TestReadsDoNotWaitForWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hep.db")
	s := openTest(t, path)
	ctx := hep.WithActor(t.Context(), hep.Actor{ID: "local:test", Role: hep.RoleAdmin, Action: "test.read"})
	c, err := s.CreateAccount(ctx, hep.AccountCreate{Email: "c@clinic.example", DisplayName: "C", Role: hep.RoleClinician}, "h")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.CreatePatient(ctx, hep.PatientCreate{DisplayName: "P", TimeZone: "UTC"}, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	holder := rawDB(t, path)
	conn, err := holder.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	released := false
	release := func() {
		if !released {
			conn.ExecContext(context.Background(), "ROLLBACK")
			released = true
		}
	}
	defer release()

	reads := map[string]func(context.Context) error{
		"GetPatient": func(ctx context.Context) error { _, err := s.GetPatient(ctx, p.ID); return err },
		"ListPatients": func(ctx context.Context) error {
			_, err := s.ListPatients(ctx, hep.PatientFilter{ClinicianID: c.ID})
			return err
		},
		"GetPlan":      func(ctx context.Context) error { _, err := s.GetPlan(ctx, p.ID, 0); return err },
		"GetScreening": func(ctx context.Context) error { _, err := s.GetScreening(ctx, p.ID); return err },
		"ListAlerts": func(ctx context.Context) error {
			_, err := s.ListAlerts(ctx, hep.AlertFilter{PatientID: p.ID})
			return err
		},
		"Pull": func(ctx context.Context) error { _, err := s.Pull(ctx, p.ID, 0, 100); return err },
		"ProgressFacts": func(ctx context.Context) error {
			_, _, err := s.ProgressFacts(ctx, p.ID, hep.Date{}, hep.Date{})
			return err
		},
		"ListAuditEvents": func(ctx context.Context) error {
			_, err := s.ListAuditEvents(ctx, hep.AuditFilter{Start: time.Unix(0, 0), End: time.Now().Add(time.Hour), Limit: 10})
			return err
		},
		"AppendAudit": func(ctx context.Context) error {
			return s.AppendAudit(ctx, hep.AuditEvent{ActorID: "x", Action: "x.y", Outcome: string(hep.CodeNotFound)})
		},
	}
	for name, read := range reads {
		// busy_timeout is 10 s: a read queued behind the lock would take
		// that long and fail this deadline.
		rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := read(rctx)
		cancel()
		if err != nil {
			t.Errorf("%s while the main file is locked: %v; want it done without waiting", name, err)
		}
	}
	// A write does wait (and here gives up).
	wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	name := "Q"
	if _, err := s.UpdatePatient(wctx, p.ID, hep.PatientUpdate{DisplayName: &name}); err == nil {
		t.Errorf("UpdatePatient with the main file locked succeeded; the test does not hold the lock")
	}
	release()
	v, err := hep.VerifyAudit(t.Context(), s, nil)
	if err != nil || !v.OK() {
		t.Fatalf("VerifyAudit: %+v, %v", v, err)
	}
	if v.Heads[1].Chain != hep.ChainReads || v.Heads[1].Seq != int64(len(reads)) {
		t.Errorf("reads chain has %d events, want %d (one per read)", v.Heads[1].Seq, len(reads))
	}
}

// TestReadsGroupCommit: many concurrent reads are each audited exactly
// once, in one gapless chain, in fewer transactions than rows when they
// arrive together.
func TestReadsGroupCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hep.db")
	s := openTest(t, path)
	ctx := hep.WithActor(t.Context(), hep.Actor{ID: "local:test", Role: hep.RoleAdmin, Action: "test.read"})
	c, err := s.CreateAccount(ctx, hep.AccountCreate{Email: "c@clinic.example", DisplayName: "C", Role: hep.RoleClinician}, "h")
	if err != nil {
		t.Fatal(err)
	}
	// The trail refuses the rows of one worker (as a full disk would all):
	// its reads fail, and the reads grouped with them must not.
	if _, err := rawDB(t, ReadsPath(path)).Exec(`CREATE TRIGGER poison BEFORE INSERT ON audit_events
		WHEN new.action = 'test.poison' BEGIN SELECT RAISE(ABORT, 'injected failure'); END`); err != nil {
		t.Fatal(err)
	}
	const workers, each = 17, 25 // worker 16 is refused
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			action := "test.read"
			if w == workers-1 {
				action = "test.poison"
			}
			for i := range each {
				rctx := hep.WithActor(ctx, hep.Actor{ID: fmt.Sprint("w", w), Role: hep.RoleAdmin, Action: action, RequestID: fmt.Sprint(w, "-", i)})
				_, err := s.GetAccount(rctx, c.ID)
				if refused := action == "test.poison"; refused != (err != nil) {
					t.Errorf("GetAccount as %s: %v", action, err)
				}
			}
		})
	}
	wg.Wait()
	const written = workers - 1 // the rows that are written
	seen := map[string]int{}
	var times []time.Time
	if err := s.ScanAudit(t.Context(), hep.ChainReads, 0, func(e hep.AuditEvent) error {
		seen[e.RequestID]++
		times = append(times, e.Time)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != written*each {
		t.Errorf("%d distinct read rows, want %d", len(seen), written*each)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("request %s audited %d times", id, n)
		}
	}
	if v, err := hep.VerifyAudit(t.Context(), s, nil); err != nil || !v.OK() {
		t.Errorf("VerifyAudit: %+v, %v", v, err)
	}
	// A cancelled read gets an error and no row.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.GetAccount(cctx, c.ID); err == nil {
		t.Errorf("GetAccount with a cancelled context succeeded")
	}
	n := 0
	s.ScanAudit(t.Context(), hep.ChainReads, 0, func(hep.AuditEvent) error { n++; return nil })
	if n != written*each {
		t.Errorf("after a cancelled read, %d rows, want %d", n, written*each)
	}
}

// TestReadsCancelledInGroup: reads whose context ends while their rows
// wait in a group, mixed with reads the trail refuses and reads that
// succeed, each get one answer and never hang; a read that returned data
// has its row. (Under -race this also checks that the writer and the
// waiting callers share nothing but the answer channel: a caller read the
// request's channel field while the writer cleared it, found by phonesim.)
func TestReadsCancelledInGroup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hep.db")
	s := openTest(t, path)
	ctx := hep.WithActor(t.Context(), hep.Actor{ID: "local:test", Role: hep.RoleAdmin, Action: "test.read"})
	c, err := s.CreateAccount(ctx, hep.AccountCreate{Email: "c@clinic.example", DisplayName: "C", Role: hep.RoleClinician}, "h")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rawDB(t, ReadsPath(path)).Exec(`CREATE TRIGGER poison BEFORE INSERT ON audit_events
		WHEN new.action = 'test.poison' BEGIN SELECT RAISE(ABORT, 'injected failure'); END`); err != nil {
		t.Fatal(err)
	}
	const workers, each = 12, 30
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := map[string]bool{}
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				action := "test.read"
				if w%4 == 3 && i%3 == 0 {
					action = "test.poison"
				}
				id := fmt.Sprint(w, "-", i)
				rctx, cancel := context.WithTimeout(hep.WithActor(ctx, hep.Actor{ID: fmt.Sprint("w", w), Role: hep.RoleAdmin,
					Action: action, RequestID: id}), time.Duration(w*i%7)*100*time.Microsecond)
				_, err := s.GetAccount(rctx, c.ID)
				cancel()
				if err == nil {
					if action == "test.poison" {
						t.Errorf("a refused read returned data")
					}
					mu.Lock()
					ok[id] = true
					mu.Unlock()
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("reads still waiting after 60 s")
	}
	seen := map[string]bool{}
	if err := s.ScanAudit(t.Context(), hep.ChainReads, 0, func(e hep.AuditEvent) error {
		seen[e.RequestID] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for id := range ok {
		if !seen[id] {
			t.Errorf("read %s returned data without its row", id)
		}
	}
	if v, err := hep.VerifyAudit(t.Context(), s, nil); err != nil || !v.OK() {
		t.Errorf("VerifyAudit: %+v, %v", v, err)
	}
}

func TestReadsPath(t *testing.T) {
	for in, want := range map[string]string{
		"hep.db":            "hep-reads.db",
		"/var/lib/hep/x.db": "/var/lib/hep/x-reads.db",
		"clinic.sqlite":     "clinic.sqlite-reads.db",
	} {
		if got := ReadsPath(in); got != want {
			t.Errorf("ReadsPath(%q) = %q, want %q", in, got, want)
		}
	}
}
