package hep

import (
	"fmt"
	"strings"
	"time"
)

// Date is a calendar day in the patient's time zone.
type Date struct {
	Year, Month, Day int
}

// IsZero reports whether d is unset.
func (d Date) IsZero() bool { return d == Date{} }

// Valid reports whether d is a real day between 2000 and 2100.
func (d Date) Valid() bool {
	if d.Year < 2000 || d.Year > 2100 || d.Month < 1 || d.Month > 12 || d.Day < 1 {
		return false
	}
	t := time.Date(d.Year, time.Month(d.Month), d.Day, 0, 0, 0, 0, time.UTC)
	return t.Day() == d.Day
}

// Before reports whether d is before e.
func (d Date) Before(e Date) bool {
	if d.Year != e.Year {
		return d.Year < e.Year
	}
	if d.Month != e.Month {
		return d.Month < e.Month
	}
	return d.Day < e.Day
}

// String formats d as YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// DateOf returns the calendar day of t in loc.
func DateOf(t time.Time, loc *time.Location) Date {
	y, m, d := t.In(loc).Date()
	return Date{y, int(m), d}
}

// Frequency is how often an item is done: TimesPerDay on either DaysPerWeek
// days or exactly the listed Weekdays.
type Frequency struct {
	TimesPerDay int32
	DaysPerWeek int32
	Weekdays    []time.Weekday
}

// ItemState is whether a plan item reaches the patient.
type ItemState string

// The item states. ENDED is not stored: an item is ENDED once its end date
// has passed in the patient's time zone.
const (
	ItemActive    ItemState = "ACTIVE"
	ItemSuspended ItemState = "SUSPENDED"
	ItemEnded     ItemState = "ENDED"
)

// ItemSpec is a plan item as a clinician writes it.
type ItemSpec struct {
	ExerciseID string
	Dose       Dose
	Frequency  Frequency
	StartDate  Date
	EndDate    Date // zero: open-ended
	Notes      string
}

// PlanItem is an item of a stored plan version with its state.
type PlanItem struct {
	Spec         ItemSpec
	State        ItemState // ACTIVE or SUSPENDED as stored
	StateReasons []Reason  // why SUSPENDED
	StateTime    time.Time
}

// StateOn returns the state a patient sees on a day: ENDED after the end
// date, the stored state otherwise.
func (it PlanItem) StateOn(today Date) ItemState {
	if !it.Spec.EndDate.IsZero() && it.Spec.EndDate.Before(today) {
		return ItemEnded
	}
	return it.State
}

// Plan is one version of a patient's plan.
type Plan struct {
	PatientID   string
	Version     int64 // 0: no plan yet
	Items       []PlanItem
	Note        string
	AuthorID    string
	CreateTime  time.Time
	RedFlagHold bool
	// TimeZone is the patient's IANA time zone, read with the plan so that
	// "today" (and so ENDED) is the patient's day.
	TimeZone string
}

// Today is the patient's calendar day at now; UTC if the zone is unusable.
func (p Plan) Today(now time.Time) Date {
	return DateOf(now, LoadZone(p.TimeZone))
}

// PlanInput is a new plan version as submitted.
type PlanInput struct {
	ExpectedVersion int64
	Items           []ItemSpec
	Note            string
}

// MaxPlanItems caps a plan's size.
const MaxPlanItems = 50

// ValidateItems checks item specs against the catalog. An entry must exist;
// a retired entry is accepted only if the previous version already held it.
// field is "items".
func ValidateItems(items []ItemSpec, cat Catalog, previous Plan) error {
	var v Violations
	if len(items) > MaxPlanItems {
		v.Add("items", "must hold at most %d items", MaxPlanItems)
	}
	had := map[string]bool{}
	for _, it := range previous.Items {
		had[it.Spec.ExerciseID] = true
	}
	seen := map[string]bool{}
	for i, it := range items {
		p := fmt.Sprintf("items[%d]", i)
		ex, ok := cat[it.ExerciseID]
		switch {
		case it.ExerciseID == "":
			v.Add(p+".exercise_id", "is required")
		case !ok:
			v.Add(p+".exercise_id", "unknown exercise %q", truncate(it.ExerciseID, 64))
		case ex.Retired && !had[it.ExerciseID]:
			v.Add(p+".exercise_id", "%s is retired and cannot be added to a plan", it.ExerciseID)
		case seen[it.ExerciseID]:
			v.Add(p+".exercise_id", "%s appears twice", it.ExerciseID)
		}
		seen[it.ExerciseID] = true
		kind := ex.Kind
		if !ok {
			kind = KindDevice // don't report device-only fields for an unknown entry
		}
		ValidateDose(&v, p+".dose", it.Dose, kind)
		f := it.Frequency
		if f.TimesPerDay < 1 || f.TimesPerDay > 10 {
			v.Add(p+".frequency.times_per_day", "must be between 1 and 10")
		}
		switch {
		case len(f.Weekdays) > 0 && f.DaysPerWeek != 0:
			v.Add(p+".frequency.days_per_week", "must be 0 when weekdays are listed")
		case len(f.Weekdays) == 0 && (f.DaysPerWeek < 1 || f.DaysPerWeek > 7):
			v.Add(p+".frequency.days_per_week", "must be between 1 and 7 (or list weekdays)")
		}
		days := map[time.Weekday]bool{}
		for j, d := range f.Weekdays {
			if d < time.Sunday || d > time.Saturday || days[d] {
				v.Add(fmt.Sprintf("%s.frequency.weekdays[%d]", p, j), "must be a distinct day of the week")
			}
			days[d] = true
		}
		if !it.StartDate.Valid() {
			v.Add(p+".start_date", "must be a real date between 2000 and 2100")
		}
		if !it.EndDate.IsZero() {
			if !it.EndDate.Valid() {
				v.Add(p+".end_date", "must be a real date between 2000 and 2100")
			} else if it.StartDate.Valid() && it.EndDate.Before(it.StartDate) {
				v.Add(p+".end_date", "must not be before start_date")
			}
		}
		checkMultiline(&v, p+".notes", it.Notes, false, MaxNoteLen)
	}
	return v.Err()
}

