package export

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goitalic"
	"golang.org/x/image/font/gofont/goregular"

	"github.com/hepclinic/hep/internal/hep"
)

// The PDF visit summary is for the person in the room: a few pages that
// print well in black and white. Its figures come from hep.ComputeProgress
// over the snapshot's facts (the same as the review screen), so it needs no
// row of the logs themselves; fpdf keeps the document in memory until it
// is written, which is bounded by the summary's size, not by the rows.
//
// Charts are drawn with fpdf's own vector primitives: lines, dashes,
// grey levels and hatching carry every distinction, never colour alone.
// Text uses the Go fonts (embedded, subset), so names in any Latin, Greek
// or Cyrillic script print as written.

// Page geometry, in mm.
const (
	pdfMargin = 15.0
	pdfLine   = 4.6 // body line height
)

type pdfDoc struct {
	f      *fpdf.Fpdf
	snap   *hep.ExportSnapshot
	loc    *time.Location
	prog   hep.Progress
	width  float64 // printable width
	pageH  float64
	bottom float64 // y where content must end
}

type pdfCol struct {
	title string
	w     float64 // share of the printable width
	align string
}

// WritePDF writes the visit summary of snap. src is not read: the summary
// is made of the snapshot's facts.
func WritePDF(ctx context.Context, w io.Writer, snap *hep.ExportSnapshot, src Source, opt Options) error {
	_ = src
	if err := ctx.Err(); err != nil {
		return err
	}
	d := newPDF(snap)
	d.render()
	if err := d.f.Error(); err != nil {
		return fmt.Errorf("export: pdf: %w", err)
	}
	if err := d.f.Output(w); err != nil {
		return fmt.Errorf("export: pdf: %w", err)
	}
	(&progress{fn: opt.Progress}).add(TotalRows(snap))
	return nil
}

func newPDF(snap *hep.ExportSnapshot) *pdfDoc {
	f := fpdf.New("P", "mm", "A4", "")
	f.AddUTF8FontFromBytes("go", "", goregular.TTF)
	f.AddUTF8FontFromBytes("go", "B", gobold.TTF)
	f.AddUTF8FontFromBytes("go", "I", goitalic.TTF)
	f.SetMargins(pdfMargin, pdfMargin, pdfMargin)
	f.SetAutoPageBreak(false, pdfMargin)
	f.SetCreationDate(snap.GenerateTime)
	f.SetModificationDate(snap.GenerateTime)
	f.SetCatalogSort(true)
	f.SetTitle("Home exercise program: visit summary", true)
	f.SetSubject(fmt.Sprintf("%s to %s", snap.From, snap.To), true)
	f.SetCreator("hep", true)
	f.SetLang("en")
	f.AliasNbPages("{nb}")
	loc := zoneOf(snap)
	pw, ph := f.GetPageSize()
	d := &pdfDoc{f: f, snap: snap, loc: loc, width: pw - 2*pdfMargin, pageH: ph, bottom: ph - pdfMargin - 8}
	d.prog = hep.ComputeProgress(snap.Facts, snap.Thresholds, snap.GenerateTime)
	f.SetFooterFunc(func() {
		f.SetY(ph - pdfMargin - 2)
		f.SetFont("go", "", 7.5)
		f.SetTextColor(0, 0, 0)
		f.CellFormat(d.width/2, 4, fmt.Sprintf("Visit summary · %s · %s to %s", snap.Patient.DisplayName, snap.From, snap.To),
			"T", 0, "L", false, 0, "")
		f.CellFormat(d.width/2, 4, fmt.Sprintf("Confidential health information · page %d of {nb}", f.PageNo()),
			"T", 0, "R", false, 0, "")
	})
	return d
}

func (d *pdfDoc) when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(d.loc).Format("2006-01-02 15:04")
}

// need starts a new page unless h mm fit on this one.
func (d *pdfDoc) need(h float64) {
	if d.f.GetY()+h > d.bottom {
		d.f.AddPage()
	}
}

func (d *pdfDoc) h1(s string) {
	d.f.SetFont("go", "B", 15)
	d.f.CellFormat(d.width, 8, s, "", 1, "L", false, 0, "")
}

func (d *pdfDoc) h2(s string) { d.h2keep(s, 10) }

