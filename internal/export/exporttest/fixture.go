// Package exporttest builds a rich patient record in any hep.Store, for the
// export tests of the store, the renderers and the transport.
//
// The record, in the patient's zone (Europe/Berlin, so the exported range
// crosses the change to summer time on 2030-03-31):
//   - before the range: screening all ABSENT, a standing clearance for the
//     traction machine, plan version 1 (cat-cow, child's pose, traction),
//     and sessions on the three days before the range;
//   - in the range (2030-03-18 to 2030-04-14): plan version 2 adds the
//     overhead stretch; the phone reports PREGNANCY, which suspends every
//     item (alert); a clinician verifies it and adds HYPERTENSION (two
//     flags present), clears cat-cow and the overhead stretch for it
//     (child's pose and traction stay suspended) and acknowledges the
//     screening alert; a plan with the inversion table is refused;
//     sessions with pain scores and notes (formula-injection notes among
//     them), one logged while suspended (alert, left open), one corrected
//     and one deleted; pain check-ins every other day, one deleted (with
//     the review store, high scores also raise pain alerts, left open);
//   - outcome measures: a PSFS assignment made before the range (every
//     two weeks from 2030-03-11) with three responses from the phone: the
//     baseline on 2030-03-11 (before the range: a series keeps it), a
//     worse one on 2030-03-25 (by the MCID: a FUNCTION_WORSENED alert) and
//     a better one with a fourth activity on 2030-04-08, received two days
//     later;
//   - messages: the clinician's welcome before the range (not exported);
//     in the range the patient's question (a list starting with "-", which
//     a spreadsheet would run), the clinician's answer, hep's notice when
//     the pregnancy pauses the plan, the patient's second question and its
//     answer, the patient's thanks (unread by the team) and the
//     clinician's note about the visit (unread by the patient); the team
//     read through the second question, the patient through its answer;
//   - after the range: a session, a check-in and a message that must not
//     be exported;
//   - a second patient with a plan, sessions, check-ins, a PSFS baseline
//     and a message in the same range, none of which may appear in the
//     first patient's export.
package exporttest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hepclinic/hep/internal/hep"
)

// Fixture is the built record.
type Fixture struct {
	Store     hep.Store
	Clock     *time.Time
	Clinician hep.Account
	Patient   hep.Patient
	Other     hep.Patient // the second patient
	Device    hep.Device
	From, To  hep.Date
	// Doctor is the clinician's context, with the export's action.
	Doctor context.Context
	// InjectionNotes are notes of logs and check-ins that a spreadsheet
	// would run as formulas.
	InjectionNotes []string
	// Zone is the patient's location.
	Zone *time.Location
	// Assignment is the patient's PSFS assignment, and Responses its live
	// responses as pushed, oldest slot first (baseline, worse, better).
	Assignment hep.Assignment
	Responses  []hep.QuestionnaireResponse
	// Messages are the patient's thread messages received in the range, in
	// thread order, as sent (the notice as the store wrote it); Welcome is
	// the one before the range and After the one after it.
	Messages       []hep.Message
	Welcome, After hep.Message

	doctor context.Context

	t    testing.TB
	seqs map[string]int64
	mine phone
}

// Injection notes stored on sessions and check-ins.
var injectionNotes = []string{`=HYPERLINK("http://x","y")`, "+1", "-2", "@SUM(A1:A2)", "\tTAB", "=1+1"}

