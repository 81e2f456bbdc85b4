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
	// Trigger names the data that raised the alert (LogTrigger,
	// CheckinTrigger, WindowTrigger); empty for the clinical-core kinds.
	Trigger string
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
