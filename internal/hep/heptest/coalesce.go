package heptest

import (
	"reflect"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// Coalesced alerts (hep.Coalesce; store.go, "Alerts are coalesced"):
// every occurrence kept with its trigger, time and summary; at most one
// OPEN alert per patient, kind and subject; an acknowledged alert never
// grows, and the next occurrence opens a new one; the same data never
// raises anything twice.

func resAlertOccurrences(patientID, alertID string) string {
	return resAlert(patientID, alertID) + "/occurrences"
}

// occurrences lists every occurrence of alert a, newest first, checking
// that they belong to it and that there are a.Occurrences of them.
func (c *clinic) occurrences(a hep.Alert) []hep.AlertOccurrence {
	c.t.Helper()
	var out []hep.AlertOccurrence
	before := ""
	for {
		page, err := c.store.ListAlertOccurrences(c.ctx(), hep.AlertOccurrenceFilter{PatientID: a.PatientID, AlertID: a.ID, Before: before, Limit: 100})
		if err != nil {
			c.t.Fatalf("ListAlertOccurrences(%s): %v", a.ID, err)
		}
		out = append(out, page...)
		if len(page) < 100 {
			break
		}
		before = page[len(page)-1].ID
	}
	for _, o := range out {
		if o.ID == "" || o.AlertID != a.ID || o.PatientID != a.PatientID || o.Kind != a.Kind || o.Summary == "" {
			c.t.Errorf("occurrence %+v of alert %+v", o, a)
		}
	}
	if len(out) != int(a.Occurrences) {
		c.t.Errorf("alert %s (%s %q) counts %d occurrences, lists %d", a.ID, a.Kind, a.Subject, a.Occurrences, len(out))
	}
	return out
}

// checkCoalesced checks one patient's alerts: at most one open alert per
// kind and subject, each with at least one occurrence, the latest not
// before the first.
func checkCoalesced(t *testing.T, as []hep.Alert) {
	t.Helper()
	type key struct {
		kind    hep.AlertKind
		subject string
	}
	open := map[key]string{}
	for _, a := range as {
		if a.Occurrences < 1 || a.LatestTime.Before(a.CreateTime) {
			t.Errorf("alert %+v: want an occurrence or more, the latest not before the first", a)
		}
		if a.Status != hep.AlertOpen {
			continue
		}
		k := key{a.Kind, a.Subject}
		if id, ok := open[k]; ok {
			t.Errorf("two open alerts of %s about %q: %s and %s", a.Kind, a.Subject, id, a.ID)
		}
		open[k] = a.ID
	}
}

// wantOccurrences checks alert a's occurrences, newest first, against the
// alerts the rules raised (want, newest first) at the given times.
func wantOccurrences(t *testing.T, c *clinic, a hep.Alert, want []hep.Alert, at []time.Time) {
	t.Helper()
	got := c.occurrences(a)
	if len(got) != len(want) {
		t.Fatalf("alert %s: %d occurrences, want %d: %+v", a.ID, len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		exp := hep.AlertOccurrence{ID: g.ID, AlertID: a.ID, PatientID: w.PatientID, Kind: w.Kind, Trigger: w.Trigger,
			Time: norm(at[i]), Summary: w.Summary}
		g.Time = norm(g.Time)
		if g != exp {
			t.Errorf("alert %s occurrence %d:\n got  %+v\n want %+v", a.ID, i, g, exp)
		}
	}
}

// alertsOf returns the patient's alerts of kind, newest first.
func (c *clinic) alertsOf(kind hep.AlertKind) []hep.Alert {
	c.t.Helper()
	as, err := c.store.ListAlerts(c.ctx(), hep.AlertFilter{PatientID: c.patient.ID, Kinds: []hep.AlertKind{kind}})
	if err != nil {
		c.t.Fatalf("ListAlerts: %v", err)
	}
	return as
}

// wantAlert checks a stored alert against what the rules raised: want is
// the rule's alert of the first occurrence (at first), latest the latest's
// (at latestTime), n the count.
func wantAlert(t *testing.T, what string, got hep.Alert, first hep.Alert, firstTime time.Time, latest hep.Alert, latestTime time.Time, n int32, status hep.AlertStatus) {
	t.Helper()
	exp := firstOccurrence(first, got, firstTime)
	exp.Occurrences, exp.LatestTime, exp.Summary, exp.Status = n, norm(latestTime), latest.Summary, status
	g := normAlert(got)
	if status == hep.AlertAcknowledged {
		exp.AckBy, exp.AckNote, exp.AckTime = g.AckBy, g.AckNote, g.AckTime
	}
	if g != exp {
		t.Errorf("%s:\n got  %+v\n want %+v", what, g, exp)
	}
}

func testCoalescing(t *testing.T, open OpenFunc) {
	t.Run("LogAlerts", func(t *testing.T) { coalesceLogAlerts(t, open) })
	t.Run("SuspendedLogs", func(t *testing.T) { coalesceSuspendedLogs(t, open) })
	t.Run("CheckinSubjects", func(t *testing.T) { coalesceCheckins(t, open) })
	t.Run("RedFlagsStayApart", func(t *testing.T) { coalesceRedFlags(t, open) })
	t.Run("ListOccurrences", func(t *testing.T) { coalesceListOccurrences(t, open) })
	t.Run("TriageAndExport", func(t *testing.T) { coalesceTriageAndExport(t, open) })
}

// flareLog is a log of exercise whose pain rose from before to after.
func (c *clinic) flareLog(exercise string, before, after int32) hep.ExerciseLog {
	l := c.newLog(exercise)
	l.PainBefore, l.PainAfter = score(before), score(after)
	return l
}

// ruleAlerts is what hep.LogAlerts raises for l as stored, of kind.
func (c *clinic) ruleAlert(l hep.ExerciseLog, kind hep.AlertKind, suspended bool) hep.Alert {
	c.t.Helper()
	for _, a := range hep.LogAlerts(storedLog(l, c.device, c.clock.Now(), suspended), hep.DefaultThresholds(), nil) {
		if a.Kind == kind {
			return a
		}
	}
	c.t.Fatalf("hep.LogAlerts(%+v) raises no %s", l, kind)
	return hep.Alert{}
}

// coalesceLogAlerts: repeated flares with one exercise are one alert with
// a count; another exercise is another alert; replays raise nothing; an
// acknowledgement that did not see every occurrence is refused; after
// the acknowledgement the next flare opens a new alert and the
// acknowledged one stays as it was.
func coalesceLogAlerts(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	p := c.patient.ID
	c.screenedPlan("cat-cow", "childs-pose")
	ph := c.newPhone(c.device)
	var pushes [][]hep.Mutation
	push := func(ls ...hep.ExerciseLog) {
		t.Helper()
		var ms []hep.Mutation
		for _, l := range ls {
			ms = append(ms, mLog(l))
		}
		b := ph.batch(ms...)
		ph.push(b)
		pushes = append(pushes, b)
	}

	c.clock.Advance(time.Hour)
	f1 := c.flareLog("cat-cow", 2, 5)
	push(f1)
	t1, w1 := c.clock.Now(), c.ruleAlert(f1, hep.AlertPainFlare, false)
	c.clock.Advance(time.Hour)
	f2, g1 := c.flareLog("cat-cow", 3, 6), c.flareLog("childs-pose", 1, 4)
	push(f2, g1)
	t2, w2, wg := c.clock.Now(), c.ruleAlert(f2, hep.AlertPainFlare, false), c.ruleAlert(g1, hep.AlertPainFlare, false)
	c.clock.Advance(time.Hour)
	f3 := c.flareLog("cat-cow", 1, 5)
	push(f3)
	t3, w3 := c.clock.Now(), c.ruleAlert(f3, hep.AlertPainFlare, false)

	flares := c.alertsOf(hep.AlertPainFlare)
	checkCoalesced(t, c.alerts())
	if len(flares) != 2 {
		t.Fatalf("%d PAIN_FLARE alerts after 3 flares with cat-cow and 1 with child's pose, want 2: %+v", len(flares), flares)
	}
	catCow, childs := flares[1], flares[0] // newest first: by the first occurrence
	if catCow.Subject != "cat-cow" {
		catCow, childs = childs, catCow
	}
	wantAlert(t, "cat-cow's flares", catCow, w1, t1, w3, t3, 3, hep.AlertOpen)
	wantAlert(t, "child's pose's flare", childs, wg, t2, wg, t2, 1, hep.AlertOpen)
	wantOccurrences(t, c, catCow, []hep.Alert{w3, w2, w1}, []time.Time{t3, t2, t1})

	// Replays, and the same records sent again as new mutations: nothing.
	snapshot := func() []hep.Alert {
		var out []hep.Alert
		for _, a := range c.alerts() {
			out = append(out, normAlert(a))
		}
		return out
	}
	before := snapshot()
	c.clock.Advance(time.Minute)
	for _, b := range pushes {
		ph.push(b)
	}
	push(f1, f2, g1, f3)
	if got := snapshot(); !reflect.DeepEqual(got, before) {
		t.Errorf("replays changed the alerts:\n got  %+v\n want %+v", got, before)
	}

	// An acknowledgement by a clinician who saw 2 occurrences is refused:
	// a third has arrived. Nothing changes, nothing is audited.
	doctor, actor := c.doctor("alert.acknowledge")
	c.notAudited("AcknowledgeAlert(expecting 2 of 3)", func() {
		_, _, err := c.store.AcknowledgeAlert(doctor, p, catCow.ID, "seen two", 2)
		wantErr(t, "AcknowledgeAlert(expecting 2 of 3)", err, hep.CodeAborted, hep.ReasonAlertChanged)
	})
	if got := snapshot(); !reflect.DeepEqual(got, before) {
		t.Errorf("a refused acknowledgement changed the alerts")
	}
	c.clock.Advance(time.Minute)
	var acked hep.Alert
	events := c.audited(func() {
		var err error
		if acked, _, err = c.store.AcknowledgeAlert(doctor, p, catCow.ID, "seen all three: dose lowered", 3); err != nil {
			t.Fatalf("AcknowledgeAlert: %v", err)
		}
	})
	c.wantEvent("AcknowledgeAlert", events, actor, p, resAlert(p, catCow.ID), hep.OutcomeOK)
	ackTime := c.clock.Now()
	if acked.Status != hep.AlertAcknowledged || acked.Occurrences != 3 || acked.AckNote != "seen all three: dose lowered" ||
		acked.AckBy != c.clinician.ID || !acked.AckTime.Equal(ackTime) {
		t.Errorf("acknowledged: %+v", acked)
	}

	// Replays after the acknowledgement: nothing, the acknowledgement
	// stands.
	for _, b := range pushes {
		ph.push(b)
	}
	after := c.alertsOf(hep.AlertPainFlare)
	if len(after) != 2 || normAlert(after[1]) != normAlert(acked) && normAlert(after[0]) != normAlert(acked) {
		t.Errorf("after replays: %+v; want the acknowledged alert as it was", after)
	}

	// A new flare with cat-cow: a new open alert, its first occurrence;
	// the acknowledged one keeps its 3.
	c.clock.Advance(time.Hour)
	f4 := c.flareLog("cat-cow", 2, 6)
	push(f4)
	t4, w4 := c.clock.Now(), c.ruleAlert(f4, hep.AlertPainFlare, false)
	flares = c.alertsOf(hep.AlertPainFlare)
	checkCoalesced(t, c.alerts())
	if len(flares) != 3 || flares[0].ID == catCow.ID {
		t.Fatalf("after a flare that recurred after the acknowledgement: %+v; want a third alert, newest", flares)
	}
	wantAlert(t, "the recurrence", flares[0], w4, t4, w4, t4, 1, hep.AlertOpen)
	wantOccurrences(t, c, flares[0], []hep.Alert{w4}, []time.Time{t4})
	for _, a := range flares {
		if a.ID == catCow.ID && normAlert(a) != normAlert(acked) {
			t.Errorf("the acknowledged alert changed:\n got  %+v\n want %+v", a, acked)
		}
	}
	wantOccurrences(t, c, acked, []hep.Alert{w3, w2, w1}, []time.Time{t3, t2, t1})

	// A correction of f4 with the same scores is the same session: nothing.
	c.clock.Advance(time.Minute)
	fix := c.flareLog("cat-cow", 2, 6)
	fix.Supersedes = f4.ID
	push(fix)
	if got := c.alertsOf(hep.AlertPainFlare); got[0].Occurrences != 1 || len(got) != 3 {
		t.Errorf("a correction of a flare raised another: %+v", got)
	}
}

// coalesceSuspendedLogs: every log of a suspended item is an occurrence
// of one alert per exercise, across pushes; a correction of such a log is
// the same session and adds nothing.
func coalesceSuspendedLogs(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	c.screenedPlan("cat-cow", "childs-pose")
	c.screen(ans(hep.FlagPregnancy, hep.StatusPresent)) // both need a clearance now
	ph := c.newPhone(c.device)
	unscored := func(ex string) hep.ExerciseLog {
		l := c.newLog(ex)
		l.PainBefore, l.PainAfter = nil, nil
		return l
	}
	c.clock.Advance(time.Hour)
	a, b, x := unscored("cat-cow"), unscored("cat-cow"), unscored("childs-pose")
	ph.push(ph.batch(mLog(a), mLog(b), mLog(x)))
	t1 := c.clock.Now()
	c.clock.Advance(24 * time.Hour)
	d := unscored("cat-cow")
	fix := unscored("cat-cow")
	fix.Supersedes = a.ID
	ph.push(ph.batch(mLog(d), mLog(fix)))
	t2 := c.clock.Now()

	got := c.alertsOf(hep.AlertLoggedWhileSuspended)
	checkCoalesced(t, c.alerts())
	if len(got) != 2 {
		t.Fatalf("LOGGED_WHILE_SUSPENDED alerts %+v; want one per exercise", got)
	}
	byEx := map[string]hep.Alert{got[0].Subject: got[0], got[1].Subject: got[1]}
	stored := func(l hep.ExerciseLog) hep.Alert { return hep.SuspendedLogAlert(storedLog(l, c.device, t1, true)) }
	wantAlert(t, "cat-cow logged while suspended", byEx["cat-cow"], stored(a), t1, stored(d), t2, 3, hep.AlertOpen)
	wantAlert(t, "child's pose logged while suspended", byEx["childs-pose"], stored(x), t1, stored(x), t1, 1, hep.AlertOpen)
	wantOccurrences(t, c, byEx["cat-cow"], []hep.Alert{stored(d), stored(b), stored(a)}, []time.Time{t2, t1, t1})
}

// coalesceCheckins: severe check-ins coalesce per location.
func coalesceCheckins(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	c.screenedPlan("cat-cow")
	ph := c.newPhone(c.device)
	c.clock.Advance(time.Hour)
	back1 := c.newCheckin(8)
	ph.push(ph.batch(mCheckin(back1)))
	t1 := c.clock.Now()
	c.clock.Advance(time.Hour)
	back2, leg := c.newCheckin(9), c.newCheckin(7)
	leg.Location = hep.PainLeg
	ph.push(ph.batch(mCheckin(back2), mCheckin(leg)))
	t2 := c.clock.Now()
	rule := func(ci hep.PainCheckin) hep.Alert {
		return *hep.CheckinAlert(storedCheckin(ci, c.device, t1), hep.DefaultThresholds(), nil)
	}
	got := c.alertsOf(hep.AlertPainSevere)
	checkCoalesced(t, c.alerts())
	if len(got) != 2 {
		t.Fatalf("PAIN_SEVERE alerts %+v; want one per location", got)
	}
	byLoc := map[string]hep.Alert{got[0].Subject: got[0], got[1].Subject: got[1]}
	wantAlert(t, "low back", byLoc[hep.CheckinSubject(hep.PainLowBack)], rule(back1), t1, rule(back2), t2, 2, hep.AlertOpen)
	wantAlert(t, "leg", byLoc[hep.CheckinSubject(hep.PainLeg)], rule(leg), t2, rule(leg), t2, 1, hep.AlertOpen)
}

// coalesceRedFlags: every red-flag report is an URGENT alert of its own,
// open or not; the hold lifts with the last acknowledgement and a report
// after it is a new open alert that holds the plan again, never an
// occurrence of an acknowledged alert.
func coalesceRedFlags(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	p := c.patient.ID
	c.screenedPlan("cat-cow")
	ctx, _ := c.phone("screening.report_red_flags")
	report := func(s hep.RedFlag) hep.Alert {
		t.Helper()
		c.clock.Advance(time.Minute)
		a, err := c.store.ReportRedFlags(ctx, p, []hep.RedFlag{s}, "")
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	first := report(hep.RedFlagSaddleNumbness)
	second := report(hep.RedFlagSaddleNumbness) // the same symptom again, while the first is open
	if first.ID == second.ID || first.Subject == second.Subject || first.Occurrences != 1 || second.Occurrences != 1 ||
		first.Severity != hep.AlertUrgent || second.Severity != hep.AlertUrgent {
		t.Fatalf("two reports: %+v and %+v; want two URGENT alerts of one occurrence each", first, second)
	}
	checkCoalesced(t, c.alerts())
	doctor, _ := c.doctor("alert.acknowledge")
	if _, _, err := c.store.AcknowledgeAlert(doctor, p, first.ID, "seen the first", first.Occurrences); err != nil {
		t.Fatal(err)
	}
	if !c.plan().RedFlagHold {
		t.Fatalf("the hold lifted with a report still open")
	}
	if _, _, err := c.store.AcknowledgeAlert(doctor, p, second.ID, "seen the second", 1); err != nil {
		t.Fatal(err)
	}
	if c.plan().RedFlagHold {
		t.Fatalf("the hold stayed after the last report was acknowledged")
	}
	third := report(hep.RedFlagSaddleNumbness)
	if third.ID == first.ID || third.ID == second.ID || third.Status != hep.AlertOpen || third.Occurrences != 1 || !c.plan().RedFlagHold {
		t.Errorf("a report after the acknowledgements: %+v, hold %v; want a new open alert and the hold", third, c.plan().RedFlagHold)
	}
	for _, a := range c.alertsOf(hep.AlertRedFlag) {
		if a.ID != third.ID && (a.Status != hep.AlertAcknowledged || a.Occurrences != 1) {
			t.Errorf("an acknowledged red-flag alert changed: %+v", a)
		}
	}
}

// coalesceListOccurrences: pages, newest first; another patient's alert
// and an unknown one are NOT_FOUND and audit nothing.
func coalesceListOccurrences(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	p := c.patient.ID
	c.screenedPlan("cat-cow")
	ph := c.newPhone(c.device)
	for range 5 {
		c.clock.Advance(time.Minute)
		ph.push(ph.batch(mLog(c.flareLog("cat-cow", 2, 4))))
	}
	as := c.alertsOf(hep.AlertPainFlare)
	if len(as) != 1 || as[0].Occurrences != 5 {
		t.Fatalf("PAIN_FLARE alerts %+v; want one of 5", as)
	}
	all := c.occurrences(as[0])
	for i := 1; i < len(all); i++ {
		if all[i].Time.After(all[i-1].Time) || all[i].ID >= all[i-1].ID {
			t.Errorf("occurrences not newest first: %+v", all)
		}
	}
	for _, size := range []int{1, 2, 5} {
		var got []hep.AlertOccurrence
		before := ""
		for pages := 0; pages <= len(all)+1; pages++ {
			ctx, actor := c.doctor("alert.list_occurrences")
			var page []hep.AlertOccurrence
			events := c.audited(func() {
				var err error
				if page, err = c.store.ListAlertOccurrences(ctx, hep.AlertOccurrenceFilter{PatientID: p, AlertID: as[0].ID, Before: before, Limit: size}); err != nil {
					t.Fatal(err)
				}
			})
			c.wantEvent("ListAlertOccurrences", events, actor, p, resAlertOccurrences(p, as[0].ID), hep.OutcomeOK)
			got = append(got, page...)
			if len(page) < size {
				break
			}
			before = page[len(page)-1].ID
		}
		if !reflect.DeepEqual(got, all) {
			t.Errorf("pages of %d:\n got  %+v\n want %+v", size, got, all)
		}
	}
	other := c.env.patient(c.clinician.ID)
	ctx, _ := c.doctor("alert.list_occurrences")
	for _, tt := range []struct{ name, patient, alert string }{
		{"another patient's", other.ID, as[0].ID},
		{"unknown", p, missingID},
	} {
		c.notAudited("ListAlertOccurrences("+tt.name+")", func() {
			_, err := c.store.ListAlertOccurrences(ctx, hep.AlertOccurrenceFilter{PatientID: tt.patient, AlertID: tt.alert})
			wantErr(t, "ListAlertOccurrences("+tt.name+")", err, hep.CodeNotFound, "")
		})
	}
}

// coalesceTriageAndExport: triage sees each open alert once, with its
// count; an export holds the alerts with an occurrence in its range and
// exactly the occurrences of the range.
func coalesceTriageAndExport(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	p := c.patient.ID
	c.screenedPlan("cat-cow")
	ph := c.newPhone(c.device)
	c.clock.Advance(time.Hour) // day0, 04:04 UTC
	ph.push(ph.batch(mLog(c.flareLog("cat-cow", 2, 5))))
	t1 := c.clock.Now()
	c.clock.Advance(24 * time.Hour)                      // day0+1
	ph.push(ph.batch(mLog(c.flareLog("cat-cow", 3, 8)))) // a flare, and severe
	t2 := c.clock.Now()

	facts, _, err := c.store.TriageFacts(c.ctx(), c.clinician.ID, c.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	var mine *hep.TriageFacts
	for i := range facts {
		if facts[i].PatientID == p {
			mine = &facts[i]
		}
	}
	want := []hep.OpenAlert{
		{Kind: hep.AlertPainFlare, Subject: "cat-cow", Severity: hep.AlertRoutine, Occurrences: 2, CreateTime: norm(t1), LatestTime: norm(t2)},
		{Kind: hep.AlertPainSevere, Subject: "cat-cow", Severity: hep.AlertRoutine, Occurrences: 1, CreateTime: norm(t2), LatestTime: norm(t2)},
	}
	if mine == nil {
		t.Fatalf("TriageFacts holds no entry for the patient")
	}
	got := append([]hep.OpenAlert(nil), mine.Open...)
	for i := range got {
		got[i].CreateTime, got[i].LatestTime = norm(got[i].CreateTime), norm(got[i].LatestTime)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("TriageFacts.Open:\n got  %+v\n want %+v", got, want)
	}
	if e := hep.Triage([]hep.TriageFacts{*mine}, hep.DefaultThresholds())[0]; e.OpenAlerts != 2 || e.OpenOccurrences != 3 ||
		e.Reason != "2 pain flares with cat-cow; 1 severe pain score with cat-cow, open since "+t1.UTC().Format("2006-01-02 15:04 MST") {
		t.Errorf("triage entry %+v", e)
	}

	// An export of day0+1 only: the flare alert (first occurrence the day
	// before) and the severe one, and the two occurrences of that day.
	ctx, _ := c.doctor("export.export")
	snap, err := c.store.ExportSnapshot(ctx, p, day0.AddDays(1), day0.AddDays(1), "CSV")
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Alerts) != 2 || snap.Alerts[0].Kind != hep.AlertPainFlare || snap.Alerts[0].Occurrences != 2 || snap.Alerts[1].Kind != hep.AlertPainSevere {
		t.Errorf("exported alerts %+v; want the flare alert (2 occurrences) and the severe one", snap.Alerts)
	}
	if len(snap.AlertOccurrences) != 2 {
		t.Fatalf("exported occurrences %+v; want the 2 of the day", snap.AlertOccurrences)
	}
	for _, o := range snap.AlertOccurrences {
		if !o.Time.Equal(t2) || o.PatientID != p {
			t.Errorf("exported occurrence %+v; want one of day0+1", o)
		}
	}
	snap, err = c.store.ExportSnapshot(ctx, p, day0, day0, "CSV")
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Alerts) != 1 || len(snap.AlertOccurrences) != 1 || !snap.AlertOccurrences[0].Time.Equal(t1) || snap.AlertOccurrences[0].AlertID != snap.Alerts[0].ID {
		t.Errorf("export of day0: alerts %+v, occurrences %+v; want the flare alert and its first occurrence", snap.Alerts, snap.AlertOccurrences)
	}
}
