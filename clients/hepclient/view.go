package hepclient

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"

	"google.golang.org/protobuf/proto"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// The read model: what the phone shows. Records come from the server's
// pulls; logs and check-ins the server has not yet returned in a pull
// (the outbox, and acknowledged mutations since the last complete pull) are
// laid over them, marked Pending.

// Log is an exercise log as the phone shows it.
type Log struct {
	*hepv1.ExerciseLog
	// Pending: not yet back from the server in a pull. The server may still
	// reject it.
	Pending bool
}

// Checkin is a pain check-in as the phone shows it.
type Checkin struct {
	*hepv1.PainCheckin
	Pending bool
}

// Response is a questionnaire response as the phone sees it.
type Response struct {
	*hepv1.QuestionnaireResponse
	Pending bool
}

// Questionnaires returns the patient's active questionnaire assignments
// and their instruments as last pulled (nil before the first pull that
// carried them). The due slots follow from each assignment's schedule in
// the snapshot's time zone (docs/sync.md).
func (c *Client) Questionnaires(ctx context.Context) (*hepv1.QuestionnairesSnapshot, error) {
	var out *hepv1.QuestionnairesSnapshot
	err := c.overlay(ctx, hepv1.RecordKind_RECORD_KIND_QUESTIONNAIRES, func(r *hepv1.Record) {
		out = r.GetQuestionnaires()
	}, func(*hepv1.Mutation) {})
	return out, err
}

// Responses returns the live questionnaire responses, pulled and pending,
// one per answered slot (a pending answer hides the pulled one of its
// slot), newest slot first.
func (c *Client) Responses(ctx context.Context) ([]Response, error) {
	bySlot := map[string]Response{}
	key := func(r *hepv1.QuestionnaireResponse) string {
		d := r.GetSlotDate()
		return fmt.Sprintf("%s/%04d-%02d-%02d", r.GetAssignmentId(), d.GetYear(), d.GetMonth(), d.GetDay())
	}
	err := c.overlay(ctx, hepv1.RecordKind_RECORD_KIND_QUESTIONNAIRE_RESPONSE, func(r *hepv1.Record) {
		bySlot[key(r.GetResponse())] = Response{QuestionnaireResponse: r.GetResponse()}
	}, func(m *hepv1.Mutation) {
		if x, ok := m.GetChange().(*hepv1.Mutation_Response); ok {
			bySlot[key(x.Response)] = Response{QuestionnaireResponse: x.Response, Pending: true}
		}
	})
	out := make([]Response, 0, len(bySlot))
	for _, r := range bySlot {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return key(out[i].QuestionnaireResponse) > key(out[j].QuestionnaireResponse) })
	return out, err
}

// Message is a message of the thread as the phone sees it: Pending ones
// (sent from this phone, not yet pulled back) have no thread number yet.
type Message struct {
	*hepv1.Message
	Pending bool
}

// Messages returns the thread, pulled messages in thread order, then this
// phone's pending ones in the order they were written.
func (c *Client) Messages(ctx context.Context) ([]Message, error) {
	var pulled, pending []Message
	seen := map[string]bool{}
	err := c.overlay(ctx, hepv1.RecordKind_RECORD_KIND_MESSAGE, func(r *hepv1.Record) {
		pulled = append(pulled, Message{Message: r.GetMessage()})
		seen[r.GetId()] = true
	}, func(m *hepv1.Mutation) {
		if x, ok := m.GetChange().(*hepv1.Mutation_Message); ok && !seen[x.Message.GetId()] {
			pending = append(pending, Message{Message: &hepv1.Message{Id: x.Message.GetId(), Body: x.Message.GetBody(),
				Sender: hepv1.MessageSender_MESSAGE_SENDER_PATIENT, SentTime: x.Message.GetSentTime()}, Pending: true})
		}
	})
	sort.Slice(pulled, func(i, j int) bool { return pulled[i].GetThreadSeq() < pulled[j].GetThreadSeq() })
	return append(pulled, pending...), err
}

// Thread returns the thread's read marks as last pulled (nil before).
func (c *Client) Thread(ctx context.Context) (*hepv1.MessageThread, error) {
	var out *hepv1.MessageThread
	err := c.overlay(ctx, hepv1.RecordKind_RECORD_KIND_MESSAGE_THREAD, func(r *hepv1.Record) { out = r.GetThread() }, func(*hepv1.Mutation) {})
	return out, err
}

// Records returns the pulled records (every kind) in kind and id order:
// exactly the set the convergence hash covers.
func (c *Client) Records(ctx context.Context) ([]*hepv1.Record, error) {
	return records(ctx, c.db, "")
}

