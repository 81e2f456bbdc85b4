package heptest

import (
	"slices"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

const missingID = "00000000-0000-7000-8000-000000000000"

func testPatients(t *testing.T, open OpenFunc) {
	t.Run("CreateGetUpdate", func(t *testing.T) {
		e := newEnv(t, open)
		c := e.account(hep.RoleClinician)
		ctx, actor := e.as(actorOf(c), "patient.create")
		in := hep.PatientCreate{DisplayName: "Joana Silva", TimeZone: "Europe/Lisbon", ExternalMRN: "MRN-1"}
		var p hep.Patient
		events := e.audited(func() {
			var err error
			if p, err = e.store.CreatePatient(ctx, in, c.ID); err != nil {
				t.Fatalf("CreatePatient: %v", err)
			}
		})
		e.wantEvent("CreatePatient", events, actor, p.ID, resPatient(p.ID), hep.OutcomeOK)
		now := e.clock.Now()
		want := hep.Patient{ID: p.ID, DisplayName: in.DisplayName, TimeZone: in.TimeZone, ExternalMRN: in.ExternalMRN, CreateTime: now, UpdateTime: now}
		if p.ID == "" || normPatient(p) != want {
			t.Errorf("CreatePatient:\n got  %+v\n want %+v", p, want)
		}
		if ok, err := e.store.OnCareTeam(t.Context(), c.ID, p.ID); err != nil || !ok {
			t.Errorf("OnCareTeam(creator) = %v, %v; want true", ok, err)
		}

		ctx, actor = e.as(actorOf(c), "patient.get")
		events = e.audited(func() {
			got, err := e.store.GetPatient(ctx, p.ID)
			if err != nil || normPatient(got) != want {
				t.Errorf("GetPatient = %+v, %v; want %+v", got, err, want)
			}
		})
		e.wantEvent("GetPatient", events, actor, p.ID, resPatient(p.ID), hep.OutcomeOK)

		str := func(s string) *string { return &s }
		tests := []struct {
			name   string
			u      hep.PatientUpdate
			change func(*hep.Patient)
		}{
			{"display name", hep.PatientUpdate{DisplayName: str("Joana M. Silva")}, func(p *hep.Patient) { p.DisplayName = "Joana M. Silva" }},
			{"time zone", hep.PatientUpdate{TimeZone: str("America/Sao_Paulo")}, func(p *hep.Patient) { p.TimeZone = "America/Sao_Paulo" }},
			{"clear MRN", hep.PatientUpdate{ExternalMRN: str("")}, func(p *hep.Patient) { p.ExternalMRN = "" }},
			{"everything", hep.PatientUpdate{DisplayName: str("J. Silva"), TimeZone: str("UTC"), ExternalMRN: str("MRN-2")},
				func(p *hep.Patient) { p.DisplayName, p.TimeZone, p.ExternalMRN = "J. Silva", "UTC", "MRN-2" }},
		}
		for _, tt := range tests {
			e.clock.Advance(time.Minute)
			tt.change(&want)
			want.UpdateTime = e.clock.Now()
			ctx, actor := e.as(actorOf(c), "patient.update")
			events := e.audited(func() {
				got, err := e.store.UpdatePatient(ctx, p.ID, tt.u)
				if err != nil || normPatient(got) != want {
					t.Errorf("UpdatePatient(%s) = %+v, %v; want %+v", tt.name, got, err, want)
				}
			})
			e.wantEvent("UpdatePatient", events, actor, p.ID, resPatient(p.ID), hep.OutcomeOK)
			if got, err := e.store.GetPatient(e.ctx(), p.ID); err != nil || normPatient(got) != want {
				t.Errorf("GetPatient after UpdatePatient(%s) = %+v, %v; want %+v", tt.name, got, err, want)
			}
		}
	})

	t.Run("Errors", func(t *testing.T) {
		e := newEnv(t, open)
		c := e.account(hep.RoleClinician)
		ctx, _ := e.as(actorOf(c), "patient.fail")
		name := "X"
		for _, tt := range []struct {
			name string
			call func() error
		}{
			{"GetPatient", func() error { _, err := e.store.GetPatient(ctx, missingID); return err }},
			{"UpdatePatient", func() error {
				_, err := e.store.UpdatePatient(ctx, missingID, hep.PatientUpdate{DisplayName: &name})
				return err
			}},
		} {
			e.notAudited(tt.name, func() { wantErr(t, tt.name+"(unknown)", tt.call(), hep.CodeNotFound, "") })
		}
	})

	t.Run("ExistsAndOnCareTeam", func(t *testing.T) {
		e := newEnv(t, open)
		c1, c2 := e.account(hep.RoleClinician), e.account(hep.RoleClinician)
		p := e.patient(c1.ID)
		for _, tt := range []struct {
			name                string
			clinician, patient  string
			wantOnTeam, wantHas bool
		}{
			{"member", c1.ID, p.ID, true, true},
			{"not a member", c2.ID, p.ID, false, true},
			{"unknown patient", c1.ID, missingID, false, false},
		} {
			e.notAudited("OnCareTeam/PatientExists", func() {
				got, err := e.store.OnCareTeam(t.Context(), tt.clinician, tt.patient)
				if err != nil || got != tt.wantOnTeam {
					t.Errorf("%s: OnCareTeam = %v, %v; want %v", tt.name, got, err, tt.wantOnTeam)
				}
				got, err = e.store.PatientExists(t.Context(), tt.patient)
				if err != nil || got != tt.wantHas {
					t.Errorf("%s: PatientExists = %v, %v; want %v", tt.name, got, err, tt.wantHas)
				}
			})
		}
	})

	t.Run("ListPaging", func(t *testing.T) {
		e := newEnv(t, open)
		a, b := e.account(hep.RoleClinician), e.account(hep.RoleClinician)
		var all, wantB []string // all: every patient, in creation order
		for i := range 9 {
			owner := a.ID
			if i%3 == 2 {
				owner = b.ID
			}
			p := e.patient(owner)
			all = append(all, p.ID)
			if owner == b.ID {
				wantB = append(wantB, p.ID)
			}
			e.clock.Advance(time.Second)
		}
		// a joins the team of one of b's patients: it shows up in a's list
		// at the patient's place in creation order.
		if _, err := e.store.AddCareTeamMember(e.ctx(), wantB[1], a.ID); err != nil {
			t.Fatal(err)
		}
		var wantA []string
		for _, id := range all {
			if !slices.Contains(wantB, id) || id == wantB[1] {
				wantA = append(wantA, id)
			}
		}
		for _, tt := range []struct {
			name      string
			clinician string
			want      []string
		}{
			{"a", a.ID, wantA},
			{"b", b.ID, wantB},
			{"nobody", missingID, nil},
		} {
			for _, size := range []int{1, 2, 4, 50} {
				var got []string
				after := ""
				for pages := 0; ; pages++ {
					if pages > len(tt.want)+1 {
						t.Fatalf("%s size %d: paging does not end", tt.name, size)
					}
					ctx, actor := e.as(hep.Actor{ID: tt.clinician, Role: hep.RoleClinician}, "patient.list")
					var page []hep.Patient
					events := e.audited(func() {
						var err error
						if page, err = e.store.ListPatients(ctx, hep.PatientFilter{ClinicianID: tt.clinician, After: after, Limit: size}); err != nil {
							t.Fatalf("ListPatients: %v", err)
						}
					})
					e.wantEvent("ListPatients", events, actor, "", resPatients, hep.OutcomeOK)
					if len(page) > size {
						t.Fatalf("%s size %d: page of %d", tt.name, size, len(page))
					}
					for _, p := range page {
						got = append(got, p.ID)
					}
					if len(page) < size {
						break
					}
					after = page[len(page)-1].ID
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("%s size %d: got %v, want %v (creation order, care team only, no gaps or repeats)", tt.name, size, got, tt.want)
				}
			}
		}
	})
}

func testCareTeam(t *testing.T, open OpenFunc) {
	t.Run("AddListRemove", func(t *testing.T) {
		e := newEnv(t, open)
		admin := e.account(hep.RoleAdmin)
		c1, c2 := e.account(hep.RoleClinician), e.account(hep.RoleClinician)
		p := e.patient(c1.ID)
		created := e.clock.Now()

		e.clock.Advance(time.Minute)
		added := e.clock.Now()
		want := hep.CareTeamMember{PatientID: p.ID, ClinicianID: c2.ID, ClinicianDisplayName: c2.DisplayName, AddTime: added}
		for i := range 2 { // idempotent: the second add keeps the first time
			ctx, actor := e.as(actorOf(admin), "care_team.add")
			events := e.audited(func() {
				got, err := e.store.AddCareTeamMember(ctx, p.ID, c2.ID)
				if err != nil || normMember(got) != want {
					t.Errorf("AddCareTeamMember #%d = %+v, %v; want %+v", i+1, got, err, want)
				}
			})
			e.wantEvent("AddCareTeamMember", events, actor, p.ID, resCareTeamMember(p.ID, c2.ID), hep.OutcomeOK)
			e.clock.Advance(time.Minute)
		}
		if ok, _ := e.store.OnCareTeam(t.Context(), c2.ID, p.ID); !ok {
			t.Errorf("OnCareTeam after AddCareTeamMember = false")
		}

		ctx, actor := e.as(actorOf(c1), "care_team.list")
		events := e.audited(func() {
			got, err := e.store.ListCareTeamMembers(ctx, p.ID)
			if err != nil {
				t.Fatalf("ListCareTeamMembers: %v", err)
			}
			wantList := []hep.CareTeamMember{
				{PatientID: p.ID, ClinicianID: c1.ID, ClinicianDisplayName: c1.DisplayName, AddTime: created},
				want,
			}
			for i := range got {
				got[i] = normMember(got[i])
			}
			if !slices.Equal(got, wantList) {
				t.Errorf("ListCareTeamMembers (oldest first):\n got  %+v\n want %+v", got, wantList)
			}
		})
		e.wantEvent("ListCareTeamMembers", events, actor, p.ID, resCareTeam(p.ID), hep.OutcomeOK)

		ctx, actor = e.as(actorOf(admin), "care_team.remove")
		events = e.audited(func() {
			if err := e.store.RemoveCareTeamMember(ctx, p.ID, c2.ID); err != nil {
				t.Fatalf("RemoveCareTeamMember: %v", err)
			}
		})
		e.wantEvent("RemoveCareTeamMember", events, actor, p.ID, resCareTeamMember(p.ID, c2.ID), hep.OutcomeOK)
		if ok, _ := e.store.OnCareTeam(t.Context(), c2.ID, p.ID); ok {
			t.Errorf("OnCareTeam after RemoveCareTeamMember = true")
		}
		e.notAudited("RemoveCareTeamMember(again)", func() {
			err := e.store.RemoveCareTeamMember(ctx, p.ID, c2.ID)
			wantErr(t, "RemoveCareTeamMember(not a member)", err, hep.CodeNotFound, "")
		})
	})

	t.Run("AddErrors", func(t *testing.T) {
		e := newEnv(t, open)
		admin := e.account(hep.RoleAdmin)
		c := e.account(hep.RoleClinician)
		off := e.account(hep.RoleClinician)
		yes := true
		if _, err := e.store.UpdateAccount(e.ctx(), off.ID, hep.AccountUpdate{Disabled: &yes}); err != nil {
			t.Fatal(err)
		}
		p := e.patient(c.ID)
		ctx, _ := e.as(actorOf(admin), "care_team.add")
		for _, tt := range []struct {
			name               string
			patient, clinician string
			code               hep.Code
		}{
			{"unknown patient", missingID, c.ID, hep.CodeNotFound},
			{"unknown account", p.ID, missingID, hep.CodeNotFound},
			{"an admin", p.ID, admin.ID, hep.CodeFailedPrecondition},
			{"a disabled clinician", p.ID, off.ID, hep.CodeFailedPrecondition},
		} {
			e.notAudited("AddCareTeamMember("+tt.name+")", func() {
				_, err := e.store.AddCareTeamMember(ctx, tt.patient, tt.clinician)
				wantErr(t, "AddCareTeamMember("+tt.name+")", err, tt.code, "")
			})
		}
		got, err := e.store.ListCareTeamMembers(e.ctx(), p.ID)
		if err != nil || len(got) != 1 || got[0].ClinicianID != c.ID {
			t.Errorf("after failed adds, ListCareTeamMembers = %+v, %v; want only %s", got, err, c.ID)
		}
	})
}
