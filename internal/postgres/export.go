package postgres

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// Export: the snapshot of a patient's record over a range (one read
// transaction, then its audit row) and the pages of its logs and check-ins
// (one short statement each, so an export of years never holds a
// transaction open while the file is written and streamed).

func resExport(patientID string) string { return "patients/" + patientID + "/export" }

// exportAction is the audited action of an export: the call's action with
// the format, so the trail says what shape of the record left the server.
func exportAction(action, format string) string {
	if action == "" {
		action = "export"
	}
	return action + ":" + strings.ToUpper(format)
}

// ExportSnapshot implements hep.Store. Like ProgressFacts (review.go) it
// reads everything in one read-only transaction, one consistent snapshot
// that holds up no writer (a long range reads tens of thousands of
// facts), and then commits the audit row before returning anything: an
// export whose audit row cannot be written fails and returns nothing.
func (s *Store) ExportSnapshot(ctx context.Context, patientID string, from, to hep.Date, format string) (hep.ExportSnapshot, error) {
	now := s.now()
	var snap hep.ExportSnapshot
	err := s.read(ctx, func(tx *sql.Tx) (err error) {
		snap, err = exportSnapshot(ctx, tx, patientID, from, to, now, exportWant{
			rowFacts: hep.NeedsRowFacts(hep.ExportFormat(strings.ToUpper(format))),
			exporter: hep.ActorFrom(ctx).ID,
		})
		return err
	})
	if err != nil {
		return hep.ExportSnapshot{}, err
	}
	snap.Actor, snap.GenerateTime = hep.ActorFrom(ctx), now
	e := hep.NewAuditEvent(snap.Actor, now, patientID, resExport(patientID), hep.OutcomeOK)
	e.Action = exportAction(e.Action, format)
	if err := s.appendRead(ctx, e); err != nil {
		return hep.ExportSnapshot{}, err
	}
	return snap, nil
}

// Queries of the snapshot. Each names its index.
const (
	// exportAnswersQuery: every answer recorded before the end, oldest
	// first, on screening_answers_patient.
	exportAnswersQuery = "SELECT " + answerColumns + " FROM screening_answers WHERE patient_id = $1 AND record_time < $2 ORDER BY id"
	// exportDecisionsQuery: the decisions of the range, oldest first, on
	// gating_decisions_patient.
	exportDecisionsQuery = "SELECT " + decisionColumns + ` FROM gating_decisions
		WHERE patient_id = $1 AND decide_time >= $2 AND decide_time < $3 ORDER BY id`
	// exportClearancesQuery: the clearances created before the end, oldest
	// first, on clearances_patient.
	exportClearancesQuery = "SELECT " + clearanceColumns + " FROM clearances WHERE patient_id = $1 AND create_time < $2 ORDER BY id"
	// exportAlertsQuery: the alerts with an occurrence in the range, oldest
	// first, on alerts_patient and alert_occurrences_patient_time.
	exportAlertsQuery = "SELECT " + alertColumns + ` FROM alerts WHERE patient_id = $1 AND id IN (SELECT o.alert_id
		FROM alert_occurrences o WHERE o.patient_id = $1 AND o.occur_time >= $2 AND o.occur_time < $3) ORDER BY id`
	// exportOccurrencesQuery: the occurrences of the range, oldest first, on
	// alert_occurrences_patient_time.
	exportOccurrencesQuery = "SELECT " + occurrenceColumns + ` FROM alert_occurrences
		WHERE patient_id = $1 AND occur_time >= $2 AND occur_time < $3 ORDER BY occur_time, id`
)

// exportWant says what a snapshot reads besides what every format needs.
type exportWant struct {
	// rowFacts: the progress facts with every log and check-in of the
	// range and the activity (hep.NeedsRowFacts); otherwise the facts hold
	// the plan versions, the current plan and the exercise names, and the
	// counts come from one aggregate per table.
	rowFacts bool
	// exporter is the exporting account, whose name Names also holds.
	exporter string
}

