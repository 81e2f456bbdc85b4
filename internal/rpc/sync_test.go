package rpc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hepclinic/hep/internal/auth"
	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestSyncAuthzRows restates who may sync, apart from authzTable: only a
// patient's device pushes and pulls (for itself: the handlers check
// device_id), and only care-team clinicians read the logs.
func TestSyncAuthzRows(t *testing.T) {
	want := []struct {
		method string
		roles  []hep.Role
		scope  scope
		action string
	}{
		{hepv1.SyncService_Push_FullMethodName, []hep.Role{hep.RolePatient}, scopeNone, "sync.push"},
		{hepv1.SyncService_Pull_FullMethodName, []hep.Role{hep.RolePatient}, scopeNone, "sync.pull"},
		{hepv1.ExerciseLogService_ListExerciseLogs_FullMethodName, []hep.Role{hep.RoleClinician}, scopePatient, "logs.list"},
		{hepv1.ExerciseLogService_ListPainCheckins_FullMethodName, []hep.Role{hep.RoleClinician}, scopePatient, "checkins.list"},
	}
	for _, w := range want {
		r, ok := authzTable[w.method]
		if !ok {
			t.Errorf("%s: no row", w.method)
			continue
		}
		if !slices.Equal(r.roles, w.roles) || r.scope != w.scope || r.action != w.action || r.public || r.selfAudit {
			t.Errorf("%s: row %+v, want roles %v scope %v action %q", w.method, r, w.roles, w.scope, w.action)
		}
	}
}

