package rpc

import (
	"context"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

type alertService struct {
	hepv1.UnimplementedAlertServiceServer
	s *Server
}

func (x *alertService) ListAlerts(ctx context.Context, req *hepv1.ListAlertsRequest) (*hepv1.ListAlertsResponse, error) {
	var v hep.Violations
	var st hep.AlertStatus // "": any status
	if req.GetStatus() != hepv1.AlertStatus_ALERT_STATUS_UNSPECIFIED {
		var ok bool
		if st, ok = alertStatusFromProto[req.GetStatus()]; !ok {
			v.Add("status", "must be OPEN, ACKNOWLEDGED, or unset for any status")
		}
	}
	pid := patientOf(ctx)
	filter := pid + "|" + string(st)
	size, before, err := x.s.openPage(&v, "alerts", req.GetPageSize(), req.GetPageToken(), filter)
	if err != nil {
		return nil, err
	}
	list, err := x.s.store.ListAlerts(ctx, hep.AlertFilter{PatientID: pid, Status: st, Before: before, Limit: size + 1})
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

func (x *alertService) AcknowledgeAlert(ctx context.Context, req *hepv1.AcknowledgeAlertRequest) (*hepv1.AcknowledgeAlertResponse, error) {
	var v hep.Violations
	hep.CheckID(&v, "alert_id", req.GetAlertId())
	addViolations(&v, hep.ValidateAckNote(req.GetNote()))
	if err := v.Err(); err != nil {
		return nil, err
	}
	a, changed, err := x.s.store.AcknowledgeAlert(ctx, patientOf(ctx), req.GetAlertId(), req.GetNote())
	if err != nil {
		return nil, err
	}
	return &hepv1.AcknowledgeAlertResponse{Alert: alertToProto(a), ChangedItems: changed}, nil
}
