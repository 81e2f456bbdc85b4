package hep

import (
	"fmt"
	"time"
)

// Flag is a screening flag: a condition that can make an exercise or device
// unsafe.
type Flag string

// The screening flags. FlagNone is not a condition: in a clearance it stands
// for the standing clearance every home device needs.
const (
	FlagNone                      Flag = ""
	FlagPregnancy                 Flag = "PREGNANCY"
	FlagRecentSpinalSurgery       Flag = "RECENT_SPINAL_SURGERY"
	FlagSpinalFracture            Flag = "SPINAL_FRACTURE"
	FlagOsteoporosis              Flag = "OSTEOPOROSIS"
	FlagHypertension              Flag = "HYPERTENSION"
	FlagHernia                    Flag = "HERNIA"
	FlagObesity                   Flag = "OBESITY"
	FlagSpinalMetalImplant        Flag = "SPINAL_METAL_IMPLANT"
	FlagGlaucomaOrRetinal         Flag = "GLAUCOMA_OR_RETINAL_DETACHMENT"
	FlagHeartOrCirculatoryDisease Flag = "HEART_OR_CIRCULATORY_DISEASE"
	FlagAnticoagulantUse          Flag = "ANTICOAGULANT_USE"
)

// Flags lists every screening flag in a fixed order.
var Flags = []Flag{
	FlagPregnancy, FlagRecentSpinalSurgery, FlagSpinalFracture, FlagOsteoporosis, FlagHypertension,
	FlagHernia, FlagObesity, FlagSpinalMetalImplant, FlagGlaucomaOrRetinal, FlagHeartOrCirculatoryDisease,
	FlagAnticoagulantUse,
}

// Valid reports whether f is one of Flags.
func (f Flag) Valid() bool {
	for _, x := range Flags {
		if f == x {
			return true
		}
	}
	return false
}

// FlagStatus is an answer to a screening flag.
type FlagStatus string

// The statuses. A flag never answered is StatusUnknown: unknown is not absent.
const (
	StatusPresent FlagStatus = "PRESENT"
	StatusAbsent  FlagStatus = "ABSENT"
	StatusUnknown FlagStatus = "UNKNOWN"
)

// Valid reports whether s is a status.
func (s FlagStatus) Valid() bool {
	return s == StatusPresent || s == StatusAbsent || s == StatusUnknown
}

// Source says who gave a screening answer.
type Source string

// The sources.
const (
	SourcePatientReported   Source = "PATIENT_REPORTED"
	SourceClinicianVerified Source = "CLINICIAN_VERIFIED"
)

// SourceFor is the source of answers recorded by a role: a device's answers
// are the patient's report, a clinician's are verified. Nobody chooses it.
func SourceFor(r Role) Source {
	if r == RolePatient {
		return SourcePatientReported
	}
	return SourceClinicianVerified
}

// ScreeningAnswer is one recorded answer. Answers are never changed or
// deleted; the current screening is the latest answer per flag.
type ScreeningAnswer struct {
	ID         string
	PatientID  string
	Flag       Flag
	Status     FlagStatus
	Source     Source
	RecordedBy string // account id or device id
	Note       string
	RecordTime time.Time
	// Effective is false for a patient's report that did not take effect
	// because a clinician had verified a more cautious answer (see
	// TakesEffect). It stays in the history; gating ignores it.
	Effective bool
}

// caution ranks statuses by how much they restrict: an unknown condition
// restricts more than an absent one, a present one most.
func caution(s FlagStatus) int {
	switch s {
	case StatusPresent:
		return 2
	case StatusUnknown:
		return 1
	}
	return 0
}

// TakesEffect decides whether a new answer changes the screening that
// gating uses. A clinician's answer always does. A patient's answer does,
// unless it would make a clinician-verified answer less cautious: a phone
// cannot lift what a clinician verified ("osteoporosis: absent" after a
// clinician recorded it present). Such a report is kept in the history and
// shown to the care team, and the verified answer stands until a clinician
// records a new one. A patient's report that adds caution ("pregnant") or
// revises the patient's own earlier report always takes effect.
func TakesEffect(current Screening, in ScreeningInput, src Source) bool {
	if src == SourceClinicianVerified {
		return true
	}
	cur, ok := current[in.Flag]
	if !ok || cur.Source != SourceClinicianVerified {
		return true
	}
	return caution(in.Status) >= caution(cur.Status)
}

