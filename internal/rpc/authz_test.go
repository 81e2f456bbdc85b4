package rpc

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestAuthzTableCoversEveryMethod walks the registered services: every hep.v1
// method must have a row, and every row must name a served method.
func TestAuthzTableCoversEveryMethod(t *testing.T) {
	e := newEnv(t)
	served := map[string]bool{}
	for svc, info := range e.srv.GRPC.GetServiceInfo() {
		for _, m := range info.Methods {
			full := "/" + svc + "/" + m.Name
			served[full] = true
			if strings.HasPrefix(svc, "hep.") {
				if _, ok := authzTable[full]; !ok {
					t.Errorf("%s is served but missing from authzTable", full)
				}
				if m.IsClientStream || m.IsServerStream != serverStreams[full] {
					t.Errorf("%s: the stream interceptor guards server streams only, listed in serverStreams", full)
				}
			} else if !infraMethod(full) {
				t.Errorf("%s is served but is neither hep.v1 nor infrastructure", full)
			}
		}
	}
	for m, r := range authzTable {
		if !served[m] {
			t.Errorf("authzTable lists %s, which is not served", m)
		}
		if !r.public && len(r.roles) == 0 {
			t.Errorf("%s: no role may call it", m)
		}
		if r.action == "" && m != hepv1.AuthService_WhoAmI_FullMethodName {
			t.Errorf("%s is not audited", m)
		}
	}
}

// call invokes any unary method by its full name, or a server stream
// (serverStreams) to its end.
func call(ctx context.Context, conn grpc.ClientConnInterface, method string, req proto.Message) error {
	if serverStreams[method] {
		return callStream(ctx, conn, method, req)
	}
	out := newResponse(method)
	return conn.Invoke(ctx, method, req, out)
}

// newResponse returns an empty response message for a method, found through
// the registered file descriptors.
func newResponse(method string) proto.Message {
	parts := strings.Split(strings.TrimPrefix(method, "/"), "/")
	svc := parts[0][strings.LastIndex(parts[0], ".")+1:]
	name := parts[1] + "Response"
	_ = svc
	mt, ok := responseTypes[name]
	if !ok {
		panic("no response type " + name)
	}
	return mt()
}

var responseTypes = map[string]func() proto.Message{}

func init() {
	for _, m := range []proto.Message{
		&hepv1.SignInResponse{}, &hepv1.RefreshTokenResponse{}, &hepv1.EnrollDeviceResponse{}, &hepv1.SignOutResponse{}, &hepv1.WhoAmIResponse{},
		&hepv1.CreateAccountResponse{}, &hepv1.GetAccountResponse{}, &hepv1.ListAccountsResponse{}, &hepv1.UpdateAccountResponse{},
		&hepv1.CreatePatientResponse{}, &hepv1.GetPatientResponse{}, &hepv1.ListPatientsResponse{}, &hepv1.UpdatePatientResponse{},
		&hepv1.AddCareTeamMemberResponse{}, &hepv1.RemoveCareTeamMemberResponse{}, &hepv1.ListCareTeamMembersResponse{},
		&hepv1.CreateEnrollmentCodeResponse{}, &hepv1.ListDevicesResponse{}, &hepv1.RevokeDeviceResponse{},
		&hepv1.ListAuditEventsResponse{},
		&hepv1.ListExercisesResponse{}, &hepv1.GetExerciseResponse{}, &hepv1.CreateExerciseResponse{}, &hepv1.RetireExerciseResponse{},
		&hepv1.RecordScreeningAnswersResponse{}, &hepv1.GetScreeningResponse{}, &hepv1.ListScreeningHistoryResponse{}, &hepv1.ReportRedFlagsResponse{},
		&hepv1.GetPlanResponse{}, &hepv1.SetPlanResponse{}, &hepv1.CheckPlanResponse{}, &hepv1.ClearItemResponse{},
		&hepv1.ListClearancesResponse{}, &hepv1.ListGatingDecisionsResponse{},
		&hepv1.ListAlertsResponse{}, &hepv1.AcknowledgeAlertResponse{}, &hepv1.ListAlertOccurrencesResponse{},
		&hepv1.PushResponse{}, &hepv1.PullResponse{}, &hepv1.ListExerciseLogsResponse{}, &hepv1.ListPainCheckinsResponse{},
		&hepv1.GetProgressResponse{}, &hepv1.ListTriageResponse{}, &hepv1.GetAlertThresholdsResponse{}, &hepv1.UpdateAlertThresholdsResponse{},
		&hepv1.ListInstrumentsResponse{}, &hepv1.ImportInstrumentTextResponse{}, &hepv1.AssignQuestionnaireResponse{}, &hepv1.EndAssignmentResponse{},
		&hepv1.ListAssignmentsResponse{}, &hepv1.ListQuestionnaireResponsesResponse{},
		&hepv1.ListMessagesResponse{}, &hepv1.SendMessageResponse{}, &hepv1.MarkMessagesReadResponse{},
		&hepv1.GetReminderPreferencesResponse{}, &hepv1.SetReminderPreferencesResponse{},
	} {
		m := m
		responseTypes[string(m.ProtoReflect().Descriptor().Name())] = func() proto.Message { return proto.Clone(m) }
	}
}

