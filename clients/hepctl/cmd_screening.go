package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

var screeningCommands = []*command{
	{
		name:     "screening set",
		args:     []string{"PATIENT_ID", "FLAG=STATUS"},
		variadic: true,
		synopsis: "[--note N]",
		summary:  "record screening answers as clinician-verified; the plan is re-gated at once (care-team clinicians only)",
		help: `STATUS is present, absent or unknown; unknown is not absent: an exercise
with a rule for an unknown flag needs screening before it can be prescribed.
FLAG is one of (any case; dashes work for underscores):
` + wrapWords(flagEnum.words(), 76, "  ") + `

For example:

  hepctl screening set PATIENT_ID pregnancy=absent osteoporosis=present --note "DEXA 2026-03"

Plan items the answers block are suspended at once, and clearances for a
flag whose status changed end. The current screening is printed, then the
plan items that changed.`,
		define: func(fs *flag.FlagSet) runner {
			note := fs.String("note", "", "a note kept with every answer of this call")
			return func(ctx context.Context, a *app, args []string) error {
				req := &hepv1.RecordScreeningAnswersRequest{PatientId: args[0]}
				for _, arg := range args[1:] {
					f, st, ok := strings.Cut(arg, "=")
					if !ok {
						return usageErrorf("screening set: %q is not FLAG=STATUS, such as pregnancy=absent", arg)
					}
					fl, err := flagEnum.parse(f)
					if err != nil {
						return usageErrorf("screening set: %v", err)
					}
					status, err := flagStatusEnum.parse(st)
					if err != nil {
						return usageErrorf("screening set: %s: %v", f, err)
					}
					req.Answers = append(req.Answers, &hepv1.ScreeningAnswerInput{
						Flag: hepv1.ScreeningFlag(fl), Status: hepv1.FlagStatus(status), Note: *note,
					})
				}
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewScreeningServiceClient(conn).RecordScreeningAnswers(ctx, req)
				if err != nil {
					return err
				}
				if a.json() {
					return a.printJSON(resp)
				}
				if err := a.printScreening(resp.GetCurrent()); err != nil {
					return err
				}
				return a.printChanged(resp.GetChangedItems(), "plan items changed", "no plan item changed")
			}
		},
	},
	{
		name:    "screening show",
		args:    []string{"PATIENT_ID"},
		summary: "show a patient's current screening: the latest answer per flag (care-team clinicians only)",
		define: func(fs *flag.FlagSet) runner {
			return func(ctx context.Context, a *app, args []string) error {
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewScreeningServiceClient(conn).GetScreening(ctx, &hepv1.GetScreeningRequest{PatientId: args[0]})
				if err != nil {
					return err
				}
				if a.json() {
					return a.printJSON(resp)
				}
				return a.printScreening(resp.GetCurrent())
			}
		},
	},
	{
		name:     "screening history",
		args:     []string{"PATIENT_ID"},
		synopsis: "[--flag FLAG] [--page-size N] [--page-token T] [--all]",
		summary:  "list every screening answer ever recorded for a patient, newest first (care-team clinicians only)",
		define: func(fs *flag.FlagSet) runner {
			only := fs.String("flag", "", "only answers to this screening flag")
			pg := pageFlags(fs)
			return func(ctx context.Context, a *app, args []string) error {
				req := &hepv1.ListScreeningHistoryRequest{PatientId: args[0], PageSize: int32(pg.size), PageToken: pg.token}
				if *only != "" {
					f, err := flagEnum.parse(*only)
					if err != nil {
						return usageErrorf("screening history: --flag: %v", err)
					}
					req.Flag = hepv1.ScreeningFlag(f)
				}
				if err := pg.check(); err != nil {
					return err
				}
				conn, err := a.authed()
				if err != nil {
					return err
				}
				client := hepv1.NewScreeningServiceClient(conn)
				all := &hepv1.ListScreeningHistoryResponse{}
				next, err := pg.fetch(func(token string) (string, error) {
					req.PageToken = token
					resp, err := client.ListScreeningHistory(ctx, req)
					if err != nil {
						return "", err
					}
					all.Answers = append(all.Answers, resp.GetAnswers()...)
					return resp.GetNextPageToken(), nil
				})
				if err != nil {
					return err
				}
				all.NextPageToken = next
				if a.json() {
					return a.printJSON(all)
				}
				rows := make([][]string, 0, len(all.Answers))
				for _, ans := range all.Answers {
					rows = append(rows, []string{fmtTime(ans.GetRecordTime()), flagName(ans.GetFlag()), statusName(ans.GetStatus()),
						sourceName(ans.GetSource()), ans.GetRecordedBy(), ans.GetNote()})
				}
				if err := a.printTable([]string{"WHEN", "FLAG", "STATUS", "SOURCE", "RECORDED BY", "NOTE"}, rows); err != nil {
					return err
				}
				cmd := "screening history " + args[0]
				if req.Flag != hepv1.ScreeningFlag_SCREENING_FLAG_UNSPECIFIED {
					cmd += " --flag " + flagName(req.Flag)
				}
				a.nextPageHint(cmd, all.NextPageToken)
				return nil
			}
		},
	},
	{
		name:     "red-flags",
		args:     []string{"PATIENT_ID", "SYMPTOM"},
		variadic: true,
		synopsis: "[--note N]",
		summary:  "record red-flag symptoms a patient reported to you: raises an urgent alert and suspends the whole plan (care-team clinicians only)",
		help: `SYMPTOM is one of (any case; dashes work for underscores):
` + wrapWords(symptomEnum.words(), 76, "  ") + `

The plan stays on hold until a clinician acknowledges the alert
(hepctl alerts ack PATIENT_ID ALERT_ID --note N). The alert id is printed.`,
		define: func(fs *flag.FlagSet) runner {
			note := fs.String("note", "", "what the patient reported, in your words")
			return func(ctx context.Context, a *app, args []string) error {
				req := &hepv1.ReportRedFlagsRequest{PatientId: args[0], Note: *note}
				for _, s := range args[1:] {
					v, err := symptomEnum.parse(s)
					if err != nil {
						return usageErrorf("red-flags: %v", err)
					}
					req.Symptoms = append(req.Symptoms, hepv1.RedFlagSymptom(v))
				}
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewScreeningServiceClient(conn).ReportRedFlags(ctx, req)
				if err != nil {
					return err
				}
				if a.json() {
					return a.printJSON(resp)
				}
				_, err = fmt.Fprintf(a.stdout, "urgent alert %s raised; the plan of patient %s is on hold until the alert is acknowledged:\n"+
					"  hepctl alerts ack %s %s --note N\n", resp.GetAlertId(), args[0], args[0], resp.GetAlertId())
				return err
			}
		},
	},
}

// printScreening prints the current screening, one answer per flag.
func (a *app) printScreening(current []*hepv1.ScreeningAnswer) error {
	rows := make([][]string, 0, len(current))
	for _, ans := range current {
		rows = append(rows, []string{flagName(ans.GetFlag()), statusName(ans.GetStatus()), sourceName(ans.GetSource()), fmtTime(ans.GetRecordTime())})
	}
	return a.printTable([]string{"FLAG", "STATUS", "SOURCE", "WHEN"}, rows)
}

// printChanged says which plan items a call changed.
func (a *app) printChanged(items []string, some, none string) error {
	var err error
	if len(items) == 0 {
		_, err = fmt.Fprintf(a.stdout, "%s\n", none)
	} else {
		_, err = fmt.Fprintf(a.stdout, "%s: %s\n", some, strings.Join(items, ", "))
	}
	return err
}