// ValidatePlanNote checks a plan version's note.
func ValidatePlanNote(note string) error {
	var v Violations
	checkMultiline(&v, "note", note, false, MaxNoteLen)
	return v.Err()
}

// GateItems gates every item. It returns one decision per item and, if any
// item is blocked, a FAILED_PRECONDITION error with one violation per
// blocked item and reason: a plan with a blocked item is never written.
func GateItems(items []ItemSpec, cat Catalog, sc Screening, cl []Clearance) ([]Decision, error) {
	ds := make([]Decision, len(items))
	var vs []FieldViolation
	for i, it := range items {
		ds[i] = Gate(cat.Entry(it.ExerciseID), sc, cl)
		for _, r := range ds[i].Blocking() {
			vs = append(vs, FieldViolation{
				Field:       fmt.Sprintf("items[%d]", i),
				Description: fmt.Sprintf("%s: %s (source: %s)", r.Outcome, r.Message, r.Source),
			})
		}
	}
	if len(vs) > 0 {
		return ds, &Error{Code: CodeFailedPrecondition, Reason: ReasonGateBlocked,
			Message: "the plan has items the gate blocks", Violations: vs}
	}
	return ds, nil
}

// holdReason is the reason of every item while a red-flag report is open.
var holdReason = Reason{Flag: FlagNone, Outcome: OutcomeContraindicated, RedFlagHold: true,
	Source:  "red-flag symptoms need urgent medical review before any exercise",
	Message: "plan on hold: the patient reported red-flag symptoms; a clinician must review the alert"}

// StateFor is the state an item must have: SUSPENDED while the plan is on
// red-flag hold or the gate blocks it, ACTIVE otherwise. Lifting a
// condition therefore never re-activates an item the gate still blocks.
func StateFor(d Decision, hold bool) (ItemState, []Reason) {
	if hold {
		return ItemSuspended, append([]Reason{holdReason}, d.Blocking()...)
	}
	if d.Outcome != OutcomeAllowed {
		return ItemSuspended, d.Blocking()
	}
	return ItemActive, nil
}

// ItemChange is one item whose state Regate changed.
type ItemChange struct {
	Index    int
	Decision Decision
	Old, New ItemState
	Reasons  []Reason
}

// Regate recomputes every item's state of p from the gate and the hold, in
// place, and returns the items whose state changed.
func Regate(p *Plan, cat Catalog, sc Screening, cl []Clearance, now time.Time) []ItemChange {
	var out []ItemChange
	for i := range p.Items {
		it := &p.Items[i]
		d := Gate(cat.Entry(it.Spec.ExerciseID), sc, cl)
		st, reasons := StateFor(d, p.RedFlagHold)
		if st != it.State || !sameReasons(reasons, it.StateReasons) {
			if st != it.State {
				out = append(out, ItemChange{Index: i, Decision: d, Old: it.State, New: st, Reasons: reasons})
				it.StateTime = now
			}
			it.State, it.StateReasons = st, reasons
		}
	}
	return out
}

func sameReasons(a, b []Reason) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// DecisionCause says what made the gate decide.
type DecisionCause string

// The causes.
const (
	CausePlanRefused      DecisionCause = "PLAN_REFUSED"
	CausePlanWritten      DecisionCause = "PLAN_WRITTEN"
	CauseScreeningChanged DecisionCause = "SCREENING_CHANGED"
	CauseClearance        DecisionCause = "CLEARANCE"
	CauseRedFlag          DecisionCause = "RED_FLAG"
)

// GatingDecision is one stored decision of the trail, linked to the plan
// version and the screening answers it came from.
type GatingDecision struct {
	ID                 string
	PatientID          string
	PlanVersion        int64
	Decision           Decision
	Cause              DecisionCause
	PreviousState      ItemState // "" when no stored item changed
	NewState           ItemState
	ScreeningAnswerIDs []string
	ActorID            string
	DecideTime         time.Time
}

// Worth recording: a decision is kept in the trail when it blocked,
// suspended, re-activated or rests on a clearance.
func (g GatingDecision) Worth() bool {
	if g.PreviousState != g.NewState || g.Decision.Outcome != OutcomeAllowed {
		return true
	}
	for _, r := range g.Decision.Reasons {
		if r.Cleared() {
			return true
		}
	}
	return false
}

// ReasonFlags returns the flags a decision's reasons name.
func (d Decision) ReasonFlags() []Flag {
	var fs []Flag
	for _, r := range d.Reasons {
		if r.Flag != FlagNone {
			fs = append(fs, r.Flag)
		}
	}
	return fs
}

// DecisionFilter selects a page of a patient's decision trail, newest first.
type DecisionFilter struct {
	PatientID string
	Before    string
	Limit     int
}
