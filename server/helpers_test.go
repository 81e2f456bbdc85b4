//go:build unix

package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// Test accounts. Passwords reach hepd on standard input or in requests, never
// on a command line.
const (
	adminEmail        = "admin@clinic.example"
	adminPassword     = "correct horse battery staple"
	clinicianEmail    = "clin@clinic.example"
	clinicianPassword = "another long passphrase"
)

// rpcTimeout bounds every single call the tests make.
const rpcTimeout = 15 * time.Second

// api is a client of every hepd service on one connection.
type api struct {
	auth    hepv1.AuthServiceClient
	account hepv1.AccountServiceClient
	patient hepv1.PatientServiceClient
	device  hepv1.DeviceServiceClient
	audit   hepv1.AuditServiceClient
	health  healthpb.HealthClient
}

func newAPI(cc *grpc.ClientConn) *api {
	return &api{
		auth:    hepv1.NewAuthServiceClient(cc),
		account: hepv1.NewAccountServiceClient(cc),
		patient: hepv1.NewPatientServiceClient(cc),
		device:  hepv1.NewDeviceServiceClient(cc),
		audit:   hepv1.NewAuditServiceClient(cc),
		health:  healthpb.NewHealthClient(cc),
	}
}

// callCtx returns a context for one call: bounded by rpcTimeout, carrying the
// bearer token (if any) and the request id (if any).
func callCtx(t testing.TB, token, requestID string) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	t.Cleanup(cancel)
	var kv []string
	if token != "" {
		kv = append(kv, "authorization", "Bearer "+token)
	}
	if requestID != "" {
		kv = append(kv, "x-request-id", requestID)
	}
	if len(kv) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, kv...)
	}
	return ctx
}

// withBearer adds the bearer token to an outgoing context.
func withBearer(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// waitServing waits until hepd has logged that it serves: everything it wrote
// on standard error before (such as the admin bootstrap hint) is then in
// s.stderr, since the log comes through the same pipe.
func waitServing(t testing.TB, s *server) {
	t.Helper()
	if !waitFor(5*time.Second, func() bool { return strings.Contains(s.stderr.String(), `"msg":"serving"`) }) {
		t.Fatalf("hepd printed its address but did not log \"serving\":\n%s", s.stderr.String())
	}
}

// checkStatus fails the test unless err is a status with code and, when
// reason is not empty, an ErrorInfo of domain hep.v1 with that reason.
func checkStatus(t testing.TB, what string, err error, code codes.Code, reason string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: succeeded, want %v %s", what, code, reason)
		return
	}
	st, _ := status.FromError(err)
	if st.Code() != code {
		t.Errorf("%s: code %v (%v), want %v", what, st.Code(), err, code)
		return
	}
	if reason == "" {
		return
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			if info.GetReason() != reason || info.GetDomain() != "hep.v1" {
				t.Errorf("%s: ErrorInfo %s/%s, want hep.v1/%s", what, info.GetDomain(), info.GetReason(), reason)
			}
			return
		}
	}
	t.Errorf("%s: no ErrorInfo in %v, want reason %s", what, err, reason)
}

