package rpc

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// Enum tables of patient sync; TestEnumTablesComplete checks them like the
// clinical ones. An unknown proto value in a pushed mutation becomes an
// invalid domain value, so the mutation is rejected (not the call).

var difficultyToProto = map[hep.Difficulty]hepv1.Difficulty{
	hep.DifficultyUnreported: hepv1.Difficulty_DIFFICULTY_UNSPECIFIED,
	hep.DifficultyTooEasy:    hepv1.Difficulty_DIFFICULTY_TOO_EASY,
	hep.DifficultyJustRight:  hepv1.Difficulty_DIFFICULTY_JUST_RIGHT,
	hep.DifficultyTooHard:    hepv1.Difficulty_DIFFICULTY_TOO_HARD,
}

var painLocationToProto = map[hep.PainLocation]hepv1.PainLocation{
	hep.PainLowBack: hepv1.PainLocation_PAIN_LOCATION_LOW_BACK,
	hep.PainNeck:    hepv1.PainLocation_PAIN_LOCATION_NECK,
	hep.PainLeg:     hepv1.PainLocation_PAIN_LOCATION_LEG,
	hep.PainOther:   hepv1.PainLocation_PAIN_LOCATION_OTHER,
}

var recordKindToProto = map[hep.RecordKind]hepv1.RecordKind{
	hep.KindLog:            hepv1.RecordKind_RECORD_KIND_EXERCISE_LOG,
	hep.KindCheckin:        hepv1.RecordKind_RECORD_KIND_PAIN_CHECKIN,
	hep.KindPlan:           hepv1.RecordKind_RECORD_KIND_PLAN,
	hep.KindCatalog:        hepv1.RecordKind_RECORD_KIND_EXERCISE,
	hep.KindScreening:      hepv1.RecordKind_RECORD_KIND_SCREENING,
	hep.KindQuestionnaires: hepv1.RecordKind_RECORD_KIND_QUESTIONNAIRES,
	hep.KindResponse:       hepv1.RecordKind_RECORD_KIND_QUESTIONNAIRE_RESPONSE,
	hep.KindMessage:        hepv1.RecordKind_RECORD_KIND_MESSAGE,
	hep.KindThread:         hepv1.RecordKind_RECORD_KIND_MESSAGE_THREAD,
}

var (
	difficultyFromProto   = invert(difficultyToProto)
	painLocationFromProto = invert(painLocationToProto)
	recordKindFromProto   = invert(recordKindToProto)
)

// The invalid domain values unknown sync enum values become.
const (
	badDifficulty   hep.Difficulty   = "?"
	badPainLocation hep.PainLocation = "?"
	badRecordKind   hep.RecordKind   = "?"
)

// pushClock is what skew correction needs: the server's clock when the push
// arrived and the phone's when it sent it (zero: not sent).
type pushClock struct {
	now, device time.Time
}

// phoneTime converts a phone-clock timestamp. A missing or invalid one (out
// of the Timestamp range, nanos out of range) is the zero time, which the
// domain rejects as "is required": it is the mutation that fails, not the
// call. The corrected time is zero when the phone time is.
func (c pushClock) phoneTime(t *timestamppb.Timestamp) (phone, corrected time.Time) {
	if t == nil || t.CheckValid() != nil {
		return time.Time{}, time.Time{}
	}
	phone = t.AsTime()
	return phone, hep.CorrectTime(phone, c.device, c.now)
}

