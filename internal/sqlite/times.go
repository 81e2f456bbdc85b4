package sqlite

import (
	"fmt"
	"time"
)

// timeLayout is how every time is stored: UTC, fixed width, nanoseconds.
// Fixed width matters: RFC3339Nano drops trailing zeros, and then text order
// is no longer time order ("…:05.5Z" < "…:05Z").
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// ts formats t for storage.
func ts(t time.Time) string { return t.UTC().Format(timeLayout) }

// nullTS formats t for a nullable column: the zero time is NULL.
func nullTS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ts(t)
}

// parseTS parses a stored time.
func parseTS(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("sqlite: stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// timeCol scans a stored time into *p; NULL scans as the zero time.
type timeCol struct{ p *time.Time }

func (c timeCol) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*c.p = time.Time{}
		return nil
	case string:
		t, err := parseTS(v)
		*c.p = t
		return err
	case []byte:
		t, err := parseTS(string(v))
		*c.p = t
		return err
	}
	return fmt.Errorf("sqlite: cannot scan %T as a time", v)
}

// tcol returns a scan destination for a time column.
func tcol(p *time.Time) timeCol { return timeCol{p} }
