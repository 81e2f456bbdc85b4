package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// The change sequence. Every transaction that changes what a patient's
// phones see calls bump for each record it changed: the patient's
// change_seq goes up by one and the record's entry (moveEntry) moves to the
// new value. Every transaction that bumps a patient's sequence holds that
// patient's row lock (lockPatient first, and the bump's own UPDATE) until
// it commits, on whichever replica it runs: the next one to bump waits for
// the commit, so the transactions that bump one patient commit in sequence
// order, and a Pull that has returned everything up to n never later finds
// an entry at or below n that it did not return (no skipped rows).

func resSync(patientID string) string { return "patients/" + patientID + "/sync" }

// bumpQuery allocates the patient's next change sequence value.
const bumpQuery = "UPDATE patients SET change_seq = change_seq + 1 WHERE id = $1 RETURNING change_seq"

// upsertEntryQuery moves a record's entry to a new sequence value (a
// tombstone never moves again: a trigger refuses it).
const upsertEntryQuery = `INSERT INTO sync_state (patient_id, kind, id, seq, deleted, change_time) VALUES ($1, $2, $3, $4, $5, $6)
	ON CONFLICT (patient_id, kind, id) DO UPDATE SET seq = excluded.seq, deleted = excluded.deleted, change_time = excluded.change_time`

// bump records, inside tx, that the patient's record (kind, id) changed or,
// with deleted, became a tombstone. It returns the sequence value given.
func (s *Store) bump(ctx context.Context, tx *sql.Tx, patientID string, kind hep.RecordKind, id string, deleted bool) (int64, error) {
	var seq int64
	err := tx.QueryRowContext(ctx, bumpQuery, patientID).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("postgres: change sequence of a missing patient")
	}
	if err != nil {
		return 0, err
	}
	return seq, s.moveEntry(ctx, tx, patientID, kind, id, seq, deleted, s.now())
}

// moveLogQuery moves a live log to a new sequence value (only forward: a
// trigger refuses anything else).
const moveLogQuery = "UPDATE exercise_logs SET change_seq = $1 WHERE id = $2 AND patient_id = $3"

// moveEntry puts the record's entry at sequence value seq: a live log's in
// its own row, anything else (a log's tombstone too) in sync_state.
func (s *Store) moveEntry(ctx context.Context, tx *sql.Tx, patientID string, kind hep.RecordKind, id string, seq int64,
	deleted bool, now time.Time) error {
	if kind == hep.KindLog && !deleted {
		res, err := tx.ExecContext(ctx, moveLogQuery, seq, id, patientID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return cmpErr(err, fmt.Errorf("postgres: change sequence of a missing log"))
		}
		return nil
	}
	_, err := tx.ExecContext(ctx, upsertEntryQuery, patientID, string(kind), id, seq, b2i(deleted), ts(now))
	return err
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// entryQuery reads one record's entry by primary key.
const entryQuery = "SELECT seq FROM sync_state WHERE patient_id = $1 AND kind = $2 AND id = $3"

// bumpExercises gives each catalog entry a plan refers to an entry in the
// patient's sequence, once: catalog entries change only by retirement,
// which bumps them again (RetireExercise).
func (s *Store) bumpExercises(ctx context.Context, tx *sql.Tx, patientID string, items []hep.PlanItem) error {
	for _, it := range items {
		var seq int64
		err := tx.QueryRowContext(ctx, entryQuery, patientID, string(hep.KindCatalog), it.Spec.ExerciseID).Scan(&seq)
		if err == nil {
			continue
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := s.bump(ctx, tx, patientID, hep.KindCatalog, it.Spec.ExerciseID, false); err != nil {
			return err
		}
	}
	return nil
}

// holdersQuery lists the patients whose plans (any version) hold an entry,
// on plan_items_exercise; those and only those have it in their sequence.
// In id order: the order their rows are locked in.
const holdersQuery = "SELECT DISTINCT patient_id FROM plan_items WHERE exercise_id = $1 ORDER BY patient_id"

// bumpHolders bumps a changed catalog entry for every patient whose phones
// hold it, locking each patient's row first (in id order, so that two
// transactions bumping several patients never deadlock).
func (s *Store) bumpHolders(ctx context.Context, tx *sql.Tx, exerciseID string) error {
	rows, err := tx.QueryContext(ctx, holdersQuery, exerciseID)
	if err != nil {
		return err
	}
	var patients []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return err
		}
		patients = append(patients, p)
	}
	if err := closeRows(rows); err != nil {
		return err
	}
	if err := lockPatients(ctx, tx, patients); err != nil {
		return err
	}
	for _, p := range patients {
		if _, err := s.bump(ctx, tx, p, hep.KindCatalog, exerciseID, false); err != nil {
			return err
		}
	}
	return nil
}

