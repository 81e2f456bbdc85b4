package heptest

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hepclinic/hep/internal/hep"
)

// Patient sync: Push, Pull, PurgeTombstones and the clinician's lists of
// logs and check-ins, against the guarantees of the sync protocol
// (idempotence, atomic batches, no skipped rows, convergence, no
// resurrected deletes, independence from the phone's clock).

func resSync(patientID string) string { return resPatient(patientID) + "/sync" }

func resLogs(patientID string) string { return resPatient(patientID) + "/logs" }

func resCheckins(patientID string) string { return resPatient(patientID) + "/checkins" }

// entryKey names a synced record.
type entryKey struct {
	kind hep.RecordKind
	id   string
}

// phone is a simulated patient phone: its device, the numbering of its
// outbox and the copy of the patient's records it built from pulls, kept
// as a phone keeps it (record by kind and id, with the sequence of its last
// change; a tombstone removes it).
type phone struct {
	c      *clinic
	device hep.Device
	seq    int64 // the last mutation number used
	cursor int64
	held   map[entryKey]hep.Change
	calls  int // successful Push and Pull calls: each wrote one audit row
}

func (c *clinic) newPhone(d hep.Device) *phone {
	return &phone{c: c, device: d, held: map[entryKey]hep.Change{}}
}

// actor is the phone's device acting for its patient.
func (ph *phone) actor() hep.Actor {
	return hep.Actor{ID: ph.device.ID, Role: hep.RolePatient, PatientID: ph.device.PatientID}
}

func (ph *phone) ctx(action string) (context.Context, hep.Actor) { return ph.c.as(ph.actor(), action) }

// batch numbers changes as the phone's next mutations.
func (ph *phone) batch(changes ...hep.Mutation) []hep.Mutation {
	out := make([]hep.Mutation, len(changes))
	for i, m := range changes {
		ph.seq++
		m.Seq = ph.seq
		out[i] = m
	}
	return out
}

// tryPush pushes muts and checks the shape of a successful answer: one
// result per mutation, in order, and the last sequence.
func (ph *phone) tryPush(muts []hep.Mutation) ([]hep.MutationResult, error) {
	ctx, _ := ph.ctx("sync.push")
	rs, last, err := ph.c.store.Push(ctx, ph.device.ID, muts)
	if err != nil {
		return nil, err
	}
	if len(rs) != len(muts) {
		return rs, fmt.Errorf("Push returned %d results for %d mutations", len(rs), len(muts))
	}
	for i, r := range rs {
		if r.Seq != muts[i].Seq {
			return rs, fmt.Errorf("result %d has sequence %d, want %d", i, r.Seq, muts[i].Seq)
		}
	}
	if len(muts) > 0 && last < muts[len(muts)-1].Seq {
		return rs, fmt.Errorf("Push returned last sequence %d below the batch's %d", last, muts[len(muts)-1].Seq)
	}
	ph.calls++
	return rs, nil
}

// push pushes muts; any error fails the test.
func (ph *phone) push(muts []hep.Mutation) []hep.MutationResult {
	ph.c.t.Helper()
	rs, err := ph.tryPush(muts)
	if err != nil {
		ph.c.t.Fatalf("Push: %v", err)
	}
	return rs
}

// tryPull pulls pages of limit from the phone's cursor until the last one,
// applying every change to the phone's copy, and checks the protocol's
// promises on the way: pages no longer than the limit, sequence order
// within and across pages, Next where the page ended, tombstones without a
// record, and on the last page a count and hash equal to the copy's. It
// returns the changes in order.
func (ph *phone) tryPull(limit int) ([]hep.Change, error) {
	var all []hep.Change
	for pages := 0; ; pages++ {
		if pages > 10000 {
			return all, fmt.Errorf("Pull never reached its last page")
		}
		ctx, _ := ph.ctx("sync.pull")
		page, err := ph.c.store.Pull(ctx, ph.device.PatientID, ph.cursor, limit)
		if err != nil {
			return all, fmt.Errorf("Pull(after %d, limit %d): %w", ph.cursor, limit, err)
		}
		ph.calls++
		if len(page.Changes) > limit {
			return all, fmt.Errorf("Pull(limit %d) returned %d changes", limit, len(page.Changes))
		}
		prev := ph.cursor
		for _, c := range page.Changes {
			if c.Seq <= prev {
				return all, fmt.Errorf("Pull after %d returned sequence %d after %d: out of order or already seen", ph.cursor, c.Seq, prev)
			}
			prev = c.Seq
			if err := checkChange(c); err != nil {
				return all, err
			}
			key := entryKey{c.Kind, c.ID}
			if c.Deleted {
				delete(ph.held, key)
			} else {
				ph.held[key] = c
			}
		}
		all = append(all, page.Changes...)
		if page.HasMore {
			if len(page.Changes) == 0 || page.Next != prev {
				return all, fmt.Errorf("a page with more to come ends at %d but says next %d", prev, page.Next)
			}
			ph.cursor = page.Next
			continue
		}
		if page.Next < prev {
			return all, fmt.Errorf("the last page returned sequence %d but says next %d", prev, page.Next)
		}
		ph.cursor = page.Next
		if want := ph.hash(); page.Count != int64(len(ph.held)) || page.Hash != want {
			return all, fmt.Errorf("the last page says count %d hash %s; the phone holds %d records, hash %s",
				page.Count, page.Hash, len(ph.held), want)
		}
		return all, nil
	}
}

// pull is tryPull failing the test on any problem.
func (ph *phone) pull(limit int) []hep.Change {
	ph.c.t.Helper()
	all, err := ph.tryPull(limit)
	if err != nil {
		ph.c.t.Fatal(err)
	}
	return all
}

// hash is the convergence hash of what the phone holds.
func (ph *phone) hash() string {
	var live []hep.SyncEntry
	for _, c := range ph.held {
		live = append(live, c.SyncEntry)
	}
	return hep.ConvergenceHash(live)
}

// checkChange checks that a change carries exactly what its kind says.
func checkChange(c hep.Change) error {
	set := 0
	for _, ok := range []bool{c.Log != nil, c.Checkin != nil, c.Plan != nil, c.Exercise != nil, c.Screening != nil,
		c.Questionnaires != nil, c.Response != nil, c.Message != nil, c.Thread != nil} {
		if ok {
			set++
		}
	}
	if c.Deleted {
		if set != 0 || (c.Kind != hep.KindLog && c.Kind != hep.KindCheckin && c.Kind != hep.KindResponse) {
			return fmt.Errorf("tombstone %s %s carries a record or is of a kind never deleted: %+v", c.Kind, c.ID, c)
		}
		return nil
	}
	ok := set == 1
	switch c.Kind {
	case hep.KindLog:
		ok = ok && c.Log != nil && c.Log.ID == c.ID
	case hep.KindCheckin:
		ok = ok && c.Checkin != nil && c.Checkin.ID == c.ID
	case hep.KindPlan:
		ok = ok && c.Plan != nil && c.ID == hep.CurrentID
	case hep.KindScreening:
		ok = ok && c.Screening != nil && c.ID == hep.CurrentID
	case hep.KindCatalog:
		ok = ok && c.Exercise != nil && c.Exercise.ID == c.ID
	case hep.KindQuestionnaires:
		ok = ok && c.Questionnaires != nil && c.ID == hep.CurrentID
	case hep.KindResponse:
		ok = ok && c.Response != nil && c.Response.ID == c.ID
	case hep.KindMessage:
		ok = ok && c.Message != nil && c.Message.ID == c.ID
	case hep.KindThread:
		ok = ok && c.Thread != nil && c.ID == hep.CurrentID
	default:
		ok = false
	}
	if !ok {
		return fmt.Errorf("change %s %s at %d does not carry its record: %+v", c.Kind, c.ID, c.Seq, c)
	}
	return nil
}

// noticeKeys is keys with the ids of hep's notices to the patient (system
// messages, made by the server) written "notice", after checking that each
// is a system message with one of the notices' texts.
func noticeKeys(t *testing.T, cs []hep.Change) []string {
	t.Helper()
	out := keys(cs)
	for i, c := range cs {
		if c.Kind != hep.KindMessage || c.Deleted {
			continue
		}
		m := c.Message
		if m.Sender != hep.SenderSystem || m.SenderID != hep.SystemSenderID ||
			(m.Body != hep.NoticeRedFlagHold && m.Body != hep.NoticeItemsPaused && m.Body != hep.NoticeHoldLifted) {
			t.Errorf("message %+v is not one of hep's notices", m)
		}
		out[i] = "MESSAGE notice"
	}
	return out
}

// keys returns the kinds and ids of changes, tombstones marked "-".
func keys(cs []hep.Change) []string {
	var out []string
	for _, c := range cs {
		k := string(c.Kind) + " " + c.ID
		if c.Deleted {
			k = "-" + k
		}
		out = append(out, k)
	}
	return out
}

// heldIDs returns the ids the phone holds of a kind, sorted.
func (ph *phone) heldIDs(kind hep.RecordKind) []string {
	var out []string
	for k := range ph.held {
		if k.kind == kind {
			out = append(out, k.id)
		}
	}
	slices.Sort(out)
	return out
}

// screenedPlan screens every flag ABSENT and writes a plan of built-ins,
// every item ACTIVE.
func (c *clinic) screenedPlan(ids ...string) {
	c.t.Helper()
	c.screen(allAbsent()...)
	c.setPlan(ids...)
}

func newUUID() string { return uuid.Must(uuid.NewV7()).String() }

func score(n int32) *int32 { return &n }

