-- 0003: patient sync. Exercise logs and pain check-ins pushed by patients'
-- phones, each device's numbered mutations with their stored results, and
-- the per-patient change sequence that Pull pages through.
--
-- The conventions of 0001 and 0002 hold. In addition:
--   * Logs and check-ins keep the phone's own UUID (v7 recommended, so the
--     primary key grows at its end) and are append-only: a correction is a
--     new row naming the old one in supersedes, a deletion sets
--     deleted_time. Once superseded or deleted a row stays so, and a
--     replayed insert of its id finds it and changes nothing: a deletion is
--     never undone.
--   * A row is live while deleted_time and superseded_by are both NULL. The
--     clinician's lists read live rows only, so their indexes are partial.
--   * content_hash is hep's fingerprint of what the phone sent (its own
--     clock's times, not the corrected ones), to tell a replay of an id from
--     a different record reusing it.

-- The change sequence. Every transaction that changes what a patient's
-- phones see bumps change_seq (in the same transaction, so commit order is
-- sequence order) and moves the record's sync_state entry to the new
-- value. purged_seq is the newest tombstone PurgeTombstones forgot: a
-- cursor older than it may have missed a deletion and must start again.
ALTER TABLE patients ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0 CHECK (change_seq >= 0);
ALTER TABLE patients ADD COLUMN purged_seq INTEGER NOT NULL DEFAULT 0 CHECK (purged_seq BETWEEN 0 AND change_seq);

-- The highest mutation sequence a device pushed (applied or rejected).
ALTER TABLE devices ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0 CHECK (last_seq >= 0);

CREATE TABLE exercise_logs (
	id                     TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	patient_id             TEXT    NOT NULL REFERENCES patients (id),
	device_id              TEXT    NOT NULL REFERENCES devices (id),
	exercise_id            TEXT    NOT NULL REFERENCES exercises (id),
	plan_version           INTEGER NOT NULL CHECK (plan_version >= 0),
	perform_time           TEXT    NOT NULL CHECK (perform_time GLOB '????-??-??T??:??:??.?????????Z'),
	corrected_perform_time TEXT    NOT NULL CHECK (corrected_perform_time GLOB '????-??-??T??:??:??.?????????Z'),
	receive_time           TEXT    NOT NULL CHECK (receive_time GLOB '????-??-??T??:??:??.?????????Z'),
	sets_done              INTEGER NOT NULL CHECK (sets_done >= 0),
	reps_done              INTEGER NOT NULL CHECK (reps_done >= 0),
	hold_seconds_done      INTEGER NOT NULL CHECK (hold_seconds_done >= 0),
	duration_seconds_done  INTEGER NOT NULL CHECK (duration_seconds_done >= 0),
	-- NRS pain scores; NULL when the patient did not score.
	pain_before            INTEGER CHECK (pain_before BETWEEN 0 AND 10),
	pain_after             INTEGER CHECK (pain_after BETWEEN 0 AND 10),
	difficulty             TEXT    NOT NULL CHECK (difficulty IN ('', 'TOO_EASY', 'JUST_RIGHT', 'TOO_HARD')),
	note                   TEXT    NOT NULL DEFAULT '',
	supersedes             TEXT    REFERENCES exercise_logs (id) CHECK (supersedes <> id),
	-- The plan item was SUSPENDED when the log arrived (kept and alerted).
	item_suspended         INTEGER NOT NULL CHECK (item_suspended IN (0, 1)),
	content_hash           TEXT    NOT NULL CHECK (length(content_hash) = 64),
	deleted_time           TEXT    CHECK (deleted_time GLOB '????-??-??T??:??:??.?????????Z'),
	superseded_by          TEXT    REFERENCES exercise_logs (id) CHECK (superseded_by <> id),
	-- Where the log stands in the patient's change sequence while it is
	-- live (hep always sets it; a live log has no sync_state entry, so a
	-- new log writes this one table). Once the log is deleted or
	-- superseded its place is its tombstone's entry in sync_state.
	change_seq             INTEGER CHECK (change_seq > 0)
) STRICT;

