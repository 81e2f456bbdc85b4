package postgres

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/telemetry"
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

// appendAudit writes the audit row of an audited write inside its
// transaction, for the actor in ctx, in the main chain. A failure fails the
// call: the caller returns the error and tx rolls everything back.
func (s *Store) appendAudit(ctx context.Context, tx *sql.Tx, patientID, resource, outcome string) error {
	return s.appendEvent(ctx, tx, hep.NewAuditEvent(hep.ActorFrom(ctx), s.now(), patientID, resource, outcome))
}

// auditRead makes the audit row of a read (made with read) durable in the
// reads chain before the read returns anything.
func (s *Store) auditRead(ctx context.Context, patientID, resource string) error {
	return s.appendRead(ctx, hep.NewAuditEvent(hep.ActorFrom(ctx), time.Time{}, patientID, resource, hep.OutcomeOK))
}

// appendRead hands e to the reads chain's writer and waits until it is
// durable, observed as one "audit" transaction: the wait for the group
// commit shows as its run time.
func (s *Store) appendRead(ctx context.Context, e hep.AuditEvent) error {
	obs := s.tel.BeginTx(ctx, engine, telemetry.Audit)
	obs.Acquired()
	err := s.reads.append(ctx, e)
	obs.AuditRow(err)
	obs.End(err == nil, mapErr(err))
	return err
}

// view is one audited read: fn in one read snapshot, then its audit row
// in the reads chain. Neither waits for data writes (or their chain lock).
func (s *Store) view(ctx context.Context, patientID, resource string, fn func(*sql.Tx) error) error {
	if err := s.read(ctx, fn); err != nil {
		return err
	}
	return s.auditRead(ctx, patientID, resource)
}

// auditTable is the table of a chain: the main chain is audit_events (as in
// the SQLite store's main file), the reads chain audit_reads (the SQLite
// reads file's audit_events).
func auditTable(chain string) (string, bool) {
	switch chain {
	case hep.ChainMain:
		return "audit_events", true
	case hep.ChainReads:
		return "audit_reads", true
	}
	return "", false
}

// lockChainQuery takes a chain's lock: its row of audit_chains, held to
// the end of the transaction. Whoever holds it is the only one appending
// to the chain, so the last event read after taking it (a new statement,
// so a new READ COMMITTED snapshot that sees every append committed
// before) is the chain's head, and chain order is commit order.
const lockChainQuery = "SELECT chain FROM audit_chains WHERE chain = $1 FOR UPDATE"

// lastAuditQuery reads the last link of the main chain; lastReadQuery of
// the reads chain.
const (
	lastAuditQuery = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
	lastReadQuery  = "SELECT seq, hash FROM audit_reads ORDER BY seq DESC LIMIT 1"
)

const auditInsertColumns = `(seq, time, actor_id, actor_role, patient_id, action, resource, outcome, request_id, peer, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`

const (
	insertAuditQuery = "INSERT INTO audit_events " + auditInsertColumns
	insertReadQuery  = "INSERT INTO audit_reads " + auditInsertColumns
)

// auditArgs are insertAuditQuery's arguments for e.
func auditArgs(e hep.AuditEvent) []any {
	return []any{e.Seq, ts(e.Time), e.ActorID, string(e.ActorRole), e.PatientID, e.Action, e.Resource, e.Outcome,
		e.RequestID, e.Peer, e.PrevHash, e.Hash}
}

// lockChain takes chain's lock in tx and returns its head: the last
// event's sequence and hash, or 0 and the chain's genesis.
func lockChain(ctx context.Context, tx *sql.Tx, chain string) (int64, string, error) {
	var got string
	if err := tx.QueryRowContext(ctx, lockChainQuery, chain).Scan(&got); err != nil {
		return 0, "", fmt.Errorf("postgres: locking the %s audit chain: %w", chain, err)
	}
	return chainHead(ctx, tx, chain)
}

// appendEvent chains e to the last event of the main chain and inserts it.
// Seq, Time, PrevHash and Hash are the store's to assign. It takes the
// chain's lock, which every caller does last (the audit row is the last
// write of a store method), so the lock is held only for the commit.
func (s *Store) appendEvent(ctx context.Context, tx *sql.Tx, e hep.AuditEvent) error {
	last, prev, err := lockChain(ctx, tx, hep.ChainMain)
	if err != nil {
		observed(tx).AuditRow(err)
		return err
	}
	e.Chain = hep.ChainMain
	e.Seq = last + 1
	e.PrevHash = prev
	e.Time = s.now()
	e.Hash = hep.ChainHash(prev, e)
	st, err := s.prepared(ctx, tx, insertAuditQuery)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, auditArgs(e)...)
	observed(tx).AuditRow(err)
	return err
}

