package rpc

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

const (
	kindRedFlag      = hepv1.AlertKind_ALERT_KIND_RED_FLAG
	kindScreening    = hepv1.AlertKind_ALERT_KIND_SCREENING_CHANGED
	kindSuspended    = hepv1.AlertKind_ALERT_KIND_LOGGED_WHILE_SUSPENDED
	kindSevere       = hepv1.AlertKind_ALERT_KIND_PAIN_SEVERE
	kindFlare        = hepv1.AlertKind_ALERT_KIND_PAIN_FLARE
	kindWorsening    = hepv1.AlertKind_ALERT_KIND_PAIN_WORSENING
	kindNonAdherence = hepv1.AlertKind_ALERT_KIND_NON_ADHERENCE
	kindFunction     = hepv1.AlertKind_ALERT_KIND_FUNCTION_WORSENED
	kindOverdue      = hepv1.AlertKind_ALERT_KIND_QUESTIONNAIRE_OVERDUE

	sevUrgent  = hepv1.AlertSeverity_ALERT_SEVERITY_URGENT
	sevRoutine = hepv1.AlertSeverity_ALERT_SEVERITY_ROUTINE
)

// ruleSide is one clinician's patient in an alert rule test: patient A of
// clinician A, and patient B of clinician B with the same data, so that a
// care-team list has another team's alert to leave out.
type ruleSide struct {
	clinician, patientID string
	ph                   *phone
	last                 []*hepv1.Mutation // the last batch pushed
	batches              [][]*hepv1.Mutation
	evals                int    // adherence evaluations run
	assignment           string // a questionnaire assignment of the patient
}

// assignPSFS assigns the side's patient the PSFS, its baseline daysAgo
// days ago (the patient's days), every weeks weeks.
func assignPSFS(e *env, s *ruleSide, daysAgo int, weeks int32) string {
	e.t.Helper()
	start := hep.DateOf(time.Now(), lisbon).AddDays(-daysAgo)
	r, err := hepv1.NewOutcomeServiceClient(e.conn).AssignQuestionnaire(e.as(s.clinician), &hepv1.AssignQuestionnaireRequest{
		PatientId: s.patientID, InstrumentId: "psfs", StartDate: dateToProto(start), EveryWeeks: weeks})
	if err != nil {
		e.t.Fatalf("AssignQuestionnaire: %v", err)
	}
	return r.Assignment.Id
}

// push numbers and pushes records as one batch at the real clock.
func (s *ruleSide) push(muts ...*hepv1.Mutation) {
	s.ph.pushAt(time.Now(), muts...)
	s.last = muts
	s.batches = append(s.batches, muts)
}

// replayAll pushes every batch again with its original numbers: the server
// returns the stored results.
func (s *ruleSide) replayAll(t *testing.T) {
	t.Helper()
	for _, b := range s.batches {
		resp := s.ph.send(time.Now(), b)
		for i, r := range resp.Results {
			if !r.Replayed {
				t.Errorf("replayed mutation %d was not reported replayed", i)
			}
		}
	}
}

// resendAll pushes the records of every batch again as new mutations: the
// same ids with the same content, as a phone that lost its outbox
// acknowledgement would.
func (s *ruleSide) resendAll() {
	var again []*hepv1.Mutation
	for _, b := range s.batches {
		for _, m := range b {
			again = append(again, proto.Clone(m).(*hepv1.Mutation))
		}
	}
	s.ph.pushAt(time.Now(), again...)
}

// alertRule drives one alert rule through the phone (or the evaluator).
type alertRule struct {
	name     string
	kind     hepv1.AlertKind
	severity hepv1.AlertSeverity
	// trigger is the expected Alert.trigger prefix ("" for the clinical-core
	// kinds, which have none).
	trigger string
	// prepare sets the patient up before the triggering data.
	prepare func(e *env, s *ruleSide)
	// fire sends the triggering data.
	fire func(e *env, s *ruleSide)
	// replay repeats the triggering call exactly (nil: replay every push).
	replay func(e *env, s *ruleSide)
	// again sends the same condition again without a replay: after the
	// alert was acknowledged, it must raise nothing.
	again func(e *env, s *ruleSide)
}

