package hep

import (
	"fmt"
	"regexp"
	"time"
)

// Kind says whether a catalog entry is done with the body alone or with a
// home device.
type Kind string

// The kinds.
const (
	KindExercise Kind = "EXERCISE"
	KindDevice   Kind = "DEVICE"
)

// Severity is what a contraindication rule does when its flag is PRESENT.
type Severity string

// The severities.
const (
	SeverityContraindicated Severity = "CONTRAINDICATED"
	SeverityNeedsClearance  Severity = "NEEDS_CLEARANCE"
)

// Rule ties a screening flag to a severity, with the source that justifies
// it.
type Rule struct {
	Flag     Flag
	Severity Severity
	Source   string
}

// Dose is how much one session holds; zero fields are not part of it.
type Dose struct {
	Sets            int32
	Reps            int32
	HoldSeconds     int32
	DurationSeconds int32
	AngleDegrees    int32 // devices only
	ForceKg         int32 // devices only
}

// Dose limits. They reject typos that would be dangerous (reps 10000, a
// 90-minute hold) rather than encode a clinical maximum.
const (
	MaxSets            = 20
	MaxReps            = 1000
	MaxHoldSeconds     = 3600
	MaxDurationSeconds = 4 * 3600
	MaxAngleDegrees    = 90
	MaxForceKg         = 100
)

// ValidateDose checks a dose for an entry of the given kind. field prefixes
// the violation names.
func ValidateDose(v *Violations, field string, d Dose, kind Kind) {
	check := func(name string, x, max int32) {
		if x < 0 || x > max {
			v.Add(field+"."+name, "must be between 0 and %d", max)
		}
	}
	check("sets", d.Sets, MaxSets)
	check("reps", d.Reps, MaxReps)
	check("hold_seconds", d.HoldSeconds, MaxHoldSeconds)
	check("duration_seconds", d.DurationSeconds, MaxDurationSeconds)
	check("angle_degrees", d.AngleDegrees, MaxAngleDegrees)
	check("force_kg", d.ForceKg, MaxForceKg)
	if kind != KindDevice && (d.AngleDegrees != 0 || d.ForceKg != 0) {
		v.Add(field, "angle_degrees and force_kg apply to devices only")
	}
	if d.Reps == 0 && d.HoldSeconds == 0 && d.DurationSeconds == 0 {
		v.Add(field, "must set reps, hold_seconds or duration_seconds")
	}
}

// Exercise is a catalog entry: an exercise or a home device.
type Exercise struct {
	ID                string // slug
	Kind              Kind
	Name              string
	Instructions      string
	DefaultDose       Dose
	Rules             []Rule
	RequiresClearance bool // always needs a clinician's clearance (devices)
	BuiltIn           bool
	Retired           bool
	CatalogVersion    int
	CreateTime        time.Time
}

// Rule returns the entry's rule for a flag, if any.
func (e Exercise) Rule(f Flag) (Rule, bool) {
	for _, r := range e.Rules {
		if r.Flag == f {
			return r, true
		}
	}
	return Rule{}, false
}

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$`)

// CheckSlug adds a violation unless id is a catalog slug.
func CheckSlug(v *Violations, field, id string) {
	if id == "" {
		v.Add(field, "is required")
	} else if !slugRE.MatchString(id) {
		v.Add(field, "must be 2-63 lower-case letters, digits and dashes, such as cat-cow")
	}
}

// Limits on catalog text.
const (
	MaxInstructionsLen = 4000
	MaxSourceLen       = 500
)

// Validate checks a clinic-defined entry.
func (e Exercise) Validate() error {
	var v Violations
	CheckSlug(&v, "exercise.id", e.ID)
	if e.Kind != KindExercise && e.Kind != KindDevice {
		v.Add("exercise.kind", "must be EXERCISE or DEVICE")
	}
	checkText(&v, "exercise.name", e.Name, true, MaxDisplayNameLen)
	checkMultiline(&v, "exercise.instructions", e.Instructions, true, MaxInstructionsLen)
	ValidateDose(&v, "exercise.default_dose", e.DefaultDose, e.Kind)
	if e.Kind == KindDevice && !e.RequiresClearance {
		v.Add("exercise.requires_clearance", "must be set for a device: every home device needs a clinician's clearance")
	}
	seen := map[Flag]bool{}
	for i, r := range e.Rules {
		p := fmt.Sprintf("exercise.rules[%d]", i)
		if !r.Flag.Valid() {
			v.Add(p+".flag", "must be a screening flag")
		} else if seen[r.Flag] {
			v.Add(p+".flag", "%s has two rules", r.Flag)
		}
		seen[r.Flag] = true
		if r.Severity != SeverityContraindicated && r.Severity != SeverityNeedsClearance {
			v.Add(p+".severity", "must be CONTRAINDICATED or NEEDS_CLEARANCE")
		}
		checkText(&v, p+".source", r.Source, true, MaxSourceLen)
	}
	return v.Err()
}

// Catalog is the catalog by id.
type Catalog map[string]Exercise

// Entry returns the catalog entry with this id, or, for an id not in the
// catalog, an Exercise with only the ID set, which Gate refuses.
func (c Catalog) Entry(id string) Exercise {
	if e, ok := c[id]; ok {
		return e
	}
	return Exercise{ID: id}
}