// newLog is a valid log of an exercise done an hour ago, by a phone whose
// clock is 3 minutes slow (PerformTime) as the transport corrects it
// (CorrectedPerformTime).
func (c *clinic) newLog(exerciseID string) hep.ExerciseLog {
	at := c.clock.Now().Add(-time.Hour)
	return hep.ExerciseLog{ID: newUUID(), ExerciseID: exerciseID, PlanVersion: 1, PerformTime: at.Add(-3 * time.Minute),
		CorrectedPerformTime: at, SetsDone: 2, RepsDone: 10, PainBefore: score(4), PainAfter: score(3),
		Difficulty: hep.DifficultyJustRight, Note: "felt fine"}
}

// newCheckin is a valid check-in scored half an hour ago.
func (c *clinic) newCheckin(s int32, flags ...hep.RedFlag) hep.PainCheckin {
	at := c.clock.Now().Add(-30 * time.Minute)
	return hep.PainCheckin{ID: newUUID(), RecordTime: at.Add(-3 * time.Minute), CorrectedRecordTime: at, Score: s,
		Location: hep.PainLowBack, RedFlags: flags, Note: "after work"}
}

func mLog(l hep.ExerciseLog) hep.Mutation              { return hep.Mutation{Log: &l} }
func mCheckin(c hep.PainCheckin) hep.Mutation          { return hep.Mutation{Checkin: &c} }
func mScreening(in ...hep.ScreeningInput) hep.Mutation { return hep.Mutation{Screening: in} }

func mDelete(kind hep.RecordKind, id string) hep.Mutation {
	return hep.Mutation{Delete: &hep.DeleteRecord{Kind: kind, ID: id}}
}

// storedLog is l as the store keeps it when pushed by d at received.
func storedLog(l hep.ExerciseLog, d hep.Device, received time.Time, suspended bool) hep.ExerciseLog {
	l.PatientID, l.DeviceID, l.ReceiveTime, l.ItemSuspended = d.PatientID, d.ID, received, suspended
	return normLog(l)
}

func storedCheckin(c hep.PainCheckin, d hep.Device, received time.Time) hep.PainCheckin {
	c.PatientID, c.DeviceID, c.ReceiveTime = d.PatientID, d.ID, received
	return normCheckin(c)
}

func normLog(l hep.ExerciseLog) hep.ExerciseLog {
	l.PerformTime, l.CorrectedPerformTime, l.ReceiveTime = norm(l.PerformTime), norm(l.CorrectedPerformTime), norm(l.ReceiveTime)
	return l
}

func normCheckin(c hep.PainCheckin) hep.PainCheckin {
	c.RecordTime, c.CorrectedRecordTime, c.ReceiveTime = norm(c.RecordTime), norm(c.CorrectedRecordTime), norm(c.ReceiveTime)
	if len(c.RedFlags) == 0 {
		c.RedFlags = nil
	}
	return c
}

func normScreening(sc hep.Screening) hep.Screening {
	out := hep.Screening{}
	for f, a := range sc {
		out[f] = normAnswer(a)
	}
	return out
}

// logs returns every live log of the patient, newest first.
func (c *clinic) logs(patientID string) []hep.ExerciseLog {
	c.t.Helper()
	ls, err := c.store.ListExerciseLogs(c.ctx(), hep.LogFilter{PatientID: patientID})
	if err != nil {
		c.t.Fatalf("ListExerciseLogs: %v", err)
	}
	for i := range ls {
		ls[i] = normLog(ls[i])
	}
	return ls
}

// checkins returns every live check-in of the patient, newest first.
func (c *clinic) checkins(patientID string) []hep.PainCheckin {
	c.t.Helper()
	cs, err := c.store.ListPainCheckins(c.ctx(), hep.LogFilter{PatientID: patientID})
	if err != nil {
		c.t.Fatalf("ListPainCheckins: %v", err)
	}
	for i := range cs {
		cs[i] = normCheckin(cs[i])
	}
	return cs
}

func logIDs(ls []hep.ExerciseLog) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.ID)
	}
	slices.Sort(out)
	return out
}

func checkinIDs(cs []hep.PainCheckin) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	slices.Sort(out)
	return out
}

// wantResults compares push results.
func wantResults(t *testing.T, what string, got, want []hep.MutationResult) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: results\n got  %+v\n want %+v", what, got, want)
	}
}

func ok(seq int64) hep.MutationResult {
	return hep.MutationResult{Seq: seq, Status: hep.MutationApplied}
}

func replayed(rs []hep.MutationResult) []hep.MutationResult {
	out := slices.Clone(rs)
	for i := range out {
		out[i].Replayed = true
	}
	return out
}

// wantRejected checks that a result is REJECTED for the field.
func wantRejected(t *testing.T, what string, r hep.MutationResult, seq int64, field string) {
	t.Helper()
	if r.Seq != seq || r.Status != hep.MutationRejected || r.Field != field || r.Reason == "" || r.Replayed {
		t.Errorf("%s: result %+v; want sequence %d REJECTED for %s with a reason", what, r, seq, field)
	}
}

// the rejection reasons the suite pins: they must not tell another
// patient's record from a record that does not exist.
const (
	reasonIDReused = "id already used with different content"
)

func testSync(t *testing.T, open OpenFunc) {
	t.Run("PushAndReplay", func(t *testing.T) { syncPushAndReplay(t, open) })
	t.Run("SequenceGap", func(t *testing.T) { syncSequenceGap(t, open) })
	t.Run("Rejections", func(t *testing.T) { syncRejections(t, open) })
	t.Run("IDReuse", func(t *testing.T) { syncIDReuse(t, open) })
	t.Run("SupersedeAndDelete", func(t *testing.T) { syncSupersedeAndDelete(t, open) })
	t.Run("NoResurrection", func(t *testing.T) { syncNoResurrection(t, open) })
	t.Run("SuspendedItem", func(t *testing.T) { syncSuspendedItem(t, open) })
	t.Run("RedFlagCheckin", func(t *testing.T) { syncRedFlagCheckin(t, open) })
	t.Run("ScreeningReport", func(t *testing.T) { syncScreeningReport(t, open) })
	t.Run("PullPaging", func(t *testing.T) { syncPullPaging(t, open) })
	t.Run("ClinicalWrites", func(t *testing.T) { syncClinicalWrites(t, open) })
	t.Run("PurgeAndCursors", func(t *testing.T) { syncPurgeAndCursors(t, open) })
	t.Run("Devices", func(t *testing.T) { syncDevices(t, open) })
	t.Run("Audit", func(t *testing.T) { syncAudit(t, open) })
	t.Run("Lists", func(t *testing.T) { syncLists(t, open) })
}

func syncPushAndReplay(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	p := c.patient.ID
	c.screen(allAbsent()...)
	c.setPlan("cat-cow", "childs-pose")
	ph := c.newPhone(c.device)
	c.clock.Advance(time.Hour)

	a, b, ci := c.newLog("cat-cow"), c.newLog("childs-pose"), c.newCheckin(5)
	muts := ph.batch(mLog(a), mLog(b), mCheckin(ci))
	ctx, actor := ph.ctx("sync.push")
	var rs []hep.MutationResult
	events := c.audited(func() {
		var last int64
		var err error
		if rs, last, err = c.store.Push(ctx, c.device.ID, muts); err != nil || last != 3 {
			t.Fatalf("Push = %d, %v; want last sequence 3", last, err)
		}
	})
	c.wantEvent("Push", events, actor, p, resSync(p), hep.OutcomeOK)
	want := []hep.MutationResult{ok(1), ok(2), ok(3)}
	wantResults(t, "Push", rs, want)
	received := c.clock.Now()
	wantLogs := []hep.ExerciseLog{storedLog(b, c.device, received, false), storedLog(a, c.device, received, false)}
	slices.SortFunc(wantLogs, func(x, y hep.ExerciseLog) int { return -cmpString(x.ID, y.ID) }) // same time: newest id first
	if got := c.logs(p); !reflect.DeepEqual(got, wantLogs) {
		t.Errorf("logs after Push:\n got  %+v\n want %+v", got, wantLogs)
	}
	wantCheckins := []hep.PainCheckin{storedCheckin(ci, c.device, received)}
	if got := c.checkins(p); !reflect.DeepEqual(got, wantCheckins) {
		t.Errorf("check-ins after Push:\n got  %+v\n want %+v", got, wantCheckins)
	}
	ph.pull(100)
	held := maps.Clone(ph.held)

	// The same batch again, any number of times: the stored results,
	// nothing new stored, nothing new to pull.
	for k := 1; k <= 5; k++ {
		c.clock.Advance(time.Minute)
		var again []hep.MutationResult
		events := c.audited(func() {
			var last int64
			var err error
			if again, last, err = c.store.Push(ctx, c.device.ID, muts); err != nil || last != 3 {
				t.Fatalf("replay #%d: Push = %d, %v; want last sequence 3", k, last, err)
			}
		})
		c.wantEvent(fmt.Sprintf("replay #%d", k), events, actor, p, resSync(p), hep.OutcomeOK)
		wantResults(t, fmt.Sprintf("replay #%d", k), again, replayed(want))
	}
	if got := c.logs(p); !reflect.DeepEqual(got, wantLogs) {
		t.Errorf("logs after replays:\n got  %+v\n want %+v", got, wantLogs)
	}
	if got := c.checkins(p); !reflect.DeepEqual(got, wantCheckins) {
		t.Errorf("check-ins after replays:\n got  %+v\n want %+v", got, wantCheckins)
	}
	if changes := ph.pull(100); len(changes) != 0 || !reflect.DeepEqual(ph.held, held) {
		t.Errorf("replays left changes to pull: %v", keys(changes))
	}

	// A batch that overlaps: the known part replays, the rest applies.
	c.clock.Advance(time.Minute)
	d := c.newLog("cat-cow")
	ph.seq = 1
	overlap := ph.batch(mLog(b), mCheckin(ci), mLog(d))
	rs = ph.push(overlap)
	wantResults(t, "overlapping batch", rs, []hep.MutationResult{{Seq: 2, Status: hep.MutationApplied, Replayed: true},
		{Seq: 3, Status: hep.MutationApplied, Replayed: true}, ok(4)})
	if got := ph.pull(100); !slices.Equal(keys(got), []string{"EXERCISE_LOG " + d.ID}) {
		t.Errorf("after the overlapping batch Pull returned %v, want only the new log", keys(got))
	}
	// A prefix of what was pushed replays alone.
	rs = ph.push(muts[:1])
	wantResults(t, "replayed prefix", rs, replayed(want[:1]))
	if n := len(c.logs(p)); n != 3 {
		t.Errorf("%d logs stored, want 3", n)
	}
}