// exportSnapshot reads a snapshot inside q as of now, without the actor
// and the generation time. NOT_FOUND for an unknown patient. With
// want.rowFacts the progress facts are read exactly as ProgressFacts reads
// them (readFacts), so the visit summary and the review screen agree.
func exportSnapshot(ctx context.Context, q querier, patientID string, from, to hep.Date, now time.Time, want exportWant) (hep.ExportSnapshot, error) {
	p, err := getPatient(ctx, q, patientID)
	if err != nil {
		return hep.ExportSnapshot{}, err
	}
	loc := hep.LoadZone(p.TimeZone)
	from, to = hep.ExportRange(from, to, hep.DateOf(now, loc))
	if err := hep.ValidateRange(from, to, hep.MaxExportDays); err != nil {
		return hep.ExportSnapshot{}, err
	}
	snap := hep.ExportSnapshot{Patient: p, From: from, To: to, Start: from.Start(loc), End: to.AddDays(1).Start(loc)}
	start, end := ts(snap.Start), ts(snap.End)
	// The exercises the logs name, beyond those of the plans and decisions.
	var logExercises []string
	if want.rowFacts {
		snap.Facts, err = readFacts(ctx, q, patientID, p.TimeZone, from, to,
			factsWant{checkins: true, activity: true, asOf: hep.DateOf(now, loc), current: true})
		if err != nil {
			return hep.ExportSnapshot{}, err
		}
		snap.LogCount, snap.CheckinCount = int64(len(snap.Facts.Logs)), int64(len(snap.Facts.Checkins))
		for _, l := range snap.Facts.Logs {
			logExercises = append(logExercises, l.ExerciseID)
		}
	} else {
		// The plan versions in force, the current plan and the names: no
		// log or check-in (the writers stream those).
		if snap.Facts, err = readFacts(ctx, q, patientID, p.TimeZone, from, to, factsWant{noLogs: true, current: true}); err != nil {
			return hep.ExportSnapshot{}, err
		}
		counts, err := queryAll(ctx, q, func(sc scanner) (exerciseCount, error) {
			var c exerciseCount
			err := sc.Scan(&c.id, &c.n)
			return c, err
		}, exportLogCountsQuery, patientID, start, end)
		if err != nil {
			return hep.ExportSnapshot{}, err
		}
		for _, c := range counts {
			snap.LogCount += c.n
			logExercises = append(logExercises, c.id)
		}
		if err := q.QueryRowContext(ctx, exportCheckinCountQuery, patientID, start, end).Scan(&snap.CheckinCount); err != nil {
			return hep.ExportSnapshot{}, err
		}
	}
	for _, v := range snap.Facts.Versions {
		pl, err := loadPlan(ctx, q, patientID, v.Version)
		if err != nil {
			return hep.ExportSnapshot{}, err
		}
		snap.Plans = append(snap.Plans, pl)
	}
	if snap.Thresholds, err = loadThresholds(ctx, q); err != nil {
		return hep.ExportSnapshot{}, err
	}
	if snap.Screening, err = queryAll(ctx, q, scanAnswer, exportAnswersQuery, patientID, end); err != nil {
		return hep.ExportSnapshot{}, err
	}
	if snap.Decisions, err = queryAll(ctx, q, scanDecision, exportDecisionsQuery, patientID, start, end); err != nil {
		return hep.ExportSnapshot{}, err
	}
	if snap.Clearances, err = queryAll(ctx, q, scanClearance, exportClearancesQuery, patientID, end); err != nil {
		return hep.ExportSnapshot{}, err
	}
	if snap.Alerts, err = queryAll(ctx, q, scanAlert, exportAlertsQuery, patientID, start, end); err != nil {
		return hep.ExportSnapshot{}, err
	}
	if snap.AlertOccurrences, err = queryAll(ctx, q, scanOccurrence, exportOccurrencesQuery, patientID, start, end); err != nil {
		return hep.ExportSnapshot{}, err
	}

	outcomes, err := outcomeFacts(ctx, q, patientID)
	if err != nil {
		return hep.ExportSnapshot{}, err
	}
	for _, o := range outcomes {
		if !o.Assignment.CreateTime.Before(snap.End) {
			continue
		}
		var rs []hep.QuestionnaireResponse
		for _, r := range o.Responses {
			if r.CorrectedAuthoredTime.Before(snap.End) {
				rs = append(rs, r)
			}
		}
		o.Responses = rs
		snap.Outcomes = append(snap.Outcomes, o)
	}

	if snap.Messages, err = queryAll(ctx, q, scanMessage, "SELECT "+messageColumns+messageFrom+
		" WHERE m.patient_id = $1 AND m.receive_time >= $2 AND m.receive_time < $3 ORDER BY m.thread_seq", patientID, start, end); err != nil {
		return hep.ExportSnapshot{}, err
	}
	if snap.Thread, err = loadThread(ctx, q, patientID); err != nil {
		return hep.ExportSnapshot{}, err
	}

	// The catalog entries the record names.
	cat, err := loadCatalog(ctx, q)
	if err != nil {
		return hep.ExportSnapshot{}, err
	}
	snap.Exercises = map[string]hep.Exercise{}
	name := func(id string) {
		if e, ok := cat[id]; ok {
			snap.Exercises[id] = e
		}
	}
	for _, pl := range snap.Plans {
		for _, it := range pl.Items {
			name(it.Spec.ExerciseID)
		}
	}
	for _, it := range snap.Facts.Current.Items {
		name(it.Spec.ExerciseID)
	}
	for _, id := range logExercises {
		name(id)
	}
	for _, g := range snap.Decisions {
		name(g.Decision.ExerciseID)
	}
	for _, c := range snap.Clearances {
		name(c.ExerciseID)
	}

	// The accounts the record names, and the exporter.
	if snap.Names, err = accountNames(ctx, q, exportAccounts(&snap, want.exporter)); err != nil {
		return hep.ExportSnapshot{}, err
	}
	return snap, nil
}