-- ListExerciseLogs pages a patient's live logs newest corrected perform
-- time first.
CREATE INDEX exercise_logs_live ON exercise_logs (patient_id, corrected_perform_time, id)
	WHERE deleted_time IS NULL AND superseded_by IS NULL;

-- Pull pages a patient's live logs in sequence order; a sequence value is
-- used once per patient.
CREATE UNIQUE INDEX exercise_logs_seq ON exercise_logs (patient_id, change_seq)
	WHERE deleted_time IS NULL AND superseded_by IS NULL;

CREATE TABLE pain_checkins (
	id                    TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	patient_id            TEXT    NOT NULL REFERENCES patients (id),
	device_id             TEXT    NOT NULL REFERENCES devices (id),
	record_time           TEXT    NOT NULL CHECK (record_time GLOB '????-??-??T??:??:??.?????????Z'),
	corrected_record_time TEXT    NOT NULL CHECK (corrected_record_time GLOB '????-??-??T??:??:??.?????????Z'),
	receive_time          TEXT    NOT NULL CHECK (receive_time GLOB '????-??-??T??:??:??.?????????Z'),
	score                 INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10),
	location              TEXT    NOT NULL CHECK (location IN ('LOW_BACK', 'NECK', 'LEG', 'OTHER')),
	-- The red-flag symptoms answered yes; any one also made a red-flag
	-- report (red_flag_reports) in the same transaction.
	red_flags             TEXT    NOT NULL CHECK (json_valid(red_flags) AND json_type(red_flags) = 'array'),
	note                  TEXT    NOT NULL DEFAULT '',
	supersedes            TEXT    REFERENCES pain_checkins (id) CHECK (supersedes <> id),
	content_hash          TEXT    NOT NULL CHECK (length(content_hash) = 64),
	deleted_time          TEXT    CHECK (deleted_time GLOB '????-??-??T??:??:??.?????????Z'),
	superseded_by         TEXT    REFERENCES pain_checkins (id) CHECK (superseded_by <> id)
) STRICT;

CREATE INDEX pain_checkins_live ON pain_checkins (patient_id, corrected_record_time, id)
	WHERE deleted_time IS NULL AND superseded_by IS NULL;

-- A log's or check-in's content never changes, and its end (deleted or
-- superseded) is written once: enforced here too, not only by the code,
-- because "no resurrected deletes" is a promise to the phone.
CREATE TRIGGER exercise_logs_content_fixed BEFORE UPDATE OF id, patient_id, device_id, exercise_id, plan_version,
	perform_time, corrected_perform_time, receive_time, sets_done, reps_done, hold_seconds_done, duration_seconds_done,
	pain_before, pain_after, difficulty, note, supersedes, item_suspended, content_hash ON exercise_logs
BEGIN
	SELECT RAISE(ABORT, 'exercise_logs: a log''s content never changes');
END;

CREATE TRIGGER exercise_logs_end_final BEFORE UPDATE OF deleted_time, superseded_by ON exercise_logs
WHEN old.deleted_time IS NOT NULL OR old.superseded_by IS NOT NULL
BEGIN
	SELECT RAISE(ABORT, 'exercise_logs: a deleted or superseded log stays so');
END;

-- A live log's place in the sequence only moves forward (Pull moves live
-- entries above purged_seq), and an ended log's never moves again.
CREATE TRIGGER exercise_logs_seq_forward BEFORE UPDATE OF change_seq ON exercise_logs
WHEN new.change_seq IS NULL OR new.change_seq <= coalesce(old.change_seq, 0)
	OR old.deleted_time IS NOT NULL OR old.superseded_by IS NOT NULL
BEGIN
	SELECT RAISE(ABORT, 'exercise_logs: a log''s change sequence only moves forward while it is live');
END;

CREATE TRIGGER pain_checkins_content_fixed BEFORE UPDATE OF id, patient_id, device_id, record_time,
	corrected_record_time, receive_time, score, location, red_flags, note, supersedes, content_hash ON pain_checkins
BEGIN
	SELECT RAISE(ABORT, 'pain_checkins: a check-in''s content never changes');
END;

