package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hepclinic/hep/internal/hep"
)

// mapErr turns what PostgreSQL and pgx report into what hep callers
// expect: *hep.Error values pass through; a lost or refused connection, a
// server shutting down or starting up, too many connections, and a
// serialization failure or deadlock still failing after the retries
// become UNAVAILABLE (the caller may retry; nothing was written, except
// when the connection was lost during COMMIT, where a retry of hep's
// idempotent calls is harmless); anything else stays an internal error,
// prefixed so the log says where it came from. PostgreSQL's messages name
// constraints, tables and columns; a unique violation's Detail repeats the
// key's values, so only the message (never Detail) is kept.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var he *hep.Error
	if errors.As(err, &he) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// The caller's own deadline or cancellation: the transport maps
		// these; keep them recognisable.
		if strings.HasPrefix(err.Error(), "postgres: ") {
			return err
		}
		return fmt.Errorf("postgres: %w", err)
	}
	if isSerialization(err) {
		return hep.Errorf(hep.CodeUnavailable, "the database is busy; retry")
	}
	if isConnErr(err) {
		return hep.Errorf(hep.CodeUnavailable, "the database is unavailable; retry")
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Only the message: Detail may hold values (a duplicate key's).
		return fmt.Errorf("postgres: %s (SQLSTATE %s)", pe.Message, pe.Code)
	}
	if strings.HasPrefix(err.Error(), "postgres: ") {
		return err
	}
	return fmt.Errorf("postgres: %w", err)
}

// sqlState is err's SQLSTATE, or "".
func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// isSerialization reports a serialization failure (40001) or a deadlock
// (40P01): the transaction was rolled back and may simply run again.
func isSerialization(err error) bool {
	switch sqlState(err) {
	case "40001", "40P01":
		return true
	}
	return false
}

// isConnErr reports whether err means the database could not be reached
// or the session was lost: connection exceptions (class 08), the server
// shutting down or starting up (57P01-57P03), too many connections
// (53300), and network errors below pgx.
func isConnErr(err error) bool {
	if err == nil {
		return false
	}
	switch c := sqlState(err); {
	case strings.HasPrefix(c, "08"), c == "57P01", c == "57P02", c == "57P03", c == "53300":
		return true
	case c != "":
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone), errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		pgconn.SafeToRetry(err):
		return true
	}
	// pgx reports a session it gave up on mid-protocol in words.
	msg := err.Error()
	return strings.Contains(msg, "conn closed") ||
		strings.Contains(msg, "failed to deallocate cached statement")
}

// retryable reports whether a failed attempt of a transaction that did not
// reach COMMIT may run again: nothing of it was committed.
func retryable(err error) bool {
	return isSerialization(err) || errors.Is(err, errRetry) || isConnErr(err)
}

// isUnique reports whether err is a unique (or primary key) violation on
// column, given as the SQLite store's "table.column" (or "table." for any
// unique index of the table): PostgreSQL names the constraint, and the
// schema's constraint names start with their table (accounts_email_key,
// clearances_live, exercises_pkey).
func isUnique(err error, column string) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" {
		return false
	}
	table, col, _ := strings.Cut(column, ".")
	if pe.TableName != "" && pe.TableName != table {
		return false
	}
	if col == "" {
		return true
	}
	c := pe.ConstraintName
	if c == table+"_pkey" && col == "id" {
		return true
	}
	return strings.Contains(c, "_"+col)
}

// Redact returns url with its password, if any, replaced by "xxxxx"; a
// URL that does not parse is replaced whole (it might be a password).
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return "(database URL)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// redactErr is err's message on one line, without the URL's password in
// it (pgx's parse errors can quote the string they failed on; its connect
// errors list each address tried on a line of its own).
func redactErr(err error, raw string) string {
	msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
	if u, perr := url.Parse(raw); perr == nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
			msg = strings.ReplaceAll(msg, url.QueryEscape(pw), "xxxxx")
			msg = strings.ReplaceAll(msg, url.PathEscape(pw), "xxxxx")
		}
		if pw := u.Query().Get("password"); pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	} else {
		msg = strings.ReplaceAll(msg, raw, "(database URL)")
	}
	return msg
}

// hasParam reports whether the URL sets query parameter name.
func hasParam(raw, name string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Query().Has(name)
}
