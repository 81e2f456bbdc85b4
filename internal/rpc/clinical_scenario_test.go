package rpc

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestGateRefusesContraindicatedDevice: with osteoporosis PRESENT, a plan
// holding the inversion table is refused with the reason, and the refusal
// is kept in the decision trail.
func TestGateRefusesContraindicatedDevice(t *testing.T) {
	e := newEnv(t)
	e.screenAll(callerClinA, e.patientA, absent)
	e.screen(callerClinA, e.patientA, answers(osteoporosis, present))
	// Even with the device's standing clearance, osteoporosis forbids it.
	if _, err := e.clear(callerClinA, e.patientA, inversionTable, noFlag); err != nil {
		t.Fatal(err)
	}
	before, _ := e.snapshot()

	_, err := e.setPlan(callerClinA, e.patientA, item(childsPose), item(inversionTable))
	if status.Code(err) != codes.FailedPrecondition || reasonOf(err) != hep.ReasonGateBlocked {
		t.Fatalf("SetPlan: %v, want FAILED_PRECONDITION GATE_BLOCKED", err)
	}
	if !violationMentions(err, "items[1]", "CONTRAINDICATED", "OSTEOPOROSIS", inversionTable) {
		t.Errorf("violations %v do not name items[1] and OSTEOPOROSIS", violations(err))
	}
	// cat-cow family entries need clearance for osteoporosis: childs-pose is
	// blocked too, for its own reason.
	if !violationMentions(err, "items[0]", "NEEDS_CLEARANCE", "OSTEOPOROSIS") {
		t.Errorf("violations %v do not name items[0]", violations(err))
	}
	if p := e.plan(callerClinA, e.patientA); p.Version != 0 || len(p.Items) != 0 {
		t.Errorf("a refused plan was written: %v", p)
	}
	// The refusal is kept, and nothing else changed... except that trail.
	ds, err := e.plans.ListGatingDecisions(e.as(callerClinA), &hepv1.ListGatingDecisionsRequest{PatientId: e.patientA})
	if err != nil {
		t.Fatal(err)
	}
	var refused *hepv1.GatingDecision
	for _, d := range ds.Decisions {
		if d.Cause == hepv1.DecisionCause_DECISION_CAUSE_PLAN_REFUSED && d.Decision.ExerciseId == inversionTable {
			refused = d
		}
	}
	if refused == nil {
		t.Fatalf("no PLAN_REFUSED decision for %s in %v", inversionTable, ds.Decisions)
	}
	if refused.Decision.Outcome != hepv1.GateOutcome_GATE_OUTCOME_CONTRAINDICATED ||
		!hasReason(refused.Decision.Reasons, osteoporosis, hepv1.GateOutcome_GATE_OUTCOME_CONTRAINDICATED) ||
		refused.ActorId != e.clinAID || refused.PlanVersion != 0 || len(refused.ScreeningAnswerIds) == 0 {
		t.Errorf("refused decision = %v", refused)
	}
	if after, _ := e.snapshot(); after == before {
		t.Error("the refused decisions were not kept")
	}
	// CheckPlan says the same without writing.
	chk, err := e.plans.CheckPlan(e.as(callerClinA), &hepv1.CheckPlanRequest{PatientId: e.patientA, Items: []*hepv1.PlanItemSpec{item(inversionTable)}})
	if err != nil || chk.Writable || chk.Decisions[0].Outcome != hepv1.GateOutcome_GATE_OUTCOME_CONTRAINDICATED {
		t.Errorf("CheckPlan = %v, %v", chk, err)
	}
}

