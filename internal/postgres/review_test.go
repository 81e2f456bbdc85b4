package postgres

import (
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hepclinic/hep/internal/hep"
)

// TestReviewConstraints checks that the database itself keeps what the
// code promises (0005_alert_occurrences.sql): one occurrence per patient,
// kind and trigger; well-formed triggers; an occurrence in an alert of its
// own patient and kind; one open alert per patient, kind and subject;
// nothing deleted, an acknowledged alert never changed, occurrences never
// fewer; thresholds within hep.Thresholds.Validate's ranges.
func TestReviewConstraints(t *testing.T) {
	f := newSyncFixture(t)
	raw := f.s.db // statements outside the store's code, each its own transaction
	const at = "2030-01-02T10:00:00.000000000Z"
	id := func(n int) string { return fmt.Sprintf("00000000-0000-7000-8000-%012d", n) }
	alert := func(n int, kind, subject, status string) error {
		ack := []any{nil, nil}
		if status == "ACKNOWLEDGED" {
			ack = []any{"doc", at}
		}
		_, err := raw.Exec(`INSERT INTO alerts (id, patient_id, kind, severity, status, summary, create_time, subject, occurrences,
			latest_time, ack_by, ack_time) VALUES ($1, $2, $3, 'ROUTINE', $4, 'x', $5, $6, 1, $7, $8, $9)`,
			id(n), f.patient, kind, status, at, subject, at, ack[0], ack[1])
		return err
	}
	occurrence := func(n, alertN int, kind, trigger string) error {
		_, err := raw.Exec(`INSERT INTO alert_occurrences (id, alert_id, patient_id, kind, "trigger", occur_time, summary)
			VALUES ($1, $2, $3, $4, $5, $6, 'x')`, id(n), id(alertN), f.patient, kind, trigger, at)
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
		_, err := raw.Exec("INSERT INTO clinic_settings (id, "+thresholdColumns+", updated_by, update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'x', '"+at+"')", args...)
		if err == nil {
			t.Errorf("thresholds with column %d = %v were stored", i, bad)
		}
	}
	if _, err := raw.Exec("INSERT INTO clinic_settings (id, "+thresholdColumns+", updated_by, update_time) VALUES (2, $1, $2, $3, $4, $5, $6, $7, $8, 'x', '"+at+"')", good...); err == nil {
		t.Error("a second settings row was stored")
	}
}

// TestPushAlertsAreAtomic checks that a push that fails after its logs
// raised alerts leaves none behind, and raises them when it applies.
func TestPushAlertsAreAtomic(t *testing.T) {
	f := newSyncFixture(t)
	f.injectFailure(t)
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
	if n := f.count(t, "SELECT count(*) FROM audit_events WHERE actor_id = $1 AND action = 'alert.evaluate_adherence'", hep.SystemActorID); n != 1 {
		t.Errorf("%d audit rows by %s, want 1", n, hep.SystemActorID)
	}
	if n := f.count(t, "SELECT count(*) FROM patients WHERE adherence_checked_through = '2030-01-10'"); n != 1 {
		t.Errorf("the watermark is not the last closed day")
	}
}
