package rpc

import (
	"context"

	"github.com/hepclinic/hep/internal/auth"
	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

type accountService struct {
	hepv1.UnimplementedAccountServiceServer
	s *Server
}

func (x *accountService) CreateAccount(ctx context.Context, req *hepv1.CreateAccountRequest) (*hepv1.CreateAccountResponse, error) {
	role, ok := roleFromProto[req.GetRole()]
	if !ok {
		role = hep.Role("UNKNOWN")
	}
	in := hep.AccountCreate{Email: hep.NormalizeEmail(req.GetEmail()), DisplayName: req.GetDisplayName(), Role: role, Password: req.GetPassword()}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	hash, err := auth.HashPassword(in.Password, x.s.pwParams)
	if err != nil {
		return nil, err
	}
	a, err := x.s.store.CreateAccount(ctx, in, hash)
	if err != nil {
		return nil, err
	}
	return &hepv1.CreateAccountResponse{Account: accountToProto(a)}, nil
}

func checkAccountID(id string) error {
	var v hep.Violations
	hep.CheckID(&v, "account_id", id)
	return v.Err()
}

func (x *accountService) GetAccount(ctx context.Context, req *hepv1.GetAccountRequest) (*hepv1.GetAccountResponse, error) {
	if err := checkAccountID(req.GetAccountId()); err != nil {
		return nil, err
	}
	a, err := x.s.store.GetAccount(ctx, req.GetAccountId())
	if err != nil {
		return nil, err
	}
	return &hepv1.GetAccountResponse{Account: accountToProto(a)}, nil
}

func (x *accountService) ListAccounts(ctx context.Context, req *hepv1.ListAccountsRequest) (*hepv1.ListAccountsResponse, error) {
	var v hep.Violations
	size := hep.CheckPageSize(&v, req.GetPageSize(), 50, 500)
	var role hep.Role
	if req.GetRole() != hepv1.Role_ROLE_UNSPECIFIED {
		r, ok := roleFromProto[req.GetRole()]
		if !ok || r == hep.RolePatient {
			v.Add("role", "must be ROLE_CLINICIAN, ROLE_ADMIN or unset")
		}
		role = r
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	cur, err := x.s.decodePage("accounts", req.GetPageToken(), string(role))
	if err != nil {
		return nil, err
	}
	list, err := x.s.store.ListAccounts(ctx, hep.AccountFilter{Role: role, After: cur.After, Limit: size + 1})
	if err != nil {
		return nil, err
	}
	resp := &hepv1.ListAccountsResponse{}
	if len(list) > size {
		list = list[:size]
		resp.NextPageToken = x.s.encodePage("accounts", pageCursor{After: list[size-1].ID, Filter: string(role)})
	}
	for _, a := range list {
		resp.Accounts = append(resp.Accounts, accountToProto(a))
	}
	return resp, nil
}

func (x *accountService) UpdateAccount(ctx context.Context, req *hepv1.UpdateAccountRequest) (*hepv1.UpdateAccountResponse, error) {
	if err := checkAccountID(req.GetAccountId()); err != nil {
		return nil, err
	}
	u := hep.AccountUpdate{DisplayName: req.DisplayName, Disabled: req.Disabled}
	if err := u.Validate(); err != nil {
		return nil, err
	}
	if u.Disabled != nil && *u.Disabled && req.GetAccountId() == hep.ActorFrom(ctx).ID {
		return nil, hep.Errorf(hep.CodeFailedPrecondition, "an admin cannot disable their own account")
	}
	a, err := x.s.store.UpdateAccount(ctx, req.GetAccountId(), u)
	if err != nil {
		return nil, err
	}
	return &hepv1.UpdateAccountResponse{Account: accountToProto(a)}, nil
}
