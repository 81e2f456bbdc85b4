package hep_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

func flareOf(exercise, logID string) hep.Alert {
	before, after := int32(2), int32(5)
	l := hep.ExerciseLog{ID: logID, PatientID: "P1", ExerciseID: exercise, PainBefore: &before, PainAfter: &after}
	return hep.LogAlerts(l, hep.DefaultThresholds(), nil)[0]
}

func TestCoalesce(t *testing.T) {
	t0 := ts("2026-06-01T10:00:00Z")
	first := flareOf("cat-cow", "L1")

	// No open alert: a new one, its first occurrence.
	a, occ := hep.Coalesce(nil, first, t0)
	want := first
	want.Occurrences, want.CreateTime, want.LatestTime = 1, t0, t0
	if a != want {
		t.Fatalf("new alert:\n got  %+v\n want %+v", a, want)
	}
	wantOcc := hep.AlertOccurrence{PatientID: "P1", Kind: hep.AlertPainFlare, Trigger: "exercise_logs/L1", Time: t0, Summary: first.Summary}
	if occ != wantOcc {
		t.Errorf("first occurrence:\n got  %+v\n want %+v", occ, wantOcc)
	}

	// The store gives it an id; a second flare with cat-cow joins it: one
	// more occurrence, the latest time and summary, the first kept.
	a.ID = "A1"
	t1 := t0.Add(time.Hour)
	second := flareOf("cat-cow", "L2")
	second.Summary = "Pain rose from 1 to 6 with cat-cow (flare: up 2 or more)."
	b, occ := hep.Coalesce(&a, second, t1)
	want = a
	want.Occurrences, want.LatestTime, want.Summary = 2, t1, second.Summary
	if b != want {
		t.Errorf("joined:\n got  %+v\n want %+v", b, want)
	}
	if occ.AlertID != "A1" || occ.Trigger != "exercise_logs/L2" || occ.Time != t1 || occ.Summary != second.Summary {
		t.Errorf("joined occurrence %+v", occ)
	}
	if a.Occurrences != 1 {
		t.Errorf("Coalesce changed the open alert it was given: %+v", a)
	}

	// Another subject, kind or patient is another alert.
	for name, other := range map[string]hep.Alert{
		"another exercise": flareOf("childs-pose", "L3"),
		"another kind":     hep.SuspendedLogAlert(hep.ExerciseLog{ID: "L3", PatientID: "P1", ExerciseID: "cat-cow"}),
		"another patient": func() hep.Alert {
			x := flareOf("cat-cow", "L3")
			x.PatientID = "P2"
			return x
		}(),
	} {
		if c, occ := hep.Coalesce(&b, other, t1); c.ID != "" || c.Occurrences != 1 || occ.AlertID != "" || c.Subject != other.Subject {
			t.Errorf("%s: %+v, %+v; want a new alert", name, c, occ)
		}
	}

	// Acknowledged: the next flare opens a new alert, and the acknowledged
	// one is not touched.
	acked := b
	acked.Status, acked.AckBy, acked.AckNote, acked.AckTime = hep.AlertAcknowledged, "C1", "called her", t1
	t2 := t1.Add(time.Hour)
	c, occ := hep.Coalesce(&acked, flareOf("cat-cow", "L4"), t2)
	if c.ID != "" || c.Status != hep.AlertOpen || c.Occurrences != 1 || c.CreateTime != t2 || c.AckBy != "" || c.AckNote != "" ||
		!c.AckTime.IsZero() || occ.AlertID != "" || c.Trigger != "exercise_logs/L4" {
		t.Errorf("after acknowledgement: %+v, %+v; want a new open alert", c, occ)
	}
	if acked.Occurrences != 2 || acked.Status != hep.AlertAcknowledged {
		t.Errorf("the acknowledged alert changed: %+v", acked)
	}

	// The more urgent severity wins (no rule raises both for one key
	// today; the fold must not lower one).
	urgent := flareOf("cat-cow", "L5")
	urgent.Severity = hep.AlertUrgent
	if d, _ := hep.Coalesce(&b, urgent, t2); d.Severity != hep.AlertUrgent {
		t.Errorf("severity %s, want URGENT", d.Severity)
	}
	if d, _ := hep.Coalesce(&hep.Alert{ID: "A9", PatientID: "P1", Kind: hep.AlertPainFlare, Subject: "cat-cow",
		Severity: hep.AlertUrgent, Status: hep.AlertOpen, Occurrences: 1}, flareOf("cat-cow", "L6"), t2); d.Severity != hep.AlertUrgent {
		t.Errorf("severity lowered to %s", d.Severity)
	}
}

