package rpc

import (
	"context"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

type planService struct {
	hepv1.UnimplementedPlanServiceServer
	s *Server
}

func (x *planService) GetPlan(ctx context.Context, req *hepv1.GetPlanRequest) (*hepv1.GetPlanResponse, error) {
	if req.GetVersion() < 0 {
		var v hep.Violations
		v.Add("version", "must be 0 (the current version) or a version number")
		return nil, v.Err()
	}
	p, err := x.s.store.GetPlan(ctx, patientOf(ctx), req.GetVersion())
	if err != nil {
		return nil, err
	}
	return &hepv1.GetPlanResponse{Plan: planToProto(p, x.s.now())}, nil
}

// checkItemCount validates the number of items; the items themselves are
// checked against the catalog by the store (hep.ValidateItems), in the
// transaction that reads the catalog.
func checkItemCount(v *hep.Violations, n, min int) {
	if n < min || n > hep.MaxPlanItems {
		v.Add("items", "must hold %d to %d items", min, hep.MaxPlanItems)
	}
}

func (x *planService) SetPlan(ctx context.Context, req *hepv1.SetPlanRequest) (*hepv1.SetPlanResponse, error) {
	var v hep.Violations
	if req.GetExpectedVersion() < 0 {
		v.Add("expected_version", "must be the current version (0 for the first)")
	}
	checkItemCount(&v, len(req.GetItems()), 0)
	addViolations(&v, hep.ValidatePlanNote(req.GetNote()))
	if err := v.Err(); err != nil {
		return nil, err
	}
	in := hep.PlanInput{ExpectedVersion: req.GetExpectedVersion(), Items: itemSpecsFromProto(req.GetItems()), Note: req.GetNote()}
	p, err := x.s.store.SetPlan(ctx, patientOf(ctx), in)
	if err != nil {
		return nil, err
	}
	return &hepv1.SetPlanResponse{Plan: planToProto(p, x.s.now())}, nil
}

func (x *planService) CheckPlan(ctx context.Context, req *hepv1.CheckPlanRequest) (*hepv1.CheckPlanResponse, error) {
	var v hep.Violations
	checkItemCount(&v, len(req.GetItems()), 1)
	if err := v.Err(); err != nil {
		return nil, err
	}
	ds, err := x.s.store.CheckPlan(ctx, patientOf(ctx), itemSpecsFromProto(req.GetItems()))
	if err != nil {
		return nil, err
	}
	resp := &hepv1.CheckPlanResponse{Writable: true}
	for _, d := range ds {
		resp.Decisions = append(resp.Decisions, decisionToProto(d))
		if len(d.Blocking()) > 0 {
			resp.Writable = false
		}
	}
	return resp, nil
}

// ClearItem records a clearance given by the caller; whether the exercise
// may be cleared for the flag is the domain's rule (hep.CheckClearance),
// applied by the store against the current screening.
func (x *planService) ClearItem(ctx context.Context, req *hepv1.ClearItemRequest) (*hepv1.ClearItemResponse, error) {
	var v hep.Violations
	hep.CheckSlug(&v, "exercise_id", req.GetExerciseId())
	flag, ok := flagFromProto[req.GetFlag()] // UNSPECIFIED is FlagNone: a device's standing clearance
	if !ok {
		v.Add("flag", "must be a screening flag, or unset for a device's standing clearance")
	}
	addViolations(&v, hep.ValidateClearanceReason(req.GetReason()))
	if err := v.Err(); err != nil {
		return nil, err
	}
	c, changed, err := x.s.store.ClearItem(ctx, hep.Clearance{
		PatientID: patientOf(ctx), ExerciseID: req.GetExerciseId(), Flag: flag, Reason: req.GetReason(),
		ClearedBy: hep.ActorFrom(ctx).ID,
	})
	if err != nil {
		return nil, err
	}
	return &hepv1.ClearItemResponse{Clearance: clearanceToProto(c), ChangedItems: changed}, nil
}

func (x *planService) ListClearances(ctx context.Context, _ *hepv1.ListClearancesRequest) (*hepv1.ListClearancesResponse, error) {
	list, err := x.s.store.ListClearances(ctx, patientOf(ctx))
	if err != nil {
		return nil, err
	}
	resp := &hepv1.ListClearancesResponse{}
	for _, c := range list {
		resp.Clearances = append(resp.Clearances, clearanceToProto(c))
	}
	return resp, nil
}

func (x *planService) ListGatingDecisions(ctx context.Context, req *hepv1.ListGatingDecisionsRequest) (*hepv1.ListGatingDecisionsResponse, error) {
	var v hep.Violations
	pid := patientOf(ctx)
	size, before, err := x.s.openPage(&v, "gating_decisions", req.GetPageSize(), req.GetPageToken(), pid)
	if err != nil {
		return nil, err
	}
	list, err := x.s.store.ListGatingDecisions(ctx, hep.DecisionFilter{PatientID: pid, Before: before, Limit: size + 1})
	if err != nil {
		return nil, err
	}
	resp := &hepv1.ListGatingDecisionsResponse{}
	list, resp.NextPageToken = nextPage(x.s, "gating_decisions", pid, list, size, func(g hep.GatingDecision) string { return g.ID })
	for _, g := range list {
		resp.Decisions = append(resp.Decisions, gatingDecisionToProto(g))
	}
	return resp, nil
}
