package hepclient

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// NewID returns a new record id: a UUID version 7 (time-ordered) in
// canonical lower-case form. Ids are made on the phone and never change.
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		id = uuid.New()
	}
	return id.String()
}

// LogExercise records an exercise session: it appends a mutation to the
// outbox in one local transaction and returns the log's id. Id and
// PerformTime are filled in when empty (a new UUIDv7; now by the phone's
// clock); output-only fields are cleared. To correct an earlier log, set
// Supersedes to its id. Nothing is sent until Sync.
func (c *Client) LogExercise(ctx context.Context, l *hepv1.ExerciseLog) (string, error) {
	l = proto.Clone(l).(*hepv1.ExerciseLog)
	if l.Id == "" {
		l.Id = NewID()
	}
	if l.PerformTime == nil {
		l.PerformTime = timestamppb.New(c.now())
	}
	l.CorrectedPerformTime, l.ReceiveTime, l.DeviceId, l.ItemSuspended = nil, nil, "", false
	_, err := c.appendMutation(ctx, &hepv1.Mutation{Change: &hepv1.Mutation_Log{Log: l}})
	return l.Id, err
}

// LogPain records a pain check-in like LogExercise records a session.
func (c *Client) LogPain(ctx context.Context, p *hepv1.PainCheckin) (string, error) {
	p = proto.Clone(p).(*hepv1.PainCheckin)
	if p.Id == "" {
		p.Id = NewID()
	}
	if p.RecordTime == nil {
		p.RecordTime = timestamppb.New(c.now())
	}
	p.CorrectedRecordTime, p.ReceiveTime, p.DeviceId = nil, nil, ""
	_, err := c.appendMutation(ctx, &hepv1.Mutation{Change: &hepv1.Mutation_Checkin{Checkin: p}})
	return p.Id, err
}

// Delete records the deletion of a log or check-in (kind
// RECORD_KIND_EXERCISE_LOG or RECORD_KIND_PAIN_CHECKIN).
func (c *Client) Delete(ctx context.Context, kind hepv1.RecordKind, id string) error {
	_, err := c.appendMutation(ctx, &hepv1.Mutation{Change: &hepv1.Mutation_Delete{Delete: &hepv1.DeleteRecord{Kind: kind, Id: id}}})
	return err
}

// ReportScreening records the patient's screening answers ("I am
// pregnant"). Red-flag symptoms belong in a pain check-in (RedFlags).
func (c *Client) ReportScreening(ctx context.Context, answers []*hepv1.ScreeningAnswerInput) error {
	r := &hepv1.ReportScreening{}
	for _, a := range answers {
		r.Answers = append(r.Answers, proto.Clone(a).(*hepv1.ScreeningAnswerInput))
	}
	_, err := c.appendMutation(ctx, &hepv1.Mutation{Change: &hepv1.Mutation_Screening{Screening: r}})
	return err
}

// AnswerQuestionnaire records the patient's answers to a due slot of a
// questionnaire assignment (from the QUESTIONNAIRES record: see
// Questionnaires) like LogExercise records a session, and returns the
// response's id. Answering the same slot again supersedes the earlier
// answer once the server applies it. AuthoredTime is now by the phone's
// clock when unset.
func (c *Client) AnswerQuestionnaire(ctx context.Context, r *hepv1.QuestionnaireResponse) (string, error) {
	r = proto.Clone(r).(*hepv1.QuestionnaireResponse)
	if r.Id == "" {
		r.Id = NewID()
	}
	if r.AuthoredTime == nil {
		r.AuthoredTime = timestamppb.New(c.now())
	}
	r.InstrumentId, r.CorrectedAuthoredTime, r.ReceiveTime, r.DeviceId, r.Supersedes, r.Score = "", nil, nil, "", "", nil
	_, err := c.appendMutation(ctx, &hepv1.Mutation{Change: &hepv1.Mutation_Response{Response: r}})
	return r.Id, err
}

// SendMessage records a message to the care team, 1-2000 characters, and
// returns its id; it is sent at the next Sync and appears in Messages at
// once (pending).
func (c *Client) SendMessage(ctx context.Context, body string) (string, error) {
	m := &hepv1.PatientMessage{Id: NewID(), Body: body, SentTime: timestamppb.New(c.now())}
	_, err := c.appendMutation(ctx, &hepv1.Mutation{Change: &hepv1.Mutation_Message{Message: m}})
	return m.Id, err
}

// MarkMessagesRead records that the patient has read the thread up to a
// thread sequence number (of a pulled message).
func (c *Client) MarkMessagesRead(ctx context.Context, through int64) error {
	_, err := c.appendMutation(ctx, &hepv1.Mutation{Change: &hepv1.Mutation_MessagesRead{MessagesRead: &hepv1.MessagesRead{ReadThrough: through}}})
	return err
}