// h2keep writes a section heading, on a new page unless keep mm fit
// under it (a heading never ends a page alone, nor leaves its chart).
func (d *pdfDoc) h2keep(s string, keep float64) {
	d.need(11 + keep)
	d.f.Ln(3)
	d.f.SetFont("go", "B", 11.5)
	d.f.CellFormat(d.width, 6.5, s, "B", 1, "L", false, 0, "")
	d.f.Ln(1.5)
}

func (d *pdfDoc) para(s string) {
	d.f.SetFont("go", "", 9.5)
	for _, line := range d.f.SplitText(s, d.width) {
		d.need(pdfLine)
		d.f.CellFormat(d.width, pdfLine, line, "", 1, "L", false, 0, "")
	}
}

// kv writes label: value lines.
func (d *pdfDoc) kv(pairs [][2]string) {
	for _, p := range pairs {
		d.need(pdfLine)
		d.f.SetFont("go", "B", 9.5)
		d.f.CellFormat(38, pdfLine, p[0], "", 0, "L", false, 0, "")
		d.f.SetFont("go", "", 9.5)
		lines := d.f.SplitText(p[1], d.width-38)
		if len(lines) == 0 {
			lines = []string{""}
		}
		for i, l := range lines {
			if i > 0 {
				d.need(pdfLine)
				d.f.SetX(pdfMargin + 38)
			}
			d.f.CellFormat(d.width-38, pdfLine, l, "", 1, "L", false, 0, "")
		}
	}
}

// table writes rows under a header that repeats on every page; cells
// wrap. Columns' widths are shares of the printable width.
func (d *pdfDoc) table(cols []pdfCol, rows [][]string) {
	const size, lh, pad = 7.5, 3.4, 1.0
	var total float64
	for _, c := range cols {
		total += c.w
	}
	ws := make([]float64, len(cols))
	for i, c := range cols {
		ws[i] = d.width * c.w / total
	}
	header := func() {
		d.f.SetFont("go", "B", size)
		d.f.SetFillColor(225, 225, 225)
		h := 0.0
		for i, c := range cols {
			h = math.Max(h, float64(len(d.f.SplitText(c.title, ws[i])))*lh+2*pad)
		}
		x, y := pdfMargin, d.f.GetY()
		for i, c := range cols {
			d.f.Rect(x, y, ws[i], h, "FD")
			for j, l := range d.f.SplitText(c.title, ws[i]) {
				d.f.SetXY(x, y+pad+float64(j)*lh)
				d.f.CellFormat(ws[i], lh, l, "", 0, c.align, false, 0, "")
			}
			x += ws[i]
		}
		d.f.SetXY(pdfMargin, y+h)
	}
	d.need(14)
	header()
	if len(rows) == 0 {
		d.f.SetFont("go", "I", size)
		d.f.CellFormat(d.width, lh+2*pad, "None.", "LRB", 1, "L", false, 0, "")
		return
	}
	for _, r := range rows {
		d.f.SetFont("go", "", size)
		split := make([][]string, len(cols))
		h := 0.0
		for i := range cols {
			split[i] = d.f.SplitText(r[i], ws[i])
			if len(split[i]) == 0 {
				split[i] = []string{""}
			}
			h = math.Max(h, float64(len(split[i]))*lh+2*pad)
		}
		if d.f.GetY()+h > d.bottom {
			d.f.AddPage()
			header()
			d.f.SetFont("go", "", size)
		}
		x, y := pdfMargin, d.f.GetY()
		for i, c := range cols {
			d.f.Rect(x, y, ws[i], h, "D")
			for j, l := range split[i] {
				d.f.SetXY(x, y+pad+float64(j)*lh)
				d.f.CellFormat(ws[i], lh, l, "", 0, c.align, false, 0, "")
			}
			x += ws[i]
		}
		d.f.SetXY(pdfMargin, y+h)
	}
}

func pct(a hep.Adherence) string {
	if a.Prescribed == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", a.Percent)
}

func painChangeText(c hep.PainChange) string {
	switch c {
	case hep.PainChangeImproved:
		return "improved (clinically important)"
	case hep.PainChangeWorsened:
		return "worsened (clinically important)"
	case hep.PainChangeNone:
		return "no clinically important change"
	}
	return "not enough check-ins"
}

