package hep

import "time"

// Account is a clinician or admin who signs in with email and password.
// Patients are not accounts: they act through enrolled devices.
type Account struct {
	ID          string
	Email       string
	DisplayName string
	Role        Role // RoleAdmin or RoleClinician
	Disabled    bool
	CreateTime  time.Time
	UpdateTime  time.Time
}

// AccountCreate is the input of Store.CreateAccount.
type AccountCreate struct {
	Email       string
	DisplayName string
	Role        Role
	Password    string // plain text, validated here, hashed by the caller
}

// Validate checks an AccountCreate. Email must already be normalized.
func (a AccountCreate) Validate() error {
	var v Violations
	checkEmail(&v, "email", a.Email)
	checkText(&v, "display_name", a.DisplayName, true, MaxDisplayNameLen)
	if a.Role != RoleAdmin && a.Role != RoleClinician {
		v.Add("role", "must be ROLE_CLINICIAN or ROLE_ADMIN")
	}
	checkPassword(&v, "password", a.Password)
	return v.Err()
}

// AccountUpdate changes the fields that are non-nil.
type AccountUpdate struct {
	DisplayName *string
	Disabled    *bool
}

// Validate checks an AccountUpdate.
func (u AccountUpdate) Validate() error {
	var v Violations
	if u.DisplayName != nil {
		checkText(&v, "display_name", *u.DisplayName, true, MaxDisplayNameLen)
	}
	if u.DisplayName == nil && u.Disabled == nil {
		v.Add("display_name", "nothing to update: set display_name or disabled")
	}
	return v.Err()
}

// AccountFilter selects a page of accounts, in creation order.
type AccountFilter struct {
	Role  Role   // "" for every role
	After string // id of the last account of the previous page
	Limit int
}

// ValidateCredentials checks the shape of a sign-in request before any
// lookup, so malformed input never reaches the password hasher.
func ValidateCredentials(email, password string) error {
	var v Violations
	if email == "" {
		v.Add("email", "is required")
	} else if len(email) > MaxEmailLen || !validUTF8(email) {
		v.Add("email", "must be at most %d bytes of UTF-8", MaxEmailLen)
	}
	if password == "" {
		v.Add("password", "is required")
	} else if len(password) > 4*MaxPasswordLen || !validUTF8(password) {
		v.Add("password", "must be at most %d characters of UTF-8", MaxPasswordLen)
	}
	return v.Err()
}