// must fails the test now if err is not nil.
func must(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// createAdmin runs "hepd admin create" on db, password on standard input.
func createAdmin(t testing.TB, db string) cliResult {
	t.Helper()
	return runHepdDB(t, adminPassword+"\n", db, []string{"admin", "create"}, "--email", adminEmail, "--password-file", "-")
}

// clinic is a running server with an admin and a clinician signed in.
type clinic struct {
	srv                    *server
	api                    *api
	adminID, clinicianID   string
	adminTok, clinicianTok string
	clinicianRefresh       string
}

// newClinic bootstraps an admin with the CLI on a fresh database in dir,
// starts hepd on it, and signs in the admin and a new clinician (three public
// calls).
func newClinic(t testing.TB, dir string) *clinic {
	t.Helper()
	db := filepath.Join(dir, "hep.db")
	if r := createAdmin(t, db); r.code != 0 {
		t.Fatalf("hepd admin create: %v", r)
	}
	c := &clinic{srv: startServer(t, db)}
	c.api = newAPI(c.srv.dial(t))
	c.signInAll(t)
	return c
}

func (c *clinic) signInAll(t testing.TB) {
	t.Helper()
	in, err := c.api.auth.SignIn(callCtx(t, "", ""), &hepv1.SignInRequest{Email: adminEmail, Password: adminPassword})
	must(t, "admin SignIn", err)
	c.adminID, c.adminTok = in.GetPrincipal().GetAccountId(), in.GetTokens().GetAccessToken()
	acct, err := c.api.account.CreateAccount(callCtx(t, c.adminTok, ""), &hepv1.CreateAccountRequest{
		Email: clinicianEmail, DisplayName: "Dr. Test", Role: hepv1.Role_ROLE_CLINICIAN, Password: clinicianPassword,
	})
	must(t, "CreateAccount clinician", err)
	c.clinicianID = acct.GetAccount().GetId()
	in, err = c.api.auth.SignIn(callCtx(t, "", ""), &hepv1.SignInRequest{Email: clinicianEmail, Password: clinicianPassword})
	must(t, "clinician SignIn", err)
	c.clinicianTok, c.clinicianRefresh = in.GetTokens().GetAccessToken(), in.GetTokens().GetRefreshToken()
}

// createPatient creates a patient as the clinician and returns its id.
func (c *clinic) createPatient(t testing.TB, name string) string {
	t.Helper()
	p, err := c.api.patient.CreatePatient(callCtx(t, c.clinicianTok, ""), &hepv1.CreatePatientRequest{DisplayName: name, TimeZone: "Europe/Lisbon"})
	must(t, "CreatePatient "+name, err)
	if p.GetPatient().GetId() == "" {
		t.Fatalf("CreatePatient %s: no id", name)
	}
	return p.GetPatient().GetId()
}

// listAllPatients pages through the clinician's patients.
func listAllPatients(t testing.TB, a *api, token string, pageSize int32) []*hepv1.Patient {
	t.Helper()
	var all []*hepv1.Patient
	tok := ""
	for page := 0; ; page++ {
		if page > 10000 {
			t.Fatalf("ListPatients: more than 10000 pages")
		}
		resp, err := a.patient.ListPatients(callCtx(t, token, ""), &hepv1.ListPatientsRequest{PageSize: pageSize, PageToken: tok})
		must(t, "ListPatients", err)
		if len(resp.GetPatients()) > int(pageSize) {
			t.Fatalf("ListPatients: %d patients on a page of %d", len(resp.GetPatients()), pageSize)
		}
		all = append(all, resp.GetPatients()...)
		if tok = resp.GetNextPageToken(); tok == "" {
			return all
		}
	}
}

// listAudit pages through the audit events with start <= time < end.
func listAudit(t testing.TB, a *api, token string, start, end time.Time, pageSize int32) []*hepv1.AuditEvent {
	t.Helper()
	var all []*hepv1.AuditEvent
	tok := ""
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatalf("ListAuditEvents: more than 1000 pages")
		}
		resp, err := a.audit.ListAuditEvents(callCtx(t, token, ""), &hepv1.ListAuditEventsRequest{
			StartTime: timestamppb.New(start), EndTime: timestamppb.New(end), PageSize: pageSize, PageToken: tok,
		})
		must(t, "ListAuditEvents", err)
		all = append(all, resp.GetEvents()...)
		if tok = resp.GetNextPageToken(); tok == "" {
			return all
		}
	}
}

// auditRow is the part of an audit event a test predicts.
type auditRow struct {
	action, outcome string
	role            hepv1.Role
	actor           string
	requestID       string // "" for the CLI's row (random id)
	patient         string // anyPatient: not checked
}

const anyPatient = "*"

func (r auditRow) String() string {
	role := strings.TrimPrefix(r.role.String(), "ROLE_")
	s := fmt.Sprintf("%-30s %-18s %-11s actor=%q rid=%q", r.action, r.outcome, role, r.actor, r.requestID)
	if r.patient != anyPatient {
		s += fmt.Sprintf(" patient=%q", r.patient)
	}
	return s
}

// rowOf projects an event onto what want predicts.
func rowOf(e *hepv1.AuditEvent, want auditRow) auditRow {
	got := auditRow{action: e.GetAction(), outcome: e.GetOutcome(), role: e.GetActorRole(), actor: e.GetActorId(), requestID: e.GetRequestId(), patient: e.GetPatientId()}
	if want.requestID == "" {
		got.requestID = ""
	}
	if want.patient == anyPatient {
		got.patient = anyPatient
	}
	return got
}

// checkAuditRows compares events with want row by row and prints both lists on
// any difference. It reports whether they matched.
func checkAuditRows(t testing.TB, events []*hepv1.AuditEvent, want []auditRow) bool {
	t.Helper()
	ok := len(events) == len(want)
	var gotLines, wantLines []string
	for i, e := range events {
		w := auditRow{patient: anyPatient, requestID: "x"}
		if i < len(want) {
			w = want[i]
		}
		g := rowOf(e, w)
		if i < len(want) && g != w {
			ok = false
			gotLines = append(gotLines, fmt.Sprintf("! %3d %v", e.GetSequence(), g))
		} else {
			gotLines = append(gotLines, fmt.Sprintf("  %3d %v", e.GetSequence(), g))
		}
	}
	for _, w := range want {
		wantLines = append(wantLines, "      "+w.String())
	}
	if !ok {
		t.Errorf("audit trail: got %d events, want %d\ngot:\n%s\nwant:\n%s", len(events), len(want),
			strings.Join(gotLines, "\n"), strings.Join(wantLines, "\n"))
	}
	return ok
}
