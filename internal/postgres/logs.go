package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// Exercise logs and pain check-ins: how they are stored and listed. Push
// (push.go) decides what is written; Pull (sync.go) reads them by id.

func resLogs(patientID string) string { return "patients/" + patientID + "/logs" }

func resCheckins(patientID string) string { return "patients/" + patientID + "/checkins" }

const logColumns = `id, patient_id, device_id, exercise_id, plan_version, perform_time, corrected_perform_time, receive_time,
	sets_done, reps_done, hold_seconds_done, duration_seconds_done, pain_before, pain_after, difficulty, note, supersedes,
	item_suspended`

func scanLog(sc interface{ Scan(...any) error }) (hep.ExerciseLog, error) {
	var l hep.ExerciseLog
	var before, after sql.NullInt32
	var difficulty string
	var supersedes sql.NullString
	err := sc.Scan(&l.ID, &l.PatientID, &l.DeviceID, &l.ExerciseID, &l.PlanVersion, tcol(&l.PerformTime),
		tcol(&l.CorrectedPerformTime), tcol(&l.ReceiveTime), &l.SetsDone, &l.RepsDone, &l.HoldSecondsDone,
		&l.DurationSecondsDone, &before, &after, &difficulty, &l.Note, &supersedes, &l.ItemSuspended)
	l.PainBefore, l.PainAfter = nullScore(before), nullScore(after)
	l.Difficulty, l.Supersedes = hep.Difficulty(difficulty), supersedes.String
	return l, err
}

// nullScore reads a nullable pain score.
func nullScore(n sql.NullInt32) *int32 {
	if !n.Valid {
		return nil
	}
	v := n.Int32
	return &v
}

// scoreArg stores a nullable pain score.
func scoreArg(p *int32) any {
	if p == nil {
		return nil
	}
	return *p
}

// idArg stores an optional reference: "" is NULL.
func idArg(id string) any {
	if id == "" {
		return nil
	}
	return id
}

// logByIDQuery reads one log of a patient by primary key.
const logByIDQuery = "SELECT " + logColumns + " FROM exercise_logs WHERE id = $1 AND patient_id = $2"

const insertLogQuery = `INSERT INTO exercise_logs (id, patient_id, device_id, exercise_id, plan_version,
		perform_time, corrected_perform_time, receive_time, sets_done, reps_done, hold_seconds_done,
		duration_seconds_done, pain_before, pain_after, difficulty, note, supersedes, item_suspended, content_hash,
		change_seq)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`

// insertNewLog stores a new log whose content hash is hash at change
// sequence value seq, unless a log with its id exists: inserted is false
// then, and nothing changed.
func insertNewLog(ctx context.Context, tx *sql.Tx, l hep.ExerciseLog, hash string, seq int64) (inserted bool, err error) {
	res, err := execLog(ctx, tx, insertLogNewQuery, l, hash, seq)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// execLog runs one of the log inserts.
func execLog(ctx context.Context, tx *sql.Tx, query string, l hep.ExerciseLog, hash string, seq int64) (sql.Result, error) {
	return tx.ExecContext(ctx, query, l.ID, l.PatientID, l.DeviceID, l.ExerciseID, l.PlanVersion, ts(l.PerformTime), ts(l.CorrectedPerformTime),
		ts(l.ReceiveTime), l.SetsDone, l.RepsDone, l.HoldSecondsDone, l.DurationSecondsDone, scoreArg(l.PainBefore),
		scoreArg(l.PainAfter), string(l.Difficulty), l.Note, idArg(l.Supersedes), b2i(l.ItemSuspended), hash, seq)
}

const checkinColumns = `id, patient_id, device_id, record_time, corrected_record_time, receive_time, score, location,
	red_flags, note, supersedes`

func scanCheckin(sc interface{ Scan(...any) error }) (hep.PainCheckin, error) {
	var c hep.PainCheckin
	var location, flags string
	var supersedes sql.NullString
	err := sc.Scan(&c.ID, &c.PatientID, &c.DeviceID, tcol(&c.RecordTime), tcol(&c.CorrectedRecordTime),
		tcol(&c.ReceiveTime), &c.Score, &location, &flags, &c.Note, &supersedes)
	if err != nil {
		return c, err
	}
	c.Location, c.Supersedes = hep.PainLocation(location), supersedes.String
	if err := json.Unmarshal([]byte(flags), &c.RedFlags); err != nil {
		return c, fmt.Errorf("postgres: stored red flags: %w", err)
	}
	if len(c.RedFlags) == 0 {
		c.RedFlags = nil
	}
	return c, nil
}

// checkinByIDQuery reads one check-in of a patient by primary key.
const checkinByIDQuery = "SELECT " + checkinColumns + " FROM pain_checkins WHERE id = $1 AND patient_id = $2"

const insertCheckinQuery = `INSERT INTO pain_checkins (id, patient_id, device_id, record_time, corrected_record_time,
		receive_time, score, location, red_flags, note, supersedes, content_hash)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`

// insertCheckin stores a new check-in.
func insertCheckin(ctx context.Context, tx *sql.Tx, c hep.PainCheckin) error {
	flags := c.RedFlags
	if flags == nil {
		flags = []hep.RedFlag{}
	}
	list, err := json.Marshal(flags)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, insertCheckinQuery, c.ID, c.PatientID, c.DeviceID, ts(c.RecordTime), ts(c.CorrectedRecordTime), ts(c.ReceiveTime), c.Score,
		string(c.Location), string(list), c.Note, idArg(c.Supersedes), c.ContentHash())
	return err
}

