package hep_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// alertShape is what the alert rules decide; ids and times come from the
// store.
type alertShape struct {
	Kind     hep.AlertKind
	Severity hep.AlertSeverity
	Status   hep.AlertStatus
	Subject  string
	Trigger  string
	Summary  string
}

func shapeOf(a hep.Alert) alertShape {
	return alertShape{a.Kind, a.Severity, a.Status, a.Subject, a.Trigger, a.Summary}
}

func routine(kind hep.AlertKind, subject, trigger, summary string) alertShape {
	return alertShape{kind, hep.AlertRoutine, hep.AlertOpen, subject, trigger, summary}
}

func TestLogAlerts(t *testing.T) {
	const trig = "exercise_logs/L1"
	severe := func(n string) alertShape {
		return routine(hep.AlertPainSevere, "cat-cow", trig, "Pain "+n+"/10 logged with cat-cow (severe: 7 or more).")
	}
	flare := func(b, a string) alertShape {
		return routine(hep.AlertPainFlare, "cat-cow", trig, "Pain rose from "+b+" to "+a+" with cat-cow (flare: up 2 or more).")
	}
	suspended := routine(hep.AlertLoggedWhileSuspended, "cat-cow", trig, "The patient logged cat-cow while it is suspended.")
	lws := hep.AlertLoggedWhileSuspended
	custom := hep.DefaultThresholds()
	custom.SeverePain, custom.FlareIncrease = 8, 3
	sev, fl := hep.AlertPainSevere, hep.AlertPainFlare
	for _, tt := range []struct {
		name          string
		before, after *int32
		th            hep.Thresholds
		superseded    map[hep.AlertKind]bool
		want          []alertShape
		suspended     bool
	}{
		{"NoScores", nil, nil, hep.DefaultThresholds(), nil, nil, false},
		{"BelowBoth", ptr(6), ptr(6), hep.DefaultThresholds(), nil, nil, false},
		{"SevereExactlyAfter", ptr(6), ptr(7), hep.DefaultThresholds(), nil, []alertShape{severe("7")}, false},
		{"SevereBeforeOnly", ptr(7), nil, hep.DefaultThresholds(), nil, []alertShape{severe("7")}, false},
		{"SevereAfterOnly", nil, ptr(9), hep.DefaultThresholds(), nil, []alertShape{severe("9")}, false},
		// Severe before, eased after: still severe (any score), no flare.
		{"SevereBeforeEased", ptr(8), ptr(2), hep.DefaultThresholds(), nil, []alertShape{severe("8")}, false},
		{"FlareExactly2", ptr(3), ptr(5), hep.DefaultThresholds(), nil, []alertShape{flare("3", "5")}, false},
		{"Rise1", ptr(3), ptr(4), hep.DefaultThresholds(), nil, nil, false},
		{"Both", ptr(5), ptr(7), hep.DefaultThresholds(), nil, []alertShape{severe("7"), flare("5", "7")}, false},
		// A correction of a log that raised a kind raises only the others.
		{"SupersededSevere", ptr(5), ptr(7), hep.DefaultThresholds(), map[hep.AlertKind]bool{sev: true}, []alertShape{flare("5", "7")}, false},
		{"SupersededFlare", ptr(5), ptr(7), hep.DefaultThresholds(), map[hep.AlertKind]bool{fl: true}, []alertShape{severe("7")}, false},
		{"SupersededBoth", ptr(5), ptr(7), hep.DefaultThresholds(), map[hep.AlertKind]bool{sev: true, fl: true}, nil, false},
		{"CustomBelow", ptr(5), ptr(7), custom, nil, nil, false},
		{"CustomExactly", ptr(5), ptr(8), custom, nil, []alertShape{
			routine(sev, "cat-cow", trig, "Pain 8/10 logged with cat-cow (severe: 8 or more)."),
			routine(fl, "cat-cow", trig, "Pain rose from 5 to 8 with cat-cow (flare: up 3 or more)."),
		}, false},
		// Logged while suspended: an occurrence of its own, first, whatever
		// the scores; named by the log, about the exercise.
		{"SuspendedNoScores", nil, nil, hep.DefaultThresholds(), nil, []alertShape{suspended}, true},
		{"SuspendedFlare", ptr(3), ptr(7), hep.DefaultThresholds(), nil, []alertShape{suspended, severe("7"), flare("3", "7")}, true},
		// A correction of a log that was alerted as logged while suspended is
		// the same session: it does not count again.
		{"SuspendedCorrection", ptr(3), ptr(7), hep.DefaultThresholds(), map[hep.AlertKind]bool{lws: true}, []alertShape{severe("7"), flare("3", "7")}, true},
		// The mark of the superseded log does not matter to an active one.
		{"ActiveCorrectionOfSuspended", nil, nil, hep.DefaultThresholds(), map[hep.AlertKind]bool{lws: true}, nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := hep.ExerciseLog{ID: "L1", PatientID: "P1", ExerciseID: "cat-cow", PainBefore: tt.before, PainAfter: tt.after,
				ItemSuspended: tt.suspended}
			var got []alertShape
			for _, a := range hep.LogAlerts(l, tt.th, tt.superseded) {
				if a.PatientID != "P1" {
					t.Errorf("alert for patient %q", a.PatientID)
				}
				got = append(got, shapeOf(a))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestCheckinAlert(t *testing.T) {
	c := hep.PainCheckin{ID: "C1", PatientID: "P1", Score: 7, Location: hep.PainLowBack}
	a := hep.CheckinAlert(c, hep.DefaultThresholds(), nil)
	want := routine(hep.AlertPainSevere, "checkin/LOW_BACK", "pain_checkins/C1", "Pain check-in 7/10 (low back; severe: 7 or more).")
	if a == nil || shapeOf(*a) != want || a.PatientID != "P1" {
		t.Errorf("score 7: %+v, want %+v", a, want)
	}
	c.Score = 6
	if a := hep.CheckinAlert(c, hep.DefaultThresholds(), nil); a != nil {
		t.Errorf("score 6: %+v, want none", a)
	}
	c.Score = 10
	if a := hep.CheckinAlert(c, hep.DefaultThresholds(), map[hep.AlertKind]bool{hep.AlertPainSevere: true}); a != nil {
		t.Errorf("a correction of a check-in that was alerted: %+v, want none", a)
	}
	// Another kind raised by the superseded record does not matter.
	if a := hep.CheckinAlert(c, hep.DefaultThresholds(), map[hep.AlertKind]bool{hep.AlertPainFlare: true}); a == nil {
		t.Errorf("superseded flare: no alert")
	}
	// A check-in reporting red flags raises its URGENT RED_FLAG alert
	// elsewhere, not a second one here.
	c.RedFlags = []hep.RedFlag{hep.RedFlagSaddleNumbness}
	if a := hep.CheckinAlert(c, hep.DefaultThresholds(), nil); a != nil {
		t.Errorf("score 10 with red flags: %+v, want none", a)
	}
}

func TestWorseningAlert(t *testing.T) {
	end := d(2026, 6, 14)
	up2 := hep.WorseningWindow{End: end, Recent: []int32{6, 6}, Previous: []int32{4, 4}}
	summary := "Mean pain 6.0 over the 7 days to 2026-06-14, up 2.0 on 4.0 the 7 days before (alert at +2)."
	for _, tt := range []struct {
		name    string
		w       hep.WorseningWindow
		lastEnd hep.Date
		fires   bool
	}{
		{"ExactlyTwo", up2, hep.Date{}, true},
		// 17/3 = 5.67 - 4 = 1.67.
		{"BelowTwo", hep.WorseningWindow{End: end, Recent: []int32{6, 5, 6}, Previous: []int32{4, 4}}, hep.Date{}, false},
		{"Falling", hep.WorseningWindow{End: end, Recent: []int32{2}, Previous: []int32{6}}, hep.Date{}, false},
		{"NoPrevious", hep.WorseningWindow{End: end, Recent: []int32{9, 9}}, hep.Date{}, false},
		{"NoRecent", hep.WorseningWindow{End: end, Previous: []int32{1}}, hep.Date{}, false},
		// One episode: a window ending within 6 days of the last alerted
		// one (either side) raises nothing; 7 days apart is a new episode.
		{"SameWindow", up2, end, false},
		{"SixDaysAfter", up2, end.AddDays(-6), false},
		{"SevenDaysAfter", up2, end.AddDays(-7), true},
		{"SixDaysBefore", up2, end.AddDays(6), false},
		{"SevenDaysBefore", up2, end.AddDays(7), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := hep.WorseningAlert("P1", tt.w, hep.DefaultThresholds(), tt.lastEnd)
			if (a != nil) != tt.fires {
				t.Fatalf("alert %+v, want fires=%v", a, tt.fires)
			}
			if a != nil && tt.w.End == end && len(tt.w.Recent) == 2 {
				if want := routine(hep.AlertPainWorsening, hep.PatientSubject, "window/2026-06-14", summary); shapeOf(*a) != want {
					t.Errorf("got %+v\nwant %+v", shapeOf(*a), want)
				}
			}
		})
	}
	// Delta: 13/2 = 6.5 - 13/3 = 4.33 (means rounded to 2 places) = 2.17.
	w := hep.WorseningWindow{End: end, Recent: []int32{7, 6}, Previous: []int32{5, 4, 4}}
	if delta, recent, previous, ok := w.Delta(); !ok || delta != 2.17 || recent != 6.5 || previous != 4.33 {
		t.Errorf("Delta = %v %v %v %v, want 2.17 6.5 4.33 true", delta, recent, previous, ok)
	}
	// A clinic alerting at +3: a rise of 2 raises nothing.
	th := hep.DefaultThresholds()
	th.WorseningIncrease = 3
	if a := hep.WorseningAlert("P1", up2, th, hep.Date{}); a != nil {
		t.Errorf("threshold 3: %+v, want none", a)
	}
}

func TestNonAdherenceAlert(t *testing.T) {
	end := d(2026, 6, 14)
	low := adh(7, 3, 3, 42.86, false)
	for _, tt := range []struct {
		name    string
		a       hep.Adherence
		th      int32
		lastEnd hep.Date
		fires   bool
	}{
		{"NothingPrescribed", hep.Adherence{}, 50, hep.Date{}, false},
		{"Below", low, 50, hep.Date{}, true},
		{"Exactly50", adh(6, 3, 3, 50, false), 50, hep.Date{}, false},
		{"Above", adh(7, 4, 4, 57.14, false), 50, hep.Date{}, false},
		{"AboveButClinicAt60", adh(7, 4, 4, 57.14, false), 60, hep.Date{}, true},
		{"NoneDone", adh(7, 0, 0, 0, false), 50, hep.Date{}, true},
		{"YesterdayAlerted", low, 50, end.AddDays(-1), false},
		{"SixDaysAfter", low, 50, end.AddDays(-6), false},
		{"SevenDaysAfter", low, 50, end.AddDays(-7), true},
		{"SixDaysBefore", low, 50, end.AddDays(6), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			th := hep.DefaultThresholds()
			th.NonAdherencePercent = tt.th
			a := hep.NonAdherenceAlert("P1", end, tt.a, th, tt.lastEnd)
			if (a != nil) != tt.fires {
				t.Fatalf("alert %+v, want fires=%v", a, tt.fires)
			}
			if a != nil && tt.a == low && tt.th == 50 {
				want := routine(hep.AlertNonAdherence, hep.PatientSubject, "window/2026-06-14",
					"3 of 7 prescribed sessions logged in the 7 days to 2026-06-14 (43%, alert below 50%).")
				if shapeOf(*a) != want || a.PatientID != "P1" {
					t.Errorf("got %+v\nwant %+v", shapeOf(*a), want)
				}
			}
		})
	}
}

// TestTriageOrder: 18 patients, one or more per tier and every tie-break,
// given in reverse order.
func TestTriageOrder(t *testing.T) {
	flat := hep.WorseningWindow{Recent: []int32{3}, Previous: []int32{3}}
	fine := adh(7, 7, 7, 100, true)
	on := func(id, name string, days int) hep.TriageFacts {
		return hep.TriageFacts{PatientID: id, DisplayName: name, Pain: flat, Adherence: fine, DaysSinceSession: days}
	}
	with := func(f hep.TriageFacts, change func(*hep.TriageFacts)) hep.TriageFacts {
		change(&f)
		return f
	}
	open := func(kind hep.AlertKind, subject string, n int32, first string) hep.OpenAlert {
		sev := hep.AlertRoutine
		if kind == hep.AlertRedFlag {
			sev = hep.AlertUrgent
		}
		return hep.OpenAlert{Kind: kind, Subject: subject, Severity: sev, Occurrences: n, CreateTime: ts(first), LatestTime: ts(first).Add(time.Hour)}
	}
	red := func(report, first string) hep.OpenAlert {
		return open(hep.AlertRedFlag, hep.RedFlagSubject(report), 1, first)
	}
	facts := []hep.TriageFacts{
		// An urgent alert puts a patient first; the reason names the others
		// too, and dates from the oldest urgent one.
		with(on("u1", "U1", 0), func(f *hep.TriageFacts) {
			f.Open = []hep.OpenAlert{open(hep.AlertPainSevere, hep.CheckinSubject(hep.PainLowBack), 1, "2026-06-09T08:00:00Z"),
				red("r1", "2026-06-10T08:00:00Z")}
		}),
		// Two urgent alerts (one per report) outrank an older single one,
		// and are counted together. The time is shown in UTC whatever its
		// zone.
		with(on("u2", "U2", 0), func(f *hep.TriageFacts) {
			f.Open = []hep.OpenAlert{red("r3", "2026-06-12T11:00:00+02:00"), red("r2", "2026-06-12T10:00:00+02:00")}
		}),
		with(on("u3", "U3", 0), func(f *hep.TriageFacts) { f.Open = []hep.OpenAlert{red("r4", "2026-06-09T08:00:00Z")} }),
		// Open routine alerts win over worsening pain.
		with(on("o1", "O1", 0), func(f *hep.TriageFacts) {
			f.Open = []hep.OpenAlert{open(hep.AlertPainSevere, hep.CheckinSubject(hep.PainLeg), 1, "2026-06-11T10:00:00Z")}
			f.Pain = hep.WorseningWindow{Recent: []int32{9}, Previous: []int32{2}}
		}),
		// Three alerts, named by their counts, most occurrences first.
		with(on("o2", "O2", 0), func(f *hep.TriageFacts) {
			f.Open = []hep.OpenAlert{open(hep.AlertNonAdherence, hep.PatientSubject, 1, "2026-06-07T10:00:00Z"),
				open(hep.AlertPainFlare, "cat-cow", 3, "2026-06-05T10:00:00Z"),
				open(hep.AlertPainSevere, "cat-cow", 2, "2026-06-06T10:00:00Z")}
		}),
		with(on("o3", "O3", 0), func(f *hep.TriageFacts) {
			f.Open = []hep.OpenAlert{open(hep.AlertPainFlare, "cat-cow", 1, "2026-06-01T10:00:00Z")}
		}),
		// Four alerts: the reason names three (ties: the oldest first) and
		// says how many more.
		with(on("o4", "O4", 0), func(f *hep.TriageFacts) {
			f.Open = []hep.OpenAlert{open(hep.AlertPainWorsening, hep.PatientSubject, 1, "2026-06-03T10:00:00Z"),
				open(hep.AlertScreeningChanged, hep.PatientSubject, 1, "2026-06-02T10:00:00Z"),
				open(hep.AlertLoggedWhileSuspended, "cat-cow", 19, "2026-06-04T10:00:00Z"),
				open(hep.AlertPainFlare, "childs-pose", 2, "2026-06-08T10:00:00Z")}
		}),
		// One alert of five occurrences outranks older single ones.
		with(on("o5", "O5", 0), func(f *hep.TriageFacts) {
			f.Open = []hep.OpenAlert{open(hep.AlertPainFlare, "childs-pose", 5, "2026-06-12T10:00:00Z")}
		}),
		// Worsening: exactly the threshold counts; the larger rise first.
		with(on("w1", "W1", 0), func(f *hep.TriageFacts) { f.Pain = hep.WorseningWindow{Recent: []int32{6, 6}, Previous: []int32{4, 4}} }),
		with(on("w2", "W2", 0), func(f *hep.TriageFacts) { f.Pain = hep.WorseningWindow{Recent: []int32{8}, Previous: []int32{4}} }),
		// A rise of 1.5 is not worsening; this patient is low on adherence.
		with(on("w3", "W3", 0), func(f *hep.TriageFacts) {
			f.Pain = hep.WorseningWindow{Recent: []int32{5, 6}, Previous: []int32{4}}
			f.Adherence = adh(7, 5, 5, 71.43, false)
		}),
		with(on("l1", "L1", 0), func(f *hep.TriageFacts) { f.Adherence = adh(7, 1, 1, 14.29, false) }),
		// Exactly 80% is adherent; 3 days without a session is inactive.
		with(on("l2", "L2", 3), func(f *hep.TriageFacts) { f.Adherence = adh(5, 4, 4, 80, true) }),
		// Never logged: the longest gap; nothing prescribed is not low adherence.
		with(on("i1", "I1", -1), func(f *hep.TriageFacts) { f.Adherence = hep.Adherence{}; f.Pain = hep.WorseningWindow{} }),
		on("i2", "I2", 10),
		// On track, by name, then by id.
		on("t1", "Bea", 2),
		on("t2", "Ana", 0),
		on("a-ana", "Ana", 1),
	}
	slices.Reverse(facts)
	got := hep.Triage(facts, hep.DefaultThresholds())
	want := []struct {
		id     string
		tier   hep.TriageTier
		reason string
	}{
		{"u2", hep.TierUrgent, "2 red-flag reports, open since 2026-06-12 08:00 UTC"},
		{"u3", hep.TierUrgent, "1 red-flag report, open since 2026-06-09 08:00 UTC"},
		{"u1", hep.TierUrgent, "1 red-flag report; 1 severe pain check-in (low back), open since 2026-06-10 08:00 UTC"},
		{"o4", hep.TierOpenAlerts, "19 sessions of cat-cow logged while suspended; 2 pain flares with childs-pose; 1 screening change; and 1 more, open since 2026-06-02 10:00 UTC"},
		{"o2", hep.TierOpenAlerts, "3 pain flares with cat-cow; 2 severe pain scores with cat-cow; low adherence in 1 7-day window, open since 2026-06-05 10:00 UTC"},
		{"o5", hep.TierOpenAlerts, "5 pain flares with childs-pose, open since 2026-06-12 10:00 UTC"},
		{"o3", hep.TierOpenAlerts, "1 pain flare with cat-cow, open since 2026-06-01 10:00 UTC"},
		{"o1", hep.TierOpenAlerts, "1 severe pain check-in (leg), open since 2026-06-11 10:00 UTC"},
		{"w2", hep.TierWorsening, "pain worsening: 7-day mean up 4.0 points"},
		{"w1", hep.TierWorsening, "pain worsening: 7-day mean up 2.0 points"},
		{"l1", hep.TierLowAdherence, "low adherence: 1 of 7 sessions (14%) in the last 7 days"},
		{"w3", hep.TierLowAdherence, "low adherence: 5 of 7 sessions (71%) in the last 7 days"},
		{"i1", hep.TierInactive, "inactive: no session logged yet"},
		{"i2", hep.TierInactive, "inactive: no session for 10 days"},
		{"l2", hep.TierInactive, "inactive: no session for 3 days"},
		{"a-ana", hep.TierOnTrack, "on track"},
		{"t2", hep.TierOnTrack, "on track"},
		{"t1", hep.TierOnTrack, "on track"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Rank != i+1 || g.Facts.PatientID != w.id || g.Tier != w.tier || g.Reason != w.reason {
			t.Errorf("rank %d: %d %s tier %d %q\n        want %s tier %d %q", i+1, g.Rank, g.Facts.PatientID, g.Tier, g.Reason, w.id, w.tier, w.reason)
		}
	}
	if e := got[8]; !e.HasDelta || e.PainDelta != 4 {
		t.Errorf("w2 delta %v/%v, want 4/true", e.PainDelta, e.HasDelta)
	}
	if e := got[12]; e.HasDelta {
		t.Errorf("i1 has a delta without check-ins")
	}

	// A clinic's thresholds move patients between tiers: inactive from 5
	// days puts l2 (3 days) on track; worsening from 3 points drops w1.
	th := hep.DefaultThresholds()
	th.InactiveDays, th.WorseningIncrease = 5, 3
	tiers := map[string]hep.TriageTier{}
	for _, e := range hep.Triage(facts, th) {
		tiers[e.Facts.PatientID] = e.Tier
	}
	if tiers["l2"] != hep.TierOnTrack || tiers["w1"] != hep.TierOnTrack || tiers["w2"] != hep.TierWorsening {
		t.Errorf("with inactive 5 and worsening 3: l2 %d, w1 %d, w2 %d", tiers["l2"], tiers["w1"], tiers["w2"])
	}
	if len(hep.Triage(nil, th)) != 0 {
		t.Errorf("an empty care team has entries")
	}
}
