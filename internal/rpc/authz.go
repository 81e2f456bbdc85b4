package rpc

import (
	"strings"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// scope says how a call's target patient is resolved.
type scope int

const (
	// scopeNone: the call is not about one patient (or, like CreatePatient,
	// about one that does not exist yet).
	scopeNone scope = iota
	// scopePatient: the call is about the patient named by the request's
	// patient_id. A device's patient always comes from its token: a request
	// naming another patient is NOT_FOUND. A clinician must be on the
	// patient's care team and an admin may only reach patients that exist;
	// both get NOT_FOUND otherwise, exactly as for a patient that does not
	// exist.
	scopePatient
	// scopePatientOrTeam is scopePatient, except that a clinician may leave
	// patient_id empty to mean every patient on their own care team: the
	// handler then reads careTeamOf(ctx) and patientOf(ctx) is empty. A
	// patient_id that is given is checked exactly as for scopePatient.
	scopePatientOrTeam
)

// namesPatient reports whether the scope resolves a target patient from
// the request.
func (s scope) namesPatient() bool { return s == scopePatient || s == scopePatientOrTeam }

// rule is one row of the authorization table.
type rule struct {
	// public methods need no access token (sign-in, refresh, enrollment).
	public bool
	// roles may call the method; any other role gets PERMISSION_DENIED.
	roles []hep.Role
	// scope resolves the target patient.
	scope scope
	// action is the audit action name; "" means the call is not audited
	// (WhoAmI only: it reads nothing but the caller's own token).
	action string
	// selfAudit methods record their failures themselves, because only the
	// handler knows who the (unauthenticated) caller claimed to be.
	selfAudit bool
}

var (
	anyone    = []hep.Role{hep.RoleAdmin, hep.RoleClinician, hep.RolePatient}
	admin     = []hep.Role{hep.RoleAdmin}
	clinician = []hep.Role{hep.RoleClinician}
	// device: a patient's enrolled device, acting for its patient only.
	device = []hep.Role{hep.RolePatient}
	// clinicianOrPatient: with scopePatient, a care-team clinician or the
	// patient's own device.
	clinicianOrPatient = []hep.Role{hep.RoleClinician, hep.RolePatient}
)

// authzTable lists every RPC of the hep.v1 API. A test walks the registered
// services and fails if any method is missing here or listed but not served.
var authzTable = map[string]rule{
	hepv1.AuthService_SignIn_FullMethodName:       {public: true, action: "auth.sign_in", selfAudit: true},
	hepv1.AuthService_RefreshToken_FullMethodName: {public: true, action: "auth.refresh", selfAudit: true},
	hepv1.AuthService_EnrollDevice_FullMethodName: {public: true, action: "auth.enroll_device", selfAudit: true},
	hepv1.AuthService_SignOut_FullMethodName:      {roles: anyone, action: "auth.sign_out"},
	hepv1.AuthService_WhoAmI_FullMethodName:       {roles: anyone},

	hepv1.AccountService_CreateAccount_FullMethodName: {roles: admin, action: "account.create"},
	hepv1.AccountService_GetAccount_FullMethodName:    {roles: admin, action: "account.get"},
	hepv1.AccountService_ListAccounts_FullMethodName:  {roles: admin, action: "account.list"},
	hepv1.AccountService_UpdateAccount_FullMethodName: {roles: admin, action: "account.update"},

	hepv1.PatientService_CreatePatient_FullMethodName:        {roles: clinician, action: "patient.create"},
	hepv1.PatientService_GetPatient_FullMethodName:           {roles: []hep.Role{hep.RoleClinician, hep.RolePatient}, scope: scopePatient, action: "patient.get"},
	hepv1.PatientService_ListPatients_FullMethodName:         {roles: clinician, action: "patient.list"},
	hepv1.PatientService_UpdatePatient_FullMethodName:        {roles: clinician, scope: scopePatient, action: "patient.update"},
	hepv1.PatientService_AddCareTeamMember_FullMethodName:    {roles: admin, scope: scopePatient, action: "care_team.add"},
	hepv1.PatientService_RemoveCareTeamMember_FullMethodName: {roles: admin, scope: scopePatient, action: "care_team.remove"},
	hepv1.PatientService_ListCareTeamMembers_FullMethodName:  {roles: []hep.Role{hep.RoleAdmin, hep.RoleClinician}, scope: scopePatient, action: "care_team.list"},

	hepv1.DeviceService_CreateEnrollmentCode_FullMethodName: {roles: clinician, scope: scopePatient, action: "device.create_enrollment_code"},
	hepv1.DeviceService_ListDevices_FullMethodName:          {roles: []hep.Role{hep.RoleClinician, hep.RolePatient}, scope: scopePatient, action: "device.list"},
	hepv1.DeviceService_RevokeDevice_FullMethodName:         {roles: []hep.Role{hep.RoleClinician, hep.RolePatient}, scope: scopePatient, action: "device.revoke"},

	hepv1.AuditService_ListAuditEvents_FullMethodName: {roles: admin, action: "audit.list"},

	// The clinical core. The catalog is no patient's data; everything else
	// is, and admins have no clinical access.
	hepv1.CatalogService_ListExercises_FullMethodName:  {roles: anyone, action: "catalog.list"},
	hepv1.CatalogService_GetExercise_FullMethodName:    {roles: anyone, action: "catalog.get"},
	hepv1.CatalogService_CreateExercise_FullMethodName: {roles: clinician, action: "catalog.create"},
	hepv1.CatalogService_RetireExercise_FullMethodName: {roles: admin, action: "catalog.retire"},

	hepv1.ScreeningService_RecordScreeningAnswers_FullMethodName: {roles: clinicianOrPatient, scope: scopePatient, action: "screening.record"},
	hepv1.ScreeningService_GetScreening_FullMethodName:           {roles: clinicianOrPatient, scope: scopePatient, action: "screening.get"},
	hepv1.ScreeningService_ListScreeningHistory_FullMethodName:   {roles: clinicianOrPatient, scope: scopePatient, action: "screening.list_history"},
	hepv1.ScreeningService_ReportRedFlags_FullMethodName:         {roles: clinicianOrPatient, scope: scopePatient, action: "screening.report_red_flags"},

	hepv1.PlanService_GetPlan_FullMethodName:             {roles: clinicianOrPatient, scope: scopePatient, action: "plan.get"},
	hepv1.PlanService_SetPlan_FullMethodName:             {roles: clinician, scope: scopePatient, action: "plan.set"},
	hepv1.PlanService_CheckPlan_FullMethodName:           {roles: clinician, scope: scopePatient, action: "plan.check"},
	hepv1.PlanService_ClearItem_FullMethodName:           {roles: clinician, scope: scopePatient, action: "plan.clear_item"},
	hepv1.PlanService_ListClearances_FullMethodName:      {roles: clinician, scope: scopePatient, action: "plan.list_clearances"},
	hepv1.PlanService_ListGatingDecisions_FullMethodName: {roles: clinician, scope: scopePatient, action: "plan.list_decisions"},

	hepv1.AlertService_ListAlerts_FullMethodName:           {roles: clinician, scope: scopePatientOrTeam, action: "alert.list"},
	hepv1.AlertService_AcknowledgeAlert_FullMethodName:     {roles: clinician, scope: scopePatient, action: "alert.acknowledge"},
	hepv1.AlertService_ListAlertOccurrences_FullMethodName: {roles: clinician, scope: scopePatient, action: "alert.list_occurrences"},

	// Patient sync. Only the patient's own device pushes and pulls: the
	// patient comes from the token, and the handlers refuse a device_id
	// other than the caller's with NOT_FOUND. What the phone logged is read
	// by the care team.
	hepv1.SyncService_Push_FullMethodName:                    {roles: device, action: "sync.push"},
	hepv1.SyncService_Pull_FullMethodName:                    {roles: device, action: "sync.pull"},
	hepv1.ExerciseLogService_ListExerciseLogs_FullMethodName: {roles: clinician, scope: scopePatient, action: "logs.list"},
	hepv1.ExerciseLogService_ListPainCheckins_FullMethodName: {roles: clinician, scope: scopePatient, action: "checkins.list"},

	// Clinician review. Triage is the caller's own care team (no patient in
	// the request); thresholds are the clinic's, no patient's data: the
	// care team reads them, only admins change them.
	hepv1.ReviewService_GetProgress_FullMethodName:           {roles: clinician, scope: scopePatient, action: "review.progress"},
	hepv1.ReviewService_ListTriage_FullMethodName:            {roles: clinician, action: "review.triage"},
	hepv1.ReviewService_GetAlertThresholds_FullMethodName:    {roles: []hep.Role{hep.RoleAdmin, hep.RoleClinician}, action: "review.get_thresholds"},
	hepv1.ReviewService_UpdateAlertThresholds_FullMethodName: {roles: admin, action: "review.update_thresholds"},

	// Outcome questionnaires: assigned and read by the care team; the
	// phone answers through Push. The instruments are no patient's data.
	hepv1.OutcomeService_ListInstruments_FullMethodName:            {roles: []hep.Role{hep.RoleAdmin, hep.RoleClinician}, action: "outcome.list_instruments"},
	hepv1.OutcomeService_ImportInstrumentText_FullMethodName:       {roles: admin, action: "outcome.import_text"},
	hepv1.OutcomeService_AssignQuestionnaire_FullMethodName:        {roles: clinician, scope: scopePatient, action: "outcome.assign"},
	hepv1.OutcomeService_EndAssignment_FullMethodName:              {roles: clinician, scope: scopePatient, action: "outcome.end_assignment"},
	hepv1.OutcomeService_ListAssignments_FullMethodName:            {roles: clinician, scope: scopePatient, action: "outcome.list_assignments"},
	hepv1.OutcomeService_ListQuestionnaireResponses_FullMethodName: {roles: clinician, scope: scopePatient, action: "outcome.list_responses"},

	// Messages: the care team's side of the patient's thread (the phone's
	// side is Push and Pull).
	hepv1.MessageService_ListMessages_FullMethodName:           {roles: clinician, scope: scopePatient, action: "message.list"},
	hepv1.MessageService_SendMessage_FullMethodName:            {roles: clinician, scope: scopePatient, action: "message.send"},
	hepv1.MessageService_MarkMessagesRead_FullMethodName:       {roles: clinician, scope: scopePatient, action: "message.mark_read"},
	hepv1.MessageService_GetReminderPreferences_FullMethodName: {roles: clinician, scope: scopePatient, action: "reminders.get"},
	hepv1.MessageService_SetReminderPreferences_FullMethodName: {roles: clinician, scope: scopePatient, action: "reminders.set"},

	// Export: a read of the whole record, for the care team only (a
	// server stream; the stream interceptor applies the same row).
	hepv1.ExportService_Export_FullMethodName: {roles: clinician, scope: scopePatient, action: "export.export"},
}

// infraMethod reports whether a method belongs to the infrastructure services
// that need no token: health checks and server reflection.
func infraMethod(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/") ||
		strings.HasPrefix(fullMethod, "/grpc.reflection.v1.ServerReflection/") ||
		strings.HasPrefix(fullMethod, "/grpc.reflection.v1alpha.ServerReflection/")
}

func (r rule) allows(role hep.Role) bool {
	for _, x := range r.roles {
		if x == role {
			return true
		}
	}
	return false
}

// patientIDGetter is implemented by every request that names a patient.
type patientIDGetter interface{ GetPatientId() string }
