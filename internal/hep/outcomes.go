package hep

import (
	"embed"
	"encoding/json"
	"fmt"
	"math"
	"path"
	"slices"
	"sort"
	"strings"
	"time"
)

// Outcome measures. An instrument is defined as data: a FHIR R4
// Questionnaire (instruments/*.json) whose hep extensions name its scoring
// rule, score range, direction and minimal clinically important difference
// (MCID) with its source. Scoring is one pure function per rule (Score);
// the schedule of an assignment is computed from its rule, in the
// patient's days, and never stored (DueSlots).

//go:embed instruments/*.json
var instrumentFiles embed.FS

// InstrumentID names an instrument ("psfs", "odi").
type InstrumentID string

// The built-in instruments.
const (
	InstrumentPSFS InstrumentID = "psfs"
	InstrumentODI  InstrumentID = "odi"
)

// ScoringRule names how an instrument's answers become its score.
type ScoringRule string

// The scoring rules.
const (
	// ScoringMean is the mean of the scored items answered (PSFS).
	ScoringMean ScoringRule = "mean"
	// ScoringODIPercent is sum / (5 x sections answered) x 100 (ODI).
	ScoringODIPercent ScoringRule = "odi-percent"
)

// ItemType is the kind of answer an item takes.
type ItemType string

// The item types.
const (
	ItemGroup   ItemType = "group"
	ItemString  ItemType = "string"
	ItemInteger ItemType = "integer"
	ItemChoice  ItemType = "choice"
)

// AnswerOption is one option of a choice item.
type AnswerOption struct {
	Value   int32  // the ordinal value scored
	Code    string // the option's code
	Display string
}

// InstrumentItem is one item of an instrument; a group holds others.
type InstrumentItem struct {
	LinkID    string
	Type      ItemType
	Text      string
	Required  bool
	Skippable bool // may be answered "skipped" (a required ODI section)
	Scored    bool // counts toward the score
	Min, Max  int32
	Options   []AnswerOption
	Items     []InstrumentItem // a group's items
}

// Instrument is an outcome questionnaire with its scoring.
type Instrument struct {
	ID             InstrumentID
	URL            string
	Version        string
	Title          string
	Description    string
	Copyright      string
	Scoring        ScoringRule
	ScoreMin       float64
	ScoreMax       float64
	HigherIsBetter bool
	MCIDPoints     float64 // a change of at least this many points matters
	MCIDPercent    float64 // or of this percentage of the baseline (0: none)
	MCIDSource     string
	MinScored      int    // fewest scored items answered for a score (0: every required one)
	PanelLOINC     string // the instrument's LOINC panel code, if any
	ScoreLOINC     string // the total score's LOINC code, if any
	TextLicensed   bool   // the item text ships with hep
	TextImported   bool   // a clinic imported its own text (WithText)
	Items          []InstrumentItem
	Raw            json.RawMessage // the FHIR Questionnaire as defined
}

// Leaves returns the instrument's answerable items in order (groups
// flattened), each with the link id of its group ("" at the top).
func (in Instrument) Leaves() []LeafItem {
	var out []LeafItem
	var walk func(group string, required bool, items []InstrumentItem)
	walk = func(group string, required bool, items []InstrumentItem) {
		for _, it := range items {
			if it.Type == ItemGroup {
				walk(it.LinkID, it.Required, it.Items)
				continue
			}
			out = append(out, LeafItem{InstrumentItem: it, Group: group, GroupRequired: required})
		}
	}
	walk("", true, in.Items)
	return out
}

// LeafItem is an answerable item and the group it belongs to.
type LeafItem struct {
	InstrumentItem
	Group         string
	GroupRequired bool // the group must be answered (true at the top)
}

var builtinInstruments = func() map[InstrumentID]Instrument {
	out := map[InstrumentID]Instrument{}
	names, err := instrumentFiles.ReadDir("instruments")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		b, err := instrumentFiles.ReadFile(path.Join("instruments", n.Name()))
		if err != nil {
			panic(err)
		}
		in, err := ParseInstrument(b)
		if err != nil {
			panic(fmt.Sprintf("hep: built-in instrument %s: %v", n.Name(), err))
		}
		out[in.ID] = in
	}
	return out
}()

