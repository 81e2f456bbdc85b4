package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// Clinician review (migrations/0004_review.sql): the clinic's thresholds,
// the facts progress and triage are computed from (the computing is
// hep.ComputeProgress, hep.WindowAdherence and hep.Triage), the daily
// adherence evaluation, and
// the alerts a push raises. Every occurrence of an alert with data behind
// it carries a trigger naming that data; alert_occurrences_trigger
// (0005_alert_occurrences.sql) keeps one occurrence per patient, kind and
// trigger, so a replayed push or a repeated evaluation raises nothing
// twice even if the checks here were wrong (alerts.go: raiseAlert).
//
// Progress and triage read many rows. They read them in one transaction
// on a query_only reader (one consistent snapshot; the single writer and
// the pushes queued on it are not held up by the read) and then commit
// their audit row on the writer before returning anything: a call whose
// audit row cannot be written still fails and returns nothing.

// Audit resources of clinician review.
const (
	resThresholds     = "clinic/thresholds"
	resTriage         = "care_team/triage"
	resCareTeamAlerts = "care_team/alerts"
)

func resProgress(patientID string) string { return resPatient(patientID) + "/progress" }

// maxActivityDays caps ActivityDays: enough for any streak worth showing.
const maxActivityDays = 400

// maxCorrectionChain bounds the walk back along a record's corrections.
const maxCorrectionChain = 100

// maxAdherenceCatchUp is how many closed days EvaluateAdherence looks at
// per patient at most (the newest).
const maxAdherenceCatchUp = 14

// zoneOf is hep.LoadZone (which caches).
func zoneOf(name string) *time.Location { return hep.LoadZone(name) }

// ---- Thresholds ----

const thresholdColumns = `severe_pain, flare_increase, worsening_increase, non_adherence_percent, adherent_percent,
	mcid_points, mcid_percent, inactive_days`

// thresholdsQuery reads the clinic's thresholds by primary key.
const thresholdsQuery = "SELECT " + thresholdColumns + " FROM clinic_settings WHERE id = 1"

// loadThresholds reads the clinic's thresholds: the defaults until set.
func loadThresholds(ctx context.Context, q querier) (hep.Thresholds, error) {
	var t hep.Thresholds
	err := q.QueryRowContext(ctx, thresholdsQuery).Scan(&t.SeverePain, &t.FlareIncrease, &t.WorseningIncrease,
		&t.NonAdherencePercent, &t.AdherentPercent, &t.MCIDPoints, &t.MCIDPercent, &t.InactiveDays)
	if errors.Is(err, sql.ErrNoRows) {
		return hep.DefaultThresholds(), nil
	}
	return t, err
}