// mutationFromProto turns a pushed mutation into the domain's. It never
// fails: whatever cannot be converted becomes a value hep.ValidateMutation
// rejects, so the store records the mutation as REJECTED and the device's
// sequence moves past it. Device and patient come from the caller.
func mutationFromProto(m *hepv1.Mutation, a hep.Actor, c pushClock) hep.Mutation {
	out := hep.Mutation{Seq: m.GetSequence()}
	switch ch := m.GetChange().(type) {
	case *hepv1.Mutation_Log:
		l := ch.Log
		log := &hep.ExerciseLog{
			ID: l.GetId(), PatientID: a.PatientID, DeviceID: a.ID, ExerciseID: l.GetExerciseId(),
			PlanVersion: l.GetPlanVersion(), ReceiveTime: c.now,
			SetsDone: l.GetSetsDone(), RepsDone: l.GetRepsDone(), HoldSecondsDone: l.GetHoldSecondsDone(),
			DurationSecondsDone: l.GetDurationSecondsDone(),
			PainBefore:          optInt32(l.PainBefore), PainAfter: optInt32(l.PainAfter),
			Difficulty: fromProto(difficultyFromProto, l.GetDifficulty(), badDifficulty),
			Note:       l.GetNote(), Supersedes: l.GetSupersedes(),
		}
		log.PerformTime, log.CorrectedPerformTime = c.phoneTime(l.GetPerformTime())
		out.Log = log
	case *hepv1.Mutation_Checkin:
		ci := ch.Checkin
		in := &hep.PainCheckin{
			ID: ci.GetId(), PatientID: a.PatientID, DeviceID: a.ID, ReceiveTime: c.now, Score: ci.GetScore(),
			Location: fromProto(painLocationFromProto, ci.GetLocation(), badPainLocation),
			Note:     ci.GetNote(), Supersedes: ci.GetSupersedes(),
		}
		in.RecordTime, in.CorrectedRecordTime = c.phoneTime(ci.GetRecordTime())
		for _, r := range ci.GetRedFlags() {
			in.RedFlags = append(in.RedFlags, fromProto(redFlagFromProto, r, badRedFlag))
		}
		out.Checkin = in
	case *hepv1.Mutation_Delete:
		out.Delete = &hep.DeleteRecord{
			Kind: fromProto(recordKindFromProto, ch.Delete.GetKind(), badRecordKind), ID: ch.Delete.GetId(),
		}
	case *hepv1.Mutation_Response:
		r := ch.Response
		resp := &hep.QuestionnaireResponse{ID: r.GetId(), PatientID: a.PatientID, DeviceID: a.ID, AssignmentID: r.GetAssignmentId(),
			ReceiveTime: c.now}
		if r.GetSlotDate() != nil {
			resp.Slot = dateFromProto(r.GetSlotDate())
		}
		resp.AuthoredTime, resp.CorrectedAuthoredTime = c.phoneTime(r.GetAuthoredTime())
		for _, x := range r.GetAnswers() {
			resp.Answers = append(resp.Answers, hep.Answer{LinkID: x.GetLinkId(), Value: optInt32(x.Value), Text: x.GetText(), Skipped: x.GetSkipped()})
		}
		out.Response = resp
	case *hepv1.Mutation_Message:
		m := &hep.Message{ID: ch.Message.GetId(), PatientID: a.PatientID, SenderID: a.ID, Sender: hep.SenderPatient,
			Body: ch.Message.GetBody(), ReceiveTime: c.now}
		m.PhoneSentTime, m.SentTime = c.phoneTime(ch.Message.GetSentTime())
		out.Message = m
	case *hepv1.Mutation_ReminderPreferences:
		r := remindersFromProto(ch.ReminderPreferences)
		out.Reminders = &r
	case *hepv1.Mutation_MessagesRead:
		n := ch.MessagesRead.GetReadThrough()
		out.MessagesRead = &n
	case *hepv1.Mutation_Screening:
		// Never nil, even without answers: the mutation is a screening
		// report, and an empty one is rejected as such.
		out.Screening = make([]hep.ScreeningInput, 0, len(ch.Screening.GetAnswers()))
		for _, s := range ch.Screening.GetAnswers() {
			out.Screening = append(out.Screening, hep.ScreeningInput{
				Flag: fromProto(flagFromProto, s.GetFlag(), badFlag), Status: fromProto(statusFromProto, s.GetStatus(), badStatus),
				Note: s.GetNote(),
			})
		}
	}
	return out
}

func optInt32(p *int32) *int32 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

var mutationStatusToProto = map[hep.MutationStatus]hepv1.MutationStatus{
	hep.MutationApplied:  hepv1.MutationStatus_MUTATION_STATUS_APPLIED,
	hep.MutationRejected: hepv1.MutationStatus_MUTATION_STATUS_REJECTED,
}