// Build builds the record in the store that open returns; open must make
// the store use clock for every time it writes.
func Build(t testing.TB, open func(clock hep.Clock) hep.Store) *Fixture {
	t.Helper()
	zone, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 3, 11, 9, 0, 0, 0, zone)
	f := &Fixture{Clock: &now, t: t, seqs: map[string]int64{}, Zone: zone,
		From: hep.Date{Year: 2030, Month: 3, Day: 18}, To: hep.Date{Year: 2030, Month: 4, Day: 14},
		InjectionNotes: injectionNotes}
	f.Store = open(func() time.Time { return *f.Clock })
	admin := hep.WithActor(t.Context(), hep.Actor{ID: "local:fixture", Role: hep.RoleAdmin, Action: "test.fixture"})
	f.Clinician = f.must2(f.Store.CreateAccount(admin, hep.AccountCreate{Email: "dr.rivera@clinic.example",
		DisplayName: "Dr Rivera", Role: hep.RoleClinician}, "hash")).(hep.Account)
	doctor := hep.WithActor(t.Context(), hep.Actor{ID: f.Clinician.ID, Role: hep.RoleClinician, Action: "test.fixture"})
	f.doctor = doctor
	f.Doctor = hep.WithActor(t.Context(), hep.Actor{ID: f.Clinician.ID, Role: hep.RoleClinician, Action: "export.export",
		RequestID: "r-export", Peer: "127.0.0.1:1"})
	f.Patient = f.must2(f.Store.CreatePatient(admin, hep.PatientCreate{DisplayName: "Zoë Łukasiewicz-Müller",
		TimeZone: "Europe/Berlin", ExternalMRN: "MRN-0042"}, f.Clinician.ID)).(hep.Patient)
	f.Other = f.must2(f.Store.CreatePatient(admin, hep.PatientCreate{DisplayName: "Other Patient",
		TimeZone: "Europe/Berlin", ExternalMRN: "MRN-9999"}, f.Clinician.ID)).(hep.Patient)
	f.Device = f.enroll(admin, f.Patient.ID)
	other := f.enroll(admin, f.Other.ID)
	phone := f.phone(f.Device)
	f.mine = phone
	otherPhone := f.phone(other)

	// Before the range.
	var absent []hep.ScreeningInput
	for _, fl := range hep.Flags {
		absent = append(absent, hep.ScreeningInput{Flag: fl, Status: hep.StatusAbsent})
	}
	for _, p := range []string{f.Patient.ID, f.Other.ID} {
		f.ok(err3(f.Store.RecordScreening(doctor, p, absent)))
		f.ok(err3(f.Store.ClearItem(doctor, hep.Clearance{PatientID: p, ExerciseID: "traction-machine",
			Reason: "Trained on the traction machine in clinic; safe set-up confirmed"})))
	}
	start := hep.Date{Year: 2030, Month: 3, Day: 11}
	catCow := hep.ItemSpec{ExerciseID: "cat-cow", Dose: hep.Dose{Sets: 2, Reps: 10},
		Frequency: hep.Frequency{TimesPerDay: 1, DaysPerWeek: 5}, StartDate: start}
	childs := hep.ItemSpec{ExerciseID: "childs-pose", Dose: hep.Dose{Sets: 1, HoldSeconds: 30},
		Frequency: hep.Frequency{TimesPerDay: 1, Weekdays: []time.Weekday{time.Monday, time.Wednesday, time.Friday}},
		StartDate: start, Notes: "Knees wide; a pillow under the belly if needed."}
	traction := hep.ItemSpec{ExerciseID: "traction-machine", Dose: hep.Dose{DurationSeconds: 600, ForceKg: 20},
		Frequency: hep.Frequency{TimesPerDay: 1, DaysPerWeek: 3}, StartDate: start}
	f.ok(err2(f.Store.SetPlan(doctor, f.Patient.ID, hep.PlanInput{Items: []hep.ItemSpec{catCow, childs, traction},
		Note: "Start gently; stop if pain goes above 7."})))
	f.ok(err2(f.Store.SetPlan(doctor, f.Other.ID, hep.PlanInput{Items: []hep.ItemSpec{catCow}})))
	// Outcome measures: PSFS every two weeks, the baseline today.
	f.Assignment = f.must2(f.Store.AssignQuestionnaire(doctor, f.Patient.ID, hep.AssignmentInput{
		InstrumentID: hep.InstrumentPSFS, Start: start, EveryWeeks: 2})).(hep.Assignment)
	otherPSFS := f.must2(f.Store.AssignQuestionnaire(doctor, f.Other.ID, hep.AssignmentInput{
		InstrumentID: hep.InstrumentPSFS, Start: start})).(hep.Assignment)
	f.respond(phone, f.Assignment.ID, start, f.at(3, 11, 9, 20), psfsActivities[:3], 4, 5, 3)
	f.respond(otherPhone, otherPSFS.ID, start, f.at(3, 11, 9, 25), []string{"other patient's activity", "other patient's activity", "other patient's activity"}, 6, 6, 5)
	f.set(3, 11, 9, 30)
	f.Welcome = f.send("Welcome to your home exercise program. You can message us here about your exercises.")
	for day := 15; day <= 17; day++ {
		f.push(phone, f.log("cat-cow", 1, f.at(3, day, 8, 0), nrs(6), nrs(5), ""))
	}

	// In the range. Week 1: plan 1, sessions and check-ins.
	for day := 18; day <= 24; day++ {
		if day != 20 {
			f.push(phone, f.log("cat-cow", 1, f.at(3, day, 8, 0), nrs(6), nrs(5), noteFor(day)))
		}
		if wd := f.at(3, day, 0, 0).Weekday(); wd == time.Monday || wd == time.Wednesday || wd == time.Friday {
			f.push(phone, f.log("childs-pose", 1, f.at(3, day, 8, 30), nrs(6), nrs(4), ""))
		}
		if day%2 == 0 {
			f.push(phone, f.checkin(f.at(3, day, 20, 0), int32(7-(day-18)/3), ""))
		}
	}
	f.push(phone, f.log("traction-machine", 1, f.at(3, 19, 18, 0), nil, nil, "+1"))
	f.push(phone, f.log("traction-machine", 1, f.at(3, 21, 18, 0), nrs(5), nrs(7), "-2"))
	// A session corrected and one deleted: neither old one is live.
	wrong := f.log("cat-cow", 1, f.at(3, 22, 12, 0), nrs(3), nrs(3), "wrong time")
	f.push(phone, wrong)
	fixed := f.log("cat-cow", 1, f.at(3, 22, 13, 0), nrs(4), nrs(3), "felt better,\nless stiff")
	fixed.Log.Supersedes = wrong.Log.ID
	f.push(phone, fixed)
	gone := f.log("cat-cow", 1, f.at(3, 23, 13, 0), nrs(4), nrs(3), "duplicate")
	f.push(phone, gone)
	f.push(phone, hep.Mutation{Delete: &hep.DeleteRecord{Kind: hep.KindLog, ID: gone.Log.ID}})
	goneCheckin := f.checkin(f.at(3, 23, 21, 0), 9, "typo")
	f.push(phone, goneCheckin)
	f.push(phone, hep.Mutation{Delete: &hep.DeleteRecord{Kind: hep.KindCheckin, ID: goneCheckin.Checkin.ID}})
	// The patient asks (a list: the first character would be a formula's).
	f.message(phone, f.at(3, 24, 20, 30), "- stiff every morning, better after cat-cow\n- the traction pulls on my left side\nShould I keep the traction?")

	// Week 2: the second PSFS slot, worse than the baseline by the MCID (2
	// points); plan 2 (adds the overhead stretch).
	f.respond(phone, f.Assignment.ID, hep.Date{Year: 2030, Month: 3, Day: 25}, f.at(3, 25, 7, 40), psfsActivities[:3], 2, 3, 1)
	f.set(3, 25, 9, 0)
	f.Messages = append(f.Messages, f.send("Keep the traction as it is; I am adding an overhead stretch to your plan today."))
	f.set(3, 25, 10, 0)
	overhead := hep.ItemSpec{ExerciseID: "overhead-stretch", Dose: hep.Dose{Sets: 2, Reps: 5, HoldSeconds: 20},
		Frequency: hep.Frequency{TimesPerDay: 2, DaysPerWeek: 7}, StartDate: hep.Date{Year: 2030, Month: 3, Day: 25},
		EndDate: hep.Date{Year: 2030, Month: 4, Day: 30}}
	catCow3 := catCow
	catCow3.Dose.Sets = 3
	f.ok(err2(f.Store.SetPlan(doctor, f.Patient.ID, hep.PlanInput{ExpectedVersion: 1,
		Items: []hep.ItemSpec{catCow3, childs, traction, overhead}, Note: "More cat-cow; overhead stretch twice a day."})))
	for day := 25; day <= 27; day++ {
		f.push(phone, f.log("cat-cow", 2, f.at(3, day, 8, 0), nrs(5), nrs(4), noteFor(day)))
		f.push(phone, f.log("overhead-stretch", 2, f.at(3, day, 19, 0), nrs(5), nrs(5), ""))
	}
	f.push(phone, f.checkin(f.at(3, 26, 20, 0), 5, "@SUM(A1:A2)"))
	// The phone reports a pregnancy: every item is suspended (alert).
	f.set(3, 28, 18, 0)
	f.push(phone, hep.Mutation{Screening: []hep.ScreeningInput{{Flag: hep.FlagPregnancy, Status: hep.StatusPresent,
		Note: "Positive test today"}}})
	// hep's notice that exercises are paused.
	notices, _, err := f.Store.ListMessages(doctor, hep.MessageFilter{PatientID: f.Patient.ID, Limit: 1})
	if err != nil || len(notices) != 1 || notices[0].Sender != hep.SenderSystem {
		t.Fatalf("the notice of the paused plan: %+v %v", notices, err)
	}
	f.Messages = append(f.Messages, notices[0])
	f.message(phone, f.at(3, 28, 18, 20), "I am pregnant, 8 weeks. Which exercises can I still do?")
	// A clinician verifies it, adds hypertension, clears two exercises and
	// acknowledges the alert.
	f.set(3, 29, 9, 30)
	f.ok(err3(f.Store.RecordScreening(doctor, f.Patient.ID, []hep.ScreeningInput{
		{Flag: hep.FlagPregnancy, Status: hep.StatusPresent, Note: "Confirmed, 8 weeks"},
		{Flag: hep.FlagHypertension, Status: hep.StatusPresent, Note: "BP 150/95 at two visits"}})))
	f.set(3, 29, 9, 40)
	f.ok(err3(f.Store.ClearItem(doctor, hep.Clearance{PatientID: f.Patient.ID, ExerciseID: "cat-cow", Flag: hep.FlagPregnancy,
		Reason: "Gentle mobility is safe in early pregnancy; agreed with her midwife"})))
	f.set(3, 29, 9, 45)
	f.ok(err3(f.Store.ClearItem(doctor, hep.Clearance{PatientID: f.Patient.ID, ExerciseID: "overhead-stretch", Flag: hep.FlagPregnancy,
		Reason: "Standing stretch, no load"})))
	f.set(3, 29, 10, 0)
	alerts, err := f.Store.ListAlerts(doctor, hep.AlertFilter{PatientID: f.Patient.ID, Status: hep.AlertOpen,
		Kinds: []hep.AlertKind{hep.AlertScreeningChanged}})
	if err != nil || len(alerts) != 1 {
		t.Fatalf("open screening alerts: %v %v", alerts, err)
	}
	f.ok(err3(f.Store.AcknowledgeAlert(doctor, f.Patient.ID, alerts[0].ID,
		"Called her: cat-cow and the overhead stretch cleared, child's pose and traction paused", alerts[0].Occurrences)))
	// The team reads the thread so far and answers; the phone reads the
	// answer that evening.
	f.set(3, 29, 10, 4)
	f.ok(err2(f.Store.MarkMessagesRead(doctor, f.Patient.ID, f.Messages[len(f.Messages)-1].ThreadSeq)))
	f.set(3, 29, 10, 5)
	f.Messages = append(f.Messages, f.send("Cat-cow and the overhead stretch are fine; please pause child's pose and the traction for now."))
	f.set(3, 29, 19, 0)
	f.push(phone, hep.Mutation{MessagesRead: ptr(f.Messages[len(f.Messages)-1].ThreadSeq)})

	// Weeks 3 and 4 (summer time from 2030-03-31).
	var better hep.Mutation
	for day := 30; day <= 41; day++ {
		m, d := 3, day
		if day > 31 {
			m, d = 4, day-31
		}
		if day%3 != 0 {
			f.push(phone, f.log("cat-cow", 2, f.at(m, d, 8, 0), nrs(4), nrs(3), noteFor(day)))
		}
		if day%2 == 1 {
			f.push(phone, f.log("overhead-stretch", 2, f.at(m, d, 19, 0), nrs(4), nrs(3), ""))
		}
		if day == 39 {
			// The third PSFS slot (2030-04-08), better, with a fourth
			// activity; the phone syncs it two days later.
			better = f.response(f.Assignment.ID, hep.Date{Year: 2030, Month: 4, Day: 8}, f.at(4, 8, 19, 45), psfsActivities, 7, 8, 6, 7)
		}
		if day%2 == 0 {
			f.push(phone, f.checkin(f.at(m, d, 20, 0), int32(5-(day-30)/4), ""))
		}
	}
	f.push(phone, better)
	f.Responses = append(f.Responses, *better.Response)
	// Child's pose while it is suspended, twice: kept, alerted once with
	// two occurrences (left open).
	f.push(phone, f.log("childs-pose", 2, f.at(4, 3, 8, 30), nrs(4), nrs(6), "did it anyway"))
	f.push(phone, f.log("childs-pose", 1, f.at(4, 5, 8, 30), nrs(4), nrs(5), ""))
	f.push(phone, f.checkin(f.at(4, 4, 21, 0), 4, "=1+1"))
	// A plan with the inversion table is refused.
	f.set(4, 11, 11, 0)
	inversion := hep.ItemSpec{ExerciseID: "inversion-table", Dose: hep.Dose{DurationSeconds: 180, AngleDegrees: 30},
		Frequency: hep.Frequency{TimesPerDay: 1, DaysPerWeek: 3}, StartDate: hep.Date{Year: 2030, Month: 4, Day: 11}}
	if _, err := f.Store.SetPlan(doctor, f.Patient.ID, hep.PlanInput{ExpectedVersion: 2,
		Items: []hep.ItemSpec{catCow3, inversion}}); hep.ErrorCode(err) != hep.CodeFailedPrecondition {
		t.Fatalf("SetPlan with the inversion table: %v, want FAILED_PRECONDITION", err)
	}
	// The patient's thanks (the team has not read it) and the clinician's
	// note (the patient has not read it).
	f.message(phone, f.at(4, 12, 9, 15), "Thank you, the mornings are much better now.")
	f.set(4, 13, 16, 0)
	f.Messages = append(f.Messages, f.send("Good to hear. See you at the visit on 2030-04-15."))

	// The other patient, in the same range.
	for day := 18; day <= 31; day++ {
		f.push(otherPhone, f.log("cat-cow", 1, f.at(3, day, 7, 0), nrs(8), nrs(8), "other patient's note"))
		if day%3 == 0 {
			f.push(otherPhone, f.checkin(f.at(3, day, 7, 30), 8, "other patient's check-in"))
		}
	}

	f.push(otherPhone, f.messageOf(f.at(4, 13, 17, 0), "other patient's message"))

	// After the range.
	f.push(phone, f.log("cat-cow", 2, f.at(4, 15, 8, 0), nrs(3), nrs(2), "after the range"))
	f.push(phone, f.checkin(f.at(4, 15, 20, 0), 2, "after the range"))
	f.After = *f.messageOf(f.at(4, 15, 20, 30), "after the range: thank you for today").Message
	f.push(phone, hep.Mutation{Message: &f.After})
	f.set(4, 20, 12, 0)
	return f
}

