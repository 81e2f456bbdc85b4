package main

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

func pdate(y, m, d int32) *hepv1.Date { return &hepv1.Date{Year: y, Month: m, Day: d} }

func padh(p, c, l int32, pct float64, ok bool) *hepv1.Adherence {
	return &hepv1.Adherence{Prescribed: p, Completed: c, Logged: l, Percent: pct, Adherent: ok}
}

// whileSuspended sets an Adherence's sessions logged while suspended.
func whileSuspended(a *hepv1.Adherence, n int32) *hepv1.Adherence {
	a.LoggedWhileSuspended = n
	return a
}

var defaultThresholds = &hepv1.AlertThresholds{SeverePain: 7, FlareIncrease: 2, WorseningIncrease: 2, NonAdherencePercent: 50,
	AdherentPercent: 80, McidPoints: 2, McidPercent: 30, InactiveDays: 3}

// fixedProgress is the Auckland golden fixture of internal/hep, as the
// server would send it, with a third week added.
func fixedProgress() *hepv1.Progress {
	return &hepv1.Progress{
		PatientId: "0192-maria", TimeZone: "Pacific/Auckland",
		From: pdate(2026, 3, 30), To: pdate(2026, 4, 15),
		Adherence: padh(22, 18, 19, 81.82, true),
		Weeks: []*hepv1.ProgressWeek{
			{Start: pdate(2026, 3, 30), End: pdate(2026, 4, 5), Adherence: padh(9, 9, 9, 100, true),
				Checkins: 3, PainMean: 5, PainMedian: 5, Change: hepv1.PainChange_PAIN_CHANGE_NONE},
			{Start: pdate(2026, 4, 6), End: pdate(2026, 4, 12), Adherence: padh(9, 8, 8, 88.89, true),
				Checkins: 2, PainMean: 3.5, PainMedian: 3.5, ChangeFromBaseline: -1.5, Change: hepv1.PainChange_PAIN_CHANGE_IMPROVED},
			{Start: pdate(2026, 4, 13), End: pdate(2026, 4, 15), Adherence: padh(4, 1, 2, 25, false)},
		},
		Items: []*hepv1.ItemProgress{
			{ExerciseId: "cat-cow", ExerciseName: "Cat-cow", Adherence: padh(8, 5, 6, 62.5, false),
				Weekly:         []*hepv1.Adherence{padh(3, 3, 3, 100, true), padh(3, 2, 2, 66.67, false), padh(2, 0, 1, 0, false)},
				ScoredSessions: 6, MeanPainResponse: 1.5, Flares: 3},
			{ExerciseId: "childs-pose", ExerciseName: "Child's pose", Adherence: whileSuspended(padh(14, 13, 13, 92.86, true), 1),
				Weekly:        []*hepv1.Adherence{whileSuspended(padh(6, 6, 6, 100, true), 1), padh(6, 6, 6, 100, true), padh(2, 1, 1, 50, false)},
				SuspendedDays: 2},
		},
		BaselineWeek: 0, PainChange: hepv1.PainChange_PAIN_CHANGE_IMPROVED,
		DaysSinceActivity: 1, LastActivityTime: timestamppb.New(time.Date(2026, 4, 13, 21, 0, 0, 0, time.UTC)),
		StreakDays: 16, PlanVersions: []int64{1, 2},
		SuspendedItems: []*hepv1.SuspendedItem{{ExerciseId: "cat-cow", Since: timestamppb.New(time.Date(2026, 4, 14, 22, 0, 0, 0, time.UTC)),
			Reasons: []*hepv1.GateReason{{Flag: hepv1.ScreeningFlag_SCREENING_FLAG_PREGNANCY, Outcome: hepv1.GateOutcome_GATE_OUTCOME_NEEDS_CLEARANCE}}}},
		Thresholds: defaultThresholds,
	}
}