// TestScreeningChangeSuspendsAndClearances walks pregnancy through a plan:
// reported by the device, it suspends items at once; a clearance lifts a
// NEEDS_CLEARANCE but never a contraindication; answered ABSENT again, the
// clearance given for it ends.
func TestScreeningChangeSuspendsAndClearances(t *testing.T) {
	e := newEnv(t)
	e.screenAll(callerClinA, e.patientA, absent)
	standing, err := e.clear(callerClinA, e.patientA, inversionTable, noFlag)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.setPlan(callerClinA, e.patientA, item(catCow), item(inversionTable))
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != 1 || stateOf(p, catCow) != active || stateOf(p, inversionTable) != active {
		t.Fatalf("new plan = %v", p)
	}

	// The patient's phone reports a pregnancy.
	r := e.screen(callerPatientA, "", answers(pregnancy, present))
	if got := strings.Join(r.ChangedItems, ","); !strings.Contains(got, catCow) || !strings.Contains(got, inversionTable) {
		t.Errorf("changed items = %v", r.ChangedItems)
	}
	if a := r.Current[0]; a.Flag != pregnancy || a.Status != present || a.Source != hepv1.AnswerSource_ANSWER_SOURCE_PATIENT_REPORTED || a.RecordedBy != e.deviceA {
		t.Errorf("current pregnancy answer = %v (device %s, clinician %s)", a, e.deviceA, e.clinAID)
	}
	p = e.plan(callerPatientA, "")
	cc, it := itemOf(p, catCow), itemOf(p, inversionTable)
	if cc.State != suspended || !hasReason(cc.StateReasons, pregnancy, hepv1.GateOutcome_GATE_OUTCOME_NEEDS_CLEARANCE) {
		t.Errorf("cat-cow after pregnancy = %v", cc)
	}
	if it.State != suspended || !hasReason(it.StateReasons, pregnancy, hepv1.GateOutcome_GATE_OUTCOME_CONTRAINDICATED) {
		t.Errorf("inversion table after pregnancy = %v", it)
	}

	// The care team hears of it; a clinician outside it sees nothing.
	al, err := e.alerts.ListAlerts(e.as(callerClinA), &hepv1.ListAlertsRequest{PatientId: e.patientA})
	if err != nil {
		t.Fatal(err)
	}
	if len(al.Alerts) != 1 || al.Alerts[0].Kind != hepv1.AlertKind_ALERT_KIND_SCREENING_CHANGED ||
		al.Alerts[0].Status != hepv1.AlertStatus_ALERT_STATUS_OPEN || !strings.Contains(al.Alerts[0].Summary, "PREGNANCY") {
		t.Errorf("alerts = %v", al.Alerts)
	}
	if _, err := e.alerts.ListAlerts(e.as(callerClinB), &hepv1.ListAlertsRequest{PatientId: e.patientA}); status.Code(err) != codes.NotFound {
		t.Errorf("ListAlerts by another clinician: %v", err)
	}
	if _, err := e.plans.GetPlan(e.as(callerClinB), &hepv1.GetPlanRequest{PatientId: e.patientA}); status.Code(err) != codes.NotFound {
		t.Errorf("GetPlan by another clinician: %v", err)
	}

	// A clearance lifts cat-cow's NEEDS_CLEARANCE...
	cl, err := e.clear(callerClinA, e.patientA, catCow, pregnancy)
	if err != nil {
		t.Fatal(err)
	}
	if len(cl.ChangedItems) != 1 || cl.ChangedItems[0] != catCow || cl.Clearance.ClearedBy != e.clinAID || cl.Clearance.EndTime != nil {
		t.Errorf("ClearItem = %v", cl)
	}
	if _, err := e.clear(callerClinA, e.patientA, catCow, pregnancy); status.Code(err) != codes.AlreadyExists {
		t.Errorf("second clearance: %v, want ALREADY_EXISTS", err)
	}
	p = e.plan(callerPatientA, "")
	if stateOf(p, catCow) != active || stateOf(p, inversionTable) != suspended {
		t.Errorf("after clearing cat-cow: %v", p.Items)
	}
	// ...but nothing lifts a contraindication.
	_, err = e.clear(callerClinA, e.patientA, inversionTable, pregnancy)
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("clearing a contraindication: %v", err)
	}
	if p = e.plan(callerPatientA, ""); stateOf(p, inversionTable) != suspended {
		t.Errorf("inversion table after a refused clearance: %v", p.Items)
	}

	// Pregnancy ABSENT again: the inversion table comes back (its standing
	// clearance is still live) and the pregnancy clearance has ended.
	e.screen(callerClinA, e.patientA, answers(pregnancy, absent))
	p = e.plan(callerPatientA, "")
	if stateOf(p, catCow) != active || stateOf(p, inversionTable) != active {
		t.Errorf("after pregnancy absent: %v", p.Items)
	}
	cls, err := e.plans.ListClearances(e.as(callerClinA), &hepv1.ListClearancesRequest{PatientId: e.patientA})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cls.Clearances {
		switch c.Id {
		case standing.Clearance.Id:
			if c.EndTime != nil {
				t.Errorf("the standing clearance ended: %v", c)
			}
		case cl.Clearance.Id:
			if c.EndTime == nil || c.Flag != pregnancy {
				t.Errorf("the pregnancy clearance is still live: %v", c)
			}
		default:
			t.Errorf("unexpected clearance %v", c)
		}
	}
	if len(cls.Clearances) != 2 {
		t.Errorf("clearances = %v", cls.Clearances)
	}

	// Every step is in the trail, newest first.
	ds, err := e.plans.ListGatingDecisions(e.as(callerClinA), &hepv1.ListGatingDecisionsRequest{PatientId: e.patientA})
	if err != nil {
		t.Fatal(err)
	}
	causes := map[hepv1.DecisionCause]int{}
	for _, d := range ds.Decisions {
		causes[d.Cause]++
	}
	if causes[hepv1.DecisionCause_DECISION_CAUSE_SCREENING_CHANGED] < 3 || causes[hepv1.DecisionCause_DECISION_CAUSE_CLEARANCE] < 1 {
		t.Errorf("decision causes = %v", causes)
	}
}

