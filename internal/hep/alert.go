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
	AlertRedFlag          AlertKind = "RED_FLAG"
	AlertScreeningChanged AlertKind = "SCREENING_CHANGED"
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

// Alert is something about a patient that a care-team clinician should see.
type Alert struct {
	ID         string
	PatientID  string
	Kind       AlertKind
	Severity   AlertSeverity
	Status     AlertStatus
	Summary    string // built here from coded data, never from patient free text
	CreateTime time.Time
	AckBy      string
	AckNote    string
	AckTime    time.Time
}

// AlertFilter selects a page of a patient's alerts, newest first.
type AlertFilter struct {
	PatientID string
	Status    AlertStatus // "" for any
	Before    string
	Limit     int
}

// RedFlagAlert is the alert a red-flag report raises.
func RedFlagAlert(patientID string, symptoms []RedFlag) Alert {
	names := make([]string, len(symptoms))
	for i, s := range symptoms {
		names[i] = string(s)
	}
	sort.Strings(names)
	return Alert{PatientID: patientID, Kind: AlertRedFlag, Severity: AlertUrgent, Status: AlertOpen,
		Summary: "Red-flag symptoms reported: " + strings.Join(names, ", ") + ". Plan suspended until reviewed."}
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
