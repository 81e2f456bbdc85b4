package rpc

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// syncBookkeepingTables are the tables a rejected mutation writes to: the
// device's stored results (device_mutations) and its last sequence (a
// column of devices), so that a replay returns the same rejection. Every
// record table must stay as it was.
var syncBookkeepingTables = []string{"devices", "device_mutations"}

// rawPushNote is a push of one mutation (sequence 1) whose log (field 2)
// or check-in (field 3) has a note (field noteField of it) holding raw
// bytes.
func rawPushNote(deviceID string, changeField protowire.Number, inner proto.Message, noteField protowire.Number, note string) proto.Message {
	in, err := proto.Marshal(inner)
	if err != nil {
		panic(err)
	}
	in = protowire.AppendTag(in, noteField, protowire.BytesType)
	in = protowire.AppendString(in, note)
	mut := protowire.AppendTag(nil, 1, protowire.VarintType)
	mut = protowire.AppendVarint(mut, 1)
	mut = protowire.AppendTag(mut, changeField, protowire.BytesType)
	mut = protowire.AppendBytes(mut, in)
	req, err := proto.Marshal(&hepv1.PushRequest{DeviceId: deviceID, DeviceTime: timestamppb.Now()})
	if err != nil {
		panic(err)
	}
	req = protowire.AppendTag(req, 2, protowire.BytesType)
	req = protowire.AppendBytes(req, mut)
	return &rawRequest{WhoAmIRequest: &hepv1.WhoAmIRequest{}, wire: req}
}

// TestSyncBadInput: requests refused as a whole get INVALID_ARGUMENT naming
// the field (or the right code) and store nothing, not even the device's
// sequence: the valid mutations of such a push are not applied either.
func TestSyncBadInput(t *testing.T) { overProtocols(t, testSyncBadInput) }

