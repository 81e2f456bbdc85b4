package sqlite

import (
	"errors"
	"fmt"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hepclinic/hep/internal/hep"
)

// mapErr turns what SQLite reports into what hep callers expect: *hep.Error
// values pass through, a busy or locked database becomes UNAVAILABLE (the
// caller may retry), and anything else stays an internal error, prefixed so
// the log says where it came from. SQLite messages name tables and columns,
// never values, so no health data or PII reaches a log line through here.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var he *hep.Error
	if errors.As(err, &he) {
		return err
	}
	if isBusy(err) {
		return hep.Errorf(hep.CodeUnavailable, "the database is busy; retry")
	}
	if strings.HasPrefix(err.Error(), "sqlite: ") {
		return err
	}
	return fmt.Errorf("sqlite: %w", err)
}

// isBusy reports whether err is SQLITE_BUSY or SQLITE_LOCKED (any extended
// code): another process held the lock beyond busy_timeout.
func isBusy(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY violation on
// column (as "table.column").
func isUnique(err error, column string) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	if se.Code() != sqlite3.SQLITE_CONSTRAINT_UNIQUE && se.Code() != sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		return false
	}
	return strings.Contains(se.Error(), column)
}