// Instruments returns the built-in instruments, by id.
func Instruments() []Instrument {
	out := make([]Instrument, 0, len(builtinInstruments))
	for _, in := range builtinInstruments {
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// LookupInstrument returns a built-in instrument.
func LookupInstrument(id InstrumentID) (Instrument, bool) {
	in, ok := builtinInstruments[id]
	return in, ok
}

// fhirQuestionnaire is the part of a FHIR R4 Questionnaire hep reads.
type fhirQuestionnaire struct {
	ResourceType string          `json:"resourceType"`
	ID           string          `json:"id"`
	URL          string          `json:"url"`
	Version      string          `json:"version"`
	Title        string          `json:"title"`
	Status       string          `json:"status"`
	Description  string          `json:"description"`
	Copyright    string          `json:"copyright"`
	Code         []fhirCoding    `json:"code"`
	Extension    []fhirExtension `json:"extension"`
	Item         []fhirItem      `json:"item"`
}

type fhirCoding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display"`
}

type fhirExtension struct {
	URL          string   `json:"url"`
	ValueCode    string   `json:"valueCode"`
	ValueString  string   `json:"valueString"`
	ValueDecimal *float64 `json:"valueDecimal"`
	ValueInteger *int64   `json:"valueInteger"`
	ValueBoolean *bool    `json:"valueBoolean"`
}

type fhirItem struct {
	LinkID       string          `json:"linkId"`
	Type         string          `json:"type"`
	Text         string          `json:"text"`
	Required     bool            `json:"required"`
	Extension    []fhirExtension `json:"extension"`
	AnswerOption []struct {
		ValueCoding fhirCoding      `json:"valueCoding"`
		Extension   []fhirExtension `json:"extension"`
	} `json:"answerOption"`
	Item []fhirItem `json:"item"`
}

const (
	extPrefix     = "urn:hep:questionnaire:"
	extMinValue   = "http://hl7.org/fhir/StructureDefinition/minValue"
	extMaxValue   = "http://hl7.org/fhir/StructureDefinition/maxValue"
	extOrdinal    = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
	maxItemsTotal = 100
)

func extOf(exts []fhirExtension, url string) *fhirExtension {
	for i := range exts {
		if exts[i].URL == url {
			return &exts[i]
		}
	}
	return nil
}

func extBool(exts []fhirExtension, url string) bool {
	e := extOf(exts, url)
	return e != nil && e.ValueBoolean != nil && *e.ValueBoolean
}

func extNum(exts []fhirExtension, url string) (float64, bool) {
	e := extOf(exts, url)
	switch {
	case e == nil:
		return 0, false
	case e.ValueDecimal != nil:
		return *e.ValueDecimal, true
	case e.ValueInteger != nil:
		return float64(*e.ValueInteger), true
	}
	return 0, false
}

// ParseInstrument reads an instrument from its FHIR R4 Questionnaire. It
// checks what scoring relies on: a known rule, a score range, an MCID with
// its source, unique link ids, integer items with bounds and choice items
// with ordinal values.
func ParseInstrument(b []byte) (Instrument, error) {
	var q fhirQuestionnaire
	if err := json.Unmarshal(b, &q); err != nil {
		return Instrument{}, fmt.Errorf("not a JSON Questionnaire: %v", err)
	}
	if q.ResourceType != "Questionnaire" {
		return Instrument{}, fmt.Errorf("resourceType is %q, not Questionnaire", q.ResourceType)
	}
	in := Instrument{ID: InstrumentID(q.ID), URL: q.URL, Version: q.Version, Title: q.Title, Description: q.Description,
		Copyright: q.Copyright, Raw: json.RawMessage(b)}
	if !slugRE.MatchString(q.ID) || q.URL == "" || q.Title == "" {
		return in, fmt.Errorf("id (a slug), url and title are required")
	}
	if c := extOf(q.Extension, extPrefix+"scoring"); c != nil {
		in.Scoring = ScoringRule(c.ValueCode)
	}
	if in.Scoring != ScoringMean && in.Scoring != ScoringODIPercent {
		return in, fmt.Errorf("unknown scoring rule %q", in.Scoring)
	}
	var ok1, ok2, ok3 bool
	in.ScoreMin, ok1 = extNum(q.Extension, extPrefix+"score-min")
	in.ScoreMax, ok2 = extNum(q.Extension, extPrefix+"score-max")
	in.MCIDPoints, ok3 = extNum(q.Extension, extPrefix+"mcid-points")
	if !ok1 || !ok2 || !ok3 || in.ScoreMax <= in.ScoreMin || in.MCIDPoints <= 0 {
		return in, fmt.Errorf("score-min < score-max and a positive mcid-points are required")
	}
	in.MCIDPercent, _ = extNum(q.Extension, extPrefix+"mcid-percent")
	if e := extOf(q.Extension, extPrefix+"mcid-source"); e != nil {
		in.MCIDSource = e.ValueString
	}
	if in.MCIDSource == "" {
		return in, fmt.Errorf("mcid-source is required: an MCID is cited")
	}
	ms, _ := extNum(q.Extension, extPrefix+"min-scored")
	in.MinScored = int(ms)
	in.HigherIsBetter = extBool(q.Extension, extPrefix+"higher-is-better")
	in.TextLicensed = extBool(q.Extension, extPrefix+"text-licensed")
	if e := extOf(q.Extension, extPrefix+"score-loinc"); e != nil {
		in.ScoreLOINC = e.ValueCode
	}
	for _, c := range q.Code {
		if c.System == systemLOINCURL {
			in.PanelLOINC = c.Code
		}
	}
	seen := map[string]bool{}
	n := 0
	var conv func(items []fhirItem, depth int) ([]InstrumentItem, error)
	conv = func(items []fhirItem, depth int) ([]InstrumentItem, error) {
		var out []InstrumentItem
		for _, fi := range items {
			if n++; n > maxItemsTotal {
				return nil, fmt.Errorf("more than %d items", maxItemsTotal)
			}
			if !slugRE.MatchString(fi.LinkID) || seen[fi.LinkID] {
				return nil, fmt.Errorf("item linkId %q: must be a unique slug", fi.LinkID)
			}
			seen[fi.LinkID] = true
			it := InstrumentItem{LinkID: fi.LinkID, Type: ItemType(fi.Type), Text: fi.Text, Required: fi.Required,
				Skippable: extBool(fi.Extension, extPrefix+"skippable"), Scored: extBool(fi.Extension, extPrefix+"scored")}
			switch it.Type {
			case ItemGroup:
				if depth > 0 || len(fi.Item) == 0 {
					return nil, fmt.Errorf("item %s: a group holds answerable items and no groups", fi.LinkID)
				}
				sub, err := conv(fi.Item, depth+1)
				if err != nil {
					return nil, err
				}
				it.Items = sub
			case ItemString:
				if it.Scored {
					return nil, fmt.Errorf("item %s: a string item is not scored", fi.LinkID)
				}
			case ItemInteger:
				lo, ok1 := extNum(fi.Extension, extMinValue)
				hi, ok2 := extNum(fi.Extension, extMaxValue)
				if !ok1 || !ok2 || hi < lo {
					return nil, fmt.Errorf("item %s: an integer item has minValue and maxValue", fi.LinkID)
				}
				it.Min, it.Max = int32(lo), int32(hi)
			case ItemChoice:
				if len(fi.AnswerOption) == 0 {
					return nil, fmt.Errorf("item %s: a choice item has options", fi.LinkID)
				}
				for _, o := range fi.AnswerOption {
					v, ok := extNum(o.Extension, extOrdinal)
					if !ok || o.ValueCoding.Code == "" {
						return nil, fmt.Errorf("item %s: each option has a code and an ordinalValue", fi.LinkID)
					}
					it.Options = append(it.Options, AnswerOption{Value: int32(v), Code: o.ValueCoding.Code, Display: o.ValueCoding.Display})
				}
			default:
				return nil, fmt.Errorf("item %s: type %q is not one hep scores (group, string, integer, choice)", fi.LinkID, fi.Type)
			}
			out = append(out, it)
		}
		return out, nil
	}
	items, err := conv(q.Item, 0)
	if err != nil {
		return in, err
	}
	in.Items = items
	scored := 0
	for _, l := range in.Leaves() {
		if l.Scored {
			scored++
		}
	}
	if scored == 0 {
		return in, fmt.Errorf("no scored item")
	}
	if in.MinScored > scored {
		return in, fmt.Errorf("min-scored %d is more than the %d scored items", in.MinScored, scored)
	}
	return in, nil
}

const systemLOINCURL = "http://loinc.org"

// Answer is the answer to one item of a questionnaire response: a value
// (integer items, and the option's ordinal value for choice items), a text
// (string items), or explicitly skipped.
type Answer struct {
	LinkID  string
	Value   *int32
	Text    string
	Skipped bool
}

// QuestionnaireResponse is a patient's answers to one due slot of an
// assignment, pushed by the phone. A second response for the same slot
// supersedes the first: a slot has at most one live response.
type QuestionnaireResponse struct {
	ID                    string // phone-made UUID
	PatientID             string
	DeviceID              string
	AssignmentID          string
	Slot                  Date // the due slot answered (its due day)
	AuthoredTime          time.Time
	CorrectedAuthoredTime time.Time
	ReceiveTime           time.Time
	Answers               []Answer
	Supersedes            string // output: the response this one replaced, if any
	InstrumentID          InstrumentID
}

// Limits of responses.
const (
	MaxAnswers       = 100
	MaxAnswerTextLen = 200
)

// ContentHash fingerprints what the phone sent for a response.
func (r QuestionnaireResponse) ContentHash() string {
	h := newHasher()
	h.str(r.ID).str(r.AssignmentID).str(r.Slot.String()).time(r.AuthoredTime)
	for _, a := range r.Answers {
		h.str(a.LinkID).opt(a.Value).str(a.Text)
		if a.Skipped {
			h.str("skipped")
		} else {
			h.str("")
		}
	}
	return h.sum()
}

// ValidateResponseShape checks what can be checked without the assignment
// (after time correction). Fields are relative to the mutation
// ("response.answers[2].value").
func ValidateResponseShape(r QuestionnaireResponse, now time.Time) error {
	var v Violations
	if !isUUID(r.ID) {
		v.Add("response.id", "must be a UUID in canonical lower-case form")
	}
	if !isUUID(r.AssignmentID) {
		v.Add("response.assignment_id", "must be the id of one of the patient's questionnaire assignments")
	}
	if !r.Slot.Valid() {
		v.Add("response.slot_date", "must be a valid day: the due slot answered")
	}
	checkCorrected(&v, "response.authored_time", r.CorrectedAuthoredTime, now)
	if len(r.Answers) == 0 || len(r.Answers) > MaxAnswers {
		v.Add("response.answers", "must hold 1 to %d answers", MaxAnswers)
	}
	return v.Err()
}

// ValidateAnswers checks a response's answers against its instrument:
// every answer names a distinct item of the instrument; a value is within
// the item's range or options; a required item of a group that is
// answered (and of every required group) is answered, or skipped where the
// instrument allows. It returns the first violations by field.
func ValidateAnswers(in Instrument, answers []Answer) error {
	var v Violations
	leaves := in.Leaves()
	byID := map[string]LeafItem{}
	for _, l := range leaves {
		byID[l.LinkID] = l
	}
	got := map[string]Answer{}
	groupAnswered := map[string]bool{}
	for i, a := range answers {
		f := fmt.Sprintf("response.answers[%d]", i)
		l, ok := byID[a.LinkID]
		if !ok {
			v.Add(f+".link_id", "is not an item of %s", in.Title)
			continue
		}
		if _, dup := got[a.LinkID]; dup {
			v.Add(f+".link_id", "answers %s a second time", a.LinkID)
			continue
		}
		got[a.LinkID] = a
		switch {
		case a.Skipped:
			if !l.Skippable {
				v.Add(f+".skipped", "%s may not be skipped", a.LinkID)
			}
			if a.Value != nil || a.Text != "" {
				v.Add(f, "a skipped item has no value or text")
			}
		case l.Type == ItemString:
			if a.Value != nil {
				v.Add(f+".value", "%s takes a text, not a value", a.LinkID)
			}
			checkText(&v, f+".text", a.Text, true, MaxAnswerTextLen)
		case l.Type == ItemInteger:
			if a.Text != "" {
				v.Add(f+".text", "%s takes a value, not a text", a.LinkID)
			}
			if a.Value == nil || *a.Value < l.Min || *a.Value > l.Max {
				v.Add(f+".value", "must be from %d to %d", l.Min, l.Max)
			}
		case l.Type == ItemChoice:
			if a.Text != "" {
				v.Add(f+".text", "%s takes an option's value, not a text", a.LinkID)
			}
			if a.Value == nil || !slices.ContainsFunc(l.Options, func(o AnswerOption) bool { return o.Value == *a.Value }) {
				v.Add(f+".value", "must be the value of one of the item's options")
			}
		}
		if l.Group != "" {
			groupAnswered[l.Group] = true
		}
	}
	for _, l := range leaves {
		if !l.Required || (l.Group != "" && !l.GroupRequired && !groupAnswered[l.Group]) {
			continue
		}
		if _, ok := got[l.LinkID]; !ok {
			what := "must be answered"
			if l.Skippable {
				what = "must be answered or explicitly skipped"
			}
			v.Add("response.answers", "%s %s", l.LinkID, what)
		}
	}
	return v.Err()
}

// Score is an instrument's score of a response: Valid is false when too
// few scored items were answered (the instrument's MinScored).
type Score struct {
	Value    float64
	Valid    bool
	Answered int // scored items answered
	Skipped  int // scored items skipped
}

// ScoreResponse scores validated answers by the instrument's rule.
func ScoreResponse(in Instrument, answers []Answer) Score {
	var vals []int32
	skipped := 0
	scored := map[string]bool{}
	for _, l := range in.Leaves() {
		if l.Scored {
			scored[l.LinkID] = true
		}
	}
	for _, a := range answers {
		if !scored[a.LinkID] {
			continue
		}
		if a.Skipped || a.Value == nil {
			skipped++
			continue
		}
		vals = append(vals, *a.Value)
	}
	s := Score{Answered: len(vals), Skipped: skipped}
	if len(vals) == 0 || len(vals) < in.MinScored {
		return s
	}
	switch in.Scoring {
	case ScoringMean:
		s.Value, s.Valid = MeanScore(vals), true
	case ScoringODIPercent:
		s.Value, s.Valid = ODIPercent(vals), true
	}
	return s
}

// MeanScore is the PSFS rule: the mean of the ratings, to two decimals.
func MeanScore(vals []int32) float64 {
	sum := 0
	for _, x := range vals {
		sum += int(x)
	}
	return round2(float64(sum) / float64(len(vals)))
}

// ODIPercent is the ODI rule (Fairbank & Pynsent 2000): the sum of the
// answered sections' scores (0-5 each) over the most they could have
// scored, as a percentage, cut to one decimal as the instrument's own
// worked example does (16 of 45 is 35.5%).
func ODIPercent(vals []int32) float64 {
	sum := 0
	for _, x := range vals {
		sum += int(x)
	}
	return math.Floor(float64(sum*1000)/float64(5*len(vals))+1e-9) / 10
}

// OutcomeChange says whether a score moved by at least the instrument's
// MCID from the baseline, and which way is better.
type OutcomeChange string

// The outcome changes.
const (
	OutcomeUnknown  OutcomeChange = "" // fewer than two scores
	OutcomeNone     OutcomeChange = "NONE"
	OutcomeImproved OutcomeChange = "IMPROVED"
	OutcomeWorsened OutcomeChange = "WORSENED"
)

// ChangeOf classifies the change from baseline to latest: it matters if
// it is at least MCIDPoints or, where the instrument has one, MCIDPercent
// of the baseline.
func ChangeOf(in Instrument, baseline, latest float64) OutcomeChange {
	d := latest - baseline
	mag := math.Abs(d)
	const eps = 1e-9
	matters := mag+eps >= in.MCIDPoints
	if in.MCIDPercent > 0 && baseline > 0 && mag/baseline*100+eps >= in.MCIDPercent {
		matters = true
	}
	switch {
	case !matters:
		return OutcomeNone
	case (d > 0) == in.HigherIsBetter:
		return OutcomeImproved
	default:
		return OutcomeWorsened
	}
}

// Assignment is an instrument a clinician gave a patient, with its
// schedule: a baseline on Start, then every EveryWeeks weeks (0: baseline
// only), and one slot due VisitLeadDays before each visit date, until End
// (zero: open) or until the assignment is ended.
type Assignment struct {
	ID           string // server-made UUID
	PatientID    string
	InstrumentID InstrumentID
	Start        Date
	EveryWeeks   int32
	VisitDates   []Date
	End          Date
	CreatedBy    string
	CreateTime   time.Time
	EndTime      time.Time // zero while active
	EndedBy      string
}

// Limits and rules of schedules.
const (
	MaxEveryWeeks   = 52
	MaxVisitDates   = 20
	VisitLeadDays   = 3   // a visit's slot is due this many days before the visit
	OverdueDays     = 3   // a slot not answered this many days after it is due is overdue
	MaxDueSlots     = 400 // the most slots DueSlots returns
	MaxAssignments  = 10  // active assignments per patient
	maxScheduleDays = 3 * 366
)

// Active reports whether the assignment has not been ended.
func (a Assignment) Active() bool { return a.EndTime.IsZero() }

// DueSlot is one due questionnaire of an assignment. Its id is stable:
// the assignment's id and the due day.
type DueSlot struct {
	AssignmentID string
	Due          Date
	Visit        Date // the visit it prepares for, if any
}

// SlotID is the slot's stable id.
func (s DueSlot) SlotID() string { return s.AssignmentID + "/" + s.Due.String() }

// DueSlots returns the assignment's slots due on days in [from, to], in
// day order, at most MaxDueSlots. Slots are the baseline (Start), Start
// plus every multiple of EveryWeeks weeks, and each visit date less
// VisitLeadDays (not before Start); a day appears once, the visit's if
// both fall on it. Nothing is due after End, nor after the day the
// assignment was ended (in loc).
func DueSlots(a Assignment, loc *time.Location, from, to Date) []DueSlot {
	last := to
	if !a.End.IsZero() && a.End.Before(last) {
		last = a.End
	}
	if !a.EndTime.IsZero() {
		if e := DateOf(a.EndTime, loc); e.Before(last) {
			last = e
		}
	}
	byDay := map[Date]DueSlot{}
	add := func(d Date, visit Date) {
		if d.Before(a.Start) || d.Before(from) || last.Before(d) {
			return
		}
		if s, ok := byDay[d]; ok && !s.Visit.IsZero() {
			return
		}
		byDay[d] = DueSlot{AssignmentID: a.ID, Due: d, Visit: visit}
	}
	add(a.Start, Date{})
	if a.EveryWeeks > 0 {
		step := int(a.EveryWeeks) * 7
		k := 1
		if a.Start.Before(from) {
			k = max(1, a.Start.DaysUntil(from)/step)
		}
		for ; ; k++ {
			d := a.Start.AddDays(k * step)
			if last.Before(d) || len(byDay) > MaxDueSlots {
				break
			}
			add(d, Date{})
		}
	}
	for _, v := range a.VisitDates {
		d := v.AddDays(-VisitLeadDays)
		if d.Before(a.Start) {
			d = a.Start
		}
		add(d, v)
	}
	out := make([]DueSlot, 0, len(byDay))
	for _, s := range byDay {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Due.Before(out[j].Due) })
	if len(out) > MaxDueSlots {
		out = out[:MaxDueSlots]
	}
	return out
}