// TestSyncOwnDeviceOnly: a device pushes and pulls for itself only; naming
// another device (of another patient, or a sibling of its own patient) is
// NOT_FOUND exactly like an unknown device, stores nothing, and is audited
// against the caller's patient.
func TestSyncOwnDeviceOnly(t *testing.T) {
	e := newEnv(t)
	hourAgo := time.Now().Add(-time.Hour)
	a := e.phone(callerPatientA, e.deviceA)
	a.pushOK(logMutation(0, validLog(newID(), hourAgo)))
	if last := a.pull(100); last.RecordCount != 1 {
		t.Errorf("own pull: %d records, want 1", last.RecordCount)
	}

	_, errUnknown := e.sync.Push(e.as(callerPatientB), &hepv1.PushRequest{DeviceId: newID(), Mutations: []*hepv1.Mutation{logMutation(1, validLog(newID(), hourAgo))}})
	if status.Code(errUnknown) != codes.NotFound {
		t.Fatalf("unknown device: %v", errUnknown)
	}
	for _, tc := range []struct {
		caller, device string
	}{{callerPatientB, e.deviceA}, {callerPatientA, e.deviceB}, {callerPatientA, e.deviceR}} {
		before, audit := e.snapshot()
		_, err := e.sync.Push(e.as(tc.caller), &hepv1.PushRequest{DeviceId: tc.device, DeviceTime: timestamppb.Now(),
			Mutations: []*hepv1.Mutation{logMutation(1, validLog(newID(), hourAgo))}})
		if status.Code(err) != codes.NotFound || status.Convert(err).Message() != status.Convert(errUnknown).Message() {
			t.Errorf("%s pushing as %s: %v, want %v", tc.caller, tc.device, err, errUnknown)
		}
		_, err = e.sync.Pull(e.as(tc.caller), &hepv1.PullRequest{DeviceId: tc.device})
		if status.Code(err) != codes.NotFound || status.Convert(err).Message() != status.Convert(errUnknown).Message() {
			t.Errorf("%s pulling as %s: %v, want %v", tc.caller, tc.device, err, errUnknown)
		}
		if after, auditAfter := e.snapshot(); after != before || auditAfter != audit+2 {
			t.Errorf("%s as %s: domain rows changed, or audit rows %d -> %d (want +2)", tc.caller, tc.device, audit, auditAfter)
		}
	}
	// The failure rows name the caller's patient, so a patient's trail
	// shows its phone's refused attempts.
	resp, err := e.audit.ListAuditEvents(e.as(callerAdmin), &hepv1.ListAuditEventsRequest{
		StartTime: timestamppb.New(time.Now().Add(-time.Hour)), EndTime: timestamppb.New(time.Now().Add(time.Hour)),
		PatientId: e.patientB, PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var refused int
	for _, ev := range resp.Events {
		if strings.HasPrefix(ev.Action, "sync.") && ev.Outcome == "NOT_FOUND" && ev.ActorId == e.deviceB {
			refused++
		}
	}
	if refused != 3 { // the unknown device, then A's device (push and pull)
		t.Errorf("%d refused sync rows for patient B, want 3", refused)
	}
}

// TestPullCursorIsolation: a cursor is the patient's own and cannot be
// edited: a forged cursor, another patient's, and one with a flipped
// character are INVALID_ARGUMENT naming cursor, all with the same message.
func TestPullCursorIsolation(t *testing.T) {
	e := newEnv(t)
	hourAgo := time.Now().Add(-time.Hour)
	a := e.phone(callerPatientA, e.deviceA)
	b := e.phone(callerPatientB, e.deviceB)
	a.pushOK(logMutation(0, validLog(newID(), hourAgo)), logMutation(0, validLog(newID(), hourAgo)))
	b.pushOK(logMutation(0, validLog(newID(), hourAgo)))
	a.pull(1)
	b.pull(1)

	payload, sig, _ := strings.Cut(a.cursor, ".")
	flip := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	key := make([]byte, 32)
	rand.Read(key)
	otherKey, err := auth.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	zero, _ := json.Marshal(syncCursor{PatientID: e.patientA, Seq: 0})
	bPayload, _, _ := strings.Cut(b.cursor, ".")
	cursors := map[string]string{
		"another patient's":       b.cursor,
		"signed with other key":   otherKey.Seal(syncCursorKind, zero),
		"patient swapped in":      base64.RawURLEncoding.EncodeToString([]byte(`{"p":"`+e.patientB+`","s":0}`)) + "." + sig,
		"B's payload, A's MAC":    bPayload + "." + sig,
		"first character":         flip(a.cursor, 0),
		"middle of the payload":   flip(payload, len(payload)/2) + "." + sig,
		"first of the signature":  payload + "." + flip(sig, 0),
		"middle of the signature": payload + "." + flip(sig, len(sig)/2),
		"no signature":            payload,
		"page token":              e.srv.encodePage("exercise_logs", pageCursor{Filter: e.patientA}),
	}
	var msg string
	for name, c := range cursors {
		if c == a.cursor {
			t.Fatalf("%s: not changed", name)
		}
		before, _ := e.snapshot()
		_, err := e.sync.Pull(e.as(callerPatientA), &hepv1.PullRequest{DeviceId: e.deviceA, Cursor: c})
		if status.Code(err) != codes.InvalidArgument || !slices.ContainsFunc(violations(err), func(v *errdetails.BadRequest_FieldViolation) bool {
			return v.Field == "cursor"
		}) {
			t.Errorf("%s: %v, want INVALID_ARGUMENT naming cursor", name, err)
			continue
		}
		if msg == "" {
			msg = status.Convert(err).Message()
		} else if m := status.Convert(err).Message(); m != msg {
			t.Errorf("%s: message %q differs from %q", name, m, msg)
		}
		if strings.Contains(msg, e.patientB) || strings.Contains(msg, e.patientA) {
			t.Errorf("%s: the message names a patient: %q", name, msg)
		}
		if after, _ := e.snapshot(); after != before {
			t.Errorf("%s: domain rows changed", name)
		}
	}
	// The real cursors still work, and a cursor is the patient's, so a
	// sibling device may resume from it.
	if resp, err := e.sync.Pull(e.as(callerPatientA), &hepv1.PullRequest{DeviceId: e.deviceA, Cursor: a.cursor}); err != nil || len(resp.Changes) != 0 || resp.HasMore {
		t.Errorf("own cursor: %v, %v", resp, err)
	}
	sib := e.secondDevice("patient A tablet")
	if _, err := e.sync.Pull(e.as(sib.caller), &hepv1.PullRequest{DeviceId: sib.deviceID, Cursor: a.cursor}); err != nil {
		t.Errorf("sibling resuming from A's cursor: %v", err)
	}
}

// TestReusedIDGivesNoOracle: a log id patient B already used is refused to
// patient A exactly like A reusing its own id with other content, even when
// A sends B's exact content; B's log is untouched.
func TestReusedIDGivesNoOracle(t *testing.T) {
	e := newEnv(t)
	hourAgo := time.Now().Add(-time.Hour).Truncate(time.Second)
	a := e.phone(callerPatientA, e.deviceA)
	b := e.phone(callerPatientB, e.deviceB)

	own := newID()
	a.pushOK(logMutation(0, validLog(own, hourAgo)))
	changed := validLog(own, hourAgo)
	changed.SetsDone = 3
	ownReuse := a.push(logMutation(0, changed)).Results[0]
	if ownReuse.Status != rejected {
		t.Fatalf("own id reused with other content: %v", ownReuse)
	}

	theirs := newID()
	bLog := validLog(theirs, hourAgo.Add(-time.Hour))
	bLog.Note = "B's private note"
	b.pushOK(logMutation(0, bLog))
	mine := validLog(theirs, hourAgo)
	same := proto.Clone(bLog).(*hepv1.ExerciseLog)
	for name, l := range map[string]*hepv1.ExerciseLog{"A's content": mine, "B's exact content": same} {
		r := a.push(logMutation(0, l)).Results[0]
		if r.Status != rejected || r.Field != ownReuse.Field ||
			strings.ReplaceAll(r.Reason, theirs, "ID") != strings.ReplaceAll(ownReuse.Reason, own, "ID") {
			t.Errorf("%s under B's id: %v; want what reusing an own id gets: %v", name, r, ownReuse)
		}
		if strings.Contains(r.Reason, "patient") || strings.Contains(r.Reason, e.patientB) {
			t.Errorf("%s: the reason mentions another patient: %q", name, r.Reason)
		}
	}
	if logs := e.liveLogs(callerClinA, e.patientA); len(logs) != 1 || logs[own] == nil || logs[own].SetsDone != 2 {
		t.Errorf("A's logs: %v", logs)
	}
	if logs := e.liveLogs(callerClinB, e.patientB); len(logs) != 1 || logs[theirs].GetNote() != "B's private note" || logs[theirs].GetDeviceId() != e.deviceB {
		t.Errorf("B's logs: %v", logs)
	}
	// Nor does A's pull show B's record.
	a.pull(50)
	if _, ok := a.records[recordKey(kindLog, theirs)]; ok {
		t.Error("A pulled B's log")
	}
}

// TestLogsOnlyForTheCareTeam: clinician B gets NOT_FOUND for A's logs and
// check-ins, exactly as for a patient that does not exist.
func TestLogsOnlyForTheCareTeam(t *testing.T) {
	e := newEnv(t)
	e.phone(callerPatientA, e.deviceA).pushOK(logMutation(0, validLog(newID(), time.Now().Add(-time.Hour))),
		checkinMutation(0, validCheckin(newID(), time.Now().Add(-time.Hour))))
	_, errNone := e.logs.ListExerciseLogs(e.as(callerClinB), &hepv1.ListExerciseLogsRequest{PatientId: newID()})
	_, errLogs := e.logs.ListExerciseLogs(e.as(callerClinB), &hepv1.ListExerciseLogsRequest{PatientId: e.patientA})
	_, errCheckins := e.logs.ListPainCheckins(e.as(callerClinB), &hepv1.ListPainCheckinsRequest{PatientId: e.patientA})
	for _, err := range []error{errLogs, errCheckins} {
		if status.Code(err) != codes.NotFound || status.Convert(err).Message() != status.Convert(errNone).Message() {
			t.Errorf("clinician B: %v; unknown patient: %v", err, errNone)
		}
	}
	if n := len(e.liveLogs(callerClinA, e.patientA)); n != 1 {
		t.Errorf("clinician A sees %d logs", n)
	}
}

// TestSequenceGap: a push that skips sequence numbers fails as a whole with
// SEQUENCE_GAP and the metadata last_sequence, and applies nothing; resent
// from last_sequence + 1 it applies.
func TestSequenceGap(t *testing.T) {
	e := newEnv(t)
	hourAgo := time.Now().Add(-time.Hour)
	a := e.phone(callerPatientA, e.deviceA)
	a.pushOK(logMutation(0, validLog(newID(), hourAgo)), logMutation(0, validLog(newID(), hourAgo)), logMutation(0, validLog(newID(), hourAgo)))

	before, _ := e.snapshot()
	_, err := e.sync.Push(e.as(callerPatientA), &hepv1.PushRequest{DeviceId: e.deviceA, DeviceTime: timestamppb.Now(),
		Mutations: []*hepv1.Mutation{logMutation(6, validLog(newID(), hourAgo)), logMutation(7, validLog(newID(), hourAgo))}})
	if status.Code(err) != codes.FailedPrecondition || reasonOf(err) != hep.ReasonSequenceGap {
		t.Fatalf("gap: %v", err)
	}
	var md map[string]string
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			md = info.Metadata
		}
	}
	if md["last_sequence"] != "3" {
		t.Errorf("ErrorInfo metadata %v, want last_sequence 3", md)
	}
	if after, _ := e.snapshot(); after != before {
		t.Error("a push with a gap changed domain rows")
	}
	a.pushOK(logMutation(0, validLog(newID(), hourAgo)))
	if n := len(e.liveLogs(callerClinA, e.patientA)); n != 4 {
		t.Errorf("%d logs, want 4", n)
	}
}

