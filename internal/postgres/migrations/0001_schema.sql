-- 0001: the whole schema of hep on PostgreSQL: the end state of the SQLite
-- store's migrations 0001-0008 and of its reads file, in one step.
--
-- Conventions (those of the SQLite schema, kept so that rows move between
-- the engines column for column, bytes and hashes unchanged):
--   * Table, column and index names and value encodings are the SQLite
--     store's. Text is COLLATE "C" (byte order, like SQLite's BINARY), so
--     that text order is the same on both engines whatever the database's
--     locale: ids (UUIDv7) sort in creation order, times in time order,
--     and the page bound "~" sorts after every id.
--   * Ids are UUIDv7 text. Times are TEXT in one fixed-width UTC form,
--     2006-01-02T15:04:05.000000000Z (nanoseconds round-trip; text order
--     is time order), CHECKed by regular expression because one stray
--     format would break every range query. Calendar days are YYYY-MM-DD.
--   * Integers are BIGINT (SQLite's INTEGER is 64-bit), flags included:
--     0/1 BIGINT with a CHECK, as in SQLite, rather than BOOLEAN, so that a
--     copy needs no conversion. REAL is DOUBLE PRECISION, BLOB is BYTEA.
--   * JSON lists are TEXT (not jsonb: jsonb rewrites what it stores, and
--     the bytes must stay identical), CHECKed by casting to json.
--   * The append-only rules of the SQLite triggers are PostgreSQL triggers
--     calling hep_refuse with the same messages; TRUNCATE is refused too.
--   * Optional references are NULL; optional free text is ''.

-- hep_refuse fails the statement with its argument as the message: the
-- body of every append-only trigger.
CREATE FUNCTION hep_refuse() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'restrict_violation';
END
$fn$;

CREATE TABLE accounts (
	id            TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	email         TEXT COLLATE "C" NOT NULL UNIQUE CHECK (email <> ''),
	display_name  TEXT COLLATE "C" NOT NULL CHECK (display_name <> ''),
	role          TEXT COLLATE "C" NOT NULL CHECK (role IN ('ADMIN', 'CLINICIAN')),
	password_hash TEXT COLLATE "C" NOT NULL CHECK (password_hash <> ''),
	disabled      BIGINT NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
	create_time   TEXT COLLATE "C" NOT NULL CHECK (create_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	update_time   TEXT COLLATE "C" NOT NULL CHECK (update_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$')
);

CREATE INDEX accounts_role_id ON accounts (role, id);

-- A patient's row is also the lock of its synced data: every transaction
-- that writes what the patient's phones see takes it first (FOR NO KEY
-- UPDATE; see the package doc), and change_seq, the patient's change
-- sequence, is bumped under it, so commit order is sequence order.
CREATE TABLE patients (
	id                        TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	display_name              TEXT COLLATE "C" NOT NULL CHECK (display_name <> ''),
	time_zone                 TEXT COLLATE "C" NOT NULL CHECK (time_zone <> ''),
	external_mrn              TEXT COLLATE "C" NOT NULL DEFAULT '',
	create_time               TEXT COLLATE "C" NOT NULL CHECK (create_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	update_time               TEXT COLLATE "C" NOT NULL CHECK (update_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	red_flag_hold             BIGINT NOT NULL DEFAULT 0 CHECK (red_flag_hold IN (0, 1)),
	change_seq                BIGINT NOT NULL DEFAULT 0 CHECK (change_seq >= 0),
	purged_seq                BIGINT NOT NULL DEFAULT 0 CHECK (purged_seq BETWEEN 0 AND change_seq),
	adherence_checked_through TEXT COLLATE "C" CHECK (adherence_checked_through ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
	message_seq               BIGINT NOT NULL DEFAULT 0 CHECK (message_seq >= 0),
	read_by_patient_through   BIGINT NOT NULL DEFAULT 0 CHECK (read_by_patient_through >= 0),
	read_by_team_through      BIGINT NOT NULL DEFAULT 0 CHECK (read_by_team_through >= 0),
	team_read_by              TEXT COLLATE "C",
	team_read_time            TEXT COLLATE "C" CHECK (team_read_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	reminder_start            BIGINT NOT NULL DEFAULT 540 CHECK (reminder_start BETWEEN 0 AND 1439),
	reminder_end              BIGINT NOT NULL DEFAULT 1200 CHECK (reminder_end BETWEEN 1 AND 1440),
	quiet_days                BIGINT NOT NULL DEFAULT 0 CHECK (quiet_days BETWEEN 0 AND 126),
	reminders_set_by          TEXT COLLATE "C",
	reminders_set_time        TEXT COLLATE "C" CHECK (reminders_set_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$')
);

CREATE TABLE care_team (
	patient_id   TEXT COLLATE "C" NOT NULL REFERENCES patients (id),
	clinician_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
	add_time     TEXT COLLATE "C" NOT NULL CHECK (add_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	PRIMARY KEY (patient_id, clinician_id)
);

CREATE INDEX care_team_clinician ON care_team (clinician_id, patient_id);

CREATE TABLE devices (
	id          TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	patient_id  TEXT COLLATE "C" NOT NULL REFERENCES patients (id),
	name        TEXT COLLATE "C" NOT NULL CHECK (name <> ''),
	platform    TEXT COLLATE "C" NOT NULL CHECK (platform IN ('', 'IOS', 'ANDROID', 'OTHER')),
	enroll_time TEXT COLLATE "C" NOT NULL CHECK (enroll_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	revoke_time TEXT COLLATE "C" CHECK (revoke_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	-- The highest mutation sequence the device pushed (applied or
	-- rejected). A push locks this row: one push per device at a time.
	last_seq    BIGINT NOT NULL DEFAULT 0 CHECK (last_seq >= 0)
);

CREATE INDEX devices_patient ON devices (patient_id, enroll_time, id);

CREATE TABLE enrollment_codes (
	code_hash   TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (code_hash <> ''),
	patient_id  TEXT COLLATE "C" NOT NULL REFERENCES patients (id),
	created_by  TEXT COLLATE "C" NOT NULL,
	create_time TEXT COLLATE "C" NOT NULL CHECK (create_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	expire_time TEXT COLLATE "C" NOT NULL CHECK (expire_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	used_time   TEXT COLLATE "C" CHECK (used_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	device_id   TEXT COLLATE "C" REFERENCES devices (id),
	CHECK ((used_time IS NULL) = (device_id IS NULL))
);

CREATE INDEX enrollment_codes_patient ON enrollment_codes (patient_id);
CREATE INDEX enrollment_codes_device ON enrollment_codes (device_id) WHERE device_id IS NOT NULL;

CREATE TABLE sessions (
	id          TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	role        TEXT COLLATE "C" NOT NULL CHECK (role IN ('ADMIN', 'CLINICIAN', 'PATIENT')),
	account_id  TEXT COLLATE "C" REFERENCES accounts (id),
	device_id   TEXT COLLATE "C" REFERENCES devices (id),
	patient_id  TEXT COLLATE "C" REFERENCES patients (id),
	create_time TEXT COLLATE "C" NOT NULL CHECK (create_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	revoke_time TEXT COLLATE "C" CHECK (revoke_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	CHECK (
		(role = 'PATIENT' AND account_id IS NULL AND device_id IS NOT NULL AND patient_id IS NOT NULL) OR
		(role <> 'PATIENT' AND account_id IS NOT NULL AND device_id IS NULL AND patient_id IS NULL)
	)
);

CREATE INDEX sessions_account ON sessions (account_id) WHERE account_id IS NOT NULL;
CREATE INDEX sessions_device ON sessions (device_id) WHERE device_id IS NOT NULL;
CREATE INDEX sessions_patient ON sessions (patient_id) WHERE patient_id IS NOT NULL;

-- A rotation locks the token's row (FOR UPDATE), so two replicas rotating
-- the same token at once see one rotation and one reuse.
CREATE TABLE refresh_tokens (
	hash        TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (hash <> ''),
	session_id  TEXT COLLATE "C" NOT NULL REFERENCES sessions (id),
	create_time TEXT COLLATE "C" NOT NULL CHECK (create_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	expire_time TEXT COLLATE "C" NOT NULL CHECK (expire_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	used_time   TEXT COLLATE "C" CHECK (used_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$')
);

CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE secrets (
	name        TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (name <> ''),
	value       BYTEA NOT NULL CHECK (octet_length(value) = 32),
	create_time TEXT COLLATE "C" NOT NULL CHECK (create_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$')
);

-- The audit trail: two hash-chained, append-only chains (hep.ChainHash),
-- the main chain of data writes in audit_events and the reads chain (calls
-- that changed nothing) in audit_reads, column for column the SQLite
-- store's audit_events of its main and reads files. seq is assigned by the
-- store as last+1 while it holds the chain's row of audit_chains (FOR
-- UPDATE, taken last in the writing transaction and held to its commit),
-- so seq has no gaps and chain order is commit order across replicas.
-- patient_id is not a foreign key: a failed call may name a patient that
-- does not exist, and the trail must never depend on other rows.
CREATE TABLE audit_chains (
	chain TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (chain IN ('main', 'reads'))
);
INSERT INTO audit_chains (chain) VALUES ('main'), ('reads');

CREATE TABLE audit_events (
	seq        BIGINT NOT NULL PRIMARY KEY CHECK (seq > 0),
	time       TEXT COLLATE "C" NOT NULL CHECK (time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	actor_id   TEXT COLLATE "C" NOT NULL,
	actor_role TEXT COLLATE "C" NOT NULL,
	patient_id TEXT COLLATE "C" NOT NULL,
	action     TEXT COLLATE "C" NOT NULL,
	resource   TEXT COLLATE "C" NOT NULL,
	outcome    TEXT COLLATE "C" NOT NULL CHECK (outcome <> ''),
	request_id TEXT COLLATE "C" NOT NULL,
	peer       TEXT COLLATE "C" NOT NULL,
	prev_hash  TEXT COLLATE "C" NOT NULL,
	hash       TEXT COLLATE "C" NOT NULL CHECK (length(hash) = 64)
);

CREATE INDEX audit_events_time ON audit_events (time);
CREATE INDEX audit_events_patient ON audit_events (patient_id, seq);

CREATE TABLE audit_reads (LIKE audit_events INCLUDING CONSTRAINTS INCLUDING DEFAULTS, PRIMARY KEY (seq));

CREATE INDEX audit_reads_time ON audit_reads (time);
CREATE INDEX audit_reads_patient ON audit_reads (patient_id, seq);

-- Append-only, enforced by the database itself and not only by this code.
-- (A superuser can go around these; the hash chain is what detects that.)
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
	FOR EACH ROW EXECUTE FUNCTION hep_refuse('audit_events is append-only');
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
	FOR EACH ROW EXECUTE FUNCTION hep_refuse('audit_events is append-only');
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
	FOR EACH STATEMENT EXECUTE FUNCTION hep_refuse('audit_events is append-only');
CREATE TRIGGER audit_reads_no_update BEFORE UPDATE ON audit_reads
	FOR EACH ROW EXECUTE FUNCTION hep_refuse('audit_reads is append-only');
CREATE TRIGGER audit_reads_no_delete BEFORE DELETE ON audit_reads
	FOR EACH ROW EXECUTE FUNCTION hep_refuse('audit_reads is append-only');
CREATE TRIGGER audit_reads_no_truncate BEFORE TRUNCATE ON audit_reads
	FOR EACH STATEMENT EXECUTE FUNCTION hep_refuse('audit_reads is append-only');

-- ---- The clinical core (SQLite 0002). ----

CREATE TABLE exercises (
	id                 TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (id ~ '^[a-z0-9-]{2,63}$'),
	kind               TEXT COLLATE "C" NOT NULL CHECK (kind IN ('EXERCISE', 'DEVICE')),
	name               TEXT COLLATE "C" NOT NULL CHECK (name <> ''),
	instructions       TEXT COLLATE "C" NOT NULL CHECK (instructions <> ''),
	sets               BIGINT NOT NULL DEFAULT 0 CHECK (sets >= 0),
	reps               BIGINT NOT NULL DEFAULT 0 CHECK (reps >= 0),
	hold_seconds       BIGINT NOT NULL DEFAULT 0 CHECK (hold_seconds >= 0),
	duration_seconds   BIGINT NOT NULL DEFAULT 0 CHECK (duration_seconds >= 0),
	angle_degrees      BIGINT NOT NULL DEFAULT 0 CHECK (angle_degrees >= 0),
	force_kg           BIGINT NOT NULL DEFAULT 0 CHECK (force_kg >= 0),
	requires_clearance BIGINT NOT NULL CHECK (requires_clearance IN (0, 1)),
	built_in           BIGINT NOT NULL CHECK (built_in IN (0, 1)),
	retired            BIGINT NOT NULL DEFAULT 0 CHECK (retired IN (0, 1)),
	catalog_version    BIGINT NOT NULL CHECK (catalog_version >= 0),
	create_seq         BIGINT NOT NULL UNIQUE CHECK (create_seq > 0),
	create_time        TEXT COLLATE "C" NOT NULL CHECK (create_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	CHECK (kind <> 'DEVICE' OR requires_clearance = 1),
	CHECK ((built_in = 1) = (catalog_version > 0)),
	CHECK (built_in = 0 OR retired = 0),
	CHECK (kind = 'DEVICE' OR (angle_degrees = 0 AND force_kg = 0))
);

CREATE TABLE exercise_rules (
	exercise_id TEXT COLLATE "C" NOT NULL REFERENCES exercises (id),
	flag        TEXT COLLATE "C" NOT NULL CHECK (flag IN ('PREGNANCY', 'RECENT_SPINAL_SURGERY', 'SPINAL_FRACTURE', 'OSTEOPOROSIS',
		'HYPERTENSION', 'HERNIA', 'OBESITY', 'SPINAL_METAL_IMPLANT', 'GLAUCOMA_OR_RETINAL_DETACHMENT',
		'HEART_OR_CIRCULATORY_DISEASE', 'ANTICOAGULANT_USE')),
	severity    TEXT COLLATE "C" NOT NULL CHECK (severity IN ('CONTRAINDICATED', 'NEEDS_CLEARANCE')),
	source      TEXT COLLATE "C" NOT NULL CHECK (source <> '' AND length(source) <= 500),
	position    BIGINT NOT NULL CHECK (position >= 0),
	PRIMARY KEY (exercise_id, flag),
	UNIQUE (exercise_id, position)
);

CREATE TABLE screening_answers (
	id          TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	patient_id  TEXT COLLATE "C" NOT NULL REFERENCES patients (id),
	flag        TEXT COLLATE "C" NOT NULL CHECK (flag IN ('PREGNANCY', 'RECENT_SPINAL_SURGERY', 'SPINAL_FRACTURE', 'OSTEOPOROSIS',
		'HYPERTENSION', 'HERNIA', 'OBESITY', 'SPINAL_METAL_IMPLANT', 'GLAUCOMA_OR_RETINAL_DETACHMENT',
		'HEART_OR_CIRCULATORY_DISEASE', 'ANTICOAGULANT_USE')),
	status      TEXT COLLATE "C" NOT NULL CHECK (status IN ('PRESENT', 'ABSENT', 'UNKNOWN')),
	source      TEXT COLLATE "C" NOT NULL CHECK (source IN ('PATIENT_REPORTED', 'CLINICIAN_VERIFIED')),
	recorded_by TEXT COLLATE "C" NOT NULL CHECK (recorded_by <> ''),
	note        TEXT COLLATE "C" NOT NULL DEFAULT '',
	record_time TEXT COLLATE "C" NOT NULL CHECK (record_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	effective   BIGINT NOT NULL DEFAULT 1 CHECK (effective IN (0, 1))
);

CREATE INDEX screening_answers_current ON screening_answers (patient_id, effective, flag, id);
CREATE INDEX screening_answers_flag ON screening_answers (patient_id, flag, id);
CREATE INDEX screening_answers_patient ON screening_answers (patient_id, id);

-- Alerts, coalesced (SQLite 0004, 0005, 0007): an alert is one episode of a
-- kind of event about one subject; its occurrences are in
-- alert_occurrences.
CREATE TABLE alerts (
	id          TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	patient_id  TEXT COLLATE "C" NOT NULL REFERENCES patients (id),
	kind        TEXT COLLATE "C" NOT NULL CHECK (kind IN ('RED_FLAG', 'SCREENING_CHANGED', 'PAIN_SEVERE', 'PAIN_FLARE',
		'PAIN_WORSENING', 'NON_ADHERENCE', 'LOGGED_WHILE_SUSPENDED', 'FUNCTION_WORSENED', 'QUESTIONNAIRE_OVERDUE')),
	severity    TEXT COLLATE "C" NOT NULL CHECK (severity IN ('URGENT', 'ROUTINE')),
	status      TEXT COLLATE "C" NOT NULL CHECK (status IN ('OPEN', 'ACKNOWLEDGED')),
	summary     TEXT COLLATE "C" NOT NULL CHECK (summary <> ''),
	create_time TEXT COLLATE "C" NOT NULL CHECK (create_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	ack_by      TEXT COLLATE "C",
	ack_note    TEXT COLLATE "C" NOT NULL DEFAULT '',
	ack_time    TEXT COLLATE "C" CHECK (ack_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	"trigger"   TEXT COLLATE "C" NOT NULL DEFAULT '' CHECK ("trigger" = ''
		OR ("trigger" ~ '^exercise_logs/.+$' AND length("trigger") = 50)
		OR ("trigger" ~ '^pain_checkins/.+$' AND length("trigger") = 50)
		OR ("trigger" ~ '^questionnaire_responses/.+$' AND length("trigger") = 60)
		OR ("trigger" ~ '^slot/.+/[0-9]{4}-[0-9]{2}-[0-9]{2}$' AND length("trigger") = 52)
		OR "trigger" ~ '^window/[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
	subject     TEXT COLLATE "C" NOT NULL DEFAULT '',
	occurrences BIGINT NOT NULL DEFAULT 1 CHECK (occurrences >= 1),
	latest_time TEXT COLLATE "C" CHECK (latest_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	CHECK ((status = 'OPEN') = (ack_time IS NULL)),
	CHECK ((ack_time IS NULL) = (ack_by IS NULL))
);

CREATE UNIQUE INDEX alerts_identity ON alerts (id, patient_id, kind);
CREATE INDEX alerts_patient ON alerts (patient_id, id);
CREATE INDEX alerts_patient_status ON alerts (patient_id, status, id);
CREATE INDEX alerts_status ON alerts (status, id);
CREATE UNIQUE INDEX alerts_open_key ON alerts (patient_id, kind, subject) WHERE status = 'OPEN';

CREATE TRIGGER alerts_identity_fixed BEFORE UPDATE OF id, patient_id, kind, subject, create_time, "trigger" ON alerts
	FOR EACH ROW EXECUTE FUNCTION hep_refuse('alerts: an alert''s identity never changes');
CREATE TRIGGER alerts_acknowledged_final BEFORE UPDATE ON alerts
	FOR EACH ROW WHEN (OLD.status <> 'OPEN') EXECUTE FUNCTION hep_refuse('alerts: an acknowledged alert never changes');
CREATE TRIGGER alerts_occurrences_grow BEFORE UPDATE OF occurrences ON alerts
	FOR EACH ROW WHEN (NEW.occurrences < OLD.occurrences) EXECUTE FUNCTION hep_refuse('alerts: occurrences only grow');
CREATE TRIGGER alerts_no_delete BEFORE DELETE ON alerts
	FOR EACH ROW EXECUTE FUNCTION hep_refuse('alerts: alerts are never deleted');

CREATE TABLE alert_occurrences (
	id         TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	alert_id   TEXT COLLATE "C" NOT NULL,
	patient_id TEXT COLLATE "C" NOT NULL REFERENCES patients (id),
	kind       TEXT COLLATE "C" NOT NULL CHECK (kind IN ('RED_FLAG', 'SCREENING_CHANGED', 'PAIN_SEVERE', 'PAIN_FLARE',
		'PAIN_WORSENING', 'NON_ADHERENCE', 'LOGGED_WHILE_SUSPENDED', 'FUNCTION_WORSENED', 'QUESTIONNAIRE_OVERDUE')),
	"trigger"  TEXT COLLATE "C" NOT NULL DEFAULT '' CHECK ("trigger" = ''
		OR ("trigger" ~ '^exercise_logs/.+$' AND length("trigger") = 50)
		OR ("trigger" ~ '^pain_checkins/.+$' AND length("trigger") = 50)
		OR ("trigger" ~ '^questionnaire_responses/.+$' AND length("trigger") = 60)
		OR ("trigger" ~ '^slot/.+/[0-9]{4}-[0-9]{2}-[0-9]{2}$' AND length("trigger") = 52)
		OR "trigger" ~ '^window/[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
	occur_time TEXT COLLATE "C" NOT NULL CHECK (occur_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	summary    TEXT COLLATE "C" NOT NULL CHECK (summary <> ''),
	FOREIGN KEY (alert_id, patient_id, kind) REFERENCES alerts (id, patient_id, kind) DEFERRABLE INITIALLY DEFERRED
);

CREATE UNIQUE INDEX alert_occurrences_trigger ON alert_occurrences (patient_id, kind, "trigger") WHERE "trigger" <> '';
CREATE INDEX alert_occurrences_alert ON alert_occurrences (alert_id, id);
CREATE INDEX alert_occurrences_patient_time ON alert_occurrences (patient_id, occur_time, id);

CREATE TRIGGER alert_occurrences_fixed BEFORE UPDATE ON alert_occurrences
	FOR EACH ROW EXECUTE FUNCTION hep_refuse('alert_occurrences is append-only');
CREATE TRIGGER alert_occurrences_no_delete BEFORE DELETE ON alert_occurrences
	FOR EACH ROW EXECUTE FUNCTION hep_refuse('alert_occurrences is append-only');

CREATE TABLE red_flag_reports (
	id          TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	patient_id  TEXT COLLATE "C" NOT NULL REFERENCES patients (id),
	symptoms    TEXT COLLATE "C" NOT NULL CHECK (json_typeof(symptoms::json) = 'array' AND json_array_length(symptoms::json) > 0),
	note        TEXT COLLATE "C" NOT NULL DEFAULT '',
	reported_by TEXT COLLATE "C" NOT NULL CHECK (reported_by <> ''),
	report_time TEXT COLLATE "C" NOT NULL CHECK (report_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	alert_id    TEXT COLLATE "C" NOT NULL UNIQUE REFERENCES alerts (id)
);

CREATE INDEX red_flag_reports_patient ON red_flag_reports (patient_id, id);

CREATE TABLE plans (
	patient_id  TEXT COLLATE "C" NOT NULL REFERENCES patients (id),
	version     BIGINT NOT NULL CHECK (version > 0),
	note        TEXT COLLATE "C" NOT NULL DEFAULT '',
	author_id   TEXT COLLATE "C" NOT NULL,
	create_time TEXT COLLATE "C" NOT NULL CHECK (create_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	PRIMARY KEY (patient_id, version)
);

CREATE TABLE plan_items (
	patient_id       TEXT COLLATE "C" NOT NULL,
	version          BIGINT NOT NULL,
	position         BIGINT NOT NULL CHECK (position >= 0),
	exercise_id      TEXT COLLATE "C" NOT NULL REFERENCES exercises (id),
	sets             BIGINT NOT NULL DEFAULT 0 CHECK (sets >= 0),
	reps             BIGINT NOT NULL DEFAULT 0 CHECK (reps >= 0),
	hold_seconds     BIGINT NOT NULL DEFAULT 0 CHECK (hold_seconds >= 0),
	duration_seconds BIGINT NOT NULL DEFAULT 0 CHECK (duration_seconds >= 0),
	angle_degrees    BIGINT NOT NULL DEFAULT 0 CHECK (angle_degrees >= 0),
	force_kg         BIGINT NOT NULL DEFAULT 0 CHECK (force_kg >= 0),
	times_per_day    BIGINT NOT NULL CHECK (times_per_day BETWEEN 1 AND 10),
	days_per_week    BIGINT NOT NULL CHECK (days_per_week BETWEEN 0 AND 7),
	weekdays         BIGINT NOT NULL CHECK (weekdays BETWEEN 0 AND 127),
	start_date       TEXT COLLATE "C" NOT NULL CHECK (start_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
	end_date         TEXT COLLATE "C" CHECK (end_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' AND end_date >= start_date),
	notes            TEXT COLLATE "C" NOT NULL DEFAULT '',
	state            TEXT COLLATE "C" NOT NULL CHECK (state IN ('ACTIVE', 'SUSPENDED')),
	state_reasons    TEXT COLLATE "C" NOT NULL CHECK (json_typeof(state_reasons::json) = 'array'),
	state_time       TEXT COLLATE "C" NOT NULL CHECK (state_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	PRIMARY KEY (patient_id, version, position),
	UNIQUE (patient_id, version, exercise_id),
	FOREIGN KEY (patient_id, version) REFERENCES plans (patient_id, version),
	CHECK ((weekdays = 0 AND days_per_week BETWEEN 1 AND 7) OR (weekdays > 0 AND days_per_week = 0)),
	CHECK ((state = 'ACTIVE') = (json_array_length(state_reasons::json) = 0))
);

CREATE INDEX plan_items_exercise ON plan_items (exercise_id);

CREATE TABLE clearances (
	id          TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	patient_id  TEXT COLLATE "C" NOT NULL REFERENCES patients (id),
	exercise_id TEXT COLLATE "C" NOT NULL REFERENCES exercises (id),
	flag        TEXT COLLATE "C" NOT NULL CHECK (flag IN ('', 'PREGNANCY', 'RECENT_SPINAL_SURGERY', 'SPINAL_FRACTURE', 'OSTEOPOROSIS',
		'HYPERTENSION', 'HERNIA', 'OBESITY', 'SPINAL_METAL_IMPLANT', 'GLAUCOMA_OR_RETINAL_DETACHMENT',
		'HEART_OR_CIRCULATORY_DISEASE', 'ANTICOAGULANT_USE')),
	reason      TEXT COLLATE "C" NOT NULL CHECK (reason <> ''),
	cleared_by  TEXT COLLATE "C" NOT NULL CHECK (cleared_by <> ''),
	create_time TEXT COLLATE "C" NOT NULL CHECK (create_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	end_time    TEXT COLLATE "C" CHECK (end_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$' AND end_time >= create_time)
);

CREATE UNIQUE INDEX clearances_live ON clearances (patient_id, exercise_id, flag) WHERE end_time IS NULL;
CREATE INDEX clearances_patient ON clearances (patient_id, id);
CREATE INDEX clearances_exercise ON clearances (exercise_id);

CREATE TABLE gating_decisions (
	id                   TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	patient_id           TEXT COLLATE "C" NOT NULL REFERENCES patients (id),
	plan_version         BIGINT NOT NULL CHECK (plan_version >= 0),
	exercise_id          TEXT COLLATE "C" NOT NULL REFERENCES exercises (id),
	outcome              TEXT COLLATE "C" NOT NULL CHECK (outcome IN ('ALLOWED', 'NEEDS_CLEARANCE', 'NEEDS_SCREENING', 'CONTRAINDICATED')),
	reasons              TEXT COLLATE "C" NOT NULL CHECK (json_typeof(reasons::json) = 'array'),
	cause                TEXT COLLATE "C" NOT NULL CHECK (cause IN ('PLAN_REFUSED', 'PLAN_WRITTEN', 'SCREENING_CHANGED', 'CLEARANCE', 'RED_FLAG')),
	previous_state       TEXT COLLATE "C" NOT NULL CHECK (previous_state IN ('', 'ACTIVE', 'SUSPENDED')),
	new_state            TEXT COLLATE "C" NOT NULL CHECK (new_state IN ('', 'ACTIVE', 'SUSPENDED')),
	screening_answer_ids TEXT COLLATE "C" NOT NULL CHECK (json_typeof(screening_answer_ids::json) = 'array'),
	actor_id             TEXT COLLATE "C" NOT NULL,
	decide_time          TEXT COLLATE "C" NOT NULL CHECK (decide_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$')
);

CREATE INDEX gating_decisions_patient ON gating_decisions (patient_id, id);
CREATE INDEX gating_decisions_exercise ON gating_decisions (exercise_id);
CREATE INDEX gating_decisions_transitions ON gating_decisions
	(patient_id, plan_version, exercise_id, decide_time, id) INCLUDE (previous_state, new_state)
	WHERE previous_state <> '' AND previous_state <> new_state;

-- ---- Patient sync (SQLite 0003, 0006). ----

CREATE TABLE exercise_logs (
	id                     TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	patient_id             TEXT COLLATE "C" NOT NULL REFERENCES patients (id),
	device_id              TEXT COLLATE "C" NOT NULL REFERENCES devices (id),
	exercise_id            TEXT COLLATE "C" NOT NULL REFERENCES exercises (id),
	plan_version           BIGINT NOT NULL CHECK (plan_version >= 0),
	perform_time           TEXT COLLATE "C" NOT NULL CHECK (perform_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	corrected_perform_time TEXT COLLATE "C" NOT NULL CHECK (corrected_perform_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	receive_time           TEXT COLLATE "C" NOT NULL CHECK (receive_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	sets_done              BIGINT NOT NULL CHECK (sets_done >= 0),
	reps_done              BIGINT NOT NULL CHECK (reps_done >= 0),
	hold_seconds_done      BIGINT NOT NULL CHECK (hold_seconds_done >= 0),
	duration_seconds_done  BIGINT NOT NULL CHECK (duration_seconds_done >= 0),
	pain_before            BIGINT CHECK (pain_before BETWEEN 0 AND 10),
	pain_after             BIGINT CHECK (pain_after BETWEEN 0 AND 10),
	difficulty             TEXT COLLATE "C" NOT NULL CHECK (difficulty IN ('', 'TOO_EASY', 'JUST_RIGHT', 'TOO_HARD')),
	note                   TEXT COLLATE "C" NOT NULL DEFAULT '',
	supersedes             TEXT COLLATE "C" REFERENCES exercise_logs (id) CHECK (supersedes <> id),
	item_suspended         BIGINT NOT NULL CHECK (item_suspended IN (0, 1)),
	content_hash           TEXT COLLATE "C" NOT NULL CHECK (length(content_hash) = 64),
	deleted_time           TEXT COLLATE "C" CHECK (deleted_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	superseded_by          TEXT COLLATE "C" REFERENCES exercise_logs (id) CHECK (superseded_by <> id),
	change_seq             BIGINT CHECK (change_seq > 0)
);

-- ListExerciseLogs pages a patient's live logs; progress reads the
-- included columns of them without the table.
CREATE INDEX exercise_logs_live ON exercise_logs (patient_id, corrected_perform_time, id)
	INCLUDE (exercise_id, pain_before, pain_after, item_suspended)
	WHERE deleted_time IS NULL AND superseded_by IS NULL;
CREATE UNIQUE INDEX exercise_logs_seq ON exercise_logs (patient_id, change_seq)
	WHERE deleted_time IS NULL AND superseded_by IS NULL;

CREATE TABLE pain_checkins (
	id                    TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	patient_id            TEXT COLLATE "C" NOT NULL REFERENCES patients (id),
	device_id             TEXT COLLATE "C" NOT NULL REFERENCES devices (id),
	record_time           TEXT COLLATE "C" NOT NULL CHECK (record_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	corrected_record_time TEXT COLLATE "C" NOT NULL CHECK (corrected_record_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	receive_time          TEXT COLLATE "C" NOT NULL CHECK (receive_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	score                 BIGINT NOT NULL CHECK (score BETWEEN 0 AND 10),
	location              TEXT COLLATE "C" NOT NULL CHECK (location IN ('LOW_BACK', 'NECK', 'LEG', 'OTHER')),
	red_flags             TEXT COLLATE "C" NOT NULL CHECK (json_typeof(red_flags::json) = 'array'),
	note                  TEXT COLLATE "C" NOT NULL DEFAULT '',
	supersedes            TEXT COLLATE "C" REFERENCES pain_checkins (id) CHECK (supersedes <> id),
	content_hash          TEXT COLLATE "C" NOT NULL CHECK (length(content_hash) = 64),
	deleted_time          TEXT COLLATE "C" CHECK (deleted_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	superseded_by         TEXT COLLATE "C" REFERENCES pain_checkins (id) CHECK (superseded_by <> id)
);

CREATE INDEX pain_checkins_live ON pain_checkins (patient_id, corrected_record_time, id) INCLUDE (score)
	WHERE deleted_time IS NULL AND superseded_by IS NULL;

CREATE TRIGGER exercise_logs_content_fixed BEFORE UPDATE OF id, patient_id, device_id, exercise_id, plan_version,
	perform_time, corrected_perform_time, receive_time, sets_done, reps_done, hold_seconds_done, duration_seconds_done,
	pain_before, pain_after, difficulty, note, supersedes, item_suspended, content_hash ON exercise_logs
	FOR EACH ROW EXECUTE FUNCTION hep_refuse('exercise_logs: a log''s content never changes');
CREATE TRIGGER exercise_logs_end_final BEFORE UPDATE OF deleted_time, superseded_by ON exercise_logs
	FOR EACH ROW WHEN (OLD.deleted_time IS NOT NULL OR OLD.superseded_by IS NOT NULL)
	EXECUTE FUNCTION hep_refuse('exercise_logs: a deleted or superseded log stays so');
CREATE TRIGGER exercise_logs_seq_forward BEFORE UPDATE OF change_seq ON exercise_logs
	FOR EACH ROW WHEN (NEW.change_seq IS NULL OR NEW.change_seq <= coalesce(OLD.change_seq, 0)
		OR OLD.deleted_time IS NOT NULL OR OLD.superseded_by IS NOT NULL)
	EXECUTE FUNCTION hep_refuse('exercise_logs: a log''s change sequence only moves forward while it is live');
CREATE TRIGGER exercise_logs_no_delete BEFORE DELETE ON exercise_logs
	FOR EACH ROW EXECUTE FUNCTION hep_refuse('exercise_logs is append-only');
CREATE TRIGGER exercise_logs_no_truncate BEFORE TRUNCATE ON exercise_logs
	FOR EACH STATEMENT EXECUTE FUNCTION hep_refuse('exercise_logs is append-only');

CREATE TRIGGER pain_checkins_content_fixed BEFORE UPDATE OF id, patient_id, device_id, record_time,
	corrected_record_time, receive_time, score, location, red_flags, note, supersedes, content_hash ON pain_checkins
	FOR EACH ROW EXECUTE FUNCTION hep_refuse('pain_checkins: a check-in''s content never changes');
CREATE TRIGGER pain_checkins_end_final BEFORE UPDATE OF deleted_time, superseded_by ON pain_checkins
	FOR EACH ROW WHEN (OLD.deleted_time IS NOT NULL OR OLD.superseded_by IS NOT NULL)
	EXECUTE FUNCTION hep_refuse('pain_checkins: a deleted or superseded check-in stays so');
CREATE TRIGGER pain_checkins_no_delete BEFORE DELETE ON pain_checkins
	FOR EACH ROW EXECUTE FUNCTION hep_refuse('pain_checkins is append-only');
CREATE TRIGGER pain_checkins_no_truncate BEFORE TRUNCATE ON pain_checkins
	FOR EACH STATEMENT EXECUTE FUNCTION hep_refuse('pain_checkins is append-only');

CREATE TABLE device_mutations (
	device_id TEXT COLLATE "C" NOT NULL REFERENCES devices (id),
	seq       BIGINT NOT NULL CHECK (seq > 0),
	status    TEXT COLLATE "C" NOT NULL CHECK (status IN ('APPLIED', 'REJECTED')),
	reason    TEXT COLLATE "C" NOT NULL DEFAULT '',
	field     TEXT COLLATE "C" NOT NULL DEFAULT '',
	CHECK ((status = 'APPLIED') = (reason = '')),
	CHECK (status = 'REJECTED' OR field = ''),
	PRIMARY KEY (device_id, seq)
);

CREATE TRIGGER device_mutations_no_update BEFORE UPDATE ON device_mutations
	FOR EACH ROW EXECUTE FUNCTION hep_refuse('device_mutations: a stored result never changes');

CREATE TABLE sync_state (
	patient_id  TEXT COLLATE "C" NOT NULL REFERENCES patients (id),
	kind        TEXT COLLATE "C" NOT NULL CHECK (kind IN ('EXERCISE_LOG', 'PAIN_CHECKIN', 'PLAN', 'EXERCISE', 'SCREENING',
		'QUESTIONNAIRES', 'QUESTIONNAIRE_RESPONSE', 'MESSAGE', 'MESSAGE_THREAD')),
	id          TEXT COLLATE "C" NOT NULL CHECK (id <> ''),
	seq         BIGINT NOT NULL CHECK (seq > 0),
	deleted     BIGINT NOT NULL CHECK (deleted IN (0, 1)),
	change_time TEXT COLLATE "C" NOT NULL CHECK (change_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	CHECK (deleted = 0 OR kind IN ('EXERCISE_LOG', 'PAIN_CHECKIN', 'QUESTIONNAIRE_RESPONSE')),
	PRIMARY KEY (patient_id, kind, id)
);

CREATE UNIQUE INDEX sync_state_seq ON sync_state (patient_id, seq);
CREATE INDEX sync_state_tombstones ON sync_state (change_time) WHERE deleted = 1;

CREATE TRIGGER sync_state_tombstone_final BEFORE UPDATE ON sync_state
	FOR EACH ROW WHEN (OLD.deleted = 1) EXECUTE FUNCTION hep_refuse('sync_state: a tombstone is final');
CREATE TRIGGER sync_state_keep_live BEFORE DELETE ON sync_state
	FOR EACH ROW WHEN (OLD.deleted = 0) EXECUTE FUNCTION hep_refuse('sync_state: only tombstones are purged');

-- ---- Clinician review (SQLite 0004). ----

CREATE TABLE clinic_settings (
	id                    BIGINT NOT NULL PRIMARY KEY CHECK (id = 1),
	severe_pain           BIGINT NOT NULL CHECK (severe_pain BETWEEN 1 AND 10),
	flare_increase        BIGINT NOT NULL CHECK (flare_increase BETWEEN 1 AND 10),
	worsening_increase    DOUBLE PRECISION NOT NULL CHECK (worsening_increase BETWEEN 0.5 AND 10),
	non_adherence_percent BIGINT NOT NULL CHECK (non_adherence_percent BETWEEN 1 AND 100),
	adherent_percent      BIGINT NOT NULL CHECK (adherent_percent BETWEEN 1 AND 100),
	mcid_points           DOUBLE PRECISION NOT NULL CHECK (mcid_points BETWEEN 0.5 AND 10),
	mcid_percent          BIGINT NOT NULL CHECK (mcid_percent BETWEEN 1 AND 100),
	inactive_days         BIGINT NOT NULL CHECK (inactive_days BETWEEN 1 AND 90),
	updated_by            TEXT COLLATE "C" NOT NULL CHECK (updated_by <> ''),
	update_time           TEXT COLLATE "C" NOT NULL CHECK (update_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$')
);

-- ---- Outcome questionnaires (SQLite 0006). ----

CREATE TABLE questionnaire_assignments (
	id            TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	patient_id    TEXT COLLATE "C" NOT NULL REFERENCES patients (id),
	instrument_id TEXT COLLATE "C" NOT NULL CHECK (instrument_id <> ''),
	start_date    TEXT COLLATE "C" NOT NULL CHECK (start_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
	every_weeks   BIGINT NOT NULL CHECK (every_weeks BETWEEN 0 AND 52),
	visit_dates   TEXT COLLATE "C" NOT NULL CHECK (json_typeof(visit_dates::json) = 'array'),
	end_date      TEXT COLLATE "C" CHECK (end_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' AND end_date >= start_date),
	created_by    TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
	create_time   TEXT COLLATE "C" NOT NULL CHECK (create_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	end_time      TEXT COLLATE "C" CHECK (end_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	ended_by      TEXT COLLATE "C" REFERENCES accounts (id),
	CHECK ((end_time IS NULL) = (ended_by IS NULL))
);

CREATE UNIQUE INDEX questionnaire_assignments_active ON questionnaire_assignments (patient_id, instrument_id)
	WHERE end_time IS NULL;
CREATE INDEX questionnaire_assignments_patient ON questionnaire_assignments (patient_id, create_time);

CREATE TRIGGER questionnaire_assignments_fixed BEFORE UPDATE OF id, patient_id, instrument_id, start_date, every_weeks,
	visit_dates, end_date, created_by, create_time ON questionnaire_assignments
	FOR EACH ROW EXECUTE FUNCTION hep_refuse('questionnaire_assignments: an assignment''s schedule never changes');
CREATE TRIGGER questionnaire_assignments_end_final BEFORE UPDATE OF end_time, ended_by ON questionnaire_assignments
	FOR EACH ROW WHEN (OLD.end_time IS NOT NULL)
	EXECUTE FUNCTION hep_refuse('questionnaire_assignments: an ended assignment stays ended');
CREATE TRIGGER questionnaire_assignments_no_delete BEFORE DELETE ON questionnaire_assignments
	FOR EACH ROW EXECUTE FUNCTION hep_refuse('questionnaire_assignments is append-only');

CREATE TABLE questionnaire_responses (
	id                      TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	patient_id              TEXT COLLATE "C" NOT NULL REFERENCES patients (id),
	device_id               TEXT COLLATE "C" NOT NULL REFERENCES devices (id),
	assignment_id           TEXT COLLATE "C" NOT NULL REFERENCES questionnaire_assignments (id),
	slot_date               TEXT COLLATE "C" NOT NULL CHECK (slot_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
	authored_time           TEXT COLLATE "C" NOT NULL CHECK (authored_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	corrected_authored_time TEXT COLLATE "C" NOT NULL CHECK (corrected_authored_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	receive_time            TEXT COLLATE "C" NOT NULL CHECK (receive_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	answers                 TEXT COLLATE "C" NOT NULL CHECK (json_typeof(answers::json) = 'array'),
	supersedes              TEXT COLLATE "C" REFERENCES questionnaire_responses (id) CHECK (supersedes <> id),
	content_hash            TEXT COLLATE "C" NOT NULL CHECK (length(content_hash) = 64),
	superseded_by           TEXT COLLATE "C" REFERENCES questionnaire_responses (id) DEFERRABLE INITIALLY DEFERRED CHECK (superseded_by <> id)
);

CREATE UNIQUE INDEX questionnaire_responses_slot ON questionnaire_responses (assignment_id, slot_date)
	WHERE superseded_by IS NULL;
CREATE INDEX questionnaire_responses_live ON questionnaire_responses (patient_id, slot_date, id)
	WHERE superseded_by IS NULL;

CREATE TRIGGER questionnaire_responses_content_fixed BEFORE UPDATE OF id, patient_id, device_id, assignment_id, slot_date,
	authored_time, corrected_authored_time, receive_time, answers, supersedes, content_hash ON questionnaire_responses
	FOR EACH ROW EXECUTE FUNCTION hep_refuse('questionnaire_responses: a response''s content never changes');
CREATE TRIGGER questionnaire_responses_end_final BEFORE UPDATE OF superseded_by ON questionnaire_responses
	FOR EACH ROW WHEN (OLD.superseded_by IS NOT NULL)
	EXECUTE FUNCTION hep_refuse('questionnaire_responses: a superseded response stays so');
CREATE TRIGGER questionnaire_responses_no_delete BEFORE DELETE ON questionnaire_responses
	FOR EACH ROW EXECUTE FUNCTION hep_refuse('questionnaire_responses is append-only');

-- seq is SQLite's rowid: an identity here, which a copy of rows with their
-- seq must move past (setval) afterwards.
CREATE TABLE instrument_texts (
	seq           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	instrument_id TEXT COLLATE "C" NOT NULL CHECK (instrument_id <> ''),
	questionnaire TEXT COLLATE "C" NOT NULL CHECK (json_typeof(questionnaire::json) IS NOT NULL),
	imported_by   TEXT COLLATE "C" NOT NULL CHECK (imported_by <> ''),
	import_time   TEXT COLLATE "C" NOT NULL CHECK (import_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$')
);
CREATE INDEX instrument_texts_instrument ON instrument_texts (instrument_id, seq);

CREATE TRIGGER instrument_texts_fixed BEFORE UPDATE ON instrument_texts
	FOR EACH ROW EXECUTE FUNCTION hep_refuse('instrument_texts is append-only');
CREATE TRIGGER instrument_texts_no_delete BEFORE DELETE ON instrument_texts
	FOR EACH ROW EXECUTE FUNCTION hep_refuse('instrument_texts is append-only');

-- ---- Messages (SQLite 0008). ----

CREATE TABLE messages (
	id              TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	patient_id      TEXT COLLATE "C" NOT NULL REFERENCES patients (id),
	thread_seq      BIGINT NOT NULL CHECK (thread_seq > 0),
	sender          TEXT COLLATE "C" NOT NULL CHECK (sender IN ('PATIENT', 'CLINICIAN', 'SYSTEM')),
	sender_id       TEXT COLLATE "C" NOT NULL CHECK (sender_id <> ''),
	body            TEXT COLLATE "C" NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
	sent_time       TEXT COLLATE "C" NOT NULL CHECK (sent_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	phone_sent_time TEXT COLLATE "C" CHECK (phone_sent_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	content_hash    TEXT COLLATE "C" CHECK (length(content_hash) = 64),
	receive_time    TEXT COLLATE "C" NOT NULL CHECK (receive_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'),
	CHECK ((sender = 'PATIENT') = (content_hash IS NOT NULL AND phone_sent_time IS NOT NULL)),
	UNIQUE (patient_id, thread_seq)
);

CREATE INDEX messages_rate ON messages (patient_id, sender, receive_time);

CREATE TRIGGER messages_fixed BEFORE UPDATE ON messages
	FOR EACH ROW EXECUTE FUNCTION hep_refuse('messages is append-only');
CREATE TRIGGER messages_no_delete BEFORE DELETE ON messages
	FOR EACH ROW EXECUTE FUNCTION hep_refuse('messages is append-only');

-- ---- The built-in catalog, version 2 (as SQLite 0002 seeds it). ----
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