func nrs(n int32) *int32 { return &n }

func ptr[T any](v T) *T { return &v }

// messageOf is a message mutation of a phone, sent at a time.
func (f *Fixture) messageOf(at time.Time, body string) hep.Mutation {
	return hep.Mutation{Message: &hep.Message{ID: uuid.Must(uuid.NewV7()).String(), Body: body, SentTime: at, PhoneSentTime: at}}
}

// message pushes a message from a phone; the patient's own are kept in
// Messages with the thread sequence the store gave them.
func (f *Fixture) message(p phone, at time.Time, body string) {
	f.t.Helper()
	m := f.messageOf(at, body)
	f.push(p, m)
	if p.device.ID != f.Device.ID {
		return
	}
	list, _, err := f.Store.ListMessages(f.doctor, hep.MessageFilter{PatientID: f.Patient.ID, Limit: 1})
	if err != nil || len(list) != 1 || list[0].ID != m.Message.ID {
		f.t.Fatalf("the message just pushed: %+v %v", list, err)
	}
	f.Messages = append(f.Messages, list[0])
}

// send sends a message from the clinician to the patient.
func (f *Fixture) send(body string) hep.Message {
	f.t.Helper()
	m, err := f.Store.SendMessage(f.doctor, f.Patient.ID, body)
	if err != nil {
		f.t.Fatalf("SendMessage: %v", err)
	}
	return m
}

