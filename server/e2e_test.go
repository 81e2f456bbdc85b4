//go:build unix

package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestEndToEnd walks the first day of a clinic through the real binary: the
// admin bootstrap on the command line, accounts, a patient, a device enrolled
// with a one-time code, token refresh with reuse detection, and finally the
// audit trail, which must hold exactly one row per audited call.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	start := time.Now().Add(-time.Second)
	db := filepath.Join(t.TempDir(), "hep.db")

	// First start on an empty database: hepd explains how to create the admin.
	srv := startServer(t, db)
	waitServing(t, srv)
	if !strings.Contains(srv.stderr.String(), "hepd admin create") {
		t.Errorf("hepd serve on an empty database: stderr does not mention \"hepd admin create\":\n%s", srv.stderr.String())
	}

	// The operator follows them while the server runs; doing it twice changes
	// nothing.
	r := createAdmin(t, db)
	if r.code != 0 || !strings.Contains(r.stdout, "created") {
		t.Fatalf("hepd admin create: %v", r)
	}
	r2 := createAdmin(t, db)
	if r2.code != 0 || !strings.Contains(r2.stdout, "already exists") {
		t.Fatalf("hepd admin create, again: %v", r2)
	}

	a := newAPI(srv.dial(t))
	var want []auditRow // the audit rows the calls below must leave, in order
	want = append(want, auditRow{action: "account.bootstrap_admin", outcome: "OK", role: hepv1.Role_ROLE_ADMIN, actor: "local:hepd", patient: anyPatient})
	n := 0
	rid := func() string { n++; return fmt.Sprintf("e2e-%03d", n) }

	// No token: refused, and not audited (anyone could fill the trail).
	_, err := a.auth.WhoAmI(callCtx(t, "", rid()), &hepv1.WhoAmIRequest{})
	checkStatus(t, "WhoAmI without a token", err, codes.Unauthenticated, "")

	// Failed sign-ins are audited: unknown email (no actor), wrong password
	// (the account that was tried).
	id := rid()
	_, err = a.auth.SignIn(callCtx(t, "", id), &hepv1.SignInRequest{Email: "nobody@clinic.example", Password: adminPassword})
	checkStatus(t, "SignIn unknown email", err, codes.Unauthenticated, "INVALID_CREDENTIALS")
	want = append(want, auditRow{action: "auth.sign_in", outcome: "UNAUTHENTICATED", requestID: id, patient: anyPatient})

	// The admin id is in the CLI's output.
	adminID := r.stdout[strings.LastIndex(r.stdout, "(id ")+4 : strings.LastIndex(r.stdout, ")")]
	if !strings.Contains(r2.stdout, adminID) {
		t.Errorf("second admin create names another id than the first:\n%s\n%s", r.stdout, r2.stdout)
	}
	id = rid()
	_, err = a.auth.SignIn(callCtx(t, "", id), &hepv1.SignInRequest{Email: adminEmail, Password: "not the password at all"})
	checkStatus(t, "SignIn wrong password", err, codes.Unauthenticated, "INVALID_CREDENTIALS")
	want = append(want, auditRow{action: "auth.sign_in", outcome: "UNAUTHENTICATED", role: hepv1.Role_ROLE_ADMIN, actor: adminID, requestID: id, patient: anyPatient})

	// Admin signs in (email is case-insensitive) and creates a clinician.
	id = rid()
	var hdr metadata.MD
	in, err := a.auth.SignIn(callCtx(t, "", id), &hepv1.SignInRequest{Email: "Admin@Clinic.Example", Password: adminPassword}, grpc.Header(&hdr))
	must(t, "admin SignIn", err)
	want = append(want, auditRow{action: "auth.sign_in", outcome: "OK", role: hepv1.Role_ROLE_ADMIN, actor: adminID, requestID: id, patient: anyPatient})
	if got := hdr.Get("x-request-id"); len(got) != 1 || got[0] != id {
		t.Errorf("response x-request-id = %q, want [%q]", got, id)
	}
	if p := in.GetPrincipal(); p.GetRole() != hepv1.Role_ROLE_ADMIN || p.GetAccountId() != adminID {
		t.Errorf("admin SignIn principal = %v, want admin %s", p, adminID)
	}
	adminTok := in.GetTokens().GetAccessToken()
	who, err := a.auth.WhoAmI(callCtx(t, adminTok, rid()), &hepv1.WhoAmIRequest{})
	must(t, "admin WhoAmI", err)
	if who.GetPrincipal().GetAccountId() != adminID {
		t.Errorf("admin WhoAmI = %v", who.GetPrincipal())
	}

	id = rid()
	acct, err := a.account.CreateAccount(callCtx(t, adminTok, id), &hepv1.CreateAccountRequest{
		Email: clinicianEmail, DisplayName: "Dr. Test", Role: hepv1.Role_ROLE_CLINICIAN, Password: clinicianPassword,
	})
	must(t, "CreateAccount clinician", err)
	want = append(want, auditRow{action: "account.create", outcome: "OK", role: hepv1.Role_ROLE_ADMIN, actor: adminID, requestID: id, patient: anyPatient})
	clinicianID := acct.GetAccount().GetId()

	// A failed call by an authenticated caller is audited with its failure.
	id = rid()
	_, err = a.account.CreateAccount(callCtx(t, adminTok, id), &hepv1.CreateAccountRequest{
		Email: clinicianEmail, DisplayName: "Dr. Twin", Role: hepv1.Role_ROLE_CLINICIAN, Password: clinicianPassword,
	})
	checkStatus(t, "CreateAccount duplicate email", err, codes.AlreadyExists, "ALREADY_EXISTS")
	want = append(want, auditRow{action: "account.create", outcome: "ALREADY_EXISTS", role: hepv1.Role_ROLE_ADMIN, actor: adminID, requestID: id, patient: anyPatient})

	// The clinician signs in and creates a patient.
	id = rid()
	in, err = a.auth.SignIn(callCtx(t, "", id), &hepv1.SignInRequest{Email: clinicianEmail, Password: clinicianPassword})
	must(t, "clinician SignIn", err)
	want = append(want, auditRow{action: "auth.sign_in", outcome: "OK", role: hepv1.Role_ROLE_CLINICIAN, actor: clinicianID, requestID: id, patient: anyPatient})
	clinTok := in.GetTokens().GetAccessToken()

	id = rid()
	_, err = a.patient.CreatePatient(callCtx(t, clinTok, id), &hepv1.CreatePatientRequest{DisplayName: "Ana", TimeZone: "Mars/Olympus_Mons"})
	checkStatus(t, "CreatePatient bad time zone", err, codes.InvalidArgument, "INVALID_ARGUMENT")
	want = append(want, auditRow{action: "patient.create", outcome: "INVALID_ARGUMENT", role: hepv1.Role_ROLE_CLINICIAN, actor: clinicianID, requestID: id, patient: anyPatient})

	id = rid()
	p, err := a.patient.CreatePatient(callCtx(t, clinTok, id), &hepv1.CreatePatientRequest{DisplayName: "Ana", TimeZone: "Europe/Lisbon", ExternalMrn: "MRN-1"})
	must(t, "CreatePatient", err)
	patientID := p.GetPatient().GetId()
	want = append(want, auditRow{action: "patient.create", outcome: "OK", role: hepv1.Role_ROLE_CLINICIAN, actor: clinicianID, requestID: id, patient: patientID})

	// An admin has no clinical access by role alone.
	id = rid()
	_, err = a.patient.GetPatient(callCtx(t, adminTok, id), &hepv1.GetPatientRequest{PatientId: patientID})
	checkStatus(t, "GetPatient as admin", err, codes.PermissionDenied, "PERMISSION_DENIED")
	want = append(want, auditRow{action: "patient.get", outcome: "PERMISSION_DENIED", role: hepv1.Role_ROLE_ADMIN, actor: adminID, requestID: id, patient: anyPatient})

	// The clinician hands the patient an enrollment code; the phone redeems it.
	id = rid()
	code, err := a.device.CreateEnrollmentCode(callCtx(t, clinTok, id), &hepv1.CreateEnrollmentCodeRequest{PatientId: patientID})
	must(t, "CreateEnrollmentCode", err)
	want = append(want, auditRow{action: "device.create_enrollment_code", outcome: "OK", role: hepv1.Role_ROLE_CLINICIAN, actor: clinicianID, requestID: id, patient: patientID})

	id = rid()
	enr, err := a.auth.EnrollDevice(callCtx(t, "", id), &hepv1.EnrollDeviceRequest{EnrollmentCode: code.GetCode(), DeviceName: "Ana's phone", Platform: hepv1.Platform_PLATFORM_ANDROID})
	must(t, "EnrollDevice", err)
	deviceID := enr.GetDeviceId()
	want = append(want, auditRow{action: "auth.enroll_device", outcome: "OK", role: hepv1.Role_ROLE_PATIENT, actor: deviceID, requestID: id, patient: patientID})
	if enr.GetPatientId() != patientID || deviceID == "" {
		t.Fatalf("EnrollDevice: patient %q device %q, want patient %q", enr.GetPatientId(), deviceID, patientID)
	}
	devTok0, devRefresh0 := enr.GetTokens().GetAccessToken(), enr.GetTokens().GetRefreshToken()

	// The device reads its own patient (the id comes from its token) ...
	id = rid()
	got, err := a.patient.GetPatient(callCtx(t, devTok0, id), &hepv1.GetPatientRequest{})
	must(t, "GetPatient as device", err)
	want = append(want, auditRow{action: "patient.get", outcome: "OK", role: hepv1.Role_ROLE_PATIENT, actor: deviceID, requestID: id, patient: patientID})
	if got.GetPatient().GetId() != patientID || got.GetPatient().GetDisplayName() != "Ana" || got.GetPatient().GetExternalMrn() != "MRN-1" {
		t.Errorf("GetPatient as device = %v", got.GetPatient())
	}
	// ... and no other: another patient id is NOT_FOUND, as if it did not exist.
	id = rid()
	_, err = a.patient.GetPatient(callCtx(t, devTok0, id), &hepv1.GetPatientRequest{PatientId: uuid.NewString()})
	checkStatus(t, "GetPatient as device, another patient", err, codes.NotFound, "NOT_FOUND")
	want = append(want, auditRow{action: "patient.get", outcome: "NOT_FOUND", role: hepv1.Role_ROLE_PATIENT, actor: deviceID, requestID: id, patient: anyPatient})

	who, err = a.auth.WhoAmI(callCtx(t, devTok0, rid()), &hepv1.WhoAmIRequest{})
	must(t, "device WhoAmI", err)
	if pr := who.GetPrincipal(); pr.GetRole() != hepv1.Role_ROLE_PATIENT || pr.GetDeviceId() != deviceID || pr.GetPatientId() != patientID {
		t.Errorf("device WhoAmI = %v", pr)
	}

	// Refresh rotates the refresh token.
	id = rid()
	ref, err := a.auth.RefreshToken(callCtx(t, "", id), &hepv1.RefreshTokenRequest{RefreshToken: devRefresh0})
	must(t, "RefreshToken", err)
	want = append(want, auditRow{action: "auth.refresh", outcome: "OK", role: hepv1.Role_ROLE_PATIENT, actor: deviceID, requestID: id, patient: anyPatient})
	devTok1, devRefresh1 := ref.GetTokens().GetAccessToken(), ref.GetTokens().GetRefreshToken()
	if devRefresh1 == "" || devRefresh1 == devRefresh0 || devTok1 == "" {
		t.Fatalf("RefreshToken did not rotate: refresh %q -> %q, access %q", devRefresh0, devRefresh1, devTok1)
	}
	id = rid()
	_, err = a.patient.GetPatient(callCtx(t, devTok1, id), &hepv1.GetPatientRequest{})
	must(t, "GetPatient with the refreshed access token", err)
	want = append(want, auditRow{action: "patient.get", outcome: "OK", role: hepv1.Role_ROLE_PATIENT, actor: deviceID, requestID: id, patient: patientID})

	// An enrollment code works once.
	id = rid()
	_, err = a.auth.EnrollDevice(callCtx(t, "", id), &hepv1.EnrollDeviceRequest{EnrollmentCode: code.GetCode(), DeviceName: "Thief's phone", Platform: hepv1.Platform_PLATFORM_IOS})
	checkStatus(t, "EnrollDevice with a used code", err, codes.Unauthenticated, "ENROLLMENT_CODE_INVALID")
	want = append(want, auditRow{action: "auth.enroll_device", outcome: "UNAUTHENTICATED", requestID: id, patient: anyPatient})

	// Replaying a used refresh token revokes the whole session: the newer
	// refresh token and the current access token stop working too.
	id = rid()
	_, err = a.auth.RefreshToken(callCtx(t, "", id), &hepv1.RefreshTokenRequest{RefreshToken: devRefresh0})
	checkStatus(t, "RefreshToken replaying a used token", err, codes.Unauthenticated, "REFRESH_TOKEN_REUSED")
	want = append(want, auditRow{action: "auth.refresh", outcome: "UNAUTHENTICATED", role: hepv1.Role_ROLE_PATIENT, actor: deviceID, requestID: id, patient: anyPatient})

	// A refresh of a revoked session fails in the store, which then writes
	// nothing; the transport does not audit public methods' failures
	// (selfAudit), so no row.
	_, err = a.auth.RefreshToken(callCtx(t, "", rid()), &hepv1.RefreshTokenRequest{RefreshToken: devRefresh1})
	checkStatus(t, "RefreshToken with the newer token of a revoked family", err, codes.Unauthenticated, "")
	// A validly signed access token of a revoked session is refused, and its
	// use is audited under the principal it names.
	id = rid()
	_, err = a.patient.GetPatient(callCtx(t, devTok1, id), &hepv1.GetPatientRequest{})
	checkStatus(t, "GetPatient with the access token of a revoked session", err, codes.Unauthenticated, "")
	want = append(want, auditRow{action: "patient.get", outcome: "UNAUTHENTICATED", role: hepv1.Role_ROLE_PATIENT, actor: deviceID, requestID: id, patient: anyPatient})

	// Other sessions are unaffected; the clinician may not read the trail.
	id = rid()
	_, err = a.patient.GetPatient(callCtx(t, clinTok, id), &hepv1.GetPatientRequest{PatientId: patientID})
	must(t, "GetPatient as clinician", err)
	want = append(want, auditRow{action: "patient.get", outcome: "OK", role: hepv1.Role_ROLE_CLINICIAN, actor: clinicianID, requestID: id, patient: patientID})
	id = rid()
	_, err = a.audit.ListAuditEvents(callCtx(t, clinTok, id), &hepv1.ListAuditEventsRequest{})
	checkStatus(t, "ListAuditEvents as clinician", err, codes.PermissionDenied, "PERMISSION_DENIED")
	want = append(want, auditRow{action: "audit.list", outcome: "PERMISSION_DENIED", role: hepv1.Role_ROLE_CLINICIAN, actor: clinicianID, requestID: id, patient: anyPatient})

	// The trail holds exactly the rows above, in order, chained.
	beforeList := time.Now()
	time.Sleep(2 * time.Millisecond) // rows written from here on are later than beforeList
	events := listAudit(t, a, adminTok, start, beforeList.Add(time.Minute), 1000)
	if !checkAuditRows(t, events, want) {
		return // the checks below would repeat the difference
	}
	seen := map[string]bool{}
	lastSeq := map[string]int64{} // each chain's sequence is gapless on its own
	for _, e := range events {
		if prev, ok := lastSeq[e.GetChain()]; ok && e.GetSequence() != prev+1 {
			t.Errorf("audit chain %q: sequence jumps from %d to %d", e.GetChain(), prev, e.GetSequence())
		}
		lastSeq[e.GetChain()] = e.GetSequence()
		if e.GetHash() == "" || seen[e.GetHash()] {
			t.Errorf("audit event %d: hash %q empty or repeated", e.GetSequence(), e.GetHash())
		}
		seen[e.GetHash()] = true
		wantPeer := "127.0.0.1:"
		if e.GetAction() == "account.bootstrap_admin" {
			wantPeer = "local"
		}
		if !strings.HasPrefix(e.GetPeer(), wantPeer) || e.GetRequestId() == "" || e.GetTime() == nil {
			t.Errorf("audit event %d: peer %q request id %q time %v", e.GetSequence(), e.GetPeer(), e.GetRequestId(), e.GetTime())
		}
	}

	// Reading the trail is audited, after the page is read.
	again := listAudit(t, a, adminTok, start, time.Now().Add(time.Minute), 1000)
	checkAuditRows(t, again, append(want[:len(want):len(want)],
		auditRow{action: "audit.list", outcome: "OK", role: hepv1.Role_ROLE_ADMIN, actor: adminID, patient: anyPatient}))

	// Paging by 4 up to beforeList gives exactly the first listing.
	paged := listAudit(t, a, adminTok, start, beforeList, 4)
	checkAuditRows(t, paged, want)

	if code := srv.stop(); code != 0 {
		t.Errorf("hepd serve exit status after SIGTERM = %d, want 0", code)
	}
	if r := runHepd(t, "", "audit", "verify", "--db", db); r.code != 0 || !strings.Contains(r.stdout, "OK") {
		t.Errorf("hepd audit verify: %v", r)
	}
}