// matrixRequests builds, for each method, a valid request aimed at patient A
// (or at nothing patient-specific). Public methods get fresh credentials
// each time, so every caller's attempt is independently valid.
//
// Clinical requests that need state (a screened patient, a clinic entry, an
// open alert) make it the first time they are built, as clinician A or
// patient A, before the call whose effect the matrix measures.
func matrixRequests(e *env) map[string]func(n int) proto.Message {
	var (
		screened     bool
		messaged     bool
		clinicEntry  string
		openAlert    string
		screenedOnce = func() {
			if !screened {
				e.screenAll(callerClinA, e.patientA, absent)
				screened = true
			}
		}
		// assignmentOfA is a PSFS assignment of patient A, made the first
		// time it is needed.
		assignment    string
		assignmentOfA = func() string {
			if assignment == "" {
				r, err := hepv1.NewOutcomeServiceClient(e.conn).AssignQuestionnaire(e.as(callerClinA),
					&hepv1.AssignQuestionnaireRequest{PatientId: e.patientA, InstrumentId: "psfs"})
				if err != nil {
					e.t.Fatalf("AssignQuestionnaire: %v", err)
				}
				assignment = r.Assignment.Id
			}
			return assignment
		}
		// alertOfA is an alert of patient A, raised by a red-flag report
		// the first time it is needed.
		alertOfA = func() string {
			if openAlert == "" {
				r, err := e.screening.ReportRedFlags(e.as(callerPatientA), &hepv1.ReportRedFlagsRequest{
					Symptoms: []hepv1.RedFlagSymptom{hepv1.RedFlagSymptom_RED_FLAG_SYMPTOM_SADDLE_NUMBNESS}})
				if err != nil {
					e.t.Fatalf("ReportRedFlags: %v", err)
				}
				openAlert = r.AlertId
			}
			return openAlert
		}
	)
	return map[string]func(n int) proto.Message{
		hepv1.CatalogService_ListExercises_FullMethodName: func(int) proto.Message { return &hepv1.ListExercisesRequest{} },
		hepv1.CatalogService_GetExercise_FullMethodName:   func(int) proto.Message { return &hepv1.GetExerciseRequest{ExerciseId: catCow} },
		hepv1.CatalogService_CreateExercise_FullMethodName: func(n int) proto.Message {
			return &hepv1.CreateExerciseRequest{Exercise: clinicExercise(fmt.Sprintf("wall-slide-%d", n))}
		},
		hepv1.CatalogService_RetireExercise_FullMethodName: func(int) proto.Message {
			if clinicEntry == "" {
				r, err := e.catalog.CreateExercise(e.as(callerClinA), &hepv1.CreateExerciseRequest{Exercise: clinicExercise("pelvic-tilt")})
				if err != nil {
					e.t.Fatalf("CreateExercise: %v", err)
				}
				clinicEntry = r.Exercise.Id
			}
			return &hepv1.RetireExerciseRequest{ExerciseId: clinicEntry}
		},
		hepv1.ScreeningService_RecordScreeningAnswers_FullMethodName: func(int) proto.Message {
			return &hepv1.RecordScreeningAnswersRequest{PatientId: e.patientA, Answers: answers(hypertension, absent)}
		},
		hepv1.ScreeningService_GetScreening_FullMethodName: func(int) proto.Message { return &hepv1.GetScreeningRequest{PatientId: e.patientA} },
		hepv1.ScreeningService_ListScreeningHistory_FullMethodName: func(int) proto.Message {
			return &hepv1.ListScreeningHistoryRequest{PatientId: e.patientA}
		},
		hepv1.ScreeningService_ReportRedFlags_FullMethodName: func(int) proto.Message {
			return &hepv1.ReportRedFlagsRequest{PatientId: e.patientA, Symptoms: []hepv1.RedFlagSymptom{hepv1.RedFlagSymptom_RED_FLAG_SYMPTOM_FEVER_WITH_BACK_PAIN}}
		},
		hepv1.PlanService_GetPlan_FullMethodName: func(int) proto.Message { return &hepv1.GetPlanRequest{PatientId: e.patientA} },
		hepv1.PlanService_SetPlan_FullMethodName: func(int) proto.Message {
			screenedOnce()
			v := e.plan(callerClinA, e.patientA).Version
			return &hepv1.SetPlanRequest{PatientId: e.patientA, ExpectedVersion: v, Items: []*hepv1.PlanItemSpec{item(catCow)}}
		},
		hepv1.PlanService_CheckPlan_FullMethodName: func(int) proto.Message {
			screenedOnce()
			return &hepv1.CheckPlanRequest{PatientId: e.patientA, Items: []*hepv1.PlanItemSpec{item(catCow), item(inversionTable)}}
		},
		hepv1.PlanService_ClearItem_FullMethodName: func(int) proto.Message {
			return &hepv1.ClearItemRequest{PatientId: e.patientA, ExerciseId: inversionTable, Reason: "supervised trial went well"}
		},
		hepv1.PlanService_ListClearances_FullMethodName: func(int) proto.Message { return &hepv1.ListClearancesRequest{PatientId: e.patientA} },
		hepv1.PlanService_ListGatingDecisions_FullMethodName: func(int) proto.Message {
			return &hepv1.ListGatingDecisionsRequest{PatientId: e.patientA}
		},
		hepv1.AlertService_ListAlerts_FullMethodName: func(int) proto.Message { return &hepv1.ListAlertsRequest{PatientId: e.patientA} },
		hepv1.AlertService_AcknowledgeAlert_FullMethodName: func(int) proto.Message {
			return &hepv1.AcknowledgeAlertRequest{PatientId: e.patientA, AlertId: alertOfA(), Note: "called the patient; referred to A&E"}
		},
		hepv1.AlertService_ListAlertOccurrences_FullMethodName: func(int) proto.Message {
			return &hepv1.ListAlertOccurrencesRequest{PatientId: e.patientA, AlertId: alertOfA()}
		},

		// Sync: the device's own push and pull, aimed at device A.
		hepv1.SyncService_Push_FullMethodName: func(int) proto.Message {
			return &hepv1.PushRequest{DeviceId: e.deviceA, DeviceTime: timestamppb.Now(), Mutations: []*hepv1.Mutation{
				logMutation(1, validLog(newID(), time.Now().Add(-time.Hour))),
			}}
		},
		hepv1.SyncService_Pull_FullMethodName: func(int) proto.Message { return &hepv1.PullRequest{DeviceId: e.deviceA} },
		hepv1.ExerciseLogService_ListExerciseLogs_FullMethodName: func(int) proto.Message {
			return &hepv1.ListExerciseLogsRequest{PatientId: e.patientA}
		},
		hepv1.ExerciseLogService_ListPainCheckins_FullMethodName: func(int) proto.Message {
			return &hepv1.ListPainCheckinsRequest{PatientId: e.patientA}
		},

		// Export.
		hepv1.ExportService_Export_FullMethodName: func(int) proto.Message {
			return &hepv1.ExportRequest{PatientId: e.patientA, Format: hepv1.ExportFormat_EXPORT_FORMAT_FHIR}
		},

		// Outcome questionnaires.
		hepv1.OutcomeService_ListInstruments_FullMethodName: func(int) proto.Message { return &hepv1.ListInstrumentsRequest{} },
		hepv1.OutcomeService_ImportInstrumentText_FullMethodName: func(n int) proto.Message {
			return &hepv1.ImportInstrumentTextRequest{QuestionnaireJson: odiText(fmt.Sprintf("Clinic statement %d.", n))}
		},
		hepv1.OutcomeService_AssignQuestionnaire_FullMethodName: func(int) proto.Message {
			return &hepv1.AssignQuestionnaireRequest{PatientId: e.patientA, InstrumentId: "psfs", EveryWeeks: 2}
		},
		hepv1.OutcomeService_EndAssignment_FullMethodName: func(int) proto.Message {
			return &hepv1.EndAssignmentRequest{PatientId: e.patientA, AssignmentId: assignmentOfA()}
		},
		hepv1.OutcomeService_ListAssignments_FullMethodName: func(int) proto.Message {
			assignmentOfA()
			return &hepv1.ListAssignmentsRequest{PatientId: e.patientA}
		},
		hepv1.OutcomeService_ListQuestionnaireResponses_FullMethodName: func(int) proto.Message {
			return &hepv1.ListQuestionnaireResponsesRequest{PatientId: e.patientA, AssignmentId: assignmentOfA()}
		},

		// Messages.
		hepv1.MessageService_ListMessages_FullMethodName: func(int) proto.Message { return &hepv1.ListMessagesRequest{PatientId: e.patientA} },
		hepv1.MessageService_SendMessage_FullMethodName: func(n int) proto.Message {
			return &hepv1.SendMessageRequest{PatientId: e.patientA, Body: fmt.Sprintf("How did the stretches go? (%d)", n)}
		},
		hepv1.MessageService_MarkMessagesRead_FullMethodName: func(int) proto.Message {
			if !messaged {
				e.phone(callerPatientA, e.deviceA).pushOK(&hepv1.Mutation{Change: &hepv1.Mutation_Message{Message: &hepv1.PatientMessage{
					Id: newID(), Body: "My back is better today", SentTime: timestamppb.Now()}}})
				messaged = true
			}
			return &hepv1.MarkMessagesReadRequest{PatientId: e.patientA, ReadThrough: 1}
		},

		hepv1.MessageService_GetReminderPreferences_FullMethodName: func(int) proto.Message {
			return &hepv1.GetReminderPreferencesRequest{PatientId: e.patientA}
		},
		hepv1.MessageService_SetReminderPreferences_FullMethodName: func(n int) proto.Message {
			return &hepv1.SetReminderPreferencesRequest{PatientId: e.patientA, Preferences: &hepv1.ReminderPreferences{
				WindowStartMinute: int32(480 + n), WindowEndMinute: 1200, QuietDays: []hepv1.Weekday{hepv1.Weekday_WEEKDAY_SUNDAY}}}
		},

		// Clinician review.
		hepv1.ReviewService_GetProgress_FullMethodName: func(int) proto.Message { return &hepv1.GetProgressRequest{PatientId: e.patientA} },
		hepv1.ReviewService_ListTriage_FullMethodName:  func(int) proto.Message { return &hepv1.ListTriageRequest{} },
		hepv1.ReviewService_GetAlertThresholds_FullMethodName: func(int) proto.Message {
			return &hepv1.GetAlertThresholdsRequest{}
		},
		hepv1.ReviewService_UpdateAlertThresholds_FullMethodName: func(n int) proto.Message {
			t := thresholdsToProto(hep.DefaultThresholds())
			t.SeverePain = int32(6 + n%3)
			return &hepv1.UpdateAlertThresholdsRequest{Thresholds: t}
		},

		hepv1.AuthService_SignIn_FullMethodName: func(int) proto.Message {
			return &hepv1.SignInRequest{Email: "admin@clinic.example", Password: testPassword}
		},
		hepv1.AuthService_RefreshToken_FullMethodName: func(int) proto.Message {
			_, rt := e.signIn("a@clinic.example")
			return &hepv1.RefreshTokenRequest{RefreshToken: rt}
		},
		hepv1.AuthService_EnrollDevice_FullMethodName: func(int) proto.Message {
			return &hepv1.EnrollDeviceRequest{EnrollmentCode: e.enrollCode(callerClinA, e.patientA), DeviceName: "tablet"}
		},
		hepv1.AuthService_SignOut_FullMethodName: func(int) proto.Message { return &hepv1.SignOutRequest{} },
		hepv1.AuthService_WhoAmI_FullMethodName:  func(int) proto.Message { return &hepv1.WhoAmIRequest{} },
		hepv1.AccountService_CreateAccount_FullMethodName: func(n int) proto.Message {
			return &hepv1.CreateAccountRequest{Email: fmt.Sprintf("new%d@clinic.example", n), DisplayName: "New", Role: hepv1.Role_ROLE_CLINICIAN, Password: testPassword}
		},
		hepv1.AccountService_GetAccount_FullMethodName:   func(int) proto.Message { return &hepv1.GetAccountRequest{AccountId: e.clinAID} },
		hepv1.AccountService_ListAccounts_FullMethodName: func(int) proto.Message { return &hepv1.ListAccountsRequest{} },
		hepv1.AccountService_UpdateAccount_FullMethodName: func(int) proto.Message {
			return &hepv1.UpdateAccountRequest{AccountId: e.clinBID, DisplayName: proto.String("Dr B")}
		},
		hepv1.PatientService_CreatePatient_FullMethodName: func(int) proto.Message {
			return &hepv1.CreatePatientRequest{DisplayName: "C", TimeZone: "UTC"}
		},
		hepv1.PatientService_GetPatient_FullMethodName:   func(int) proto.Message { return &hepv1.GetPatientRequest{PatientId: e.patientA} },
		hepv1.PatientService_ListPatients_FullMethodName: func(int) proto.Message { return &hepv1.ListPatientsRequest{} },
		hepv1.PatientService_UpdatePatient_FullMethodName: func(int) proto.Message {
			return &hepv1.UpdatePatientRequest{PatientId: e.patientA, TimeZone: proto.String("America/New_York")}
		},
		hepv1.PatientService_AddCareTeamMember_FullMethodName: func(int) proto.Message {
			return &hepv1.AddCareTeamMemberRequest{PatientId: e.patientA, ClinicianId: e.clinBID}
		},
		hepv1.PatientService_RemoveCareTeamMember_FullMethodName: func(int) proto.Message {
			return &hepv1.RemoveCareTeamMemberRequest{PatientId: e.patientA, ClinicianId: e.clinAID}
		},
		hepv1.PatientService_ListCareTeamMembers_FullMethodName: func(int) proto.Message {
			return &hepv1.ListCareTeamMembersRequest{PatientId: e.patientA}
		},
		hepv1.DeviceService_CreateEnrollmentCode_FullMethodName: func(int) proto.Message {
			return &hepv1.CreateEnrollmentCodeRequest{PatientId: e.patientA}
		},
		hepv1.DeviceService_ListDevices_FullMethodName: func(int) proto.Message { return &hepv1.ListDevicesRequest{PatientId: e.patientA} },
		hepv1.DeviceService_RevokeDevice_FullMethodName: func(int) proto.Message {
			return &hepv1.RevokeDeviceRequest{PatientId: e.patientA, DeviceId: e.deviceA}
		},
		hepv1.AuditService_ListAuditEvents_FullMethodName: func(int) proto.Message {
			return &hepv1.ListAuditEventsRequest{StartTime: timestamppb.New(time.Now().Add(-time.Hour)), EndTime: timestamppb.New(time.Now().Add(time.Hour))}
		},
	}
}

