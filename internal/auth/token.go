package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Strict decoding: a token has exactly one spelling, so a re-encoded token
// cannot pass for the original.
var b64url = base64.RawURLEncoding.Strict()

// Claims are what an access token asserts. Tokens are verified by signature
// and expiry; the session they name is also looked up on every call so that
// revocation is immediate.
type Claims struct {
	SessionID string `json:"sid"`
	Subject   string `json:"sub"` // account id or device id
	Role      string `json:"rol"`
	PatientID string `json:"pid,omitempty"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp"`
}

// Errors from Verify. Both mean UNAUTHENTICATED to the caller.
var (
	ErrTokenMalformed = errors.New("auth: malformed access token")
	ErrTokenExpired   = errors.New("auth: access token expired")
)

const accessPrefix = "hep1."

// Signer signs and verifies access tokens with an HMAC-SHA256 key that the
// server keeps in its database (never on a command line).
type Signer struct {
	key []byte
}

// NewSigner returns a Signer for a key of at least 32 bytes.
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < 32 {
		return nil, errors.New("auth: signing key must be at least 32 bytes")
	}
	return &Signer{key: append([]byte(nil), key...)}, nil
}

func (s *Signer) mac(domain, payload string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(domain))
	m.Write([]byte{0})
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// Sign returns an access token for c.
func (s *Signer) Sign(c Claims) string {
	body, _ := json.Marshal(c) // Claims always marshals
	payload := b64url.EncodeToString(body)
	return accessPrefix + payload + "." + b64url.EncodeToString(s.mac("access", payload))
}

// Verify checks a token's signature and expiry at now.
func (s *Signer) Verify(token string, now time.Time) (Claims, error) {
	var c Claims
	if len(token) > 2048 || !strings.HasPrefix(token, accessPrefix) {
		return c, ErrTokenMalformed
	}
	payload, sig, ok := strings.Cut(token[len(accessPrefix):], ".")
	if !ok {
		return c, ErrTokenMalformed
	}
	gotSig, err := b64url.DecodeString(sig)
	if err != nil || !hmac.Equal(gotSig, s.mac("access", payload)) {
		return c, ErrTokenMalformed
	}
	body, err := b64url.DecodeString(payload)
	if err != nil || json.Unmarshal(body, &c) != nil || c.SessionID == "" || c.Subject == "" {
		return Claims{}, ErrTokenMalformed
	}
	if now.Unix() >= c.ExpiresAt {
		return Claims{}, ErrTokenExpired
	}
	return c, nil
}

// Seal returns an opaque, tamper-evident token carrying payload, bound to
// kind (so a page token of one list cannot be replayed on another). It is
// signed, not encrypted: payloads must not be secret.
func (s *Signer) Seal(kind string, payload []byte) string {
	p := b64url.EncodeToString(payload)
	return p + "." + b64url.EncodeToString(s.mac("seal:"+kind, p)[:16])
}

// ErrSealBroken is returned by Open for a token that was not made by Seal
// with this key and kind.
var ErrSealBroken = errors.New("auth: invalid token")

// Open verifies and returns a sealed payload.
func (s *Signer) Open(kind, token string) ([]byte, error) {
	p, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 4096 {
		return nil, ErrSealBroken
	}
	gotSig, err := b64url.DecodeString(sig)
	if err != nil || !hmac.Equal(gotSig, s.mac("seal:"+kind, p)[:16]) {
		return nil, ErrSealBroken
	}
	payload, err := b64url.DecodeString(p)
	if err != nil {
		return nil, ErrSealBroken
	}
	return payload, nil
}

// NewRefreshToken returns a fresh opaque refresh token.
func NewRefreshToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return "hrt1_" + b64url.EncodeToString(b)
}

// HashSecret returns the hex SHA-256 of a high-entropy secret (a refresh
// token or a normalized enrollment code): what the database stores.
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}
