package export_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hepclinic/hep/internal/export"
	"github.com/hepclinic/hep/internal/hep"
)

// synthetic is a Source of n sessions and n/4 check-ins made on demand,
// a page at a time, so the only copy of a row is the writer's.
type synthetic struct {
	n, requested int
	start        time.Time
	lastPage     func()
}

func (s *synthetic) at(i int) time.Time { return s.start.Add(time.Duration(i) * 17 * time.Minute) }

func (s *synthetic) Logs(_ context.Context, after hep.ExportCursor, limit int) ([]hep.ExerciseLog, error) {
	i := 0
	if !after.Time.IsZero() {
		i = int(after.Time.Sub(s.start)/(17*time.Minute)) + 1
	}
	var out []hep.ExerciseLog
	for ; i < s.n && len(out) < limit; i++ {
		before, after := int32(i%11), int32((i+3)%11)
		out = append(out, hep.ExerciseLog{ID: uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "log%d", i)).String(),
			PatientID: "p", DeviceID: "d", ExerciseID: "cat-cow", PlanVersion: 1, PerformTime: s.at(i),
			CorrectedPerformTime: s.at(i), ReceiveTime: s.at(i).Add(time.Minute), SetsDone: 2, RepsDone: 10,
			PainBefore: &before, PainAfter: &after, Difficulty: hep.DifficultyJustRight, Note: "a note of some length, as patients write them"})
	}
	s.requested += len(out)
	if i >= s.n && s.lastPage != nil {
		s.lastPage()
		s.lastPage = nil
	}
	return out, nil
}

func (s *synthetic) Checkins(_ context.Context, after hep.ExportCursor, limit int) ([]hep.PainCheckin, error) {
	i := 0
	if !after.Time.IsZero() {
		i = int(after.Time.Sub(s.start)/(68*time.Minute)) + 1
	}
	var out []hep.PainCheckin
	for ; i < s.n/4 && len(out) < limit; i++ {
		at := s.start.Add(time.Duration(i) * 68 * time.Minute)
		out = append(out, hep.PainCheckin{ID: uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "c%d", i)).String(),
			PatientID: "p", DeviceID: "d", RecordTime: at, CorrectedRecordTime: at, ReceiveTime: at, Score: int32(i % 11),
			Location: hep.PainLowBack})
	}
	return out, nil
}

// syntheticSnapshot is a small snapshot for the synthetic rows.
func syntheticSnapshot(n int) *hep.ExportSnapshot {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	return &hep.ExportSnapshot{
		Patient: hep.Patient{ID: "p", DisplayName: "P", TimeZone: "UTC"},
		From:    hep.Date{Year: 2025, Month: 1, Day: 1}, To: hep.Date{Year: 2027, Month: 12, Day: 31},
		Start: start, End: start.AddDate(3, 0, 0), LogCount: int64(n), CheckinCount: int64(n / 4),
		Plans: []hep.Plan{{PatientID: "p", Version: 1, AuthorID: "a", CreateTime: start, Items: []hep.PlanItem{{
			Spec: hep.ItemSpec{ExerciseID: "cat-cow", Dose: hep.Dose{Sets: 2, Reps: 10}, StartDate: hep.Date{Year: 2025, Month: 1, Day: 1},
				Frequency: hep.Frequency{TimesPerDay: 1, DaysPerWeek: 7}}, State: hep.ItemActive, StateTime: start}}}},
		Facts:        hep.ProgressFacts{PatientID: "p", Current: hep.Plan{Version: 1}},
		Thresholds:   hep.DefaultThresholds(),
		Actor:        hep.Actor{ID: "a", Role: hep.RoleClinician},
		GenerateTime: start.AddDate(3, 0, 0),
	}
}

// countingWriter counts bytes; the count is read by the Source, which the
// writers call from a goroutine of their own (they read a page ahead).
type countingWriter struct{ n atomic.Int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n.Add(int64(len(p))); return len(p), nil }

// TestWritersStream writes 50,000 synthetic sessions (and 12,500
// check-ins) as FHIR and as CSV: bytes of the sessions reach the writer
// before the last page is read, and the live heap when the last page is
// read stays within a bound far below the size of the output.
func TestWritersStream(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 50,000 sessions")
	}
	const n = 50000
	for _, format := range []hep.ExportFormat{hep.ExportFHIR, hep.ExportCSV} {
		t.Run(string(format), func(t *testing.T) {
			snap := syntheticSnapshot(n)
			w := &countingWriter{}
			var before, at runtime.MemStats
			var bytesAtLast int64
			runtime.GC()
			runtime.ReadMemStats(&before)
			src := &synthetic{n: n, start: snap.Start}
			src.lastPage = func() {
				bytesAtLast = w.n.Load()
				runtime.GC()
				runtime.ReadMemStats(&at)
			}
			if err := export.Write(t.Context(), w, format, snap, src, export.Options{}); err != nil {
				t.Fatal(err)
			}
			growth := int64(at.HeapAlloc) - int64(before.HeapAlloc)
			t.Logf("%s: %d bytes in all, %d written before the last page was read; live heap growth then %d KiB",
				format, w.n.Load(), bytesAtLast, growth/1024)
			if bytesAtLast < w.n.Load()/2 {
				t.Errorf("only %d of %d bytes were written before the last page was read", bytesAtLast, w.n.Load())
			}
			const bound = 8 << 20
			if growth > bound {
				t.Errorf("live heap grew by %d bytes, more than %d", growth, bound)
			}
			if src.requested != n {
				t.Errorf("read %d sessions, want %d", src.requested, n)
			}
		})
	}
}

// BenchmarkWriteFHIR and BenchmarkWriteCSV measure a writer alone over
// synthetic rows (no database), in sessions per second.
func BenchmarkWriteFHIR(b *testing.B) { benchWrite(b, hep.ExportFHIR) }

func BenchmarkWriteCSV(b *testing.B) { benchWrite(b, hep.ExportCSV) }

func benchWrite(b *testing.B, format hep.ExportFormat) {
	const n = 10000
	snap := syntheticSnapshot(n)
	b.ResetTimer()
	for b.Loop() {
		if err := export.Write(b.Context(), io.Discard, format, snap, &synthetic{n: n, start: snap.Start}, export.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "sessions/s")
}