// IsSlot reports whether d is one of the assignment's due days (on or
// before today: a slot not yet due cannot be answered).
func IsSlot(a Assignment, loc *time.Location, d, today Date) bool {
	if today.Before(d) {
		return false
	}
	for _, s := range DueSlots(a, loc, d, d) {
		if s.Due == d {
			return true
		}
	}
	return false
}

// OverdueSlots returns the assignment's slots due on or before today less
// OverdueDays that have no live response (answered holds the answered due
// days), oldest first.
func OverdueSlots(a Assignment, loc *time.Location, today Date, answered map[Date]bool) []DueSlot {
	cutoff := today.AddDays(-OverdueDays)
	if cutoff.Before(a.Start) {
		return nil
	}
	from := a.Start
	if from.DaysUntil(cutoff) > maxScheduleDays {
		from = cutoff.AddDays(-maxScheduleDays)
	}
	var out []DueSlot
	for _, s := range DueSlots(a, loc, from, cutoff) {
		if !answered[s.Due] {
			out = append(out, s)
		}
	}
	return out
}

// AssignmentInput is what a clinician sets when assigning an instrument.
type AssignmentInput struct {
	InstrumentID InstrumentID
	Start        Date // zero: the patient's today
	EveryWeeks   int32
	VisitDates   []Date
	End          Date
}

