//go:build unix

package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestClinicalEndToEnd runs the gate through the real binary: with
// osteoporosis on record the inversion table is refused with the reason,
// and a pregnancy reported by the patient's phone suspends cat-cow at once
// and alerts the clinician. The audit trail records each clinical call.
func TestClinicalEndToEnd(t *testing.T) {
	t.Parallel()
	start := time.Now().Add(-time.Second)
	c := newClinic(t, t.TempDir())
	cc := c.srv.dial(t)
	screening := hepv1.NewScreeningServiceClient(cc)
	plans := hepv1.NewPlanServiceClient(cc)
	alerts := hepv1.NewAlertServiceClient(cc)
	catalog := hepv1.NewCatalogServiceClient(cc)

	patientID := c.createPatient(t, "Bea")
	code, err := c.api.device.CreateEnrollmentCode(callCtx(t, c.clinicianTok, ""), &hepv1.CreateEnrollmentCodeRequest{PatientId: patientID})
	must(t, "CreateEnrollmentCode", err)
	enr, err := c.api.auth.EnrollDevice(callCtx(t, "", ""), &hepv1.EnrollDeviceRequest{EnrollmentCode: code.GetCode(), DeviceName: "Bea's phone", Platform: hepv1.Platform_PLATFORM_IOS})
	must(t, "EnrollDevice", err)
	devTok, deviceID := enr.GetTokens().GetAccessToken(), enr.GetDeviceId()

	n := 0
	rid := func() string { n++; return fmt.Sprintf("clin-%03d", n) }
	clin := func() (string, string) { id := rid(); return c.clinicianTok, id }
	var want []auditRow
	ok := func(action, actor string, role hepv1.Role, id string) {
		want = append(want, auditRow{action: action, outcome: "OK", role: role, actor: actor, requestID: id, patient: patientID})
	}

	// The phone reads the catalog.
	id := rid()
	cat, err := catalog.ListExercises(callCtx(t, devTok, id), &hepv1.ListExercisesRequest{})
	must(t, "ListExercises", err)
	want = append(want, auditRow{action: "catalog.list", outcome: "OK", role: hepv1.Role_ROLE_PATIENT, actor: deviceID, requestID: id, patient: anyPatient})
	names := map[string]bool{}
	for _, x := range cat.GetExercises() {
		names[x.GetId()] = true
	}
	if !names["cat-cow"] || !names["inversion-table"] {
		t.Fatalf("catalog lacks cat-cow or inversion-table: %v", names)
	}

	// The clinician screens: osteoporosis PRESENT, everything else ABSENT.
	var as []*hepv1.ScreeningAnswerInput
	for f := hepv1.ScreeningFlag_SCREENING_FLAG_PREGNANCY; f <= hepv1.ScreeningFlag_SCREENING_FLAG_ANTICOAGULANT_USE; f++ {
		st := hepv1.FlagStatus_FLAG_STATUS_ABSENT
		if f == hepv1.ScreeningFlag_SCREENING_FLAG_OSTEOPOROSIS {
			st = hepv1.FlagStatus_FLAG_STATUS_PRESENT
		}
		as = append(as, &hepv1.ScreeningAnswerInput{Flag: f, Status: st})
	}
	tok, id := clin()
	_, err = screening.RecordScreeningAnswers(callCtx(t, tok, id), &hepv1.RecordScreeningAnswersRequest{PatientId: patientID, Answers: as})
	must(t, "RecordScreeningAnswers", err)
	ok("screening.record", c.clinicianID, hepv1.Role_ROLE_CLINICIAN, id)

	tok, id = clin()
	_, err = plans.ClearItem(callCtx(t, tok, id), &hepv1.ClearItemRequest{PatientId: patientID, ExerciseId: "inversion-table", Reason: "owns one; supervised first session"})
	must(t, "ClearItem standing", err)
	ok("plan.clear_item", c.clinicianID, hepv1.Role_ROLE_CLINICIAN, id)

	day := time.Now().UTC()
	item := func(ex string) *hepv1.PlanItemSpec {
		return &hepv1.PlanItemSpec{
			ExerciseId: ex, Dose: &hepv1.Dose{Sets: 1, DurationSeconds: 120},
			Frequency: &hepv1.Frequency{TimesPerDay: 1, Weekdays: []hepv1.Weekday{hepv1.Weekday_WEEKDAY_MONDAY, hepv1.Weekday_WEEKDAY_THURSDAY}},
			StartDate: &hepv1.Date{Year: int32(day.Year()), Month: int32(day.Month()), Day: int32(day.Day())},
		}
	}
	tok, id = clin()
	_, err = plans.SetPlan(callCtx(t, tok, id), &hepv1.SetPlanRequest{PatientId: patientID, Items: []*hepv1.PlanItemSpec{item("inversion-table")}})
	checkStatus(t, "SetPlan with the inversion table and osteoporosis", err, codes.FailedPrecondition, "GATE_BLOCKED")
	want = append(want, auditRow{action: "plan.set", outcome: "FAILED_PRECONDITION", role: hepv1.Role_ROLE_CLINICIAN, actor: c.clinicianID, requestID: id, patient: patientID})
	found := false
	for _, d := range status.Convert(err).Details() {
		if br, isBR := d.(*errdetails.BadRequest); isBR {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == "items[0]" && strings.Contains(v.GetDescription(), "OSTEOPOROSIS") && strings.Contains(v.GetDescription(), "CONTRAINDICATED") {
					found = true
				}
			}
		}
	}
	if !found {
		t.Errorf("SetPlan refusal does not name items[0] and OSTEOPOROSIS: %v", status.Convert(err).Details())
	}

	// Osteoporosis was a mistake; cat-cow and the inversion table go in.
	tok, id = clin()
	_, err = screening.RecordScreeningAnswers(callCtx(t, tok, id), &hepv1.RecordScreeningAnswersRequest{PatientId: patientID,
		Answers: []*hepv1.ScreeningAnswerInput{{Flag: hepv1.ScreeningFlag_SCREENING_FLAG_OSTEOPOROSIS, Status: hepv1.FlagStatus_FLAG_STATUS_ABSENT, Note: "DEXA normal"}}})
	must(t, "RecordScreeningAnswers osteoporosis absent", err)
	ok("screening.record", c.clinicianID, hepv1.Role_ROLE_CLINICIAN, id)
	tok, id = clin()
	set, err := plans.SetPlan(callCtx(t, tok, id), &hepv1.SetPlanRequest{PatientId: patientID, Items: []*hepv1.PlanItemSpec{item("cat-cow"), item("inversion-table")}})
	must(t, "SetPlan", err)
	ok("plan.set", c.clinicianID, hepv1.Role_ROLE_CLINICIAN, id)
	for _, it := range set.GetPlan().GetItems() {
		if it.GetState() != hepv1.ItemState_ITEM_STATE_ACTIVE {
			t.Errorf("new item %s is %v", it.GetSpec().GetExerciseId(), it.GetState())
		}
	}

	// The phone reports a pregnancy: cat-cow is suspended on its next pull.
	id = rid()
	rec, err := screening.RecordScreeningAnswers(callCtx(t, devTok, id), &hepv1.RecordScreeningAnswersRequest{
		Answers: []*hepv1.ScreeningAnswerInput{{Flag: hepv1.ScreeningFlag_SCREENING_FLAG_PREGNANCY, Status: hepv1.FlagStatus_FLAG_STATUS_PRESENT}}})
	must(t, "RecordScreeningAnswers by the device", err)
	ok("screening.record", deviceID, hepv1.Role_ROLE_PATIENT, id)
	if len(rec.GetChangedItems()) != 2 {
		t.Errorf("changed items = %v", rec.GetChangedItems())
	}
	id = rid()
	got, err := plans.GetPlan(callCtx(t, devTok, id), &hepv1.GetPlanRequest{})
	must(t, "GetPlan by the device", err)
	ok("plan.get", deviceID, hepv1.Role_ROLE_PATIENT, id)
	for _, it := range got.GetPlan().GetItems() {
		if it.GetState() != hepv1.ItemState_ITEM_STATE_SUSPENDED {
			t.Errorf("%s after pregnancy: %v", it.GetSpec().GetExerciseId(), it.GetState())
		}
		if it.GetSpec().GetExerciseId() == "cat-cow" {
			rs := it.GetStateReasons()
			if len(rs) != 1 || rs[0].GetFlag() != hepv1.ScreeningFlag_SCREENING_FLAG_PREGNANCY || rs[0].GetOutcome() != hepv1.GateOutcome_GATE_OUTCOME_NEEDS_CLEARANCE || rs[0].GetSource() == "" {
				t.Errorf("cat-cow state reasons = %v", rs)
			}
		}
	}
	tok, id = clin()
	al, err := alerts.ListAlerts(callCtx(t, tok, id), &hepv1.ListAlertsRequest{PatientId: patientID, Status: hepv1.AlertStatus_ALERT_STATUS_OPEN})
	must(t, "ListAlerts", err)
	ok("alert.list", c.clinicianID, hepv1.Role_ROLE_CLINICIAN, id)
	if len(al.GetAlerts()) != 1 || al.GetAlerts()[0].GetKind() != hepv1.AlertKind_ALERT_KIND_SCREENING_CHANGED {
		t.Errorf("open alerts = %v", al.GetAlerts())
	}

	// The device may not write its own plan; the admin may not read it.
	id = rid()
	_, err = plans.SetPlan(callCtx(t, devTok, id), &hepv1.SetPlanRequest{ExpectedVersion: 1})
	checkStatus(t, "SetPlan by the device", err, codes.PermissionDenied, "PERMISSION_DENIED")
	want = append(want, auditRow{action: "plan.set", outcome: "PERMISSION_DENIED", role: hepv1.Role_ROLE_PATIENT, actor: deviceID, requestID: id, patient: anyPatient})
	id = rid()
	_, err = plans.GetPlan(callCtx(t, c.adminTok, id), &hepv1.GetPlanRequest{PatientId: patientID})
	checkStatus(t, "GetPlan by the admin", err, codes.PermissionDenied, "PERMISSION_DENIED")
	want = append(want, auditRow{action: "plan.get", outcome: "PERMISSION_DENIED", role: hepv1.Role_ROLE_ADMIN, actor: c.adminID, requestID: id, patient: anyPatient})

	// Exactly the rows of the calls above carry our request ids.
	var mine []*hepv1.AuditEvent
	for _, e := range listAudit(t, c.api, c.adminTok, start, time.Now().Add(time.Minute), 100) {
		if strings.HasPrefix(e.GetRequestId(), "clin-") {
			mine = append(mine, e)
		}
	}
	checkAuditRows(t, mine, want)
}