func planCatCow(e *env, s *ruleSide) {
	e.t.Helper()
	e.screenAll(s.clinician, s.patientID, absent)
	if _, err := e.setPlan(s.clinician, s.patientID, everyDay()); err != nil {
		e.t.Fatal(err)
	}
}

func resend(_ *env, s *ruleSide) { s.resendAll() }

// adherenceEval evaluates adherence 8 days on (the plan was written today
// and nothing was logged); the evaluation covers every patient at once.
func adherenceEval(day int) func(e *env, s *ruleSide) {
	return func(e *env, s *ruleSide) {
		e.t.Helper()
		if s.patientID != e.patientA {
			return // one evaluation covers both sides
		}
		n, err := e.store.EvaluateAdherence(systemCtx(), time.Now().Add(time.Duration(day)*24*time.Hour))
		if err != nil {
			e.t.Fatalf("EvaluateAdherence: %v", err)
		}
		want := 0
		if s.evals == 0 {
			want = 2 // patients A and B, once
		}
		s.evals++
		if n != want {
			e.t.Errorf("EvaluateAdherence on day %d (run %d) raised %d alerts, want %d", day, s.evals, n, want)
		}
	}
}

var alertRules = []alertRule{
	{
		name: "PainSevereFromCheckin", kind: kindSevere, severity: sevRoutine, trigger: "pain_checkins/",
		fire:  func(e *env, s *ruleSide) { s.push(checkinMutation(0, scoreCheckin(time.Now().Add(-time.Hour), 8))) },
		again: resend,
	},
	{
		name: "PainSevereFromLog", kind: kindSevere, severity: sevRoutine, trigger: "exercise_logs/",
		fire:  func(e *env, s *ruleSide) { s.push(logMutation(0, painLog(time.Now().Add(-time.Hour), 7, 6))) },
		again: resend,
	},
	{
		name: "PainFlare", kind: kindFlare, severity: sevRoutine, trigger: "exercise_logs/",
		fire:  func(e *env, s *ruleSide) { s.push(logMutation(0, painLog(time.Now().Add(-time.Hour), 2, 5))) },
		again: resend,
	},
	{
		// Two weeks of daily check-ins, one push each: 2/10 for a week,
		// then 5/10. The rise passes 2 points once; the episode is alerted
		// once however many check-ins follow.
		name: "PainWorsening", kind: kindWorsening, severity: sevRoutine, trigger: "window/",
		fire: func(e *env, s *ruleSide) {
			now := time.Now()
			for d := -13; d <= 0; d++ {
				score := int32(2)
				if d > -7 {
					score = 5
				}
				s.push(checkinMutation(0, scoreCheckin(dayStart(now, d), score)))
			}
		},
		again: resend,
	},
	{
		name: "NonAdherence", kind: kindNonAdherence, severity: sevRoutine, trigger: "window/",
		prepare: planCatCow,
		fire:    adherenceEval(8),
		replay:  adherenceEval(8),
		again: func(e *env, s *ruleSide) {
			adherenceEval(8)(e, s) // the same days again
			adherenceEval(9)(e, s) // the next day: the same episode
		},
	},
	{
		name: "LoggedWhileSuspended", kind: kindSuspended, severity: sevRoutine, trigger: "exercise_logs/",
		prepare: func(e *env, s *ruleSide) {
			planCatCow(e, s)
			e.screen(s.clinician, s.patientID, answers(pregnancy, present)) // cat-cow needs clearance now
		},
		fire:  func(e *env, s *ruleSide) { s.push(logMutation(0, validLog(newID(), time.Now().Add(-time.Hour)))) },
		again: resend,
	},
	{
		name: "RedFlag", kind: kindRedFlag, severity: sevUrgent,
		fire: func(e *env, s *ruleSide) {
			c := validCheckin(newID(), time.Now().Add(-time.Hour))
			c.RedFlags = []hepv1.RedFlagSymptom{hepv1.RedFlagSymptom_RED_FLAG_SYMPTOM_SADDLE_NUMBNESS}
			s.push(checkinMutation(0, c))
		},
		again: resend,
	},
	{
		name: "FunctionWorsened", kind: kindFunction, severity: sevRoutine, trigger: "questionnaire_responses/",
		prepare: func(e *env, s *ruleSide) { s.assignment = assignPSFS(e, s, 7, 1) },
		fire: func(e *env, s *ruleSide) {
			today := hep.DateOf(time.Now(), lisbon)
			s.push(responseMutation(psfsResponse(newID(), s.assignment, today.AddDays(-7), 6, 6, 6)))
			s.push(responseMutation(psfsResponse(newID(), s.assignment, today, 3, 3, 4)))
		},
		again: resend,
	},
	{
		name: "QuestionnaireOverdue", kind: kindOverdue, severity: sevRoutine, trigger: "slot/",
		prepare: func(e *env, s *ruleSide) { s.assignment = assignPSFS(e, s, 5, 0) },
		fire:    adherenceEval(0),
		replay:  adherenceEval(0),
		again: func(e *env, s *ruleSide) {
			adherenceEval(0)(e, s) // the same day again
			adherenceEval(1)(e, s) // the next day: the same slot
		},
	},
	{
		name: "ScreeningChanged", kind: kindScreening, severity: sevRoutine,
		prepare: planCatCow,
		fire: func(e *env, s *ruleSide) {
			s.push(screeningMutation(0, answers(pregnancy, present)))
		},
		again: resend,
	},
}

