package rpc

import (
	"encoding/json"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

var roleToProto = map[hep.Role]hepv1.Role{
	hep.RoleAdmin: hepv1.Role_ROLE_ADMIN, hep.RoleClinician: hepv1.Role_ROLE_CLINICIAN, hep.RolePatient: hepv1.Role_ROLE_PATIENT,
}

var roleFromProto = map[hepv1.Role]hep.Role{
	hepv1.Role_ROLE_ADMIN: hep.RoleAdmin, hepv1.Role_ROLE_CLINICIAN: hep.RoleClinician, hepv1.Role_ROLE_PATIENT: hep.RolePatient,
}

var platformToProto = map[hep.Platform]hepv1.Platform{
	hep.PlatformUnspecified: hepv1.Platform_PLATFORM_UNSPECIFIED, hep.PlatformIOS: hepv1.Platform_PLATFORM_IOS,
	hep.PlatformAndroid: hepv1.Platform_PLATFORM_ANDROID, hep.PlatformOther: hepv1.Platform_PLATFORM_OTHER,
}

func accountToProto(a hep.Account) *hepv1.Account {
	return &hepv1.Account{
		Id: a.ID, Email: a.Email, DisplayName: a.DisplayName, Role: roleToProto[a.Role],
		Disabled: a.Disabled, CreateTime: ts(a.CreateTime), UpdateTime: ts(a.UpdateTime),
	}
}

func patientToProto(p hep.Patient) *hepv1.Patient {
	return &hepv1.Patient{
		Id: p.ID, DisplayName: p.DisplayName, TimeZone: p.TimeZone, ExternalMrn: p.ExternalMRN,
		CreateTime: ts(p.CreateTime), UpdateTime: ts(p.UpdateTime),
	}
}

func deviceToProto(d hep.Device) *hepv1.Device {
	return &hepv1.Device{
		Id: d.ID, PatientId: d.PatientID, Name: d.Name, Platform: platformToProto[d.Platform],
		EnrollTime: ts(d.EnrollTime), RevokeTime: ts(d.RevokeTime),
	}
}

func memberToProto(m hep.CareTeamMember) *hepv1.CareTeamMember {
	return &hepv1.CareTeamMember{
		PatientId: m.PatientID, ClinicianId: m.ClinicianID, ClinicianDisplayName: m.ClinicianDisplayName, AddTime: ts(m.AddTime),
	}
}

func auditToProto(e hep.AuditEvent) *hepv1.AuditEvent {
	return &hepv1.AuditEvent{
		Sequence: e.Seq, Time: ts(e.Time), ActorId: e.ActorID, ActorRole: roleToProto[e.ActorRole],
		PatientId: e.PatientID, Action: e.Action, Resource: e.Resource, Outcome: e.Outcome,
		RequestId: e.RequestID, Peer: e.Peer, Hash: e.Hash, Chain: e.Chain,
	}
}

func principalToProto(a hep.Actor) *hepv1.Principal {
	p := &hepv1.Principal{Role: roleToProto[a.Role], SessionId: a.SessionID}
	if a.Role == hep.RolePatient {
		p.DeviceId, p.PatientId = a.ID, a.PatientID
	} else {
		p.AccountId = a.ID
	}
	return p
}

// pageCursor is what a page token carries: where the last page ended and a
// fingerprint of the filter it was made for, so a token cannot be reused with
// another filter.
type pageCursor struct {
	After string `json:"a,omitempty"`
	Seq   int64  `json:"s,omitempty"`
	// Time (Unix nanoseconds) and Chain with Seq: an audit event's place.
	Time   int64  `json:"t,omitempty"`
	Chain  string `json:"c,omitempty"`
	Filter string `json:"f,omitempty"`
}

func (s *Server) encodePage(kind string, c pageCursor) string {
	b, _ := json.Marshal(c)
	return s.signer.Seal(kind, b)
}

// decodePage opens a page token; the empty token is the first page.
func (s *Server) decodePage(kind, token, filter string) (pageCursor, error) {
	var c pageCursor
	if token == "" {
		return c, nil
	}
	b, err := s.signer.Open(kind, token)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.Filter != filter {
		var v hep.Violations
		v.Add("page_token", "is not a page token of this list with this filter")
		return pageCursor{}, v.Err()
	}
	return c, nil
}
