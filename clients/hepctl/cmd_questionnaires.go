package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

var questionnaireCommands = []*command{
	{
		name:    "questionnaires instruments",
		summary: "list the outcome instruments hep scores, with their MCIDs (clinicians only)",
		define: func(fs *flag.FlagSet) runner {
			return func(ctx context.Context, a *app, args []string) error {
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewOutcomeServiceClient(conn).ListInstruments(ctx, &hepv1.ListInstrumentsRequest{})
				if err != nil {
					return err
				}
				if a.json() {
					return a.printJSON(resp)
				}
				var rows [][]string
				for _, in := range resp.GetInstruments() {
					dir := "lower is better"
					if in.GetHigherIsBetter() {
						dir = "higher is better"
					}
					text := "ships with hep"
					if !in.GetTextLicensed() {
						text = "licensed: not shipped"
					}
					rows = append(rows, []string{in.GetId(), in.GetTitle(), fmt.Sprintf("%g-%g, %s", in.GetScoreMin(), in.GetScoreMax(), dir),
						instrumentMCID(in.GetMcidPoints(), in.GetMcidPercent()), text})
				}
				return a.printTable([]string{"ID", "TITLE", "SCORE", "MCID", "ITEM TEXT"}, rows)
			}
		},
	},
	{
		name:    "questionnaires import",
		args:    []string{"FILE"},
		summary: "import the clinic's licensed text of an instrument hep does not ship the text of (the ODI), a FHIR Questionnaire; - reads standard input (admins only)",
		help: `FILE is a FHIR R4 Questionnaire with the built-in instrument's id, url and
structure (hepctl -o json questionnaires instruments shows it as
questionnaire_json): only the title, description, copyright, item texts
and option displays may differ. The newest import applies; the phones of
patients with the instrument assigned pull it at their next sync.`,
		define: func(fs *flag.FlagSet) runner {
			return func(ctx context.Context, a *app, args []string) error {
				raw, err := a.readInput(args[0])
				if err != nil {
					return err
				}
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewOutcomeServiceClient(conn).ImportInstrumentText(ctx, &hepv1.ImportInstrumentTextRequest{QuestionnaireJson: string(raw)})
				if err != nil {
					return err
				}
				if a.json() {
					return a.printJSON(resp)
				}
				in := resp.GetInstrument()
				return a.printFields([][2]string{{"instrument", in.GetId()}, {"title", in.GetTitle()}, {"text", "the clinic's import"}})
			}
		},
	},
	{
		name:     "questionnaires assign",
		args:     []string{"PATIENT_ID", "INSTRUMENT"},
		synopsis: "[--start YYYY-MM-DD] [--every-weeks N] [--visit YYYY-MM-DD]... [--end YYYY-MM-DD]",
		summary:  "give a patient an outcome questionnaire on a schedule (care-team clinicians only)",
		help: `The baseline is due on --start (default: the patient's today), then every
--every-weeks weeks (0: the baseline only), and 3 days before each --visit.
Days are the patient's. The phone learns of it at its next sync.`,
		define: func(fs *flag.FlagSet) runner {
			start := fs.String("start", "", "the baseline's day (YYYY-MM-DD, the patient's)")
			every := fs.Int("every-weeks", 0, "repeat every N weeks, 0-52 (0: baseline only)")
			var visits stringList
			fs.Var(&visits, "visit", "a follow-up visit day (YYYY-MM-DD; repeatable)")
			end := fs.String("end", "", "nothing is due after this day (YYYY-MM-DD)")
			return func(ctx context.Context, a *app, args []string) error {
				const cmd = "questionnaires assign"
				if *every < 0 || *every > 52 {
					return usageErrorf("%s: --every-weeks must be from 0 to 52", cmd)
				}
				req := &hepv1.AssignQuestionnaireRequest{PatientId: args[0], InstrumentId: strings.ToLower(args[1]), EveryWeeks: int32(*every)}
				var err error
				if req.StartDate, err = parseDateFlag(cmd, "start", *start); err != nil {
					return err
				}
				if req.EndDate, err = parseDateFlag(cmd, "end", *end); err != nil {
					return err
				}
				for _, list := range visits {
					for _, v := range strings.Split(list, ",") {
						d, err := parseDateFlag(cmd, "visit", strings.TrimSpace(v))
						if err != nil {
							return err
						}
						if d != nil {
							req.VisitDates = append(req.VisitDates, d)
						}
					}
				}
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewOutcomeServiceClient(conn).AssignQuestionnaire(ctx, req)
				if err != nil {
					return err
				}
				if a.json() {
					return a.printJSON(resp)
				}
				return a.printAssignment(resp.GetAssignment())
			}
		},
	},
	{
		name:     "questionnaires list",
		args:     []string{"PATIENT_ID"},
		synopsis: "[--ended]",
		summary:  "list a patient's questionnaire assignments with what is due and overdue (care-team clinicians only)",
		define: func(fs *flag.FlagSet) runner {
			ended := fs.Bool("ended", false, "include ended assignments")
			return func(ctx context.Context, a *app, args []string) error {
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewOutcomeServiceClient(conn).ListAssignments(ctx, &hepv1.ListAssignmentsRequest{PatientId: args[0], IncludeEnded: *ended})
				if err != nil {
					return err
				}
				if a.json() {
					return a.printJSON(resp)
				}
				var rows [][]string
				for _, as := range resp.GetAssignments() {
					status := "active"
					if as.GetEndTime() != nil {
						status = "ended " + fmtTime(as.GetEndTime())
					}
					next := ""
					if n := as.GetNextDue(); n != nil {
						next = fmtDate(n.GetDueDate())
					}
					var over []string
					for _, o := range as.GetOverdue() {
						over = append(over, fmtDate(o.GetDueDate()))
					}
					rows = append(rows, []string{as.GetId(), as.GetInstrumentId(), scheduleText(as), status, next, strings.Join(over, " ")})
				}
				return a.printTable([]string{"ID", "INSTRUMENT", "SCHEDULE", "STATUS", "NEXT DUE", "OVERDUE"}, rows)
			}
		},
	},
	{
		name:    "questionnaires end",
		args:    []string{"PATIENT_ID", "ASSIGNMENT_ID"},
		summary: "end a questionnaire assignment: nothing more is due (care-team clinicians only)",
		define: func(fs *flag.FlagSet) runner {
			return func(ctx context.Context, a *app, args []string) error {
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewOutcomeServiceClient(conn).EndAssignment(ctx, &hepv1.EndAssignmentRequest{PatientId: args[0], AssignmentId: args[1]})
				if err != nil {
					return err
				}
				if a.json() {
					return a.printJSON(resp)
				}
				return a.printAssignment(resp.GetAssignment())
			}
		},
	},
	{
		name:     "questionnaires responses",
		args:     []string{"PATIENT_ID"},
		synopsis: "[--assignment ID] [--page-size N] [--page-token T] [--all]",
		summary:  "list a patient's scored questionnaire responses, newest slot first (care-team clinicians only)",
		define: func(fs *flag.FlagSet) runner {
			assignment := fs.String("assignment", "", "only this assignment's responses")
			pg := pageFlags(fs)
			return func(ctx context.Context, a *app, args []string) error {
				if err := pg.check(); err != nil {
					return err
				}
				conn, err := a.authed()
				if err != nil {
					return err
				}
				client := hepv1.NewOutcomeServiceClient(conn)
				req := &hepv1.ListQuestionnaireResponsesRequest{PatientId: args[0], AssignmentId: *assignment, PageSize: int32(pg.size)}
				all := &hepv1.ListQuestionnaireResponsesResponse{}
				next, err := pg.fetch(func(token string) (string, error) {
					req.PageToken = token
					resp, err := client.ListQuestionnaireResponses(ctx, req)
					if err != nil {
						return "", err
					}
					all.Responses = append(all.Responses, resp.GetResponses()...)
					return resp.GetNextPageToken(), nil
				})
				if err != nil {
					return err
				}
				all.NextPageToken = next
				if a.json() {
					return a.printJSON(all)
				}
				var rows [][]string
				for _, r := range all.GetResponses() {
					score := "not scorable"
					if r.Score != nil {
						score = strconv.FormatFloat(r.GetScore(), 'f', -1, 64)
					}
					rows = append(rows, []string{fmtDate(r.GetSlotDate()), r.GetInstrumentId(), score, strconv.Itoa(len(r.GetAnswers())),
						fmtTime(r.GetCorrectedAuthoredTime()), r.GetId()})
				}
				if err := a.printTable([]string{"SLOT", "INSTRUMENT", "SCORE", "ANSWERS", "AUTHORED", "ID"}, rows); err != nil {
					return err
				}
				cmd := "questionnaires responses " + args[0]
				if *assignment != "" {
					cmd += " --assignment " + *assignment
				}
				a.nextPageHint(cmd, all.NextPageToken)
				return nil
			}
		},
	},
}

