-- The reads file: the audit trail's reads chain (hep.ChainReads), beside
-- the main database file. It holds the audit rows of calls that changed
-- nothing (reads of patient data, and calls that failed or were refused).
-- It is its own file, with its own writer, so that a clinician's read
-- commits its audit row without waiting behind a phone's push on the main
-- file's one writer. Rows are group-committed: every row waiting when a
-- transaction starts goes into it, and each caller is released only when
-- its row is durable (synchronous=FULL).
--
-- The table is the main file's audit_events, column for column. The first
-- event's prev_hash is hep.ChainGenesis('reads'), which binds the chain to
-- its name.
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

CREATE INDEX audit_events_time ON audit_events (time);
CREATE INDEX audit_events_patient ON audit_events (patient_id, seq);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
	SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
	SELECT RAISE(ABORT, 'audit_events is append-only');
END;
