package hep

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// Outcome of an audited call: OutcomeOK, or the Code of the failure.
const OutcomeOK = "OK"

// The audit trail is one or more hash chains. Each event belongs to one
// chain and has a place (Seq, from 1, without gaps) in it. A store decides
// which chains it keeps and which chain an event goes to; what every store
// shares is the hashing (ChainHash, ChainGenesis), the verification
// (VerifyAudit) and the signed checkpoints of the chains' heads.

// Chains of the SQLite store: ChainMain holds the rows written in the same
// transaction as the change they record; ChainReads holds the rows of calls
// that changed nothing (reads, and refused or failed calls), written by a
// writer of their own so that a read never waits for a data write.
const (
	ChainMain  = "main"
	ChainReads = "reads"
)

// ChainGenesis is the PrevHash of a chain's first event. ChainMain's is ""
// (it was hep's only chain before chains had names, and its stored hashes
// stay valid); any other chain's first event is bound to the chain's name,
// so a chain's events cannot pass for another chain's.
func ChainGenesis(chain string) string {
	if chain == ChainMain || chain == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("hep audit chain\x00" + chain))
	return hex.EncodeToString(sum[:])
}

// AuditEvent is one row of the append-only, hash-chained audit trail.
type AuditEvent struct {
	Chain     string // the chain the event belongs to (ChainMain, ChainReads, ...)
	Seq       int64
	Time      time.Time
	ActorID   string
	ActorRole Role
	PatientID string
	Action    string
	Resource  string
	Outcome   string
	RequestID string
	Peer      string
	PrevHash  string // hex; "" for the first event
	Hash      string // hex
}

// ChainHash computes the hash of e chained to prevHash. Every field that the
// event records is covered, each length-prefixed so that no two different
// events can serialize alike. Every store must use this function.
func ChainHash(prevHash string, e AuditEvent) string {
	h := sha256.New()
	var n [8]byte
	put := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	binary.BigEndian.PutUint64(n[:], uint64(e.Seq))
	h.Write(n[:])
	put(prevHash)
	put(e.Time.UTC().Format(time.RFC3339Nano))
	put(e.ActorID)
	put(string(e.ActorRole))
	put(e.PatientID)
	put(e.Action)
	put(e.Resource)
	put(e.Outcome)
	put(e.RequestID)
	put(e.Peer)
	return hex.EncodeToString(h.Sum(nil))
}

// NewAuditEvent fills an event from the actor in the context.
func NewAuditEvent(a Actor, now time.Time, patientID, resource, outcome string) AuditEvent {
	return AuditEvent{
		Time: now.UTC(), ActorID: a.ID, ActorRole: a.Role, PatientID: patientID,
		Action: a.Action, Resource: resource, Outcome: outcome,
		RequestID: a.RequestID, Peer: a.Peer,
	}
}

// AuditCursor is a place in the trail's listing order: events are listed
// by time, then chain, then sequence (a total order, whatever the clock
// did). The zero cursor is before every event.
type AuditCursor struct {
	Time  time.Time
	Chain string
	Seq   int64
}

// IsZero reports whether c is the zero cursor.
func (c AuditCursor) IsZero() bool { return c.Time.IsZero() && c.Chain == "" && c.Seq == 0 }

// Covers reports whether e is listed at the cursor position c or before
// it, so that a page after c leaves it out.
func (c AuditCursor) Covers(e AuditEvent) bool {
	if c.IsZero() {
		return false
	}
	switch {
	case !e.Time.Equal(c.Time):
		return e.Time.Before(c.Time)
	case e.Chain != c.Chain:
		return e.Chain < c.Chain
	}
	return e.Seq <= c.Seq
}

// CursorOf is the cursor just at e: the next page starts after it.
func CursorOf(e AuditEvent) AuditCursor { return AuditCursor{Time: e.Time, Chain: e.Chain, Seq: e.Seq} }

// AuditFilter selects audit events with Start <= Time < End, of every
// chain, in listing order (AuditCursor), after After.
type AuditFilter struct {
	Start, End time.Time
	PatientID  string
	After      AuditCursor
	Limit      int
}

// LessAudit orders events for listing: time, chain, sequence.
func LessAudit(a, b AuditEvent) bool {
	switch {
	case !a.Time.Equal(b.Time):
		return a.Time.Before(b.Time)
	case a.Chain != b.Chain:
		return a.Chain < b.Chain
	}
	return a.Seq < b.Seq
}

// AuditHead is the newest event of a chain: its sequence (the chain's
// length) and hash. An empty chain has Seq 0 and Hash "".
type AuditHead struct {
	Chain string
	Seq   int64
	Hash  string
}
