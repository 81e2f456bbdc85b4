package hep

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Alert triggers name the data that raised an alert; a store keeps at most
// one alert per patient, kind and non-empty trigger, so a replay of the
// same data raises nothing twice.

// LogTrigger is the trigger of an alert raised by a log.
func LogTrigger(id string) string { return "exercise_logs/" + id }

// CheckinTrigger is the trigger of an alert raised by a check-in.
func CheckinTrigger(id string) string { return "pain_checkins/" + id }

// WindowTrigger is the trigger of an alert over the 7-day window ending on
// day d.
func WindowTrigger(d Date) string { return "window/" + d.String() }

// WindowDays is the length of the PAIN_WORSENING and NON_ADHERENCE windows.
const WindowDays = 7

// LogAlerts are the alerts a new live log raises, each about the log's
// exercise: LOGGED_WHILE_SUSPENDED when it was logged while its plan item
// was suspended, PAIN_SEVERE when either score reaches t.SeverePain,
// PAIN_FLARE when after - before reaches t.FlareIncrease. A correction
// (Supersedes) of a log that already raised a kind does not raise it
// again: supersededKinds are the kinds the superseded log (and what it
// corrected in turn) raised. (A correction is the same session, so the
// count of sessions logged while suspended stays the count of sessions.)
func LogAlerts(l ExerciseLog, t Thresholds, supersededKinds map[AlertKind]bool) []Alert {
	var out []Alert
	trig := LogTrigger(l.ID)
	if l.ItemSuspended && !supersededKinds[AlertLoggedWhileSuspended] {
		out = append(out, SuspendedLogAlert(l))
	}
	maxScore := int32(-1)
	for _, p := range []*int32{l.PainBefore, l.PainAfter} {
		if p != nil && *p > maxScore {
			maxScore = *p
		}
	}
	if maxScore >= t.SeverePain && !supersededKinds[AlertPainSevere] {
		out = append(out, Alert{PatientID: l.PatientID, Kind: AlertPainSevere, Severity: AlertRoutine, Status: AlertOpen,
			Subject: l.ExerciseID, Trigger: trig,
			Summary: fmt.Sprintf("Pain %d/10 logged with %s (severe: %d or more).", maxScore, l.ExerciseID, t.SeverePain)})
	}
	if l.PainBefore != nil && l.PainAfter != nil && *l.PainAfter-*l.PainBefore >= t.FlareIncrease && !supersededKinds[AlertPainFlare] {
		out = append(out, Alert{PatientID: l.PatientID, Kind: AlertPainFlare, Severity: AlertRoutine, Status: AlertOpen,
			Subject: l.ExerciseID, Trigger: trig, Summary: fmt.Sprintf("Pain rose from %d to %d with %s (flare: up %d or more).",
				*l.PainBefore, *l.PainAfter, l.ExerciseID, t.FlareIncrease)})
	}
	return out
}

// RecordAlertKinds are the kinds a record's trigger may raise, which a
// correction of the record does not raise again (LogAlerts,
// CheckinAlert).
var RecordAlertKinds = []AlertKind{AlertLoggedWhileSuspended, AlertPainSevere, AlertPainFlare}

// CheckinAlert is the PAIN_SEVERE alert of a new live check-in, or nil. A
// check-in reporting red flags raises none: its URGENT RED_FLAG alert says
// more, and the care team should see one alert for one report.
func CheckinAlert(c PainCheckin, t Thresholds, supersededKinds map[AlertKind]bool) *Alert {
	if c.Score < t.SeverePain || supersededKinds[AlertPainSevere] || len(c.RedFlags) > 0 {
		return nil
	}
	return &Alert{PatientID: c.PatientID, Kind: AlertPainSevere, Severity: AlertRoutine, Status: AlertOpen,
		Subject: CheckinSubject(c.Location), Trigger: CheckinTrigger(c.ID), Summary: fmt.Sprintf("Pain check-in %d/10 (%s; severe: %d or more).",
			c.Score, strings.ToLower(strings.ReplaceAll(string(c.Location), "_", " ")), t.SeverePain)}
}

// WorseningWindow is the check-in scores of the 7 days ending on End and
// the 7 days before.
type WorseningWindow struct {
	End              Date
	Recent, Previous []int32
}

// Delta returns recent mean - previous mean; ok is false unless both
// windows have scores.
func (w WorseningWindow) Delta() (delta, recent, previous float64, ok bool) {
	if len(w.Recent) == 0 || len(w.Previous) == 0 {
		return 0, 0, 0, false
	}
	recent, _ = meanMedian(w.Recent)
	previous, _ = meanMedian(w.Previous)
	return round2(recent - previous), recent, previous, true
}

