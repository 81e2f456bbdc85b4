package hep

import (
	"math"
	"sort"
	"sync"
	"time"
)

// The alert kinds of clinician review (see AlertKind).
const (
	AlertPainSevere    AlertKind = "PAIN_SEVERE"
	AlertPainFlare     AlertKind = "PAIN_FLARE"
	AlertPainWorsening AlertKind = "PAIN_WORSENING"
	AlertNonAdherence  AlertKind = "NON_ADHERENCE"
)

// Thresholds are a clinic's rules for alerts and review.
type Thresholds struct {
	SeverePain          int32   // any score >= this raises PAIN_SEVERE
	FlareIncrease       int32   // after - before >= this is a flare
	WorseningIncrease   float64 // 7-day mean up by >= this on the previous 7 days
	NonAdherencePercent int32   // 7-day adherence below this raises NON_ADHERENCE
	AdherentPercent     int32   // adherence at or above this is adherent
	MCIDPoints          float64 // minimal clinically important difference, NRS points
	MCIDPercent         int32   // ... or percent of the baseline
	InactiveDays        int32   // days without a session that make a patient inactive
}

// DefaultThresholds are the defaults of DESIGN.md and
// ../docs/clinical-rules.md.
func DefaultThresholds() Thresholds {
	return Thresholds{SeverePain: 7, FlareIncrease: 2, WorseningIncrease: 2, NonAdherencePercent: 50,
		AdherentPercent: 80, MCIDPoints: 2, MCIDPercent: 30, InactiveDays: 3}
}

// Validate checks every threshold's range; field names are under
// "thresholds.".
func (t Thresholds) Validate() error {
	var v Violations
	intIn := func(f string, x, lo, hi int32) {
		if x < lo || x > hi {
			v.Add("thresholds."+f, "must be %d-%d", lo, hi)
		}
	}
	floatIn := func(f string, x, lo, hi float64) {
		if math.IsNaN(x) || x < lo || x > hi {
			v.Add("thresholds."+f, "must be %g-%g", lo, hi)
		}
	}
	intIn("severe_pain", t.SeverePain, 1, 10)
	intIn("flare_increase", t.FlareIncrease, 1, 10)
	floatIn("worsening_increase", t.WorseningIncrease, 0.5, 10)
	intIn("non_adherence_percent", t.NonAdherencePercent, 1, 100)
	intIn("adherent_percent", t.AdherentPercent, 1, 100)
	floatIn("mcid_points", t.MCIDPoints, 0.5, 10)
	intIn("mcid_percent", t.MCIDPercent, 1, 100)
	intIn("inactive_days", t.InactiveDays, 1, 90)
	return v.Err()
}

// AddDays returns the day n days after d (n may be negative).
func (d Date) AddDays(n int) Date {
	t := time.Date(d.Year, time.Month(d.Month), d.Day+n, 12, 0, 0, 0, time.UTC)
	return Date{t.Year(), int(t.Month()), t.Day()}
}

// Weekday returns d's day of the week.
func (d Date) Weekday() time.Weekday {
	return time.Date(d.Year, time.Month(d.Month), d.Day, 12, 0, 0, 0, time.UTC).Weekday()
}

// DaysUntil returns the number of days from d to e (negative if e is
// before d).
func (d Date) DaysUntil(e Date) int {
	a := time.Date(d.Year, time.Month(d.Month), d.Day, 12, 0, 0, 0, time.UTC)
	b := time.Date(e.Year, time.Month(e.Month), e.Day, 12, 0, 0, 0, time.UTC)
	return int(math.Round(b.Sub(a).Hours() / 24))
}

// Start returns the first instant of d in loc (midnight, or the first
// instant after a DST gap at midnight).
func (d Date) Start(loc *time.Location) time.Time {
	t := time.Date(d.Year, time.Month(d.Month), d.Day, 0, 0, 0, 0, loc)
	if DateOf(t, loc) != d { // midnight skipped: the day starts at its first hour
		t = time.Date(d.Year, time.Month(d.Month), d.Day, 1, 0, 0, 0, loc)
	}
	return t
}

