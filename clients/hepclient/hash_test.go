package hepclient

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestKindNames: the kind names in the hash are the domain's.
func TestKindNames(t *testing.T) {
	for k, want := range map[hepv1.RecordKind]hep.RecordKind{
		hepv1.RecordKind_RECORD_KIND_EXERCISE_LOG: hep.KindLog,
		hepv1.RecordKind_RECORD_KIND_PAIN_CHECKIN: hep.KindCheckin,
		hepv1.RecordKind_RECORD_KIND_PLAN:         hep.KindPlan,
		hepv1.RecordKind_RECORD_KIND_EXERCISE:     hep.KindCatalog,
		hepv1.RecordKind_RECORD_KIND_SCREENING:    hep.KindScreening,
	} {
		if got := kindName(k); got != string(want) {
			t.Errorf("kindName(%v) = %q, want %q", k, got, want)
		}
	}
}

// TestConvergenceHashExample is the worked example of docs/sync.md,
// computed by the phone's own code over its records table.
func TestConvergenceHashExample(t *testing.T) {
	ctx := context.Background()
	db, err := openState(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n, h, err := localHash(ctx, db, "records")
	if err != nil || n != 0 || h != "0000000000000000000000000000000000000000000000000000000000000000" {
		t.Errorf("empty: %d %s %v", n, h, err)
	}
	for _, r := range []struct {
		kind, id string
		seq      int64
	}{{"EXERCISE_LOG", "01935f6e-7c1a-7b3e-9a41-2f0c5d8e6b10", 7}, {"PLAN", "current", 3}} {
		if _, err := db.Exec("INSERT INTO records (kind, id, seq, payload) VALUES (?, ?, ?, x'')", r.kind, r.id, r.seq); err != nil {
			t.Fatal(err)
		}
	}
	n, h, err = localHash(ctx, db, "records")
	if want := "379e95e47d6f1a1f74a67e9ac17338c68f4cca891a1c684ee2a3bb3f53818a6d"; err != nil || n != 2 || h != want {
		t.Errorf("example: %d %s %v, want 2 %s", n, h, err, want)
	}
}