// SetReminderPreferences records when the patient wants reminders.
func (c *Client) SetReminderPreferences(ctx context.Context, p *hepv1.ReminderPreferences) error {
	p = proto.Clone(p).(*hepv1.ReminderPreferences)
	p.SetBy, p.SetTime = "", nil
	_, err := c.appendMutation(ctx, &hepv1.Mutation{Change: &hepv1.Mutation_ReminderPreferences{ReminderPreferences: p}})
	return err
}

// appendMutation gives m the next sequence number and stores it in the
// outbox, in one local transaction: when it returns, the mutation survives a
// crash and will be pushed.
func (c *Client) appendMutation(ctx context.Context, m *hepv1.Mutation) (int64, error) {
	m.Sequence = 0 // the outbox row's seq is the truth (it may be renumbered)
	b, err := proto.Marshal(m)
	if err != nil {
		return 0, err
	}
	var seq int64
	err = c.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, "SELECT next_seq FROM device").Scan(&seq); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO outbox (seq, mutation, create_time) VALUES (?, ?, ?)", seq, b, nanos(c.now())); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "UPDATE device SET next_seq = ?", seq+1)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("hepclient: saving to the outbox: %w", err)
	}
	return seq, nil
}

// renumber rewrites the outbox as extra (mutations to send again, in order)
// followed by the outbox's own entries in sequence order, numbered from
// first without gaps, and moves next_seq after them. Used when the server's
// numbering and the phone's disagree (a new enrollment, a restored server
// or phone); the mutations themselves do not change, so a record the
// server already has comes back as an identical replay.
func renumber(ctx context.Context, tx *sql.Tx, first int64, extra []outboxRow) (next int64, err error) {
	rows, err := outboxRows(ctx, tx, 0, -1)
	if err != nil {
		return 0, err
	}
	all := append(append([]outboxRow{}, extra...), rows...)
	if _, err := tx.ExecContext(ctx, "DELETE FROM outbox"); err != nil {
		return 0, err
	}
	next = first
	for _, r := range all {
		if _, err := tx.ExecContext(ctx, "INSERT INTO outbox (seq, mutation, create_time) VALUES (?, ?, ?)", next, r.blob, r.created); err != nil {
			return 0, err
		}
		next++
	}
	_, err = tx.ExecContext(ctx, "UPDATE device SET next_seq = ?", next)
	return next, err
}

// outboxRow is one stored mutation.
type outboxRow struct {
	seq     int64
	blob    []byte
	created int64
}

// outboxRows reads up to limit (-1: all) outbox entries after seq, in
// sequence order.
func outboxRows(ctx context.Context, q querier, after int64, limit int) ([]outboxRow, error) {
	return queryMutations(ctx, q, "SELECT seq, mutation, create_time FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?", after, limit)
}

// queryMutations reads (seq, mutation, time) rows of the outbox or journal.
func queryMutations(ctx context.Context, q querier, query string, args ...any) ([]outboxRow, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		if err := rows.Scan(&r.seq, &r.blob, &r.created); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (r outboxRow) mutation() (*hepv1.Mutation, error) {
	m := &hepv1.Mutation{}
	if err := proto.Unmarshal(r.blob, m); err != nil {
		return nil, fmt.Errorf("hepclient: outbox entry %d: %w", r.seq, err)
	}
	m.Sequence = r.seq
	return m, nil
}

// Pending returns the outbox: the mutations not yet acknowledged, in
// sequence order.
func (c *Client) Pending(ctx context.Context) ([]*hepv1.Mutation, error) {
	rows, err := outboxRows(ctx, c.db, 0, -1)
	if err != nil {
		return nil, err
	}
	out := make([]*hepv1.Mutation, 0, len(rows))
	for _, r := range rows {
		m, err := r.mutation()
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Rejection is a mutation the server refused for good, kept for the app to
// show ("this session could not be saved: sets_done must be between 0 and
// 20").
type Rejection struct {
	Mutation *hepv1.Mutation // with its sequence number
	DeviceID string
	Reason   string
	Field    string // the offending field, if the server named one
	Time     time.Time
}

// Rejected returns the rejected mutations, oldest first.
func (c *Client) Rejected(ctx context.Context) ([]Rejection, error) {
	rows, err := c.db.QueryContext(ctx, "SELECT seq, device_id, mutation, reason, field, reject_time FROM rejected ORDER BY rowid")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Rejection
	for rows.Next() {
		var r Rejection
		var row outboxRow
		var t int64
		if err := rows.Scan(&row.seq, &r.DeviceID, &row.blob, &r.Reason, &r.Field, &t); err != nil {
			return nil, err
		}
		if r.Mutation, err = row.mutation(); err != nil {
			return nil, err
		}
		r.Time = fromNanos(t)
		out = append(out, r)
	}
	return out, rows.Err()
}
