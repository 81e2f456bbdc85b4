package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// planFileHelp documents the plan file of plan set and plan check.
const planFileHelp = `The plan file is a JSON array of plan items (hep.v1.PlanItemSpec in
protobuf JSON; snake_case or camelCase field names), "-" for standard input:

  [
    {"exercise_id": "cat-cow",
     "dose": {"sets": 2, "reps": 10, "hold_seconds": 5},
     "frequency": {"times_per_day": 1, "days_per_week": 5},
     "start_date": {"year": 2026, "month": 3, "day": 2}},
    {"exercise_id": "inversion-table",
     "dose": {"duration_seconds": 180, "angle_degrees": 20},
     "frequency": {"times_per_day": 1,
                   "weekdays": ["WEEKDAY_MONDAY", "WEEKDAY_WEDNESDAY", "WEEKDAY_FRIDAY"]},
     "start_date": {"year": 2026, "month": 3, "day": 2},
     "end_date": {"year": 2026, "month": 4, "day": 30},
     "notes": "Stop at once if you feel dizzy."}
  ]

An item without "dose" gets the catalog's default dose. A frequency has
days_per_week (1-7) or weekdays, not both. Dates are days in the patient's
time zone; end_date is optional. The items of the current plan, ready to
edit, come from:

  hepctl -o json plan show PATIENT_ID | jq '[.plan.items[].spec]'`

