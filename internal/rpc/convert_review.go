package rpc

import (
	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// Enum tables of clinician review (TestReviewEnumTablesComplete checks
// them against the proto enums).

var painChangeToProto = map[hep.PainChange]hepv1.PainChange{
	hep.PainChangeUnknown:  hepv1.PainChange_PAIN_CHANGE_UNSPECIFIED,
	hep.PainChangeNone:     hepv1.PainChange_PAIN_CHANGE_NONE,
	hep.PainChangeImproved: hepv1.PainChange_PAIN_CHANGE_IMPROVED,
	hep.PainChangeWorsened: hepv1.PainChange_PAIN_CHANGE_WORSENED,
}

var triageTierToProto = map[hep.TriageTier]hepv1.TriageTier{
	hep.TierUrgent:       hepv1.TriageTier_TRIAGE_TIER_URGENT,
	hep.TierOpenAlerts:   hepv1.TriageTier_TRIAGE_TIER_OPEN_ALERTS,
	hep.TierWorsening:    hepv1.TriageTier_TRIAGE_TIER_WORSENING,
	hep.TierLowAdherence: hepv1.TriageTier_TRIAGE_TIER_LOW_ADHERENCE,
	hep.TierInactive:     hepv1.TriageTier_TRIAGE_TIER_INACTIVE,
	hep.TierOnTrack:      hepv1.TriageTier_TRIAGE_TIER_ON_TRACK,
}

func thresholdsToProto(t hep.Thresholds) *hepv1.AlertThresholds {
	return &hepv1.AlertThresholds{
		SeverePain: t.SeverePain, FlareIncrease: t.FlareIncrease, WorseningIncrease: t.WorseningIncrease,
		NonAdherencePercent: t.NonAdherencePercent, AdherentPercent: t.AdherentPercent,
		McidPoints: t.MCIDPoints, McidPercent: t.MCIDPercent, InactiveDays: t.InactiveDays,
	}
}

// thresholdsFromProto copies every field; the domain validates the ranges.
func thresholdsFromProto(t *hepv1.AlertThresholds) hep.Thresholds {
	return hep.Thresholds{
		SeverePain: t.GetSeverePain(), FlareIncrease: t.GetFlareIncrease(), WorseningIncrease: t.GetWorseningIncrease(),
		NonAdherencePercent: t.GetNonAdherencePercent(), AdherentPercent: t.GetAdherentPercent(),
		MCIDPoints: t.GetMcidPoints(), MCIDPercent: t.GetMcidPercent(), InactiveDays: t.GetInactiveDays(),
	}
}

func adherenceToProto(a hep.Adherence) *hepv1.Adherence {
	return &hepv1.Adherence{Prescribed: a.Prescribed, Completed: a.Completed, Percent: a.Percent, Adherent: a.Adherent, Logged: a.Logged,
		LoggedWhileSuspended: a.LoggedWhileSuspended}
}

func progressWeekToProto(w hep.ProgressWeek) *hepv1.ProgressWeek {
	return &hepv1.ProgressWeek{
		Start: dateToProto(w.Start), End: dateToProto(w.End), Adherence: adherenceToProto(w.Adherence),
		Checkins: w.Checkins, PainMean: w.PainMean, PainMedian: w.PainMedian,
		ChangeFromBaseline: w.ChangeFromBaseline, Change: painChangeToProto[w.Change],
	}
}

func itemProgressToProto(it hep.ItemProgress) *hepv1.ItemProgress {
	out := &hepv1.ItemProgress{
		ExerciseId: it.ExerciseID, ExerciseName: it.ExerciseName, Adherence: adherenceToProto(it.Adherence),
		ScoredSessions: it.ScoredSessions, MeanPainResponse: it.MeanPainResponse, Flares: it.Flares,
		SuspendedDays: it.SuspendedDays,
	}
	for _, w := range it.Weekly {
		out.Weekly = append(out.Weekly, adherenceToProto(w))
	}
	return out
}

func progressToProto(p hep.Progress) *hepv1.Progress {
	out := &hepv1.Progress{
		PatientId: p.PatientID, TimeZone: p.TimeZone, From: dateToProto(p.From), To: dateToProto(p.To),
		Adherence: adherenceToProto(p.Adherence), BaselineWeek: int32(p.BaselineWeek),
		PainChange: painChangeToProto[p.PainChange], DaysSinceActivity: int32(p.DaysSinceActivity),
		LastActivityTime: ts(p.LastActivity), StreakDays: int32(p.StreakDays), PlanVersions: p.PlanVersions,
		RedFlagHold: p.RedFlagHold, Thresholds: thresholdsToProto(p.Thresholds),
	}
	if p.BaselineWeek >= 0 && p.BaselineWeek < len(p.Weeks) {
		// The band the dashboard draws is the rule's own (hep.MCIDBounds).
		out.McidFall, out.McidRise = hep.MCIDBounds(p.Weeks[p.BaselineWeek].PainMean, p.Thresholds)
	}
	for _, w := range p.Weeks {
		out.Weeks = append(out.Weeks, progressWeekToProto(w))
	}
	for _, it := range p.Items {
		out.Items = append(out.Items, itemProgressToProto(it))
	}
	for _, s := range p.SuspendedItems {
		out.SuspendedItems = append(out.SuspendedItems, &hepv1.SuspendedItem{
			ExerciseId: s.ExerciseID, Reasons: reasonsToProto(s.Reasons), Since: ts(s.Since),
		})
	}
	for _, s := range p.Outcomes {
		out.Outcomes = append(out.Outcomes, seriesToProto(s))
	}
	return out
}

// triageEntryToProto: adherence_percent is -1 when nothing was prescribed
// in the window, so "0%" always means sessions were missed.
func triageEntryToProto(e hep.TriageEntry) *hepv1.TriageEntry {
	f := e.Facts
	adh := -1.0
	if f.Adherence.Prescribed > 0 {
		adh = f.Adherence.Percent
	}
	return &hepv1.TriageEntry{
		Rank: int32(e.Rank), PatientId: f.PatientID, DisplayName: f.DisplayName, Tier: triageTierToProto[e.Tier],
		Reason: e.Reason, OpenUrgentAlerts: int32(e.OpenUrgent), OpenAlerts: int32(e.OpenAlerts), OpenOccurrences: int32(e.OpenOccurrences),
		PainDelta: e.PainDelta, HasPainDelta: e.HasDelta, AdherencePercent: adh,
		DaysSinceActivity: int32(f.DaysSinceSession), OldestOpenAlertTime: ts(e.OldestOpenAlert),
		UnreadMessages: int32(f.UnreadMessages),
	}
}
