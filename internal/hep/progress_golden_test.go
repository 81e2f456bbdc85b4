package hep_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// Golden tests of ComputeProgress. Every expected number was worked out by
// hand from the rules in review.go's doc comment (and
// docs/clinical-rules.md, "Progress and alerts"); the arithmetic is written
// beside each number. Times are written with the local offset of the
// patient's zone on that day, worked out by hand from the zone's DST rules,
// so a wrong conversion in the code cannot hide in the fixture.
//
// Shorthand in the comments: P = prescribed, C = completed (capped), L =
// logged (live, not made while suspended), S = logged while suspended
// (live, not toward adherence), n/7 = the days-per-week numerator of the
// ceil rule.

// ts parses an RFC 3339 time with its offset.
func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// perWeek is times a day on days days of the week.
func perWeek(times, days int32) hep.Frequency {
	return hep.Frequency{TimesPerDay: times, DaysPerWeek: days}
}

// onDays is times a day on the listed weekdays.
func onDays(times int32, wds ...time.Weekday) hep.Frequency {
	return hep.Frequency{TimesPerDay: times, Weekdays: wds}
}

func spec(ex string, f hep.Frequency, start, end hep.Date) hep.ItemSpec {
	return hep.ItemSpec{ExerciseID: ex, Frequency: f, StartDate: start, EndDate: end}
}

// logs returns one log of ex at each time.
func logs(ex string, times ...string) []hep.LogFact {
	out := make([]hep.LogFact, len(times))
	for i, s := range times {
		out[i] = hep.LogFact{ExerciseID: ex, Time: ts(s)}
	}
	return out
}

// suspendedLog is a log that arrived while its item was SUSPENDED.
func suspendedLog(ex, at string) hep.LogFact {
	return hep.LogFact{ExerciseID: ex, Time: ts(at), ItemSuspended: true}
}

func scoredLog(ex, at string, before, after int32) hep.LogFact {
	return hep.LogFact{ExerciseID: ex, Time: ts(at), PainBefore: &before, PainAfter: &after}
}

func checkin(at string, score int32) hep.CheckinFact {
	return hep.CheckinFact{Time: ts(at), Score: score}
}

func concatLogs(ls ...[]hep.LogFact) []hep.LogFact {
	var out []hep.LogFact
	for _, l := range ls {
		out = append(out, l...)
	}
	return out
}

// adh is an expected Adherence: prescribed, completed, logged, percent,
// adherent.
func adh(p, c, l int32, pct float64, ok bool) hep.Adherence {
	return hep.Adherence{Prescribed: p, Completed: c, Logged: l, Percent: pct, Adherent: ok}
}

// susp adds n sessions logged while suspended to an expected Adherence.
func susp(a hep.Adherence, n int32) hep.Adherence {
	a.LoggedWhileSuspended = n
	return a
}

// week is an expected ProgressWeek without pain.
func week(start, end hep.Date, a hep.Adherence) hep.ProgressWeek {
	return hep.ProgressWeek{Start: start, End: end, Adherence: a}
}

// withPain adds the pain figures to an expected week.
func withPain(w hep.ProgressWeek, n int32, mean, median, change float64, c hep.PainChange) hep.ProgressWeek {
	w.Checkins, w.PainMean, w.PainMedian, w.ChangeFromBaseline, w.Change = n, mean, median, change, c
	return w
}

// itemWant is the expected part of an ItemProgress.
type itemWant struct {
	id            string
	total         hep.Adherence
	weekly        []hep.Adherence
	scored        int32
	meanResponse  float64
	flares        int32
	suspendedDays int32
}

// after is a "now" long after every fixture's range.
var after = ts("2027-01-01T00:00:00Z")

func checkWeeks(t *testing.T, got, want []hep.ProgressWeek) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d weeks, want %d:\n got %+v", len(got), len(want), got)
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("week %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func checkItems(t *testing.T, got []hep.ItemProgress, want []itemWant) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d items, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.ExerciseID != w.id {
			t.Errorf("item %d is %s, want %s", i, g.ExerciseID, w.id)
			continue
		}
		if g.Adherence != w.total {
			t.Errorf("%s adherence:\n got %+v\nwant %+v", w.id, g.Adherence, w.total)
		}
		if !reflect.DeepEqual(g.Weekly, w.weekly) {
			t.Errorf("%s weekly:\n got %+v\nwant %+v", w.id, g.Weekly, w.weekly)
		}
		if g.SuspendedDays != w.suspendedDays {
			t.Errorf("%s suspended days %d, want %d", w.id, g.SuspendedDays, w.suspendedDays)
		}
		if g.ScoredSessions != w.scored || g.MeanPainResponse != w.meanResponse || g.Flares != w.flares {
			t.Errorf("%s pain response: scored %d mean %v flares %d, want %d %v %d", w.id,
				g.ScoredSessions, g.MeanPainResponse, g.Flares, w.scored, w.meanResponse, w.flares)
		}
	}
}

// TestGoldenPlanChangedMidRange: version 2, written on a Wednesday,
// doubles cat-cow's sessions, changes its days per week and adds bar-hang.
// Europe/Lisbon is UTC+0 until 29 March 2026, so these times are local.
func TestGoldenPlanChangedMidRange(t *testing.T) {
	noEnd := hep.Date{}
	mwf := onDays(1, time.Monday, time.Wednesday, time.Friday)
	f := hep.ProgressFacts{
		PatientID: "p-plan", TimeZone: "Europe/Lisbon", From: d(2026, 3, 2), To: d(2026, 3, 15), // Mon 2 - Sun 15 March
		Versions: []hep.PlanVersionFacts{
			{Version: 1, CreateTime: ts("2026-02-20T10:00:00Z"), Items: []hep.ItemSpec{
				spec("cat-cow", perWeek(1, 5), d(2026, 2, 20), noEnd),
				spec("childs-pose", mwf, d(2026, 2, 20), noEnd),
			}},
			{Version: 2, CreateTime: ts("2026-03-04T15:00:00Z"), Items: []hep.ItemSpec{ // Wed 4 March, 15:00
				spec("cat-cow", perWeek(2, 4), d(2026, 2, 20), noEnd),
				spec("childs-pose", mwf, d(2026, 2, 20), noEnd),
				spec("bar-hang", onDays(1, time.Monday, time.Wednesday), d(2026, 3, 4), noEnd),
			}},
		},
		Logs: concatLogs(
			// cat-cow, week 1: 9 logs (Mon x2, Tue x2, Wed before v2, Thu x2, Sat x2).
			logs("cat-cow", "2026-03-02T09:00:00Z", "2026-03-02T18:00:00Z", "2026-03-03T09:00:00Z", "2026-03-03T18:00:00Z",
				"2026-03-04T09:00:00Z", "2026-03-05T09:00:00Z", "2026-03-05T18:00:00Z", "2026-03-07T09:00:00Z", "2026-03-07T18:00:00Z"),
			// cat-cow, week 2: 5 logs.
			logs("cat-cow", "2026-03-09T09:00:00Z", "2026-03-10T09:00:00Z", "2026-03-12T09:00:00Z", "2026-03-13T09:00:00Z", "2026-03-15T09:00:00Z"),
			logs("childs-pose", "2026-03-02T10:00:00Z", "2026-03-06T10:00:00Z"),                         // week 1: 2
			logs("childs-pose", "2026-03-09T10:00:00Z", "2026-03-11T10:00:00Z", "2026-03-13T10:00:00Z"), // week 2: 3
			logs("bar-hang", "2026-03-09T11:00:00Z", "2026-03-11T11:00:00Z"),                            // week 2: 2
		),
	}
	p := hep.ComputeProgress(f, hep.DefaultThresholds(), after)

	// Version in force: v1 on Mon 2 and Tue 3; v2 from Wed 4 (created that
	// day, so in force all of it).
	//
	// Week 1 (Mon 2 - Sun 8):
	//   cat-cow: Mon, Tue 1x5 = 5 each -> 10; Wed-Sun 5 days x (2x4 = 8)
	//     -> 40; n = 50, ceil(50/7 = 7.14) = 8. (Were Wed still v1:
	//     15 + 32 = 47 -> ceil 6.71 = 7.) Logged 9 -> C = min(9, 8) = 8.
	//   childs-pose: Mon, Wed, Fri -> P 3; L 2, C 2.
	//   bar-hang: starts Wed 4, Mon/Wed -> Wed 4 only -> P 1; L 0.
	//   P = 8+3+1 = 12, C = 8+2+0 = 10, L = 9+2+0 = 11; 10/12 = 83.33%.
	// Week 2 (Mon 9 - Sun 15), all v2:
	//   cat-cow: 7 x 8 = 56, 56/7 = 8; L 5, C 5.
	//   childs-pose: Mon, Wed, Fri -> 3; L 3, C 3.
	//   bar-hang: Mon 9, Wed 11 -> 2; L 2, C 2.
	//   P = 13, C = 10, L = 10; 10/13 = 76.923% -> 76.92, below 80.
	checkWeeks(t, p.Weeks, []hep.ProgressWeek{
		week(d(2026, 3, 2), d(2026, 3, 8), adh(12, 10, 11, 83.33, true)),
		week(d(2026, 3, 9), d(2026, 3, 15), adh(13, 10, 10, 76.92, false)),
	})
	checkItems(t, p.Items, []itemWant{
		// cat-cow: P 8+8 = 16, C 8+5 = 13, L 9+5 = 14; 13/16 = 81.25%.
		// Week 1 8/8 = 100%; week 2 5/8 = 62.5%.
		{id: "cat-cow", total: adh(16, 13, 14, 81.25, true),
			weekly: []hep.Adherence{adh(8, 8, 9, 100, true), adh(8, 5, 5, 62.5, false)}},
		// childs-pose: P 6, C 5; 5/6 = 83.33%. Week 1 2/3 = 66.67%.
		{id: "childs-pose", total: adh(6, 5, 5, 83.33, true),
			weekly: []hep.Adherence{adh(3, 2, 2, 66.67, false), adh(3, 3, 3, 100, true)}},
		// bar-hang: P 3, C 2; 2/3 = 66.67%. Week 1 0/1 = 0%.
		{id: "bar-hang", total: adh(3, 2, 2, 66.67, false),
			weekly: []hep.Adherence{adh(1, 0, 0, 0, false), adh(2, 2, 2, 100, true)}},
	})
	// Range: P 12+13 = 25, C 10+10 = 20, L 11+10 = 21; 20/25 = 80% exactly:
	// adherent (the line is >= 80).
	if want := adh(25, 20, 21, 80, true); p.Adherence != want {
		t.Errorf("range adherence %+v, want %+v", p.Adherence, want)
	}
	if !reflect.DeepEqual(p.PlanVersions, []int64{1, 2}) {
		t.Errorf("plan versions %v, want [1 2]", p.PlanVersions)
	}
	// No check-ins: no baseline, no change.
	if p.BaselineWeek != -1 || p.PainChange != hep.PainChangeUnknown {
		t.Errorf("baseline %d change %q, want -1 and none", p.BaselineWeek, p.PainChange)
	}
}

