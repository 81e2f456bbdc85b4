package hep

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// AlertKind is what raised an alert.
type AlertKind string

// The alert kinds so far.
const (
	AlertRedFlag              AlertKind = "RED_FLAG"
	AlertScreeningChanged     AlertKind = "SCREENING_CHANGED"
	AlertLoggedWhileSuspended AlertKind = "LOGGED_WHILE_SUSPENDED"
)

// AlertSeverity is how soon a clinician should look.
type AlertSeverity string

// The severities.
const (
	AlertUrgent  AlertSeverity = "URGENT"
	AlertRoutine AlertSeverity = "ROUTINE"
)

// AlertStatus is where an alert is in its life.
type AlertStatus string

// The statuses.
const (
	AlertOpen         AlertStatus = "OPEN"
	AlertAcknowledged AlertStatus = "ACKNOWLEDGED"
)

// Alert is something about a patient that a care-team clinician should
// see: one episode of a kind of event about one subject. Every time the
// event happens again while the alert is open, it gains an occurrence
// instead of a new alert (Coalesce); after a clinician acknowledges it,
// the next occurrence opens a new alert.
type Alert struct {
	ID        string
	PatientID string
	Kind      AlertKind
	Severity  AlertSeverity
	Status    AlertStatus
	// Subject is what the alert is about within its kind (see the Subject
	// functions): with PatientID and Kind, the key under which a patient
	// has at most one open alert.
	Subject string
	// Summary is the latest occurrence's, built here from coded data,
	// never from patient free text.
	Summary string
	// CreateTime is the first occurrence's time, LatestTime the latest's.
	CreateTime time.Time
	LatestTime time.Time
	// Occurrences is how many occurrences the alert holds (at least 1).
	Occurrences int32
	AckBy       string
	AckNote     string
	AckTime     time.Time
	// Trigger names the data that raised the first occurrence (LogTrigger,
	// CheckinTrigger, WindowTrigger); empty for screening and red-flag
	// alerts. Each occurrence keeps its own.
	Trigger string
}

// AlertOccurrence is one time an alert's event happened: its own record,
// kept for good, whatever becomes of the alert.
type AlertOccurrence struct {
	ID        string
	AlertID   string
	PatientID string
	Kind      AlertKind
	// Trigger names the data that raised it; a patient has at most one
	// occurrence per kind and non-empty trigger, so the same data never
	// raises anything twice.
	Trigger string
	Time    time.Time
	Summary string
}

// AlertFilter selects a page of alerts, newest first: one patient's, or
// with PatientID empty those of ClinicianID's care-team patients.
type AlertFilter struct {
	PatientID   string
	ClinicianID string
	Status      AlertStatus   // "" for any
	Kinds       []AlertKind   // empty for any
	Severity    AlertSeverity // "" for any
	Before      string
	Limit       int
}

// AlertOccurrenceFilter selects a page of one alert's occurrences, newest
// first.
type AlertOccurrenceFilter struct {
	PatientID string
	AlertID   string
	Before    string // the id the previous page ended with
	Limit     int
}

// Alert subjects. A subject says what an alert is about within its kind,
// so that repeats coalesce and different things do not
// (docs/clinical-rules.md, "Coalescing"):
//   - an exercise (its catalog id) for the alerts a session log raises
//     (PAIN_SEVERE, PAIN_FLARE, LOGGED_WHILE_SUSPENDED): "3 pain flares with
//     cat-cow" is one thing to look at, a flare with another exercise is
//     another;
//   - the pain's location for a check-in's PAIN_SEVERE (CheckinSubject):
//     severe leg pain appearing beside severe back pain is new, and may be
//     a nerve root;
//   - the patient as a whole (PatientSubject) for the 7-day windows
//     (PAIN_WORSENING, NON_ADHERENCE: one trend, one adherence) and for
//     SCREENING_CHANGED (one screening, read as a whole);
//   - the report itself for RED_FLAG (RedFlagSubject): never coalesced.
const PatientSubject = ""

// CheckinSubject is the subject of a check-in's alert: its location.
func CheckinSubject(loc PainLocation) string { return "checkin/" + string(loc) }

// RedFlagSubject is the subject of a red-flag report's alert: the report.
// Each report is its own URGENT alert. Reports are rare, each may be an
// emergency with its own symptoms, and acknowledging the last open one
// lifts the plan's hold: merging a second report into an open alert would
// let one acknowledgement cover a report its author may never have seen,
// and lift the hold on it.
func RedFlagSubject(reportID string) string { return "red_flag_reports/" + reportID }

