package heptest

import (
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

func testDevices(t *testing.T, open OpenFunc) {
	t.Run("CreateEnrollmentCode", func(t *testing.T) {
		e := newEnv(t, open)
		c := e.account(hep.RoleClinician)
		p := e.patient(c.ID)
		ctx, actor := e.as(actorOf(c), "device.create_enrollment_code")
		events := e.audited(func() {
			if err := e.store.CreateEnrollmentCode(ctx, p.ID, token(), e.clock.Now().Add(time.Hour)); err != nil {
				t.Fatalf("CreateEnrollmentCode: %v", err)
			}
		})
		e.wantEvent("CreateEnrollmentCode", events, actor, p.ID, resEnrollmentCodes(p.ID), hep.OutcomeOK)
		e.notAudited("CreateEnrollmentCode(unknown patient)", func() {
			err := e.store.CreateEnrollmentCode(ctx, "00000000-0000-7000-8000-000000000000", token(), e.clock.Now().Add(time.Hour))
			wantErr(t, "CreateEnrollmentCode(unknown patient)", err, hep.CodeNotFound, "")
		})
	})

	t.Run("Enroll", func(t *testing.T) {
		e := newEnv(t, open)
		c := e.account(hep.RoleClinician)
		p := e.patient(c.ID)
		code := e.code(p.ID, time.Hour)
		e.clock.Advance(time.Minute)
		// EnrollDevice is a public call; the audit row's actor is the new
		// device, with the caller's action, request id and peer.
		ctx, anon := e.as(hep.Actor{}, "auth.enroll_device")
		in := hep.DeviceEnroll{CodeHash: code, Name: "Ana's phone", Platform: hep.PlatformAndroid}
		var d hep.Device
		var s hep.Session
		events := e.audited(func() {
			var err error
			if d, s, err = e.store.EnrollDevice(ctx, in, e.refresh(token())); err != nil {
				t.Fatalf("EnrollDevice: %v", err)
			}
		})
		now := e.clock.Now()
		wantD := hep.Device{ID: d.ID, PatientID: p.ID, Name: in.Name, Platform: in.Platform, EnrollTime: now}
		if d.ID == "" || normDevice(d) != wantD {
			t.Errorf("EnrollDevice device:\n got  %+v\n want %+v", d, wantD)
		}
		wantS := hep.Session{ID: s.ID, Role: hep.RolePatient, DeviceID: d.ID, PatientID: p.ID, CreateTime: now}
		if s.ID == "" || normSession(s) != wantS {
			t.Errorf("EnrollDevice session:\n got  %+v\n want %+v", s, wantS)
		}
		device := anon
		device.ID, device.Role, device.PatientID, device.SessionID = d.ID, hep.RolePatient, p.ID, s.ID
		e.wantEvent("EnrollDevice", events, device, p.ID, resDevice(p.ID, d.ID), hep.OutcomeOK)
		if got, err := e.store.Session(t.Context(), s.ID); err != nil || normSession(got) != wantS {
			t.Errorf("Session(device session) = %+v, %v; want %+v", got, err, wantS)
		}

		// Single use.
		e.notAudited("EnrollDevice(used code)", func() {
			_, _, err := e.store.EnrollDevice(ctx, in, e.refresh(token()))
			wantErr(t, "EnrollDevice(used code)", err, hep.CodeUnauthenticated, hep.ReasonEnrollmentCodeInvalid)
		})
	})

	t.Run("EnrollExpiry", func(t *testing.T) {
		const ttl = 10 * time.Minute
		tests := []struct {
			name    string
			advance time.Duration
			unknown bool
			wantErr bool
		}{
			{"fresh", 0, false, false},
			{"just before expiry", ttl - time.Microsecond, false, false},
			{"at expiry", ttl, false, true},
			{"after expiry", ttl + time.Hour, false, true},
			{"unknown code", 0, true, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := newEnv(t, open)
				c := e.account(hep.RoleClinician)
				p := e.patient(c.ID)
				code := e.code(p.ID, ttl)
				if tt.unknown {
					code = token()
				}
				e.clock.Advance(tt.advance)
				refresh := token()
				events := e.audited(func() {
					_, _, err := e.store.EnrollDevice(e.ctx(), hep.DeviceEnroll{CodeHash: code, Name: "Phone"}, e.refresh(refresh))
					if !tt.wantErr {
						if err != nil {
							t.Errorf("EnrollDevice: %v", err)
						}
						return
					}
					wantErr(t, "EnrollDevice", err, hep.CodeUnauthenticated, hep.ReasonEnrollmentCodeInvalid)
				})
				if tt.wantErr && len(events) != 0 {
					t.Errorf("failed EnrollDevice wrote %d audit events", len(events))
				}
				if !tt.wantErr && len(events) != 1 {
					t.Errorf("EnrollDevice wrote %d audit events, want 1", len(events))
				}
				devices, err := e.store.ListDevices(e.ctx(), p.ID)
				if err != nil {
					t.Fatal(err)
				}
				want := 1
				if tt.wantErr {
					want = 0
				}
				if len(devices) != want {
					t.Errorf("after EnrollDevice, %d devices; want %d", len(devices), want)
				}
				if tt.wantErr { // nothing was stored: the refresh token is unknown
					_, err := e.store.RotateRefreshToken(e.ctx(), refresh, e.refresh(token()))
					wantErr(t, "RotateRefreshToken after failed enrollment", err, hep.CodeUnauthenticated, "")
				}
			})
		}
	})

	t.Run("ListAndRevoke", func(t *testing.T) {
		e := newEnv(t, open)
		c := e.account(hep.RoleClinician)
		p, other := e.patient(c.ID), e.patient(c.ID)
		d1, s1, r1 := e.enroll(p.ID)
		e.clock.Advance(time.Hour)
		d2, s2, _ := e.enroll(p.ID)
		e.enroll(other.ID)

		ctx, actor := e.as(actorOf(c), "device.list")
		var list []hep.Device
		events := e.audited(func() {
			var err error
			if list, err = e.store.ListDevices(ctx, p.ID); err != nil {
				t.Fatalf("ListDevices: %v", err)
			}
		})
		e.wantEvent("ListDevices", events, actor, p.ID, resDevices(p.ID), hep.OutcomeOK)
		if len(list) != 2 || normDevice(list[0]) != normDevice(d1) || normDevice(list[1]) != normDevice(d2) {
			t.Errorf("ListDevices = %+v; want [%+v %+v] (oldest first, this patient's only)", list, d1, d2)
		}

		e.clock.Advance(time.Minute)
		revokedAt := e.clock.Now()
		for i := range 2 { // idempotent
			ctx, actor := e.as(actorOf(c), "device.revoke")
			var got hep.Device
			events := e.audited(func() {
				var err error
				if got, err = e.store.RevokeDevice(ctx, p.ID, d1.ID); err != nil {
					t.Fatalf("RevokeDevice #%d: %v", i+1, err)
				}
			})
			e.wantEvent("RevokeDevice", events, actor, p.ID, resDevice(p.ID, d1.ID), hep.OutcomeOK)
			want := d1
			want.RevokeTime = revokedAt
			if normDevice(got) != normDevice(want) || !got.Revoked() {
				t.Errorf("RevokeDevice #%d:\n got  %+v\n want %+v", i+1, got, want)
			}
			e.clock.Advance(time.Minute)
		}
		if s, err := e.store.Session(t.Context(), s1.ID); err != nil || s.Live() || !s.RevokeTime.Equal(revokedAt) {
			t.Errorf("session of a revoked device = %+v, %v; want revoked at %v", s, err, revokedAt)
		}
		if s, err := e.store.Session(t.Context(), s2.ID); err != nil || !s.Live() {
			t.Errorf("session of the other device = %+v, %v; want live", s, err)
		}
		_, err := e.store.RotateRefreshToken(e.ctx(), r1, e.refresh(token()))
		wantErr(t, "RotateRefreshToken of a revoked device", err, hep.CodeUnauthenticated, "")

		for _, tt := range []struct{ name, patient, device string }{
			{"another patient's device", other.ID, d2.ID},
			{"unknown device", p.ID, "00000000-0000-7000-8000-000000000000"},
		} {
			e.notAudited("RevokeDevice("+tt.name+")", func() {
				_, err := e.store.RevokeDevice(e.ctx(), tt.patient, tt.device)
				wantErr(t, "RevokeDevice("+tt.name+")", err, hep.CodeNotFound, "")
			})
		}
		if s, _ := e.store.Session(t.Context(), s2.ID); !s.Live() {
			t.Errorf("a failed RevokeDevice revoked a session")
		}
	})

	t.Run("DeviceSessionRevoke", func(t *testing.T) {
		// A device signing out: the row names its patient.
		e := newEnv(t, open)
		c := e.account(hep.RoleClinician)
		p := e.patient(c.ID)
		d, s, _ := e.enroll(p.ID)
		ctx, actor := e.as(hep.Actor{ID: d.ID, Role: hep.RolePatient, PatientID: p.ID, SessionID: s.ID}, "auth.sign_out")
		events := e.audited(func() {
			if err := e.store.RevokeSession(ctx, s.ID); err != nil {
				t.Fatalf("RevokeSession: %v", err)
			}
		})
		e.wantEvent("RevokeSession(device)", events, actor, p.ID, resSession(s.ID), hep.OutcomeOK)
	})
}