// ValidateAssignment checks an assignment's input, with today the
// patient's today (the start may be in the past by at most a year).
func ValidateAssignment(in AssignmentInput, today Date) error {
	var v Violations
	if _, ok := LookupInstrument(in.InstrumentID); !ok {
		v.Add("instrument_id", "unknown instrument (%s)", strings.Join(instrumentIDs(), ", "))
	}
	start := in.Start
	if start.IsZero() {
		start = today
	}
	switch {
	case !start.Valid():
		v.Add("start_date", "must be a valid day")
	case start.Before(today.AddDays(-366)) || today.AddDays(366).Before(start):
		v.Add("start_date", "must be within a year of today")
	}
	if in.EveryWeeks < 0 || in.EveryWeeks > MaxEveryWeeks {
		v.Add("every_weeks", "must be from 0 (baseline only) to %d", MaxEveryWeeks)
	}
	if len(in.VisitDates) > MaxVisitDates {
		v.Add("visit_dates", "must hold at most %d days", MaxVisitDates)
	}
	seen := map[Date]bool{}
	for i, d := range in.VisitDates {
		f := fmt.Sprintf("visit_dates[%d]", i)
		switch {
		case !d.Valid():
			v.Add(f, "must be a valid day")
		case d.Before(start):
			v.Add(f, "must not be before the start")
		case start.DaysUntil(d) > maxScheduleDays:
			v.Add(f, "must be within 3 years of the start")
		case seen[d]:
			v.Add(f, "is listed twice")
		}
		seen[d] = true
	}
	if !in.End.IsZero() && (!in.End.Valid() || in.End.Before(start)) {
		v.Add("end_date", "must be a valid day, not before the start")
	}
	return v.Err()
}

