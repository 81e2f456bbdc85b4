package hep

import "time"

// Platform is the kind of device a patient enrolls.
type Platform string

// The platforms.
const (
	PlatformUnspecified Platform = ""
	PlatformIOS         Platform = "IOS"
	PlatformAndroid     Platform = "ANDROID"
	PlatformOther       Platform = "OTHER"
)

// Enrollment limits: a code is short enough to type and lives at most 72 hours.
const (
	DefaultEnrollmentTTL = 24 * time.Hour
	MinEnrollmentTTL     = time.Minute
	MaxEnrollmentTTL     = 72 * time.Hour
)

// Device is a patient's enrolled phone or tablet.
type Device struct {
	ID         string
	PatientID  string
	Name       string
	Platform   Platform
	EnrollTime time.Time
	RevokeTime time.Time // zero while active
}

// Revoked reports whether the device was revoked.
func (d Device) Revoked() bool { return !d.RevokeTime.IsZero() }

// DeviceEnroll is the input of Store.EnrollDevice.
type DeviceEnroll struct {
	CodeHash string // hash of the presented enrollment code
	Name     string
	Platform Platform
}

// Validate checks the device half of an enrollment.
func (d DeviceEnroll) Validate() error {
	var v Violations
	checkText(&v, "device_name", d.Name, true, MaxDeviceNameLen)
	return v.Err()
}

// CheckEnrollmentTTL validates a requested code lifetime in seconds (0 means
// the default) and returns it.
func CheckEnrollmentTTL(seconds int32) (time.Duration, error) {
	if seconds == 0 {
		return DefaultEnrollmentTTL, nil
	}
	d := time.Duration(seconds) * time.Second
	if d < MinEnrollmentTTL || d > MaxEnrollmentTTL {
		var v Violations
		v.Add("ttl_seconds", "must be between %d and %d", int(MinEnrollmentTTL.Seconds()), int(MaxEnrollmentTTL.Seconds()))
		return 0, v.Err()
	}
	return d, nil
}
