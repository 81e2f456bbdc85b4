package heptest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

func resMessages(patientID string) string { return resPatient(patientID) + "/messages" }

func (c *clinic) patientMessage(body string) hep.Message {
	now := c.clock.Now()
	return hep.Message{ID: newUUID(), Body: body, SentTime: now, PhoneSentTime: now}
}

func mMessage(m hep.Message) hep.Mutation { return hep.Mutation{Message: &m} }

func mRead(through int64) hep.Mutation { return hep.Mutation{MessagesRead: &through} }

func testMessages(t *testing.T, open OpenFunc) {
	t.Run("Thread", func(t *testing.T) {
		c := newClinic(t, open)
		p := c.patient.ID
		ph := c.newPhone(c.device)
		hello := c.patientMessage("My back is stiff in the mornings. Should I still do cat-cow?")
		rs := ph.push(ph.batch(mMessage(hello), mMessage(c.patientMessage(strings.Repeat("x", hep.MaxMessageLen+1))),
			mMessage(c.patientMessage("  \n ")), mRead(5)))
		for i, want := range []string{"", "message.body", "message.body", "messages_read.read_through"} {
			if (want == "") != (rs[i].Status == hep.MutationApplied) || rs[i].Field != want {
				t.Errorf("mutation %d: %+v, want field %q", i, rs[i], want)
			}
		}
		reused := hello
		reused.Body = "something else"
		if rs := ph.push(ph.batch(mMessage(hello), mMessage(reused))); rs[0].Status != hep.MutationApplied ||
			rs[1].Status != hep.MutationRejected || rs[1].Field != "message.id" {
			t.Errorf("replay and reuse: %+v", rs)
		}
		changes := ph.pull(100)
		if got := keys(changes); len(got) != 2 || got[0] != "MESSAGE "+hello.ID || got[1] != "MESSAGE_THREAD current" {
			t.Fatalf("pulled %v", got)
		}
		m := ph.held[entryKey{hep.KindMessage, hello.ID}].Message
		if m.Sender != hep.SenderPatient || m.SenderID != c.device.ID || m.ThreadSeq != 1 || m.Body != hello.Body {
			t.Errorf("pulled message %+v", m)
		}

		// The care team: triage counts the unread message.
		tctx, _ := c.doctor("review.triage")
		facts, _, err := c.store.TriageFacts(tctx, c.clinician.ID, c.clock.Now())
		if err != nil || len(facts) != 1 || facts[0].UnreadMessages != 1 {
			t.Fatalf("triage facts %+v %v", facts, err)
		}
		c.clock.Advance(time.Minute)
		sctx, sactor := c.doctor("message.send")
		var reply hep.Message
		ev := c.audited(func() {
			if reply, err = c.store.SendMessage(sctx, p, "Yes, gently, and stop if it hurts more."); err != nil {
				t.Fatal(err)
			}
		})
		if reply.ID == "" {
			t.Fatal("no reply")
		}
		c.wantEvent("SendMessage", ev, sactor, p, resMessages(p)+"/"+reply.ID, hep.OutcomeOK)
		if reply.ThreadSeq != 2 || reply.Sender != hep.SenderClinician || reply.SenderID != c.clinician.ID || reply.SenderName != c.clinician.DisplayName {
			t.Errorf("reply %+v", reply)
		}
		c.notAudited("an empty message", func() {
			if _, err := c.store.SendMessage(sctx, p, ""); hep.ErrorCode(err) != hep.CodeInvalid {
				t.Errorf("empty: %v", err)
			}
		})
		c.notAudited("an unknown patient", func() {
			if _, err := c.store.SendMessage(sctx, newUUID(), "hello"); hep.ErrorCode(err) != hep.CodeNotFound {
				t.Errorf("unknown patient: %v", err)
			}
		})
		mctx, mactor := c.doctor("message.mark_read")
		var th hep.MessageThread
		ev = c.audited(func() {
			if th, err = c.store.MarkMessagesRead(mctx, p, 1); err != nil {
				t.Fatal(err)
			}
		})
		c.wantEvent("MarkMessagesRead", ev, mactor, p, resMessages(p), hep.OutcomeOK)
		if th.ReadByTeamThrough != 1 || th.TeamReadBy != c.clinician.ID || th.UnreadByTeam != 0 || th.UnreadByPatient != 1 || th.LastThreadSeq != 2 {
			t.Errorf("thread %+v", th)
		}
		c.notAudited("reading beyond the thread", func() {
			if _, err := c.store.MarkMessagesRead(mctx, p, 3); hep.ErrorCode(err) != hep.CodeInvalid {
				t.Errorf("beyond: %v", err)
			}
		})
		if th, err := c.store.MarkMessagesRead(mctx, p, 1); err != nil || th.ReadByTeamThrough != 1 {
			t.Errorf("again: %+v %v", th, err)
		}

		// The phone pulls the reply and the mark, and reads the reply.
		changes = ph.pull(100)
		if got := keys(changes); len(got) != 2 || got[0] != "MESSAGE "+reply.ID || got[1] != "MESSAGE_THREAD current" {
			t.Fatalf("pulled %v", got)
		}
		if th := ph.held[entryKey{hep.KindThread, hep.CurrentID}].Thread; th.ReadByTeamThrough != 1 || th.UnreadByPatient != 1 {
			t.Errorf("the phone's thread %+v", th)
		}
		if rs := ph.push(ph.batch(mRead(2), mRead(1))); rs[0].Status != hep.MutationApplied || rs[1].Status != hep.MutationApplied {
			t.Errorf("read marks: %+v", rs)
		}
		ph.pull(100)
		if th := ph.held[entryKey{hep.KindThread, hep.CurrentID}].Thread; th.ReadByPatientThrough != 2 || th.UnreadByPatient != 0 {
			t.Errorf("after reading: %+v", th)
		}

		lctx, lactor := c.doctor("message.list")
		var list []hep.Message
		ev = c.audited(func() {
			if list, th, err = c.store.ListMessages(lctx, hep.MessageFilter{PatientID: p, Limit: 10}); err != nil {
				t.Fatal(err)
			}
		})
		c.wantEvent("ListMessages", ev, lactor, p, resMessages(p), hep.OutcomeOK)
		if len(list) != 2 || list[0].ID != reply.ID || list[1].ID != hello.ID || th.ReadByPatientThrough != 2 {
			t.Fatalf("listed %+v, %+v", list, th)
		}
		if list, _, _ := c.store.ListMessages(lctx, hep.MessageFilter{PatientID: p, BeforeSeq: 2, Limit: 10}); len(list) != 1 || list[0].ID != hello.ID {
			t.Errorf("second page %+v", list)
		}
		if _, _, err := c.store.ListMessages(lctx, hep.MessageFilter{PatientID: newUUID(), Limit: 10}); hep.ErrorCode(err) != hep.CodeNotFound {
			t.Errorf("unknown patient: %v", err)
		}
	})

	t.Run("RateLimits", func(t *testing.T) {
		c := newClinic(t, open)
		p := c.patient.ID
		sctx, _ := c.doctor("message.send")
		for i := 0; i < hep.MaxTeamMessagesRate; i++ {
			if _, err := c.store.SendMessage(sctx, p, fmt.Sprintf("reminder %d", i)); err != nil {
				t.Fatal(err)
			}
		}
		c.notAudited("past the team's rate", func() {
			if _, err := c.store.SendMessage(sctx, p, "one more"); hep.ErrorCode(err) != hep.CodeResourceExhausted {
				t.Errorf("past the rate: %v", err)
			}
		})
		ph := c.newPhone(c.device)
		var muts []hep.Mutation
		for i := 0; i < hep.MaxPatientMessagesRate; i++ {
			muts = append(muts, mMessage(c.patientMessage(fmt.Sprintf("question %d", i))))
		}
		ph.push(ph.batch(muts...))
		over := ph.batch(mLog(c.newLog("cat-cow")), mMessage(c.patientMessage("and another")))
		if _, err := ph.tryPush(over); hep.ErrorCode(err) != hep.CodeResourceExhausted {
			t.Fatalf("the phone past its rate: %v", err)
		}
		// Nothing of that push was stored; an hour later it goes through.
		c.clock.Advance(hep.MessageRateWindow + time.Second)
		if rs := ph.push(over); rs[0].Status != hep.MutationApplied || rs[1].Status != hep.MutationApplied || rs[0].Replayed {
			t.Errorf("the retried push: %+v", rs)
		}
	})

	t.Run("Notices", func(t *testing.T) {
		c := newClinic(t, open)
		ph := c.newPhone(c.device)
		rctx, _ := c.phone("screening.report_red_flags")
		a, err := c.store.ReportRedFlags(rctx, c.patient.ID, []hep.RedFlag{hep.RedFlagSaddleNumbness}, "")
		if err != nil {
			t.Fatal(err)
		}
		ph.pull(100)
		var notices []string
		for k, ch := range ph.held {
			if k.kind == hep.KindMessage && ch.Message.Sender == hep.SenderSystem {
				notices = append(notices, ch.Message.Body)
			}
		}
		if len(notices) != 1 || notices[0] != hep.NoticeRedFlagHold {
			t.Fatalf("notices after the report: %q", notices)
		}
		actx, _ := c.doctor("alert.acknowledge")
		if _, _, err := c.store.AcknowledgeAlert(actx, c.patient.ID, a.ID, "called; not an emergency", 0); err != nil {
			t.Fatal(err)
		}
		changes := ph.pull(100)
		found := false
		for _, ch := range changes {
			found = found || (ch.Message != nil && ch.Message.Body == hep.NoticeHoldLifted)
		}
		if !found {
			t.Errorf("no notice when the hold lifted: %v", keys(changes))
		}
	})
}