var planCommands = []*command{
	{
		name:     "plan show",
		args:     []string{"PATIENT_ID"},
		synopsis: "[--version N]",
		summary:  "show a patient's plan: every item with its dose, schedule, state and the reasons it is suspended",
		define: func(fs *flag.FlagSet) runner {
			version := fs.Int64("version", 0, "show this version instead of the current one")
			return func(ctx context.Context, a *app, args []string) error {
				if *version < 0 {
					return usageErrorf("plan show: --version must be 1 or more")
				}
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewPlanServiceClient(conn).GetPlan(ctx, &hepv1.GetPlanRequest{PatientId: args[0], Version: *version})
				if err != nil {
					return err
				}
				if a.json() {
					return a.printJSON(resp)
				}
				return a.printPlan(resp.GetPlan())
			}
		},
	},
	{
		name:     "plan set",
		args:     []string{"PATIENT_ID"},
		synopsis: "--file F|- [--expected-version N] [--note N]",
		summary:  "write a new version of a patient's plan; refused if the gate blocks any item (care-team clinicians only)",
		help: planFileHelp + `

The new version replaces the whole plan. Without --expected-version, hepctl
reads the current version first; either way, if someone else writes the plan
in between, nothing is written and you are told to re-run. If the gate
blocks an item (contraindicated, needing clearance or screening), nothing is
written and every reason is printed: see "hepctl plan check" for a dry run
and "hepctl plan clear" to clear an item.`,
		define: func(fs *flag.FlagSet) runner {
			file := fs.String("file", "", `the plan file, or "-" for standard input (required)`)
			var expected optionalInt64
			fs.Var(&expected, "expected-version", "the `version` this one replaces: 0 for the first plan (default: the current version)")
			note := fs.String("note", "", "a note on this version")
			return func(ctx context.Context, a *app, args []string) error {
				if *file == "" {
					return usageErrorf("plan set: --file is required (run \"hepctl plan set -h\" for its format)")
				}
				if expected.set && expected.value < 0 {
					return usageErrorf("plan set: --expected-version must be 0 or more")
				}
				items, err := a.readPlanItems("plan set", *file)
				if err != nil {
					return err
				}
				conn, err := a.authed()
				if err != nil {
					return err
				}
				if err := fillDefaultDoses(ctx, conn, items); err != nil {
					return err
				}
				client := hepv1.NewPlanServiceClient(conn)
				if !expected.set {
					cur, err := client.GetPlan(ctx, &hepv1.GetPlanRequest{PatientId: args[0]})
					if err != nil {
						return err
					}
					expected.value = cur.GetPlan().GetVersion()
				}
				resp, err := client.SetPlan(ctx, &hepv1.SetPlanRequest{
					PatientId: args[0], ExpectedVersion: expected.value, Items: items, Note: *note,
				})
				if err != nil {
					return err
				}
				if a.json() {
					return a.printJSON(resp)
				}
				fmt.Fprintf(a.stdout, "wrote version %d of the plan of patient %s\n\n", resp.GetPlan().GetVersion(), args[0])
				return a.printPlan(resp.GetPlan())
			}
		},
	},
	{
		name:     "plan check",
		args:     []string{"PATIENT_ID"},
		synopsis: "--file F|-",
		summary:  "dry run: what the gate decides for each proposed item, with every reason; writes nothing",
		help: planFileHelp + `

The exit status is 0 whatever the gate decides; the last line says whether
"hepctl plan set" would accept the items ("writable") or not ("not writable").`,
		define: func(fs *flag.FlagSet) runner {
			file := fs.String("file", "", `the plan file, or "-" for standard input (required)`)
			return func(ctx context.Context, a *app, args []string) error {
				if *file == "" {
					return usageErrorf("plan check: --file is required (run \"hepctl plan check -h\" for its format)")
				}
				items, err := a.readPlanItems("plan check", *file)
				if err != nil {
					return err
				}
				conn, err := a.authed()
				if err != nil {
					return err
				}
				if err := fillDefaultDoses(ctx, conn, items); err != nil {
					return err
				}
				resp, err := hepv1.NewPlanServiceClient(conn).CheckPlan(ctx, &hepv1.CheckPlanRequest{PatientId: args[0], Items: items})
				if err != nil {
					return err
				}
				if a.json() {
					return a.printJSON(resp)
				}
				var rows [][]string
				for _, d := range resp.GetDecisions() {
					if len(d.GetReasons()) == 0 {
						rows = append(rows, []string{d.GetExerciseId(), outcomeName(d.GetOutcome()), ""})
					}
					for _, r := range d.GetReasons() {
						rows = append(rows, []string{d.GetExerciseId(), outcomeName(d.GetOutcome()), reasonText(r)})
					}
				}
				if err := a.printTable([]string{"EXERCISE", "OUTCOME", "REASON"}, rows); err != nil {
					return err
				}
				if resp.GetWritable() {
					_, err = fmt.Fprintln(a.stdout, "writable: plan set would accept these items")
				} else {
					_, err = fmt.Fprintln(a.stdout, "not writable: plan set would refuse these items until the blocked ones are cleared, screened for or removed")
				}
				return err
			}
		},
	},
	{
		name:     "plan clear",
		args:     []string{"PATIENT_ID", "EXERCISE_ID"},
		synopsis: "[--flag FLAG] --reason R",
		summary:  "clear an exercise for a patient despite a flag, or a device for home use (care-team clinicians only)",
		help: `With --flag, the clearance lifts the exercise's needs-clearance rule for
that flag while the flag stays present; it ends when the flag's answer
changes. A contraindication cannot be cleared. Without --flag, it is the
standing clearance every home device needs before it reaches the patient.
Plan items it re-activates are printed.`,
		define: func(fs *flag.FlagSet) runner {
			only := fs.String("flag", "", "the present screening flag to clear (omit for a device's standing clearance)")
			reason := fs.String("reason", "", "why it is safe for this patient (required)")
			return func(ctx context.Context, a *app, args []string) error {
				if *reason == "" {
					return usageErrorf("plan clear: --reason is required")
				}
				req := &hepv1.ClearItemRequest{PatientId: args[0], ExerciseId: args[1], Reason: *reason}
				if *only != "" {
					f, err := flagEnum.parse(*only)
					if err != nil {
						return usageErrorf("plan clear: --flag: %v", err)
					}
					req.Flag = hepv1.ScreeningFlag(f)
				}
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewPlanServiceClient(conn).ClearItem(ctx, req)
				if err != nil {
					return err
				}
				if a.json() {
					return a.printJSON(resp)
				}
				c := resp.GetClearance()
				fmt.Fprintf(a.stdout, "cleared %s (%s): clearance %s\n", c.GetExerciseId(), flagOrStanding(c.GetFlag()), c.GetId())
				return a.printChanged(resp.GetChangedItems(), "plan items re-activated", "no plan item changed")
			}
		},
	},
	{
		name:    "plan clearances",
		args:    []string{"PATIENT_ID"},
		summary: "list a patient's clearances, live and ended, newest first (care-team clinicians only)",
		define: func(fs *flag.FlagSet) runner {
			return func(ctx context.Context, a *app, args []string) error {
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewPlanServiceClient(conn).ListClearances(ctx, &hepv1.ListClearancesRequest{PatientId: args[0]})
				if err != nil {
					return err
				}
				if a.json() {
					return a.printJSON(resp)
				}
				rows := make([][]string, 0, len(resp.GetClearances()))
				for _, c := range resp.GetClearances() {
					rows = append(rows, []string{c.GetId(), c.GetExerciseId(), flagOrStanding(c.GetFlag()), c.GetReason(),
						c.GetClearedBy(), fmtTime(c.GetCreateTime()), fmtTime(c.GetEndTime())})
				}
				return a.printTable([]string{"ID", "EXERCISE", "FLAG", "REASON", "CLEARED BY", "CLEARED", "ENDED"}, rows)
			}
		},
	},
	{
		name:     "plan decisions",
		args:     []string{"PATIENT_ID"},
		synopsis: "[--page-size N] [--page-token T] [--all]",
		summary:  "list the gate's decisions that blocked, suspended, re-activated or cleared a patient's items, newest first",
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
				client := hepv1.NewPlanServiceClient(conn)
				req := &hepv1.ListGatingDecisionsRequest{PatientId: args[0], PageSize: int32(pg.size), PageToken: pg.token}
				all := &hepv1.ListGatingDecisionsResponse{}
				next, err := pg.fetch(func(token string) (string, error) {
					req.PageToken = token
					resp, err := client.ListGatingDecisions(ctx, req)
					if err != nil {
						return "", err
					}
					all.Decisions = append(all.Decisions, resp.GetDecisions()...)
					return resp.GetNextPageToken(), nil
				})
				if err != nil {
					return err
				}
				all.NextPageToken = next
				if a.json() {
					return a.printJSON(all)
				}
				rows := make([][]string, 0, len(all.Decisions))
				for _, g := range all.Decisions {
					d := g.GetDecision()
					rows = append(rows, []string{fmtTime(g.GetDecideTime()), strconv.FormatInt(g.GetPlanVersion(), 10), d.GetExerciseId(),
						causeName(g.GetCause()), outcomeName(d.GetOutcome()), stateChange(g), reasonLabels(d.GetReasons())})
				}
				if err := a.printTable([]string{"WHEN", "VERSION", "EXERCISE", "CAUSE", "OUTCOME", "STATE", "REASONS"}, rows); err != nil {
					return err
				}
				a.nextPageHint("plan decisions "+args[0], all.NextPageToken)
				return nil
			}
		},
	},
}