// Coalesce folds a new occurrence into the patient's alert. a is what a
// rule raised (PatientID, Kind, Severity, Subject, Summary and Trigger
// set); open is the patient's OPEN alert of the same kind and subject, or
// nil if there is none (never any, or the last one acknowledged). It
// returns the alert as it must be stored and the occurrence to keep (its
// ID and AlertID, and a new alert's ID, are the store's to assign):
//   - no open alert: a new OPEN alert whose first occurrence this is;
//   - otherwise the open alert with one more occurrence, this one's time
//     and summary as the latest, the more urgent of the two severities,
//     and its first trigger and time unchanged.
//
// An acknowledged alert is never reopened: its acknowledgement covers the
// occurrences its author saw, and a new occurrence is news for the care
// team, so it starts a new alert (the acknowledged one stays as it was).
func Coalesce(open *Alert, a Alert, now time.Time) (Alert, AlertOccurrence) {
	occ := AlertOccurrence{PatientID: a.PatientID, Kind: a.Kind, Trigger: a.Trigger, Time: now, Summary: a.Summary}
	if open == nil || open.Status != AlertOpen || open.PatientID != a.PatientID || open.Kind != a.Kind || open.Subject != a.Subject {
		a.ID, a.Status, a.Occurrences = "", AlertOpen, 1
		a.CreateTime, a.LatestTime = now, now
		a.AckBy, a.AckNote, a.AckTime = "", "", time.Time{}
		return a, occ
	}
	out := *open
	out.Occurrences++
	out.LatestTime, out.Summary = now, a.Summary
	if a.Severity == AlertUrgent {
		out.Severity = AlertUrgent
	}
	occ.AlertID = out.ID
	return out, occ
}

// CheckAck decides whether alert a may be acknowledged by a clinician who
// saw it with expected occurrences (0: not checked): FAILED_PRECONDITION
// if it is acknowledged already; ABORTED with reason ALERT_CHANGED (and
// the count in Metadata "occurrences") if occurrences arrived since, so
// that no acknowledgement covers an occurrence its author did not see.
func CheckAck(a Alert, expected int32) error {
	if a.Status != AlertOpen {
		return Errorf(CodeFailedPrecondition, "the alert is already acknowledged")
	}
	if expected > 0 && expected != a.Occurrences {
		return &Error{Code: CodeAborted, Reason: ReasonAlertChanged,
			Message:  fmt.Sprintf("the alert has %d occurrences, not %d: list it again", a.Occurrences, expected),
			Metadata: map[string]string{"occurrences": fmt.Sprint(a.Occurrences)}}
	}
	return nil
}

// ValidateExpectedOccurrences checks an acknowledgement's expected
// occurrence count (0: not checked).
func ValidateExpectedOccurrences(field string, n int32) error {
	var v Violations
	if n < 0 {
		v.Add(field, "must be 0 (not checked) or the occurrence count seen")
	}
	return v.Err()
}

// AlertPhrase says an alert in a few words with its count, for triage's
// reason line and lists: "3 pain flares with cat-cow", "19 sessions of
// cat-cow logged while suspended", "1 red-flag report".
func AlertPhrase(kind AlertKind, subject string, n int32) string {
	plural := func(one, many string) string {
		if n == 1 {
			return one
		}
		return many
	}
	switch kind {
	case AlertPainFlare:
		return fmt.Sprintf("%d %s with %s", n, plural("pain flare", "pain flares"), subject)
	case AlertPainSevere:
		if loc, ok := strings.CutPrefix(subject, "checkin/"); ok {
			return fmt.Sprintf("%d severe pain %s (%s)", n, plural("check-in", "check-ins"),
				strings.ToLower(strings.ReplaceAll(loc, "_", " ")))
		}
		return fmt.Sprintf("%d severe pain %s with %s", n, plural("score", "scores"), subject)
	case AlertLoggedWhileSuspended:
		return fmt.Sprintf("%d %s of %s logged while suspended", n, plural("session", "sessions"), subject)
	case AlertPainWorsening:
		return fmt.Sprintf("pain worsening in %d %s", n, plural("7-day window", "7-day windows"))
	case AlertNonAdherence:
		return fmt.Sprintf("low adherence in %d %s", n, plural("7-day window", "7-day windows"))
	case AlertScreeningChanged:
		return fmt.Sprintf("%d %s", n, plural("screening change", "screening changes"))
	case AlertRedFlag:
		return fmt.Sprintf("%d %s", n, plural("red-flag report", "red-flag reports"))
	case AlertFunctionWorsened:
		return fmt.Sprintf("%s worse than baseline by the MCID in %d %s", instrumentTitle(subject), n, plural("response", "responses"))
	case AlertQuestionnaireOverdue:
		return fmt.Sprintf("%d overdue %s", n, instrumentTitle(subject))
	}
	return fmt.Sprintf("%d %s", n, strings.ToLower(strings.ReplaceAll(string(kind), "_", " ")))
}

