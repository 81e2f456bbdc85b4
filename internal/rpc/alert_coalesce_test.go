package rpc

import (
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestAlertCoalescingOverGRPC: over the wire, severe check-ins of one
// location coalesce into one open alert whose occurrences are listed
// newest first; an acknowledgement that names a stale count is ABORTED
// (ALERT_CHANGED, the current count in the metadata) and changes nothing;
// one that names the count closes the alert, and the next occurrence opens
// a new alert. Another patient's alert is NOT_FOUND, bad input is
// INVALID_ARGUMENT with the field named.
func TestAlertCoalescingOverGRPC(t *testing.T) {
	e := newEnv(t)
	ph := e.phone(callerPatientA, e.deviceA)
	now := time.Now()
	severe := func(ago time.Duration) *hepv1.Mutation {
		return checkinMutation(0, scoreCheckin(now.Add(-ago), 9))
	}
	ph.pushAt(now, severe(3*time.Minute), severe(2*time.Minute))
	ph.pushAt(now, severe(time.Minute))

	open := e.alertsOfKind(callerClinA, e.patientA, kindSevere)
	if len(open) != 1 || open[0].OccurrenceCount != 3 || open[0].Status != hepv1.AlertStatus_ALERT_STATUS_OPEN ||
		open[0].LatestOccurrenceTime == nil || open[0].LatestOccurrenceTime.AsTime().Before(open[0].CreateTime.AsTime()) {
		t.Fatalf("severe alerts after 3 severe check-ins: %v, want one open with 3 occurrences", open)
	}
	al := open[0]

	// The occurrences, newest first, a page of 2 then 1.
	var occ []*hepv1.AlertOccurrence
	req := &hepv1.ListAlertOccurrencesRequest{PatientId: e.patientA, AlertId: al.Id, PageSize: 2}
	for pages := 0; ; pages++ {
		if pages > 2 {
			t.Fatal("paging does not end")
		}
		r, err := e.alerts.ListAlertOccurrences(e.as(callerClinA), req)
		if err != nil {
			t.Fatal(err)
		}
		occ = append(occ, r.Occurrences...)
		if r.NextPageToken == "" {
			break
		}
		req.PageToken = r.NextPageToken
	}
	if len(occ) != 3 {
		t.Fatalf("%d occurrences listed, want 3", len(occ))
	}
	seen := map[string]bool{}
	for i, o := range occ {
		if o.AlertId != al.Id || o.Summary == "" || seen[o.Trigger] || o.Trigger == "" {
			t.Errorf("occurrence %d: %v", i, o)
		}
		seen[o.Trigger] = true
		if i > 0 && o.OccurTime.AsTime().After(occ[i-1].OccurTime.AsTime()) {
			t.Errorf("occurrence %d is newer than %d", i, i-1)
		}
	}

	// Refusals change nothing.
	runBadCases(t, e, []badCase{
		{name: "StaleCount", caller: callerClinA, method: hepv1.AlertService_AcknowledgeAlert_FullMethodName,
			req:  &hepv1.AcknowledgeAlertRequest{PatientId: e.patientA, AlertId: al.Id, Note: "saw two", ExpectedOccurrenceCount: 2},
			code: codes.Aborted, reason: "ALERT_CHANGED"},
		{name: "NegativeCount", caller: callerClinA, method: hepv1.AlertService_AcknowledgeAlert_FullMethodName,
			req:  &hepv1.AcknowledgeAlertRequest{PatientId: e.patientA, AlertId: al.Id, Note: "x", ExpectedOccurrenceCount: -1},
			code: codes.InvalidArgument, field: "expected_occurrence_count"},
		{name: "PageTooBig", caller: callerClinA, method: hepv1.AlertService_ListAlertOccurrences_FullMethodName,
			req:  &hepv1.ListAlertOccurrencesRequest{PatientId: e.patientA, AlertId: al.Id, PageSize: 501},
			code: codes.InvalidArgument, field: "page_size"},
		{name: "NoAlertID", caller: callerClinA, method: hepv1.AlertService_ListAlertOccurrences_FullMethodName,
			req:  &hepv1.ListAlertOccurrencesRequest{PatientId: e.patientA},
			code: codes.InvalidArgument, field: "alert_id"},
		{name: "AnotherPatientsAlert", caller: callerClinB, method: hepv1.AlertService_ListAlertOccurrences_FullMethodName,
			req:  &hepv1.ListAlertOccurrencesRequest{PatientId: e.patientA, AlertId: al.Id},
			code: codes.NotFound},
		{name: "AlertOfAnotherPatientID", caller: callerClinB, method: hepv1.AlertService_ListAlertOccurrences_FullMethodName,
			req:  &hepv1.ListAlertOccurrencesRequest{PatientId: e.patientB, AlertId: al.Id},
			code: codes.NotFound},
	})
	_, err := e.alerts.AcknowledgeAlert(e.as(callerClinA), &hepv1.AcknowledgeAlertRequest{
		PatientId: e.patientA, AlertId: al.Id, Note: "saw two", ExpectedOccurrenceCount: 2})
	var info *errdetails.ErrorInfo
	for _, d := range status.Convert(err).Details() {
		if d, ok := d.(*errdetails.ErrorInfo); ok {
			info = d
		}
	}
	if info == nil || info.Metadata["occurrences"] != "3" {
		t.Errorf("stale acknowledgement: %v, want the current count 3 in the ErrorInfo", err)
	}

	// The right count acknowledges; the next occurrence opens a new alert.
	ack, err := e.alerts.AcknowledgeAlert(e.as(callerClinA), &hepv1.AcknowledgeAlertRequest{
		PatientId: e.patientA, AlertId: al.Id, Note: "called her: flare after gardening", ExpectedOccurrenceCount: 3})
	if err != nil || ack.Alert.Status != hepv1.AlertStatus_ALERT_STATUS_ACKNOWLEDGED || ack.Alert.OccurrenceCount != 3 {
		t.Fatalf("AcknowledgeAlert: %v %v", ack, err)
	}
	ph.pushAt(time.Now(), checkinMutation(0, scoreCheckin(time.Now(), 8)))
	all := e.alertsOfKind(callerClinA, e.patientA, kindSevere)
	if len(all) != 2 || all[0].Id == al.Id || all[0].Status != hepv1.AlertStatus_ALERT_STATUS_OPEN || all[0].OccurrenceCount != 1 ||
		all[1].Id != al.Id || all[1].Status != hepv1.AlertStatus_ALERT_STATUS_ACKNOWLEDGED || all[1].OccurrenceCount != 3 {
		t.Errorf("after a recurrence: %v, want a new open alert (1) and the acknowledged one (3)", all)
	}
}