// noteFor gives some sessions a note: formula-injection ones and text.
func noteFor(day int) string {
	switch day % 7 {
	case 0:
		return injectionNotes[0]
	case 1:
		return injectionNotes[3]
	case 2:
		return "Rücken ok ✓, slept well"
	case 4:
		return injectionNotes[4]
	}
	return ""
}

// psfsActivities are the activities the patient names in the PSFS; the
// last starts with a spreadsheet's formula character.
var psfsActivities = []string{"Putting on socks", "Sitting through a work meeting (1 h)", "Lifting the laundry basket",
	"@gym: rowing machine, 10 min"}

// response is a PSFS response mutation: activities named and rated.
func (f *Fixture) response(assignmentID string, slot hep.Date, at time.Time, activities []string, ratings ...int32) hep.Mutation {
	var answers []hep.Answer
	for i, r := range ratings {
		n := fmt.Sprintf("activity-%d", i+1)
		answers = append(answers, hep.Answer{LinkID: n + "-name", Text: activities[i]}, hep.Answer{LinkID: n + "-rating", Value: nrs(r)})
	}
	return hep.Mutation{Response: &hep.QuestionnaireResponse{ID: uuid.Must(uuid.NewV7()).String(), AssignmentID: assignmentID,
		Slot: slot, AuthoredTime: at, CorrectedAuthoredTime: at, Answers: answers}}
}