// Thresholds implements hep.Store.
func (s *Store) Thresholds(ctx context.Context) (hep.Thresholds, error) {
	var t hep.Thresholds
	err := s.view(ctx, "", resThresholds, func(tx *sql.Tx) (err error) {
		if t, err = loadThresholds(ctx, tx); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return hep.Thresholds{}, err
	}
	return t, nil
}

// SetThresholds implements hep.Store.
func (s *Store) SetThresholds(ctx context.Context, t hep.Thresholds) (hep.Thresholds, error) {
	if err := t.Validate(); err != nil {
		return hep.Thresholds{}, err
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO clinic_settings (id, `+thresholdColumns+`, updated_by, update_time)
			VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (id) DO UPDATE SET severe_pain = excluded.severe_pain, flare_increase = excluded.flare_increase,
				worsening_increase = excluded.worsening_increase, non_adherence_percent = excluded.non_adherence_percent,
				adherent_percent = excluded.adherent_percent, mcid_points = excluded.mcid_points,
				mcid_percent = excluded.mcid_percent, inactive_days = excluded.inactive_days,
				updated_by = excluded.updated_by, update_time = excluded.update_time`,
			t.SeverePain, t.FlareIncrease, t.WorseningIncrease, t.NonAdherencePercent, t.AdherentPercent, t.MCIDPoints,
			t.MCIDPercent, t.InactiveDays, actorOrSystem(ctx), ts(s.now())); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, "", resThresholds, hep.OutcomeOK)
	})
	if err != nil {
		return hep.Thresholds{}, err
	}
	return t, nil
}

// actorOrSystem names who changed a setting.
func actorOrSystem(ctx context.Context) string {
	if id := hep.ActorFrom(ctx).ID; id != "" {
		return id
	}
	return hep.SystemActorID
}

// ---- Scanning progress facts quickly ----

// Progress reads thousands of rows per call; scanning into any (which
// database/sql hands over without conversion) and parsing the fixed-width
// times by hand is cheaper than typed destinations and time.Parse (the
// SQLite store measured half the cost; the rows are the same here).

// anyTime reads a stored time scanned into any.
func anyTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		if b, isBytes := v.([]byte); isBytes {
			s, ok = string(b), true
		}
	}
	if !ok {
		return time.Time{}, fmt.Errorf("postgres: cannot read %T as a time", v)
	}
	return parseTS(s)
}

// anyScore reads a nullable pain score scanned into any, allocating it
// from slab (a log has two scores: one allocation per score would be
// most of the garbage of a read of thousands of logs).
func anyScore(v any, slab *[]int32) (*int32, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case int64:
		if len(*slab) == cap(*slab) {
			*slab = make([]int32, 0, 512)
		}
		*slab = append(*slab, int32(v))
		return &(*slab)[len(*slab)-1], nil
	}
	return nil, fmt.Errorf("postgres: cannot read %T as a score", v)
}

func anyString(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case []byte:
		return string(v), nil
	}
	return "", fmt.Errorf("postgres: cannot read %T as text", v)
}

func anyInt(v any) (int64, error) {
	if n, ok := v.(int64); ok {
		return n, nil
	}
	return 0, fmt.Errorf("postgres: cannot read %T as an integer", v)
}

// anyBool reads a flag scanned into any: a boolean, or an integer 0 or 1.
func anyBool(v any) (bool, error) {
	switch v := v.(type) {
	case bool:
		return v, nil
	case int64:
		return v != 0, nil
	}
	return false, fmt.Errorf("postgres: cannot read %T as a flag", v)
}

// logFactColumns are what progress reads of a log, all in the covering
// index exercise_logs_live.
const logFactColumns = "l.corrected_perform_time, l.exercise_id, l.pain_before, l.pain_after, l.item_suspended"

// liveLogsOf is the condition of a live log of alias l (exercise_logs_live's).
const liveLogsOf = "l.deleted_time IS NULL AND l.superseded_by IS NULL"

// scanLogFacts scans rows of [prefix columns...,] logFactColumns; each
// row's leading columns (before the facts) go to key.
func scanLogFacts(rows *sql.Rows, lead int, each func(key []any, f hep.LogFact) error) error {
	vals := make([]any, lead+5)
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var slab []int32
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			rows.Close()
			return err
		}
		var f hep.LogFact
		var err error
		v := vals[lead:]
		if f.Time, err = anyTime(v[0]); err == nil {
			if f.ExerciseID, err = anyString(v[1]); err == nil {
				if f.PainBefore, err = anyScore(v[2], &slab); err == nil {
					if f.PainAfter, err = anyScore(v[3], &slab); err == nil {
						f.ItemSuspended, err = anyBool(v[4])
					}
				}
			}
		}
		if err == nil {
			err = each(vals[:lead], f)
		}
		if err != nil {
			rows.Close()
			return err
		}
	}
	return closeRows(rows)
}

// checkinFactColumns are what progress reads of a check-in, all in the
// covering index pain_checkins_live.
const checkinFactColumns = "k.corrected_record_time, k.score"

const liveCheckinsOf = "k.deleted_time IS NULL AND k.superseded_by IS NULL"

func scanCheckinFacts(rows *sql.Rows, lead int, each func(key []any, f hep.CheckinFact) error) error {
	vals := make([]any, lead+2)
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			rows.Close()
			return err
		}
		var f hep.CheckinFact
		t, err := anyTime(vals[lead])
		var score int64
		if err == nil {
			score, err = anyInt(vals[lead+1])
		}
		if err == nil {
			f.Time, f.Score = t, int32(score)
			err = each(vals[:lead], f)
		}
		if err != nil {
			rows.Close()
			return err
		}
	}
	return closeRows(rows)
}

// ---- Plan versions and suspensions ----

// planHeader is a stored plan version's number and creation time.
type planHeader struct {
	version int64
	created time.Time
}

// inForce returns the versions (headers oldest first) in force on any day
// of [from, to] in loc: every version created on or before to, from the
// last one created on or before from (hep.ProgressFacts.Versions).
func inForce(headers []planHeader, loc *time.Location, from, to hep.Date) []planHeader {
	first := -1
	var out []planHeader
	for i, h := range headers {
		d := hep.DateOf(h.created, loc)
		if to.Before(d) {
			break
		}
		if !from.Before(d) {
			first = i
		}
		out = append(out, h)
	}
	if first > 0 {
		out = out[first:]
	}
	return out
}

// versionSpans are runs of plan versions, one per patient: the columns
// (patient_id, first, last) of the arrays the batched queries unnest.
type versionSpans struct {
	patientIDs  []string
	first, last []int64
}

func (v *versionSpans) add(patientID string, first, last int64) {
	v.patientIDs = append(v.patientIDs, patientID)
	v.first = append(v.first, first)
	v.last = append(v.last, last)
}

// spansFrom is the FROM item of the spans, $1 to $3.
const spansFrom = "unnest($1::text[], $2::bigint[], $3::bigint[]) AS j(patient_id, first_version, last_version)"

// spanItemsQuery reads the items of runs of plan versions, on the primary
// key of plan_items.
var spanItemsQuery = "SELECT i.patient_id, i.version, " + spanItemColumns + " FROM " + spansFrom + `
	JOIN plan_items i ON i.patient_id = j.patient_id AND i.version BETWEEN j.first_version AND j.last_version
	ORDER BY i.patient_id, i.version, i.position`

// spanTransitionsQuery reads the state changes of the items of runs of plan
// versions, in decision order, on gating_decisions_transitions.
const spanTransitionsQuery = `SELECT g.patient_id, g.plan_version, g.exercise_id, g.previous_state, g.new_state, g.decide_time
	FROM ` + spansFrom + ` JOIN gating_decisions g ON g.patient_id = j.patient_id
		AND g.plan_version BETWEEN j.first_version AND j.last_version
		AND g.previous_state <> '' AND g.previous_state <> g.new_state
	ORDER BY g.patient_id, g.plan_version, g.exercise_id, g.decide_time, g.id`

// spanItemColumns are itemColumns of plan_items i.
var spanItemColumns = qualify("i", itemColumns)

// qualify prefixes each column of a comma-separated list with alias.
func qualify(alias, columns string) string {
	parts := strings.Split(columns, ",")
	for i, c := range parts {
		parts[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

type versionKey struct {
	patientID string
	version   int64
}

type itemKey struct {
	versionKey
	exerciseID string
}

// planFacts are what progress needs of a patient's plans.
type planFacts struct {
	versions    []hep.PlanVersionFacts
	suspensions []hep.SuspensionInterval
}

// loadPlanFacts reads the items and the suspension intervals of the plan
// versions in force for each patient (headers by patient, oldest first,
// as inForce returns them), in two statements whatever the number of
// patients.
func loadPlanFacts(ctx context.Context, q querier, inForce map[string][]planHeader) (map[string]planFacts, error) {
	var spans versionSpans
	for p, hs := range inForce {
		if len(hs) > 0 {
			spans.add(p, hs[0].version, hs[len(hs)-1].version)
		}
	}
	out := map[string]planFacts{}
	if len(spans.patientIDs) == 0 {
		return out, nil
	}
	items := map[versionKey][]hep.PlanItem{}
	rows, err := q.QueryContext(ctx, spanItemsQuery, spans.patientIDs, spans.first, spans.last)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var k versionKey
		var it hep.PlanItem
		var sc itemScanner
		if err := rows.Scan(append([]any{&k.patientID, &k.version}, sc.dest(&it)...)...); err != nil {
			rows.Close()
			return nil, err
		}
		if err := sc.finish(&it); err != nil {
			rows.Close()
			return nil, err
		}
		items[k] = append(items[k], it)
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	trans := map[itemKey][]hep.GatingDecision{}
	rows, err = q.QueryContext(ctx, spanTransitionsQuery, spans.patientIDs, spans.first, spans.last)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var k itemKey
		var prev, next string
		var g hep.GatingDecision
		if err := rows.Scan(&k.patientID, &k.version, &k.exerciseID, &prev, &next, tcol(&g.DecideTime)); err != nil {
			rows.Close()
			return nil, err
		}
		g.PreviousState, g.NewState = hep.ItemState(prev), hep.ItemState(next)
		trans[k] = append(trans[k], g)
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	for p, hs := range inForce {
		var pf planFacts
		for _, h := range hs {
			k := versionKey{p, h.version}
			v := hep.PlanVersionFacts{Version: h.version, CreateTime: h.created}
			for _, it := range items[k] {
				v.Items = append(v.Items, it.Spec)
				pf.suspensions = append(pf.suspensions,
					hep.SuspensionIntervals(h.version, it.Spec.ExerciseID, h.created, it.State, trans[itemKey{k, it.Spec.ExerciseID}])...)
			}
			pf.versions = append(pf.versions, v)
		}
		out[p] = pf
	}
	return out, nil
}

// itemScanner scans itemColumns (plans.go's scanItem, for rows with
// leading columns).
type itemScanner struct {
	mask       int64
	start, end sql.NullString
	state      string
	reasons    string
}

func (sc *itemScanner) dest(it *hep.PlanItem) []any {
	sp, d := &it.Spec, &it.Spec.Dose
	return []any{&sp.ExerciseID, &d.Sets, &d.Reps, &d.HoldSeconds, &d.DurationSeconds, &d.AngleDegrees, &d.ForceKg,
		&sp.Frequency.TimesPerDay, &sp.Frequency.DaysPerWeek, &sc.mask, &sc.start, &sc.end, &sp.Notes, &sc.state,
		&sc.reasons, tcol(&it.StateTime)}
}

func (sc *itemScanner) finish(it *hep.PlanItem) error {
	var err error
	it.Spec.Frequency.Weekdays = weekdays(sc.mask)
	it.State = hep.ItemState(sc.state)
	if it.Spec.StartDate, err = parseDate(sc.start); err != nil {
		return err
	}
	if it.Spec.EndDate, err = parseDate(sc.end); err != nil {
		return err
	}
	it.StateReasons, err = parseReasons(sc.reasons)
	return err
}

// planHeadersQuery reads a patient's plan versions on the primary key.
const planHeadersQuery = "SELECT version, create_time FROM plans WHERE patient_id = $1 ORDER BY version"

func loadPlanHeaders(ctx context.Context, q querier, patientID string) ([]planHeader, error) {
	return queryAll(ctx, q, func(sc scanner) (planHeader, error) {
		var h planHeader
		err := sc.Scan(&h.version, tcol(&h.created))
		return h, err
	}, planHeadersQuery, patientID)
}

// ---- One patient's facts ----

// rangeLogsQuery reads a patient's live logs in a range of corrected
// perform time, from the covering index exercise_logs_live alone.
const rangeLogsQuery = "SELECT " + logFactColumns + " FROM exercise_logs l WHERE l.patient_id = $1 AND " + liveLogsOf +
	" AND l.corrected_perform_time >= $2 AND l.corrected_perform_time < $3"

// rangeCheckinsQuery is rangeLogsQuery for check-ins, on pain_checkins_live.
const rangeCheckinsQuery = "SELECT " + checkinFactColumns + " FROM pain_checkins k WHERE k.patient_id = $1 AND " + liveCheckinsOf +
	" AND k.corrected_record_time >= $2 AND k.corrected_record_time < $3"

// lastLogQuery finds a patient's newest live log before a time: one seek
// on exercise_logs_live.
const lastLogQuery = "SELECT max(l.corrected_perform_time) FROM exercise_logs l WHERE l.patient_id = $1 AND " + liveLogsOf +
	" AND l.corrected_perform_time < $2"

// factsWant says which parts of hep.ProgressFacts to read besides the
// plan versions and the logs.
type factsWant struct {
	noLogs   bool // the plan versions and suspensions only (no logs, so no activity)
	checkins bool
	activity bool // LastActivity and ActivityDays, with asOf (today)
	asOf     hep.Date
	current  bool // the current plan and the exercises' names
}

// readFacts reads one patient's progress facts over [from, to] in q. The
// patient's zone is tz.
func readFacts(ctx context.Context, q querier, patientID, tz string, from, to hep.Date, want factsWant) (hep.ProgressFacts, error) {
	f := hep.ProgressFacts{PatientID: patientID, TimeZone: tz, From: from, To: to}
	loc := zoneOf(tz)
	start, end := from.Start(loc), to.AddDays(1).Start(loc)

	headers, err := loadPlanHeaders(ctx, q, patientID)
	if err != nil {
		return f, err
	}
	pfs, err := loadPlanFacts(ctx, q, map[string][]planHeader{patientID: inForce(headers, loc, from, to)})
	if err != nil {
		return f, err
	}
	f.Versions, f.Suspensions = pfs[patientID].versions, pfs[patientID].suspensions

	if !want.noLogs {
		rows, err := q.QueryContext(ctx, rangeLogsQuery, patientID, ts(start), ts(end))
		if err != nil {
			return f, err
		}
		if err := scanLogFacts(rows, 0, func(_ []any, l hep.LogFact) error {
			f.Logs = append(f.Logs, l)
			return nil
		}); err != nil {
			return f, err
		}
	}
	if want.checkins {
		rows, err := q.QueryContext(ctx, rangeCheckinsQuery, patientID, ts(start), ts(end))
		if err != nil {
			return f, err
		}
		if err := scanCheckinFacts(rows, 0, func(_ []any, c hep.CheckinFact) error {
			f.Checkins = append(f.Checkins, c)
			return nil
		}); err != nil {
			return f, err
		}
	}
	if want.activity && !want.noLogs {
		if f.LastActivity, f.ActivityDays, err = activity(ctx, q, patientID, loc, f.Logs, from, to, earlier(want.asOf, to)); err != nil {
			return f, err
		}
	}
	if want.current {
		if f.Current, err = loadPlan(ctx, q, patientID, 0); err != nil {
			return f, err
		}
		names, err := queryAll(ctx, q, func(sc scanner) ([2]string, error) {
			var n [2]string
			err := sc.Scan(&n[0], &n[1])
			return n, err
		}, "SELECT id, name FROM exercises")
		if err != nil {
			return f, err
		}
		f.Names = make(map[string]string, len(names))
		for _, n := range names {
			f.Names[n[0]] = n[1]
		}
	}
	return f, nil
}

// earlier returns the earlier of two days.
func earlier(a, b hep.Date) hep.Date {
	if b.Before(a) {
		return b
	}
	return a
}

// activity returns the patient's newest live log before end and the
// distinct days with a live log on or before to, newest first: the days
// of the range from its logs (read already), then, while the streak as of
// asOf reaches back to the range's first day, one index seek per day
// before it until the streak is broken (or maxActivityDays).
func activity(ctx context.Context, q querier, patientID string, loc *time.Location, logs []hep.LogFact, from, to, asOf hep.Date) (time.Time, []hep.Date, error) {
	var last time.Time
	seen := map[hep.Date]bool{}
	var days []hep.Date
	for _, l := range logs {
		if l.Time.After(last) {
			last = l.Time
		}
		if d := hep.DateOf(l.Time, loc); !seen[d] {
			seen[d] = true
			days = append(days, d)
		}
	}
	sort.Slice(days, func(i, j int) bool { return days[j].Before(days[i]) })
	// The streak as of asOf: does it run through the range's first day?
	next := asOf // the day the streak needs next
	if !seen[next] {
		next = next.AddDays(-1) // a streak may end yesterday
	}
	for seen[next] && !next.Before(from) {
		next = next.AddDays(-1)
	}
	if next.Before(from) || len(days) == 0 {
		// Logs before the range matter: for the streak, or for
		// LastActivity when the range has none.
		cursor := from.Start(loc)
		for len(days) < maxActivityDays {
			var v any
			if err := q.QueryRowContext(ctx, lastLogQuery, patientID, ts(cursor)).Scan(&v); err != nil {
				return last, days, err
			}
			if v == nil {
				break
			}
			t, err := anyTime(v)
			if err != nil {
				return last, days, err
			}
			if last.IsZero() {
				last = t
			}
			d := hep.DateOf(t, loc)
			days = append(days, d)
			if d != next {
				break // the streak ended (or there was none)
			}
			next = d.AddDays(-1)
			if c := d.Start(loc); c.Before(cursor) {
				cursor = c
			} else {
				break // cannot happen; never loop
			}
		}
	}
	if len(days) > maxActivityDays {
		days = days[:maxActivityDays]
	}
	return last, days, nil
}

// patientZoneQuery reads a patient's zone by primary key.
const patientZoneQuery = "SELECT time_zone FROM patients WHERE id = $1"

// ProgressFacts implements hep.Store.
func (s *Store) ProgressFacts(ctx context.Context, patientID string, from, to hep.Date) (hep.ProgressFacts, hep.Thresholds, error) {
	var f hep.ProgressFacts
	var t hep.Thresholds
	now := s.now()
	err := s.read(ctx, func(tx *sql.Tx) error {
		var tz string
		err := tx.QueryRowContext(ctx, patientZoneQuery, patientID).Scan(&tz)
		if errors.Is(err, sql.ErrNoRows) {
			return hep.NotFound("patient")
		}
		if err != nil {
			return err
		}
		today := hep.DateOf(now, zoneOf(tz))
		if to.IsZero() {
			to = today
		}
		if from.IsZero() {
			from = to.AddDays(-(hep.DefaultProgressDays - 1))
		}
		if err := hep.ValidateRange(from, to, hep.MaxProgressDays); err != nil {
			return err
		}
		if f, err = readFacts(ctx, tx, patientID, tz, from, to, factsWant{checkins: true, activity: true, asOf: today, current: true}); err != nil {
			return err
		}
		if f.Outcomes, err = outcomeFacts(ctx, tx, patientID); err != nil {
			return err
		}
		t, err = loadThresholds(ctx, tx)
		return err
	})
	if err == nil {
		err = s.auditRead(ctx, patientID, resProgress(patientID))
	}
	if err != nil {
		return hep.ProgressFacts{}, hep.Thresholds{}, err
	}
	return f, t, nil
}

// ---- Triage ----

// triagePatientsQuery reads the clinician's care-team patients with their
// newest live log (a seek on exercise_logs_live each).
const triagePatientsQuery = `SELECT p.id, p.display_name, p.time_zone,
		(SELECT max(l.corrected_perform_time) FROM exercise_logs l WHERE l.patient_id = p.id AND ` + liveLogsOf + `),
		(SELECT count(*) FROM messages m WHERE m.patient_id = p.id AND m.sender = 'PATIENT' AND m.thread_seq > p.read_by_team_through)
	FROM care_team c JOIN patients p ON p.id = c.patient_id WHERE c.clinician_id = $1 ORDER BY p.id`

// triageAlertsQuery reads the open alerts of the care team's patients
// (at most one per kind and subject, so few), on alerts_patient_status.
const triageAlertsQuery = `SELECT a.patient_id, a.kind, a.subject, a.severity, a.occurrences, a.create_time, a.latest_time
	FROM care_team c JOIN alerts a ON a.patient_id = c.patient_id AND a.status = 'OPEN'
	WHERE c.clinician_id = $1`

// triagePlansQuery reads the plan versions of the care team's patients.
const triagePlansQuery = `SELECT pl.patient_id, pl.version, pl.create_time FROM care_team c JOIN plans pl ON pl.patient_id = c.patient_id
	WHERE c.clinician_id = $1 ORDER BY pl.patient_id, pl.version`

// rangesFrom is the FROM item of per-patient time ranges, $1 to $3.
const rangesFrom = "unnest($1::text[], $2::text[], $3::text[]) AS j(patient_id, start_time, end_time)"

// triageLogsQuery reads the live logs of patients, each in its own range
// of corrected perform time, on exercise_logs_live.
const triageLogsQuery = "SELECT l.patient_id, " + logFactColumns + " FROM " + rangesFrom + ` JOIN exercise_logs l
	ON l.patient_id = j.patient_id AND ` + liveLogsOf + ` AND l.corrected_perform_time >= j.start_time AND l.corrected_perform_time < j.end_time`

// triageCheckinsQuery reads the live check-ins of patients, each in its
// own range of corrected record time, on pain_checkins_live.
const triageCheckinsQuery = "SELECT k.patient_id, " + checkinFactColumns + " FROM " + rangesFrom + ` JOIN pain_checkins k
	ON k.patient_id = j.patient_id AND ` + liveCheckinsOf + ` AND k.corrected_record_time >= j.start_time AND k.corrected_record_time < j.end_time`

// ranges are the arguments of triageLogsQuery and triageCheckinsQuery:
// each patient's range, from its day from to its day to, in its zone.
func ranges[P any](ps []P, f func(P) (id string, loc *time.Location, from, to hep.Date)) []any {
	ids, starts, ends := make([]string, len(ps)), make([]string, len(ps)), make([]string, len(ps))
	for i, p := range ps {
		id, loc, from, to := f(p)
		ids[i], starts[i], ends[i] = id, ts(from.Start(loc)), ts(to.AddDays(1).Start(loc))
	}
	return []any{ids, starts, ends}
}

// TriageFacts implements hep.Store: a fixed number of statements however
// many patients the care team has, in one snapshot on a reader.
func (s *Store) TriageFacts(ctx context.Context, clinicianID string, now time.Time) ([]hep.TriageFacts, hep.Thresholds, error) {
	var out []hep.TriageFacts
	var t hep.Thresholds
	err := s.read(ctx, func(tx *sql.Tx) error {
		out = nil
		var err error
		if t, err = loadThresholds(ctx, tx); err != nil {
			return err
		}
		type patient struct {
			facts hep.TriageFacts
			loc   *time.Location
			tz    string
			today hep.Date
			logs  []hep.LogFact
		}
		var ps []*patient
		byID := map[string]*patient{}
		rows, err := tx.QueryContext(ctx, triagePatientsQuery, clinicianID)
		if err != nil {
			return err
		}
		for rows.Next() {
			p := &patient{facts: hep.TriageFacts{DaysSinceSession: -1}}
			var last any
			if err := rows.Scan(&p.facts.PatientID, &p.facts.DisplayName, &p.tz, &last, &p.facts.UnreadMessages); err != nil {
				rows.Close()
				return err
			}
			p.loc = zoneOf(p.tz)
			p.today = hep.DateOf(now, p.loc)
			if last != nil {
				lt, err := anyTime(last)
				if err != nil {
					rows.Close()
					return err
				}
				p.facts.DaysSinceSession = max(0, hep.DateOf(lt, p.loc).DaysUntil(p.today))
			}
			p.facts.Pain.End = p.today
			ps = append(ps, p)
			byID[p.facts.PatientID] = p
		}
		if err := closeRows(rows); err != nil {
			return err
		}
		if len(ps) == 0 {
			return nil
		}

		// Open alerts.
		rows, err = tx.QueryContext(ctx, triageAlertsQuery, clinicianID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, kind, severity string
			var a hep.OpenAlert
			if err := rows.Scan(&id, &kind, &a.Subject, &severity, &a.Occurrences, tcol(&a.CreateTime), tcol(&a.LatestTime)); err != nil {
				rows.Close()
				return err
			}
			a.Kind, a.Severity = hep.AlertKind(kind), hep.AlertSeverity(severity)
			if p := byID[id]; p != nil {
				p.facts.Open = append(p.facts.Open, a)
			}
		}
		if err := closeRows(rows); err != nil {
			return err
		}

		// Check-ins of the two pain windows: [today-13, today] in each
		// patient's zone.
		args := ranges(ps, func(p *patient) (string, *time.Location, hep.Date, hep.Date) {
			return p.facts.PatientID, p.loc, p.today.AddDays(1 - 2*hep.WindowDays), p.today
		})
		rows, err = tx.QueryContext(ctx, triageCheckinsQuery, args...)
		if err != nil {
			return err
		}
		if err := scanCheckinFacts(rows, 1, func(key []any, c hep.CheckinFact) error {
			id, err := anyString(key[0])
			if err != nil {
				return err
			}
			p := byID[id]
			if p == nil {
				return nil
			}
			switch n := hep.DateOf(c.Time, p.loc).DaysUntil(p.today); {
			case n >= 0 && n < hep.WindowDays:
				p.facts.Pain.Recent = append(p.facts.Pain.Recent, c.Score)
			case n >= hep.WindowDays && n < 2*hep.WindowDays:
				p.facts.Pain.Previous = append(p.facts.Pain.Previous, c.Score)
			}
			return nil
		}); err != nil {
			return err
		}

		// Adherence over the 7 closed days [today-7, today-1].
		args = ranges(ps, func(p *patient) (string, *time.Location, hep.Date, hep.Date) {
			return p.facts.PatientID, p.loc, p.today.AddDays(-hep.WindowDays), p.today.AddDays(-1)
		})
		rows, err = tx.QueryContext(ctx, triageLogsQuery, args...)
		if err != nil {
			return err
		}
		if err := scanLogFacts(rows, 1, func(key []any, l hep.LogFact) error {
			id, err := anyString(key[0])
			if err != nil {
				return err
			}
			if p := byID[id]; p != nil {
				p.logs = append(p.logs, l)
			}
			return nil
		}); err != nil {
			return err
		}
		headers := map[string][]planHeader{}
		rows, err = tx.QueryContext(ctx, triagePlansQuery, clinicianID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			var h planHeader
			if err := rows.Scan(&id, &h.version, tcol(&h.created)); err != nil {
				rows.Close()
				return err
			}
			headers[id] = append(headers[id], h)
		}
		if err := closeRows(rows); err != nil {
			return err
		}
		forced := map[string][]planHeader{}
		for id, hs := range headers {
			if p := byID[id]; p != nil {
				forced[id] = inForce(hs, p.loc, p.today.AddDays(-hep.WindowDays), p.today.AddDays(-1))
			}
		}
		pfs, err := loadPlanFacts(ctx, tx, forced)
		if err != nil {
			return err
		}
		for _, p := range ps {
			sortOpen(p.facts.Open)
			pf := pfs[p.facts.PatientID]
			f := hep.ProgressFacts{PatientID: p.facts.PatientID, TimeZone: p.tz,
				From: p.today.AddDays(-hep.WindowDays), To: p.today.AddDays(-1),
				Versions: pf.versions, Suspensions: pf.suspensions, Logs: p.logs}
			p.facts.Adherence = hep.WindowAdherence(f, t)
			out = append(out, p.facts)
		}
		return nil
	})
	if err == nil {
		err = s.auditRead(ctx, "", resTriage)
	}
	if err != nil {
		return nil, hep.Thresholds{}, err
	}
	return out, t, nil
}

// sortOpen puts open alerts in hep.TriageFacts.Open's order: oldest
// first, then by kind and subject.
func sortOpen(as []hep.OpenAlert) {
	sort.Slice(as, func(i, j int) bool {
		a, b := as[i], as[j]
		switch {
		case !a.CreateTime.Equal(b.CreateTime):
			return a.CreateTime.Before(b.CreateTime)
		case a.Kind != b.Kind:
			return a.Kind < b.Kind
		}
		return a.Subject < b.Subject
	})
}

// ---- Triggered alerts ----

// triggerKindsQuery reads which of the record alert kinds
// (hep.RecordAlertKinds) a trigger raised, with seeks on
// alert_occurrences_trigger.
const triggerKindsQuery = `SELECT kind FROM alert_occurrences WHERE patient_id = $1
	AND kind IN ('LOGGED_WHILE_SUSPENDED', 'PAIN_SEVERE', 'PAIN_FLARE') AND "trigger" = $2 AND "trigger" <> ''`

// supersedesQuery reads what a log or check-in corrected, by primary key.
func supersedesQuery(kind hep.RecordKind) string {
	return "SELECT supersedes FROM " + recordTable(kind) + " WHERE id = $1 AND patient_id = $2"
}

// supersededKinds returns the alert kinds raised by the record id and by
// every record it corrected in turn: a correction of a record that
// raised a kind does not raise it again, nor does a correction of the
// correction.
func supersededKinds(ctx context.Context, tx *sql.Tx, patientID string, kind hep.RecordKind, id string) (map[hep.AlertKind]bool, error) {
	kinds := map[hep.AlertKind]bool{}
	for i := 0; id != "" && i < maxCorrectionChain; i++ {
		trig := hep.LogTrigger(id)
		if kind == hep.KindCheckin {
			trig = hep.CheckinTrigger(id)
		}
		got, err := queryAll(ctx, tx, func(sc scanner) (string, error) {
			var k string
			err := sc.Scan(&k)
			return k, err
		}, triggerKindsQuery, patientID, trig)
		if err != nil {
			return nil, err
		}
		for _, k := range got {
			kinds[hep.AlertKind(k)] = true
		}
		var next sql.NullString
		err = tx.QueryRowContext(ctx, supersedesQuery(kind), id, patientID).Scan(&next)
		if errors.Is(err, sql.ErrNoRows) {
			break
		}
		if err != nil {
			return nil, err
		}
		id = next.String
	}
	return kinds, nil
}

// nearWindowQuery finds an occurrence of a kind whose window ends within
// hep.WindowDays-1 days of a day (either side), on
// alert_occurrences_trigger.
const nearWindowQuery = `SELECT "trigger" FROM alert_occurrences WHERE patient_id = $1 AND kind = $2 AND "trigger" <> ''
	AND "trigger" > $3 AND "trigger" < $4 ORDER BY "trigger" DESC LIMIT 1`

// nearWindow returns the window end of the patient's occurrence of kind nearest
// to end within hep.WindowDays-1 days, or the zero Date. Passed to
// hep.WorseningAlert and hep.NonAdherenceAlert as lastEnd, it makes them
// raise nothing when an alert of the same episode exists, whatever order
// the data arrived in (a phone offline for a week sends old days last).
func nearWindow(ctx context.Context, tx *sql.Tx, patientID string, kind hep.AlertKind, end hep.Date) (hep.Date, error) {
	var trig string
	err := tx.QueryRowContext(ctx, nearWindowQuery, patientID, string(kind),
		hep.WindowTrigger(end.AddDays(-hep.WindowDays)), hep.WindowTrigger(end.AddDays(hep.WindowDays))).Scan(&trig)
	if errors.Is(err, sql.ErrNoRows) {
		return hep.Date{}, nil
	}
	if err != nil {
		return hep.Date{}, err
	}
	const prefix = "window/"
	if len(trig) <= len(prefix) {
		return hep.Date{}, fmt.Errorf("postgres: stored window trigger %q", trig)
	}
	return parseDate(sql.NullString{String: trig[len(prefix):], Valid: true})
}

// windowCheckinsQuery reads a patient's live check-ins in a range of
// corrected record time, on pain_checkins_live alone.
const windowCheckinsQuery = rangeCheckinsQuery

// worseningWindow reads the check-in scores of the two windows ending on
// end, in loc.
func worseningWindow(ctx context.Context, q querier, patientID string, loc *time.Location, end hep.Date) (hep.WorseningWindow, error) {
	w := hep.WorseningWindow{End: end}
	rows, err := q.QueryContext(ctx, windowCheckinsQuery, patientID, ts(end.AddDays(1-2*hep.WindowDays).Start(loc)),
		ts(end.AddDays(1).Start(loc)))
	if err != nil {
		return w, err
	}
	err = scanCheckinFacts(rows, 0, func(_ []any, c hep.CheckinFact) error {
		switch n := hep.DateOf(c.Time, loc).DaysUntil(end); {
		case n >= 0 && n < hep.WindowDays:
			w.Recent = append(w.Recent, c.Score)
		case n >= hep.WindowDays && n < 2*hep.WindowDays:
			w.Previous = append(w.Previous, c.Score)
		}
		return nil
	})
	return w, err
}

// limits returns the clinic's thresholds, read once per push.
func (p *push) limits() (hep.Thresholds, error) {
	if p.thresholds == nil {
		t, err := loadThresholds(p.ctx, p.tx)
		if err != nil {
			return hep.Thresholds{}, err
		}
		p.thresholds = &t
	}
	return *p.thresholds, nil
}

// zone returns the patient's time zone, read once per push.
func (p *push) zone() (*time.Location, error) {
	if p.loc == nil {
		var tz string
		if err := p.tx.QueryRowContext(p.ctx, patientZoneQuery, p.patientID).Scan(&tz); err != nil {
			return nil, err
		}
		p.loc = zoneOf(tz)
	}
	return p.loc, nil
}

// logAlerts raises the alerts of a new live log (hep.LogAlerts). A log
// without a pain score costs nothing; the thresholds are read once per
// push.
func (p *push) logAlerts(l hep.ExerciseLog) error {
	if l.PainBefore == nil && l.PainAfter == nil && !l.ItemSuspended {
		return nil
	}
	t, err := p.limits()
	if err != nil {
		return err
	}
	var kinds map[hep.AlertKind]bool
	if l.Supersedes != "" {
		if kinds, err = supersededKinds(p.ctx, p.tx, p.patientID, hep.KindLog, l.Supersedes); err != nil {
			return err
		}
	}
	for _, a := range hep.LogAlerts(l, t, kinds) {
		if _, err := p.s.raiseAlert(p.ctx, p.tx, &a, p.now); err != nil {
			return err
		}
	}
	return nil
}

// checkinAlerts raises the alerts of a new live check-in: PAIN_SEVERE
// (hep.CheckinAlert) and PAIN_WORSENING for the window ending on its day
// (hep.WorseningAlert).
func (p *push) checkinAlerts(c hep.PainCheckin) error {
	t, err := p.limits()
	if err != nil {
		return err
	}
	var kinds map[hep.AlertKind]bool
	if c.Supersedes != "" && c.Score >= t.SeverePain {
		if kinds, err = supersededKinds(p.ctx, p.tx, p.patientID, hep.KindCheckin, c.Supersedes); err != nil {
			return err
		}
	}
	if a := hep.CheckinAlert(c, t, kinds); a != nil {
		if _, err := p.s.raiseAlert(p.ctx, p.tx, a, p.now); err != nil {
			return err
		}
	}
	loc, err := p.zone()
	if err != nil {
		return err
	}
	end := hep.DateOf(c.CorrectedRecordTime, loc)
	w, err := worseningWindow(p.ctx, p.tx, p.patientID, loc, end)
	if err != nil {
		return err
	}
	if _, _, _, ok := w.Delta(); !ok {
		return nil
	}
	lastEnd, err := nearWindow(p.ctx, p.tx, p.patientID, hep.AlertPainWorsening, end)
	if err != nil {
		return err
	}
	if a := hep.WorseningAlert(p.patientID, w, t, lastEnd); a != nil {
		if _, err := p.s.raiseAlert(p.ctx, p.tx, a, p.now); err != nil {
			return err
		}
	}
	return nil
}

// ---- The daily adherence evaluation ----

// adherenceCandidatesQuery lists the patients with a plan and how far
// their evaluation got.
const adherenceCandidatesQuery = `SELECT id, time_zone, adherence_checked_through FROM patients p
	WHERE EXISTS (SELECT 1 FROM plans pl WHERE pl.patient_id = p.id)
	OR EXISTS (SELECT 1 FROM questionnaire_assignments q WHERE q.patient_id = p.id AND q.end_time IS NULL)`

// adherenceDays returns the closed days to evaluate, oldest first: those
// after through up to yesterday (only yesterday if never evaluated), at
// most the newest maxAdherenceCatchUp.
func adherenceDays(through, yesterday hep.Date) []hep.Date {
	first := yesterday
	if !through.IsZero() {
		if !through.Before(yesterday) {
			return nil
		}
		first = through.AddDays(1)
	}
	if n := first.DaysUntil(yesterday) + 1; n > maxAdherenceCatchUp {
		first = yesterday.AddDays(1 - maxAdherenceCatchUp)
	}
	var out []hep.Date
	for d := first; !yesterday.Before(d); d = d.AddDays(1) {
		out = append(out, d)
	}
	return out
}

// systemActor is the actor of what hepd does on its own, keeping the
// calling context's action and request id when it has them.
func systemActor(ctx context.Context) (hep.Actor, error) {
	a := hep.ActorFrom(ctx)
	out := hep.Actor{ID: hep.SystemActorID, Role: hep.RoleAdmin, Action: a.Action, RequestID: a.RequestID, Peer: "local"}
	if out.Action == "" {
		out.Action = "alert.evaluate_adherence"
	}
	if out.RequestID == "" {
		id, err := newID()
		if err != nil {
			return out, err
		}
		out.RequestID = id
	}
	return out, nil
}

// EvaluateAdherence implements hep.Store. The candidates are listed; each
// patient is then evaluated in a write transaction of its own that locks
// the patient's row and reads its watermark again, so concurrent
// evaluations (two replicas' schedulers, say) never evaluate a day twice:
// the second waits for the first's commit and finds the watermark moved.
// alert_occurrences_trigger keeps one occurrence per patient, kind and
// window or slot whatever happens. That one replica only runs the job at
// all is the scheduler's business (Store.TryLead).
func (s *Store) EvaluateAdherence(ctx context.Context, now time.Time) (int, error) {
	actor, err := systemActor(ctx)
	if err != nil {
		return 0, err
	}
	sys := hep.WithActor(ctx, actor)
	type candidate struct {
		id, tz  string
		through sql.NullString
	}
	cands, err := queryAll(ctx, s.db, func(sc scanner) (candidate, error) {
		var c candidate
		err := sc.Scan(&c.id, &c.tz, &c.through)
		return c, err
	}, adherenceCandidatesQuery)
	if err != nil {
		return 0, mapErr(err)
	}
	raised := 0
	for _, c := range cands {
		through, err := parseDate(c.through)
		if err != nil {
			return raised, err
		}
		if len(adherenceDays(through, hep.DateOf(now, zoneOf(c.tz)).AddDays(-1))) == 0 {
			continue
		}
		n, err := s.evaluatePatient(sys, c.id, now)
		if err != nil {
			return raised, err
		}
		raised += n
	}
	return raised, nil
}

// evaluatePatient evaluates the closed days of one patient not evaluated
// yet, in one transaction, and returns the alerts it raised.
func (s *Store) evaluatePatient(ctx context.Context, patientID string, now time.Time) (int, error) {
	raised := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		raised = 0
		if err := lockPatient(ctx, tx, patientID); err != nil {
			if hep.ErrorCode(err) == hep.CodeNotFound {
				return nil
			}
			return err
		}
		var tz string
		var stored sql.NullString
		err := tx.QueryRowContext(ctx, "SELECT time_zone, adherence_checked_through FROM patients WHERE id = $1", patientID).Scan(&tz, &stored)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		through, err := parseDate(stored)
		if err != nil {
			return err
		}
		yesterday := hep.DateOf(now, zoneOf(tz)).AddDays(-1)
		days := adherenceDays(through, yesterday)
		if len(days) == 0 {
			return nil
		}
		t, err := loadThresholds(ctx, tx)
		if err != nil {
			return err
		}
		facts, err := readFacts(ctx, tx, patientID, tz, days[0].AddDays(1-hep.WindowDays), yesterday, factsWant{})
		if err != nil {
			return err
		}
		for _, d := range days {
			f := facts
			f.From, f.To = d.AddDays(1-hep.WindowDays), d
			a := hep.WindowAdherence(f, t)
			lastEnd, err := nearWindow(ctx, tx, patientID, hep.AlertNonAdherence, d)
			if err != nil {
				return err
			}
			al := hep.NonAdherenceAlert(patientID, d, a, t, lastEnd)
			if al == nil {
				continue
			}
			ok, err := s.raiseAlert(ctx, tx, al, s.now())
			if err != nil {
				return err
			}
			if ok {
				raised++
				if err := s.appendAudit(ctx, tx, patientID, resAlert(patientID, al.ID), hep.OutcomeOK); err != nil {
					return err
				}
			}
		}
		// The questionnaires: a slot becomes overdue as a day closes.
		over, err := s.overdueAlerts(ctx, tx, patientID, zoneOf(tz), yesterday.AddDays(1))
		if err != nil {
			return err
		}
		for _, al := range over {
			raised++
			if err := s.appendAudit(ctx, tx, patientID, resAlert(patientID, al.ID), hep.OutcomeOK); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, "UPDATE patients SET adherence_checked_through = $1 WHERE id = $2", yesterday.String(), patientID)
		return err
	})
	if err != nil {
		return 0, err
	}
	return raised, nil
}