// stateChange shows "ACTIVE -> SUSPENDED"; "" when no stored item changed.
func stateChange(g *hepv1.GatingDecision) string {
	if g.GetPreviousState() == hepv1.ItemState_ITEM_STATE_UNSPECIFIED && g.GetNewState() == hepv1.ItemState_ITEM_STATE_UNSPECIFIED {
		return ""
	}
	from := stateName(g.GetPreviousState())
	if from == "" {
		from = "new"
	}
	return from + " -> " + stateName(g.GetNewState())
}

// readPlanItems reads a plan file: a JSON array of PlanItemSpec.
func (a *app) readPlanItems(cmd, file string) ([]*hepv1.PlanItemSpec, error) {
	b, err := a.readInput(file)
	if err != nil {
		return nil, fmt.Errorf("reading the plan: %w", err)
	}
	bad := func(format string, args ...any) error {
		return usageErrorf("%s: %s: %s (run \"hepctl %s -h\" for the format)", cmd, inputName(file), fmt.Sprintf(format, args...), cmd)
	}
	if t := bytes.TrimSpace(b); len(t) == 0 || t[0] != '[' {
		return nil, bad("not a JSON array of plan items: it must start with [")
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			line, col := position(b, syn.Offset)
			return nil, bad("line %d, column %d: %v", line, col, err)
		}
		return nil, bad("%v", err)
	}
	items := make([]*hepv1.PlanItemSpec, len(raw))
	for i, r := range raw {
		items[i] = &hepv1.PlanItemSpec{}
		if err := protojson.Unmarshal(r, items[i]); err != nil {
			return nil, bad("items[%d]: %v", i, err)
		}
	}
	return items, nil
}

