package hepclient_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hepclinic/hep/clients/hepclient"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// corrupt changes a phone's pulled records behind its back: one record
// disappears and a stranger appears.
func corrupt(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec("DELETE FROM records WHERE rowid IN (SELECT rowid FROM records LIMIT 1)")
	if err != nil {
		// WITHOUT ROWID: delete by key
		res, err = db.Exec("DELETE FROM records WHERE (kind, id) IN (SELECT kind, id FROM records LIMIT 1)")
	}
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("corrupt: deleted %d records", n)
	}
	if _, err := db.Exec("INSERT INTO records (kind, id, seq, payload) VALUES ('EXERCISE_LOG', 'stranger', 1, x'')"); err != nil {
		t.Fatal(err)
	}
}

func logN(t *testing.T, c *hepclient.Client, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		id, err := c.LogExercise(context.Background(), &hepv1.ExerciseLog{ExerciseId: "cat-cow", SetsDone: 2, RepsDone: int32(i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// TestResetOnMismatch: local records that do not match the server's count
// and hash are replaced by a fresh pull, once. The old view stays visible
// until the fresh one is complete: an interrupted reset resumes at the next
// Sync.
func TestResetOnMismatch(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	patient := s.newPatient()
	var pulls, failAt atomic.Int64
	h := &counter{before: func(method string) error {
		if method == hepv1.SyncService_Pull_FullMethodName && pulls.Add(1) == failAt.Load() {
			return status.Error(codes.PermissionDenied, "interrupted")
		}
		return nil
	}}
	path := filepath.Join(t.TempDir(), "phone.db")
	c := newPhone(t, s.addr, path, hepclient.Options{PullPageSize: 2, Interceptor: h.intercept})
	if err := c.Enroll(ctx, s.code(patient)); err != nil {
		t.Fatal(err)
	}
	logN(t, c, 7)
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	want := recordKeys(t, c)
	corrupt(t, path)
	corrupted := recordKeys(t, c)

	// The pull finds the mismatch, starts the reset, and is interrupted on
	// the reset's second page.
	pulls.Store(0)
	failAt.Store(3)
	if _, err := c.Sync(ctx); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("interrupted Sync: %v", err)
	}
	if got := recordKeys(t, c); !slices.Equal(got, corrupted) {
		t.Errorf("during the reset the view is %v, want the old one %v", got, corrupted)
	}
	failAt.Store(0)
	res, err := c.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Converged {
		t.Errorf("Sync after the reset: %+v", res)
	}
	if got := recordKeys(t, c); !slices.Equal(got, want) {
		t.Errorf("after the reset: %v, want %v", got, want)
	}
	// A mismatch found by a plain pull resets within the same Sync.
	corrupt(t, path)
	res, err = c.Sync(ctx)
	if err != nil || !res.Reset || !res.Converged {
		t.Fatalf("Sync = %+v, %v; want a reset that converged", res, err)
	}
	if got := recordKeys(t, c); !slices.Equal(got, want) {
		t.Errorf("after the reset: %v, want %v", got, want)
	}
}

// TestCursorExpired: a phone offline for longer than tombstone retention
// gets CURSOR_EXPIRED; it pushes its outbox first, then pulls from scratch,
// and the deletion it missed is not resurrected.
func TestCursorExpired(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	patient := s.newPatient()
	var expired atomic.Int64
	h := &counter{after: func(method string, reply any, err error) error {
		if hepclient.Reason(err) == "CURSOR_EXPIRED" {
			expired.Add(1)
		}
		return err
	}}
	a := s.enrolledPhone(t, patient, hepclient.Options{})
	b := s.enrolledPhone(t, patient, hepclient.Options{Interceptor: h.intercept})
	ids := logN(t, a, 3)
	if _, err := a.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Delete(ctx, hepv1.RecordKind_RECORD_KIND_EXERCISE_LOG, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.PurgeTombstones(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	offline := logN(t, b, 1) // made while b was away
	res, err := b.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if expired.Load() != 1 {
		t.Errorf("%d pulls answered CURSOR_EXPIRED, want 1", expired.Load())
	}
	if !res.Reset || !res.Converged || res.Acked != 1 {
		t.Errorf("Sync = %+v, want the outbox pushed and a reset", res)
	}
	logs, _ := b.Logs(ctx)
	var got []string
	for _, l := range logs {
		got = append(got, l.Id)
	}
	slices.Sort(got)
	want := []string{ids[1], ids[2], offline[0]}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("after the reset b shows %v, want %v", got, want)
	}
	if _, err := a.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recordKeys(t, a), recordKeys(t, b)) {
		t.Error("the phones disagree after the reset")
	}
}

// TestServerRestoredFromBackup: the server loses acknowledged mutations
// (restored from an older backup). The phone's next push is a
// SEQUENCE_GAP; it gives the server back the lost mutations from its
// journal, then its outbox, and pulls a fresh view.
func TestServerRestoredFromBackup(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	patient := s.newPatient()
	path := filepath.Join(t.TempDir(), "phone.db")
	c := newPhone(t, s.addr, path, hepclient.Options{})
	if err := c.Enroll(ctx, s.code(patient)); err != nil {
		t.Fatal(err)
	}
	ids := logN(t, c, 3)
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "backup.db")
	s.stop()
	copyFile(t, s.dbPath, backup)
	s.start()
	c.Close()
	c = newPhone(t, s.addr, path, hepclient.Options{})
	ids = append(ids, logN(t, c, 2)...)
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	s.stop()
	copyFile(t, backup, s.dbPath) // the last two logs are gone from the server
	s.start()
	c.Close()
	c = newPhone(t, s.addr, path, hepclient.Options{})
	ids = append(ids, logN(t, c, 1)...)
	res, err := c.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Resent != 2 || res.Lost != 0 || !res.Reset || !res.Converged {
		t.Errorf("Sync = %+v, want 2 resent, none lost, a reset", res)
	}
	slices.Sort(ids)
	if got := sortedKeys(s.logs(patient)); !slices.Equal(got, ids) {
		t.Errorf("server logs %v, want %v", got, ids)
	}
	if logs, _ := c.Logs(ctx); len(logs) != len(ids) {
		t.Errorf("phone shows %d logs, want %d", len(logs), len(ids))
	}
}

// TestPhoneRestoredFromBackup: the phone's state file goes back in time
// (restored from a backup). The server knows sequence numbers the phone
// hands out again; the phone notices (last_sequence beyond anything it
// numbered), renumbers its outbox after the server's last and pushes again:
// the new log is not mistaken for an old one, and nothing is duplicated.
func TestPhoneRestoredFromBackup(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	patient := s.newPatient()
	path := filepath.Join(t.TempDir(), "phone.db")
	c := newPhone(t, s.addr, path, hepclient.Options{})
	if err := c.Enroll(ctx, s.code(patient)); err != nil {
		t.Fatal(err)
	}
	ids := logN(t, c, 2)
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	ids = append(ids, logN(t, c, 1)...) // pending in the backup
	backup := crashCopy(t, path)
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	ids = append(ids, logN(t, c, 2)...)
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	c.Close()
	c = newPhone(t, s.addr, backup, hepclient.Options{})
	ids = append(ids, logN(t, c, 1)...) // numbered 4 again: the server has another 4
	res, err := c.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Renumbered != 2 || !res.Converged {
		t.Errorf("Sync = %+v, want 2 renumbered", res)
	}
	slices.Sort(ids)
	if got := sortedKeys(s.logs(patient)); !slices.Equal(got, ids) {
		t.Errorf("server logs %v, want %v", got, ids)
	}
	if p, _ := c.Pending(ctx); len(p) != 0 {
		t.Errorf("outbox holds %d", len(p))
	}
}
