package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// Rejection reasons of Push that the domain's validation cannot know:
// they depend on what is stored. The same words answer an id or record of
// another patient as an unknown one, so a phone learns nothing of others.
const (
	reasonIDReused       = "id already used with different content"
	reasonNoRecord       = "no such record"
	reasonUnknownEntry   = "is not in the catalog"
	reasonTimeUnstored   = "must be within the years 1 to 9999"
	reasonNotLiveLog     = "must name a live log of this patient"
	reasonNotLiveCheckin = "must name a live check-in of this patient"
)

// pushDeviceQuery reads the pushing device's owner, revocation and last
// sequence by primary key, and locks its row (after the patient's).
const pushDeviceQuery = "SELECT patient_id, revoke_time, last_seq FROM devices WHERE id = $1 FOR UPDATE"

// insertResultQuery stores a new mutation's result. Only rejections are
// stored: a mutation at or below the device's last_seq without a row was
// applied (see storedResults).
const insertResultQuery = "INSERT INTO device_mutations (device_id, seq, status, reason, field) VALUES ($1, $2, $3, $4, $5)"

// storedResultsQuery reads a device's stored rejections for a range of
// sequences by primary key.
const storedResultsQuery = `SELECT seq, status, reason, field FROM device_mutations
	WHERE device_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq`

// insertLogNewQuery stores a new log unless one with its id exists
// (which the caller then reads: a replay, or an id reused).
const insertLogNewQuery = insertLogQuery + " ON CONFLICT (id) DO NOTHING"

// changeSeqQuery reads the patient's change sequence, by primary key.
const changeSeqQuery = "SELECT change_seq FROM patients WHERE id = $1"

// setChangeSeqQuery writes the change sequence values a push allocated.
const setChangeSeqQuery = "UPDATE patients SET change_seq = $1 WHERE id = $2"

// Push implements hep.Store. The device's row is read and its last_seq
// written in the same transaction as the mutations' effects and results,
// so a mutation is applied exactly once however often it is replayed, and
// a failure (a gap, or any error while applying) leaves nothing behind.
//
// Replicas: the patient's row is locked (lockPatient) before the device's
// last_seq is read, so two pushes of one patient's phones (a batch replayed
// through another replica, say) run one after the other: the second reads
// the last_seq the first committed and answers its mutations from what is
// stored. The primary keys of the records, of device_mutations and the
// unique change sequence values are the backstop: a write that slipped past
// the lock fails the whole push (and the phone retries), never duplicates.
// Everything fn changes outside the database is rebuilt when the store's
// transaction helper runs it again after a serialization failure.
func (s *Store) Push(ctx context.Context, deviceID string, muts []hep.Mutation) ([]hep.MutationResult, int64, error) {
	actor := hep.ActorFrom(ctx)
	if actor.Role != hep.RolePatient || actor.ID != deviceID || actor.PatientID == "" {
		return nil, 0, hep.NotFound("device")
	}
	for i, m := range muts {
		if m.Seq < 1 || m.Seq != muts[0].Seq+int64(i) {
			return nil, 0, hep.Errorf(hep.CodeInvalid, "mutations must be numbered consecutively from 1")
		}
	}
	var results []hep.MutationResult
	var last int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		results, last = nil, 0
		// The device's owner cannot change, so the lock can be taken on
		// the patient the token names; the device is read (last_seq above
		// all) only once the lock is held.
		if err := lockPatient(ctx, tx, actor.PatientID); err != nil {
			if hep.ErrorCode(err) == hep.CodeNotFound {
				return hep.NotFound("device")
			}
			return err
		}
		var patientID string
		var revoked sql.NullString
		err := tx.QueryRowContext(ctx, pushDeviceQuery, deviceID).Scan(&patientID, &revoked, &last)
		if errors.Is(err, sql.ErrNoRows) || err == nil && (revoked.Valid || patientID != actor.PatientID) {
			return hep.NotFound("device")
		}
		if err != nil {
			return err
		}
		if results, err = storedResults(ctx, tx, deviceID, muts, last); err != nil {
			return err
		}
		fresh := muts[len(results):]
		if len(fresh) > 0 && fresh[0].Seq != last+1 {
			return &hep.Error{Code: hep.CodeFailedPrecondition, Reason: hep.ReasonSequenceGap,
				Message:  fmt.Sprintf("next sequence is %d", last+1),
				Metadata: map[string]string{"last_sequence": strconv.FormatInt(last, 10)}}
		}
		p := &push{s: s, ctx: ctx, tx: tx, patientID: patientID, deviceID: deviceID, now: s.now()}
		for i := 0; i < len(fresh); {
			// A run of plain new logs is stored in a few statements
			// (pushbatch.go); anything else one mutation at a time.
			run, err := p.logRun(fresh[i:])
			if err != nil {
				return err
			}
			var rs []hep.MutationResult
			if len(run) > 0 {
				rs, err = p.storeRun(fresh[i:], run)
			} else {
				var r hep.MutationResult
				r, err = p.apply(fresh[i])
				rs = []hep.MutationResult{r}
			}
			if err != nil {
				return err
			}
			for _, r := range rs {
				if err := p.storeResult(&r); err != nil {
					return err
				}
				results = append(results, r)
			}
			i += len(rs)
			last = fresh[i-1].Seq
		}
		if err := p.flushSeq(); err != nil {
			return err
		}
		if len(fresh) > 0 {
			if _, err := tx.ExecContext(ctx, "UPDATE devices SET last_seq = $1 WHERE id = $2", last, deviceID); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, patientID, resSync(patientID), hep.OutcomeOK)
	})
	if err != nil {
		return nil, 0, err
	}
	return results, last, nil
}

