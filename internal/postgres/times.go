package postgres

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

// parseTS parses a stored time: by hand for the fixed-width form hep
// writes (time.Parse was a sixth of an export's read), with time.Parse for
// anything else so that its error names what is wrong.
func parseTS(s string) (time.Time, error) {
	if t, ok := fastTS(s); ok {
		return t, nil
	}
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("postgres: stored time %q: %w", s, err)
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
	return fmt.Errorf("postgres: cannot scan %T as a time", v)
}

// tcol returns a scan destination for a time column.
func tcol(p *time.Time) timeCol { return timeCol{p} }

// fastTS parses the fixed-width stored form 2006-01-02T15:04:05.000000000Z
// (ok false for anything else).
func fastTS(s string) (time.Time, bool) {
	if len(s) != len(timeLayout) || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
		s[19] != '.' || s[29] != 'Z' {
		return time.Time{}, false
	}
	ok := true
	num := func(from, to int) int {
		n := 0
		for i := from; i < to; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				ok = false
				return 0
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	y, mo, d := num(0, 4), num(5, 7), num(8, 10)
	h, mi, sec, ns := num(11, 13), num(14, 16), num(17, 19), num(20, 29)
	if !ok || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, ns, time.UTC)
	if t.Day() != d { // February 30th and the like
		return time.Time{}, false
	}
	return t, true
}
