-- 0005: coalesced alerts (hep.Coalesce; docs/clinical-rules.md,
-- "Coalescing"). An alert is now one episode of a kind of event about one
-- subject (an exercise, a check-in's pain location, the patient as a
-- whole, or one red-flag report), and every time the event happens is an
-- occurrence, a row of its own in alert_occurrences with its trigger, time
-- and summary. A patient has at most one OPEN alert per kind and subject:
-- a new occurrence joins it (one more occurrence, the latest time and
-- summary); after an acknowledgement the next one opens a new alert. The
-- rule that the same data never raises anything twice moves with the
-- triggers to alert_occurrences (at most one occurrence per patient, kind
-- and non-empty trigger).
--
-- Existing alerts keep their ids: each becomes an occurrence of the same
-- id, the acknowledged ones stay alerts of one occurrence each (their
-- acknowledgements covered exactly them), and the open ones of one
-- patient, kind and subject are folded into the oldest of them, which
-- keeps its id, first trigger and creation time. The others' rows go (they
-- were open: no acknowledgement is lost); their occurrences keep their
-- ids, triggers, times and summaries.
--
-- The conventions of 0001-0004 hold.

ALTER TABLE alerts ADD COLUMN subject TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN occurrences INTEGER NOT NULL DEFAULT 1 CHECK (occurrences >= 1);
-- The latest occurrence's time; set on every alert by this migration and
-- by every insert after it.
ALTER TABLE alerts ADD COLUMN latest_time TEXT CHECK (latest_time GLOB '????-??-??T??:??:??.?????????Z');

-- The subjects of the stored alerts, from the data their triggers name:
-- the log's exercise, the check-in's location, the exercise named in the
-- (fixed, generated) summary of LOGGED_WHILE_SUSPENDED, the red-flag
-- report; the patient ('') for the windows and screening. An alert whose
-- subject cannot be found gets its own ('alerts/ID'), so it is folded
-- with nothing rather than with the wrong thing.
UPDATE alerts SET subject = CASE
	WHEN kind IN ('PAIN_SEVERE', 'PAIN_FLARE') AND "trigger" GLOB 'exercise_logs/?*' THEN
		coalesce((SELECT l.exercise_id FROM exercise_logs l WHERE l.id = substr(alerts."trigger", 15)), 'alerts/' || id)
	WHEN kind = 'PAIN_SEVERE' AND "trigger" GLOB 'pain_checkins/?*' THEN
		coalesce('checkin/' || (SELECT k.location FROM pain_checkins k WHERE k.id = substr(alerts."trigger", 15)), 'alerts/' || id)
	WHEN kind = 'LOGGED_WHILE_SUSPENDED' AND summary GLOB 'The patient logged ?* while it is suspended.' THEN
		substr(summary, 20, length(summary) - 42)
	WHEN kind = 'RED_FLAG' THEN
		coalesce('red_flag_reports/' || (SELECT r.id FROM red_flag_reports r WHERE r.alert_id = alerts.id), 'alerts/' || id)
	WHEN kind IN ('PAIN_WORSENING', 'NON_ADHERENCE', 'SCREENING_CHANGED') THEN ''
	ELSE 'alerts/' || id
END;
UPDATE alerts SET latest_time = create_time;

