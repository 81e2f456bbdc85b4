package sqlite

import (
	"strings"

	"github.com/hepclinic/hep/internal/hep"
)

// A phone's push is mostly new exercise logs. Push stores a run of such
// logs (consecutive mutations, each a valid log that supersedes nothing,
// with a storable time and an exercise in the catalog) with multi-row
// INSERT statements: the log rows, then the sync entries of the ones that
// were new. The results are those of applying them one by one: a log whose
// id is stored already (before the push or earlier in the run) is
// answered by existing, exactly as in the order of push.log; the sequence
// values go to the new logs in mutation order; a new log raises its alerts
// (review.go: logged while suspended, its pain scores).

// chunkSizes are the row counts of the prepared multi-row statements, the
// largest first; a run is stored in as few statements as they allow.
var chunkSizes = []int{64, 16, 4, 1}

// insertLogsQuery is the multi-row insert of n logs. It skips a log whose
// id is stored and returns the ids it inserted.
func insertLogsQuery(n int) string {
	return insertLogQuery + strings.Repeat(", (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", n-1) +
		" ON CONFLICT (id) DO NOTHING RETURNING id"
}

const logArgs = 20

func init() {
	for _, n := range chunkSizes {
		preparedQueries = append(preparedQueries, insertLogsQuery(n))
	}
}

// chunks calls fn with the bounds of each chunk of n rows.
func chunks(n int, fn func(from, to int) error) error {
	from := 0
	for _, size := range chunkSizes {
		for n-from >= size {
			if err := fn(from, from+size); err != nil {
				return err
			}
			from += size
		}
	}
	return nil
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
	seqs := make([]any, len(run)) // nil for a repeated id: never inserted
	first := make(map[string]bool, len(run))
	next := p.changeSeq
	for i := range run {
		l := &run[i]
		l.PatientID, l.DeviceID, l.ReceiveTime, l.ItemSuspended = p.patientID, p.deviceID, p.now, false
		hashes[i] = l.ContentHash()
		var err error
		if l.ItemSuspended, err = p.suspended(l.ExerciseID); err != nil {
			return nil, err
		}
		if !first[l.ID] {
			first[l.ID] = true
			next++
			seqs[i] = next
		}
	}
	if _, err := p.tx.ExecContext(p.ctx, "SAVEPOINT log_run"); err != nil {
		return nil, err
	}
	inserted := 0
	args := make([]any, 0, chunkSizes[0]*logArgs)
	err := chunks(len(run), func(from, to int) error {
		args = args[:0]
		for i := from; i < to; i++ {
			l := &run[i]
			args = append(args, l.ID, l.PatientID, l.DeviceID, l.ExerciseID, l.PlanVersion, ts(l.PerformTime),
				ts(l.CorrectedPerformTime), ts(l.ReceiveTime), l.SetsDone, l.RepsDone, l.HoldSecondsDone,
				l.DurationSecondsDone, scoreArg(l.PainBefore), scoreArg(l.PainAfter), string(l.Difficulty), l.Note,
				nil, l.ItemSuspended, hashes[i], seqs[i])
		}
		st, err := p.s.prepared(p.ctx, p.tx, insertLogsQuery(to-from))
		if err != nil {
			return err
		}
		rows, err := st.QueryContext(p.ctx, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			inserted++
		}
		return closeRows(rows)
	})
	if err != nil {
		return nil, err // the whole push rolls back
	}
	if inserted != len(first) {
		// Some log was stored before the push: undo the run and apply it
		// one mutation at a time.
		for _, q := range []string{"ROLLBACK TO log_run", "RELEASE log_run"} {
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
	if _, err := p.tx.ExecContext(p.ctx, "RELEASE log_run"); err != nil {
		return nil, err
	}
	p.changeSeq, p.seqDirty = next, true
	// In mutation order: the first log of each id is new; a repeat is a
	// replay or a reuse of the id.
	results := make([]hep.MutationResult, len(run))
	for i := range run {
		l := &run[i]
		if seqs[i] != nil {
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
