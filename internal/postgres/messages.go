package postgres

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// The message thread of a patient (0008_messages.sql). Each message takes
// the patient's next thread sequence number in the transaction that
// stores it; the read marks live on the patient's row.

func resMessages(patientID string) string { return "patients/" + patientID + "/messages" }

func resMessage(patientID, id string) string { return resMessages(patientID) + "/" + id }

const messageColumns = `m.id, m.patient_id, m.thread_seq, m.sender, m.sender_id, coalesce(a.display_name, ''), m.body, m.sent_time,
	m.phone_sent_time, m.receive_time`

const messageFrom = " FROM messages m LEFT JOIN accounts a ON m.sender = 'CLINICIAN' AND a.id = m.sender_id"

func scanMessage(sc scanner) (hep.Message, error) {
	var m hep.Message
	var sender string
	var phone sql.NullString
	if err := sc.Scan(&m.ID, &m.PatientID, &m.ThreadSeq, &sender, &m.SenderID, &m.SenderName, &m.Body, tcol(&m.SentTime), &phone,
		tcol(&m.ReceiveTime)); err != nil {
		return m, err
	}
	m.Sender = hep.MessageSender(sender)
	if phone.Valid {
		t, err := parseTS(phone.String)
		if err != nil {
			return m, err
		}
		m.PhoneSentTime = t
	}
	return m, nil
}

// messageByIDQuery reads a patient's message by id, for Pull.
const messageByIDQuery = "SELECT " + messageColumns + messageFrom + " WHERE m.id = $1 AND m.patient_id = $2"

// loadThread reads a patient's read marks and counts. NOT_FOUND for an
// unknown patient.
func loadThread(ctx context.Context, q querier, patientID string) (hep.MessageThread, error) {
	var t hep.MessageThread
	var by, at sql.NullString
	err := q.QueryRowContext(ctx, `SELECT p.message_seq, p.read_by_patient_through, p.read_by_team_through, p.team_read_by, p.team_read_time,
		(SELECT count(*) FROM messages m WHERE m.patient_id = p.id AND m.sender = 'PATIENT' AND m.thread_seq > p.read_by_team_through),
		(SELECT count(*) FROM messages m WHERE m.patient_id = p.id AND m.sender <> 'PATIENT' AND m.thread_seq > p.read_by_patient_through)
		FROM patients p WHERE p.id = $1`, patientID).Scan(&t.LastThreadSeq, &t.ReadByPatientThrough, &t.ReadByTeamThrough, &by, &at,
		&t.UnreadByTeam, &t.UnreadByPatient)
	if errors.Is(err, sql.ErrNoRows) {
		return t, hep.NotFound("patient")
	}
	if err != nil {
		return t, err
	}
	t.TeamReadBy = by.String
	if at.Valid {
		if t.TeamReadTime, err = parseTS(at.String); err != nil {
			return t, err
		}
	}
	return t, nil
}

// ListMessages implements hep.Store.
func (s *Store) ListMessages(ctx context.Context, f hep.MessageFilter) ([]hep.Message, hep.MessageThread, error) {
	var out []hep.Message
	var th hep.MessageThread
	err := s.view(ctx, f.PatientID, resMessages(f.PatientID), func(tx *sql.Tx) (err error) {
		if th, err = loadThread(ctx, tx, f.PatientID); err != nil {
			return err
		}
		before := f.BeforeSeq
		if before <= 0 {
			before = th.LastThreadSeq + 1
		}
		out, err = queryAll(ctx, tx, scanMessage, "SELECT "+messageColumns+messageFrom+
			" WHERE m.patient_id = $1 AND m.thread_seq < $2 ORDER BY m.thread_seq DESC LIMIT $3", f.PatientID, before, f.Limit)
		return err
	})
	if err != nil {
		return nil, hep.MessageThread{}, err
	}
	return out, th, nil
}

// checkMessageRate refuses a message past the side's limit in the window.
func (s *Store) checkMessageRate(ctx context.Context, tx *sql.Tx, patientID string, sender hep.MessageSender, limit int, now time.Time) error {
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM messages WHERE patient_id = $1 AND sender = $2 AND receive_time > $3",
		patientID, string(sender), ts(now.Add(-hep.MessageRateWindow))).Scan(&n); err != nil {
		return err
	}
	if n >= limit {
		return hep.ErrMessageRate(limit)
	}
	return nil
}

// insertMessage stores m with the patient's next thread sequence number
// (set in *m) and bumps the message and thread records with bump.
func (s *Store) insertMessage(ctx context.Context, tx *sql.Tx, m *hep.Message, bump func(hep.RecordKind, string) error) error {
	if err := tx.QueryRowContext(ctx, "UPDATE patients SET message_seq = message_seq + 1 WHERE id = $1 RETURNING message_seq",
		m.PatientID).Scan(&m.ThreadSeq); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return hep.NotFound("patient")
		}
		return err
	}
	var phone, hash any
	if m.Sender == hep.SenderPatient {
		phone, hash = ts(m.PhoneSentTime), m.ContentHash()
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO messages (id, patient_id, thread_seq, sender, sender_id, body, sent_time, phone_sent_time,
		content_hash, receive_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, m.ID, m.PatientID, m.ThreadSeq, string(m.Sender), m.SenderID,
		m.Body, ts(m.SentTime), phone, hash, ts(m.ReceiveTime)); err != nil {
		return err
	}
	if err := bump(hep.KindMessage, m.ID); err != nil {
		return err
	}
	return bump(hep.KindThread, hep.CurrentID)
}