// TestGoldenSuspendedWeek: cat-cow is suspended for exactly one calendar
// week; childs-pose is suspended from the middle of a Wednesday to a
// Thursday morning, which makes both whole days not prescribed. Asia/Kolkata
// is UTC+05:30 all year.
func TestGoldenSuspendedWeek(t *testing.T) {
	noEnd := hep.Date{}
	catCow := spec("cat-cow", perWeek(1, 5), d(2026, 3, 1), noEnd)
	childs := spec("childs-pose", onDays(2, time.Monday, time.Wednesday, time.Friday), d(2026, 3, 1), noEnd)
	ended := spec("bar-hang", perWeek(1, 2), d(2026, 3, 1), d(2026, 3, 8))
	pregnancy := []hep.Reason{{Flag: hep.FlagPregnancy, Status: hep.StatusPresent, Outcome: hep.OutcomeNeedsClearance, Message: "needs clearance"}}
	f := hep.ProgressFacts{
		PatientID: "p-susp", TimeZone: "Asia/Kolkata", From: d(2026, 3, 9), To: d(2026, 3, 29), // Mon 9 - Sun 29 March
		Versions: []hep.PlanVersionFacts{{Version: 1, CreateTime: ts("2026-03-01T09:00:00+05:30"),
			Items: []hep.ItemSpec{catCow, childs, ended}}},
		Suspensions: []hep.SuspensionInterval{
			// Mon 16 00:00 to Mon 23 00:00: exactly the 7 days 16-22; the
			// interval ends at the first instant of the 23rd, which is not
			// suspended.
			{PlanVersion: 1, ExerciseID: "cat-cow", From: ts("2026-03-16T00:00:00+05:30"), To: ts("2026-03-23T00:00:00+05:30")},
			// Wed 25 14:00 to Thu 26 09:00: Wed 25 and Thu 26 are suspended
			// days (suspended at some moment of each).
			{PlanVersion: 1, ExerciseID: "childs-pose", From: ts("2026-03-25T14:00:00+05:30"), To: ts("2026-03-26T09:00:00+05:30")},
			// Another version's interval does not apply to version 1.
			{PlanVersion: 7, ExerciseID: "childs-pose", From: ts("2026-03-09T00:00:00+05:30")},
		},
		Logs: concatLogs(
			logs("cat-cow", "2026-03-09T08:00:00+05:30", "2026-03-10T08:00:00+05:30", "2026-03-11T08:00:00+05:30",
				"2026-03-12T08:00:00+05:30", "2026-03-13T08:00:00+05:30"), // week 1: 5
			[]hep.LogFact{suspendedLog("cat-cow", "2026-03-17T08:00:00+05:30"), suspendedLog("cat-cow", "2026-03-19T08:00:00+05:30")}, // week 2: not counted
			logs("cat-cow", "2026-03-23T08:00:00+05:30", "2026-03-24T08:00:00+05:30", "2026-03-25T08:00:00+05:30",
				"2026-03-26T08:00:00+05:30"), // week 3: 4
			logs("childs-pose", "2026-03-09T08:30:00+05:30", "2026-03-09T19:00:00+05:30", "2026-03-11T08:30:00+05:30",
				"2026-03-11T19:00:00+05:30", "2026-03-13T08:30:00+05:30", "2026-03-13T19:00:00+05:30"), // week 1: 6
			logs("childs-pose", "2026-03-16T08:30:00+05:30", "2026-03-16T19:00:00+05:30", "2026-03-18T08:30:00+05:30",
				"2026-03-18T19:00:00+05:30", "2026-03-20T08:30:00+05:30"), // week 2: 5
			// Week 3: Mon x2, Wed 09:00 (before the suspension began: counts),
			// Wed 15:00 while suspended (does not count).
			logs("childs-pose", "2026-03-23T08:30:00+05:30", "2026-03-23T19:00:00+05:30", "2026-03-25T09:00:00+05:30"),
			[]hep.LogFact{suspendedLog("childs-pose", "2026-03-25T15:00:00+05:30")},
		),
		Current: hep.Plan{Version: 1, Items: []hep.PlanItem{
			{Spec: catCow, State: hep.ItemSuspended, StateReasons: pregnancy, StateTime: ts("2026-03-30T10:00:00+05:30")},
			{Spec: childs, State: hep.ItemActive},
			// Suspended as stored but ended: not "suspended now".
			{Spec: ended, State: hep.ItemSuspended, StateReasons: pregnancy, StateTime: ts("2026-03-05T10:00:00+05:30")},
		}},
	}
	p := hep.ComputeProgress(f, hep.DefaultThresholds(), after)

	// bar-hang ended on Sun 8, before the range: never prescribed, never
	// logged, so it is not an item of the range.
	//
	// Week 1 (9-15): cat-cow 7x5 = 35, 35/7 = 5; L 5 -> C 5.
	//   childs-pose Mon 9, Wed 11, Fri 13 x 2 = 6; L 6 -> C 6.
	//   P 11, C 11, L 11: 100%.
	// Week 2 (16-22): cat-cow suspended all 7 days -> n = 0, P 0; its 2
	//   logs were made while suspended -> L 0, C 0, S 2.
	//   childs-pose 6; L 5 -> C 5. P 6, C 5, L 5: 5/6 = 83.33%.
	// Week 3 (23-29): cat-cow 35/7 = 5; L 4 -> C 4.
	//   childs-pose: Mon 23 x2 + Wed 25 suspended (0) + Fri 27 x2 = 4;
	//   L 3 (Mon x2, Wed 09:00) -> C 3; S 1 (Wed 15:00).
	//   P 9, C 7, L 7, S 1: 7/9 = 77.78%.
	checkWeeks(t, p.Weeks, []hep.ProgressWeek{
		week(d(2026, 3, 9), d(2026, 3, 15), adh(11, 11, 11, 100, true)),
		week(d(2026, 3, 16), d(2026, 3, 22), susp(adh(6, 5, 5, 83.33, true), 2)),
		week(d(2026, 3, 23), d(2026, 3, 29), susp(adh(9, 7, 7, 77.78, false), 1)),
	})
	checkItems(t, p.Items, []itemWant{
		// cat-cow: P 5+0+5 = 10, C 5+0+4 = 9: 90%. Suspended days 16-22 = 7.
		{id: "cat-cow", total: susp(adh(10, 9, 9, 90, true), 2), suspendedDays: 7,
			weekly: []hep.Adherence{adh(5, 5, 5, 100, true), susp(adh(0, 0, 0, 0, false), 2), adh(5, 4, 4, 80, true)}},
		// childs-pose: P 6+6+4 = 16, C 6+5+3 = 14: 87.5%. Suspended days:
		// Wed 25 and Thu 26 (Thursday is not one of its weekdays but is a
		// calendar day of the item it was suspended on) = 2.
		{id: "childs-pose", total: susp(adh(16, 14, 14, 87.5, true), 1), suspendedDays: 2,
			weekly: []hep.Adherence{adh(6, 6, 6, 100, true), adh(6, 5, 5, 83.33, true), susp(adh(4, 3, 3, 75, false), 1)}},
	})
	// Range: P 26, C 23, L 23, S 2 + 1 = 3: 23/26 = 88.4615% -> 88.46.
	if want := susp(adh(26, 23, 23, 88.46, true), 3); p.Adherence != want {
		t.Errorf("range adherence %+v, want %+v", p.Adherence, want)
	}
	// Now: cat-cow is suspended (pregnancy) since 30 March; bar-hang is
	// stored SUSPENDED but ENDED, so it is not listed.
	want := []hep.SuspendedItem{{ExerciseID: "cat-cow", Reasons: pregnancy, Since: ts("2026-03-30T10:00:00+05:30")}}
	if !reflect.DeepEqual(p.SuspendedItems, want) {
		t.Errorf("suspended items %+v, want %+v", p.SuspendedItems, want)
	}
}

