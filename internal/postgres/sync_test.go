package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hepclinic/hep/internal/hep"
)

// syncFixture is a store with a screened patient on a plan and an enrolled
// device, and the device's context. url is its database, for more
// replicas (replica) and raw connections.
type syncFixture struct {
	s       *Store
	url     string
	patient string
	device  string
	phone   context.Context
	clock   *time.Time
}

func newSyncFixture(t testing.TB, opts ...Option) *syncFixture {
	t.Helper()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	f := &syncFixture{url: newURL(t), clock: &now}
	f.s = f.replica(t, opts...)
	ctx := hep.WithActor(t.Context(), hep.Actor{ID: "local:test", Role: hep.RoleAdmin})
	c, err := f.s.CreateAccount(ctx, hep.AccountCreate{Email: "c@clinic.example", DisplayName: "C", Role: hep.RoleClinician}, "h")
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.s.CreatePatient(ctx, hep.PatientCreate{DisplayName: "P", TimeZone: "UTC"}, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	f.patient = p.ID
	var answers []hep.ScreeningInput
	for _, fl := range hep.Flags {
		answers = append(answers, hep.ScreeningInput{Flag: fl, Status: hep.StatusAbsent})
	}
	doctor := hep.WithActor(t.Context(), hep.Actor{ID: c.ID, Role: hep.RoleClinician})
	if _, _, err := f.s.RecordScreening(doctor, p.ID, answers); err != nil {
		t.Fatal(err)
	}
	item := hep.ItemSpec{ExerciseID: "cat-cow", Dose: hep.Dose{Sets: 2, Reps: 10},
		Frequency: hep.Frequency{TimesPerDay: 1, DaysPerWeek: 5}, StartDate: hep.Date{Year: 2030, Month: 1, Day: 1}}
	if _, err := f.s.SetPlan(doctor, p.ID, hep.PlanInput{Items: []hep.ItemSpec{item}}); err != nil {
		t.Fatal(err)
	}
	f.device, f.phone = f.enroll(t, "code")
	return f
}

// replica opens another Store on the fixture's database with the
// fixture's clock: another hepd process, as far as the database can tell.
func (f *syncFixture) replica(t testing.TB, opts ...Option) *Store {
	t.Helper()
	return openTest(t, f.url, append([]Option{WithClock(func() time.Time { return *f.clock })}, opts...)...)
}

// enroll enrolls another device of the patient and returns it with its
// context.
func (f *syncFixture) enroll(t testing.TB, code string) (string, context.Context) {
	t.Helper()
	ctx := hep.WithActor(t.Context(), hep.Actor{ID: "local:test", Role: hep.RoleAdmin})
	if err := f.s.CreateEnrollmentCode(ctx, f.patient, code, f.clock.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	d, _, err := f.s.EnrollDevice(ctx, hep.DeviceEnroll{CodeHash: code, Name: "Phone"}, hep.RefreshToken{Hash: "r-" + code, ExpireTime: f.clock.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return d.ID, hep.WithActor(t.Context(), hep.Actor{ID: d.ID, Role: hep.RolePatient, PatientID: f.patient})
}

func (f *syncFixture) log(note string) hep.ExerciseLog {
	at := f.clock.Add(-time.Hour)
	return hep.ExerciseLog{ID: uuid.Must(uuid.NewV7()).String(), ExerciseID: "cat-cow", PerformTime: at, CorrectedPerformTime: at,
		SetsDone: 2, RepsDone: 10, Note: note}
}

// count returns the rows of a query's single integer.
func (f *syncFixture) count(t testing.TB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := f.s.db.QueryRowContext(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// exec runs a statement on the fixture's database outside the store's
// code, as an operator's psql would.
func (f *syncFixture) exec(t testing.TB, query string, args ...any) error {
	t.Helper()
	_, err := f.s.db.ExecContext(t.Context(), query, args...)
	return err
}

// injectFailure makes the database refuse a log whose note is "boom".
func (f *syncFixture) injectFailure(t testing.TB) {
	t.Helper()
	for _, q := range []string{
		`CREATE FUNCTION inject_failure() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF new.note = 'boom' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN new; END $$`,
		`CREATE TRIGGER inject_failure BEFORE INSERT ON exercise_logs FOR EACH ROW EXECUTE FUNCTION inject_failure()`,
	} {
		if err := f.exec(t, q); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPushAtomicity injects a failure into the last mutation of a batch
// (a trigger that refuses one log) and checks that nothing of the batch
// stays: not the earlier logs, the red-flag report and hold, the screening
// report, the change sequence, the stored results, the device's sequence,
// nor an audit row.
func TestPushAtomicity(t *testing.T) {
	f := newSyncFixture(t)
	f.injectFailure(t)
	state := func() string {
		t.Helper()
		var parts []string
		for _, q := range []string{
			"SELECT count(*) FROM exercise_logs", "SELECT count(*) FROM pain_checkins", "SELECT count(*) FROM alerts",
			"SELECT count(*) FROM red_flag_reports", "SELECT count(*) FROM screening_answers", "SELECT count(*) FROM device_mutations",
			"SELECT count(*) FROM sync_state", "SELECT count(*) FROM audit_events", "SELECT sum(change_seq) FROM patients",
			"SELECT sum(red_flag_hold) FROM patients", "SELECT sum(last_seq) FROM devices", "SELECT count(*) FROM gating_decisions",
			"SELECT count(*) FROM messages",
		} {
			parts = append(parts, fmt.Sprint(f.count(t, q)))
		}
		return strings.Join(parts, " ")
	}
	before := state()
	at := f.clock.Add(-time.Minute)
	red := hep.PainCheckin{ID: uuid.Must(uuid.NewV7()).String(), RecordTime: at, CorrectedRecordTime: at, Score: 8,
		Location: hep.PainLowBack, RedFlags: []hep.RedFlag{hep.RedFlagSaddleNumbness}}
	ok1, ok2, boom := f.log("fine"), f.log("fine too"), f.log("boom")
	batch := []hep.Mutation{{Seq: 1, Log: &ok1}, {Seq: 2, Checkin: &red},
		{Seq: 3, Screening: []hep.ScreeningInput{{Flag: hep.FlagPregnancy, Status: hep.StatusPresent}}},
		{Seq: 4, Log: &ok2}, {Seq: 5, Log: &boom}}
	_, _, err := f.s.Push(f.phone, f.device, batch)
	if err == nil || hep.ErrorCode(err) != hep.CodeInternal {
		t.Fatalf("Push with an injected failure = %v; want an internal error", err)
	}
	if after := state(); after != before {
		t.Errorf("a failed push left changes behind:\n before %s\n after  %s", before, after)
	}
	// The device starts again at 1, and the same batch without the fault
	// applies whole.
	batch[4].Log.Note = "no longer boom"
	rs, last, err := f.s.Push(f.phone, f.device, batch)
	if err != nil || last != 5 || len(rs) != 5 {
		t.Fatalf("Push after the failure = %+v, %d, %v", rs, last, err)
	}
	if n := f.count(t, "SELECT count(*) FROM exercise_logs"); n != 3 {
		t.Errorf("%d logs, want 3", n)
	}
}

// TestSyncAppendOnly checks that the database itself refuses what the
// code never does: undoing a deletion, changing a record's content,
// changing a stored result, forgetting a live entry.
func TestSyncAppendOnly(t *testing.T) {
	f := newSyncFixture(t)
	a, b, unknown := f.log("a"), f.log("b"), f.log("c")
	unknown.ExerciseID = "no-such-exercise" // rejected: its result is stored
	muts := []hep.Mutation{{Seq: 1, Log: &a}, {Seq: 2, Log: &b}, {Seq: 3, Delete: &hep.DeleteRecord{Kind: hep.KindLog, ID: a.ID}},
		{Seq: 4, Log: &unknown}}
	if _, _, err := f.s.Push(f.phone, f.device, muts); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"UPDATE exercise_logs SET deleted_time = NULL WHERE id = '" + a.ID + "'",
		"UPDATE exercise_logs SET note = 'edited' WHERE id = '" + b.ID + "'",
		"DELETE FROM exercise_logs WHERE id = '" + b.ID + "'",
		"UPDATE sync_state SET deleted = 0 WHERE id = '" + a.ID + "'",
		"UPDATE exercise_logs SET change_seq = 1 WHERE id = '" + b.ID + "'",
		"UPDATE exercise_logs SET change_seq = NULL WHERE id = '" + b.ID + "'",
		"UPDATE exercise_logs SET change_seq = change_seq + 100 WHERE id = '" + a.ID + "'",
		"DELETE FROM sync_state WHERE kind = 'PLAN'",
		"UPDATE device_mutations SET status = 'REJECTED', reason = 'x'",
	} {
		if err := f.exec(t, q); err == nil {
			t.Errorf("%s: accepted", q)
		}
	}
}

// BenchmarkPush500 measures a phone-shaped push: 500 new logs in one call
// (one transaction), reported as logs/s so it can be set against a raw
// batched insert into the same database.
func BenchmarkPush500(b *testing.B) {
	f := newSyncFixture(b)
	var seq int64
	b.ResetTimer()
	for b.Loop() {
		muts := make([]hep.Mutation, 500)
		for i := range muts {
			seq++
			l := f.log("")
			muts[i] = hep.Mutation{Seq: seq, Log: &l}
		}
		if _, _, err := f.s.Push(f.phone, f.device, muts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "logs/s")
}

// BenchmarkPush500Raw is BenchmarkPush500's limit in the same run: the
// same 500 rows per transaction, one unnest INSERT (insertLogsQuery) with
// none of Push's checks, locks, sequence, results or audit row.
func BenchmarkPush500Raw(b *testing.B) {
	f := newSyncFixture(b)
	var next int64
	if err := f.s.db.QueryRowContext(b.Context(), "SELECT change_seq FROM patients WHERE id = $1", f.patient).Scan(&next); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		var cols logColumnsOf
		now := *f.clock
		for range 500 {
			l := f.log("")
			next++
			seq := next
			cols.add(&l, strings.Repeat("0", 64), &seq)
		}
		tx, err := f.s.db.BeginTx(b.Context(), nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.ExecContext(b.Context(), insertLogsQuery, f.patient, f.device, ts(now),
			cols.id, cols.exercise, cols.planVersion, cols.perform, cols.corrected, cols.sets, cols.reps, cols.hold,
			cols.duration, cols.before, cols.after, cols.difficulty, cols.note, cols.suspended, cols.hash, cols.seq); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "logs/s")
}