// clinicExercise is a valid clinic-defined exercise.
func clinicExercise(id string) *hepv1.Exercise {
	return &hepv1.Exercise{
		Id: id, Kind: hepv1.ExerciseKind_EXERCISE_KIND_EXERCISE, Name: "Clinic " + id,
		Instructions: "Slowly, within a pain-free range.",
		DefaultDose:  &hepv1.Dose{Sets: 2, Reps: 10},
		Rules: []*hepv1.ContraindicationRule{{
			Flag: hepv1.ScreeningFlag_SCREENING_FLAG_RECENT_SPINAL_SURGERY, Severity: hepv1.RuleSeverity_RULE_SEVERITY_NEEDS_CLEARANCE,
			Source: "clinic protocol 4.2",
		}},
	}
}

// deviceScoped are the methods whose request names the calling device
// (device_id): for them a request aimed at device A is another patient's
// device to patient B's phone.
var deviceScoped = map[string]bool{
	hepv1.SyncService_Push_FullMethodName: true,
	hepv1.SyncService_Pull_FullMethodName: true,
}

// expected is the access rule restated independently of the interceptor:
// who gets what for a request aimed at patient A (and at device A).
func expected(method string, r rule, caller string) codes.Code {
	if r.public {
		return codes.OK
	}
	switch caller {
	case callerNone, callerExpired, callerRevokedDv:
		return codes.Unauthenticated
	}
	role := map[string]hep.Role{
		callerPatientA: hep.RolePatient, callerPatientB: hep.RolePatient,
		callerClinA: hep.RoleClinician, callerClinB: hep.RoleClinician, callerAdmin: hep.RoleAdmin,
	}[caller]
	if !r.allows(role) {
		return codes.PermissionDenied
	}
	if r.scope.namesPatient() && (caller == callerPatientB || caller == callerClinB) {
		return codes.NotFound
	}
	if deviceScoped[method] && caller == callerPatientB {
		return codes.NotFound
	}
	return codes.OK
}