// SplitAnswers separates a batch into the answers that take effect and the
// patient reports that do not (TakesEffect).
func SplitAnswers(current Screening, answers []ScreeningInput, src Source) (effective, overridden []ScreeningInput) {
	for _, a := range answers {
		if TakesEffect(current, a, src) {
			effective = append(effective, a)
		} else {
			overridden = append(overridden, a)
		}
	}
	return effective, overridden
}

// Screening is a patient's current screening: the latest answer per flag.
type Screening map[Flag]ScreeningAnswer

// Status returns a flag's current status; a flag never answered is UNKNOWN.
func (s Screening) Status(f Flag) FlagStatus {
	if a, ok := s[f]; ok {
		return a.Status
	}
	return StatusUnknown
}

// AnswerIDs returns the ids of the answers behind the given flags, in flag
// order: what a decision was made from.
func (s Screening) AnswerIDs(flags []Flag) []string {
	var ids []string
	for _, f := range Flags {
		for _, g := range flags {
			if f == g {
				if a, ok := s[f]; ok {
					ids = append(ids, a.ID)
				}
				break
			}
		}
	}
	return ids
}

// ScreeningInput is one answer as submitted.
type ScreeningInput struct {
	Flag   Flag
	Status FlagStatus
	Note   string
}

// Limits on screening input.
const (
	MaxAnswersPerCall = 20
	MaxNoteLen        = 2000
)

// ValidateScreeningInputs checks a batch of answers: 1-20, distinct valid
// flags, valid statuses, short notes.
func ValidateScreeningInputs(in []ScreeningInput) error {
	var v Violations
	if len(in) == 0 || len(in) > MaxAnswersPerCall {
		v.Add("answers", "must hold 1 to %d answers", MaxAnswersPerCall)
	}
	seen := map[Flag]bool{}
	for i, a := range in {
		p := fmt.Sprintf("answers[%d]", i)
		if !a.Flag.Valid() {
			v.Add(p+".flag", "must be a screening flag")
		} else if seen[a.Flag] {
			v.Add(p+".flag", "%s is answered twice", a.Flag)
		}
		seen[a.Flag] = true
		if !a.Status.Valid() {
			v.Add(p+".status", "must be PRESENT, ABSENT or UNKNOWN")
		}
		checkText(&v, p+".note", a.Note, false, MaxNoteLen)
	}
	return v.Err()
}

// ScreeningFilter selects a page of a patient's answer history, newest first.
type ScreeningFilter struct {
	PatientID string
	Flag      Flag   // FlagNone for every flag
	Before    string // id of the last answer of the previous page
	Limit     int
}

// RedFlag is a symptom that needs urgent medical review.
type RedFlag string

// The red-flag symptoms.
const (
	RedFlagSaddleNumbness      RedFlag = "SADDLE_NUMBNESS"
	RedFlagBladderOrBowel      RedFlag = "BLADDER_OR_BOWEL_DYSFUNCTION"
	RedFlagProgressiveWeakness RedFlag = "PROGRESSIVE_LEG_WEAKNESS"
	RedFlagFeverWithBackPain   RedFlag = "FEVER_WITH_BACK_PAIN"
	RedFlagUnexplainedWeight   RedFlag = "UNEXPLAINED_WEIGHT_LOSS"
)

// RedFlags lists every red-flag symptom.
var RedFlags = []RedFlag{RedFlagSaddleNumbness, RedFlagBladderOrBowel, RedFlagProgressiveWeakness, RedFlagFeverWithBackPain, RedFlagUnexplainedWeight}

// ValidateRedFlags checks a red-flag report: 1-5 distinct known symptoms.
func ValidateRedFlags(symptoms []RedFlag, note string) error {
	var v Violations
	if len(symptoms) == 0 || len(symptoms) > len(RedFlags) {
		v.Add("symptoms", "must hold 1 to %d symptoms", len(RedFlags))
	}
	seen := map[RedFlag]bool{}
	for i, s := range symptoms {
		known := false
		for _, r := range RedFlags {
			known = known || s == r
		}
		switch {
		case !known:
			v.Add(fmt.Sprintf("symptoms[%d]", i), "must be a red-flag symptom")
		case seen[s]:
			v.Add(fmt.Sprintf("symptoms[%d]", i), "%s is listed twice", s)
		}
		seen[s] = true
	}
	checkText(&v, "note", note, false, MaxNoteLen)
	return v.Err()
}
