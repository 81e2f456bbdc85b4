package hep_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

func iv(x int32) *int32 { return &x }

func psfs(t *testing.T) hep.Instrument {
	in, ok := hep.LookupInstrument(hep.InstrumentPSFS)
	if !ok {
		t.Fatal("no PSFS")
	}
	return in
}

func odi(t *testing.T) hep.Instrument {
	in, ok := hep.LookupInstrument(hep.InstrumentODI)
	if !ok {
		t.Fatal("no ODI")
	}
	return in
}

func psfsAnswers(ratings ...int32) []hep.Answer {
	var out []hep.Answer
	for i, r := range ratings {
		n := string(rune('1' + i))
		out = append(out, hep.Answer{LinkID: "activity-" + n + "-name", Text: "activity " + n},
			hep.Answer{LinkID: "activity-" + n + "-rating", Value: iv(r)})
	}
	return out
}

// odiAnswers answers the ten sections; -1 skips one.
func odiAnswers(vals ...int32) []hep.Answer {
	var out []hep.Answer
	for i, x := range vals {
		a := hep.Answer{LinkID: "section-" + itoa(i+1)}
		if x < 0 {
			a.Skipped = true
		} else {
			a.Value = iv(x)
		}
		out = append(out, a)
	}
	return out
}

func itoa(i int) string {
	if i >= 10 {
		return "1" + string(rune('0'+i-10))
	}
	return string(rune('0' + i))
}

func TestBuiltinInstruments(t *testing.T) {
	ins := hep.Instruments()
	if len(ins) != 2 || ins[0].ID != hep.InstrumentODI || ins[1].ID != hep.InstrumentPSFS {
		t.Fatalf("instruments: %v", ins)
	}
	p, o := psfs(t), odi(t)
	if p.Scoring != hep.ScoringMean || !p.HigherIsBetter || p.MCIDPoints != 2 || p.ScoreMax != 10 || !p.TextLicensed {
		t.Errorf("PSFS: %+v", p)
	}
	if o.Scoring != hep.ScoringODIPercent || o.HigherIsBetter || o.MCIDPoints != 10 || o.MCIDPercent != 30 ||
		o.PanelLOINC != "97908-8" || o.ScoreLOINC != "97909-6" || o.TextLicensed || o.MinScored != 8 {
		t.Errorf("ODI: %+v", o)
	}
	if n := len(o.Leaves()); n != 10 {
		t.Errorf("ODI has %d sections", n)
	}
	if n := len(p.Leaves()); n != 10 {
		t.Errorf("PSFS has %d answerable items", n)
	}
}