// AppendAudit implements hep.Store: the record of a failed or refused call
// changed nothing, so it goes to the reads chain and waits for no write.
func (s *Store) AppendAudit(ctx context.Context, e hep.AuditEvent) error {
	if e.Outcome == "" {
		return hep.Errorf(hep.CodeInvalid, "audit event needs an outcome")
	}
	return s.appendRead(ctx, e)
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

// chains are the store's chains, in chain order.
var chains = []string{hep.ChainMain, hep.ChainReads}

// listChain reads one chain's part of a ListAuditEvents page: its events
// in the filter after the cursor, in listing order, at most limit.
func listChain(ctx context.Context, q querier, chain string, f hep.AuditFilter) ([]hep.AuditEvent, error) {
	table, _ := auditTable(chain)
	var a args
	query := "SELECT " + auditColumns + " FROM " + table + " WHERE time >= " + a.add(ts(f.Start)) + " AND time < " + a.add(ts(f.End))
	if c := f.After; !c.IsZero() {
		// After (time, chain, seq) = c, in this chain: a later chain's
		// events at c.Time come after c, an earlier chain's do not.
		switch {
		case chain > c.Chain:
			query += " AND time >= " + a.add(ts(c.Time))
		case chain < c.Chain:
			query += " AND time > " + a.add(ts(c.Time))
		default:
			t := a.add(ts(c.Time))
			query += " AND (time > " + t + " OR (time = " + t + " AND seq > " + a.add(c.Seq) + "))"
		}
	}
	if f.PatientID != "" {
		query += " AND patient_id = " + a.add(f.PatientID)
	}
	query += " ORDER BY time, seq LIMIT " + a.add(limit(f.Limit))
	out, err := queryAll(ctx, q, scanAudit, query, a...)
	for i := range out {
		out[i].Chain = chain
	}
	return out, err
}

// ListAuditEvents implements hep.Store: each chain's page, read in one
// snapshot, merged in listing order. The read of the trail is recorded
// after the page is read, so the page never holds its own row.
func (s *Store) ListAuditEvents(ctx context.Context, f hep.AuditFilter) ([]hep.AuditEvent, error) {
	var out []hep.AuditEvent
	err := s.read(ctx, func(tx *sql.Tx) error {
		out = nil
		for _, chain := range chains {
			got, err := listChain(ctx, tx, chain, f)
			if err != nil {
				return err
			}
			out = append(out, got...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return hep.LessAudit(out[i], out[j]) })
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	if err := s.auditRead(ctx, f.PatientID, resAuditEvents); err != nil {
		return nil, err
	}
	return out, nil
}

// auditOriginSecret names the store secret the audit origin is made from.
const auditOriginSecret = "audit-origin"

// AuditHeads implements hep.AuditReader. The origin is the first 16 bytes
// of a random value made once in the database (it names the trail in
// checkpoints; it is not secret, it only lives with the secrets).
func (s *Store) AuditHeads(ctx context.Context) (string, []hep.AuditHead, error) {
	o, err := s.Secret(ctx, auditOriginSecret)
	if err != nil {
		return "", nil, err
	}
	var heads []hep.AuditHead
	for _, chain := range chains {
		seq, hash, err := chainHead(ctx, s.r, chain)
		if err != nil {
			return "", nil, mapErr(err)
		}
		if seq == 0 {
			hash = ""
		}
		heads = append(heads, hep.AuditHead{Chain: chain, Seq: seq, Hash: hash})
	}
	return hex.EncodeToString(o[:16]), heads, nil
}

// ScanAudit implements hep.AuditReader: one statement, which is one
// snapshot. An unknown chain has no events.
func (s *Store) ScanAudit(ctx context.Context, chain string, after int64, fn func(hep.AuditEvent) error) error {
	table, ok := auditTable(chain)
	if !ok {
		return nil
	}
	rows, err := s.r.QueryContext(ctx, "SELECT "+auditColumns+" FROM "+table+" WHERE seq > $1 ORDER BY seq", after)
	if err != nil {
		return mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanAudit(rows)
		e.Chain = chain
		if err != nil {
			// A row that does not even scan (a time in another format,
			// say) was not written by a store: hand it on as it is, so
			// that its hash fails to verify, with the reason.
			var raw hep.AuditEvent
			if serr := rows.Scan(&raw.Seq, new(any), new(any), new(any), new(any), new(any), new(any), new(any), new(any), new(any), &raw.PrevHash, &raw.Hash); serr != nil {
				return fmt.Errorf("postgres: audit %s event unreadable: %w", chain, err)
			}
			raw.Chain, raw.Action = chain, "unreadable: "+err.Error()
			e = raw
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return closeRows(rows)
}

// args collects the arguments of a query built piece by piece; add
// appends one and returns its placeholder ($n).
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}
