package rpc

import (
	"context"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

type catalogService struct {
	hepv1.UnimplementedCatalogServiceServer
	s *Server
}

func (x *catalogService) ListExercises(ctx context.Context, req *hepv1.ListExercisesRequest) (*hepv1.ListExercisesResponse, error) {
	list, err := x.s.store.ListExercises(ctx, req.GetIncludeRetired())
	if err != nil {
		return nil, err
	}
	resp := &hepv1.ListExercisesResponse{}
	for _, e := range list {
		resp.Exercises = append(resp.Exercises, exerciseToProto(e))
	}
	return resp, nil
}

func checkExerciseID(id string) error {
	var v hep.Violations
	hep.CheckSlug(&v, "exercise_id", id)
	return v.Err()
}

func (x *catalogService) GetExercise(ctx context.Context, req *hepv1.GetExerciseRequest) (*hepv1.GetExerciseResponse, error) {
	if err := checkExerciseID(req.GetExerciseId()); err != nil {
		return nil, err
	}
	e, err := x.s.store.GetExercise(ctx, req.GetExerciseId())
	if err != nil {
		return nil, err
	}
	return &hepv1.GetExerciseResponse{Exercise: exerciseToProto(e)}, nil
}

func (x *catalogService) CreateExercise(ctx context.Context, req *hepv1.CreateExerciseRequest) (*hepv1.CreateExerciseResponse, error) {
	in := exerciseFromProto(req.GetExercise())
	if err := in.Validate(); err != nil {
		return nil, err
	}
	e, err := x.s.store.CreateExercise(ctx, in)
	if err != nil {
		return nil, err
	}
	return &hepv1.CreateExerciseResponse{Exercise: exerciseToProto(e)}, nil
}

func (x *catalogService) RetireExercise(ctx context.Context, req *hepv1.RetireExerciseRequest) (*hepv1.RetireExerciseResponse, error) {
	if err := checkExerciseID(req.GetExerciseId()); err != nil {
		return nil, err
	}
	e, err := x.s.store.RetireExercise(ctx, req.GetExerciseId())
	if err != nil {
		return nil, err
	}
	return &hepv1.RetireExerciseResponse{Exercise: exerciseToProto(e)}, nil
}