// WorseningAlert is the PAIN_WORSENING alert of a window, or nil. An
// episode is alerted once: lastEnd is the window end of the patient's
// newest PAIN_WORSENING alert (zero if none), and a window ending within
// WindowDays-1 days of it raises nothing.
func WorseningAlert(patientID string, w WorseningWindow, t Thresholds, lastEnd Date) *Alert {
	delta, recent, previous, ok := w.Delta()
	if !ok || delta < t.WorseningIncrease-1e-9 {
		return nil
	}
	if !lastEnd.IsZero() {
		if n := lastEnd.DaysUntil(w.End); n > -WindowDays && n < WindowDays {
			return nil
		}
	}
	return &Alert{PatientID: patientID, Kind: AlertPainWorsening, Severity: AlertRoutine, Status: AlertOpen,
		Trigger: WindowTrigger(w.End), Summary: fmt.Sprintf(
			"Mean pain %.1f over the 7 days to %s, up %.1f on %.1f the 7 days before (alert at +%g).",
			recent, w.End, delta, previous, t.WorseningIncrease)}
}

// NonAdherenceAlert is the NON_ADHERENCE alert for the 7-day window ending
// on the closed day end, from its adherence, or nil. Like worsening, an
// episode is alerted once (lastEnd as in WorseningAlert).
func NonAdherenceAlert(patientID string, end Date, a Adherence, t Thresholds, lastEnd Date) *Alert {
	if a.Prescribed == 0 || a.Percent >= float64(t.NonAdherencePercent) {
		return nil
	}
	if !lastEnd.IsZero() {
		if n := lastEnd.DaysUntil(end); n > -WindowDays && n < WindowDays {
			return nil
		}
	}
	return &Alert{PatientID: patientID, Kind: AlertNonAdherence, Severity: AlertRoutine, Status: AlertOpen,
		Trigger: WindowTrigger(end), Summary: fmt.Sprintf(
			"%d of %d prescribed sessions logged in the 7 days to %s (%.0f%%, alert below %d%%).",
			a.Completed, a.Prescribed, end, a.Percent, t.NonAdherencePercent)}
}

// TriageTier is a patient's most pressing need; lower sorts first.
type TriageTier int

// The tiers, in triage order.
const (
	TierUrgent TriageTier = iota + 1
	TierOpenAlerts
	TierWorsening
	TierLowAdherence
	TierInactive
	TierOnTrack
)

// OpenAlert is one open alert as triage sees it.
type OpenAlert struct {
	Kind        AlertKind
	Subject     string
	Severity    AlertSeverity
	Occurrences int32
	CreateTime  time.Time // the first occurrence
	LatestTime  time.Time
}

// TriageFacts is what triage knows of one care-team patient.
type TriageFacts struct {
	PatientID        string
	DisplayName      string
	Open             []OpenAlert // the patient's open alerts: oldest first, then by kind and subject
	Pain             WorseningWindow
	Adherence        Adherence // the last 7 closed days
	DaysSinceSession int       // -1: never
	UnreadMessages   int       // the patient's messages the care team has not read
}

// TriageEntry is one patient's place in the list.
type TriageEntry struct {
	Rank      int
	Facts     TriageFacts
	Tier      TriageTier
	Reason    string
	PainDelta float64
	HasDelta  bool
	// Counts of the open alerts: OpenAlerts includes the urgent ones;
	// OpenOccurrences adds up their occurrences. OldestOpenAlert and
	// OldestUrgent are the first occurrences of the oldest (zero if none).
	OpenUrgent      int
	OpenAlerts      int
	OpenOccurrences int
	OldestOpenAlert time.Time
	OldestUrgent    time.Time
}

// maxReasonPhrases is how many alerts a triage reason names.
const maxReasonPhrases = 3

// alertReason is the reason line of a patient with open alerts: the alerts
// in words with their counts (AlertPhrase), urgent first, then those with
// the most occurrences, then the oldest; at most maxReasonPhrases, then
// how many more; and since when the oldest has been open. Red-flag alerts
// (one per report) are counted together.
func alertReason(open []OpenAlert, since time.Time) string {
	type phrase struct {
		urgent bool
		kind   AlertKind
		sub    string
		n      int32
		first  time.Time
	}
	var ps []phrase
	red := -1
	for _, a := range open {
		if a.Kind == AlertRedFlag {
			if red < 0 {
				red = len(ps)
				ps = append(ps, phrase{urgent: true, kind: AlertRedFlag, first: a.CreateTime})
			}
			ps[red].n++
			if a.CreateTime.Before(ps[red].first) {
				ps[red].first = a.CreateTime
			}
			continue
		}
		ps = append(ps, phrase{a.Severity == AlertUrgent, a.Kind, a.Subject, a.Occurrences, a.CreateTime})
	}
	sort.Slice(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		switch {
		case a.urgent != b.urgent:
			return a.urgent
		case a.n != b.n:
			return a.n > b.n
		case !a.first.Equal(b.first):
			return a.first.Before(b.first)
		case a.kind != b.kind:
			return a.kind < b.kind
		}
		return a.sub < b.sub
	})
	var words []string
	for i, p := range ps {
		if i == maxReasonPhrases {
			break
		}
		words = append(words, AlertPhrase(p.kind, p.sub, p.n))
	}
	out := strings.Join(words, "; ")
	if more := len(ps) - maxReasonPhrases; more > 0 {
		out += fmt.Sprintf("; and %d more", more)
	}
	return out + ", open since " + since.UTC().Format("2006-01-02 15:04 MST")
}

