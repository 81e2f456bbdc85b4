package rpc

import (
	"slices"
	"testing"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestClinicalAuthzRows restates who may call the clinical core, apart from
// authzTable (which TestAccessMatrix trusts): the catalog is for everyone,
// clinic entries are the clinicians' and retiring them the admins'; the
// patient's own device may screen itself and read its plan; everything
// else is for the care team's clinicians. Admins get no clinical access
// (they set the clinic's alert thresholds, which are no patient's data).
func TestClinicalAuthzRows(t *testing.T) { overProtocols(t, testClinicalAuthzRows) }

func testClinicalAuthzRows(t *testing.T, p protocol) {
	const (
		A = hep.RoleAdmin
		C = hep.RoleClinician
		P = hep.RolePatient
	)
	want := []struct {
		method string
		roles  []hep.Role
		scope  scope
		action string
	}{
		{hepv1.CatalogService_ListExercises_FullMethodName, []hep.Role{A, C, P}, scopeNone, "catalog.list"},
		{hepv1.CatalogService_GetExercise_FullMethodName, []hep.Role{A, C, P}, scopeNone, "catalog.get"},
		{hepv1.CatalogService_CreateExercise_FullMethodName, []hep.Role{C}, scopeNone, "catalog.create"},
		{hepv1.CatalogService_RetireExercise_FullMethodName, []hep.Role{A}, scopeNone, "catalog.retire"},
		{hepv1.ScreeningService_RecordScreeningAnswers_FullMethodName, []hep.Role{C, P}, scopePatient, "screening.record"},
		{hepv1.ScreeningService_GetScreening_FullMethodName, []hep.Role{C, P}, scopePatient, "screening.get"},
		{hepv1.ScreeningService_ListScreeningHistory_FullMethodName, []hep.Role{C, P}, scopePatient, "screening.list_history"},
		{hepv1.ScreeningService_ReportRedFlags_FullMethodName, []hep.Role{C, P}, scopePatient, "screening.report_red_flags"},
		{hepv1.PlanService_GetPlan_FullMethodName, []hep.Role{C, P}, scopePatient, "plan.get"},
		{hepv1.PlanService_SetPlan_FullMethodName, []hep.Role{C}, scopePatient, "plan.set"},
		{hepv1.PlanService_CheckPlan_FullMethodName, []hep.Role{C}, scopePatient, "plan.check"},
		{hepv1.PlanService_ClearItem_FullMethodName, []hep.Role{C}, scopePatient, "plan.clear_item"},
		{hepv1.PlanService_ListClearances_FullMethodName, []hep.Role{C}, scopePatient, "plan.list_clearances"},
		{hepv1.PlanService_ListGatingDecisions_FullMethodName, []hep.Role{C}, scopePatient, "plan.list_decisions"},
		{hepv1.AlertService_ListAlerts_FullMethodName, []hep.Role{C}, scopePatientOrTeam, "alert.list"},
		{hepv1.AlertService_AcknowledgeAlert_FullMethodName, []hep.Role{C}, scopePatient, "alert.acknowledge"},
		// Clinician review: triage is the caller's own team; thresholds are
		// the clinic's, read by its staff, changed by admins.
		{hepv1.ReviewService_GetProgress_FullMethodName, []hep.Role{C}, scopePatient, "review.progress"},
		{hepv1.ReviewService_ListTriage_FullMethodName, []hep.Role{C}, scopeNone, "review.triage"},
		{hepv1.ReviewService_GetAlertThresholds_FullMethodName, []hep.Role{A, C}, scopeNone, "review.get_thresholds"},
		{hepv1.ReviewService_UpdateAlertThresholds_FullMethodName, []hep.Role{A}, scopeNone, "review.update_thresholds"},
	}
	for _, w := range want {
		r, ok := authzTable[w.method]
		if !ok {
			t.Errorf("%s: no row", w.method)
			continue
		}
		got := slices.Clone(r.roles)
		slices.Sort(got)
		slices.Sort(w.roles)
		if !slices.Equal(got, w.roles) || r.scope != w.scope || r.action != w.action || r.public || r.selfAudit {
			t.Errorf("%s: row %+v, want roles %v scope %v action %q", w.method, r, w.roles, w.scope, w.action)
		}
	}
	// Whatever is added later: an admin reaches no patient's clinical data.
	for m, r := range authzTable {
		if r.scope.namesPatient() && r.allows(hep.RoleAdmin) && !slices.Contains([]string{
			hepv1.PatientService_AddCareTeamMember_FullMethodName, hepv1.PatientService_RemoveCareTeamMember_FullMethodName,
			hepv1.PatientService_ListCareTeamMembers_FullMethodName,
		}, m) {
			t.Errorf("%s: admins may call it for a patient", m)
		}
	}
}