// MaxProgressDays caps a progress range.
const MaxProgressDays = 366

// DefaultProgressDays is the range of a progress request without a from
// day (four weeks).
const DefaultProgressDays = 28

// zones caches locations by name: time.LoadLocation reads the zone's file
// on every call, and triage needs one per patient.
var zones sync.Map // string -> *time.Location

// LoadZone returns the location of an IANA name, UTC if unusable.
func LoadZone(name string) *time.Location {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" {
		loc = time.UTC
	}
	zones.Store(name, loc)
	return loc
}

// PlanVersionFacts is one plan version as progress needs it: when it took
// effect and what it prescribed.
type PlanVersionFacts struct {
	Version    int64
	CreateTime time.Time
	Items      []ItemSpec
}

// SuspensionInterval is a time an item of a plan version was SUSPENDED;
// To is zero while it still is.
type SuspensionInterval struct {
	PlanVersion int64
	ExerciseID  string
	From, To    time.Time
}

// LogFact is a live exercise log as progress needs it.
type LogFact struct {
	ExerciseID    string
	Time          time.Time // corrected perform time
	PainBefore    *int32
	PainAfter     *int32
	ItemSuspended bool
}

// CheckinFact is a live pain check-in as progress needs it.
type CheckinFact struct {
	Time  time.Time // corrected record time
	Score int32
}

// ProgressFacts is what a store reads for ComputeProgress over [From, To]
// in the patient's zone.
type ProgressFacts struct {
	PatientID string
	TimeZone  string
	From, To  Date
	// Versions are the plan versions in force on any day of the range,
	// oldest first: every version created before the end of To, from the
	// last one created on or before From. The version in force on a day is
	// the last one created on or before that day (patient's zone).
	Versions    []PlanVersionFacts
	Suspensions []SuspensionInterval // of those versions
	Logs        []LogFact            // live logs of the range, any order
	Checkins    []CheckinFact        // live check-ins of the range, any order
	// LastActivity is the newest live log at or before the end of the
	// range's last day (zero if none).
	LastActivity time.Time
	// ActivityDays are the distinct days with a live log, newest first,
	// on or before To (at least enough to measure the current streak).
	ActivityDays []Date
	Current      Plan              // the current plan (suspended items, hold)
	Names        map[string]string // exercise id -> name
	// Outcomes are the patient's questionnaire assignments (ended ones
	// too), oldest first, each with all its live responses (whatever the
	// range: a baseline is the first response ever).
	Outcomes []AssignmentResponses
}

// PainChange says whether a change of pain is clinically important.
type PainChange string

// The pain changes.
const (
	PainChangeUnknown  PainChange = ""
	PainChangeNone     PainChange = "NONE"
	PainChangeImproved PainChange = "IMPROVED"
	PainChangeWorsened PainChange = "WORSENED"
)

// Adherence is completed over prescribed sessions.
type Adherence struct {
	Prescribed int32
	Completed  int32 // capped per item and week
	// Logged is the live sessions that count toward adherence (every live
	// session except those logged while their item was suspended), before
	// capping.
	Logged int32
	// LoggedWhileSuspended is the live sessions logged while their plan
	// item was suspended: done, but not toward adherence (UseOfSession).
	// Logged + LoggedWhileSuspended is every live session.
	LoggedWhileSuspended int32
	Percent              float64
	Adherent             bool
}

// SessionUse says where one live session counts in review.
type SessionUse struct {
	// Adherence: the session counts in Adherence.Logged and can complete
	// a prescribed session; otherwise it counts in
	// Adherence.LoggedWhileSuspended.
	Adherence bool
	// PainResponse: its pain scores count in the exercise's mean pain
	// response and flares.
	PainResponse bool
}

