package hep

import (
	"time"
	"unicode/utf8"
)

func validUTF8(s string) bool { return utf8.ValidString(s) }

// Patient is a person following a home exercise program.
type Patient struct {
	ID          string
	DisplayName string
	TimeZone    string // IANA name; "daily" means a day in this zone
	ExternalMRN string // optional
	CreateTime  time.Time
	UpdateTime  time.Time
}

// PatientCreate is the input of Store.CreatePatient.
type PatientCreate struct {
	DisplayName string
	TimeZone    string
	ExternalMRN string
}

// Validate checks a PatientCreate.
func (p PatientCreate) Validate() error {
	var v Violations
	checkText(&v, "display_name", p.DisplayName, true, MaxDisplayNameLen)
	checkTimeZone(&v, "time_zone", p.TimeZone)
	checkText(&v, "external_mrn", p.ExternalMRN, false, MaxMRNLen)
	return v.Err()
}

// PatientUpdate changes the fields that are non-nil. An empty ExternalMRN
// clears it.
type PatientUpdate struct {
	DisplayName *string
	TimeZone    *string
	ExternalMRN *string
}

// Validate checks a PatientUpdate.
func (u PatientUpdate) Validate() error {
	var v Violations
	if u.DisplayName != nil {
		checkText(&v, "display_name", *u.DisplayName, true, MaxDisplayNameLen)
	}
	if u.TimeZone != nil {
		checkTimeZone(&v, "time_zone", *u.TimeZone)
	}
	if u.ExternalMRN != nil {
		checkText(&v, "external_mrn", *u.ExternalMRN, false, MaxMRNLen)
	}
	if u.DisplayName == nil && u.TimeZone == nil && u.ExternalMRN == nil {
		v.Add("display_name", "nothing to update: set display_name, time_zone or external_mrn")
	}
	return v.Err()
}

// PatientFilter selects a page of one clinician's care-team patients, in
// creation order.
type PatientFilter struct {
	ClinicianID string
	After       string
	Limit       int
}

// CareTeamMember is a clinician with access to a patient.
type CareTeamMember struct {
	PatientID            string
	ClinicianID          string
	ClinicianDisplayName string
	AddTime              time.Time
}
