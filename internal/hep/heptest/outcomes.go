package heptest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

func resQuestionnaires(patientID string) string { return resPatient(patientID) + "/questionnaires" }

func resAssignment(patientID, id string) string { return resQuestionnaires(patientID) + "/" + id }

func resResponses(patientID string) string { return resPatient(patientID) + "/questionnaire-responses" }

func qAns(link string, v int32) hep.Answer { return hep.Answer{LinkID: link, Value: &v} }

// psfs answers the PSFS with the ratings (3 to 5 activities).
func psfs(ratings ...int32) []hep.Answer {
	var out []hep.Answer
	for i, r := range ratings {
		n := string(rune('1' + i))
		out = append(out, hep.Answer{LinkID: "activity-" + n + "-name", Text: "gardening"}, qAns("activity-"+n+"-rating", r))
	}
	return out
}

// newResponse is a response of the clinic's patient for a slot, authored
// now.
func (c *clinic) newResponse(assignmentID string, slot hep.Date, answers []hep.Answer) hep.QuestionnaireResponse {
	now := c.clock.Now()
	return hep.QuestionnaireResponse{ID: newUUID(), AssignmentID: assignmentID, Slot: slot, AuthoredTime: now,
		CorrectedAuthoredTime: now, Answers: answers}
}

func mResponse(r hep.QuestionnaireResponse) hep.Mutation { return hep.Mutation{Response: &r} }

func (c *clinic) today() hep.Date { return hep.DateOf(c.clock.Now(), hep.LoadZone(c.patient.TimeZone)) }

func (c *clinic) assign(in hep.AssignmentInput) hep.Assignment {
	c.t.Helper()
	ctx, _ := c.doctor("outcome.assign")
	a, err := c.store.AssignQuestionnaire(ctx, c.patient.ID, in)
	if err != nil {
		c.t.Fatalf("AssignQuestionnaire: %v", err)
	}
	return a
}