func TestParseInstrumentRefuses(t *testing.T) {
	for name, doc := range map[string]string{
		"not json":            `{`,
		"not a Questionnaire": `{"resourceType":"Patient","id":"x","url":"u","title":"t"}`,
		"no scoring":          `{"resourceType":"Questionnaire","id":"x","url":"u","title":"t"}`,
		"no mcid source": `{"resourceType":"Questionnaire","id":"x","url":"u","title":"t","extension":[
			{"url":"urn:hep:questionnaire:scoring","valueCode":"mean"},{"url":"urn:hep:questionnaire:score-min","valueDecimal":0},
			{"url":"urn:hep:questionnaire:score-max","valueDecimal":10},{"url":"urn:hep:questionnaire:mcid-points","valueDecimal":2}]}`,
		"no scored item": `{"resourceType":"Questionnaire","id":"x","url":"u","title":"t","extension":[
			{"url":"urn:hep:questionnaire:scoring","valueCode":"mean"},{"url":"urn:hep:questionnaire:score-min","valueDecimal":0},
			{"url":"urn:hep:questionnaire:score-max","valueDecimal":10},{"url":"urn:hep:questionnaire:mcid-points","valueDecimal":2},
			{"url":"urn:hep:questionnaire:mcid-source","valueString":"s"}],"item":[{"linkId":"a","type":"string"}]}`,
	} {
		if _, err := hep.ParseInstrument([]byte(doc)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

// TestGoldenScores pins the scoring rules to worked examples: the ODI's
// own instructions (all ten sections: 16 of 50 is 32%; one section
// skipped: 16 of 45 is 35.5%) and the PSFS's rule (mean of the ratings).
func TestGoldenScores(t *testing.T) {
	o, p := odi(t), psfs(t)
	for _, c := range []struct {
		name    string
		in      hep.Instrument
		answers []hep.Answer
		want    float64
		valid   bool
	}{
		{"ODI all ten, 16 points", o, odiAnswers(2, 1, 2, 2, 2, 2, 2, 1, 1, 1), 32, true},
		{"ODI one skipped, 16 points", o, odiAnswers(2, 1, 2, 2, 2, 2, 2, -1, 2, 1), 35.5, true},
		{"ODI none", o, odiAnswers(0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 0, true},
		{"ODI most", o, odiAnswers(5, 5, 5, 5, 5, 5, 5, 5, 5, 5), 100, true},
		{"ODI two skipped, 8 answered", o, odiAnswers(5, 5, 5, 5, 5, 5, 5, -1, -1, 5), 100, true},
		{"ODI three skipped: no score", o, odiAnswers(5, 5, 5, 5, 5, 5, -1, -1, -1, 5), 0, false},
		{"ODI one third", o, odiAnswers(1, 2, 2, 2, 2, 2, 2, 2, 0, -1), 33.3, true},
		{"PSFS three", p, psfsAnswers(3, 5, 4), 4, true},
		{"PSFS five", p, psfsAnswers(2, 3, 3, 4, 5), 3.4, true},
		{"PSFS thirds", p, psfsAnswers(1, 2, 2), 1.67, true},
	} {
		if err := hep.ValidateAnswers(c.in, c.answers); err != nil {
			t.Errorf("%s: invalid: %v", c.name, err)
			continue
		}
		s := hep.ScoreResponse(c.in, c.answers)
		if s.Valid != c.valid || (c.valid && s.Value != c.want) {
			t.Errorf("%s: score %+v, want %v (valid %v)", c.name, s, c.want, c.valid)
		}
	}
}

func TestValidateAnswers(t *testing.T) {
	o, p := odi(t), psfs(t)
	for _, c := range []struct {
		name    string
		in      hep.Instrument
		answers []hep.Answer
		field   string // "" means valid
	}{
		{"PSFS two activities", p, psfsAnswers(3, 4), "response.answers"},
		{"PSFS rating 11", p, psfsAnswers(3, 4, 11), "response.answers[5].value"},
		{"PSFS rating without name", p, append(psfsAnswers(3, 4, 5), hep.Answer{LinkID: "activity-4-rating", Value: iv(2)}), "response.answers"},
		{"PSFS skip not allowed", p, append(psfsAnswers(3, 4), hep.Answer{LinkID: "activity-3-name", Skipped: true},
			hep.Answer{LinkID: "activity-3-rating", Value: iv(1)}), "response.answers[4].skipped"},
		{"PSFS unknown item", p, append(psfsAnswers(3, 4, 5), hep.Answer{LinkID: "walking", Value: iv(2)}), "response.answers[6].link_id"},
		{"PSFS twice", p, append(psfsAnswers(3, 4, 5), hep.Answer{LinkID: "activity-1-rating", Value: iv(2)}), "response.answers[6].link_id"},
		{"PSFS value on a name", p, []hep.Answer{{LinkID: "activity-1-name", Value: iv(1)}}, "response.answers[0].value"},
		{"ODI nine", o, odiAnswers(1, 1, 1, 1, 1, 1, 1, 1, 1), "response.answers"},
		{"ODI option 6", o, odiAnswers(1, 1, 1, 1, 1, 6, 1, 1, 1, 1), "response.answers[5].value"},
		{"ODI skipped with a value", o, append(odiAnswers(1, 1, 1, 1, 1, 1, 1, 1, 1), hep.Answer{LinkID: "section-10", Skipped: true, Value: iv(1)}), "response.answers[9]"},
		{"ODI all skipped", o, odiAnswers(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1), ""},
		{"PSFS four", p, psfsAnswers(3, 4, 5, 6), ""},
	} {
		err := hep.ValidateAnswers(c.in, c.answers)
		if c.field == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		e, ok := err.(*hep.Error)
		if !ok || len(e.Violations) == 0 {
			t.Errorf("%s: err %v, want a violation of %s", c.name, err, c.field)
			continue
		}
		if e.Violations[0].Field != c.field {
			t.Errorf("%s: violation %v, want field %s", c.name, e.Violations, c.field)
		}
	}
}

func TestChangeOfMCID(t *testing.T) {
	o, p := odi(t), psfs(t)
	for _, c := range []struct {
		in           hep.Instrument
		base, latest float64
		want         hep.OutcomeChange
	}{
		{p, 3, 5, hep.OutcomeImproved},   // +2 points: higher is better
		{p, 3, 4.67, hep.OutcomeNone},    // +1.67
		{p, 6, 4, hep.OutcomeWorsened},   // -2
		{o, 40, 30, hep.OutcomeImproved}, // -10 points
		{o, 20, 14, hep.OutcomeImproved}, // -6 points, but 30% of 20
		{o, 20, 15, hep.OutcomeNone},     // -5 points, 25%
		{o, 30, 40, hep.OutcomeWorsened}, // +10
		{o, 10, 13, hep.OutcomeWorsened}, // +3 = 30% of 10
		{o, 0, 8, hep.OutcomeNone},       // no percentage of a zero baseline
	} {
		if got := hep.ChangeOf(c.in, c.base, c.latest); got != c.want {
			t.Errorf("%s %v -> %v: %s, want %s", c.in.ID, c.base, c.latest, got, c.want)
		}
	}
}

func TestDueSlots(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	// Weekly-multiple slots keep their weekday across the DST change of
	// 2026-11-01 in New York: the schedule is in days, not hours.
	a := hep.Assignment{ID: "a", Start: d(2026, 10, 20), EveryWeeks: 2, VisitDates: []hep.Date{d(2026, 11, 20), d(2026, 11, 6)}}
	got := hep.DueSlots(a, ny, d(2026, 10, 1), d(2026, 12, 31))
	want := []hep.Date{d(2026, 10, 20), d(2026, 11, 3), d(2026, 11, 17), d(2026, 12, 1), d(2026, 12, 15), d(2026, 12, 29)}
	// visits: 11-20 less 3 = 11-17 (already a slot: the visit's now), 11-06 less 3 = 11-03 (too)
	var days []hep.Date
	for _, s := range got {
		days = append(days, s.Due)
		if s.Due.Weekday() != time.Tuesday {
			t.Errorf("slot %s is a %s", s.Due, s.Due.Weekday())
		}
	}
	if len(days) != len(want) {
		t.Fatalf("slots %v, want %v", days, want)
	}
	for i := range want {
		if days[i] != want[i] {
			t.Fatalf("slots %v, want %v", days, want)
		}
	}
	if got[2].Visit != d(2026, 11, 20) || got[1].Visit != d(2026, 11, 6) || !got[0].Visit.IsZero() {
		t.Errorf("visits: %+v", got)
	}
	if got[0].SlotID() != "a/2026-10-20" {
		t.Errorf("slot id %s", got[0].SlotID())
	}
	// A window in the middle starts at the right multiple.
	mid := hep.DueSlots(a, ny, d(2026, 12, 2), d(2026, 12, 20))
	if len(mid) != 1 || mid[0].Due != d(2026, 12, 15) {
		t.Errorf("mid window: %+v", mid)
	}
	// End bounds the schedule; so does ending it (its day in the zone:
	// 2026-12-02 03:00 UTC is still 12-01 in New York).
	e := a
	e.End = d(2026, 11, 17)
	if n := len(hep.DueSlots(e, ny, d(2026, 10, 1), d(2026, 12, 31))); n != 3 {
		t.Errorf("with end: %d slots", n)
	}
	e = a
	e.EndTime = time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	if s := hep.DueSlots(e, ny, d(2026, 10, 1), d(2026, 12, 31)); len(s) != 4 || s[3].Due != d(2026, 12, 1) {
		t.Errorf("ended: %+v", s)
	}
	// Baseline only; a visit before the lead time falls on the start.
	b := hep.Assignment{ID: "b", Start: d(2026, 3, 7), VisitDates: []hep.Date{d(2026, 3, 8)}}
	if s := hep.DueSlots(b, ny, d(2026, 1, 1), d(2026, 12, 31)); len(s) != 1 || s[0].Due != d(2026, 3, 7) || s[0].Visit != d(2026, 3, 8) {
		t.Errorf("baseline and early visit: %+v", s)
	}
	if !hep.IsSlot(a, ny, d(2026, 11, 3), d(2026, 11, 3)) || hep.IsSlot(a, ny, d(2026, 11, 4), d(2026, 11, 30)) ||
		hep.IsSlot(a, ny, d(2026, 12, 1), d(2026, 11, 30)) {
		t.Error("IsSlot")
	}
	over := hep.OverdueSlots(a, ny, d(2026, 12, 4), map[hep.Date]bool{d(2026, 10, 20): true, d(2026, 11, 17): true})
	if len(over) != 2 || over[0].Due != d(2026, 11, 3) || over[1].Due != d(2026, 12, 1) {
		t.Errorf("overdue: %+v", over)
	}
	if over := hep.OverdueSlots(a, ny, d(2026, 12, 3), map[hep.Date]bool{d(2026, 10, 20): true, d(2026, 11, 3): true, d(2026, 11, 17): true}); len(over) != 0 {
		t.Errorf("a slot due 2 days ago is not overdue yet: %+v", over)
	}
}

// TestDueSlotsProperty checks, over many schedules, that every slot is a
// schedule day, within the window, unique and ordered, and that windows
// split anywhere give the same slots as the whole.
func TestDueSlotsProperty(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/Berlin")
	for seed := 0; seed < 300; seed++ {
		start := d(2026, 1, 1).AddDays(seed * 7 % 365)
		a := hep.Assignment{ID: "p", Start: start, EveryWeeks: int32(seed % 7)}
		for k := 0; k < seed%4; k++ {
			a.VisitDates = append(a.VisitDates, start.AddDays((seed*13+k*29)%200))
		}
		from, to := start.AddDays(-10), start.AddDays(400)
		all := hep.DueSlots(a, loc, from, to)
		for i, s := range all {
			if i > 0 && !all[i-1].Due.Before(s.Due) {
				t.Fatalf("seed %d: not ordered or not unique: %v", seed, all)
			}
			if s.Due.Before(start) || to.Before(s.Due) {
				t.Fatalf("seed %d: slot %s outside", seed, s.Due)
			}
		}
		cut := start.AddDays(seed % 300)
		left := hep.DueSlots(a, loc, from, cut)
		right := hep.DueSlots(a, loc, cut.AddDays(1), to)
		if len(left)+len(right) != len(all) {
			t.Fatalf("seed %d: split at %s gives %d+%d slots, whole %d", seed, cut, len(left), len(right), len(all))
		}
	}
}

func TestValidateAssignment(t *testing.T) {
	today := d(2026, 12, 7)
	ok := hep.AssignmentInput{InstrumentID: hep.InstrumentPSFS, EveryWeeks: 2, VisitDates: []hep.Date{d(2027, 1, 10)}}
	if err := hep.ValidateAssignment(ok, today); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in    hep.AssignmentInput
		field string
	}{
		{hep.AssignmentInput{InstrumentID: "sf-36"}, "instrument_id"},
		{hep.AssignmentInput{InstrumentID: "psfs", EveryWeeks: 53}, "every_weeks"},
		{hep.AssignmentInput{InstrumentID: "psfs", Start: d(2024, 1, 1)}, "start_date"},
		{hep.AssignmentInput{InstrumentID: "psfs", VisitDates: []hep.Date{d(2026, 12, 1)}}, "visit_dates[0]"},
		{hep.AssignmentInput{InstrumentID: "psfs", VisitDates: []hep.Date{d(2027, 1, 1), d(2027, 1, 1)}}, "visit_dates[1]"},
		{hep.AssignmentInput{InstrumentID: "psfs", End: d(2026, 12, 6)}, "end_date"},
	} {
		err := hep.ValidateAssignment(c.in, today)
		e, isErr := err.(*hep.Error)
		if !isErr || len(e.Violations) == 0 || e.Violations[0].Field != c.field {
			t.Errorf("%+v: %v, want %s", c.in, err, c.field)
		}
	}
}

func TestSeriesOf(t *testing.T) {
	p := psfs(t)
	rs := []hep.QuestionnaireResponse{
		{ID: "2", Slot: d(2026, 12, 1), Answers: psfsAnswers(5, 6, 5)},
		{ID: "1", Slot: d(2026, 11, 17), Answers: psfsAnswers(3, 4, 2)},
	}
	s := hep.SeriesOf(p, "a", rs)
	if len(s.Points) != 2 || *s.Baseline != 3 || *s.Latest != 5.33 || s.Delta != 2.33 || s.Change != hep.OutcomeImproved {
		t.Fatalf("series %+v", s)
	}
	one := hep.SeriesOf(p, "a", rs[:1])
	if one.Latest != nil || one.Change != hep.OutcomeUnknown {
		t.Errorf("one response: %+v", one)
	}
	if !strings.Contains(p.MCIDSource, "Stratford") {
		t.Error("PSFS MCID cites its source")
	}
}

func TestWithText(t *testing.T) {
	o := odi(t)
	raw := string(o.Raw)
	ours := strings.ReplaceAll(raw, `"display": "Statement `, `"display": "Clinic text `)
	in, err := o.WithText([]byte(ours))
	if err != nil {
		t.Fatal(err)
	}
	if !in.TextImported || !in.TextAvailable() || in.Leaves()[0].Options[2].Display != "Clinic text 2" || o.TextAvailable() {
		t.Errorf("with text: %+v", in.Leaves()[0])
	}
	if s := hep.ScoreResponse(in, odiAnswers(2, 1, 2, 2, 2, 2, 2, 1, 1, 1)); s.Value != 32 {
		t.Errorf("scored %v with the clinic's text", s)
	}
	for name, doc := range map[string]string{
		"an option's code":   strings.Replace(ours, `"code": "3"`, `"code": "three"`, 1),
		"an option less":     strings.Replace(ours, `"required": true`, `"required": false`, 1),
		"another url":        strings.Replace(ours, `"url": "urn:hep:questionnaire:odi"`, `"url": "urn:x"`, 1),
		"another direction":  strings.Replace(ours, `"valueBoolean": false`, `"valueBoolean": true`, 1),
		"the PSFS as an ODI": string(psfs(t).Raw),
	} {
		if _, err := o.WithText([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestOutcomeAlertsInTriage: the two questionnaire alerts, coalesced per
// assignment, rank a patient among those with open alerts, in words that
// name the instrument.
func TestOutcomeAlertsInTriage(t *testing.T) {
	p := psfs(t)
	a := hep.Assignment{ID: "0190a000-0000-7000-8000-000000000001", PatientID: "p1", InstrumentID: p.ID, Start: d(2026, 11, 2), EveryWeeks: 1}
	rs := []hep.QuestionnaireResponse{
		{ID: "r1", Slot: d(2026, 11, 2), Answers: psfsAnswers(6, 6, 6)},
		{ID: "r2", Slot: d(2026, 11, 9), Answers: psfsAnswers(5, 5, 5)},
		{ID: "r3", Slot: d(2026, 11, 16), Answers: psfsAnswers(4, 4, 3)},
	}
	if al := hep.FunctionWorsenedAlert(a, rs, "r2"); al != nil {
		t.Errorf("1 point worse alerted: %+v", al)
	}
	if al := hep.FunctionWorsenedAlert(a, rs, "r1"); al != nil {
		t.Errorf("the baseline alerted: %+v", al)
	}
	al := hep.FunctionWorsenedAlert(a, rs, "r3")
	if al == nil || al.Kind != hep.AlertFunctionWorsened || al.Subject != "psfs/"+a.ID || al.Trigger != "questionnaire_responses/r3" ||
		al.Summary != "Patient-Specific Functional Scale 3.67 on 2026-11-16, worse than the baseline 6 of 2026-11-02 by 2.33 (MCID 2 points)." {
		t.Fatalf("alert %+v", al)
	}
	over := hep.QuestionnaireOverdueAlert(a, hep.DueSlot{AssignmentID: a.ID, Due: d(2026, 11, 23)})
	if over.Trigger != "slot/"+a.ID+"/2026-11-23" || over.Subject != al.Subject {
		t.Errorf("overdue %+v", over)
	}
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	es := hep.Triage([]hep.TriageFacts{
		{PatientID: "p1", DisplayName: "A", Open: []hep.OpenAlert{
			{Kind: hep.AlertFunctionWorsened, Subject: al.Subject, Severity: hep.AlertRoutine, Occurrences: 2, CreateTime: now.Add(-time.Hour)},
			{Kind: hep.AlertQuestionnaireOverdue, Subject: al.Subject, Severity: hep.AlertRoutine, Occurrences: 1, CreateTime: now}}},
		{PatientID: "p2", DisplayName: "B", DaysSinceSession: 0},
	}, hep.DefaultThresholds())
	if es[0].Facts.PatientID != "p1" || es[0].Tier != hep.TierOpenAlerts ||
		!strings.HasPrefix(es[0].Reason, "Patient-Specific Functional Scale worse than baseline by the MCID in 2 responses; 1 overdue Patient-Specific Functional Scale") {
		t.Errorf("triage %+v", es[0])
	}
}