// liveLogs is the condition of a live log (that of the partial index
// exercise_logs_seq).
const liveLogs = "deleted_time IS NULL AND superseded_by IS NULL"

// pullQuery pages a patient's entries in sequence order: sync_state on
// sync_state_seq merged with the live logs on exercise_logs_seq.
const pullQuery = `SELECT kind, id, seq, deleted FROM sync_state WHERE patient_id = $1 AND seq > $2
	UNION ALL SELECT 'EXERCISE_LOG', id, change_seq, 0 FROM exercise_logs WHERE patient_id = $1 AND change_seq > $2 AND ` + liveLogs + `
	ORDER BY 3 LIMIT $3`

// liveEntriesQuery reads every live entry of a patient: a range of
// sync_state's primary key, which holds every column, and the live logs on
// exercise_logs_seq.
const liveEntriesQuery = `SELECT kind, id, seq FROM sync_state WHERE patient_id = $1 AND deleted = 0
	UNION ALL SELECT 'EXERCISE_LOG', id, change_seq FROM exercise_logs WHERE patient_id = $1 AND change_seq > 0 AND ` + liveLogs

// belowQuery reads a patient's entries below a sequence value on
// sync_state_seq and exercise_logs_seq.
const belowQuery = `SELECT kind, id, seq, deleted FROM sync_state WHERE patient_id = $1 AND seq < $2
	UNION ALL SELECT 'EXERCISE_LOG', id, change_seq, 0 FROM exercise_logs WHERE patient_id = $1 AND change_seq < $2 AND ` + liveLogs + `
	ORDER BY 3`

func errCursorExpired() error {
	return &hep.Error{Code: hep.CodeFailedPrecondition, Reason: hep.ReasonCursorExpired,
		Message: "the cursor is too old (or not from this server); pull again from the start after pushing the outbox"}
}

// Pull implements hep.Store. It reads in one snapshot (a read-only
// repeatable-read transaction), so the page and the last page's count and
// hash agree, and its audit row is written before anything is returned.
//
// Cursors: one below purged_seq (where PurgeTombstones forgot tombstones
// the phone may not have seen) expires, and so does one ahead of the
// patient's sequence (a server restored from an older backup, say: the
// phone would skip every change numbered at or below it). A pass from the
// start (after 0) must never page through values below purged_seq, or it
// would expire on its second page and a phone could never reset: so it
// first moves the live entries still below purged_seq above it (once after
// each purge; the patient's other phones pull them again, harmlessly).
// PurgeTombstones leaves no tombstone at or below purged_seq.
func (s *Store) Pull(ctx context.Context, patientID string, after int64, limit int) (hep.PullPage, error) {
	if after < 0 {
		return hep.PullPage{}, hep.Errorf(hep.CodeInvalid, "the cursor must not be negative")
	}
	if limit <= 0 {
		limit = hep.DefaultPullPage
	}
	// A pull only reads, in a snapshot: phones pulling never wait behind
	// phones pushing. The one exception is a pull from 0 after a purge that
	// finds live entries below the purge horizon: it moves them up, a
	// write, and runs again in a write transaction under the patient's
	// lock.
	var page hep.PullPage
	var bump bool
	err := s.read(ctx, func(tx *sql.Tx) (err error) {
		page, bump, err = s.pull(ctx, tx, patientID, after, limit, false)
		return err
	})
	if err == nil && !bump {
		err = s.auditRead(ctx, patientID, resSync(patientID))
	} else if err == nil {
		err = s.tx(ctx, func(tx *sql.Tx) (err error) {
			if err := lockPatient(ctx, tx, patientID); err != nil {
				return err
			}
			if page, _, err = s.pull(ctx, tx, patientID, after, limit, true); err != nil {
				return err
			}
			return s.appendAudit(ctx, tx, patientID, resSync(patientID), hep.OutcomeOK)
		})
	}
	if err != nil {
		return hep.PullPage{}, err
	}
	return page, nil
}

