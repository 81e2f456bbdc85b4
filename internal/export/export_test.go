package export_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hepclinic/hep/internal/export"
	"github.com/hepclinic/hep/internal/export/exporttest"
	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/sqlite"
)

// env is the rich fixture in a real SQLite store, with its snapshot.
type env struct {
	store *sqlite.Store
	f     *exporttest.Fixture
	snap  hep.ExportSnapshot
}

func newEnv(t *testing.T, format hep.ExportFormat) *env {
	t.Helper()
	e := &env{}
	e.f = exporttest.Build(t, func(clock hep.Clock) hep.Store {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hep.db"), sqlite.WithClock(clock))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		e.store = s
		return s
	})
	var err error
	if e.snap, err = e.store.ExportSnapshot(e.f.Doctor, e.f.Patient.ID, e.f.From, e.f.To, string(format)); err != nil {
		t.Fatal(err)
	}
	return e
}

// export writes the snapshot in a format, checking the progress reports:
// increasing, ending at TotalRows.
func (e *env) export(t *testing.T, format hep.ExportFormat, pageSize int) []byte {
	t.Helper()
	var buf bytes.Buffer
	var reports []int64
	err := export.Write(t.Context(), &buf, format, &e.snap, export.StoreSource(e.store, &e.snap),
		export.Options{PageSize: pageSize, Progress: func(n int64) { reports = append(reports, n) }})
	if err != nil {
		t.Fatalf("%s export: %v", format, err)
	}
	total := export.TotalRows(&e.snap)
	if len(reports) == 0 || reports[len(reports)-1] != total {
		t.Errorf("%s progress %v, want it to end at %d", format, reports, total)
	}
	for i := 1; i < len(reports); i++ {
		if reports[i] <= reports[i-1] {
			t.Errorf("%s progress goes back: %v", format, reports)
		}
	}
	return buf.Bytes()
}

// logs and checkins read every row of the export's range from the store.
func (e *env) logs(t *testing.T) []hep.ExerciseLog {
	t.Helper()
	out, err := e.store.ExportLogs(t.Context(), e.f.Patient.ID, e.snap.Start, e.snap.End, hep.ExportCursor{}, 5000)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *env) checkins(t *testing.T) []hep.PainCheckin {
	t.Helper()
	out, err := e.store.ExportCheckins(t.Context(), e.f.Patient.ID, e.snap.Start, e.snap.End, hep.ExportCursor{}, 5000)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tool returns the path of an external program the test needs. Missing:
// the test fails on CI (CI=true), where .ci/tools.sh installs it, and is
// skipped elsewhere with how to get it.
func tool(t *testing.T, name, how string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing on CI: %s", name, how)
	}
	t.Skipf("%s is missing (%s); CI fails here instead of skipping", name, how)
	return ""
}

// repoRoot is the directory holding go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}
