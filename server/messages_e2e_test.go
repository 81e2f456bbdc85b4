//go:build unix

package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/hepclinic/hep/clients/hepclient"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestMessagesEndToEnd runs reminders and messages through the real hepd
// binary and the phone library: the phone's sync brings what is due over
// the next 14 days with remind times; the clinician writes while the phone
// is offline; the phone comes online, gets the message, reads it and
// replies; the clinician sees one unread message, in the thread and in
// triage, and that the patient read theirs.
func TestMessagesEndToEnd(t *testing.T) {
	t.Parallel()
	c := newClinic(t, t.TempDir())
	cc := c.srv.dial(t)
	screening := hepv1.NewScreeningServiceClient(cc)
	plans := hepv1.NewPlanServiceClient(cc)
	messages := hepv1.NewMessageServiceClient(cc)
	review := hepv1.NewReviewServiceClient(cc)
	patientID := c.createPatient(t, "Inês")

	var as []*hepv1.ScreeningAnswerInput
	for f := hepv1.ScreeningFlag_SCREENING_FLAG_PREGNANCY; f <= hepv1.ScreeningFlag_SCREENING_FLAG_ANTICOAGULANT_USE; f++ {
		as = append(as, &hepv1.ScreeningAnswerInput{Flag: f, Status: hepv1.FlagStatus_FLAG_STATUS_ABSENT})
	}
	_, err := screening.RecordScreeningAnswers(callCtx(t, c.clinicianTok, ""), &hepv1.RecordScreeningAnswersRequest{PatientId: patientID, Answers: as})
	must(t, "RecordScreeningAnswers", err)
	now := time.Now().UTC()
	_, err = plans.SetPlan(callCtx(t, c.clinicianTok, ""), &hepv1.SetPlanRequest{PatientId: patientID, Items: []*hepv1.PlanItemSpec{{
		ExerciseId: "cat-cow", Dose: &hepv1.Dose{Sets: 2, Reps: 10}, Frequency: &hepv1.Frequency{TimesPerDay: 2, Weekdays: []hepv1.Weekday{1, 2, 3, 4, 5, 6, 7}},
		StartDate: &hepv1.Date{Year: int32(now.Year()), Month: int32(now.Month()), Day: int32(now.Day())}}}})
	must(t, "SetPlan", err)

	code, err := c.api.device.CreateEnrollmentCode(callCtx(t, c.clinicianTok, ""), &hepv1.CreateEnrollmentCodeRequest{PatientId: patientID})
	must(t, "CreateEnrollmentCode", err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	phone, err := hepclient.Dial(ctx, c.srv.addr, hepclient.Options{StatePath: filepath.Join(t.TempDir(), "phone.db"),
		CallTimeout: 10 * time.Second, DeviceName: "Inês's phone"})
	must(t, "hepclient.Dial", err)
	defer phone.Close()
	must(t, "Enroll", phone.Enroll(ctx, code.GetCode()))
	must(t, "SetReminderPreferences", phone.SetReminderPreferences(ctx, &hepv1.ReminderPreferences{WindowStartMinute: 8 * 60, WindowEndMinute: 21 * 60}))
	res, err := phone.Sync(ctx)
	must(t, "Sync", err)
	if len(res.Due) < 13 || res.Reminders.GetWindowStartMinute() != 480 || res.TimeZone != "Europe/Lisbon" {
		t.Fatalf("due %d entries, reminders %v, zone %s", len(res.Due), res.Reminders, res.TimeZone)
	}
	lisbon, _ := time.LoadLocation("Europe/Lisbon")
	last := res.Due[len(res.Due)-1]
	if last.GetKind() != hepv1.DueKind_DUE_KIND_SESSIONS || last.GetSessions() != 2 || last.GetRemindTime() == nil ||
		last.GetRemindTime().AsTime().In(lisbon).Format("15:04") != "08:00" {
		t.Errorf("the last due entry %v", last)
	}

	// The clinician writes while the phone is offline.
	sent, err := messages.SendMessage(callCtx(t, c.clinicianTok, ""), &hepv1.SendMessageRequest{PatientId: patientID,
		Body: "Remember: slow and gentle, and stop if the pain spreads to your leg."})
	must(t, "SendMessage", err)

	// Online again: the phone gets it, reads it and replies.
	res, err = phone.Sync(ctx)
	if err != nil || !res.Converged {
		t.Fatalf("Sync: %+v %v", res, err)
	}
	thread, err := phone.Messages(ctx)
	must(t, "Messages", err)
	if len(thread) != 1 || thread[0].GetId() != sent.GetMessage().GetId() || thread[0].GetSenderName() == "" {
		t.Fatalf("the phone's thread: %v", thread)
	}
	must(t, "MarkMessagesRead", phone.MarkMessagesRead(ctx, thread[0].GetThreadSeq()))
	if _, err := phone.SendMessage(ctx, "Thanks. It does not spread, it just feels stiff."); err != nil {
		t.Fatal(err)
	}
	if thread, _ = phone.Messages(ctx); len(thread) != 2 || !thread[1].Pending {
		t.Errorf("the reply is not shown pending: %v", thread)
	}
	if res, err = phone.Sync(ctx); err != nil || !res.Converged {
		t.Fatalf("Sync: %+v %v", res, err)
	}

	list, err := messages.ListMessages(callCtx(t, c.clinicianTok, ""), &hepv1.ListMessagesRequest{PatientId: patientID})
	must(t, "ListMessages", err)
	if th := list.GetThread(); th.GetUnreadByTeam() != 1 || th.GetReadByPatientThrough() != 1 || len(list.GetMessages()) != 2 ||
		list.GetMessages()[0].GetSender() != hepv1.MessageSender_MESSAGE_SENDER_PATIENT {
		t.Errorf("the clinician's thread: %v", list)
	}
	// The export for the visit holds the thread: two Communications in the
	// Bundle, two rows in messages.csv.
	exports := hepv1.NewExportServiceClient(cc)
	exportOf := func(format hepv1.ExportFormat) []byte {
		t.Helper()
		st, err := exports.Export(callCtx(t, c.clinicianTok, ""), &hepv1.ExportRequest{PatientId: patientID, Format: format})
		must(t, "Export", err)
		var buf bytes.Buffer
		for {
			m, err := st.Recv()
			if err == io.EOF {
				return buf.Bytes()
			}
			must(t, "Export stream", err)
			buf.Write(m.GetData())
		}
	}
	if n := bytes.Count(exportOf(hepv1.ExportFormat_EXPORT_FORMAT_FHIR), []byte(`"resourceType":"Communication"`)); n != 2 {
		t.Errorf("%d Communications in the Bundle, want 2", n)
	}
	zipped := exportOf(hepv1.ExportFormat_EXPORT_FORMAT_CSV)
	z, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	must(t, "zip", err)
	rows := -1
	for _, f := range z.File {
		if f.Name == "messages.csv" {
			rc, err := f.Open()
			must(t, "open messages.csv", err)
			recs, err := csv.NewReader(rc).ReadAll()
			rc.Close()
			must(t, "read messages.csv", err)
			rows = len(recs) - 1
		}
	}
	if rows != 2 {
		t.Errorf("messages.csv has %d rows, want 2", rows)
	}

	tri, err := review.ListTriage(callCtx(t, c.clinicianTok, ""), &hepv1.ListTriageRequest{})
	must(t, "ListTriage", err)
	if len(tri.GetEntries()) != 1 || tri.GetEntries()[0].GetUnreadMessages() != 1 {
		t.Errorf("triage: %v", tri.GetEntries())
	}
}