func syncSequenceGap(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	p := c.patient.ID
	c.screenedPlan("cat-cow")
	ph := c.newPhone(c.device)
	ph.pull(100)
	seqBefore := ph.cursor
	gap := func(what string, muts []hep.Mutation, next int64) {
		t.Helper()
		c.notAudited(what, func() {
			ctx, _ := ph.ctx("sync.push")
			rs, _, err := c.store.Push(ctx, c.device.ID, muts)
			wantErr(t, what, err, hep.CodeFailedPrecondition, hep.ReasonSequenceGap)
			if want := fmt.Sprintf("next sequence is %d", next); err != nil && !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v; want it to say %q", what, err, want)
			}
			if rs != nil {
				t.Errorf("%s returned results %+v", what, rs)
			}
		})
		// Nothing of the batch is stored: no log, no alert, no change.
		if got := c.logs(p); len(got) != 0 && next == 1 {
			t.Errorf("%s stored logs %+v", what, got)
		}
		if changes := ph.pull(100); len(changes) != 0 {
			t.Errorf("%s left changes to pull: %v", what, keys(changes))
		}
	}
	// The first batch must start at 1.
	red := c.newCheckin(8, hep.RedFlagSaddleNumbness)
	gap("first batch at 2", []hep.Mutation{{Seq: 2, Log: ptr(c.newLog("cat-cow"))}, {Seq: 3, Checkin: &red},
		{Seq: 4, Screening: []hep.ScreeningInput{ans(hep.FlagPregnancy, hep.StatusPresent)}}}, 1)
	if c.plan().RedFlagHold || len(c.alerts()) != 0 || c.screening().Status(hep.FlagPregnancy) != hep.StatusAbsent {
		t.Errorf("a refused batch took clinical effect: hold %v, alerts %+v", c.plan().RedFlagHold, c.alerts())
	}
	if ph.cursor != seqBefore {
		t.Errorf("a refused batch moved the change sequence from %d to %d", seqBefore, ph.cursor)
	}
	rs := ph.push(ph.batch(mLog(c.newLog("cat-cow")), mLog(c.newLog("cat-cow"))))
	wantResults(t, "batch at 1", rs, []hep.MutationResult{ok(1), ok(2)})
	ph.pull(100)
	gap("batch at 4 after 2", []hep.Mutation{{Seq: 4, Log: ptr(c.newLog("cat-cow"))}}, 3)
	gap("batch at 10 after 2", []hep.Mutation{{Seq: 10, Log: ptr(c.newLog("cat-cow"))}, {Seq: 11, Log: ptr(c.newLog("cat-cow"))}}, 3)
	if n := len(c.logs(p)); n != 2 {
		t.Errorf("%d logs after refused batches, want 2", n)
	}
	// Numbering that is not consecutive is refused whole as well.
	c.notAudited("Push(not consecutive)", func() {
		ctx, _ := ph.ctx("sync.push")
		_, _, err := c.store.Push(ctx, c.device.ID, []hep.Mutation{{Seq: 3, Log: ptr(c.newLog("cat-cow"))}, {Seq: 5, Log: ptr(c.newLog("cat-cow"))}})
		if err == nil {
			t.Errorf("Push(3, 5) succeeded")
		}
	})
	rs = ph.push(ph.batch(mLog(c.newLog("cat-cow"))))
	wantResults(t, "batch at 3", rs, []hep.MutationResult{ok(3)})
}

func ptr[T any](v T) *T { return &v }

func syncRejections(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	p := c.patient.ID
	c.screenedPlan("cat-cow")
	ph := c.newPhone(c.device)
	ph.pull(100)
	c.clock.Advance(time.Hour)

	badPain := c.newLog("cat-cow")
	badPain.PainAfter = score(11)
	unknown := c.newLog("no-such-exercise")
	orphan := c.newLog("cat-cow")
	orphan.Supersedes = newUUID()
	good := c.newLog("cat-cow")
	future := c.newCheckin(3)
	future.CorrectedRecordTime = c.clock.Now().Add(48 * time.Hour)
	orphanCheckin := c.newCheckin(3)
	orphanCheckin.Supersedes = newUUID()
	badScreening := mScreening(ans(hep.FlagPregnancy, hep.StatusPresent), ans(hep.FlagPregnancy, hep.StatusAbsent))
	muts := ph.batch(mLog(badPain), mLog(unknown), mDelete(hep.KindLog, newUUID()), mLog(orphan), mLog(good),
		hep.Mutation{Log: ptr(c.newLog("cat-cow")), Checkin: ptr(c.newCheckin(2))}, mCheckin(future),
		mCheckin(orphanCheckin), badScreening, mDelete(hep.KindPlan, hep.CurrentID))
	var rs []hep.MutationResult
	events := c.audited(func() {
		ctx, _ := ph.ctx("sync.push")
		var last int64
		var err error
		if rs, last, err = c.store.Push(ctx, c.device.ID, muts); err != nil || last != int64(len(muts)) {
			t.Fatalf("Push = %d, %v; want last sequence %d: rejections advance it", last, err, len(muts))
		}
	})
	if len(events) != 1 {
		t.Errorf("Push with rejections wrote %d audit events, want 1", len(events))
	}
	for i, field := range []string{"log.pain_after", "log.exercise_id", "delete.id", "log.supersedes", "", "change",
		"checkin.record_time", "checkin.supersedes", "screening.answers[1].flag", "delete.kind"} {
		if field == "" {
			wantResults(t, "the valid log", rs[i:i+1], []hep.MutationResult{ok(int64(i + 1))})
			continue
		}
		wantRejected(t, fmt.Sprintf("mutation %d", i+1), rs[i], int64(i+1), field)
	}
	// Only the valid log is stored; nothing else took effect.
	if got := c.logs(p); len(got) != 1 || got[0].ID != good.ID {
		t.Errorf("logs after rejections = %v, want only the valid one", logIDs(got))
	}
	if got := c.checkins(p); len(got) != 0 {
		t.Errorf("check-ins after rejections = %v, want none", checkinIDs(got))
	}
	if st := c.screening().Status(hep.FlagPregnancy); st != hep.StatusAbsent {
		t.Errorf("a rejected screening report took effect: PREGNANCY %s", st)
	}
	if got := ph.pull(100); !slices.Equal(keys(got), []string{"EXERCISE_LOG " + good.ID}) {
		t.Errorf("Pull after rejections = %v, want only the valid log", keys(got))
	}
	// A replay returns the stored rejections; the phone drops them.
	again := ph.push(muts)
	wantResults(t, "replay", again, replayed(rs))
	rs = ph.push(ph.batch(mLog(c.newLog("cat-cow"))))
	wantResults(t, "next batch", rs, []hep.MutationResult{ok(int64(len(muts) + 1))})
}

func syncIDReuse(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	p := c.patient.ID
	c.screenedPlan("cat-cow")
	ph := c.newPhone(c.device)
	c.clock.Advance(time.Hour)
	a := c.newLog("cat-cow")
	ph.push(ph.batch(mLog(a)))
	received := c.clock.Now()
	ph.pull(100)

	c.clock.Advance(time.Hour)
	other := a
	other.Note = "a different note"
	// The same content again, with the phone's clock now 2 hours off: the
	// content hash uses the phone's own times, so this is a replay of the
	// record whatever the skew; the stored corrected time stays.
	skewed := a
	skewed.CorrectedPerformTime = a.CorrectedPerformTime.Add(2 * time.Hour)
	rs := ph.push(ph.batch(mLog(other), mLog(a), mLog(skewed)))
	wantRejected(t, "same id, other content", rs[0], 2, "log.id")
	if rs[0].Reason != reasonIDReused {
		t.Errorf("same id, other content: reason %q, want %q", rs[0].Reason, reasonIDReused)
	}
	wantResults(t, "same content again", rs[1:], []hep.MutationResult{ok(3), ok(4)})
	if got, want := c.logs(p), []hep.ExerciseLog{storedLog(a, c.device, received, false)}; !reflect.DeepEqual(got, want) {
		t.Errorf("logs after reuse:\n got  %+v\n want %+v", got, want)
	}
	if changes := ph.pull(100); len(changes) != 0 {
		t.Errorf("reuse left changes to pull: %v", keys(changes))
	}

	// Another patient's phone learns nothing about the id: whatever it
	// sends under it is refused with the same words as any reuse, and a
	// correction or deletion of it as if it did not exist.
	op := c.env.patient(c.clinician.ID)
	od, _, _ := c.env.enroll(op.ID)
	oph := c.newPhone(od)
	unknownDelete := oph.push(oph.batch(mDelete(hep.KindLog, newUUID())))[0]
	supersedeUnknown := c.newLog("cat-cow")
	supersedeUnknown.Supersedes = newUUID()
	unknownSupersede := oph.push(oph.batch(mLog(supersedeUnknown)))[0]
	corr := c.newLog("cat-cow")
	corr.Supersedes = a.ID
	rs = oph.push(oph.batch(mLog(a), mLog(other), mDelete(hep.KindLog, a.ID), mLog(corr)))
	for i, field := range []string{"log.id", "log.id", "delete.id", "log.supersedes"} {
		wantRejected(t, fmt.Sprintf("other patient's mutation %d", i+3), rs[i], int64(i+3), field)
	}
	if rs[0].Reason != reasonIDReused || rs[1].Reason != reasonIDReused {
		t.Errorf("another patient's reuse: reasons %q, %q; want %q", rs[0].Reason, rs[1].Reason, reasonIDReused)
	}
	if rs[2].Reason != unknownDelete.Reason || rs[3].Reason != unknownSupersede.Reason {
		t.Errorf("another patient's record is told apart from an unknown one: %q vs %q, %q vs %q",
			rs[2].Reason, unknownDelete.Reason, rs[3].Reason, unknownSupersede.Reason)
	}
	if got := c.logs(op.ID); len(got) != 0 {
		t.Errorf("the other patient has logs %v", logIDs(got))
	}
	if got := c.logs(p); len(got) != 1 || got[0].ID != a.ID {
		t.Errorf("after the other patient's attempts the patient has logs %v", logIDs(got))
	}
	if changes := ph.pull(100); len(changes) != 0 {
		t.Errorf("the other patient's attempts changed the patient's records: %v", keys(changes))
	}
	if changes := oph.pull(100); len(changes) != 0 {
		t.Errorf("the other patient pulls %v", keys(changes))
	}
}

