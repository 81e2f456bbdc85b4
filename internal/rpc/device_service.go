package rpc

import (
	"context"

	"github.com/hepclinic/hep/internal/auth"
	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

type deviceService struct {
	hepv1.UnimplementedDeviceServiceServer
	s *Server
}

func (x *deviceService) CreateEnrollmentCode(ctx context.Context, req *hepv1.CreateEnrollmentCodeRequest) (*hepv1.CreateEnrollmentCodeResponse, error) {
	ttl, err := hep.CheckEnrollmentTTL(req.GetTtlSeconds())
	if err != nil {
		return nil, err
	}
	code := auth.NewEnrollmentCode()
	exp := x.s.now().Add(ttl)
	if err := x.s.store.CreateEnrollmentCode(ctx, patientOf(ctx), auth.HashSecret(auth.NormalizeEnrollmentCode(code)), exp); err != nil {
		return nil, err
	}
	return &hepv1.CreateEnrollmentCodeResponse{Code: code, ExpireTime: ts(exp)}, nil
}

func (x *deviceService) ListDevices(ctx context.Context, _ *hepv1.ListDevicesRequest) (*hepv1.ListDevicesResponse, error) {
	list, err := x.s.store.ListDevices(ctx, patientOf(ctx))
	if err != nil {
		return nil, err
	}
	resp := &hepv1.ListDevicesResponse{}
	for _, d := range list {
		resp.Devices = append(resp.Devices, deviceToProto(d))
	}
	return resp, nil
}

func (x *deviceService) RevokeDevice(ctx context.Context, req *hepv1.RevokeDeviceRequest) (*hepv1.RevokeDeviceResponse, error) {
	var v hep.Violations
	hep.CheckID(&v, "device_id", req.GetDeviceId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	d, err := x.s.store.RevokeDevice(ctx, patientOf(ctx), req.GetDeviceId())
	if err != nil {
		return nil, err
	}
	return &hepv1.RevokeDeviceResponse{Device: deviceToProto(d)}, nil
}
