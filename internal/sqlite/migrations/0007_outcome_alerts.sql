-- 0007: two alert kinds from outcome questionnaires. FUNCTION_WORSENED: a
-- response scored worse than the assignment's baseline by at least the
-- instrument's MCID (an occurrence per response, trigger
-- questionnaire_responses/ID). QUESTIONNAIRE_OVERDUE: a due slot left
-- unanswered for hep.OverdueDays (an occurrence per slot, trigger
-- slot/ASSIGNMENT/DAY). Both are coalesced per assignment (the subject).
--
-- SQLite cannot change CHECK constraints in place, so alerts and
-- alert_occurrences are rebuilt with every index and trigger of 0002-0005
-- (same definitions, the kinds and trigger forms extended). The rows are
-- copied aside, the tables dropped and made again under their own names,
-- and the rows put back: red_flag_reports and alert_occurrences refer to
-- alerts by name, so foreign keys are deferred to the commit, where every
-- reference holds again (hep's IntegrityCheck runs foreign_key_check).

PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE alerts_copy AS SELECT id, patient_id, kind, severity, status, summary, create_time, ack_by, ack_note, ack_time,
	"trigger", subject, occurrences, latest_time FROM alerts;
CREATE TEMP TABLE alert_occurrences_copy AS SELECT id, alert_id, patient_id, kind, "trigger", occur_time, summary FROM alert_occurrences;

DROP TABLE alert_occurrences;
DROP TABLE alerts;

CREATE TABLE alerts (
	id          TEXT NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	patient_id  TEXT NOT NULL REFERENCES patients (id),
	kind        TEXT NOT NULL CHECK (kind IN ('RED_FLAG', 'SCREENING_CHANGED', 'PAIN_SEVERE', 'PAIN_FLARE',
		'PAIN_WORSENING', 'NON_ADHERENCE', 'LOGGED_WHILE_SUSPENDED', 'FUNCTION_WORSENED', 'QUESTIONNAIRE_OVERDUE')),
	severity    TEXT NOT NULL CHECK (severity IN ('URGENT', 'ROUTINE')),
	status      TEXT NOT NULL CHECK (status IN ('OPEN', 'ACKNOWLEDGED')),
	summary     TEXT NOT NULL CHECK (summary <> ''),
	create_time TEXT NOT NULL CHECK (create_time GLOB '????-??-??T??:??:??.?????????Z'),
	ack_by      TEXT,
	ack_note    TEXT NOT NULL DEFAULT '',
	ack_time    TEXT CHECK (ack_time GLOB '????-??-??T??:??:??.?????????Z'),
	"trigger"   TEXT NOT NULL DEFAULT '' CHECK ("trigger" = ''
		OR ("trigger" GLOB 'exercise_logs/?*' AND length("trigger") = 50)
		OR ("trigger" GLOB 'pain_checkins/?*' AND length("trigger") = 50)
		OR ("trigger" GLOB 'questionnaire_responses/?*' AND length("trigger") = 60)
		OR ("trigger" GLOB 'slot/?*/[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' AND length("trigger") = 52)
		OR "trigger" GLOB 'window/[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
	subject     TEXT NOT NULL DEFAULT '',
	occurrences INTEGER NOT NULL DEFAULT 1 CHECK (occurrences >= 1),
	latest_time TEXT CHECK (latest_time GLOB '????-??-??T??:??:??.?????????Z'),
	CHECK ((status = 'OPEN') = (ack_time IS NULL)),
	CHECK ((ack_time IS NULL) = (ack_by IS NULL))
) STRICT;

INSERT INTO alerts (id, patient_id, kind, severity, status, summary, create_time, ack_by, ack_note, ack_time, "trigger", subject,
	occurrences, latest_time)
SELECT id, patient_id, kind, severity, status, summary, create_time, ack_by, ack_note, ack_time, "trigger", subject,
	occurrences, latest_time FROM temp.alerts_copy;
-- The key alert_occurrences refers to: made before its rows come back.
CREATE UNIQUE INDEX alerts_identity ON alerts (id, patient_id, kind);

CREATE TABLE alert_occurrences (
	id         TEXT NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	alert_id   TEXT NOT NULL,
	patient_id TEXT NOT NULL REFERENCES patients (id),
	kind       TEXT NOT NULL CHECK (kind IN ('RED_FLAG', 'SCREENING_CHANGED', 'PAIN_SEVERE', 'PAIN_FLARE',
		'PAIN_WORSENING', 'NON_ADHERENCE', 'LOGGED_WHILE_SUSPENDED', 'FUNCTION_WORSENED', 'QUESTIONNAIRE_OVERDUE')),
	"trigger"  TEXT NOT NULL DEFAULT '' CHECK ("trigger" = ''
		OR ("trigger" GLOB 'exercise_logs/?*' AND length("trigger") = 50)
		OR ("trigger" GLOB 'pain_checkins/?*' AND length("trigger") = 50)
		OR ("trigger" GLOB 'questionnaire_responses/?*' AND length("trigger") = 60)
		OR ("trigger" GLOB 'slot/?*/[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' AND length("trigger") = 52)
		OR "trigger" GLOB 'window/[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
	occur_time TEXT NOT NULL CHECK (occur_time GLOB '????-??-??T??:??:??.?????????Z'),
	summary    TEXT NOT NULL CHECK (summary <> ''),
	FOREIGN KEY (alert_id, patient_id, kind) REFERENCES alerts (id, patient_id, kind) DEFERRABLE INITIALLY DEFERRED
) STRICT;

INSERT INTO alert_occurrences (id, alert_id, patient_id, kind, "trigger", occur_time, summary)
SELECT id, alert_id, patient_id, kind, "trigger", occur_time, summary FROM temp.alert_occurrences_copy;

DROP TABLE temp.alerts_copy;
DROP TABLE temp.alert_occurrences_copy;

CREATE INDEX alerts_patient ON alerts (patient_id, id);
CREATE INDEX alerts_patient_status ON alerts (patient_id, status, id);
CREATE INDEX alerts_status ON alerts (status, id);
CREATE UNIQUE INDEX alerts_open_key ON alerts (patient_id, kind, subject) WHERE status = 'OPEN';
CREATE UNIQUE INDEX alert_occurrences_trigger ON alert_occurrences (patient_id, kind, "trigger") WHERE "trigger" <> '';
CREATE INDEX alert_occurrences_alert ON alert_occurrences (alert_id, id);
CREATE INDEX alert_occurrences_patient_time ON alert_occurrences (patient_id, occur_time, id);

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
