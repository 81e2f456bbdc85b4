package main

import (
	"fmt"
	"slices"
	"strings"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// enumType reads and shows the values of one proto enum the way people type
// them: "osteoporosis", "needs-clearance", "PRESENT", "flag_status_present".
type enumType struct {
	what   string // "screening flag", for messages
	prefix string // "SCREENING_FLAG_"
	names  map[int32]string
	values map[string]int32
}

var (
	flagEnum          = enumType{"screening flag", "SCREENING_FLAG_", hepv1.ScreeningFlag_name, hepv1.ScreeningFlag_value}
	flagStatusEnum    = enumType{"status", "FLAG_STATUS_", hepv1.FlagStatus_name, hepv1.FlagStatus_value}
	symptomEnum       = enumType{"red-flag symptom", "RED_FLAG_SYMPTOM_", hepv1.RedFlagSymptom_name, hepv1.RedFlagSymptom_value}
	severityEnum      = enumType{"severity", "RULE_SEVERITY_", hepv1.RuleSeverity_name, hepv1.RuleSeverity_value}
	kindEnum          = enumType{"kind", "EXERCISE_KIND_", hepv1.ExerciseKind_name, hepv1.ExerciseKind_value}
	alertStatusEnum   = enumType{"alert status", "ALERT_STATUS_", hepv1.AlertStatus_name, hepv1.AlertStatus_value}
	alertKindEnum     = enumType{"alert kind", "ALERT_KIND_", hepv1.AlertKind_name, hepv1.AlertKind_value}
	alertSeverityEnum = enumType{"alert severity", "ALERT_SEVERITY_", hepv1.AlertSeverity_name, hepv1.AlertSeverity_value}
)

// parse reads a value case-insensitively, with dashes or underscores and
// with or without the prefix. The UNSPECIFIED value is never accepted.
func (e enumType) parse(s string) (int32, error) {
	u := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", "_"))
	if v, ok := e.values[e.prefix+strings.TrimPrefix(u, e.prefix)]; ok && v != 0 {
		return v, nil
	}
	return 0, fmt.Errorf("unknown %s %q (one of: %s)", e.what, s, e.words())
}

// words lists the accepted values in enum order.
func (e enumType) words() string {
	nums := make([]int32, 0, len(e.names))
	for n := range e.names {
		if n != 0 {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	words := make([]string, len(nums))
	for i, n := range nums {
		words[i] = enumWord(e.names[n], e.prefix)
	}
	return strings.Join(words, ", ")
}

// wrapWords breaks text into indented lines of at most width characters.
func wrapWords(text string, width int, indent string) string {
	var b strings.Builder
	line := indent
	for _, w := range strings.Fields(text) {
		if line != indent && len(line)+1+len(w) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if line != indent {
			line += " "
		}
		line += w
	}
	b.WriteString(line)
	return b.String()
}

// enumWord shows an enum value as people type it: lower case, without the
// type's prefix; "" for the UNSPECIFIED value.
func enumWord(name, prefix string) string {
	w := strings.TrimPrefix(name, prefix)
	if w == "UNSPECIFIED" {
		return ""
	}
	return strings.ToLower(w)
}

// enumPhrase shows an enum value that is never typed back as words:
// "clinician verified", "screening changed".
func enumPhrase(name, prefix string) string {
	return strings.ReplaceAll(enumWord(name, prefix), "_", " ")
}

// enumCaps shows an enum value that is a verdict (ACTIVE, CONTRAINDICATED)
// in capitals, without the type's prefix; "" for the UNSPECIFIED value.
func enumCaps(name, prefix string) string {
	return strings.ToUpper(enumWord(name, prefix))
}

func flagName(f hepv1.ScreeningFlag) string    { return enumWord(f.String(), flagEnum.prefix) }
func statusName(s hepv1.FlagStatus) string     { return enumWord(s.String(), flagStatusEnum.prefix) }
func kindName(k hepv1.ExerciseKind) string     { return enumWord(k.String(), kindEnum.prefix) }
func severityName(s hepv1.RuleSeverity) string { return enumCaps(s.String(), severityEnum.prefix) }
func outcomeName(o hepv1.GateOutcome) string   { return enumCaps(o.String(), "GATE_OUTCOME_") }
func stateName(s hepv1.ItemState) string       { return enumCaps(s.String(), "ITEM_STATE_") }
func alertStatusName(s hepv1.AlertStatus) string {
	return enumWord(s.String(), alertStatusEnum.prefix)
}

func sourceName(s hepv1.AnswerSource) string    { return enumPhrase(s.String(), "ANSWER_SOURCE_") }
func causeName(c hepv1.DecisionCause) string    { return enumPhrase(c.String(), "DECISION_CAUSE_") }
func alertKindName(k hepv1.AlertKind) string    { return enumPhrase(k.String(), "ALERT_KIND_") }
func severityWord(s hepv1.AlertSeverity) string { return enumWord(s.String(), "ALERT_SEVERITY_") }

// flagOrStanding names a clearance's or reason's flag; the unset flag is a
// device's standing clearance.
func flagOrStanding(f hepv1.ScreeningFlag) string {
	if f == hepv1.ScreeningFlag_SCREENING_FLAG_UNSPECIFIED {
		return "standing clearance"
	}
	return flagName(f)
}

// yesNo shows a bool in a table.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// fmtDose shows a dose briefly: "2x10, hold 5s", "5 min, angle 20°".
func fmtDose(d *hepv1.Dose) string {
	var parts []string
	switch sets, reps := d.GetSets(), d.GetReps(); {
	case sets > 0 && reps > 0:
		parts = append(parts, fmt.Sprintf("%dx%d", sets, reps))
	case reps > 0:
		parts = append(parts, plural(reps, "rep"))
	case sets > 0:
		parts = append(parts, plural(sets, "set"))
	}
	if s := d.GetHoldSeconds(); s > 0 {
		parts = append(parts, "hold "+fmtSeconds(s))
	}
	if s := d.GetDurationSeconds(); s > 0 {
		parts = append(parts, fmtSeconds(s))
	}
	if a := d.GetAngleDegrees(); a > 0 {
		parts = append(parts, fmt.Sprintf("angle %d°", a))
	}
	if f := d.GetForceKg(); f > 0 {
		parts = append(parts, fmt.Sprintf("force %d kg", f))
	}
	return strings.Join(parts, ", ")
}

// plural shows "1 set", "3 sets".
func plural(n int32, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// fmtSeconds shows a length of time: "45s", "10 min", "1 min 30s".
func fmtSeconds(s int32) string {
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s%60 == 0:
		return fmt.Sprintf("%d min", s/60)
	}
	return fmt.Sprintf("%d min %ds", s/60, s%60)
}

// fmtFrequency shows a frequency: "1x/day, 5 days/wk", "2x/day Mon,Wed,Fri".
func fmtFrequency(f *hepv1.Frequency) string {
	if f == nil {
		return ""
	}
	times := fmt.Sprintf("%dx/day", f.GetTimesPerDay())
	if len(f.GetWeekdays()) == 0 {
		return fmt.Sprintf("%s, %d days/wk", times, f.GetDaysPerWeek())
	}
	days := make([]string, len(f.GetWeekdays()))
	for i, d := range f.GetWeekdays() {
		w := enumWord(d.String(), "WEEKDAY_")
		if len(w) >= 3 {
			w = strings.ToUpper(w[:1]) + w[1:3]
		}
		days[i] = w
	}
	return times + " " + strings.Join(days, ",")
}

// fmtDate shows a calendar day as YYYY-MM-DD; "" when unset.
func fmtDate(d *hepv1.Date) string {
	if d == nil || (d.GetYear() == 0 && d.GetMonth() == 0 && d.GetDay() == 0) {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.GetYear(), d.GetMonth(), d.GetDay())
}

// reasonLabel names a gate reason briefly: "CONTRAINDICATED (osteoporosis)",
// "NEEDS_CLEARANCE (standing clearance)", "CLEARED (osteoporosis)",
// "RED-FLAG HOLD".
func reasonLabel(r *hepv1.GateReason) string {
	if r.GetRedFlagHold() {
		return "RED-FLAG HOLD"
	}
	verdict := outcomeName(r.GetOutcome())
	if r.GetCleared() {
		verdict = "CLEARED"
	}
	return verdict + " (" + flagOrStanding(r.GetFlag()) + ")"
}

// reasonLabels joins the labels of reasons for one table cell.
func reasonLabels(rs []*hepv1.GateReason) string {
	labels := make([]string, len(rs))
	for i, r := range rs {
		labels[i] = reasonLabel(r)
	}
	return strings.Join(labels, "; ")
}

// reasonText is a reason in full: its label, its sentence and its source.
func reasonText(r *hepv1.GateReason) string {
	s := reasonLabel(r)
	if m := r.GetMessage(); m != "" {
		s += ": " + m
	}
	if src := r.GetSource(); src != "" {
		s += " [source: " + src + "]"
	}
	return s
}