func syncSupersedeAndDelete(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	p := c.patient.ID
	c.screenedPlan("cat-cow")
	ph := c.newPhone(c.device)
	c.clock.Advance(time.Hour)
	a, b := c.newLog("cat-cow"), c.newCheckin(6)
	ph.push(ph.batch(mLog(a), mCheckin(b)))
	ph.pull(100)

	c.clock.Advance(time.Hour)
	a2 := c.newLog("cat-cow")
	a2.Supersedes, a2.RepsDone = a.ID, 12
	b2 := c.newCheckin(4)
	b2.Supersedes = b.ID
	gone := c.newLog("cat-cow")
	rs := ph.push(ph.batch(mLog(a2), mCheckin(b2), mLog(gone), mDelete(hep.KindLog, gone.ID)))
	wantResults(t, "corrections and a deletion", rs, []hep.MutationResult{ok(3), ok(4), ok(5), ok(6)})
	received := c.clock.Now()
	changes := ph.pull(2)
	// The new records, then the tombstones; the log pushed and deleted in
	// one batch arrives as a tombstone only.
	want := []string{"EXERCISE_LOG " + a2.ID, "-EXERCISE_LOG " + a.ID, "PAIN_CHECKIN " + b2.ID, "-PAIN_CHECKIN " + b.ID,
		"-EXERCISE_LOG " + gone.ID}
	if got := keys(changes); !slices.Equal(got, want) {
		t.Errorf("Pull after corrections = %v, want %v", got, want)
	}
	if got, want := ph.heldIDs(hep.KindLog), []string{a2.ID}; !slices.Equal(got, want) {
		t.Errorf("the phone holds logs %v, want %v", got, want)
	}
	if got, want := c.logs(p), []hep.ExerciseLog{storedLog(a2, c.device, received, false)}; !reflect.DeepEqual(got, want) {
		t.Errorf("live logs:\n got  %+v\n want %+v", got, want)
	}
	if got, want := c.checkins(p), []hep.PainCheckin{storedCheckin(b2, c.device, received)}; !reflect.DeepEqual(got, want) {
		t.Errorf("live check-ins:\n got  %+v\n want %+v", got, want)
	}
	if got := ph.held[entryKey{hep.KindLog, a2.ID}].Log; got == nil || !reflect.DeepEqual(normLog(*got), storedLog(a2, c.device, received, false)) {
		t.Errorf("pulled correction = %+v", got)
	}

	// A record already gone: correcting it is refused, deleting it again
	// is done already, and neither changes anything.
	a3 := c.newLog("cat-cow")
	a3.Supersedes = a.ID
	b3 := c.newCheckin(1)
	b3.Supersedes = b.ID
	rs = ph.push(ph.batch(mLog(a3), mCheckin(b3), mDelete(hep.KindLog, a.ID), mDelete(hep.KindLog, gone.ID),
		mDelete(hep.KindCheckin, gone.ID), mDelete(hep.KindCheckin, b.ID)))
	wantRejected(t, "correcting a superseded log", rs[0], 7, "log.supersedes")
	wantRejected(t, "correcting a superseded check-in", rs[1], 8, "checkin.supersedes")
	wantResults(t, "deleting gone records", []hep.MutationResult{rs[2], rs[3]}, []hep.MutationResult{ok(9), ok(10)})
	wantRejected(t, "deleting a log as a check-in", rs[4], 11, "delete.id")
	wantResults(t, "deleting a superseded check-in", rs[5:], []hep.MutationResult{ok(12)})
	if changes := ph.pull(100); len(changes) != 0 {
		t.Errorf("no-op mutations left changes to pull: %v", keys(changes))
	}

	// A correction of a correction; then deleting the live one.
	a4 := c.newLog("cat-cow")
	a4.Supersedes = a2.ID
	ph.push(ph.batch(mLog(a4), mDelete(hep.KindCheckin, b2.ID)))
	want = []string{"EXERCISE_LOG " + a4.ID, "-EXERCISE_LOG " + a2.ID, "-PAIN_CHECKIN " + b2.ID}
	if got := keys(ph.pull(100)); !slices.Equal(got, want) {
		t.Errorf("Pull = %v, want %v", got, want)
	}
	if got := logIDs(c.logs(p)); !slices.Equal(got, []string{a4.ID}) || len(c.checkins(p)) != 0 {
		t.Errorf("live logs %v, check-ins %v; want only the last correction", got, checkinIDs(c.checkins(p)))
	}
}

func syncNoResurrection(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	p := c.patient.ID
	c.screenedPlan("cat-cow")
	ph := c.newPhone(c.device)
	a, b := c.newLog("cat-cow"), c.newCheckin(3)
	insert := ph.batch(mLog(a), mCheckin(b))
	ph.push(insert)
	ph.push(ph.batch(mDelete(hep.KindLog, a.ID), mDelete(hep.KindCheckin, b.ID)))
	ph.pull(100)
	if len(ph.heldIDs(hep.KindLog)) != 0 || len(ph.heldIDs(hep.KindCheckin)) != 0 {
		t.Fatalf("the phone holds %v %v after the deletions", ph.heldIDs(hep.KindLog), ph.heldIDs(hep.KindCheckin))
	}
	// The inserts again: as a replay of their numbers, and as new numbers
	// (a phone that lost track): both are answered APPLIED, and the
	// records stay deleted. Other content under the ids is still refused.
	for k := range 3 {
		c.clock.Advance(time.Minute)
		wantResults(t, "replayed inserts", ph.push(insert), []hep.MutationResult{
			{Seq: 1, Status: hep.MutationApplied, Replayed: true}, {Seq: 2, Status: hep.MutationApplied, Replayed: true}})
		n := ph.seq
		wantResults(t, fmt.Sprintf("inserts again #%d", k), ph.push(ph.batch(mLog(a), mCheckin(b))),
			[]hep.MutationResult{ok(n + 1), ok(n + 2)})
	}
	other := a
	other.SetsDone = 3
	rs := ph.push(ph.batch(mLog(other)))
	wantRejected(t, "other content", rs[0], ph.seq, "log.id")
	if got := ph.pull(100); len(got) != 0 {
		t.Errorf("re-inserting deleted records changed them: %v", keys(got))
	}
	if len(c.logs(p)) != 0 || len(c.checkins(p)) != 0 {
		t.Errorf("deleted records are listed again: logs %v, check-ins %v", logIDs(c.logs(p)), checkinIDs(c.checkins(p)))
	}
	fresh := c.newPhone(c.device)
	fresh.pull(1)
	if _, ok := fresh.held[entryKey{hep.KindLog, a.ID}]; ok {
		t.Errorf("a phone pulling from the start holds the deleted log")
	}
}

