package hep

import (
	"sort"
	"time"
)

// The prescription rule: what an item asks for on a day. Adherence
// (computeProgress) and the phone's due list (DueList) both count with it,
// so they cannot disagree (TestDueListAgreesWithAdherence).

// OnDay reports whether d is within the item's dates.
func (it ItemSpec) OnDay(d Date) bool {
	return !d.Before(it.StartDate) && (it.EndDate.IsZero() || !it.EndDate.Before(d))
}

// SessionsOn is what the item prescribes on d, a day within its dates on
// which it is not suspended: a weekday item times_per_day sessions on each
// listed weekday (weekday); a days-per-week item its share of the week, in
// sevenths of a session (times_per_day × days_per_week per day; a week's
// sessions are WeekShare of the sum over its days).
func (it ItemSpec) SessionsOn(d Date) (weekday, sevenths int32) {
	fr := it.Frequency
	if len(fr.Weekdays) == 0 {
		return 0, fr.TimesPerDay * fr.DaysPerWeek
	}
	for _, wd := range fr.Weekdays {
		if wd == d.Weekday() {
			weekday += fr.TimesPerDay
		}
	}
	return weekday, 0
}

// WeekShare turns a week's sevenths into sessions, rounding up.
func WeekShare(sevenths int32) int32 { return (sevenths + 6) / 7 }

// DueDays is how far ahead the due list looks, today included.
const DueDays = 14

// DueKind is what a due entry asks for.
type DueKind string

// The due kinds.
const (
	// DueSessions: sessions of a weekday item on a day.
	DueSessions DueKind = "SESSIONS"
	// DueWeeklySessions: sessions of a days-per-week item to do on any
	// days of a Monday-Sunday week.
	DueWeeklySessions DueKind = "WEEKLY_SESSIONS"
	// DueQuestionnaire: a questionnaire slot to answer.
	DueQuestionnaire DueKind = "QUESTIONNAIRE"
)

// DueEntry is one thing the phone may remind the patient of. Its ID is
// stable while what it asks for stands, so an app can schedule a local
// notification per entry and replace them at each pull.
type DueEntry struct {
	ID         string
	Kind       DueKind
	ExerciseID string // sessions
	Sessions   int32  // sessions
	// Day is the day of SESSIONS and QUESTIONNAIRE entries; From and To
	// bound a WEEKLY_SESSIONS week (clipped to the item's dates).
	Day      Date
	From, To Date
	Slot     DueSlot // QUESTIONNAIRE
}

// DueList is what is due from the patient over the DueDays days from
// today (the patient's days): each ACTIVE item of the current plan's
// sessions (nothing while suspended or on red-flag hold, nothing outside
// its dates), and each unanswered questionnaire slot of the active
// assignments that is not yet overdue. A days-per-week item's weeks that
// overlap the window are listed whole, with the week's share counted over
// the item's days in that week. Entries come in day order (a week at its
// Monday, or the item's start), then by kind and id.
func DueList(plan Plan, assignments []AssignmentStatus, loc *time.Location, today Date) []DueEntry {
	var out []DueEntry
	last := today.AddDays(DueDays - 1)
	for _, it := range plan.Items {
		if plan.RedFlagHold || it.State != ItemActive {
			continue
		}
		spec := it.Spec
		weekly := len(spec.Frequency.Weekdays) == 0
		if !weekly {
			for d := today; !last.Before(d); d = d.AddDays(1) {
				if !spec.OnDay(d) {
					continue
				}
				if n, _ := spec.SessionsOn(d); n > 0 {
					out = append(out, DueEntry{ID: "sessions/" + spec.ExerciseID + "/" + d.String(), Kind: DueSessions,
						ExerciseID: spec.ExerciseID, Sessions: n, Day: d})
				}
			}
			continue
		}
		monday := today.AddDays(-((int(today.Weekday()) + 6) % 7))
		for w := monday; !last.Before(w); w = w.AddDays(7) {
			var sevenths int32
			var from, to Date
			for d := w; d.Before(w.AddDays(7)); d = d.AddDays(1) {
				if !spec.OnDay(d) {
					continue
				}
				_, s := spec.SessionsOn(d)
				sevenths += s
				if from.IsZero() {
					from = d
				}
				to = d
			}
			if n := WeekShare(sevenths); n > 0 && !to.Before(today) {
				out = append(out, DueEntry{ID: "week/" + spec.ExerciseID + "/" + w.String(), Kind: DueWeeklySessions,
					ExerciseID: spec.ExerciseID, Sessions: n, From: from, To: to, Day: from})
			}
		}
	}
	for _, st := range assignments {
		if !st.Active() {
			continue
		}
		for _, s := range DueSlots(st.Assignment, loc, today.AddDays(-OverdueDays+1), last) {
			if !st.Answered[s.Due] {
				out = append(out, DueEntry{ID: "questionnaire/" + s.SlotID(), Kind: DueQuestionnaire, Day: s.Due, Slot: s})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Day != out[j].Day {
			return out[i].Day.Before(out[j].Day)
		}
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].ID < out[j].ID
	})
	return out
}