func testSyncBadInput(t *testing.T, p protocol) {
	e := newEnv(t, withProtocol(p))
	now := time.Now()
	hourAgo := now.Add(-time.Hour)
	const (
		mPush    = hepv1.SyncService_Push_FullMethodName
		mPull    = hepv1.SyncService_Pull_FullMethodName
		mLogs    = hepv1.ExerciseLogService_ListExerciseLogs_FullMethodName
		mCheckin = hepv1.ExerciseLogService_ListPainCheckins_FullMethodName
	)
	push := func(muts ...*hepv1.Mutation) *hepv1.PushRequest {
		return &hepv1.PushRequest{DeviceId: e.deviceA, DeviceTime: timestamppb.Now(), Mutations: muts}
	}
	logs := func(first int64, n int) []*hepv1.Mutation {
		out := make([]*hepv1.Mutation, n)
		for i := range out {
			out[i] = logMutation(first+int64(i), validLog(newID(), hourAgo))
		}
		return out
	}
	withSeqs := func(seqs ...int64) *hepv1.PushRequest {
		ms := logs(1, len(seqs))
		for i, s := range seqs {
			ms[i].Sequence = s
		}
		return push(ms...)
	}
	huge := validLog(newID(), hourAgo)
	huge.Note = strings.Repeat("x", 4<<20+1)
	badTime := push(logs(1, 1)...)
	badTime.DeviceTime = &timestamppb.Timestamp{Seconds: 1, Nanos: -1}
	otherDevice := push(logs(1, 1)...)
	otherDevice.DeviceId = e.deviceB
	revokedSibling := push(logs(1, 1)...)
	revokedSibling.DeviceId = e.deviceR
	noDevice := push(logs(1, 1)...)
	noDevice.DeviceId = ""
	badDevice := push(logs(1, 1)...)
	badDevice.DeviceId = strings.ToUpper(e.deviceA)

	cursor := e.srv.sealCursor(e.patientA, 0)
	forgedCursor := cursor[:len(cursor)-4] + "AAAA"
	if forgedCursor == cursor {
		forgedCursor = cursor[:len(cursor)-4] + "BBBB"
	}
	otherPatientsCursor := e.srv.sealCursor(e.patientB, 0)
	logToken := e.srv.encodePage("exercise_logs", pageCursor{After: newID(), Seq: now.UnixNano(), Filter: e.patientA})
	otherPatientsToken := e.srv.encodePage("exercise_logs", pageCursor{After: newID(), Seq: now.UnixNano(), Filter: e.patientB})

	cases := []badCase{
		{"PushNoMutations", callerPatientA, mPush, push(), codes.InvalidArgument, "mutations", ""},
		{"Push501Mutations", callerPatientA, mPush, push(logs(1, 501)...), codes.InvalidArgument, "mutations", ""},
		{"Push10kMutations", callerPatientA, mPush, push(logs(1, 10000)...), codes.InvalidArgument, "mutations", ""},
		{"PushSequenceZero", callerPatientA, mPush, withSeqs(0, 1), codes.InvalidArgument, "mutations[0].sequence", ""},
		{"PushSequenceNegative", callerPatientA, mPush, withSeqs(-3), codes.InvalidArgument, "mutations[0].sequence", ""},
		{"PushSequenceSkips", callerPatientA, mPush, withSeqs(1, 2, 4), codes.InvalidArgument, "mutations[2].sequence", ""},
		{"PushSequenceRepeats", callerPatientA, mPush, withSeqs(1, 1), codes.InvalidArgument, "mutations[1].sequence", ""},
		{"PushSequenceDescends", callerPatientA, mPush, withSeqs(2, 1), codes.InvalidArgument, "mutations[1].sequence", ""},
		{"PushLogNoteInvalidUTF8", callerPatientA, mPush, rawPushNote(e.deviceA, 2, validLog(newID(), hourAgo), 12, "ok \xff\xfe"), codes.InvalidArgument, "mutations[0].log.note", ""},
		{"PushCheckinNoteInvalidUTF8", callerPatientA, mPush, rawPushNote(e.deviceA, 3, validCheckin(newID(), hourAgo), 6, "\xed\xa0\x80"), codes.InvalidArgument, "mutations[0].checkin.note", ""},
		{"PushOversized", callerPatientA, mPush, push(logMutation(1, huge)), codes.ResourceExhausted, "", ""},
		{"PushBadDeviceTime", callerPatientA, mPush, badTime, codes.InvalidArgument, "device_time", ""},
		{"PushOtherPatientsDevice", callerPatientA, mPush, otherDevice, codes.NotFound, "", "NOT_FOUND"},
		{"PushSiblingDevice", callerPatientA, mPush, revokedSibling, codes.NotFound, "", "NOT_FOUND"},
		{"PushNoDeviceID", callerPatientA, mPush, noDevice, codes.InvalidArgument, "device_id", ""},
		{"PushUpperCaseDeviceID", callerPatientA, mPush, badDevice, codes.InvalidArgument, "device_id", ""},
		{"PushSequenceGap", callerPatientA, mPush, withSeqs(5, 6), codes.FailedPrecondition, "", "SEQUENCE_GAP"},
		{"PullPageSizeNegative", callerPatientA, mPull, &hepv1.PullRequest{DeviceId: e.deviceA, PageSize: -1}, codes.InvalidArgument, "page_size", ""},
		{"PullPageSize1001", callerPatientA, mPull, &hepv1.PullRequest{DeviceId: e.deviceA, PageSize: 1001}, codes.InvalidArgument, "page_size", ""},
		{"PullForgedCursor", callerPatientA, mPull, &hepv1.PullRequest{DeviceId: e.deviceA, Cursor: forgedCursor}, codes.InvalidArgument, "cursor", ""},
		{"PullOtherPatientsCursor", callerPatientA, mPull, &hepv1.PullRequest{DeviceId: e.deviceA, Cursor: otherPatientsCursor}, codes.InvalidArgument, "cursor", ""},
		{"PullPageTokenAsCursor", callerPatientA, mPull, &hepv1.PullRequest{DeviceId: e.deviceA, Cursor: logToken}, codes.InvalidArgument, "cursor", ""},
		{"PullGarbageCursor", callerPatientA, mPull, &hepv1.PullRequest{DeviceId: e.deviceA, Cursor: "not.a-cursor"}, codes.InvalidArgument, "cursor", ""},
		{"PullOtherDevice", callerPatientA, mPull, &hepv1.PullRequest{DeviceId: e.deviceB}, codes.NotFound, "", "NOT_FOUND"},
		{"ListLogsPageSize501", callerClinA, mLogs, &hepv1.ListExerciseLogsRequest{PatientId: e.patientA, PageSize: 501}, codes.InvalidArgument, "page_size", ""},
		{"ListLogsPageSizeNegative", callerClinA, mLogs, &hepv1.ListExerciseLogsRequest{PatientId: e.patientA, PageSize: -1}, codes.InvalidArgument, "page_size", ""},
		{"ListLogsOtherPatientsToken", callerClinA, mLogs, &hepv1.ListExerciseLogsRequest{PatientId: e.patientA, PageToken: otherPatientsToken}, codes.InvalidArgument, "page_token", ""},
		{"ListLogsCursorAsToken", callerClinA, mLogs, &hepv1.ListExerciseLogsRequest{PatientId: e.patientA, PageToken: cursor}, codes.InvalidArgument, "page_token", ""},
		{"ListLogsBadPatientID", callerClinA, mLogs, &hepv1.ListExerciseLogsRequest{PatientId: "42"}, codes.InvalidArgument, "patient_id", ""},
		{"ListCheckinsPageSize501", callerClinA, mCheckin, &hepv1.ListPainCheckinsRequest{PatientId: e.patientA, PageSize: 501}, codes.InvalidArgument, "page_size", ""},
		{"ListCheckinsLogsToken", callerClinA, mCheckin, &hepv1.ListPainCheckinsRequest{PatientId: e.patientA, PageToken: logToken}, codes.InvalidArgument, "page_token", ""},
	}
	runBadCases(t, e, cases)
}