func (d *pdfDoc) render() {
	s, p, f := d.snap, d.prog, d.f
	f.AddPage()
	d.h1("Home exercise program — visit summary")
	f.SetFont("go", "", 9)
	f.CellFormat(d.width, 4.5, "For the follow-up visit. Figures follow the clinic's rules in force at export time.", "", 1, "L", false, 0, "")
	f.Ln(2)
	mrn := s.Patient.ExternalMRN
	if mrn == "" {
		mrn = "not recorded"
	}
	by := accountName(s, s.Actor.ID)
	if s.Actor.Role != "" {
		by += " (" + strings.ToLower(string(s.Actor.Role)) + ")"
	}
	days := s.From.DaysUntil(s.To) + 1
	d.kv([][2]string{
		{"Patient", s.Patient.DisplayName},
		{"MRN", mrn},
		{"Period", fmt.Sprintf("%s to %s (%d days, %s time)", s.From, s.To, days, zoneName(s.Patient.TimeZone))},
		{"Generated", fmt.Sprintf("%s by %s", d.when(s.GenerateTime), by)},
	})

	// Summary figures.
	d.h2("Summary")
	lastAct := "never"
	if p.DaysSinceActivity >= 0 {
		lastAct = fmt.Sprintf("%s (%d days before the end of the period)", d.when(p.LastActivity), p.DaysSinceActivity)
	}
	painLine := painChangeText(p.PainChange)
	if p.BaselineWeek >= 0 {
		base := p.Weeks[p.BaselineWeek]
		painLine = fmt.Sprintf("baseline %.1f (week of %s); %s", base.PainMean, base.Start, painLine)
		for i := len(p.Weeks) - 1; i > p.BaselineWeek; i-- {
			if w := p.Weeks[i]; w.Checkins > 0 {
				painLine = fmt.Sprintf("baseline %.1f (week of %s), latest %.1f (week of %s): %s", base.PainMean, base.Start,
					w.PainMean, w.Start, painChangeText(w.Change))
				break
			}
		}
	}
	hold := "no"
	if p.RedFlagHold {
		hold = "YES — red-flag symptoms reported; every item suspended until a clinician reviews the alert"
	}
	d.kv([][2]string{
		{"Adherence", fmt.Sprintf("%s overall: %d of %d prescribed sessions completed (%d logged toward the plan); adherent is %d%% or more",
			pct(p.Adherence), p.Adherence.Completed, p.Adherence.Prescribed, p.Adherence.Logged, s.Thresholds.AdherentPercent)},
		{"Sessions logged", sessionsLine(s.LogCount, p.Adherence.LoggedWhileSuspended)},
		{"Pain check-ins", fmt.Sprintf("%d", s.CheckinCount)},
		{"Pain (0-10)", painLine},
		{"Last session", lastAct},
		{"Current streak", fmt.Sprintf("%d days", p.StreakDays)},
		{"Plan on hold", hold},
	})

	// Adherence.
	d.h2keep("Adherence per week", 70)
	d.adherenceChart(62)
	var rows [][]string
	for _, w := range p.Weeks {
		adh := "–"
		if w.Adherence.Prescribed > 0 {
			adh = map[bool]string{true: "yes", false: "no"}[w.Adherence.Adherent]
		}
		rows = append(rows, []string{fmt.Sprintf("%s to %s", w.Start, w.End), itoa(w.Adherence.Prescribed),
			itoa(w.Adherence.Completed), itoa(w.Adherence.Logged), itoa(w.Adherence.LoggedWhileSuspended), pct(w.Adherence), adh})
	}
	d.table([]pdfCol{{"Week", 3, "L"}, {"Prescribed", 1.3, "R"}, {"Completed", 1.3, "R"}, {"Logged", 1.1, "R"},
		{"While suspended", 1.3, "R"}, {"Adherence", 1.3, "R"}, {"Adherent", 1.1, "C"}}, rows)
	d.f.Ln(1)
	d.para("Logged: sessions toward the plan. While suspended: sessions logged while their item was suspended, " +
		"never counted toward adherence (their pain counts in the pain response below).")

	// Pain.
	d.h2keep("Pain trend (weekly mean of check-ins, NRS 0-10)", 70)
	d.painChart(62)
	rows = nil
	for i, w := range p.Weeks {
		if w.Checkins == 0 {
			rows = append(rows, []string{fmt.Sprintf("%s to %s", w.Start, w.End), "0", "", "", "", ""})
			continue
		}
		change := painChangeText(w.Change)
		if i == p.BaselineWeek {
			change = "baseline"
		}
		rows = append(rows, []string{fmt.Sprintf("%s to %s", w.Start, w.End), itoa(w.Checkins), fmt.Sprintf("%.1f", w.PainMean),
			fmt.Sprintf("%.1f", w.PainMedian), fmt.Sprintf("%+.1f", w.ChangeFromBaseline), change})
	}
	d.table([]pdfCol{{"Week", 3, "L"}, {"Check-ins", 1.2, "R"}, {"Mean", 1, "R"}, {"Median", 1, "R"},
		{"Change from baseline", 1.5, "R"}, {"Assessment", 3, "L"}}, rows)

	d.h2("Pain response per exercise (pain after minus before a session)")
	rows = nil
	for _, it := range p.Items {
		resp := "–"
		if it.ScoredSessions > 0 {
			resp = fmt.Sprintf("%+.1f", it.MeanPainResponse)
		}
		a := it.Adherence
		rows = append(rows, []string{it.ExerciseName + " (" + it.ExerciseID + ")", pct(a),
			fmt.Sprintf("%d / %d", a.Completed, a.Prescribed), fmt.Sprintf("%d (%d)", a.Logged+a.LoggedWhileSuspended, a.LoggedWhileSuspended),
			itoa(it.ScoredSessions), resp, itoa(it.Flares), itoa(it.SuspendedDays)})
	}
	d.table([]pdfCol{{"Exercise", 2.8, "L"}, {"Adherence", 1.1, "R"}, {"Completed / prescribed", 1.4, "R"},
		{"Logged (while suspended)", 1.4, "R"}, {"Scored sessions", 1.1, "R"}, {"Mean response", 1.1, "R"},
		{fmt.Sprintf("Flares (≥ +%d)", s.Thresholds.FlareIncrease), 1.1, "R"}, {"Suspended days", 1.1, "R"}}, rows)
	d.f.Ln(1)
	d.para("A negative response means less pain after the session. Sessions logged while the item was suspended count " +
		"in the response and the flares, not in adherence. Suspended days are days the item could not be done.")

	d.outcomes()
	d.plans()
	d.screening()
	d.decisions()
	d.alerts()
	d.messages()
	d.signature()
}