// errNoStoredLog: an insert skipped a log as stored, which is not.
var errNoStoredLog = errors.New("postgres: log insert conflicted with no stored log")

// storeResult stores the result of a new mutation if it is a rejection
// (an applied one is known by the device's last_seq alone).
func (p *push) storeResult(r *hep.MutationResult) error {
	if r.Status != hep.MutationRejected {
		return nil
	}
	if r.Reason == "" {
		r.Reason = "rejected"
	}
	_, err := p.tx.ExecContext(p.ctx, insertResultQuery, p.deviceID, r.Seq, string(r.Status), r.Reason, r.Field)
	return err
}

// storedResults returns, marked Replayed, the results of the mutations
// numbered up to last (a prefix of muts): the stored rejection of each
// that was rejected, APPLIED for every other (only rejections are stored).
func storedResults(ctx context.Context, tx *sql.Tx, deviceID string, muts []hep.Mutation, last int64) ([]hep.MutationResult, error) {
	if len(muts) == 0 || muts[0].Seq > last {
		return nil, nil
	}
	from, to := muts[0].Seq, min(last, muts[len(muts)-1].Seq)
	out := make([]hep.MutationResult, to-from+1)
	for i := range out {
		out[i] = hep.MutationResult{Seq: from + int64(i), Status: hep.MutationApplied, Replayed: true}
	}
	rows, err := tx.QueryContext(ctx, storedResultsQuery, deviceID, from, to)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		r := hep.MutationResult{Replayed: true}
		var status string
		if err := rows.Scan(&r.Seq, &status, &r.Reason, &r.Field); err != nil {
			rows.Close()
			return nil, err
		}
		if r.Seq < from || r.Seq > to {
			rows.Close()
			return nil, fmt.Errorf("postgres: stored result %d outside %d-%d", r.Seq, from, to)
		}
		r.Status = hep.MutationStatus(status)
		out[r.Seq-from] = r
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	return out, nil
}

