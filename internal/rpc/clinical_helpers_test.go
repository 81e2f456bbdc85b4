package rpc

import (
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// Flags and statuses by their short names, for readable tests.
const (
	pregnancy    = hepv1.ScreeningFlag_SCREENING_FLAG_PREGNANCY
	osteoporosis = hepv1.ScreeningFlag_SCREENING_FLAG_OSTEOPOROSIS
	hypertension = hepv1.ScreeningFlag_SCREENING_FLAG_HYPERTENSION
	fracture     = hepv1.ScreeningFlag_SCREENING_FLAG_SPINAL_FRACTURE
	noFlag       = hepv1.ScreeningFlag_SCREENING_FLAG_UNSPECIFIED

	present = hepv1.FlagStatus_FLAG_STATUS_PRESENT
	absent  = hepv1.FlagStatus_FLAG_STATUS_ABSENT

	active    = hepv1.ItemState_ITEM_STATE_ACTIVE
	suspended = hepv1.ItemState_ITEM_STATE_SUSPENDED
	ended     = hepv1.ItemState_ITEM_STATE_ENDED
)

// Built-in catalog entries the tests use.
const (
	catCow         = "cat-cow"
	childsPose     = "childs-pose"
	inversionTable = "inversion-table"
	tractionDevice = "traction-machine"
)

// today is the current day in UTC, a valid start date.
func today() *hepv1.Date {
	d := hep.DateOf(time.Now(), time.UTC)
	return &hepv1.Date{Year: int32(d.Year), Month: int32(d.Month), Day: int32(d.Day)}
}

// item is a valid, open-ended plan item for ex.
func item(ex string) *hepv1.PlanItemSpec {
	return &hepv1.PlanItemSpec{
		ExerciseId: ex,
		Dose:       &hepv1.Dose{Sets: 2, Reps: 10},
		Frequency:  &hepv1.Frequency{TimesPerDay: 1, DaysPerWeek: 5},
		StartDate:  today(),
	}
}

// answers builds screening answers from flag/status pairs.
func answers(pairs ...any) []*hepv1.ScreeningAnswerInput {
	var out []*hepv1.ScreeningAnswerInput
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, &hepv1.ScreeningAnswerInput{Flag: pairs[i].(hepv1.ScreeningFlag), Status: pairs[i+1].(hepv1.FlagStatus)})
	}
	return out
}

// screen records answers for a patient as caller and fails the test on
// error.
func (e *env) screen(caller, patientID string, as []*hepv1.ScreeningAnswerInput) *hepv1.RecordScreeningAnswersResponse {
	e.t.Helper()
	r, err := e.screening.RecordScreeningAnswers(e.as(caller), &hepv1.RecordScreeningAnswersRequest{PatientId: patientID, Answers: as})
	if err != nil {
		e.t.Fatalf("RecordScreeningAnswers as %s: %v", caller, err)
	}
	return r
}

// screenAll answers every flag with st.
func (e *env) screenAll(caller, patientID string, st hepv1.FlagStatus) {
	e.t.Helper()
	var as []*hepv1.ScreeningAnswerInput
	for _, f := range hep.Flags {
		as = append(as, &hepv1.ScreeningAnswerInput{Flag: flagToProto[f], Status: st})
	}
	e.screen(caller, patientID, as)
}

// plan returns the current plan as caller.
func (e *env) plan(caller, patientID string) *hepv1.Plan {
	e.t.Helper()
	r, err := e.plans.GetPlan(e.as(caller), &hepv1.GetPlanRequest{PatientId: patientID})
	if err != nil {
		e.t.Fatalf("GetPlan as %s: %v", caller, err)
	}
	return r.Plan
}

// setPlan writes a new version over the current one as caller.
func (e *env) setPlan(caller, patientID string, items ...*hepv1.PlanItemSpec) (*hepv1.Plan, error) {
	e.t.Helper()
	v := e.plan(caller, patientID).Version
	r, err := e.plans.SetPlan(e.as(caller), &hepv1.SetPlanRequest{PatientId: patientID, ExpectedVersion: v, Items: items})
	return r.GetPlan(), err
}

// clear gives a clearance as caller.
func (e *env) clear(caller, patientID, ex string, flag hepv1.ScreeningFlag) (*hepv1.ClearItemResponse, error) {
	return e.plans.ClearItem(e.as(caller), &hepv1.ClearItemRequest{PatientId: patientID, ExerciseId: ex, Flag: flag, Reason: "reviewed in clinic; safe at this dose"})
}

// stateOf returns the state of the plan's item for ex (UNSPECIFIED if the
// plan has none).
func stateOf(p *hepv1.Plan, ex string) hepv1.ItemState {
	if it := itemOf(p, ex); it != nil {
		return it.State
	}
	return hepv1.ItemState_ITEM_STATE_UNSPECIFIED
}

func itemOf(p *hepv1.Plan, ex string) *hepv1.PlanItem {
	for _, it := range p.GetItems() {
		if it.GetSpec().GetExerciseId() == ex {
			return it
		}
	}
	return nil
}

// hasReason reports whether reasons hold one for flag with outcome.
func hasReason(rs []*hepv1.GateReason, flag hepv1.ScreeningFlag, outcome hepv1.GateOutcome) bool {
	for _, r := range rs {
		if r.Flag == flag && r.Outcome == outcome {
			return true
		}
	}
	return false
}

// violations returns the BadRequest field violations of an error.
func violations(err error) []*errdetails.BadRequest_FieldViolation {
	var out []*errdetails.BadRequest_FieldViolation
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			out = append(out, br.FieldViolations...)
		}
	}
	return out
}

// reasonOf returns the ErrorInfo reason of an error.
func reasonOf(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.Reason
		}
	}
	return ""
}

// violationMentions reports whether a violation of field mentions every
// word.
func violationMentions(err error, field string, words ...string) bool {
	for _, v := range violations(err) {
		if v.Field != field {
			continue
		}
		ok := true
		for _, w := range words {
			ok = ok && strings.Contains(v.Description, w)
		}
		if ok {
			return true
		}
	}
	return false
}

// The domain view of what the API shows, for checking states against the
// gate.

func screeningFromProto(as []*hepv1.ScreeningAnswer) hep.Screening {
	sc := hep.Screening{}
	for _, a := range as {
		if a.Id == "" {
			continue // never answered: UNKNOWN
		}
		sc[flagFromProto[a.Flag]] = hep.ScreeningAnswer{ID: a.Id, Flag: flagFromProto[a.Flag], Status: statusFromProto[a.Status]}
	}
	return sc
}

func clearancesFromProto(cs []*hepv1.Clearance) []hep.Clearance {
	var out []hep.Clearance
	for _, c := range cs {
		x := hep.Clearance{ID: c.Id, PatientID: c.PatientId, ExerciseID: c.ExerciseId, Flag: flagFromProto[c.Flag], Reason: c.Reason, ClearedBy: c.ClearedBy}
		if c.EndTime != nil {
			x.EndTime = c.EndTime.AsTime()
		}
		out = append(out, x)
	}
	return out
}

func catalogFromProto(es []*hepv1.Exercise) hep.Catalog {
	cat := hep.Catalog{}
	for _, e := range es {
		cat[e.Id] = exerciseFromProto(e)
	}
	return cat
}