// TestRedFlagHold: red flags suspend every item at once with an URGENT
// alert; acknowledging it returns each item to what the gate gives.
func TestRedFlagHold(t *testing.T) {
	e := newEnv(t)
	e.screenAll(callerClinA, e.patientA, absent)
	if _, err := e.clear(callerClinA, e.patientA, inversionTable, noFlag); err != nil {
		t.Fatal(err)
	}
	if _, err := e.setPlan(callerClinA, e.patientA, item(catCow), item(childsPose), item(inversionTable)); err != nil {
		t.Fatal(err)
	}
	red, err := e.screening.ReportRedFlags(e.as(callerPatientA), &hepv1.ReportRedFlagsRequest{
		Symptoms: []hepv1.RedFlagSymptom{hepv1.RedFlagSymptom_RED_FLAG_SYMPTOM_SADDLE_NUMBNESS, hepv1.RedFlagSymptom_RED_FLAG_SYMPTOM_BLADDER_OR_BOWEL_DYSFUNCTION},
		Note:     "since this morning",
	})
	if err != nil {
		t.Fatal(err)
	}
	p := e.plan(callerPatientA, "")
	if !p.RedFlagHold {
		t.Error("plan not on hold")
	}
	for _, it := range p.Items {
		if it.State != suspended || len(it.StateReasons) == 0 || !it.StateReasons[0].RedFlagHold {
			t.Errorf("item under hold = %v", it)
		}
	}
	al, err := e.alerts.ListAlerts(e.as(callerClinA), &hepv1.ListAlertsRequest{PatientId: e.patientA, Status: hepv1.AlertStatus_ALERT_STATUS_OPEN})
	if err != nil {
		t.Fatal(err)
	}
	if len(al.Alerts) != 1 || al.Alerts[0].Id != red.AlertId || al.Alerts[0].Severity != hepv1.AlertSeverity_ALERT_SEVERITY_URGENT ||
		al.Alerts[0].Kind != hepv1.AlertKind_ALERT_KIND_RED_FLAG || strings.Contains(al.Alerts[0].Summary, "since this morning") {
		t.Errorf("open alerts = %v", al.Alerts)
	}
	// A screening change during the hold keeps everything suspended.
	e.screen(callerPatientA, "", answers(pregnancy, present))

	ack, err := e.alerts.AcknowledgeAlert(e.as(callerClinA), &hepv1.AcknowledgeAlertRequest{PatientId: e.patientA, AlertId: red.AlertId, Note: "examined: no cauda equina"})
	if err != nil {
		t.Fatal(err)
	}
	if ack.Alert.Status != hepv1.AlertStatus_ALERT_STATUS_ACKNOWLEDGED || ack.Alert.AcknowledgedBy != e.clinAID || ack.Alert.AcknowledgeTime == nil {
		t.Errorf("acknowledged alert = %v", ack.Alert)
	}
	// Back to the gate's state: pregnancy now blocks all three.
	p = e.plan(callerPatientA, "")
	if p.RedFlagHold {
		t.Error("hold not lifted")
	}
	for _, it := range p.Items {
		if it.State != suspended || hasReasonHold(it.StateReasons) {
			t.Errorf("item after review = %v", it)
		}
	}
	// Pregnancy ABSENT: all ACTIVE (the device's standing clearance held).
	e.screen(callerClinA, e.patientA, answers(pregnancy, absent))
	p = e.plan(callerPatientA, "")
	for _, it := range p.Items {
		if it.State != active {
			t.Errorf("item after pregnancy absent = %v", it)
		}
	}
	// Acknowledging again is refused.
	if _, err := e.alerts.AcknowledgeAlert(e.as(callerClinA), &hepv1.AcknowledgeAlertRequest{PatientId: e.patientA, AlertId: red.AlertId, Note: "again"}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("second acknowledgement: %v", err)
	}
}

