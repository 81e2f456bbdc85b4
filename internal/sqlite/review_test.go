package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hepclinic/hep/internal/hep"
)

// TestReviewQueryPlans checks that progress, triage, the alerts of a push
// and the care-team alert list search the indexes they were measured on
// (migrations/0004_review.sql) rather than scan a table.
func TestReviewQueryPlans(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "hep.db"))
	careTeam, _ := alertListQuery(hep.AlertFilter{ClinicianID: "x", Limit: 10})
	careTeamOpen, _ := alertListQuery(hep.AlertFilter{ClinicianID: "x", Status: hep.AlertOpen, Kinds: []hep.AlertKind{hep.AlertRedFlag}, Limit: 10})
	patientKinds, _ := alertListQuery(hep.AlertFilter{PatientID: "x", Kinds: []hep.AlertKind{hep.AlertRedFlag, hep.AlertPainFlare}, Severity: hep.AlertUrgent, Limit: 10})
	checkQueryPlans(t, s, []queryPlanTest{
		{"thresholds", thresholdsQuery, 0, []string{"clinic_settings"}},
		{"plan headers", planHeadersQuery, 1, []string{"PRIMARY KEY"}},
		{"range logs", rangeLogsQuery, 3, []string{"COVERING INDEX exercise_logs_live"}},
		{"range check-ins", rangeCheckinsQuery, 3, []string{"COVERING INDEX pain_checkins_live"}},
		{"last log", lastLogQuery, 2, []string{"COVERING INDEX exercise_logs_live"}},
		{"triage patients", triagePatientsQuery, 1, []string{"care_team_clinician", "COVERING INDEX exercise_logs_live"}},
		{"triage alerts", triageAlertsQuery, 1, []string{"care_team_clinician", "alerts_patient_status"}},
		{"triage plans", triagePlansQuery, 1, []string{"care_team_clinician", "PRIMARY KEY"}},
		{"trigger kinds", triggerKindsQuery, 2, []string{"alert_occurrences_trigger"}},
		{"log supersedes", supersedesQuery(hep.KindLog), 2, []string{"sqlite_autoindex_exercise_logs_1"}},
		{"near window", nearWindowQuery, 4, []string{"alert_occurrences_trigger"}},
		{"care-team alerts", careTeam, 3, []string{"sqlite_autoindex_alerts_1 (id<?)", "EXISTS USING PRIMARY KEY"}},
		{"care-team open red flags", careTeamOpen, 5, []string{"alerts_status (status=? AND id<?)", "EXISTS USING PRIMARY KEY"}},
		{"patient alerts by kind", patientKinds, 6, []string{"alerts_patient"}},
	})
	// The batched plan reads scan their argument (json_each), and only it.
	for _, tt := range []queryPlanTest{
		{"span items", spanItemsQuery, 1, []string{"SEARCH i USING PRIMARY KEY (patient_id=? AND version>? AND version<?)"}},
		{"span transitions", spanTransitionsQuery, 1, []string{"SEARCH g USING COVERING INDEX gating_decisions_transitions (patient_id=? AND plan_version>? AND plan_version<?)"}},
		{"triage logs", triageLogsQuery, 1, []string{"SEARCH l USING COVERING INDEX exercise_logs_live (patient_id=? AND corrected_perform_time>? AND corrected_perform_time<?)"}},
		{"triage check-ins", triageCheckinsQuery, 1, []string{"SEARCH k USING COVERING INDEX pain_checkins_live (patient_id=? AND corrected_record_time>? AND corrected_record_time<?)"}},
	} {
		rows, err := s.r.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+tt.query, "[]")
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		if err := closeRows(rows); err != nil {
			t.Fatal(err)
		}
		all := strings.Join(plan, "; ")
		for _, line := range plan {
			if strings.HasPrefix(line, "SCAN ") && !strings.HasPrefix(line, "SCAN j VIRTUAL TABLE") &&
				!strings.HasPrefix(line, "SCAN json_each VIRTUAL TABLE") && line != "SCAN r" {
				t.Errorf("%s scans: %s", tt.name, all)
			}
		}
		for _, w := range tt.want {
			if !strings.Contains(all, w) {
				t.Errorf("%s: plan %q does not use %s", tt.name, all, w)
			}
		}
	}
}

