package auth

import (
	"bytes"
	"testing"
	"time"
)

// The decoders below read untrusted input straight off the network.

func FuzzVerify(f *testing.F) {
	s, _ := NewSigner(bytes.Repeat([]byte{3}, 32))
	now := time.Unix(1_800_000_000, 0)
	f.Add(s.Sign(Claims{SessionID: "s", Subject: "u", Role: "ADMIN", ExpiresAt: now.Unix() + 60}))
	f.Add("hep1..")
	f.Add("hep1.e30.AAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := s.Verify(tok, now)
		if err == nil && (c.SessionID == "" || c.Subject == "" || c.ExpiresAt <= now.Unix()) {
			t.Fatalf("accepted %q as %+v", tok, c)
		}
		if err == nil && s.Sign(c) == "" {
			t.Fatal("unreachable")
		}
	})
}

func FuzzOpen(f *testing.F) {
	s, _ := NewSigner(bytes.Repeat([]byte{4}, 32))
	f.Add(s.Seal("k", []byte(`{"a":"x"}`)))
	f.Add(".")
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := s.Open("k", tok)
		if err == nil && s.Seal("k", p) != tok {
			// Only tokens the signer made open; they re-seal identically.
			t.Fatalf("opened foreign token %q", tok)
		}
	})
}

func FuzzNormalizeEnrollmentCode(f *testing.F) {
	f.Add("ABCD-EFGH-JKMN-PQRS")
	f.Add("oooo llll iiii 0000")
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeEnrollmentCode(s)
		if n == "" {
			return
		}
		if len(n) != EnrollCodeLen || NormalizeEnrollmentCode(n) != n {
			t.Fatalf("Normalize(%q) = %q is not a fixed point of length %d", s, n, EnrollCodeLen)
		}
	})
}