func syncSuspendedItem(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	p := c.patient.ID
	c.screen(allAbsent()...)
	c.setPlan("cat-cow", "childs-pose")
	c.screen(ans(hep.FlagPregnancy, hep.StatusPresent)) // both need a clearance now
	c.clear("childs-pose", hep.FlagPregnancy)
	c.wantStates("before", map[string]hep.ItemState{"cat-cow": hep.ItemSuspended, "childs-pose": hep.ItemActive})
	ph := c.newPhone(c.device)
	ph.pull(100)
	alertsBefore := len(c.alerts())

	c.clock.Advance(time.Hour)
	x, y, z := c.newLog("cat-cow"), c.newLog("cat-cow"), c.newLog("childs-pose")
	muts := ph.batch(mLog(x), mLog(y), mLog(z))
	wantResults(t, "logs of a suspended item", ph.push(muts), []hep.MutationResult{ok(1), ok(2), ok(3)})
	received := c.clock.Now()
	byID := map[string]hep.ExerciseLog{}
	for _, l := range c.logs(p) {
		byID[l.ID] = l
	}
	for _, tt := range []struct {
		l         hep.ExerciseLog
		suspended bool
	}{{x, true}, {y, true}, {z, false}} {
		if got, want := byID[tt.l.ID], storedLog(tt.l, c.device, received, tt.suspended); !reflect.DeepEqual(got, want) {
			t.Errorf("log of %s:\n got  %+v\n want %+v", tt.l.ExerciseID, got, want)
		}
	}
	// Kept and alerted: one alert for the exercise, an occurrence per log,
	// each named by its log.
	alerts := c.alerts()
	if len(alerts) != alertsBefore+1 {
		t.Fatalf("%d alerts after logging a suspended item, want %d", len(alerts), alertsBefore+1)
	}
	want := firstOccurrence(hep.SuspendedLogAlert(storedLog(x, c.device, received, true)), alerts[0], received)
	want.Occurrences = 2
	if got := normAlert(alerts[0]); got != want {
		t.Errorf("alert:\n got  %+v\n want %+v", got, want)
	}
	wantOccurrences(t, c, alerts[0], []hep.Alert{hep.SuspendedLogAlert(storedLog(y, c.device, received, true)),
		hep.SuspendedLogAlert(storedLog(x, c.device, received, true))}, []time.Time{received, received})
	for range 3 {
		ph.push(muts)
	}
	if got := c.alerts(); len(got) != alertsBefore+1 || got[0].Occurrences != 2 {
		t.Errorf("replays raised more: %d alerts, %+v", len(got)-alertsBefore, got[0])
	}
	changes := ph.pull(100)
	for _, ch := range changes {
		if ch.Log != nil && ch.Log.ItemSuspended != (ch.Log.ExerciseID == "cat-cow") {
			t.Errorf("pulled log of %s has ItemSuspended %v", ch.Log.ExerciseID, ch.Log.ItemSuspended)
		}
	}
	if len(changes) != 3 {
		t.Errorf("Pull = %v, want the 3 logs", keys(changes))
	}
	// A later push adds an occurrence to the open alert; a log of an item
	// not in the plan raises nothing.
	c.clock.Advance(time.Hour)
	later := c.newLog("cat-cow")
	ph.push(ph.batch(mLog(later), mLog(c.newLog("bar-hang"))))
	if got := c.alerts(); len(got) != alertsBefore+1 || got[0].Occurrences != 3 || !got[0].LatestTime.Equal(c.clock.Now()) {
		t.Errorf("after a second push: %d alerts, %+v; want one of 3 occurrences", len(got)-alertsBefore, got[0])
	}
}

func syncRedFlagCheckin(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	p := c.patient.ID
	c.screen(allAbsent()...)
	c.setPlan("cat-cow", "childs-pose")
	ph := c.newPhone(c.device)
	ph.pull(100)

	c.clock.Advance(time.Hour)
	ci := c.newCheckin(7, hep.RedFlagSaddleNumbness, hep.RedFlagBladderOrBowel)
	muts := ph.batch(mCheckin(ci))
	var decisions []hep.GatingDecision
	decisions = c.newDecisions(func() { wantResults(t, "red-flag check-in", ph.push(muts), []hep.MutationResult{ok(1)}) })
	now := c.clock.Now()
	plan := c.plan()
	if !plan.RedFlagHold {
		t.Errorf("a red-flag check-in did not put the plan on hold")
	}
	c.wantStates("on hold", map[string]hep.ItemState{"cat-cow": hep.ItemSuspended, "childs-pose": hep.ItemSuspended})
	c.wantGated("on hold")
	if len(decisions) != 2 {
		t.Errorf("the red-flag check-in kept %d decisions, want 2", len(decisions))
	}
	for _, d := range decisions {
		if d.Cause != hep.CauseRedFlag || d.ActorID != c.device.ID || d.NewState != hep.ItemSuspended {
			t.Errorf("decision %+v; want RED_FLAG by the device, to SUSPENDED", d)
		}
	}
	alerts := c.alerts()
	if len(alerts) != 1 {
		t.Fatalf("alerts = %+v, want the red-flag alert", alerts)
	}
	want := firstOccurrence(hep.RedFlagAlert(p, "", ci.RedFlags), alerts[0], now)
	if got := normAlert(alerts[0]); got != want {
		t.Errorf("alert:\n got  %+v\n want %+v", got, want)
	}
	changes := ph.pull(100)
	// The phone is told, in a notice written for the patient, that the
	// plan is paused.
	if got, want := noticeKeys(t, changes), []string{"PAIN_CHECKIN " + ci.ID, "PLAN current", "MESSAGE notice", "MESSAGE_THREAD current"}; !slices.Equal(got, want) {
		t.Errorf("Pull = %v, want %v", got, want)
	}
	if pl := ph.held[entryKey{hep.KindPlan, hep.CurrentID}].Plan; pl == nil || !reflect.DeepEqual(normPlan(*pl), normPlan(plan)) {
		t.Errorf("pulled plan = %+v, want %+v", pl, plan)
	}
	if got, want := c.checkins(p), []hep.PainCheckin{storedCheckin(ci, c.device, now)}; !reflect.DeepEqual(got, want) {
		t.Errorf("check-ins:\n got  %+v\n want %+v", got, want)
	}
	// Replays report nothing again.
	ph.push(muts)
	if n := len(c.alerts()); n != 1 {
		t.Errorf("a replay raised another alert: %d", n)
	}
	// Logs after it, in the same batch, meet the suspended plan.
	c.clock.Advance(time.Hour)
	l := c.newLog("childs-pose")
	ph.push(ph.batch(mCheckin(c.newCheckin(2, hep.RedFlagFeverWithBackPain)), mLog(l)))
	for _, got := range c.logs(p) {
		if got.ID == l.ID && !got.ItemSuspended {
			t.Errorf("a log after a red-flag check-in in the same batch is not marked suspended")
		}
	}
}

func syncScreeningReport(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	p := c.patient.ID
	c.screen(allAbsent()...)
	c.setPlan("cat-cow", "overhead-stretch")
	ph := c.newPhone(c.device)
	ph.pull(100)

	c.clock.Advance(time.Hour)
	in := []hep.ScreeningInput{{Flag: hep.FlagPregnancy, Status: hep.StatusPresent, Note: "12 weeks"}}
	l := c.newLog("cat-cow")
	var decisions []hep.GatingDecision
	decisions = c.newDecisions(func() {
		wantResults(t, "screening report", ph.push(ph.batch(mScreening(in...), mLog(l))), []hep.MutationResult{ok(1), ok(2)})
	})
	now := c.clock.Now()
	sc := c.screening()
	got := normAnswer(sc[hep.FlagPregnancy])
	wantAns := hep.ScreeningAnswer{ID: got.ID, PatientID: p, Flag: hep.FlagPregnancy, Status: hep.StatusPresent,
		Source: hep.SourcePatientReported, RecordedBy: c.device.ID, Note: "12 weeks", RecordTime: now, Effective: true}
	if got != wantAns {
		t.Errorf("answer:\n got  %+v\n want %+v", got, wantAns)
	}
	c.wantStates("re-gated", map[string]hep.ItemState{"cat-cow": hep.ItemSuspended, "overhead-stretch": hep.ItemSuspended})
	c.wantGated("re-gated")
	if len(decisions) != 2 || decisions[0].Cause != hep.CauseScreeningChanged || decisions[0].ActorID != c.device.ID {
		t.Errorf("decisions %+v; want 2 SCREENING_CHANGED by the device", decisions)
	}
	if a := c.alerts(); len(a) < 2 || a[1].Kind != hep.AlertScreeningChanged {
		// Newest first: the log of the now suspended item, then the screening.
		t.Errorf("alerts %+v; want the screening alert and the suspended-log alert", a)
	}
	if got := c.logs(p); len(got) != 1 || !got[0].ItemSuspended {
		t.Errorf("a log after the report in the same batch: %+v; want it marked suspended", got)
	}
	changes := ph.pull(100)
	if got, want := noticeKeys(t, changes), []string{"MESSAGE notice", "MESSAGE_THREAD current", "SCREENING current", "PLAN current", "EXERCISE_LOG " + l.ID}; !slices.Equal(got, want) {
		t.Errorf("Pull = %v, want %v", got, want)
	}
	if got := ph.held[entryKey{hep.KindScreening, hep.CurrentID}].Screening; !reflect.DeepEqual(normScreening(got), normScreening(sc)) {
		t.Errorf("pulled screening = %+v, want %+v", got, sc)
	}
	if pl := ph.held[entryKey{hep.KindPlan, hep.CurrentID}].Plan; pl == nil || !reflect.DeepEqual(normPlan(*pl), normPlan(c.plan())) {
		t.Errorf("pulled plan = %+v", pl)
	}
	// A phone cannot lower what a clinician verified: the report is kept
	// but changes nothing the phone holds.
	c.screen(ans(hep.FlagOsteoporosis, hep.StatusPresent))
	ph.pull(100)
	ph.push(ph.batch(mScreening(ans(hep.FlagOsteoporosis, hep.StatusAbsent))))
	if st := c.screening().Status(hep.FlagOsteoporosis); st != hep.StatusPresent {
		t.Errorf("a phone lowered a verified answer: OSTEOPOROSIS %s", st)
	}
	if got := ph.pull(100); len(got) != 0 {
		t.Errorf("an ineffective report changed %v", keys(got))
	}
}