// TestRedFlagsNeverCoalesce: every report is its own alert, so an
// acknowledgement (which lifts the plan's hold with the last one) never
// covers a report its author did not see.
func TestRedFlagsNeverCoalesce(t *testing.T) {
	t0 := ts("2026-06-01T10:00:00Z")
	syms := []hep.RedFlag{hep.RedFlagSaddleNumbness}
	a, _ := hep.Coalesce(nil, hep.RedFlagAlert("P1", "R1", syms), t0)
	a.ID = "A1"
	b, occ := hep.Coalesce(&a, hep.RedFlagAlert("P1", "R2", syms), t0.Add(time.Minute))
	if b.ID != "" || b.Occurrences != 1 || occ.AlertID != "" || b.Subject != "red_flag_reports/R2" || b.Severity != hep.AlertUrgent {
		t.Errorf("a second report while the first is open: %+v, %+v; want its own URGENT alert", b, occ)
	}
}

// TestCoalesceStream folds a day of one patient's alerts the way a store
// does (find the open alert of the key, Coalesce, keep the occurrence),
// with acknowledgements between them, and checks the invariants the
// conformance suite checks on every store: at most one open alert per
// key, every occurrence kept and counted once, an acknowledged alert
// never grows.
func TestCoalesceStream(t *testing.T) {
	type key struct {
		kind    hep.AlertKind
		subject string
	}
	alerts := map[string]*hep.Alert{}
	var order []string
	var occs []hep.AlertOccurrence
	now := ts("2026-06-01T08:00:00Z")
	raise := func(a hep.Alert) {
		now = now.Add(time.Minute)
		var open *hep.Alert
		for _, id := range order {
			if x := alerts[id]; x.Status == hep.AlertOpen && x.Kind == a.Kind && x.Subject == a.Subject {
				open = x
			}
		}
		got, occ := hep.Coalesce(open, a, now)
		if got.ID == "" {
			got.ID = fmt.Sprintf("A%d", len(order)+1)
			order = append(order, got.ID)
		}
		occ.AlertID = got.ID
		alerts[got.ID] = &got
		occs = append(occs, occ)
	}
	ack := func(id string, expected int32) error {
		a := alerts[id]
		if err := hep.CheckAck(*a, expected); err != nil {
			return err
		}
		a.Status = hep.AlertAcknowledged
		return nil
	}
	for i := range 3 {
		raise(flareOf("cat-cow", fmt.Sprintf("L%d", i)))
	}
	raise(flareOf("childs-pose", "L10"))
	raise(hep.SuspendedLogAlert(hep.ExerciseLog{ID: "L11", PatientID: "P1", ExerciseID: "cat-cow"}))
	// The clinician saw 3 flares; a fourth arrives before the
	// acknowledgement: refused, nothing changes.
	raise(flareOf("cat-cow", "L3"))
	if err := ack("A1", 3); hep.ErrorCode(err) != hep.CodeAborted {
		t.Fatalf("acknowledging 3 of 4 occurrences: %v, want ABORTED", err)
	}
	var he *hep.Error
	if err := ack("A1", 3); !errors.As(err, &he) || he.Reason != hep.ReasonAlertChanged || he.Metadata["occurrences"] != "4" {
		t.Errorf("the refusal: %+v, want ALERT_CHANGED with occurrences 4", he)
	}
	if err := ack("A1", 4); err != nil {
		t.Fatalf("acknowledging what was seen: %v", err)
	}
	if err := ack("A1", 0); hep.ErrorCode(err) != hep.CodeFailedPrecondition {
		t.Errorf("acknowledging again: %v, want FAILED_PRECONDITION", err)
	}
	// It recurs: a new open alert, the acknowledged one as it was.
	raise(flareOf("cat-cow", "L5"))
	raise(flareOf("cat-cow", "L6"))

	if len(order) != 4 {
		t.Fatalf("%d alerts, want 4 (cat-cow flares twice, child's pose, logged while suspended): %v", len(order), order)
	}
	open := map[key]int{}
	counted := map[string]int32{}
	for _, o := range occs {
		counted[o.AlertID]++
	}
	total := int32(0)
	for _, id := range order {
		a := alerts[id]
		if a.Status == hep.AlertOpen {
			open[key{a.Kind, a.Subject}]++
		}
		if counted[id] != a.Occurrences {
			t.Errorf("%s counts %d occurrences, %d kept", id, a.Occurrences, counted[id])
		}
		total += a.Occurrences
	}
	for k, n := range open {
		if n > 1 {
			t.Errorf("%d open alerts for %v", n, k)
		}
	}
	if int(total) != len(occs) || len(occs) != 8 {
		t.Errorf("%d occurrences counted, %d kept, want 8", total, len(occs))
	}
	if a := alerts["A1"]; a.Status != hep.AlertAcknowledged || a.Occurrences != 4 {
		t.Errorf("the acknowledged alert: %+v", a)
	}
	if a := alerts["A4"]; a.Status != hep.AlertOpen || a.Occurrences != 2 || a.Kind != hep.AlertPainFlare || a.Subject != "cat-cow" ||
		a.Trigger != "exercise_logs/L5" {
		t.Errorf("the recurrence: %+v", a)
	}
}