// Triage orders patients by need: tier first; within a tier, urgent by
// the number of open urgent alerts then the oldest, open alerts by their
// number, then their occurrences, then the oldest, worsening by the
// largest rise, low adherence by the lowest percent, inactive by the
// longest gap, on-track by name; ties by patient id.
func Triage(fs []TriageFacts, t Thresholds) []TriageEntry {
	es := make([]TriageEntry, len(fs))
	for i, f := range fs {
		e := TriageEntry{Facts: f}
		for _, a := range f.Open {
			e.OpenAlerts++
			e.OpenOccurrences += int(a.Occurrences)
			if e.OldestOpenAlert.IsZero() || a.CreateTime.Before(e.OldestOpenAlert) {
				e.OldestOpenAlert = a.CreateTime
			}
			if a.Severity == AlertUrgent {
				e.OpenUrgent++
				if e.OldestUrgent.IsZero() || a.CreateTime.Before(e.OldestUrgent) {
					e.OldestUrgent = a.CreateTime
				}
			}
		}
		e.PainDelta, _, _, e.HasDelta = f.Pain.Delta()
		switch {
		case e.OpenUrgent > 0:
			e.Tier = TierUrgent
			e.Reason = alertReason(f.Open, e.OldestUrgent)
		case e.OpenAlerts > 0:
			e.Tier = TierOpenAlerts
			e.Reason = alertReason(f.Open, e.OldestOpenAlert)
		case e.HasDelta && e.PainDelta >= t.WorseningIncrease-1e-9:
			e.Tier = TierWorsening
			e.Reason = fmt.Sprintf("pain worsening: 7-day mean up %.1f points", e.PainDelta)
		case f.Adherence.Prescribed > 0 && f.Adherence.Percent < float64(t.AdherentPercent):
			e.Tier = TierLowAdherence
			e.Reason = fmt.Sprintf("low adherence: %d of %d sessions (%.0f%%) in the last 7 days",
				f.Adherence.Completed, f.Adherence.Prescribed, f.Adherence.Percent)
		case f.DaysSinceSession < 0 || f.DaysSinceSession >= int(t.InactiveDays):
			e.Tier = TierInactive
			if f.DaysSinceSession < 0 {
				e.Reason = "inactive: no session logged yet"
			} else {
				e.Reason = fmt.Sprintf("inactive: no session for %d days", f.DaysSinceSession)
			}
		default:
			e.Tier = TierOnTrack
			e.Reason = "on track"
		}
		es[i] = e
	}
	older := func(a, b time.Time) bool { return a.Before(b) }
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.Tier != b.Tier {
			return a.Tier < b.Tier
		}
		switch a.Tier {
		case TierUrgent:
			if a.OpenUrgent != b.OpenUrgent {
				return a.OpenUrgent > b.OpenUrgent
			}
			if !a.OldestUrgent.Equal(b.OldestUrgent) {
				return older(a.OldestUrgent, b.OldestUrgent)
			}
		case TierOpenAlerts:
			if a.OpenAlerts != b.OpenAlerts {
				return a.OpenAlerts > b.OpenAlerts
			}
			if a.OpenOccurrences != b.OpenOccurrences {
				return a.OpenOccurrences > b.OpenOccurrences
			}
			if !a.OldestOpenAlert.Equal(b.OldestOpenAlert) {
				return older(a.OldestOpenAlert, b.OldestOpenAlert)
			}
		case TierWorsening:
			if a.PainDelta != b.PainDelta {
				return a.PainDelta > b.PainDelta
			}
		case TierLowAdherence:
			if a.Facts.Adherence.Percent != b.Facts.Adherence.Percent {
				return a.Facts.Adherence.Percent < b.Facts.Adherence.Percent
			}
		case TierInactive:
			da, db := a.Facts.DaysSinceSession, b.Facts.DaysSinceSession
			if da < 0 {
				da = 1 << 30
			}
			if db < 0 {
				db = 1 << 30
			}
			if da != db {
				return da > db
			}
		case TierOnTrack:
			if a.Facts.DisplayName != b.Facts.DisplayName {
				return a.Facts.DisplayName < b.Facts.DisplayName
			}
		}
		return a.Facts.PatientID < b.Facts.PatientID
	})
	for i := range es {
		es[i].Rank = i + 1
	}
	return es
}