// storeBump is bump for code outside a push.
func (s *Store) storeBump(ctx context.Context, tx *sql.Tx, patientID string) func(hep.RecordKind, string) error {
	return func(kind hep.RecordKind, id string) error {
		_, err := s.bump(ctx, tx, patientID, kind, id, false)
		return err
	}
}

// SendMessage implements hep.Store.
func (s *Store) SendMessage(ctx context.Context, patientID, body string) (hep.Message, error) {
	var v hep.Violations
	hep.ValidateMessageBody(&v, "body", body)
	if err := v.Err(); err != nil {
		return hep.Message{}, err
	}
	now := s.now()
	id, err := newID()
	if err != nil {
		return hep.Message{}, err
	}
	actor := hep.ActorFrom(ctx)
	m := hep.Message{ID: id, PatientID: patientID, Sender: hep.SenderClinician, SenderID: actor.ID, Body: body, SentTime: now, ReceiveTime: now}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		// The lock orders the thread's sequence numbers and the rate
		// count with every other writer of the patient's data.
		if err := lockPatient(ctx, tx, patientID); err != nil {
			return err
		}
		if err := s.checkMessageRate(ctx, tx, patientID, hep.SenderClinician, hep.MaxTeamMessagesRate, now); err != nil {
			return err
		}
		if err := s.insertMessage(ctx, tx, &m, s.storeBump(ctx, tx, patientID)); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, "SELECT display_name FROM accounts WHERE id = $1", actor.ID).Scan(&m.SenderName); err != nil &&
			!errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return s.appendAudit(ctx, tx, patientID, resMessage(patientID, m.ID), hep.OutcomeOK)
	})
	if err != nil {
		return hep.Message{}, err
	}
	return m, nil
}

// MarkMessagesRead implements hep.Store.
func (s *Store) MarkMessagesRead(ctx context.Context, patientID string, through int64) (hep.MessageThread, error) {
	var th hep.MessageThread
	err := s.tx(ctx, func(tx *sql.Tx) (err error) {
		if err := lockPatient(ctx, tx, patientID); err != nil {
			return err
		}
		if th, err = loadThread(ctx, tx, patientID); err != nil {
			return err
		}
		if through < 1 || through > th.LastThreadSeq {
			var v hep.Violations
			v.Add("read_through", "must be the thread sequence number of a message of the thread (1 to %d)", th.LastThreadSeq)
			return v.Err()
		}
		if through > th.ReadByTeamThrough {
			if _, err := tx.ExecContext(ctx, "UPDATE patients SET read_by_team_through = $1, team_read_by = $2, team_read_time = $3 WHERE id = $4",
				through, hep.ActorFrom(ctx).ID, ts(s.now()), patientID); err != nil {
				return err
			}
			if _, err := s.bump(ctx, tx, patientID, hep.KindThread, hep.CurrentID, false); err != nil {
				return err
			}
			if th, err = loadThread(ctx, tx, patientID); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, patientID, resMessages(patientID), hep.OutcomeOK)
	})
	if err != nil {
		return hep.MessageThread{}, err
	}
	return th, nil
}

// notify writes one of hep's notices to the patient's thread, inside tx
// (a system message: no rate limit, no audit row of its own; the call
// that caused it is audited).
func (s *Store) notify(ctx context.Context, tx *sql.Tx, patientID, body string, now time.Time) error {
	id, err := newID()
	if err != nil {
		return err
	}
	m := hep.Message{ID: id, PatientID: patientID, Sender: hep.SenderSystem, SenderID: hep.SystemSenderID, Body: body,
		SentTime: now, ReceiveTime: now}
	return s.insertMessage(ctx, tx, &m, s.storeBump(ctx, tx, patientID))
}

// Push: the phone's message and read mark.

const reasonReadBeyond = "must be the thread sequence number of a message the phone has pulled"