func instrumentIDs() []string {
	var out []string
	for _, in := range Instruments() {
		out = append(out, string(in.ID))
	}
	return out
}

// OutcomePoint is one scored response in a series.
type OutcomePoint struct {
	ResponseID string
	Slot       Date
	Authored   time.Time
	Score      Score
}

// OutcomeSeries is one instrument's scores of a patient over time, oldest
// slot first, with the baseline (the first valid score) and the change of
// the latest valid score from it.
type OutcomeSeries struct {
	Instrument   Instrument
	AssignmentID string
	Points       []OutcomePoint
	Baseline     *float64
	Latest       *float64
	Change       OutcomeChange
	Delta        float64 // latest - baseline
	Overdue      []DueSlot
}

// SeriesOf builds a series from an assignment's live responses (any
// order).
func SeriesOf(in Instrument, assignmentID string, responses []QuestionnaireResponse) OutcomeSeries {
	s := OutcomeSeries{Instrument: in, AssignmentID: assignmentID}
	sort.Slice(responses, func(i, j int) bool {
		if responses[i].Slot != responses[j].Slot {
			return responses[i].Slot.Before(responses[j].Slot)
		}
		return responses[i].ID < responses[j].ID
	})
	for _, r := range responses {
		sc := ScoreResponse(in, r.Answers)
		s.Points = append(s.Points, OutcomePoint{ResponseID: r.ID, Slot: r.Slot, Authored: r.CorrectedAuthoredTime, Score: sc})
		if !sc.Valid {
			continue
		}
		x := sc.Value
		if s.Baseline == nil {
			s.Baseline = &x
		} else {
			s.Latest = &x
		}
	}
	if s.Baseline != nil && s.Latest != nil {
		s.Delta = round2(*s.Latest - *s.Baseline)
		s.Change = ChangeOf(in, *s.Baseline, *s.Latest)
	}
	return s
}