// pull reads a page in tx. A pull from 0 with live entries below the purge
// horizon must move them up first: with canBump it does (tx writes, and
// holds the patient's lock), otherwise it returns needBump and nothing
// else.
func (s *Store) pull(ctx context.Context, tx *sql.Tx, patientID string, after int64, limit int, canBump bool) (page hep.PullPage, needBump bool, err error) {
	var changeSeq, purgedSeq int64
	err = tx.QueryRowContext(ctx, "SELECT change_seq, purged_seq FROM patients WHERE id = $1", patientID).Scan(&changeSeq, &purgedSeq)
	if errors.Is(err, sql.ErrNoRows) {
		return page, false, hep.NotFound("patient")
	}
	if err != nil {
		return page, false, err
	}
	if after > 0 && (after < purgedSeq || after > changeSeq) {
		return page, false, errCursorExpired()
	}
	if after == 0 && purgedSeq > 0 {
		below, err := queryEntries(ctx, tx, belowQuery, patientID, purgedSeq)
		if err != nil {
			return page, false, err
		}
		for _, e := range below {
			if e.Deleted { // none by PurgeTombstones; a tombstone never moves
				continue
			}
			if !canBump {
				return page, true, nil
			}
			if changeSeq, err = s.bump(ctx, tx, patientID, e.Kind, e.ID, false); err != nil {
				return page, false, err
			}
		}
	}
	entries, err := queryEntries(ctx, tx, pullQuery, patientID, after, limit+1)
	if err != nil {
		return page, false, err
	}
	if len(entries) > limit {
		entries, page.HasMore = entries[:limit], true
	}
	l := loader{ctx: ctx, tx: tx, patientID: patientID}
	if len(entries) > 0 {
		if err := l.loadLogs(after, entries[len(entries)-1].Seq); err != nil {
			return page, false, err
		}
	}
	for _, e := range entries {
		c, err := l.change(e)
		if err != nil {
			return page, false, err
		}
		page.Changes = append(page.Changes, c)
	}
	if page.HasMore {
		page.Next = entries[len(entries)-1].Seq
	} else {
		// Everything up to change_seq has been seen: entries below it
		// that were not returned have moved on or were purged.
		page.Next = changeSeq
		live, err := queryEntries(ctx, tx, liveEntriesQuery, patientID)
		if err != nil {
			return page, false, err
		}
		page.Count, page.Hash = int64(len(live)), hep.ConvergenceHash(live)
		if page.Due, page.TimeZone, page.Reminders, err = dueList(ctx, tx, patientID, s.now()); err != nil {
			return page, false, err
		}
	}
	return page, false, nil
}

// queryEntries reads sync entries: (kind, id, seq) and, if the query
// selects a fourth column, deleted.
func queryEntries(ctx context.Context, q querier, query string, args ...any) ([]hep.SyncEntry, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	cols, err := rows.Columns()
	if err != nil {
		rows.Close()
		return nil, err
	}
	var out []hep.SyncEntry
	for rows.Next() {
		var e hep.SyncEntry
		var kind string
		dest := []any{&kind, &e.ID, &e.Seq}
		if len(cols) == 4 {
			dest = append(dest, &e.Deleted)
		}
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return nil, err
		}
		e.Kind = hep.RecordKind(kind)
		out = append(out, e)
	}
	return out, closeRows(rows)
}

// loader reads the records a pull page names.
type loader struct {
	ctx       context.Context
	tx        *sql.Tx
	patientID string
	cat       hep.Catalog                // read on first use
	logs      map[string]hep.ExerciseLog // the page's live logs, by id (loadLogs)
}

// pageLogsQuery reads a patient's live logs in a range of the change
// sequence: the logs of a pull page, in one statement on exercise_logs_seq.
const pageLogsQuery = "SELECT " + logColumns + ` FROM exercise_logs
	WHERE patient_id = $1 AND change_seq > $2 AND change_seq <= $3 AND ` + liveLogs

// loadLogs reads the logs of the page of entries numbered after..to at
// once; change falls back to one lookup for any log not read here.
func (l *loader) loadLogs(after, to int64) error {
	rows, err := l.tx.QueryContext(l.ctx, pageLogsQuery, l.patientID, after, to)
	if err != nil {
		return err
	}
	l.logs = map[string]hep.ExerciseLog{}
	for rows.Next() {
		lg, err := scanLog(rows)
		if err != nil {
			rows.Close()
			return err
		}
		l.logs[lg.ID] = lg
	}
	return closeRows(rows)
}

