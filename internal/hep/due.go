package hep

import (
	"fmt"
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
	// RemindTime is when to remind the patient (WithReminders); zero for
	// no reminder.
	RemindTime time.Time
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

// ReminderPreferences are when the patient wants reminders: a window of
// the day (minutes after midnight, the patient's clock) and quiet days.
type ReminderPreferences struct {
	WindowStart int32 // minutes after midnight, 0-1439
	WindowEnd   int32 // after WindowStart, 1-1440
	QuietDays   []time.Weekday
	SetBy       string // the device or clinician who set them; "" for the defaults
	SetTime     time.Time
}

// DefaultReminderPreferences: 09:00 to 20:00 every day.
func DefaultReminderPreferences() ReminderPreferences {
	return ReminderPreferences{WindowStart: 9 * 60, WindowEnd: 20 * 60}
}

// Validate checks preferences; fields are relative to field.
func (p ReminderPreferences) Validate(field string) error {
	var v Violations
	if p.WindowStart < 0 || p.WindowStart > 1439 {
		v.Add(field+".window_start_minute", "must be from 0 to 1439 (minutes after midnight)")
	}
	if p.WindowEnd <= p.WindowStart || p.WindowEnd > 1440 {
		v.Add(field+".window_end_minute", "must be after the window's start, at most 1440")
	}
	seen := map[time.Weekday]bool{}
	for i, d := range p.QuietDays {
		if d < time.Sunday || d > time.Saturday || seen[d] {
			v.Add(fmt.Sprintf("%s.quiet_days[%d]", field, i), "must be a distinct day of the week")
		}
		seen[d] = true
	}
	if len(seen) == 7 {
		v.Add(field+".quiet_days", "must leave at least one day for reminders")
	}
	return v.Err()
}

func (p ReminderPreferences) quiet(d Date) bool {
	for _, q := range p.QuietDays {
		if q == d.Weekday() {
			return true
		}
	}
	return false
}

// RemindAt is when to remind the patient on day d: the window's start on
// that day in loc (its wall-clock time, whatever the day's offset), or the
// zero time on a quiet day.
func (p ReminderPreferences) RemindAt(d Date, loc *time.Location) time.Time {
	if p.quiet(d) {
		return time.Time{}
	}
	return time.Date(d.Year, time.Month(d.Month), d.Day, int(p.WindowStart/60), int(p.WindowStart%60), 0, 0, loc)
}

// WithReminders sets each entry's RemindTime by the preferences: a day's
// entry at the window's start of its day, a week's at the first day of the
// week not before today that is not quiet; none when that time has passed
// (later than now) or every day is quiet.
func WithReminders(due []DueEntry, p ReminderPreferences, loc *time.Location, now time.Time) []DueEntry {
	today := DateOf(now, loc)
	for i := range due {
		e := &due[i]
		days := []Date{e.Day}
		if e.Kind == DueWeeklySessions {
			days = nil
			for d := e.From; !e.To.Before(d); d = d.AddDays(1) {
				if !d.Before(today) {
					days = append(days, d)
				}
			}
		}
		e.RemindTime = time.Time{}
		for _, d := range days {
			if at := p.RemindAt(d, loc); !at.IsZero() && !at.Before(now) {
				e.RemindTime = at
				break
			}
		}
	}
	return due
}
