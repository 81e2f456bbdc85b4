package rpc

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

func messageMutation(id, body string) *hepv1.Mutation {
	return &hepv1.Mutation{Change: &hepv1.Mutation_Message{Message: &hepv1.PatientMessage{Id: id, Body: body, SentTime: timestamppb.Now()}}}
}

// TestMessagesOverGRPC: a patient and a clinician write to each other over
// the real server; bad input is refused with field violations and changes
// nothing; the read marks travel both ways; another team cannot read the
// thread.
func TestMessagesOverGRPC(t *testing.T) {
	e := newEnv(t)
	mc := hepv1.NewMessageServiceClient(e.conn)
	clin := e.as(callerClinA)
	before, _ := e.snapshot()
	for _, c := range []struct {
		name  string
		call  func() error
		code  codes.Code
		field string
	}{
		{"empty", func() error {
			_, err := mc.SendMessage(clin, &hepv1.SendMessageRequest{PatientId: e.patientA})
			return err
		}, codes.InvalidArgument, "body"},
		{"too long", func() error {
			_, err := mc.SendMessage(clin, &hepv1.SendMessageRequest{PatientId: e.patientA, Body: strings.Repeat("é", 2001)})
			return err
		}, codes.InvalidArgument, "body"},
		{"control characters", func() error {
			_, err := mc.SendMessage(clin, &hepv1.SendMessageRequest{PatientId: e.patientA, Body: "hi\x00"})
			return err
		}, codes.InvalidArgument, "body"},
		{"read mark 0", func() error {
			_, err := mc.MarkMessagesRead(clin, &hepv1.MarkMessagesReadRequest{PatientId: e.patientA})
			return err
		}, codes.InvalidArgument, "read_through"},
		{"read mark beyond", func() error {
			_, err := mc.MarkMessagesRead(clin, &hepv1.MarkMessagesReadRequest{PatientId: e.patientA, ReadThrough: 1})
			return err
		}, codes.InvalidArgument, "read_through"},
		{"another team's patient", func() error {
			_, err := mc.ListMessages(e.as(callerClinB), &hepv1.ListMessagesRequest{PatientId: e.patientA})
			return err
		}, codes.NotFound, ""},
	} {
		err := c.call()
		if status.Code(err) != c.code || (c.field != "" && !violationMentions(err, c.field)) {
			t.Errorf("%s: %v, want %v on %s", c.name, err, c.code, c.field)
		}
	}
	if after, _ := e.snapshot(); after != before {
		t.Fatal("a refused call changed data")
	}

	ph := e.phone(callerPatientA, e.deviceA)
	res := ph.push(messageMutation(newID(), "Is it normal that my leg tingles after bar hanging?"), messageMutation("not-a-uuid", "hi"))
	if res.Results[0].Status != applied || res.Results[1].Status != rejected || res.Results[1].Field != "message.id" {
		t.Fatalf("push: %v", res.Results)
	}
	tri, err := e.review.ListTriage(clin, &hepv1.ListTriageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range tri.Entries {
		if en.PatientId == e.patientA && en.UnreadMessages != 1 {
			t.Errorf("triage unread %d, want 1", en.UnreadMessages)
		}
	}
	sent, err := mc.SendMessage(clin, &hepv1.SendMessageRequest{PatientId: e.patientA, Body: "Please stop bar hanging until we talk tomorrow."})
	if err != nil || sent.Message.ThreadSeq != 2 || sent.Message.Sender != hepv1.MessageSender_MESSAGE_SENDER_CLINICIAN || sent.Message.SenderName == "" {
		t.Fatalf("send: %v %v", sent, err)
	}
	list, err := mc.ListMessages(clin, &hepv1.ListMessagesRequest{PatientId: e.patientA, PageSize: 1})
	if err != nil || len(list.Messages) != 1 || list.Messages[0].Id != sent.Message.Id || list.Thread.UnreadByTeam != 1 || list.NextPageToken == "" {
		t.Fatalf("list: %v %v", list, err)
	}
	page2, err := mc.ListMessages(clin, &hepv1.ListMessagesRequest{PatientId: e.patientA, PageSize: 1, PageToken: list.NextPageToken})
	if err != nil || len(page2.Messages) != 1 || page2.Messages[0].ThreadSeq != 1 || page2.NextPageToken != "" {
		t.Fatalf("page 2: %v %v", page2, err)
	}
	if _, err := mc.ListMessages(clin, &hepv1.ListMessagesRequest{PatientId: e.patientB, PageToken: list.NextPageToken}); status.Code(err) == codes.OK {
		t.Error("a page token of patient A's thread worked on patient B's")
	}
	mark, err := mc.MarkMessagesRead(clin, &hepv1.MarkMessagesReadRequest{PatientId: e.patientA, ReadThrough: 2})
	if err != nil || mark.Thread.ReadByTeamThrough != 2 || mark.Thread.UnreadByTeam != 0 || mark.Thread.TeamReadBy != e.clinAID {
		t.Fatalf("mark: %v %v", mark, err)
	}
	// The phone pulls the reply and the team's mark, then marks it read.
	ph.pull(100)
	th := pullRecord(t, e, hepv1.RecordKind_RECORD_KIND_MESSAGE_THREAD, "current").GetThread()
	if th.ReadByTeamThrough != 2 || th.UnreadByPatient != 1 {
		t.Errorf("the phone's thread: %v", th)
	}
	if m := pullRecord(t, e, hepv1.RecordKind_RECORD_KIND_MESSAGE, sent.Message.Id).GetMessage(); m.Body != sent.Message.Body {
		t.Errorf("the phone's copy: %v", m)
	}
	ph.pushOK(&hepv1.Mutation{Change: &hepv1.Mutation_MessagesRead{MessagesRead: &hepv1.MessagesRead{ReadThrough: 2}}})
	if th := pullRecord(t, e, hepv1.RecordKind_RECORD_KIND_MESSAGE_THREAD, "current").GetThread(); th.ReadByPatientThrough != 2 || th.UnreadByPatient != 0 {
		t.Errorf("after the phone read it: %v", th)
	}
	if last := ph.pull(100); last.RecordsHash != ph.hash() {
		t.Errorf("hash %s, phone %s", last.RecordsHash, ph.hash())
	}
}

// TestDueListInPull: the last page of a pull carries what is due over the
// next 14 days; a suspension empties it at the next pull, and a
// questionnaire slot is listed until answered.
func TestDueListInPull(t *testing.T) {
	e := newEnv(t)
	e.screenAll(callerClinA, e.patientA, absent)
	if _, err := e.setPlan(callerClinA, e.patientA, everyDay()); err != nil {
		t.Fatal(err)
	}
	lastPage := func() *hepv1.PullResponse {
		t.Helper()
		r, err := e.sync.Pull(e.as(callerPatientA), &hepv1.PullRequest{DeviceId: e.deviceA, PageSize: 1000})
		if err != nil || r.HasMore {
			t.Fatalf("Pull: %v %v", r, err)
		}
		return r
	}
	r := lastPage()
	// Every day of the week: the two (or three) Monday-Sunday weeks the 14
	// days touch, 7 sessions each but where the plan's start (today) cuts
	// the first.
	today := hep.DateOf(time.Now(), lisbon)
	weeks := 2
	if today.Weekday() != time.Monday {
		weeks = 3
	}
	if len(r.Due) != weeks || r.TimeZone != "Europe/Lisbon" || r.Due[0].Kind != hepv1.DueKind_DUE_KIND_WEEKLY_SESSIONS || r.Due[0].ExerciseId != catCow ||
		fmtDay(r.Due[0].Day) != today.String() || r.Due[1].Sessions != 7 || !strings.HasPrefix(r.Due[1].Id, "week/cat-cow/") {
		t.Fatalf("due %v in %s", r.Due, r.TimeZone)
	}
	a := assignPSFS(e, &ruleSide{clinician: callerClinA, patientID: e.patientA}, 0, 0)
	r = lastPage()
	if len(r.Due) != weeks+1 || r.Due[0].Kind != hepv1.DueKind_DUE_KIND_QUESTIONNAIRE || r.Due[0].Slot.AssignmentId != a {
		t.Fatalf("with a questionnaire: %v", r.Due)
	}
	e.screen(callerClinA, e.patientA, answers(pregnancy, present)) // cat-cow waits for clearance
	if r = lastPage(); len(r.Due) != 1 {
		t.Errorf("after the suspension: %v", r.Due)
	}
}

func fmtDay(d *hepv1.Date) string { return dateFromProto(d).String() }

// TestReminderPreferences: the phone and the care team set when reminders
// come; bad preferences are refused with field violations; the due list's
// remind times follow them, on the patient's clock.
func TestReminderPreferences(t *testing.T) {
	e := newEnv(t)
	mc := hepv1.NewMessageServiceClient(e.conn)
	clin := e.as(callerClinA)
	got, err := mc.GetReminderPreferences(clin, &hepv1.GetReminderPreferencesRequest{PatientId: e.patientA})
	if err != nil || got.Preferences.WindowStartMinute != 540 || got.Preferences.WindowEndMinute != 1200 || got.Preferences.SetBy != "" {
		t.Fatalf("defaults: %v %v", got, err)
	}
	before, _ := e.snapshot()
	for field, p := range map[string]*hepv1.ReminderPreferences{
		"preferences.window_start_minute": {WindowStartMinute: -1, WindowEndMinute: 60},
		"preferences.window_end_minute":   {WindowStartMinute: 600, WindowEndMinute: 600},
		"preferences.quiet_days[1]":       {WindowStartMinute: 0, WindowEndMinute: 60, QuietDays: []hepv1.Weekday{1, 1}},
		"preferences.quiet_days[0]":       {WindowStartMinute: 0, WindowEndMinute: 60, QuietDays: []hepv1.Weekday{9}},
	} {
		if _, err := mc.SetReminderPreferences(clin, &hepv1.SetReminderPreferencesRequest{PatientId: e.patientA, Preferences: p}); !violationMentions(err, field) {
			t.Errorf("%v: %v, want a violation of %s", p, err, field)
		}
	}
	if after, _ := e.snapshot(); after != before {
		t.Fatal("refused preferences changed data")
	}
	set, err := mc.SetReminderPreferences(clin, &hepv1.SetReminderPreferencesRequest{PatientId: e.patientA,
		Preferences: &hepv1.ReminderPreferences{WindowStartMinute: 7*60 + 30, WindowEndMinute: 1320}})
	if err != nil || set.Preferences.SetBy != e.clinAID {
		t.Fatalf("set: %v %v", set, err)
	}

	// The phone makes tomorrow quiet, and sets an invalid window (refused).
	tomorrow := hep.DateOf(time.Now(), lisbon).AddDays(1)
	ph := e.phone(callerPatientA, e.deviceA)
	res := ph.push(&hepv1.Mutation{Change: &hepv1.Mutation_ReminderPreferences{ReminderPreferences: &hepv1.ReminderPreferences{
		WindowStartMinute: 18 * 60, WindowEndMinute: 21 * 60, QuietDays: []hepv1.Weekday{weekdayToProto(tomorrow.Weekday())}}}},
		&hepv1.Mutation{Change: &hepv1.Mutation_ReminderPreferences{ReminderPreferences: &hepv1.ReminderPreferences{WindowStartMinute: 1500}}})
	if res.Results[0].Status != applied || res.Results[1].Status != rejected || res.Results[1].Field != "reminder_preferences.window_start_minute" {
		t.Fatalf("push: %v", res.Results)
	}
	e.screenAll(callerClinA, e.patientA, absent)
	spec := item(catCow)
	spec.Frequency = &hepv1.Frequency{TimesPerDay: 1, Weekdays: []hepv1.Weekday{1, 2, 3, 4, 5, 6, 7}}
	if _, err := e.setPlan(callerClinA, e.patientA, spec); err != nil {
		t.Fatal(err)
	}
	r, err := e.sync.Pull(e.as(callerPatientA), &hepv1.PullRequest{DeviceId: e.deviceA, PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if p := r.ReminderPreferences; p.WindowStartMinute != 18*60 || p.SetBy != e.deviceA || len(p.QuietDays) != 1 {
		t.Errorf("pulled preferences %v", p)
	}
	for _, d := range r.Due {
		day := dateFromProto(d.Day)
		switch {
		case day.Weekday() == tomorrow.Weekday() && d.RemindTime != nil:
			t.Errorf("a reminder on a quiet day: %v", d)
		case day.Weekday() != tomorrow.Weekday() && tomorrow.Before(day) && (d.RemindTime == nil || !d.RemindTime.AsTime().Equal(time.Date(day.Year, time.Month(day.Month), day.Day, 18, 0, 0, 0, lisbon))):
			t.Errorf("%s: remind at %v, want 18:00 in Lisbon", day, d.RemindTime)
		}
	}
}
