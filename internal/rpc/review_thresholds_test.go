package rpc

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestThresholds: the defaults until an admin sets others; clinicians read
// but may not update; every read and update is audited; a lowered
// severe_pain changes what a later push raises, and leaves earlier data
// alone.
func TestThresholds(t *testing.T) {
	e := newEnv(t)
	defaults := thresholdsToProto(hep.DefaultThresholds())
	for _, caller := range []string{callerAdmin, callerClinA, callerClinB} {
		r, err := e.review.GetAlertThresholds(e.as(caller), &hepv1.GetAlertThresholdsRequest{})
		if err != nil || !proto.Equal(r.Thresholds, defaults) {
			t.Fatalf("%s: GetAlertThresholds = %v, %v; want the defaults %v", caller, r, err, defaults)
		}
	}

	// Under the defaults a 5/10 check-in is not severe.
	ph := e.phone(callerPatientA, e.deviceA)
	ph.pushAt(time.Now(), checkinMutation(0, scoreCheckin(time.Now().Add(-2*time.Hour), 5)))
	if got := e.alertsOfKind(callerClinA, e.patientA, kindSevere); len(got) != 0 {
		t.Fatalf("5/10 raised %v under the defaults", got)
	}

	// A clinician may not change them; nothing changes.
	lower := proto.Clone(defaults).(*hepv1.AlertThresholds)
	lower.SeverePain, lower.InactiveDays, lower.WorseningIncrease = 5, 5, 1.5
	before, _ := e.snapshot()
	_, err := e.review.UpdateAlertThresholds(e.as(callerClinA), &hepv1.UpdateAlertThresholdsRequest{Thresholds: lower})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("clinician UpdateAlertThresholds: %v, want PERMISSION_DENIED", err)
	}
	if after, _ := e.snapshot(); after != before {
		t.Error("a refused update changed domain rows")
	}

	// The admin changes them; everyone reads the new ones.
	_, auditBefore := e.snapshot()
	up, err := e.review.UpdateAlertThresholds(e.as(callerAdmin), &hepv1.UpdateAlertThresholdsRequest{Thresholds: lower})
	if err != nil || !proto.Equal(up.Thresholds, lower) {
		t.Fatalf("UpdateAlertThresholds = %v, %v", up, err)
	}
	if _, auditAfter := e.snapshot(); auditAfter != auditBefore+1 {
		t.Errorf("update wrote %d audit rows, want 1", auditAfter-auditBefore)
	}
	for _, caller := range []string{callerAdmin, callerClinA} {
		r, err := e.review.GetAlertThresholds(e.as(caller), &hepv1.GetAlertThresholdsRequest{})
		if err != nil || !proto.Equal(r.Thresholds, lower) {
			t.Errorf("%s after update: %v, %v", caller, r, err)
		}
	}
	var actions []string
	for _, ev := range e.auditEvents() {
		if ev.Action == "review.update_thresholds" || ev.Action == "review.get_thresholds" {
			actions = append(actions, ev.Action+" "+ev.Outcome)
			if ev.PatientId != "" {
				t.Errorf("thresholds audit row names patient %s", ev.PatientId)
			}
		}
	}
	// 3 reads, the refused update, the update, 2 reads.
	want := []string{"review.get_thresholds OK", "review.get_thresholds OK", "review.get_thresholds OK",
		"review.update_thresholds PERMISSION_DENIED", "review.update_thresholds OK",
		"review.get_thresholds OK", "review.get_thresholds OK"}
	if len(actions) != len(want) {
		t.Errorf("thresholds audit rows %v, want %v", actions, want)
	} else {
		for i := range want {
			if actions[i] != want[i] {
				t.Errorf("thresholds audit rows %v, want %v", actions, want)
				break
			}
		}
	}

	// A later 5/10 check-in is severe now; a 4/10 is not; the earlier 5/10
	// raised nothing after the fact.
	five := scoreCheckin(time.Now().Add(-time.Hour), 5)
	ph.pushAt(time.Now(), checkinMutation(0, five), checkinMutation(0, scoreCheckin(time.Now().Add(-time.Hour), 4)))
	got := e.alertsOfKind(callerClinA, e.patientA, kindSevere)
	if len(got) != 1 || got[0].Trigger != hep.CheckinTrigger(five.Id) {
		t.Errorf("after lowering severe_pain to 5: %v, want one alert for check-in %s", got, five.Id)
	}
	// Progress reports the thresholds it used.
	p, err := e.review.GetProgress(e.as(callerClinA), &hepv1.GetProgressRequest{PatientId: e.patientA})
	if err != nil || !proto.Equal(p.Progress.Thresholds, lower) {
		t.Errorf("progress thresholds = %v, %v", p.GetProgress().GetThresholds(), err)
	}
}