func zoneName(tz string) string {
	if tz == "" {
		return "UTC"
	}
	return tz
}

// plans writes every plan version of the period with its items.
func (d *pdfDoc) plans() {
	s := d.snap
	d.h2("Plan and its changes")
	if len(s.Plans) == 0 {
		d.para("No plan was in force during the period.")
		return
	}
	for i, pl := range s.Plans {
		state := "current"
		if pl.Version != s.Facts.Current.Version {
			state = "superseded"
			if i+1 < len(s.Plans) {
				state = fmt.Sprintf("superseded on %s by version %d", d.when(s.Plans[i+1].CreateTime), s.Plans[i+1].Version)
			}
		}
		d.need(24)
		d.f.SetFont("go", "B", 9.5)
		for _, line := range d.f.SplitText(fmt.Sprintf("Version %d — written %s by %s (%s)", pl.Version, d.when(pl.CreateTime),
			accountName(s, pl.AuthorID), state), d.width) {
			d.f.CellFormat(d.width, 5, line, "", 1, "L", false, 0, "")
		}
		if pl.Note != "" {
			d.para("Note: " + pl.Note)
		}
		var rows [][]string
		for _, it := range pl.Items {
			sp := it.Spec
			dates := "from " + sp.StartDate.String()
			if !sp.EndDate.IsZero() {
				dates = sp.StartDate.String() + " to " + sp.EndDate.String()
			}
			st := words(string(it.State))
			if it.State == hep.ItemSuspended {
				st = "SUSPENDED since " + d.when(it.StateTime) + ": " + reasonsText(it.StateReasons)
			}
			dose := doseText(sp.Dose)
			if sp.Notes != "" {
				dose += ". " + sp.Notes
			}
			rows = append(rows, []string{exerciseName(s, sp.ExerciseID), dose, frequencyText(sp.Frequency), dates, st})
		}
		d.table([]pdfCol{{"Exercise", 2, "L"}, {"Dose", 2.4, "L"}, {"Frequency", 2, "L"}, {"Dates", 1.8, "L"},
			{"State", 3, "L"}}, rows)
		d.f.Ln(2)
	}
}

