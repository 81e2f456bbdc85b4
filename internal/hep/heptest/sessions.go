package heptest

import (
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

func testSessions(t *testing.T, open OpenFunc) {
	t.Run("Start", func(t *testing.T) {
		e := newEnv(t, open)
		c := e.account(hep.RoleClinician)
		ctx, actor := e.as(actorOf(c), "auth.sign_in")
		var got hep.Session
		events := e.audited(func() {
			var err error
			if got, err = e.store.StartSession(ctx, hep.SessionStart{AccountID: c.ID, Refresh: e.refresh(token())}); err != nil {
				t.Fatalf("StartSession: %v", err)
			}
		})
		e.wantEvent("StartSession", events, actor, "", resSession(got.ID), hep.OutcomeOK)
		want := hep.Session{ID: got.ID, Role: hep.RoleClinician, AccountID: c.ID, CreateTime: e.clock.Now()}
		if got.ID == "" || normSession(got) != want {
			t.Errorf("StartSession:\n got  %+v\n want %+v", got, want)
		}
		if got.PrincipalID() != c.ID || !got.Live() {
			t.Errorf("StartSession: principal %q, live %v", got.PrincipalID(), got.Live())
		}
		var looked hep.Session
		e.notAudited("Session", func() {
			var err error
			if looked, err = e.store.Session(t.Context(), got.ID); err != nil {
				t.Fatalf("Session: %v", err)
			}
		})
		if normSession(looked) != want {
			t.Errorf("Session:\n got  %+v\n want %+v", looked, want)
		}
		e.notAudited("Session(unknown)", func() {
			_, err := e.store.Session(t.Context(), "00000000-0000-7000-8000-000000000000")
			wantErr(t, "Session(unknown)", err, hep.CodeNotFound, "")
		})
	})

	t.Run("Rotate", func(t *testing.T) {
		e := newEnv(t, open)
		c := e.account(hep.RoleClinician)
		sess, r1 := e.signIn(c.ID)
		// RefreshToken is a public call: the caller is anonymous until the
		// token names its session, and the audit row names the principal.
		ctx, anon := e.as(hep.Actor{}, "auth.refresh")
		principal := anon
		principal.ID, principal.Role, principal.SessionID = c.ID, c.Role, sess.ID

		e.clock.Advance(time.Minute)
		r2 := token()
		var got hep.Session
		events := e.audited(func() {
			var err error
			if got, err = e.store.RotateRefreshToken(ctx, r1, e.refresh(r2)); err != nil {
				t.Fatalf("RotateRefreshToken: %v", err)
			}
		})
		e.wantEvent("RotateRefreshToken", events, principal, "", resSession(sess.ID), hep.OutcomeOK)
		if normSession(got) != normSession(sess) {
			t.Errorf("RotateRefreshToken session:\n got  %+v\n want %+v", got, sess)
		}
		r3 := token()
		if _, err := e.store.RotateRefreshToken(ctx, r2, e.refresh(r3)); err != nil {
			t.Fatalf("RotateRefreshToken(r2): %v", err)
		}

		// r1 again: somebody holds a copy. The session dies, and that sticks
		// although the call fails.
		e.clock.Advance(time.Minute)
		events = e.audited(func() {
			_, err := e.store.RotateRefreshToken(ctx, r1, e.refresh(token()))
			wantErr(t, "RotateRefreshToken(reused)", err, hep.CodeUnauthenticated, hep.ReasonRefreshTokenReused)
		})
		e.wantEvent("RotateRefreshToken(reused)", events, principal, "", resSession(sess.ID), string(hep.CodeUnauthenticated))
		s, err := e.store.Session(t.Context(), sess.ID)
		if err != nil || s.Live() || !s.RevokeTime.Equal(e.clock.Now()) {
			t.Errorf("after reuse, Session = %+v, %v; want revoked at %v", s, err, e.clock.Now())
		}
		// The thief's (or the client's) newest token is dead too.
		e.notAudited("RotateRefreshToken(newest after reuse)", func() {
			_, err := e.store.RotateRefreshToken(ctx, r3, e.refresh(token()))
			wantErr(t, "RotateRefreshToken(newest after reuse)", err, hep.CodeUnauthenticated, "")
			if reasonOf(err) == hep.ReasonRefreshTokenReused {
				t.Errorf("an unused token of a revoked session reported as reused")
			}
		})
	})

	t.Run("RotateDevice", func(t *testing.T) {
		e := newEnv(t, open)
		c := e.account(hep.RoleClinician)
		p := e.patient(c.ID)
		d, sess, r1 := e.enroll(p.ID)
		ctx, principal := e.as(hep.Actor{}, "auth.refresh")
		principal.ID, principal.Role, principal.PatientID, principal.SessionID = d.ID, hep.RolePatient, p.ID, sess.ID
		events := e.audited(func() {
			got, err := e.store.RotateRefreshToken(ctx, r1, e.refresh(token()))
			if err != nil {
				t.Fatalf("RotateRefreshToken: %v", err)
			}
			if normSession(got) != normSession(sess) {
				t.Errorf("RotateRefreshToken session:\n got  %+v\n want %+v", got, sess)
			}
		})
		e.wantEvent("RotateRefreshToken(device)", events, principal, p.ID, resSession(sess.ID), hep.OutcomeOK)
	})

	t.Run("RotateFailures", func(t *testing.T) {
		tests := []struct {
			name string
			// setup returns the hash to present.
			setup func(e *env) string
		}{
			{"unknown", func(e *env) string { return token() }},
			{"expired", func(e *env) string {
				c := e.account(hep.RoleClinician)
				_, r := e.signIn(c.ID)
				e.clock.Advance(hep.RefreshTokenTTL)
				return r
			}},
			{"revoked session", func(e *env) string {
				c := e.account(hep.RoleClinician)
				s, r := e.signIn(c.ID)
				if err := e.store.RevokeSession(e.ctx(), s.ID); err != nil {
					e.t.Fatal(err)
				}
				return r
			}},
			{"revoked device", func(e *env) string {
				c := e.account(hep.RoleClinician)
				p := e.patient(c.ID)
				d, _, r := e.enroll(p.ID)
				if _, err := e.store.RevokeDevice(e.ctx(), p.ID, d.ID); err != nil {
					e.t.Fatal(err)
				}
				return r
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := newEnv(t, open)
				old := tt.setup(e)
				ctx, _ := e.as(hep.Actor{}, "auth.refresh")
				next := token()
				e.notAudited("RotateRefreshToken", func() {
					_, err := e.store.RotateRefreshToken(ctx, old, e.refresh(next))
					wantErr(t, "RotateRefreshToken", err, hep.CodeUnauthenticated, "")
					if reasonOf(err) == hep.ReasonRefreshTokenReused {
						t.Errorf("RotateRefreshToken: reason %s for a token never used", hep.ReasonRefreshTokenReused)
					}
				})
				// The failed call stored nothing: next is unknown.
				_, err := e.store.RotateRefreshToken(ctx, next, e.refresh(token()))
				wantErr(t, "RotateRefreshToken(next of a failed rotation)", err, hep.CodeUnauthenticated, "")
			})
		}
	})

	t.Run("Revoke", func(t *testing.T) {
		e := newEnv(t, open)
		c := e.account(hep.RoleClinician)
		sess, _ := e.signIn(c.ID)
		e.clock.Advance(time.Minute)
		revokedAt := e.clock.Now()
		for i := range 2 { // idempotent: the second call succeeds and keeps the time
			ctx, actor := e.as(actorOf(c), "auth.sign_out")
			events := e.audited(func() {
				if err := e.store.RevokeSession(ctx, sess.ID); err != nil {
					t.Fatalf("RevokeSession #%d: %v", i+1, err)
				}
			})
			e.wantEvent("RevokeSession", events, actor, "", resSession(sess.ID), hep.OutcomeOK)
			s, err := e.store.Session(t.Context(), sess.ID)
			if err != nil || s.Live() || !s.RevokeTime.Equal(revokedAt) {
				t.Errorf("after RevokeSession #%d, Session = %+v, %v; want revoked at %v", i+1, s, err, revokedAt)
			}
			e.clock.Advance(time.Minute)
		}
		e.notAudited("RevokeSession(unknown)", func() {
			err := e.store.RevokeSession(e.ctx(), "00000000-0000-7000-8000-000000000000")
			wantErr(t, "RevokeSession(unknown)", err, hep.CodeNotFound, "")
		})
	})
}