// AssignmentResponses is an assignment with its live responses.
type AssignmentResponses struct {
	Assignment Assignment
	Responses  []QuestionnaireResponse
}

// AssignmentStatus is an assignment with the slots its live responses
// answered.
type AssignmentStatus struct {
	Assignment
	Answered map[Date]bool
}

// ResponseFilter selects a page of a patient's live responses, newest slot
// first: after the (slot, id) where the previous page ended.
type ResponseFilter struct {
	PatientID    string
	AssignmentID string // "" for all
	BeforeSlot   Date
	BeforeID     string
	Limit        int
}

// NextDue returns the first slot due on or after today that has no
// answer, looking up to a year ahead; ok is false if none.
func NextDue(a Assignment, loc *time.Location, today Date, answered map[Date]bool) (DueSlot, bool) {
	for _, s := range DueSlots(a, loc, today.AddDays(-OverdueDays+1), today.AddDays(366)) {
		if !answered[s.Due] {
			return s, true
		}
	}
	return DueSlot{}, false
}

// IsUUID reports whether s is a UUID in canonical lower-case form.
func IsUUID(s string) bool { return isUUID(s) }

// ParseDate reads a YYYY-MM-DD day.
func ParseDate(s string) (Date, bool) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, false
	}
	d := Date{Year: t.Year(), Month: int(t.Month()), Day: t.Day()}
	return d, d.Valid()
}

