package rpc

import (
	"google.golang.org/protobuf/encoding/protowire"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestClinicalBadInput: malformed or impossible clinical requests get the
// right code and field violation, and change no domain row.
func TestClinicalBadInput(t *testing.T) { overProtocols(t, testClinicalBadInput) }

func testClinicalBadInput(t *testing.T, p protocol) {
	e := newEnv(t, withProtocol(p))
	unknownID := "0190a5a0-0000-7000-8000-000000000000"

	// Patient A is screened (all ABSENT); patient B has an open red-flag
	// alert; patient A has an acknowledged one; a clinic entry is retired.
	e.screenAll(callerClinA, e.patientA, absent)
	redB, err := e.screening.ReportRedFlags(e.as(callerPatientB), &hepv1.ReportRedFlagsRequest{Symptoms: []hepv1.RedFlagSymptom{hepv1.RedFlagSymptom_RED_FLAG_SYMPTOM_SADDLE_NUMBNESS}})
	if err != nil {
		t.Fatal(err)
	}
	redA, err := e.screening.ReportRedFlags(e.as(callerPatientA), &hepv1.ReportRedFlagsRequest{Symptoms: []hepv1.RedFlagSymptom{hepv1.RedFlagSymptom_RED_FLAG_SYMPTOM_FEVER_WITH_BACK_PAIN}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.alerts.AcknowledgeAlert(e.as(callerClinA), &hepv1.AcknowledgeAlertRequest{PatientId: e.patientA, AlertId: redA.AlertId, Note: "seen"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.catalog.CreateExercise(e.as(callerClinA), &hepv1.CreateExerciseRequest{Exercise: clinicExercise("old-stretch")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.catalog.RetireExercise(e.as(callerAdmin), &hepv1.RetireExerciseRequest{ExerciseId: "old-stretch"}); err != nil {
		t.Fatal(err)
	}

	// Page tokens: validly signed ones for another patient or filter, and
	// edited ones.
	historyOfB := e.srv.encodePage("screening_history", pageCursor{After: unknownID, Filter: e.patientB + "|"})
	historyOfPregnancy := e.srv.encodePage("screening_history", pageCursor{After: unknownID, Filter: e.patientA + "|PREGNANCY"})
	decisionsOfB := e.srv.encodePage("gating_decisions", pageCursor{After: unknownID, Filter: e.patientB})
	alertsOfA := e.srv.encodePage("alerts", pageCursor{After: unknownID, Filter: e.patientA + "|"})
	alertsOpenOfA := e.srv.encodePage("alerts", pageCursor{After: unknownID, Filter: e.patientA + "|OPEN"})
	forged := alertsOfA[:len(alertsOfA)-4] + "AAAA"

	const (
		mCreate   = hepv1.CatalogService_CreateExercise_FullMethodName
		mGetEx    = hepv1.CatalogService_GetExercise_FullMethodName
		mRetire   = hepv1.CatalogService_RetireExercise_FullMethodName
		mRecord   = hepv1.ScreeningService_RecordScreeningAnswers_FullMethodName
		mHistory  = hepv1.ScreeningService_ListScreeningHistory_FullMethodName
		mRedFlags = hepv1.ScreeningService_ReportRedFlags_FullMethodName
		mGetPlan  = hepv1.PlanService_GetPlan_FullMethodName
		mSetPlan  = hepv1.PlanService_SetPlan_FullMethodName
		mCheck    = hepv1.PlanService_CheckPlan_FullMethodName
		mClear    = hepv1.PlanService_ClearItem_FullMethodName
		mDecide   = hepv1.PlanService_ListGatingDecisions_FullMethodName
		mAlerts   = hepv1.AlertService_ListAlerts_FullMethodName
		mAck      = hepv1.AlertService_AcknowledgeAlert_FullMethodName
	)
	ex := func(edit func(*hepv1.Exercise)) proto.Message {
		x := clinicExercise("new-entry")
		edit(x)
		return &hepv1.CreateExerciseRequest{Exercise: x}
	}
	device := func(edit func(*hepv1.Exercise)) proto.Message {
		return ex(func(x *hepv1.Exercise) {
			x.Kind, x.RequiresClearance, x.DefaultDose = hepv1.ExerciseKind_EXERCISE_KIND_DEVICE, true, &hepv1.Dose{DurationSeconds: 60, AngleDegrees: 20}
			edit(x)
		})
	}
	// plan is a SetPlan request for patient A (no plan yet: version 0) with
	// a cat-cow item edited by edit.
	plan := func(edit func(*hepv1.PlanItemSpec)) proto.Message {
		it := item(catCow)
		edit(it)
		return &hepv1.SetPlanRequest{PatientId: e.patientA, Items: []*hepv1.PlanItemSpec{it}}
	}
	items := func(n int) []*hepv1.PlanItemSpec {
		out := make([]*hepv1.PlanItemSpec, n)
		for i := range out {
			out[i] = item(catCow)
		}
		return out
	}
	record := func(as ...*hepv1.ScreeningAnswerInput) proto.Message {
		return &hepv1.RecordScreeningAnswersRequest{PatientId: e.patientA, Answers: as}
	}
	ans := func(f hepv1.ScreeningFlag, st hepv1.FlagStatus) *hepv1.ScreeningAnswerInput {
		return &hepv1.ScreeningAnswerInput{Flag: f, Status: st}
	}
	var many []*hepv1.ScreeningAnswerInput
	for i := 0; i < 21; i++ {
		many = append(many, ans(hepv1.ScreeningFlag(i%11+1), absent))
	}
	clear := func(exID string, f hepv1.ScreeningFlag, reason string) proto.Message {
		return &hepv1.ClearItemRequest{PatientId: e.patientA, ExerciseId: exID, Flag: f, Reason: reason}
	}
	red := func(ss ...hepv1.RedFlagSymptom) proto.Message {
		return &hepv1.ReportRedFlagsRequest{PatientId: e.patientA, Symptoms: ss}
	}
	ack := func(alertID, note string) proto.Message {
		return &hepv1.AcknowledgeAlertRequest{PatientId: e.patientA, AlertId: alertID, Note: note}
	}
	fever := hepv1.RedFlagSymptom_RED_FLAG_SYMPTOM_FEVER_WITH_BACK_PAIN
	date := func(y, m, d int32) *hepv1.Date { return &hepv1.Date{Year: y, Month: m, Day: d} }
	monday, tuesday := hepv1.Weekday_WEEKDAY_MONDAY, hepv1.Weekday_WEEKDAY_TUESDAY

	cases := []badCase{
		// Catalog.
		{"CreateBadSlug", callerClinA, mCreate, ex(func(x *hepv1.Exercise) { x.Id = "Cat Cow" }), codes.InvalidArgument, "exercise.id", ""},
		{"CreateNoExercise", callerClinA, mCreate, &hepv1.CreateExerciseRequest{}, codes.InvalidArgument, "exercise.id", ""},
		{"CreateUnknownKind", callerClinA, mCreate, ex(func(x *hepv1.Exercise) { x.Kind = 9 }), codes.InvalidArgument, "exercise.kind", ""},
		{"CreateDeviceWithoutClearance", callerClinA, mCreate, device(func(x *hepv1.Exercise) { x.RequiresClearance = false }), codes.InvalidArgument, "exercise.requires_clearance", ""},
		{"CreateDuplicateRuleFlags", callerClinA, mCreate, ex(func(x *hepv1.Exercise) { x.Rules = append(x.Rules, x.Rules[0]) }), codes.InvalidArgument, "exercise.rules[1].flag", ""},
		{"CreateRuleUnknownFlag", callerClinA, mCreate, ex(func(x *hepv1.Exercise) { x.Rules[0].Flag = 77 }), codes.InvalidArgument, "exercise.rules[0].flag", ""},
		{"CreateRuleUnknownSeverity", callerClinA, mCreate, ex(func(x *hepv1.Exercise) { x.Rules[0].Severity = 5 }), codes.InvalidArgument, "exercise.rules[0].severity", ""},
		{"CreateRuleNoSource", callerClinA, mCreate, ex(func(x *hepv1.Exercise) { x.Rules[0].Source = "" }), codes.InvalidArgument, "exercise.rules[0].source", ""},
		{"CreateNoDose", callerClinA, mCreate, ex(func(x *hepv1.Exercise) { x.DefaultDose = nil }), codes.InvalidArgument, "exercise.default_dose", ""},
		{"CreateAngleOnExercise", callerClinA, mCreate, ex(func(x *hepv1.Exercise) { x.DefaultDose.AngleDegrees = 30 }), codes.InvalidArgument, "exercise.default_dose", ""},
		{"CreateAngleTooSteep", callerClinA, mCreate, device(func(x *hepv1.Exercise) { x.DefaultDose.AngleDegrees = 91 }), codes.InvalidArgument, "exercise.default_dose.angle_degrees", ""},
		{"CreateNoInstructions", callerClinA, mCreate, ex(func(x *hepv1.Exercise) { x.Instructions = "" }), codes.InvalidArgument, "exercise.instructions", ""},
		{"CreateTakenID", callerClinA, mCreate, ex(func(x *hepv1.Exercise) { x.Id = catCow }), codes.AlreadyExists, "", "ALREADY_EXISTS"},
		{"GetExerciseBadSlug", callerPatientA, mGetEx, &hepv1.GetExerciseRequest{ExerciseId: "../etc/passwd"}, codes.InvalidArgument, "exercise_id", ""},
		{"GetExerciseUnknown", callerPatientA, mGetEx, &hepv1.GetExerciseRequest{ExerciseId: "moon-walk"}, codes.NotFound, "", "NOT_FOUND"},
		{"RetireBuiltIn", callerAdmin, mRetire, &hepv1.RetireExerciseRequest{ExerciseId: catCow}, codes.FailedPrecondition, "", ""},
		{"RetireUnknown", callerAdmin, mRetire, &hepv1.RetireExerciseRequest{ExerciseId: "moon-walk"}, codes.NotFound, "", ""},
		{"RetireEmpty", callerAdmin, mRetire, &hepv1.RetireExerciseRequest{}, codes.InvalidArgument, "exercise_id", ""},

		// Screening.
		{"AnswerUnknownFlag", callerClinA, mRecord, record(ans(99, present)), codes.InvalidArgument, "answers[0].flag", ""},
		{"AnswerUnspecifiedFlag", callerPatientA, mRecord, record(ans(noFlag, present)), codes.InvalidArgument, "answers[0].flag", ""},
		{"AnswerUnknownStatus", callerClinA, mRecord, record(ans(pregnancy, 7)), codes.InvalidArgument, "answers[0].status", ""},
		{"AnswerUnspecifiedStatus", callerClinA, mRecord, record(ans(pregnancy, 0)), codes.InvalidArgument, "answers[0].status", ""},
		{"AnswerDuplicateFlag", callerPatientA, mRecord, record(ans(pregnancy, present), ans(pregnancy, absent)), codes.InvalidArgument, "answers[1].flag", ""},
		{"Answers21", callerClinA, mRecord, record(many...), codes.InvalidArgument, "answers", ""},
		{"AnswersNone", callerClinA, mRecord, record(), codes.InvalidArgument, "answers", ""},
		{"AnswerNoteTooLong", callerClinA, mRecord, record(&hepv1.ScreeningAnswerInput{Flag: pregnancy, Status: present, Note: strings.Repeat("n", 2001)}), codes.InvalidArgument, "answers[0].note", ""},
		{"AnswerOtherPatientByDevice", callerPatientA, mRecord, &hepv1.RecordScreeningAnswersRequest{PatientId: e.patientB, Answers: answers(pregnancy, present)}, codes.NotFound, "", "NOT_FOUND"},
		{"HistoryUnknownFlag", callerClinA, mHistory, &hepv1.ListScreeningHistoryRequest{PatientId: e.patientA, Flag: 12}, codes.InvalidArgument, "flag", ""},
		{"HistoryPageSize", callerClinA, mHistory, &hepv1.ListScreeningHistoryRequest{PatientId: e.patientA, PageSize: 501}, codes.InvalidArgument, "page_size", ""},
		{"HistoryOtherPatientsToken", callerClinA, mHistory, &hepv1.ListScreeningHistoryRequest{PatientId: e.patientA, PageToken: historyOfB}, codes.InvalidArgument, "page_token", ""},
		{"HistoryOtherFilterToken", callerPatientA, mHistory, &hepv1.ListScreeningHistoryRequest{PageToken: historyOfPregnancy}, codes.InvalidArgument, "page_token", ""},
		{"HistoryOtherListToken", callerClinA, mHistory, &hepv1.ListScreeningHistoryRequest{PatientId: e.patientA, PageToken: alertsOfA}, codes.InvalidArgument, "page_token", ""},
		{"RedFlagsNone", callerPatientA, mRedFlags, red(), codes.InvalidArgument, "symptoms", ""},
		{"RedFlagUnknown", callerPatientA, mRedFlags, red(42), codes.InvalidArgument, "symptoms[0]", ""},
		{"RedFlagUnspecified", callerClinA, mRedFlags, red(0), codes.InvalidArgument, "symptoms[0]", ""},
		{"RedFlagTwice", callerPatientA, mRedFlags, red(fever, fever), codes.InvalidArgument, "symptoms[1]", ""},
		{"RedFlagNoteControlChar", callerPatientA, mRedFlags, &hepv1.ReportRedFlagsRequest{Symptoms: []hepv1.RedFlagSymptom{fever}, Note: "a\x00b"}, codes.InvalidArgument, "note", ""},

		// Plans.
		{"ItemUnknownExercise", callerClinA, mSetPlan, plan(func(it *hepv1.PlanItemSpec) { it.ExerciseId = "moon-walk" }), codes.InvalidArgument, "items[0].exercise_id", ""},
		{"ItemNoExercise", callerClinA, mSetPlan, plan(func(it *hepv1.PlanItemSpec) { it.ExerciseId = "" }), codes.InvalidArgument, "items[0].exercise_id", ""},
		{"ItemRetiredExercise", callerClinA, mSetPlan, plan(func(it *hepv1.PlanItemSpec) { it.ExerciseId = "old-stretch" }), codes.InvalidArgument, "items[0].exercise_id", ""},
		{"ItemNegativeSets", callerClinA, mSetPlan, plan(func(it *hepv1.PlanItemSpec) { it.Dose.Sets = -1 }), codes.InvalidArgument, "items[0].dose.sets", ""},
		{"ItemReps1001", callerClinA, mSetPlan, plan(func(it *hepv1.PlanItemSpec) { it.Dose.Reps = 1001 }), codes.InvalidArgument, "items[0].dose.reps", ""},
		{"ItemHold3601", callerClinA, mSetPlan, plan(func(it *hepv1.PlanItemSpec) { it.Dose.HoldSeconds = 3601 }), codes.InvalidArgument, "items[0].dose.hold_seconds", ""},
		{"ItemAngleOnExercise", callerClinA, mSetPlan, plan(func(it *hepv1.PlanItemSpec) { it.Dose.AngleDegrees = 30 }), codes.InvalidArgument, "items[0].dose", ""},
		{"ItemEmptyDose", callerClinA, mSetPlan, plan(func(it *hepv1.PlanItemSpec) { it.Dose = nil }), codes.InvalidArgument, "items[0].dose", ""},
		{"ItemEndBeforeStart", callerClinA, mSetPlan, plan(func(it *hepv1.PlanItemSpec) { it.StartDate, it.EndDate = date(2030, 5, 2), date(2030, 5, 1) }), codes.InvalidArgument, "items[0].end_date", ""},
		{"ItemFeb30", callerClinA, mSetPlan, plan(func(it *hepv1.PlanItemSpec) { it.StartDate = date(2030, 2, 30) }), codes.InvalidArgument, "items[0].start_date", ""},
		{"ItemNoStartDate", callerClinA, mSetPlan, plan(func(it *hepv1.PlanItemSpec) { it.StartDate = nil }), codes.InvalidArgument, "items[0].start_date", ""},
		{"ItemYear1999", callerClinA, mSetPlan, plan(func(it *hepv1.PlanItemSpec) { it.EndDate = date(1999, 12, 31) }), codes.InvalidArgument, "items[0].end_date", ""},
		{"ItemTimesPerDay0", callerClinA, mSetPlan, plan(func(it *hepv1.PlanItemSpec) { it.Frequency.TimesPerDay = 0 }), codes.InvalidArgument, "items[0].frequency.times_per_day", ""},
		{"ItemDaysAndWeekdays", callerClinA, mSetPlan, plan(func(it *hepv1.PlanItemSpec) { it.Frequency.Weekdays = []hepv1.Weekday{monday} }), codes.InvalidArgument, "items[0].frequency.days_per_week", ""},
		{"ItemDuplicateWeekday", callerClinA, mSetPlan, plan(func(it *hepv1.PlanItemSpec) {
			it.Frequency.DaysPerWeek, it.Frequency.Weekdays = 0, []hepv1.Weekday{monday, tuesday, monday}
		}), codes.InvalidArgument, "items[0].frequency.weekdays[2]", ""},
		{"ItemUnknownWeekday", callerClinA, mSetPlan, plan(func(it *hepv1.PlanItemSpec) { it.Frequency.DaysPerWeek, it.Frequency.Weekdays = 0, []hepv1.Weekday{8} }), codes.InvalidArgument, "items[0].frequency.weekdays[0]", ""},
		{"ItemUnspecifiedWeekday", callerClinA, mSetPlan, plan(func(it *hepv1.PlanItemSpec) { it.Frequency.DaysPerWeek, it.Frequency.Weekdays = 0, []hepv1.Weekday{0} }), codes.InvalidArgument, "items[0].frequency.weekdays[0]", ""},
		{"ItemNotesTooLong", callerClinA, mSetPlan, plan(func(it *hepv1.PlanItemSpec) { it.Notes = strings.Repeat("x", 2001) }), codes.InvalidArgument, "items[0].notes", ""},
		{"DuplicateExercise", callerClinA, mSetPlan, &hepv1.SetPlanRequest{PatientId: e.patientA, Items: items(2)}, codes.InvalidArgument, "items[1].exercise_id", ""},
		{"Items51", callerClinA, mSetPlan, &hepv1.SetPlanRequest{PatientId: e.patientA, Items: items(51)}, codes.InvalidArgument, "items", ""},
		{"PlanNoteTooLong", callerClinA, mSetPlan, &hepv1.SetPlanRequest{PatientId: e.patientA, Note: strings.Repeat("x", 2001)}, codes.InvalidArgument, "note", ""},
		{"PlanNegativeVersion", callerClinA, mSetPlan, &hepv1.SetPlanRequest{PatientId: e.patientA, ExpectedVersion: -1}, codes.InvalidArgument, "expected_version", ""},
		{"PlanVersionMismatch", callerClinA, mSetPlan, &hepv1.SetPlanRequest{PatientId: e.patientA, ExpectedVersion: 7, Items: items(1)}, codes.Aborted, "", "VERSION_MISMATCH"},
		{"PlanByDevice", callerPatientA, mSetPlan, &hepv1.SetPlanRequest{Items: items(1)}, codes.PermissionDenied, "", "PERMISSION_DENIED"},
		{"CheckNoItems", callerClinA, mCheck, &hepv1.CheckPlanRequest{PatientId: e.patientA}, codes.InvalidArgument, "items", ""},
		{"Check51Items", callerClinA, mCheck, &hepv1.CheckPlanRequest{PatientId: e.patientA, Items: items(51)}, codes.InvalidArgument, "items", ""},
		{"CheckUnknownExercise", callerClinA, mCheck, &hepv1.CheckPlanRequest{PatientId: e.patientA, Items: []*hepv1.PlanItemSpec{item("moon-walk")}}, codes.InvalidArgument, "items[0].exercise_id", ""},
		{"GetPlanNegativeVersion", callerPatientA, mGetPlan, &hepv1.GetPlanRequest{Version: -3}, codes.InvalidArgument, "version", ""},
		{"GetPlanUnknownVersion", callerClinA, mGetPlan, &hepv1.GetPlanRequest{PatientId: e.patientA, Version: 99}, codes.NotFound, "", "NOT_FOUND"},
		{"ClearEmptyReason", callerClinA, mClear, clear(inversionTable, noFlag, ""), codes.InvalidArgument, "reason", ""},
		{"ClearBlankReason", callerClinA, mClear, clear(inversionTable, noFlag, " \n\t "), codes.InvalidArgument, "reason", ""},
		{"ClearReasonTooLong", callerClinA, mClear, clear(inversionTable, noFlag, strings.Repeat("r", 2001)), codes.InvalidArgument, "reason", ""},
		{"ClearBadSlug", callerClinA, mClear, clear("Inversion Table", noFlag, "ok"), codes.InvalidArgument, "exercise_id", ""},
		{"ClearUnknownFlag", callerClinA, mClear, clear(catCow, 40, "ok"), codes.InvalidArgument, "flag", ""},
		{"ClearUnknownExercise", callerClinA, mClear, clear("moon-walk", noFlag, "ok"), codes.NotFound, "", "NOT_FOUND"},
		{"ClearContraindication", callerClinA, mClear, clear(inversionTable, hypertension, "the patient insists"), codes.FailedPrecondition, "", "FAILED_PRECONDITION"},
		{"ClearAbsentFlag", callerClinA, mClear, clear(catCow, pregnancy, "just in case"), codes.FailedPrecondition, "", ""},
		{"ClearFlagWithoutRule", callerClinA, mClear, clear(catCow, hypertension, "just in case"), codes.FailedPrecondition, "", ""},
		{"ClearStandingOnExercise", callerClinA, mClear, clear(catCow, noFlag, "just in case"), codes.FailedPrecondition, "", ""},
		{"DecisionsPageSize", callerClinA, mDecide, &hepv1.ListGatingDecisionsRequest{PatientId: e.patientA, PageSize: -1}, codes.InvalidArgument, "page_size", ""},
		{"DecisionsOtherPatientsToken", callerClinA, mDecide, &hepv1.ListGatingDecisionsRequest{PatientId: e.patientA, PageToken: decisionsOfB}, codes.InvalidArgument, "page_token", ""},
		{"DecisionsGarbageToken", callerClinA, mDecide, &hepv1.ListGatingDecisionsRequest{PatientId: e.patientA, PageToken: "eyJhIjoiMSJ9"}, codes.InvalidArgument, "page_token", ""},

		// Alerts.
		{"AlertsUnknownStatus", callerClinA, mAlerts, &hepv1.ListAlertsRequest{PatientId: e.patientA, Status: 3}, codes.InvalidArgument, "status", ""},
		{"AlertsPageSize", callerClinA, mAlerts, &hepv1.ListAlertsRequest{PatientId: e.patientA, PageSize: 1000}, codes.InvalidArgument, "page_size", ""},
		{"AlertsForgedToken", callerClinA, mAlerts, &hepv1.ListAlertsRequest{PatientId: e.patientA, PageToken: forged}, codes.InvalidArgument, "page_token", ""},
		{"AlertsOtherFilterToken", callerClinA, mAlerts, &hepv1.ListAlertsRequest{PatientId: e.patientA, PageToken: alertsOpenOfA}, codes.InvalidArgument, "page_token", ""},
		{"AlertsByDevice", callerPatientA, mAlerts, &hepv1.ListAlertsRequest{}, codes.PermissionDenied, "", ""},
		{"AckEmptyNote", callerClinA, mAck, ack(unknownID, ""), codes.InvalidArgument, "note", ""},
		{"AckBlankNote", callerClinA, mAck, ack(unknownID, "   "), codes.InvalidArgument, "note", ""},
		{"AckNoteInvalidUTF8", callerClinA, mAck, rawMsg(&hepv1.AcknowledgeAlertRequest{PatientId: e.patientA, AlertId: unknownID}, 3, "ok\xff"), codes.InvalidArgument, "note", ""},
		{"NestedNoteInvalidUTF8", callerClinA, mRecord, nestedBadNote(e.patientA), codes.InvalidArgument, "answers[1].note", ""},
		{"AckBadID", callerClinA, mAck, ack("alert-1", "seen"), codes.InvalidArgument, "alert_id", ""},
		{"AckUnknownAlert", callerClinA, mAck, ack(unknownID, "seen"), codes.NotFound, "", "NOT_FOUND"},
		{"AckOtherPatientsAlert", callerClinA, mAck, ack(redB.AlertId, "seen"), codes.NotFound, "", "NOT_FOUND"},
		{"AckTwice", callerClinA, mAck, ack(redA.AlertId, "seen again"), codes.FailedPrecondition, "", ""},
		{"AckByAdmin", callerAdmin, mAck, ack(redA.AlertId, "seen"), codes.PermissionDenied, "", ""},
	}
	if len(cases) < 30 {
		t.Fatalf("only %d cases", len(cases))
	}
	runBadCases(t, e, cases)
}

// nestedBadNote is a RecordScreeningAnswersRequest whose second answer's note
// is not UTF-8: the violation must name answers[1].note.
func nestedBadNote(patientID string) proto.Message {
	b, err := proto.Marshal(&hepv1.RecordScreeningAnswersRequest{PatientId: patientID, Answers: []*hepv1.ScreeningAnswerInput{
		{Flag: hepv1.ScreeningFlag_SCREENING_FLAG_HERNIA, Status: hepv1.FlagStatus_FLAG_STATUS_ABSENT},
	}})
	if err != nil {
		panic(err)
	}
	inner, err := proto.Marshal(&hepv1.ScreeningAnswerInput{Flag: hepv1.ScreeningFlag_SCREENING_FLAG_OBESITY, Status: hepv1.FlagStatus_FLAG_STATUS_ABSENT})
	if err != nil {
		panic(err)
	}
	inner = protowire.AppendTag(inner, 3, protowire.BytesType)
	inner = protowire.AppendString(inner, "bad \xc3")
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendBytes(b, inner)
	return &rawRequest{WhoAmIRequest: &hepv1.WhoAmIRequest{}, wire: b}
}