// matrixOrder runs callers that must be refused first, so that allowed calls
// that change state (revocations, sign-outs, care-team removal) cannot
// affect them; patient A runs before clinician A because both may revoke
// patient A's device (the second revocation is idempotent).
var matrixOrder = []string{callerNone, callerExpired, callerRevokedDv, callerPatientB, callerClinB, callerPatientA, callerClinA, callerAdmin}

// TestAccessMatrix: every RPC x every caller -> the expected code; a refused
// call changes no domain row, and adds an audit row only when the caller was
// authenticated.
func TestAccessMatrix(t *testing.T) { overProtocols(t, testAccessMatrix) }

func testAccessMatrix(t *testing.T, p protocol) {
	if len(matrixOrder) != len(allCallers) {
		t.Fatal("matrixOrder must list every caller")
	}
	methods := make([]string, 0, len(authzTable))
	for m := range authzTable {
		methods = append(methods, m)
	}
	for _, method := range methods {
		r := authzTable[method]
		t.Run(strings.TrimPrefix(method, "/hep.v1."), func(t *testing.T) {
			e := newEnv(t, withProtocol(p))
			reqs := matrixRequests(e)
			mk, ok := reqs[method]
			if !ok {
				t.Fatalf("no matrix request for %s", method)
			}
			for n, caller := range matrixOrder {
				want := expected(method, r, caller)
				req := mk(n)
				beforeDomain, beforeAudit := e.snapshot()
				err := call(e.as(caller), e.conn, method, req)
				if got := status.Code(err); got != want {
					t.Errorf("%s: got %v (%v), want %v", caller, got, err, want)
					continue
				}
				if want == codes.OK {
					continue
				}
				afterDomain, afterAudit := e.snapshot()
				if afterDomain != beforeDomain {
					t.Errorf("%s: refused call changed domain rows", caller)
				}
				// Refused authenticated callers leave one audit row; so does a
				// revoked device (its token names it). No token and an
				// expired token name nobody trustworthy: no row.
				wantAudit := beforeAudit + 1
				if (caller == callerNone || caller == callerExpired) && r.action != "" {
					wantAudit = beforeAudit
				}
				if r.action == "" {
					wantAudit = beforeAudit
				}
				if afterAudit != wantAudit {
					t.Errorf("%s: audit rows %d -> %d, want %d", caller, beforeAudit, afterAudit, wantAudit)
				}
				if want == codes.NotFound {
					if st, _ := status.FromError(err); strings.Contains(st.Message(), "care team") {
						t.Errorf("%s: NOT_FOUND message leaks why: %q", caller, st.Message())
					}
				}
			}
		})
	}
}

