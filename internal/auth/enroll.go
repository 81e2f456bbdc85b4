package auth

import (
	"crypto/rand"
	"strings"
)

// Enrollment codes use Crockford's base32 alphabet (no I, L, O, U) so they
// survive being read aloud or typed on a phone: 16 symbols = 80 bits.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// EnrollCodeLen is the number of symbols in an enrollment code.
const EnrollCodeLen = 16

// NewEnrollmentCode returns a code formatted as XXXX-XXXX-XXXX-XXXX.
func NewEnrollmentCode() string {
	b := make([]byte, EnrollCodeLen)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	var sb strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(crockford[c&31])
	}
	return sb.String()
}

// NormalizeEnrollmentCode upper-cases a typed code, drops dashes and spaces and
// maps the look-alikes I, L to 1 and O to 0. It returns "" for anything that
// cannot be a code.
func NormalizeEnrollmentCode(s string) string {
	if len(s) > 64 {
		return ""
	}
	var sb strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || r == ' ':
			continue
		case r == 'I' || r == 'L':
			r = '1'
		case r == 'O':
			r = '0'
		}
		if !strings.ContainsRune(crockford, r) {
			return ""
		}
		sb.WriteRune(r)
	}
	if sb.Len() != EnrollCodeLen {
		return ""
	}
	return sb.String()
}