// screening writes the flags at the end of the period and the answers
// recorded during it.
func (d *pdfDoc) screening() {
	s := d.snap
	d.h2("Screening at the end of the period")
	sc := screeningAtEnd(s)
	var present []string
	var rows [][]string
	for _, fl := range hep.Flags {
		a, ok := sc[fl]
		st := "UNKNOWN (never answered)"
		var when, src, by string
		if ok {
			st, when, src, by = string(a.Status), d.when(a.RecordTime), words(string(a.Source)), recorderName(s, a)
		}
		if ok && a.Status == hep.StatusPresent {
			present = append(present, flagName(fl))
		}
		rows = append(rows, []string{flagName(fl), st, src, when, by})
	}
	if len(present) == 0 {
		d.para("No screening flag is present.")
	} else {
		d.para("Present: " + strings.Join(present, ", ") + ".")
	}
	d.table([]pdfCol{{"Flag", 2.4, "L"}, {"Status", 1.8, "L"}, {"Source", 1.6, "L"}, {"Recorded", 1.7, "L"},
		{"By", 2.8, "L"}}, rows)

	rows = nil
	for _, a := range s.Screening {
		if a.RecordTime.Before(s.Start) {
			continue
		}
		eff := "yes"
		if !a.Effective {
			eff = "no (a clinician-verified answer stands)"
		}
		rows = append(rows, []string{d.when(a.RecordTime), flagName(a.Flag), string(a.Status), words(string(a.Source)), eff, a.Note})
	}
	d.f.Ln(1)
	d.f.SetFont("go", "B", 9.5)
	d.need(10)
	d.f.CellFormat(d.width, 5.5, "Answers recorded during the period", "", 1, "L", false, 0, "")
	d.table([]pdfCol{{"Recorded", 1.9, "L"}, {"Flag", 2, "L"}, {"Status", 1.1, "L"}, {"Source", 1.5, "L"},
		{"Took effect", 1.4, "L"}, {"Note", 2.5, "L"}}, rows)
}

// decisions writes every gating decision of the period and every
// clearance.
func (d *pdfDoc) decisions() {
	s := d.snap
	d.h2("Gating decisions and clearances")
	clear := map[string]hep.Clearance{}
	for _, c := range s.Clearances {
		clear[c.ID] = c
	}
	var rows [][]string
	for _, g := range s.Decisions {
		change := ""
		if g.PreviousState != "" || g.NewState != "" {
			change = orNone(g.PreviousState) + " → " + orNone(g.NewState)
		}
		var reasons, cleared []string
		for _, r := range g.Decision.Reasons {
			reasons = append(reasons, words(string(r.Outcome))+": "+r.Message)
			if c, ok := clear[r.ClearanceID]; ok {
				cleared = append(cleared, fmt.Sprintf("%s by %s on %s: %s", flagName(c.Flag), accountName(s, c.ClearedBy), d.when(c.CreateTime), c.Reason))
			}
		}
		rows = append(rows, []string{d.when(g.DecideTime), exerciseName(s, g.Decision.ExerciseID), words(string(g.Decision.Outcome)),
			words(string(g.Cause)) + fmt.Sprintf(" (plan v%d)", g.PlanVersion), change, strings.Join(reasons, "; "),
			strings.Join(cleared, "; ")})
	}
	d.table([]pdfCol{{"Decided", 1.9, "L"}, {"Exercise", 1.6, "L"}, {"Outcome", 1.6, "L"}, {"Cause", 1.5, "L"},
		{"Item", 1.4, "L"}, {"Reasons", 3.3, "L"}, {"Clearance", 2.6, "L"}}, rows)

	d.f.Ln(1)
	d.need(10)
	d.f.SetFont("go", "B", 9.5)
	d.f.CellFormat(d.width, 5.5, "Clearances", "", 1, "L", false, 0, "")
	rows = nil
	for _, c := range s.Clearances {
		ended := "in force"
		if !c.EndTime.IsZero() {
			ended = "ended " + d.when(c.EndTime) + " (the flag's answer changed)"
		}
		rows = append(rows, []string{d.when(c.CreateTime), exerciseName(s, c.ExerciseID), flagName(c.Flag), c.Reason, accountName(s, c.ClearedBy), ended})
	}
	d.table([]pdfCol{{"Given", 1.9, "L"}, {"Exercise", 1.5, "L"}, {"For", 1.8, "L"}, {"Why", 3, "L"}, {"By", 2.2, "L"},
		{"Status", 1.6, "L"}}, rows)
}