// TestNotFoundIsIndistinguishable: a patient that exists but is not on the
// clinician's team and one that does not exist give identical errors.
func TestNotFoundIsIndistinguishable(t *testing.T) { overProtocols(t, testNotFoundIsIndistinguishable) }

func testNotFoundIsIndistinguishable(t *testing.T, p protocol) {
	e := newEnv(t, withProtocol(p))
	_, errOther := e.patients.GetPatient(e.as(callerClinB), &hepv1.GetPatientRequest{PatientId: e.patientA})
	_, errNone := e.patients.GetPatient(e.as(callerClinB), &hepv1.GetPatientRequest{PatientId: "0190a5a0-0000-7000-8000-000000000000"})
	if status.Code(errOther) != codes.NotFound || status.Convert(errOther).Message() != status.Convert(errNone).Message() ||
		status.Code(errNone) != codes.NotFound {
		t.Errorf("other patient: %v; missing patient: %v", errOther, errNone)
	}
	// A device naming another patient is refused the same way.
	_, errDev := e.patients.GetPatient(e.as(callerPatientA), &hepv1.GetPatientRequest{PatientId: e.patientB})
	if status.Convert(errDev).Message() != status.Convert(errNone).Message() {
		t.Errorf("device naming another patient: %v", errDev)
	}
	// A device that names no patient gets its own.
	got, err := e.patients.GetPatient(e.as(callerPatientA), &hepv1.GetPatientRequest{})
	if err != nil || got.Patient.Id != e.patientA {
		t.Errorf("device's own patient: %v, %v", got, err)
	}
}