func hasReasonHold(rs []*hepv1.GateReason) bool {
	for _, r := range rs {
		if r.RedFlagHold {
			return true
		}
	}
	return false
}

// TestRedFlagHoldAcknowledgedToActive: with nothing else blocking, the
// items are ACTIVE again right after the review.
func TestRedFlagHoldAcknowledgedToActive(t *testing.T) {
	e := newEnv(t)
	e.screenAll(callerClinA, e.patientA, absent)
	if _, err := e.setPlan(callerClinA, e.patientA, item(catCow)); err != nil {
		t.Fatal(err)
	}
	red, err := e.screening.ReportRedFlags(e.as(callerClinA), &hepv1.ReportRedFlagsRequest{PatientId: e.patientA,
		Symptoms: []hepv1.RedFlagSymptom{hepv1.RedFlagSymptom_RED_FLAG_SYMPTOM_PROGRESSIVE_LEG_WEAKNESS}})
	if err != nil {
		t.Fatal(err)
	}
	if s := stateOf(e.plan(callerClinA, e.patientA), catCow); s != suspended {
		t.Fatalf("cat-cow under hold: %v", s)
	}
	ack, err := e.alerts.AcknowledgeAlert(e.as(callerClinA), &hepv1.AcknowledgeAlertRequest{PatientId: e.patientA, AlertId: red.AlertId, Note: "reviewed"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ack.ChangedItems) != 1 || ack.ChangedItems[0] != catCow {
		t.Errorf("changed items = %v", ack.ChangedItems)
	}
	if s := stateOf(e.plan(callerPatientA, ""), catCow); s != active {
		t.Errorf("cat-cow after review: %v", s)
	}
}

// TestUnknownIsNotAbsent: an unscreened patient's plan waits for screening.
func TestUnknownIsNotAbsent(t *testing.T) {
	e := newEnv(t)
	_, err := e.setPlan(callerClinA, e.patientA, item(catCow))
	if status.Code(err) != codes.FailedPrecondition || !violationMentions(err, "items[0]", "NEEDS_SCREENING", "PREGNANCY") {
		t.Errorf("SetPlan for an unscreened patient: %v %v", err, violations(err))
	}
	sc, err := e.screening.GetScreening(e.as(callerPatientA), &hepv1.GetScreeningRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Current) != len(hep.Flags) {
		t.Fatalf("current screening has %d flags", len(sc.Current))
	}
	for i, a := range sc.Current {
		if a.Flag != flagToProto[hep.Flags[i]] || a.Status != hepv1.FlagStatus_FLAG_STATUS_UNKNOWN || a.Id != "" {
			t.Errorf("unanswered flag = %v", a)
		}
	}
}

// TestEndedItems: an item whose end date has passed everywhere shows ENDED;
// one ending today keeps its stored state.
func TestEndedItems(t *testing.T) {
	e := newEnv(t)
	e.screenAll(callerClinA, e.patientA, absent)
	old := item(catCow)
	old.StartDate, old.EndDate = &hepv1.Date{Year: 2020, Month: 1, Day: 6}, &hepv1.Date{Year: 2020, Month: 2, Day: 29}
	current := item(childsPose)
	current.EndDate = today()
	weekly := item("bar-hang")
	weekly.Frequency = &hepv1.Frequency{TimesPerDay: 2, Weekdays: []hepv1.Weekday{hepv1.Weekday_WEEKDAY_SUNDAY, hepv1.Weekday_WEEKDAY_WEDNESDAY}}
	p, err := e.setPlan(callerClinA, e.patientA, old, current, weekly)
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range []*hepv1.Plan{p, e.plan(callerPatientA, "")} {
		if stateOf(got, catCow) != ended || stateOf(got, childsPose) != active || stateOf(got, "bar-hang") != active {
			t.Errorf("states = %v", got.Items)
		}
		w := itemOf(got, "bar-hang").Spec.Frequency
		if len(w.Weekdays) != 2 || w.Weekdays[0] != hepv1.Weekday_WEEKDAY_SUNDAY || w.Weekdays[1] != hepv1.Weekday_WEEKDAY_WEDNESDAY || w.TimesPerDay != 2 {
			t.Errorf("weekdays round trip: %v", w)
		}
		if d := itemOf(got, catCow).Spec.EndDate; d.Year != 2020 || d.Month != 2 || d.Day != 29 {
			t.Errorf("end date round trip: %v", d)
		}
	}
	// Older versions stay readable.
	if _, err := e.setPlan(callerClinA, e.patientA, current); err != nil {
		t.Fatal(err)
	}
	v1, err := e.plans.GetPlan(e.as(callerPatientA), &hepv1.GetPlanRequest{Version: 1})
	if err != nil || v1.Plan.Version != 1 || len(v1.Plan.Items) != 3 || v1.Plan.AuthorId != e.clinAID {
		t.Errorf("version 1 = %v, %v", v1, err)
	}
}

// TestClinicalPaging: the paged clinical lists return every row once,
// newest first, across pages.
func TestClinicalPaging(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 7; i++ {
		st := present
		if i%2 == 0 {
			st = absent
		}
		e.screen(callerClinA, e.patientA, answers(pregnancy, st, hypertension, absent))
		if _, err := e.screening.ReportRedFlags(e.as(callerPatientA), &hepv1.ReportRedFlagsRequest{Symptoms: []hepv1.RedFlagSymptom{hepv1.RedFlagSymptom_RED_FLAG_SYMPTOM_FEVER_WITH_BACK_PAIN}}); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	req := &hepv1.ListScreeningHistoryRequest{PatientId: e.patientA, PageSize: 3}
	for pages := 0; ; pages++ {
		r, err := e.screening.ListScreeningHistory(e.as(callerClinA), req)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Answers) > 3 || pages > 10 {
			t.Fatalf("page of %d", len(r.Answers))
		}
		for _, a := range r.Answers {
			ids = append(ids, a.Id)
		}
		if req.PageToken = r.NextPageToken; req.PageToken == "" {
			break
		}
	}
	checkNewestFirst(t, "screening history", ids, 14)

	// The flag filter, by the device.
	ids = nil
	hreq := &hepv1.ListScreeningHistoryRequest{Flag: pregnancy, PageSize: 2}
	for {
		r, err := e.screening.ListScreeningHistory(e.as(callerPatientA), hreq)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range r.Answers {
			if a.Flag != pregnancy {
				t.Errorf("filtered history holds %v", a)
			}
			ids = append(ids, a.Id)
		}
		if hreq.PageToken = r.NextPageToken; hreq.PageToken == "" {
			break
		}
	}
	checkNewestFirst(t, "pregnancy history", ids, 7)

	ids = nil
	areq := &hepv1.ListAlertsRequest{PatientId: e.patientA, Status: hepv1.AlertStatus_ALERT_STATUS_OPEN, PageSize: 4}
	for {
		r, err := e.alerts.ListAlerts(e.as(callerClinA), areq)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range r.Alerts {
			ids = append(ids, a.Id)
		}
		if areq.PageToken = r.NextPageToken; areq.PageToken == "" {
			break
		}
	}
	checkNewestFirst(t, "alerts", ids, 7)
	// The token is bound to its filter.
	areq.PageToken = ""
	r, err := e.alerts.ListAlerts(e.as(callerClinA), areq)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.alerts.ListAlerts(e.as(callerClinA), &hepv1.ListAlertsRequest{PatientId: e.patientA, PageToken: r.NextPageToken})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("token reused with another filter: %v", err)
	}
}