// TestGoldenAucklandDSTEnd: New Zealand daylight time ends at 03:00 on Sun
// 5 April 2026 (NZDT UTC+13 -> NZST UTC+12), so that Sunday is 25 hours
// long: from Sat 4 11:00 UTC to Sun 5 12:00 UTC. Logs and check-ins at
// 00:30 and 23:30 of that Sunday are 24 hours apart yet on the same local
// day, on different UTC days (Sat and Sun); 00:30 on Monday 6 is still
// Sunday in UTC.
func TestGoldenAucklandDSTEnd(t *testing.T) {
	noEnd := hep.Date{}
	every := onDays(1, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday)
	f := hep.ProgressFacts{
		PatientID: "p-akl", TimeZone: "Pacific/Auckland", From: d(2026, 3, 30), To: d(2026, 4, 12), // Mon 30 March - Sun 12 April
		Versions: []hep.PlanVersionFacts{{Version: 1, CreateTime: ts("2026-03-20T09:00:00+13:00"), Items: []hep.ItemSpec{
			spec("cat-cow", perWeek(1, 3), d(2026, 3, 20), noEnd),
			spec("childs-pose", every, d(2026, 3, 20), noEnd),
		}}},
		// Sun 5 23:30 NZST (11:30 UTC) to Mon 6 00:15 NZST (12:15 UTC
		// Sunday): both local days are suspended. A day taken as 24 hours
		// from Sunday's midnight (Sat 11:00 UTC) would end at Sun 11:00 UTC
		// and miss Sunday.
		Suspensions: []hep.SuspensionInterval{{PlanVersion: 1, ExerciseID: "childs-pose",
			From: ts("2026-04-05T23:30:00+12:00"), To: ts("2026-04-06T00:15:00+12:00")}},
		Logs: concatLogs(
			logs("cat-cow",
				"2026-04-01T08:00:00+13:00", // Wed 1 (week 1)
				"2026-04-05T00:30:00+13:00", // Sun 5 00:30 NZDT = Sat 4 11:30 UTC (week 1)
				"2026-04-05T23:30:00+12:00", // Sun 5 23:30 NZST = Sun 5 11:30 UTC (week 1)
				"2026-04-06T00:30:00+12:00", // Mon 6 00:30 NZST = Sun 5 12:30 UTC (week 2)
				"2026-04-09T08:00:00+12:00", // Thu 9 (week 2)
			),
			logs("childs-pose", "2026-03-30T09:00:00+13:00", "2026-03-31T09:00:00+13:00", "2026-04-01T09:00:00+13:00",
				"2026-04-02T09:00:00+13:00", "2026-04-03T09:00:00+13:00", "2026-04-04T09:00:00+13:00"), // Mon-Sat: 6
			[]hep.LogFact{suspendedLog("childs-pose", "2026-04-05T23:40:00+12:00")},
			logs("childs-pose", "2026-04-07T09:00:00+12:00", "2026-04-08T09:00:00+12:00", "2026-04-09T09:00:00+12:00",
				"2026-04-10T09:00:00+12:00", "2026-04-11T09:00:00+12:00", "2026-04-12T09:00:00+12:00"), // Tue-Sun: 6
		),
		Checkins: []hep.CheckinFact{
			checkin("2026-04-01T12:00:00+13:00", 5), // Wed 1
			checkin("2026-04-05T00:30:00+13:00", 6), // Sun 5 (Sat in UTC)
			checkin("2026-04-05T23:30:00+12:00", 4), // Sun 5
			checkin("2026-04-06T00:30:00+12:00", 3), // Mon 6 (Sun in UTC)
			checkin("2026-04-10T12:00:00+12:00", 4), // Fri 10
		},
		LastActivity: ts("2026-04-12T09:00:00+12:00"),
		ActivityDays: []hep.Date{d(2026, 4, 12), d(2026, 4, 11), d(2026, 4, 10), d(2026, 4, 9), d(2026, 4, 8), d(2026, 4, 7),
			d(2026, 4, 6), d(2026, 4, 5), d(2026, 4, 4), d(2026, 4, 3), d(2026, 4, 2), d(2026, 4, 1), d(2026, 3, 31), d(2026, 3, 30)},
	}
	p := hep.ComputeProgress(f, hep.DefaultThresholds(), after)

	// Week 1 (Mon 30 - Sun 5):
	//   cat-cow 7x3 = 21, 21/7 = 3; logs Wed, Sun 00:30, Sun 23:30 -> L 3, C 3.
	//     (By UTC days Mon 6 00:30 would also fall in week 1: L 4, week 2 L 1.)
	//   childs-pose 7 days - Sun 5 suspended = 6; L 6 (the Sun 23:40 log was
	//     made while suspended: S 1) -> C 6.
	//   P 9, C 9, L 9, S 1: 100%.
	//   Pain: Wed 5, Sun 6, Sun 4 -> mean 15/3 = 5, median of 4,5,6 = 5.
	// Week 2 (Mon 6 - Sun 12):
	//   cat-cow 3; Mon 00:30, Thu -> L 2, C 2.
	//   childs-pose 7 - Mon 6 suspended = 6; L 6, C 6.
	//   P 9, C 8, L 8: 8/9 = 88.89%.
	//   Pain: Mon 3, Fri 4 -> mean 3.5, median (3+4)/2 = 3.5; change
	//   3.5 - 5 = -1.5: below 2 points, but 1.5/5 = 30% -> IMPROVED.
	checkWeeks(t, p.Weeks, []hep.ProgressWeek{
		withPain(week(d(2026, 3, 30), d(2026, 4, 5), susp(adh(9, 9, 9, 100, true), 1)), 3, 5, 5, 0, hep.PainChangeNone),
		withPain(week(d(2026, 4, 6), d(2026, 4, 12), adh(9, 8, 8, 88.89, true)), 2, 3.5, 3.5, -1.5, hep.PainChangeImproved),
	})
	checkItems(t, p.Items, []itemWant{
		// cat-cow: P 6, C 5: 83.33%.
		{id: "cat-cow", total: adh(6, 5, 5, 83.33, true),
			weekly: []hep.Adherence{adh(3, 3, 3, 100, true), adh(3, 2, 2, 66.67, false)}},
		// childs-pose: P 12, C 12; suspended Sun 5 and Mon 6 = 2 days.
		{id: "childs-pose", total: susp(adh(12, 12, 12, 100, true), 1), suspendedDays: 2,
			weekly: []hep.Adherence{susp(adh(6, 6, 6, 100, true), 1), adh(6, 6, 6, 100, true)}},
	})
	// Range: P 18, C 17: 17/18 = 94.444% -> 94.44.
	if want := susp(adh(18, 17, 17, 94.44, true), 1); p.Adherence != want {
		t.Errorf("range adherence %+v, want %+v", p.Adherence, want)
	}
	if p.BaselineWeek != 0 || p.PainChange != hep.PainChangeImproved {
		t.Errorf("baseline week %d, change %q; want 0, IMPROVED", p.BaselineWeek, p.PainChange)
	}
	// Last session Sun 12 09:00, the range's last day: 0 days. Streak: 12
	// April back to 30 March, every day = 14.
	if p.DaysSinceActivity != 0 || p.StreakDays != 14 {
		t.Errorf("days since %d, streak %d; want 0, 14", p.DaysSinceActivity, p.StreakDays)
	}
}

