package hep_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// randomSpec is a random plan item: weekday or days-per-week, with dates
// around base.
func randomSpec(rng *rand.Rand, ex string, base hep.Date) hep.ItemSpec {
	it := hep.ItemSpec{ExerciseID: ex, StartDate: base.AddDays(rng.IntN(30) - 15)}
	it.Frequency.TimesPerDay = int32(1 + rng.IntN(3))
	if rng.IntN(2) == 0 {
		for wd := time.Sunday; wd <= time.Saturday; wd++ {
			if rng.IntN(3) == 0 {
				it.Frequency.Weekdays = append(it.Frequency.Weekdays, wd)
			}
		}
		if len(it.Frequency.Weekdays) == 0 {
			it.Frequency.Weekdays = []time.Weekday{time.Wednesday}
		}
	} else {
		it.Frequency.DaysPerWeek = int32(1 + rng.IntN(7))
	}
	if rng.IntN(2) == 0 {
		it.EndDate = it.StartDate.AddDays(rng.IntN(40))
	}
	return it
}

// TestDueListAgreesWithAdherence: over random plans, days and time zones
// (with and without a daylight-saving change in the window), the sessions
// the due list asks for in each whole Monday-Sunday week of its window are
// exactly the sessions adherence counts as prescribed for that week: both
// count with ItemSpec.SessionsOn and WeekShare.
func TestDueListAgreesWithAdherence(t *testing.T) {
	zones := []string{"Europe/Lisbon", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"}
	// Days around the 2026 DST changes in those zones, and ordinary ones.
	bases := []hep.Date{d(2026, 3, 25), d(2026, 3, 5), d(2026, 10, 22), d(2026, 11, 1), d(2026, 4, 1), d(2026, 7, 15)}
	weeksCompared := 0
	for seed := uint64(1); seed <= 400; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		zone := zones[rng.IntN(len(zones))]
		loc := hep.LoadZone(zone)
		today := bases[rng.IntN(len(bases))].AddDays(rng.IntN(14))
		var specs []hep.ItemSpec
		var items []hep.PlanItem
		for i := range 1 + rng.IntN(4) {
			s := randomSpec(rng, fmt.Sprintf("ex-%d", i), today)
			specs = append(specs, s)
			items = append(items, hep.PlanItem{Spec: s, State: hep.ItemActive})
		}
		plan := hep.Plan{Version: 1, Items: items}
		due := hep.DueList(plan, nil, loc, today)
		monday := today.AddDays((7 - (int(today.Weekday())+6)%7) % 7) // the first Monday on or after today
		for w := monday; !today.AddDays(hep.DueDays - 1).Before(w.AddDays(6)); w = w.AddDays(7) {
			f := hep.ProgressFacts{PatientID: "p", TimeZone: zone, From: w, To: w.AddDays(6),
				Versions: []hep.PlanVersionFacts{{Version: 1, CreateTime: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), Items: specs}},
				Current:  plan}
			p := hep.ComputeProgress(f, hep.DefaultThresholds(), w.Start(loc))
			want := map[string]int32{}
			for _, it := range p.Items {
				want[it.ExerciseID] = it.Adherence.Prescribed
			}
			got := map[string]int32{}
			for _, e := range due {
				inWeek := !e.Day.Before(w) && !w.AddDays(6).Before(e.Day)
				if (e.Kind == hep.DueSessions && inWeek) || (e.Kind == hep.DueWeeklySessions && e.ID == "week/"+e.ExerciseID+"/"+w.String()) {
					got[e.ExerciseID] += e.Sessions
				}
			}
			for _, s := range specs {
				if got[s.ExerciseID] != want[s.ExerciseID] {
					t.Fatalf("seed %d (%s, today %s), week of %s, %s %+v: due list %d sessions, adherence %d",
						seed, zone, today, w, s.ExerciseID, s, got[s.ExerciseID], want[s.ExerciseID])
				}
			}
			weeksCompared++
		}
	}
	if weeksCompared < 400 {
		t.Fatalf("only %d weeks compared", weeksCompared)
	}
}