-- Occurrences: append-only. The alert an occurrence belongs to has its
-- patient and kind (the composite key makes a mismatch impossible); the
-- reference is checked at commit, so a new alert and its first occurrence
-- are written in either order in one transaction.
CREATE UNIQUE INDEX alerts_identity ON alerts (id, patient_id, kind);
CREATE TABLE alert_occurrences (
	id         TEXT NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	alert_id   TEXT NOT NULL,
	patient_id TEXT NOT NULL REFERENCES patients (id),
	kind       TEXT NOT NULL CHECK (kind IN ('RED_FLAG', 'SCREENING_CHANGED', 'PAIN_SEVERE', 'PAIN_FLARE',
		'PAIN_WORSENING', 'NON_ADHERENCE', 'LOGGED_WHILE_SUSPENDED')),
	"trigger"  TEXT NOT NULL DEFAULT '' CHECK ("trigger" = ''
		OR ("trigger" GLOB 'exercise_logs/?*' AND length("trigger") = 50)
		OR ("trigger" GLOB 'pain_checkins/?*' AND length("trigger") = 50)
		OR "trigger" GLOB 'window/[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
	occur_time TEXT NOT NULL CHECK (occur_time GLOB '????-??-??T??:??:??.?????????Z'),
	summary    TEXT NOT NULL CHECK (summary <> ''),
	FOREIGN KEY (alert_id, patient_id, kind) REFERENCES alerts (id, patient_id, kind) DEFERRABLE INITIALLY DEFERRED
) STRICT;

-- One occurrence per patient, kind and trigger: replaying a push, sending
-- a record again or evaluating a day again raises nothing (inserts say ON
-- CONFLICT DO NOTHING). Also "which kinds did this record raise" (a
-- correction does not raise them again) and "is there a window occurrence
-- of this kind near this day" (an episode is alerted once), by range on
-- (patient_id, kind, trigger), as alerts_trigger did.
CREATE UNIQUE INDEX alert_occurrences_trigger ON alert_occurrences (patient_id, kind, "trigger") WHERE "trigger" <> '';
-- An alert's occurrences, newest first (ListAlertOccurrences), and their
-- count when folding.
CREATE INDEX alert_occurrences_alert ON alert_occurrences (alert_id, id);
-- A patient's occurrences in a range of time (the export).
CREATE INDEX alert_occurrences_patient_time ON alert_occurrences (patient_id, occur_time, id);

-- Every stored alert is an occurrence of itself, in the alert it is
-- folded into: an acknowledged one its own, an open one the oldest open
-- alert of its patient, kind and subject.
INSERT INTO alert_occurrences (id, alert_id, patient_id, kind, "trigger", occur_time, summary)
SELECT a.id,
	CASE WHEN a.status = 'OPEN' THEN (SELECT k.id FROM alerts k
		WHERE k.patient_id = a.patient_id AND k.kind = a.kind AND k.subject = a.subject AND k.status = 'OPEN'
		ORDER BY k.create_time, k.id LIMIT 1) ELSE a.id END,
	a.patient_id, a.kind, a."trigger", a.create_time, a.summary
FROM alerts a;

-- The open alerts folded into another go; the others count what they hold.
DELETE FROM alerts WHERE status = 'OPEN' AND NOT EXISTS (SELECT 1 FROM alert_occurrences o WHERE o.alert_id = alerts.id);
UPDATE alerts SET
	occurrences = (SELECT count(*) FROM alert_occurrences o WHERE o.alert_id = alerts.id),
	latest_time = (SELECT max(o.occur_time) FROM alert_occurrences o WHERE o.alert_id = alerts.id),
	summary = (SELECT o.summary FROM alert_occurrences o WHERE o.alert_id = alerts.id ORDER BY o.occur_time DESC, o.id DESC LIMIT 1)
WHERE status = 'OPEN';

-- At most one open alert per patient, kind and subject; the store finds
-- it here when an occurrence arrives.
CREATE UNIQUE INDEX alerts_open_key ON alerts (patient_id, kind, subject) WHERE status = 'OPEN';

-- The triggers' uniqueness is the occurrences' now (an alert's "trigger"
-- is its first occurrence's).
DROP INDEX alerts_trigger;

-- What an alert is never changes; an acknowledged alert never changes at
-- all; an open one only gains occurrences; nothing is deleted.
CREATE TRIGGER alerts_identity_fixed BEFORE UPDATE OF id, patient_id, kind, subject, create_time, "trigger" ON alerts
BEGIN
	SELECT RAISE(ABORT, 'alerts: an alert''s identity never changes');
END;
CREATE TRIGGER alerts_acknowledged_final BEFORE UPDATE ON alerts WHEN old.status <> 'OPEN'
BEGIN
	SELECT RAISE(ABORT, 'alerts: an acknowledged alert never changes');
END;
CREATE TRIGGER alerts_occurrences_grow BEFORE UPDATE OF occurrences ON alerts WHEN new.occurrences < old.occurrences
BEGIN
	SELECT RAISE(ABORT, 'alerts: occurrences only grow');
END;
CREATE TRIGGER alerts_no_delete BEFORE DELETE ON alerts
BEGIN
	SELECT RAISE(ABORT, 'alerts: alerts are never deleted');
END;
CREATE TRIGGER alert_occurrences_fixed BEFORE UPDATE ON alert_occurrences
BEGIN
	SELECT RAISE(ABORT, 'alert_occurrences is append-only');
END;
CREATE TRIGGER alert_occurrences_no_delete BEFORE DELETE ON alert_occurrences
BEGIN
	SELECT RAISE(ABORT, 'alert_occurrences is append-only');
END;
