package hep

import (
	"fmt"
	"strings"
	"time"
)

// Outcome is the gate's verdict on one exercise for one patient.
type Outcome string

// The outcomes, from least to most severe.
const (
	OutcomeAllowed         Outcome = "ALLOWED"
	OutcomeNeedsClearance  Outcome = "NEEDS_CLEARANCE"
	OutcomeNeedsScreening  Outcome = "NEEDS_SCREENING"
	OutcomeContraindicated Outcome = "CONTRAINDICATED"
)

func (o Outcome) rank() int {
	switch o {
	case OutcomeNeedsClearance:
		return 1
	case OutcomeNeedsScreening:
		return 2
	case OutcomeContraindicated:
		return 3
	}
	return 0
}

// Reason is one reason behind a gate decision.
type Reason struct {
	Flag        Flag       // FlagNone: a device's standing requirement or a red-flag hold
	Status      FlagStatus // the flag's status when decided
	Outcome     Outcome    // what this reason alone leads to
	Source      string     // the rule's source text
	ClearanceID string     // the live clearance satisfying it, if any
	RedFlagHold bool
	Message     string
}

// Cleared reports whether a clearance satisfies the reason.
func (r Reason) Cleared() bool { return r.ClearanceID != "" }

// Decision is the gate's verdict on one exercise, with every reason.
type Decision struct {
	ExerciseID string
	Outcome    Outcome
	Reasons    []Reason
}

// Blocking returns the reasons that keep the exercise from the patient.
func (d Decision) Blocking() []Reason {
	var out []Reason
	for _, r := range d.Reasons {
		if r.Outcome != OutcomeAllowed {
			out = append(out, r)
		}
	}
	return out
}

// Clearance is a clinician's permission for one exercise despite one
// NEEDS_CLEARANCE flag (or, with FlagNone, a device's standing clearance).
// It ends when that flag's status changes.
type Clearance struct {
	ID         string
	PatientID  string
	ExerciseID string
	Flag       Flag
	Reason     string
	ClearedBy  string
	CreateTime time.Time
	EndTime    time.Time // zero while live
}

// Live reports whether the clearance is in force.
func (c Clearance) Live() bool { return c.EndTime.IsZero() }

func liveClearance(cs []Clearance, exerciseID string, f Flag) (Clearance, bool) {
	for _, c := range cs {
		if c.Live() && c.ExerciseID == exerciseID && c.Flag == f {
			return c, true
		}
	}
	return Clearance{}, false
}

