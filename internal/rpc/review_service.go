package rpc

import (
	"context"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// reviewService is the clinician's review: one patient's progress, the
// triage list of the caller's care team, and the clinic's thresholds. The
// rules (adherence, pain trend, triage order) are the domain's
// (hep.ComputeProgress, hep.Triage); the store reads the facts.
type reviewService struct {
	hepv1.UnimplementedReviewServiceServer
	s *Server
}

// Triage pages: 0 means 50, at most 500.
const (
	defaultTriagePage = 50
	maxTriagePage     = 500
)

// GetProgress resolves the range (defaults in the patient's time zone),
// validates it, reads the facts and computes progress at the server's
// clock.
func (x *reviewService) GetProgress(ctx context.Context, req *hepv1.GetProgressRequest) (*hepv1.GetProgressResponse, error) {
	pid := patientOf(ctx)
	from, to := dateFromProto(req.GetFrom()), dateFromProto(req.GetTo())
	var v hep.Violations
	if !from.IsZero() && !from.Valid() {
		v.Add("from", "must be a valid day between 2000 and 2100, or unset for %d days before to", hep.DefaultProgressDays-1)
	}
	if !to.IsZero() && !to.Valid() {
		v.Add("to", "must be a valid day between 2000 and 2100, or unset for the patient's today")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !from.IsZero() && !to.IsZero() {
		if err := hep.ValidateRange(from, to, hep.MaxProgressDays); err != nil {
			return nil, err
		}
	}
	// Unset days are resolved by the store in the patient's time zone, in
	// the same read (and the same one audit row).
	facts, t, err := x.s.store.ProgressFacts(ctx, pid, from, to)
	if err != nil {
		return nil, err
	}
	return &hepv1.GetProgressResponse{Progress: progressToProto(hep.ComputeProgress(facts, t, x.s.now()))}, nil
}

// ListTriage orders the caller's care team as of the server's clock and
// returns one page of it. The whole list is computed each time (a care team
// is hundreds of patients, not millions); the page token holds the offset,
// bound to the caller, so the pages of one walk follow one order as long as
// nothing changes in between.
func (x *reviewService) ListTriage(ctx context.Context, req *hepv1.ListTriageRequest) (*hepv1.ListTriageResponse, error) {
	me := hep.ActorFrom(ctx).ID
	var v hep.Violations
	size := hep.CheckPageSize(&v, req.GetPageSize(), defaultTriagePage, maxTriagePage)
	if err := v.Err(); err != nil {
		return nil, err
	}
	cur, err := x.s.decodePage("triage", req.GetPageToken(), me)
	if err != nil {
		return nil, err
	}
	if cur.Seq < 0 {
		v.Add("page_token", "is not a page token of this list with this filter")
		return nil, v.Err()
	}
	facts, t, err := x.s.store.TriageFacts(ctx, me, x.s.now())
	if err != nil {
		return nil, err
	}
	entries := hep.Triage(facts, t)
	resp := &hepv1.ListTriageResponse{Total: int32(len(entries))}
	start := min(int(cur.Seq), len(entries))
	end := min(start+size, len(entries))
	for _, e := range entries[start:end] {
		resp.Entries = append(resp.Entries, triageEntryToProto(e))
	}
	if end < len(entries) {
		resp.NextPageToken = x.s.encodePage("triage", pageCursor{Seq: int64(end), Filter: me})
	}
	return resp, nil
}

func (x *reviewService) GetAlertThresholds(ctx context.Context, _ *hepv1.GetAlertThresholdsRequest) (*hepv1.GetAlertThresholdsResponse, error) {
	t, err := x.s.store.Thresholds(ctx)
	if err != nil {
		return nil, err
	}
	return &hepv1.GetAlertThresholdsResponse{Thresholds: thresholdsToProto(t)}, nil
}

// UpdateAlertThresholds replaces every threshold; each must be in range
// (hep.Thresholds.Validate names the fields "thresholds.severe_pain" and so
// on).
func (x *reviewService) UpdateAlertThresholds(ctx context.Context, req *hepv1.UpdateAlertThresholdsRequest) (*hepv1.UpdateAlertThresholdsResponse, error) {
	if req.GetThresholds() == nil {
		var v hep.Violations
		v.Add("thresholds", "is required: every threshold, each in its range")
		return nil, v.Err()
	}
	in := thresholdsFromProto(req.GetThresholds())
	if err := in.Validate(); err != nil {
		return nil, err
	}
	t, err := x.s.store.SetThresholds(ctx, in)
	if err != nil {
		return nil, err
	}
	return &hepv1.UpdateAlertThresholdsResponse{Thresholds: thresholdsToProto(t)}, nil
}