// sessionsLine is the summary's count of sessions: every live session of
// the period, and how many of them were logged while their item was
// suspended (hep.UseOfSession: not toward adherence).
func sessionsLine(total int64, whileSuspended int32) string {
	if whileSuspended == 0 {
		return fmt.Sprintf("%d", total)
	}
	return fmt.Sprintf("%d, of which %d logged while the item was suspended (not counted toward adherence)", total, whileSuspended)
}

// alerts writes the alerts of the period and how they were handled.
func (d *pdfDoc) alerts() {
	s := d.snap
	d.h2("Alerts and how they were handled")
	var rows [][]string
	for _, a := range s.Alerts {
		handled := "OPEN — not yet reviewed"
		if a.Status == hep.AlertAcknowledged {
			handled = fmt.Sprintf("Acknowledged %s by %s: %s", d.when(a.AckTime), accountName(s, a.AckBy), a.AckNote)
		}
		raised := d.when(a.CreateTime)
		if a.Occurrences > 1 {
			// A coalesced alert: how often, and the latest (whose
			// summary is shown); alert_occurrences.csv lists each.
			raised = fmt.Sprintf("%s; %d times, latest %s", raised, a.Occurrences, d.when(a.LatestTime))
		}
		rows = append(rows, []string{raised, words(string(a.Kind)), words(string(a.Severity)), a.Summary, handled})
	}
	d.table([]pdfCol{{"Raised", 1.9, "L"}, {"Kind", 1.6, "L"}, {"Severity", 1.1, "L"}, {"Summary", 3.6, "L"},
		{"Handled", 3.6, "L"}}, rows)
}

// signature writes the reviewer's signature block.
func (d *pdfDoc) signature() {
	d.need(40)
	d.f.Ln(8)
	d.f.SetFont("go", "B", 10)
	d.f.CellFormat(d.width, 6, "Reviewed at the visit", "", 1, "L", false, 0, "")
	d.f.Ln(6)
	d.f.SetFont("go", "", 9.5)
	y := d.f.GetY()
	for i, label := range []string{"Clinician (name)", "Signature", "Date"} {
		x := pdfMargin + float64(i)*d.width/3
		d.f.SetLineWidth(0.3)
		d.f.Line(x, y+8, x+d.width/3-6, y+8)
		d.f.SetXY(x, y+9)
		d.f.CellFormat(d.width/3-6, 4.5, label, "", 0, "L", false, 0, "")
	}
	d.f.SetXY(pdfMargin, y+16)
}

// chart frame: returns the plot area after drawing axes and y grid.
type chartArea struct{ x, y, w, h, ymax float64 }

func (c chartArea) yOf(v float64) float64 { return c.y + c.h - v/c.ymax*c.h }

func (d *pdfDoc) frame(height, ymax float64, yticks []float64, ylabel func(float64) string) chartArea {
	f := d.f
	top := f.GetY() + 2
	c := chartArea{x: pdfMargin + 14, y: top, w: d.width - 18, h: height - 16, ymax: ymax}
	f.SetFont("go", "", 7)
	f.SetDrawColor(0, 0, 0)
	for _, t := range yticks {
		y := c.yOf(t)
		f.SetLineWidth(0.1)
		f.SetDrawColor(190, 190, 190)
		f.Line(c.x, y, c.x+c.w, y)
		f.SetDrawColor(0, 0, 0)
		f.SetXY(pdfMargin, y-2)
		f.CellFormat(13, 4, ylabel(t), "", 0, "R", false, 0, "")
	}
	f.SetLineWidth(0.3)
	f.Line(c.x, c.y, c.x, c.y+c.h)
	f.Line(c.x, c.y+c.h, c.x+c.w, c.y+c.h)
	return c
}

// weekLabels writes x labels under a chart's slots, skipping to fit.
func (d *pdfDoc) weekLabels(c chartArea, slot float64) {
	weeks := d.prog.Weeks
	every := int(math.Ceil(14 / slot)) // a label needs ~14 mm
	if every < 1 {
		every = 1
	}
	d.f.SetFont("go", "", 6.5)
	for i, w := range weeks {
		if i%every != 0 {
			continue
		}
		d.f.SetXY(c.x+float64(i)*slot, c.y+c.h+0.8)
		d.f.CellFormat(math.Max(slot, 14), 3.5, fmt.Sprintf("%02d-%02d", w.Start.Month, w.Start.Day), "", 0, "L", false, 0, "")
	}
}

