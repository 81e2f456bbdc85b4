package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// reviewCommands are the clinician's review: who needs attention (triage)
// and how one patient is doing (progress). The figures are the server's;
// hepctl only lays them out.
var reviewCommands = []*command{
	{
		name:     "triage",
		synopsis: "[--page-size N] [--page-token T] [--all]",
		summary:  "list your care-team patients by need, each with the reason for its place (clinicians)",
		help: `Patients come in tiers, most pressing first: urgent alerts (red flags),
other open alerts, worsening pain (the last 7 days' mean check-in score up
by the clinic's threshold on the 7 days before), low adherence (the last 7
closed days below the adherent line), inactivity (no session for the
clinic's number of days), then on track. RANK is the place in the whole
list; the server's default page is 50 patients.`,
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
				client := hepv1.NewReviewServiceClient(conn)
				all := &hepv1.ListTriageResponse{}
				next, err := pg.fetch(func(token string) (string, error) {
					resp, err := client.ListTriage(ctx, &hepv1.ListTriageRequest{PageSize: int32(pg.size), PageToken: token})
					if err != nil {
						return "", err
					}
					all.Entries = append(all.Entries, resp.GetEntries()...)
					all.Total = resp.GetTotal()
					return resp.GetNextPageToken(), nil
				})
				if err != nil {
					return err
				}
				all.NextPageToken = next
				if a.json() {
					return a.printJSON(all)
				}
				if err := a.printTriage(all.GetEntries()); err != nil {
					return err
				}
				a.nextPageHint("triage", all.NextPageToken)
				return nil
			}
		},
	},
	{
		name:     "progress",
		args:     []string{"PATIENT_ID"},
		synopsis: "[--from YYYY-MM-DD] [--to YYYY-MM-DD]",
		summary:  "show a patient's adherence, pain trend and activity over a range of days (care-team clinicians only)",
		help: `Days are the patient's calendar days in the patient's time zone, both ends
included (at most 366). Without --to the range ends on the patient's today;
without --from it starts 27 days before its end.

Adherence is completed / prescribed sessions, each exercise's sessions
capped at what its week prescribed; the line marks the clinic's adherent
cut-off (80% by default; ✓ = at or above it). Weeks run Monday to Sunday,
clipped to the range. Per exercise, LOGGED is every session logged (as the
exports list them) and WHILE SUSPENDED those of them logged while the item
was suspended: they never count toward DONE, but their pain counts in PAIN
RESPONSE and FLARES. Pain is the weekly mean and median of check-ins;
the baseline is the first week with check-ins, and a change is clinically
important (MCID) at 2 points or 30% of the baseline by default.

The sparklines use fixed scales, so the same height always means the same
value: adherence from ▁ 0% to █ 100%, pain from ▁ 0 to █ 10; · marks a
week with nothing prescribed or no check-in.`,
		define: func(fs *flag.FlagSet) runner {
			from := fs.String("from", "", "first day, YYYY-MM-DD (default: 27 days before --to)")
			to := fs.String("to", "", "last day, YYYY-MM-DD (default: the patient's today)")
			return func(ctx context.Context, a *app, args []string) error {
				req := &hepv1.GetProgressRequest{PatientId: args[0]}
				var err error
				if req.From, err = parseDateFlag("progress", "from", *from); err != nil {
					return err
				}
				if req.To, err = parseDateFlag("progress", "to", *to); err != nil {
					return err
				}
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewReviewServiceClient(conn).GetProgress(ctx, req)
				if err != nil {
					return err
				}
				if a.json() {
					return a.printJSON(resp)
				}
				return a.printProgress(resp.GetProgress())
			}
		},
	},
}

// parseDateFlag reads command cmd's YYYY-MM-DD flag (a patient's calendar
// day, as progress and export take them); nil when empty.
func parseDateFlag(cmd, name, s string) (*hepv1.Date, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return nil, usageErrorf("%s: --%s: %q is not a date (YYYY-MM-DD)", cmd, name, s)
	}
	return &hepv1.Date{Year: int32(t.Year()), Month: int32(t.Month()), Day: int32(t.Day())}, nil
}

