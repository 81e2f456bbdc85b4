package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

var catalogCommands = []*command{
	{
		name:     "exercises list",
		synopsis: "[--all]",
		summary:  "list the exercise and device catalog, built-in entries first",
		define: func(fs *flag.FlagSet) runner {
			all := fs.Bool("all", false, "include retired entries")
			return func(ctx context.Context, a *app, _ []string) error {
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewCatalogServiceClient(conn).ListExercises(ctx, &hepv1.ListExercisesRequest{IncludeRetired: *all})
				if err != nil {
					return err
				}
				if a.json() {
					return a.printJSON(resp)
				}
				rows := make([][]string, 0, len(resp.GetExercises()))
				for _, e := range resp.GetExercises() {
					rows = append(rows, []string{e.GetId(), kindName(e.GetKind()), e.GetName(),
						strconv.Itoa(len(e.GetRules())), yesNo(e.GetRetired())})
				}
				return a.printTable([]string{"ID", "KIND", "NAME", "RULES", "RETIRED"}, rows)
			}
		},
	},
	{
		name:    "exercises show",
		args:    []string{"EXERCISE_ID"},
		summary: "show a catalog entry: instructions, default dose and every contraindication rule with its source",
		define: func(fs *flag.FlagSet) runner {
			return func(ctx context.Context, a *app, args []string) error {
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewCatalogServiceClient(conn).GetExercise(ctx, &hepv1.GetExerciseRequest{ExerciseId: args[0]})
				if err != nil {
					return err
				}
				return a.printExercise(resp, resp.GetExercise())
			}
		},
	},
	{
		name: "exercises create",
		synopsis: "--id ID --kind exercise|device --name N --instructions-file F|- " +
			"[--rule FLAG=contraindicated|needs-clearance:SOURCE ...] [--requires-clearance] [dose flags]",
		summary: "add a clinic-defined exercise or device to the catalog (clinicians only)",
		help: `Each --rule ties a screening flag to what it does when the flag is present,
with the source that justifies it, for example:

  --rule 'osteoporosis=contraindicated:Manufacturer manual, section 2'
  --rule 'pregnancy=needs-clearance:Clinic protocol 2026-04'

A contraindicated entry never reaches a patient with that flag present; one
that needs clearance waits for a clinician's "hepctl plan clear". Every
device requires a clinician's standing clearance per patient, so --kind
device implies --requires-clearance.

The default dose (what a plan item starts from) needs --reps, --hold or
--duration; --angle and --force apply to devices only.`,
		define: func(fs *flag.FlagSet) runner {
			id := fs.String("id", "", "the entry's slug, such as wall-sit: lower-case letters, digits and dashes (required)")
			kind := fs.String("kind", "exercise", "exercise or device")
			name := fs.String("name", "", "the display name (required)")
			instructions := fs.String("instructions-file", "", `file holding the patient's instructions, or "-" for standard input (required)`)
			var rules stringList
			fs.Var(&rules, "rule", "a contraindication `rule` FLAG=contraindicated|needs-clearance:SOURCE (repeatable)")
			requiresClearance := fs.Bool("requires-clearance", false, "always needs a clinician's clearance per patient (implied for devices)")
			dose := doseFlags(fs)
			return func(ctx context.Context, a *app, _ []string) error {
				if *id == "" || *name == "" || *instructions == "" {
					return usageErrorf("exercises create: --id, --name and --instructions-file are required")
				}
				k, err := kindEnum.parse(*kind)
				if err != nil {
					return usageErrorf("exercises create: --kind: %v", err)
				}
				ex := &hepv1.Exercise{
					Id: *id, Kind: hepv1.ExerciseKind(k), Name: *name,
					RequiresClearance: *requiresClearance || hepv1.ExerciseKind(k) == hepv1.ExerciseKind_EXERCISE_KIND_DEVICE,
				}
				if ex.DefaultDose, err = dose.dose(); err != nil {
					return usageErrorf("exercises create: %v", err)
				}
				for _, r := range rules {
					rule, err := parseRule(r)
					if err != nil {
						return usageErrorf("exercises create: --rule %q: %v", r, err)
					}
					ex.Rules = append(ex.Rules, rule)
				}
				text, err := a.readInput(*instructions)
				if err != nil {
					return fmt.Errorf("reading instructions: %w", err)
				}
				if ex.Instructions = strings.TrimSpace(string(text)); ex.Instructions == "" {
					return usageErrorf("exercises create: %s holds no instructions", inputName(*instructions))
				}
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewCatalogServiceClient(conn).CreateExercise(ctx, &hepv1.CreateExerciseRequest{Exercise: ex})
				if err != nil {
					return err
				}
				return a.printExercise(resp, resp.GetExercise())
			}
		},
	},
	{
		name:    "exercises retire",
		args:    []string{"EXERCISE_ID"},
		summary: "retire a clinic-defined entry: no new plan can add it, plans holding it keep it (admins only)",
		define: func(fs *flag.FlagSet) runner {
			return func(ctx context.Context, a *app, args []string) error {
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewCatalogServiceClient(conn).RetireExercise(ctx, &hepv1.RetireExerciseRequest{ExerciseId: args[0]})
				if err != nil {
					return err
				}
				if a.json() {
					return a.printJSON(resp)
				}
				e := resp.GetExercise()
				_, err = fmt.Fprintf(a.stdout, "retired %s (%s)\n", e.GetId(), e.GetName())
				return err
			}
		},
	},
}

