package rpc

import (
	"strings"
	"testing"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestDeviceCannotLiftVerifiedCondition: a phone reporting "no osteoporosis"
// after a clinician verified it present does not put the inversion table
// back in front of the patient; the report is kept and the care team told.
func TestDeviceCannotLiftVerifiedCondition(t *testing.T) {
	e := newEnv(t)
	e.screenAll(callerClinA, e.patientA, absent)
	if _, err := e.clear(callerClinA, e.patientA, inversionTable, noFlag); err != nil {
		t.Fatal(err)
	}
	if _, err := e.setPlan(callerClinA, e.patientA, item(inversionTable)); err != nil {
		t.Fatal(err)
	}
	e.screen(callerClinA, e.patientA, answers(osteoporosis, present))
	if st := stateOf(e.plan(callerClinA, e.patientA), inversionTable); st != suspended {
		t.Fatalf("inversion table after verified osteoporosis: %v", st)
	}

	r := e.screen(callerPatientA, "", answers(osteoporosis, absent))
	if len(r.ChangedItems) != 0 {
		t.Errorf("the phone's ABSENT changed items %v", r.ChangedItems)
	}
	for _, a := range r.Current {
		if a.Flag == osteoporosis && (a.Status != present || a.Source != hepv1.AnswerSource_ANSWER_SOURCE_CLINICIAN_VERIFIED) {
			t.Errorf("current osteoporosis = %v; the verified answer must stand", a)
		}
	}
	if st := stateOf(e.plan(callerPatientA, ""), inversionTable); st != suspended {
		t.Errorf("inversion table after the phone's ABSENT: %v, want SUSPENDED", st)
	}
	h, err := e.screening.ListScreeningHistory(e.as(callerClinA), &hepv1.ListScreeningHistoryRequest{PatientId: e.patientA, Flag: osteoporosis})
	if err != nil || len(h.Answers) < 2 || h.Answers[0].Effective || !h.Answers[1].Effective {
		t.Errorf("history = %v, %v; want the phone's report kept, not effective", h, err)
	}
	al, err := e.alerts.ListAlerts(e.as(callerClinA), &hepv1.ListAlertsRequest{PatientId: e.patientA})
	if err != nil || len(al.Alerts) == 0 || !strings.Contains(al.Alerts[0].Summary, "verified PRESENT") {
		t.Errorf("alerts = %v, %v; want one naming the overridden report", al, err)
	}

	// A clinician confirming ABSENT does lift it.
	e.screen(callerClinA, e.patientA, answers(osteoporosis, absent))
	if st := stateOf(e.plan(callerClinA, e.patientA), inversionTable); st != active {
		t.Errorf("inversion table after the clinician's ABSENT: %v, want ACTIVE", st)
	}
}