// Gate decides whether an exercise may reach a patient with this screening
// and these clearances. It is the one place the gating rules live:
//
//   - a rule whose flag is PRESENT applies its severity;
//   - a rule whose flag is UNKNOWN (or never answered) needs screening:
//     unknown is not absent;
//   - a rule whose flag is ABSENT does nothing;
//   - NEEDS_CLEARANCE is satisfied only by a live clearance for that
//     exercise and flag; CONTRAINDICATED is never satisfied by a clearance;
//   - an entry that requires clearance (every device) also needs a live
//     standing clearance (FlagNone);
//   - an entry that is not in the catalog is CONTRAINDICATED.
//
// The outcome is the most severe outcome among the reasons.
func Gate(ex Exercise, sc Screening, clearances []Clearance) Decision {
	d := Decision{ExerciseID: ex.ID, Outcome: OutcomeAllowed}
	add := func(r Reason) {
		d.Reasons = append(d.Reasons, r)
		if r.Outcome.rank() > d.Outcome.rank() {
			d.Outcome = r.Outcome
		}
	}
	if ex.Kind == "" {
		// Not a catalog entry (missing from the catalog handed in): fail
		// closed rather than allow something nobody wrote rules for.
		add(Reason{Outcome: OutcomeContraindicated, Source: "hep: every plan item must be a catalog entry",
			Message: fmt.Sprintf("%s is not in the catalog", ex.ID)})
		return d
	}
	for _, f := range Flags { // flag order keeps reasons deterministic
		rule, ok := ex.Rule(f)
		if !ok {
			continue
		}
		st := sc.Status(f)
		r := Reason{Flag: f, Status: st, Source: rule.Source}
		switch {
		case st == StatusAbsent:
			continue
		case st == StatusUnknown:
			r.Outcome = OutcomeNeedsScreening
			r.Message = fmt.Sprintf("%s is unknown: screen for it before prescribing %s", f, ex.ID)
		case rule.Severity != SeverityNeedsClearance:
			// CONTRAINDICATED, or a severity this code does not know: fail
			// closed.
			r.Outcome = OutcomeContraindicated
			r.Message = fmt.Sprintf("%s is contraindicated with %s", ex.ID, f)
		default:
			if c, ok := liveClearance(clearances, ex.ID, f); ok {
				r.Outcome, r.ClearanceID = OutcomeAllowed, c.ID
				r.Message = fmt.Sprintf("%s cleared by a clinician despite %s", ex.ID, f)
			} else {
				r.Outcome = OutcomeNeedsClearance
				r.Message = fmt.Sprintf("%s needs a clinician's clearance because of %s", ex.ID, f)
			}
		}
		add(r)
	}
	if ex.RequiresClearance {
		r := Reason{Flag: FlagNone, Source: "every home device needs a clinician's clearance before use"}
		if c, ok := liveClearance(clearances, ex.ID, FlagNone); ok {
			r.Outcome, r.ClearanceID = OutcomeAllowed, c.ID
			r.Message = fmt.Sprintf("%s cleared for home use by a clinician", ex.ID)
		} else {
			r.Outcome = OutcomeNeedsClearance
			r.Message = fmt.Sprintf("%s is a home device and needs a clinician's clearance", ex.ID)
		}
		add(r)
	}
	return d
}

// CheckClearance says whether a clinician may clear ex for flag f now:
// only a NEEDS_CLEARANCE rule whose flag is PRESENT, or a device's standing
// requirement (FlagNone), can be cleared.
func CheckClearance(ex Exercise, sc Screening, f Flag) error {
	fail := func(format string, args ...any) error {
		return Errorf(CodeFailedPrecondition, format, args...)
	}
	if f == FlagNone {
		if !ex.RequiresClearance {
			return fail("%s has no standing clearance requirement; name the flag to clear", ex.ID)
		}
		return nil
	}
	rule, ok := ex.Rule(f)
	switch {
	case !ok:
		return fail("%s has no rule for %s: there is nothing to clear", ex.ID, f)
	case rule.Severity == SeverityContraindicated:
		return fail("%s is contraindicated with %s: a contraindication cannot be cleared", ex.ID, f)
	case sc.Status(f) == StatusUnknown:
		return fail("%s is unknown: record a screening answer instead of clearing", f)
	case sc.Status(f) == StatusAbsent:
		return fail("%s is absent: there is nothing to clear", f)
	}
	return nil
}

// ValidateClearanceReason checks a clearance's reason text.
func ValidateClearanceReason(reason string) error {
	var v Violations
	checkMultiline(&v, "reason", reason, true, MaxNoteLen)
	if len(v) == 0 && strings.TrimSpace(reason) == "" {
		v.Add("reason", "is required")
	}
	return v.Err()
}

// EndedClearances returns the live clearances that new answers end: those
// for a flag whose status the answers change. A clearance given for a flag
// holds only for the status it was given under.
func EndedClearances(live []Clearance, before Screening, answers []ScreeningInput) []Clearance {
	changed := map[Flag]bool{}
	for _, a := range answers {
		if before.Status(a.Flag) != a.Status {
			changed[a.Flag] = true
		}
	}
	var out []Clearance
	for _, c := range live {
		if c.Live() && c.Flag != FlagNone && changed[c.Flag] {
			out = append(out, c)
		}
	}
	return out
}