func TestDueList(t *testing.T) {
	loc := hep.LoadZone("Europe/Lisbon")
	today := d(2026, 3, 26) // a Thursday; DST starts on Sunday 29 March
	catCow := hep.ItemSpec{ExerciseID: "cat-cow", StartDate: d(2026, 3, 1),
		Frequency: hep.Frequency{TimesPerDay: 2, Weekdays: []time.Weekday{time.Monday, time.Thursday}}}
	hang := hep.ItemSpec{ExerciseID: "bar-hang", StartDate: d(2026, 3, 1), EndDate: d(2026, 4, 1), Frequency: hep.Frequency{TimesPerDay: 1, DaysPerWeek: 5}}
	inv := hep.ItemSpec{ExerciseID: "inversion-table", StartDate: d(2026, 3, 1), Frequency: hep.Frequency{TimesPerDay: 1, DaysPerWeek: 3}}
	plan := hep.Plan{Version: 2, Items: []hep.PlanItem{{Spec: catCow, State: hep.ItemActive}, {Spec: hang, State: hep.ItemActive},
		{Spec: inv, State: hep.ItemSuspended}}}
	a := hep.AssignmentStatus{Assignment: hep.Assignment{ID: "a1", InstrumentID: hep.InstrumentPSFS, Start: d(2026, 3, 12), EveryWeeks: 2},
		Answered: map[hep.Date]bool{d(2026, 3, 12): true}}
	var got []string
	for _, e := range hep.DueList(plan, []hep.AssignmentStatus{a}, loc, today) {
		got = append(got, fmt.Sprintf("%s %s %d", e.ID, e.Kind, e.Sessions))
	}
	want := []string{
		"week/bar-hang/2026-03-23 WEEKLY_SESSIONS 5", // the whole week: its Monday is before today
		"questionnaire/a1/2026-03-26 QUESTIONNAIRE 0",
		"sessions/cat-cow/2026-03-26 SESSIONS 2",
		"sessions/cat-cow/2026-03-30 SESSIONS 2",
		"week/bar-hang/2026-03-30 WEEKLY_SESSIONS 3", // ends Wednesday 1 April: ceil(3 days x 5 / 7)
		"sessions/cat-cow/2026-04-02 SESSIONS 2",
		"sessions/cat-cow/2026-04-06 SESSIONS 2",
		// 2026-04-09 is the 15th day: outside the window
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("due list\n got  %q\n want %q", got, want)
	}
	// On hold nothing of the plan is due; the questionnaires still are.
	plan.RedFlagHold = true
	if due := hep.DueList(plan, []hep.AssignmentStatus{a}, loc, today); len(due) != 1 || due[0].Kind != hep.DueQuestionnaire {
		t.Errorf("on hold: %+v, want the questionnaire slot only", due)
	}
}

// TestReminders: reminders fall at the window's start on the patient's
// clock, across the daylight-saving change (Lisbon, 29 March 2026: 09:00
// is 09:00 UTC before, 08:00 UTC after), never on a quiet day, never in
// the past; a week's reminder moves to its first day that is not quiet.
func TestReminders(t *testing.T) {
	loc := hep.LoadZone("Europe/Lisbon")
	p := hep.ReminderPreferences{WindowStart: 9 * 60, WindowEnd: 21 * 60, QuietDays: []time.Weekday{time.Sunday, time.Monday}}
	if err := p.Validate("preferences"); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 28, 10, 0, 0, 0, time.UTC) // Saturday 10:00 in Lisbon, after the window opened
	due := []hep.DueEntry{
		{ID: "s1", Kind: hep.DueSessions, Day: d(2026, 3, 28)},                                                 // today, window passed
		{ID: "s2", Kind: hep.DueSessions, Day: d(2026, 3, 29)},                                                 // Sunday: quiet
		{ID: "s3", Kind: hep.DueSessions, Day: d(2026, 3, 31)},                                                 // Tuesday, after the change
		{ID: "s4", Kind: hep.DueSessions, Day: d(2026, 3, 27)},                                                 // yesterday
		{ID: "w1", Kind: hep.DueWeeklySessions, Day: d(2026, 3, 23), From: d(2026, 3, 23), To: d(2026, 3, 29)}, // only quiet or past days left
		{ID: "w2", Kind: hep.DueWeeklySessions, Day: d(2026, 3, 30), From: d(2026, 3, 30), To: d(2026, 4, 5)},  // Monday quiet: Tuesday
	}
	got := hep.WithReminders(due, p, loc, now)
	want := map[string]time.Time{
		"s3": time.Date(2026, 3, 31, 8, 0, 0, 0, time.UTC),
		"w2": time.Date(2026, 3, 31, 8, 0, 0, 0, time.UTC),
	}
	for _, e := range got {
		if w := want[e.ID]; !e.RemindTime.Equal(w) {
			t.Errorf("%s: remind at %v, want %v", e.ID, e.RemindTime, w)
		}
	}
	before := hep.WithReminders([]hep.DueEntry{{ID: "x", Kind: hep.DueSessions, Day: d(2026, 3, 28)}}, p, loc, time.Date(2026, 3, 28, 8, 0, 0, 0, time.UTC))
	if !before[0].RemindTime.Equal(time.Date(2026, 3, 28, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("before the change: %v", before[0].RemindTime)
	}
	for name, bad := range map[string]hep.ReminderPreferences{
		"start 1440":      {WindowStart: 1440, WindowEnd: 1440},
		"end before":      {WindowStart: 600, WindowEnd: 500},
		"a day twice":     {WindowStart: 0, WindowEnd: 60, QuietDays: []time.Weekday{time.Monday, time.Monday}},
		"every day quiet": {WindowStart: 0, WindowEnd: 60, QuietDays: []time.Weekday{0, 1, 2, 3, 4, 5, 6}},
	} {
		if err := bad.Validate("p"); err == nil {
			t.Errorf("%s: valid", name)
		}
	}
}