// RedFlagAlert is the alert the red-flag report reportID raises.
func RedFlagAlert(patientID, reportID string, symptoms []RedFlag) Alert {
	names := make([]string, len(symptoms))
	for i, s := range symptoms {
		names[i] = string(s)
	}
	sort.Strings(names)
	return Alert{PatientID: patientID, Kind: AlertRedFlag, Severity: AlertUrgent, Status: AlertOpen,
		Subject: RedFlagSubject(reportID), Summary: "Red-flag symptoms reported: " + strings.Join(names, ", ") + ". Plan suspended until reviewed."}
}

// ScreeningAlert is the alert for screening answers that changed plan
// items; nil when no item changed.
func ScreeningAlert(patientID string, src Source, answers []ScreeningInput, changes []ItemChange, items []PlanItem) *Alert {
	if len(changes) == 0 {
		return nil
	}
	var ans []string
	for _, a := range answers {
		ans = append(ans, fmt.Sprintf("%s %s", a.Flag, a.Status))
	}
	var ch []string
	for _, c := range changes {
		ch = append(ch, fmt.Sprintf("%s %s", items[c.Index].Spec.ExerciseID, strings.ToLower(string(c.New))))
	}
	who := "reported by the patient"
	if src == SourceClinicianVerified {
		who = "recorded by a clinician"
	}
	return &Alert{PatientID: patientID, Kind: AlertScreeningChanged, Severity: AlertRoutine, Status: AlertOpen,
		Summary: fmt.Sprintf("Screening %s: %s. Plan items now: %s.", who, strings.Join(ans, ", "), strings.Join(ch, ", "))}
}

// ValidateAckNote checks an acknowledgement note.
func ValidateAckNote(note string) error {
	var v Violations
	checkMultiline(&v, "note", note, true, MaxNoteLen)
	if len(v) == 0 && strings.TrimSpace(note) == "" {
		v.Add("note", "is required")
	}
	return v.Err()
}

// AlertForScreening is the one alert a screening call raises, or nil:
//   - items changed state: ScreeningAlert, from either source;
//   - a patient's report changed a status without changing any item (there
//     is no plan yet, say), or did not take effect because a clinician had
//     verified a more cautious answer: the care team still hears of it.
//
// Overridden reports are always named in the summary.
func AlertForScreening(patientID string, src Source, before Screening, effective, overridden []ScreeningInput, changes []ItemChange, items []PlanItem) *Alert {
	a := ScreeningAlert(patientID, src, effective, changes, items)
	if a == nil && src == SourcePatientReported {
		var moved []string
		for _, in := range effective {
			if before.Status(in.Flag) != in.Status {
				moved = append(moved, fmt.Sprintf("%s %s", in.Flag, in.Status))
			}
		}
		if len(moved) > 0 {
			a = &Alert{PatientID: patientID, Kind: AlertScreeningChanged, Severity: AlertRoutine, Status: AlertOpen,
				Summary: fmt.Sprintf("Screening reported by the patient: %s. No plan item changed.", strings.Join(moved, ", "))}
		}
	}
	if len(overridden) > 0 {
		var ov []string
		for _, in := range overridden {
			ov = append(ov, fmt.Sprintf("%s %s (verified %s)", in.Flag, in.Status, before.Status(in.Flag)))
		}
		note := fmt.Sprintf("The patient reports %s; the clinician-verified answers stand until a clinician records new ones.", strings.Join(ov, ", "))
		if a == nil {
			a = &Alert{PatientID: patientID, Kind: AlertScreeningChanged, Severity: AlertRoutine, Status: AlertOpen, Summary: note}
		} else {
			a.Summary += " " + note
		}
	}
	return a
}
