package rpc

import (
	"context"
	"fmt"
	"time"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

type auditService struct {
	hepv1.UnimplementedAuditServiceServer
	s *Server
}

func (x *auditService) ListAuditEvents(ctx context.Context, req *hepv1.ListAuditEventsRequest) (*hepv1.ListAuditEventsResponse, error) {
	var v hep.Violations
	size := hep.CheckPageSize(&v, req.GetPageSize(), 100, 1000)
	if req.GetStartTime() == nil {
		v.Add("start_time", "is required")
	} else if err := req.GetStartTime().CheckValid(); err != nil {
		v.Add("start_time", "is not a valid timestamp")
	}
	if req.GetEndTime() == nil {
		v.Add("end_time", "is required")
	} else if err := req.GetEndTime().CheckValid(); err != nil {
		v.Add("end_time", "is not a valid timestamp")
	}
	if len(v) == 0 && !req.GetEndTime().AsTime().After(req.GetStartTime().AsTime()) {
		v.Add("end_time", "must be after start_time")
	}
	if req.GetPatientId() != "" {
		hep.CheckID(&v, "patient_id", req.GetPatientId())
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	f := hep.AuditFilter{Start: req.GetStartTime().AsTime(), End: req.GetEndTime().AsTime(), PatientID: req.GetPatientId(), Limit: size + 1}
	fp := fmt.Sprintf("%d|%d|%s", f.Start.UnixNano(), f.End.UnixNano(), f.PatientID)
	cur, err := x.s.decodePage("audit", req.GetPageToken(), fp)
	if err != nil {
		return nil, err
	}
	if cur.Chain != "" {
		f.After = hep.AuditCursor{Time: time.Unix(0, cur.Time).UTC(), Chain: cur.Chain, Seq: cur.Seq}
	}
	list, err := x.s.store.ListAuditEvents(ctx, f)
	if err != nil {
		return nil, err
	}
	resp := &hepv1.ListAuditEventsResponse{}
	if len(list) > size {
		list = list[:size]
		last := list[size-1]
		resp.NextPageToken = x.s.encodePage("audit", pageCursor{Time: last.Time.UnixNano(), Chain: last.Chain, Seq: last.Seq, Filter: fp})
	}
	for _, e := range list {
		resp.Events = append(resp.Events, auditToProto(e))
	}
	return resp, nil
}
