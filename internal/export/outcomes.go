package export

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/hepclinic/hep/internal/hep"
)

// Outcome measures: every format renders the snapshot's questionnaire
// assignments from the same series (outcomesOf), so the FHIR
// Observations, the CSV rows and the PDF table cannot disagree on a score
// or on what counts as the baseline. A series holds every live response
// of the snapshot, the baseline too when it is older than the range: a
// change means nothing without it.

// outcomeSeries is one assignment's responses, scored, oldest slot first.
type outcomeSeries struct {
	Assignment hep.Assignment
	Instrument hep.Instrument
	Points     []outcomePoint
	Baseline   *outcomePoint // the first valid score (hep.SeriesOf's), nil if none
}

// outcomePoint is one response of a series with its score and its change
// from the series' baseline.
type outcomePoint struct {
	Response   hep.QuestionnaireResponse
	Score      hep.Score
	IsBaseline bool
	// HasChange is set for a valid score after the baseline: Delta is
	// score - baseline (to two decimals) and Change its classification
	// against the instrument's MCID.
	HasChange bool
	Delta     float64
	Change    hep.OutcomeChange
}

// outcomesOf scores the snapshot's assignments. An assignment of an
// instrument this build does not know is left out (it cannot be scored or
// described); the snapshot is not modified.
func outcomesOf(snap *hep.ExportSnapshot) []outcomeSeries {
	var out []outcomeSeries
	for _, ar := range snap.Outcomes {
		in, ok := hep.LookupInstrument(ar.Assignment.InstrumentID)
		if !ok {
			continue
		}
		// SeriesOf sorts what it is given: a copy, the snapshot stays as
		// it is.
		series := hep.SeriesOf(in, ar.Assignment.ID, slices.Clone(ar.Responses))
		byID := make(map[string]hep.QuestionnaireResponse, len(ar.Responses))
		for _, r := range ar.Responses {
			byID[r.ID] = r
		}
		s := outcomeSeries{Assignment: ar.Assignment, Instrument: in}
		base := -1
		for _, sp := range series.Points {
			p := outcomePoint{Response: byID[sp.ResponseID], Score: sp.Score}
			if p.Score.Valid {
				if base < 0 {
					base = len(s.Points)
					p.IsBaseline = true
				} else {
					b := s.Points[base].Score.Value
					p.HasChange = true
					p.Delta = round2(p.Score.Value - b)
					p.Change = hep.ChangeOf(in, b, p.Score.Value)
				}
			}
			s.Points = append(s.Points, p)
		}
		if base >= 0 {
			s.Baseline = &s.Points[base]
		}
		out = append(out, s)
	}
	return out
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// scoreText is a score as a decimal without trailing zeros ("4", "5.67").
func scoreText(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// deltaText is a change with its sign ("+3", "-2", "0").
func deltaText(x float64) string {
	if x > 0 {
		return "+" + scoreText(x)
	}
	return scoreText(x)
}

// mcidText is an instrument's MCID ("2 points", "10 points or 30% of the
// baseline").
func mcidText(in hep.Instrument) string {
	s := fmt.Sprintf("%s points", scoreText(in.MCIDPoints))
	if in.MCIDPercent > 0 {
		s += fmt.Sprintf(" or %s%% of the baseline", scoreText(in.MCIDPercent))
	}
	return s
}

// changeWords says what a change means ("improved", "worsened", "no
// important change").
func changeWords(c hep.OutcomeChange) string {
	switch c {
	case hep.OutcomeImproved:
		return "improved"
	case hep.OutcomeWorsened:
		return "worsened"
	case hep.OutcomeNone:
		return "no important change"
	}
	return ""
}

// changeSentence describes a point against its series' baseline, or "" if
// there is nothing to say (no valid score, or no baseline).
func changeSentence(s outcomeSeries, p outcomePoint) string {
	switch {
	case !p.Score.Valid || s.Baseline == nil:
		return ""
	case p.IsBaseline:
		return fmt.Sprintf("Baseline of the series (MCID %s).", mcidText(s.Instrument))
	}
	b := s.Baseline
	rel := "less than"
	if p.Change != hep.OutcomeNone {
		rel = "at least"
	}
	return fmt.Sprintf("Change from the baseline %s of %s: %s points, %s the MCID of %s: %s.",
		scoreText(b.Score.Value), b.Response.Slot, deltaText(p.Delta), rel, mcidText(s.Instrument), changeWords(p.Change))
}

// optionSystems reads the code system of each choice item's options from
// the instrument's Questionnaire (hep.AnswerOption keeps the code only):
// link id -> system.
func optionSystems(in hep.Instrument) map[string]string {
	type item struct {
		LinkID       string `json:"linkId"`
		AnswerOption []struct {
			ValueCoding struct {
				System string `json:"system"`
			} `json:"valueCoding"`
		} `json:"answerOption"`
		Item []item `json:"item"`
	}
	var q struct {
		Item []item `json:"item"`
	}
	out := map[string]string{}
	if json.Unmarshal(in.Raw, &q) != nil {
		return out
	}
	var walk func([]item)
	walk = func(items []item) {
		for _, it := range items {
			if len(it.AnswerOption) > 0 && it.AnswerOption[0].ValueCoding.System != "" {
				out[it.LinkID] = it.AnswerOption[0].ValueCoding.System
			}
			walk(it.Item)
		}
	}
	walk(q.Item)
	return out
}
