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
// values go to the new logs in mutation order; a log of a suspended item
// alerts once per exercise and push.

// chunkSizes are the row counts of the prepared multi-row statements, the
// largest first; a run is stored in as few statements as they allow.
var chunkSizes = []int{64, 16, 4, 1}

// insertLogsQuery is the multi-row insert of n logs. It skips a log whose
// id is stored and returns the ids it inserted.
func insertLogsQuery(n int) string {
	return insertLogQuery + strings.Repeat(", (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", n-1) +
		" ON CONFLICT (id) DO NOTHING RETURNING id"
}

const logArgs = 19

// insertEntriesQuery is the multi-row insert of n new sync entries.
func insertEntriesQuery(n int) string {
	return "INSERT INTO sync_state (patient_id, kind, id, seq, deleted, change_time) VALUES (?, ?, ?, ?, ?, ?)" +
		strings.Repeat(", (?, ?, ?, ?, ?, ?)", n-1)
}

const entryArgs = 6

func init() {
	for _, n := range chunkSizes {
		preparedQueries = append(preparedQueries, insertLogsQuery(n), insertEntriesQuery(n))
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
func (p *push) storeRun(muts []hep.Mutation, run []hep.ExerciseLog) ([]hep.MutationResult, error) {
	hashes := make([]string, len(run))
	for i := range run {
		l := &run[i]
		l.PatientID, l.DeviceID, l.ReceiveTime, l.ItemSuspended = p.patientID, p.deviceID, p.now, false
		hashes[i] = l.ContentHash()
		var err error
		if l.ItemSuspended, err = p.suspended(l.ExerciseID); err != nil {
			return nil, err
		}
	}
	inserted := make(map[string]bool, len(run))
	args := make([]any, 0, chunkSizes[0]*logArgs)
	err := chunks(len(run), func(from, to int) error {
		args = args[:0]
		for i := from; i < to; i++ {
			l := &run[i]
			args = append(args, l.ID, l.PatientID, l.DeviceID, l.ExerciseID, l.PlanVersion, ts(l.PerformTime),
				ts(l.CorrectedPerformTime), ts(l.ReceiveTime), l.SetsDone, l.RepsDone, l.HoldSecondsDone,
				l.DurationSecondsDone, scoreArg(l.PainBefore), scoreArg(l.PainAfter), string(l.Difficulty), l.Note,
				nil, l.ItemSuspended, hashes[i])
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
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			inserted[id] = true
		}
		return closeRows(rows)
	})
	if err != nil {
		return nil, err
	}
	// In mutation order: the first log of each inserted id is new; any
	// other is a replay or a reuse of a stored id.
	results := make([]hep.MutationResult, len(run))
	var fresh []int // indexes of the new logs
	for i := range run {
		l := &run[i]
		if inserted[l.ID] {
			delete(inserted, l.ID)
			fresh = append(fresh, i)
			results[i] = applied(muts[i].Seq)
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
	if err := p.insertEntries(run, fresh); err != nil {
		return nil, err
	}
	for _, i := range fresh {
		l := &run[i]
		if l.ItemSuspended && !p.alerted[l.ExerciseID] {
			a := hep.SuspendedLogAlert(p.patientID, l.ExerciseID)
			if err := insertAlert(p.ctx, p.tx, &a, p.now); err != nil {
				return nil, err
			}
			p.alerted[l.ExerciseID] = true
		}
	}
	return results, nil
}

// insertEntries gives the new logs run[fresh...] their sync entries, at
// the next values of the change sequence in order (what bump would give
// them one by one).
func (p *push) insertEntries(run []hep.ExerciseLog, fresh []int) error {
	if len(fresh) == 0 {
		return nil
	}
	if err := p.readSeq(); err != nil {
		return err
	}
	now := ts(p.now)
	args := make([]any, 0, chunkSizes[0]*entryArgs)
	return chunks(len(fresh), func(from, to int) error {
		args = args[:0]
		for _, i := range fresh[from:to] {
			p.changeSeq++
			p.seqDirty = true
			args = append(args, p.patientID, string(hep.KindLog), run[i].ID, p.changeSeq, false, now)
		}
		st, err := p.s.prepared(p.ctx, p.tx, insertEntriesQuery(to-from))
		if err != nil {
			return err
		}
		_, err = st.ExecContext(p.ctx, args...)
		return err
	})
}
