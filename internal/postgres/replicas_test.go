package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hepclinic/hep/internal/hep"
)

// The tests of this file run several Stores on one database, as several
// hepd replicas do, and check the sync guarantees that the SQLite store
// got from its single writer.

// TestReplicasReplayedPush pushes the same batch through three replicas at
// once, several times over: one application, and every call answers with
// the stored results (the same statuses; replays marked Replayed).
func TestReplicasReplayedPush(t *testing.T) {
	f := newSyncFixture(t)
	replicas := []*Store{f.s, f.replica(t), f.replica(t)}
	at := f.clock.Add(-time.Minute)
	ci := hep.PainCheckin{ID: uuid.Must(uuid.NewV7()).String(), RecordTime: at, CorrectedRecordTime: at, Score: 8, Location: hep.PainLeg}
	bad := f.log("unknown exercise")
	bad.ExerciseID = "no-such-exercise"
	var batch []hep.Mutation
	for i := range 40 {
		l := f.log(fmt.Sprint("log ", i))
		l.PainBefore, l.PainAfter = score(2), score(7) // PAIN_SEVERE and PAIN_FLARE, coalesced
		batch = append(batch, hep.Mutation{Seq: int64(len(batch) + 1), Log: &l})
	}
	batch = append(batch, hep.Mutation{Seq: int64(len(batch) + 1), Checkin: &ci}, hep.Mutation{Seq: int64(len(batch) + 2), Log: &bad})
	msg := hep.Message{ID: uuid.Must(uuid.NewV7()).String(), Body: "hello", SentTime: at, PhoneSentTime: at}
	batch = append(batch, hep.Mutation{Seq: int64(len(batch) + 1), Message: &msg})

	for round := range 3 {
		var wg sync.WaitGroup
		results := make([][]hep.MutationResult, 6)
		errs := make([]error, len(results))
		for i := range results {
			wg.Go(func() {
				results[i], _, errs[i] = replicas[i%len(replicas)].Push(f.phone, f.device, batch)
			})
		}
		wg.Wait()
		fresh := 0
		for i, rs := range results {
			if errs[i] != nil {
				t.Fatalf("round %d, push %d: %v", round, i, errs[i])
			}
			if len(rs) != len(batch) {
				t.Fatalf("round %d, push %d: %d results", round, i, len(rs))
			}
			if !rs[0].Replayed {
				fresh++
			}
			for j, r := range rs {
				want := hep.MutationApplied
				if batch[j].Log == &bad {
					want = hep.MutationRejected
				}
				if r.Status != want || r.Seq != batch[j].Seq || r.Replayed != rs[0].Replayed {
					t.Errorf("round %d, push %d, mutation %d: %+v", round, i, j, r)
				}
			}
		}
		if want := map[bool]int{true: 1, false: 0}[round == 0]; fresh != want {
			t.Errorf("round %d: %d pushes applied the batch, want %d", round, fresh, want)
		}
	}
	for what, want := range map[string]int64{
		"SELECT count(*) FROM exercise_logs":                                      40,
		"SELECT count(*) FROM pain_checkins":                                      1,
		"SELECT count(*) FROM messages WHERE sender = 'PATIENT'":                  1,
		"SELECT count(*) FROM device_mutations":                                   1,
		"SELECT count(*) FROM alerts WHERE kind IN ('PAIN_SEVERE', 'PAIN_FLARE')": 3, // log severe, log flare (per exercise), check-in severe
		"SELECT count(*) FROM alert_occurrences":                                  81,
		"SELECT last_seq FROM devices WHERE id = '" + f.device + "'":              int64(len(batch)),
	} {
		if n := f.count(t, what); n != want {
			t.Errorf("%s = %d, want %d", what, n, want)
		}
	}
}

