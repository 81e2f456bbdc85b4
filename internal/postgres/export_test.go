package postgres

import (
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/export/exporttest"
	"github.com/hepclinic/hep/internal/hep"
)

// exportFixture builds the rich fixture in a fresh store.
func exportFixture(t *testing.T) (*Store, *exporttest.Fixture) {
	t.Helper()
	var s *Store
	f := exporttest.Build(t, func(clock hep.Clock) hep.Store {
		s = openTest(t, newURL(t), WithClock(clock))
		return s
	})
	return s, f
}

// TestExportSnapshot checks every field of a snapshot against the store's
// own lists, the range bounds in the patient's zone (across a change to
// summer time), the audit row, NOT_FOUND and the range check.
func TestExportSnapshot(t *testing.T) {
	s, f := exportFixture(t)
	ctx, pid := f.Doctor, f.Patient.ID
	before := s.lastAuditSeq(t)
	snap, err := s.ExportSnapshot(ctx, pid, f.From, f.To, "FHIR")
	if err != nil {
		t.Fatal(err)
	}

	// One audit row, naming the export and its format.
	evs := s.auditSince(t, before)
	if len(evs) != 1 || evs[0].Resource != "patients/"+pid+"/export" || evs[0].Action != "export.export:FHIR" ||
		evs[0].PatientID != pid || evs[0].ActorID != f.Clinician.ID || evs[0].Outcome != hep.OutcomeOK {
		t.Errorf("audit rows %+v, want one export row", evs)
	}

	// The range: midnight in Berlin, winter (UTC+1) to summer (UTC+2).
	if want := time.Date(2030, 3, 17, 23, 0, 0, 0, time.UTC); !snap.Start.Equal(want) {
		t.Errorf("Start = %v, want %v", snap.Start, want)
	}
	if want := time.Date(2030, 4, 14, 22, 0, 0, 0, time.UTC); !snap.End.Equal(want) {
		t.Errorf("End = %v, want %v", snap.End, want)
	}
	if snap.Patient.ID != pid || snap.Patient.ExternalMRN != "MRN-0042" || snap.From != f.From || snap.To != f.To {
		t.Errorf("patient or range: %+v %v %v", snap.Patient, snap.From, snap.To)
	}
	if snap.Actor.ID != f.Clinician.ID || !snap.GenerateTime.Equal(f.Clock.UTC()) {
		t.Errorf("actor %+v at %v, want %s at %v", snap.Actor, snap.GenerateTime, f.Clinician.ID, f.Clock)
	}

	// Plans: version 1 (in force on From) and 2, as GetPlan has them.
	if len(snap.Plans) != 2 {
		t.Fatalf("plans: %d versions, want 2", len(snap.Plans))
	}
	for i, pl := range snap.Plans {
		want, err := s.GetPlan(ctx, pid, int64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		if pl.Version != want.Version || !pl.CreateTime.Equal(want.CreateTime) || pl.Note != want.Note ||
			len(pl.Items) != len(want.Items) {
			t.Errorf("plan %d: %+v, want %+v", i+1, pl, want)
		}
		for j := range pl.Items {
			a, b := pl.Items[j], want.Items[j]
			if a.Spec.ExerciseID != b.Spec.ExerciseID || a.State != b.State || !slices.Equal(a.StateReasons, b.StateReasons) {
				t.Errorf("plan %d item %d: %+v, want %+v", i+1, j, a, b)
			}
		}
	}
	suspended := 0
	for _, it := range snap.Plans[1].Items {
		if it.State == hep.ItemSuspended {
			suspended++
		}
	}
	if suspended != 2 {
		t.Errorf("plan 2 has %d suspended items, want 2 (child's pose and traction)", suspended)
	}

	// Lists: the store's own lists, cut to the range, oldest first.
	history, err := s.ListScreeningHistory(ctx, hep.ScreeningFilter{PatientID: pid})
	if err != nil {
		t.Fatal(err)
	}
	var wantAnswers []string
	for _, a := range history {
		if a.RecordTime.Before(snap.End) {
			wantAnswers = append(wantAnswers, a.ID)
		}
	}
	slices.Reverse(wantAnswers)
	checkIDs(t, "screening", ids(snap.Screening, func(a hep.ScreeningAnswer) string { return a.ID }), wantAnswers)

	trail, err := s.ListGatingDecisions(ctx, hep.DecisionFilter{PatientID: pid})
	if err != nil {
		t.Fatal(err)
	}
	var wantDecisions []string
	for _, g := range trail {
		if !g.DecideTime.Before(snap.Start) && g.DecideTime.Before(snap.End) {
			wantDecisions = append(wantDecisions, g.ID)
		}
	}
	slices.Reverse(wantDecisions)
	checkIDs(t, "decisions", ids(snap.Decisions, func(g hep.GatingDecision) string { return g.ID }), wantDecisions)
	causes := map[hep.DecisionCause]int{}
	for _, g := range snap.Decisions {
		causes[g.Cause]++
	}
	for _, c := range []hep.DecisionCause{hep.CausePlanWritten, hep.CauseScreeningChanged, hep.CauseClearance, hep.CausePlanRefused} {
		if causes[c] == 0 {
			t.Errorf("no decision with cause %s in the range: %v", c, causes)
		}
	}

	cls, err := s.ListClearances(ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	var wantClearances []string
	for _, c := range cls {
		if c.CreateTime.Before(snap.End) {
			wantClearances = append(wantClearances, c.ID)
		}
	}
	slices.Reverse(wantClearances)
	checkIDs(t, "clearances", ids(snap.Clearances, func(c hep.Clearance) string { return c.ID }), wantClearances)
	if len(snap.Clearances) != 3 {
		t.Errorf("%d clearances, want 3", len(snap.Clearances))
	}

	alerts, err := s.ListAlerts(ctx, hep.AlertFilter{PatientID: pid})
	if err != nil {
		t.Fatal(err)
	}
	var wantAlerts []string
	acked := 0
	for _, a := range alerts {
		if !a.CreateTime.Before(snap.Start) && a.CreateTime.Before(snap.End) {
			wantAlerts = append(wantAlerts, a.ID)
			if a.Status == hep.AlertAcknowledged {
				acked++
			}
		}
	}
	slices.Reverse(wantAlerts)
	checkIDs(t, "alerts", ids(snap.Alerts, func(a hep.Alert) string { return a.ID }), wantAlerts)
	if acked == 0 {
		t.Error("no acknowledged alert in the range")
	}

	for _, id := range []string{"cat-cow", "childs-pose", "traction-machine", "overhead-stretch", "inversion-table"} {
		if snap.Exercises[id].ID != id {
			t.Errorf("exercise %s missing from the snapshot", id)
		}
	}

	// Counts: the live logs and check-ins of the range.
	logs, err := s.ListExerciseLogs(ctx, hep.LogFilter{PatientID: pid, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	var inLogs int64
	for _, l := range logs {
		if !l.CorrectedPerformTime.Before(snap.Start) && l.CorrectedPerformTime.Before(snap.End) {
			inLogs++
		}
	}
	checkins, err := s.ListPainCheckins(ctx, hep.LogFilter{PatientID: pid, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	var inCheckins int64
	for _, c := range checkins {
		if !c.CorrectedRecordTime.Before(snap.Start) && c.CorrectedRecordTime.Before(snap.End) {
			inCheckins++
		}
	}
	if snap.LogCount != inLogs || snap.CheckinCount != inCheckins || inLogs == 0 || inCheckins == 0 {
		t.Errorf("counts: %d logs, %d check-ins; the store has %d and %d in the range", snap.LogCount, snap.CheckinCount, inLogs, inCheckins)
	}

	// Names: every account the record names, and the exporter.
	if len(snap.Names) != 1 || snap.Names[f.Clinician.ID] != "Dr Rivera" {
		t.Errorf("names %v, want the clinician's", snap.Names)
	}

	// Facts. A FHIR (or CSV) snapshot streams the rows: its facts hold the
	// plans and names but no row; the PDF's hold every row of the range,
	// and both have the same counts, plans and lists.
	if fa := snap.Facts; len(fa.Versions) != 2 || fa.Current.Version != 2 || len(fa.Logs) != 0 || len(fa.Checkins) != 0 ||
		fa.Names["cat-cow"] == "" || len(fa.ActivityDays) != 0 {
		t.Errorf("FHIR facts: %d versions, current %d, %d logs, %d check-ins, %d activity days, names %v",
			len(fa.Versions), fa.Current.Version, len(fa.Logs), len(fa.Checkins), len(fa.ActivityDays), fa.Names)
	}
	pdf, err := s.ExportSnapshot(ctx, pid, f.From, f.To, "PDF")
	if err != nil {
		t.Fatal(err)
	}
	if pdf.LogCount != snap.LogCount || pdf.CheckinCount != snap.CheckinCount || len(pdf.Plans) != len(snap.Plans) ||
		len(pdf.Decisions) != len(snap.Decisions) || len(pdf.Exercises) != len(snap.Exercises) || len(pdf.Names) != len(snap.Names) ||
		!reflect.DeepEqual(pdf.Facts.Versions, snap.Facts.Versions) || !reflect.DeepEqual(pdf.Facts.Suspensions, snap.Facts.Suspensions) ||
		!reflect.DeepEqual(pdf.Facts.Current, snap.Facts.Current) {
		t.Errorf("PDF and FHIR snapshots differ beyond the row facts")
	}
	fa := pdf.Facts
	if len(fa.Versions) != 2 || fa.Current.Version != 2 || int64(len(fa.Logs)) != inLogs || int64(len(fa.Checkins)) != inCheckins {
		t.Errorf("facts: %d versions, current %d, %d logs, %d check-ins", len(fa.Versions), fa.Current.Version, len(fa.Logs), len(fa.Checkins))
	}
	var childs []hep.SuspensionInterval
	for _, si := range fa.Suspensions {
		if si.ExerciseID == "childs-pose" {
			childs = append(childs, si)
		}
	}
	reported := time.Date(2030, 3, 28, 17, 0, 0, 0, time.UTC) // 18:00 in Berlin
	if len(childs) != 1 || childs[0].PlanVersion != 2 || !childs[0].To.IsZero() ||
		childs[0].From.Before(reported) || !childs[0].From.Before(reported.Add(time.Minute)) {
		t.Errorf("child's pose suspensions: %+v, want one open interval of version 2 from 2030-03-28 17:00 UTC", childs)
	}
	if len(fa.ActivityDays) == 0 || fa.ActivityDays[0] != (hep.Date{Year: 2030, Month: 4, Day: 10}) ||
		!sort.SliceIsSorted(fa.ActivityDays, func(i, j int) bool { return fa.ActivityDays[j].Before(fa.ActivityDays[i]) }) {
		t.Errorf("activity days not newest first: %v", fa.ActivityDays)
	}
	if want := time.Date(2030, 4, 10, 17, 0, 0, 0, time.UTC); !fa.LastActivity.Equal(want) {
		t.Errorf("last activity %v, want %v", fa.LastActivity, want)
	}
	if fa.Names["cat-cow"] == "" || snap.Thresholds != hep.DefaultThresholds() {
		t.Errorf("names %v, thresholds %+v", fa.Names, snap.Thresholds)
	}
	p := hep.ComputeProgress(fa, snap.Thresholds, snap.GenerateTime)
	if p.Adherence.Prescribed == 0 || p.Adherence.Completed == 0 || p.PainChange != hep.PainChangeImproved {
		t.Errorf("progress of the facts: %+v, pain %s", p.Adherence, p.PainChange)
	}

	// Nothing of the other patient.
	for _, a := range snap.Screening {
		if a.PatientID != pid {
			t.Errorf("answer of %s", a.PatientID)
		}
	}
	for _, g := range snap.Decisions {
		if g.PatientID != pid {
			t.Errorf("decision of %s", g.PatientID)
		}
	}
	for _, c := range snap.Clearances {
		if c.PatientID != pid {
			t.Errorf("clearance of %s", c.PatientID)
		}
	}

	// The clinic's thresholds, once set, are the snapshot's.
	if _, err := s.db.ExecContext(ctx, `INSERT INTO clinic_settings (id, severe_pain, flare_increase, worsening_increase,
		non_adherence_percent, adherent_percent, mcid_points, mcid_percent, inactive_days, updated_by, update_time)
		VALUES (1, 8, 3, 2.5, 40, 75, 1.5, 25, 5, 'x', '2030-04-20T10:00:00.000000000Z')`); err != nil {
		t.Fatal(err)
	}
	if again, err := s.ExportSnapshot(ctx, pid, f.From, f.To, "PDF"); err != nil || again.Thresholds != (hep.Thresholds{SeverePain: 8,
		FlareIncrease: 3, WorseningIncrease: 2.5, NonAdherencePercent: 40, AdherentPercent: 75, MCIDPoints: 1.5, MCIDPercent: 25,
		InactiveDays: 5}) {
		t.Errorf("thresholds after setting them: %+v, %v", again.Thresholds, err)
	}

	// Errors: NOT_FOUND writes nothing; a bad range is INVALID_ARGUMENT.
	before = s.lastAuditSeq(t)
	if _, err := s.ExportSnapshot(ctx, "0190aaaa-0000-7000-8000-000000000000", f.From, f.To, "CSV"); hep.ErrorCode(err) != hep.CodeNotFound {
		t.Errorf("unknown patient: %v", err)
	}
	if _, err := s.ExportSnapshot(ctx, pid, f.To, f.From, "CSV"); hep.ErrorCode(err) != hep.CodeInvalid {
		t.Errorf("reversed range: %v", err)
	}
	if _, err := s.ExportSnapshot(ctx, pid, hep.Date{Year: 2020, Month: 1, Day: 1}, f.To, "CSV"); hep.ErrorCode(err) != hep.CodeInvalid {
		t.Errorf("a range of more than %d days: %v", hep.MaxExportDays, err)
	}
	if _, err := s.ExportSnapshot(ctx, pid, hep.Date{Year: 2030, Month: 2, Day: 30}, f.To, "CSV"); hep.ErrorCode(err) != hep.CodeInvalid {
		t.Errorf("February 30: %v", err)
	}
	if n := len(s.auditSince(t, before)); n != 0 {
		t.Errorf("failed exports wrote %d audit rows", n)
	}

	// Defaults: to is the patient's today (the clock is 2030-04-20 12:00 in
	// Berlin), from the 90th day back; a given from with an unset to.
	def, err := s.ExportSnapshot(ctx, pid, hep.Date{}, hep.Date{}, "CSV")
	if err != nil || def.To != (hep.Date{Year: 2030, Month: 4, Day: 20}) || def.From != (hep.Date{Year: 2030, Month: 1, Day: 21}) ||
		def.From.DaysUntil(def.To)+1 != hep.DefaultExportDays {
		t.Errorf("default range %s to %s, %v", def.From, def.To, err)
	}
	if def, err := s.ExportSnapshot(ctx, pid, f.From, hep.Date{}, "CSV"); err != nil || def.From != f.From || def.To != (hep.Date{Year: 2030, Month: 4, Day: 20}) {
		t.Errorf("from without to: %s to %s, %v", def.From, def.To, err)
	}
	if _, err := s.ExportSnapshot(ctx, pid, hep.Date{Year: 2030, Month: 5, Day: 1}, hep.Date{}, "CSV"); hep.ErrorCode(err) != hep.CodeInvalid {
		t.Errorf("from after the patient's today with to unset: %v", err)
	}
}

// TestExportPages pages through logs and check-ins: every live row of the
// range exactly once in (time, id) order, whatever the page size (ties on
// the time included), nothing deleted, superseded, out of range or of the
// other patient, and no read transaction left open between pages.
func TestExportPages(t *testing.T) {
	s, f := exportFixture(t)
	// Two sessions at the same instant: the cursor's id breaks the tie.
	tie := time.Date(2030, 4, 6, 9, 0, 0, 0, f.Zone)
	f.Push(f.Log("cat-cow", 2, tie, "tie a"))
	f.Push(f.Log("cat-cow", 2, tie, "tie b"))
	snap, err := s.ExportSnapshot(f.Doctor, f.Patient.ID, f.From, f.To, "CSV")
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.ListExerciseLogs(f.Doctor, hep.LogFilter{PatientID: f.Patient.ID, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, l := range all {
		if !l.CorrectedPerformTime.Before(snap.Start) && l.CorrectedPerformTime.Before(snap.End) {
			want = append(want, l.ID)
		}
	}
	slices.Reverse(want) // ListExerciseLogs is newest first with the same key
	allC, err := s.ListPainCheckins(f.Doctor, hep.LogFilter{PatientID: f.Patient.ID, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	var wantC []string
	for _, c := range allC {
		if !c.CorrectedRecordTime.Before(snap.Start) && c.CorrectedRecordTime.Before(snap.End) {
			wantC = append(wantC, c.ID)
		}
	}
	slices.Reverse(wantC)

	for _, size := range []int{1, 2, 7, 1000} {
		var got []string
		var after hep.ExportCursor
		for {
			page, err := s.ExportLogs(t.Context(), f.Patient.ID, snap.Start, snap.End, after, size)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range page {
				if l.PatientID != f.Patient.ID {
					t.Fatalf("a log of %s", l.PatientID)
				}
				got = append(got, l.ID)
				after = hep.ExportCursor{Time: l.CorrectedPerformTime, ID: l.ID}
			}
			s.checkNoReader(t)
			if len(page) < size {
				break
			}
		}
		checkIDs(t, "logs", got, want)

		got = nil
		after = hep.ExportCursor{}
		for {
			page, err := s.ExportCheckins(t.Context(), f.Patient.ID, snap.Start, snap.End, after, size)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range page {
				got = append(got, c.ID)
				after = hep.ExportCursor{Time: c.CorrectedRecordTime, ID: c.ID}
			}
			if len(page) < size {
				break
			}
		}
		checkIDs(t, "check-ins", got, wantC)
	}

	// Bounds: start is in, end is out.
	page, err := s.ExportLogs(t.Context(), f.Patient.ID, tie, tie.Add(time.Nanosecond), hep.ExportCursor{}, 10)
	if err != nil || len(page) != 2 {
		t.Errorf("[tie, tie+1ns): %d logs, %v; want the two at the tie", len(page), err)
	}
	page, err = s.ExportLogs(t.Context(), f.Patient.ID, tie.Add(-time.Minute), tie, hep.ExportCursor{}, 10)
	if err != nil || len(page) != 0 {
		t.Errorf("[tie-1min, tie): %d logs, %v; want none", len(page), err)
	}
}

// checkNoReader fails if a transaction of the store is open: a page is
// one statement, and no snapshot may outlive it.
func (s *Store) checkNoReader(t *testing.T) {
	t.Helper()
	var n int
	if err := s.db.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d transactions are open between pages", n)
	}
}

// lastAuditSeq is the head of the reads chain, where exports are audited.
func (s *Store) lastAuditSeq(t *testing.T) int64 {
	t.Helper()
	var n int64
	if err := s.db.QueryRowContext(t.Context(), "SELECT COALESCE(MAX(seq), 0) FROM audit_reads").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (s *Store) auditSince(t *testing.T, seq int64) []hep.AuditEvent {
	t.Helper()
	evs, err := queryAll(t.Context(), s.db, scanAudit, "SELECT "+auditColumns+" FROM audit_reads WHERE seq > $1 ORDER BY seq", seq)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func ids[T any](xs []T, id func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = id(x)
	}
	return out
}

func checkIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: got %d %v, want %d %v", what, len(got), got, len(want), want)
	}
}