func TestCheckAck(t *testing.T) {
	open := hep.Alert{Status: hep.AlertOpen, Occurrences: 2}
	for _, tt := range []struct {
		name     string
		a        hep.Alert
		expected int32
		code     hep.Code
	}{
		{"Unchecked", open, 0, ""},
		{"AsSeen", open, 2, ""},
		{"MoreArrived", open, 1, hep.CodeAborted},
		// A count above the stored one cannot have been seen either.
		{"MoreThanThere", open, 3, hep.CodeAborted},
		{"Acknowledged", hep.Alert{Status: hep.AlertAcknowledged, Occurrences: 2}, 2, hep.CodeFailedPrecondition},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := hep.ErrorCode(hep.CheckAck(tt.a, tt.expected)); got != tt.code {
				t.Errorf("CheckAck = %q, want %q", got, tt.code)
			}
		})
	}
	if hep.ValidateExpectedOccurrences("expected_occurrences", -1) == nil || hep.ValidateExpectedOccurrences("x", 0) != nil {
		t.Errorf("ValidateExpectedOccurrences: a negative count must be refused, 0 allowed")
	}
}

func TestAlertPhrase(t *testing.T) {
	for _, tt := range []struct {
		kind    hep.AlertKind
		subject string
		n       int32
		want    string
	}{
		{hep.AlertPainFlare, "cat-cow", 3, "3 pain flares with cat-cow"},
		{hep.AlertPainFlare, "cat-cow", 1, "1 pain flare with cat-cow"},
		{hep.AlertPainSevere, "bar-hang", 2, "2 severe pain scores with bar-hang"},
		{hep.AlertPainSevere, hep.CheckinSubject(hep.PainLowBack), 1, "1 severe pain check-in (low back)"},
		{hep.AlertLoggedWhileSuspended, "inversion-table", 19, "19 sessions of inversion-table logged while suspended"},
		{hep.AlertPainWorsening, hep.PatientSubject, 2, "pain worsening in 2 7-day windows"},
		{hep.AlertNonAdherence, hep.PatientSubject, 1, "low adherence in 1 7-day window"},
		{hep.AlertScreeningChanged, hep.PatientSubject, 2, "2 screening changes"},
		{hep.AlertRedFlag, hep.RedFlagSubject("R1"), 1, "1 red-flag report"},
	} {
		if got := hep.AlertPhrase(tt.kind, tt.subject, tt.n); got != tt.want {
			t.Errorf("AlertPhrase(%s, %q, %d) = %q, want %q", tt.kind, tt.subject, tt.n, got, tt.want)
		}
	}
}