// TestMigrateReviewOverExistingData upgrades a version-3 database holding a
// patient with a device, a live log, a check-in and an alert: the alert
// gets an empty trigger, the rebuilt indexes serve the lists and progress,
// and the thresholds are the defaults.
func TestMigrateReviewOverExistingData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hep.db")
	ms, err := migrations(mainMigrations)
	if err != nil {
		t.Fatal(err)
	}
	raw := rawDB(t, path)
	const (
		pid  = "00000000-0000-7000-8000-000000000001"
		did  = "00000000-0000-7000-8000-000000000002"
		lid  = "00000000-0000-7000-8000-000000000003"
		cid  = "00000000-0000-7000-8000-000000000004"
		aid  = "00000000-0000-7000-8000-000000000005"
		rid  = "00000000-0000-7000-8000-000000000006"
		rfid = "00000000-0000-7000-8000-000000000007"
		now  = "2030-01-02T10:00:00.000000000Z"
	)
	hash := strings.Repeat("ab", 32)
	for _, q := range []string{createSchemaMigrations, ms[0].sql, ms[1].sql, ms[2].sql,
		"INSERT INTO schema_migrations (version, applied_time) VALUES (1, '" + now + "'), (2, '" + now + "'), (3, '" + now + "')",
		"INSERT INTO patients (id, display_name, time_zone, create_time, update_time) VALUES ('" + pid + "', 'P', 'UTC', '" + now + "', '" + now + "')",
		"INSERT INTO devices (id, patient_id, name, platform, enroll_time) VALUES ('" + did + "', '" + pid + "', 'Phone', 'IOS', '" + now + "')",
		`INSERT INTO exercise_logs (id, patient_id, device_id, exercise_id, plan_version, perform_time, corrected_perform_time,
			receive_time, sets_done, reps_done, hold_seconds_done, duration_seconds_done, pain_before, pain_after, difficulty,
			item_suspended, content_hash, change_seq) VALUES ('` + lid + `', '` + pid + `', '` + did + `', 'cat-cow', 0, '` + now + `', '` + now + `',
			'` + now + `', 2, 10, 0, 0, 4, 3, '', 0, '` + hash + `', 1)`,
		`INSERT INTO pain_checkins (id, patient_id, device_id, record_time, corrected_record_time, receive_time, score, location,
			red_flags, content_hash) VALUES ('` + cid + `', '` + pid + `', '` + did + `', '` + now + `', '` + now + `', '` + now + `', 6, 'NECK', '[]', '` + hash + `')`,
		"INSERT INTO alerts (id, patient_id, kind, severity, status, summary, create_time) VALUES ('" + aid + "', '" + pid +
			"', 'LOGGED_WHILE_SUSPENDED', 'ROUTINE', 'OPEN', 'x', '" + now + "')",
		// A red-flag report and its alert: 0007 rebuilds alerts under
		// the report's reference.
		"INSERT INTO alerts (id, patient_id, kind, severity, status, summary, create_time) VALUES ('" + rid + "', '" + pid +
			"', 'RED_FLAG', 'URGENT', 'OPEN', 'Red-flag symptoms reported.', '" + now + "')",
		"INSERT INTO red_flag_reports (id, patient_id, symptoms, reported_by, report_time, alert_id) VALUES ('" + rfid + "', '" + pid +
			"', '[\"SADDLE_NUMBNESS\"]', 'local:test', '" + now + "', '" + rid + "')",
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	raw.Close()

	s := openTest(t, path)
	ctx := hep.WithActor(t.Context(), hep.Actor{ID: "local:test", Role: hep.RoleAdmin})
	if v, err := s.SchemaVersion(ctx); err != nil || v != LatestVersion() {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, LatestVersion())
	}
	as, err := s.ListAlerts(ctx, hep.AlertFilter{PatientID: pid, Kinds: []hep.AlertKind{hep.AlertLoggedWhileSuspended}})
	if err != nil || len(as) != 1 || as[0].ID != aid || as[0].Trigger != "" {
		t.Errorf("ListAlerts after the upgrade = %+v, %v", as, err)
	}
	logs, err := s.ListExerciseLogs(ctx, hep.LogFilter{PatientID: pid})
	if err != nil || len(logs) != 1 || logs[0].ID != lid {
		t.Errorf("ListExerciseLogs after the upgrade = %+v, %v", logs, err)
	}
	day := hep.Date{Year: 2030, Month: 1, Day: 2}
	f, th, err := s.ProgressFacts(ctx, pid, day, day)
	if err != nil || len(f.Logs) != 1 || len(f.Checkins) != 1 || f.Checkins[0].Score != 6 || th != hep.DefaultThresholds() {
		t.Errorf("ProgressFacts after the upgrade = %+v, %+v, %v", f, th, err)
	}
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Error(err)
	}
}