// message stores a phone's message (validated), or answers a replay.
func (p *push) message(seq int64, m hep.Message) (hep.MutationResult, error) {
	m.PatientID, m.SenderID, m.Sender, m.ReceiveTime = p.patientID, p.deviceID, hep.SenderPatient, p.now
	var owner, stored string
	err := p.tx.QueryRowContext(p.ctx, "SELECT patient_id, coalesce(content_hash, '') FROM messages WHERE id = $1", m.ID).Scan(&owner, &stored)
	switch {
	case err == nil && owner == p.patientID && stored == m.ContentHash():
		return applied(seq), nil
	case err == nil:
		return rejected(seq, "message.id", reasonIDReused), nil
	case !errors.Is(err, sql.ErrNoRows):
		return hep.MutationResult{}, err
	}
	if !storable(m.PhoneSentTime) {
		return rejected(seq, "message.sent_time", reasonTimeUnstored), nil
	}
	if err := p.s.checkMessageRate(p.ctx, p.tx, p.patientID, hep.SenderPatient, hep.MaxPatientMessagesRate, p.now); err != nil {
		return hep.MutationResult{}, err // the whole push: retried later, nothing lost
	}
	bump := func(kind hep.RecordKind, id string) error { return p.bump(kind, id, false) }
	if err := p.s.insertMessage(p.ctx, p.tx, &m, bump); err != nil {
		return hep.MutationResult{}, err
	}
	return applied(seq), nil
}

// messagesRead moves the patient's read mark forward.
func (p *push) messagesRead(seq, through int64) (hep.MutationResult, error) {
	var last, mark int64
	if err := p.tx.QueryRowContext(p.ctx, "SELECT message_seq, read_by_patient_through FROM patients WHERE id = $1", p.patientID).
		Scan(&last, &mark); err != nil {
		return hep.MutationResult{}, err
	}
	if through > last {
		return rejected(seq, "messages_read.read_through", reasonReadBeyond), nil
	}
	if through <= mark {
		return applied(seq), nil
	}
	if _, err := p.tx.ExecContext(p.ctx, "UPDATE patients SET read_by_patient_through = $1 WHERE id = $2", through, p.patientID); err != nil {
		return hep.MutationResult{}, err
	}
	if err := p.bump(hep.KindThread, hep.CurrentID, false); err != nil {
		return hep.MutationResult{}, err
	}
	return applied(seq), nil
}

func resReminders(patientID string) string { return "patients/" + patientID + "/reminders" }

// loadReminders reads a patient's reminder preferences. NOT_FOUND.
func loadReminders(ctx context.Context, q querier, patientID string) (hep.ReminderPreferences, error) {
	var p hep.ReminderPreferences
	var mask int64
	var by, at sql.NullString
	err := q.QueryRowContext(ctx, "SELECT reminder_start, reminder_end, quiet_days, reminders_set_by, reminders_set_time FROM patients WHERE id = $1",
		patientID).Scan(&p.WindowStart, &p.WindowEnd, &mask, &by, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return p, hep.NotFound("patient")
	}
	if err != nil {
		return p, err
	}
	p.QuietDays, p.SetBy = weekdays(mask), by.String
	if at.Valid {
		if p.SetTime, err = parseTS(at.String); err != nil {
			return p, err
		}
	}
	return p, nil
}

// storeReminders writes validated preferences set by setBy.
func storeReminders(ctx context.Context, tx *sql.Tx, patientID string, p hep.ReminderPreferences, setBy string, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE patients SET reminder_start = $1, reminder_end = $2, quiet_days = $3, reminders_set_by = $4,
		reminders_set_time = $5 WHERE id = $6`, p.WindowStart, p.WindowEnd, weekdayMask(p.QuietDays), setBy, ts(now), patientID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = hep.NotFound("patient")
		}
		return err
	}
	return nil
}

// ReminderPreferences implements hep.Store.
func (s *Store) ReminderPreferences(ctx context.Context, patientID string) (hep.ReminderPreferences, error) {
	var p hep.ReminderPreferences
	err := s.view(ctx, patientID, resReminders(patientID), func(tx *sql.Tx) (err error) {
		p, err = loadReminders(ctx, tx, patientID)
		return err
	})
	if err != nil {
		return hep.ReminderPreferences{}, err
	}
	return p, nil
}

// SetReminderPreferences implements hep.Store.
func (s *Store) SetReminderPreferences(ctx context.Context, patientID string, p hep.ReminderPreferences) (hep.ReminderPreferences, error) {
	if err := p.Validate("preferences"); err != nil {
		return hep.ReminderPreferences{}, err
	}
	var out hep.ReminderPreferences
	err := s.tx(ctx, func(tx *sql.Tx) (err error) {
		if err := lockPatient(ctx, tx, patientID); err != nil {
			return err
		}
		if err := storeReminders(ctx, tx, patientID, p, hep.ActorFrom(ctx).ID, s.now()); err != nil {
			return err
		}
		if out, err = loadReminders(ctx, tx, patientID); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, patientID, resReminders(patientID), hep.OutcomeOK)
	})
	if err != nil {
		return hep.ReminderPreferences{}, err
	}
	return out, nil
}

// reminders stores the phone's preferences (validated).
func (p *push) reminders(seq int64, r hep.ReminderPreferences) (hep.MutationResult, error) {
	if err := storeReminders(p.ctx, p.tx, p.patientID, r, p.deviceID, p.now); err != nil {
		return hep.MutationResult{}, err
	}
	return applied(seq), nil
}
