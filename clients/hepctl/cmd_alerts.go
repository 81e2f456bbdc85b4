package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

var alertCommands = []*command{
	{
		name:     "alerts list",
		optional: []string{"PATIENT_ID"},
		synopsis: "[--status open|acknowledged] [--kind K,...] [--severity urgent|routine] [--page-size N] [--page-token T] [--all]",
		summary:  "list a patient's alerts, or with no patient those of your whole care team, newest first (care-team clinicians only)",
		help: `Kinds: red_flag, screening_changed, logged_while_suspended, pain_severe,
pain_flare, pain_worsening, non_adherence, function_worsened,
questionnaire_overdue (dashes or capitals also work);
--kind takes a comma-separated list and may be repeated.`,
		define: func(fs *flag.FlagSet) runner {
			status := fs.String("status", "", "list only open or only acknowledged alerts")
			var kinds stringList
			fs.Var(&kinds, "kind", "list only alerts of these kinds (comma-separated, repeatable)")
			severity := fs.String("severity", "", "list only urgent or only routine alerts")
			pg := pageFlags(fs)
			return func(ctx context.Context, a *app, args []string) error {
				req := &hepv1.ListAlertsRequest{PageSize: int32(pg.size), PageToken: pg.token}
				if len(args) > 0 {
					req.PatientId = args[0]
				}
				if *status != "" {
					s, err := alertStatusEnum.parse(*status)
					if err != nil {
						return usageErrorf("alerts list: --status: %v", err)
					}
					req.Status = hepv1.AlertStatus(s)
				}
				for _, list := range kinds {
					for _, k := range strings.Split(list, ",") {
						if strings.TrimSpace(k) == "" {
							continue
						}
						v, err := alertKindEnum.parse(k)
						if err != nil {
							return usageErrorf("alerts list: --kind: %v", err)
						}
						if !slices.Contains(req.Kinds, hepv1.AlertKind(v)) {
							req.Kinds = append(req.Kinds, hepv1.AlertKind(v))
						}
					}
				}
				if *severity != "" {
					v, err := alertSeverityEnum.parse(*severity)
					if err != nil {
						return usageErrorf("alerts list: --severity: %v", err)
					}
					req.Severity = hepv1.AlertSeverity(v)
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
				if err := a.printAlerts(all.Alerts, req.PatientId == ""); err != nil {
					return err
				}
				cmd := "alerts list"
				if req.PatientId != "" {
					cmd += " " + req.PatientId
				}
				if req.Status != hepv1.AlertStatus_ALERT_STATUS_UNSPECIFIED {
					cmd += " --status " + alertStatusName(req.Status)
				}
				if len(req.Kinds) > 0 {
					words := make([]string, len(req.Kinds))
					for i, k := range req.Kinds {
						words[i] = enumWord(k.String(), alertKindEnum.prefix)
					}
					cmd += " --kind " + strings.Join(words, ",")
				}
				if req.Severity != hepv1.AlertSeverity_ALERT_SEVERITY_UNSPECIFIED {
					cmd += " --severity " + severityWord(req.Severity)
				}
				a.nextPageHint(cmd, all.NextPageToken)
				return nil
			}
		},
	},
	{
		name:     "alerts ack",
		args:     []string{"PATIENT_ID", "ALERT_ID"},
		synopsis: "--note N [--times N]",
		summary:  "acknowledge an open alert with what you did; the last red-flag alert lifts the plan's hold (care-team clinicians only)",
		help: `--times is the occurrence count you saw (the TIMES column of alerts list):
if the alert has occurred again since, nothing is acknowledged and the
command says so (exit status 1, aborted), so that your note never covers an
occurrence you did not see. Without it the alert is acknowledged as it is.`,
		define: func(fs *flag.FlagSet) runner {
			note := fs.String("note", "", "what was done about it (required)")
			times := fs.Int("times", 0, "the occurrence count you saw; refuse if it has changed (0: do not check)")
			return func(ctx context.Context, a *app, args []string) error {
				if *note == "" {
					return usageErrorf("alerts ack: --note is required")
				}
				if *times < 0 || *times > 1<<30 {
					return usageErrorf("alerts ack: --times must be 0 or more")
				}
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewAlertServiceClient(conn).AcknowledgeAlert(ctx, &hepv1.AcknowledgeAlertRequest{
					PatientId: args[0], AlertId: args[1], Note: *note, ExpectedOccurrenceCount: int32(*times),
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
	alertOccurrencesCommand,
}

// alertOccurrencesCommand lists one alert's occurrences.
var alertOccurrencesCommand = &command{
	name:     "alerts occurrences",
	args:     []string{"PATIENT_ID", "ALERT_ID"},
	synopsis: "[--page-size N] [--page-token T] [--all]",
	summary:  "list every occurrence of an alert, newest first (care-team clinicians only)",
	define: func(fs *flag.FlagSet) runner {
		pg := pageFlags(fs)
		return func(ctx context.Context, a *app, args []string) error {
			if err := pg.check(); err != nil {
				return err
			}
			conn, err := a.authed()
			if err != nil {
				return err
			}
			client := hepv1.NewAlertServiceClient(conn)
			req := &hepv1.ListAlertOccurrencesRequest{PatientId: args[0], AlertId: args[1], PageSize: int32(pg.size)}
			all := &hepv1.ListAlertOccurrencesResponse{}
			next, err := pg.fetch(func(token string) (string, error) {
				req.PageToken = token
				resp, err := client.ListAlertOccurrences(ctx, req)
				if err != nil {
					return "", err
				}
				all.Occurrences = append(all.Occurrences, resp.GetOccurrences()...)
				return resp.GetNextPageToken(), nil
			})
			if err != nil {
				return err
			}
			all.NextPageToken = next
			if a.json() {
				return a.printJSON(all)
			}
			rows := make([][]string, 0, len(all.Occurrences))
			for _, o := range all.Occurrences {
				rows = append(rows, []string{o.GetId(), fmtTime(o.GetOccurTime()), o.GetTrigger(), o.GetSummary()})
			}
			if err := a.printTable([]string{"ID", "OCCURRED", "TRIGGER", "SUMMARY"}, rows); err != nil {
				return err
			}
			a.nextPageHint("alerts occurrences "+args[0]+" "+args[1], all.NextPageToken)
			return nil
		}
	},
}

// printAlerts writes an alert table; a care-team list (team) names each
// alert's patient.
func (a *app) printAlerts(alerts []*hepv1.Alert, team bool) error {
	header := []string{"ID", "RAISED", "SEVERITY", "KIND", "STATUS", "TIMES", "LATEST", "SUMMARY"}
	if team {
		header = append([]string{"PATIENT_ID"}, header...)
	}
	rows := make([][]string, 0, len(alerts))
	for _, al := range alerts {
		row := []string{al.GetId(), fmtTime(al.GetCreateTime()), severityWord(al.GetSeverity()),
			alertKindName(al.GetKind()), alertStatusName(al.GetStatus()), fmt.Sprint(al.GetOccurrenceCount()),
			fmtTime(al.GetLatestOccurrenceTime()), al.GetSummary()}
		if team {
			row = append([]string{al.GetPatientId()}, row...)
		}
		rows = append(rows, row)
	}
	return a.printTable(header, rows)
}
