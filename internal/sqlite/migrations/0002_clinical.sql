-- 0002: the clinical core. The exercise catalog (with the built-in entries of
-- catalog version 2), screening answers, red-flag reports and the per-patient
-- red-flag hold, versioned plans and their items, clearances, the gating
-- decision trail and alerts.
--
-- The conventions of 0001 hold. In addition:
--   * Flags, statuses, outcomes and states are CHECKed against the domain's
--     closed lists (internal/hep): a value outside them is a bug, not data.
--   * Lists inside a row (reasons, answer ids, symptoms) are JSON arrays,
--     CHECKed with json_valid; the store owns their shape.
--   * Calendar dates are TEXT YYYY-MM-DD (the patient's day, no time zone).
--   * Actor columns (recorded_by, cleared_by, author_id, actor_id, ack_by)
--     hold account or device ids and are not foreign keys: like the audit
--     trail, the clinical record names who acted without depending on the
--     actor's row.
--   * Everything clinical is append-only in practice: answers, decisions,
--     reports and plan versions are never updated; only an item's state, a
--     clearance's end, an alert's acknowledgement, an entry's retirement and
--     the hold change.

-- The catalog. A built-in entry is seeded here with its catalog version; a
-- clinic entry has catalog_version 0. create_seq orders clinic entries by
-- creation (rowids may change on VACUUM; times may tie under a test clock).
CREATE TABLE exercises (
	id                 TEXT    NOT NULL PRIMARY KEY CHECK (length(id) BETWEEN 2 AND 63 AND id NOT GLOB '*[^a-z0-9-]*'),
	kind               TEXT    NOT NULL CHECK (kind IN ('EXERCISE', 'DEVICE')),
	name               TEXT    NOT NULL CHECK (name <> ''),
	instructions       TEXT    NOT NULL CHECK (instructions <> ''),
	sets               INTEGER NOT NULL DEFAULT 0 CHECK (sets >= 0),
	reps               INTEGER NOT NULL DEFAULT 0 CHECK (reps >= 0),
	hold_seconds       INTEGER NOT NULL DEFAULT 0 CHECK (hold_seconds >= 0),
	duration_seconds   INTEGER NOT NULL DEFAULT 0 CHECK (duration_seconds >= 0),
	angle_degrees      INTEGER NOT NULL DEFAULT 0 CHECK (angle_degrees >= 0),
	force_kg           INTEGER NOT NULL DEFAULT 0 CHECK (force_kg >= 0),
	requires_clearance INTEGER NOT NULL CHECK (requires_clearance IN (0, 1)),
	built_in           INTEGER NOT NULL CHECK (built_in IN (0, 1)),
	retired            INTEGER NOT NULL DEFAULT 0 CHECK (retired IN (0, 1)),
	catalog_version    INTEGER NOT NULL CHECK (catalog_version >= 0),
	create_seq         INTEGER NOT NULL UNIQUE CHECK (create_seq > 0),
	create_time        TEXT    NOT NULL CHECK (create_time GLOB '????-??-??T??:??:??.?????????Z'),
	-- Every home device needs a clinician's standing clearance.
	CHECK (kind <> 'DEVICE' OR requires_clearance = 1),
	-- Built-in entries carry the catalog version that seeded them.
	CHECK ((built_in = 1) = (catalog_version > 0)),
	CHECK (built_in = 0 OR retired = 0),
	CHECK (kind = 'DEVICE' OR (angle_degrees = 0 AND force_kg = 0))
) STRICT;

-- A contraindication rule: what a PRESENT flag does to an entry, and why.
-- position keeps the order the rules were written in.
CREATE TABLE exercise_rules (
	exercise_id TEXT    NOT NULL REFERENCES exercises (id),
	flag        TEXT    NOT NULL CHECK (flag IN ('PREGNANCY', 'RECENT_SPINAL_SURGERY', 'SPINAL_FRACTURE', 'OSTEOPOROSIS',
		'HYPERTENSION', 'HERNIA', 'OBESITY', 'SPINAL_METAL_IMPLANT', 'GLAUCOMA_OR_RETINAL_DETACHMENT',
		'HEART_OR_CIRCULATORY_DISEASE', 'ANTICOAGULANT_USE')),
	severity    TEXT    NOT NULL CHECK (severity IN ('CONTRAINDICATED', 'NEEDS_CLEARANCE')),
	source      TEXT    NOT NULL CHECK (source <> '' AND length(source) <= 500),
	position    INTEGER NOT NULL CHECK (position >= 0),
	PRIMARY KEY (exercise_id, flag),
	UNIQUE (exercise_id, position)
) STRICT, WITHOUT ROWID;

-- Screening answers: append-only. The current screening is the latest answer
-- (highest effective UUIDv7 id) per flag, read through screening_answers_current; the
-- history pages newest first through screening_answers_patient (or, for one
-- flag, screening_answers_flag).
CREATE TABLE screening_answers (
	id          TEXT NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	patient_id  TEXT NOT NULL REFERENCES patients (id),
	flag        TEXT NOT NULL CHECK (flag IN ('PREGNANCY', 'RECENT_SPINAL_SURGERY', 'SPINAL_FRACTURE', 'OSTEOPOROSIS',
		'HYPERTENSION', 'HERNIA', 'OBESITY', 'SPINAL_METAL_IMPLANT', 'GLAUCOMA_OR_RETINAL_DETACHMENT',
		'HEART_OR_CIRCULATORY_DISEASE', 'ANTICOAGULANT_USE')),
	status      TEXT NOT NULL CHECK (status IN ('PRESENT', 'ABSENT', 'UNKNOWN')),
	source      TEXT NOT NULL CHECK (source IN ('PATIENT_REPORTED', 'CLINICIAN_VERIFIED')),
	recorded_by TEXT NOT NULL CHECK (recorded_by <> ''),
	note        TEXT NOT NULL DEFAULT '',
	record_time TEXT NOT NULL CHECK (record_time GLOB '????-??-??T??:??:??.?????????Z'),
	-- 0: a patient's report that did not take effect because a clinician had
	-- verified a more cautious answer (hep.TakesEffect). History keeps it;
	-- the current screening skips it.
	effective   INTEGER NOT NULL DEFAULT 1 CHECK (effective IN (0, 1))
) STRICT;

CREATE INDEX screening_answers_current ON screening_answers (patient_id, effective, flag, id);
CREATE INDEX screening_answers_flag ON screening_answers (patient_id, flag, id);
CREATE INDEX screening_answers_patient ON screening_answers (patient_id, id);

-- The red-flag hold: set by a red-flag report, lifted when the last open
-- RED_FLAG alert of the patient is acknowledged. It belongs to the patient,
-- not to a plan version, so a plan written during the hold is held too.
ALTER TABLE patients ADD COLUMN red_flag_hold INTEGER NOT NULL DEFAULT 0 CHECK (red_flag_hold IN (0, 1));

-- Alerts for the care team. The summary is built by the domain from coded
-- data, never from patient free text.
CREATE TABLE alerts (
	id          TEXT NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	patient_id  TEXT NOT NULL REFERENCES patients (id),
	kind        TEXT NOT NULL CHECK (kind IN ('RED_FLAG', 'SCREENING_CHANGED', 'PAIN_SEVERE', 'PAIN_FLARE',
		'PAIN_WORSENING', 'NON_ADHERENCE', 'LOGGED_WHILE_SUSPENDED')),
	severity    TEXT NOT NULL CHECK (severity IN ('URGENT', 'ROUTINE')),
	status      TEXT NOT NULL CHECK (status IN ('OPEN', 'ACKNOWLEDGED')),
	summary     TEXT NOT NULL CHECK (summary <> ''),
	create_time TEXT NOT NULL CHECK (create_time GLOB '????-??-??T??:??:??.?????????Z'),
	ack_by      TEXT,
	ack_note    TEXT NOT NULL DEFAULT '',
	ack_time    TEXT CHECK (ack_time GLOB '????-??-??T??:??:??.?????????Z'),
	CHECK ((status = 'OPEN') = (ack_time IS NULL)),
	CHECK ((ack_time IS NULL) = (ack_by IS NULL))
) STRICT;

-- ListAlerts pages a patient's alerts newest first, optionally by status;
-- acknowledging looks for the patient's other open RED_FLAG alerts.
CREATE INDEX alerts_patient ON alerts (patient_id, id);
CREATE INDEX alerts_patient_status ON alerts (patient_id, status, id);

-- Red-flag reports: append-only, each with the alert it raised.
CREATE TABLE red_flag_reports (
	id          TEXT NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	patient_id  TEXT NOT NULL REFERENCES patients (id),
	symptoms    TEXT NOT NULL CHECK (json_valid(symptoms) AND json_type(symptoms) = 'array' AND json_array_length(symptoms) > 0),
	note        TEXT NOT NULL DEFAULT '',
	reported_by TEXT NOT NULL CHECK (reported_by <> ''),
	report_time TEXT NOT NULL CHECK (report_time GLOB '????-??-??T??:??:??.?????????Z'),
	alert_id    TEXT NOT NULL UNIQUE REFERENCES alerts (id)
) STRICT;

CREATE INDEX red_flag_reports_patient ON red_flag_reports (patient_id, id);

-- Plan versions: 1, 2, 3, ... per patient; the current one is the highest.
-- A version is never changed once written.
CREATE TABLE plans (
	patient_id  TEXT    NOT NULL REFERENCES patients (id),
	version     INTEGER NOT NULL CHECK (version > 0),
	note        TEXT    NOT NULL DEFAULT '',
	author_id   TEXT    NOT NULL,
	create_time TEXT    NOT NULL CHECK (create_time GLOB '????-??-??T??:??:??.?????????Z'),
	PRIMARY KEY (patient_id, version)
) STRICT, WITHOUT ROWID;

-- Plan items. Only state, state_reasons and state_time change, and only on
-- the current version: the gate re-runs when screening, clearances or the
-- hold change. weekdays is a bit mask (bit d for time.Weekday d: Sunday 1,
-- Monday 2, ... Saturday 64); days_per_week is used instead when it is 0.
-- ENDED is never stored: it follows from end_date and the patient's day.
CREATE TABLE plan_items (
	patient_id       TEXT    NOT NULL,
	version          INTEGER NOT NULL,
	position         INTEGER NOT NULL CHECK (position >= 0),
	exercise_id      TEXT    NOT NULL REFERENCES exercises (id),
	sets             INTEGER NOT NULL DEFAULT 0 CHECK (sets >= 0),
	reps             INTEGER NOT NULL DEFAULT 0 CHECK (reps >= 0),
	hold_seconds     INTEGER NOT NULL DEFAULT 0 CHECK (hold_seconds >= 0),
	duration_seconds INTEGER NOT NULL DEFAULT 0 CHECK (duration_seconds >= 0),
	angle_degrees    INTEGER NOT NULL DEFAULT 0 CHECK (angle_degrees >= 0),
	force_kg         INTEGER NOT NULL DEFAULT 0 CHECK (force_kg >= 0),
	times_per_day    INTEGER NOT NULL CHECK (times_per_day BETWEEN 1 AND 10),
	days_per_week    INTEGER NOT NULL CHECK (days_per_week BETWEEN 0 AND 7),
	weekdays         INTEGER NOT NULL CHECK (weekdays BETWEEN 0 AND 127),
	start_date       TEXT    NOT NULL CHECK (start_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
	end_date         TEXT    CHECK (end_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' AND end_date >= start_date),
	notes            TEXT    NOT NULL DEFAULT '',
	state            TEXT    NOT NULL CHECK (state IN ('ACTIVE', 'SUSPENDED')),
	state_reasons    TEXT    NOT NULL CHECK (json_valid(state_reasons) AND json_type(state_reasons) = 'array'),
	state_time       TEXT    NOT NULL CHECK (state_time GLOB '????-??-??T??:??:??.?????????Z'),
	PRIMARY KEY (patient_id, version, position),
	UNIQUE (patient_id, version, exercise_id),
	FOREIGN KEY (patient_id, version) REFERENCES plans (patient_id, version),
	CHECK ((weekdays = 0 AND days_per_week BETWEEN 1 AND 7) OR (weekdays > 0 AND days_per_week = 0)),
	-- A suspended item always says why; an active one has nothing to say.
	CHECK ((state = 'ACTIVE') = (json_array_length(state_reasons) = 0))
) STRICT, WITHOUT ROWID;

CREATE INDEX plan_items_exercise ON plan_items (exercise_id);

-- Clearances. flag '' is a device's standing clearance. A clearance ends
-- (end_time set) when its flag's answer changes; at most one is live per
-- patient, exercise and flag.
CREATE TABLE clearances (
	id          TEXT NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	patient_id  TEXT NOT NULL REFERENCES patients (id),
	exercise_id TEXT NOT NULL REFERENCES exercises (id),
	flag        TEXT NOT NULL CHECK (flag IN ('', 'PREGNANCY', 'RECENT_SPINAL_SURGERY', 'SPINAL_FRACTURE', 'OSTEOPOROSIS',
		'HYPERTENSION', 'HERNIA', 'OBESITY', 'SPINAL_METAL_IMPLANT', 'GLAUCOMA_OR_RETINAL_DETACHMENT',
		'HEART_OR_CIRCULATORY_DISEASE', 'ANTICOAGULANT_USE')),
	reason      TEXT NOT NULL CHECK (reason <> ''),
	cleared_by  TEXT NOT NULL CHECK (cleared_by <> ''),
	create_time TEXT NOT NULL CHECK (create_time GLOB '????-??-??T??:??:??.?????????Z'),
	end_time    TEXT CHECK (end_time GLOB '????-??-??T??:??:??.?????????Z' AND end_time >= create_time)
) STRICT;

-- The live clearances of a patient (the gate reads them on every change).
CREATE UNIQUE INDEX clearances_live ON clearances (patient_id, exercise_id, flag) WHERE end_time IS NULL;
CREATE INDEX clearances_patient ON clearances (patient_id, id);
CREATE INDEX clearances_exercise ON clearances (exercise_id);

-- The decision trail: every decision that blocked, suspended, re-activated
-- or rested on a clearance, with the plan version (0: none yet) and the
-- screening answers it was made from. Append-only.
CREATE TABLE gating_decisions (
	id                   TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	patient_id           TEXT    NOT NULL REFERENCES patients (id),
	plan_version         INTEGER NOT NULL CHECK (plan_version >= 0),
	exercise_id          TEXT    NOT NULL REFERENCES exercises (id),
	outcome              TEXT    NOT NULL CHECK (outcome IN ('ALLOWED', 'NEEDS_CLEARANCE', 'NEEDS_SCREENING', 'CONTRAINDICATED')),
	reasons              TEXT    NOT NULL CHECK (json_valid(reasons) AND json_type(reasons) = 'array'),
	cause                TEXT    NOT NULL CHECK (cause IN ('PLAN_REFUSED', 'PLAN_WRITTEN', 'SCREENING_CHANGED', 'CLEARANCE', 'RED_FLAG')),
	previous_state       TEXT    NOT NULL CHECK (previous_state IN ('', 'ACTIVE', 'SUSPENDED')),
	new_state            TEXT    NOT NULL CHECK (new_state IN ('', 'ACTIVE', 'SUSPENDED')),
	screening_answer_ids TEXT    NOT NULL CHECK (json_valid(screening_answer_ids) AND json_type(screening_answer_ids) = 'array'),
	actor_id             TEXT    NOT NULL,
	decide_time          TEXT    NOT NULL CHECK (decide_time GLOB '????-??-??T??:??:??.?????????Z')
) STRICT;

CREATE INDEX gating_decisions_patient ON gating_decisions (patient_id, id);
CREATE INDEX gating_decisions_exercise ON gating_decisions (exercise_id);

-- The built-in catalog, version 2 (DESIGN.md "Exercise catalog"). Clinic
-- entries are added through the API; built-in entries change only by a
-- later migration with a higher catalog version.
INSERT INTO exercises (id, kind, name, instructions, sets, reps, hold_seconds, duration_seconds, angle_degrees, force_kg,
	requires_clearance, built_in, retired, catalog_version, create_seq, create_time) VALUES
('cat-cow', 'EXERCISE', 'Cat-cow',
	'Start on your hands and knees, with your hands under your shoulders and your knees under your hips. ' ||
	'Breathe in as you let your belly sink and lift your head and tailbone (cow). ' ||
	'Breathe out as you round your back up toward the ceiling and tuck your chin (cat). ' ||
	'Move slowly, only as far as is comfortable, and stop if pain spreads down a leg.',
	2, 10, 0, 0, 0, 0, 0, 1, 0, 2, 1, '2026-11-25T00:00:00.000000000Z'),
('childs-pose', 'EXERCISE', 'Child''s pose',
	'Kneel on the floor with your big toes touching and your knees apart. ' ||
	'Sit back toward your heels and walk your hands forward until your forehead rests on the floor or a cushion. ' ||
	'Let your back relax and breathe slowly while you hold the position. ' ||
	'Come up slowly; a pillow under your hips helps if your knees are uncomfortable.',
	3, 0, 30, 0, 0, 0, 0, 1, 0, 2, 2, '2026-11-25T00:00:00.000000000Z'),
('bar-hang', 'EXERCISE', 'Bar hang',
	'Hold a sturdy overhead bar with both hands, about shoulder-width apart. ' ||
	'Let your body hang with your toes touching the ground or just off it, keeping your shoulders gently engaged. ' ||
	'Breathe normally and let your lower back lengthen. ' ||
	'Step down carefully rather than dropping, and stop if your shoulders or hands hurt.',
	3, 0, 20, 0, 0, 0, 0, 1, 0, 2, 3, '2026-11-25T00:00:00.000000000Z'),
('overhead-stretch', 'EXERCISE', 'Overhead stretch',
	'Stand tall with your feet hip-width apart. ' ||
	'Raise both arms overhead, link your fingers and reach up toward the ceiling. ' ||
	'Lean gently to one side and hold, come back to the middle, then lean to the other side: that is one repetition. ' ||
	'Keep the stretch gentle and keep breathing.',
	2, 10, 10, 0, 0, 0, 0, 1, 0, 2, 4, '2026-11-25T00:00:00.000000000Z'),
('inversion-table', 'DEVICE', 'Inversion table',
	'Use the table only after your clinician has cleared it, and set it up for your height as the manufacturer describes. ' ||
	'Lock your ankles in securely and tilt back slowly to a gentle angle of about 20 degrees. ' ||
	'Stay for 1 minute at first and build up to 3 minutes over several sessions if you feel well. ' ||
	'Come back upright slowly and rest before you stand; stop at once if you feel dizzy, get a headache or feel pressure in your eyes.',
	1, 0, 0, 60, 20, 0, 1, 1, 0, 2, 5, '2026-11-25T00:00:00.000000000Z'),
('traction-machine', 'DEVICE', 'Lay-down traction machine',
	'Use the machine only after your clinician has cleared it and shown you how to set it up. ' ||
	'Lie on your back in the machine with the harness snug but comfortable. ' ||
	'Start at a low force, as set by your clinician, for about 10 minutes. ' ||
	'Release the pull slowly before you get up, and stop if pain, numbness or tingling gets worse.',
	1, 0, 0, 600, 0, 10, 1, 1, 0, 2, 6, '2026-11-25T00:00:00.000000000Z'),
('decompression-belt', 'DEVICE', 'Decompression belt',
	'Use the belt only after your clinician has cleared it. ' ||
	'Fasten it around your waist, just above your hip bones, and inflate it gradually until it feels firm but not tight. ' ||
	'Wear it for up to 20 minutes while you stand or walk gently. ' ||
	'Let the air out completely before you take it off, and stop if pain, numbness or tingling gets worse.',
	1, 0, 0, 1200, 0, 0, 1, 1, 0, 2, 7, '2026-11-25T00:00:00.000000000Z');

-- The exercises: clear with a clinician, per the seed article.
WITH
	e (id) AS (VALUES ('cat-cow'), ('childs-pose'), ('bar-hang'), ('overhead-stretch')),
	f (flag, position) AS (VALUES ('PREGNANCY', 0), ('RECENT_SPINAL_SURGERY', 1), ('SPINAL_FRACTURE', 2), ('OSTEOPOROSIS', 3))
INSERT INTO exercise_rules (exercise_id, flag, severity, source, position)
SELECT e.id, f.flag, 'NEEDS_CLEARANCE',
	'Seed article: home exercises for back pain — avoid or clear with a clinician during pregnancy, after recent spinal surgery, with spinal fracture or osteoporosis',
	f.position
FROM e CROSS JOIN f;

-- The inversion table: the seed article's list, then the manufacturer's.
INSERT INTO exercise_rules (exercise_id, flag, severity, source, position) VALUES
('inversion-table', 'HYPERTENSION', 'CONTRAINDICATED', 'Seed article list of inversion-table contraindications', 0),
('inversion-table', 'OSTEOPOROSIS', 'CONTRAINDICATED', 'Seed article list of inversion-table contraindications', 1),
('inversion-table', 'HERNIA', 'CONTRAINDICATED', 'Seed article list of inversion-table contraindications', 2),
('inversion-table', 'SPINAL_FRACTURE', 'CONTRAINDICATED', 'Seed article list of inversion-table contraindications', 3),
('inversion-table', 'OBESITY', 'CONTRAINDICATED', 'Seed article list of inversion-table contraindications', 4),
('inversion-table', 'PREGNANCY', 'CONTRAINDICATED', 'Seed article list of inversion-table contraindications', 5),
('inversion-table', 'RECENT_SPINAL_SURGERY', 'CONTRAINDICATED', 'Seed article list of inversion-table contraindications', 6),
('inversion-table', 'GLAUCOMA_OR_RETINAL_DETACHMENT', 'CONTRAINDICATED', 'Inversion-table manufacturer''s published contraindications (Teeter)', 7),
('inversion-table', 'HEART_OR_CIRCULATORY_DISEASE', 'CONTRAINDICATED', 'Inversion-table manufacturer''s published contraindications (Teeter)', 8),
('inversion-table', 'ANTICOAGULANT_USE', 'CONTRAINDICATED', 'Inversion-table manufacturer''s published contraindications (Teeter)', 9);

-- The traction devices: in-office decompression exclusions, by analogy.
WITH
	e (id) AS (VALUES ('traction-machine'), ('decompression-belt')),
	f (flag, position) AS (VALUES ('PREGNANCY', 0), ('SPINAL_FRACTURE', 1), ('OSTEOPOROSIS', 2), ('RECENT_SPINAL_SURGERY', 3),
		('SPINAL_METAL_IMPLANT', 4))
INSERT INTO exercise_rules (exercise_id, flag, severity, source, position)
SELECT e.id, f.flag, 'CONTRAINDICATED',
	'In-office spinal decompression exclusions (seed article), applied by analogy to home traction devices',
	f.position
FROM e CROSS JOIN f;