// position returns the 1-based line and column of the byte a
// json.SyntaxError's offset points after.
func position(b []byte, offset int64) (line, col int) {
	if len(b) == 0 {
		return 1, 1
	}
	i := int(min(max(offset-1, 0), int64(len(b)-1)))
	before := b[:i]
	return bytes.Count(before, []byte("\n")) + 1, i - bytes.LastIndexByte(before, '\n')
}

// fillDefaultDoses gives every item without a dose its exercise's default
// dose from the catalog. Unknown exercises are left for the server to report.
func fillDefaultDoses(ctx context.Context, conn grpc.ClientConnInterface, items []*hepv1.PlanItemSpec) error {
	missing := false
	for _, it := range items {
		missing = missing || it.GetDose() == nil
	}
	if !missing {
		return nil
	}
	resp, err := hepv1.NewCatalogServiceClient(conn).ListExercises(ctx, &hepv1.ListExercisesRequest{IncludeRetired: true})
	if err != nil {
		return err
	}
	doses := map[string]*hepv1.Dose{}
	for _, e := range resp.GetExercises() {
		doses[e.GetId()] = e.GetDefaultDose()
	}
	for _, it := range items {
		if it.Dose == nil {
			it.Dose = doses[it.GetExerciseId()]
		}
	}
	return nil
}

// printPlan prints a plan version and its items.
func (a *app) printPlan(p *hepv1.Plan) error {
	if p.GetVersion() == 0 {
		_, err := fmt.Fprintf(a.stdout, "patient %s has no plan yet; write one with: hepctl plan set %s --file plan.json\n", p.GetPatientId(), p.GetPatientId())
		return err
	}
	hold := "no"
	if p.GetRedFlagHold() {
		hold = "yes: red-flag symptoms were reported; every item is suspended until a clinician acknowledges the alert (hepctl alerts list " + p.GetPatientId() + ")"
	}
	if err := a.printFields([][2]string{
		{"patient", p.GetPatientId()},
		{"version", strconv.FormatInt(p.GetVersion(), 10)},
		{"red-flag hold", hold},
		{"note", p.GetNote()},
		{"author", p.GetAuthorId()},
		{"written", fmtTime(p.GetCreateTime())},
	}); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout)
	if len(p.GetItems()) == 0 {
		_, err := fmt.Fprintln(a.stdout, "No items.")
		return err
	}
	rows := make([][]string, 0, len(p.GetItems()))
	for _, it := range p.GetItems() {
		s := it.GetSpec()
		rows = append(rows, []string{s.GetExerciseId(), fmtDose(s.GetDose()), fmtFrequency(s.GetFrequency()),
			fmtDate(s.GetStartDate()), fmtDate(s.GetEndDate()), stateName(it.GetState()), reasonLabels(it.GetStateReasons())})
	}
	return a.printTable([]string{"EXERCISE", "DOSE", "FREQUENCY", "START", "END", "STATE", "REASONS"}, rows)
}