CREATE TRIGGER pain_checkins_end_final BEFORE UPDATE OF deleted_time, superseded_by ON pain_checkins
WHEN old.deleted_time IS NOT NULL OR old.superseded_by IS NOT NULL
BEGIN
	SELECT RAISE(ABORT, 'pain_checkins: a deleted or superseded check-in stays so');
END;

CREATE TRIGGER exercise_logs_no_delete BEFORE DELETE ON exercise_logs
BEGIN
	SELECT RAISE(ABORT, 'exercise_logs is append-only');
END;

CREATE TRIGGER pain_checkins_no_delete BEFORE DELETE ON pain_checkins
BEGIN
	SELECT RAISE(ABORT, 'pain_checkins is append-only');
END;

-- The rejected mutations of each device by sequence, with the result
-- returned the first time: a replay returns it again. Applied mutations
-- have no row: every sequence at or below the device's last_seq without a
-- row here was applied, and a replay of it is answered APPLIED.
CREATE TABLE device_mutations (
	device_id TEXT    NOT NULL REFERENCES devices (id),
	seq       INTEGER NOT NULL CHECK (seq > 0),
	status    TEXT    NOT NULL CHECK (status IN ('APPLIED', 'REJECTED')),
	reason    TEXT    NOT NULL DEFAULT '',
	field     TEXT    NOT NULL DEFAULT '',
	CHECK ((status = 'APPLIED') = (reason = '')),
	CHECK (status = 'REJECTED' OR field = ''),
	PRIMARY KEY (device_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER device_mutations_no_update BEFORE UPDATE ON device_mutations
BEGIN
	SELECT RAISE(ABORT, 'device_mutations: a stored result never changes');
END;

-- Where each of a patient's synced records stands in the change sequence:
-- one entry per record (plan and screening have the id 'current'), at the
-- sequence of its last change. A live exercise log has none: its place is
-- exercise_logs.change_seq, until it ends and its tombstone is written here. deleted marks a tombstone (a deleted or
-- superseded log or check-in), which is final and the only kind of entry
-- PurgeTombstones may forget.
CREATE TABLE sync_state (
	patient_id  TEXT    NOT NULL REFERENCES patients (id),
	kind        TEXT    NOT NULL CHECK (kind IN ('EXERCISE_LOG', 'PAIN_CHECKIN', 'PLAN', 'EXERCISE', 'SCREENING')),
	id          TEXT    NOT NULL CHECK (id <> ''),
	seq         INTEGER NOT NULL CHECK (seq > 0),
	deleted     INTEGER NOT NULL CHECK (deleted IN (0, 1)),
	change_time TEXT    NOT NULL CHECK (change_time GLOB '????-??-??T??:??:??.?????????Z'),
	CHECK (deleted = 0 OR kind IN ('EXERCISE_LOG', 'PAIN_CHECKIN')),
	PRIMARY KEY (patient_id, kind, id)
) STRICT, WITHOUT ROWID;

-- Pull pages a patient's entries in sequence order; a sequence value is
-- used once per patient.
CREATE UNIQUE INDEX sync_state_seq ON sync_state (patient_id, seq);
-- PurgeTombstones finds the old tombstones of every patient.
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

-- Patients from before this migration: give what their phones must hold
-- (the plan and hold, the current screening, the catalog entries their
-- plans name) entries in a fresh sequence, as the writers would have.
INSERT INTO sync_state (patient_id, kind, id, seq, deleted, change_time)
SELECT patient_id, kind, id, row_number() OVER (PARTITION BY patient_id ORDER BY kind, id), 0,
	strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000000Z'
FROM (
	SELECT patient_id, 'PLAN' AS kind, 'current' AS id FROM plans
	UNION SELECT id, 'PLAN', 'current' FROM patients WHERE red_flag_hold = 1
	UNION SELECT patient_id, 'SCREENING', 'current' FROM screening_answers WHERE effective = 1
	UNION SELECT patient_id, 'EXERCISE', exercise_id FROM plan_items
);

UPDATE patients SET change_seq = (SELECT count(*) FROM sync_state s WHERE s.patient_id = patients.id);