// hatch fills a rectangle with diagonal lines.
func (d *pdfDoc) hatch(x, y, w, h float64) {
	f := d.f
	f.ClipRect(x, y, w, h, false)
	f.SetLineWidth(0.2)
	for o := -h; o < w; o += 1.6 {
		f.Line(x+o, y+h, x+o+h, y)
	}
	f.ClipEnd()
}

// legendItem draws a legend sample (by draw) and its label at x, y.
func (d *pdfDoc) legendItem(x, y float64, draw func(x, y float64), label string) float64 {
	draw(x, y)
	d.f.SetFont("go", "", 7)
	d.f.SetXY(x+8, y-1.8)
	w := d.f.GetStringWidth(label) + 2
	d.f.CellFormat(w, 3.6, label, "", 0, "L", false, 0, "")
	return x + 8 + w + 5
}

// adherenceChart draws weekly adherence bars: adherent weeks solid grey,
// others white with hatching, with the adherent and alert thresholds as
// dashed and dotted lines.
func (d *pdfDoc) adherenceChart(height float64) {
	f, p, t := d.f, d.prog, d.snap.Thresholds
	c := d.frame(height, 100, []float64{0, 25, 50, 75, 100}, func(v float64) string { return fmt.Sprintf("%.0f%%", v) })
	n := len(p.Weeks)
	slot := c.w / float64(max(n, 1))
	bw := slot * 0.7
	for i, w := range p.Weeks {
		if w.Adherence.Prescribed == 0 {
			continue
		}
		x := c.x + float64(i)*slot + (slot-bw)/2
		y := c.yOf(math.Min(w.Adherence.Percent, 100))
		h := c.y + c.h - y
		f.SetLineWidth(0.25)
		if w.Adherence.Adherent {
			f.SetFillColor(110, 110, 110)
			f.Rect(x, y, bw, h, "FD")
		} else {
			f.SetFillColor(255, 255, 255)
			f.Rect(x, y, bw, h, "FD")
			d.hatch(x, y, bw, h)
			f.Rect(x, y, bw, h, "D")
		}
		if bw >= 6 {
			f.SetFont("go", "", 6.5)
			f.SetXY(x-2, y-3.6)
			f.CellFormat(bw+4, 3.4, fmt.Sprintf("%.0f%%", w.Adherence.Percent), "", 0, "C", false, 0, "")
		}
	}
	f.SetLineWidth(0.4)
	f.SetDashPattern([]float64{2.5, 1.5}, 0)
	y := c.yOf(float64(t.AdherentPercent))
	f.Line(c.x, y, c.x+c.w, y)
	f.SetDashPattern([]float64{0.5, 1}, 0)
	y2 := c.yOf(float64(t.NonAdherencePercent))
	f.Line(c.x, y2, c.x+c.w, y2)
	f.SetDashPattern([]float64{}, 0)
	d.weekLabels(c, slot)

	ly := c.y + c.h + 8
	x := d.legendItem(c.x, ly, func(x, y float64) {
		f.SetFillColor(110, 110, 110)
		f.Rect(x, y-1.5, 6, 3, "FD")
	}, fmt.Sprintf("adherent week (≥ %d%%)", t.AdherentPercent))
	x = d.legendItem(x, ly, func(x, y float64) {
		f.SetFillColor(255, 255, 255)
		f.Rect(x, y-1.5, 6, 3, "FD")
		d.hatch(x, y-1.5, 6, 3)
		f.Rect(x, y-1.5, 6, 3, "D")
	}, "below adherent")
	x = d.legendItem(x, ly, func(x, y float64) {
		f.SetLineWidth(0.4)
		f.SetDashPattern([]float64{2.5, 1.5}, 0)
		f.Line(x, y, x+6, y)
		f.SetDashPattern([]float64{}, 0)
	}, fmt.Sprintf("adherent threshold %d%%", t.AdherentPercent))
	d.legendItem(x, ly, func(x, y float64) {
		f.SetLineWidth(0.4)
		f.SetDashPattern([]float64{0.5, 1}, 0)
		f.Line(x, y, x+6, y)
		f.SetDashPattern([]float64{}, 0)
	}, fmt.Sprintf("alert below %d%%", t.NonAdherencePercent))
	f.SetXY(pdfMargin, ly+4)
}