func mutationResultToProto(r hep.MutationResult) *hepv1.MutationResult {
	return &hepv1.MutationResult{
		Sequence: r.Seq, Status: mutationStatusToProto[r.Status], Reason: r.Reason, Field: r.Field, Replayed: r.Replayed,
	}
}

func logToProto(l hep.ExerciseLog) *hepv1.ExerciseLog {
	return &hepv1.ExerciseLog{
		Id: l.ID, ExerciseId: l.ExerciseID, PlanVersion: l.PlanVersion, PerformTime: ts(l.PerformTime),
		SetsDone: l.SetsDone, RepsDone: l.RepsDone, HoldSecondsDone: l.HoldSecondsDone, DurationSecondsDone: l.DurationSecondsDone,
		PainBefore: optInt32(l.PainBefore), PainAfter: optInt32(l.PainAfter), Difficulty: difficultyToProto[l.Difficulty],
		Note: l.Note, Supersedes: l.Supersedes, CorrectedPerformTime: ts(l.CorrectedPerformTime),
		ReceiveTime: ts(l.ReceiveTime), DeviceId: l.DeviceID, ItemSuspended: l.ItemSuspended,
	}
}

func checkinToProto(c hep.PainCheckin) *hepv1.PainCheckin {
	out := &hepv1.PainCheckin{
		Id: c.ID, RecordTime: ts(c.RecordTime), Score: c.Score, Location: painLocationToProto[c.Location],
		Note: c.Note, Supersedes: c.Supersedes, CorrectedRecordTime: ts(c.CorrectedRecordTime),
		ReceiveTime: ts(c.ReceiveTime), DeviceId: c.DeviceID,
	}
	for _, r := range c.RedFlags {
		out.RedFlags = append(out.RedFlags, redFlagToProto[r])
	}
	return out
}

// changeToProto turns one pull entry into an upsert or a tombstone. The plan
// is shown as on the day of the pull, like GetPlan shows it.
func changeToProto(patientID string, c hep.Change, now time.Time) *hepv1.Change {
	kind := recordKindToProto[c.Kind]
	if c.Deleted {
		return &hepv1.Change{Change: &hepv1.Change_Tombstone{Tombstone: &hepv1.Tombstone{Kind: kind, Id: c.ID, Sequence: c.Seq}}}
	}
	r := &hepv1.Record{Kind: kind, Id: c.ID, Sequence: c.Seq}
	switch {
	case c.Log != nil:
		r.Value = &hepv1.Record_Log{Log: logToProto(*c.Log)}
	case c.Checkin != nil:
		r.Value = &hepv1.Record_Checkin{Checkin: checkinToProto(*c.Checkin)}
	case c.Plan != nil:
		r.Value = &hepv1.Record_Plan{Plan: planToProto(*c.Plan, now)}
	case c.Exercise != nil:
		r.Value = &hepv1.Record_Exercise{Exercise: exerciseToProto(*c.Exercise)}
	case c.Questionnaires != nil:
		q := &hepv1.QuestionnairesSnapshot{TimeZone: c.Questionnaires.TimeZone}
		for _, a := range c.Questionnaires.Assignments {
			q.Assignments = append(q.Assignments, assignmentToProto(a))
		}
		for _, in := range c.Questionnaires.Instruments {
			q.Instruments = append(q.Instruments, instrumentToProto(in))
		}
		r.Value = &hepv1.Record_Questionnaires{Questionnaires: q}
	case c.Response != nil:
		r.Value = &hepv1.Record_Response{Response: responseToProto(*c.Response)}
	case c.Message != nil:
		r.Value = &hepv1.Record_Message{Message: messageToProto(*c.Message)}
	case c.Thread != nil:
		r.Value = &hepv1.Record_Thread{Thread: threadToProto(*c.Thread)}
	case c.Kind == hep.KindScreening:
		r.Value = &hepv1.Record_Screening{Screening: &hepv1.ScreeningSnapshot{Current: screeningToProto(patientID, c.Screening)}}
	}
	return &hepv1.Change{Change: &hepv1.Change_Upsert{Upsert: r}}
}
