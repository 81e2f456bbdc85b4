package heptest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

func testAudit(t *testing.T, open OpenFunc) {
	t.Run("Empty", func(t *testing.T) {
		e := newEnv(t, open)
		got, err := hep.VerifyAudit(t.Context(), e.store, nil)
		if err != nil || !got.OK() || got.Events != 0 {
			t.Errorf("VerifyAudit of an empty store = %+v, %v; want OK, no events", got, err)
		}
		for _, h := range got.Heads {
			if h.Seq != 0 || h.Hash != hep.ChainGenesis(h.Chain) {
				t.Errorf("empty chain %s: head %+v, want seq 0 at its genesis", h.Chain, h)
			}
		}
	})

	t.Run("Heads", func(t *testing.T) {
		e := newEnv(t, open)
		origin, heads, err := e.store.AuditHeads(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(origin) != 32 || strings.Trim(origin, "0123456789abcdef") != "" {
			t.Errorf("origin %q, want 32 lower-case hex digits", origin)
		}
		if len(heads) == 0 {
			t.Fatalf("no chains")
		}
		for i, h := range heads {
			if h.Seq != 0 || h.Hash != "" {
				t.Errorf("empty store: head %+v, want seq 0 and no hash", h)
			}
			if i > 0 && heads[i-1].Chain >= h.Chain {
				t.Errorf("heads not in chain order: %v", heads)
			}
		}
		// Writes and reads, then heads match what a scan finds.
		c := e.account(hep.RoleClinician)
		p := e.patient(c.ID)
		if _, err := e.store.GetPatient(e.ctx(), p.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.store.AppendAudit(e.ctx(), hep.AuditEvent{ActorID: "x", ActorRole: hep.RoleAdmin, Action: "x.y", Outcome: string(hep.CodeNotFound)}); err != nil {
			t.Fatal(err)
		}
		origin2, heads, err := e.store.AuditHeads(t.Context())
		if err != nil || origin2 != origin {
			t.Fatalf("AuditHeads again = %q, %v; want the same origin %q", origin2, err, origin)
		}
		var total int64
		for _, h := range heads {
			var last hep.AuditEvent
			n := int64(0)
			if err := e.store.ScanAudit(t.Context(), h.Chain, 0, func(ev hep.AuditEvent) error {
				n++
				if ev.Chain != h.Chain {
					t.Errorf("ScanAudit(%s) returned an event of chain %q", h.Chain, ev.Chain)
				}
				last = ev
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if h.Seq != n || (n > 0 && h.Hash != last.Hash) {
				t.Errorf("head %+v, but the scan found %d events ending in %s", h, n, last.Hash)
			}
			total += n
			// after skips the first events; an error from fn stops the scan.
			if n >= 2 {
				var seqs []int64
				stop := errors.New("stop")
				err := e.store.ScanAudit(t.Context(), h.Chain, 1, func(ev hep.AuditEvent) error {
					seqs = append(seqs, ev.Seq)
					return stop
				})
				if !errors.Is(err, stop) || len(seqs) != 1 || seqs[0] != 2 {
					t.Errorf("ScanAudit(%s, after 1) stopped by fn = %v, %v; want [2] and fn's error", h.Chain, seqs, err)
				}
			}
		}
		if total < 4 { // account, patient, the read, the failure
			t.Errorf("%d events in all, want at least 4", total)
		}
		if n := e.store.ScanAudit(t.Context(), "no-such-chain", 0, func(hep.AuditEvent) error {
			t.Errorf("an unknown chain has events")
			return nil
		}); n != nil {
			t.Errorf("ScanAudit of an unknown chain: %v; want no events and no error", n)
		}
	})

	t.Run("Append", func(t *testing.T) {
		e := newEnv(t, open)
		// The transport records a failure for the actor it knows; the event,
		// not the context, says who. Chain, Seq, Time and the hashes are
		// the store's: whatever the caller put there is ignored.
		ctx, _ := e.as(hep.Actor{ID: "someone-else", Role: hep.RoleAdmin}, "ignored")
		in := hep.AuditEvent{
			Chain: "bogus", Seq: 99, Time: time.Unix(0, 0), PrevHash: "bogus", Hash: "bogus",
			ActorID: "acct-1", ActorRole: hep.RoleClinician, PatientID: "pat-1", Action: "patient.get",
			Resource: "patients/pat-1", Outcome: string(hep.CodePermissionDenied), RequestID: "r-9", Peer: "10.0.0.1:5",
		}
		for i := range 3 {
			if err := e.store.AppendAudit(ctx, in); err != nil {
				t.Fatalf("AppendAudit #%d: %v", i+1, err)
			}
			e.clock.Advance(time.Second)
		}
		got := e.eventsAfter(auditMark{})
		if len(got) != 3 {
			t.Fatalf("after 3 AppendAudit, %d events: %+v", len(got), got)
		}
		chain := got[0].Chain
		prev := hep.ChainGenesis(chain)
		for i, g := range got {
			want := in
			want.Chain, want.Seq, want.Time, want.PrevHash = chain, int64(i+1), Epoch.Add(time.Duration(i)*time.Second), prev
			want.Hash = hep.ChainHash(prev, want)
			g.Time = norm(g.Time)
			if g != want {
				t.Errorf("event %d:\n got  %+v\n want %+v", i+1, g, want)
			}
			prev = g.Hash
		}
		e.mark() // verifies the chain
		if err := e.store.AppendAudit(ctx, hep.AuditEvent{ActorID: "a"}); hep.ErrorCode(err) != hep.CodeInvalid {
			t.Errorf("AppendAudit without an outcome: %v; want INVALID_ARGUMENT", err)
		}
	})

	t.Run("ListFilter", func(t *testing.T) {
		e := newEnv(t, open)
		// Event 0 at +0h for p1, 1 at +1h for p2, 2 at +2h for nobody, 3 at
		// +3h for p1; each a write (a patient update is in the store's
		// write chain) or a failure record (AppendAudit, wherever the store
		// keeps those), alternately, so that a store with several chains
		// merges them.
		c := e.account(hep.RoleClinician)
		p := e.patient(c.ID)
		e.clock.Advance(time.Hour)
		base := e.clock.Now()
		for i, patient := range []string{"p1", "p2", "", "p1"} {
			ctx, _ := e.as(hep.Actor{ID: "a", Role: hep.RoleClinician}, "x.y")
			if i%2 == 0 {
				ev := hep.AuditEvent{ActorID: "a", ActorRole: hep.RoleAdmin, PatientID: patient, Action: "x.y", Resource: fmt.Sprint(i), Outcome: string(hep.CodeNotFound)}
				if err := e.store.AppendAudit(ctx, ev); err != nil {
					t.Fatal(err)
				}
			} else {
				name := fmt.Sprint("P", i)
				if _, err := e.store.UpdatePatient(ctx, p.ID, hep.PatientUpdate{DisplayName: &name}); err != nil {
					t.Fatal(err)
				}
			}
			e.clock.Advance(time.Hour)
		}
		all := e.eventsAfter(auditMark{})
		var ev []hep.AuditEvent // the four, in listing order
		for _, a := range all {
			if !a.Time.Before(base) {
				ev = append(ev, a)
			}
		}
		if len(ev) != 4 {
			t.Fatalf("%d events in the range, want 4: %+v", len(ev), ev)
		}
		// Reads of the trail are recorded from here on, at +10h, outside
		// every range below.
		e.clock.Advance(6 * time.Hour)
		at := func(h int) time.Time { return base.Add(time.Duration(h) * time.Hour) }
		p1 := ev[0].PatientID
		after := func(i int) hep.AuditCursor { return hep.CursorOf(ev[i]) }
		tests := []struct {
			name string
			f    hep.AuditFilter
			want []int
		}{
			{"everything", hep.AuditFilter{Start: at(0), End: at(4)}, []int{0, 1, 2, 3}},
			{"start inclusive", hep.AuditFilter{Start: at(1), End: at(4)}, []int{1, 2, 3}},
			{"end exclusive", hep.AuditFilter{Start: at(0), End: at(1)}, []int{0}},
			{"end a nanosecond later", hep.AuditFilter{Start: at(0), End: at(1).Add(time.Nanosecond)}, []int{0, 1}},
			{"empty range", hep.AuditFilter{Start: at(1), End: at(1)}, nil},
			{"patient", hep.AuditFilter{Start: at(0), End: at(4), PatientID: p1}, []int{0}},
			{"unknown patient", hep.AuditFilter{Start: at(0), End: at(4), PatientID: "p9"}, nil},
			{"after", hep.AuditFilter{Start: at(0), End: at(4), After: after(1)}, []int{2, 3}},
			{"limit", hep.AuditFilter{Start: at(0), End: at(4), Limit: 2}, []int{0, 1}},
			{"after and limit", hep.AuditFilter{Start: at(0), End: at(4), After: after(0), Limit: 2}, []int{1, 2}},
			{"after the last", hep.AuditFilter{Start: at(0), End: at(4), After: after(3)}, nil},
		}
		for _, tt := range tests {
			ctx, actor := e.as(hep.Actor{ID: "admin-1", Role: hep.RoleAdmin}, "audit.list")
			before := e.mark()
			got, err := e.store.ListAuditEvents(ctx, tt.f)
			if err != nil {
				t.Fatalf("%s: ListAuditEvents: %v", tt.name, err)
			}
			var want []hep.AuditEvent
			for _, i := range tt.want {
				want = append(want, ev[i])
			}
			if len(got) != len(want) {
				t.Errorf("%s: got %d events, want %d", tt.name, len(got), len(want))
			} else {
				for i := range got {
					g, w := got[i], want[i]
					g.Time, w.Time = norm(g.Time), norm(w.Time)
					if g != w {
						t.Errorf("%s: event %d:\n got  %+v\n want %+v", tt.name, i, g, w)
					}
				}
			}
			// The read itself is recorded, after the page, for the
			// filter's patient.
			e.wantEvent(tt.name, e.eventsAfter(before), actor, tt.f.PatientID, resAuditEvents, hep.OutcomeOK)
		}
	})

	t.Run("Paging", func(t *testing.T) {
		e := newEnv(t, open)
		const n = 25
		// Writes and failure records, several in the same microsecond, so
		// that pages cut between chains and between equal times.
		c := e.account(hep.RoleClinician)
		start := e.clock.Now()
		for i := range n {
			if i%3 == 0 {
				e.patient(c.ID)
			} else {
				ev := hep.AuditEvent{ActorID: "a", ActorRole: hep.RoleAdmin, Action: "x.y", Resource: fmt.Sprint(i), Outcome: string(hep.CodeNotFound)}
				if err := e.store.AppendAudit(e.ctx(), ev); err != nil {
					t.Fatal(err)
				}
			}
			if i%4 == 3 {
				e.clock.Advance(time.Microsecond)
			}
		}
		var want []hep.AuditEvent
		for _, a := range e.eventsAfter(auditMark{}) {
			if !a.Time.Before(start) {
				want = append(want, a)
			}
		}
		// Page reads are recorded an hour later, outside the range read.
		e.clock.Advance(time.Hour)
		for _, size := range []int{1, 2, 7, 10, 25, 100} {
			var got []hep.AuditEvent
			var after hep.AuditCursor
			for pages := 0; ; pages++ {
				if pages > len(want)+1 {
					t.Fatalf("size %d: paging does not end", size)
				}
				page, err := e.store.ListAuditEvents(e.ctx(), hep.AuditFilter{Start: start, End: start.Add(time.Minute), After: after, Limit: size})
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > size {
					t.Fatalf("size %d: page of %d", size, len(page))
				}
				got = append(got, page...)
				if len(page) < size {
					break
				}
				after = hep.CursorOf(page[len(page)-1])
			}
			if len(got) != len(want) {
				t.Errorf("size %d: got %d events, want %d", size, len(got), len(want))
				continue
			}
			for i := range got {
				if got[i].Chain != want[i].Chain || got[i].Seq != want[i].Seq {
					t.Errorf("size %d: event %d is %s/%d, want %s/%d (listing order)", size, i, got[i].Chain, got[i].Seq, want[i].Chain, want[i].Seq)
					break
				}
			}
		}
	})
}

func testConcurrency(t *testing.T, open OpenFunc) {
	const workers, rounds = 8, 5

	t.Run("AppendAndCreate", func(t *testing.T) {
		e := newEnv(t, open)
		c := e.account(hep.RoleClinician)
		before := e.auditCount()
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				ctx, _ := e.as(actorOf(c), fmt.Sprintf("worker.%d", w))
				for i := range rounds {
					ev := hep.NewAuditEvent(hep.ActorFrom(ctx), time.Time{}, "", fmt.Sprintf("w%d/%d", w, i), hep.OutcomeOK)
					if err := e.store.AppendAudit(ctx, ev); err != nil {
						t.Errorf("worker %d: AppendAudit: %v", w, err)
					}
					if _, err := e.store.CreatePatient(ctx, hep.PatientCreate{DisplayName: "P", TimeZone: "UTC"}, c.ID); err != nil {
						t.Errorf("worker %d: CreatePatient: %v", w, err)
					}
				}
			})
		}
		wg.Wait()
		if got, want := e.auditCount()-before, int64(workers*rounds*2); got != want {
			t.Errorf("%d audit events written concurrently, want %d", got, want)
		}
		list, err := e.store.ListPatients(e.ctx(), hep.PatientFilter{ClinicianID: c.ID, Limit: 1000})
		if err != nil || len(list) != workers*rounds {
			t.Errorf("ListPatients = %d patients, %v; want %d", len(list), err, workers*rounds)
		}
	})

	t.Run("EnrollSameCode", func(t *testing.T) {
		e := newEnv(t, open)
		c := e.account(hep.RoleClinician)
		p := e.patient(c.ID)
		code := e.code(p.ID, time.Hour)
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				_, _, errs[w] = e.store.EnrollDevice(e.ctx(), hep.DeviceEnroll{CodeHash: code, Name: "Phone"}, e.refresh(token()))
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if reasonOf(err) != hep.ReasonEnrollmentCodeInvalid {
				t.Errorf("EnrollDevice: %v; want success or %s", err, hep.ReasonEnrollmentCodeInvalid)
			}
		}
		if ok != 1 {
			t.Errorf("%d of %d concurrent enrollments with one code succeeded, want 1", ok, workers)
		}
		if list, err := e.store.ListDevices(e.ctx(), p.ID); err != nil || len(list) != 1 {
			t.Errorf("ListDevices = %d devices, %v; want 1", len(list), err)
		}
	})

	t.Run("RotateSameToken", func(t *testing.T) {
		// Two clients presenting one token: one wins, the other is a reuse
		// and takes the session down.
		e := newEnv(t, open)
		c := e.account(hep.RoleClinician)
		sess, r := e.signIn(c.ID)
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				_, errs[w] = e.store.RotateRefreshToken(e.ctx(), r, e.refresh(token()))
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if reasonOf(err) != hep.ReasonRefreshTokenReused {
				t.Errorf("RotateRefreshToken: %v; want success or %s", err, hep.ReasonRefreshTokenReused)
			}
		}
		if ok != 1 {
			t.Errorf("%d of %d concurrent rotations of one token succeeded, want 1", ok, workers)
		}
		if s, err := e.store.Session(t.Context(), sess.ID); err != nil || s.Live() {
			t.Errorf("after concurrent reuse, Session = %+v, %v; want revoked", s, err)
		}
		e.mark()
	})
}

func testClose(t *testing.T, open OpenFunc) {
	e := newEnv(t, open)
	c := e.account(hep.RoleClinician)
	sess, _ := e.signIn(c.ID)
	if err := e.store.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := e.store.GetAccount(e.ctx(), c.ID); err == nil {
		t.Errorf("GetAccount after Close succeeded")
	}
	if _, err := e.store.Session(t.Context(), sess.ID); err == nil {
		t.Errorf("Session after Close succeeded")
	}
	if err := e.store.AppendAudit(e.ctx(), hep.AuditEvent{Outcome: hep.OutcomeOK}); err == nil {
		t.Errorf("AppendAudit after Close succeeded")
	}
}
