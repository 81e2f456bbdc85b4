package heptest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

func testAudit(t *testing.T, open OpenFunc) {
	t.Run("Empty", func(t *testing.T) {
		e := newEnv(t, open)
		got, err := e.store.VerifyAudit(t.Context())
		if err != nil || got != (hep.AuditVerification{}) {
			t.Errorf("VerifyAudit of an empty store = %+v, %v; want zero", got, err)
		}
	})

	t.Run("Append", func(t *testing.T) {
		e := newEnv(t, open)
		// The transport records a failure for the actor it knows; the event,
		// not the context, says who. Seq, Time and the hashes are the
		// store's: whatever the caller put there is ignored.
		ctx, _ := e.as(hep.Actor{ID: "someone-else", Role: hep.RoleAdmin}, "ignored")
		in := hep.AuditEvent{
			Seq: 99, Time: time.Unix(0, 0), PrevHash: "bogus", Hash: "bogus",
			ActorID: "acct-1", ActorRole: hep.RoleClinician, PatientID: "pat-1", Action: "patient.get",
			Resource: "patients/pat-1", Outcome: string(hep.CodePermissionDenied), RequestID: "r-9", Peer: "10.0.0.1:5",
		}
		for i := range 3 {
			if err := e.store.AppendAudit(ctx, in); err != nil {
				t.Fatalf("AppendAudit #%d: %v", i+1, err)
			}
			e.clock.Advance(time.Second)
		}
		got := e.eventsAfter(0)
		if len(got) != 3 {
			t.Fatalf("after 3 AppendAudit, %d events: %+v", len(got), got)
		}
		prev := ""
		for i, g := range got {
			want := in
			want.Seq, want.Time, want.PrevHash = int64(i+1), Epoch.Add(time.Duration(i)*time.Second), prev
			want.Hash = hep.ChainHash(prev, want)
			g.Time = norm(g.Time)
			if g != want {
				t.Errorf("event %d:\n got  %+v\n want %+v", i+1, g, want)
			}
			prev = g.Hash
		}
		e.lastSeq() // verifies the chain
	})

	t.Run("ListFilter", func(t *testing.T) {
		e := newEnv(t, open)
		// seq 1 at +0h for p1, 2 at +1h for p2, 3 at +2h for nobody, 4 at +3h for p1.
		for i, patient := range []string{"p1", "p2", "", "p1"} {
			ev := hep.AuditEvent{ActorID: "a", ActorRole: hep.RoleAdmin, PatientID: patient, Action: "x.y", Resource: fmt.Sprint(i), Outcome: hep.OutcomeOK}
			if err := e.store.AppendAudit(e.ctx(), ev); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(time.Hour)
		}
		// Reads of the trail are recorded from here on, at +10h, outside
		// every range below.
		e.clock.Advance(6 * time.Hour)
		at := func(h int) time.Time { return Epoch.Add(time.Duration(h) * time.Hour) }
		tests := []struct {
			name string
			f    hep.AuditFilter
			want []int64
		}{
			{"everything", hep.AuditFilter{Start: at(0), End: at(4)}, []int64{1, 2, 3, 4}},
			{"start inclusive", hep.AuditFilter{Start: at(1), End: at(4)}, []int64{2, 3, 4}},
			{"end exclusive", hep.AuditFilter{Start: at(0), End: at(1)}, []int64{1}},
			{"end a nanosecond later", hep.AuditFilter{Start: at(0), End: at(1).Add(time.Nanosecond)}, []int64{1, 2}},
			{"empty range", hep.AuditFilter{Start: at(1), End: at(1)}, nil},
			{"patient", hep.AuditFilter{Start: at(0), End: at(4), PatientID: "p1"}, []int64{1, 4}},
			{"unknown patient", hep.AuditFilter{Start: at(0), End: at(4), PatientID: "p9"}, nil},
			{"after", hep.AuditFilter{Start: at(0), End: at(4), AfterSeq: 2}, []int64{3, 4}},
			{"limit", hep.AuditFilter{Start: at(0), End: at(4), Limit: 2}, []int64{1, 2}},
			{"after and limit", hep.AuditFilter{Start: at(0), End: at(4), AfterSeq: 1, Limit: 2}, []int64{2, 3}},
			{"patient after", hep.AuditFilter{Start: at(0), End: at(4), PatientID: "p1", AfterSeq: 1}, []int64{4}},
		}
		for _, tt := range tests {
			ctx, actor := e.as(hep.Actor{ID: "admin-1", Role: hep.RoleAdmin}, "audit.list")
			before := e.lastSeq()
			got, err := e.store.ListAuditEvents(ctx, tt.f)
			if err != nil {
				t.Fatalf("%s: ListAuditEvents: %v", tt.name, err)
			}
			var seqs []int64
			for _, g := range got {
				seqs = append(seqs, g.Seq)
			}
			if fmt.Sprint(seqs) != fmt.Sprint(tt.want) {
				t.Errorf("%s: got seqs %v, want %v", tt.name, seqs, tt.want)
			}
			// The read itself is recorded, after the page, for the
			// filter's patient.
			e.wantEvent(tt.name, e.eventsAfter(before), actor, tt.f.PatientID, resAuditEvents, hep.OutcomeOK)
		}
	})

	t.Run("Paging", func(t *testing.T) {
		e := newEnv(t, open)
		const n = 25
		for i := range n {
			ev := hep.AuditEvent{ActorID: "a", ActorRole: hep.RoleAdmin, Action: "x.y", Resource: fmt.Sprint(i), Outcome: hep.OutcomeOK}
			if err := e.store.AppendAudit(e.ctx(), ev); err != nil {
				t.Fatal(err)
			}
		}
		// Page reads are recorded an hour later, outside the range read.
		e.clock.Advance(time.Hour)
		for _, size := range []int{1, 7, 10, 25, 100} {
			var got []int64
			after := int64(0)
			for pages := 0; ; pages++ {
				if pages > n+1 {
					t.Fatalf("size %d: paging does not end", size)
				}
				page, err := e.store.ListAuditEvents(e.ctx(), hep.AuditFilter{Start: Epoch, End: Epoch.Add(time.Minute), AfterSeq: after, Limit: size})
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > size {
					t.Fatalf("size %d: page of %d", size, len(page))
				}
				for _, ev := range page {
					got = append(got, ev.Seq)
				}
				if len(page) < size {
					break
				}
				after = page[len(page)-1].Seq
			}
			if len(got) != n {
				t.Errorf("size %d: got %d events, want %d: %v", size, len(got), n, got)
				continue
			}
			for i, seq := range got {
				if seq != int64(i+1) {
					t.Errorf("size %d: got seqs %v, want 1..%d in order", size, got, n)
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
		before := e.lastSeq()
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
		if got, want := e.lastSeq()-before, int64(workers*rounds*2); got != want {
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
		e.lastSeq()
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