// TestPrintProgress: the whole summary of a fixed progress, as a clinician
// reads it.
func TestPrintProgress(t *testing.T) {
	var b strings.Builder
	if err := (&app{stdout: &b}).printProgress(fixedProgress()); err != nil {
		t.Fatal(err)
	}
	const want = `patient:             0192-maria
range:               2026-03-30 to 2026-04-15 (17 days, Pacific/Auckland)
plan versions:       1, 2
adherence:           18 of 22 sessions, 81.82%: adherent (line 80%)
pain baseline:       5 (week of 2026-03-30, 3 check-ins)
pain change:         -1.5 points (-30%), to 3.5 in the week of 2026-04-06: IMPROVED (passes the MCID of 2 points or 30%)
since last session:  1 day (last 2026-04-14T09:00:00+12:00)
streak:              16 days
red-flag hold:       no

WEEK               DAYS  DONE  ADHERENCE  CHECK-INS  PAIN MEAN  MEDIAN  CHANGE
2026-03-30..04-05  7     9/9   100% ✓     3          5          5       baseline
2026-04-06..04-12  7     8/9   88.89% ✓   2          3.5        3.5     -1.5 IMPROVED
2026-04-13..04-15  3     1/4   25%        -          -          -       -

weekly adherence:  █▇▃  (▁ 0% .. █ 100%)
at or above 80%:   ✓✓
weekly pain:       ▅▃·  (▁ 0 .. █ 10)

EXERCISE     NAME          DONE   ADHERENCE  WEEKLY  LOGGED  WHILE SUSPENDED  SUSPENDED DAYS  PAIN RESPONSE    FLARES
cat-cow      Cat-cow       5/8    62.5%      █▆▁     6       -                -               +1.5 (6 scored)  3
childs-pose  Child's pose  13/14  92.86% ✓   ██▅     14      1                2               -                -

Suspended now:
EXERCISE  SINCE                      WHY
cat-cow   2026-04-15T10:00:00+12:00  NEEDS_CLEARANCE (pregnancy)
`
	if got := b.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestSparkline(t *testing.T) {
	for _, tt := range []struct {
		name    string
		values  []float64
		present []bool
		top     float64
		want    string
	}{
		// Level = round(v / top x 7): 0 -> 0, 12.5 -> 0.875 -> 1, 50 -> 3.5
		// -> 4, 80 -> 5.6 -> 6, 100 -> 7; out of scale is clamped.
		{"adherence", []float64{0, 12.5, 50, 80, 100, 150, -5}, []bool{true, true, true, true, true, true, true}, 100, "▁▂▅▇██▁"},
		// Pain on 0-10: 5 -> 3.5 -> 4, 3.5 -> 2.45 -> 2, 10 -> 7; a week
		// without check-ins is "·".
		{"pain", []float64{5, 3.5, 0, 10}, []bool{true, true, false, true}, 10, "▅▃·█"},
		{"empty", nil, nil, 100, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := sparkline(tt.values, tt.present, tt.top); got != tt.want {
				t.Errorf("sparkline = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestPrintProgressLines: the summary lines for the other states: no
// check-ins, a baseline only, a change within the MCID, a worsening from a
// baseline of 0, nothing prescribed, never active, a red-flag hold.
func TestPrintProgressLines(t *testing.T) {
	week := func(n int32, mean, change float64, c hepv1.PainChange) *hepv1.ProgressWeek {
		return &hepv1.ProgressWeek{Start: pdate(2026, 6, 1), End: pdate(2026, 6, 7), Adherence: &hepv1.Adherence{},
			Checkins: n, PainMean: mean, PainMedian: mean, ChangeFromBaseline: change, Change: c}
	}
	for _, tt := range []struct {
		name   string
		change func(p *hepv1.Progress)
		want   []string
	}{
		{"no check-ins", func(p *hepv1.Progress) {
			p.Weeks, p.BaselineWeek, p.PainChange = []*hepv1.ProgressWeek{week(0, 0, 0, 0)}, -1, 0
		}, []string{"pain baseline:       no check-ins in the range\n", "pain change:         -\n", "weekly pain:       ·  (▁ 0 .. █ 10)\n"}},
		{"baseline only", func(p *hepv1.Progress) {
			p.Weeks, p.PainChange = []*hepv1.ProgressWeek{week(2, 4, 0, hepv1.PainChange_PAIN_CHANGE_NONE), week(0, 0, 0, 0)}, 0
		}, []string{"pain change:         no later week with check-ins\n"}},
		// 5 -> 4: -1 point, -20%.
		{"within the MCID", func(p *hepv1.Progress) {
			p.Weeks = []*hepv1.ProgressWeek{week(2, 5, 0, hepv1.PainChange_PAIN_CHANGE_NONE), week(3, 4, -1, hepv1.PainChange_PAIN_CHANGE_NONE)}
			p.PainChange = hepv1.PainChange_PAIN_CHANGE_NONE
		}, []string{"pain change:         -1 points (-20%), to 4 in the week of 2026-06-01: no important change (below the MCID of 2 points or 30%)\n",
			"baseline\n", "  -1\n"}},
		// 0 -> 2.33: no percentage of a zero baseline.
		{"worsened from zero", func(p *hepv1.Progress) {
			p.Weeks = []*hepv1.ProgressWeek{week(1, 0, 0, hepv1.PainChange_PAIN_CHANGE_NONE), week(3, 2.33, 2.33, hepv1.PainChange_PAIN_CHANGE_WORSENED)}
			p.PainChange = hepv1.PainChange_PAIN_CHANGE_WORSENED
		}, []string{"pain change:         +2.33 points, to 2.33 in the week of 2026-06-01: WORSENED (passes the MCID of 2 points or 30%)\n",
			"+2.33 WORSENED\n"}},
		{"nothing prescribed, never active, on hold", func(p *hepv1.Progress) {
			p.Adherence, p.Items, p.SuspendedItems = &hepv1.Adherence{}, nil, nil
			p.Weeks, p.BaselineWeek, p.PainChange = []*hepv1.ProgressWeek{week(0, 0, 0, 0)}, -1, 0
			p.DaysSinceActivity, p.LastActivityTime, p.StreakDays, p.RedFlagHold, p.PlanVersions = -1, nil, 0, true, nil
		}, []string{"adherence:           nothing prescribed\n", "since last session:  no session ever logged\n", "streak:              0 days\n",
			"plan versions:       -\n", "red-flag hold:       YES: the whole plan is on hold until the red-flag alerts are acknowledged\n",
			"at or above 80%:   no week\n"}},
		{"below the line", func(p *hepv1.Progress) { p.Adherence = padh(10, 7, 7, 70, false) },
			[]string{"adherence:           7 of 10 sessions, 70%: below the 80% line\n"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := fixedProgress()
			tt.change(p)
			var b strings.Builder
			if err := (&app{stdout: &b}).printProgress(p); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("missing %q in:\n%s", w, b.String())
				}
			}
			if tt.name == "nothing prescribed, never active, on hold" && (strings.Contains(b.String(), "EXERCISE") || strings.Contains(b.String(), "Suspended now")) {
				t.Errorf("empty sections printed:\n%s", b.String())
			}
		})
	}
}

func TestPrintTriage(t *testing.T) {
	entries := []*hepv1.TriageEntry{
		{Rank: 1, PatientId: "p-1", DisplayName: "Ana B.", Tier: hepv1.TriageTier_TRIAGE_TIER_URGENT,
			Reason: "1 urgent alert(s) open since 2026-06-12 08:00 UTC"},
		{Rank: 2, PatientId: "p-22", DisplayName: "Jo\tC.", Tier: hepv1.TriageTier_TRIAGE_TIER_LOW_ADHERENCE,
			Reason: "low adherence: 1 of 7 sessions (14%) in the last 7 days"},
		{Rank: 10, PatientId: "p-3", DisplayName: "Bea", Tier: hepv1.TriageTier_TRIAGE_TIER_ON_TRACK, Reason: "on track"},
	}
	var b strings.Builder
	if err := (&app{stdout: &b}).printTriage(entries); err != nil {
		t.Fatal(err)
	}
	// A tab in a name is a space, so it cannot break the columns.
	want := "RANK  PATIENT  PATIENT_ID  TIER           REASON\n" +
		"1     Ana B.   p-1         urgent         1 urgent alert(s) open since 2026-06-12 08:00 UTC\n" +
		"2     Jo C.    p-22        low adherence  low adherence: 1 of 7 sessions (14%) in the last 7 days\n" +
		"10    Bea      p-3         on track       on track\n"
	if got := b.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestPrintAlertsTeam(t *testing.T) {
	created := timestamppb.New(time.Date(2026, 6, 12, 8, 0, 0, 0, time.UTC))
	alerts := []*hepv1.Alert{{Id: "a1", PatientId: "p-1", Kind: hepv1.AlertKind_ALERT_KIND_PAIN_WORSENING,
		Severity: hepv1.AlertSeverity_ALERT_SEVERITY_ROUTINE, Status: hepv1.AlertStatus_ALERT_STATUS_OPEN,
		Summary: "Mean pain 6.0 over the 7 days to 2026-06-12.", CreateTime: created}}
	for _, team := range []bool{false, true} {
		var b strings.Builder
		if err := (&app{stdout: &b}).printAlerts(alerts, team); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(b.String()), "\n")
		header, row := strings.Fields(lines[0]), strings.Fields(lines[1])
		if team != (header[0] == "PATIENT_ID") || team != (row[0] == "p-1") || !strings.Contains(lines[1], "pain worsening") {
			t.Errorf("team %v:\n%s", team, b.String())
		}
	}
}

// TestReviewUsage: mistakes caught before any call (exit 2), and the usage
// lines.
func TestReviewUsage(t *testing.T) {
	for _, tt := range []struct {
		args   []string
		code   int
		stderr string
		stdout string
	}{
		{[]string{"progress", "p1", "--from", "2026-02-30"}, 2, `hepctl: progress: --from: "2026-02-30" is not a date (YYYY-MM-DD)`, ""},
		{[]string{"progress", "p1", "--to", "yesterday"}, 2, `--to: "yesterday" is not a date`, ""},
		{[]string{"progress"}, 2, "progress: missing PATIENT_ID", ""},
		{[]string{"triage", "p1"}, 2, `triage: unexpected argument "p1"`, ""},
		{[]string{"alerts", "list", "p1", "p2"}, 2, `alerts list: unexpected argument "p2"`, ""},
		{[]string{"alerts", "list", "--kind", "pain-severe,nope"}, 2, `alerts list: --kind: unknown alert kind "nope" (one of: red_flag, screening_changed, logged_while_suspended, pain_severe, pain_flare, pain_worsening, non_adherence, function_worsened, questionnaire_overdue)`, ""},
		{[]string{"alerts", "list", "--severity", "high"}, 2, `alerts list: --severity: unknown alert severity "high" (one of: urgent, routine)`, ""},
		{[]string{"alerts", "ack", "p1"}, 2, "alerts ack: missing ALERT_ID", ""},
		{[]string{"help", "alerts", "list"}, 0, "", "usage: hepctl alerts list [PATIENT_ID] [--status open|acknowledged] [--kind K,...] [--severity urgent|routine]"},
		{[]string{"help", "progress"}, 0, "", "usage: hepctl progress PATIENT_ID [--from YYYY-MM-DD] [--to YYYY-MM-DD]"},
		{[]string{"triage", "-h"}, 0, "", "usage: hepctl triage [--page-size N]"},
		{[]string{"help"}, 0, "", "  triage "},
	} {
		t.Run(strings.Join(tt.args, "_"), func(t *testing.T) {
			var stdout, stderr strings.Builder
			args := append([]string{"--server", "127.0.0.1:1", "--config-dir", t.TempDir()}, tt.args...)
			code := run(t.Context(), args, strings.NewReader(""), &stdout, &stderr)
			if code != tt.code || !strings.Contains(stderr.String(), tt.stderr) || !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tt.code, stdout.String(), stderr.String())
			}
		})
	}
}
