package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

var deviceCommands = []*command{
	{
		name:     "enroll-code",
		args:     []string{"PATIENT_ID"},
		synopsis: "[--ttl 24h]",
		summary:  "create a one-time code the patient types into the app (care-team clinicians only)",
		help: `The code is shown once; the server keeps only its hash. Give it to the
patient in person or by phone. --ttl is between 1m and 72h.`,
		define: func(fs *flag.FlagSet) runner {
			ttl := fs.Duration("ttl", 24*time.Hour, "how long the code stays valid (1m to 72h)")
			return func(ctx context.Context, a *app, args []string) error {
				// The server enforces the range; this only keeps the value an
				// int32 number of seconds.
				if *ttl < time.Second || *ttl >= 1<<31*time.Second {
					return usageErrorf("enroll-code: --ttl must be a duration between 1m and 72h, such as 30m or 48h")
				}
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewDeviceServiceClient(conn).CreateEnrollmentCode(ctx, &hepv1.CreateEnrollmentCodeRequest{
					PatientId: args[0], TtlSeconds: int32(*ttl / time.Second),
				})
				if err != nil {
					return err
				}
				if a.json() {
					return a.printJSON(resp)
				}
				_, err = fmt.Fprintf(a.stdout, "%s  (expires %s)\n", resp.GetCode(), fmtTime(resp.GetExpireTime()))
				return err
			}
		},
	},
	{
		name:    "devices list",
		args:    []string{"PATIENT_ID"},
		summary: "list a patient's devices, revoked ones included (care-team clinicians only)",
		define: func(fs *flag.FlagSet) runner {
			return func(ctx context.Context, a *app, args []string) error {
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewDeviceServiceClient(conn).ListDevices(ctx, &hepv1.ListDevicesRequest{PatientId: args[0]})
				if err != nil {
					return err
				}
				if a.json() {
					return a.printJSON(resp)
				}
				rows := make([][]string, 0, len(resp.GetDevices()))
				for _, d := range resp.GetDevices() {
					rows = append(rows, []string{d.GetId(), d.GetName(), platformName(d.GetPlatform()),
						fmtTime(d.GetEnrollTime()), fmtTime(d.GetRevokeTime())})
				}
				return a.printTable([]string{"ID", "NAME", "PLATFORM", "ENROLLED", "REVOKED"}, rows)
			}
		},
	},
	{
		name:    "devices revoke",
		args:    []string{"PATIENT_ID", "DEVICE_ID"},
		summary: "revoke a patient's device; its tokens stop working at once (care-team clinicians only)",
		define: func(fs *flag.FlagSet) runner {
			return func(ctx context.Context, a *app, args []string) error {
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewDeviceServiceClient(conn).RevokeDevice(ctx, &hepv1.RevokeDeviceRequest{
					PatientId: args[0], DeviceId: args[1],
				})
				if err != nil {
					return err
				}
				if a.json() {
					return a.printJSON(resp)
				}
				d := resp.GetDevice()
				_, err = fmt.Fprintf(a.stdout, "revoked device %s (%s) at %s\n", d.GetId(), d.GetName(), fmtTime(d.GetRevokeTime()))
				return err
			}
		},
	},
}
