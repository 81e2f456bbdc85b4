package hep

import (
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on free text. They keep rows small and reject garbage early.
const (
	MaxEmailLen       = 254
	MaxDisplayNameLen = 200
	MinPasswordLen    = 12
	MaxPasswordLen    = 256
	MaxTimeZoneLen    = 64
	MaxMRNLen         = 64
	MaxDeviceNameLen  = 100
	MaxIDLen          = 64
)

// checkText validates a required or optional single-line text field: valid
// UTF-8, no control characters, no surrounding space, length in runes.
func checkText(v *Violations, field, s string, required bool, max int) {
	checkString(v, field, s, required, max, false)
}

// checkMultiline validates free text that may span lines: as checkText, but
// newlines and tabs are allowed and surrounding space is kept.
func checkMultiline(v *Violations, field, s string, required bool, max int) {
	checkString(v, field, s, required, max, true)
}

func checkString(v *Violations, field, s string, required bool, max int, multiline bool) {
	control := func(r rune) bool {
		return unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t' || r == '\r'))
	}
	switch {
	case !utf8.ValidString(s):
		v.Add(field, "must be valid UTF-8")
	case s == "" && required:
		v.Add(field, "is required")
	case utf8.RuneCountInString(s) > max:
		v.Add(field, "must be at most %d characters", max)
	case !multiline && strings.TrimSpace(s) != s:
		v.Add(field, "must not start or end with white space")
	case strings.IndexFunc(s, control) >= 0:
		v.Add(field, "must not contain control characters")
	}
}

// NormalizeEmail lower-cases and trims an email address.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func checkEmail(v *Violations, field, s string) {
	if !utf8.ValidString(s) {
		v.Add(field, "must be valid UTF-8")
		return
	}
	if s == "" {
		v.Add(field, "is required")
		return
	}
	if len(s) > MaxEmailLen {
		v.Add(field, "must be at most %d bytes", MaxEmailLen)
		return
	}
	a, err := mail.ParseAddress(s)
	at := strings.LastIndexByte(s, '@')
	if err != nil || a.Address != s || a.Name != "" || at < 1 || !strings.Contains(s[at+1:], ".") ||
		strings.ContainsAny(s, " \t\r\n<>\"") {
		v.Add(field, "must be a plain email address such as name@clinic.example")
	}
}

func checkPassword(v *Violations, field, s string) {
	switch n := utf8.RuneCountInString(s); {
	case !utf8.ValidString(s):
		v.Add(field, "must be valid UTF-8")
	case n < MinPasswordLen:
		v.Add(field, "must be at least %d characters", MinPasswordLen)
	case n > MaxPasswordLen:
		v.Add(field, "must be at most %d characters", MaxPasswordLen)
	}
}

// CheckTimeZone reports whether name is an IANA time zone hep accepts.
func CheckTimeZone(name string) bool {
	if name == "" || len(name) > MaxTimeZoneLen || name == "Local" || !utf8.ValidString(name) {
		return false
	}
	_, err := time.LoadLocation(name)
	return err == nil
}

func checkTimeZone(v *Violations, field, s string) {
	if s == "" {
		v.Add(field, "is required")
	} else if !CheckTimeZone(s) {
		v.Add(field, "must be an IANA time zone name such as Europe/Lisbon")
	}
}

// CheckID adds a violation unless id looks like a hep id (a UUID in its
// canonical text form). A malformed id is INVALID_ARGUMENT; a well-formed id
// of an object the caller may not see is NOT_FOUND.
func CheckID(v *Violations, field, id string) {
	if id == "" {
		v.Add(field, "is required")
		return
	}
	if !isUUID(id) {
		v.Add(field, "must be a UUID")
	}
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// CheckPageSize validates a List page size: 0 means def, otherwise 1..max.
func CheckPageSize(v *Violations, size int32, def, max int) int {
	if size < 0 || int(size) > max {
		v.Add("page_size", "must be between 0 and %d", max)
		return def
	}
	if size == 0 {
		return def
	}
	return int(size)
}
