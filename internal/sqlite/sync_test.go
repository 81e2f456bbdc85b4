package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hepclinic/hep/internal/hep"
)

// TestSyncQueryPlans checks that sync's per-patient queries (every push,
// pull and list runs them) search an index rather than scan a table.
func TestSyncQueryPlans(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "hep.db"))
	checkQueryPlans(t, s, []queryPlanTest{
		{"bump", bumpQuery, 1, []string{"sqlite_autoindex_patients_1"}},
		{"entry", entryQuery, 3, []string{"PRIMARY KEY"}},
		{"pull page", pullQuery, 5, []string{"sync_state_seq", "exercise_logs_seq"}},
		{"live entries", liveEntriesQuery, 2, []string{"PRIMARY KEY", "exercise_logs_seq"}},
		{"entries below", belowQuery, 4, []string{"sync_state_seq", "exercise_logs_seq"}},
		{"old tombstones", tombstonesQuery, 1, []string{"sync_state_tombstones"}},
		{"purge", purgeQuery, 2, []string{"sync_state_seq"}},
		{"catalog entry holders", holdersQuery, 1, []string{"plan_items_exercise"}},
		{"stored results", storedResultsQuery, 3, []string{"PRIMARY KEY"}},
		{"page logs", pageLogsQuery, 3, []string{"exercise_logs_seq"}},
		{"move log", moveLogQuery, 3, []string{"sqlite_autoindex_exercise_logs_1"}},
		{"suspended items", suspendedQuery, 2, []string{"PRIMARY KEY"}},
		{"change sequence", changeSeqQuery, 1, []string{"sqlite_autoindex_patients_1"}},
		{"set change sequence", setChangeSeqQuery, 2, []string{"sqlite_autoindex_patients_1"}},
		{"pushing device", pushDeviceQuery, 1, []string{"sqlite_autoindex_devices_1"}},
		{"log by id", logByIDQuery, 2, []string{"sqlite_autoindex_exercise_logs_1"}},
		{"check-in by id", checkinByIDQuery, 2, []string{"sqlite_autoindex_pain_checkins_1"}},
		{"log record", recordQuery(hep.KindLog), 1, []string{"sqlite_autoindex_exercise_logs_1"}},
		{"check-in record", recordQuery(hep.KindCheckin), 1, []string{"sqlite_autoindex_pain_checkins_1"}},
		{"log end", endQuery(hep.KindLog, true), 2, []string{"sqlite_autoindex_exercise_logs_1"}},
		{"logs", logsQuery, 4, []string{"exercise_logs_live"}},
		{"check-ins", checkinsQuery, 4, []string{"pain_checkins_live"}},
	})
}

// syncFixture is a store with a screened patient on a plan and an enrolled
// device, and the device's context.
type syncFixture struct {
	s       *Store
	path    string
	patient string
	device  string
	phone   context.Context
	clock   *time.Time
}

