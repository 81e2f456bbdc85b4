package hep

import (
	"context"
	"errors"
	"fmt"
	"sort"
)

// AuditReader is what VerifyAudit reads: every store is one.
type AuditReader interface {
	// AuditHeads returns the store's audit origin (a random id made once
	// per database, which checkpoints name) and the head of every chain it
	// keeps, in chain order.
	AuditHeads(ctx context.Context) (origin string, heads []AuditHead, err error)
	// ScanAudit calls fn for each event of the chain with Seq > after, in
	// sequence order, from one snapshot; an error from fn stops the scan
	// and is returned.
	ScanAudit(ctx context.Context, chain string, after int64, fn func(AuditEvent) error) error
}

// AuditVerification is the result of VerifyAudit.
type AuditVerification struct {
	Origin      string
	Events      int64       // events checked, in every chain
	Heads       []AuditHead // every chain as found, in chain order
	Checkpoints int         // checkpoints checked against

	// Problem is "" when every chain verified and agreed with every
	// checkpoint. Otherwise BrokenChain and BrokenSeq name the first event
	// of that chain provably bad: altered, out of its chain, missing, or
	// not the event a checkpoint vouches for. VouchedUpTo is the highest
	// position of that chain a checkpoint vouches for and the database
	// still matches (0 if none): events up to it are authentic; after it,
	// a rewrite may have begun anywhere before BrokenSeq (a chain rewritten
	// and rehashed from some event on is consistent in itself, and only the
	// next checkpoint position shows it).
	BrokenChain string
	BrokenSeq   int64
	VouchedUpTo int64
	Problem     string
}

// OK reports whether the trail verified.
func (v AuditVerification) OK() bool { return v.Problem == "" }

// errStopScan ends a ScanAudit early.
var errStopScan = errors.New("stop")

// VerifyAudit walks every chain of the trail and checks, for each event,
// that its sequence follows on, that PrevHash is the previous event's hash
// (ChainGenesis for the first) and that Hash is ChainHash of the event as
// stored; then that each checkpoint's heads are on the chains: the chain is
// at least as long as the checkpoint says and has the checkpoint's hash at
// that position. A chain alone cannot show that its newest events were cut
// off; a checkpoint kept out of reach of the database's owner can.
//
// Checkpoints must already be verified (ParseCheckpoints) and be of this
// store's origin: one of another origin is a problem, not something to
// skip silently. It stops at the first problem.
func VerifyAudit(ctx context.Context, r AuditReader, cps []Checkpoint) (AuditVerification, error) {
	origin, heads, err := r.AuditHeads(ctx)
	if err != nil {
		return AuditVerification{}, err
	}
	res := AuditVerification{Origin: origin, Checkpoints: len(cps)}
	for i, cp := range cps {
		if cp.Origin != origin {
			res.Problem = fmt.Sprintf("checkpoint %d (%s) is of another audit trail (origin %s; this database's is %s): "+
				"the trail was replaced, or the checkpoint belongs elsewhere", i+1, cp.Time.Format(timeLayout), cp.Origin, origin)
			return res, nil
		}
	}

	// What the checkpoints vouch for, per chain and position.
	type vouch struct {
		hash string
		cp   int
	}
	want := map[string]map[int64][]vouch{}
	chains := map[string]bool{}
	for _, h := range heads {
		chains[h.Chain] = true
	}
	for i, cp := range cps {
		for _, h := range cp.Heads {
			chains[h.Chain] = true
			if want[h.Chain] == nil {
				want[h.Chain] = map[int64][]vouch{}
			}
			want[h.Chain][h.Seq] = append(want[h.Chain][h.Seq], vouch{h.Hash, i})
		}
	}
	names := make([]string, 0, len(chains))
	for c := range chains {
		names = append(names, c)
	}
	sort.Strings(names)

	for _, chain := range names {
		prevSeq, prevHash := int64(0), ChainGenesis(chain)
		matched := int64(0) // the highest position a checkpoint vouched for and the chain has
		broken := func(seq int64, problem string) {
			res.BrokenChain, res.BrokenSeq, res.VouchedUpTo, res.Problem = chain, seq, matched, problem
		}
		err := r.ScanAudit(ctx, chain, 0, func(e AuditEvent) error {
			res.Events++
			if p := CheckLink(e, prevSeq, prevHash); p != "" {
				broken(prevSeq+1, p)
				return errStopScan
			}
			for _, w := range want[chain][e.Seq] {
				if w.hash != e.Hash {
					cp := cps[w.cp]
					broken(e.Seq, fmt.Sprintf(
						"event %d is not the one checkpoint %d (%s) vouches for (hash %s there, %s here): "+
							"the chain was rewritten after event %d, the last a checkpoint still vouches for",
						e.Seq, w.cp+1, cp.Time.Format(timeLayout), short(w.hash), short(e.Hash), matched))
					return errStopScan
				}
				matched = e.Seq
			}
			prevSeq, prevHash = e.Seq, e.Hash
			return nil
		})
		if err != nil && !errors.Is(err, errStopScan) {
			return AuditVerification{}, err
		}
		if !res.OK() {
			return res, nil
		}
		// The longest checkpoint of this chain must not reach past its end.
		var far int64
		farCP := -1
		for seq, ws := range want[chain] {
			if seq > far {
				far, farCP = seq, ws[0].cp
			}
		}
		if far > prevSeq {
			cp := cps[farCP]
			broken(prevSeq+1, fmt.Sprintf(
				"the chain ends at event %d but checkpoint %d (%s) vouches for %d events: "+
					"events %d to %d are missing (the tail was cut off, or the database rolled back)%s",
				prevSeq, farCP+1, cp.Time.Format(timeLayout), far, prevSeq+1, far, vouchedNote(matched, prevSeq)))
			return res, nil
		}
		res.Heads = append(res.Heads, AuditHead{Chain: chain, Seq: prevSeq, Hash: prevHash})
	}
	// Heads the store reported that are not what the scan found would be a
	// store bug or a write between the two reads; only the scan counts.
	return res, nil
}

// CheckLink says what is wrong with e as the successor of the event
// (prevSeq, prevHash) of its chain, or "" if nothing is.
func CheckLink(e AuditEvent, prevSeq int64, prevHash string) string {
	switch {
	case e.Seq != prevSeq+1:
		if e.Seq > prevSeq+1 {
			return fmt.Sprintf("sequence gap: expected %d, found %d (events %d to %d missing)", prevSeq+1, e.Seq, prevSeq+1, e.Seq-1)
		}
		return fmt.Sprintf("sequence out of order: expected %d, found %d", prevSeq+1, e.Seq)
	case e.PrevHash != prevHash:
		return fmt.Sprintf("event %d: prev_hash does not match the previous event's hash (an event before it was removed or replaced)", e.Seq)
	case e.Hash != ChainHash(e.PrevHash, e):
		return fmt.Sprintf("event %d: hash does not match the event's contents (event altered)", e.Seq)
	}
	return ""
}

// vouchedNote says, after a cut tail, how much of the rest is vouched for.
func vouchedNote(matched, last int64) string {
	if matched >= last {
		return ""
	}
	return fmt.Sprintf("; events after %d, the last a checkpoint still vouches for, may also have been rewritten", matched)
}

// short abbreviates a hex hash for messages.
func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	if h == "" {
		return "(none)"
	}
	return h
}