// painChart draws the weekly mean (solid line, filled dots) and median
// (dashed line, open squares) of check-in scores, the baseline (long
// dashes) and the clinically important difference either side of it
// (dotted).
func (d *pdfDoc) painChart(height float64) {
	f, p, t := d.f, d.prog, d.snap.Thresholds
	c := d.frame(height, 10, []float64{0, 2, 4, 6, 8, 10}, func(v float64) string { return fmt.Sprintf("%.0f", v) })
	n := len(p.Weeks)
	slot := c.w / float64(max(n, 1))
	xOf := func(i int) float64 { return c.x + (float64(i)+0.5)*slot }
	series := func(val func(hep.ProgressWeek) float64, dash []float64, marker func(x, y float64)) {
		f.SetLineWidth(0.45)
		f.SetDashPattern(dash, 0)
		prev := -1
		for i, w := range p.Weeks {
			if w.Checkins == 0 {
				prev = -1 // a gap, not a line through missing weeks
				continue
			}
			if prev >= 0 {
				f.Line(xOf(prev), c.yOf(val(p.Weeks[prev])), xOf(i), c.yOf(val(w)))
			}
			prev = i
		}
		f.SetDashPattern([]float64{}, 0)
		for i, w := range p.Weeks {
			if w.Checkins > 0 {
				marker(xOf(i), c.yOf(val(w)))
			}
		}
	}
	dot := func(x, y float64) {
		f.SetFillColor(0, 0, 0)
		f.Circle(x, y, 0.9, "F")
	}
	square := func(x, y float64) {
		f.SetFillColor(255, 255, 255)
		f.SetLineWidth(0.3)
		f.Rect(x-0.9, y-0.9, 1.8, 1.8, "FD")
	}
	if p.BaselineWeek >= 0 {
		base := p.Weeks[p.BaselineWeek].PainMean
		fall, rise := hep.MCIDBounds(base, t)
		f.SetLineWidth(0.35)
		f.SetDashPattern([]float64{4, 2}, 0)
		f.Line(c.x, c.yOf(base), c.x+c.w, c.yOf(base))
		f.SetDashPattern([]float64{0.5, 1}, 0)
		for _, v := range []float64{base - fall, base + rise} {
			if v >= 0 && v <= 10 {
				f.Line(c.x, c.yOf(v), c.x+c.w, c.yOf(v))
			}
		}
		f.SetDashPattern([]float64{}, 0)
	}
	series(func(w hep.ProgressWeek) float64 { return w.PainMedian }, []float64{1.5, 1}, square)
	series(func(w hep.ProgressWeek) float64 { return w.PainMean }, []float64{}, dot)
	d.weekLabels(c, slot)

	ly := c.y + c.h + 8
	x := d.legendItem(c.x, ly, func(x, y float64) {
		f.SetLineWidth(0.45)
		f.Line(x, y, x+6, y)
		dot(x+3, y)
	}, "weekly mean")
	x = d.legendItem(x, ly, func(x, y float64) {
		f.SetLineWidth(0.45)
		f.SetDashPattern([]float64{1.5, 1}, 0)
		f.Line(x, y, x+6, y)
		f.SetDashPattern([]float64{}, 0)
		square(x+3, y)
	}, "weekly median")
	x = d.legendItem(x, ly, func(x, y float64) {
		f.SetLineWidth(0.35)
		f.SetDashPattern([]float64{4, 2}, 0)
		f.Line(x, y, x+6, y)
		f.SetDashPattern([]float64{}, 0)
	}, "baseline (first week with check-ins)")
	d.legendItem(x, ly, func(x, y float64) {
		f.SetLineWidth(0.35)
		f.SetDashPattern([]float64{0.5, 1}, 0)
		f.Line(x, y, x+6, y)
		f.SetDashPattern([]float64{}, 0)
	}, fmt.Sprintf("MCID: -%g points or -%d%%, +%g points", t.MCIDPoints, t.MCIDPercent, t.MCIDPoints))
	f.SetXY(pdfMargin, ly+4)
}