// TestAlertRulesFireOnce: each rule, driven end to end through
// SyncService.Push by the patient's phone (NON_ADHERENCE by the evaluator
// with the clock 8 days on), raises exactly one alert on the triggering
// data; replaying the pushes raises nothing; the alert is acknowledged with
// a note (audited); the same condition sent again raises nothing; and a
// clinician's care-team list never shows another team's alert.
func TestAlertRulesFireOnce(t *testing.T) {
	if len(alertRules) != len(hepv1.AlertKind_name)-1+1 { // every kind, PAIN_SEVERE twice
		t.Fatalf("%d rules for %d alert kinds", len(alertRules), len(hepv1.AlertKind_name)-1)
	}
	for _, rc := range alertRules {
		t.Run(rc.name, func(t *testing.T) {
			e := newEnv(t)
			sides := []*ruleSide{
				{clinician: callerClinA, patientID: e.patientA, ph: e.phone(callerPatientA, e.deviceA)},
				{clinician: callerClinB, patientID: e.patientB, ph: e.phone(callerPatientB, e.deviceB)},
			}
			for _, s := range sides {
				if rc.prepare != nil {
					rc.prepare(e, s)
				}
			}
			a, b := sides[0], sides[1]
			before := len(e.alertsOfKind(callerClinA, e.patientA, rc.kind))
			if before != 0 {
				t.Fatalf("%d %v alerts before the triggering data", before, rc.kind)
			}
			for _, s := range sides {
				rc.fire(e, s)
			}

			// Exactly one, as described.
			got := e.alertsOfKind(callerClinA, e.patientA, rc.kind)
			if len(got) != 1 {
				t.Fatalf("%d %v alerts after the triggering data, want 1: %v", len(got), rc.kind, got)
			}
			al := got[0]
			if al.PatientId != e.patientA || al.Severity != rc.severity || al.Status != hepv1.AlertStatus_ALERT_STATUS_OPEN ||
				al.Summary == "" || al.CreateTime == nil {
				t.Errorf("alert = %v", al)
			}
			if rc.trigger == "" && al.Trigger != "" || rc.trigger != "" && !strings.HasPrefix(al.Trigger, rc.trigger) {
				t.Errorf("trigger %q, want prefix %q", al.Trigger, rc.trigger)
			}
			if strings.HasPrefix(rc.trigger, "exercise_logs/") || strings.HasPrefix(rc.trigger, "pain_checkins/") {
				rec := a.last[0]
				id := rec.GetLog().GetId() + rec.GetCheckin().GetId()
				if al.Trigger != rc.trigger+id {
					t.Errorf("trigger %q does not name the record %s", al.Trigger, id)
				}
			}

			// Care-team lists: each clinician sees their own patient's alert
			// and never the other's.
			checkTeamAlerts(t, e, callerClinA, rc.kind, e.patientA, 1)
			checkTeamAlerts(t, e, callerClinB, rc.kind, e.patientB, 1)
			if _, err := e.alerts.ListAlerts(e.as(callerClinB), &hepv1.ListAlertsRequest{PatientId: e.patientA}); status.Code(err) != codes.NotFound {
				t.Errorf("clinician B listing patient A's alerts: %v, want NOT_FOUND", err)
			}

			// Replays raise nothing.
			if rc.replay != nil {
				rc.replay(e, a)
			} else {
				a.replayAll(t)
			}
			if n := len(e.alertsOfKind(callerClinA, e.patientA, rc.kind)); n != 1 {
				t.Errorf("after replaying the pushes: %d %v alerts, want 1", n, rc.kind)
			}

			// Acknowledged with a note, audited.
			_, auditBefore := e.snapshot()
			note := "Called the patient: " + rc.name
			r := e.ack(callerClinA, al, note)
			if r.Alert.Status != hepv1.AlertStatus_ALERT_STATUS_ACKNOWLEDGED || r.Alert.AcknowledgeNote != note ||
				r.Alert.AcknowledgedBy != e.clinAID || r.Alert.AcknowledgeTime == nil || r.Alert.Kind != rc.kind || r.Alert.Trigger != al.Trigger {
				t.Errorf("acknowledged alert = %v", r.Alert)
			}
			if _, auditAfter := e.snapshot(); auditAfter != auditBefore+1 {
				t.Errorf("acknowledging wrote %d audit rows, want 1", auditAfter-auditBefore)
			}
			checkAckAudited(t, e, al)

			// The same condition again raises nothing.
			rc.again(e, a)
			got = e.alertsOfKind(callerClinA, e.patientA, rc.kind)
			if len(got) != 1 || got[0].Id != al.Id || got[0].Status != hepv1.AlertStatus_ALERT_STATUS_ACKNOWLEDGED {
				t.Errorf("after the same data again: %v, want only the acknowledged alert", got)
			}
			// Patient B's is still open and still B's team's only.
			if got := e.alertsOfKind(callerClinB, e.patientB, rc.kind); len(got) != 1 || got[0].Status != hepv1.AlertStatus_ALERT_STATUS_OPEN {
				t.Errorf("patient B's %v alerts = %v", rc.kind, got)
			}
			_ = b
		})
	}
}

