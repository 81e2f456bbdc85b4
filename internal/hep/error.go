package hep

import (
	"errors"
	"fmt"
	"strings"
)

// Code is the kind of an error. Each code maps to exactly one gRPC status code,
// in one table in internal/rpc.
type Code string

// The error codes. Their names follow the gRPC codes they map to.
const (
	CodeInvalid            Code = "INVALID_ARGUMENT"
	CodeNotFound           Code = "NOT_FOUND"
	CodeAlreadyExists      Code = "ALREADY_EXISTS"
	CodeUnauthenticated    Code = "UNAUTHENTICATED"
	CodePermissionDenied   Code = "PERMISSION_DENIED"
	CodeFailedPrecondition Code = "FAILED_PRECONDITION"
	CodeAborted            Code = "ABORTED"
	CodeResourceExhausted  Code = "RESOURCE_EXHAUSTED"
	CodeUnavailable        Code = "UNAVAILABLE"
	CodeInternal           Code = "INTERNAL"
)

// Reasons are the stable machine-readable reasons clients branch on. They are
// listed, with their meaning, in the ErrorReason enum of proto/hep/v1.
const (
	ReasonInvalidArgument       = "INVALID_ARGUMENT"
	ReasonNotFound              = "NOT_FOUND"
	ReasonAlreadyExists         = "ALREADY_EXISTS"
	ReasonUnauthenticated       = "UNAUTHENTICATED"
	ReasonPermissionDenied      = "PERMISSION_DENIED"
	ReasonInvalidCredentials    = "INVALID_CREDENTIALS"
	ReasonRefreshTokenReused    = "REFRESH_TOKEN_REUSED"
	ReasonEnrollmentCodeInvalid = "ENROLLMENT_CODE_INVALID"
	ReasonFailedPrecondition    = "FAILED_PRECONDITION"
	ReasonAborted               = "ABORTED"
	ReasonResourceExhausted     = "RESOURCE_EXHAUSTED"
	ReasonUnavailable           = "UNAVAILABLE"
	ReasonInternal              = "INTERNAL"
	ReasonGateBlocked           = "GATE_BLOCKED"
	ReasonVersionMismatch       = "VERSION_MISMATCH"
	ReasonSequenceGap           = "SEQUENCE_GAP"
	ReasonCursorExpired         = "CURSOR_EXPIRED"
	// ReasonAlertChanged: an acknowledgement expected fewer occurrences
	// than the alert has (CheckAck).
	ReasonAlertChanged = "ALERT_CHANGED"
)

// FieldViolation names one invalid request field and says what is wrong.
// Field uses the request's field names (snake_case, dotted for nesting).
type FieldViolation struct {
	Field       string
	Description string
}

// Error is the error every domain and store method returns for an expected
// failure. Anything else that escapes is treated as internal: logged with the
// request id and reported to the caller only as "internal error".
type Error struct {
	Code       Code
	Reason     string
	Message    string
	Violations []FieldViolation
	// Metadata are facts a client acts on without parsing the message; they
	// travel in google.rpc.ErrorInfo.metadata (SEQUENCE_GAP's
	// "last_sequence").
	Metadata map[string]string
}

func (e *Error) Error() string {
	if len(e.Violations) == 0 {
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Field + ": " + v.Description
	}
	return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, strings.Join(parts, "; "))
}

// Errorf returns an *Error with the code's default reason.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Reason: string(code), Message: fmt.Sprintf(format, args...)}
}

// WithReason returns a copy of e carrying reason.
func (e *Error) WithReason(reason string) *Error {
	c := *e
	c.Reason = reason
	return &c
}

// ErrorCode returns the Code of err, CodeInternal for an error that is not an
// *Error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// NotFound returns the error for an object that does not exist or that the
// caller may not know exists. The two are deliberately indistinguishable.
func NotFound(kind string) *Error {
	return Errorf(CodeNotFound, "%s not found", kind)
}

// Violations collects field violations during validation.
type Violations []FieldViolation

// Add records a violation of field.
func (v *Violations) Add(field, format string, args ...any) {
	*v = append(*v, FieldViolation{Field: field, Description: fmt.Sprintf(format, args...)})
}

// Err returns nil when nothing was violated, and otherwise an INVALID_ARGUMENT
// *Error listing every violation.
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	return &Error{Code: CodeInvalid, Reason: ReasonInvalidArgument, Message: "invalid request", Violations: v}
}