// respond pushes a PSFS response; the patient's own are kept in Responses.
func (f *Fixture) respond(p phone, assignmentID string, slot hep.Date, at time.Time, activities []string, ratings ...int32) {
	f.t.Helper()
	m := f.response(assignmentID, slot, at, activities, ratings...)
	f.push(p, m)
	if p.device.ID == f.Device.ID {
		f.Responses = append(f.Responses, *m.Response)
	}
}

// at is a time in the patient's zone.
func (f *Fixture) at(month, day, hour, min int) time.Time {
	return time.Date(2030, time.Month(month), day, hour, min, 0, 0, f.Zone)
}

// set moves the clock.
func (f *Fixture) set(month, day, hour, min int) {
	t := f.at(month, day, hour, min)
	if t.Before(*f.Clock) {
		f.t.Fatalf("the fixture's clock would move back to %v", t)
	}
	*f.Clock = t
}

// ok fails the test on an error.
func (f *Fixture) ok(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

// err2 and err3 keep the error of a call's results.
func err2[A any](_ A, err error) error         { return err }
func err3[A, B any](_ A, _ B, err error) error { return err }

func (f *Fixture) must2(v any, err error) any {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

func (f *Fixture) enroll(admin context.Context, patientID string) hep.Device {
	f.t.Helper()
	code := "code-" + patientID
	if err := f.Store.CreateEnrollmentCode(admin, patientID, code, f.Clock.Add(time.Hour)); err != nil {
		f.t.Fatal(err)
	}
	d, _, err := f.Store.EnrollDevice(admin, hep.DeviceEnroll{CodeHash: code, Name: "Phone", Platform: hep.PlatformIOS},
		hep.RefreshToken{Hash: "refresh-" + patientID, ExpireTime: f.Clock.Add(time.Hour)})
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

type phone struct {
	ctx    context.Context
	device hep.Device
}

func (f *Fixture) phone(d hep.Device) phone {
	return phone{hep.WithActor(f.t.Context(), hep.Actor{ID: d.ID, Role: hep.RolePatient, PatientID: d.PatientID,
		Action: "sync.push"}), d}
}

func (f *Fixture) log(exercise string, version int64, at time.Time, before, after *int32, note string) hep.Mutation {
	return hep.Mutation{Log: &hep.ExerciseLog{ID: uuid.Must(uuid.NewV7()).String(), ExerciseID: exercise, PlanVersion: version,
		PerformTime: at, CorrectedPerformTime: at, SetsDone: 2, RepsDone: 10, PainBefore: before, PainAfter: after,
		Difficulty: hep.DifficultyJustRight, Note: note}}
}

func (f *Fixture) checkin(at time.Time, score int32, note string) hep.Mutation {
	return hep.Mutation{Checkin: &hep.PainCheckin{ID: uuid.Must(uuid.NewV7()).String(), RecordTime: at,
		CorrectedRecordTime: at, Score: score, Location: hep.PainLowBack, Note: note}}
}

// push sends one mutation from a phone, a minute after the record's time
// (the clock never moves back), and fails unless it applied.
func (f *Fixture) push(p phone, m hep.Mutation) {
	f.t.Helper()
	var at time.Time
	switch {
	case m.Log != nil:
		at = m.Log.CorrectedPerformTime
	case m.Checkin != nil:
		at = m.Checkin.CorrectedRecordTime
	case m.Response != nil:
		at = m.Response.CorrectedAuthoredTime
	case m.Message != nil:
		at = m.Message.SentTime
	}
	if at.Add(time.Minute).After(*f.Clock) {
		*f.Clock = at.Add(time.Minute)
	} else {
		*f.Clock = f.Clock.Add(time.Second)
	}
	f.seqs[p.device.ID]++
	m.Seq = f.seqs[p.device.ID]
	res, _, err := f.Store.Push(p.ctx, p.device.ID, []hep.Mutation{m})
	if err != nil {
		f.t.Fatalf("Push: %v", err)
	}
	if res[0].Status != hep.MutationApplied {
		f.t.Fatalf("Push: %+v", res[0])
	}
}

// Push sends a mutation from the patient's phone (the clock moves to a
// minute after the record's time if that is later) and fails the test
// unless it applied.
func (f *Fixture) Push(m hep.Mutation) { f.push(f.mine, m) }

// Log is a session mutation of the patient's phone (a new id each call).
func (f *Fixture) Log(exercise string, version int64, at time.Time, note string) hep.Mutation {
	return f.log(exercise, version, at, nrs(3), nrs(2), note)
}

// Checkin is a check-in mutation of the patient's phone.
func (f *Fixture) Checkin(at time.Time, score int32, note string) hep.Mutation {
	return f.checkin(at, score, note)
}

// String describes the fixture's range.
func (f *Fixture) String() string { return fmt.Sprintf("%s to %s", f.From, f.To) }