func instrumentMCID(points, percent float64) string {
	s := fmt.Sprintf("%g points", points)
	if percent > 0 {
		s += fmt.Sprintf(" or %g%%", percent)
	}
	return s
}

func scheduleText(as *hepv1.Assignment) string {
	s := "baseline " + fmtDate(as.GetStartDate())
	if n := as.GetEveryWeeks(); n == 1 {
		s += ", then weekly"
	} else if n > 1 {
		s += fmt.Sprintf(", then every %d weeks", n)
	}
	if vs := as.GetVisitDates(); len(vs) > 0 {
		days := make([]string, len(vs))
		for i, v := range vs {
			days[i] = fmtDate(v)
		}
		s += ", before visits " + strings.Join(days, " ")
	}
	if e := as.GetEndDate(); e != nil {
		s += ", until " + fmtDate(e)
	}
	return s
}

func (a *app) printAssignment(as *hepv1.Assignment) error {
	f := [][2]string{{"assignment", as.GetId()}, {"instrument", as.GetInstrumentId()}, {"schedule", scheduleText(as)}}
	if as.GetEndTime() != nil {
		f = append(f, [2]string{"ended", fmtTime(as.GetEndTime())})
	}
	return a.printFields(f)
}

// printOutcomes writes progress's questionnaire series.
func (a *app) printOutcomes(p *hepv1.Progress) error {
	if len(p.GetOutcomes()) == 0 {
		return nil
	}
	var rows [][]string
	for _, o := range p.GetOutcomes() {
		var scores []string
		for _, pt := range o.GetPoints() {
			if pt.Score != nil {
				scores = append(scores, fmt.Sprintf("%s %g", fmtDate(pt.GetSlotDate()), pt.GetScore()))
			} else {
				scores = append(scores, fmtDate(pt.GetSlotDate())+" -")
			}
		}
		base, change := "", ""
		if o.Baseline != nil {
			base = strconv.FormatFloat(o.GetBaseline(), 'f', -1, 64)
		}
		if o.Latest != nil {
			change = fmt.Sprintf("%s (%s)", fmtSigned(o.GetDelta()), enumWord(o.GetChange().String(), "OUTCOME_CHANGE_"))
		}
		var over []string
		for _, d := range o.GetOverdue() {
			over = append(over, fmtDate(d.GetDueDate()))
		}
		rows = append(rows, []string{o.GetInstrumentId(), base, change, instrumentMCID(o.GetMcidPoints(), o.GetMcidPercent()),
			strings.Join(scores, ", "), strings.Join(over, " ")})
	}
	fmt.Fprintln(a.stdout)
	fmt.Fprintln(a.stdout, "Outcome measures:")
	return a.printTable([]string{"INSTRUMENT", "BASELINE", "CHANGE", "MCID", "SCORES", "OVERDUE"}, rows)
}