func testOutcomes(t *testing.T, open OpenFunc) {
	t.Run("AssignValidatesAndAudits", func(t *testing.T) {
		c := newClinic(t, open)
		ctx, actor := c.doctor("outcome.assign")
		for name, in := range map[string]hep.AssignmentInput{
			"unknown instrument": {InstrumentID: "sf-36"},
			"every 53 weeks":     {InstrumentID: hep.InstrumentPSFS, EveryWeeks: 53},
			"visit before start": {InstrumentID: hep.InstrumentPSFS, VisitDates: []hep.Date{c.today().AddDays(-1)}},
		} {
			c.notAudited(name, func() {
				if _, err := c.store.AssignQuestionnaire(ctx, c.patient.ID, in); hep.ErrorCode(err) != hep.CodeInvalid {
					t.Errorf("%s: %v, want INVALID_ARGUMENT", name, err)
				}
			})
		}
		c.notAudited("ODI", func() {
			if _, err := c.store.AssignQuestionnaire(ctx, c.patient.ID, hep.AssignmentInput{InstrumentID: hep.InstrumentODI}); hep.ErrorCode(err) != hep.CodeFailedPrecondition {
				t.Errorf("ODI without its text: %v, want FAILED_PRECONDITION", err)
			}
		})
		c.notAudited("unknown patient", func() {
			if _, err := c.store.AssignQuestionnaire(ctx, newUUID(), hep.AssignmentInput{InstrumentID: hep.InstrumentPSFS}); hep.ErrorCode(err) != hep.CodeNotFound {
				t.Errorf("unknown patient: %v", err)
			}
		})
		var a hep.Assignment
		ev := c.audited(func() {
			var err error
			a, err = c.store.AssignQuestionnaire(ctx, c.patient.ID, hep.AssignmentInput{InstrumentID: hep.InstrumentPSFS, EveryWeeks: 4,
				VisitDates: []hep.Date{c.today().AddDays(30)}, End: c.today().AddDays(90)})
			if err != nil {
				t.Fatal(err)
			}
		})
		c.wantEvent("AssignQuestionnaire", ev, actor, c.patient.ID, resAssignment(c.patient.ID, a.ID), hep.OutcomeOK)
		if a.Start != c.today() || a.CreatedBy != c.clinician.ID || !a.CreateTime.Equal(c.clock.Now()) || len(a.VisitDates) != 1 || !a.Active() {
			t.Errorf("assignment %+v", a)
		}
		c.notAudited("second PSFS", func() {
			if _, err := c.store.AssignQuestionnaire(ctx, c.patient.ID, hep.AssignmentInput{InstrumentID: hep.InstrumentPSFS}); hep.ErrorCode(err) != hep.CodeFailedPrecondition {
				t.Errorf("second active PSFS: %v", err)
			}
		})
		lctx, lactor := c.doctor("outcome.list_assignments")
		var list []hep.AssignmentStatus
		var tz string
		ev = c.audited(func() {
			var err error
			if list, tz, err = c.store.ListAssignments(lctx, c.patient.ID, false); err != nil {
				t.Fatal(err)
			}
		})
		c.wantEvent("ListAssignments", ev, lactor, c.patient.ID, resQuestionnaires(c.patient.ID), hep.OutcomeOK)
		if len(list) != 1 || list[0].ID != a.ID || tz != c.patient.TimeZone || list[0].Start != a.Start || list[0].End != a.End ||
			list[0].VisitDates[0] != a.VisitDates[0] || list[0].EveryWeeks != 4 {
			t.Errorf("listed %+v in %s", list, tz)
		}

		ectx, eactor := c.doctor("outcome.end_assignment")
		c.clock.Advance(time.Hour)
		ev = c.audited(func() {
			ended, err := c.store.EndAssignment(ectx, c.patient.ID, a.ID)
			if err != nil || ended.Active() || ended.EndedBy != c.clinician.ID || !ended.EndTime.Equal(c.clock.Now()) {
				t.Errorf("EndAssignment: %+v %v", ended, err)
			}
		})
		c.wantEvent("EndAssignment", ev, eactor, c.patient.ID, resAssignment(c.patient.ID, a.ID), hep.OutcomeOK)
		c.notAudited("end twice", func() {
			if _, err := c.store.EndAssignment(ectx, c.patient.ID, a.ID); hep.ErrorCode(err) != hep.CodeFailedPrecondition {
				t.Errorf("ending twice: %v", err)
			}
		})
		other := c.env.patient(c.clinician.ID)
		c.notAudited("another patient's", func() {
			if _, err := c.store.EndAssignment(ectx, other.ID, a.ID); hep.ErrorCode(err) != hep.CodeNotFound {
				t.Errorf("ending it as another patient's: %v", err)
			}
		})
		if list, _, _ := c.store.ListAssignments(lctx, c.patient.ID, false); len(list) != 0 {
			t.Errorf("ended assignment listed: %+v", list)
		}
		if list, _, _ := c.store.ListAssignments(lctx, c.patient.ID, true); len(list) != 1 || list[0].Active() {
			t.Errorf("with ended: %+v", list)
		}
		// A new one may follow the ended one.
		c.assign(hep.AssignmentInput{InstrumentID: hep.InstrumentPSFS})
	})

	t.Run("ResponsesThroughSync", func(t *testing.T) {
		c := newClinic(t, open)
		a := c.assign(hep.AssignmentInput{InstrumentID: hep.InstrumentPSFS, EveryWeeks: 1})
		ph := c.newPhone(c.device)
		got := ph.pull(100)
		q, ok := ph.held[entryKey{hep.KindQuestionnaires, hep.CurrentID}]
		if !ok || len(q.Questionnaires.Assignments) != 1 || q.Questionnaires.Assignments[0].ID != a.ID ||
			q.Questionnaires.TimeZone != c.patient.TimeZone {
			t.Fatalf("pulled %v", keys(got))
		}
		today := c.today()
		r1 := c.newResponse(a.ID, today, psfs(2, 3, 4))
		r2 := c.newResponse(a.ID, today, psfs(3, 3, 4)) // the same slot again
		bad := c.newResponse(a.ID, today, psfs(2, 3, 40))
		early := c.newResponse(a.ID, today.AddDays(7), psfs(2, 3, 4))
		odd := c.newResponse(a.ID, today.AddDays(3), psfs(2, 3, 4))
		nobody := c.newResponse(newUUID(), today, psfs(2, 3, 4))
		rs := ph.push(ph.batch(mResponse(r1), mResponse(bad), mResponse(early), mResponse(odd), mResponse(nobody)))
		for i, want := range []string{"", "response.answers[5].value", "response.slot_date", "response.slot_date", "response.assignment_id"} {
			if (want == "") != (rs[i].Status == hep.MutationApplied) || rs[i].Field != want {
				t.Errorf("mutation %d: %+v, want field %q", i, rs[i], want)
			}
		}
		// A replay changes nothing; the same id with other content is
		// refused.
		replay := ph.push(ph.batch(mResponse(r1)))
		reused := r1
		reused.Answers = psfs(9, 9, 9)
		rr := ph.push(ph.batch(mResponse(reused)))
		if replay[0].Status != hep.MutationApplied || rr[0].Status != hep.MutationRejected || rr[0].Field != "response.id" {
			t.Errorf("replay %+v, reused %+v", replay, rr)
		}
		ph.pull(100)
		ph.push(ph.batch(mResponse(r2)))
		changes := ph.pull(100)
		if len(changes) != 2 || !changes[0].Deleted || changes[0].ID != r1.ID || changes[1].Deleted || changes[1].ID != r2.ID {
			t.Fatalf("after the second answer: %v", keys(changes))
		}
		held := ph.held[entryKey{hep.KindResponse, r2.ID}].Response
		if held.Supersedes != r1.ID || held.InstrumentID != hep.InstrumentPSFS || held.DeviceID != c.device.ID || held.Slot != today ||
			len(held.Answers) != 6 || *held.Answers[1].Value != 3 {
			t.Errorf("held %+v", held)
		}
		// The superseded response, pushed again, is still a replay: it
		// does not come back.
		if again := ph.push(ph.batch(mResponse(r1))); again[0].Status != hep.MutationApplied {
			t.Errorf("old replay %+v", again)
		}
		if changes := ph.pull(100); len(changes) != 0 {
			t.Errorf("a replay of a superseded response changed: %v", keys(changes))
		}

		lctx, lactor := c.doctor("outcome.list_responses")
		var list []hep.QuestionnaireResponse
		ev := c.audited(func() {
			var err error
			if list, err = c.store.ListQuestionnaireResponses(lctx, hep.ResponseFilter{PatientID: c.patient.ID, Limit: 10}); err != nil {
				t.Fatal(err)
			}
		})
		c.wantEvent("ListQuestionnaireResponses", ev, lactor, c.patient.ID, resResponses(c.patient.ID), hep.OutcomeOK)
		if len(list) != 1 || list[0].ID != r2.ID {
			t.Fatalf("listed %+v", list)
		}

		// A week later, the next slot; progress has the series.
		c.clock.Advance(7 * 24 * time.Hour)
		r3 := c.newResponse(a.ID, today.AddDays(7), psfs(6, 5, 6))
		if rs := ph.push(ph.batch(mResponse(r3))); rs[0].Status != hep.MutationApplied {
			t.Fatalf("second slot: %+v", rs)
		}
		list, _ = c.store.ListQuestionnaireResponses(lctx, hep.ResponseFilter{PatientID: c.patient.ID, Limit: 1})
		if len(list) != 1 || list[0].ID != r3.ID {
			t.Fatalf("newest first: %+v", list)
		}
		list, _ = c.store.ListQuestionnaireResponses(lctx, hep.ResponseFilter{PatientID: c.patient.ID, Limit: 5, BeforeSlot: r3.Slot, BeforeID: r3.ID})
		if len(list) != 1 || list[0].ID != r2.ID {
			t.Fatalf("second page: %+v", list)
		}
		list, _ = c.store.ListQuestionnaireResponses(lctx, hep.ResponseFilter{PatientID: c.patient.ID, AssignmentID: newUUID(), Limit: 5})
		if len(list) != 0 {
			t.Fatalf("another assignment's: %+v", list)
		}
		pctx, _ := c.doctor("review.progress")
		f, th, err := c.store.ProgressFacts(pctx, c.patient.ID, hep.Date{}, hep.Date{})
		if err != nil {
			t.Fatal(err)
		}
		p := hep.ComputeProgress(f, th, c.clock.Now())
		if len(p.Outcomes) != 1 || *p.Outcomes[0].Baseline != 3.33 || *p.Outcomes[0].Latest != 5.67 || p.Outcomes[0].Change != hep.OutcomeImproved {
			t.Errorf("progress outcomes %+v", p.Outcomes)
		}

		// Ending the assignment empties the phone's record; slots due
		// before the end may still be answered.
		ectx, _ := c.doctor("outcome.end_assignment")
		if _, err := c.store.EndAssignment(ectx, c.patient.ID, a.ID); err != nil {
			t.Fatal(err)
		}
		ph.pull(100)
		if q := ph.held[entryKey{hep.KindQuestionnaires, hep.CurrentID}]; len(q.Questionnaires.Assignments) != 0 {
			t.Errorf("ended assignment on the phone: %+v", q.Questionnaires)
		}
		c.clock.Advance(7 * 24 * time.Hour)
		late := c.newResponse(a.ID, today.AddDays(14), psfs(6, 5, 6))
		if rs := ph.push(ph.batch(mResponse(late))); rs[0].Status != hep.MutationRejected {
			t.Errorf("a slot after the end: %+v", rs)
		}
	})

	t.Run("Alerts", func(t *testing.T) {
		c := newClinic(t, open)
		a := c.assign(hep.AssignmentInput{InstrumentID: hep.InstrumentPSFS, EveryWeeks: 1})
		ph := c.newPhone(c.device)
		today := c.today()
		alerts := func(kind hep.AlertKind) []hep.Alert {
			t.Helper()
			list, err := c.store.ListAlerts(c.ctx(), hep.AlertFilter{PatientID: c.patient.ID, Kinds: []hep.AlertKind{kind}})
			if err != nil {
				t.Fatal(err)
			}
			return list
		}
		push := func(r hep.QuestionnaireResponse) {
			t.Helper()
			if rs := ph.push(ph.batch(mResponse(r))); rs[0].Status != hep.MutationApplied {
				t.Fatalf("push: %+v", rs)
			}
		}
		push(c.newResponse(a.ID, today, psfs(6, 6, 6)))
		c.clock.Advance(7 * 24 * time.Hour)
		push(c.newResponse(a.ID, today.AddDays(7), psfs(5, 5, 5))) // 1 worse: under the MCID
		if got := alerts(hep.AlertFunctionWorsened); len(got) != 0 {
			t.Fatalf("a change under the MCID alerted: %+v", got)
		}
		c.clock.Advance(7 * 24 * time.Hour)
		worse := c.newResponse(a.ID, today.AddDays(14), psfs(4, 4, 3)) // 2.33 worse
		push(worse)
		got := alerts(hep.AlertFunctionWorsened)
		if len(got) != 1 || got[0].Subject != "psfs/"+a.ID || got[0].Occurrences != 1 || got[0].Status != hep.AlertOpen ||
			got[0].Trigger != hep.ResponseTrigger(worse.ID) {
			t.Fatalf("FUNCTION_WORSENED: %+v", got)
		}
		if rs := ph.push(ph.batch(mResponse(worse))); rs[0].Status != hep.MutationApplied {
			t.Fatal(rs)
		}
		c.clock.Advance(7 * 24 * time.Hour)
		push(c.newResponse(a.ID, today.AddDays(21), psfs(2, 3, 3)))
		if got := alerts(hep.AlertFunctionWorsened); len(got) != 1 || got[0].Occurrences != 2 {
			t.Fatalf("a second worse response is an occurrence of the open alert: %+v", got)
		}

		// Slot 28 is missed; three days later it is overdue.
		c.clock.Advance(10 * 24 * time.Hour)
		sys := hep.WithActor(c.t.Context(), hep.Actor{ID: hep.SystemActorID, Role: hep.RoleAdmin, Action: "review.evaluate"})
		n, err := c.store.EvaluateAdherence(sys, c.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		over := alerts(hep.AlertQuestionnaireOverdue)
		if n != 1 || len(over) != 1 || over[0].Subject != "psfs/"+a.ID || over[0].Trigger != hep.SlotTrigger(hep.DueSlot{AssignmentID: a.ID, Due: today.AddDays(28)}) {
			t.Fatalf("EvaluateAdherence raised %d; overdue alerts %+v", n, over)
		}
		if n, err := c.store.EvaluateAdherence(sys, c.clock.Now()); err != nil || n != 0 {
			t.Errorf("evaluating again raised %d (%v)", n, err)
		}
		// Answering late does not take the alert back: the clinician
		// acknowledges it.
		push(c.newResponse(a.ID, today.AddDays(28), psfs(5, 5, 5)))
		if over := alerts(hep.AlertQuestionnaireOverdue); len(over) != 1 || over[0].Status != hep.AlertOpen {
			t.Errorf("after the late answer: %+v", over)
		}
	})

	t.Run("ImportedText", func(t *testing.T) {
		c := newClinic(t, open)
		admin := c.account(hep.RoleAdmin)
		odi, _ := hep.LookupInstrument(hep.InstrumentODI)
		withText := func(prefix string) hep.Instrument {
			in, err := odi.WithText([]byte(strings.ReplaceAll(string(odi.Raw), `"display": "Statement `, `"display": "`+prefix+` `)))
			if err != nil {
				t.Fatal(err)
			}
			return in
		}
		ictx, iactor := c.as(actorOf(admin), "outcome.import_text")
		psfs, _ := hep.LookupInstrument(hep.InstrumentPSFS)
		c.notAudited("PSFS import", func() {
			if _, err := c.store.ImportInstrumentText(ictx, psfs); hep.ErrorCode(err) != hep.CodeFailedPrecondition {
				t.Errorf("importing the PSFS: %v", err)
			}
		})
		var got hep.Instrument
		ev := c.audited(func() {
			var err error
			if got, err = c.store.ImportInstrumentText(ictx, withText("Ours")); err != nil {
				t.Fatal(err)
			}
		})
		c.wantEvent("ImportInstrumentText", ev, iactor, "", "instruments/odi", hep.OutcomeOK)
		if !got.TextImported || !strings.Contains(string(got.Raw), `"Ours 4"`) {
			t.Errorf("imported %+v", got)
		}
		lctx, lactor := c.doctor("outcome.list_instruments")
		var list []hep.Instrument
		ev = c.audited(func() {
			var err error
			if list, err = c.store.ListInstruments(lctx); err != nil {
				t.Fatal(err)
			}
		})
		c.wantEvent("ListInstruments", ev, lactor, "", "instruments", hep.OutcomeOK)
		if len(list) != 2 || list[0].ID != hep.InstrumentODI || !list[0].TextImported || list[1].TextImported {
			t.Fatalf("listed %+v", list)
		}
		a := c.assign(hep.AssignmentInput{InstrumentID: hep.InstrumentODI})
		ph := c.newPhone(c.device)
		ph.pull(100)
		q := ph.held[entryKey{hep.KindQuestionnaires, hep.CurrentID}].Questionnaires
		if len(q.Instruments) != 1 || !strings.Contains(string(q.Instruments[0].Raw), `"Ours 2"`) {
			t.Fatalf("the phone's instruments: %+v", q.Instruments)
		}
		// A newer import applies, and the phone pulls it.
		c.clock.Advance(time.Minute)
		if _, err := c.store.ImportInstrumentText(ictx, withText("Newer")); err != nil {
			t.Fatal(err)
		}
		changes := ph.pull(100)
		q = ph.held[entryKey{hep.KindQuestionnaires, hep.CurrentID}].Questionnaires
		if len(changes) != 1 || !strings.Contains(string(q.Instruments[0].Raw), `"Newer 2"`) {
			t.Fatalf("after the second import: %v", keys(changes))
		}
		var answers []hep.Answer
		for i := 1; i <= 10; i++ {
			answers = append(answers, qAns(fmt.Sprintf("section-%d", i), 3))
		}
		if rs := ph.push(ph.batch(mResponse(c.newResponse(a.ID, c.today(), answers)))); rs[0].Status != hep.MutationApplied {
			t.Fatalf("ODI response: %+v", rs)
		}
	})

	t.Run("AnotherPatientsAssignment", func(t *testing.T) {
		c := newClinic(t, open)
		other := c.env.patient(c.clinician.ID)
		ctx, _ := c.doctor("outcome.assign")
		a, err := c.store.AssignQuestionnaire(ctx, other.ID, hep.AssignmentInput{InstrumentID: hep.InstrumentPSFS})
		if err != nil {
			t.Fatal(err)
		}
		ph := c.newPhone(c.device)
		rs := ph.push(ph.batch(mResponse(c.newResponse(a.ID, c.today(), psfs(1, 2, 3)))))
		if rs[0].Status != hep.MutationRejected || rs[0].Field != "response.assignment_id" {
			t.Errorf("another patient's assignment: %+v", rs)
		}
		lctx, _ := c.doctor("outcome.list_responses")
		if _, err := c.store.ListQuestionnaireResponses(lctx, hep.ResponseFilter{PatientID: newUUID(), Limit: 5}); hep.ErrorCode(err) != hep.CodeNotFound {
			t.Errorf("unknown patient: %v", err)
		}
		if _, _, err := c.store.ListAssignments(lctx, newUUID(), true); hep.ErrorCode(err) != hep.CodeNotFound {
			t.Errorf("unknown patient: %v", err)
		}
	})
}
