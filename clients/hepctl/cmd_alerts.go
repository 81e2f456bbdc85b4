package main

import (
	"context"
	"flag"
	"fmt"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

var alertCommands = []*command{
	{
		name:     "alerts list",
		args:     []string{"PATIENT_ID"},
		synopsis: "[--status open|acknowledged] [--page-size N] [--page-token T] [--all]",
		summary:  "list a patient's alerts, newest first (care-team clinicians only)",
		define: func(fs *flag.FlagSet) runner {
			status := fs.String("status", "", "list only open or only acknowledged alerts")
			pg := pageFlags(fs)
			return func(ctx context.Context, a *app, args []string) error {
				req := &hepv1.ListAlertsRequest{PatientId: args[0], PageSize: int32(pg.size), PageToken: pg.token}
				if *status != "" {
					s, err := alertStatusEnum.parse(*status)
					if err != nil {
						return usageErrorf("alerts list: --status: %v", err)
					}
					req.Status = hepv1.AlertStatus(s)
				}
				if err := pg.check(); err != nil {
					return err
				}
				conn, err := a.authed()
				if err != nil {
					return err
				}
				client := hepv1.NewAlertServiceClient(conn)
				all := &hepv1.ListAlertsResponse{}
				next, err := pg.fetch(func(token string) (string, error) {
					req.PageToken = token
					resp, err := client.ListAlerts(ctx, req)
					if err != nil {
						return "", err
					}
					all.Alerts = append(all.Alerts, resp.GetAlerts()...)
					return resp.GetNextPageToken(), nil
				})
				if err != nil {
					return err
				}
				all.NextPageToken = next
				if a.json() {
					return a.printJSON(all)
				}
				rows := make([][]string, 0, len(all.Alerts))
				for _, al := range all.Alerts {
					rows = append(rows, []string{al.GetId(), fmtTime(al.GetCreateTime()), severityWord(al.GetSeverity()),
						alertKindName(al.GetKind()), alertStatusName(al.GetStatus()), al.GetSummary()})
				}
				if err := a.printTable([]string{"ID", "RAISED", "SEVERITY", "KIND", "STATUS", "SUMMARY"}, rows); err != nil {
					return err
				}
				cmd := "alerts list " + args[0]
				if req.Status != hepv1.AlertStatus_ALERT_STATUS_UNSPECIFIED {
					cmd += " --status " + alertStatusName(req.Status)
				}
				a.nextPageHint(cmd, all.NextPageToken)
				return nil
			}
		},
	},
	{
		name:     "alerts ack",
		args:     []string{"PATIENT_ID", "ALERT_ID"},
		synopsis: "--note N",
		summary:  "acknowledge an open alert with what you did; the last red-flag alert lifts the plan's hold (care-team clinicians only)",
		define: func(fs *flag.FlagSet) runner {
			note := fs.String("note", "", "what was done about it (required)")
			return func(ctx context.Context, a *app, args []string) error {
				if *note == "" {
					return usageErrorf("alerts ack: --note is required")
				}
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewAlertServiceClient(conn).AcknowledgeAlert(ctx, &hepv1.AcknowledgeAlertRequest{
					PatientId: args[0], AlertId: args[1], Note: *note,
				})
				if err != nil {
					return err
				}
				if a.json() {
					return a.printJSON(resp)
				}
				al := resp.GetAlert()
				fmt.Fprintf(a.stdout, "acknowledged alert %s at %s\n", al.GetId(), fmtTime(al.GetAcknowledgeTime()))
				return a.printChanged(resp.GetChangedItems(), "plan items changed", "no plan item changed")
			}
		},
	},
}