// push is one Push's work inside its transaction.
type push struct {
	s         *Store
	ctx       context.Context
	tx        *sql.Tx
	patientID string
	deviceID  string
	now       time.Time
	exercises map[string]bool // the catalog's ids, read on first use
	// suspendedItems are the exercises of the current plan's SUSPENDED
	// items, read on first use and again after a re-gate.
	suspendedItems map[string]bool
	// thresholds and loc are the clinic's thresholds and the patient's
	// time zone, read on first use (review.go: the alerts a push raises).
	thresholds *hep.Thresholds
	loc        *time.Location
	// changeSeq is the patient's change sequence as this push allocated
	// it, read on first use (seqRead) and written back by flushSeq:
	// before any code that bumps on its own and before the push ends,
	// still inside its transaction.
	changeSeq int64
	seqRead   bool
	seqDirty  bool
}

// bump is Store.bump with the patient's change sequence allocated in
// memory: one read and one write of patients per push, not one each per
// record. The sequence is the same as bump's.
func (p *push) bump(kind hep.RecordKind, id string, deleted bool) error {
	if err := p.readSeq(); err != nil {
		return err
	}
	p.changeSeq++
	p.seqDirty = true
	return p.s.moveEntry(p.ctx, p.tx, p.patientID, kind, id, p.changeSeq, deleted, p.now)
}

// readSeq reads the patient's change sequence unless it is read.
func (p *push) readSeq() error {
	if p.seqRead {
		return nil
	}
	if err := p.tx.QueryRowContext(p.ctx, changeSeqQuery, p.patientID).Scan(&p.changeSeq); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("postgres: change sequence of a missing patient")
		}
		return err
	}
	p.seqRead = true
	return nil
}

// flushSeq writes the change sequence allocated in memory to the patient
// and forgets it (code that bumps on its own reads it again).
func (p *push) flushSeq() error {
	if p.seqDirty {
		if _, err := p.tx.ExecContext(p.ctx, setChangeSeqQuery, p.changeSeq, p.patientID); err != nil {
			return err
		}
	}
	p.seqRead, p.seqDirty = false, false
	return nil
}

func applied(seq int64) hep.MutationResult {
	return hep.MutationResult{Seq: seq, Status: hep.MutationApplied}
}

func rejected(seq int64, field, reason string) hep.MutationResult {
	return hep.MutationResult{Seq: seq, Status: hep.MutationRejected, Field: field, Reason: reason}
}

// apply validates and applies one new mutation. A mutation that can never
// apply is a REJECTED result, not an error; an error fails the whole push.
func (p *push) apply(m hep.Mutation) (hep.MutationResult, error) {
	if err := hep.ValidateMutation(m, p.now); err != nil {
		return hep.RejectionOf(m.Seq, err), nil
	}
	switch {
	case m.Log != nil:
		return p.log(m.Seq, *m.Log)
	case m.Checkin != nil:
		return p.checkin(m.Seq, *m.Checkin)
	case m.Delete != nil:
		return p.delete(m.Seq, *m.Delete)
	case m.Response != nil:
		return p.response(m.Seq, *m.Response)
	case m.Message != nil:
		return p.message(m.Seq, *m.Message)
	case m.MessagesRead != nil:
		return p.messagesRead(m.Seq, *m.MessagesRead)
	case m.Reminders != nil:
		return p.reminders(m.Seq, *m.Reminders)
	}
	return p.screening(m.Seq, m.Screening)
}

// existing looks for a stored record with the id. done is false if there is
// none; otherwise the result is APPLIED for a replay of the patient's own
// record (which changes nothing, so a deleted record stays deleted) and
// REJECTED for other content or another patient's record.
func (p *push) existing(seq int64, kind hep.RecordKind, field, id, hash string) (r hep.MutationResult, done bool, err error) {
	rec, ok, err := getRecord(p.ctx, p.tx, kind, id)
	if err != nil || !ok {
		return r, false, err
	}
	if rec.patientID != p.patientID || rec.contentHash != hash {
		return rejected(seq, field, reasonIDReused), true, nil
	}
	return applied(seq), true, nil
}

// liveOwn reports whether id is a live record of the patient.
func (p *push) liveOwn(kind hep.RecordKind, id string) (bool, error) {
	rec, ok, err := getRecord(p.ctx, p.tx, kind, id)
	return ok && rec.patientID == p.patientID && rec.live, err
}

