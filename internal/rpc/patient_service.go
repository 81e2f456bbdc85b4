package rpc

import (
	"context"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

type patientService struct {
	hepv1.UnimplementedPatientServiceServer
	s *Server
}

func (x *patientService) CreatePatient(ctx context.Context, req *hepv1.CreatePatientRequest) (*hepv1.CreatePatientResponse, error) {
	in := hep.PatientCreate{DisplayName: req.GetDisplayName(), TimeZone: req.GetTimeZone(), ExternalMRN: req.GetExternalMrn()}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	p, err := x.s.store.CreatePatient(ctx, in, hep.ActorFrom(ctx).ID)
	if err != nil {
		return nil, err
	}
	return &hepv1.CreatePatientResponse{Patient: patientToProto(p)}, nil
}

func (x *patientService) GetPatient(ctx context.Context, _ *hepv1.GetPatientRequest) (*hepv1.GetPatientResponse, error) {
	p, err := x.s.store.GetPatient(ctx, patientOf(ctx))
	if err != nil {
		return nil, err
	}
	return &hepv1.GetPatientResponse{Patient: patientToProto(p)}, nil
}

func (x *patientService) ListPatients(ctx context.Context, req *hepv1.ListPatientsRequest) (*hepv1.ListPatientsResponse, error) {
	var v hep.Violations
	size := hep.CheckPageSize(&v, req.GetPageSize(), 50, 500)
	if err := v.Err(); err != nil {
		return nil, err
	}
	me := hep.ActorFrom(ctx).ID
	// The filter fingerprint binds a page token to the clinician it was made
	// for: another clinician cannot page through it.
	cur, err := x.s.decodePage("patients", req.GetPageToken(), me)
	if err != nil {
		return nil, err
	}
	list, err := x.s.store.ListPatients(ctx, hep.PatientFilter{ClinicianID: me, After: cur.After, Limit: size + 1})
	if err != nil {
		return nil, err
	}
	resp := &hepv1.ListPatientsResponse{}
	if len(list) > size {
		list = list[:size]
		resp.NextPageToken = x.s.encodePage("patients", pageCursor{After: list[size-1].ID, Filter: me})
	}
	for _, p := range list {
		resp.Patients = append(resp.Patients, patientToProto(p))
	}
	return resp, nil
}

func (x *patientService) UpdatePatient(ctx context.Context, req *hepv1.UpdatePatientRequest) (*hepv1.UpdatePatientResponse, error) {
	u := hep.PatientUpdate{DisplayName: req.DisplayName, TimeZone: req.TimeZone, ExternalMRN: req.ExternalMrn}
	if err := u.Validate(); err != nil {
		return nil, err
	}
	p, err := x.s.store.UpdatePatient(ctx, patientOf(ctx), u)
	if err != nil {
		return nil, err
	}
	return &hepv1.UpdatePatientResponse{Patient: patientToProto(p)}, nil
}

func checkClinicianID(id string) error {
	var v hep.Violations
	hep.CheckID(&v, "clinician_id", id)
	return v.Err()
}

func (x *patientService) AddCareTeamMember(ctx context.Context, req *hepv1.AddCareTeamMemberRequest) (*hepv1.AddCareTeamMemberResponse, error) {
	if err := checkClinicianID(req.GetClinicianId()); err != nil {
		return nil, err
	}
	m, err := x.s.store.AddCareTeamMember(ctx, patientOf(ctx), req.GetClinicianId())
	if err != nil {
		return nil, err
	}
	return &hepv1.AddCareTeamMemberResponse{Member: memberToProto(m)}, nil
}

func (x *patientService) RemoveCareTeamMember(ctx context.Context, req *hepv1.RemoveCareTeamMemberRequest) (*hepv1.RemoveCareTeamMemberResponse, error) {
	if err := checkClinicianID(req.GetClinicianId()); err != nil {
		return nil, err
	}
	if err := x.s.store.RemoveCareTeamMember(ctx, patientOf(ctx), req.GetClinicianId()); err != nil {
		return nil, err
	}
	return &hepv1.RemoveCareTeamMemberResponse{}, nil
}

func (x *patientService) ListCareTeamMembers(ctx context.Context, _ *hepv1.ListCareTeamMembersRequest) (*hepv1.ListCareTeamMembersResponse, error) {
	list, err := x.s.store.ListCareTeamMembers(ctx, patientOf(ctx))
	if err != nil {
		return nil, err
	}
	resp := &hepv1.ListCareTeamMembersResponse{}
	for _, m := range list {
		resp.Members = append(resp.Members, memberToProto(m))
	}
	return resp, nil
}