// UseOfSession is the one rule for a session logged while its plan item
// was SUSPENDED (the log's ItemSuspended), used by progress, triage, the
// alerts and the exports (docs/clinical-rules.md, "Sessions logged while
// suspended"): the patient did it, so it is a logged session (shown
// apart), it counts as activity (days since the last session, the
// streak) and its pain counts in the pain response and flares (the pain
// happened, and hiding a flare on an item suspended for safety would hide
// harm); but it never counts toward adherence, because a suspended item
// prescribes nothing and a clinician's gate stopped it: counting it would
// reward doing what was stopped and could fill a slot of a day the item
// was prescribed.
func UseOfSession(itemSuspended bool) SessionUse {
	return SessionUse{Adherence: !itemSuspended, PainResponse: true}
}

// ProgressWeek is one calendar week (Monday-Sunday) clipped to the range.
type ProgressWeek struct {
	Start, End         Date
	Adherence          Adherence
	Checkins           int32
	PainMean           float64
	PainMedian         float64
	ChangeFromBaseline float64
	Change             PainChange
}

// ItemProgress is one exercise's adherence and pain response.
type ItemProgress struct {
	ExerciseID       string
	ExerciseName     string
	Adherence        Adherence
	Weekly           []Adherence
	ScoredSessions   int32
	MeanPainResponse float64
	Flares           int32
	SuspendedDays    int32
}

// SuspendedItem is a current plan item the patient cannot do, and why.
type SuspendedItem struct {
	ExerciseID string
	Reasons    []Reason
	Since      time.Time
}

// Progress is a patient's adherence and pain over a range of days.
type Progress struct {
	PatientID         string
	TimeZone          string
	From, To          Date
	Adherence         Adherence
	Weeks             []ProgressWeek
	Items             []ItemProgress
	BaselineWeek      int // -1: no check-ins
	PainChange        PainChange
	DaysSinceActivity int // -1: never
	LastActivity      time.Time
	StreakDays        int
	PlanVersions      []int64
	SuspendedItems    []SuspendedItem
	RedFlagHold       bool
	Thresholds        Thresholds
	Outcomes          []OutcomeSeries
}

// ValidateRange checks a progress or export range: both days valid, from
// not after to, at most maxDays days. Fields are "from" and "to".
func ValidateRange(from, to Date, maxDays int) error {
	var v Violations
	if !from.Valid() {
		v.Add("from", "must be a valid day between 2000 and 2100")
	}
	if !to.Valid() {
		v.Add("to", "must be a valid day between 2000 and 2100")
	}
	if len(v) == 0 {
		if to.Before(from) {
			v.Add("to", "must not be before from")
		} else if from.DaysUntil(to)+1 > maxDays {
			v.Add("from", "the range must be at most %d days", maxDays)
		}
	}
	return v.Err()
}

// Round2 rounds to two decimals (figures are shown, not computed on).
func round2(x float64) float64 { return math.Round(x*100) / 100 }

// add adds b's counts to a (not the percentage).
func (a *Adherence) add(b Adherence) {
	a.Prescribed += b.Prescribed
	a.Completed += b.Completed
	a.Logged += b.Logged
	a.LoggedWhileSuspended += b.LoggedWhileSuspended
}

func percentOf(a *Adherence, t Thresholds) {
	if a.Prescribed > 0 {
		a.Percent = round2(100 * float64(a.Completed) / float64(a.Prescribed))
		a.Adherent = a.Percent >= float64(t.AdherentPercent)
	}
}

// MCIDBounds returns how far pain must fall, and rise, from a baseline mean
// to be a clinically important change: a fall MCIDPoints or MCIDPercent of
// the baseline, whichever is smaller; a rise MCIDPoints.
func MCIDBounds(baseline float64, t Thresholds) (fall, rise float64) {
	fall = t.MCIDPoints
	if baseline > 0 {
		fall = math.Min(fall, baseline*float64(t.MCIDPercent)/100)
	}
	return fall, t.MCIDPoints
}