// TestGoldenLosAngelesDSTStart: Pacific daylight time starts at 02:00 on
// Sun 8 March 2026 (PST UTC-8 -> PDT UTC-7): that Sunday is 23 hours long,
// from 08:00 UTC to Mon 9 07:00 UTC. 23:30 on Sunday is already Monday in
// UTC.
func TestGoldenLosAngelesDSTStart(t *testing.T) {
	noEnd := hep.Date{}
	every := onDays(1, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday)
	f := hep.ProgressFacts{
		PatientID: "p-lax", TimeZone: "America/Los_Angeles", From: d(2026, 3, 2), To: d(2026, 3, 15), // Mon 2 - Sun 15 March
		Versions: []hep.PlanVersionFacts{{Version: 1, CreateTime: ts("2026-02-20T09:00:00-08:00"), Items: []hep.ItemSpec{
			spec("cat-cow", perWeek(1, 2), d(2026, 2, 20), noEnd),
			spec("childs-pose", every, d(2026, 2, 20), noEnd),
		}}},
		// Mon 9 00:30 PDT (07:30 UTC) to 20:00 PDT: Monday only. A Sunday
		// taken as 24 hours from 08:00 UTC would run to Mon 08:00 UTC and
		// wrongly include this start.
		Suspensions: []hep.SuspensionInterval{{PlanVersion: 1, ExerciseID: "childs-pose",
			From: ts("2026-03-09T00:30:00-07:00"), To: ts("2026-03-09T20:00:00-07:00")}},
		Logs: concatLogs(
			logs("cat-cow",
				"2026-03-07T23:30:00-08:00", // Sat 7 23:30 PST = Sun 8 07:30 UTC (week 1)
				"2026-03-08T23:30:00-07:00", // Sun 8 23:30 PDT = Mon 9 06:30 UTC (week 1)
				"2026-03-09T00:30:00-07:00", // Mon 9 00:30 PDT = Mon 9 07:30 UTC (week 2)
			),
			logs("childs-pose", "2026-03-02T09:00:00-08:00", "2026-03-03T09:00:00-08:00", "2026-03-04T09:00:00-08:00",
				"2026-03-05T09:00:00-08:00", "2026-03-06T09:00:00-08:00", "2026-03-07T09:00:00-08:00", "2026-03-08T09:00:00-07:00"),
			logs("childs-pose", "2026-03-10T09:00:00-07:00", "2026-03-11T09:00:00-07:00", "2026-03-12T09:00:00-07:00",
				"2026-03-13T09:00:00-07:00", "2026-03-14T09:00:00-07:00", "2026-03-15T09:00:00-07:00"),
		),
		Checkins: []hep.CheckinFact{
			checkin("2026-03-04T18:00:00-08:00", 4), // Wed 4
			checkin("2026-03-08T23:30:00-07:00", 7), // Sun 8 (Mon in UTC)
			checkin("2026-03-09T00:30:00-07:00", 5), // Mon 9
		},
	}
	p := hep.ComputeProgress(f, hep.DefaultThresholds(), after)

	// Week 1 (2-8): cat-cow 7x2 = 14, 14/7 = 2; Sat 23:30, Sun 23:30 -> L 2,
	//   C 2 (by UTC days Sun 23:30 would be in week 2).
	//   childs-pose 7, L 7. P 9, C 9, L 9: 100%.
	//   Pain 4, 7: mean 5.5, median 5.5.
	// Week 2 (9-15): cat-cow 2, Mon 00:30 -> L 1, C 1.
	//   childs-pose 7 - Mon 9 = 6, L 6. P 8, C 7, L 7: 7/8 = 87.5%.
	//   Pain 5: mean 5, median 5; change -0.5: 0.5/5.5 = 9.1% -> NONE.
	checkWeeks(t, p.Weeks, []hep.ProgressWeek{
		withPain(week(d(2026, 3, 2), d(2026, 3, 8), adh(9, 9, 9, 100, true)), 2, 5.5, 5.5, 0, hep.PainChangeNone),
		withPain(week(d(2026, 3, 9), d(2026, 3, 15), adh(8, 7, 7, 87.5, true)), 1, 5, 5, -0.5, hep.PainChangeNone),
	})
	checkItems(t, p.Items, []itemWant{
		// cat-cow P 4, C 3: 75%.
		{id: "cat-cow", total: adh(4, 3, 3, 75, false),
			weekly: []hep.Adherence{adh(2, 2, 2, 100, true), adh(2, 1, 1, 50, false)}},
		// childs-pose P 13, C 13; suspended Monday only = 1 day.
		{id: "childs-pose", total: adh(13, 13, 13, 100, true), suspendedDays: 1,
			weekly: []hep.Adherence{adh(7, 7, 7, 100, true), adh(6, 6, 6, 100, true)}},
	})
	// Range P 17, C 16: 16/17 = 94.1176% -> 94.12.
	if want := adh(17, 16, 16, 94.12, true); p.Adherence != want {
		t.Errorf("range adherence %+v, want %+v", p.Adherence, want)
	}
	if p.PainChange != hep.PainChangeNone {
		t.Errorf("pain change %q, want NONE", p.PainChange)
	}
}

