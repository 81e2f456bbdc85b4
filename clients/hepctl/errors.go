package main

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// errUsage marks errors that are the caller's mistake (exit status 2).
var errUsage = errors.New("usage")

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }
func (e *usageError) Is(target error) bool {
	return target == errUsage
}

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errNotSignedIn and errSessionExpired tell the user to sign in again.
var (
	errNotSignedIn    = errors.New("not signed in: run hepctl login")
	errSessionExpired = errors.New("session expired: run hepctl login")
)

// rpcError is a failed server call with what the CLI knows about it.
type rpcError struct {
	err       error
	method    string
	requestID string
	server    string
}

func (e *rpcError) Error() string { return e.err.Error() }
func (e *rpcError) Unwrap() error { return e.err }

// printError writes err to w as one or more "hepctl: ..." lines.
func printError(w io.Writer, err error) {
	for _, line := range errorLines(err) {
		fmt.Fprintf(w, "hepctl: %s\n", line)
	}
}

// errorLines renders err for people: a gRPC status becomes "CODE WORDS:
// message", with one line per field violation of a BadRequest detail.
func errorLines(err error) []string {
	var re *rpcError
	if !errors.As(err, &re) {
		return strings.Split(err.Error(), "\n")
	}
	st, ok := status.FromError(re.err)
	if !ok {
		return []string{err.Error()}
	}
	code := codeWords(st.Code())
	var (
		reason     string
		violations []*errdetails.BadRequest_FieldViolation
	)
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			reason = d.GetReason()
		case *errdetails.BadRequest:
			violations = append(violations, d.GetFieldViolations()...)
		}
	}
	if reason == gateBlocked && len(violations) > 0 {
		// One line per blocked item and reason, under a header that says
		// nothing was written.
		lines := []string{code + ": the gate blocks items of this plan, so nothing was written:"}
		for _, v := range violations {
			lines = append(lines, fmt.Sprintf("  %s: %s", v.GetField(), v.GetDescription()))
		}
		return append(lines, "see every reason with hepctl plan check; answer unknown flags with hepctl screening set; clear what needs clearance with hepctl plan clear")
	}
	if len(violations) > 0 {
		lines := make([]string, 0, len(violations))
		for _, v := range violations {
			lines = append(lines, fmt.Sprintf("%s: %s: %s", code, v.GetField(), v.GetDescription()))
		}
		return lines
	}
	msg := cleanMessage(st.Message())
	line := code + ": " + msg
	switch {
	case reason == "REFRESH_TOKEN_REUSED":
		line += " (the session was revoked because a refresh token was used twice: run hepctl login)"
	case st.Code() == codes.Aborted && re.method == hepv1.PlanService_SetPlan_FullMethodName:
		line += " (the plan changed meanwhile: look at it with hepctl plan show, then re-run hepctl plan set)"
	case st.Code() == codes.Aborted && re.method == hepv1.AlertService_AcknowledgeAlert_FullMethodName:
		line += " (nothing was acknowledged: see what is new with hepctl alerts occurrences, then acknowledge again)"
	case st.Code() == codes.Unauthenticated && !publicMethod(re.method):
		line += " (run hepctl login)"
	case st.Code() == codes.Unavailable:
		line += fmt.Sprintf(" (is the server running at %s?)", re.server)
	case st.Code() == codes.DeadlineExceeded:
		line += " (raise --timeout if the server is slow)"
	case st.Code() == codes.Internal || st.Code() == codes.Unknown:
		if re.requestID != "" {
			line += " (request id " + re.requestID + ")"
		}
	}
	return []string{line}
}

// gateBlocked is the ErrorInfo reason of a plan write the gate refused.
var gateBlocked = strings.TrimPrefix(hepv1.ErrorReason_ERROR_REASON_GATE_BLOCKED.String(), "ERROR_REASON_")

// codePrefix matches the "NOT_FOUND: " the server puts before its messages.
var codePrefix = regexp.MustCompile(`^[A-Z][A-Z_]+: `)

func cleanMessage(msg string) string {
	msg = codePrefix.ReplaceAllString(msg, "")
	if msg == "" {
		return "no details"
	}
	return msg
}

// codeWords turns codes.InvalidArgument into "invalid argument".
func codeWords(c codes.Code) string {
	var b strings.Builder
	for i, r := range c.String() {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte(' ')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
