package rpc

import (
	"context"
	"time"

	"github.com/hepclinic/hep/internal/auth"
	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

type authService struct {
	hepv1.UnimplementedAuthServiceServer
	s *Server
}

var errInvalidCredentials = hep.Errorf(hep.CodeUnauthenticated, "email or password is wrong").WithReason(hep.ReasonInvalidCredentials)

// tokens issues an access token for a session and packages it with the
// already-stored refresh token.
func (s *Server) tokens(sess hep.Session, refresh string, refreshExpire time.Time) *hepv1.TokenPair {
	now := s.now()
	exp := now.Add(hep.AccessTokenTTL)
	access := s.signer.Sign(auth.Claims{
		SessionID: sess.ID, Subject: sess.PrincipalID(), Role: string(sess.Role), PatientID: sess.PatientID,
		IssuedAt: now.Unix(), ExpiresAt: exp.Unix(),
	})
	return &hepv1.TokenPair{AccessToken: access, AccessExpireTime: ts(exp), RefreshToken: refresh, RefreshExpireTime: ts(refreshExpire)}
}

func sessionActor(ctx context.Context, sess hep.Session) hep.Actor {
	a := hep.ActorFrom(ctx)
	a.ID, a.Role, a.PatientID, a.SessionID = sess.PrincipalID(), sess.Role, sess.PatientID, sess.ID
	return a
}

// auditFailure records a failed public call in its own transaction.
func (s *Server) auditFailure(ctx context.Context, actorID string, role hep.Role, patientID, resource string, err error) error {
	a := hep.ActorFrom(ctx)
	a.ID, a.Role = actorID, role
	ev := hep.NewAuditEvent(a, s.now(), patientID, resource, string(hep.ErrorCode(err)))
	if aerr := s.store.AppendAudit(ctx, ev); aerr != nil {
		return aerr
	}
	return err
}

func (x *authService) SignIn(ctx context.Context, req *hepv1.SignInRequest) (*hepv1.SignInResponse, error) {
	s := x.s
	if err := hep.ValidateCredentials(req.GetEmail(), req.GetPassword()); err != nil {
		return nil, err
	}
	acct, hash, err := s.store.AccountCredentials(ctx, hep.NormalizeEmail(req.GetEmail()))
	if hep.ErrorCode(err) == hep.CodeNotFound {
		auth.DummyVerify(req.GetPassword(), s.pwParams)
		return nil, s.auditFailure(ctx, "", "", "", "accounts", errInvalidCredentials)
	}
	if err != nil {
		return nil, err
	}
	ok, err := auth.VerifyPassword(hash, req.GetPassword())
	if err != nil {
		return nil, err
	}
	if !ok || acct.Disabled {
		return nil, s.auditFailure(ctx, acct.ID, acct.Role, "", "accounts/"+acct.ID, errInvalidCredentials)
	}
	refresh := auth.NewRefreshToken()
	rexp := s.now().Add(hep.RefreshTokenTTL)
	a := hep.ActorFrom(ctx)
	a.ID, a.Role = acct.ID, acct.Role
	sess, err := s.store.StartSession(hep.WithActor(ctx, a), hep.SessionStart{
		AccountID: acct.ID, Refresh: hep.RefreshToken{Hash: auth.HashSecret(refresh), ExpireTime: rexp},
	})
	if err != nil {
		if hep.ErrorCode(err) == hep.CodeFailedPrecondition { // disabled in between
			return nil, s.auditFailure(ctx, acct.ID, acct.Role, "", "accounts/"+acct.ID, errInvalidCredentials)
		}
		return nil, err
	}
	return &hepv1.SignInResponse{Tokens: s.tokens(sess, refresh, rexp), Principal: principalToProto(sessionActor(ctx, sess))}, nil
}

func (x *authService) RefreshToken(ctx context.Context, req *hepv1.RefreshTokenRequest) (*hepv1.RefreshTokenResponse, error) {
	s := x.s
	rt := req.GetRefreshToken()
	if rt == "" || len(rt) > 256 {
		var v hep.Violations
		v.Add("refresh_token", "is required and at most 256 characters")
		return nil, v.Err()
	}
	next := auth.NewRefreshToken()
	rexp := s.now().Add(hep.RefreshTokenTTL)
	// The store records the rotation (and a detected reuse) in the audit
	// trail as the session's principal; an unknown token has no principal and
	// is only logged.
	sess, err := s.store.RotateRefreshToken(ctx, auth.HashSecret(rt), hep.RefreshToken{Hash: auth.HashSecret(next), ExpireTime: rexp})
	if err != nil {
		return nil, err
	}
	return &hepv1.RefreshTokenResponse{Tokens: s.tokens(sess, next, rexp), Principal: principalToProto(sessionActor(ctx, sess))}, nil
}

var platformFromProto = map[hepv1.Platform]hep.Platform{
	hepv1.Platform_PLATFORM_UNSPECIFIED: hep.PlatformUnspecified, hepv1.Platform_PLATFORM_IOS: hep.PlatformIOS,
	hepv1.Platform_PLATFORM_ANDROID: hep.PlatformAndroid, hepv1.Platform_PLATFORM_OTHER: hep.PlatformOther,
}

func (x *authService) EnrollDevice(ctx context.Context, req *hepv1.EnrollDeviceRequest) (*hepv1.EnrollDeviceResponse, error) {
	s := x.s
	var v hep.Violations
	code := auth.NormalizeEnrollmentCode(req.GetEnrollmentCode())
	if code == "" {
		v.Add("enrollment_code", "must be the %d-character code the clinician gave (dashes optional)", auth.EnrollCodeLen)
	}
	platform, ok := platformFromProto[req.GetPlatform()]
	if !ok {
		v.Add("platform", "unknown platform %d", int32(req.GetPlatform()))
	}
	d := hep.DeviceEnroll{CodeHash: auth.HashSecret(code), Name: req.GetDeviceName(), Platform: platform}
	if err := d.Validate(); err != nil {
		v = append(v, err.(*hep.Error).Violations...)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	refresh := auth.NewRefreshToken()
	rexp := s.now().Add(hep.RefreshTokenTTL)
	dev, sess, err := s.store.EnrollDevice(ctx, d, hep.RefreshToken{Hash: auth.HashSecret(refresh), ExpireTime: rexp})
	if hep.ErrorCode(err) == hep.CodeUnauthenticated {
		return nil, s.auditFailure(ctx, "", "", "", "enrollment_codes", err)
	}
	if err != nil {
		return nil, err
	}
	return &hepv1.EnrollDeviceResponse{DeviceId: dev.ID, PatientId: dev.PatientID, Tokens: s.tokens(sess, refresh, rexp)}, nil
}

func (x *authService) SignOut(ctx context.Context, _ *hepv1.SignOutRequest) (*hepv1.SignOutResponse, error) {
	if err := x.s.store.RevokeSession(ctx, hep.ActorFrom(ctx).SessionID); err != nil {
		return nil, err
	}
	return &hepv1.SignOutResponse{}, nil
}

func (x *authService) WhoAmI(ctx context.Context, _ *hepv1.WhoAmIRequest) (*hepv1.WhoAmIResponse, error) {
	return &hepv1.WhoAmIResponse{Principal: principalToProto(hep.ActorFrom(ctx))}, nil
}
