package sqlite

// TEMPORARY while issues 5 and 6 are built: each method moves to its own
// file as it is implemented, and this file is deleted.

import (
	"context"
	"errors"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

var errPending = errors.New("sqlite: not built yet")

func (s *Store) Thresholds(ctx context.Context) (hep.Thresholds, error) { return hep.Thresholds{}, errPending }
func (s *Store) SetThresholds(ctx context.Context, t hep.Thresholds) (hep.Thresholds, error) {
	return hep.Thresholds{}, errPending
}
func (s *Store) ProgressFacts(ctx context.Context, patientID string, from, to hep.Date) (hep.ProgressFacts, hep.Thresholds, error) {
	return hep.ProgressFacts{}, hep.Thresholds{}, errPending
}
func (s *Store) TriageFacts(ctx context.Context, clinicianID string, now time.Time) ([]hep.TriageFacts, hep.Thresholds, error) {
	return nil, hep.Thresholds{}, errPending
}
func (s *Store) EvaluateAdherence(ctx context.Context, now time.Time) (int, error) { return 0, errPending }
func (s *Store) ExportSnapshot(ctx context.Context, patientID string, from, to hep.Date, format string) (hep.ExportSnapshot, error) {
	return hep.ExportSnapshot{}, errPending
}
func (s *Store) ExportLogs(ctx context.Context, patientID string, start, end time.Time, after hep.ExportCursor, limit int) ([]hep.ExerciseLog, error) {
	return nil, errPending
}
func (s *Store) ExportCheckins(ctx context.Context, patientID string, start, end time.Time, after hep.ExportCursor, limit int) ([]hep.PainCheckin, error) {
	return nil, errPending
}