func records(ctx context.Context, q querier, kind string) ([]*hepv1.Record, error) {
	rows, err := q.QueryContext(ctx, "SELECT payload FROM records WHERE ? = '' OR kind = ? ORDER BY kind, id", kind, kind)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*hepv1.Record
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		r := &hepv1.Record{}
		if err := proto.Unmarshal(b, r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// LocalHash is the count and convergence hash of the pulled records, as the
// last page of a pull announces them for the server.
func (c *Client) LocalHash(ctx context.Context) (int64, string, error) {
	return localHash(ctx, c.db, "records")
}

// Plan returns the patient's current plan, or nil if the clinician has not
// written one (or it has not been pulled yet).
func (c *Client) Plan(ctx context.Context) (*hepv1.Plan, error) {
	r, err := c.record(ctx, hepv1.RecordKind_RECORD_KIND_PLAN, "current")
	return r.GetPlan(), err
}

// Screening returns the patient's current screening, or nil.
func (c *Client) Screening(ctx context.Context) (*hepv1.ScreeningSnapshot, error) {
	r, err := c.record(ctx, hepv1.RecordKind_RECORD_KIND_SCREENING, "current")
	return r.GetScreening(), err
}

// Exercises returns the catalog entries the plan refers to.
func (c *Client) Exercises(ctx context.Context) ([]*hepv1.Exercise, error) {
	rs, err := records(ctx, c.db, kindName(hepv1.RecordKind_RECORD_KIND_EXERCISE))
	var out []*hepv1.Exercise
	for _, r := range rs {
		out = append(out, r.GetExercise())
	}
	return out, err
}

func (c *Client) record(ctx context.Context, kind hepv1.RecordKind, id string) (*hepv1.Record, error) {
	var b []byte
	err := c.db.QueryRowContext(ctx, "SELECT payload FROM records WHERE kind = ? AND id = ?", kindName(kind), id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r := &hepv1.Record{}
	return r, proto.Unmarshal(b, r)
}

// Logs returns the live exercise logs, newest perform time first: the
// pulled ones, with the phone's own unconfirmed logs, corrections and
// deletions applied over them.
func (c *Client) Logs(ctx context.Context) ([]Log, error) {
	logs := map[string]Log{}
	err := c.overlay(ctx, hepv1.RecordKind_RECORD_KIND_EXERCISE_LOG, func(r *hepv1.Record) {
		logs[r.GetId()] = Log{ExerciseLog: r.GetLog()}
	}, func(m *hepv1.Mutation) {
		switch x := m.GetChange().(type) {
		case *hepv1.Mutation_Log:
			delete(logs, x.Log.GetSupersedes())
			logs[x.Log.GetId()] = Log{ExerciseLog: x.Log, Pending: true}
		case *hepv1.Mutation_Delete:
			if x.Delete.GetKind() == hepv1.RecordKind_RECORD_KIND_EXERCISE_LOG {
				delete(logs, x.Delete.GetId())
			}
		}
	})
	out := make([]Log, 0, len(logs))
	for _, l := range logs {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].GetPerformTime().AsTime(), out[j].GetPerformTime().AsTime()
		if !a.Equal(b) {
			return a.After(b)
		}
		return out[i].GetId() > out[j].GetId()
	})
	return out, err
}

// Checkins returns the live pain check-ins, newest first, like Logs.
func (c *Client) Checkins(ctx context.Context) ([]Checkin, error) {
	cs := map[string]Checkin{}
	err := c.overlay(ctx, hepv1.RecordKind_RECORD_KIND_PAIN_CHECKIN, func(r *hepv1.Record) {
		cs[r.GetId()] = Checkin{PainCheckin: r.GetCheckin()}
	}, func(m *hepv1.Mutation) {
		switch x := m.GetChange().(type) {
		case *hepv1.Mutation_Checkin:
			delete(cs, x.Checkin.GetSupersedes())
			cs[x.Checkin.GetId()] = Checkin{PainCheckin: x.Checkin, Pending: true}
		case *hepv1.Mutation_Delete:
			if x.Delete.GetKind() == hepv1.RecordKind_RECORD_KIND_PAIN_CHECKIN {
				delete(cs, x.Delete.GetId())
			}
		}
	})
	out := make([]Checkin, 0, len(cs))
	for _, x := range cs {
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].GetRecordTime().AsTime(), out[j].GetRecordTime().AsTime()
		if !a.Equal(b) {
			return a.After(b)
		}
		return out[i].GetId() > out[j].GetId()
	})
	return out, err
}

// overlay reads, in one local transaction, the pulled records of kind and
// then the mutations not yet reflected in them (journal entries since the
// last complete pull, then the outbox), in sequence order.
func (c *Client) overlay(ctx context.Context, kind hepv1.RecordKind, rec func(*hepv1.Record), mut func(*hepv1.Mutation)) error {
	return c.inTx(ctx, func(tx *sql.Tx) error {
		rs, err := records(ctx, tx, kindName(kind))
		if err != nil {
			return err
		}
		for _, r := range rs {
			rec(r)
		}
		rows, err := tx.QueryContext(ctx, `SELECT seq, mutation, ack_time FROM journal WHERE pulled = 0
			UNION ALL SELECT seq, mutation, create_time FROM outbox ORDER BY seq`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r outboxRow
			if err := rows.Scan(&r.seq, &r.blob, &r.created); err != nil {
				return err
			}
			m, err := r.mutation()
			if err != nil {
				return err
			}
			mut(m)
		}
		return rows.Err()
	})
}
