package hepclient

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Errors a caller can branch on with errors.Is.
var (
	// ErrNotEnrolled: the phone has no device identity yet; call Enroll.
	ErrNotEnrolled = errors.New("hepclient: the phone is not enrolled")
	// ErrAlreadyEnrolled: Enroll on a phone whose session is still live.
	ErrAlreadyEnrolled = errors.New("hepclient: the phone is already enrolled")
	// ErrSessionEnded: the server no longer accepts the device's tokens
	// (revoked device, expired or reused refresh token). The outbox is
	// kept; a new enrollment code (Enroll) continues where it stopped.
	ErrSessionEnded = errors.New("hepclient: the session has ended; enroll again")
	// ErrNotConverged: even after a reset, the local records do not match
	// the count and hash the server announced.
	ErrNotConverged = errors.New("hepclient: local records do not match the server after a reset")
	// ErrProtocol: the server answered something the protocol forbids (a
	// result for the wrong sequence, a gap that is not one). Nothing was
	// changed locally.
	ErrProtocol = errors.New("hepclient: protocol violation")
)

// The ErrorInfo reasons the client branches on (common.proto ErrorReason).
const (
	reasonSequenceGap        = "SEQUENCE_GAP"
	reasonCursorExpired      = "CURSOR_EXPIRED"
	reasonRefreshTokenReused = "REFRESH_TOKEN_REUSED"
)

// errorInfo returns the google.rpc.ErrorInfo of a status error, or nil.
func errorInfo(err error) *errdetails.ErrorInfo {
	st, ok := status.FromError(err)
	if !ok {
		return nil
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}

// Reason is the stable ErrorInfo reason of a server error ("SEQUENCE_GAP"),
// or "".
func Reason(err error) string {
	return errorInfo(err).GetReason()
}

// gapLastSequence reports whether err is a SEQUENCE_GAP and the server's
// last sequence it carries.
func gapLastSequence(err error) (last int64, isGap bool, ok bool) {
	info := errorInfo(err)
	if status.Code(err) != codes.FailedPrecondition || info.GetReason() != reasonSequenceGap {
		return 0, false, false
	}
	v, present := info.GetMetadata()["last_sequence"]
	if !present {
		return 0, true, false
	}
	last, perr := strconv.ParseInt(v, 10, 64)
	return last, true, perr == nil && last >= 0
}

func isCursorExpired(err error) bool {
	return status.Code(err) == codes.FailedPrecondition && Reason(err) == reasonCursorExpired
}

// isBadCursor reports whether a Pull was refused for its cursor alone
// (INVALID_ARGUMENT naming the field "cursor").
func isBadCursor(err error) bool {
	if status.Code(err) != codes.InvalidArgument {
		return false
	}
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == "cursor" {
					return true
				}
			}
		}
	}
	return false
}

// Backoff bounds retries of transient failures: exponential with full
// jitter (a random wait between 0 and min(Max, Base*2^attempt)), so a
// thousand phones coming back online do not retry in step.
type Backoff struct {
	Base, Max time.Duration
	// Attempts is the most tries of one call, the first included.
	Attempts int
}

func (b *Backoff) defaults() {
	if b.Base <= 0 {
		b.Base = 200 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 10 * time.Second
	}
	if b.Attempts <= 0 {
		b.Attempts = 6
	}
}

// wait is the pause before retry number attempt (0 for the first retry).
func (b Backoff) wait(attempt int) time.Duration {
	ceil := b.Max
	if attempt < 30 {
		if d := b.Base << attempt; d > 0 && d < ceil {
			ceil = d
		}
	}
	return rand.N(ceil + 1)
}

// retryable reports whether a failed call may be tried again: the server
// said it changed nothing and the condition is passing (UNAVAILABLE,
// RESOURCE_EXHAUSTED), or the call's own deadline passed while the caller's
// context is still live. Never INVALID_ARGUMENT, PERMISSION_DENIED or any
// other answer about the request itself.
func retryable(ctx context.Context, err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.ResourceExhausted:
		return true
	case codes.DeadlineExceeded:
		return ctx.Err() == nil
	}
	return false
}

// retry calls f until it succeeds, fails for good, runs out of attempts or
// ctx ends. A retried Push or Pull is safe: pushes are idempotent by
// sequence number and pulls are reads.
func (c *Client) retry(ctx context.Context, f func(ctx context.Context) error) error {
	b := c.opts.Retry
	for attempt := 0; ; attempt++ {
		err := f(ctx)
		if err == nil || !retryable(ctx, err) || attempt+1 >= b.Attempts {
			return err
		}
		t := time.NewTimer(b.wait(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}
