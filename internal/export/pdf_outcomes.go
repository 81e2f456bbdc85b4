package export

import (
	"fmt"
	"math"
	"strings"

	"github.com/hepclinic/hep/internal/hep"
)

// outcomes writes the "Outcome measures" section: per assignment, the
// instrument, its MCID and source, a chart of the scores by slot with the
// baseline and the MCID band around it, and a table of the responses.
// Nothing when the snapshot has no assignment.
func (d *pdfDoc) outcomes() {
	if len(d.snap.Outcomes) == 0 {
		return
	}
	series := outcomesOf(d.snap)
	keep := 20.0
	if len(series) > 0 {
		keep = seriesHeight(series[0])
	}
	d.h2keep("Outcome measures", math.Min(keep, d.bottom-pdfMargin-20))
	if len(series) == 0 {
		d.para("The patient's questionnaires are of instruments this version of hep does not know; see the FHIR or CSV export.")
		return
	}
	for _, s := range series {
		d.outcomeSeries(s)
	}
}

// scheduleText describes an assignment's schedule.
func scheduleText(a hep.Assignment) string {
	sched := "baseline only"
	if a.EveryWeeks == 1 {
		sched = "every week"
	} else if a.EveryWeeks > 1 {
		sched = fmt.Sprintf("every %d weeks", a.EveryWeeks)
	}
	if len(a.VisitDates) > 0 {
		var vs []string
		for _, v := range a.VisitDates {
			vs = append(vs, v.String())
		}
		sched += ", and before the visits of " + strings.Join(vs, ", ")
	}
	s := fmt.Sprintf("from %s, %s", a.Start, sched)
	if !a.End.IsZero() {
		s += fmt.Sprintf(", until %s", a.End)
	}
	return s
}

// seriesHeight is about what a series takes, in mm: its heading, figures,
// chart and a short table stay on one page.
func seriesHeight(s outcomeSeries) float64 { return 40 + 64 + 6*float64(min(len(s.Points), 6)+2) }

// mcidHalfBand is the smallest change from the baseline that matters
// (hep.ChangeOf): the MCID in points, or its percentage of the baseline
// when that is smaller.
func mcidHalfBand(in hep.Instrument, baseline float64) float64 {
	w := in.MCIDPoints
	if in.MCIDPercent > 0 && baseline > 0 {
		w = math.Min(w, baseline*in.MCIDPercent/100)
	}
	return w
}

func (d *pdfDoc) outcomeSeries(s outcomeSeries) {
	in, a := s.Instrument, s.Assignment
	d.need(math.Min(seriesHeight(s), d.bottom-pdfMargin))
	d.f.SetFont("go", "B", 10)
	d.f.CellFormat(d.width, 6, in.Title, "", 1, "L", false, 0, "")
	status := "active"
	if !a.EndTime.IsZero() {
		status = "ended " + d.when(a.EndTime)
	}
	d.kv([][2]string{
		{"Schedule", scheduleText(a) + " (" + status + ")"},
		{"Score", fmt.Sprintf("%s to %s, %s", scoreText(in.ScoreMin), scoreText(in.ScoreMax), betterText(in))},
		{"MCID", fmt.Sprintf("%s (source: %s)", mcidText(in), in.MCIDSource)},
	})
	if len(s.Points) == 0 {
		d.para("No response yet.")
		return
	}
	var latest *outcomePoint
	for i := range s.Points {
		if s.Points[i].HasChange {
			latest = &s.Points[i]
		}
	}
	switch {
	case s.Baseline == nil:
		d.kv([][2]string{{"Change", "no response could be scored yet"}})
	case latest == nil:
		d.kv([][2]string{{"Change", fmt.Sprintf("baseline %s on %s; no later score yet", scoreText(s.Baseline.Score.Value), s.Baseline.Response.Slot)}})
	default:
		d.kv([][2]string{{"Change", fmt.Sprintf("baseline %s on %s, latest %s on %s: %s points, %s", scoreText(s.Baseline.Score.Value),
			s.Baseline.Response.Slot, scoreText(latest.Score.Value), latest.Response.Slot, deltaText(latest.Delta), changeWords(latest.Change))}})
	}
	if s.Baseline != nil {
		d.f.Ln(1)
		d.outcomeChart(52, s)
	}
	var rows [][]string
	for _, p := range s.Points {
		slot := p.Response.Slot.String()
		if p.Response.Slot.Before(d.snap.From) {
			slot += " (before this period)"
		}
		row := []string{slot, d.when(p.Response.CorrectedAuthoredTime), "", "", ""}
		switch {
		case !p.Score.Valid:
			row[2] = "not scorable (too few items answered)"
		case p.IsBaseline:
			row[2], row[3], row[4] = scoreText(p.Score.Value), "baseline", ""
		default:
			row[2], row[3], row[4] = scoreText(p.Score.Value), deltaText(p.Delta), changeWords(p.Change)
		}
		if p.Score.Skipped > 0 {
			row[2] += fmt.Sprintf(" (%d skipped)", p.Score.Skipped)
		}
		rows = append(rows, row)
	}
	d.f.Ln(1)
	d.table([]pdfCol{{"Slot", 2.2, "L"}, {"Answered", 1.5, "L"}, {"Score", 2, "R"}, {"Change from baseline", 1.4, "R"},
		{"vs MCID", 1.8, "L"}}, rows)
	d.f.Ln(2)
}