// TestGoldenPartialWeeks: the range runs from a Thursday to a Tuesday, so
// its first week has 4 days and its last 2; weekday and days-per-week items
// are prescribed for the days inside the range only. America/New_York is
// UTC-5 in January.
func TestGoldenPartialWeeks(t *testing.T) {
	noEnd := hep.Date{}
	f := hep.ProgressFacts{
		PatientID: "p-part", TimeZone: "America/New_York", From: d(2026, 1, 8), To: d(2026, 1, 20), // Thu 8 - Tue 20 January
		Versions: []hep.PlanVersionFacts{{Version: 1, CreateTime: ts("2026-01-05T10:00:00-05:00"), Items: []hep.ItemSpec{
			spec("cat-cow", perWeek(1, 5), d(2026, 1, 5), noEnd),
			spec("childs-pose", onDays(2, time.Monday, time.Thursday), d(2026, 1, 5), noEnd),
			spec("bar-hang", perWeek(1, 3), d(2026, 1, 14), d(2026, 1, 19)), // Wed 14 - Mon 19
		}}},
		Logs: concatLogs(
			logs("cat-cow", "2026-01-07T09:00:00-05:00", "2026-01-21T09:00:00-05:00"),                              // outside the range: ignored
			logs("cat-cow", "2026-01-08T09:00:00-05:00", "2026-01-09T09:00:00-05:00", "2026-01-10T09:00:00-05:00"), // week 1: 3
			logs("cat-cow", "2026-01-12T09:00:00-05:00", "2026-01-13T09:00:00-05:00", "2026-01-14T09:00:00-05:00",
				"2026-01-16T09:00:00-05:00"), // week 2: 4
			logs("childs-pose", "2026-01-08T08:00:00-05:00"), // week 1: 1
			logs("childs-pose", "2026-01-12T08:00:00-05:00", "2026-01-12T19:00:00-05:00", "2026-01-15T08:00:00-05:00",
				"2026-01-15T19:00:00-05:00"), // week 2: 4
			logs("childs-pose", "2026-01-19T08:00:00-05:00", "2026-01-19T19:00:00-05:00"),                           // week 3: 2
			logs("bar-hang", "2026-01-14T10:00:00-05:00", "2026-01-16T10:00:00-05:00", "2026-01-18T10:00:00-05:00"), // week 2: 3
			// Week 3: Mon 19 and Tue 20, the day after the item ended: both
			// are logged, capped at the week's 1.
			logs("bar-hang", "2026-01-19T10:00:00-05:00", "2026-01-20T10:00:00-05:00"),
		),
	}
	p := hep.ComputeProgress(f, hep.DefaultThresholds(), after)

	// Weeks: Thu 8 - Sun 11 (4 days), Mon 12 - Sun 18, Mon 19 - Tue 20 (2).
	// cat-cow (1x, 5 days/wk): 4x5 = 20 -> ceil(2.86) = 3; 35/7 = 5;
	//   2x5 = 10 -> ceil(1.43) = 2. C: 3, 4, 0.
	// childs-pose (2x Mon, Thu): Thu 8 -> 2; Mon 12, Thu 15 -> 4; Mon 19
	//   -> 2. C: 1, 4, 2.
	// bar-hang (1x, 3 days/wk, 14-19): 0; Wed 14 - Sun 18 = 5x3 = 15 ->
	//   ceil(2.14) = 3; Mon 19 = 3 -> ceil(0.43) = 1. C: 0, 3, min(2, 1) = 1.
	// Week 1: P 3+2+0 = 5, C 3+1+0 = 4, L 4: 80% exactly -> adherent.
	// Week 2: P 5+4+3 = 12, C 4+4+3 = 11, L 11: 91.67%.
	// Week 3: P 2+2+1 = 5, C 0+2+1 = 3, L 0+2+2 = 4: 60%.
	checkWeeks(t, p.Weeks, []hep.ProgressWeek{
		week(d(2026, 1, 8), d(2026, 1, 11), adh(5, 4, 4, 80, true)),
		week(d(2026, 1, 12), d(2026, 1, 18), adh(12, 11, 11, 91.67, true)),
		week(d(2026, 1, 19), d(2026, 1, 20), adh(5, 3, 4, 60, false)),
	})
	checkItems(t, p.Items, []itemWant{
		// cat-cow P 10, C 7: 70%. Week 2: 4/5 = 80%.
		{id: "cat-cow", total: adh(10, 7, 7, 70, false),
			weekly: []hep.Adherence{adh(3, 3, 3, 100, true), adh(5, 4, 4, 80, true), adh(2, 0, 0, 0, false)}},
		// childs-pose P 8, C 7: 87.5%. Week 1: 1/2 = 50%.
		{id: "childs-pose", total: adh(8, 7, 7, 87.5, true),
			weekly: []hep.Adherence{adh(2, 1, 1, 50, false), adh(4, 4, 4, 100, true), adh(2, 2, 2, 100, true)}},
		// bar-hang P 4, C 4, L 5: 100%.
		{id: "bar-hang", total: adh(4, 4, 5, 100, true),
			weekly: []hep.Adherence{adh(0, 0, 0, 0, false), adh(3, 3, 3, 100, true), adh(1, 1, 2, 100, true)}},
	})
	// Range: P 22, C 18, L 19: 18/22 = 81.818% -> 81.82.
	if want := adh(22, 18, 19, 81.82, true); p.Adherence != want {
		t.Errorf("range adherence %+v, want %+v", p.Adherence, want)
	}
}

// TestGoldenCeilRule: the prescribed count of one item over one week (or
// part of one), for weekday and days-per-week schedules. UTC.
func TestGoldenCeilRule(t *testing.T) {
	mon, noEnd := d(2026, 6, 1), hep.Date{} // Monday 1 June 2026
	for _, tt := range []struct {
		name     string
		f        hep.Frequency
		from, to hep.Date
		want     int32
	}{
		// 1x, 5 days/wk over a whole week: 7x5 = 35, 35/7 = 5.
		{"5 days a week", perWeek(1, 5), mon, mon.AddDays(6), 5},
		// 3x a day, 7 days/wk: 7x21 = 147, 147/7 = 21.
		{"3 times a day every day", perWeek(3, 7), mon, mon.AddDays(6), 21},
		// 1x, 1 day/wk, only Sunday in range: 1x1 = 1, ceil(1/7) = 1.
		{"one day of a weekly item", perWeek(1, 1), mon.AddDays(6), mon.AddDays(6), 1},
		// 1x, 2 days/wk over 3 days: 3x2 = 6, ceil(6/7) = 1.
		{"two a week over three days", perWeek(1, 2), mon, mon.AddDays(2), 1},
		// 1x, 4 days/wk over 4 days: 4x4 = 16, ceil(2.29) = 3.
		{"four a week over four days", perWeek(1, 4), mon, mon.AddDays(3), 3},
		// 2x, 3 days/wk over a whole week: 7x6 = 42, 42/7 = 6.
		{"twice a day three days a week", perWeek(2, 3), mon, mon.AddDays(6), 6},
		// 2x on Mon, Wed, Fri: 3 days x 2 = 6.
		{"weekdays twice a day", onDays(2, time.Monday, time.Wednesday, time.Friday), mon, mon.AddDays(6), 6},
		// Saturday only, range Mon-Fri: 0.
		{"weekday outside the range", onDays(1, time.Saturday), mon, mon.AddDays(4), 0},
		// 1x Tue, Thu over Tue-Thu: 2.
		{"weekdays in a partial week", onDays(1, time.Tuesday, time.Thursday), mon.AddDays(1), mon.AddDays(3), 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := hep.ProgressFacts{TimeZone: "UTC", From: tt.from, To: tt.to, Versions: []hep.PlanVersionFacts{
				{Version: 1, CreateTime: ts("2026-05-01T00:00:00Z"), Items: []hep.ItemSpec{spec("cat-cow", tt.f, d(2026, 5, 1), noEnd)}}}}
			p := hep.ComputeProgress(f, hep.DefaultThresholds(), after)
			if len(p.Weeks) != 1 || len(p.Items) != 1 {
				t.Fatalf("weeks %d, items %d; want 1, 1", len(p.Weeks), len(p.Items))
			}
			if got := p.Items[0].Adherence.Prescribed; got != tt.want {
				t.Errorf("prescribed %d, want %d", got, tt.want)
			}
		})
	}
}

