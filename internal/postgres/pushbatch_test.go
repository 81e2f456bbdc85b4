package postgres

import (
	"reflect"
	"testing"

	"github.com/hepclinic/hep/internal/hep"
)

// TestPushRunDuplicates: a run of plain logs stored by multi-row inserts
// answers ids stored before the push, and ids repeated within the run,
// exactly as one-by-one application would; the new logs get consecutive
// change sequence values in mutation order; a replay returns the same
// results; only the rejection is stored in device_mutations.
func TestPushRunDuplicates(t *testing.T) {
	f := newSyncFixture(t)
	old := f.log("stored before")
	if _, _, err := f.s.Push(f.phone, f.device, []hep.Mutation{{Seq: 1, Log: &old}}); err != nil {
		t.Fatal(err)
	}
	seqBefore := f.count(t, "SELECT change_seq FROM patients WHERE id = $1", f.patient)
	a, b := f.log("a"), f.log("b")
	reused := a
	reused.Note = "other content, same id"
	muts := []hep.Mutation{
		{Seq: 2, Log: &a},
		{Seq: 3, Log: &old},    // a replay of a stored log: applied, nothing new
		{Seq: 4, Log: &a},      // the same log again within the run: applied
		{Seq: 5, Log: &reused}, // the id of a with other content: rejected
		{Seq: 6, Log: &b},
	}
	want := []hep.MutationResult{
		{Seq: 2, Status: hep.MutationApplied},
		{Seq: 3, Status: hep.MutationApplied},
		{Seq: 4, Status: hep.MutationApplied},
		{Seq: 5, Status: hep.MutationRejected, Field: "log.id", Reason: reasonIDReused},
		{Seq: 6, Status: hep.MutationApplied},
	}
	rs, last, err := f.s.Push(f.phone, f.device, muts)
	if err != nil || last != 6 {
		t.Fatalf("Push = %d, %v", last, err)
	}
	if !reflect.DeepEqual(rs, want) {
		t.Errorf("results\n got  %+v\n want %+v", rs, want)
	}
	if n := f.count(t, "SELECT change_seq FROM patients WHERE id = $1", f.patient); n != seqBefore+2 {
		t.Errorf("change_seq %d, want %d", n, seqBefore+2)
	}
	for i, id := range []string{a.ID, b.ID} {
		if n := f.count(t, "SELECT change_seq FROM exercise_logs WHERE patient_id = $1 AND id = $2", f.patient, id); n != seqBefore+int64(i)+1 {
			t.Errorf("entry of log %d at %d, want %d", i, n, seqBefore+int64(i)+1)
		}
	}
	if n := f.count(t, "SELECT count(*) FROM exercise_logs WHERE note = $1", reused.Note); n != 0 {
		t.Errorf("the reused id's content was stored")
	}
	if n := f.count(t, "SELECT count(*) FROM device_mutations"); n != 1 {
		t.Errorf("%d stored results, want 1 (the rejection)", n)
	}
	again, last, err := f.s.Push(f.phone, f.device, muts)
	if err != nil || last != 6 {
		t.Fatalf("replay = %d, %v", last, err)
	}
	for i := range want {
		want[i].Replayed = true
	}
	if !reflect.DeepEqual(again, want) {
		t.Errorf("replay\n got  %+v\n want %+v", again, want)
	}
}
