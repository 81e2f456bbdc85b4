package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/hepclinic/hep/internal/hep"
)

// Audit resources name what a call touched, by id only. Every store writes
// the same strings, so the trail reads alike whatever the engine.
const (
	resAccounts    = "accounts"
	resPatients    = "patients"
	resAuditEvents = "audit_events"
)

func resAccount(id string) string { return "accounts/" + id }
func resSession(id string) string { return "sessions/" + id }
func resPatient(id string) string { return "patients/" + id }
func resDevices(patientID string) string {
	return "patients/" + patientID + "/devices"
}
func resDevice(patientID, deviceID string) string {
	return "patients/" + patientID + "/devices/" + deviceID
}
func resEnrollmentCodes(patientID string) string {
	return "patients/" + patientID + "/enrollment_codes"
}
func resCareTeam(patientID string) string {
	return "patients/" + patientID + "/care_team"
}
func resCareTeamMember(patientID, clinicianID string) string {
	return "patients/" + patientID + "/care_team/" + clinicianID
}

// appendAudit writes the audit row of an audited call inside its
// transaction, for the actor in ctx. A failure fails the call: the caller
// returns the error and tx rolls everything back.
func (s *Store) appendAudit(ctx context.Context, tx *sql.Tx, patientID, resource, outcome string) error {
	return s.appendEvent(ctx, tx, hep.NewAuditEvent(hep.ActorFrom(ctx), s.now(), patientID, resource, outcome))
}

// lastAuditQuery reads the last link of the audit chain.
const lastAuditQuery = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"

const insertAuditQuery = `INSERT INTO audit_events
		(seq, time, actor_id, actor_role, patient_id, action, resource, outcome, request_id, peer, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// appendEvent chains e to the last event and inserts it. Seq, Time,
// PrevHash and Hash are the store's to assign. The writer's BEGIN IMMEDIATE
// lock means nobody else can append between the read and the insert.
func (s *Store) appendEvent(ctx context.Context, tx *sql.Tx, e hep.AuditEvent) error {
	var last int64
	var prev string
	st, err := s.prepared(ctx, tx, lastAuditQuery)
	if err != nil {
		return err
	}
	err = st.QueryRowContext(ctx).Scan(&last, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		observed(tx).AuditRow(err)
		return err
	}
	e.Seq = last + 1
	e.PrevHash = prev
	e.Time = s.now()
	e.Hash = hep.ChainHash(prev, e)
	if st, err = s.prepared(ctx, tx, insertAuditQuery); err != nil {
		return err
	}
	_, err = st.ExecContext(ctx,
		e.Seq, ts(e.Time), e.ActorID, string(e.ActorRole), e.PatientID, e.Action, e.Resource, e.Outcome,
		e.RequestID, e.Peer, e.PrevHash, e.Hash)
	observed(tx).AuditRow(err)
	return err
}

// AppendAudit implements hep.Store.
func (s *Store) AppendAudit(ctx context.Context, e hep.AuditEvent) error {
	if e.Outcome == "" {
		return hep.Errorf(hep.CodeInvalid, "audit event needs an outcome")
	}
	return s.tx(ctx, func(tx *sql.Tx) error { return s.appendEvent(ctx, tx, e) })
}

const auditColumns = "seq, time, actor_id, actor_role, patient_id, action, resource, outcome, request_id, peer, prev_hash, hash"

func scanAudit(sc interface{ Scan(...any) error }) (hep.AuditEvent, error) {
	var e hep.AuditEvent
	var role string
	err := sc.Scan(&e.Seq, tcol(&e.Time), &e.ActorID, &role, &e.PatientID, &e.Action, &e.Resource,
		&e.Outcome, &e.RequestID, &e.Peer, &e.PrevHash, &e.Hash)
	e.ActorRole = hep.Role(role)
	return e, err
}

// ListAuditEvents implements hep.Store. The page is read first and the
// read of the trail is recorded after, in the same transaction, so the page
// never contains its own audit row.
func (s *Store) ListAuditEvents(ctx context.Context, f hep.AuditFilter) ([]hep.AuditEvent, error) {
	q := "SELECT " + auditColumns + " FROM audit_events WHERE time >= ? AND time < ? AND seq > ?"
	args := []any{ts(f.Start), ts(f.End), f.AfterSeq}
	if f.PatientID != "" {
		q += " AND patient_id = ?"
		args = append(args, f.PatientID)
	}
	q += " ORDER BY seq LIMIT ?"
	args = append(args, limit(f.Limit))
	var out []hep.AuditEvent
	err := s.tx(ctx, func(tx *sql.Tx) error {
		got, err := queryAll(ctx, tx, scanAudit, q, args...)
		if err != nil {
			return err
		}
		out = append(out, got...)
		return s.appendAudit(ctx, tx, f.PatientID, resAuditEvents, hep.OutcomeOK)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// VerifyAudit implements hep.Store. It streams the trail in seq order on a
// reader (one statement is one consistent snapshot in WAL mode) and checks,
// for each event, that seq follows on, that prev_hash is the previous hash
// and that hash is hep.ChainHash of the event as stored.
func (s *Store) VerifyAudit(ctx context.Context) (hep.AuditVerification, error) {
	var res hep.AuditVerification
	rows, err := s.r.QueryContext(ctx, "SELECT "+auditColumns+" FROM audit_events ORDER BY seq")
	if err != nil {
		return res, mapErr(err)
	}
	prevSeq, prevHash := int64(0), ""
	for rows.Next() {
		e, err := scanAudit(rows)
		res.Events++
		if err != nil {
			// A row that does not even scan (a time in another format,
			// say) was not written by a store: that is tampering too.
			var seq int64
			if e.Seq != 0 {
				seq = e.Seq
			} else {
				seq = prevSeq + 1
			}
			res.BrokenSeq, res.Problem = seq, fmt.Sprintf("event does not parse: %v", err)
			break
		}
		if problem := checkLink(e, prevSeq, prevHash); problem != "" {
			res.BrokenSeq, res.Problem = e.Seq, problem
			break
		}
		prevSeq, prevHash = e.Seq, e.Hash
	}
	if err := closeRows(rows); err != nil {
		return hep.AuditVerification{}, err
	}
	return res, nil
}

// checkLink says what is wrong with e as the successor of the event
// (prevSeq, prevHash), or "" if nothing is.
func checkLink(e hep.AuditEvent, prevSeq int64, prevHash string) string {
	switch {
	case e.Seq != prevSeq+1:
		return fmt.Sprintf("sequence gap: expected %d, found %d (events missing)", prevSeq+1, e.Seq)
	case e.PrevHash != prevHash:
		return "prev_hash does not match the previous event's hash"
	case e.Hash != hep.ChainHash(e.PrevHash, e):
		return "hash does not match the event's contents (event altered)"
	}
	return ""
}

// limit turns a page size into a SQL LIMIT: non-positive means no limit
// (the transport always sets one).
func limit(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}