// TestReviewConstraints checks that the database itself keeps what the
// code promises (0005_alert_occurrences.sql): one occurrence per patient,
// kind and trigger; well-formed triggers; an occurrence in an alert of its
// own patient and kind; one open alert per patient, kind and subject;
// nothing deleted, an acknowledged alert never changed, occurrences never
// fewer; thresholds within hep.Thresholds.Validate's ranges.
func TestReviewConstraints(t *testing.T) {
	f := newSyncFixture(t)
	raw := rawDB(t, f.path)
	// The store's connections check foreign keys; so does this one (one
	// connection, so the pragma holds for every statement below).
	if _, err := raw.Exec("PRAGMA foreign_keys = ON"); err != nil {
		t.Fatal(err)
	}
	const at = "2030-01-02T10:00:00.000000000Z"
	id := func(n int) string { return fmt.Sprintf("00000000-0000-7000-8000-%012d", n) }
	alert := func(n int, kind, subject, status string) error {
		ack := []any{nil, nil}
		if status == "ACKNOWLEDGED" {
			ack = []any{"doc", at}
		}
		_, err := raw.Exec(`INSERT INTO alerts (id, patient_id, kind, severity, status, summary, create_time, subject, occurrences,
			latest_time, ack_by, ack_time) VALUES (?, ?, ?, 'ROUTINE', ?, 'x', ?, ?, 1, ?, ?, ?)`,
			id(n), f.patient, kind, status, at, subject, at, ack[0], ack[1])
		return err
	}
	occurrence := func(n, alertN int, kind, trigger string) error {
		_, err := raw.Exec(`INSERT INTO alert_occurrences (id, alert_id, patient_id, kind, "trigger", occur_time, summary)
			VALUES (?, ?, ?, ?, ?, ?, 'x')`, id(n), id(alertN), f.patient, kind, trigger, at)
		return err
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	refused := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s was stored", what)
		}
	}
	trig := hep.LogTrigger("00000000-0000-7000-8000-00000000000a")
	must("an alert", alert(1, "PAIN_SEVERE", "cat-cow", "OPEN"))
	must("its occurrence", occurrence(101, 1, "PAIN_SEVERE", trig))
	refused("a second occurrence of the same kind and trigger", occurrence(102, 1, "PAIN_SEVERE", trig))
	for _, bad := range []string{"x", "exercise_logs/", "window/2030-1-2", "pain_checkins/short", "red_flag_reports/x"} {
		refused(fmt.Sprintf("trigger %q", bad), occurrence(103, 1, "PAIN_SEVERE", bad))
	}
	refused("an occurrence of another kind than its alert's", occurrence(104, 1, "PAIN_FLARE", hep.LogTrigger("00000000-0000-7000-8000-00000000000b")))
	refused("an occurrence of no alert", occurrence(105, 99, "PAIN_SEVERE", ""))
	// Occurrences without a trigger repeat freely.
	for _, n := range []int{106, 107} {
		must("an occurrence without a trigger", occurrence(n, 1, "PAIN_SEVERE", ""))
	}
	refused("a second open alert of a kind and subject", alert(2, "PAIN_SEVERE", "cat-cow", "OPEN"))
	must("an open alert about another subject", alert(3, "PAIN_SEVERE", "childs-pose", "OPEN"))
	must("an acknowledged alert beside the open one", alert(4, "PAIN_SEVERE", "cat-cow", "ACKNOWLEDGED"))
	for what, q := range map[string]string{
		"an alert deleted":                       "DELETE FROM alerts WHERE id = '" + id(3) + "'",
		"an acknowledged alert changed":          "UPDATE alerts SET occurrences = 2 WHERE id = '" + id(4) + "'",
		"an alert's subject changed":             "UPDATE alerts SET subject = 'bar-hang' WHERE id = '" + id(3) + "'",
		"an alert with fewer occurrences":        "UPDATE alerts SET occurrences = 0 WHERE id = '" + id(1) + "'",
		"an occurrence deleted":                  "DELETE FROM alert_occurrences WHERE id = '" + id(101) + "'",
		"an occurrence changed":                  "UPDATE alert_occurrences SET summary = 'y' WHERE id = '" + id(101) + "'",
		"an occurrence moved to another patient": "UPDATE alert_occurrences SET patient_id = 'p' WHERE id = '" + id(101) + "'",
	} {
		_, err := raw.Exec(q)
		refused(what, err)
	}
	// Occurrences grow, never shrink.
	must("an alert gaining occurrences", func() error {
		_, err := raw.Exec("UPDATE alerts SET occurrences = 3 WHERE id = '" + id(1) + "'")
		return err
	}())
	_, err := raw.Exec("UPDATE alerts SET occurrences = 2 WHERE id = '" + id(1) + "'")
	refused("an alert losing occurrences", err)
	// raiseAlert skips an occurrence whose trigger is stored, and says so;
	// another kind is another occurrence, in an alert of its own.
	err = f.s.tx(t.Context(), func(tx *sql.Tx) error {
		a := hep.Alert{PatientID: f.patient, Kind: hep.AlertPainSevere, Severity: hep.AlertRoutine, Status: hep.AlertOpen, Summary: "y",
			Subject: "cat-cow", Trigger: trig}
		ok, err := f.s.raiseAlert(t.Context(), tx, &a, time.Now())
		if err != nil || ok || a.ID != "" {
			t.Errorf("raiseAlert of a stored trigger = %v, %v, id %q; want skipped", ok, err, a.ID)
		}
		a.Kind = hep.AlertPainFlare
		if ok, err = f.s.raiseAlert(t.Context(), tx, &a, time.Now()); err != nil || !ok || a.ID == "" || a.Occurrences != 1 {
			t.Errorf("raiseAlert of another kind = %v, %v, %+v", ok, err, a)
		}
		// A third kind of occurrence about cat-cow joins the open alert.
		b := hep.Alert{PatientID: f.patient, Kind: hep.AlertPainSevere, Severity: hep.AlertRoutine, Status: hep.AlertOpen, Summary: "z",
			Subject: "cat-cow", Trigger: hep.LogTrigger("00000000-0000-7000-8000-00000000000c")}
		if ok, err = f.s.raiseAlert(t.Context(), tx, &b, time.Now()); err != nil || !ok || b.ID != id(1) || b.Occurrences != 4 || b.Summary != "z" {
			t.Errorf("raiseAlert into the open alert = %v, %v, %+v; want alert 1 with 4 occurrences", ok, err, b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Thresholds out of range, and a second settings row.
	good := []any{7, 2, 2.0, 50, 80, 2.0, 30, 3}
	for i, bad := range []any{0, 11, 0.4, 0, 101, 10.5, 0, 91} {
		args := append([]any{1}, good...)
		args[i+1] = bad
		_, err := raw.Exec("INSERT INTO clinic_settings (id, "+thresholdColumns+", updated_by, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'x', '"+at+"')", args...)
		if err == nil {
			t.Errorf("thresholds with column %d = %v were stored", i, bad)
		}
	}
	if _, err := raw.Exec("INSERT INTO clinic_settings (id, "+thresholdColumns+", updated_by, update_time) VALUES (2, ?, ?, ?, ?, ?, ?, ?, ?, 'x', '"+at+"')", good...); err == nil {
		t.Error("a second settings row was stored")
	}
}

// TestPushAlertsAreAtomic checks that a push that fails after its logs
// raised alerts leaves none behind, and raises them when it applies.
func TestPushAlertsAreAtomic(t *testing.T) {
	f := newSyncFixture(t)
	raw := rawDB(t, f.path)
	if _, err := raw.Exec(`CREATE TRIGGER inject_failure BEFORE INSERT ON exercise_logs WHEN new.note = 'boom'
		BEGIN SELECT RAISE(ABORT, 'injected failure'); END`); err != nil {
		t.Fatal(err)
	}
	severe, boom := f.log("hurt"), f.log("boom")
	severe.PainBefore, severe.PainAfter = score(3), score(8)
	at := f.clock.Add(-time.Minute)
	ci := hep.PainCheckin{ID: uuid.Must(uuid.NewV7()).String(), RecordTime: at, CorrectedRecordTime: at, Score: 9, Location: hep.PainLeg}
	batch := []hep.Mutation{{Seq: 1, Log: &severe}, {Seq: 2, Checkin: &ci}, {Seq: 3, Log: &boom}}
	if _, _, err := f.s.Push(f.phone, f.device, batch); err == nil {
		t.Fatal("Push with an injected failure succeeded")
	}
	if n := f.count(t, "SELECT count(*) FROM alerts") + f.count(t, "SELECT count(*) FROM alert_occurrences"); n != 0 {
		t.Errorf("a failed push left %d alerts and occurrences", n)
	}
	boom.Note = "fine"
	if _, _, err := f.s.Push(f.phone, f.device, batch); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t, `SELECT count(*) FROM alerts WHERE "trigger" <> ''`); n != 3 {
		t.Errorf("%d triggered alerts, want PAIN_SEVERE and PAIN_FLARE of the log and PAIN_SEVERE of the check-in", n)
	}
	if n := f.count(t, `SELECT count(*) FROM alert_occurrences WHERE "trigger" <> ''`); n != 3 {
		t.Errorf("%d triggered occurrences, want 3", n)
	}
}

func score(n int32) *int32 { return &n }

// TestEvaluateAdherenceConcurrent runs evaluations at once: each closed
// day is evaluated once, so the alert is raised once and audited once.
func TestEvaluateAdherenceConcurrent(t *testing.T) {
	f := newSyncFixture(t) // a plan of cat-cow from 2030-01-01, nothing logged
	now := f.clock.Add(9 * 24 * time.Hour)
	ctx := hep.WithActor(t.Context(), hep.Actor{Action: "alert.evaluate_adherence"})
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 4 {
		wg.Go(func() {
			n, err := f.s.EvaluateAdherence(ctx, now)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if total != 1 {
		t.Errorf("concurrent evaluations raised %d alerts, want 1", total)
	}
	if n := f.count(t, "SELECT count(*) FROM alerts WHERE kind = 'NON_ADHERENCE'"); n != 1 {
		t.Errorf("%d NON_ADHERENCE alerts stored, want 1", n)
	}
	if n := f.count(t, "SELECT count(*) FROM audit_events WHERE actor_id = ? AND action = 'alert.evaluate_adherence'", hep.SystemActorID); n != 1 {
		t.Errorf("%d audit rows by %s, want 1", n, hep.SystemActorID)
	}
	if n := f.count(t, "SELECT count(*) FROM patients WHERE adherence_checked_through = '2030-01-10'"); n != 1 {
		t.Errorf("the watermark is not the last closed day")
	}
}

// TestFastTS checks the hand-written time parser against time.Parse.
func TestFastTS(t *testing.T) {
	for _, s := range []string{"2030-01-02T03:04:05.123456789Z", "0001-01-01T00:00:00.000000000Z", "9999-12-31T23:59:59.999999999Z",
		"2028-02-29T12:00:00.000000000Z"} {
		want, err := parseTS(s)
		got, ok := fastTS(s)
		if err != nil || !ok || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("fastTS(%q) = %v, %v; want %v (%v)", s, got, ok, want, err)
		}
	}
	for _, s := range []string{"2030-01-02T03:04:05Z", "2030-02-30T00:00:00.000000000Z", "2030-13-01T00:00:00.000000000Z",
		"2030-01-02 03:04:05.123456789Z", "2030-01-02T03:04:05.12345678xZ", "2030-01-02T24:00:00.000000000Z"} {
		if _, ok := fastTS(s); ok {
			t.Errorf("fastTS(%q) accepted it", s)
		}
	}
	if _, err := anyTime("2030-01-02T03:04:05Z"); err == nil {
		t.Error("anyTime accepted a time in another form")
	}
}

// reviewBench is a store holding a clinic's worth of data: 200 patients
// of one clinician, each with a plan and 5,000 logs (1,000,000 in all;
// HEP_REVIEW_BENCH_LOGS changes the total) spread over the last 365 days,
// written day by day in round-robin as phones sync, and a check-in a day.
type reviewBench struct {
	s         *Store
	clinician string
	patients  []string
	now       time.Time
	from, to  hep.Date
}

func newReviewBench(b *testing.B) *reviewBench {
	b.Helper()
	total := 1_000_000
	if v := os.Getenv("HEP_REVIEW_BENCH_LOGS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 200 {
			b.Fatalf("HEP_REVIEW_BENCH_LOGS=%q: want a number of logs, at least 200", v)
		}
		total = n
	}
	const patients, days = 200, 365
	rb := &reviewBench{now: time.Date(2031, 1, 1, 12, 0, 0, 0, time.UTC)}
	rb.to = hep.DateOf(rb.now, time.UTC).AddDays(-1)
	rb.from = rb.to.AddDays(1 - days)
	start := rb.from.Start(time.UTC)
	path := filepath.Join(b.TempDir(), "hep.db")
	clock := start.Add(-24 * time.Hour)
	s := openTest(b, path, WithClock(func() time.Time { return clock }))
	rb.s = s
	ctx := hep.WithActor(context.Background(), hep.Actor{ID: "local:bench", Role: hep.RoleAdmin})
	c, err := s.CreateAccount(ctx, hep.AccountCreate{Email: "c@clinic.example", DisplayName: "C", Role: hep.RoleClinician}, "h")
	if err != nil {
		b.Fatal(err)
	}
	rb.clinician = c.ID
	doctor := hep.WithActor(context.Background(), hep.Actor{ID: c.ID, Role: hep.RoleClinician})
	var answers []hep.ScreeningInput
	for _, fl := range hep.Flags {
		answers = append(answers, hep.ScreeningInput{Flag: fl, Status: hep.StatusAbsent})
	}
	items := []hep.ItemSpec{
		{ExerciseID: "cat-cow", Dose: hep.Dose{Sets: 2, Reps: 10}, Frequency: hep.Frequency{TimesPerDay: 2, DaysPerWeek: 7}, StartDate: rb.from},
		{ExerciseID: "childs-pose", Dose: hep.Dose{Sets: 3, HoldSeconds: 30}, Frequency: hep.Frequency{TimesPerDay: 1, DaysPerWeek: 5}, StartDate: rb.from},
	}
	devices := make([]string, patients)
	for i := range patients {
		p, err := s.CreatePatient(ctx, hep.PatientCreate{DisplayName: fmt.Sprintf("P%03d", i), TimeZone: "Europe/Lisbon"}, c.ID)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.RecordScreening(doctor, p.ID, answers); err != nil {
			b.Fatal(err)
		}
		if _, err := s.SetPlan(doctor, p.ID, hep.PlanInput{Items: items}); err != nil {
			b.Fatal(err)
		}
		rb.patients = append(rb.patients, p.ID)
		devices[i] = uuid.Must(uuid.NewV7()).String()
	}
	clock = rb.now
	// The rows themselves, raw, on a connection of their own without
	// fsync (the layout is what matters, not how fast it was written).
	db, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("PRAGMA synchronous = OFF"); err != nil {
		b.Fatal(err)
	}
	for i, d := range devices {
		if _, err := db.Exec("INSERT INTO devices (id, patient_id, name, platform, enroll_time) VALUES (?, ?, 'Phone', 'IOS', ?)",
			d, rb.patients[i], ts(start)); err != nil {
			b.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	perPatient := total / patients
	seq := make([]int64, patients)
	hash := strings.Repeat("ab", 32)
	exercises := []string{"cat-cow", "cat-cow", "childs-pose"}
	for day := range days {
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		ins, err := tx.Prepare(`INSERT INTO exercise_logs (id, patient_id, device_id, exercise_id, plan_version, perform_time,
			corrected_perform_time, receive_time, sets_done, reps_done, hold_seconds_done, duration_seconds_done, pain_before,
			pain_after, difficulty, note, item_suspended, content_hash, change_seq)
			VALUES (?, ?, ?, ?, 1, ?, ?, ?, 2, 10, 0, 0, ?, ?, 'JUST_RIGHT', 'a bit stiff at first', 0, ?, ?)`)
		if err != nil {
			b.Fatal(err)
		}
		for p := range patients {
			n := perPatient*(day+1)/days - perPatient*day/days
			for k := range n {
				at := ts(start.Add(time.Duration(day)*24*time.Hour + time.Duration(7+k)*time.Hour + time.Duration(rng.IntN(3600))*time.Second))
				seq[p]++
				before := rng.IntN(7)
				if _, err := ins.Exec(uuid.Must(uuid.NewV7()).String(), rb.patients[p], devices[p], exercises[rng.IntN(3)], at, at, at,
					before, before+rng.IntN(3)-1+boolInt(before == 0), hash, seq[p]); err != nil {
					b.Fatal(err)
				}
			}
			at := ts(start.Add(time.Duration(day)*24*time.Hour + 20*time.Hour))
			if _, err := tx.Exec(`INSERT INTO pain_checkins (id, patient_id, device_id, record_time, corrected_record_time,
				receive_time, score, location, red_flags, content_hash) VALUES (?, ?, ?, ?, ?, ?, ?, 'LOW_BACK', '[]', ?)`,
				uuid.Must(uuid.NewV7()).String(), rb.patients[p], devices[p], at, at, at, rng.IntN(7), hash); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	for i := range patients {
		if _, err := db.Exec("UPDATE patients SET change_seq = ? WHERE id = ?", seq[i]+100, rb.patients[i]); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.Exec("PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		b.Fatal(err)
	}
	return rb
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}

// rawProgressQuery is the raw SQL aggregate over the rows progress reads:
// the logs of the range per exercise with their pain response.
const rawProgressQuery = `SELECT exercise_id, count(*), sum(pain_after - pain_before), max(corrected_perform_time) FROM exercise_logs
	WHERE patient_id = ? AND deleted_time IS NULL AND superseded_by IS NULL AND corrected_perform_time >= ? AND corrected_perform_time < ?
	GROUP BY exercise_id`

// BenchmarkReview measures, on a 1,000,000-log database of 200 patients,
// a year of one patient's progress (5,000 logs) against the raw SQL
// aggregate of the same rows (each iteration runs both, on the same
// reader pool), and triage for the clinician of all 200 patients.
//
//	go test -run '^$' -bench Review -benchtime 200x ./internal/sqlite/
func BenchmarkReview(b *testing.B) {
	rb := newReviewBench(b)
	ctx := hep.WithActor(context.Background(), hep.Actor{ID: rb.clinician, Role: hep.RoleClinician, Action: "review.get_progress"})
	loc := hep.LoadZone("Europe/Lisbon")
	start, end := ts(rb.from.Start(loc)), ts(rb.to.AddDays(1).Start(loc))
	b.Run("Progress", func(b *testing.B) {
		var raw, read, full []time.Duration
		rows := 0
		for i := range b.N {
			p := rb.patients[i%len(rb.patients)]
			t0 := time.Now()
			got, err := queryAll(ctx, rb.s.r, func(sc scanner) (int, error) {
				var ex string
				var n int
				var sum sql.NullInt64
				var last string
				err := sc.Scan(&ex, &n, &sum, &last)
				return n, err
			}, rawProgressQuery, p, start, end)
			if err != nil {
				b.Fatal(err)
			}
			raw = append(raw, time.Since(t0))
			rows = 0
			for _, n := range got {
				rows += n
			}
			t0 = time.Now()
			err = rb.s.read(ctx, func(tx *sql.Tx) error {
				_, err := readFacts(ctx, tx, p, "Europe/Lisbon", rb.from, rb.to, factsWant{checkins: true, activity: true, asOf: rb.to, current: true})
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			read = append(read, time.Since(t0))
			t0 = time.Now()
			f, th, err := rb.s.ProgressFacts(ctx, p, rb.from, rb.to)
			if err != nil {
				b.Fatal(err)
			}
			pr := hep.ComputeProgress(f, th, rb.now)
			full = append(full, time.Since(t0))
			if len(f.Logs) != rows || len(pr.Weeks) == 0 {
				b.Fatalf("progress read %d logs, the raw query %d", len(f.Logs), rows)
			}
		}
		b.ReportMetric(float64(rows), "logs")
		b.ReportMetric(benchPercentile(raw, 50), "raw_p50_ms")
		b.ReportMetric(benchPercentile(read, 50), "facts_p50_ms")
		b.ReportMetric(benchPercentile(read, 99), "facts_p99_ms")
		b.ReportMetric(benchPercentile(full, 50), "call_p50_ms")
		b.ReportMetric(benchPercentile(full, 99), "call_p99_ms")
		b.ReportMetric(benchPercentile(read, 50)/benchPercentile(raw, 50), "facts/raw")
	})
	b.Run("Triage", func(b *testing.B) {
		var ds []time.Duration
		for range b.N {
			t0 := time.Now()
			fs, th, err := rb.s.TriageFacts(ctx, rb.clinician, rb.now)
			if err != nil {
				b.Fatal(err)
			}
			if es := hep.Triage(fs, th); len(es) != len(rb.patients) {
				b.Fatalf("triage of %d patients, want %d", len(es), len(rb.patients))
			}
			ds = append(ds, time.Since(t0))
		}
		b.ReportMetric(benchPercentile(ds, 50), "p50_ms")
		b.ReportMetric(benchPercentile(ds, 99), "p99_ms")
	})
}

// benchPercentile returns the p-th percentile (0-100) of ds in ms.
func benchPercentile(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[int(float64(len(s)-1)*p/100)]) / float64(time.Millisecond)
}
