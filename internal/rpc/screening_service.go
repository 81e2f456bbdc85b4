package rpc

import (
	"context"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

type screeningService struct {
	hepv1.UnimplementedScreeningServiceServer
	s *Server
}

// RecordScreeningAnswers records answers; their source and recorder come
// from the caller (hep.SourceFor), never from the request.
func (x *screeningService) RecordScreeningAnswers(ctx context.Context, req *hepv1.RecordScreeningAnswersRequest) (*hepv1.RecordScreeningAnswersResponse, error) {
	in := make([]hep.ScreeningInput, len(req.GetAnswers()))
	for i, a := range req.GetAnswers() {
		in[i] = hep.ScreeningInput{
			Flag: fromProto(flagFromProto, a.GetFlag(), badFlag), Status: fromProto(statusFromProto, a.GetStatus(), badStatus),
			Note: a.GetNote(),
		}
	}
	if err := hep.ValidateScreeningInputs(in); err != nil {
		return nil, err
	}
	pid := patientOf(ctx)
	sc, changed, err := x.s.store.RecordScreening(ctx, pid, in)
	if err != nil {
		return nil, err
	}
	return &hepv1.RecordScreeningAnswersResponse{Current: screeningToProto(pid, sc), ChangedItems: changed}, nil
}

func (x *screeningService) GetScreening(ctx context.Context, _ *hepv1.GetScreeningRequest) (*hepv1.GetScreeningResponse, error) {
	pid := patientOf(ctx)
	sc, err := x.s.store.GetScreening(ctx, pid)
	if err != nil {
		return nil, err
	}
	return &hepv1.GetScreeningResponse{Current: screeningToProto(pid, sc)}, nil
}

func (x *screeningService) ListScreeningHistory(ctx context.Context, req *hepv1.ListScreeningHistoryRequest) (*hepv1.ListScreeningHistoryResponse, error) {
	var v hep.Violations
	flag, ok := flagFromProto[req.GetFlag()] // UNSPECIFIED is FlagNone: every flag
	if !ok {
		v.Add("flag", "must be a screening flag, or unset for every flag")
	}
	pid := patientOf(ctx)
	filter := pid + "|" + string(flag)
	size, before, err := x.s.openPage(&v, "screening_history", req.GetPageSize(), req.GetPageToken(), filter)
	if err != nil {
		return nil, err
	}
	list, err := x.s.store.ListScreeningHistory(ctx, hep.ScreeningFilter{PatientID: pid, Flag: flag, Before: before, Limit: size + 1})
	if err != nil {
		return nil, err
	}
	resp := &hepv1.ListScreeningHistoryResponse{}
	list, resp.NextPageToken = nextPage(x.s, "screening_history", filter, list, size, func(a hep.ScreeningAnswer) string { return a.ID })
	for _, a := range list {
		resp.Answers = append(resp.Answers, answerToProto(a))
	}
	return resp, nil
}

func (x *screeningService) ReportRedFlags(ctx context.Context, req *hepv1.ReportRedFlagsRequest) (*hepv1.ReportRedFlagsResponse, error) {
	symptoms := make([]hep.RedFlag, len(req.GetSymptoms()))
	for i, s := range req.GetSymptoms() {
		symptoms[i] = fromProto(redFlagFromProto, s, badRedFlag)
	}
	if err := hep.ValidateRedFlags(symptoms, req.GetNote()); err != nil {
		return nil, err
	}
	a, err := x.s.store.ReportRedFlags(ctx, patientOf(ctx), symptoms, req.GetNote())
	if err != nil {
		return nil, err
	}
	return &hepv1.ReportRedFlagsResponse{AlertId: a.ID}, nil
}
