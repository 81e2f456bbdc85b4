-- 0001: accounts, patients, care teams, devices, enrollment codes, sessions,
-- refresh tokens, server secrets and the audit trail.
--
-- Conventions:
--   * Tables are STRICT, so a value of the wrong type is an error, not a
--     silent conversion.
--   * Ids are UUIDv7 text; they sort in creation order, which is what the
--     paged lists use as their keyset.
--   * Times are TEXT in one fixed-width UTC form, 2006-01-02T15:04:05.000000000Z,
--     so they round-trip to the nanosecond and compare correctly as text. The
--     GLOB checks keep any other form out, because one stray format would
--     break every range query.
--   * Optional references are NULL; optional free text is ''.

CREATE TABLE accounts (
	id            TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	email         TEXT    NOT NULL UNIQUE CHECK (email <> ''),
	display_name  TEXT    NOT NULL CHECK (display_name <> ''),
	role          TEXT    NOT NULL CHECK (role IN ('ADMIN', 'CLINICIAN')),
	password_hash TEXT    NOT NULL CHECK (password_hash <> ''),
	disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
	create_time   TEXT    NOT NULL CHECK (create_time GLOB '????-??-??T??:??:??.?????????Z'),
	update_time   TEXT    NOT NULL CHECK (update_time GLOB '????-??-??T??:??:??.?????????Z')
) STRICT;

-- ListAccounts filtered by role pages by id within the role; CountAdmins
-- counts one role.
CREATE INDEX accounts_role_id ON accounts (role, id);

CREATE TABLE patients (
	id           TEXT NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	display_name TEXT NOT NULL CHECK (display_name <> ''),
	time_zone    TEXT NOT NULL CHECK (time_zone <> ''),
	external_mrn TEXT NOT NULL DEFAULT '',
	create_time  TEXT NOT NULL CHECK (create_time GLOB '????-??-??T??:??:??.?????????Z'),
	update_time  TEXT NOT NULL CHECK (update_time GLOB '????-??-??T??:??:??.?????????Z')
) STRICT;

CREATE TABLE care_team (
	patient_id   TEXT NOT NULL REFERENCES patients (id),
	clinician_id TEXT NOT NULL REFERENCES accounts (id),
	add_time     TEXT NOT NULL CHECK (add_time GLOB '????-??-??T??:??:??.?????????Z'),
	PRIMARY KEY (patient_id, clinician_id)
) STRICT, WITHOUT ROWID;

-- ListPatients walks one clinician's patients in id order; OnCareTeam uses
-- the primary key.
CREATE INDEX care_team_clinician ON care_team (clinician_id, patient_id);

CREATE TABLE devices (
	id          TEXT NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	patient_id  TEXT NOT NULL REFERENCES patients (id),
	name        TEXT NOT NULL CHECK (name <> ''),
	platform    TEXT NOT NULL CHECK (platform IN ('', 'IOS', 'ANDROID', 'OTHER')),
	enroll_time TEXT NOT NULL CHECK (enroll_time GLOB '????-??-??T??:??:??.?????????Z'),
	revoke_time TEXT CHECK (revoke_time GLOB '????-??-??T??:??:??.?????????Z')
) STRICT;

CREATE INDEX devices_patient ON devices (patient_id, enroll_time, id);

-- Only the hash of an enrollment code is kept. used_time makes a code
-- single-use; device_id records what it was redeemed for.
CREATE TABLE enrollment_codes (
	code_hash   TEXT NOT NULL PRIMARY KEY CHECK (code_hash <> ''),
	patient_id  TEXT NOT NULL REFERENCES patients (id),
	created_by  TEXT NOT NULL,
	create_time TEXT NOT NULL CHECK (create_time GLOB '????-??-??T??:??:??.?????????Z'),
	expire_time TEXT NOT NULL CHECK (expire_time GLOB '????-??-??T??:??:??.?????????Z'),
	used_time   TEXT CHECK (used_time GLOB '????-??-??T??:??:??.?????????Z'),
	device_id   TEXT REFERENCES devices (id),
	CHECK ((used_time IS NULL) = (device_id IS NULL))
) STRICT, WITHOUT ROWID;