// TestGoldenPainTrend: weekly mean and median of check-ins, the baseline
// (first week with check-ins) and the change against the MCID of 2 points
// or 30%. Europe/Berlin is UTC+2 in May.
func TestGoldenPainTrend(t *testing.T) {
	// Weeks: 4-10, 11-17, 18-24, 25-31 May 2026 (4 May is a Monday).
	base := []hep.CheckinFact{
		// Week 1: none. Week 2 (baseline): 6, 4, 5, 5.
		checkin("2026-05-11T08:00:00+02:00", 6), checkin("2026-05-12T08:00:00+02:00", 4),
		checkin("2026-05-14T08:00:00+02:00", 5), checkin("2026-05-17T20:00:00+02:00", 5),
		// Week 3: 3, 4, 4, 3.
		checkin("2026-05-18T08:00:00+02:00", 3), checkin("2026-05-19T08:00:00+02:00", 4),
		checkin("2026-05-21T08:00:00+02:00", 4), checkin("2026-05-24T08:00:00+02:00", 3),
	}
	// Week 2: mean 20/4 = 5; sorted 4,5,5,6 -> median (5+5)/2 = 5.
	// Week 3: mean 14/4 = 3.5; sorted 3,3,4,4 -> median (3+4)/2 = 3.5;
	//   change 3.5 - 5 = -1.5: less than 2 points but 1.5/5 = 30% ->
	//   IMPROVED.
	w1 := week(d(2026, 5, 4), d(2026, 5, 10), hep.Adherence{})
	w2 := withPain(week(d(2026, 5, 11), d(2026, 5, 17), hep.Adherence{}), 4, 5, 5, 0, hep.PainChangeNone)
	w3 := withPain(week(d(2026, 5, 18), d(2026, 5, 24), hep.Adherence{}), 4, 3.5, 3.5, -1.5, hep.PainChangeImproved)
	w4 := week(d(2026, 5, 25), d(2026, 5, 31), hep.Adherence{})
	for _, tt := range []struct {
		name   string
		week4  []hep.CheckinFact
		want4  hep.ProgressWeek
		change hep.PainChange
	}{
		// 4, 5, 3: mean 12/3 = 4, median 4; change -1: 1/5 = 20% -> NONE.
		{"back within the MCID", []hep.CheckinFact{checkin("2026-05-25T08:00:00+02:00", 4),
			checkin("2026-05-27T08:00:00+02:00", 5), checkin("2026-05-30T08:00:00+02:00", 3)},
			withPain(w4, 3, 4, 4, -1, hep.PainChangeNone), hep.PainChangeNone},
		// 7, 8, 7: mean 22/3 = 7.333 -> 7.33, median 7; change +2.33 ->
		// WORSENED.
		{"worsened", []hep.CheckinFact{checkin("2026-05-25T08:00:00+02:00", 7),
			checkin("2026-05-27T08:00:00+02:00", 8), checkin("2026-05-30T08:00:00+02:00", 7)},
			withPain(w4, 3, 7.33, 7, 2.33, hep.PainChangeWorsened), hep.PainChangeWorsened},
		// 2, 9, 3: mean 14/3 = 4.667 -> 4.67, median 3; change 4.67 - 5 =
		// -0.33: 6.6% -> NONE. The median falls further than the mean.
		{"skewed week", []hep.CheckinFact{checkin("2026-05-25T08:00:00+02:00", 2),
			checkin("2026-05-27T08:00:00+02:00", 9), checkin("2026-05-30T08:00:00+02:00", 3)},
			withPain(w4, 3, 4.67, 3, -0.33, hep.PainChangeNone), hep.PainChangeNone},
		// 3, 3: mean 3, median 3; change -2 -> IMPROVED (2 points, and 40%).
		{"improved by 2 points", []hep.CheckinFact{checkin("2026-05-26T08:00:00+02:00", 3), checkin("2026-05-31T23:59:00+02:00", 3)},
			withPain(w4, 2, 3, 3, -2, hep.PainChangeImproved), hep.PainChangeImproved},
		// No check-ins in week 4: the last week with check-ins (week 3) is
		// the range's change -> IMPROVED.
		{"last week silent", nil, w4, hep.PainChangeImproved},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := hep.ProgressFacts{TimeZone: "Europe/Berlin", From: d(2026, 5, 4), To: d(2026, 5, 31),
				Checkins: append(append([]hep.CheckinFact(nil), base...), tt.week4...)}
			p := hep.ComputeProgress(f, hep.DefaultThresholds(), after)
			checkWeeks(t, p.Weeks, []hep.ProgressWeek{w1, w2, w3, tt.want4})
			if p.BaselineWeek != 1 || p.PainChange != tt.change {
				t.Errorf("baseline week %d, change %q; want 1, %q", p.BaselineWeek, p.PainChange, tt.change)
			}
			// No plan at all: nothing prescribed, no items, no versions.
			if p.Adherence != (hep.Adherence{}) || len(p.Items) != 0 || len(p.PlanVersions) != 0 {
				t.Errorf("adherence %+v, items %v, versions %v; want none", p.Adherence, p.Items, p.PlanVersions)
			}
		})
	}

	t.Run("one week of check-ins has no change", func(t *testing.T) {
		f := hep.ProgressFacts{TimeZone: "Europe/Berlin", From: d(2026, 5, 4), To: d(2026, 5, 31), Checkins: base[:4]}
		p := hep.ComputeProgress(f, hep.DefaultThresholds(), after)
		if p.BaselineWeek != 1 || p.PainChange != hep.PainChangeUnknown {
			t.Errorf("baseline week %d, change %q; want 1 and no change", p.BaselineWeek, p.PainChange)
		}
	})
}

// TestClassifyPainChange: the MCID is 2 NRS points or 30% of the baseline,
// whichever is reached first (Ostelo 2008) for a fall; a rise needs the
// points.
func TestClassifyPainChange(t *testing.T) {
	th := hep.DefaultThresholds()
	for _, tt := range []struct {
		baseline, mean float64
		want           hep.PainChange
	}{
		{5, 3.5, hep.PainChangeImproved}, // -1.5 = 30%
		{5, 3.6, hep.PainChangeNone},     // -1.4 = 28%
		{8, 6, hep.PainChangeImproved},   // -2 points (25%)
		{8, 6.5, hep.PainChangeNone},     // -1.5 = 18.75%
		{2, 1.4, hep.PainChangeImproved}, // -0.6 = 30%
		{3, 3, hep.PainChangeNone},       // no change
		{0, 1.9, hep.PainChangeNone},     // +1.9, no percent from 0
		{0, 2, hep.PainChangeWorsened},   // +2 points
		{4, 5.2, hep.PainChangeNone},     // +1.2 = 30%, but a rise needs 2 points
		{1, 1.3, hep.PainChangeNone},     // +0.3 = 30%: not worsening
		{4, 6, hep.PainChangeWorsened},   // +2 points
		{6, 7.5, hep.PainChangeNone},     // +1.5 = 25%
	} {
		if got := hep.ClassifyPainChange(tt.baseline, tt.mean, th); got != tt.want {
			t.Errorf("ClassifyPainChange(%v, %v) = %q, want %q", tt.baseline, tt.mean, got, tt.want)
		}
	}
	// A clinic raising the MCID to 3 points or 50%: 5 -> 3.5 is no longer
	// important (1.5 points, 30%); 5 -> 2.5 is (50%).
	th.MCIDPoints, th.MCIDPercent = 3, 50
	if got := hep.ClassifyPainChange(5, 3.5, th); got != hep.PainChangeNone {
		t.Errorf("with 3 points / 50%%: 5 -> 3.5 = %q, want NONE", got)
	}
	if got := hep.ClassifyPainChange(5, 2.5, th); got != hep.PainChangeImproved {
		t.Errorf("with 3 points / 50%%: 5 -> 2.5 = %q, want IMPROVED", got)
	}
}