// record is what Push needs to know about a stored log or check-in.
type record struct {
	patientID   string
	contentHash string
	live        bool
}

// recordTable is the table of a synced record kind.
func recordTable(kind hep.RecordKind) string {
	if kind == hep.KindCheckin {
		return "pain_checkins"
	}
	return "exercise_logs"
}

// recordQuery reads what Push needs of a log or check-in by primary key.
func recordQuery(kind hep.RecordKind) string {
	return "SELECT patient_id, content_hash, deleted_time IS NULL AND superseded_by IS NULL FROM " + recordTable(kind) + " WHERE id = $1"
}

// getRecord reads a log or check-in by id, whatever its patient; ok is
// false if there is none.
func getRecord(ctx context.Context, tx *sql.Tx, kind hep.RecordKind, id string) (r record, ok bool, err error) {
	err = tx.QueryRowContext(ctx, recordQuery(kind), id).Scan(&r.patientID, &r.contentHash, &r.live)
	if errors.Is(err, sql.ErrNoRows) {
		return record{}, false, nil
	}
	return r, err == nil, err
}

// endQuery ends a log or check-in: superseded or deleted.
func endQuery(kind hep.RecordKind, superseded bool) string {
	col := "deleted_time"
	if superseded {
		col = "superseded_by"
	}
	return "UPDATE " + recordTable(kind) + " SET " + col + " = $1 WHERE id = $2"
}

// endRecord ends a live log or check-in: superseded by another record, or
// (by "") deleted now.
func endRecord(ctx context.Context, tx *sql.Tx, kind hep.RecordKind, id, supersededBy string, now time.Time) error {
	arg := any(ts(now))
	if supersededBy != "" {
		arg = supersededBy
	}
	_, err := tx.ExecContext(ctx, endQuery(kind, supersededBy != ""), arg, id)
	return err
}

// beforeKey is the upper bound of a newest-first page keyed on (corrected
// time, id): "" for the first page, which has none (no text sorts above
// every stored time under every collation, so there is no sentinel); a
// time without an id bounds by the time alone.
func beforeKey(t time.Time, id string) (string, string) {
	if t.IsZero() {
		return "", ""
	}
	return ts(t), id
}

// logsQuery pages a patient's live logs newest first on the partial index
// exercise_logs_live.
const logsQuery = "SELECT " + logColumns + ` FROM exercise_logs
	WHERE patient_id = $1 AND deleted_time IS NULL AND superseded_by IS NULL AND ($2 = '' OR (corrected_perform_time, id) < ($2, $3))
	ORDER BY corrected_perform_time DESC, id DESC LIMIT $4`

// checkinsQuery pages a patient's live check-ins newest first on
// pain_checkins_live.
const checkinsQuery = "SELECT " + checkinColumns + ` FROM pain_checkins
	WHERE patient_id = $1 AND deleted_time IS NULL AND superseded_by IS NULL AND ($2 = '' OR (corrected_record_time, id) < ($2, $3))
	ORDER BY corrected_record_time DESC, id DESC LIMIT $4`

// ListExerciseLogs implements hep.Store.
func (s *Store) ListExerciseLogs(ctx context.Context, f hep.LogFilter) ([]hep.ExerciseLog, error) {
	bt, bid := beforeKey(f.BeforeTime, f.BeforeID)
	var out []hep.ExerciseLog
	err := s.view(ctx, f.PatientID, resLogs(f.PatientID), func(tx *sql.Tx) error {
		out = nil
		got, err := queryAll(ctx, tx, scanLog, logsQuery, f.PatientID, bt, bid, limit(f.Limit))
		if err != nil {
			return err
		}
		out = append(out, got...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListPainCheckins implements hep.Store.
func (s *Store) ListPainCheckins(ctx context.Context, f hep.LogFilter) ([]hep.PainCheckin, error) {
	bt, bid := beforeKey(f.BeforeTime, f.BeforeID)
	var out []hep.PainCheckin
	err := s.view(ctx, f.PatientID, resCheckins(f.PatientID), func(tx *sql.Tx) error {
		out = nil
		got, err := queryAll(ctx, tx, scanCheckin, checkinsQuery, f.PatientID, bt, bid, limit(f.Limit))
		if err != nil {
			return err
		}
		out = append(out, got...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