func syncPullPaging(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	c.screen(allAbsent()...)
	c.setPlan("cat-cow", "childs-pose")
	ph := c.newPhone(c.device)
	var logs []hep.ExerciseLog
	for i := range 4 {
		c.clock.Advance(time.Hour)
		var muts []hep.Mutation
		for range 5 {
			l := c.newLog([]string{"cat-cow", "childs-pose", "bar-hang"}[i%3])
			logs = append(logs, l)
			muts = append(muts, mLog(l))
		}
		muts = append(muts, mCheckin(c.newCheckin(int32(i))))
		fix := c.newLog("cat-cow")
		fix.Supersedes = logs[len(logs)-2].ID
		muts = append(muts, mLog(fix), mDelete(hep.KindLog, logs[len(logs)-3].ID))
		ph.push(ph.batch(muts...))
		if i == 1 {
			c.setPlan("cat-cow", "overhead-stretch")
		}
	}
	// From the start with each page size: every change once, in order,
	// and the same copy at the end.
	var want map[entryKey]hep.Change
	for _, size := range []int{1, 2, 3, 7, 100, hep.MaxPullPage} {
		fresh := c.newPhone(c.device)
		changes := fresh.pull(size)
		seen := map[entryKey]bool{}
		for _, ch := range changes {
			k := entryKey{ch.Kind, ch.ID}
			if seen[k] {
				t.Errorf("size %d: %s %s pulled twice in one pass", size, ch.Kind, ch.ID)
			}
			seen[k] = true
		}
		if want == nil {
			want = fresh.held
		} else if !reflect.DeepEqual(fresh.held, want) {
			t.Errorf("size %d: the phone holds %d records, another size gave %d", size, len(fresh.held), len(want))
		}
	}
	// What the phone holds is what the store has.
	fresh := c.newPhone(c.device)
	fresh.pull(4)
	if got, want := fresh.heldIDs(hep.KindLog), logIDs(c.logs(c.patient.ID)); !slices.Equal(got, want) {
		t.Errorf("the phone holds logs %v; the store lists %v", got, want)
	}
	if got, want := fresh.heldIDs(hep.KindCheckin), checkinIDs(c.checkins(c.patient.ID)); !slices.Equal(got, want) {
		t.Errorf("the phone holds check-ins %v; the store lists %v", got, want)
	}
	if got, want := fresh.heldIDs(hep.KindCatalog), []string{"cat-cow", "childs-pose", "overhead-stretch"}; !slices.Equal(got, want) {
		t.Errorf("the phone holds catalog entries %v, want %v (every entry a plan named)", got, want)
	}
	for _, ch := range fresh.held {
		if ch.Log != nil && ch.Log.PatientID != c.patient.ID {
			t.Errorf("pulled another patient's log %+v", ch.Log)
		}
	}
	// Continuing from a cursor: only what changed since.
	c.clock.Advance(time.Hour)
	l := c.newLog("cat-cow")
	ph.pull(5)
	ph.push(ph.batch(mLog(l), mDelete(hep.KindLog, logs[0].ID)))
	if got, want := keys(ph.pull(1)), []string{"EXERCISE_LOG " + l.ID, "-EXERCISE_LOG " + logs[0].ID}; !slices.Equal(got, want) {
		t.Errorf("Pull from the cursor = %v, want %v", got, want)
	}
	// Nothing new: an empty last page with the count and hash, and the
	// cursor stays.
	cursor := ph.cursor
	if got := ph.pull(10); len(got) != 0 || ph.cursor != cursor {
		t.Errorf("an idle Pull returned %v and moved the cursor from %d to %d", keys(got), cursor, ph.cursor)
	}
	// Another patient pulls nothing of this one.
	op := c.env.patient(c.clinician.ID)
	od, _, _ := c.env.enroll(op.ID)
	if got := c.newPhone(od).pull(10); len(got) != 0 {
		t.Errorf("a new patient pulls %v", keys(got))
	}
	c.notAudited("Pull(unknown patient)", func() {
		_, err := c.store.Pull(c.ctx(), missingID, 0, 10)
		wantErr(t, "Pull(unknown patient)", err, hep.CodeNotFound, "")
	})
	c.notAudited("Pull(negative cursor)", func() {
		_, err := c.store.Pull(c.ctx(), c.patient.ID, -1, 10)
		wantErr(t, "Pull(negative cursor)", err, hep.CodeInvalid, "")
	})
}

func syncClinicalWrites(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	p := c.patient.ID
	ph := c.newPhone(c.device)
	if got := ph.pull(10); len(got) != 0 {
		t.Errorf("a new patient pulls %v", keys(got))
	}
	step := func(what string, write func(), want ...string) {
		t.Helper()
		c.clock.Advance(time.Minute)
		write()
		changes := ph.pull(3)
		if got := noticeKeys(t, changes); !slices.Equal(got, want) {
			t.Errorf("%s: Pull = %v, want %v", what, got, want)
		}
		// Each pulled record is what the store now says.
		for _, ch := range changes {
			switch ch.Kind {
			case hep.KindPlan:
				if got, want := normPlan(*ch.Plan), normPlan(c.plan()); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: pulled plan\n got  %+v\n want %+v", what, got, want)
				}
			case hep.KindScreening:
				if got, want := normScreening(ch.Screening), normScreening(c.screening()); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: pulled screening\n got  %+v\n want %+v", what, got, want)
				}
			case hep.KindCatalog:
				e, err := c.store.GetExercise(c.ctx(), ch.ID)
				if err != nil || !reflect.DeepEqual(normExercise(*ch.Exercise), normExercise(e)) {
					t.Errorf("%s: pulled exercise\n got  %+v\n want %+v (%v)", what, *ch.Exercise, e, err)
				}
			}
		}
	}
	step("RecordScreening", func() { c.screen(allAbsent()...) }, "SCREENING current")
	step("SetPlan", func() { c.setPlan("cat-cow", "childs-pose") }, "PLAN current", "EXERCISE cat-cow", "EXERCISE childs-pose")
	step("ClearItem of no item", func() { c.clear("inversion-table", hep.FlagNone) })
	step("SetPlan again", func() { c.setPlan("cat-cow", "inversion-table") }, "PLAN current", "EXERCISE inversion-table")
	step("RecordScreening that suspends", func() { c.screen(ans(hep.FlagPregnancy, hep.StatusPresent)) },
		"MESSAGE notice", "MESSAGE_THREAD current", "SCREENING current", "PLAN current")
	step("ClearItem", func() { c.clear("cat-cow", hep.FlagPregnancy) }, "PLAN current")
	step("RecordScreening that changes no item", func() { c.screen(ans(hep.FlagHernia, hep.StatusAbsent)) }, "SCREENING current")
	var alert hep.Alert
	step("ReportRedFlags", func() {
		var err error
		if alert, err = c.store.ReportRedFlags(c.ctx(), p, []hep.RedFlag{hep.RedFlagFeverWithBackPain}, ""); err != nil {
			t.Fatal(err)
		}
	}, "PLAN current", "MESSAGE notice", "MESSAGE_THREAD current")
	step("ReportRedFlags again", func() {
		if _, err := c.store.ReportRedFlags(c.ctx(), p, []hep.RedFlag{hep.RedFlagSaddleNumbness}, ""); err != nil {
			t.Fatal(err)
		}
	}, "MESSAGE notice", "MESSAGE_THREAD current")
	step("AcknowledgeAlert (one still open)", func() {
		if _, _, err := c.store.AcknowledgeAlert(c.ctx(), p, alert.ID, "seen", 0); err != nil {
			t.Fatal(err)
		}
	})
	step("AcknowledgeAlert (the last)", func() {
		for _, a := range c.alerts() {
			if a.Status == hep.AlertOpen && a.Kind == hep.AlertRedFlag {
				if _, _, err := c.store.AcknowledgeAlert(c.ctx(), p, a.ID, "seen", 0); err != nil {
					t.Fatal(err)
				}
			}
		}
	}, "PLAN current", "MESSAGE notice", "MESSAGE_THREAD current")
	zone := "America/Sao_Paulo"
	step("UpdatePatient time zone", func() {
		if _, err := c.store.UpdatePatient(c.ctx(), p, hep.PatientUpdate{TimeZone: &zone}); err != nil {
			t.Fatal(err)
		}
	}, "PLAN current")
	name := "Renamed"
	step("UpdatePatient name", func() {
		if _, err := c.store.UpdatePatient(c.ctx(), p, hep.PatientUpdate{DisplayName: &name}); err != nil {
			t.Fatal(err)
		}
	})
	custom := hep.Exercise{ID: "wall-sit", Kind: hep.KindExercise, Name: "Wall sit", Instructions: "Sit against a wall.",
		DefaultDose: hep.Dose{Sets: 2, HoldSeconds: 20}}
	step("CreateExercise", func() {
		if _, err := c.store.CreateExercise(c.ctx(), custom); err != nil {
			t.Fatal(err)
		}
	})
	step("SetPlan with a clinic entry", func() {
		ctx, _ := c.doctor("plan.set")
		in := hep.PlanInput{ExpectedVersion: c.plan().Version, Items: append(items("cat-cow"), spec("wall-sit", hep.KindExercise))}
		if _, err := c.store.SetPlan(ctx, p, in); err != nil {
			t.Fatal(err)
		}
	}, "PLAN current", "EXERCISE wall-sit")
	step("RetireExercise", func() {
		if _, err := c.store.RetireExercise(c.ctx(), custom.ID); err != nil {
			t.Fatal(err)
		}
	}, "EXERCISE wall-sit")
	step("reads", func() {
		c.plan()
		c.screening()
		c.alerts()
		c.decisions()
	})
	if ex := ph.held[entryKey{hep.KindCatalog, "wall-sit"}].Exercise; ex == nil || !ex.Retired {
		t.Errorf("the phone's wall-sit = %+v, want it retired", ex)
	}
}