// TestReplicasNoSkippedRows has two phones of one patient push through
// different replicas while a third replica pulls, and clinicians write the
// plan through a fourth: every pull's cursor moves only past rows that
// were committed, so the puller ends with exactly the database's view.
func TestReplicasNoSkippedRows(t *testing.T) {
	f := newSyncFixture(t)
	dev2, phone2 := f.enroll(t, "code2")
	pusher1, pusher2, puller := f.replica(t), f.replica(t), f.replica(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	var wg sync.WaitGroup
	push := func(s *Store, phone context.Context, device string) {
		defer wg.Done()
		var seq int64
		for round := range 25 {
			var batch []hep.Mutation
			for i := range 1 + round%5 {
				seq++
				l := f.log(fmt.Sprint(device, " ", seq, " ", i))
				batch = append(batch, hep.Mutation{Seq: seq, Log: &l})
			}
			if round%4 == 3 { // a deletion: a tombstone in sync_state
				seq++
				batch = append(batch, hep.Mutation{Seq: seq, Delete: &hep.DeleteRecord{Kind: hep.KindLog, ID: batch[0].Log.ID}})
			}
			if round%6 == 5 {
				seq++
				at := f.clock.Add(-time.Minute)
				batch = append(batch, hep.Mutation{Seq: seq, Checkin: &hep.PainCheckin{ID: uuid.Must(uuid.NewV7()).String(),
					RecordTime: at, CorrectedRecordTime: at, Score: 3, Location: hep.PainNeck}})
			}
			if _, _, err := s.Push(phone, device, batch); err != nil {
				t.Errorf("push: %v", err)
				return
			}
		}
	}
	wg.Add(2)
	go push(pusher1, f.phone, f.device)
	go push(pusher2, phone2, dev2)

	// The puller's view: every record by (kind, id), its last change.
	view := map[string]hep.Change{}
	var cursor int64
	pull := func() error {
		for {
			page, err := puller.Pull(f.phone, f.patient, cursor, 7)
			if err != nil {
				return err
			}
			for _, c := range page.Changes {
				if c.Seq <= cursor {
					return fmt.Errorf("change at %d after cursor %d", c.Seq, cursor)
				}
				view[string(c.Kind)+"/"+c.ID] = c
			}
			cursor = page.Next
			if !page.HasMore {
				return nil
			}
		}
	}
	pulled := make(chan error, 1)
	go func() {
		for ctx.Err() == nil {
			if err := pull(); err != nil {
				pulled <- err
				return
			}
		}
		pulled <- nil
	}()
	wg.Wait()
	cancel()
	if err := <-pulled; err != nil {
		t.Fatal(err)
	}
	if err := pull(); err != nil { // the final pass, after the writers
		t.Fatal(err)
	}

	// The database's view: the live entries with their sequence values
	// and the tombstones.
	want, err := queryEntries(t.Context(), f.s.db, `SELECT kind, id, seq, deleted FROM sync_state WHERE patient_id = $1
		UNION ALL SELECT 'EXERCISE_LOG', id, change_seq, 0 FROM exercise_logs
		WHERE patient_id = $1 AND change_seq > 0 AND `+liveLogs, f.patient)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != len(view) {
		t.Errorf("the puller holds %d records, the database %d", len(view), len(want))
	}
	for _, e := range want {
		got, ok := view[string(e.Kind)+"/"+e.ID]
		if !ok {
			t.Errorf("%s %s at %d was skipped", e.Kind, e.ID, e.Seq)
			continue
		}
		if got.Seq != e.Seq || got.Deleted != e.Deleted {
			t.Errorf("%s %s: pulled at %d (deleted %v), stored at %d (deleted %v)", e.Kind, e.ID, got.Seq, got.Deleted, e.Seq, e.Deleted)
		}
	}
	// And the last page's count and hash agree with the puller's view.
	page, err := puller.Pull(f.phone, f.patient, cursor, 100)
	if err != nil {
		t.Fatal(err)
	}
	var live []hep.SyncEntry
	for _, c := range view {
		if !c.Deleted {
			live = append(live, c.SyncEntry)
		}
	}
	if page.Count != int64(len(live)) || page.Hash != hep.ConvergenceHash(live) {
		t.Errorf("convergence: count %d hash %s; the puller has %d, %s", page.Count, page.Hash, len(live), hep.ConvergenceHash(live))
	}
}

// TestReplicasEvaluateAdherence runs the day-close evaluation on three
// replicas at once, twice each: each closed day is evaluated once, so
// NON_ADHERENCE is raised once and audited once.
func TestReplicasEvaluateAdherence(t *testing.T) {
	f := newSyncFixture(t) // a plan of cat-cow from 2030-01-01, nothing logged
	replicas := []*Store{f.s, f.replica(t), f.replica(t)}
	now := f.clock.Add(9 * 24 * time.Hour)
	ctx := hep.WithActor(t.Context(), hep.Actor{Action: "alert.evaluate_adherence"})
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for i := range 6 {
		wg.Go(func() {
			n, err := replicas[i%len(replicas)].EvaluateAdherence(ctx, now)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if total != 1 {
		t.Errorf("concurrent evaluations raised %d alerts, want 1", total)
	}
	if n := f.count(t, "SELECT count(*) FROM alerts WHERE kind = 'NON_ADHERENCE'"); n != 1 {
		t.Errorf("%d NON_ADHERENCE alerts stored, want 1", n)
	}
	if n := f.count(t, "SELECT count(*) FROM audit_events WHERE actor_id = $1 AND action = 'alert.evaluate_adherence'", hep.SystemActorID); n != 1 {
		t.Errorf("%d audit rows by %s, want 1", n, hep.SystemActorID)
	}
}

// TestReplicasCoalesce has two phones of one patient, through two
// replicas, report severe pain at once: one open PAIN_SEVERE alert per
// subject with every occurrence in it.
func TestReplicasCoalesce(t *testing.T) {
	f := newSyncFixture(t)
	dev2, phone2 := f.enroll(t, "code2")
	a, b := f.s, f.replica(t)
	var wg sync.WaitGroup
	const n = 10
	for i, side := range []struct {
		s      *Store
		phone  context.Context
		device string
	}{{a, f.phone, f.device}, {b, phone2, dev2}} {
		wg.Go(func() {
			for k := range n {
				at := f.clock.Add(-time.Duration(i*n+k+1) * time.Minute)
				ci := hep.PainCheckin{ID: uuid.Must(uuid.NewV7()).String(), RecordTime: at, CorrectedRecordTime: at, Score: 9, Location: hep.PainLowBack}
				if _, _, err := side.s.Push(side.phone, side.device, []hep.Mutation{{Seq: int64(k + 1), Checkin: &ci}}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	alerts, err := a.ListAlerts(hep.WithActor(t.Context(), hep.Actor{ID: "local:test", Role: hep.RoleAdmin}),
		hep.AlertFilter{PatientID: f.patient, Kinds: []hep.AlertKind{hep.AlertPainSevere}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 || alerts[0].Occurrences != 2*n || alerts[0].Status != hep.AlertOpen {
		got := make([]string, len(alerts))
		for i, x := range alerts {
			got[i] = fmt.Sprintf("%s %s %d", x.Subject, x.Status, x.Occurrences)
		}
		t.Errorf("PAIN_SEVERE alerts %v; want one open with %d occurrences", got, 2*n)
	}
	if got := f.count(t, "SELECT count(*) FROM alert_occurrences WHERE kind = 'PAIN_SEVERE'"); got != 2*n {
		t.Errorf("%d occurrences, want %d", got, 2*n)
	}
}