// parseRule reads FLAG=SEVERITY:SOURCE.
func parseRule(s string) (*hepv1.ContraindicationRule, error) {
	f, rest, ok := strings.Cut(s, "=")
	if !ok {
		return nil, fmt.Errorf("want FLAG=contraindicated|needs-clearance:SOURCE")
	}
	sev, source, ok := strings.Cut(rest, ":")
	if !ok || strings.TrimSpace(source) == "" {
		return nil, fmt.Errorf("the rule needs its source after a colon, such as %s=%s:Manufacturer manual, section 2", f, sev)
	}
	fl, err := flagEnum.parse(f)
	if err != nil {
		return nil, err
	}
	severity, err := severityEnum.parse(sev)
	if err != nil {
		return nil, err
	}
	return &hepv1.ContraindicationRule{Flag: hepv1.ScreeningFlag(fl), Severity: hepv1.RuleSeverity(severity),
		Source: strings.TrimSpace(source)}, nil
}

// doseOptions are the flags of a dose.
type doseOptions struct {
	sets, reps, angle, force int
	hold, duration           time.Duration
}

func doseFlags(fs *flag.FlagSet) *doseOptions {
	d := &doseOptions{}
	fs.IntVar(&d.sets, "sets", 0, "default dose: sets per session")
	fs.IntVar(&d.reps, "reps", 0, "default dose: reps per set")
	fs.DurationVar(&d.hold, "hold", 0, "default dose: how long each rep is held, such as 5s")
	fs.DurationVar(&d.duration, "duration", 0, "default dose: length of the session, such as 10m")
	fs.IntVar(&d.angle, "angle", 0, "default dose: an inversion table's angle from horizontal, in degrees (devices)")
	fs.IntVar(&d.force, "force", 0, "default dose: a traction device's pull, in kg (devices)")
	return d
}

// dose checks that the values fit the message; the server checks the
// clinical ranges.
func (d *doseOptions) dose() (*hepv1.Dose, error) {
	for _, c := range []struct {
		name string
		v    int
	}{{"sets", d.sets}, {"reps", d.reps}, {"angle", d.angle}, {"force", d.force}} {
		if c.v < 0 || c.v > math.MaxInt32 {
			return nil, fmt.Errorf("--%s must be a whole number from 0", c.name)
		}
	}
	for _, c := range []struct {
		name string
		v    time.Duration
	}{{"hold", d.hold}, {"duration", d.duration}} {
		if c.v < 0 || c.v%time.Second != 0 || c.v/time.Second > math.MaxInt32 {
			return nil, fmt.Errorf("--%s must be a whole number of seconds, such as 5s or 10m", c.name)
		}
	}
	return &hepv1.Dose{
		Sets: int32(d.sets), Reps: int32(d.reps), AngleDegrees: int32(d.angle), ForceKg: int32(d.force),
		HoldSeconds: int32(d.hold / time.Second), DurationSeconds: int32(d.duration / time.Second),
	}, nil
}

// printExercise prints resp as JSON, or e as fields, its instructions and its
// rules.
func (a *app) printExercise(resp proto.Message, e *hepv1.Exercise) error {
	if a.json() {
		return a.printJSON(resp)
	}
	clearance := "no"
	if e.GetRequiresClearance() {
		clearance = fmt.Sprintf("yes: every patient needs a clinician's standing clearance (hepctl plan clear PATIENT_ID %s --reason R)", e.GetId())
	}
	builtIn := "no (clinic-defined)"
	if e.GetBuiltIn() {
		builtIn = fmt.Sprintf("yes (catalog version %d)", e.GetCatalogVersion())
	}
	if err := a.printFields([][2]string{
		{"id", e.GetId()},
		{"kind", kindName(e.GetKind())},
		{"name", e.GetName()},
		{"default dose", fmtDose(e.GetDefaultDose())},
		{"requires clearance", clearance},
		{"built in", builtIn},
		{"retired", yesNo(e.GetRetired())},
		{"created", fmtTime(e.GetCreateTime())},
	}); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "\nInstructions:\n")
	for _, line := range strings.Split(strings.TrimSpace(e.GetInstructions()), "\n") {
		if strings.TrimSpace(line) == "" {
			fmt.Fprintln(a.stdout)
			continue
		}
		fmt.Fprintln(a.stdout, wrapWords(line, 78, "  "))
	}
	fmt.Fprintln(a.stdout)
	if len(e.GetRules()) == 0 {
		_, err := fmt.Fprintln(a.stdout, "No contraindication rules.")
		return err
	}
	rows := make([][]string, 0, len(e.GetRules()))
	for _, r := range e.GetRules() {
		rows = append(rows, []string{flagName(r.GetFlag()), severityName(r.GetSeverity()), r.GetSource()})
	}
	return a.printTable([]string{"FLAG", "SEVERITY", "SOURCE"}, rows)
}