// The alert kinds of outcome questionnaires.
const (
	// AlertFunctionWorsened: a response scored worse than the assignment's
	// baseline by at least the instrument's MCID.
	AlertFunctionWorsened AlertKind = "FUNCTION_WORSENED"
	// AlertQuestionnaireOverdue: a due slot unanswered for OverdueDays.
	AlertQuestionnaireOverdue AlertKind = "QUESTIONNAIRE_OVERDUE"
)

// ResponseTrigger is the trigger of an alert raised by a response.
func ResponseTrigger(id string) string { return "questionnaire_responses/" + id }

// SlotTrigger is the trigger of an alert about a due slot.
func SlotTrigger(s DueSlot) string { return "slot/" + s.SlotID() }

// AssignmentSubject is the subject of an assignment's alerts: its
// instrument and id, so that an alert phrase can name the instrument.
func AssignmentSubject(a Assignment) string { return string(a.InstrumentID) + "/" + a.ID }

// instrumentTitle names the instrument of an assignment subject.
func instrumentTitle(subject string) string {
	id, _, _ := strings.Cut(subject, "/")
	if in, ok := LookupInstrument(InstrumentID(id)); ok {
		return in.Title
	}
	return "questionnaire"
}

// FunctionWorsenedAlert is the FUNCTION_WORSENED alert a new response
// raises, or nil: responses are the assignment's live responses (the new
// one among them), and the new one's score is compared with the baseline,
// the first valid score by slot. The baseline itself raises nothing.
func FunctionWorsenedAlert(a Assignment, responses []QuestionnaireResponse, newID string) *Alert {
	in, ok := LookupInstrument(a.InstrumentID)
	if !ok {
		return nil
	}
	s := SeriesOf(in, a.ID, responses)
	var base *OutcomePoint
	var cur *OutcomePoint
	for i := range s.Points {
		p := &s.Points[i]
		if base == nil && p.Score.Valid {
			base = p
		}
		if p.ResponseID == newID {
			cur = p
		}
	}
	if base == nil || cur == nil || !cur.Score.Valid || cur == base {
		return nil
	}
	if ChangeOf(in, base.Score.Value, cur.Score.Value) != OutcomeWorsened {
		return nil
	}
	diff := math.Abs(round2(cur.Score.Value - base.Score.Value))
	mcid := fmt.Sprintf("%g points", in.MCIDPoints)
	if in.MCIDPercent > 0 {
		mcid += fmt.Sprintf(" or %g%%", in.MCIDPercent)
	}
	return &Alert{PatientID: a.PatientID, Kind: AlertFunctionWorsened, Severity: AlertRoutine, Status: AlertOpen,
		Subject: AssignmentSubject(a), Trigger: ResponseTrigger(newID),
		Summary: fmt.Sprintf("%s %g on %s, worse than the baseline %g of %s by %g (MCID %s).",
			in.Title, cur.Score.Value, cur.Slot, base.Score.Value, base.Slot, diff, mcid)}
}

