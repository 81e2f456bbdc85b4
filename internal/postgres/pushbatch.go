package postgres

import (
	"github.com/hepclinic/hep/internal/hep"
)

// A phone's push is mostly new exercise logs. Push stores a run of such
// logs (consecutive mutations, each a valid log that supersedes nothing,
// with a storable time and an exercise in the catalog) with one INSERT of
// the run's columns as arrays (unnest): one round trip and one cached
// statement whatever the run's length, where the SQLite store prepared
// multi-row statements of a few fixed sizes. The results are those of
// applying the logs one by one: a log whose id is stored already (before
// the push or earlier in the run) is answered by existing, exactly as in
// the order of push.log; the sequence values go to the new logs in
// mutation order; a new log raises its alerts (review.go: logged while
// suspended, its pain scores).

// insertLogsQuery inserts a run of logs of one patient and device received
// at one time, each column of the others an array. It skips a log whose id
// is stored (or repeated earlier in the run) and returns the ids it
// inserted.
const insertLogsQuery = `INSERT INTO exercise_logs (id, patient_id, device_id, exercise_id, plan_version,
		perform_time, corrected_perform_time, receive_time, sets_done, reps_done, hold_seconds_done,
		duration_seconds_done, pain_before, pain_after, difficulty, note, supersedes, item_suspended, content_hash,
		change_seq)
	SELECT r.id, $1, $2, r.exercise_id, r.plan_version, r.perform_time, r.corrected_perform_time, $3, r.sets_done,
		r.reps_done, r.hold_seconds_done, r.duration_seconds_done, r.pain_before, r.pain_after, r.difficulty, r.note, NULL,
		r.item_suspended, r.content_hash, r.change_seq
	FROM unnest($4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[], $9::int[], $10::int[], $11::int[],
		$12::int[], $13::int[], $14::int[], $15::text[], $16::text[], $17::bigint[], $18::text[], $19::bigint[])
		WITH ORDINALITY AS r(id, exercise_id, plan_version, perform_time, corrected_perform_time, sets_done, reps_done,
			hold_seconds_done, duration_seconds_done, pain_before, pain_after, difficulty, note, item_suspended,
			content_hash, change_seq, n)
	ORDER BY r.n
	ON CONFLICT (id) DO NOTHING RETURNING id`

// logColumnsOf are the run's columns as insertLogsQuery takes them.
type logColumnsOf struct {
	id, exercise, perform, corrected, difficulty, note, hash []string
	planVersion                                              []int64
	sets, reps, hold, duration                               []int32
	before, after                                            []*int32
	suspended                                                []int64 // 0 or 1
	seq                                                      []*int64
}

func (c *logColumnsOf) add(l *hep.ExerciseLog, hash string, seq *int64) {
	c.id = append(c.id, l.ID)
	c.exercise = append(c.exercise, l.ExerciseID)
	c.planVersion = append(c.planVersion, l.PlanVersion)
	c.perform = append(c.perform, ts(l.PerformTime))
	c.corrected = append(c.corrected, ts(l.CorrectedPerformTime))
	c.sets = append(c.sets, l.SetsDone)
	c.reps = append(c.reps, l.RepsDone)
	c.hold = append(c.hold, l.HoldSecondsDone)
	c.duration = append(c.duration, l.DurationSecondsDone)
	c.before = append(c.before, l.PainBefore)
	c.after = append(c.after, l.PainAfter)
	c.difficulty = append(c.difficulty, string(l.Difficulty))
	c.note = append(c.note, l.Note)
	c.suspended = append(c.suspended, b2i(l.ItemSuspended))
	c.hash = append(c.hash, hash)
	c.seq = append(c.seq, seq)
}

// plainLog returns the log of m if m is one a run may hold.
func (p *push) plainLog(m hep.Mutation) (*hep.ExerciseLog, error) {
	l := m.Log
	if l == nil || l.Supersedes != "" || !storable(l.PerformTime) || hep.ValidateMutation(m, p.now) != nil {
		return nil, nil
	}
	if ok, err := p.inCatalog(l.ExerciseID); err != nil || !ok {
		return nil, err
	}
	return l, nil
}

