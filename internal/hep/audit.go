package hep

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// Outcome of an audited call: OutcomeOK, or the Code of the failure.
const OutcomeOK = "OK"

// AuditEvent is one row of the append-only, hash-chained audit trail.
type AuditEvent struct {
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

// AuditFilter selects audit events with Start <= Time < End, in chain order.
type AuditFilter struct {
	Start, End time.Time
	PatientID  string
	AfterSeq   int64
	Limit      int
}

// AuditVerification is the result of walking the chain.
type AuditVerification struct {
	Events    int64 // events checked
	BrokenSeq int64 // first event whose hash or link does not verify; 0 if none
	Problem   string
}
