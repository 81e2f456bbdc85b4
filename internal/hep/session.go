package hep

import "time"

// Token lifetimes. Access tokens are short so that a revoked session, device or
// account stops quickly even for a verifier that did not look it up; hep looks
// sessions up on every call anyway.
const (
	AccessTokenTTL  = 10 * time.Minute
	RefreshTokenTTL = 30 * 24 * time.Hour
)

// Session is one sign-in of an account or one enrollment of a device: the
// family of its rotating refresh tokens. Revoking it ends them all.
type Session struct {
	ID         string
	Role       Role
	AccountID  string // admins and clinicians
	DeviceID   string // patients
	PatientID  string // patients
	CreateTime time.Time
	RevokeTime time.Time // zero while live
}

// Live reports whether the session is usable.
func (s Session) Live() bool { return s.RevokeTime.IsZero() }

// PrincipalID is the account id or, for devices, the device id.
func (s Session) PrincipalID() string {
	if s.DeviceID != "" {
		return s.DeviceID
	}
	return s.AccountID
}

// RefreshToken is a refresh token as the store keeps it: only its hash.
type RefreshToken struct {
	Hash       string
	ExpireTime time.Time
}

// SessionStart is the input of Store.StartSession (an account signing in).
type SessionStart struct {
	AccountID string
	Refresh   RefreshToken
}