// TestSyncRejectedMutations: a mutation that can never apply is REJECTED on
// its own, naming the field: the call succeeds, the device's sequence moves
// past it, and no record (log, check-in, screening answer, alert, plan
// change) is stored.
func TestSyncRejectedMutations(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	hourAgo := now.Add(-time.Hour)
	const year = 365 * 24 * time.Hour
	p := e.phone(callerPatientA, e.deviceA)

	editLog := func(edit func(l *hepv1.ExerciseLog)) *hepv1.Mutation {
		l := validLog(newID(), hourAgo)
		edit(l)
		return logMutation(0, l)
	}
	editCheckin := func(edit func(c *hepv1.PainCheckin)) *hepv1.Mutation {
		c := validCheckin(newID(), hourAgo)
		edit(c)
		return checkinMutation(0, c)
	}
	ownID := newID()
	upper := strings.ToUpper(newID())
	bLog := newID() // a log of patient B's, which A's phone may not correct or delete
	e.phone(callerPatientB, e.deviceB).pushOK(logMutation(0, validLog(bLog, hourAgo)))

	cases := []struct {
		name       string
		m          *hepv1.Mutation
		deviceTime *timestamppb.Timestamp // nil: the server's clock
		field      string                 // "": any
	}{
		{"PainBeforeNegative", editLog(func(l *hepv1.ExerciseLog) { l.PainBefore = proto.Int32(-1) }), nil, "log.pain_before"},
		{"PainAfter11", editLog(func(l *hepv1.ExerciseLog) { l.PainAfter = proto.Int32(11) }), nil, "log.pain_after"},
		{"Reps1001", editLog(func(l *hepv1.ExerciseLog) { l.RepsDone = 1001 }), nil, "log.reps_done"},
		{"Hold3601", editLog(func(l *hepv1.ExerciseLog) { l.HoldSecondsDone = 3601 }), nil, "log.hold_seconds_done"},
		{"SetsNegative", editLog(func(l *hepv1.ExerciseLog) { l.SetsDone = -2 }), nil, "log.sets_done"},
		{"Sets21", editLog(func(l *hepv1.ExerciseLog) { l.SetsDone = 21 }), nil, "log.sets_done"},
		{"Duration14401", editLog(func(l *hepv1.ExerciseLog) { l.DurationSecondsDone = 14401 }), nil, "log.duration_seconds_done"},
		{"LogIDUpperCase", editLog(func(l *hepv1.ExerciseLog) { l.Id = upper }), nil, "log.id"},
		{"LogID35Chars", editLog(func(l *hepv1.ExerciseLog) { l.Id = newID()[:35] }), nil, "log.id"},
		{"LogIDGarbage", editLog(func(l *hepv1.ExerciseLog) { l.Id = "'; DROP TABLE exercise_logs;--" }), nil, "log.id"},
		{"LogIDEmpty", editLog(func(l *hepv1.ExerciseLog) { l.Id = "" }), nil, "log.id"},
		{"SupersedesOwnID", editLog(func(l *hepv1.ExerciseLog) { l.Id, l.Supersedes = ownID, ownID }), nil, "log.supersedes"},
		{"SupersedesGarbage", editLog(func(l *hepv1.ExerciseLog) { l.Supersedes = "yesterday's" }), nil, "log.supersedes"},
		{"SupersedesUnknownLog", editLog(func(l *hepv1.ExerciseLog) { l.Supersedes = newID() }), nil, ""},
		{"SupersedesOtherPatientsLog", editLog(func(l *hepv1.ExerciseLog) { l.Supersedes = bLog }), nil, ""},
		{"DifficultyUnknown", editLog(func(l *hepv1.ExerciseLog) { l.Difficulty = 99 }), nil, "log.difficulty"},
		{"ExerciseEmpty", editLog(func(l *hepv1.ExerciseLog) { l.ExerciseId = "" }), nil, "log.exercise_id"},
		{"ExerciseUnknown", editLog(func(l *hepv1.ExerciseLog) { l.ExerciseId = "handstand" }), nil, ""},
		{"PlanVersionNegative", editLog(func(l *hepv1.ExerciseLog) { l.PlanVersion = -1 }), nil, "log.plan_version"},
		{"PerformTimeMissing", editLog(func(l *hepv1.ExerciseLog) { l.PerformTime = nil }), nil, "log.perform_time"},
		{"PerformTimeInvalid", editLog(func(l *hepv1.ExerciseLog) { l.PerformTime = &timestamppb.Timestamp{Seconds: now.Unix(), Nanos: 2e9} }), nil, "log.perform_time"},
		{"PerformTimeBeyondYear9999", editLog(func(l *hepv1.ExerciseLog) { l.PerformTime = &timestamppb.Timestamp{Seconds: 1 << 40} }), nil, "log.perform_time"},
		{"PerformTime11YearsAgo", editLog(func(l *hepv1.ExerciseLog) { l.PerformTime = timestamppb.New(now.Add(-11 * year)) }), nil, "log.perform_time"},
		{"PerformTime2DaysAhead", editLog(func(l *hepv1.ExerciseLog) { l.PerformTime = timestamppb.New(now.Add(48 * time.Hour)) }), nil, "log.perform_time"},
		// The phone's clock runs 6 years ahead: "5 years ago" by it is 11
		// years ago in truth.
		{"PerformTime11YearsAgoAfterSkew", editLog(func(l *hepv1.ExerciseLog) { l.PerformTime = timestamppb.New(now.Add(-5 * year)) }),
			timestamppb.New(now.Add(6 * year)), "log.perform_time"},
		// The phone's clock runs 10 years behind: 2 days ahead of it is 2
		// days ahead in truth, though 10 years ago by the server's clock.
		{"PerformTimeFutureAfterSkew", editLog(func(l *hepv1.ExerciseLog) { l.PerformTime = timestamppb.New(now.Add(-10*year + 48*time.Hour)) }),
			timestamppb.New(now.Add(-10 * year)), "log.perform_time"},
		{"LogNote2001", editLog(func(l *hepv1.ExerciseLog) { l.Note = strings.Repeat("é", 2001) }), nil, "log.note"},
		{"LogNoteControlChar", editLog(func(l *hepv1.ExerciseLog) { l.Note = "bell\a" }), nil, "log.note"},
		{"ScoreNegative", editCheckin(func(c *hepv1.PainCheckin) { c.Score = -1 }), nil, "checkin.score"},
		{"Score11", editCheckin(func(c *hepv1.PainCheckin) { c.Score = 11 }), nil, "checkin.score"},
		{"LocationUnspecified", editCheckin(func(c *hepv1.PainCheckin) { c.Location = 0 }), nil, "checkin.location"},
		{"LocationUnknown", editCheckin(func(c *hepv1.PainCheckin) { c.Location = 42 }), nil, "checkin.location"},
		{"RedFlagUnknown", editCheckin(func(c *hepv1.PainCheckin) { c.RedFlags = []hepv1.RedFlagSymptom{77} }), nil, "checkin.red_flags[0]"},
		{"RedFlagUnspecified", editCheckin(func(c *hepv1.PainCheckin) { c.RedFlags = []hepv1.RedFlagSymptom{0} }), nil, "checkin.red_flags[0]"},
		{"RedFlagTwice", editCheckin(func(c *hepv1.PainCheckin) {
			c.RedFlags = []hepv1.RedFlagSymptom{hepv1.RedFlagSymptom_RED_FLAG_SYMPTOM_SADDLE_NUMBNESS, hepv1.RedFlagSymptom_RED_FLAG_SYMPTOM_SADDLE_NUMBNESS}
		}), nil, "checkin.red_flags[1]"},
		{"RecordTimeMissing", editCheckin(func(c *hepv1.PainCheckin) { c.RecordTime = nil }), nil, "checkin.record_time"},
		{"RecordTime11YearsAgo", editCheckin(func(c *hepv1.PainCheckin) { c.RecordTime = timestamppb.New(now.Add(-11 * year)) }), nil, "checkin.record_time"},
		{"CheckinNote2001", editCheckin(func(c *hepv1.PainCheckin) { c.Note = strings.Repeat("x", 2001) }), nil, "checkin.note"},
		{"CheckinIDUpperCase", editCheckin(func(c *hepv1.PainCheckin) { c.Id = upper }), nil, "checkin.id"},
		{"CheckinSupersedesOwnID", editCheckin(func(c *hepv1.PainCheckin) { c.Id, c.Supersedes = ownID, ownID }), nil, "checkin.supersedes"},
		{"DeleteKindUnspecified", deleteMutation(0, 0, newID()), nil, "delete.kind"},
		{"DeleteKindPlan", deleteMutation(0, hepv1.RecordKind_RECORD_KIND_PLAN, newID()), nil, "delete.kind"},
		{"DeleteKindUnknown", deleteMutation(0, 99, newID()), nil, "delete.kind"},
		{"DeleteIDGarbage", deleteMutation(0, kindLog, "all"), nil, "delete.id"},
		{"DeleteUnknownLog", deleteMutation(0, kindLog, newID()), nil, ""},
		{"DeleteOtherPatientsLog", deleteMutation(0, kindLog, bLog), nil, ""},
		{"EmptyMutation", &hepv1.Mutation{}, nil, "change"},
		{"ScreeningNoAnswers", screeningMutation(0, nil), nil, "screening.answers"},
		{"ScreeningFlagTwice", screeningMutation(0, answers(pregnancy, absent, pregnancy, present)), nil, "screening.answers[1].flag"},
		{"ScreeningFlagUnknown", screeningMutation(0, answers(hepv1.ScreeningFlag(99), absent)), nil, "screening.answers[0].flag"},
		{"ScreeningStatusUnknown", screeningMutation(0, answers(pregnancy, hepv1.FlagStatus(99))), nil, "screening.answers[0].status"},
	}
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, auditBefore := e.snapshotExcept(syncBookkeepingTables...)
			p.seq++
			c.m.Sequence = p.seq
			dt := c.deviceTime
			if dt == nil {
				dt = timestamppb.Now()
			}
			resp, err := e.sync.Push(e.as(callerPatientA), &hepv1.PushRequest{DeviceId: e.deviceA, DeviceTime: dt, Mutations: []*hepv1.Mutation{c.m}})
			if err != nil {
				t.Fatalf("the call failed: %v; want it to succeed with the mutation rejected", err)
			}
			if len(resp.Results) != 1 || resp.LastSequence != p.seq {
				t.Fatalf("results %v, last %d; want 1 result, last %d", resp.Results, resp.LastSequence, p.seq)
			}
			r := resp.Results[0]
			if r.Status != rejected || r.Sequence != p.seq || r.Replayed || r.Reason == "" {
				t.Fatalf("result %v, want REJECTED with a reason", r)
			}
			if c.field != "" && r.Field != c.field {
				t.Errorf("field %q (%s), want %q", r.Field, r.Reason, c.field)
			}
			after, auditAfter := e.snapshotExcept(syncBookkeepingTables...)
			if after != before {
				t.Errorf("a rejected mutation stored records")
			}
			if auditAfter != auditBefore+1 {
				t.Errorf("audit rows %d -> %d, want one for the push", auditBefore, auditAfter)
			}
		})
	}
	// Nothing of it shows: no log, no check-in of patient A.
	if n := len(e.liveLogs(callerClinA, e.patientA)); n != 0 {
		t.Errorf("%d logs listed", n)
	}
	if n := len(e.liveCheckins(callerClinA, e.patientA)); n != 0 {
		t.Errorf("%d check-ins listed", n)
	}
}

// TestPushRejectsOneOfABatch: a rejected mutation does not stop the others
// of its batch.
func TestPushRejectsOneOfABatch(t *testing.T) {
	e := newEnv(t)
	hourAgo := time.Now().Add(-time.Hour)
	p := e.phone(callerPatientA, e.deviceA)
	good1, good2 := newID(), newID()
	bad := validLog(newID(), hourAgo)
	bad.PainAfter = proto.Int32(11)
	resp := p.push(logMutation(0, validLog(good1, hourAgo)), logMutation(0, bad), logMutation(0, validLog(good2, hourAgo)))
	want := []hepv1.MutationStatus{applied, rejected, applied}
	for i, r := range resp.Results {
		if r.Status != want[i] || r.Sequence != int64(i+1) {
			t.Errorf("result %d: %v, want %v", i, r, want[i])
		}
	}
	live := e.liveLogs(callerClinA, e.patientA)
	if len(live) != 2 || live[good1] == nil || live[good2] == nil {
		t.Errorf("live logs %v, want %s and %s", live, good1, good2)
	}
}
