package main

import (
	"context"
	"flag"
	"fmt"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

var careTeamCommands = []*command{
	{
		name:    "careteam add",
		args:    []string{"PATIENT_ID", "CLINICIAN_ID"},
		summary: "give a clinician access to a patient (admins only)",
		define: func(fs *flag.FlagSet) runner {
			return func(ctx context.Context, a *app, args []string) error {
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewPatientServiceClient(conn).AddCareTeamMember(ctx, &hepv1.AddCareTeamMemberRequest{
					PatientId: args[0], ClinicianId: args[1],
				})
				if err != nil {
					return err
				}
				if a.json() {
					return a.printJSON(resp)
				}
				m := resp.GetMember()
				_, err = fmt.Fprintf(a.stdout, "%s (%s) is on the care team of patient %s\n",
					m.GetClinicianDisplayName(), m.GetClinicianId(), m.GetPatientId())
				return err
			}
		},
	},
	{
		name:    "careteam remove",
		args:    []string{"PATIENT_ID", "CLINICIAN_ID"},
		summary: "take a clinician's access to a patient away (admins only)",
		define: func(fs *flag.FlagSet) runner {
			return func(ctx context.Context, a *app, args []string) error {
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewPatientServiceClient(conn).RemoveCareTeamMember(ctx, &hepv1.RemoveCareTeamMemberRequest{
					PatientId: args[0], ClinicianId: args[1],
				})
				if err != nil {
					return err
				}
				if a.json() {
					return a.printJSON(resp)
				}
				_, err = fmt.Fprintf(a.stdout, "removed clinician %s from the care team of patient %s\n", args[1], args[0])
				return err
			}
		},
	},
	{
		name:    "careteam list",
		args:    []string{"PATIENT_ID"},
		summary: "list the clinicians on a patient's care team (admins and care-team clinicians)",
		define: func(fs *flag.FlagSet) runner {
			return func(ctx context.Context, a *app, args []string) error {
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewPatientServiceClient(conn).ListCareTeamMembers(ctx, &hepv1.ListCareTeamMembersRequest{PatientId: args[0]})
				if err != nil {
					return err
				}
				if a.json() {
					return a.printJSON(resp)
				}
				rows := make([][]string, 0, len(resp.GetMembers()))
				for _, m := range resp.GetMembers() {
					rows = append(rows, []string{m.GetClinicianId(), m.GetClinicianDisplayName(), fmtTime(m.GetAddTime())})
				}
				return a.printTable([]string{"CLINICIAN ID", "NAME", "ADDED"}, rows)
			}
		},
	},
}
