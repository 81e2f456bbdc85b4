package rpc

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/sqlite"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

func TestRequestIDEchoedAndAudited(t *testing.T) {
	e := newEnv(t)
	ctx := metadata.AppendToOutgoingContext(e.as(callerClinA), "x-request-id", "req-abc_123")
	var hdr metadata.MD
	if _, err := e.patients.GetPatient(ctx, &hepv1.GetPatientRequest{PatientId: e.patientA}, grpc.Header(&hdr)); err != nil {
		t.Fatal(err)
	}
	if got := hdr.Get("x-request-id"); len(got) != 1 || got[0] != "req-abc_123" {
		t.Errorf("x-request-id header = %v", got)
	}
	// A request id with odd characters is replaced, not trusted.
	ctx = metadata.AppendToOutgoingContext(e.as(callerClinA), "x-request-id", "bad id/*")
	if _, err := e.patients.GetPatient(ctx, &hepv1.GetPatientRequest{PatientId: e.patientA}, grpc.Header(&hdr)); err != nil {
		t.Fatal(err)
	}
	if got := hdr.Get("x-request-id"); len(got) != 1 || got[0] == "bad id/*" || len(got[0]) != 36 {
		t.Errorf("replacement x-request-id = %v", got)
	}
	events := e.auditEvents()
	var found bool
	for _, ev := range events {
		if ev.RequestId == "req-abc_123" {
			found = true
			if ev.Action != "patient.get" || ev.ActorId != e.clinAID || ev.PatientId != e.patientA || ev.Outcome != "OK" ||
				ev.ActorRole != hepv1.Role_ROLE_CLINICIAN || !strings.HasPrefix(ev.Peer, "127.0.0.1:") {
				t.Errorf("audit row = %v", ev)
			}
		}
	}
	if !found {
		t.Error("no audit row carries the request id")
	}
}

func (e *env) auditEvents() []*hepv1.AuditEvent {
	e.t.Helper()
	var all []*hepv1.AuditEvent
	req := &hepv1.ListAuditEventsRequest{StartTime: timestamppb.New(time.Now().Add(-time.Hour)), EndTime: timestamppb.New(time.Now().Add(time.Hour)), PageSize: 7}
	for {
		r, err := e.audit.ListAuditEvents(e.as(callerAdmin), req)
		if err != nil {
			e.t.Fatal(err)
		}
		all = append(all, r.Events...)
		if r.NextPageToken == "" {
			return all
		}
		req.PageToken = r.NextPageToken
	}
}

func TestAuditPagingIsGapless(t *testing.T) {
	e := newEnv(t)
	events := e.auditEvents() // pages of 7; each page read is itself audited
	// Listed by time, then chain, then sequence; each chain from 1 without
	// gaps.
	next := map[string]int64{}
	for i, ev := range events {
		if i > 0 {
			p := events[i-1]
			pt, et := p.Time.AsTime(), ev.Time.AsTime()
			if et.Before(pt) || (et.Equal(pt) && (ev.Chain < p.Chain || (ev.Chain == p.Chain && ev.Sequence <= p.Sequence))) {
				t.Fatalf("event %d (%s/%d) listed after %s/%d", i, ev.Chain, ev.Sequence, p.Chain, p.Sequence)
			}
		}
		if ev.Chain == "" {
			t.Fatalf("event %d has no chain", i)
		}
		if want := next[ev.Chain] + 1; ev.Sequence != want {
			t.Fatalf("chain %s: sequence %d after %d (a gap or a repeat)", ev.Chain, ev.Sequence, want-1)
		}
		next[ev.Chain] = ev.Sequence
	}
	if len(events) < 15 || next["main"] == 0 || next["reads"] == 0 {
		t.Errorf("got %d events (%v)", len(events), next)
	}
}