// printTriage writes the triage table.
func (a *app) printTriage(entries []*hepv1.TriageEntry) error {
	rows := make([][]string, 0, len(entries))
	for _, e := range entries {
		reason := e.GetReason()
		switch n := e.GetUnreadMessages(); {
		case n == 1:
			reason += " (1 unread message)"
		case n > 1:
			reason += fmt.Sprintf(" (%d unread messages)", n)
		}
		rows = append(rows, []string{strconv.Itoa(int(e.GetRank())), e.GetDisplayName(), e.GetPatientId(),
			tierName(e.GetTier()), reason})
	}
	return a.printTable([]string{"RANK", "PATIENT", "PATIENT_ID", "TIER", "REASON"}, rows)
}

func tierName(t hepv1.TriageTier) string { return enumPhrase(t.String(), "TRIAGE_TIER_") }

// sparkBlocks are the eight heights of a sparkline, lowest first.
var sparkBlocks = []rune("▁▂▃▄▅▆▇█")

// sparkline draws one character per value on a fixed scale from 0 to top,
// so that a height means the same value in every chart; a value that is
// missing (present[i] false) is "·".
func sparkline(values []float64, present []bool, top float64) string {
	var b strings.Builder
	for i, v := range values {
		if !present[i] {
			b.WriteRune('·')
			continue
		}
		level := int(math.Round(v / top * float64(len(sparkBlocks)-1)))
		b.WriteRune(sparkBlocks[min(max(level, 0), len(sparkBlocks)-1)])
	}
	return b.String()
}

// fmtNumber shows a figure with at most two decimals: "5", "3.5", "7.33".
func fmtNumber(x float64) string {
	return strconv.FormatFloat(math.Round(x*100)/100, 'f', -1, 64)
}

// fmtSigned is fmtNumber with a sign: "+2.33", "-1.5", "0".
func fmtSigned(x float64) string {
	s := fmtNumber(x)
	if x > 0 && s != "0" {
		s = "+" + s
	}
	return s
}

// fmtAdherence shows an adherence as "83.33% ✓" (✓: adherent); "" when
// nothing was prescribed.
func fmtAdherence(ad *hepv1.Adherence) string {
	if ad.GetPrescribed() == 0 {
		return ""
	}
	s := fmtNumber(ad.GetPercent()) + "%"
	if ad.GetAdherent() {
		s += " ✓"
	}
	return s
}

// fmtDone shows completed of prescribed: "10/12"; "" when nothing was
// prescribed and nothing logged.
func fmtDone(ad *hepv1.Adherence) string {
	if ad.GetPrescribed() == 0 && ad.GetLogged() == 0 && ad.GetLoggedWhileSuspended() == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", ad.GetCompleted(), ad.GetPrescribed())
}

// fmtSpan shows a week: "2026-03-02..03-08" (the year once if it does not
// change).
func fmtSpan(from, to *hepv1.Date) string {
	end := fmtDate(to)
	if from.GetYear() == to.GetYear() {
		end = end[5:]
	}
	return fmtDate(from) + ".." + end
}

// dateDays counts the days from one date to another, both included.
func dateDays(from, to *hepv1.Date) int {
	a := time.Date(int(from.GetYear()), time.Month(from.GetMonth()), int(from.GetDay()), 12, 0, 0, 0, time.UTC)
	b := time.Date(int(to.GetYear()), time.Month(to.GetMonth()), int(to.GetDay()), 12, 0, 0, 0, time.UTC)
	return int(math.Round(b.Sub(a).Hours()/24)) + 1
}

// fmtTimeIn shows a timestamp in the patient's zone (the zone days are
// counted in), or in local time if the zone is unknown here.
func fmtTimeIn(ts *timestamppb.Timestamp, zone string) string {
	if ts == nil {
		return ""
	}
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" {
		return fmtTime(ts)
	}
	return ts.AsTime().In(loc).Format(time.RFC3339)
}

