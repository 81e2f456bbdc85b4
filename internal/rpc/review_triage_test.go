package rpc

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestTriageOrder: 20 patients of one clinician in known states, with ties
// in every tier, come out in the exact order with the exact reasons; pages
// of 7 walk the same order; other clinicians' patients never appear.
//
// Plans are written on day 0 and the clock then moves 8 days, so that the
// last 7 closed days are all prescribed (a plan counts from the day it is
// written).
func TestTriageOrder(t *testing.T) {
	clock := &testClock{}
	e := newEnv(t, withClock(clock.now))
	e.createClinician("c@clinic.example")
	const clinC = "clinician C"
	e.tok[clinC], e.refresh[clinC] = e.signIn("c@clinic.example")

	// Created in this order: ids are UUIDv7, so ties broken by patient id
	// follow creation order.
	mk := func(name string) *reviewPatient { return e.patientWithPhone(clinC, name) }
	u1, u2 := mk("Urgent One"), mk("Urgent Two")
	o1, o2, o3 := mk("Open One"), mk("Open Two"), mk("Open Three")
	w1, w2, w3 := mk("Worse One"), mk("Worse Two"), mk("Worse Three")
	l1, l2, l3, l4 := mk("Low One"), mk("Low Two"), mk("Low Three"), mk("Low Four")
	i1, i2, i3 := mk("Idle One"), mk("Idle Two"), mk("Idle Three")
	n1, n2, n3, n4, n5 := mk("Zoe"), mk("Ana"), mk("Maria"), mk("Maria"), mk("Bruno")
	all := []*reviewPatient{u1, u2, o1, o2, o3, w1, w2, w3, l1, l2, l3, l4, i1, i2, i3, n1, n2, n3, n4, n5}

	// Day 0: a cat-cow plan, every day, for the adherence patients.
	for _, p := range []*reviewPatient{l1, l2, l3, l4, n1, n2, n3} {
		planCatCow(e, &ruleSide{clinician: clinC, patientID: p.id})
	}
	clock.advance(8 * 24 * time.Hour)
	e.reauth()
	now := clock.now()
	at := func(day int) time.Time { return dayStart(now, day) }
	push := func(p *reviewPatient, muts ...*hepv1.Mutation) { p.ph.pushAt(clock.now(), muts...) }
	logsOn := func(p *reviewPatient, days ...int) {
		var muts []*hepv1.Mutation
		for _, d := range days {
			muts = append(muts, logMutation(0, validLog(newID(), at(d))))
		}
		push(p, muts...)
	}

	// Urgent: one red-flag report for u1, then two for u2 (count beats age).
	red := func(p *reviewPatient) {
		if _, err := e.screening.ReportRedFlags(e.as(clinC), &hepv1.ReportRedFlagsRequest{PatientId: p.id,
			Symptoms: []hepv1.RedFlagSymptom{hepv1.RedFlagSymptom_RED_FLAG_SYMPTOM_PROGRESSIVE_LEG_WEAKNESS}}); err != nil {
			t.Fatal(err)
		}
	}
	red(u1)
	red(u2)
	red(u2)
	// Open routine alerts: two severe check-ins for o1 (one alert with two
	// occurrences), then one for o2,
	// then one for o3 (same count: the older first).
	severe := func(p *reviewPatient, n int) {
		var muts []*hepv1.Mutation
		for k := range n {
			muts = append(muts, checkinMutation(0, scoreCheckin(now.Add(-time.Duration(k+1)*time.Minute), 8)))
		}
		push(p, muts...)
	}
	severe(o1, 2)
	severe(o2, 1)
	severe(o3, 1)
	// Worsening: a check-in a day for two weeks, the last 7 days higher;
	// the PAIN_WORSENING alert it raises is acknowledged, so only the
	// trend remains.
	worse := func(p *reviewPatient, previous, recent int32) {
		var muts []*hepv1.Mutation
		for d := -13; d <= 0; d++ {
			s := previous
			if d > -7 {
				s = recent
			}
			muts = append(muts, checkinMutation(0, scoreCheckin(at(d), s)))
		}
		push(p, muts...)
		open := e.listAlerts(clinC, &hepv1.ListAlertsRequest{PatientId: p.id, Status: hepv1.AlertStatus_ALERT_STATUS_OPEN})
		if len(open) != 1 || open[0].Kind != kindWorsening {
			t.Fatalf("%s: open alerts %v, want one PAIN_WORSENING", p.name, open)
		}
		e.ack(clinC, open[0], "Reviewed the trend; follow-up booked.")
	}
	worse(w1, 1, 5)
	worse(w2, 2, 5)
	worse(w3, 3, 6)
	// Low adherence over the 7 closed days: 1, 2, 3 and 3 of 7.
	logsOn(l1, -1)
	logsOn(l2, -1, -2)
	logsOn(l3, -1, -2, -3)
	logsOn(l4, -2, -3, -4)
	// Inactive: never, 6 days, 4 days (no plan: nothing prescribed).
	logsOn(i2, -6)
	logsOn(i3, -4)
	// On track: every day of the window, or (no plan) a session today.
	for _, p := range []*reviewPatient{n1, n2, n3} {
		logsOn(p, -7, -6, -5, -4, -3, -2, -1)
	}
	push(n4, logMutation(0, validLog(newID(), now.Add(-time.Minute))))
	push(n5, logMutation(0, validLog(newID(), now.Add(-time.Minute))))

	// Other teams' patients in need: never in C's list.
	if _, err := e.screening.ReportRedFlags(e.as(callerPatientA), &hepv1.ReportRedFlagsRequest{
		Symptoms: []hepv1.RedFlagSymptom{hepv1.RedFlagSymptom_RED_FLAG_SYMPTOM_SADDLE_NUMBNESS}}); err != nil {
		t.Fatal(err)
	}

	since := func(p *reviewPatient, kind hepv1.AlertKind) string {
		var oldest time.Time
		for _, a := range e.alertsOfKind(clinC, p.id, kind) {
			if ct := a.CreateTime.AsTime(); oldest.IsZero() || ct.Before(oldest) {
				oldest = ct
			}
		}
		return oldest.UTC().Format("2006-01-02 15:04 MST")
	}
	type want struct {
		p      *reviewPatient
		tier   hepv1.TriageTier
		reason string
	}
	const (
		urgent = hepv1.TriageTier_TRIAGE_TIER_URGENT
		open   = hepv1.TriageTier_TRIAGE_TIER_OPEN_ALERTS
		worsen = hepv1.TriageTier_TRIAGE_TIER_WORSENING
		low    = hepv1.TriageTier_TRIAGE_TIER_LOW_ADHERENCE
		idle   = hepv1.TriageTier_TRIAGE_TIER_INACTIVE
		fine   = hepv1.TriageTier_TRIAGE_TIER_ON_TRACK
	)
	wants := []want{
		{u2, urgent, "2 red-flag reports, open since " + since(u2, kindRedFlag)},
		{u1, urgent, "1 red-flag report, open since " + since(u1, kindRedFlag)},
		{o1, open, "2 severe pain check-ins (low back), open since " + since(o1, kindSevere)},
		{o2, open, "1 severe pain check-in (low back), open since " + since(o2, kindSevere)},
		{o3, open, "1 severe pain check-in (low back), open since " + since(o3, kindSevere)},
		{w1, worsen, "pain worsening: 7-day mean up 4.0 points"},
		{w2, worsen, "pain worsening: 7-day mean up 3.0 points"},
		{w3, worsen, "pain worsening: 7-day mean up 3.0 points"},
		{l1, low, "low adherence: 1 of 7 sessions (14%) in the last 7 days"},
		{l2, low, "low adherence: 2 of 7 sessions (29%) in the last 7 days"},
		{l3, low, "low adherence: 3 of 7 sessions (43%) in the last 7 days"},
		{l4, low, "low adherence: 3 of 7 sessions (43%) in the last 7 days"},
		{i1, idle, "inactive: no session logged yet"},
		{i2, idle, "inactive: no session for 6 days"},
		{i3, idle, "inactive: no session for 4 days"},
		{n2, fine, "on track"},
		{n5, fine, "on track"},
		{n3, fine, "on track"},
		{n4, fine, "on track"},
		{n1, fine, "on track"},
	}
	if len(wants) != len(all) {
		t.Fatalf("%d expectations for %d patients", len(wants), len(all))
	}

	r, err := e.review.ListTriage(e.as(clinC), &hepv1.ListTriageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Total != 20 || len(r.Entries) != 20 || r.NextPageToken != "" {
		t.Fatalf("ListTriage: total %d, %d entries, next %q; want all 20 on one page", r.Total, len(r.Entries), r.NextPageToken)
	}
	var got, exp []string
	for i, en := range r.Entries {
		w := wants[i]
		got = append(got, fmt.Sprintf("%d %s %v %q", en.Rank, en.DisplayName, en.Tier, en.Reason))
		exp = append(exp, fmt.Sprintf("%d %s %v %q", i+1, w.p.name, w.tier, w.reason))
		if en.PatientId != w.p.id {
			t.Errorf("rank %d is %s (%s), want %s (%s)", i+1, en.DisplayName, en.PatientId, w.p.name, w.p.id)
		}
	}
	if strings.Join(got, "\n") != strings.Join(exp, "\n") {
		t.Errorf("triage order:\n got:\n%s\n want:\n%s", strings.Join(got, "\n"), strings.Join(exp, "\n"))
	}

	// The figures behind the reasons.
	byID := map[string]*hepv1.TriageEntry{}
	for _, en := range r.Entries {
		byID[en.PatientId] = en
	}
	check := func(p *reviewPatient, urgentN, openN, occN int32, delta float64, hasDelta bool, adherence float64, days int32) {
		t.Helper()
		en := byID[p.id]
		if en == nil {
			t.Errorf("%s missing", p.name)
			return
		}
		if en.OpenUrgentAlerts != urgentN || en.OpenAlerts != openN || en.OpenOccurrences != occN || en.HasPainDelta != hasDelta || (hasDelta && en.PainDelta != delta) ||
			en.AdherencePercent != adherence || en.DaysSinceActivity != days || (openN > 0) != (en.OldestOpenAlertTime != nil) {
			t.Errorf("%s: urgent %d open %d (%d occurrences) delta %v/%v adherence %v days %d oldest %v; want %d %d (%d) %v/%v %v %d",
				p.name, en.OpenUrgentAlerts, en.OpenAlerts, en.OpenOccurrences, en.PainDelta, en.HasPainDelta, en.AdherencePercent, en.DaysSinceActivity,
				en.OldestOpenAlertTime, urgentN, openN, occN, delta, hasDelta, adherence, days)
		}
	}
	check(u2, 2, 2, 2, 0, false, -1, -1)
	check(u1, 1, 1, 1, 0, false, -1, -1)
	check(o1, 0, 1, 2, 0, false, -1, -1)
	check(w1, 0, 0, 0, 4, true, -1, -1)
	check(w3, 0, 0, 0, 3, true, -1, -1)
	check(l1, 0, 0, 0, 0, false, 14.29, 1)
	check(l4, 0, 0, 0, 0, false, 42.86, 2)
	check(i1, 0, 0, 0, 0, false, -1, -1)
	check(i2, 0, 0, 0, 0, false, -1, 6)
	check(n1, 0, 0, 0, 0, false, 100, 1)
	check(n4, 0, 0, 0, 0, false, -1, 0)

	// Pages of 7 walk the same order: 7, 7, 6.
	var paged []*hepv1.TriageEntry
	req := &hepv1.ListTriageRequest{PageSize: 7}
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		pr, err := e.review.ListTriage(e.as(clinC), req)
		if err != nil {
			t.Fatal(err)
		}
		if pr.Total != 20 || len(pr.Entries) != []int{7, 7, 6}[pages] {
			t.Errorf("page %d: total %d, %d entries", pages, pr.Total, len(pr.Entries))
		}
		paged = append(paged, pr.Entries...)
		if pr.NextPageToken == "" {
			break
		}
		req.PageToken = pr.NextPageToken
	}
	if len(paged) != len(r.Entries) {
		t.Fatalf("paged %d entries, want %d", len(paged), len(r.Entries))
	}
	for i := range paged {
		if !proto.Equal(paged[i], r.Entries[i]) {
			t.Errorf("paged entry %d = %v, want %v", i, paged[i], r.Entries[i])
		}
	}

	// Other clinicians see their own teams only.
	for caller, mine := range map[string]string{callerClinA: e.patientA, callerClinB: e.patientB} {
		tr, err := e.review.ListTriage(e.as(caller), &hepv1.ListTriageRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if tr.Total != 1 || len(tr.Entries) != 1 || tr.Entries[0].PatientId != mine {
			t.Errorf("%s's triage = %v, want only %s", caller, tr.Entries, mine)
		}
	}
	if e := byID[e.patientA]; e != nil {
		t.Errorf("patient A is in clinician C's triage: %v", e)
	}
	ranks := make([]int, 0, len(paged))
	for _, en := range paged {
		ranks = append(ranks, int(en.Rank))
	}
	if !sort.IntsAreSorted(ranks) || ranks[0] != 1 || ranks[len(ranks)-1] != 20 {
		t.Errorf("ranks %v", ranks)
	}
}