// change returns the change for entry e: a tombstone, or e with its record.
func (l *loader) change(e hep.SyncEntry) (hep.Change, error) {
	c := hep.Change{SyncEntry: e}
	if e.Deleted {
		return c, nil
	}
	missing := func() error { return fmt.Errorf("postgres: sync entry %s of a missing record", e.Kind) }
	switch e.Kind {
	case hep.KindLog:
		if lg, ok := l.logs[e.ID]; ok {
			c.Log = &lg
			return c, nil
		}
		lg, err := scanLog(l.tx.QueryRowContext(l.ctx, logByIDQuery, e.ID, l.patientID))
		if errors.Is(err, sql.ErrNoRows) {
			return c, missing()
		}
		c.Log = &lg
		return c, err
	case hep.KindCheckin:
		ci, err := scanCheckin(l.tx.QueryRowContext(l.ctx, checkinByIDQuery, e.ID, l.patientID))
		if errors.Is(err, sql.ErrNoRows) {
			return c, missing()
		}
		c.Checkin = &ci
		return c, err
	case hep.KindPlan:
		p, err := loadPlan(l.ctx, l.tx, l.patientID, 0)
		c.Plan = &p
		return c, err
	case hep.KindScreening:
		sc, err := loadScreening(l.ctx, l.tx, l.patientID)
		c.Screening = sc
		return c, err
	case hep.KindQuestionnaires:
		q, err := loadQuestionnaires(l.ctx, l.tx, l.patientID)
		c.Questionnaires = q
		return c, err
	case hep.KindResponse:
		r, err := scanResponse(l.tx.QueryRowContext(l.ctx, responseByIDQuery, e.ID, l.patientID))
		if errors.Is(err, sql.ErrNoRows) {
			return c, missing()
		}
		c.Response = &r
		return c, err
	case hep.KindMessage:
		m, err := scanMessage(l.tx.QueryRowContext(l.ctx, messageByIDQuery, e.ID, l.patientID))
		if errors.Is(err, sql.ErrNoRows) {
			return c, missing()
		}
		c.Message = &m
		return c, err
	case hep.KindThread:
		th, err := loadThread(l.ctx, l.tx, l.patientID)
		c.Thread = &th
		return c, err
	case hep.KindCatalog:
		if l.cat == nil {
			cat, err := loadCatalog(l.ctx, l.tx)
			if err != nil {
				return c, err
			}
			l.cat = cat
		}
		ex, ok := l.cat[e.ID]
		if !ok {
			return c, missing()
		}
		c.Exercise = &ex
		return c, nil
	}
	return c, fmt.Errorf("postgres: sync entry of unknown kind %q", e.Kind)
}

// tombstonesQuery finds the tombstones older than the cutoff on
// sync_state_tombstones. (Grouping by patient in SQL would make the
// planner walk the whole table in primary-key order instead.)
const tombstonesQuery = "SELECT patient_id, seq FROM sync_state WHERE deleted = 1 AND change_time < $1"

// purgeQuery forgets a patient's tombstones up to a sequence value, on
// sync_state_seq.
const purgeQuery = "DELETE FROM sync_state WHERE patient_id = $1 AND seq <= $2 AND deleted = 1"

// PurgeTombstones implements hep.Store. The patients' purged_seq moves up
// in the same transaction as the deletion, so no cursor that may have
// missed a forgotten tombstone is ever accepted. Every tombstone up to the
// newest one forgotten goes too (older in sequence, even if a clock stepped
// back made its time newer): none is left at or below purged_seq, which a
// pass from the start relies on (see Pull). Each patient's row is locked
// (in id order) before its purge, like every writer of its sync data.
func (s *Store) PurgeTombstones(ctx context.Context, cutoff time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		n = 0
		rows, err := tx.QueryContext(ctx, tombstonesQuery, ts(cutoff))
		if err != nil {
			return err
		}
		purged := map[string]int64{}
		for rows.Next() {
			var p string
			var seq int64
			if err := rows.Scan(&p, &seq); err != nil {
				rows.Close()
				return err
			}
			purged[p] = max(purged[p], seq)
		}
		if err := closeRows(rows); err != nil {
			return err
		}
		ids := make([]string, 0, len(purged))
		for p := range purged {
			ids = append(ids, p)
		}
		slices.Sort(ids)
		if err := lockPatients(ctx, tx, ids); err != nil {
			return err
		}
		for _, p := range ids {
			seq := purged[p]
			if _, err := tx.ExecContext(ctx, "UPDATE patients SET purged_seq = GREATEST(purged_seq, $1) WHERE id = $2", seq, p); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, purgeQuery, p, seq)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}