// storable reports whether a phone-clock time fits the stored form; the
// domain bounds only the corrected times.
func storable(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 1 && y <= 9999
}

// inCatalog reports whether the catalog has an entry (retired or not).
func (p *push) inCatalog(id string) (bool, error) {
	if p.exercises == nil {
		rows, err := p.tx.QueryContext(p.ctx, "SELECT id FROM exercises")
		if err != nil {
			return false, err
		}
		p.exercises = map[string]bool{}
		for rows.Next() {
			var x string
			if err := rows.Scan(&x); err != nil {
				rows.Close()
				return false, err
			}
			p.exercises[x] = true
		}
		if err := closeRows(rows); err != nil {
			return false, err
		}
	}
	return p.exercises[id], nil
}

// suspendedQuery reads the exercises the patient's current plan holds as
// SUSPENDED items, on the primary keys of plans and plan_items.
const suspendedQuery = `SELECT exercise_id FROM plan_items WHERE patient_id = $1 AND state = 'SUSPENDED'
	AND version = (SELECT COALESCE(MAX(version), 0) FROM plans WHERE patient_id = $1)`

// suspended reports whether the current plan holds the exercise as a
// SUSPENDED item.
func (p *push) suspended(exerciseID string) (bool, error) {
	if p.suspendedItems == nil {
		rows, err := p.tx.QueryContext(p.ctx, suspendedQuery, p.patientID)
		if err != nil {
			return false, err
		}
		p.suspendedItems = map[string]bool{}
		for rows.Next() {
			var x string
			if err := rows.Scan(&x); err != nil {
				rows.Close()
				return false, err
			}
			p.suspendedItems[x] = true
		}
		if err := closeRows(rows); err != nil {
			return false, err
		}
	}
	return p.suspendedItems[exerciseID], nil
}

// supersede ends the record a new one replaces and makes it a tombstone.
func (p *push) supersede(kind hep.RecordKind, old, by string) error {
	if err := endRecord(p.ctx, p.tx, kind, old, by, p.now); err != nil {
		return err
	}
	return p.bump(kind, old, true)
}

func (p *push) log(seq int64, l hep.ExerciseLog) (hep.MutationResult, error) {
	l.PatientID, l.DeviceID, l.ReceiveTime, l.ItemSuspended = p.patientID, p.deviceID, p.now, false
	hash := l.ContentHash()
	if l.Supersedes == "" && storable(l.PerformTime) {
		// The common case, a new log that passes the checks below (made
		// in memory): insert it unless its id exists, and only then read
		// the stored one. The result is the same as in the order below.
		ok, err := p.inCatalog(l.ExerciseID)
		if err != nil {
			return hep.MutationResult{}, err
		}
		if ok {
			return p.newLog(seq, l, hash)
		}
	}
	if r, done, err := p.existing(seq, hep.KindLog, "log.id", l.ID, hash); done || err != nil {
		return r, err
	}
	if !storable(l.PerformTime) {
		return rejected(seq, "log.perform_time", reasonTimeUnstored), nil
	}
	if ok, err := p.inCatalog(l.ExerciseID); err != nil || !ok {
		return rejected(seq, "log.exercise_id", reasonUnknownEntry), err
	}
	if l.Supersedes != "" {
		if ok, err := p.liveOwn(hep.KindLog, l.Supersedes); err != nil || !ok {
			return rejected(seq, "log.supersedes", reasonNotLiveLog), err
		}
	}
	return p.newLog(seq, l, hash)
}