// checkNewestFirst: n distinct ids, in decreasing order (ids are UUIDv7).
func checkNewestFirst(t *testing.T, what string, ids []string, n int) {
	t.Helper()
	if len(ids) != n {
		t.Errorf("%s: %d rows, want %d", what, len(ids), n)
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] >= ids[i-1] {
			t.Errorf("%s: not newest first at %d: %s after %s", what, i, ids[i], ids[i-1])
		}
	}
}

// TestCatalog: the catalog is readable by every role and extended by
// clinicians; admins retire clinic entries, which then leave new plans.
func TestCatalog(t *testing.T) {
	e := newEnv(t)
	for _, caller := range []string{callerPatientA, callerClinB, callerAdmin} {
		r, err := e.catalog.ListExercises(e.as(caller), &hepv1.ListExercisesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		cat := map[string]*hepv1.Exercise{}
		for _, x := range r.Exercises {
			cat[x.Id] = x
		}
		for _, id := range []string{catCow, childsPose, "bar-hang", "overhead-stretch", inversionTable, tractionDevice, "decompression-belt"} {
			x := cat[id]
			if x == nil || !x.BuiltIn || x.CatalogVersion < 1 || len(x.Rules) == 0 {
				t.Errorf("%s: built-in %s = %v", caller, id, x)
			}
		}
		if x := cat[inversionTable]; x != nil && (x.Kind != hepv1.ExerciseKind_EXERCISE_KIND_DEVICE || !x.RequiresClearance) {
			t.Errorf("inversion table = %v", x)
		}
	}
	want := clinicExercise("wall-angel")
	got, err := e.catalog.CreateExercise(e.as(callerClinB), &hepv1.CreateExerciseRequest{Exercise: want})
	if err != nil {
		t.Fatal(err)
	}
	if got.Exercise.BuiltIn || got.Exercise.Retired || got.Exercise.CatalogVersion != 0 || got.Exercise.CreateTime == nil ||
		got.Exercise.Name != want.Name || len(got.Exercise.Rules) != 1 || got.Exercise.Rules[0].Severity != want.Rules[0].Severity {
		t.Errorf("created = %v", got.Exercise)
	}
	if _, err := e.catalog.RetireExercise(e.as(callerClinA), &hepv1.RetireExerciseRequest{ExerciseId: "wall-angel"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a clinician retired an entry: %v", err)
	}
	ret, err := e.catalog.RetireExercise(e.as(callerAdmin), &hepv1.RetireExerciseRequest{ExerciseId: "wall-angel"})
	if err != nil || !ret.Exercise.Retired {
		t.Fatalf("RetireExercise = %v, %v", ret, err)
	}
	list, _ := e.catalog.ListExercises(e.as(callerClinA), &hepv1.ListExercisesRequest{})
	for _, x := range list.GetExercises() {
		if x.Id == "wall-angel" {
			t.Error("a retired entry is listed without include_retired")
		}
	}
	list, _ = e.catalog.ListExercises(e.as(callerClinA), &hepv1.ListExercisesRequest{IncludeRetired: true})
	if n := len(list.GetExercises()); n == 0 || list.Exercises[n-1].Id != "wall-angel" {
		t.Errorf("include_retired: %v", list.GetExercises())
	}
	g, err := e.catalog.GetExercise(e.as(callerPatientB), &hepv1.GetExerciseRequest{ExerciseId: "wall-angel"})
	if err != nil || !g.Exercise.Retired {
		t.Errorf("GetExercise = %v, %v", g, err)
	}
}

// TestClinicalAuditActions: each clinical call leaves one audit row with its
// action and the patient.
func TestClinicalAuditActions(t *testing.T) {
	e := newEnv(t)
	start := time.Now().Add(-time.Second)
	e.screenAll(callerClinA, e.patientA, absent)
	e.screen(callerPatientA, "", answers(pregnancy, present))
	if _, err := e.setPlan(callerClinA, e.patientA, item(inversionTable)); status.Code(err) != codes.FailedPrecondition {
		t.Fatal(err)
	}
	want := map[string]string{
		"screening.record": "OK", "plan.get": "OK", "plan.set": "FAILED_PRECONDITION",
	}
	got := map[string]string{}
	for _, ev := range e.auditEvents() {
		if ev.Time.AsTime().Before(start) || !strings.Contains(ev.Action, ".") {
			continue
		}
		if _, ok := want[ev.Action]; ok {
			if ev.PatientId != e.patientA {
				t.Errorf("%s row names patient %q", ev.Action, ev.PatientId)
			}
			got[ev.Action] = ev.Outcome
		}
	}
	for a, o := range want {
		if got[a] != o {
			t.Errorf("audit %s: outcome %q, want %q", a, got[a], o)
		}
	}
}
