package rpc

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestGetProgress: the range defaults (the patient's today, 28 days), the
// figures of a plan written today with one session and one check-in
// logged through sync, explicit and half-open ranges, suspended items with
// their reasons, and the audit trail. The arithmetic itself is the
// domain's, tested there on hand-computed fixtures.
func TestGetProgress(t *testing.T) {
	e := newEnv(t)
	planCatCow(e, &ruleSide{clinician: callerClinA, patientID: e.patientA})
	now := time.Now()
	ph := e.phone(callerPatientA, e.deviceA)
	performed := now.Add(-time.Minute)
	ph.pushAt(now, logMutation(0, painLog(performed, 4, 3)), checkinMutation(0, scoreCheckin(performed, 3)))

	today := hep.DateOf(now, lisbon)
	if hep.DateOf(performed, lisbon) != today {
		t.Skip("the test ran across the patient's midnight")
	}
	get := func(from, to hep.Date) *hepv1.Progress {
		t.Helper()
		r, err := e.review.GetProgress(e.as(callerClinA), &hepv1.GetProgressRequest{PatientId: e.patientA, From: dateToProto(from), To: dateToProto(to)})
		if err != nil {
			t.Fatalf("GetProgress(%v, %v): %v", from, to, err)
		}
		return r.Progress
	}
	_, auditBefore := e.snapshot()
	p := get(hep.Date{}, hep.Date{})
	if _, auditAfter := e.snapshot(); auditAfter <= auditBefore {
		t.Error("GetProgress wrote no audit row")
	}
	if !proto.Equal(p.From, dateToProto(today.AddDays(-27))) || !proto.Equal(p.To, dateToProto(today)) {
		t.Errorf("default range %v..%v, want %v..%v", p.From, p.To, today.AddDays(-27), today)
	}
	if p.PatientId != e.patientA || p.TimeZone != "Europe/Lisbon" || !proto.Equal(p.Thresholds, thresholdsToProto(hep.DefaultThresholds())) {
		t.Errorf("progress header = %v %v %v", p.PatientId, p.TimeZone, p.Thresholds)
	}
	if len(p.Weeks) < 4 || len(p.Weeks) > 5 || !proto.Equal(p.Weeks[0].Start, p.From) || !proto.Equal(p.Weeks[len(p.Weeks)-1].End, p.To) {
		t.Errorf("weeks %v do not cover the range", p.Weeks)
	}
	// One session prescribed (today, the plan's first day), one done.
	wantAdh := &hepv1.Adherence{Prescribed: 1, Completed: 1, Percent: 100, Adherent: true, Logged: 1}
	if !proto.Equal(p.Adherence, wantAdh) {
		t.Errorf("adherence = %v, want %v", p.Adherence, wantAdh)
	}
	last := p.Weeks[len(p.Weeks)-1]
	if !proto.Equal(last.Adherence, wantAdh) || last.Checkins != 1 || last.PainMean != 3 || last.PainMedian != 3 {
		t.Errorf("this week = %v", last)
	}
	if p.BaselineWeek != int32(len(p.Weeks)-1) || p.PainChange != hepv1.PainChange_PAIN_CHANGE_UNSPECIFIED {
		t.Errorf("baseline week %d, change %v; want the last week and no change yet", p.BaselineWeek, p.PainChange)
	}
	// The MCID band around a baseline of 3: a fall of 0.9 (30%) and a rise
	// of 2 points (the default thresholds).
	if p.McidFall != 0.9 || p.McidRise != 2 {
		t.Errorf("MCID band %v/%v, want 0.9/2", p.McidFall, p.McidRise)
	}
	if len(p.Items) != 1 {
		t.Fatalf("items = %v", p.Items)
	}
	it := p.Items[0]
	if it.ExerciseId != catCow || it.ExerciseName == "" || !proto.Equal(it.Adherence, wantAdh) || len(it.Weekly) != len(p.Weeks) ||
		it.ScoredSessions != 1 || it.MeanPainResponse != -1 || it.Flares != 0 || it.SuspendedDays != 0 {
		t.Errorf("item = %v", it)
	}
	if p.DaysSinceActivity != 0 || p.StreakDays != 1 || p.LastActivityTime == nil || len(p.PlanVersions) != 1 || p.PlanVersions[0] != 1 ||
		len(p.SuspendedItems) != 0 || p.RedFlagHold {
		t.Errorf("activity %d, streak %d, last %v, versions %v, suspended %v, hold %v",
			p.DaysSinceActivity, p.StreakDays, p.LastActivityTime, p.PlanVersions, p.SuspendedItems, p.RedFlagHold)
	}

	// From only: to is today. To only: the 28 days before it, which hold
	// nothing yet.
	if p := get(today.AddDays(-6), hep.Date{}); !proto.Equal(p.To, dateToProto(today)) || !proto.Equal(p.Adherence, wantAdh) {
		t.Errorf("from only: %v..%v, %v", p.From, p.To, p.Adherence)
	}
	yesterday := today.AddDays(-1)
	p = get(hep.Date{}, yesterday)
	if !proto.Equal(p.From, dateToProto(yesterday.AddDays(-27))) || p.Adherence.Prescribed != 0 || p.Adherence.Percent != 0 ||
		p.Adherence.Adherent || p.DaysSinceActivity != -1 || p.BaselineWeek != -1 || len(p.PlanVersions) != 0 || p.McidFall != 0 || p.McidRise != 0 {
		t.Errorf("to only (yesterday): %v", p)
	}
	// One day.
	if p := get(today, today); len(p.Weeks) != 1 || !proto.Equal(p.Adherence, wantAdh) {
		t.Errorf("today only: %v", p)
	}
	// The longest range.
	if p := get(today.AddDays(-365), today); len(p.Weeks) < 52 {
		t.Errorf("366 days: %d weeks", len(p.Weeks))
	}

	// A screening change suspends cat-cow: progress says why.
	e.screen(callerClinA, e.patientA, answers(pregnancy, present))
	p = get(hep.Date{}, hep.Date{})
	if len(p.SuspendedItems) != 1 || p.SuspendedItems[0].ExerciseId != catCow || p.SuspendedItems[0].Since == nil ||
		!hasReason(p.SuspendedItems[0].Reasons, pregnancy, hepv1.GateOutcome_GATE_OUTCOME_NEEDS_CLEARANCE) {
		t.Errorf("suspended items = %v", p.SuspendedItems)
	}

	// Every read is in the trail as review.progress for patient A.
	n := 0
	for _, ev := range e.auditEvents() {
		if ev.Action == "review.progress" {
			n++
			if ev.PatientId != e.patientA || ev.ActorId != e.clinAID || ev.Outcome != hep.OutcomeOK {
				t.Errorf("progress audit row = %v", ev)
			}
		}
	}
	if n < 6 {
		t.Errorf("%d review.progress audit rows for 6 reads", n)
	}
}