// checkTeamAlerts: caller's care-team list of kind holds exactly n alerts,
// all of patientID.
func checkTeamAlerts(t *testing.T, e *env, caller string, kind hepv1.AlertKind, patientID string, n int) {
	t.Helper()
	got := e.listAlerts(caller, &hepv1.ListAlertsRequest{Kinds: []hepv1.AlertKind{kind}})
	if len(got) != n {
		t.Errorf("%s's care-team %v alerts: %d, want %d", caller, kind, len(got), n)
	}
	for _, a := range got {
		if a.PatientId != patientID || a.Kind != kind {
			t.Errorf("%s's care-team list holds %v of patient %s", caller, a.Kind, a.PatientId)
		}
	}
}

// checkAckAudited: the trail holds the acknowledgement of al by clinician
// A, for patient A, naming the alert.
func checkAckAudited(t *testing.T, e *env, al *hepv1.Alert) {
	t.Helper()
	for _, ev := range e.auditEvents() {
		if ev.Action == "alert.acknowledge" && strings.HasSuffix(ev.Resource, "/"+al.Id) {
			if ev.ActorId != e.clinAID || ev.PatientId != al.PatientId || ev.Outcome != hep.OutcomeOK {
				t.Errorf("acknowledgement audit row = %v", ev)
			}
			return
		}
	}
	t.Errorf("no audit row for the acknowledgement of %s", al.Id)
}