// outcomeChart draws the scores by slot (solid line, filled dots; a slot
// without a valid score is an open square on the axis), the baseline (long
// dashes) and the MCID band around it (light grey between dotted lines):
// a score outside the band changed by at least the MCID.
func (d *pdfDoc) outcomeChart(height float64, s outcomeSeries) {
	f, in := d.f, s.Instrument
	span := in.ScoreMax - in.ScoreMin
	var ticks []float64
	for i := 0; i <= 5; i++ {
		ticks = append(ticks, span*float64(i)/5)
	}
	c := d.frame(height, span, ticks, func(v float64) string { return scoreText(math.Round((v+in.ScoreMin)*10) / 10) })
	yOf := func(v float64) float64 { return c.yOf(math.Max(0, math.Min(span, v-in.ScoreMin))) }
	n := len(s.Points)
	slot := c.w / float64(max(n, 1))
	xOf := func(i int) float64 { return c.x + (float64(i)+0.5)*slot }

	base := s.Baseline.Score.Value
	band := mcidHalfBand(in, base)
	lo, hi := math.Max(in.ScoreMin, base-band), math.Min(in.ScoreMax, base+band)
	f.SetFillColor(230, 230, 230)
	f.Rect(c.x, yOf(hi), c.w, yOf(lo)-yOf(hi), "F")
	f.SetDrawColor(0, 0, 0)
	f.SetLineWidth(0.35)
	f.SetDashPattern([]float64{0.5, 1}, 0)
	f.Line(c.x, yOf(lo), c.x+c.w, yOf(lo))
	f.Line(c.x, yOf(hi), c.x+c.w, yOf(hi))
	f.SetDashPattern([]float64{4, 2}, 0)
	f.Line(c.x, yOf(base), c.x+c.w, yOf(base))
	f.SetDashPattern([]float64{}, 0)

	dot := func(x, y float64) {
		f.SetFillColor(0, 0, 0)
		f.Circle(x, y, 0.9, "F")
	}
	square := func(x, y float64) {
		f.SetFillColor(255, 255, 255)
		f.SetLineWidth(0.3)
		f.Rect(x-0.9, y-0.9, 1.8, 1.8, "FD")
	}
	f.SetLineWidth(0.45)
	prev := -1
	for i, p := range s.Points {
		if !p.Score.Valid {
			continue // the line joins the valid scores
		}
		if prev >= 0 {
			f.Line(xOf(prev), yOf(s.Points[prev].Score.Value), xOf(i), yOf(p.Score.Value))
		}
		prev = i
	}
	for i, p := range s.Points {
		if p.Score.Valid {
			dot(xOf(i), yOf(p.Score.Value))
		} else {
			square(xOf(i), c.y+c.h)
		}
	}
	every := int(math.Ceil(14 / slot))
	f.SetFont("go", "", 6.5)
	for i, p := range s.Points {
		if i%max(every, 1) != 0 {
			continue
		}
		f.SetXY(xOf(i)-7, c.y+c.h+0.8)
		f.CellFormat(14, 3.5, fmt.Sprintf("%02d-%02d", p.Response.Slot.Month, p.Response.Slot.Day), "", 0, "C", false, 0, "")
	}

	ly := c.y + c.h + 8
	x := d.legendItem(c.x, ly, func(x, y float64) {
		f.SetLineWidth(0.45)
		f.Line(x, y, x+6, y)
		dot(x+3, y)
	}, "score by slot")
	x = d.legendItem(x, ly, func(x, y float64) {
		f.SetLineWidth(0.35)
		f.SetDashPattern([]float64{4, 2}, 0)
		f.Line(x, y, x+6, y)
		f.SetDashPattern([]float64{}, 0)
	}, "baseline")
	x = d.legendItem(x, ly, func(x, y float64) {
		f.SetFillColor(230, 230, 230)
		f.Rect(x, y-1.5, 6, 3, "F")
		f.SetLineWidth(0.35)
		f.SetDashPattern([]float64{0.5, 1}, 0)
		f.Line(x, y-1.5, x+6, y-1.5)
		f.Line(x, y+1.5, x+6, y+1.5)
		f.SetDashPattern([]float64{}, 0)
	}, fmt.Sprintf("within the MCID of the baseline (± %s points)", scoreText(round2(band))))
	for _, p := range s.Points {
		if !p.Score.Valid {
			d.legendItem(x, ly, func(x, y float64) { square(x+3, y) }, "not scorable")
			break
		}
	}
	f.SetXY(pdfMargin, ly+4)
}
