package rpc

import (
	"testing"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestEnumTablesComplete: every domain value has a proto value and every
// proto value but UNSPECIFIED has a domain value, one to one.
func TestEnumTablesComplete(t *testing.T) {
	check := func(name string, n int, enum protoreflect.EnumDescriptor, unspecifiedMapped bool) {
		t.Helper()
		want := enum.Values().Len() - 1
		if unspecifiedMapped {
			want++
		}
		if n != want {
			t.Errorf("%s: %d entries for %d proto values", name, n, want)
		}
	}
	check("flags", len(flagToProto), hepv1.ScreeningFlag(0).Descriptor(), true)
	check("statuses", len(statusToProto), hepv1.FlagStatus(0).Descriptor(), false)
	check("sources", len(sourceToProto), hepv1.AnswerSource(0).Descriptor(), false)
	check("red flags", len(redFlagToProto), hepv1.RedFlagSymptom(0).Descriptor(), false)
	check("kinds", len(kindToProto), hepv1.ExerciseKind(0).Descriptor(), false)
	check("severities", len(severityToProto), hepv1.RuleSeverity(0).Descriptor(), false)
	check("outcomes", len(outcomeToProto), hepv1.GateOutcome(0).Descriptor(), false)
	check("item states", len(itemStateToProto), hepv1.ItemState(0).Descriptor(), false)
	check("causes", len(causeToProto), hepv1.DecisionCause(0).Descriptor(), false)
	check("alert kinds", len(alertKindToProto), hepv1.AlertKind(0).Descriptor(), false)
	check("alert severities", len(alertSeverityToProto), hepv1.AlertSeverity(0).Descriptor(), false)
	check("alert statuses", len(alertStatusToProto), hepv1.AlertStatus(0).Descriptor(), false)
	check("difficulties", len(difficultyToProto), hepv1.Difficulty(0).Descriptor(), true)
	check("pain locations", len(painLocationToProto), hepv1.PainLocation(0).Descriptor(), false)
	check("record kinds", len(recordKindToProto), hepv1.RecordKind(0).Descriptor(), false)
	check("mutation statuses", len(mutationStatusToProto), hepv1.MutationStatus(0).Descriptor(), false)
	for name, n := range map[string][2]int{
		"flags": {len(flagFromProto), len(flagToProto)}, "statuses": {len(statusFromProto), len(statusToProto)},
		"red flags": {len(redFlagFromProto), len(redFlagToProto)}, "kinds": {len(kindFromProto), len(kindToProto)},
		"severities": {len(severityFromProto), len(severityToProto)}, "alert statuses": {len(alertStatusFromProto), len(alertStatusToProto)},
		"difficulties": {len(difficultyFromProto), len(difficultyToProto)}, "pain locations": {len(painLocationFromProto), len(painLocationToProto)},
		"record kinds": {len(recordKindFromProto), len(recordKindToProto)},
	} {
		if n[0] != n[1] {
			t.Errorf("%s: the table is not one to one", name)
		}
	}
	for _, f := range hep.Flags {
		if flagToProto[f] == hepv1.ScreeningFlag_SCREENING_FLAG_UNSPECIFIED || "SCREENING_FLAG_"+string(f) != flagToProto[f].String() {
			t.Errorf("flag %s -> %v", f, flagToProto[f])
		}
	}
	for k, p := range recordKindToProto {
		if "RECORD_KIND_"+string(k) != p.String() {
			t.Errorf("record kind %s -> %v", k, p)
		}
	}
	for _, r := range hep.RedFlags {
		if "RED_FLAG_SYMPTOM_"+string(r) != redFlagToProto[r].String() {
			t.Errorf("red flag %s -> %v", r, redFlagToProto[r])
		}
	}
}

func TestWeekdays(t *testing.T) {
	want := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}
	for i, d := range want {
		w := hepv1.Weekday_WEEKDAY_MONDAY + hepv1.Weekday(i)
		if got := weekdayFromProto(w); got != d || weekdayToProto(d) != w {
			t.Errorf("%v -> %v -> %v", w, got, weekdayToProto(got))
		}
	}
	for _, bad := range []hepv1.Weekday{hepv1.Weekday_WEEKDAY_UNSPECIFIED, 8, -1} {
		if d := weekdayFromProto(bad); d >= time.Sunday && d <= time.Saturday {
			t.Errorf("%v -> %v, want an invalid day", bad, d)
		}
	}
}

// TestPlanToProtoEnded: an item shows ENDED once its end date has passed in
// the patient's time zone, at the patient's midnight, not UTC's.
func TestPlanToProtoEnded(t *testing.T) {
	// 2030-03-10 05:00 UTC is the 10th in Lisbon but still the 9th in Honolulu.
	now := time.Date(2030, 3, 10, 5, 0, 0, 0, time.UTC)
	day := func(d int) hep.Date { return hep.Date{Year: 2030, Month: 3, Day: d} }
	plan := func(tz string) hep.Plan {
		p := hep.Plan{PatientID: "p", Version: 1, TimeZone: tz}
		for _, end := range []hep.Date{day(8), day(9), day(10), {}} {
			p.Items = append(p.Items, hep.PlanItem{
				Spec:  hep.ItemSpec{ExerciseID: "x", StartDate: hep.Date{Year: 2030, Month: 1, Day: 1}, EndDate: end},
				State: hep.ItemSuspended, StateReasons: []hep.Reason{{Flag: hep.FlagPregnancy, Outcome: hep.OutcomeNeedsClearance}},
			})
		}
		return p
	}
	for _, tc := range []struct {
		tz   string
		want []hepv1.ItemState
	}{
		{"Europe/Lisbon", []hepv1.ItemState{ended, ended, suspended, suspended}},
		{"Pacific/Honolulu", []hepv1.ItemState{ended, suspended, suspended, suspended}},
	} {
		p := plan(tc.tz)
		got := planToProto(p, now)
		for i, it := range got.Items {
			if it.State != tc.want[i] {
				t.Errorf("%s, item ending %v: %v, want %v", tc.tz, p.Items[i].Spec.EndDate, it.State, tc.want[i])
			}
			if (it.State == suspended) != (len(it.StateReasons) == 1) {
				t.Errorf("%s, item ending %v: reasons %v", tc.tz, p.Items[i].Spec.EndDate, it.StateReasons)
			}
		}
	}
}