// QuestionnaireOverdueAlert is the QUESTIONNAIRE_OVERDUE alert of an
// unanswered slot.
func QuestionnaireOverdueAlert(a Assignment, s DueSlot) Alert {
	return Alert{PatientID: a.PatientID, Kind: AlertQuestionnaireOverdue, Severity: AlertRoutine, Status: AlertOpen,
		Subject: AssignmentSubject(a), Trigger: SlotTrigger(s),
		Summary: fmt.Sprintf("The %s due %s is not answered (%d days later).", instrumentTitle(AssignmentSubject(a)), s.Due, OverdueDays)}
}

// MaxQuestionnaireBytes bounds an imported Questionnaire.
const MaxQuestionnaireBytes = 256 << 10

// WithText returns the instrument with a clinic's own text for it: raw is
// a FHIR R4 Questionnaire of the same instrument (its url) with the same
// structure (every item's linkId, type, required, skippable and scored
// marks, bounds, and every option's code and ordinal value, in the same
// order), of which only the texts (titles, item texts, option displays)
// may differ. Scoring is the built-in's; the result has Raw = raw and
// TextImported set. The error says what differs.
func (in Instrument) WithText(raw []byte) (Instrument, error) {
	if len(raw) > MaxQuestionnaireBytes {
		return in, fmt.Errorf("the Questionnaire is larger than %d bytes", MaxQuestionnaireBytes)
	}
	got, err := ParseInstrument(raw)
	if err != nil {
		return in, err
	}
	if got.URL != in.URL || got.ID != in.ID {
		return in, fmt.Errorf("the Questionnaire's id and url must be %s and %s", in.ID, in.URL)
	}
	if got.Scoring != in.Scoring || got.ScoreMin != in.ScoreMin || got.ScoreMax != in.ScoreMax || got.HigherIsBetter != in.HigherIsBetter ||
		got.MCIDPoints != in.MCIDPoints || got.MCIDPercent != in.MCIDPercent || got.MinScored != in.MinScored {
		return in, fmt.Errorf("the scoring extensions must be the built-in instrument's")
	}
	var same func(path string, a, b []InstrumentItem) error
	same = func(path string, a, b []InstrumentItem) error {
		if len(a) != len(b) {
			return fmt.Errorf("%s: %d items, the instrument has %d", path, len(b), len(a))
		}
		for i := range a {
			x, y := a[i], b[i]
			where := path + "/" + x.LinkID
			if x.LinkID != y.LinkID || x.Type != y.Type || x.Required != y.Required || x.Skippable != y.Skippable ||
				x.Scored != y.Scored || x.Min != y.Min || x.Max != y.Max || len(x.Options) != len(y.Options) {
				return fmt.Errorf("item %d (%s) differs from the instrument's structure", i+1, where)
			}
			for j := range x.Options {
				if x.Options[j].Code != y.Options[j].Code || x.Options[j].Value != y.Options[j].Value {
					return fmt.Errorf("option %d of %s differs from the instrument's", j+1, where)
				}
			}
			if err := same(where, x.Items, y.Items); err != nil {
				return err
			}
		}
		return nil
	}
	if err := same("", in.Items, got.Items); err != nil {
		return in, err
	}
	out := in
	out.Raw, out.Items, out.Title, out.Description, out.Copyright = got.Raw, got.Items, got.Title, got.Description, got.Copyright
	out.TextImported = true
	return out, nil
}

// TextAvailable reports whether the instrument can be shown to patients:
// its text ships with hep or a clinic imported it.
func (in Instrument) TextAvailable() bool { return in.TextLicensed || in.TextImported }
