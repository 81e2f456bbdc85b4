package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// logCommands show what a patient's phone synced: exercise sessions and pain
// check-ins. Times are the server-corrected ones (the phone's clock may be
// wrong); superseded and deleted records are left out by the server.
var logCommands = []*command{
	{
		name:     "logs list",
		args:     []string{"PATIENT_ID"},
		synopsis: "[--page-size N] [--page-token T] [--all]",
		summary:  "list a patient's logged exercise sessions, newest first (care-team clinicians only)",
		help: `Columns: when the session was done (corrected for the phone's clock),
the exercise, sets x reps done, the hold per rep, the pain score (0-10)
before -> after, and how hard it felt. "(suspended)" marks a session of a
plan item that was suspended when the log arrived.`,
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
				client := hepv1.NewExerciseLogServiceClient(conn)
				req := &hepv1.ListExerciseLogsRequest{PatientId: args[0], PageSize: int32(pg.size), PageToken: pg.token}
				all := &hepv1.ListExerciseLogsResponse{}
				next, err := pg.fetch(func(token string) (string, error) {
					req.PageToken = token
					resp, err := client.ListExerciseLogs(ctx, req)
					if err != nil {
						return "", err
					}
					all.Logs = append(all.Logs, resp.GetLogs()...)
					return resp.GetNextPageToken(), nil
				})
				if err != nil {
					return err
				}
				all.NextPageToken = next
				if a.json() {
					return a.printJSON(all)
				}
				rows := make([][]string, 0, len(all.Logs))
				for _, l := range all.Logs {
					ex := l.GetExerciseId()
					if l.GetItemSuspended() {
						ex += " (suspended)"
					}
					rows = append(rows, []string{fmtTime(l.GetCorrectedPerformTime()), ex,
						fmt.Sprintf("%dx%d", l.GetSetsDone(), l.GetRepsDone()), fmtHold(l.GetHoldSecondsDone()),
						fmtPainChange(l.PainBefore, l.PainAfter), difficultyName(l.GetDifficulty())})
				}
				if err := a.printTable([]string{"WHEN", "EXERCISE", "SETS x REPS", "HOLD", "PAIN", "DIFFICULTY"}, rows); err != nil {
					return err
				}
				a.nextPageHint("logs list "+args[0], all.NextPageToken)
				return nil
			}
		},
	},
	{
		name:     "pain list",
		args:     []string{"PATIENT_ID"},
		synopsis: "[--page-size N] [--page-token T] [--all]",
		summary:  "list a patient's pain check-ins, newest first (care-team clinicians only)",
		help: `Columns: when the patient scored (corrected for the phone's clock), the
pain score (0-10), where it hurt, and the red-flag symptoms reported with it
(each of which raised an urgent alert).`,
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
				client := hepv1.NewExerciseLogServiceClient(conn)
				req := &hepv1.ListPainCheckinsRequest{PatientId: args[0], PageSize: int32(pg.size), PageToken: pg.token}
				all := &hepv1.ListPainCheckinsResponse{}
				next, err := pg.fetch(func(token string) (string, error) {
					req.PageToken = token
					resp, err := client.ListPainCheckins(ctx, req)
					if err != nil {
						return "", err
					}
					all.Checkins = append(all.Checkins, resp.GetCheckins()...)
					return resp.GetNextPageToken(), nil
				})
				if err != nil {
					return err
				}
				all.NextPageToken = next
				if a.json() {
					return a.printJSON(all)
				}
				rows := make([][]string, 0, len(all.Checkins))
				for _, c := range all.Checkins {
					flags := make([]string, len(c.GetRedFlags()))
					for i, f := range c.GetRedFlags() {
						flags[i] = enumWord(f.String(), symptomEnum.prefix)
					}
					rows = append(rows, []string{fmtTime(c.GetCorrectedRecordTime()), fmt.Sprintf("%d/10", c.GetScore()),
						painLocationName(c.GetLocation()), strings.Join(flags, ", ")})
				}
				if err := a.printTable([]string{"WHEN", "SCORE", "LOCATION", "RED FLAGS"}, rows); err != nil {
					return err
				}
				a.nextPageHint("pain list "+args[0], all.NextPageToken)
				return nil
			}
		},
	},
}

// fmtHold shows the hold per rep: "10s", "1 min 30s"; "" for none.
func fmtHold(s int32) string {
	if s <= 0 {
		return ""
	}
	return fmtSeconds(s)
}

// fmtPainChange shows NRS scores before and after a session: "4→2", "4→?",
// "?→2"; "" when neither was given.
func fmtPainChange(before, after *int32) string {
	if before == nil && after == nil {
		return ""
	}
	score := func(p *int32) string {
		if p == nil {
			return "?"
		}
		return fmt.Sprint(*p)
	}
	return score(before) + "→" + score(after)
}

func difficultyName(d hepv1.Difficulty) string {
	return enumPhrase(d.String(), "DIFFICULTY_")
}

func painLocationName(l hepv1.PainLocation) string {
	return enumPhrase(l.String(), "PAIN_LOCATION_")
}
