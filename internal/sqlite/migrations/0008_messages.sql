-- 0008: a message thread per patient, between the patient's phones and
-- the care team, with hep's own notices to the patient. Messages are
-- append-only; each gets the next thread sequence number of its patient
-- (patients.message_seq) in the transaction that stores it, so the
-- thread's order is the order of commits. Read marks are watermarks on
-- the thread: the patient's (set by a phone) and the care team's (shared
-- by the team; who moved it last and when). The thread's record kinds
-- were added to sync_state by 0006.
--
-- The conventions of 0001-0007 hold.

ALTER TABLE patients ADD COLUMN message_seq INTEGER NOT NULL DEFAULT 0 CHECK (message_seq >= 0);
ALTER TABLE patients ADD COLUMN read_by_patient_through INTEGER NOT NULL DEFAULT 0 CHECK (read_by_patient_through >= 0);
ALTER TABLE patients ADD COLUMN read_by_team_through INTEGER NOT NULL DEFAULT 0 CHECK (read_by_team_through >= 0);
ALTER TABLE patients ADD COLUMN team_read_by TEXT;
ALTER TABLE patients ADD COLUMN team_read_time TEXT CHECK (team_read_time GLOB '????-??-??T??:??:??.?????????Z');

-- When the patient wants reminders (hep.ReminderPreferences): the window
-- of the day in minutes after midnight, quiet weekdays as bits (Sunday 1
-- ... Saturday 64), and who set them last (NULL: the defaults).
ALTER TABLE patients ADD COLUMN reminder_start INTEGER NOT NULL DEFAULT 540 CHECK (reminder_start BETWEEN 0 AND 1439);
ALTER TABLE patients ADD COLUMN reminder_end INTEGER NOT NULL DEFAULT 1200 CHECK (reminder_end BETWEEN 1 AND 1440);
ALTER TABLE patients ADD COLUMN quiet_days INTEGER NOT NULL DEFAULT 0 CHECK (quiet_days BETWEEN 0 AND 126);
ALTER TABLE patients ADD COLUMN reminders_set_by TEXT;
ALTER TABLE patients ADD COLUMN reminders_set_time TEXT CHECK (reminders_set_time GLOB '????-??-??T??:??:??.?????????Z');

CREATE TABLE messages (
	id              TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	patient_id      TEXT    NOT NULL REFERENCES patients (id),
	thread_seq      INTEGER NOT NULL CHECK (thread_seq > 0),
	sender          TEXT    NOT NULL CHECK (sender IN ('PATIENT', 'CLINICIAN', 'SYSTEM')),
	-- The device (a patient's message), account (a clinician's) or 'system'.
	sender_id       TEXT    NOT NULL CHECK (sender_id <> ''),
	body            TEXT    NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
	sent_time       TEXT    NOT NULL CHECK (sent_time GLOB '????-??-??T??:??:??.?????????Z'),
	-- A patient's message: the phone's own clock, and hep's fingerprint of
	-- what the phone sent (a replay of the id is told from a reuse).
	phone_sent_time TEXT    CHECK (phone_sent_time GLOB '????-??-??T??:??:??.?????????Z'),
	content_hash    TEXT    CHECK (length(content_hash) = 64),
	receive_time    TEXT    NOT NULL CHECK (receive_time GLOB '????-??-??T??:??:??.?????????Z'),
	CHECK ((sender = 'PATIENT') = (content_hash IS NOT NULL AND phone_sent_time IS NOT NULL)),
	UNIQUE (patient_id, thread_seq)
) STRICT;

-- The rate limits count one side's messages of a patient in the last hour.
CREATE INDEX messages_rate ON messages (patient_id, sender, receive_time);

CREATE TRIGGER messages_fixed BEFORE UPDATE ON messages
BEGIN
	SELECT RAISE(ABORT, 'messages is append-only');
END;
CREATE TRIGGER messages_no_delete BEFORE DELETE ON messages
BEGIN
	SELECT RAISE(ABORT, 'messages is append-only');
END;
