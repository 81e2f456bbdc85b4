package main

import (
	"context"
	"flag"

	"google.golang.org/protobuf/proto"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

var patientCommands = []*command{
	{
		name:     "patients create",
		synopsis: "--name N --tz ZONE [--mrn M]",
		summary:  "create a patient; you join the patient's care team (clinicians only)",
		define: func(fs *flag.FlagSet) runner {
			name := fs.String("name", "", "the patient's display name (required)")
			tz := fs.String("tz", "", `the patient's IANA time zone, such as "Europe/Lisbon" (required)`)
			mrn := fs.String("mrn", "", "the clinic's medical record number")
			return func(ctx context.Context, a *app, _ []string) error {
				if *name == "" || *tz == "" {
					return usageErrorf("patients create: --name and --tz are required")
				}
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewPatientServiceClient(conn).CreatePatient(ctx, &hepv1.CreatePatientRequest{
					DisplayName: *name, TimeZone: *tz, ExternalMrn: *mrn,
				})
				if err != nil {
					return err
				}
				return a.printPatient(resp, resp.GetPatient())
			}
		},
	},
	{
		name:     "patients list",
		synopsis: "[--page-size N] [--page-token T] [--all]",
		summary:  "list your care-team patients in creation order (clinicians only)",
		define: func(fs *flag.FlagSet) runner {
			pg := pageFlags(fs)
			return func(ctx context.Context, a *app, _ []string) error {
				if err := pg.check(); err != nil {
					return err
				}
				conn, err := a.authed()
				if err != nil {
					return err
				}
				client := hepv1.NewPatientServiceClient(conn)
				req := &hepv1.ListPatientsRequest{PageSize: int32(pg.size), PageToken: pg.token}
				all := &hepv1.ListPatientsResponse{}
				next, err := pg.fetch(func(token string) (string, error) {
					req.PageToken = token
					resp, err := client.ListPatients(ctx, req)
					if err != nil {
						return "", err
					}
					all.Patients = append(all.Patients, resp.GetPatients()...)
					return resp.GetNextPageToken(), nil
				})
				if err != nil {
					return err
				}
				all.NextPageToken = next
				if a.json() {
					return a.printJSON(all)
				}
				rows := make([][]string, 0, len(all.Patients))
				for _, p := range all.Patients {
					rows = append(rows, []string{p.GetId(), p.GetDisplayName(), p.GetTimeZone(), p.GetExternalMrn(), fmtTime(p.GetCreateTime())})
				}
				if err := a.printTable([]string{"ID", "NAME", "TIME ZONE", "MRN", "CREATED"}, rows); err != nil {
					return err
				}
				a.nextPageHint("patients list", all.NextPageToken)
				return nil
			}
		},
	},
	{
		name:    "patients get",
		args:    []string{"PATIENT_ID"},
		summary: "show one patient (care-team clinicians only)",
		define: func(fs *flag.FlagSet) runner {
			return func(ctx context.Context, a *app, args []string) error {
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewPatientServiceClient(conn).GetPatient(ctx, &hepv1.GetPatientRequest{PatientId: args[0]})
				if err != nil {
					return err
				}
				return a.printPatient(resp, resp.GetPatient())
			}
		},
	},
	{
		name:     "patients update",
		args:     []string{"PATIENT_ID"},
		synopsis: "[--name N] [--tz ZONE] [--mrn M]",
		summary:  "change a patient's name, time zone or MRN (care-team clinicians only)",
		help:     `Only the flags given are changed. --mrn "" clears the MRN.`,
		define: func(fs *flag.FlagSet) runner {
			var name, tz, mrn optionalString
			fs.Var(&name, "name", "the new display name")
			fs.Var(&tz, "tz", "the new IANA time zone")
			fs.Var(&mrn, "mrn", `the new medical record number ("" clears it)`)
			return func(ctx context.Context, a *app, args []string) error {
				if !name.set && !tz.set && !mrn.set {
					return usageErrorf("patients update: nothing to change: give --name, --tz or --mrn")
				}
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewPatientServiceClient(conn).UpdatePatient(ctx, &hepv1.UpdatePatientRequest{
					PatientId: args[0], DisplayName: name.ptr(), TimeZone: tz.ptr(), ExternalMrn: mrn.ptr(),
				})
				if err != nil {
					return err
				}
				return a.printPatient(resp, resp.GetPatient())
			}
		},
	},
}

// printPatient prints resp as JSON, or p as fields.
func (a *app) printPatient(resp proto.Message, p *hepv1.Patient) error {
	if a.json() {
		return a.printJSON(resp)
	}
	return a.printFields([][2]string{
		{"id", p.GetId()},
		{"name", p.GetDisplayName()},
		{"time zone", p.GetTimeZone()},
		{"mrn", p.GetExternalMrn()},
		{"created", fmtTime(p.GetCreateTime())},
		{"updated", fmtTime(p.GetUpdateTime())},
	})
}