// logRun returns the logs of the run of plain logs at the start of muts.
func (p *push) logRun(muts []hep.Mutation) ([]hep.ExerciseLog, error) {
	var run []hep.ExerciseLog
	for _, m := range muts {
		l, err := p.plainLog(m)
		if err != nil {
			return nil, err
		}
		if l == nil {
			break
		}
		run = append(run, *l)
	}
	return run, nil
}

// storeRun stores a run of plain logs (the first len(run) of muts) and
// returns their results.
//
// A live log's change sequence value is in its own row, so it is written
// with the insert, before the insert tells which logs were new. The values
// are handed out on the expectation that every log is new, the first of
// its id in the run (so far the only case seen from phones): under a
// savepoint. If any log was skipped as stored, the savepoint is rolled back
// and the run is applied one mutation at a time instead (apply), which
// gives the same results and numbers only the new logs.
func (p *push) storeRun(muts []hep.Mutation, run []hep.ExerciseLog) ([]hep.MutationResult, error) {
	if err := p.readSeq(); err != nil {
		return nil, err
	}
	hashes := make([]string, len(run))
	isFirst := make([]bool, len(run)) // false for a repeated id: never inserted
	first := make(map[string]bool, len(run))
	next := p.changeSeq
	var cols logColumnsOf
	for i := range run {
		l := &run[i]
		l.PatientID, l.DeviceID, l.ReceiveTime, l.ItemSuspended = p.patientID, p.deviceID, p.now, false
		hashes[i] = l.ContentHash()
		var err error
		if l.ItemSuspended, err = p.suspended(l.ExerciseID); err != nil {
			return nil, err
		}
		var seq *int64
		if !first[l.ID] {
			first[l.ID] = true
			isFirst[i] = true
			next++
			v := next
			seq = &v
		}
		cols.add(l, hashes[i], seq)
	}
	if _, err := p.tx.ExecContext(p.ctx, "SAVEPOINT log_run"); err != nil {
		return nil, err
	}
	rows, err := p.tx.QueryContext(p.ctx, insertLogsQuery, p.patientID, p.deviceID, ts(p.now),
		cols.id, cols.exercise, cols.planVersion, cols.perform, cols.corrected, cols.sets, cols.reps, cols.hold,
		cols.duration, cols.before, cols.after, cols.difficulty, cols.note, cols.suspended, cols.hash, cols.seq)
	if err != nil {
		return nil, err // the whole push rolls back
	}
	inserted := 0
	for rows.Next() {
		inserted++
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	if inserted != len(first) {
		// Some log was stored before the push: undo the run and apply it
		// one mutation at a time.
		for _, q := range []string{"ROLLBACK TO SAVEPOINT log_run", "RELEASE SAVEPOINT log_run"} {
			if _, err := p.tx.ExecContext(p.ctx, q); err != nil {
				return nil, err
			}
		}
		results := make([]hep.MutationResult, len(run))
		for i := range run {
			r, err := p.apply(muts[i])
			if err != nil {
				return nil, err
			}
			results[i] = r
		}
		return results, nil
	}
	if _, err := p.tx.ExecContext(p.ctx, "RELEASE SAVEPOINT log_run"); err != nil {
		return nil, err
	}
	p.changeSeq, p.seqDirty = next, true
	// In mutation order: the first log of each id is new; a repeat is a
	// replay or a reuse of the id.
	results := make([]hep.MutationResult, len(run))
	for i := range run {
		l := &run[i]
		if isFirst[i] {
			results[i] = applied(muts[i].Seq)
			if err := p.logAlerts(*l); err != nil {
				return nil, err
			}
			continue
		}
		r, done, err := p.existing(muts[i].Seq, hep.KindLog, "log.id", l.ID, hashes[i])
		if err != nil {
			return nil, err
		}
		if !done {
			return nil, errNoStoredLog
		}
		results[i] = r
	}
	return results, nil
}