// TestListAlertsCareTeam: without patient_id, a clinician lists the alerts
// of every patient on their care team and of no one else, newest first,
// paged, filtered by kinds, severity and status; a page token is bound to
// the clinician and the filters.
func TestListAlertsCareTeam(t *testing.T) {
	e := newEnv(t)
	// Patient C is on both teams.
	c := e.createPatient(callerClinA, "Patient C")
	if _, err := e.patients.AddCareTeamMember(e.as(callerAdmin), &hepv1.AddCareTeamMemberRequest{PatientId: c, ClinicianId: e.clinBID}); err != nil {
		t.Fatal(err)
	}
	red := func(caller, patientID string) string {
		r, err := e.screening.ReportRedFlags(e.as(caller), &hepv1.ReportRedFlagsRequest{PatientId: patientID,
			Symptoms: []hepv1.RedFlagSymptom{hepv1.RedFlagSymptom_RED_FLAG_SYMPTOM_FEVER_WITH_BACK_PAIN}})
		if err != nil {
			t.Fatal(err)
		}
		return r.AlertId
	}
	phA, phB := e.phone(callerPatientA, e.deviceA), e.phone(callerPatientB, e.deviceB)
	redA := red(callerClinA, e.patientA)
	redB := red(callerClinB, e.patientB)
	redC := red(callerClinA, c)
	phA.pushAt(time.Now(), checkinMutation(0, scoreCheckin(time.Now().Add(-time.Minute), 9)))
	phB.pushAt(time.Now(), checkinMutation(0, scoreCheckin(time.Now().Add(-time.Minute), 9)))
	severeA := e.alertsOfKind(callerClinA, e.patientA, kindSevere)
	if len(severeA) != 1 {
		t.Fatalf("patient A's PAIN_SEVERE alerts: %v", severeA)
	}
	e.ack(callerClinA, &hepv1.Alert{PatientId: c, Id: redC}, "Seen in clinic today.")

	ids := func(as []*hepv1.Alert) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.Id)
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		caller string
		req    *hepv1.ListAlertsRequest
		want   []string // newest first
	}{
		{"AAll", callerClinA, &hepv1.ListAlertsRequest{}, []string{severeA[0].Id, redC, redA}},
		{"BAll", callerClinB, &hepv1.ListAlertsRequest{}, nil}, // filled below
		{"AUrgent", callerClinA, &hepv1.ListAlertsRequest{Severity: sevUrgent}, []string{redC, redA}},
		{"ARoutine", callerClinA, &hepv1.ListAlertsRequest{Severity: sevRoutine}, []string{severeA[0].Id}},
		{"AOpen", callerClinA, &hepv1.ListAlertsRequest{Status: hepv1.AlertStatus_ALERT_STATUS_OPEN}, []string{severeA[0].Id, redA}},
		{"AOpenRedFlags", callerClinA, &hepv1.ListAlertsRequest{Status: hepv1.AlertStatus_ALERT_STATUS_OPEN, Kinds: []hepv1.AlertKind{kindRedFlag}}, []string{redA}},
		{"AKinds", callerClinA, &hepv1.ListAlertsRequest{Kinds: []hepv1.AlertKind{kindSevere, kindRedFlag}}, []string{severeA[0].Id, redC, redA}},
		{"ANoMatch", callerClinA, &hepv1.ListAlertsRequest{Kinds: []hepv1.AlertKind{kindFlare}}, nil},
		{"AOnePatient", callerClinA, &hepv1.ListAlertsRequest{PatientId: c}, []string{redC}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := e.listAlerts(tc.caller, tc.req)
			if tc.name == "BAll" {
				for _, a := range got {
					if a.PatientId == e.patientA {
						t.Errorf("clinician B sees patient A's alert %v", a)
					}
				}
				var want []string
				for _, a := range got {
					want = append(want, a.Id)
				}
				if !contains(want, redB) || !contains(want, redC) || contains(want, redA) {
					t.Errorf("clinician B's list = %v; want B's and C's alerts", got)
				}
				return
			}
			if fmt.Sprint(ids(got)) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", ids(got), tc.want)
			}
			// One page holds the same as pages of one.
			one := proto.Clone(tc.req).(*hepv1.ListAlertsRequest)
			one.PageSize = 1
			if paged := e.listAlerts(tc.caller, one); fmt.Sprint(ids(paged)) != fmt.Sprint(ids(got)) {
				t.Errorf("pages of 1: %v, want %v", ids(paged), ids(got))
			}
		})
	}

	// A page token is bound to the clinician and the filters.
	first, err := e.alerts.ListAlerts(e.as(callerClinA), &hepv1.ListAlertsRequest{PageSize: 1})
	if err != nil || first.NextPageToken == "" {
		t.Fatalf("first page: %v, %v", first, err)
	}
	for name, tc := range map[string]struct {
		caller string
		req    *hepv1.ListAlertsRequest
	}{
		"other clinician": {callerClinB, &hepv1.ListAlertsRequest{PageToken: first.NextPageToken}},
		"one patient":     {callerClinA, &hepv1.ListAlertsRequest{PatientId: e.patientA, PageToken: first.NextPageToken}},
		"other kinds":     {callerClinA, &hepv1.ListAlertsRequest{Kinds: []hepv1.AlertKind{kindRedFlag}, PageToken: first.NextPageToken}},
		"other severity":  {callerClinA, &hepv1.ListAlertsRequest{Severity: sevUrgent, PageToken: first.NextPageToken}},
	} {
		_, err := e.alerts.ListAlerts(e.as(tc.caller), tc.req)
		if status.Code(err) != codes.InvalidArgument || !violationMentions(err, "page_token") {
			t.Errorf("%s: %v, want INVALID_ARGUMENT on page_token", name, err)
		}
	}
	// The order of kinds does not matter to a token.
	k1, err := e.alerts.ListAlerts(e.as(callerClinA), &hepv1.ListAlertsRequest{PageSize: 1, Kinds: []hepv1.AlertKind{kindSevere, kindRedFlag}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.alerts.ListAlerts(e.as(callerClinA), &hepv1.ListAlertsRequest{PageSize: 1, Kinds: []hepv1.AlertKind{kindRedFlag, kindSevere}, PageToken: k1.NextPageToken}); err != nil {
		t.Errorf("kinds in another order refuse the token: %v", err)
	}
}

// TestListAlertsTeamAccess: the care-team form of ListAlerts (no
// patient_id) for every caller of the access matrix: clinicians get their
// own team's, everyone else what the method's row says.
func TestListAlertsTeamAccess(t *testing.T) {
	e := newEnv(t)
	if _, err := e.screening.ReportRedFlags(e.as(callerPatientA), &hepv1.ReportRedFlagsRequest{
		Symptoms: []hepv1.RedFlagSymptom{hepv1.RedFlagSymptom_RED_FLAG_SYMPTOM_SADDLE_NUMBNESS}}); err != nil {
		t.Fatal(err)
	}
	for _, caller := range matrixOrder {
		want := map[string]codes.Code{
			callerNone: codes.Unauthenticated, callerExpired: codes.Unauthenticated, callerRevokedDv: codes.Unauthenticated,
			callerPatientA: codes.PermissionDenied, callerPatientB: codes.PermissionDenied, callerAdmin: codes.PermissionDenied,
			callerClinA: codes.OK, callerClinB: codes.OK,
		}[caller]
		r, err := e.alerts.ListAlerts(e.as(caller), &hepv1.ListAlertsRequest{})
		if status.Code(err) != want {
			t.Errorf("%s: %v, want %v", caller, err, want)
			continue
		}
		for _, a := range r.GetAlerts() {
			if caller != callerClinA || a.PatientId != e.patientA {
				t.Errorf("%s sees %v", caller, a)
			}
		}
		if caller == callerClinA && len(r.GetAlerts()) != 1 {
			t.Errorf("clinician A's team alerts = %v, want patient A's red flag", r.GetAlerts())
		}
	}
}
