package rpc

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestBadInput: malformed requests get INVALID_ARGUMENT naming the field (or
// the right code) and change no domain row.
func TestBadInput(t *testing.T) { overProtocols(t, testBadInput) }

func testBadInput(t *testing.T, p protocol) {
	e := newEnv(t, withProtocol(p))
	long := func(n int) string { return strings.Repeat("x", n) }
	now := time.Now()
	unknownID := "0190a5a0-0000-7000-8000-000000000000"
	okPage := e.srv.encodePage("patients", pageCursor{After: unknownID, Filter: e.clinAID})
	otherClinPage := e.srv.encodePage("patients", pageCursor{After: unknownID, Filter: e.clinBID})

	type tc = badCase
	acct := func(email, name string, role hepv1.Role, pw string) proto.Message {
		return &hepv1.CreateAccountRequest{Email: email, DisplayName: name, Role: role, Password: pw}
	}
	const (
		mCreateAcct = hepv1.AccountService_CreateAccount_FullMethodName
		mCreatePat  = hepv1.PatientService_CreatePatient_FullMethodName
		mUpdatePat  = hepv1.PatientService_UpdatePatient_FullMethodName
		mListPat    = hepv1.PatientService_ListPatients_FullMethodName
		mSignIn     = hepv1.AuthService_SignIn_FullMethodName
	)
	clin := hepv1.Role_ROLE_CLINICIAN
	cases := []tc{
		{"EmptyEmail", callerAdmin, mCreateAcct, acct("", "N", clin, testPassword), codes.InvalidArgument, "email", ""},
		{"EmailNoAt", callerAdmin, mCreateAcct, acct("nobody", "N", clin, testPassword), codes.InvalidArgument, "email", ""},
		{"EmailDisplayName", callerAdmin, mCreateAcct, acct("Bob <bob@x.example>", "N", clin, testPassword), codes.InvalidArgument, "email", ""},
		{"EmailNoDomainDot", callerAdmin, mCreateAcct, acct("bob@localhost", "N", clin, testPassword), codes.InvalidArgument, "email", ""},
		{"EmailTooLong", callerAdmin, mCreateAcct, acct(long(250)+"@x.example", "N", clin, testPassword), codes.InvalidArgument, "email", ""},
		{"EmailInvalidUTF8", callerAdmin, mCreateAcct, rawMsg(acct("b@x.example", "N", clin, testPassword), 1, "b\xffb@x.example"), codes.InvalidArgument, "email", ""},
		{"EmailTaken", callerAdmin, mCreateAcct, acct("a@clinic.example", "N", clin, testPassword), codes.AlreadyExists, "", "ALREADY_EXISTS"},
		{"EmailTakenOtherCase", callerAdmin, mCreateAcct, acct("A@Clinic.Example", "N", clin, testPassword), codes.AlreadyExists, "", ""},
		{"NameEmpty", callerAdmin, mCreateAcct, acct("n1@x.example", "", clin, testPassword), codes.InvalidArgument, "display_name", ""},
		{"NameTooLong", callerAdmin, mCreateAcct, acct("n2@x.example", long(201), clin, testPassword), codes.InvalidArgument, "display_name", ""},
		{"NameControlChar", callerAdmin, mCreateAcct, acct("n3@x.example", "a\x00b", clin, testPassword), codes.InvalidArgument, "display_name", ""},
		{"NameSurroundingSpace", callerAdmin, mCreateAcct, acct("n4@x.example", " a", clin, testPassword), codes.InvalidArgument, "display_name", ""},
		{"RoleUnspecified", callerAdmin, mCreateAcct, acct("n5@x.example", "N", hepv1.Role_ROLE_UNSPECIFIED, testPassword), codes.InvalidArgument, "role", ""},
		{"RolePatient", callerAdmin, mCreateAcct, acct("n6@x.example", "N", hepv1.Role_ROLE_PATIENT, testPassword), codes.InvalidArgument, "role", ""},
		{"RoleUnknownEnum", callerAdmin, mCreateAcct, acct("n7@x.example", "N", hepv1.Role(99), testPassword), codes.InvalidArgument, "role", ""},
		{"PasswordShort", callerAdmin, mCreateAcct, acct("n8@x.example", "N", clin, "short"), codes.InvalidArgument, "password", ""},
		{"PasswordTooLong", callerAdmin, mCreateAcct, acct("n9@x.example", "N", clin, long(257)), codes.InvalidArgument, "password", ""},
		{"GetAccountBadID", callerAdmin, hepv1.AccountService_GetAccount_FullMethodName, &hepv1.GetAccountRequest{AccountId: "42"}, codes.InvalidArgument, "account_id", ""},
		{"GetAccountEmptyID", callerAdmin, hepv1.AccountService_GetAccount_FullMethodName, &hepv1.GetAccountRequest{}, codes.InvalidArgument, "account_id", ""},
		{"GetAccountUnknown", callerAdmin, hepv1.AccountService_GetAccount_FullMethodName, &hepv1.GetAccountRequest{AccountId: unknownID}, codes.NotFound, "", "NOT_FOUND"},
		{"UpdateAccountNothing", callerAdmin, hepv1.AccountService_UpdateAccount_FullMethodName, &hepv1.UpdateAccountRequest{AccountId: e.clinAID}, codes.InvalidArgument, "display_name", ""},
		{"DisableSelf", callerAdmin, hepv1.AccountService_UpdateAccount_FullMethodName, &hepv1.UpdateAccountRequest{AccountId: e.adminID, Disabled: proto.Bool(true)}, codes.FailedPrecondition, "", ""},
		{"ListAccountsPageSizeNegative", callerAdmin, hepv1.AccountService_ListAccounts_FullMethodName, &hepv1.ListAccountsRequest{PageSize: -1}, codes.InvalidArgument, "page_size", ""},
		{"ListAccountsPageSizeHuge", callerAdmin, hepv1.AccountService_ListAccounts_FullMethodName, &hepv1.ListAccountsRequest{PageSize: 501}, codes.InvalidArgument, "page_size", ""},
		{"ListAccountsRolePatient", callerAdmin, hepv1.AccountService_ListAccounts_FullMethodName, &hepv1.ListAccountsRequest{Role: hepv1.Role_ROLE_PATIENT}, codes.InvalidArgument, "role", ""},
		{"ListAccountsForgedToken", callerAdmin, hepv1.AccountService_ListAccounts_FullMethodName, &hepv1.ListAccountsRequest{PageToken: "eyJhIjoiMSJ9.AAAAAAAAAAAAAAAAAAAAAA"}, codes.InvalidArgument, "page_token", ""},
		{"PatientNameEmpty", callerClinA, mCreatePat, &hepv1.CreatePatientRequest{TimeZone: "UTC"}, codes.InvalidArgument, "display_name", ""},
		{"PatientTZEmpty", callerClinA, mCreatePat, &hepv1.CreatePatientRequest{DisplayName: "P"}, codes.InvalidArgument, "time_zone", ""},
		{"PatientTZUnknown", callerClinA, mCreatePat, &hepv1.CreatePatientRequest{DisplayName: "P", TimeZone: "Mars/Olympus_Mons"}, codes.InvalidArgument, "time_zone", ""},
		{"PatientTZLocal", callerClinA, mCreatePat, &hepv1.CreatePatientRequest{DisplayName: "P", TimeZone: "Local"}, codes.InvalidArgument, "time_zone", ""},
		{"PatientTZPathTraversal", callerClinA, mCreatePat, &hepv1.CreatePatientRequest{DisplayName: "P", TimeZone: "../../etc/passwd"}, codes.InvalidArgument, "time_zone", ""},
		{"PatientMRNTooLong", callerClinA, mCreatePat, &hepv1.CreatePatientRequest{DisplayName: "P", TimeZone: "UTC", ExternalMrn: long(65)}, codes.InvalidArgument, "external_mrn", ""},
		{"PatientNameInvalidUTF8", callerClinA, mCreatePat, rawMsg(&hepv1.CreatePatientRequest{TimeZone: "UTC"}, 1, "\xc3\x28"), codes.InvalidArgument, "display_name", ""},
		{"UpdateNameInvalidUTF8", callerClinA, mUpdatePat, rawMsg(&hepv1.UpdatePatientRequest{PatientId: e.patientA}, 2, "\xed\xa0\x80"), codes.InvalidArgument, "display_name", ""},
		{"NoTokenInvalidUTF8", callerNone, mSignIn, rawMsg(&hepv1.SignInRequest{Password: testPassword}, 1, "\xff"), codes.InvalidArgument, "email", ""},
		{"UpdatePatientNothing", callerClinA, mUpdatePat, &hepv1.UpdatePatientRequest{PatientId: e.patientA}, codes.InvalidArgument, "display_name", ""},
		{"UpdatePatientBadTZ", callerClinA, mUpdatePat, &hepv1.UpdatePatientRequest{PatientId: e.patientA, TimeZone: proto.String("UTC+25")}, codes.InvalidArgument, "time_zone", ""},
		{"UpdatePatientEmptyName", callerClinA, mUpdatePat, &hepv1.UpdatePatientRequest{PatientId: e.patientA, DisplayName: proto.String("")}, codes.InvalidArgument, "display_name", ""},
		{"UpdatePatientBadID", callerClinA, mUpdatePat, &hepv1.UpdatePatientRequest{PatientId: "'; DROP TABLE patients;--", DisplayName: proto.String("x")}, codes.InvalidArgument, "patient_id", ""},
		{"GetPatientUpperCaseID", callerClinA, hepv1.PatientService_GetPatient_FullMethodName, &hepv1.GetPatientRequest{PatientId: strings.ToUpper(e.patientA)}, codes.InvalidArgument, "patient_id", ""},
		{"ListPatientsPageSize", callerClinA, mListPat, &hepv1.ListPatientsRequest{PageSize: 100000}, codes.InvalidArgument, "page_size", ""},
		{"ListPatientsForgedToken", callerClinA, mListPat, &hepv1.ListPatientsRequest{PageToken: okPage[:len(okPage)-3] + "AAA"}, codes.InvalidArgument, "page_token", ""},
		{"ListPatientsOtherClinToken", callerClinA, mListPat, &hepv1.ListPatientsRequest{PageToken: otherClinPage}, codes.InvalidArgument, "page_token", ""},
		{"ListPatientsGarbageToken", callerClinA, mListPat, &hepv1.ListPatientsRequest{PageToken: "not a token"}, codes.InvalidArgument, "page_token", ""},
		{"CareTeamBadClinician", callerAdmin, hepv1.PatientService_AddCareTeamMember_FullMethodName, &hepv1.AddCareTeamMemberRequest{PatientId: e.patientA, ClinicianId: "x"}, codes.InvalidArgument, "clinician_id", ""},
		{"CareTeamUnknownClinician", callerAdmin, hepv1.PatientService_AddCareTeamMember_FullMethodName, &hepv1.AddCareTeamMemberRequest{PatientId: e.patientA, ClinicianId: unknownID}, codes.NotFound, "", ""},
		{"CareTeamAdminAsClinician", callerAdmin, hepv1.PatientService_AddCareTeamMember_FullMethodName, &hepv1.AddCareTeamMemberRequest{PatientId: e.patientA, ClinicianId: e.adminID}, codes.FailedPrecondition, "", ""},
		{"CareTeamUnknownPatient", callerAdmin, hepv1.PatientService_AddCareTeamMember_FullMethodName, &hepv1.AddCareTeamMemberRequest{PatientId: unknownID, ClinicianId: e.clinBID}, codes.NotFound, "", ""},
		{"RemoveNonMember", callerAdmin, hepv1.PatientService_RemoveCareTeamMember_FullMethodName, &hepv1.RemoveCareTeamMemberRequest{PatientId: e.patientA, ClinicianId: e.clinBID}, codes.NotFound, "", ""},
		{"EnrollTTLTooLong", callerClinA, hepv1.DeviceService_CreateEnrollmentCode_FullMethodName, &hepv1.CreateEnrollmentCodeRequest{PatientId: e.patientA, TtlSeconds: 73 * 3600}, codes.InvalidArgument, "ttl_seconds", ""},
		{"EnrollTTLNegative", callerClinA, hepv1.DeviceService_CreateEnrollmentCode_FullMethodName, &hepv1.CreateEnrollmentCodeRequest{PatientId: e.patientA, TtlSeconds: -5}, codes.InvalidArgument, "ttl_seconds", ""},
		{"RevokeDeviceBadID", callerClinA, hepv1.DeviceService_RevokeDevice_FullMethodName, &hepv1.RevokeDeviceRequest{PatientId: e.patientA, DeviceId: "nope"}, codes.InvalidArgument, "device_id", ""},
		{"RevokeOtherPatientsDevice", callerClinA, hepv1.DeviceService_RevokeDevice_FullMethodName, &hepv1.RevokeDeviceRequest{PatientId: e.patientA, DeviceId: e.deviceB}, codes.NotFound, "", ""},
		{"EnrollCodeEmpty", callerNone, hepv1.AuthService_EnrollDevice_FullMethodName, &hepv1.EnrollDeviceRequest{DeviceName: "p"}, codes.InvalidArgument, "enrollment_code", ""},
		{"EnrollCodeWrong", callerNone, hepv1.AuthService_EnrollDevice_FullMethodName, &hepv1.EnrollDeviceRequest{EnrollmentCode: "ABCD-EFGH-JKMN-PQRS", DeviceName: "p"}, codes.Unauthenticated, "", "ENROLLMENT_CODE_INVALID"},
		{"EnrollNoDeviceName", callerNone, hepv1.AuthService_EnrollDevice_FullMethodName, &hepv1.EnrollDeviceRequest{EnrollmentCode: "ABCD-EFGH-JKMN-PQRS"}, codes.InvalidArgument, "device_name", ""},
		{"EnrollUnknownPlatform", callerNone, hepv1.AuthService_EnrollDevice_FullMethodName, &hepv1.EnrollDeviceRequest{EnrollmentCode: "ABCD-EFGH-JKMN-PQRS", DeviceName: "p", Platform: hepv1.Platform(7)}, codes.InvalidArgument, "platform", ""},
		{"SignInEmpty", callerNone, mSignIn, &hepv1.SignInRequest{}, codes.InvalidArgument, "email", ""},
		{"SignInWrongPassword", callerNone, mSignIn, &hepv1.SignInRequest{Email: "a@clinic.example", Password: "wrong password!!"}, codes.Unauthenticated, "", "INVALID_CREDENTIALS"},
		{"SignInUnknownEmail", callerNone, mSignIn, &hepv1.SignInRequest{Email: "ghost@clinic.example", Password: testPassword}, codes.Unauthenticated, "", "INVALID_CREDENTIALS"},
		{"SignInHugePassword", callerNone, mSignIn, &hepv1.SignInRequest{Email: "a@clinic.example", Password: long(5000)}, codes.InvalidArgument, "password", ""},
		{"RefreshEmpty", callerNone, hepv1.AuthService_RefreshToken_FullMethodName, &hepv1.RefreshTokenRequest{}, codes.InvalidArgument, "refresh_token", ""},
		{"RefreshForged", callerNone, hepv1.AuthService_RefreshToken_FullMethodName, &hepv1.RefreshTokenRequest{RefreshToken: "hrt1_forged"}, codes.Unauthenticated, "", ""},
		{"AuditNoRange", callerAdmin, hepv1.AuditService_ListAuditEvents_FullMethodName, &hepv1.ListAuditEventsRequest{}, codes.InvalidArgument, "start_time", ""},
		{"AuditEndBeforeStart", callerAdmin, hepv1.AuditService_ListAuditEvents_FullMethodName, &hepv1.ListAuditEventsRequest{StartTime: timestamppb.New(now), EndTime: timestamppb.New(now.Add(-time.Hour))}, codes.InvalidArgument, "end_time", ""},
		{"AuditBadTimestamp", callerAdmin, hepv1.AuditService_ListAuditEvents_FullMethodName, &hepv1.ListAuditEventsRequest{StartTime: &timestamppb.Timestamp{Seconds: 1, Nanos: -1}, EndTime: timestamppb.New(now)}, codes.InvalidArgument, "start_time", ""},
		{"AuditPageSize", callerAdmin, hepv1.AuditService_ListAuditEvents_FullMethodName, &hepv1.ListAuditEventsRequest{StartTime: timestamppb.New(now.Add(-time.Hour)), EndTime: timestamppb.New(now), PageSize: 1001}, codes.InvalidArgument, "page_size", ""},
		{"AuditBadPatient", callerAdmin, hepv1.AuditService_ListAuditEvents_FullMethodName, &hepv1.ListAuditEventsRequest{StartTime: timestamppb.New(now.Add(-time.Hour)), EndTime: timestamppb.New(now), PatientId: "p"}, codes.InvalidArgument, "patient_id", ""},
		{"OversizedMessage", callerClinA, mCreatePat, &hepv1.CreatePatientRequest{DisplayName: long(4<<20 + 1), TimeZone: "UTC"}, codes.ResourceExhausted, "", ""},
		{"WhoAmINoToken", callerNone, hepv1.AuthService_WhoAmI_FullMethodName, &hepv1.WhoAmIRequest{}, codes.Unauthenticated, "", "UNAUTHENTICATED"},
	}
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	runBadCases(t, e, cases)
}

// badCase is a malformed or impossible request and the error it must get.
type badCase struct {
	name   string
	caller string
	method string
	req    proto.Message
	code   codes.Code
	field  string // a field violation expected for INVALID_ARGUMENT
	reason string // ErrorInfo reason, when it matters
}

// runBadCases runs each case as a subtest: the code, the ErrorInfo, the
// field violation, and no domain row changed.
func runBadCases(t *testing.T, e *env, cases []badCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, _ := e.snapshot()
			var err error
			if r, ok := c.req.(*rawRequest); ok {
				err = e.conn.Invoke(e.as(c.caller), c.method, r.wire, newResponse(c.method), grpc.ForceCodecV2(rawCodec{}))
			} else {
				err = call(e.as(c.caller), e.conn, c.method, c.req)
			}
			st := status.Convert(err)
			if st.Code() != c.code {
				t.Fatalf("got %v %q, want %v", st.Code(), st.Message(), c.code)
			}
			var info *errdetails.ErrorInfo
			var fields []string
			for _, d := range st.Details() {
				switch d := d.(type) {
				case *errdetails.ErrorInfo:
					info = d
				case *errdetails.BadRequest:
					for _, v := range d.FieldViolations {
						fields = append(fields, v.Field)
						if v.Description == "" {
							t.Errorf("violation of %s has no description", v.Field)
						}
					}
				}
			}
			if c.code != codes.ResourceExhausted && (info == nil || info.Domain != "hep.v1" || info.Reason == "") {
				t.Errorf("missing ErrorInfo: %v", st.Details())
			}
			if c.reason != "" && (info == nil || info.Reason != c.reason) {
				t.Errorf("reason = %v, want %s", info, c.reason)
			}
			if c.field != "" && !contains(fields, c.field) {
				t.Errorf("violations %v do not name %s", fields, c.field)
			}
			if after, _ := e.snapshot(); after != before {
				t.Errorf("domain rows changed")
			}
		})
	}
}

// rawRequest is a request as wire bytes: Go's protobuf refuses to marshal
// invalid UTF-8, but a buggy or hostile client can send it.
type rawRequest struct {
	*hepv1.WhoAmIRequest // satisfies proto.Message for the table; unused
	wire                 []byte
}

// rawMsg appends a string field holding s (any bytes) to m's encoding.
func rawMsg(m proto.Message, field protowire.Number, s string) proto.Message {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	b = protowire.AppendTag(b, field, protowire.BytesType)
	b = protowire.AppendString(b, s)
	return &rawRequest{WhoAmIRequest: &hepv1.WhoAmIRequest{}, wire: b}
}

// rawCodec sends []byte as they are and decodes responses as protobuf.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.([]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	return proto.Unmarshal(data.Materialize(), v.(proto.Message))
}

func (rawCodec) Name() string { return "proto" }

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
