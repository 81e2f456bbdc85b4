package rpc

import (
	"errors"
	"time"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// Enum tables of the clinical core. Each domain value has exactly one proto
// value; TestEnumTablesComplete checks both directions. A proto value that is
// not in a FromProto table (a number from a newer or hostile client) becomes
// an invalid domain value, which the domain's validation reports against the
// request field; filters that the domain does not validate report it here.

var flagToProto = map[hep.Flag]hepv1.ScreeningFlag{
	hep.FlagNone:                      hepv1.ScreeningFlag_SCREENING_FLAG_UNSPECIFIED,
	hep.FlagPregnancy:                 hepv1.ScreeningFlag_SCREENING_FLAG_PREGNANCY,
	hep.FlagRecentSpinalSurgery:       hepv1.ScreeningFlag_SCREENING_FLAG_RECENT_SPINAL_SURGERY,
	hep.FlagSpinalFracture:            hepv1.ScreeningFlag_SCREENING_FLAG_SPINAL_FRACTURE,
	hep.FlagOsteoporosis:              hepv1.ScreeningFlag_SCREENING_FLAG_OSTEOPOROSIS,
	hep.FlagHypertension:              hepv1.ScreeningFlag_SCREENING_FLAG_HYPERTENSION,
	hep.FlagHernia:                    hepv1.ScreeningFlag_SCREENING_FLAG_HERNIA,
	hep.FlagObesity:                   hepv1.ScreeningFlag_SCREENING_FLAG_OBESITY,
	hep.FlagSpinalMetalImplant:        hepv1.ScreeningFlag_SCREENING_FLAG_SPINAL_METAL_IMPLANT,
	hep.FlagGlaucomaOrRetinal:         hepv1.ScreeningFlag_SCREENING_FLAG_GLAUCOMA_OR_RETINAL_DETACHMENT,
	hep.FlagHeartOrCirculatoryDisease: hepv1.ScreeningFlag_SCREENING_FLAG_HEART_OR_CIRCULATORY_DISEASE,
	hep.FlagAnticoagulantUse:          hepv1.ScreeningFlag_SCREENING_FLAG_ANTICOAGULANT_USE,
}

var statusToProto = map[hep.FlagStatus]hepv1.FlagStatus{
	hep.StatusPresent: hepv1.FlagStatus_FLAG_STATUS_PRESENT,
	hep.StatusAbsent:  hepv1.FlagStatus_FLAG_STATUS_ABSENT,
	hep.StatusUnknown: hepv1.FlagStatus_FLAG_STATUS_UNKNOWN,
}

var sourceToProto = map[hep.Source]hepv1.AnswerSource{
	hep.SourcePatientReported:   hepv1.AnswerSource_ANSWER_SOURCE_PATIENT_REPORTED,
	hep.SourceClinicianVerified: hepv1.AnswerSource_ANSWER_SOURCE_CLINICIAN_VERIFIED,
}

var redFlagToProto = map[hep.RedFlag]hepv1.RedFlagSymptom{
	hep.RedFlagSaddleNumbness:      hepv1.RedFlagSymptom_RED_FLAG_SYMPTOM_SADDLE_NUMBNESS,
	hep.RedFlagBladderOrBowel:      hepv1.RedFlagSymptom_RED_FLAG_SYMPTOM_BLADDER_OR_BOWEL_DYSFUNCTION,
	hep.RedFlagProgressiveWeakness: hepv1.RedFlagSymptom_RED_FLAG_SYMPTOM_PROGRESSIVE_LEG_WEAKNESS,
	hep.RedFlagFeverWithBackPain:   hepv1.RedFlagSymptom_RED_FLAG_SYMPTOM_FEVER_WITH_BACK_PAIN,
	hep.RedFlagUnexplainedWeight:   hepv1.RedFlagSymptom_RED_FLAG_SYMPTOM_UNEXPLAINED_WEIGHT_LOSS,
}

var kindToProto = map[hep.Kind]hepv1.ExerciseKind{
	hep.KindExercise: hepv1.ExerciseKind_EXERCISE_KIND_EXERCISE,
	hep.KindDevice:   hepv1.ExerciseKind_EXERCISE_KIND_DEVICE,
}

var severityToProto = map[hep.Severity]hepv1.RuleSeverity{
	hep.SeverityContraindicated: hepv1.RuleSeverity_RULE_SEVERITY_CONTRAINDICATED,
	hep.SeverityNeedsClearance:  hepv1.RuleSeverity_RULE_SEVERITY_NEEDS_CLEARANCE,
}

var outcomeToProto = map[hep.Outcome]hepv1.GateOutcome{
	hep.OutcomeAllowed:         hepv1.GateOutcome_GATE_OUTCOME_ALLOWED,
	hep.OutcomeNeedsClearance:  hepv1.GateOutcome_GATE_OUTCOME_NEEDS_CLEARANCE,
	hep.OutcomeNeedsScreening:  hepv1.GateOutcome_GATE_OUTCOME_NEEDS_SCREENING,
	hep.OutcomeContraindicated: hepv1.GateOutcome_GATE_OUTCOME_CONTRAINDICATED,
}

var itemStateToProto = map[hep.ItemState]hepv1.ItemState{
	hep.ItemActive:    hepv1.ItemState_ITEM_STATE_ACTIVE,
	hep.ItemSuspended: hepv1.ItemState_ITEM_STATE_SUSPENDED,
	hep.ItemEnded:     hepv1.ItemState_ITEM_STATE_ENDED,
}

var causeToProto = map[hep.DecisionCause]hepv1.DecisionCause{
	hep.CausePlanRefused:      hepv1.DecisionCause_DECISION_CAUSE_PLAN_REFUSED,
	hep.CausePlanWritten:      hepv1.DecisionCause_DECISION_CAUSE_PLAN_WRITTEN,
	hep.CauseScreeningChanged: hepv1.DecisionCause_DECISION_CAUSE_SCREENING_CHANGED,
	hep.CauseClearance:        hepv1.DecisionCause_DECISION_CAUSE_CLEARANCE,
	hep.CauseRedFlag:          hepv1.DecisionCause_DECISION_CAUSE_RED_FLAG,
}

var alertKindToProto = map[hep.AlertKind]hepv1.AlertKind{
	hep.AlertRedFlag:              hepv1.AlertKind_ALERT_KIND_RED_FLAG,
	hep.AlertScreeningChanged:     hepv1.AlertKind_ALERT_KIND_SCREENING_CHANGED,
	hep.AlertLoggedWhileSuspended: hepv1.AlertKind_ALERT_KIND_LOGGED_WHILE_SUSPENDED,
	hep.AlertPainSevere:           hepv1.AlertKind_ALERT_KIND_PAIN_SEVERE,
	hep.AlertPainFlare:            hepv1.AlertKind_ALERT_KIND_PAIN_FLARE,
	hep.AlertPainWorsening:        hepv1.AlertKind_ALERT_KIND_PAIN_WORSENING,
	hep.AlertNonAdherence:         hepv1.AlertKind_ALERT_KIND_NON_ADHERENCE,
	hep.AlertFunctionWorsened:     hepv1.AlertKind_ALERT_KIND_FUNCTION_WORSENED,
	hep.AlertQuestionnaireOverdue: hepv1.AlertKind_ALERT_KIND_QUESTIONNAIRE_OVERDUE,
}

var alertSeverityToProto = map[hep.AlertSeverity]hepv1.AlertSeverity{
	hep.AlertUrgent:  hepv1.AlertSeverity_ALERT_SEVERITY_URGENT,
	hep.AlertRoutine: hepv1.AlertSeverity_ALERT_SEVERITY_ROUTINE,
}

var alertStatusToProto = map[hep.AlertStatus]hepv1.AlertStatus{
	hep.AlertOpen:         hepv1.AlertStatus_ALERT_STATUS_OPEN,
	hep.AlertAcknowledged: hepv1.AlertStatus_ALERT_STATUS_ACKNOWLEDGED,
}

// The FromProto tables are the inverses of the ToProto tables of the values
// a request may carry.
var (
	flagFromProto        = invert(flagToProto)
	statusFromProto      = invert(statusToProto)
	redFlagFromProto     = invert(redFlagToProto)
	kindFromProto        = invert(kindToProto)
	severityFromProto    = invert(severityToProto)
	alertStatusFromProto = invert(alertStatusToProto)
	alertKindFromProto   = invert(alertKindToProto)
	alertSevFromProto    = invert(alertSeverityToProto)
)

func invert[K, V comparable](m map[K]V) map[V]K {
	out := make(map[V]K, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

// fromProto looks an enum up; a value missing from the table becomes bad,
// an invalid domain value the domain's validation rejects.
func fromProto[P comparable, D any](m map[P]D, p P, bad D) D {
	if d, ok := m[p]; ok {
		return d
	}
	return bad
}

// The invalid domain values unknown proto enum values become.
const (
	badFlag     hep.Flag       = "?"
	badStatus   hep.FlagStatus = "?"
	badRedFlag  hep.RedFlag    = "?"
	badKind     hep.Kind       = "?"
	badSeverity hep.Severity   = "?"
	badWeekday  time.Weekday   = -1
)

// weekdayFromProto maps MONDAY..SUNDAY (1..7) to time.Monday..time.Sunday.
func weekdayFromProto(w hepv1.Weekday) time.Weekday {
	if w < hepv1.Weekday_WEEKDAY_MONDAY || w > hepv1.Weekday_WEEKDAY_SUNDAY {
		return badWeekday
	}
	return time.Weekday(int(w) % 7)
}

func weekdayToProto(d time.Weekday) hepv1.Weekday {
	if d < time.Sunday || d > time.Saturday {
		return hepv1.Weekday_WEEKDAY_UNSPECIFIED
	}
	if d == time.Sunday {
		return hepv1.Weekday_WEEKDAY_SUNDAY
	}
	return hepv1.Weekday(d)
}

func dateFromProto(d *hepv1.Date) hep.Date {
	return hep.Date{Year: int(d.GetYear()), Month: int(d.GetMonth()), Day: int(d.GetDay())}
}

func dateToProto(d hep.Date) *hepv1.Date {
	if d.IsZero() {
		return nil
	}
	return &hepv1.Date{Year: int32(d.Year), Month: int32(d.Month), Day: int32(d.Day)}
}

func doseFromProto(d *hepv1.Dose) hep.Dose {
	return hep.Dose{
		Sets: d.GetSets(), Reps: d.GetReps(), HoldSeconds: d.GetHoldSeconds(), DurationSeconds: d.GetDurationSeconds(),
		AngleDegrees: d.GetAngleDegrees(), ForceKg: d.GetForceKg(),
	}
}

func doseToProto(d hep.Dose) *hepv1.Dose {
	return &hepv1.Dose{
		Sets: d.Sets, Reps: d.Reps, HoldSeconds: d.HoldSeconds, DurationSeconds: d.DurationSeconds,
		AngleDegrees: d.AngleDegrees, ForceKg: d.ForceKg,
	}
}

// exerciseFromProto takes what a clinic entry may set; built_in, retired,
// catalog_version and create_time are the server's.
func exerciseFromProto(e *hepv1.Exercise) hep.Exercise {
	out := hep.Exercise{
		ID: e.GetId(), Kind: fromProto(kindFromProto, e.GetKind(), badKind), Name: e.GetName(),
		Instructions: e.GetInstructions(), DefaultDose: doseFromProto(e.GetDefaultDose()),
		RequiresClearance: e.GetRequiresClearance(),
	}
	for _, r := range e.GetRules() {
		out.Rules = append(out.Rules, hep.Rule{
			Flag: fromProto(flagFromProto, r.GetFlag(), badFlag), Severity: fromProto(severityFromProto, r.GetSeverity(), badSeverity),
			Source: r.GetSource(),
		})
	}
	return out
}

func exerciseToProto(e hep.Exercise) *hepv1.Exercise {
	out := &hepv1.Exercise{
		Id: e.ID, Kind: kindToProto[e.Kind], Name: e.Name, Instructions: e.Instructions,
		DefaultDose: doseToProto(e.DefaultDose), RequiresClearance: e.RequiresClearance, BuiltIn: e.BuiltIn,
		Retired: e.Retired, CatalogVersion: int32(e.CatalogVersion), CreateTime: ts(e.CreateTime),
	}
	for _, r := range e.Rules {
		out.Rules = append(out.Rules, &hepv1.ContraindicationRule{Flag: flagToProto[r.Flag], Severity: severityToProto[r.Severity], Source: r.Source})
	}
	return out
}

func answerToProto(a hep.ScreeningAnswer) *hepv1.ScreeningAnswer {
	return &hepv1.ScreeningAnswer{
		Id: a.ID, PatientId: a.PatientID, Flag: flagToProto[a.Flag], Status: statusToProto[a.Status],
		Source: sourceToProto[a.Source], RecordedBy: a.RecordedBy, Note: a.Note, RecordTime: ts(a.RecordTime),
		Effective: a.Effective,
	}
}

// screeningToProto lists one answer per flag in flag order; a flag never
// answered is UNKNOWN with no id.
func screeningToProto(patientID string, sc hep.Screening) []*hepv1.ScreeningAnswer {
	out := make([]*hepv1.ScreeningAnswer, 0, len(hep.Flags))
	for _, f := range hep.Flags {
		a, ok := sc[f]
		if !ok {
			a = hep.ScreeningAnswer{PatientID: patientID, Flag: f, Status: hep.StatusUnknown, Effective: true}
		}
		out = append(out, answerToProto(a))
	}
	return out
}

func reasonToProto(r hep.Reason) *hepv1.GateReason {
	return &hepv1.GateReason{
		Flag: flagToProto[r.Flag], Status: statusToProto[r.Status], Outcome: outcomeToProto[r.Outcome],
		Source: r.Source, Cleared: r.Cleared(), ClearanceId: r.ClearanceID, RedFlagHold: r.RedFlagHold, Message: r.Message,
	}
}

func reasonsToProto(rs []hep.Reason) []*hepv1.GateReason {
	var out []*hepv1.GateReason
	for _, r := range rs {
		out = append(out, reasonToProto(r))
	}
	return out
}

func decisionToProto(d hep.Decision) *hepv1.GateDecision {
	return &hepv1.GateDecision{ExerciseId: d.ExerciseID, Outcome: outcomeToProto[d.Outcome], Reasons: reasonsToProto(d.Reasons)}
}

func itemSpecFromProto(s *hepv1.PlanItemSpec) hep.ItemSpec {
	f := s.GetFrequency()
	out := hep.ItemSpec{
		ExerciseID: s.GetExerciseId(), Dose: doseFromProto(s.GetDose()),
		Frequency: hep.Frequency{TimesPerDay: f.GetTimesPerDay(), DaysPerWeek: f.GetDaysPerWeek()},
		StartDate: dateFromProto(s.GetStartDate()), EndDate: dateFromProto(s.GetEndDate()), Notes: s.GetNotes(),
	}
	for _, w := range f.GetWeekdays() {
		out.Frequency.Weekdays = append(out.Frequency.Weekdays, weekdayFromProto(w))
	}
	return out
}

func itemSpecsFromProto(in []*hepv1.PlanItemSpec) []hep.ItemSpec {
	out := make([]hep.ItemSpec, len(in))
	for i, s := range in {
		out[i] = itemSpecFromProto(s)
	}
	return out
}

func itemSpecToProto(s hep.ItemSpec) *hepv1.PlanItemSpec {
	out := &hepv1.PlanItemSpec{
		ExerciseId: s.ExerciseID, Dose: doseToProto(s.Dose),
		Frequency: &hepv1.Frequency{TimesPerDay: s.Frequency.TimesPerDay, DaysPerWeek: s.Frequency.DaysPerWeek},
		StartDate: dateToProto(s.StartDate), EndDate: dateToProto(s.EndDate), Notes: s.Notes,
	}
	for _, d := range s.Frequency.Weekdays {
		out.Frequency.Weekdays = append(out.Frequency.Weekdays, weekdayToProto(d))
	}
	return out
}

// planToProto shows each item's state as the patient sees it on the day in
// the patient's time zone (hep.PlanItem.StateOn): ENDED once the end date
// has passed there.
func planToProto(p hep.Plan, now time.Time) *hepv1.Plan {
	out := &hepv1.Plan{
		PatientId: p.PatientID, Version: p.Version, Note: p.Note, AuthorId: p.AuthorID,
		CreateTime: ts(p.CreateTime), RedFlagHold: p.RedFlagHold,
	}
	today := p.Today(now)
	for _, it := range p.Items {
		st := it.StateOn(today)
		item := &hepv1.PlanItem{Spec: itemSpecToProto(it.Spec), State: itemStateToProto[st], StateTime: ts(it.StateTime)}
		if st == hep.ItemSuspended {
			item.StateReasons = reasonsToProto(it.StateReasons)
		}
		out.Items = append(out.Items, item)
	}
	return out
}

func clearanceToProto(c hep.Clearance) *hepv1.Clearance {
	return &hepv1.Clearance{
		Id: c.ID, PatientId: c.PatientID, ExerciseId: c.ExerciseID, Flag: flagToProto[c.Flag], Reason: c.Reason,
		ClearedBy: c.ClearedBy, CreateTime: ts(c.CreateTime), EndTime: ts(c.EndTime),
	}
}

func gatingDecisionToProto(g hep.GatingDecision) *hepv1.GatingDecision {
	return &hepv1.GatingDecision{
		Id: g.ID, PatientId: g.PatientID, PlanVersion: g.PlanVersion, Decision: decisionToProto(g.Decision),
		Cause: causeToProto[g.Cause], PreviousState: itemStateToProto[g.PreviousState], NewState: itemStateToProto[g.NewState],
		ScreeningAnswerIds: g.ScreeningAnswerIDs, ActorId: g.ActorID, DecideTime: ts(g.DecideTime),
	}
}

func alertToProto(a hep.Alert) *hepv1.Alert {
	return &hepv1.Alert{
		Id: a.ID, PatientId: a.PatientID, Kind: alertKindToProto[a.Kind], Severity: alertSeverityToProto[a.Severity],
		Status: alertStatusToProto[a.Status], Summary: a.Summary, CreateTime: ts(a.CreateTime),
		AcknowledgedBy: a.AckBy, AcknowledgeNote: a.AckNote, AcknowledgeTime: ts(a.AckTime), Trigger: a.Trigger,
		Subject: a.Subject, OccurrenceCount: a.Occurrences, LatestOccurrenceTime: ts(a.LatestTime),
	}
}

func alertOccurrenceToProto(o hep.AlertOccurrence) *hepv1.AlertOccurrence {
	return &hepv1.AlertOccurrence{Id: o.ID, AlertId: o.AlertID, Trigger: o.Trigger, OccurTime: ts(o.Time), Summary: o.Summary}
}

// addViolations appends the field violations of a validation error to v, so
// that one response lists every problem of a request.
func addViolations(v *hep.Violations, err error) {
	var e *hep.Error
	if errors.As(err, &e) {
		*v = append(*v, e.Violations...)
	}
}