func pluralDays(n int) string {
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// mcidText names the clinic's minimal clinically important difference.
func mcidText(t *hepv1.AlertThresholds) string {
	return fmt.Sprintf("MCID of %s points or %d%%", fmtNumber(t.GetMcidPoints()), t.GetMcidPercent())
}

// painSummary is the range's pain: the baseline, then the last week with
// check-ins against it, in points and percent, and whether the change
// passes the MCID.
func painSummary(p *hepv1.Progress) (baseline, change string) {
	weeks := p.GetWeeks()
	bi := int(p.GetBaselineWeek())
	if bi < 0 || bi >= len(weeks) {
		return "no check-ins in the range", ""
	}
	base := weeks[bi]
	baseline = fmt.Sprintf("%s (week of %s, %s)", fmtNumber(base.GetPainMean()), fmtDate(base.GetStart()), plural(base.GetCheckins(), "check-in"))
	last := -1
	for i, w := range weeks {
		if w.GetCheckins() > 0 {
			last = i
		}
	}
	if last <= bi || p.GetPainChange() == hepv1.PainChange_PAIN_CHANGE_UNSPECIFIED {
		return baseline, "no later week with check-ins"
	}
	lw := weeks[last]
	delta := lw.GetChangeFromBaseline()
	change = fmtSigned(delta) + " points"
	if b := base.GetPainMean(); b > 0 {
		change += fmt.Sprintf(" (%s%%)", fmtSigned(math.Round(1000*delta/b)/10))
	}
	change += fmt.Sprintf(", to %s in the week of %s", fmtNumber(lw.GetPainMean()), fmtDate(lw.GetStart()))
	mcid := mcidText(p.GetThresholds())
	switch p.GetPainChange() {
	case hepv1.PainChange_PAIN_CHANGE_IMPROVED:
		return baseline, change + ": IMPROVED (passes the " + mcid + ")"
	case hepv1.PainChange_PAIN_CHANGE_WORSENED:
		return baseline, change + ": WORSENED (passes the " + mcid + ")"
	}
	return baseline, change + ": no important change (below the " + mcid + ")"
}

// printProgress writes a readable summary of a patient's progress.
func (a *app) printProgress(p *hepv1.Progress) error {
	th := p.GetThresholds()
	zone := p.GetTimeZone()
	versions := make([]string, len(p.GetPlanVersions()))
	for i, v := range p.GetPlanVersions() {
		versions[i] = strconv.FormatInt(v, 10)
	}
	total := p.GetAdherence()
	adherence := "nothing prescribed"
	if total.GetPrescribed() > 0 {
		verdict := fmt.Sprintf("below the %d%% line", th.GetAdherentPercent())
		if total.GetAdherent() {
			verdict = fmt.Sprintf("adherent (line %d%%)", th.GetAdherentPercent())
		}
		adherence = fmt.Sprintf("%d of %d sessions, %s%%: %s", total.GetCompleted(), total.GetPrescribed(),
			fmtNumber(total.GetPercent()), verdict)
	}
	activity := "no session ever logged"
	if n := p.GetDaysSinceActivity(); n >= 0 {
		activity = fmt.Sprintf("%s (last %s)", pluralDays(int(n)), fmtTimeIn(p.GetLastActivityTime(), zone))
	}
	painBase, painChange := painSummary(p)
	hold := "no"
	if p.GetRedFlagHold() {
		hold = "YES: the whole plan is on hold until the red-flag alerts are acknowledged"
	}
	if err := a.printFields([][2]string{
		{"patient", p.GetPatientId()},
		{"range", fmt.Sprintf("%s to %s (%s, %s)", fmtDate(p.GetFrom()), fmtDate(p.GetTo()),
			pluralDays(dateDays(p.GetFrom(), p.GetTo())), zone)},
		{"plan versions", strings.Join(versions, ", ")},
		{"adherence", adherence},
		{"pain baseline", painBase},
		{"pain change", painChange},
		{"since last session", activity},
		{"streak", pluralDays(int(p.GetStreakDays()))},
		{"red-flag hold", hold},
	}); err != nil {
		return err
	}

	weeks := p.GetWeeks()
	adh, adhOK := make([]float64, len(weeks)), make([]bool, len(weeks))
	var line strings.Builder // ✓ under each adherent week
	pain, painOK := make([]float64, len(weeks)), make([]bool, len(weeks))
	rows := make([][]string, 0, len(weeks))
	for i, w := range weeks {
		adh[i], adhOK[i] = w.GetAdherence().GetPercent(), w.GetAdherence().GetPrescribed() > 0
		if w.GetAdherence().GetAdherent() {
			line.WriteRune('✓')
		} else {
			line.WriteRune(' ')
		}
		pain[i], painOK[i] = w.GetPainMean(), w.GetCheckins() > 0
		row := []string{fmtSpan(w.GetStart(), w.GetEnd()), strconv.Itoa(dateDays(w.GetStart(), w.GetEnd())),
			fmtDone(w.GetAdherence()), fmtAdherence(w.GetAdherence()), "", "", "", ""}
		if painOK[i] {
			row[4], row[5], row[6] = strconv.Itoa(int(w.GetCheckins())), fmtNumber(w.GetPainMean()), fmtNumber(w.GetPainMedian())
			switch {
			case i == int(p.GetBaselineWeek()):
				row[7] = "baseline"
			default:
				row[7] = fmtSigned(w.GetChangeFromBaseline())
				if c := w.GetChange(); c == hepv1.PainChange_PAIN_CHANGE_IMPROVED || c == hepv1.PainChange_PAIN_CHANGE_WORSENED {
					row[7] += " " + enumCaps(c.String(), "PAIN_CHANGE_")
				}
			}
		}
		rows = append(rows, row)
	}
	fmt.Fprintln(a.stdout)
	if err := a.printTable([]string{"WEEK", "DAYS", "DONE", "ADHERENCE", "CHECK-INS", "PAIN MEAN", "MEDIAN", "CHANGE"}, rows); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout)
	if err := a.printFields([][2]string{
		{"weekly adherence", sparkline(adh, adhOK, 100) + "  (▁ 0% .. █ 100%)"},
		{fmt.Sprintf("at or above %d%%", th.GetAdherentPercent()), cmp.Or(strings.TrimRight(line.String(), " "), "no week")},
		{"weekly pain", sparkline(pain, painOK, 10) + "  (▁ 0 .. █ 10)"},
	}); err != nil {
		return err
	}

	if len(p.GetItems()) > 0 {
		rows = rows[:0]
		for _, it := range p.GetItems() {
			ws := it.GetWeekly()
			vals, ok := make([]float64, len(ws)), make([]bool, len(ws))
			for i, w := range ws {
				vals[i], ok[i] = w.GetPercent(), w.GetPrescribed() > 0
			}
			response, flares := "", ""
			if n := it.GetScoredSessions(); n > 0 {
				response = fmt.Sprintf("%s (%d scored)", fmtSigned(it.GetMeanPainResponse()), n)
				flares = strconv.Itoa(int(it.GetFlares()))
			}
			suspended := ""
			if n := it.GetSuspendedDays(); n > 0 {
				suspended = strconv.Itoa(int(n))
			}
			// LOGGED is every session, as the exports list them; those
			// logged while suspended are also shown apart (they count in
			// the pain response, never in DONE).
			ad := it.GetAdherence()
			whileSuspended := ""
			if n := ad.GetLoggedWhileSuspended(); n > 0 {
				whileSuspended = strconv.Itoa(int(n))
			}
			rows = append(rows, []string{it.GetExerciseId(), it.GetExerciseName(), fmtDone(ad),
				fmtAdherence(ad), sparkline(vals, ok, 100), strconv.Itoa(int(ad.GetLogged() + ad.GetLoggedWhileSuspended())),
				whileSuspended, suspended, response, flares})
		}
		fmt.Fprintln(a.stdout)
		if err := a.printTable([]string{"EXERCISE", "NAME", "DONE", "ADHERENCE", "WEEKLY", "LOGGED", "WHILE SUSPENDED",
			"SUSPENDED DAYS", "PAIN RESPONSE", "FLARES"}, rows); err != nil {
			return err
		}
	}

	if len(p.GetSuspendedItems()) > 0 {
		rows = rows[:0]
		for _, s := range p.GetSuspendedItems() {
			rows = append(rows, []string{s.GetExerciseId(), fmtTimeIn(s.GetSince(), zone), reasonLabels(s.GetReasons())})
		}
		fmt.Fprintln(a.stdout)
		fmt.Fprintln(a.stdout, "Suspended now:")
		if err := a.printTable([]string{"EXERCISE", "SINCE", "WHY"}, rows); err != nil {
			return err
		}
	}
	return a.printOutcomes(p)
}
