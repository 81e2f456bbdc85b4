package auth

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

var testParams = Params{Memory: 64, Time: 1, Threads: 1}

func TestPasswordRoundTrip(t *testing.T) {
	h, err := HashPassword("correct horse battery", testParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q is not PHC argon2id", h)
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{{"correct horse battery", true}, {"correct horse batterY", false}, {"", false}} {
		got, err := VerifyPassword(h, tc.pw)
		if err != nil || got != tc.want {
			t.Errorf("VerifyPassword(%q) = %v, %v; want %v", tc.pw, got, err, tc.want)
		}
	}
	h2, _ := HashPassword("correct horse battery", testParams)
	if h == h2 {
		t.Error("two hashes of one password are equal: salt not random")
	}
}

func TestVerifyPasswordMalformed(t *testing.T) {
	for _, h := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=0,t=1,p=1$AAAA$AAAA",
		"$argon2id$v=18$m=64,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=64,t=1,p=1$!!$AAAA", "$argon2id$v=19$m=64,t=1,p=1$AAAA$"} {
		if _, err := VerifyPassword(h, "x"); err != ErrMalformedHash {
			t.Errorf("VerifyPassword(%q) err = %v, want ErrMalformedHash", h, err)
		}
	}
}

func TestAccessToken(t *testing.T) {
	s, err := NewSigner(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	c := Claims{SessionID: "s", Subject: "u", Role: "CLINICIAN", IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Minute).Unix()}
	tok := s.Sign(c)
	got, err := s.Verify(tok, now)
	if err != nil || got != c {
		t.Fatalf("Verify = %+v, %v; want %+v", got, err, c)
	}
	if _, err := s.Verify(tok, now.Add(time.Minute)); err != ErrTokenExpired {
		t.Errorf("at expiry: err = %v, want ErrTokenExpired", err)
	}
	other, _ := NewSigner(bytes.Repeat([]byte{8}, 32))
	tampered := tok[:len(tok)-2] + "AA"
	for name, bad := range map[string]string{
		"other key": other.Sign(c), "tampered": tampered, "empty": "", "no prefix": tok[5:],
		"long": strings.Repeat("a", 5000), "no sig": "hep1.abc",
	} {
		if _, err := s.Verify(bad, now); err != ErrTokenMalformed {
			t.Errorf("%s: err = %v, want ErrTokenMalformed", name, err)
		}
	}
	if _, err := NewSigner([]byte("short")); err == nil {
		t.Error("NewSigner accepted a short key")
	}
}

func TestSeal(t *testing.T) {
	s, _ := NewSigner(bytes.Repeat([]byte{1}, 32))
	tok := s.Seal("patients", []byte("after-id"))
	got, err := s.Open("patients", tok)
	if err != nil || string(got) != "after-id" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	for name, bad := range map[string]string{"other kind": "", "flipped": "X" + tok[1:], "garbage": "zzz", "empty": ""} {
		kind := "patients"
		if name == "other kind" {
			kind, bad = "accounts", tok
		}
		if _, err := s.Open(kind, bad); err != ErrSealBroken {
			t.Errorf("%s: err = %v, want ErrSealBroken", name, err)
		}
	}
}

func TestEnrollmentCode(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		c := NewEnrollmentCode()
		if len(c) != 19 || seen[c] {
			t.Fatalf("code %q: bad length or repeated", c)
		}
		seen[c] = true
		n := NormalizeEnrollmentCode(strings.ToLower(c))
		if n != strings.ReplaceAll(c, "-", "") {
			t.Fatalf("Normalize(%q) = %q", c, n)
		}
	}
	if got := NormalizeEnrollmentCode("oooo-llll-iiii-0000"); got != "0000111111110000" {
		t.Errorf("look-alikes: got %q", got)
	}
	for _, bad := range []string{"", "ABCD", "ABCD-EFGH-JKMN-PQRU", "ABCD-EFGH-JKMN-PQRS-T", "ÄBCD-EFGH-JKMN-PQRS"} {
		if got := NormalizeEnrollmentCode(bad); got != "" {
			t.Errorf("Normalize(%q) = %q, want empty", bad, got)
		}
	}
}