// TestAuditFailureFailsTheCall injects a fault into the real database: a
// trigger that refuses the audit row of one action. The call must fail and
// its change must not be kept.
func TestAuditFailureFailsTheCall(t *testing.T) {
	e := newEnv(t)
	db, err := sql.Open("sqlite", "file:"+e.dbPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER fault_audit BEFORE INSERT ON audit_events
		WHEN NEW.action = 'patient.update' AND NEW.outcome = 'OK' BEGIN SELECT RAISE(ABORT, 'injected audit fault'); END`); err != nil {
		t.Fatal(err)
	}
	_, err = e.patients.UpdatePatient(e.as(callerClinA), &hepv1.UpdatePatientRequest{PatientId: e.patientA, DisplayName: proto.String("Changed")})
	if status.Code(err) != codes.Internal || strings.Contains(err.Error(), "injected") {
		t.Fatalf("UpdatePatient with failing audit: %v; want a bare INTERNAL", err)
	}
	got, err := e.patients.GetPatient(e.as(callerClinA), &hepv1.GetPatientRequest{PatientId: e.patientA})
	if err != nil {
		t.Fatal(err)
	}
	if got.Patient.DisplayName != "Patient A" {
		t.Errorf("display name = %q: the change survived its failed audit", got.Patient.DisplayName)
	}

	// A read whose audit row fails (in the reads chain's file) returns
	// nothing.
	rdb, err := sql.Open("sqlite", "file:"+sqlite.ReadsPath(e.dbPath)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if _, err := rdb.Exec(`CREATE TRIGGER fault_audit BEFORE INSERT ON audit_events
		WHEN NEW.action = 'patient.get' AND NEW.outcome = 'OK' BEGIN SELECT RAISE(ABORT, 'injected audit fault'); END`); err != nil {
		t.Fatal(err)
	}
	resp, err := e.patients.GetPatient(e.as(callerClinA), &hepv1.GetPatientRequest{PatientId: e.patientA})
	if status.Code(err) != codes.Internal || resp != nil || strings.Contains(err.Error(), "injected") {
		t.Errorf("GetPatient with failing audit: %v, %v; want a bare INTERNAL and no patient", resp, err)
	}
}

func TestPublicRateLimit(t *testing.T) {
	e := newEnv(t)
	e.srv.publicLimiter = newKeyedLimiter(60, 3)
	var codesSeen []codes.Code
	for i := 0; i < 5; i++ {
		_, err := e.auth.SignIn(e.as(callerNone), &hepv1.SignInRequest{Email: "a@clinic.example", Password: "wrong password!!"})
		codesSeen = append(codesSeen, status.Code(err))
	}
	want := []codes.Code{codes.Unauthenticated, codes.Unauthenticated, codes.Unauthenticated, codes.ResourceExhausted, codes.ResourceExhausted}
	for i := range want {
		if codesSeen[i] != want[i] {
			t.Fatalf("codes = %v, want %v", codesSeen, want)
		}
	}
	// Authenticated calls are not limited by it.
	if _, err := e.auth.WhoAmI(e.as(callerClinA), &hepv1.WhoAmIRequest{}); err != nil {
		t.Error(err)
	}
}

func TestKeyedLimiterRefills(t *testing.T) {
	l := newKeyedLimiter(60, 2) // one token a second
	t0 := time.Unix(1000, 0)
	if !l.allow("a", t0) || !l.allow("a", t0) || l.allow("a", t0) {
		t.Fatal("burst of 2 not enforced")
	}
	if !l.allow("b", t0) {
		t.Error("keys share a bucket")
	}
	if !l.allow("a", t0.Add(1100*time.Millisecond)) {
		t.Error("no refill after a second")
	}
	if newKeyedLimiter(0, 0) != nil {
		t.Error("0 per minute should disable the limiter")
	}
}

func TestInternalErrorsDoNotLeak(t *testing.T) {
	var logged strings.Builder
	log := slog.New(slog.NewTextHandler(&logged, nil))
	ctx := hep.WithActor(context.Background(), hep.Actor{RequestID: "rid-1"})
	err := toStatus(ctx, log, errors.New("disk I/O error at /secret/path"))
	st := status.Convert(err)
	if st.Code() != codes.Internal || st.Message() != "internal error" {
		t.Errorf("got %v %q", st.Code(), st.Message())
	}
	if !strings.Contains(logged.String(), "rid-1") || !strings.Contains(logged.String(), "disk I/O") {
		t.Errorf("log = %q; want the request id and cause", logged.String())
	}
	for code, want := range statusCodes {
		if got := status.Code(toStatus(ctx, log, hep.Errorf(code, "x"))); got != want {
			t.Errorf("%s -> %v, want %v", code, got, want)
		}
	}
	if got := status.Code(toStatus(ctx, log, context.DeadlineExceeded)); got != codes.DeadlineExceeded {
		t.Errorf("deadline -> %v", got)
	}
}

func TestDefaultDeadlineApplied(t *testing.T) {
	e := newEnv(t)
	e.srv.cfg.DefaultDeadline = 50 * time.Millisecond
	// The deadline is visible to the handler through the store context; a
	// call still completes normally well within it.
	if _, err := e.auth.WhoAmI(e.as(callerClinA), &hepv1.WhoAmIRequest{}); err != nil {
		t.Fatal(err)
	}
	var seen time.Duration
	h := func(ctx context.Context, req any) (any, error) {
		dl, ok := ctx.Deadline()
		if !ok {
			return nil, errors.New("no deadline")
		}
		seen = time.Until(dl)
		return &hepv1.WhoAmIResponse{}, nil
	}
	_, err := e.srv.unary(context.Background(), &hepv1.WhoAmIRequest{}, &grpc.UnaryServerInfo{FullMethod: "/grpc.health.v1.Health/Check"}, h)
	if err != nil || seen <= 0 || seen > 50*time.Millisecond {
		t.Errorf("handler saw deadline in %v (err %v)", seen, err)
	}
}

func TestPanicBecomesInternal(t *testing.T) {
	e := newEnv(t)
	h := func(ctx context.Context, req any) (any, error) { panic("boom") }
	_, err := e.srv.unary(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/grpc.health.v1.Health/Check"}, h)
	if st := status.Convert(err); st.Code() != codes.Internal || st.Message() != "internal error" {
		t.Errorf("panic -> %v", err)
	}
}

func TestUnlistedMethodRefused(t *testing.T) {
	e := newEnv(t)
	called := false
	h := func(ctx context.Context, req any) (any, error) { called = true; return nil, nil }
	_, err := e.srv.unary(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/hep.v1.Secret/Leak"}, h)
	if status.Code(err) != codes.Unimplemented || called {
		t.Errorf("unlisted method: %v, handler called %v", err, called)
	}
}

func TestCodeName(t *testing.T) {
	for c, want := range map[codes.Code]string{codes.InvalidArgument: "INVALID_ARGUMENT", codes.NotFound: "NOT_FOUND", codes.DeadlineExceeded: "DEADLINE_EXCEEDED"} {
		if got := strings.ToUpper(codeName(c)); got != want {
			t.Errorf("codeName(%v) = %q, want %q", c, got, want)
		}
	}
}

// TestRevocationIsImmediate: sign-out, device revocation and account
// disabling stop the very next call, well before the access token expires.
func TestRevocationIsImmediate(t *testing.T) {
	e := newEnv(t)
	if _, err := e.auth.SignOut(e.as(callerPatientB), &hepv1.SignOutRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.auth.WhoAmI(e.as(callerPatientB), &hepv1.WhoAmIRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("after sign-out: %v", err)
	}
	if _, err := e.auth.RefreshToken(e.as(callerNone), &hepv1.RefreshTokenRequest{RefreshToken: e.refresh[callerPatientB]}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("refresh after sign-out: %v", err)
	}
	if _, err := e.accounts.UpdateAccount(e.as(callerAdmin), &hepv1.UpdateAccountRequest{AccountId: e.clinBID, Disabled: proto.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.auth.WhoAmI(e.as(callerClinB), &hepv1.WhoAmIRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("after disabling: %v", err)
	}
	if _, err := e.auth.SignIn(e.as(callerNone), &hepv1.SignInRequest{Email: "b@clinic.example", Password: testPassword}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("disabled account signed in: %v", err)
	}
	if _, err := e.devices.RevokeDevice(e.as(callerPatientA), &hepv1.RevokeDeviceRequest{DeviceId: e.deviceA}); err != nil {
		t.Fatalf("device revoking itself: %v", err)
	}
	if _, err := e.auth.WhoAmI(e.as(callerPatientA), &hepv1.WhoAmIRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("after device revocation: %v", err)
	}
}