type exerciseCount struct {
	id string
	n  int64
}

// Queries of a snapshot without the row facts.
const (
	// exportLogCountsQuery counts the live logs of the range per exercise:
	// an index-only scan of exercise_logs_live (it covers exercise_id).
	exportLogCountsQuery = "SELECT l.exercise_id, count(*) FROM exercise_logs l WHERE l.patient_id = $1 AND " + liveLogsOf +
		" AND l.corrected_perform_time >= $2 AND l.corrected_perform_time < $3 GROUP BY l.exercise_id"
	// exportCheckinCountQuery counts the live check-ins of the range on
	// pain_checkins_live.
	exportCheckinCountQuery = "SELECT count(*) FROM pain_checkins k WHERE k.patient_id = $1 AND " + liveCheckinsOf +
		" AND k.corrected_record_time >= $2 AND k.corrected_record_time < $3"
)

// exportNamesQuery reads the display names of accounts by primary key.
const exportNamesQuery = "SELECT id, display_name FROM accounts WHERE id = ANY($1::text[])"

// exportAccounts lists the ids of the accounts a snapshot names (devices
// and system actors among them are simply not found), and the exporter.
func exportAccounts(snap *hep.ExportSnapshot, exporter string) []string {
	seen := map[string]bool{}
	var ids []string
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	add(exporter)
	for _, pl := range snap.Plans {
		add(pl.AuthorID)
	}
	for _, a := range snap.Screening {
		add(a.RecordedBy)
	}
	for _, g := range snap.Decisions {
		add(g.ActorID)
	}
	for _, c := range snap.Clearances {
		add(c.ClearedBy)
	}
	for _, a := range snap.Alerts {
		add(a.AckBy)
	}
	return ids
}

// accountNames reads the display names of accounts in one query.
func accountNames(ctx context.Context, q querier, ids []string) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := queryAll(ctx, q, func(sc scanner) ([2]string, error) {
		var n [2]string
		err := sc.Scan(&n[0], &n[1])
		return n, err
	}, exportNamesQuery, ids)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r[0]] = r[1]
	}
	return out, nil
}

// Pages of an export: live rows of the range after the cursor, oldest
// first, each on its live partial index. The first page's cursor is the
// zero ExportCursor, whose key ("", "") is below every stored key. The
// first argument is the later of the range's start and the cursor's time:
// the index search starts there, at the cursor, rather than at the start
// of the range with every earlier row filtered out (which made paging
// quadratic); the row-value test then skips the cursor's ties up to its id.
const (
	exportLogsQuery = "SELECT " + logColumns + ` FROM exercise_logs
		WHERE patient_id = $1 AND deleted_time IS NULL AND superseded_by IS NULL
		AND corrected_perform_time >= $2 AND corrected_perform_time < $3 AND (corrected_perform_time, id) > ($4, $5)
		ORDER BY corrected_perform_time, id LIMIT $6`
	exportCheckinsQuery = "SELECT " + checkinColumns + ` FROM pain_checkins
		WHERE patient_id = $1 AND deleted_time IS NULL AND superseded_by IS NULL
		AND corrected_record_time >= $2 AND corrected_record_time < $3 AND (corrected_record_time, id) > ($4, $5)
		ORDER BY corrected_record_time, id LIMIT $6`
)

// afterKey is the lower bound of an oldest-first page keyed on (corrected
// time, id).
func afterKey(c hep.ExportCursor) (string, string) {
	if c.Time.IsZero() {
		return "", ""
	}
	return ts(c.Time), c.ID
}

// lowerBound is where a page's index search starts: the later of the
// range's start and the cursor's time.
func lowerBound(start time.Time, c hep.ExportCursor) string {
	if c.Time.After(start) {
		return ts(c.Time)
	}
	return ts(start)
}

// ExportLogs implements hep.Store: one statement, so no transaction
// outlives the page.
func (s *Store) ExportLogs(ctx context.Context, patientID string, start, end time.Time, after hep.ExportCursor, limit int) ([]hep.ExerciseLog, error) {
	at, aid := afterKey(after)
	out, err := queryAll(ctx, s.db, scanLog, exportLogsQuery, patientID, lowerBound(start, after), ts(end), at, aid, exportLimit(limit))
	return out, mapErr(err)
}

// ExportCheckins implements hep.Store like ExportLogs.
func (s *Store) ExportCheckins(ctx context.Context, patientID string, start, end time.Time, after hep.ExportCursor, limit int) ([]hep.PainCheckin, error) {
	at, aid := afterKey(after)
	out, err := queryAll(ctx, s.db, scanCheckin, exportCheckinsQuery, patientID, lowerBound(start, after), ts(end), at, aid, exportLimit(limit))
	return out, mapErr(err)
}

// maxExportPage caps a page of an export, so a caller's mistake cannot
// read a whole history into memory.
const maxExportPage = 5000

func exportLimit(n int) int {
	if n <= 0 || n > maxExportPage {
		return maxExportPage
	}
	return n
}