func syncPurgeAndCursors(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	p := c.patient.ID
	c.screenedPlan("cat-cow")
	ph := c.newPhone(c.device)
	a, b := c.newLog("cat-cow"), c.newLog("cat-cow")
	ph.push(ph.batch(mLog(a), mLog(b)))
	ph.pull(100)
	old := ph.cursor // before the deletion

	c.clock.Advance(time.Hour)
	ph.push(ph.batch(mDelete(hep.KindLog, a.ID)))
	ph.pull(100)
	seen := ph.cursor // after it

	// Nothing is old enough yet.
	purge := func(cutoff time.Time) int {
		t.Helper()
		var n int
		c.notAudited("PurgeTombstones", func() {
			var err error
			if n, err = c.store.PurgeTombstones(c.ctx(), cutoff); err != nil {
				t.Fatalf("PurgeTombstones: %v", err)
			}
		})
		return n
	}
	if n := purge(c.clock.Now().Add(-hep.TombstoneRetention)); n != 0 {
		t.Errorf("purged %d fresh tombstones", n)
	}
	c.clock.Advance(hep.TombstoneRetention + time.Hour)
	// A deletion inside the retention window stays.
	ph.push(ph.batch(mDelete(hep.KindLog, b.ID)))
	if n := purge(c.clock.Now().Add(-hep.TombstoneRetention)); n != 1 {
		t.Errorf("purged %d tombstones, want 1", n)
	}
	if n := purge(c.clock.Now().Add(-hep.TombstoneRetention)); n != 0 {
		t.Errorf("purging again purged %d", n)
	}
	// A cursor that may have missed the purged tombstone must start again;
	// one that saw it goes on; the start always works and does not bring
	// the deleted record back.
	for _, after := range []int64{old, 1} {
		c.notAudited("Pull(expired cursor)", func() {
			_, err := c.store.Pull(c.ctx(), p, after, 100)
			wantErr(t, fmt.Sprintf("Pull(after %d)", after), err, hep.CodeFailedPrecondition, hep.ReasonCursorExpired)
		})
	}
	if got, want := keys(ph.pull(100)), []string{"-EXERCISE_LOG " + b.ID}; !slices.Equal(got, want) {
		t.Errorf("Pull after %d = %v, want %v", seen, got, want)
	}
	// A phone resetting, one record a page: every page after the first
	// starts above the purge, so the pass completes.
	fresh := c.newPhone(c.device)
	changes := fresh.pull(1)
	for _, ch := range changes {
		if ch.ID == a.ID {
			t.Errorf("a pull from the start returned %+v for the purged record", ch)
		}
	}
	// Doing so moved the screening, plan and catalog entry up the sequence: the
	// phone that was up to date pulls them again, and the two agree.
	if got, want := keys(ph.pull(100)), []string{"SCREENING current", "PLAN current", "EXERCISE cat-cow"}; !slices.Equal(got, want) {
		t.Errorf("after another phone's reset Pull = %v, want %v", got, want)
	}
	if !reflect.DeepEqual(keysOf(fresh.held), keysOf(ph.held)) {
		t.Errorf("after a reset the phone holds %v, the other phone %v", keysOf(fresh.held), keysOf(ph.held))
	}
	// Once: another reset moves nothing.
	c.newPhone(c.device).pull(1)
	if got := ph.pull(100); len(got) != 0 {
		t.Errorf("a second reset moved %v", keys(got))
	}
	// The purged record stays deleted even when pushed again.
	ph.push(ph.batch(mLog(a)))
	if got := ph.pull(100); len(got) != 0 || len(c.logs(p)) != 0 {
		t.Errorf("re-pushing a purged deleted log: Pull %v, logs %v", keys(got), logIDs(c.logs(p)))
	}
	// A cursor from the future (a server restored from an older backup)
	// must start again too: the phone would skip changes numbered below it.
	c.notAudited("Pull(future cursor)", func() {
		_, err := c.store.Pull(c.ctx(), p, ph.cursor+100, 100)
		wantErr(t, "Pull(future cursor)", err, hep.CodeFailedPrecondition, hep.ReasonCursorExpired)
	})
}

func syncDevices(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	p := c.patient.ID
	c.screenedPlan("cat-cow")
	second, _, _ := c.env.enroll(p)
	op := c.env.patient(c.clinician.ID)
	od, _, _ := c.env.enroll(op.ID)
	muts := []hep.Mutation{{Seq: 1, Log: ptr(c.newLog("cat-cow"))}}
	for _, tt := range []struct {
		name     string
		actor    hep.Actor
		deviceID string
	}{
		{"another device of the patient", hep.Actor{ID: c.device.ID, Role: hep.RolePatient, PatientID: p}, second.ID},
		{"another patient's device", hep.Actor{ID: c.device.ID, Role: hep.RolePatient, PatientID: p}, od.ID},
		{"a device claiming another patient", hep.Actor{ID: od.ID, Role: hep.RolePatient, PatientID: p}, od.ID},
		{"an unknown device", hep.Actor{ID: missingID, Role: hep.RolePatient, PatientID: p}, missingID},
		{"a clinician", actorOf(c.clinician), c.device.ID},
	} {
		c.notAudited("Push("+tt.name+")", func() {
			ctx, _ := c.as(tt.actor, "sync.push")
			_, _, err := c.store.Push(ctx, tt.deviceID, muts)
			wantErr(t, "Push("+tt.name+")", err, hep.CodeNotFound, "")
		})
	}
	// A revoked device is gone.
	if _, err := c.store.RevokeDevice(c.ctx(), p, second.ID); err != nil {
		t.Fatal(err)
	}
	revoked := c.newPhone(second)
	c.notAudited("Push(revoked device)", func() {
		ctx, _ := revoked.ctx("sync.push")
		_, _, err := c.store.Push(ctx, second.ID, muts)
		wantErr(t, "Push(revoked device)", err, hep.CodeNotFound, "")
	})
	if got := c.logs(p); len(got) != 0 {
		t.Errorf("refused pushes stored %v", logIDs(got))
	}
	// Each device numbers its own mutations.
	third, _, _ := c.env.enroll(p)
	ph, ph3 := c.newPhone(c.device), c.newPhone(third)
	wantResults(t, "first device", ph.push(ph.batch(mLog(c.newLog("cat-cow")))), []hep.MutationResult{ok(1)})
	wantResults(t, "third device", ph3.push(ph3.batch(mLog(c.newLog("cat-cow")))), []hep.MutationResult{ok(1)})
	// Both phones see both logs.
	ph.pull(10)
	ph3.pull(10)
	if len(ph.heldIDs(hep.KindLog)) != 2 || !reflect.DeepEqual(ph.held, ph3.held) {
		t.Errorf("the devices of one patient hold %v and %v", ph.heldIDs(hep.KindLog), ph3.heldIDs(hep.KindLog))
	}
}

func syncAudit(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	p := c.patient.ID
	c.screenedPlan("cat-cow")
	ph := c.newPhone(c.device)
	calls := []struct {
		name, action, resource string
		phone                  bool
		call                   func(context.Context) error
	}{
		{"Push", "sync.push", resSync(p), true, func(ctx context.Context) error {
			_, _, err := c.store.Push(ctx, c.device.ID, ph.batch(mLog(c.newLog("cat-cow")), mCheckin(c.newCheckin(2))))
			return err
		}},
		{"Push(replay)", "sync.push", resSync(p), true, func(ctx context.Context) error {
			_, _, err := c.store.Push(ctx, c.device.ID, []hep.Mutation{{Seq: 1, Log: ptr(c.newLog("cat-cow"))}})
			return err
		}},
		{"Pull", "sync.pull", resSync(p), true, func(ctx context.Context) error {
			_, err := c.store.Pull(ctx, p, 0, 1)
			return err
		}},
		{"Pull(last page)", "sync.pull", resSync(p), true, func(ctx context.Context) error {
			_, err := c.store.Pull(ctx, p, 0, 100)
			return err
		}},
		{"ListExerciseLogs", "log.list", resLogs(p), false, func(ctx context.Context) error {
			_, err := c.store.ListExerciseLogs(ctx, hep.LogFilter{PatientID: p, Limit: 5})
			return err
		}},
		{"ListPainCheckins", "checkin.list", resCheckins(p), false, func(ctx context.Context) error {
			_, err := c.store.ListPainCheckins(ctx, hep.LogFilter{PatientID: p, Limit: 5})
			return err
		}},
		{"ListExerciseLogs(unknown patient)", "log.list", resLogs(missingID), false, func(ctx context.Context) error {
			ls, err := c.store.ListExerciseLogs(ctx, hep.LogFilter{PatientID: missingID})
			if err == nil && len(ls) != 0 {
				return fmt.Errorf("logs of an unknown patient: %v", ls)
			}
			return err
		}},
	}
	for _, tt := range calls {
		c.clock.Advance(time.Second)
		ctx, actor := c.doctor(tt.action)
		if tt.phone {
			ctx, actor = ph.ctx(tt.action)
		}
		patient := p
		if strings.Contains(tt.resource, missingID) {
			patient = missingID
		}
		events := c.audited(func() {
			if err := tt.call(ctx); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
		})
		c.wantEvent(tt.name, events, actor, patient, tt.resource, hep.OutcomeOK)
	}
}

