package rpc

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

type alertService struct {
	hepv1.UnimplementedAlertServiceServer
	s *Server
}

// alertFilterFromProto validates ListAlerts' filters into v: status and
// severity unset mean any; kinds must be distinct known kinds.
func alertFilterFromProto(v *hep.Violations, req *hepv1.ListAlertsRequest) (hep.AlertStatus, []hep.AlertKind, hep.AlertSeverity) {
	var st hep.AlertStatus // "": any status
	if req.GetStatus() != hepv1.AlertStatus_ALERT_STATUS_UNSPECIFIED {
		var ok bool
		if st, ok = alertStatusFromProto[req.GetStatus()]; !ok {
			v.Add("status", "must be OPEN, ACKNOWLEDGED, or unset for any status")
		}
	}
	var kinds []hep.AlertKind
	if in := req.GetKinds(); len(in) > len(alertKindToProto) {
		v.Add("kinds", "must list at most %d distinct kinds", len(alertKindToProto))
	} else {
		seen := map[hep.AlertKind]bool{}
		for i, k := range in {
			field := fmt.Sprintf("kinds[%d]", i)
			d, ok := alertKindFromProto[k]
			switch {
			case !ok:
				v.Add(field, "must be a known alert kind (not UNSPECIFIED)")
			case seen[d]:
				v.Add(field, "is listed twice")
			default:
				seen[d] = true
				kinds = append(kinds, d)
			}
		}
	}
	var sev hep.AlertSeverity // "": any severity
	if req.GetSeverity() != hepv1.AlertSeverity_ALERT_SEVERITY_UNSPECIFIED {
		var ok bool
		if sev, ok = alertSevFromProto[req.GetSeverity()]; !ok {
			v.Add("severity", "must be URGENT, ROUTINE, or unset for any severity")
		}
	}
	return st, kinds, sev
}

// ListAlerts lists one patient's alerts or, with patient_id empty, those of
// the calling clinician's care team (scopePatientOrTeam). The page token is
// bound to the patient or the clinician and to every filter.
func (x *alertService) ListAlerts(ctx context.Context, req *hepv1.ListAlertsRequest) (*hepv1.ListAlertsResponse, error) {
	var v hep.Violations
	st, kinds, sev := alertFilterFromProto(&v, req)
	f := hep.AlertFilter{PatientID: patientOf(ctx), ClinicianID: careTeamOf(ctx), Status: st, Kinds: kinds, Severity: sev}
	filter := alertPageFilter(f)
	size, before, err := x.s.openPage(&v, "alerts", req.GetPageSize(), req.GetPageToken(), filter)
	if err != nil {
		return nil, err
	}
	f.Before, f.Limit = before, size+1
	list, err := x.s.store.ListAlerts(ctx, f)
	if err != nil {
		return nil, err
	}
	resp := &hepv1.ListAlertsResponse{}
	list, resp.NextPageToken = nextPage(x.s, "alerts", filter, list, size, func(a hep.Alert) string { return a.ID })
	for _, a := range list {
		resp.Alerts = append(resp.Alerts, alertToProto(a))
	}
	return resp, nil
}

// alertPageFilter is the fingerprint a page token of ListAlerts is bound
// to: "PATIENT|STATUS" for one patient's list without kinds or severity
// (the form tokens had before those filters existed), "team:CLINICIAN|..."
// for a care team's, then "|KINDS|SEVERITY" when either is set (kinds
// sorted, so their order in the request does not matter).
func alertPageFilter(f hep.AlertFilter) string {
	who := f.PatientID
	if who == "" {
		who = "team:" + f.ClinicianID
	}
	out := who + "|" + string(f.Status)
	if len(f.Kinds) > 0 || f.Severity != "" {
		ks := make([]string, len(f.Kinds))
		for i, k := range f.Kinds {
			ks[i] = string(k)
		}
		sort.Strings(ks)
		out += "|" + strings.Join(ks, ",") + "|" + string(f.Severity)
	}
	return out
}

func (x *alertService) AcknowledgeAlert(ctx context.Context, req *hepv1.AcknowledgeAlertRequest) (*hepv1.AcknowledgeAlertResponse, error) {
	var v hep.Violations
	hep.CheckID(&v, "alert_id", req.GetAlertId())
	addViolations(&v, hep.ValidateAckNote(req.GetNote()))
	addViolations(&v, hep.ValidateExpectedOccurrences("expected_occurrence_count", req.GetExpectedOccurrenceCount()))
	if err := v.Err(); err != nil {
		return nil, err
	}
	a, changed, err := x.s.store.AcknowledgeAlert(ctx, patientOf(ctx), req.GetAlertId(), req.GetNote(), req.GetExpectedOccurrenceCount())
	if err != nil {
		return nil, err
	}
	return &hepv1.AcknowledgeAlertResponse{Alert: alertToProto(a), ChangedItems: changed}, nil
}

// ListAlertOccurrences lists one alert's occurrences, newest first; the
// page token is bound to the patient and the alert.
func (x *alertService) ListAlertOccurrences(ctx context.Context, req *hepv1.ListAlertOccurrencesRequest) (*hepv1.ListAlertOccurrencesResponse, error) {
	var v hep.Violations
	hep.CheckID(&v, "alert_id", req.GetAlertId())
	f := hep.AlertOccurrenceFilter{PatientID: patientOf(ctx), AlertID: req.GetAlertId()}
	filter := f.PatientID + "|" + f.AlertID
	size, before, err := x.s.openPage(&v, "alert_occurrences", req.GetPageSize(), req.GetPageToken(), filter)
	if err != nil {
		return nil, err
	}
	f.Before, f.Limit = before, size+1
	list, err := x.s.store.ListAlertOccurrences(ctx, f)
	if err != nil {
		return nil, err
	}
	resp := &hepv1.ListAlertOccurrencesResponse{}
	list, resp.NextPageToken = nextPage(x.s, "alert_occurrences", filter, list, size, func(o hep.AlertOccurrence) string { return o.ID })
	for _, o := range list {
		resp.Occurrences = append(resp.Occurrences, alertOccurrenceToProto(o))
	}
	return resp, nil
}