// ClassifyPainChange compares a mean with a baseline mean. A fall is
// important at MCIDPoints or MCIDPercent of the baseline (the consensus
// defines both for improvement); a rise only at MCIDPoints, so a low
// baseline's fraction of a point never reads as worsening.
func ClassifyPainChange(baseline, mean float64, t Thresholds) PainChange {
	delta := mean - baseline
	const eps = 1e-9
	fall, rise := MCIDBounds(baseline, t)
	important := (delta < 0 && -delta >= fall-eps) || (delta > 0 && delta >= rise-eps)
	switch {
	case !important || delta == 0:
		return PainChangeNone
	case delta < 0:
		return PainChangeImproved
	default:
		return PainChangeWorsened
	}
}

func meanMedian(xs []int32) (float64, float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	s := append([]int32(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	var sum int64
	for _, x := range s {
		sum += int64(x)
	}
	n := len(s)
	med := float64(s[n/2])
	if n%2 == 0 {
		med = float64(s[n/2-1]+s[n/2]) / 2
	}
	return round2(float64(sum) / float64(n)), med
}

// ComputeProgress computes progress from facts, at now (for "today").
// Rules (docs/clinical-rules.md, "Progress and alerts"):
//   - the version in force on a day is the last created on or before it;
//     an item prescribes on days within its start and end dates, except
//     days it was SUSPENDED at any moment (counted as suspended days);
//   - weekday items prescribe TimesPerDay on their weekdays; days-per-week
//     items prescribe ceil(sum over available days of
//     TimesPerDay*DaysPerWeek/7) in a week;
//   - completed = live logs of the exercise in the week that count toward
//     adherence (UseOfSession: not made while suspended), capped at the
//     week's prescribed count per exercise; the others are counted apart
//     (LoggedWhileSuspended); the pain response counts both;
//   - weeks are Monday-Sunday clipped to the range.
func ComputeProgress(f ProgressFacts, t Thresholds, now time.Time) Progress {
	var weeks []ProgressWeek
	for d := f.From; !f.To.Before(d); {
		end := d.AddDays((7 - (int(d.Weekday())+6)%7) - 1) // through Sunday
		if f.To.Before(end) {
			end = f.To
		}
		weeks = append(weeks, ProgressWeek{Start: d, End: end})
		d = end.AddDays(1)
	}
	return computeProgress(f, t, now, weeks)
}

// WindowAdherence is the adherence over [f.From, f.To] (at most
// WindowDays days) taken as one block, for the 7-day windows of
// NON_ADHERENCE and triage: the ceil rule and the cap apply to the whole
// window instead of to its clipped calendar weeks. A window that straddles
// a Monday would otherwise be two partial weeks, each rounded up: an item
// of 1 day a week would prescribe 2 sessions in 7 days (ceil(4/7) +
// ceil(3/7)), and a patient doing exactly what was asked would read 50%.
func WindowAdherence(f ProgressFacts, t Thresholds) Adherence {
	return computeProgress(f, t, time.Time{}, []ProgressWeek{{Start: f.From, End: f.To}}).Adherence
}

// computeProgress is ComputeProgress over the given weeks (consecutive,
// covering [f.From, f.To]).
func computeProgress(f ProgressFacts, t Thresholds, now time.Time, weeks []ProgressWeek) Progress {
	loc := LoadZone(f.TimeZone)
	p := Progress{PatientID: f.PatientID, TimeZone: f.TimeZone, From: f.From, To: f.To, Thresholds: t,
		BaselineWeek: -1, DaysSinceActivity: -1, RedFlagHold: f.Current.RedFlagHold, Weeks: weeks}
	weekOf := func(d Date) int {
		if d.Before(f.From) || f.To.Before(d) {
			return -1
		}
		for i, w := range p.Weeks {
			if !w.End.Before(d) {
				return i
			}
		}
		return -1
	}

	// Exercises in order of first appearance; per exercise and week the
	// prescribed count (weekday sessions + days-per-week numerator).
	type acc struct {
		weekdaySessions []int32
		dpwNumerator    []int32 // sum of TimesPerDay*DaysPerWeek over available days
		completed       []int32
		logged          []int32
		whileSuspended  []int32
		suspendedDays   int32
		responseSum     int64
		scored, flares  int32
	}
	order := []string{}
	per := map[string]*acc{}
	get := func(id string) *acc {
		a := per[id]
		if a == nil {
			n := len(p.Weeks)
			a = &acc{weekdaySessions: make([]int32, n), dpwNumerator: make([]int32, n),
				completed: make([]int32, n), logged: make([]int32, n), whileSuspended: make([]int32, n)}
			per[id] = a
			order = append(order, id)
		}
		return a
	}
	suspended := func(v int64, ex string, d Date) bool {
		start, end := d.Start(loc), d.AddDays(1).Start(loc)
		for _, s := range f.Suspensions {
			if s.PlanVersion == v && s.ExerciseID == ex && s.From.Before(end) && (s.To.IsZero() || s.To.After(start)) {
				return true
			}
		}
		return false
	}
	seen := map[int64]bool{}
	for d, wi := f.From, 0; !f.To.Before(d); d = d.AddDays(1) {
		for wi < len(p.Weeks) && p.Weeks[wi].End.Before(d) {
			wi++
		}
		vi := -1
		for i, v := range f.Versions {
			if !d.Before(DateOf(v.CreateTime, loc)) {
				vi = i
			}
		}
		if vi < 0 {
			continue
		}
		v := f.Versions[vi]
		if !seen[v.Version] {
			seen[v.Version] = true
			p.PlanVersions = append(p.PlanVersions, v.Version)
		}
		for _, it := range v.Items {
			if !it.OnDay(d) {
				continue
			}
			a := get(it.ExerciseID)
			if suspended(v.Version, it.ExerciseID, d) {
				a.suspendedDays++
				continue
			}
			weekday, sevenths := it.SessionsOn(d)
			a.weekdaySessions[wi] += weekday
			a.dpwNumerator[wi] += sevenths
		}
	}

	// Logs: completion and pain response.
	for _, l := range f.Logs {
		d := DateOf(l.Time, loc)
		wi := weekOf(d)
		if wi < 0 {
			continue
		}
		a := get(l.ExerciseID)
		use := UseOfSession(l.ItemSuspended)
		if use.Adherence {
			a.logged[wi]++
		} else {
			a.whileSuspended[wi]++
		}
		if use.PainResponse && l.PainBefore != nil && l.PainAfter != nil {
			diff := *l.PainAfter - *l.PainBefore
			a.scored++
			a.responseSum += int64(diff)
			if diff >= t.FlareIncrease {
				a.flares++
			}
		}
	}

	for _, id := range order {
		a := per[id]
		ip := ItemProgress{ExerciseID: id, ExerciseName: f.Names[id], SuspendedDays: a.suspendedDays,
			ScoredSessions: a.scored, Flares: a.flares}
		if a.scored > 0 {
			ip.MeanPainResponse = round2(float64(a.responseSum) / float64(a.scored))
		}
		for wi := range p.Weeks {
			w := Adherence{Prescribed: a.weekdaySessions[wi] + WeekShare(a.dpwNumerator[wi]), Logged: a.logged[wi],
				LoggedWhileSuspended: a.whileSuspended[wi]}
			w.Completed = min(w.Logged, w.Prescribed)
			percentOf(&w, t)
			ip.Weekly = append(ip.Weekly, w)
			ip.Adherence.add(w)
			p.Weeks[wi].Adherence.add(w)
		}
		percentOf(&ip.Adherence, t)
		p.Adherence.add(ip.Adherence)
		p.Items = append(p.Items, ip)
	}
	percentOf(&p.Adherence, t)
	for wi := range p.Weeks {
		percentOf(&p.Weeks[wi].Adherence, t)
	}

	// Pain trend.
	scores := make([][]int32, len(p.Weeks))
	for _, c := range f.Checkins {
		if wi := weekOf(DateOf(c.Time, loc)); wi >= 0 {
			scores[wi] = append(scores[wi], c.Score)
		}
	}
	last := -1
	for wi := range p.Weeks {
		w := &p.Weeks[wi]
		w.Checkins = int32(len(scores[wi]))
		if w.Checkins == 0 {
			continue
		}
		w.PainMean, w.PainMedian = meanMedian(scores[wi])
		if p.BaselineWeek < 0 {
			p.BaselineWeek = wi
		}
		base := p.Weeks[p.BaselineWeek].PainMean
		w.ChangeFromBaseline = round2(w.PainMean - base)
		w.Change = ClassifyPainChange(base, w.PainMean, t)
		last = wi
	}
	if last > p.BaselineWeek {
		p.PainChange = p.Weeks[last].Change
	}

	// Activity as of the range's end or today, whichever is earlier.
	asOf := f.To
	if today := DateOf(now, loc); today.Before(asOf) {
		asOf = today
	}
	if !f.LastActivity.IsZero() {
		p.LastActivity = f.LastActivity
		if n := DateOf(f.LastActivity, loc).DaysUntil(asOf); n >= 0 {
			p.DaysSinceActivity = n
		}
	}
	var days []Date
	for _, d := range f.ActivityDays {
		if !asOf.Before(d) {
			days = append(days, d)
		}
	}
	if len(days) > 0 && (days[0] == asOf || days[0] == asOf.AddDays(-1)) {
		next := days[0]
		for _, d := range days {
			if d != next {
				break
			}
			p.StreakDays++
			next = d.AddDays(-1)
		}
	}

	today := DateOf(now, loc)
	for _, it := range f.Current.Items {
		if it.StateOn(today) == ItemSuspended {
			p.SuspendedItems = append(p.SuspendedItems, SuspendedItem{ExerciseID: it.Spec.ExerciseID,
				Reasons: it.StateReasons, Since: it.StateTime})
		}
	}
	p.Outcomes = OutcomesOf(f.Outcomes, loc, today)
	return p
}

// OutcomesOf is the outcome series of a patient's assignments, with the
// slots overdue today.
func OutcomesOf(as []AssignmentResponses, loc *time.Location, today Date) []OutcomeSeries {
	var out []OutcomeSeries
	for _, ar := range as {
		in, ok := LookupInstrument(ar.Assignment.InstrumentID)
		if !ok {
			continue
		}
		s := SeriesOf(in, ar.Assignment.ID, ar.Responses)
		answered := map[Date]bool{}
		for _, r := range ar.Responses {
			answered[r.Slot] = true
		}
		s.Overdue = OverdueSlots(ar.Assignment, loc, today, answered)
		out = append(out, s)
	}
	return out
}

// SuspensionIntervals rebuilds when one item of a plan version was
// SUSPENDED from the decision trail: stored is the item's state as stored
// now, transitions its decisions with a state change (PreviousState not
// empty and different from NewState), oldest first. The item's state when
// its version was written is the first transition's PreviousState, or the
// stored state if it never changed.
func SuspensionIntervals(version int64, exerciseID string, created time.Time, stored ItemState, transitions []GatingDecision) []SuspensionInterval {
	state := stored
	if len(transitions) > 0 {
		state = transitions[0].PreviousState
	}
	var out []SuspensionInterval
	from := created
	for _, g := range transitions {
		if state == ItemSuspended && g.NewState != ItemSuspended {
			out = append(out, SuspensionInterval{version, exerciseID, from, g.DecideTime})
		}
		if state != ItemSuspended && g.NewState == ItemSuspended {
			from = g.DecideTime
		}
		state = g.NewState
	}
	if state == ItemSuspended {
		out = append(out, SuspensionInterval{PlanVersion: version, ExerciseID: exerciseID, From: from})
	}
	return out
}
