package rpc

import (
	"math"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestReviewBadInput: malformed review requests, and the new alert filters,
// get INVALID_ARGUMENT naming the field (or the right code) and change no
// domain row.
func TestReviewBadInput(t *testing.T) { overProtocols(t, testReviewBadInput) }

func testReviewBadInput(t *testing.T, p protocol) {
	e := newEnv(t, withProtocol(p))
	unknownID := "0190a5a0-0000-7000-8000-000000000000"
	const (
		mProgress = hepv1.ReviewService_GetProgress_FullMethodName
		mTriage   = hepv1.ReviewService_ListTriage_FullMethodName
		mUpdate   = hepv1.ReviewService_UpdateAlertThresholds_FullMethodName
		mGet      = hepv1.ReviewService_GetAlertThresholds_FullMethodName
		mAlerts   = hepv1.AlertService_ListAlerts_FullMethodName
	)
	date := func(y, m, d int32) *hepv1.Date { return &hepv1.Date{Year: y, Month: m, Day: d} }
	progress := func(from, to *hepv1.Date) proto.Message {
		return &hepv1.GetProgressRequest{PatientId: e.patientA, From: from, To: to}
	}
	thresholds := func(edit func(*hepv1.AlertThresholds)) proto.Message {
		t := thresholdsToProto(hep.DefaultThresholds())
		edit(t)
		return &hepv1.UpdateAlertThresholdsRequest{Thresholds: t}
	}

	// Page tokens: a triage token of clinician B, a patients-list token of
	// clinician A (another list), an edited one; alert tokens of one
	// patient's list and of clinician B's care team.
	triageOfB := e.srv.encodePage("triage", pageCursor{Seq: 7, Filter: e.clinBID})
	patientsOfA := e.srv.encodePage("patients", pageCursor{After: unknownID, Filter: e.clinAID})
	triageOfA := e.srv.encodePage("triage", pageCursor{Seq: 7, Filter: e.clinAID})
	forgedTriage := triageOfA[:len(triageOfA)-4] + "AAAA"
	alertsOfA := e.srv.encodePage("alerts", pageCursor{After: unknownID, Filter: e.patientA + "|"})
	teamOfB := e.srv.encodePage("alerts", pageCursor{After: unknownID, Filter: "team:" + e.clinBID + "|"})
	allKinds := []hepv1.AlertKind{kindRedFlag, kindScreening, kindSuspended, kindSevere, kindFlare, kindWorsening, kindNonAdherence, kindFunction, kindOverdue}

	cases := []badCase{
		// Progress ranges.
		{"ProgressReversed", callerClinA, mProgress, progress(date(2030, 5, 10), date(2030, 5, 1)), codes.InvalidArgument, "to", ""},
		{"Progress367Days", callerClinA, mProgress, progress(date(2029, 1, 1), date(2030, 1, 2)), codes.InvalidArgument, "from", ""},
		{"Progress366DaysTooLongFromOnly", callerClinA, mProgress, progress(date(2001, 1, 1), nil), codes.InvalidArgument, "from", ""},
		{"ProgressFeb30", callerClinA, mProgress, progress(date(2030, 2, 30), date(2030, 3, 10)), codes.InvalidArgument, "from", ""},
		{"ProgressMonth13", callerClinA, mProgress, progress(nil, date(2030, 13, 1)), codes.InvalidArgument, "to", ""},
		{"ProgressYear1999", callerClinA, mProgress, progress(date(1999, 12, 1), date(2000, 1, 1)), codes.InvalidArgument, "from", ""},
		{"ProgressNegativeDay", callerClinA, mProgress, progress(date(2030, 1, -1), nil), codes.InvalidArgument, "from", ""},
		{"ProgressFromAfterToday", callerClinA, mProgress, progress(date(2100, 1, 1), nil), codes.InvalidArgument, "to", ""},
		{"ProgressBadPatient", callerClinA, mProgress, &hepv1.GetProgressRequest{PatientId: "patient-a"}, codes.InvalidArgument, "patient_id", ""},
		{"ProgressNoPatient", callerClinA, mProgress, &hepv1.GetProgressRequest{}, codes.InvalidArgument, "patient_id", ""},
		{"ProgressUnknownPatient", callerClinA, mProgress, &hepv1.GetProgressRequest{PatientId: unknownID}, codes.NotFound, "", "NOT_FOUND"},
		{"ProgressOtherTeam", callerClinB, mProgress, &hepv1.GetProgressRequest{PatientId: e.patientA}, codes.NotFound, "", "NOT_FOUND"},
		{"ProgressByDevice", callerPatientA, mProgress, &hepv1.GetProgressRequest{}, codes.PermissionDenied, "", "PERMISSION_DENIED"},

		// Triage paging.
		{"TriagePageSizeNegative", callerClinA, mTriage, &hepv1.ListTriageRequest{PageSize: -1}, codes.InvalidArgument, "page_size", ""},
		{"TriagePageSize501", callerClinA, mTriage, &hepv1.ListTriageRequest{PageSize: 501}, codes.InvalidArgument, "page_size", ""},
		{"TriageForgedToken", callerClinA, mTriage, &hepv1.ListTriageRequest{PageToken: forgedTriage}, codes.InvalidArgument, "page_token", ""},
		{"TriageGarbageToken", callerClinA, mTriage, &hepv1.ListTriageRequest{PageToken: "7"}, codes.InvalidArgument, "page_token", ""},
		{"TriageOtherClinToken", callerClinA, mTriage, &hepv1.ListTriageRequest{PageToken: triageOfB}, codes.InvalidArgument, "page_token", ""},
		{"TriageOtherListToken", callerClinA, mTriage, &hepv1.ListTriageRequest{PageToken: patientsOfA}, codes.InvalidArgument, "page_token", ""},
		{"TriageByAdmin", callerAdmin, mTriage, &hepv1.ListTriageRequest{}, codes.PermissionDenied, "", ""},

		// Thresholds.
		{"ThresholdsMissing", callerAdmin, mUpdate, &hepv1.UpdateAlertThresholdsRequest{}, codes.InvalidArgument, "thresholds", ""},
		{"ThresholdsAllZero", callerAdmin, mUpdate, &hepv1.UpdateAlertThresholdsRequest{Thresholds: &hepv1.AlertThresholds{}}, codes.InvalidArgument, "thresholds.inactive_days", ""},
		{"SeverePain0", callerAdmin, mUpdate, thresholds(func(t *hepv1.AlertThresholds) { t.SeverePain = 0 }), codes.InvalidArgument, "thresholds.severe_pain", ""},
		{"SeverePain11", callerAdmin, mUpdate, thresholds(func(t *hepv1.AlertThresholds) { t.SeverePain = 11 }), codes.InvalidArgument, "thresholds.severe_pain", ""},
		{"FlareNegative", callerAdmin, mUpdate, thresholds(func(t *hepv1.AlertThresholds) { t.FlareIncrease = -2 }), codes.InvalidArgument, "thresholds.flare_increase", ""},
		{"WorseningNaN", callerAdmin, mUpdate, thresholds(func(t *hepv1.AlertThresholds) { t.WorseningIncrease = math.NaN() }), codes.InvalidArgument, "thresholds.worsening_increase", ""},
		{"WorseningInf", callerAdmin, mUpdate, thresholds(func(t *hepv1.AlertThresholds) { t.WorseningIncrease = math.Inf(1) }), codes.InvalidArgument, "thresholds.worsening_increase", ""},
		{"WorseningTooSmall", callerAdmin, mUpdate, thresholds(func(t *hepv1.AlertThresholds) { t.WorseningIncrease = 0.4 }), codes.InvalidArgument, "thresholds.worsening_increase", ""},
		{"NonAdherence101", callerAdmin, mUpdate, thresholds(func(t *hepv1.AlertThresholds) { t.NonAdherencePercent = 101 }), codes.InvalidArgument, "thresholds.non_adherence_percent", ""},
		{"Adherent0", callerAdmin, mUpdate, thresholds(func(t *hepv1.AlertThresholds) { t.AdherentPercent = 0 }), codes.InvalidArgument, "thresholds.adherent_percent", ""},
		{"MCIDPoints11", callerAdmin, mUpdate, thresholds(func(t *hepv1.AlertThresholds) { t.McidPoints = 11 }), codes.InvalidArgument, "thresholds.mcid_points", ""},
		{"MCIDPercent101", callerAdmin, mUpdate, thresholds(func(t *hepv1.AlertThresholds) { t.McidPercent = 101 }), codes.InvalidArgument, "thresholds.mcid_percent", ""},
		{"InactiveDays91", callerAdmin, mUpdate, thresholds(func(t *hepv1.AlertThresholds) { t.InactiveDays = 91 }), codes.InvalidArgument, "thresholds.inactive_days", ""},
		{"ThresholdsByClinician", callerClinA, mUpdate, thresholds(func(*hepv1.AlertThresholds) {}), codes.PermissionDenied, "", "PERMISSION_DENIED"},
		{"ThresholdsReadByDevice", callerPatientA, mGet, &hepv1.GetAlertThresholdsRequest{}, codes.PermissionDenied, "", ""},

		// Alert filters.
		{"AlertKindUnspecified", callerClinA, mAlerts, &hepv1.ListAlertsRequest{Kinds: []hepv1.AlertKind{0}}, codes.InvalidArgument, "kinds[0]", ""},
		{"AlertKindUnknown", callerClinA, mAlerts, &hepv1.ListAlertsRequest{PatientId: e.patientA, Kinds: []hepv1.AlertKind{kindFlare, 99}}, codes.InvalidArgument, "kinds[1]", ""},
		{"AlertKindTwice", callerClinA, mAlerts, &hepv1.ListAlertsRequest{Kinds: []hepv1.AlertKind{kindFlare, kindSevere, kindFlare}}, codes.InvalidArgument, "kinds[2]", ""},
		{"AlertKindsTooMany", callerClinA, mAlerts, &hepv1.ListAlertsRequest{Kinds: append(allKinds, kindFlare)}, codes.InvalidArgument, "kinds", ""},
		{"AlertSeverityUnknown", callerClinA, mAlerts, &hepv1.ListAlertsRequest{Severity: 3}, codes.InvalidArgument, "severity", ""},
		{"AlertStatusUnknownTeam", callerClinA, mAlerts, &hepv1.ListAlertsRequest{Status: 9}, codes.InvalidArgument, "status", ""},
		{"AlertTeamPageSize", callerClinA, mAlerts, &hepv1.ListAlertsRequest{PageSize: -1}, codes.InvalidArgument, "page_size", ""},
		{"AlertTeamPageSize501", callerClinA, mAlerts, &hepv1.ListAlertsRequest{PageSize: 501}, codes.InvalidArgument, "page_size", ""},
		{"AlertTeamWithPatientToken", callerClinA, mAlerts, &hepv1.ListAlertsRequest{PageToken: alertsOfA}, codes.InvalidArgument, "page_token", ""},
		{"AlertTeamOtherClinToken", callerClinA, mAlerts, &hepv1.ListAlertsRequest{PageToken: teamOfB}, codes.InvalidArgument, "page_token", ""},
		{"AlertPatientWithTeamToken", callerClinB, mAlerts, &hepv1.ListAlertsRequest{PatientId: e.patientB, PageToken: teamOfB}, codes.InvalidArgument, "page_token", ""},
		{"AlertTeamByAdmin", callerAdmin, mAlerts, &hepv1.ListAlertsRequest{}, codes.PermissionDenied, "", ""},
		{"AlertOtherTeamPatient", callerClinB, mAlerts, &hepv1.ListAlertsRequest{PatientId: e.patientA, Kinds: []hepv1.AlertKind{kindSevere}}, codes.NotFound, "", "NOT_FOUND"},
	}
	runBadCases(t, e, cases)
}