// TestGoldenPainResponse: mean (after - before) per exercise over sessions
// with both scores, and flares (a rise of 2 or more). UTC.
func TestGoldenPainResponse(t *testing.T) {
	noEnd := hep.Date{}
	mk := func() hep.ProgressFacts {
		return hep.ProgressFacts{TimeZone: "UTC", From: d(2026, 6, 1), To: d(2026, 6, 7), // Mon 1 - Sun 7 June
			Versions: []hep.PlanVersionFacts{{Version: 1, CreateTime: ts("2026-05-01T00:00:00Z"), Items: []hep.ItemSpec{
				spec("cat-cow", perWeek(1, 7), d(2026, 5, 1), noEnd),
				spec("childs-pose", perWeek(1, 7), d(2026, 5, 1), noEnd),
			}}},
			Logs: []hep.LogFact{
				scoredLog("cat-cow", "2026-06-01T09:00:00Z", 3, 5),                            // +2: a flare (exactly the threshold)
				scoredLog("cat-cow", "2026-06-02T09:00:00Z", 4, 3),                            // -1
				scoredLog("cat-cow", "2026-06-03T09:00:00Z", 5, 5),                            // 0
				scoredLog("cat-cow", "2026-06-04T09:00:00Z", 2, 6),                            // +4: a flare
				scoredLog("cat-cow", "2026-06-05T09:00:00Z", 3, 4),                            // +1: not a flare
				{ExerciseID: "cat-cow", Time: ts("2026-06-06T09:00:00Z"), PainBefore: ptr(4)}, // not scored
				{ExerciseID: "cat-cow", Time: ts("2026-06-07T09:00:00Z"), PainAfter: ptr(6)},  // not scored
				// Made while suspended: not a completed session, but its pain
				// response counts: +3, a flare.
				{ExerciseID: "cat-cow", Time: ts("2026-06-07T10:00:00Z"), PainBefore: ptr(2), PainAfter: ptr(5), ItemSuspended: true},
				scoredLog("cat-cow", "2026-05-31T09:00:00Z", 2, 9),     // before the range: ignored
				scoredLog("childs-pose", "2026-06-01T10:00:00Z", 6, 4), // -2
				scoredLog("childs-pose", "2026-06-03T10:00:00Z", 5, 4), // -1
				scoredLog("childs-pose", "2026-06-05T10:00:00Z", 3, 4), // +1
				// Not in the plan: listed after the plan's items, nothing
				// prescribed; +3, a flare.
				scoredLog("bar-hang", "2026-06-02T11:00:00Z", 2, 5),
			},
		}
	}
	p := hep.ComputeProgress(mk(), hep.DefaultThresholds(), after)
	// cat-cow: scored +2, -1, 0, +4, +1, +3 = 6 sessions, sum 9, mean 1.5;
	//   flares (>= 2): +2, +4, +3 = 3. P 7x7/7 = 7; L 7 (8 in range, one
	//   while suspended: S 1), C 7: 100%.
	// childs-pose: -2, -1, +1 = 3 sessions, sum -2, mean -0.667 -> -0.67;
	//   no flare. P 7, L 3, C 3: 3/7 = 42.857% -> 42.86.
	// bar-hang: +3, 1 session, 1 flare. P 0, L 1, C 0.
	checkItems(t, p.Items, []itemWant{
		{id: "cat-cow", total: susp(adh(7, 7, 7, 100, true), 1), weekly: []hep.Adherence{susp(adh(7, 7, 7, 100, true), 1)},
			scored: 6, meanResponse: 1.5, flares: 3},
		{id: "childs-pose", total: adh(7, 3, 3, 42.86, false), weekly: []hep.Adherence{adh(7, 3, 3, 42.86, false)},
			scored: 3, meanResponse: -0.67, flares: 0},
		{id: "bar-hang", total: adh(0, 0, 1, 0, false), weekly: []hep.Adherence{adh(0, 0, 1, 0, false)},
			scored: 1, meanResponse: 3, flares: 1},
	})
	// Range: P 14, C 10: 71.43%.
	if want := susp(adh(14, 10, 11, 71.43, false), 1); p.Adherence != want {
		t.Errorf("range adherence %+v, want %+v", p.Adherence, want)
	}

	// A clinic counting flares from a rise of 3: cat-cow +4, +3 = 2;
	// bar-hang +3 = 1; the means do not change.
	th := hep.DefaultThresholds()
	th.FlareIncrease = 3
	p = hep.ComputeProgress(mk(), th, after)
	if got := []int32{p.Items[0].Flares, p.Items[1].Flares, p.Items[2].Flares}; !reflect.DeepEqual(got, []int32{2, 0, 1}) {
		t.Errorf("flares with threshold 3: %v, want [2 0 1]", got)
	}
	if p.Items[0].MeanPainResponse != 1.5 {
		t.Errorf("mean response %v, want 1.5", p.Items[0].MeanPainResponse)
	}
}

func ptr(v int32) *int32 { return &v }

// suspendedScored is a scored log that arrived while its item was
// SUSPENDED.
func suspendedScored(ex, at string, before, after int32) hep.LogFact {
	l := scoredLog(ex, at, before, after)
	l.ItemSuspended = true
	return l
}

// TestGoldenLoggedWhileSuspended is the phonesim report of issue 10 in
// miniature: osteoporosis is recorded on Wed 10 June at 12:00, which
// suspends cat-cow (needs clearance) and the inversion table
// (contraindicated); the phone keeps logging both, and child's pose, which
// is not in the plan. The three exercises have different pain responses;
// sessions logged while suspended count as logged (apart) and in the pain
// response, never toward adherence (hep.UseOfSession), and they do not
// fill the slot of a day the item was prescribed. Europe/Lisbon is UTC+01:00
// (WEST) in June.
func TestGoldenLoggedWhileSuspended(t *testing.T) {
	noEnd := hep.Date{}
	catCow := spec("cat-cow", perWeek(1, 5), d(2026, 5, 25), noEnd)
	inversion := spec("inversion-table", onDays(1, time.Monday, time.Thursday), d(2026, 5, 25), noEnd)
	f := hep.ProgressFacts{
		PatientID: "p-phonesim", TimeZone: "Europe/Lisbon", From: d(2026, 6, 1), To: d(2026, 6, 14), // Mon 1 - Sun 14 June
		Versions: []hep.PlanVersionFacts{{Version: 1, CreateTime: ts("2026-05-25T09:00:00+01:00"),
			Items: []hep.ItemSpec{catCow, inversion}}},
		Suspensions: []hep.SuspensionInterval{
			{PlanVersion: 1, ExerciseID: "cat-cow", From: ts("2026-06-10T12:00:00+01:00")},
			{PlanVersion: 1, ExerciseID: "inversion-table", From: ts("2026-06-10T12:00:00+01:00")},
		},
		Logs: []hep.LogFact{
			scoredLog("cat-cow", "2026-06-01T08:00:00+01:00", 4, 3), // -1
			scoredLog("cat-cow", "2026-06-02T08:00:00+01:00", 5, 4), // -1
			scoredLog("cat-cow", "2026-06-03T08:00:00+01:00", 3, 3), // 0
			scoredLog("cat-cow", "2026-06-04T08:00:00+01:00", 4, 2), // -2
			scoredLog("cat-cow", "2026-06-08T08:00:00+01:00", 4, 3), // -1
			// Tue 9: no session. Wed 10 from 12:00 on: suspended.
			suspendedScored("cat-cow", "2026-06-10T18:00:00+01:00", 3, 6),         // +3, a flare
			suspendedScored("cat-cow", "2026-06-11T08:00:00+01:00", 4, 6),         // +2, a flare
			suspendedScored("cat-cow", "2026-06-12T08:00:00+01:00", 5, 6),         // +1
			suspendedScored("inversion-table", "2026-06-11T19:00:00+01:00", 2, 5), // +3, a flare
			scoredLog("childs-pose", "2026-06-06T10:00:00+01:00", 6, 4),           // -2
			scoredLog("childs-pose", "2026-06-13T10:00:00+01:00", 5, 4),           // -1
		},
	}
	p := hep.ComputeProgress(f, hep.DefaultThresholds(), after)

	// cat-cow. Week 1 (1-7): 7x5 = 35, 35/7 = 5 P; L 4 (Mon-Thu) -> C 4.
	//   Week 2 (8-14): Mon 8 and Tue 9 available, Wed 10 - Sun 14
	//   suspended (Wed at some moment) = 5 suspended days; n = 2x5 = 10,
	//   ceil(10/7) = 2 P; L 1 (Mon 8) -> C 1; S 3 (Wed, Thu, Fri). The
	//   suspended sessions do not stand in for the missed Tuesday: C 1,
	//   not 2.
	//   Total P 7, C 5, L 5, S 3: 5/7 = 71.43%.
	//   Pain response over all 8 scored sessions, suspended ones included:
	//   -1 -1 0 -2 -1 +3 +2 +1 = 1, 1/8 = 0.125 -> 0.13; flares +3, +2 = 2.
	// inversion-table. Week 1: Mon 1, Thu 4 = 2 P; nothing logged.
	//   Week 2: Mon 8 = 1 P (Thu 11 suspended); S 1 (Thu 11).
	//   Total P 3, C 0, L 0, S 1: 0%. Suspended days 10-14 = 5.
	//   Pain response +3 (1 scored), 1 flare: the only session is one
	//   made while it was contraindicated, and it hurt.
	// childs-pose: not in the plan, never suspended: P 0; L 1 + 1 = 2,
	//   C 0. Pain response (-2 - 1)/2 = -1.5, no flare.
	checkItems(t, p.Items, []itemWant{
		{id: "cat-cow", total: susp(adh(7, 5, 5, 71.43, false), 3), suspendedDays: 5,
			weekly: []hep.Adherence{adh(5, 4, 4, 80, true), susp(adh(2, 1, 1, 50, false), 3)},
			scored: 8, meanResponse: 0.13, flares: 2},
		{id: "inversion-table", total: susp(adh(3, 0, 0, 0, false), 1), suspendedDays: 5,
			weekly: []hep.Adherence{adh(2, 0, 0, 0, false), susp(adh(1, 0, 0, 0, false), 1)},
			scored: 1, meanResponse: 3, flares: 1},
		{id: "childs-pose", total: adh(0, 0, 2, 0, false),
			weekly: []hep.Adherence{adh(0, 0, 1, 0, false), adh(0, 0, 1, 0, false)},
			scored: 2, meanResponse: -1.5, flares: 0},
	})
	// Weeks: 1: P 5+2 = 7, C 4, L 4+1 = 5, S 0: 4/7 = 57.14%.
	//        2: P 2+1 = 3, C 1, L 1+1 = 2, S 3+1 = 4: 1/3 = 33.33%.
	checkWeeks(t, p.Weeks, []hep.ProgressWeek{
		week(d(2026, 6, 1), d(2026, 6, 7), adh(7, 4, 5, 57.14, false)),
		week(d(2026, 6, 8), d(2026, 6, 14), susp(adh(3, 1, 2, 33.33, false), 4)),
	})
	// Range: P 10, C 5, L 7, S 4: 50%. L + S = 11, every live log of the
	// range, as the exports list them.
	if want := susp(adh(10, 5, 7, 50, false), 4); p.Adherence != want {
		t.Errorf("range adherence %+v, want %+v", p.Adherence, want)
	}
	if n := p.Adherence.Logged + p.Adherence.LoggedWhileSuspended; int(n) != len(f.Logs) {
		t.Errorf("logged %d + while suspended %d = %d, want every live log (%d)", p.Adherence.Logged,
			p.Adherence.LoggedWhileSuspended, n, len(f.Logs))
	}
}