// newLog stores a log that passed the checks, unless its id is stored
// already: then the result is existing's.
func (p *push) newLog(seq int64, l hep.ExerciseLog, hash string) (hep.MutationResult, error) {
	var err error
	if l.ItemSuspended, err = p.suspended(l.ExerciseID); err != nil {
		return hep.MutationResult{}, err
	}
	// A live log's place in the change sequence is in its own row: the
	// next value, taken only if the log is inserted.
	if err := p.readSeq(); err != nil {
		return hep.MutationResult{}, err
	}
	inserted, err := insertNewLog(p.ctx, p.tx, l, hash, p.changeSeq+1)
	if err != nil {
		return hep.MutationResult{}, err
	}
	if !inserted {
		r, done, err := p.existing(seq, hep.KindLog, "log.id", l.ID, hash)
		if err == nil && !done {
			err = errNoStoredLog
		}
		return r, err
	}
	p.changeSeq++
	p.seqDirty = true
	if l.Supersedes != "" {
		if err := p.supersede(hep.KindLog, l.Supersedes, l.ID); err != nil {
			return hep.MutationResult{}, err
		}
	}
	// Kept, never dropped; a log of a suspended item is an occurrence of
	// LOGGED_WHILE_SUSPENDED, coalesced per exercise (logAlerts).
	if err := p.logAlerts(l); err != nil {
		return hep.MutationResult{}, err
	}
	return applied(seq), nil
}

func (p *push) checkin(seq int64, c hep.PainCheckin) (hep.MutationResult, error) {
	c.PatientID, c.DeviceID, c.ReceiveTime = p.patientID, p.deviceID, p.now
	if r, done, err := p.existing(seq, hep.KindCheckin, "checkin.id", c.ID, c.ContentHash()); done || err != nil {
		return r, err
	}
	if !storable(c.RecordTime) {
		return rejected(seq, "checkin.record_time", reasonTimeUnstored), nil
	}
	if c.Supersedes != "" {
		if ok, err := p.liveOwn(hep.KindCheckin, c.Supersedes); err != nil || !ok {
			return rejected(seq, "checkin.supersedes", reasonNotLiveCheckin), err
		}
	}
	if err := insertCheckin(p.ctx, p.tx, c); err != nil {
		return hep.MutationResult{}, err
	}
	if err := p.bump(hep.KindCheckin, c.ID, false); err != nil {
		return hep.MutationResult{}, err
	}
	if c.Supersedes != "" {
		if err := p.supersede(hep.KindCheckin, c.Supersedes, c.ID); err != nil {
			return hep.MutationResult{}, err
		}
	}
	if len(c.RedFlags) > 0 {
		if err := p.flushSeq(); err != nil { // reportRedFlags bumps the plan
			return hep.MutationResult{}, err
		}
		if _, err := p.s.reportRedFlags(p.ctx, p.tx, p.patientID, c.RedFlags, c.Note); err != nil {
			return hep.MutationResult{}, err
		}
		p.suspendedItems = nil // re-gated under the hold
	}
	if err := p.checkinAlerts(c); err != nil {
		return hep.MutationResult{}, err
	}
	return applied(seq), nil
}

func (p *push) delete(seq int64, d hep.DeleteRecord) (hep.MutationResult, error) {
	rec, ok, err := getRecord(p.ctx, p.tx, d.Kind, d.ID)
	if err != nil {
		return hep.MutationResult{}, err
	}
	if !ok || rec.patientID != p.patientID {
		return rejected(seq, "delete.id", reasonNoRecord), nil
	}
	if !rec.live { // deleted or superseded already: the phone has the tombstone
		return applied(seq), nil
	}
	if err := endRecord(p.ctx, p.tx, d.Kind, d.ID, "", p.now); err != nil {
		return hep.MutationResult{}, err
	}
	if err := p.bump(d.Kind, d.ID, true); err != nil {
		return hep.MutationResult{}, err
	}
	return applied(seq), nil
}

func (p *push) screening(seq int64, answers []hep.ScreeningInput) (hep.MutationResult, error) {
	if err := p.flushSeq(); err != nil { // recordScreening bumps on its own
		return hep.MutationResult{}, err
	}
	if _, _, err := p.s.recordScreening(p.ctx, p.tx, p.patientID, answers); err != nil {
		return hep.MutationResult{}, err
	}
	p.suspendedItems = nil // re-gated
	return applied(seq), nil
}