CREATE INDEX enrollment_codes_patient ON enrollment_codes (patient_id);
CREATE INDEX enrollment_codes_device ON enrollment_codes (device_id) WHERE device_id IS NOT NULL;

-- A session belongs either to an account (admins, clinicians) or to a device
-- acting for its patient, never both.
CREATE TABLE sessions (
	id          TEXT NOT NULL PRIMARY KEY CHECK (length(id) = 36),
	role        TEXT NOT NULL CHECK (role IN ('ADMIN', 'CLINICIAN', 'PATIENT')),
	account_id  TEXT REFERENCES accounts (id),
	device_id   TEXT REFERENCES devices (id),
	patient_id  TEXT REFERENCES patients (id),
	create_time TEXT NOT NULL CHECK (create_time GLOB '????-??-??T??:??:??.?????????Z'),
	revoke_time TEXT CHECK (revoke_time GLOB '????-??-??T??:??:??.?????????Z'),
	CHECK (
		(role = 'PATIENT' AND account_id IS NULL AND device_id IS NOT NULL AND patient_id IS NOT NULL) OR
		(role <> 'PATIENT' AND account_id IS NOT NULL AND device_id IS NULL AND patient_id IS NULL)
	)
) STRICT;

-- Disabling an account and revoking a device revoke their sessions.
CREATE INDEX sessions_account ON sessions (account_id) WHERE account_id IS NOT NULL;
CREATE INDEX sessions_device ON sessions (device_id) WHERE device_id IS NOT NULL;
CREATE INDEX sessions_patient ON sessions (patient_id) WHERE patient_id IS NOT NULL;

-- Only the hash of a refresh token is kept. A used token stays, so that its
-- reuse is recognised as theft rather than as an unknown token.
CREATE TABLE refresh_tokens (
	hash        TEXT NOT NULL PRIMARY KEY CHECK (hash <> ''),
	session_id  TEXT NOT NULL REFERENCES sessions (id),
	create_time TEXT NOT NULL CHECK (create_time GLOB '????-??-??T??:??:??.?????????Z'),
	expire_time TEXT NOT NULL CHECK (expire_time GLOB '????-??-??T??:??:??.?????????Z'),
	used_time   TEXT CHECK (used_time GLOB '????-??-??T??:??:??.?????????Z')
) STRICT, WITHOUT ROWID;

CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE secrets (
	name        TEXT NOT NULL PRIMARY KEY CHECK (name <> ''),
	value       BLOB NOT NULL CHECK (length(value) = 32),
	create_time TEXT NOT NULL CHECK (create_time GLOB '????-??-??T??:??:??.?????????Z')
) STRICT, WITHOUT ROWID;

-- The audit trail: append-only and hash-chained (hep.ChainHash). seq is the
-- rowid, assigned by the store as last+1 inside the writing transaction, so
-- it has no gaps. patient_id is not a foreign key: a failed call may name a
-- patient that does not exist, and the trail must never depend on other rows.
CREATE TABLE audit_events (
	seq        INTEGER NOT NULL PRIMARY KEY CHECK (seq > 0),
	time       TEXT    NOT NULL CHECK (time GLOB '????-??-??T??:??:??.?????????Z'),
	actor_id   TEXT    NOT NULL,
	actor_role TEXT    NOT NULL,
	patient_id TEXT    NOT NULL,
	action     TEXT    NOT NULL,
	resource   TEXT    NOT NULL,
	outcome    TEXT    NOT NULL CHECK (outcome <> ''),
	request_id TEXT    NOT NULL,
	peer       TEXT    NOT NULL,
	prev_hash  TEXT    NOT NULL,
	hash       TEXT    NOT NULL CHECK (length(hash) = 64)
) STRICT;

-- ListAuditEvents selects by time range, optionally for one patient.
CREATE INDEX audit_events_time ON audit_events (time);
CREATE INDEX audit_events_patient ON audit_events (patient_id, seq);

-- Append-only, enforced by the database itself and not only by this code.
-- (Someone with write access to the file can drop these; the hash chain is
-- what detects that.)
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
	SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
	SELECT RAISE(ABORT, 'audit_events is append-only');
END;