// TestGoldenActivity: days since the last session and the current streak,
// as of the range's last day or today (the patient's today), whichever is
// earlier. Pacific/Auckland is UTC+12 in June: "now" 10 June 20:00 UTC is
// 11 June 08:00 there.
func TestGoldenActivity(t *testing.T) {
	now := ts("2026-06-10T20:00:00Z") // Thu 11 June 08:00 NZST
	from, to := d(2026, 6, 1), d(2026, 6, 14)
	for _, tt := range []struct {
		name   string
		now    time.Time
		last   string
		days   []hep.Date
		since  int
		streak int
	}{
		// Today is 11 June (before the range's end): sessions on 11, 10, 9
		// and 7 -> streak 11, 10, 9 = 3 (8 is missing); last 11 -> 0 days.
		{"active today", now, "2026-06-11T07:00:00+12:00",
			[]hep.Date{d(2026, 6, 11), d(2026, 6, 10), d(2026, 6, 9), d(2026, 6, 7)}, 0, 3},
		// Nothing yet today: a streak ending yesterday still counts (10, 9,
		// 8 = 3); last 10 June 21:00 -> 1 day.
		{"active yesterday", now, "2026-06-10T21:00:00+12:00",
			[]hep.Date{d(2026, 6, 10), d(2026, 6, 9), d(2026, 6, 8)}, 1, 3},
		// Last session 9 June: 11 - 9 = 2 days, streak broken -> 0. (In
		// UTC "today" would be 10 June: 1 day and a streak of 2.)
		{"two days ago", now, "2026-06-09T19:00:00+12:00",
			[]hep.Date{d(2026, 6, 9), d(2026, 6, 8)}, 2, 0},
		// Never: -1 and 0.
		{"never", now, "", nil, -1, 0},
		// The streak runs back past the range's start: 11 June back to 29
		// May = 3 (May 29-31) + 11 (June 1-11) = 14 days.
		{"streak before the range", now, "2026-06-11T07:00:00+12:00", func() []hep.Date {
			var ds []hep.Date
			for x := d(2026, 6, 11); !x.Before(d(2026, 5, 29)); x = x.AddDays(-1) {
				ds = append(ds, x)
			}
			return ds
		}(), 0, 14},
		// Today after the range: as of 14 June. Last 13 June -> 1 day;
		// sessions on 13 and 12 -> streak 2 (ending the day before).
		{"range in the past", after, "2026-06-13T18:00:00+12:00",
			[]hep.Date{d(2026, 6, 13), d(2026, 6, 12), d(2026, 6, 10)}, 1, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := hep.ProgressFacts{TimeZone: "Pacific/Auckland", From: from, To: to, ActivityDays: tt.days}
			if tt.last != "" {
				f.LastActivity = ts(tt.last)
			}
			p := hep.ComputeProgress(f, hep.DefaultThresholds(), tt.now)
			if p.DaysSinceActivity != tt.since || p.StreakDays != tt.streak {
				t.Errorf("days since %d, streak %d; want %d, %d", p.DaysSinceActivity, p.StreakDays, tt.since, tt.streak)
			}
			if !p.LastActivity.Equal(f.LastActivity) {
				t.Errorf("last activity %v, want %v", p.LastActivity, f.LastActivity)
			}
		})
	}
}

// TestGoldenWindowAdherence: the 7-day windows of NON_ADHERENCE and triage
// are one block, not two clipped calendar weeks. Window Thu 4 - Wed 10 June
// 2026, UTC.
func TestGoldenWindowAdherence(t *testing.T) {
	noEnd := hep.Date{}
	f := hep.ProgressFacts{TimeZone: "UTC", From: d(2026, 6, 4), To: d(2026, 6, 10),
		Versions: []hep.PlanVersionFacts{{Version: 1, CreateTime: ts("2026-05-01T00:00:00Z"), Items: []hep.ItemSpec{
			spec("bar-hang", perWeek(1, 1), d(2026, 5, 1), noEnd),
			spec("cat-cow", perWeek(1, 3), d(2026, 5, 1), noEnd),
			spec("childs-pose", onDays(1, time.Monday, time.Wednesday, time.Friday), d(2026, 5, 1), noEnd),
		}}},
		Logs: concatLogs(
			logs("bar-hang", "2026-06-06T09:00:00Z"),
			logs("cat-cow", "2026-06-04T09:00:00Z", "2026-06-05T09:00:00Z", "2026-06-06T09:00:00Z"),
			logs("childs-pose", "2026-06-05T09:00:00Z", "2026-06-08T09:00:00Z"),
		),
	}
	// As one block: bar-hang 7x1 = 7, 7/7 = 1, L 1, C 1; cat-cow 7x3 = 21,
	// 21/7 = 3, L 3, C 3; childs-pose Fri 5, Mon 8, Wed 10 = 3, L 2, C 2.
	// P 7, C 6, L 6: 6/7 = 85.714% -> 85.71, adherent.
	if got, want := hep.WindowAdherence(f, hep.DefaultThresholds()), adh(7, 6, 6, 85.71, true); got != want {
		t.Errorf("window adherence %+v, want %+v", got, want)
	}
	// The same days as a progress range are two clipped weeks, each rounded
	// up (which is why windows do not use it):
	//   Thu 4 - Sun 7: bar-hang 4x1 = 4 -> 1, C 1; cat-cow 4x3 = 12 -> 2,
	//     C min(3, 2) = 2; childs-pose Fri = 1, C 1.
	//   Mon 8 - Wed 10: bar-hang 3 -> 1, C 0; cat-cow 9 -> 2, C 0;
	//     childs-pose Mon, Wed = 2, C 1.
	//   P 4+5 = 9, C 4+1 = 5, L 6: 5/9 = 55.56%.
	p := hep.ComputeProgress(f, hep.DefaultThresholds(), after)
	if want := adh(9, 5, 6, 55.56, false); p.Adherence != want {
		t.Errorf("progress adherence %+v, want %+v", p.Adherence, want)
	}
}