// TestClockSkew: a phone whose clock is a week fast, a week slow, or at the
// Unix epoch logs the same session: applied, with corrected_perform_time at
// the true time; only the informational perform_time differs.
func TestClockSkew(t *testing.T) {
	e := newEnv(t)
	const week = 7 * 24 * time.Hour
	truth := time.Now().Add(-90 * time.Minute).Truncate(time.Millisecond)
	skews := map[string]func(now time.Time) time.Duration{
		"in sync":    func(time.Time) time.Duration { return 0 },
		"week fast":  func(time.Time) time.Duration { return week },
		"week slow":  func(time.Time) time.Duration { return -week },
		"Unix epoch": func(now time.Time) time.Duration { return time.Unix(0, 0).Sub(now) },
	}
	ids, checkinIDs := map[string]string{}, map[string]string{}
	var seq int64
	for name, skew := range skews {
		now := time.Now()
		d := skew(now)
		id := newID()
		ids[name] = id
		seq++
		resp, err := e.sync.Push(e.as(callerPatientA), &hepv1.PushRequest{DeviceId: e.deviceA, DeviceTime: timestamppb.New(now.Add(d)),
			Mutations: []*hepv1.Mutation{logMutation(seq, validLog(id, truth.Add(d)))}})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r := resp.Results[0]; r.Status != applied {
			t.Fatalf("%s: %v", name, r)
		}
		// A check-in with the same skew.
		seq++
		cid := newID()
		checkinIDs[name] = cid
		resp, err = e.sync.Push(e.as(callerPatientA), &hepv1.PushRequest{DeviceId: e.deviceA, DeviceTime: timestamppb.New(now.Add(d)),
			Mutations: []*hepv1.Mutation{checkinMutation(seq, validCheckin(cid, truth.Add(d)))}})
		if err != nil || resp.Results[0].Status != applied {
			t.Fatalf("%s check-in: %v %v", name, resp, err)
		}
	}
	logs := e.liveLogs(callerClinA, e.patientA)
	checkins := e.liveCheckins(callerClinA, e.patientA)
	reference := logs[ids["in sync"]]
	for name, id := range ids {
		l, c := logs[id], checkins[checkinIDs[name]]
		if l == nil || c == nil {
			t.Fatalf("%s: log %v, check-in %v", name, l, c)
		}
		if off := l.CorrectedPerformTime.AsTime().Sub(truth); off < -time.Second || off > time.Second {
			t.Errorf("%s: corrected perform time %v is %v off the truth", name, l.CorrectedPerformTime.AsTime(), off)
		}
		if off := c.CorrectedRecordTime.AsTime().Sub(truth); off < -time.Second || off > time.Second {
			t.Errorf("%s: corrected record time is %v off the truth", name, off)
		}
		// Everything adherence is computed from is the same.
		got, want := proto.Clone(l).(*hepv1.ExerciseLog), proto.Clone(reference).(*hepv1.ExerciseLog)
		for _, x := range []*hepv1.ExerciseLog{got, want} {
			x.Id, x.PerformTime, x.CorrectedPerformTime, x.ReceiveTime = "", nil, nil, nil
		}
		if !proto.Equal(got, want) {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	// The phone's own time is kept as it was sent.
	if got, want := logs[ids["week fast"]].PerformTime.AsTime(), truth.Add(week); !got.Equal(want) {
		t.Errorf("week fast: perform_time %v, want the phone's %v", got, want)
	}
	if got := logs[ids["Unix epoch"]].PerformTime.AsTime(); got.After(time.Unix(0, 0)) || got.Before(time.Unix(-3*3600, 0)) {
		t.Errorf("Unix epoch: perform_time %v, want the phone's, just before the epoch", got)
	}
	// The pull shows the same corrected times.
	resp, err := e.sync.Pull(e.as(callerPatientA), &hepv1.PullRequest{DeviceId: e.deviceA})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range resp.Changes {
		if l := c.GetUpsert().GetLog(); l != nil {
			if off := l.CorrectedPerformTime.AsTime().Sub(truth); off < -time.Second || off > time.Second {
				t.Errorf("pulled log %s: corrected time %v off", l.Id, off)
			}
		}
	}
}

// TestReplay: the same push replayed 1-5 times returns the stored results
// (replayed), changes no record and duplicates nothing; a batch that
// overlaps the stored ones applies only its new part.
func TestReplay(t *testing.T) {
	e := newEnv(t)
	hourAgo := time.Now().Add(-time.Hour)
	l1, l2, c1 := newID(), newID(), newID()
	correction := validLog(l2, hourAgo)
	correction.Supersedes, correction.RepsDone = l1, 12
	bad := validCheckin(newID(), hourAgo)
	bad.Score = 11
	req := &hepv1.PushRequest{DeviceId: e.deviceA, DeviceTime: timestamppb.Now(), Mutations: []*hepv1.Mutation{
		logMutation(1, validLog(l1, hourAgo)),
		checkinMutation(2, validCheckin(c1, hourAgo)),
		logMutation(3, correction),
		deleteMutation(4, kindCheckin, c1),
		checkinMutation(5, bad),
	}}
	first, err := e.sync.Push(e.as(callerPatientA), req)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range first.Results {
		want := applied
		if i == 4 {
			want = rejected
		}
		if r.Status != want || r.Replayed {
			t.Fatalf("first push, result %d: %v", i, r)
		}
	}
	before, _ := e.snapshot()
	for n := 1; n <= 5; n++ {
		// A phone resends with its clock of the moment.
		req.DeviceTime = timestamppb.New(time.Now().Add(time.Duration(n) * time.Hour))
		again, err := e.sync.Push(e.as(callerPatientA), req)
		if err != nil {
			t.Fatalf("replay %d: %v", n, err)
		}
		if again.LastSequence != first.LastSequence || len(again.Results) != len(first.Results) {
			t.Fatalf("replay %d: %v", n, again)
		}
		for i, r := range again.Results {
			f := first.Results[i]
			if r.Sequence != f.Sequence || r.Status != f.Status || r.Reason != f.Reason || r.Field != f.Field || !r.Replayed {
				t.Errorf("replay %d, result %d: %v, first %v", n, i, r, f)
			}
		}
		if after, _ := e.snapshot(); after != before {
			t.Errorf("replay %d changed domain rows", n)
		}
	}
	logs, checkins := e.liveLogs(callerClinA, e.patientA), e.liveCheckins(callerClinA, e.patientA)
	if len(logs) != 1 || logs[l2].GetRepsDone() != 12 || len(checkins) != 0 {
		t.Errorf("after replays: logs %v, check-ins %v", logs, checkins)
	}

	// Overlap: 4 and 5 are stored, 6 is new.
	l3 := newID()
	resp, err := e.sync.Push(e.as(callerPatientA), &hepv1.PushRequest{DeviceId: e.deviceA, DeviceTime: timestamppb.Now(), Mutations: []*hepv1.Mutation{
		req.Mutations[3], req.Mutations[4], logMutation(6, validLog(l3, hourAgo)),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if r := resp.Results; !r[0].Replayed || !r[1].Replayed || r[1].Status != rejected || r[2].Replayed || r[2].Status != applied || resp.LastSequence != 6 {
		t.Errorf("overlapping push: %v", resp)
	}
	if logs := e.liveLogs(callerClinA, e.patientA); len(logs) != 2 || logs[l3] == nil {
		t.Errorf("after the overlap: %v", logs)
	}
}

// TestNoResurrection: once deleted (or superseded), a record stays gone
// whatever stale copy of its insert arrives: a replay of the insert's
// sequence, the same insert under a new sequence, or from a sibling device.
func TestNoResurrection(t *testing.T) {
	e := newEnv(t)
	hourAgo := time.Now().Add(-time.Hour)
	a := e.phone(callerPatientA, e.deviceA)
	gone, old := newID(), newID()
	insert := validLog(gone, hourAgo)
	a.pushOK(logMutation(0, insert), logMutation(0, validLog(old, hourAgo)))
	fix := validLog(newID(), hourAgo)
	fix.Supersedes = old
	a.pushOK(deleteMutation(0, kindLog, gone), logMutation(0, fix))

	stillGone := func(when string) {
		t.Helper()
		logs := e.liveLogs(callerClinA, e.patientA)
		if logs[gone] != nil || logs[old] != nil || len(logs) != 1 {
			t.Errorf("%s: live logs %v", when, logs)
		}
		p := e.phone(callerPatientA, e.deviceA)
		last := p.pull(2)
		if _, ok := p.records[recordKey(kindLog, gone)]; ok {
			t.Errorf("%s: a fresh pull holds the deleted log", when)
		}
		if _, ok := p.records[recordKey(kindLog, old)]; ok {
			t.Errorf("%s: a fresh pull holds the superseded log", when)
		}
		if int64(len(p.records)) != last.RecordCount || p.hash() != last.RecordsHash {
			t.Errorf("%s: pull does not converge", when)
		}
	}
	stillGone("after the delete")

	// The stale replay of sequence 1.
	r, err := e.sync.Push(e.as(callerPatientA), &hepv1.PushRequest{DeviceId: e.deviceA, DeviceTime: timestamppb.Now(),
		Mutations: []*hepv1.Mutation{logMutation(1, insert)}})
	if err != nil || !r.Results[0].Replayed {
		t.Fatalf("stale replay: %v %v", r, err)
	}
	stillGone("after a stale replay")

	// The same insert again, as a new mutation, from the phone and from a
	// sibling: never applied over the tombstone.
	a.push(logMutation(0, proto.Clone(insert).(*hepv1.ExerciseLog)), logMutation(0, validLog(old, hourAgo)))
	stillGone("after re-sending the inserts")
	e.secondDevice("patient A tablet").push(logMutation(0, proto.Clone(insert).(*hepv1.ExerciseLog)))
	stillGone("after a sibling sent the insert")
	// Nor does a delete of what is already deleted change anything.
	a.push(deleteMutation(0, kindLog, gone))
	stillGone("after deleting again")
}

// TestPullConvergence: two devices of patient A push, a clinician screens
// and plans; each device pulls to the end in small pages and holds exactly
// what the last page's count and hash say, the same set as the other, and
// none of patient B's records. Later changes pulled from the saved cursors
// converge again.
func TestPullConvergence(t *testing.T) {
	e := newEnv(t)
	hourAgo := time.Now().Add(-time.Hour)
	a1 := e.phone(callerPatientA, e.deviceA)
	a2 := e.secondDevice("patient A tablet")
	b := e.phone(callerPatientB, e.deviceB)

	var mine []string
	for range 3 {
		id := newID()
		mine = append(mine, id)
		a1.pushOK(logMutation(0, validLog(id, hourAgo)))
	}
	c := newID()
	a1.pushOK(checkinMutation(0, validCheckin(c, hourAgo)))
	x, y := newID(), newID()
	a2.pushOK(logMutation(0, validLog(x, hourAgo)), logMutation(0, validLog(y, hourAgo)), deleteMutation(0, kindLog, mine[0]))
	bID := newID()
	b.pushOK(logMutation(0, validLog(bID, hourAgo)))
	e.screenAll(callerClinA, e.patientA, absent)
	if _, err := e.setPlan(callerClinA, e.patientA, item(catCow), item(childsPose)); err != nil {
		t.Fatal(err)
	}

	check := func(when, foreign string, ps ...*phone) {
		t.Helper()
		var first map[string]int64
		for _, p := range ps {
			last := p.pull(2)
			if int64(len(p.records)) != last.RecordCount || p.hash() != last.RecordsHash {
				t.Errorf("%s, %s: holds %d records hashing %s; the server says %d, %s", when, p.caller,
					len(p.records), p.hash(), last.RecordCount, last.RecordsHash)
			}
			if _, ok := p.records[recordKey(kindLog, foreign)]; ok {
				t.Errorf("%s, %s: pulled another patient's log", when, p.caller)
			}
			if first == nil {
				first = p.records
			} else if !mapsEqual(first, p.records) {
				t.Errorf("%s: the devices differ:\n%v\n%v", when, first, p.records)
			}
		}
	}
	check("first sync", bID, a1, a2)
	kinds := map[string]int{}
	for k := range a1.records {
		kind, _, _ := strings.Cut(k, ":")
		kinds[kind]++
	}
	// 4 live logs (one deleted), a check-in, the plan, its 2 exercises, the
	// screening.
	if kinds["EXERCISE_LOG"] != 4 || kinds["PAIN_CHECKIN"] != 1 || kinds["PLAN"] != 1 || kinds["EXERCISE"] != 2 || kinds["SCREENING"] != 1 {
		t.Errorf("record kinds %v", kinds)
	}
	if a1.pages < 5 {
		t.Errorf("%d pages: the pull was not paged", a1.pages)
	}
	if a1.records[recordKey(kindLog, mine[0])] != 0 {
		t.Error("the deleted log was pulled")
	}

	// More changes: a correction and a check-in deleted from the other
	// device, a new plan without childs-pose, then a pregnancy the phone
	// reports, which re-gates the plan.
	fix := validLog(newID(), hourAgo)
	fix.Supersedes = mine[1]
	a2.pushOK(logMutation(0, fix), deleteMutation(0, kindCheckin, c))
	if _, err := e.setPlan(callerClinA, e.patientA, item(catCow)); err != nil {
		t.Fatal(err)
	}
	a1.pushOK(screeningMutation(0, answers(pregnancy, present)))
	check("incremental sync", bID, a1, a2)
	if stateOf(e.plan(callerClinA, e.patientA), catCow) != suspended {
		t.Error("the phone's screening report did not re-gate the plan")
	}
	// Catalog entries stay held once a plan named them (older logs refer
	// to them); the current plan's are there.
	if _, ok := a1.records[recordKey(hepv1.RecordKind_RECORD_KIND_EXERCISE, catCow)]; !ok {
		t.Error("the plan's exercise is not held")
	}
	fresh := e.phone(callerPatientA, e.deviceA)
	check("fresh and incremental", bID, fresh, a1)
	if _, ok := fresh.records[recordKey(kindLog, mine[1])]; ok {
		t.Error("the superseded log was pulled")
	}
	if _, ok := fresh.records[recordKey(kindCheckin, c)]; ok {
		t.Error("the deleted check-in was pulled")
	}

	// Nothing new: an empty page that is the last one, at the same cursor
	// position.
	resp, err := e.sync.Pull(e.as(callerPatientA), &hepv1.PullRequest{DeviceId: e.deviceA, Cursor: a1.cursor})
	if err != nil || len(resp.Changes) != 0 || resp.HasMore || resp.RecordCount != int64(len(a1.records)) || resp.RecordsHash != a1.hash() {
		t.Errorf("pull at the end: %v, %v", resp, err)
	}
	// B's device converges on B's records only.
	check("patient B", x, b)
	if len(b.records) != 1 {
		t.Errorf("patient B holds %v", b.records)
	}
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestListLogsPaging: newest first by corrected time, in pages; the token
// is bound to the list and the patient.
func TestListLogsPaging(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	a := e.phone(callerPatientA, e.deviceA)
	var want, wantC []string // newest first
	for i := range 7 {
		id, cid := newID(), newID()
		want = append([]string{id}, want...)
		wantC = append([]string{cid}, wantC...)
		a.pushOK(logMutation(0, validLog(id, now.Add(time.Duration(i-8)*time.Hour))))
		a.pushOK(checkinMutation(0, validCheckin(cid, now.Add(time.Duration(i-8)*time.Hour))))
	}
	var got []string
	var pages int
	req := &hepv1.ListExerciseLogsRequest{PatientId: e.patientA, PageSize: 3}
	for {
		resp, err := e.logs.ListExerciseLogs(e.as(callerClinA), req)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, l := range resp.Logs {
			got = append(got, l.Id)
		}
		if resp.NextPageToken == "" {
			break
		}
		req.PageToken = resp.NextPageToken
	}
	if pages != 3 || !slices.Equal(got, want) {
		t.Errorf("%d pages: %v, want %v", pages, got, want)
	}
	var gotC []string
	creq := &hepv1.ListPainCheckinsRequest{PatientId: e.patientA, PageSize: 2}
	for {
		resp, err := e.logs.ListPainCheckins(e.as(callerClinA), creq)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range resp.Checkins {
			gotC = append(gotC, c.Id)
		}
		if resp.NextPageToken == "" {
			break
		}
		creq.PageToken = resp.NextPageToken
	}
	if !slices.Equal(gotC, wantC) {
		t.Errorf("check-ins %v, want %v", gotC, wantC)
	}

	// A token of patient A's list is not one of patient B's, even for a
	// clinician on both teams.
	if _, err := e.patients.AddCareTeamMember(e.as(callerAdmin), &hepv1.AddCareTeamMemberRequest{PatientId: e.patientB, ClinicianId: e.clinAID}); err != nil {
		t.Fatal(err)
	}
	first, err := e.logs.ListExerciseLogs(e.as(callerClinA), &hepv1.ListExerciseLogsRequest{PatientId: e.patientA, PageSize: 1})
	if err != nil || first.NextPageToken == "" {
		t.Fatalf("%v %v", first, err)
	}
	_, err = e.logs.ListExerciseLogs(e.as(callerClinA), &hepv1.ListExerciseLogsRequest{PatientId: e.patientB, PageToken: first.NextPageToken})
	if status.Code(err) != codes.InvalidArgument || !violationMentions(err, "page_token") {
		t.Errorf("A's token for B: %v", err)
	}
	_, err = e.logs.ListPainCheckins(e.as(callerClinA), &hepv1.ListPainCheckinsRequest{PatientId: e.patientA, PageToken: first.NextPageToken})
	if status.Code(err) != codes.InvalidArgument || !violationMentions(err, "page_token") {
		t.Errorf("a logs token for check-ins: %v", err)
	}
}

// TestPullCursorExpired: once tombstones after a cursor are purged, the
// cursor may have missed a deletion: FAILED_PRECONDITION with reason
// CURSOR_EXPIRED; a cursor from after the purged deletion still works, and
// so does starting again from an empty cursor.
func TestPullCursorExpired(t *testing.T) {
	e := newEnv(t)
	hourAgo := time.Now().Add(-time.Hour)
	a := e.phone(callerPatientA, e.deviceA)
	gone, kept := newID(), newID()
	a.pushOK(logMutation(0, validLog(gone, hourAgo)), logMutation(0, validLog(kept, hourAgo)))
	a.pull(10)
	stale := a.cursor
	a.pushOK(deleteMutation(0, kindLog, gone))
	a.pull(10)
	current := a.cursor

	n, err := e.store.PurgeTombstones(context.Background(), time.Now().Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("PurgeTombstones: %d, %v", n, err)
	}
	_, err = e.sync.Pull(e.as(callerPatientA), &hepv1.PullRequest{DeviceId: e.deviceA, Cursor: stale})
	if status.Code(err) != codes.FailedPrecondition || reasonOf(err) != hep.ReasonCursorExpired {
		t.Errorf("stale cursor: %v, want FAILED_PRECONDITION CURSOR_EXPIRED", err)
	}
	if _, err := e.sync.Pull(e.as(callerPatientA), &hepv1.PullRequest{DeviceId: e.deviceA, Cursor: current}); err != nil {
		t.Errorf("current cursor: %v", err)
	}
	fresh := e.phone(callerPatientA, e.deviceA)
	last := fresh.pull(10)
	if len(fresh.records) != 1 || fresh.records[recordKey(kindLog, kept)] == 0 || last.RecordsHash != fresh.hash() {
		t.Errorf("reset pull: %v, %v", fresh.records, last)
	}
}
