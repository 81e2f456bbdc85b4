package heptest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

func testSecret(t *testing.T, open OpenFunc) {
	e := newEnv(t, open)
	var a1, a2, b []byte
	e.notAudited("Secret", func() {
		var err error
		if a1, err = e.store.Secret(t.Context(), "a"); err != nil {
			t.Fatalf("Secret(a): %v", err)
		}
		if a2, err = e.store.Secret(t.Context(), "a"); err != nil {
			t.Fatalf("Secret(a) again: %v", err)
		}
		if b, err = e.store.Secret(t.Context(), "b"); err != nil {
			t.Fatalf("Secret(b): %v", err)
		}
	})
	if len(a1) != 32 {
		t.Errorf("Secret length %d, want 32", len(a1))
	}
	if !bytes.Equal(a1, a2) {
		t.Errorf("Secret(a) changed between calls")
	}
	if bytes.Equal(a1, b) {
		t.Errorf("Secret(a) == Secret(b); want independent secrets")
	}
	if bytes.Equal(a1, make([]byte, 32)) {
		t.Errorf("Secret(a) is all zeros")
	}
}

func testAccounts(t *testing.T, open OpenFunc) {
	t.Run("CreateAndGet", func(t *testing.T) {
		e := newEnv(t, open)
		admin := e.account(hep.RoleAdmin)
		ctx, actor := e.as(actorOf(admin), "account.create")
		in := hep.AccountCreate{Email: "ana@clinic.example", DisplayName: "Ana", Role: hep.RoleClinician, Password: "correct horse battery"}
		var got hep.Account
		events := e.audited(func() {
			var err error
			if got, err = e.store.CreateAccount(ctx, in, "argon2id$hash"); err != nil {
				t.Fatalf("CreateAccount: %v", err)
			}
		})
		now := e.clock.Now()
		want := hep.Account{ID: got.ID, Email: in.Email, DisplayName: in.DisplayName, Role: hep.RoleClinician, CreateTime: now, UpdateTime: now}
		if got.ID == "" || normAccount(got) != want {
			t.Errorf("CreateAccount:\n got  %+v\n want %+v", got, want)
		}
		e.wantEvent("CreateAccount", events, actor, "", resAccount(got.ID), hep.OutcomeOK)

		ctx, actor = e.as(actorOf(admin), "account.get")
		var got2 hep.Account
		events = e.audited(func() {
			var err error
			if got2, err = e.store.GetAccount(ctx, got.ID); err != nil {
				t.Fatalf("GetAccount: %v", err)
			}
		})
		if normAccount(got2) != want {
			t.Errorf("GetAccount:\n got  %+v\n want %+v", got2, want)
		}
		e.wantEvent("GetAccount", events, actor, "", resAccount(got.ID), hep.OutcomeOK)

		var creds hep.Account
		var hash string
		e.notAudited("AccountCredentials", func() {
			var err error
			if creds, hash, err = e.store.AccountCredentials(t.Context(), in.Email); err != nil {
				t.Fatalf("AccountCredentials: %v", err)
			}
		})
		if normAccount(creds) != want || hash != "argon2id$hash" {
			t.Errorf("AccountCredentials = %+v, %q; want %+v, %q", creds, hash, want, "argon2id$hash")
		}
	})

	t.Run("Errors", func(t *testing.T) {
		e := newEnv(t, open)
		a := e.account(hep.RoleClinician)
		ctx, _ := e.as(actorOf(a), "account.fail")
		dup := hep.AccountCreate{Email: a.Email, DisplayName: "Someone Else", Role: hep.RoleAdmin, Password: "correct horse battery"}
		missing := "00000000-0000-7000-8000-000000000000"
		tests := []struct {
			name string
			call func() error
			code hep.Code
		}{
			{"CreateAccount/duplicate email", func() error { _, err := e.store.CreateAccount(ctx, dup, "h"); return err }, hep.CodeAlreadyExists},
			{"GetAccount/unknown", func() error { _, err := e.store.GetAccount(ctx, missing); return err }, hep.CodeNotFound},
			{"UpdateAccount/unknown", func() error {
				name := "X"
				_, err := e.store.UpdateAccount(ctx, missing, hep.AccountUpdate{DisplayName: &name})
				return err
			}, hep.CodeNotFound},
			{"AccountCredentials/unknown", func() error {
				_, _, err := e.store.AccountCredentials(ctx, "nobody@clinic.example")
				return err
			}, hep.CodeNotFound},
		}
		for _, tt := range tests {
			e.notAudited(tt.name, func() { wantErr(t, tt.name, tt.call(), tt.code, "") })
		}
		// The failed duplicate changed nothing.
		got, _, err := e.store.AccountCredentials(t.Context(), a.Email)
		if err != nil || normAccount(got) != normAccount(a) {
			t.Errorf("after duplicate CreateAccount, account = %+v, %v; want %+v", got, err, a)
		}
	})

	t.Run("EnsureAdmin", func(t *testing.T) {
		e := newEnv(t, open)
		ctx, actor := e.as(hep.Actor{ID: "local:hepd", Role: hep.RoleAdmin}, "account.bootstrap_admin")
		in := hep.AccountCreate{Email: "root@clinic.example", DisplayName: "Root", Role: hep.RoleAdmin, Password: "correct horse battery"}
		var first hep.Account
		events := e.audited(func() {
			var created bool
			var err error
			first, created, err = e.store.EnsureAdmin(ctx, in, "h1")
			if err != nil || !created {
				t.Fatalf("EnsureAdmin first = %v, %v; want created", created, err)
			}
		})
		e.wantEvent("EnsureAdmin", events, actor, "", resAccount(first.ID), hep.OutcomeOK)
		if first.Role != hep.RoleAdmin || first.Email != in.Email {
			t.Errorf("EnsureAdmin created %+v", first)
		}

		e.notAudited("EnsureAdmin again", func() {
			again, created, err := e.store.EnsureAdmin(ctx, hep.AccountCreate{Email: in.Email, DisplayName: "Other", Role: hep.RoleAdmin}, "h2")
			if err != nil || created || normAccount(again) != normAccount(first) {
				t.Errorf("EnsureAdmin again = %+v, %v, %v; want %+v, false, nil", again, created, err, first)
			}
		})
		if _, hash, _ := e.store.AccountCredentials(t.Context(), in.Email); hash != "h1" {
			t.Errorf("EnsureAdmin again changed the password hash to %q", hash)
		}

		c := e.account(hep.RoleClinician)
		e.notAudited("EnsureAdmin on a clinician's email", func() {
			_, created, err := e.store.EnsureAdmin(ctx, hep.AccountCreate{Email: c.Email, DisplayName: "Root", Role: hep.RoleAdmin}, "h3")
			wantErr(t, "EnsureAdmin on a clinician's email", err, hep.CodeAlreadyExists, "")
			if created {
				t.Errorf("EnsureAdmin on a clinician's email reported created")
			}
		})
	})

	t.Run("ListPaging", func(t *testing.T) {
		e := newEnv(t, open)
		var all, clinicians []string
		for i := range 7 {
			role := hep.RoleClinician
			if i%3 == 0 {
				role = hep.RoleAdmin
			}
			a := e.account(role)
			e.clock.Advance(time.Second)
			all = append(all, a.ID)
			if role == hep.RoleClinician {
				clinicians = append(clinicians, a.ID)
			}
		}
		for _, tt := range []struct {
			name string
			role hep.Role
			want []string
		}{
			{"all", "", all},
			{"clinicians", hep.RoleClinician, clinicians},
		} {
			for _, size := range []int{1, 2, 3, 100} {
				var got []string
				after := ""
				for pages := 0; ; pages++ {
					if pages > len(tt.want)+1 {
						t.Fatalf("%s size %d: paging does not end", tt.name, size)
					}
					ctx, actor := e.as(actorOf(hep.Account{ID: all[0], Role: hep.RoleAdmin}), "account.list")
					var page []hep.Account
					events := e.audited(func() {
						var err error
						if page, err = e.store.ListAccounts(ctx, hep.AccountFilter{Role: tt.role, After: after, Limit: size}); err != nil {
							t.Fatalf("ListAccounts: %v", err)
						}
					})
					e.wantEvent("ListAccounts", events, actor, "", resAccounts, hep.OutcomeOK)
					if len(page) > size {
						t.Fatalf("%s size %d: page of %d", tt.name, size, len(page))
					}
					for _, a := range page {
						if tt.role != "" && a.Role != tt.role {
							t.Errorf("%s: account %s has role %s", tt.name, a.ID, a.Role)
						}
						got = append(got, a.ID)
					}
					if len(page) < size {
						break
					}
					after = page[len(page)-1].ID
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("%s size %d: got %v, want %v (creation order, no gaps or repeats)", tt.name, size, got, tt.want)
				}
			}
		}
	})

	t.Run("UpdateAndDisable", func(t *testing.T) {
		e := newEnv(t, open)
		admin := e.account(hep.RoleAdmin)
		c := e.account(hep.RoleClinician)
		s1, _ := e.signIn(c.ID)
		s2, r2 := e.signIn(c.ID)
		if n, err := e.store.CountAdmins(t.Context()); err != nil || n != 1 {
			t.Errorf("CountAdmins = %d, %v; want 1", n, err)
		}

		e.clock.Advance(time.Minute)
		name := "Ana Maria"
		ctx, actor := e.as(actorOf(admin), "account.update")
		var got hep.Account
		events := e.audited(func() {
			var err error
			if got, err = e.store.UpdateAccount(ctx, c.ID, hep.AccountUpdate{DisplayName: &name}); err != nil {
				t.Fatalf("UpdateAccount: %v", err)
			}
		})
		e.wantEvent("UpdateAccount", events, actor, "", resAccount(c.ID), hep.OutcomeOK)
		want := c
		want.DisplayName, want.UpdateTime = name, e.clock.Now()
		if normAccount(got) != normAccount(want) {
			t.Errorf("UpdateAccount:\n got  %+v\n want %+v", got, want)
		}
		if s, _ := e.store.Session(t.Context(), s1.ID); !s.Live() {
			t.Errorf("renaming revoked a session")
		}

		e.clock.Advance(time.Minute)
		disabledAt := e.clock.Now()
		yes, no := true, false
		if got, err := e.store.UpdateAccount(ctx, c.ID, hep.AccountUpdate{Disabled: &yes}); err != nil || !got.Disabled {
			t.Fatalf("UpdateAccount(disable) = %+v, %v", got, err)
		}
		for _, id := range []string{s1.ID, s2.ID} {
			s, err := e.store.Session(t.Context(), id)
			if err != nil || s.Live() || !s.RevokeTime.Equal(disabledAt) {
				t.Errorf("after disabling, Session(%s) = %+v, %v; want revoked at %v", id, s, err, disabledAt)
			}
		}
		_, err := e.store.RotateRefreshToken(e.ctx(), r2, e.refresh(token()))
		wantErr(t, "RotateRefreshToken of a disabled account", err, hep.CodeUnauthenticated, "")
		e.notAudited("StartSession of a disabled account", func() {
			_, err := e.store.StartSession(ctx, hep.SessionStart{AccountID: c.ID, Refresh: e.refresh(token())})
			wantErr(t, "StartSession of a disabled account", err, hep.CodeFailedPrecondition, "")
		})
		if creds, _, err := e.store.AccountCredentials(t.Context(), c.Email); err != nil || !creds.Disabled {
			t.Errorf("AccountCredentials of a disabled account = %+v, %v; want Disabled", creds, err)
		}

		// Enabling again does not bring old sessions back.
		e.clock.Advance(time.Minute)
		if _, err := e.store.UpdateAccount(ctx, c.ID, hep.AccountUpdate{Disabled: &no}); err != nil {
			t.Fatalf("UpdateAccount(enable): %v", err)
		}
		if s, _ := e.store.Session(t.Context(), s1.ID); s.Live() {
			t.Errorf("re-enabling revived session %s", s1.ID)
		}
		if _, err := e.store.StartSession(ctx, hep.SessionStart{AccountID: c.ID, Refresh: e.refresh(token())}); err != nil {
			t.Errorf("StartSession after re-enabling: %v", err)
		}
	})

	t.Run("CountAdmins", func(t *testing.T) {
		e := newEnv(t, open)
		var n int
		e.notAudited("CountAdmins", func() {
			var err error
			if n, err = e.store.CountAdmins(t.Context()); err != nil {
				t.Fatalf("CountAdmins: %v", err)
			}
		})
		if n != 0 {
			t.Errorf("CountAdmins of an empty store = %d", n)
		}
		a1, _ := e.account(hep.RoleAdmin), e.account(hep.RoleAdmin)
		e.account(hep.RoleClinician)
		yes := true
		if _, err := e.store.UpdateAccount(e.ctx(), a1.ID, hep.AccountUpdate{Disabled: &yes}); err != nil {
			t.Fatal(err)
		}
		if n, err := e.store.CountAdmins(t.Context()); err != nil || n != 1 {
			t.Errorf("CountAdmins = %d, %v; want 1 (enabled admins only)", n, err)
		}
	})
}
