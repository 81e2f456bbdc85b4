package heptest

import (
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// Clinician review: the clinic's thresholds, the alerts a push raises
// (each exactly once, on the data that triggers it), the care-team alert
// list, the facts progress and triage are computed from, and the daily
// adherence evaluation.

const (
	resThresholds     = "clinic/thresholds"
	resTriage         = "care_team/triage"
	resCareTeamAlerts = "care_team/alerts"
)

func resProgress(patientID string) string { return resPatient(patientID) + "/progress" }

func testReview(t *testing.T, open OpenFunc) {
	t.Run("Thresholds", func(t *testing.T) { reviewThresholds(t, open) })
	t.Run("LogAlerts", func(t *testing.T) { reviewLogAlerts(t, open) })
	t.Run("CheckinAlerts", func(t *testing.T) { reviewCheckinAlerts(t, open) })
	t.Run("Worsening", func(t *testing.T) { reviewWorsening(t, open) })
	t.Run("CareTeamAlerts", func(t *testing.T) { reviewCareTeamAlerts(t, open) })
	t.Run("ProgressFacts", func(t *testing.T) { reviewProgressFacts(t, open) })
	t.Run("Adherence", func(t *testing.T) { reviewAdherence(t, open) })
	t.Run("TriageFacts", func(t *testing.T) { reviewTriageFacts(t, open) })
}

// day0 is the clock's first day (a Wednesday; Lisbon is on UTC in
// winter, so it is the patients' day too).
var day0 = hep.Date{Year: 2030, Month: 1, Day: 2}

// atDay is hour:00 UTC on day0+n.
func atDay(n, hour int) time.Time {
	d := day0.AddDays(n)
	return time.Date(d.Year, time.Month(d.Month), d.Day, hour, 0, 0, 0, time.UTC)
}

// logAt is a log of an exercise at a corrected time with pain scores.
func (c *clinic) logAt(exerciseID string, at time.Time, before, after *int32) hep.ExerciseLog {
	l := c.newLog(exerciseID)
	l.PerformTime, l.CorrectedPerformTime, l.PainBefore, l.PainAfter = at, at, before, after
	return l
}

// checkinAt is a check-in at a corrected time.
func (c *clinic) checkinAt(s int32, at time.Time) hep.PainCheckin {
	ci := c.newCheckin(s)
	ci.RecordTime, ci.CorrectedRecordTime = at, at
	return ci
}

// occurrenceView is an alert occurrence as the trigger tests compare it:
// what the rule raised and when, and the alert that holds it.
type occurrenceView struct {
	AlertID  string
	Kind     hep.AlertKind
	Severity hep.AlertSeverity
	Subject  string
	Trigger  string
	Summary  string
	Time     time.Time
}

// viewOf is a rule's alert as an occurrence raised at time at in alert id.
func viewOf(a hep.Alert, id string, at time.Time) occurrenceView {
	return occurrenceView{id, a.Kind, a.Severity, a.Subject, a.Trigger, a.Summary, norm(at)}
}

// triggered returns the occurrences with a trigger of the alerts as, by
// kind and trigger, after checking that the alerts are coalesced
// (checkCoalesced).
func (c *clinic) triggered(as []hep.Alert) map[string]occurrenceView {
	c.t.Helper()
	checkCoalesced(c.t, as)
	out := map[string]occurrenceView{}
	for _, a := range as {
		for _, o := range c.occurrences(a) {
			if o.Trigger != "" {
				out[string(o.Kind)+" "+o.Trigger] = occurrenceView{a.ID, o.Kind, a.Severity, a.Subject, o.Trigger, o.Summary, norm(o.Time)}
			}
		}
	}
	return out
}

// wantNewAlerts checks that the occurrences with a trigger now are those
// before plus want (raised at the clock's time), nothing more.
func (c *clinic) wantNewAlerts(what string, before map[string]occurrenceView, want ...*hep.Alert) map[string]occurrenceView {
	c.t.Helper()
	got := c.triggered(c.alerts())
	exp := map[string]occurrenceView{}
	for k, a := range before {
		exp[k] = a
	}
	for _, w := range want {
		k := string(w.Kind) + " " + w.Trigger
		exp[k] = viewOf(*w, got[k].AlertID, c.clock.Now())
		if got[k].AlertID == "" {
			c.t.Errorf("%s: the occurrence %s is in no alert", what, k)
		}
	}
	if !reflect.DeepEqual(got, exp) {
		c.t.Errorf("%s: triggered occurrences\n got  %+v\n want %+v", what, got, exp)
	}
	return got
}

func reviewThresholds(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	get := func(what string) hep.Thresholds {
		t.Helper()
		ctx, actor := c.doctor("review.get_thresholds")
		var got hep.Thresholds
		events := c.audited(func() {
			var err error
			if got, err = c.store.Thresholds(ctx); err != nil {
				t.Fatalf("Thresholds: %v", err)
			}
		})
		c.wantEvent(what, events, actor, "", resThresholds, hep.OutcomeOK)
		return got
	}
	if got := get("Thresholds (defaults)"); got != hep.DefaultThresholds() {
		t.Errorf("Thresholds before any is set = %+v, want the defaults %+v", got, hep.DefaultThresholds())
	}
	set := hep.Thresholds{SeverePain: 9, FlareIncrease: 3, WorseningIncrease: 1.5, NonAdherencePercent: 40,
		AdherentPercent: 75, MCIDPoints: 2.5, MCIDPercent: 25, InactiveDays: 5}
	ctx, actor := c.doctor("review.update_thresholds")
	events := c.audited(func() {
		got, err := c.store.SetThresholds(ctx, set)
		if err != nil || got != set {
			t.Fatalf("SetThresholds = %+v, %v; want %+v", got, err, set)
		}
	})
	c.wantEvent("SetThresholds", events, actor, "", resThresholds, hep.OutcomeOK)
	if got := get("Thresholds (set)"); got != set {
		t.Errorf("Thresholds = %+v, want %+v", got, set)
	}
	// The limits of every field, and one past them.
	edge := hep.Thresholds{SeverePain: 10, FlareIncrease: 1, WorseningIncrease: 10, NonAdherencePercent: 100,
		AdherentPercent: 1, MCIDPoints: 0.5, MCIDPercent: 100, InactiveDays: 90}
	if _, err := c.store.SetThresholds(ctx, edge); err != nil {
		t.Errorf("SetThresholds(%+v): %v", edge, err)
	}
	if got := get("Thresholds (edge)"); got != edge {
		t.Errorf("Thresholds = %+v, want %+v", got, edge)
	}
	for _, tt := range []struct {
		name  string
		edit  func(*hep.Thresholds)
		field string
	}{
		{"SeverePainZero", func(x *hep.Thresholds) { x.SeverePain = 0 }, "thresholds.severe_pain"},
		{"FlareEleven", func(x *hep.Thresholds) { x.FlareIncrease = 11 }, "thresholds.flare_increase"},
		{"WorseningTiny", func(x *hep.Thresholds) { x.WorseningIncrease = 0.4 }, "thresholds.worsening_increase"},
		{"NonAdherence101", func(x *hep.Thresholds) { x.NonAdherencePercent = 101 }, "thresholds.non_adherence_percent"},
		{"InactiveZero", func(x *hep.Thresholds) { x.InactiveDays = 0 }, "thresholds.inactive_days"},
	} {
		bad := set
		tt.edit(&bad)
		c.notAudited("SetThresholds("+tt.name+")", func() {
			_, err := c.store.SetThresholds(ctx, bad)
			wantErr(t, "SetThresholds("+tt.name+")", err, hep.CodeInvalid, "")
			if he, ok := err.(*hep.Error); !ok || len(he.Violations) != 1 || he.Violations[0].Field != tt.field {
				t.Errorf("SetThresholds(%s): %v; want one violation of %s", tt.name, err, tt.field)
			}
		})
	}
	if got := get("Thresholds (after refusals)"); got != edge {
		t.Errorf("refused thresholds changed them: %+v, want %+v", got, edge)
	}

	// Thresholds apply to data that arrives afterwards.
	if _, err := c.store.SetThresholds(ctx, set); err != nil {
		t.Fatal(err)
	}
	c.screenedPlan("cat-cow")
	ph := c.newPhone(c.device)
	c.clock.Advance(time.Hour)
	eight, nine := c.newLog("cat-cow"), c.newLog("cat-cow")
	eight.PainBefore, eight.PainAfter = score(8), score(6) // severe by default, not at 9
	nine.PainBefore, nine.PainAfter = score(6), score(9)   // severe at 9; a flare at 3
	ph.push(ph.batch(mLog(eight), mLog(nine)))
	want := hep.LogAlerts(storedLog(nine, c.device, c.clock.Now(), false), set, nil)
	if len(want) != 2 {
		t.Fatalf("hep.LogAlerts = %+v, want 2 alerts", want)
	}
	c.wantNewAlerts("logs under set thresholds", nil, &want[0], &want[1])
}

func reviewLogAlerts(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	c.screenedPlan("cat-cow", "childs-pose")
	ph := c.newPhone(c.device)
	c.clock.Advance(time.Hour)
	limits := hep.DefaultThresholds()

	severe := c.newLog("cat-cow")
	severe.PainBefore, severe.PainAfter = score(8), score(6)
	flare := c.newLog("childs-pose")
	flare.PainBefore, flare.PainAfter = score(2), score(5)
	both := c.newLog("cat-cow")
	both.PainBefore, both.PainAfter = score(5), score(9)
	calm, unscored, onlyAfter := c.newLog("cat-cow"), c.newLog("cat-cow"), c.newLog("childs-pose")
	unscored.PainBefore, unscored.PainAfter = nil, nil
	onlyAfter.PainBefore, onlyAfter.PainAfter = nil, score(7)
	muts := ph.batch(mLog(severe), mLog(flare), mLog(both), mLog(calm), mLog(unscored), mLog(onlyAfter))
	ph.push(muts)
	received := c.clock.Now()
	var want []*hep.Alert
	for _, l := range []hep.ExerciseLog{severe, flare, both, calm, unscored, onlyAfter} {
		for _, a := range hep.LogAlerts(storedLog(l, c.device, received, false), limits, nil) {
			want = append(want, &a)
		}
	}
	if len(want) != 5 {
		t.Fatalf("hep.LogAlerts raised %d alerts over the fixture, want 5", len(want))
	}
	alerted := c.wantNewAlerts("new logs", nil, want...)

	// A replayed push, any number of times: nothing more.
	for range 3 {
		c.clock.Advance(time.Minute)
		ph.push(muts)
	}
	alerted = c.wantNewAlerts("replays", alerted)

	// Acknowledged, then the same data again: nothing more, and the
	// acknowledgement stands.
	sev := alerted[string(hep.AlertPainSevere)+" "+hep.LogTrigger(severe.ID)]
	doctor, _ := c.doctor("alert.acknowledge")
	if _, _, err := c.store.AcknowledgeAlert(doctor, c.patient.ID, sev.AlertID, "called: a bad day, carries on", 0); err != nil {
		t.Fatal(err)
	}
	c.clock.Advance(time.Minute)
	ph.push(muts)
	alerted = c.wantNewAlerts("a replay after the acknowledgement", alerted)

	// Corrections of an alerted log with the same pain raise nothing, nor
	// do corrections of the correction; a correction that raises a kind
	// its original did not raises that kind alone.
	c.clock.Advance(time.Minute)
	fix := c.newLog("cat-cow")
	fix.PainBefore, fix.PainAfter, fix.Supersedes = score(8), score(6), severe.ID
	fix2 := c.newLog("cat-cow")
	fix2.PainBefore, fix2.PainAfter, fix2.Supersedes = score(8), score(7), fix.ID
	worse := c.newLog("childs-pose")
	worse.PainBefore, worse.PainAfter, worse.Supersedes = score(3), score(9), flare.ID
	fixes := ph.batch(mLog(fix), mLog(fix2), mLog(worse))
	wantResults(t, "corrections", ph.push(fixes), []hep.MutationResult{ok(fixes[0].Seq), ok(fixes[1].Seq), ok(fixes[2].Seq)})
	newSevere := hep.LogAlerts(storedLog(worse, c.device, c.clock.Now(), false), limits, map[hep.AlertKind]bool{hep.AlertPainFlare: true})
	if len(newSevere) != 1 || newSevere[0].Kind != hep.AlertPainSevere {
		t.Fatalf("hep.LogAlerts of the worse correction = %+v", newSevere)
	}
	alerted = c.wantNewAlerts("corrections", alerted, &newSevere[0])
	c.clock.Advance(time.Minute)
	ph.push(fixes)
	c.wantNewAlerts("replayed corrections", alerted)

	// Another patient reusing an alerted id is refused and raises nothing.
	other := c.env.patient(c.clinician.ID)
	od, _, _ := c.env.enroll(other.ID)
	oph := c.newPhone(od)
	reused := both
	rs := oph.push(oph.batch(mLog(reused)))
	if rs[0].Status != hep.MutationRejected {
		t.Errorf("another patient's log with a used id: %+v, want rejected", rs[0])
	}
	if got, err := c.store.ListAlerts(c.ctx(), hep.AlertFilter{PatientID: other.ID}); err != nil || len(got) != 0 {
		t.Errorf("the refused log raised alerts for the other patient: %+v, %v", got, err)
	}
}

func reviewCheckinAlerts(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	c.screenedPlan("cat-cow")
	ph := c.newPhone(c.device)
	c.clock.Advance(time.Hour)
	limits := hep.DefaultThresholds()

	severe, mild := c.newCheckin(8), c.newCheckin(3)
	red := c.newCheckin(9, hep.RedFlagSaddleNumbness)
	muts := ph.batch(mCheckin(severe), mCheckin(mild), mCheckin(red))
	ph.push(muts)
	want := hep.CheckinAlert(storedCheckin(severe, c.device, c.clock.Now()), limits, nil)
	if want == nil || hep.CheckinAlert(mild, limits, nil) != nil {
		t.Fatal("hep.CheckinAlert does not alert 8 and not 3")
	}
	alerted := c.wantNewAlerts("check-ins", nil, want)
	// The red-flag check-in acts as a red-flag report: one URGENT alert
	// (no second, routine one for its score).
	var redFlags []hep.Alert
	for _, a := range c.alerts() {
		if a.Kind == hep.AlertRedFlag {
			redFlags = append(redFlags, a)
		}
	}
	if len(redFlags) != 1 || redFlags[0].Trigger != "" || !c.plan().RedFlagHold {
		t.Errorf("red-flag check-in: RED_FLAG alerts %+v, hold %v; want one, and the hold", redFlags, c.plan().RedFlagHold)
	}
	total := len(c.alerts())
	for range 3 {
		c.clock.Advance(time.Minute)
		ph.push(muts)
	}
	alerted = c.wantNewAlerts("replays", alerted)
	if n := len(c.alerts()); n != total {
		t.Errorf("replays raised %d more alerts", n-total)
	}
	// A correction with the same score, and its correction: nothing.
	c.clock.Advance(time.Minute)
	fix := c.newCheckin(8)
	fix.Supersedes = severe.ID
	fix2 := c.newCheckin(9)
	fix2.Supersedes = fix.ID
	ph.push(ph.batch(mCheckin(fix), mCheckin(fix2)))
	c.wantNewAlerts("corrections", alerted)
}

func reviewWorsening(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	c.screenedPlan("cat-cow")
	ph := c.newPhone(c.device)
	c.clock.Advance(14 * 24 * time.Hour) // today is day0+14
	limits := hep.DefaultThresholds()

	// The previous week averages 2; no alert while a window lacks scores.
	ph.push(ph.batch(mCheckin(c.checkinAt(2, atDay(4, 10))), mCheckin(c.checkinAt(2, atDay(6, 10)))))
	alerted := c.wantNewAlerts("the first week", nil)

	// A 5 on day 13: the 7 days to day 13 average 5, up 3 on the 7 days
	// before (days 0-6): an alert for the window ending on day 13.
	five := ph.batch(mCheckin(c.checkinAt(5, atDay(13, 10))))
	ph.push(five)
	want := hep.WorseningAlert(c.patient.ID, hep.WorseningWindow{End: day0.AddDays(13), Recent: []int32{5}, Previous: []int32{2, 2}}, limits, hep.Date{})
	if want == nil || want.Trigger != hep.WindowTrigger(day0.AddDays(13)) {
		t.Fatalf("hep.WorseningAlert = %+v", want)
	}
	alerted = c.wantNewAlerts("worse", nil, want)
	ph.push(five)
	alerted = c.wantNewAlerts("replay", alerted)

	// The same episode, the next day: nothing.
	ph.push(ph.batch(mCheckin(c.checkinAt(6, atDay(14, 1)))))
	alerted = c.wantNewAlerts("the same episode", alerted)

	// A week later it is still worse: a new window, a new alert; a late
	// check-in for a day in between (sent last) belongs to an alerted
	// episode and raises nothing.
	c.clock.Advance(7 * 24 * time.Hour) // day0+21
	ph.push(ph.batch(mCheckin(c.checkinAt(6, atDay(20, 10)))))
	// Days 14-20: 6, 6 (mean 6); days 7-13: 5 (mean 5): up 1 only.
	alerted = c.wantNewAlerts("up 1 only", alerted)
	nine := c.checkinAt(9, atDay(20, 12))
	ph.push(ph.batch(mCheckin(nine)))
	// Days 14-20: 6, 6, 9 (mean 7); days 7-13: 5: up 2.
	again := hep.WorseningAlert(c.patient.ID, hep.WorseningWindow{End: day0.AddDays(20), Recent: []int32{6, 6, 9}, Previous: []int32{5}}, limits, day0.AddDays(13))
	severe := hep.CheckinAlert(storedCheckin(nine, c.device, c.clock.Now()), limits, nil)
	if again == nil || severe == nil {
		t.Fatalf("hep.WorseningAlert = %+v, hep.CheckinAlert = %+v", again, severe)
	}
	alerted = c.wantNewAlerts("a week later", alerted, again, severe)
	ph.push(ph.batch(mCheckin(c.checkinAt(9, atDay(16, 10)))))
	for k, a := range c.triggered(c.alerts()) {
		if _, ok := alerted[k]; !ok && a.Kind != hep.AlertPainSevere {
			t.Errorf("a late check-in in an alerted episode raised %+v", a)
		}
	}
}

func reviewCareTeamAlerts(t *testing.T, open OpenFunc) {
	e := newEnv(t, open)
	a, b := e.account(hep.RoleClinician), e.account(hep.RoleClinician)
	p1, p2, p3, shared := e.patient(a.ID), e.patient(a.ID), e.patient(b.ID), e.patient(a.ID)
	if _, err := e.store.AddCareTeamMember(e.ctx(), shared.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	var all []hep.Alert // newest first
	raise := func(p hep.Patient, ack bool) {
		t.Helper()
		e.clock.Advance(time.Minute)
		al, err := e.store.ReportRedFlags(e.ctx(), p.ID, []hep.RedFlag{hep.RedFlagFeverWithBackPain}, "")
		if err != nil {
			t.Fatal(err)
		}
		if ack {
			if al, _, err = e.store.AcknowledgeAlert(e.ctx(), p.ID, al.ID, "seen", 0); err != nil {
				t.Fatal(err)
			}
		}
		all = append([]hep.Alert{normAlert(al)}, all...)
	}
	for i := range 3 {
		raise(p1, i == 1)
		raise(p2, false)
		raise(p3, i == 0)
		raise(shared, i == 2)
	}
	// A routine alert among the urgent ones: a severe score from a phone.
	d, _, _ := e.enroll(p2.ID)
	c := &clinic{env: e, clinician: a, patient: p2, device: d}
	ph := c.newPhone(d)
	e.clock.Advance(time.Minute)
	ph.push(ph.batch(mCheckin(c.newCheckin(9))))
	got, err := e.store.ListAlerts(e.ctx(), hep.AlertFilter{PatientID: p2.ID, Limit: 1})
	if err != nil || len(got) != 1 || got[0].Kind != hep.AlertPainSevere {
		t.Fatalf("the severe check-in's alert: %+v, %v", got, err)
	}
	all = append([]hep.Alert{normAlert(got[0])}, all...)

	teams := map[string]map[string]bool{
		a.ID: {p1.ID: true, p2.ID: true, shared.ID: true},
		b.ID: {p3.ID: true, shared.ID: true},
	}
	for _, cl := range []hep.Account{a, b} {
		for _, f := range []hep.AlertFilter{
			{},
			{Status: hep.AlertOpen},
			{Status: hep.AlertAcknowledged},
			{Kinds: []hep.AlertKind{hep.AlertRedFlag}},
			{Kinds: []hep.AlertKind{hep.AlertPainSevere, hep.AlertPainFlare}},
			{Severity: hep.AlertRoutine},
			{Status: hep.AlertOpen, Severity: hep.AlertUrgent, Kinds: []hep.AlertKind{hep.AlertRedFlag}},
		} {
			var want []hep.Alert
			for _, al := range all {
				if teams[cl.ID][al.PatientID] && (f.Status == "" || al.Status == f.Status) &&
					(len(f.Kinds) == 0 || slices.Contains(f.Kinds, al.Kind)) && (f.Severity == "" || al.Severity == f.Severity) {
					want = append(want, al)
				}
			}
			for _, size := range []int{1, 3, 100} {
				var got []hep.Alert
				f.ClinicianID, f.Before, f.Limit = cl.ID, "", size
				for pages := 0; pages <= len(want)+1; pages++ {
					ctx, actor := e.as(actorOf(cl), "alert.list")
					var page []hep.Alert
					events := e.audited(func() {
						var err error
						if page, err = e.store.ListAlerts(ctx, f); err != nil {
							t.Fatal(err)
						}
					})
					e.wantEvent("ListAlerts(care team)", events, actor, "", resCareTeamAlerts, hep.OutcomeOK)
					for _, al := range page {
						got = append(got, normAlert(al))
					}
					if len(page) < size {
						break
					}
					f.Before = page[len(page)-1].ID
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("clinician %s, filter %+v, pages of %d:\n got  %+v\n want %+v", cl.Email, f, size, got, want)
				}
			}
		}
	}
	// An account without patients sees nothing.
	if got, err := e.store.ListAlerts(e.ctx(), hep.AlertFilter{ClinicianID: e.account(hep.RoleClinician).ID}); err != nil || len(got) != 0 {
		t.Errorf("ListAlerts of a clinician without patients = %+v, %v", got, err)
	}
	// One patient's list narrows by kind and severity too.
	got, err = e.store.ListAlerts(e.ctx(), hep.AlertFilter{PatientID: p2.ID, Severity: hep.AlertUrgent, Kinds: []hep.AlertKind{hep.AlertRedFlag, hep.AlertPainSevere}})
	if err != nil || len(got) != 3 {
		t.Errorf("ListAlerts(p2, urgent) = %d alerts, %v; want the 3 red flags", len(got), err)
	}
}

func reviewProgressFacts(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	p := c.patient.ID
	c.screen(allAbsent()...)
	v1 := c.setPlan("cat-cow", "childs-pose") // day 0
	c.clock.Advance(3 * 24 * time.Hour)
	v2 := c.setPlan("cat-cow", "bar-hang") // day 3: the plan changes mid-range
	c.clock.Advance(2 * 24 * time.Hour)
	pregnant := c.clock.Now()
	c.screen(ans(hep.FlagPregnancy, hep.StatusPresent)) // day 5: both suspended
	c.clock.Advance(24 * time.Hour)
	cleared := c.clock.Now()
	c.clear("cat-cow", hep.FlagPregnancy) // day 6: cat-cow back
	c.clock.Advance(24 * time.Hour)
	held := c.clock.Now()
	red, err := c.store.ReportRedFlags(c.ctx(), p, []hep.RedFlag{hep.RedFlagProgressiveWeakness}, "") // day 7: hold
	if err != nil {
		t.Fatal(err)
	}
	c.clock.Advance(24 * time.Hour)
	lifted := c.clock.Now()
	doctor, _ := c.doctor("alert.acknowledge")
	if _, _, err := c.store.AcknowledgeAlert(doctor, p, red.ID, "examined: no deficit", 0); err != nil { // day 8: lifted
		t.Fatal(err)
	}
	c.wantStates("day 8", map[string]hep.ItemState{"cat-cow": hep.ItemActive, "bar-hang": hep.ItemSuspended})
	c.clock.Advance(24 * time.Hour) // day 9, 03:04

	// Logs and check-ins, some outside the range, one deleted, one
	// corrected.
	ph := c.newPhone(c.device)
	before := c.logAt("cat-cow", atDay(-1, 10), score(4), score(3))
	l1 := c.logAt("cat-cow", atDay(1, 9), score(4), score(3))
	gone := c.logAt("cat-cow", atDay(2, 9), nil, nil)
	wrong := c.logAt("cat-cow", atDay(3, 9), score(5), score(5))
	right := c.logAt("cat-cow", atDay(3, 10), score(5), score(4))
	right.Supersedes = wrong.ID
	l2 := c.logAt("bar-hang", atDay(6, 9), nil, nil) // suspended now
	l3 := c.logAt("cat-cow", atDay(8, 9), score(3), score(3))
	l4 := c.logAt("cat-cow", atDay(9, 1), nil, score(2))
	c1, c2, after := c.checkinAt(5, atDay(2, 20)), c.checkinAt(4, atDay(5, 20)), c.checkinAt(3, atDay(10, 1))
	ph.push(ph.batch(mLog(before), mLog(l1), mLog(gone), mLog(wrong), mLog(right), mLog(l2), mLog(l3), mLog(l4),
		mDelete(hep.KindLog, gone.ID), mCheckin(c1), mCheckin(c2), mCheckin(after)))
	fact := func(l hep.ExerciseLog, suspended bool) hep.LogFact {
		return hep.LogFact{ExerciseID: l.ExerciseID, Time: l.CorrectedPerformTime, PainBefore: l.PainBefore, PainAfter: l.PainAfter, ItemSuspended: suspended}
	}

	var f hep.ProgressFacts
	var th hep.Thresholds
	ctx, actor := c.doctor("review.get_progress")
	events := c.audited(func() {
		if f, th, err = c.store.ProgressFacts(ctx, p, day0, day0.AddDays(9)); err != nil {
			t.Fatalf("ProgressFacts: %v", err)
		}
	})
	c.wantEvent("ProgressFacts", events, actor, p, resProgress(p), hep.OutcomeOK)
	if th != hep.DefaultThresholds() {
		t.Errorf("ProgressFacts thresholds = %+v, want the defaults", th)
	}
	if f.PatientID != p || f.TimeZone != c.patient.TimeZone || f.From != day0 || f.To != day0.AddDays(9) {
		t.Errorf("ProgressFacts header = %s %s %s %s", f.PatientID, f.TimeZone, f.From, f.To)
	}
	version := func(pl hep.Plan) hep.PlanVersionFacts {
		v := hep.PlanVersionFacts{Version: pl.Version, CreateTime: norm(pl.CreateTime)}
		for _, it := range pl.Items {
			v.Items = append(v.Items, it.Spec)
		}
		return v
	}
	normVersions := func(vs []hep.PlanVersionFacts) []hep.PlanVersionFacts {
		out := slices.Clone(vs)
		for i := range out {
			out[i].CreateTime = norm(out[i].CreateTime)
		}
		return out
	}
	if got, want := normVersions(f.Versions), []hep.PlanVersionFacts{version(v1), version(v2)}; !reflect.DeepEqual(got, want) {
		t.Errorf("Versions:\n got  %+v\n want %+v", got, want)
	}
	wantSusp := []hep.SuspensionInterval{
		{PlanVersion: 2, ExerciseID: "bar-hang", From: pregnant},
		{PlanVersion: 2, ExerciseID: "cat-cow", From: pregnant, To: cleared},
		{PlanVersion: 2, ExerciseID: "cat-cow", From: held, To: lifted},
	}
	if got := sortedSuspensions(f.Suspensions); !reflect.DeepEqual(got, wantSusp) {
		t.Errorf("Suspensions:\n got  %+v\n want %+v", got, wantSusp)
	}
	wantLogs := []hep.LogFact{fact(l1, false), fact(right, false), fact(l2, true), fact(l3, false), fact(l4, false)}
	if got := sortedLogFacts(f.Logs); !reflect.DeepEqual(got, wantLogs) {
		t.Errorf("Logs:\n got  %+v\n want %+v", got, wantLogs)
	}
	wantCheckins := []hep.CheckinFact{{Time: c1.CorrectedRecordTime, Score: 5}, {Time: c2.CorrectedRecordTime, Score: 4}}
	if got := sortedCheckinFacts(f.Checkins); !reflect.DeepEqual(got, wantCheckins) {
		t.Errorf("Checkins:\n got  %+v\n want %+v", got, wantCheckins)
	}
	if !norm(f.LastActivity).Equal(l4.CorrectedPerformTime) {
		t.Errorf("LastActivity = %v, want %v", f.LastActivity, l4.CorrectedPerformTime)
	}
	wantActivity(t, "to day 9", f.ActivityDays, day0.AddDays(9), []hep.Date{day0.AddDays(9), day0.AddDays(8)},
		map[hep.Date]bool{day0.AddDays(-1): true, day0.AddDays(1): true, day0.AddDays(3): true, day0.AddDays(6): true, day0.AddDays(8): true, day0.AddDays(9): true})
	if pr := hep.ComputeProgress(f, th, c.clock.Now()); pr.StreakDays != 2 || pr.DaysSinceActivity != 0 {
		t.Errorf("streak %d, days since activity %d; want 2 and 0", pr.StreakDays, pr.DaysSinceActivity)
	}
	if got, want := normPlan(f.Current), normPlan(c.plan()); !reflect.DeepEqual(got, want) {
		t.Errorf("Current:\n got  %+v\n want %+v", got, want)
	}
	for id, name := range map[string]string{"cat-cow": "Cat-cow", "bar-hang": "Bar hang", "childs-pose": "Child's pose"} {
		if f.Names[id] != name {
			t.Errorf("Names[%s] = %q, want %q", id, f.Names[id], name)
		}
	}

	// Narrower ranges: only the versions in force on their days.
	for _, tt := range []struct {
		name     string
		from, to hep.Date
		versions []hep.PlanVersionFacts
	}{
		{"before the change", day0, day0.AddDays(2), []hep.PlanVersionFacts{version(v1)}},
		{"from the day of the change", day0.AddDays(3), day0.AddDays(4), []hep.PlanVersionFacts{version(v2)}},
		{"across it", day0.AddDays(2), day0.AddDays(3), []hep.PlanVersionFacts{version(v1), version(v2)}},
		{"before any plan", day0.AddDays(-9), day0.AddDays(-1), nil},
	} {
		got, _, err := c.store.ProgressFacts(ctx, p, tt.from, tt.to)
		if err != nil {
			t.Fatal(err)
		}
		if vs := normVersions(got.Versions); !reflect.DeepEqual(vs, tt.versions) && (len(vs) != 0 || len(tt.versions) != 0) {
			t.Errorf("%s: Versions\n got  %+v\n want %+v", tt.name, vs, tt.versions)
		}
	}
	// A range ending before today: activity as of its end.
	got, _, err := c.store.ProgressFacts(ctx, p, day0, day0.AddDays(7))
	if err != nil {
		t.Fatal(err)
	}
	if !norm(got.LastActivity).Equal(l2.CorrectedPerformTime) {
		t.Errorf("LastActivity to day 7 = %v, want %v", got.LastActivity, l2.CorrectedPerformTime)
	}
	wantActivity(t, "to day 7", got.ActivityDays, day0.AddDays(7), []hep.Date{day0.AddDays(6)}, nil)
	if want := []hep.LogFact{fact(l1, false), fact(right, false), fact(l2, true)}; !reflect.DeepEqual(sortedLogFacts(got.Logs), want) {
		t.Errorf("Logs to day 7:\n got  %+v\n want %+v", sortedLogFacts(got.Logs), want)
	}

	c.notAudited("ProgressFacts(unknown patient)", func() {
		_, _, err := c.store.ProgressFacts(ctx, missingID, day0, day0)
		wantErr(t, "ProgressFacts(unknown patient)", err, hep.CodeNotFound, "")
	})
}

// wantActivity checks ActivityDays: newest first, distinct, on or before
// to, starting with prefix, each a day with a live log (when days is set).
func wantActivity(t *testing.T, what string, got []hep.Date, to hep.Date, prefix []hep.Date, days map[hep.Date]bool) {
	t.Helper()
	if len(got) < len(prefix) || !slices.Equal(got[:len(prefix)], prefix) {
		t.Errorf("%s: ActivityDays %v, want them to start %v", what, got, prefix)
	}
	for i, d := range got {
		if to.Before(d) || i > 0 && !d.Before(got[i-1]) || days != nil && !days[d] {
			t.Errorf("%s: ActivityDays %v: %s is not a distinct day with a log on or before %s, newest first", what, got, d, to)
		}
	}
}

func sortedSuspensions(ss []hep.SuspensionInterval) []hep.SuspensionInterval {
	out := slices.Clone(ss)
	for i := range out {
		out[i].From, out[i].To = norm(out[i].From), norm(out[i].To)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.PlanVersion != b.PlanVersion {
			return a.PlanVersion < b.PlanVersion
		}
		if a.ExerciseID != b.ExerciseID {
			return a.ExerciseID < b.ExerciseID
		}
		return a.From.Before(b.From)
	})
	return out
}

func sortedLogFacts(ls []hep.LogFact) []hep.LogFact {
	out := slices.Clone(ls)
	for i := range out {
		out[i].Time = norm(out[i].Time)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

func sortedCheckinFacts(cs []hep.CheckinFact) []hep.CheckinFact {
	out := slices.Clone(cs)
	for i := range out {
		out[i].Time = norm(out[i].Time)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

func reviewAdherence(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	c.screenedPlan("cat-cow") // 1 a day, 5 days a week, from day 0 (Wednesday)
	lisbon := c.patient.ID

	// A patient far west (UTC-10: its days end 10 hours after Lisbon's),
	// one who logs every day, and one without a plan.
	hawaii := c.env.patient(c.clinician.ID)
	zone := "Pacific/Honolulu"
	if _, err := c.store.UpdatePatient(c.ctx(), hawaii.ID, hep.PatientUpdate{TimeZone: &zone}); err != nil {
		t.Fatal(err)
	}
	keen := c.env.patient(c.clinician.ID)
	noPlan := c.env.patient(c.clinician.ID)
	for _, id := range []string{hawaii.ID, keen.ID} {
		ctx, _ := c.doctor("plan.set")
		if _, _, err := c.store.RecordScreening(ctx, id, allAbsent()); err != nil {
			t.Fatal(err)
		}
		if _, err := c.store.SetPlan(ctx, id, hep.PlanInput{Items: items("cat-cow")}); err != nil {
			t.Fatal(err)
		}
	}
	kd, _, _ := c.env.enroll(keen.ID)
	kph := c.newPhone(kd)

	evaluate := func(what string, wantRaised int) []hep.AuditEvent {
		t.Helper()
		ctx, _ := c.as(hep.Actor{}, "alert.evaluate_adherence")
		var n int
		events := c.audited(func() {
			var err error
			if n, err = c.store.EvaluateAdherence(ctx, c.clock.Now()); err != nil {
				t.Fatalf("%s: EvaluateAdherence: %v", what, err)
			}
		})
		if n != wantRaised || len(events) != n {
			t.Errorf("%s: EvaluateAdherence raised %d alerts with %d audit rows, want %d", what, n, len(events), wantRaised)
		}
		return events
	}
	nonAdherence := func(patientID string) map[string]occurrenceView {
		t.Helper()
		list, err := c.store.ListAlerts(c.ctx(), hep.AlertFilter{PatientID: patientID, Kinds: []hep.AlertKind{hep.AlertNonAdherence}})
		if err != nil {
			t.Fatal(err)
		}
		return c.triggered(list)
	}

	// Day 8 at 03:04 UTC: Lisbon's last closed day is day 7 (window days
	// 1-7), Hawaii's is day 6 (days 0-6). A window is one block
	// (hep.WindowAdherence): 5 days a week prescribe 5 sessions in 7
	// days. Nothing logged: 0 of 5 each. The keen patient logged every
	// day.
	c.clock.Advance(7 * 24 * time.Hour)
	var keenLogs []hep.Mutation
	for d := 1; d <= 7; d++ {
		keenLogs = append(keenLogs, mLog(c.logAt("cat-cow", atDay(d, 9), nil, nil)))
	}
	kph.push(kph.batch(keenLogs...))
	c.clock.Advance(24 * time.Hour)
	limits := hep.DefaultThresholds()
	events := evaluate("day 8", 2)
	zero := hep.Adherence{Prescribed: 5}
	wantLisbon := hep.NonAdherenceAlert(lisbon, day0.AddDays(7), zero, limits, hep.Date{})
	wantHawaii := hep.NonAdherenceAlert(hawaii.ID, day0.AddDays(6), zero, limits, hep.Date{})
	for _, tt := range []struct {
		patient string
		want    *hep.Alert
	}{{lisbon, wantLisbon}, {hawaii.ID, wantHawaii}} {
		got := nonAdherence(tt.patient)
		w := *tt.want
		k := string(w.Kind) + " " + w.Trigger
		if len(got) != 1 || got[k] != viewOf(w, got[k].AlertID, c.clock.Now()) {
			t.Errorf("NON_ADHERENCE alerts of %s:\n got  %+v\n want %+v", tt.patient, got, w)
		}
		var ev []hep.AuditEvent
		for _, e := range events {
			if e.PatientID == tt.patient {
				ev = append(ev, e)
			}
		}
		if len(ev) != 1 || ev[0].ActorID != hep.SystemActorID || ev[0].Resource != resAlert(tt.patient, got[k].AlertID) || ev[0].Outcome != hep.OutcomeOK {
			t.Errorf("audit rows of the alert of %s: %+v; want one by %s for the alert", tt.patient, ev, hep.SystemActorID)
		}
	}
	if got := nonAdherence(keen.ID); len(got) != 0 {
		t.Errorf("a patient who logged every day was alerted: %+v", got)
	}
	if got := nonAdherence(noPlan.ID); len(got) != 0 {
		t.Errorf("a patient without a plan was alerted: %+v", got)
	}

	// Again, the same day and an hour later: nothing.
	evaluate("day 8 again", 0)
	c.clock.Advance(time.Hour)
	evaluate("an hour later", 0)

	// Three days pass unevaluated: the days in between are evaluated, and
	// they belong to the alerted episode.
	c.clock.Advance(3 * 24 * time.Hour)
	evaluate("day 11", 0)
	// A week: the first window a full window after the alerted one (day
	// 14 for Lisbon, 13 for Hawaii) alerts, not the last day evaluated.
	// The keen patient stopped after day 7: days 8-11 still reach 50%
	// (5, 5, 4 and 3 of 5), day 12 does not (2 of 5).
	c.clock.Advance(7 * 24 * time.Hour)
	evaluate("day 18", 3)
	for _, tt := range []struct {
		patient string
		ends    []hep.Date
	}{
		{lisbon, []hep.Date{day0.AddDays(7), day0.AddDays(14)}},
		{hawaii.ID, []hep.Date{day0.AddDays(6), day0.AddDays(13)}},
		{keen.ID, []hep.Date{day0.AddDays(12)}},
	} {
		got := nonAdherence(tt.patient)
		var ends []string
		for _, a := range got {
			ends = append(ends, a.Trigger)
		}
		sort.Strings(ends)
		var want []string
		for _, d := range tt.ends {
			want = append(want, hep.WindowTrigger(d))
		}
		if !slices.Equal(ends, want) {
			t.Errorf("after the catch-up, %s has NON_ADHERENCE alerts for %v, want %v", tt.patient, ends, want)
		}
	}
	evaluate("day 18 again", 0)
}

func reviewTriageFacts(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	c.screenedPlan("cat-cow")
	p1 := c.patient
	idle := c.env.patient(c.clinician.ID)   // no plan, no data
	urgent := c.env.patient(c.clinician.ID) // an open red flag
	otherDoc := c.env.account(hep.RoleClinician)
	elsewhere := c.env.patient(otherDoc.ID) // not on the care team
	ph := c.newPhone(c.device)

	c.clock.Advance(24 * time.Hour)
	flagged := c.clock.Now()
	if _, err := c.store.ReportRedFlags(c.ctx(), urgent.ID, []hep.RedFlag{hep.RedFlagBladderOrBowel}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.store.ReportRedFlags(c.ctx(), elsewhere.ID, []hep.RedFlag{hep.RedFlagBladderOrBowel}, ""); err != nil {
		t.Fatal(err)
	}

	// Day 8 (Thursday) at 03:04: adherence over days 1-7 (5 prescribed)
	// with logs on days 1-3 is 3 of 5; the pain of days 2-8 (8, 6) is up
	// 4.5 on days -5..1 (2, 3).
	c.clock.Advance(7 * 24 * time.Hour)
	now := c.clock.Now()
	ph.push(ph.batch(mLog(c.logAt("cat-cow", atDay(1, 10), nil, nil)), mLog(c.logAt("cat-cow", atDay(2, 10), nil, nil)),
		mLog(c.logAt("cat-cow", atDay(3, 10), nil, nil)),
		mCheckin(c.checkinAt(2, atDay(0, 11))), mCheckin(c.checkinAt(3, atDay(1, 11))),
		mCheckin(c.checkinAt(8, atDay(7, 11))), mCheckin(c.checkinAt(6, atDay(8, 1)))))
	open1, err := c.store.ListAlerts(c.ctx(), hep.AlertFilter{PatientID: p1.ID, Status: hep.AlertOpen})
	if err != nil {
		t.Fatal(err)
	}
	var wantOpen []hep.OpenAlert
	for _, a := range open1 {
		wantOpen = append(wantOpen, hep.OpenAlert{Kind: a.Kind, Subject: a.Subject, Severity: a.Severity, Occurrences: a.Occurrences,
			CreateTime: norm(a.CreateTime), LatestTime: norm(a.LatestTime)})
	}
	// TriageFacts.Open's order: oldest first, then by kind and subject.
	sort.Slice(wantOpen, func(i, j int) bool {
		a, b := wantOpen[i], wantOpen[j]
		if !a.CreateTime.Equal(b.CreateTime) {
			return a.CreateTime.Before(b.CreateTime)
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Subject < b.Subject
	})

	urgentOpen, err := c.store.ListAlerts(c.ctx(), hep.AlertFilter{PatientID: urgent.ID, Status: hep.AlertOpen})
	if err != nil || len(urgentOpen) != 1 {
		t.Fatalf("open alerts of the urgent patient: %+v, %v", urgentOpen, err)
	}

	ctx, actor := c.doctor("review.triage")
	var facts []hep.TriageFacts
	var th hep.Thresholds
	events := c.audited(func() {
		if facts, th, err = c.store.TriageFacts(ctx, c.clinician.ID, now); err != nil {
			t.Fatalf("TriageFacts: %v", err)
		}
	})
	c.wantEvent("TriageFacts", events, actor, "", resTriage, hep.OutcomeOK)
	if th != hep.DefaultThresholds() {
		t.Errorf("TriageFacts thresholds = %+v", th)
	}
	got := map[string]hep.TriageFacts{}
	for _, f := range facts {
		for i := range f.Open {
			f.Open[i].CreateTime, f.Open[i].LatestTime = norm(f.Open[i].CreateTime), norm(f.Open[i].LatestTime)
		}
		sort.Slice(f.Pain.Recent, func(i, j int) bool { return f.Pain.Recent[i] < f.Pain.Recent[j] })
		sort.Slice(f.Pain.Previous, func(i, j int) bool { return f.Pain.Previous[i] < f.Pain.Previous[j] })
		got[f.PatientID] = f
	}
	today := day0.AddDays(8)
	want := map[string]hep.TriageFacts{
		p1.ID: {PatientID: p1.ID, DisplayName: p1.DisplayName, Open: wantOpen,
			Pain:      hep.WorseningWindow{End: today, Recent: []int32{6, 8}, Previous: []int32{2, 3}},
			Adherence: hep.Adherence{Prescribed: 5, Completed: 3, Logged: 3, Percent: 60}, DaysSinceSession: 5},
		idle.ID: {PatientID: idle.ID, DisplayName: idle.DisplayName, Pain: hep.WorseningWindow{End: today}, DaysSinceSession: -1},
		urgent.ID: {PatientID: urgent.ID, DisplayName: urgent.DisplayName, Open: []hep.OpenAlert{{Kind: hep.AlertRedFlag,
			Subject: urgentOpen[0].Subject, Severity: hep.AlertUrgent, Occurrences: 1, CreateTime: norm(flagged), LatestTime: norm(flagged)}},
			Pain: hep.WorseningWindow{End: today}, DaysSinceSession: -1},
	}
	if len(open1) != 2 {
		t.Errorf("open alerts of the patient in pain: %+v; want PAIN_SEVERE and PAIN_WORSENING", open1)
	}
	if !reflect.DeepEqual(got, want) {
		for id := range want {
			if !reflect.DeepEqual(got[id], want[id]) {
				t.Errorf("TriageFacts of %s:\n got  %+v\n want %+v", id, got[id], want[id])
			}
		}
		t.Errorf("TriageFacts returned %d patients, want %d (never %s)", len(got), len(want), elsewhere.ID)
	}
	if got, _, err := c.store.TriageFacts(ctx, c.env.account(hep.RoleClinician).ID, now); err != nil || len(got) != 0 {
		t.Errorf("TriageFacts of a clinician without patients = %+v, %v", got, err)
	}
}
