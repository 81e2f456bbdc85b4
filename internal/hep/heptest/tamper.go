package heptest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// Tamperer does to a store's audit trail what someone with write access
// to its database can: it goes around the store and around the database's
// own append-only protections (triggers, grants).
type Tamperer interface {
	// DeleteAuditEvents removes the events from..to (inclusive) of chain.
	DeleteAuditEvents(ctx context.Context, chain string, from, to int64) error
	// PutAuditEvent stores e, exactly as given, as event e.Seq of e.Chain,
	// replacing the one there if any.
	PutAuditEvent(ctx context.Context, e hep.AuditEvent) error
}

// TamperOpenFunc is OpenFunc with the Tamperer of the store it opens.
type TamperOpenFunc func(t *testing.T, clock hep.Clock) (hep.Store, Tamperer)

// RunTamper checks that every kind of tampering with the audit trail is
// found by hep.VerifyAudit, with the first bad event named: edits and
// deletions in the middle by the chain alone, a cut tail, a rewritten
// (rehashed) tail and a replaced chain only with checkpoints. It runs each
// case on each chain the store keeps.
func RunTamper(t *testing.T, open TamperOpenFunc) {
	// Each chain gets 20 events; checkpoint 1 is taken after 10, 2 after 20.
	const half, full = 10, 20
	cases := []struct {
		name string
		// tamper changes chain c; ev are its 20 events as written.
		tamper func(t *testing.T, tm Tamperer, c string, ev []hep.AuditEvent)
		// withoutCP is the first bad sequence found without checkpoints
		// (0: the trail looks intact, which is why checkpoints exist).
		withoutCP int64
		// withCP is the first bad sequence found with both checkpoints,
		// vouched the highest position still vouched for, and problem a
		// word of the message.
		withCP, vouched int64
		problem         string
	}{
		{"EditMiddle", func(t *testing.T, tm Tamperer, c string, ev []hep.AuditEvent) {
			e := ev[14]
			e.Outcome = "OK, nothing to see" // now says something else
			put(t, tm, e)
		}, 15, 15, half, "altered"},
		{"EditMiddleAndRehashIt", func(t *testing.T, tm Tamperer, c string, ev []hep.AuditEvent) {
			// Rehashing the edited event alone breaks its successor's link.
			e := ev[14]
			e.PatientID = "someone-else"
			e.Hash = hep.ChainHash(e.PrevHash, e)
			put(t, tm, e)
		}, 16, 16, half, "prev_hash"},
		{"DeleteMiddle", func(t *testing.T, tm Tamperer, c string, ev []hep.AuditEvent) {
			del(t, tm, c, 5, 7)
		}, 5, 5, 0, "gap"},
		{"DeleteTail", func(t *testing.T, tm Tamperer, c string, ev []hep.AuditEvent) {
			del(t, tm, c, 18, 20)
		}, 0, 18, half, "missing"},
		{"DeleteLast", func(t *testing.T, tm Tamperer, c string, ev []hep.AuditEvent) {
			del(t, tm, c, 20, 20)
		}, 0, 20, half, "missing"},
		{"DeleteTailAndRehash", func(t *testing.T, tm Tamperer, c string, ev []hep.AuditEvent) {
			// Events 14-20 deleted and 7 others forged in their place,
			// chained correctly: the chain is consistent and as long as
			// before; only checkpoint 2's hash at 20 shows it.
			del(t, tm, c, 14, full)
			forge(t, tm, c, ev[12], 7)
		}, 0, 20, half, "rewritten"},
		{"DeleteMiddleAndRenumber", func(t *testing.T, tm Tamperer, c string, ev []hep.AuditEvent) {
			// Event 15 removed, 16-20 renumbered and rehashed as 15-19: a
			// consistent chain one event short.
			del(t, tm, c, 15, full)
			prev := ev[13]
			for _, e := range ev[15:] {
				e.Seq, e.PrevHash = prev.Seq+1, prev.Hash
				e.Hash = hep.ChainHash(e.PrevHash, e)
				put(t, tm, e)
				prev = e
			}
		}, 0, 20, half, "missing"},
		{"ReplaceWholeChain", func(t *testing.T, tm Tamperer, c string, ev []hep.AuditEvent) {
			// A whole new chain, as long as the old one, consistent from
			// its genesis: checkpoint 1's position already differs.
			del(t, tm, c, 1, full)
			forge(t, tm, c, hep.AuditEvent{Chain: c, Seq: 0, Hash: hep.ChainGenesis(c)}, full)
		}, 0, half, 0, "rewritten"},
		{"ReplaceWithShorterChain", func(t *testing.T, tm Tamperer, c string, ev []hep.AuditEvent) {
			del(t, tm, c, 1, full)
			forge(t, tm, c, hep.AuditEvent{Chain: c, Seq: 0, Hash: hep.ChainGenesis(c)}, 4)
		}, 0, 5, 0, "missing"},
		{"EmptyChain", func(t *testing.T, tm Tamperer, c string, ev []hep.AuditEvent) {
			del(t, tm, c, 1, full)
		}, 0, 1, 0, "missing"},
	}

	// The chains a store keeps, from a store of its own.
	var chains []string
	{
		s, _ := open(t, NewClock().Now)
		_, heads, err := s.AuditHeads(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range heads {
			chains = append(chains, h.Chain)
		}
	}
	for _, chain := range chains {
		for _, tc := range cases {
			t.Run(chain+"/"+tc.name, func(t *testing.T) {
				clock := NewClock()
				s, tm := open(t, clock.Now)
				e := &env{t: t, store: s, clock: clock}
				cp1 := fillChain(e, chain, half)
				cp2 := fillChain(e, chain, full)
				ev := e.eventsAfter(auditMark{})
				var mine []hep.AuditEvent
				for _, x := range ev {
					if x.Chain == chain && x.Seq <= full {
						mine = append(mine, x)
					}
				}
				if len(mine) != full {
					t.Fatalf("chain %s has %d events, want %d", chain, len(mine), full)
				}

				tc.tamper(t, tm, chain, mine)

				got, err := hep.VerifyAudit(t.Context(), s, nil)
				if err != nil {
					t.Fatal(err)
				}
				if tc.withoutCP == 0 {
					if !got.OK() {
						t.Errorf("without checkpoints: %+v; want it to look intact (this case needs checkpoints)", got)
					}
				} else if got.OK() || got.BrokenChain != chain || got.BrokenSeq != tc.withoutCP {
					t.Errorf("without checkpoints: broken %s/%d (%s); want %s/%d", got.BrokenChain, got.BrokenSeq, got.Problem, chain, tc.withoutCP)
				}

				got, err = hep.VerifyAudit(t.Context(), s, []hep.Checkpoint{cp1, cp2})
				if err != nil {
					t.Fatal(err)
				}
				if got.OK() || got.BrokenChain != chain || got.BrokenSeq != tc.withCP || got.VouchedUpTo != tc.vouched ||
					!strings.Contains(got.Problem, tc.problem) {
					t.Errorf("with checkpoints: broken %s/%d vouched up to %d (%s);\n want %s/%d vouched up to %d, a problem saying %q",
						got.BrokenChain, got.BrokenSeq, got.VouchedUpTo, got.Problem, chain, tc.withCP, tc.vouched, tc.problem)
				}
				// Checkpoint order does not matter.
				again, _ := hep.VerifyAudit(t.Context(), s, []hep.Checkpoint{cp2, cp1})
				if again.BrokenSeq != got.BrokenSeq {
					t.Errorf("checkpoints in the other order: broken at %d, want %d", again.BrokenSeq, got.BrokenSeq)
				}
			})
		}
	}

	t.Run("Intact", func(t *testing.T) {
		clock := NewClock()
		s, _ := open(t, clock.Now)
		e := &env{t: t, store: s, clock: clock}
		cps := []hep.Checkpoint{fillChain(e, chains[0], half)}
		// More events after a checkpoint are fine: it vouches for a prefix.
		cps = append(cps, fillChain(e, chains[0], full))
		fillChain(e, chains[0], full+10)
		got, err := hep.VerifyAudit(t.Context(), s, cps)
		if err != nil || !got.OK() || got.Checkpoints != len(cps) {
			t.Errorf("intact trail: %+v, %v; want OK against %d checkpoints", got, err, len(cps))
		}
	})

	t.Run("OtherOrigin", func(t *testing.T) {
		clock := NewClock()
		s, _ := open(t, clock.Now)
		e := &env{t: t, store: s, clock: clock}
		cp := fillChain(e, chains[0], 5)
		cp.Origin = strings.Repeat("0", 32)
		got, err := hep.VerifyAudit(t.Context(), s, []hep.Checkpoint{cp})
		if err != nil || got.OK() || !strings.Contains(got.Problem, "another audit trail") {
			t.Errorf("checkpoint of another origin: %+v, %v; want a problem naming it", got, err)
		}
	})
}

// fillChain writes audited calls until chain has n events (the other
// chains grow too) and returns the checkpoint of the store's heads then.
// Writes (a patient update) and failures (AppendAudit) between them reach
// every chain a store is likely to keep; a chain they do not reach fails
// the test.
func fillChain(e *env, chain string, n int64) hep.Checkpoint {
	e.t.Helper()
	ctx := e.t.Context()
	// Up to 8 patients, in turn, for a store that picks a chain by
	// patient.
	var pids []string
	var clinician string
	for i := range 8 * n {
		origin, heads, err := e.store.AuditHeads(ctx)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, h := range heads {
			if h.Chain != chain {
				continue
			}
			if h.Seq > n {
				e.t.Fatalf("chain %s has %d events, more than %d", chain, h.Seq, n)
			}
			if h.Seq == n {
				return hep.NewCheckpoint(origin, e.clock.Now(), heads)
			}
		}
		e.clock.Advance(time.Second)
		actx, _ := e.as(hep.Actor{ID: "tamper-test", Role: hep.RoleClinician}, "test.fill")
		if clinician == "" {
			clinician = e.account(hep.RoleClinician).ID
		}
		if len(pids) < 8 && int(i) >= len(pids) {
			pids = append(pids, e.patient(clinician).ID)
			continue
		}
		pid := pids[int(i)%len(pids)]
		{
			if err := e.store.AppendAudit(actx, hep.AuditEvent{ActorID: "x", ActorRole: hep.RoleClinician, PatientID: pid,
				Action: "patient.get", Resource: "patients/" + pid, Outcome: string(hep.CodeNotFound)}); err != nil {
				e.t.Fatal(err)
			}
			name := fmt.Sprint("P", e.clock.Now().Unix())
			if _, err := e.store.UpdatePatient(actx, pid, hep.PatientUpdate{DisplayName: &name}); err != nil {
				e.t.Fatal(err)
			}
		}
	}
	e.t.Fatalf("chain %s does not reach %d events", chain, n)
	return hep.Checkpoint{}
}

// forge appends k events after prev to chain, correctly chained.
func forge(t *testing.T, tm Tamperer, chain string, prev hep.AuditEvent, k int) {
	t.Helper()
	for i := range k {
		e := hep.AuditEvent{Chain: chain, Seq: prev.Seq + 1, Time: Epoch.Add(time.Duration(i) * time.Millisecond),
			ActorID: "forger", ActorRole: hep.RoleAdmin, Action: "nothing.happened", Resource: "nothing", Outcome: hep.OutcomeOK,
			RequestID: fmt.Sprint("forged-", i), PrevHash: prev.Hash}
		e.Hash = hep.ChainHash(e.PrevHash, e)
		put(t, tm, e)
		prev = e
	}
}

func put(t *testing.T, tm Tamperer, e hep.AuditEvent) {
	t.Helper()
	if err := tm.PutAuditEvent(t.Context(), e); err != nil {
		t.Fatalf("tampering: %v", err)
	}
}

func del(t *testing.T, tm Tamperer, chain string, from, to int64) {
	t.Helper()
	if err := tm.DeleteAuditEvents(t.Context(), chain, from, to); err != nil {
		t.Fatalf("tampering: %v", err)
	}
}
