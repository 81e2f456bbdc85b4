package hepclient

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// schemaVersion is the local file's layout version (PRAGMA user_version).
const schemaVersion = 1

// schema is the local state file. Times are Unix nanoseconds on the phone's
// clock. Every table is described in the package documentation.
const schema = `
CREATE TABLE IF NOT EXISTS device (
	singleton      INTEGER PRIMARY KEY CHECK (singleton = 1),
	device_id      TEXT    NOT NULL DEFAULT '',
	patient_id     TEXT    NOT NULL DEFAULT '',
	access_token   TEXT    NOT NULL DEFAULT '',
	access_expire  INTEGER NOT NULL DEFAULT 0, -- phone clock, see tokenExpiry
	refresh_token  TEXT    NOT NULL DEFAULT '',
	refresh_expire INTEGER NOT NULL DEFAULT 0, -- server clock, informational
	session_ended  TEXT    NOT NULL DEFAULT '', -- why the session is over; '' = live
	next_seq       INTEGER NOT NULL DEFAULT 1,  -- the next mutation sequence to hand out
	acked_seq      INTEGER NOT NULL DEFAULT 0,  -- the server's last_sequence as last seen
	cursor         TEXT    NOT NULL DEFAULT '',
	reset_cursor   TEXT,                        -- not NULL while a reset is under way
	last_sync      INTEGER NOT NULL DEFAULT 0
);
INSERT OR IGNORE INTO device (singleton) VALUES (1);
CREATE TABLE IF NOT EXISTS outbox (
	seq         INTEGER PRIMARY KEY,
	mutation    BLOB    NOT NULL, -- hep.v1.Mutation without its sequence
	create_time INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS journal (
	seq      INTEGER PRIMARY KEY,
	mutation BLOB    NOT NULL,
	ack_time INTEGER NOT NULL,
	pulled   INTEGER NOT NULL DEFAULT 0 -- a complete pull has run since the ack
);
CREATE TABLE IF NOT EXISTS rejected (
	seq         INTEGER NOT NULL,
	device_id   TEXT    NOT NULL,
	mutation    BLOB    NOT NULL,
	reason      TEXT    NOT NULL,
	field       TEXT    NOT NULL,
	reject_time INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
	kind    TEXT    NOT NULL, -- the domain kind name: EXERCISE_LOG, PAIN_CHECKIN, ...
	id      TEXT    NOT NULL,
	seq     INTEGER NOT NULL, -- the patient change sequence of its last change
	payload BLOB    NOT NULL, -- hep.v1.Record
	PRIMARY KEY (kind, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reset_records (
	kind    TEXT    NOT NULL,
	id      TEXT    NOT NULL,
	seq     INTEGER NOT NULL,
	payload BLOB    NOT NULL,
	PRIMARY KEY (kind, id)
) WITHOUT ROWID;
`

// stateDSN opens the state file with the pragmas on every connection: WAL,
// synchronous=FULL (a committed local transaction survives power loss, so
// "logged" means logged), and immediate transactions, so two writers never
// deadlock on a lock upgrade.
func stateDSN(path string) string {
	p := (&url.URL{Path: path}).EscapedPath()
	q := []string{
		"_pragma=busy_timeout(10000)",
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(FULL)",
		"_txlock=immediate",
	}
	return "file:" + p + "?" + strings.Join(q, "&")
}

// openState opens (creating if needed) the state file at path. One
// connection serializes every local transaction of the process.
func openState(ctx context.Context, path string) (*sql.DB, error) {
	if path == "" {
		return nil, errors.New("hepclient: Options.StatePath is required")
	}
	db, err := sql.Open("sqlite", stateDSN(path))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		db.Close()
		return nil, fmt.Errorf("hepclient: opening %s: %w", path, err)
	}
	if v > schemaVersion {
		db.Close()
		return nil, fmt.Errorf("hepclient: %s has layout %d, newer than this library (%d)", path, v, schemaVersion)
	}
	if _, err := db.ExecContext(ctx, schema+fmt.Sprintf("PRAGMA user_version = %d;", schemaVersion)); err != nil {
		db.Close()
		return nil, fmt.Errorf("hepclient: creating %s: %w", path, err)
	}
	return db, nil
}

// inTx runs f in one local transaction: committed if f returns nil, rolled
// back otherwise.
func (c *Client) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// credentials are the device's identity and token pair.
type credentials struct {
	DeviceID, PatientID string
	AccessToken         string
	AccessExpire        time.Time // on the phone's clock
	RefreshToken        string
	RefreshExpire       time.Time
	SessionEnded        string // why the session is over; "" while it lives
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func loadCredentials(ctx context.Context, q querier) (credentials, error) {
	var c credentials
	var ae, re int64
	err := q.QueryRowContext(ctx, `SELECT device_id, patient_id, access_token, access_expire, refresh_token, refresh_expire, session_ended
		FROM device`).Scan(&c.DeviceID, &c.PatientID, &c.AccessToken, &ae, &c.RefreshToken, &re, &c.SessionEnded)
	c.AccessExpire, c.RefreshExpire = fromNanos(ae), fromNanos(re)
	return c, err
}

func saveCredentials(ctx context.Context, tx *sql.Tx, c credentials) error {
	_, err := tx.ExecContext(ctx, `UPDATE device SET device_id = ?, patient_id = ?, access_token = ?, access_expire = ?,
		refresh_token = ?, refresh_expire = ?, session_ended = ?`,
		c.DeviceID, c.PatientID, c.AccessToken, nanos(c.AccessExpire), c.RefreshToken, nanos(c.RefreshExpire), c.SessionEnded)
	return err
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}