func newSyncFixture(t testing.TB, opts ...Option) *syncFixture {
	t.Helper()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	f := &syncFixture{path: filepath.Join(t.TempDir(), "hep.db"), clock: &now}
	f.s = openTest(t, f.path, append([]Option{WithClock(func() time.Time { return *f.clock })}, opts...)...)
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
	if err := f.s.CreateEnrollmentCode(ctx, p.ID, "code", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	d, _, err := f.s.EnrollDevice(ctx, hep.DeviceEnroll{CodeHash: "code", Name: "Phone"}, hep.RefreshToken{Hash: "r", ExpireTime: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	f.device = d.ID
	f.phone = hep.WithActor(t.Context(), hep.Actor{ID: d.ID, Role: hep.RolePatient, PatientID: p.ID})
	return f
}

func (f *syncFixture) log(note string) hep.ExerciseLog {
	at := f.clock.Add(-time.Hour)
	return hep.ExerciseLog{ID: uuid.Must(uuid.NewV7()).String(), ExerciseID: "cat-cow", PerformTime: at, CorrectedPerformTime: at,
		SetsDone: 2, RepsDone: 10, Note: note}
}

// count returns the rows of a query's single integer.
func (f *syncFixture) count(t *testing.T, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := f.s.r.QueryRowContext(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// TestPushAtomicity injects a failure into the last mutation of a batch
// (a trigger that refuses one log) and checks that nothing of the batch
// stays: not the earlier logs, the red-flag report and hold, the screening
// report, the change sequence, the stored results, the device's sequence,
// nor an audit row.
func TestPushAtomicity(t *testing.T) {
	f := newSyncFixture(t)
	raw := rawDB(t, f.path)
	if _, err := raw.Exec(`CREATE TRIGGER inject_failure BEFORE INSERT ON exercise_logs WHEN new.note = 'boom'
		BEGIN SELECT RAISE(ABORT, 'injected failure'); END`); err != nil {
		t.Fatal(err)
	}
	state := func() string {
		t.Helper()
		var parts []string
		for _, q := range []string{
			"SELECT count(*) FROM exercise_logs", "SELECT count(*) FROM pain_checkins", "SELECT count(*) FROM alerts",
			"SELECT count(*) FROM red_flag_reports", "SELECT count(*) FROM screening_answers", "SELECT count(*) FROM device_mutations",
			"SELECT count(*) FROM sync_state", "SELECT count(*) FROM audit_events", "SELECT sum(change_seq) FROM patients",
			"SELECT sum(red_flag_hold) FROM patients", "SELECT sum(last_seq) FROM devices", "SELECT count(*) FROM gating_decisions",
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
	for _, db := range []*sql.DB{f.s.w, rawDB(t, f.path)} {
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
			if _, err := db.ExecContext(t.Context(), q); err == nil {
				t.Errorf("%s: accepted", q)
			}
		}
	}
	if err := f.s.IntegrityCheck(t.Context()); err != nil {
		t.Error(err)
	}
}

// TestMigrateSyncOverExistingData upgrades a version-2 database with a
// screened patient on a plan (two versions), a patient on hold without a
// plan and one with nothing: their phones' first pull brings what they
// must hold.
func TestMigrateSyncOverExistingData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hep.db")
	ms, err := migrations(mainMigrations)
	if err != nil {
		t.Fatal(err)
	}
	const (
		p1, p2, p3 = "00000000-0000-7000-8000-000000000001", "00000000-0000-7000-8000-000000000002", "00000000-0000-7000-8000-000000000003"
		when       = "'2030-01-01T00:00:00.000000000Z'"
	)
	raw := rawDB(t, path)
	stmts := []string{createSchemaMigrations, ms[0].sql, ms[1].sql,
		"INSERT INTO schema_migrations (version, applied_time) VALUES (1, " + when + "), (2, " + when + ")"}
	for _, p := range []string{p1, p2, p3} {
		stmts = append(stmts, "INSERT INTO patients (id, display_name, time_zone, create_time, update_time) VALUES ('"+p+"', 'P', 'UTC', "+when+", "+when+")")
	}
	stmts = append(stmts,
		"UPDATE patients SET red_flag_hold = 1 WHERE id = '"+p2+"'",
		"INSERT INTO screening_answers (id, patient_id, flag, status, source, recorded_by, record_time) VALUES ('00000000-0000-7000-8000-0000000000a1', '"+p1+"', 'PREGNANCY', 'ABSENT', 'CLINICIAN_VERIFIED', 'x', "+when+")",
		"INSERT INTO plans (patient_id, version, author_id, create_time) VALUES ('"+p1+"', 1, 'x', "+when+"), ('"+p1+"', 2, 'x', "+when+")",
	)
	for _, it := range []struct {
		version  int
		exercise string
	}{{1, "bar-hang"}, {2, "cat-cow"}, {2, "childs-pose"}} {
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO plan_items (patient_id, version, position, exercise_id, reps, times_per_day, days_per_week,
			weekdays, start_date, state, state_reasons, state_time) VALUES ('%s', %d, %d, '%s', 10, 1, 5, 0, '2030-01-01', 'ACTIVE', '[]', %s)`,
			p1, it.version, len(stmts)%7, it.exercise, when))
	}
	for _, q := range stmts {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	raw.Close()

	s := openTest(t, path)
	if v, err := s.SchemaVersion(t.Context()); err != nil || v != LatestVersion() {
		t.Fatalf("SchemaVersion = %d, %v", v, err)
	}
	for _, tt := range []struct {
		patient string
		want    []string
	}{
		{p1, []string{"EXERCISE bar-hang", "EXERCISE cat-cow", "EXERCISE childs-pose", "PLAN current", "SCREENING current"}},
		{p2, []string{"PLAN current"}},
		{p3, nil},
	} {
		page, err := s.Pull(t.Context(), tt.patient, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		var live []hep.SyncEntry
		for i, c := range page.Changes {
			got = append(got, string(c.Kind)+" "+c.ID)
			live = append(live, c.SyncEntry)
			if c.Seq != int64(i+1) || c.Deleted {
				t.Errorf("%s: change %d is %+v; want sequence %d, live", tt.patient, i, c.SyncEntry, i+1)
			}
		}
		if !slices.Equal(got, tt.want) || page.HasMore || page.Next != int64(len(tt.want)) ||
			page.Count != int64(len(tt.want)) || page.Hash != hep.ConvergenceHash(live) {
			t.Errorf("%s: first pull %v (next %d, count %d); want %v", tt.patient, got, page.Next, page.Count, tt.want)
		}
		if tt.patient == p2 && (page.Changes[0].Plan == nil || !page.Changes[0].Plan.RedFlagHold) {
			t.Errorf("the plan of the patient on hold: %+v", page.Changes[0].Plan)
		}
	}
	if err := s.IntegrityCheck(t.Context()); err != nil {
		t.Error(err)
	}
}

// BenchmarkPush500 measures a phone-shaped push: 500 new logs in one call
// (one transaction, synchronous=FULL), reported as logs/s so it can be set
// against a raw batched insert on the same disk (docs: reference/perf.md).
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
