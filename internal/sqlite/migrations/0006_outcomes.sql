-- 0006: outcome questionnaires. A clinician assigns an instrument to a
-- patient with a schedule (a rule: the due slots are computed by
-- hep.DueSlots in the patient's days, never stored); the phone pushes
-- responses, one live response per slot (a second one supersedes the
-- first). Scores are computed from the answers by hep.ScoreResponse when
-- read, so a corrected scoring rule rescoring old answers needs no
-- migration.
--
-- The conventions of 0001-0005 hold.

CREATE TABLE questionnaire_assignments (
	id            TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	patient_id    TEXT    NOT NULL REFERENCES patients (id),
	instrument_id TEXT    NOT NULL CHECK (instrument_id <> ''),
	start_date    TEXT    NOT NULL CHECK (start_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
	every_weeks   INTEGER NOT NULL CHECK (every_weeks BETWEEN 0 AND 52),
	-- The visit days, a JSON array of YYYY-MM-DD.
	visit_dates   TEXT    NOT NULL CHECK (json_valid(visit_dates) AND json_type(visit_dates) = 'array'),
	end_date      TEXT    CHECK (end_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' AND end_date >= start_date),
	created_by    TEXT    NOT NULL REFERENCES accounts (id),
	create_time   TEXT    NOT NULL CHECK (create_time GLOB '????-??-??T??:??:??.?????????Z'),
	end_time      TEXT    CHECK (end_time GLOB '????-??-??T??:??:??.?????????Z'),
	ended_by      TEXT    REFERENCES accounts (id),
	CHECK ((end_time IS NULL) = (ended_by IS NULL))
) STRICT;

-- A patient has one active assignment per instrument.
CREATE UNIQUE INDEX questionnaire_assignments_active ON questionnaire_assignments (patient_id, instrument_id)
	WHERE end_time IS NULL;
CREATE INDEX questionnaire_assignments_patient ON questionnaire_assignments (patient_id, create_time);

-- An assignment's schedule never changes; it is ended once.
CREATE TRIGGER questionnaire_assignments_fixed BEFORE UPDATE OF id, patient_id, instrument_id, start_date, every_weeks,
	visit_dates, end_date, created_by, create_time ON questionnaire_assignments
BEGIN
	SELECT RAISE(ABORT, 'questionnaire_assignments: an assignment''s schedule never changes');
END;

CREATE TRIGGER questionnaire_assignments_end_final BEFORE UPDATE OF end_time, ended_by ON questionnaire_assignments
WHEN old.end_time IS NOT NULL
BEGIN
	SELECT RAISE(ABORT, 'questionnaire_assignments: an ended assignment stays ended');
END;

CREATE TRIGGER questionnaire_assignments_no_delete BEFORE DELETE ON questionnaire_assignments
BEGIN
	SELECT RAISE(ABORT, 'questionnaire_assignments is append-only');
END;

CREATE TABLE questionnaire_responses (
	id                      TEXT NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	patient_id              TEXT NOT NULL REFERENCES patients (id),
	device_id               TEXT NOT NULL REFERENCES devices (id),
	assignment_id           TEXT NOT NULL REFERENCES questionnaire_assignments (id),
	slot_date               TEXT NOT NULL CHECK (slot_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
	authored_time           TEXT NOT NULL CHECK (authored_time GLOB '????-??-??T??:??:??.?????????Z'),
	corrected_authored_time TEXT NOT NULL CHECK (corrected_authored_time GLOB '????-??-??T??:??:??.?????????Z'),
	receive_time            TEXT NOT NULL CHECK (receive_time GLOB '????-??-??T??:??:??.?????????Z'),
	-- The answers as the phone sent them: a JSON array of
	-- {"link_id", "value"?, "text"?, "skipped"?}.
	answers                 TEXT NOT NULL CHECK (json_valid(answers) AND json_type(answers) = 'array'),
	-- The response for the same slot this one replaced, if any.
	supersedes              TEXT REFERENCES questionnaire_responses (id) CHECK (supersedes <> id),
	content_hash            TEXT NOT NULL CHECK (length(content_hash) = 64),
	-- Set when a later response for the slot arrives (which is inserted
	-- after this is set, in the same transaction: hence deferred).
	superseded_by           TEXT REFERENCES questionnaire_responses (id) DEFERRABLE INITIALLY DEFERRED CHECK (superseded_by <> id)
) STRICT;

-- One live response per slot.
CREATE UNIQUE INDEX questionnaire_responses_slot ON questionnaire_responses (assignment_id, slot_date)
	WHERE superseded_by IS NULL;
-- The clinician's list and progress read a patient's live responses.
CREATE INDEX questionnaire_responses_live ON questionnaire_responses (patient_id, slot_date, id)
	WHERE superseded_by IS NULL;

CREATE TRIGGER questionnaire_responses_content_fixed BEFORE UPDATE OF id, patient_id, device_id, assignment_id, slot_date,
	authored_time, corrected_authored_time, receive_time, answers, supersedes, content_hash ON questionnaire_responses
BEGIN
	SELECT RAISE(ABORT, 'questionnaire_responses: a response''s content never changes');
END;

CREATE TRIGGER questionnaire_responses_end_final BEFORE UPDATE OF superseded_by ON questionnaire_responses
WHEN old.superseded_by IS NOT NULL
BEGIN
	SELECT RAISE(ABORT, 'questionnaire_responses: a superseded response stays so');
END;

CREATE TRIGGER questionnaire_responses_no_delete BEFORE DELETE ON questionnaire_responses
BEGIN
	SELECT RAISE(ABORT, 'questionnaire_responses is append-only');
END;

-- A clinic's own text for an instrument whose text hep does not ship (the
-- ODI's statements are licensed): the whole FHIR Questionnaire as
-- imported, checked by hep.Instrument.WithText to have the built-in
-- structure. Every import is kept; the newest applies.
CREATE TABLE instrument_texts (
	seq           INTEGER NOT NULL PRIMARY KEY,
	instrument_id TEXT    NOT NULL CHECK (instrument_id <> ''),
	questionnaire TEXT    NOT NULL CHECK (json_valid(questionnaire)),
	imported_by   TEXT    NOT NULL CHECK (imported_by <> ''),
	import_time   TEXT    NOT NULL CHECK (import_time GLOB '????-??-??T??:??:??.?????????Z')
) STRICT;
CREATE INDEX instrument_texts_instrument ON instrument_texts (instrument_id, seq);

CREATE TRIGGER instrument_texts_fixed BEFORE UPDATE ON instrument_texts
BEGIN
	SELECT RAISE(ABORT, 'instrument_texts is append-only');
END;
CREATE TRIGGER instrument_texts_no_delete BEFORE DELETE ON instrument_texts
BEGIN
	SELECT RAISE(ABORT, 'instrument_texts is append-only');
END;

-- sync_state learns the two new record kinds, and the two of the message
-- thread (0008) with them: SQLite cannot change a CHECK constraint in
-- place, so the table is rebuilt once, with its indexes and triggers (same
-- definitions as 0003, four kinds more).
CREATE TABLE sync_state_new (
	patient_id  TEXT    NOT NULL REFERENCES patients (id),
	kind        TEXT    NOT NULL CHECK (kind IN ('EXERCISE_LOG', 'PAIN_CHECKIN', 'PLAN', 'EXERCISE', 'SCREENING',
		'QUESTIONNAIRES', 'QUESTIONNAIRE_RESPONSE', 'MESSAGE', 'MESSAGE_THREAD')),
	id          TEXT    NOT NULL CHECK (id <> ''),
	seq         INTEGER NOT NULL CHECK (seq > 0),
	deleted     INTEGER NOT NULL CHECK (deleted IN (0, 1)),
	change_time TEXT    NOT NULL CHECK (change_time GLOB '????-??-??T??:??:??.?????????Z'),
	CHECK (deleted = 0 OR kind IN ('EXERCISE_LOG', 'PAIN_CHECKIN', 'QUESTIONNAIRE_RESPONSE')),
	PRIMARY KEY (patient_id, kind, id)
) STRICT, WITHOUT ROWID;

INSERT INTO sync_state_new (patient_id, kind, id, seq, deleted, change_time)
	SELECT patient_id, kind, id, seq, deleted, change_time FROM sync_state;
DROP TABLE sync_state;
ALTER TABLE sync_state_new RENAME TO sync_state;

CREATE UNIQUE INDEX sync_state_seq ON sync_state (patient_id, seq);
CREATE INDEX sync_state_tombstones ON sync_state (change_time) WHERE deleted = 1;

CREATE TRIGGER sync_state_tombstone_final BEFORE UPDATE ON sync_state
WHEN old.deleted = 1
BEGIN
	SELECT RAISE(ABORT, 'sync_state: a tombstone is final');
END;

CREATE TRIGGER sync_state_keep_live BEFORE DELETE ON sync_state
WHEN old.deleted = 0
BEGIN
	SELECT RAISE(ABORT, 'sync_state: only tombstones are purged');
END;