func syncLists(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	p := c.patient.ID
	c.screenedPlan("cat-cow")
	ph := c.newPhone(c.device)
	op := c.env.patient(c.clinician.ID)
	od, _, _ := c.env.enroll(op.ID)
	oph := c.newPhone(od)
	// Logs at distinct times and three at one time (ordered by id), some
	// superseded or deleted; check-ins likewise; another patient's too.
	var logs []hep.ExerciseLog
	var checkins []hep.PainCheckin
	base := c.clock.Now().Add(-48 * time.Hour)
	for i := range 9 {
		l := c.newLog("cat-cow")
		ci := c.newCheckin(int32(i))
		at := base.Add(time.Duration(i%6) * time.Hour)
		l.CorrectedPerformTime, l.PerformTime = at, at
		ci.CorrectedRecordTime, ci.RecordTime = at, at
		logs, checkins = append(logs, l), append(checkins, ci)
	}
	var muts []hep.Mutation
	for i := range logs {
		muts = append(muts, mLog(logs[i]), mCheckin(checkins[i]))
	}
	ph.push(ph.batch(muts...))
	oph.push(oph.batch(mLog(c.newLog("cat-cow")), mCheckin(c.newCheckin(1))))
	received := c.clock.Now()
	fix := c.newLog("cat-cow")
	fix.Supersedes, fix.CorrectedPerformTime = logs[2].ID, base.Add(-time.Hour)
	fixC := c.newCheckin(0)
	fixC.Supersedes, fixC.CorrectedRecordTime = checkins[2].ID, base.Add(-time.Hour)
	ph.push(ph.batch(mLog(fix), mCheckin(fixC), mDelete(hep.KindLog, logs[4].ID), mDelete(hep.KindCheckin, checkins[7].ID)))

	var wantLogs []hep.ExerciseLog
	for i, l := range logs {
		if i != 2 && i != 4 {
			wantLogs = append(wantLogs, storedLog(l, c.device, received, false))
		}
	}
	wantLogs = append(wantLogs, storedLog(fix, c.device, received, false))
	slices.SortFunc(wantLogs, func(a, b hep.ExerciseLog) int {
		if d := b.CorrectedPerformTime.Compare(a.CorrectedPerformTime); d != 0 {
			return d
		}
		return cmpString(b.ID, a.ID)
	})
	var wantCheckins []hep.PainCheckin
	for i, ci := range checkins {
		if i != 2 && i != 7 {
			wantCheckins = append(wantCheckins, storedCheckin(ci, c.device, received))
		}
	}
	wantCheckins = append(wantCheckins, storedCheckin(fixC, c.device, received))
	slices.SortFunc(wantCheckins, func(a, b hep.PainCheckin) int {
		if d := b.CorrectedRecordTime.Compare(a.CorrectedRecordTime); d != 0 {
			return d
		}
		return cmpString(b.ID, a.ID)
	})

	for _, size := range []int{1, 2, 3, 100} {
		var gotLogs []hep.ExerciseLog
		f := hep.LogFilter{PatientID: p, Limit: size}
		for pages := 0; pages <= len(wantLogs)+1; pages++ {
			page, err := c.store.ListExerciseLogs(c.ctx(), f)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range page {
				gotLogs = append(gotLogs, normLog(l))
			}
			if len(page) < size {
				break
			}
			f.BeforeTime, f.BeforeID = page[len(page)-1].CorrectedPerformTime, page[len(page)-1].ID
		}
		if !reflect.DeepEqual(gotLogs, wantLogs) {
			t.Errorf("logs by %d:\n got  %v\n want %v", size, gotLogs, wantLogs)
		}
		var gotCheckins []hep.PainCheckin
		f = hep.LogFilter{PatientID: p, Limit: size}
		for pages := 0; pages <= len(wantCheckins)+1; pages++ {
			page, err := c.store.ListPainCheckins(c.ctx(), f)
			if err != nil {
				t.Fatal(err)
			}
			for _, ci := range page {
				gotCheckins = append(gotCheckins, normCheckin(ci))
			}
			if len(page) < size {
				break
			}
			f.BeforeTime, f.BeforeID = page[len(page)-1].CorrectedRecordTime, page[len(page)-1].ID
		}
		if !reflect.DeepEqual(gotCheckins, wantCheckins) {
			t.Errorf("check-ins by %d:\n got  %v\n want %v", size, gotCheckins, wantCheckins)
		}
	}
	// A time alone bounds by the time.
	bound := base.Add(3 * time.Hour)
	page, err := c.store.ListExerciseLogs(c.ctx(), hep.LogFilter{PatientID: p, BeforeTime: bound})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range page {
		if !l.CorrectedPerformTime.Before(bound) {
			t.Errorf("a page before %v holds a log at %v", bound, l.CorrectedPerformTime)
		}
	}
	if len(page) == 0 {
		t.Errorf("no logs before %v", bound)
	}
}

// testSyncConcurrency races two phones of one patient pushing (and
// replaying) batches with a clinician writing plans and screening and a
// third phone pulling all along. Every pass of the puller that reaches
// the last page must converge (its copy's count and hash equal the page's),
// and at the end every phone converges on what the store lists.
func testSyncConcurrency(t *testing.T, open OpenFunc) {
	const batches, size = 8, 5
	c := newClinic(t, open)
	p := c.patient.ID
	c.screen(allAbsent()...)
	c.setPlan("cat-cow", "childs-pose")
	second, _, _ := c.env.enroll(p)
	pushers := []*phone{c.newPhone(c.device), c.newPhone(second)}
	puller := c.newPhone(c.device)
	before := c.auditCount()
	clinicianCalls := 0
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w, ph := range pushers {
		wg.Go(func() {
			var mine []string
			for i := range batches {
				var muts []hep.Mutation
				for j := range size {
					switch {
					case j == size-1 && len(mine) > 2 && i%2 == 0:
						muts = append(muts, mDelete(hep.KindLog, mine[0]))
						mine = mine[1:]
					case j == size-2 && len(mine) > 1:
						l := c.newLog("cat-cow")
						l.Supersedes = mine[len(mine)-1]
						mine = append(mine[:len(mine)-1], l.ID)
						muts = append(muts, mLog(l))
					case j == 0 && i%3 == 0:
						muts = append(muts, mCheckin(c.newCheckin(int32(i%10))))
					default:
						l := c.newLog([]string{"cat-cow", "childs-pose", "bar-hang"}[(i+j)%3])
						mine = append(mine, l.ID)
						muts = append(muts, mLog(l))
					}
				}
				muts = ph.batch(muts...)
				for k := range 1 + (i+w)%2 { // some batches twice: a lost answer
					rs, err := ph.tryPush(muts)
					if err != nil {
						t.Errorf("phone %d batch %d push %d: %v", w, i, k, err)
						return
					}
					for _, r := range rs {
						if r.Status != hep.MutationApplied || r.Replayed != (k > 0) {
							t.Errorf("phone %d batch %d push %d: result %+v", w, i, k, r)
						}
					}
				}
			}
		})
	}
	wg.Go(func() {
		ctx, _ := c.doctor("plan.set")
		plans := [][]string{{"cat-cow"}, {"cat-cow", "bar-hang"}, {"childs-pose", "overhead-stretch"}, {"cat-cow", "childs-pose"}}
		// Plans are written while PREGNANCY is absent (the gate would
		// refuse them otherwise); reporting it present suspends items.
		for i, step := range []string{"plan", "present", "absent", "plan", "present", "absent", "plan", "plan"} {
			if step == "plan" {
				cur, err := c.store.GetPlan(ctx, p, 0)
				if err != nil {
					t.Errorf("GetPlan: %v", err)
					return
				}
				if _, err := c.store.SetPlan(ctx, p, hep.PlanInput{ExpectedVersion: cur.Version, Items: items(plans[i%4]...)}); err != nil {
					t.Errorf("SetPlan: %v", err)
					return
				}
				clinicianCalls += 2
				continue
			}
			st := map[string]hep.FlagStatus{"present": hep.StatusPresent, "absent": hep.StatusAbsent}[step]
			if _, _, err := c.store.RecordScreening(ctx, p, []hep.ScreeningInput{ans(hep.FlagPregnancy, st)}); err != nil {
				t.Errorf("RecordScreening: %v", err)
				return
			}
			clinicianCalls++
		}
	})
	var pulls sync.WaitGroup
	pulls.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := puller.tryPull(3); err != nil {
				t.Errorf("puller: %v", err)
				return
			}
		}
	})
	wg.Wait()
	close(done)
	pulls.Wait()
	if got, want := c.auditCount()-before, int64(clinicianCalls+pushers[0].calls+pushers[1].calls+puller.calls); got != want {
		t.Errorf("%d audit rows for %d successful calls", got, want)
	}
	if puller.calls < 2 {
		t.Errorf("the puller made %d calls during the race", puller.calls)
	}

	// Quiet now: every phone converges on the store.
	for i, ph := range append(pushers, puller, c.newPhone(c.device)) {
		ph.pull(7)
		if got, want := ph.heldIDs(hep.KindLog), logIDs(c.logs(p)); !slices.Equal(got, want) {
			t.Errorf("phone %d holds %d logs, the store lists %d", i, len(got), len(want))
		}
		if got, want := ph.heldIDs(hep.KindCheckin), checkinIDs(c.checkins(p)); !slices.Equal(got, want) {
			t.Errorf("phone %d holds check-ins %v, the store lists %v", i, got, want)
		}
		if pl := ph.held[entryKey{hep.KindPlan, hep.CurrentID}].Plan; pl == nil || !reflect.DeepEqual(normPlan(*pl), normPlan(c.plan())) {
			t.Errorf("phone %d holds plan %+v, the store has %+v", i, pl, c.plan())
		}
		if i > 0 && !reflect.DeepEqual(keysOf(ph.held), keysOf(pushers[0].held)) {
			t.Errorf("phone %d and phone 0 hold different records", i)
		}
	}
	if n := len(c.logs(p)); n == 0 {
		t.Errorf("no logs after the race")
	}
	c.wantGated("after the race")
}

// keysOf returns the records a phone holds with their sequences.
func keysOf(held map[entryKey]hep.Change) map[entryKey]int64 {
	out := map[entryKey]int64{}
	for k, c := range held {
		out[k] = c.Seq
	}
	return out
}
