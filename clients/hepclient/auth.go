package hepclient

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// maxAccessTTL is the longest an access token lives (auth.proto: at most 15
// minutes after issue).
const maxAccessTTL = 15 * time.Minute

// tokenExpiry turns the server's access_expire_time into a time on the
// phone's clock. The two clocks may disagree by days, so the token's
// remaining life is measured against the phone's clock at receipt, and taken
// as the documented maximum when the clocks disagree too much to tell. If
// that guess is too long, the server answers UNAUTHENTICATED and the client
// refreshes then (intercept).
func tokenExpiry(expire, now time.Time) time.Time {
	ttl := expire.Sub(now)
	if ttl <= 0 || ttl > maxAccessTTL {
		ttl = maxAccessTTL
	}
	return now.Add(ttl)
}

func (c *Client) pairToCredentials(base credentials, t *hepv1.TokenPair) credentials {
	base.AccessToken = t.GetAccessToken()
	base.AccessExpire = tokenExpiry(t.GetAccessExpireTime().AsTime(), c.now())
	base.RefreshToken = t.GetRefreshToken()
	base.RefreshExpire = time.Time{}
	if t.GetRefreshExpireTime() != nil {
		base.RefreshExpire = t.GetRefreshExpireTime().AsTime()
	}
	base.SessionEnded = ""
	return base
}

// Enroll exchanges a one-time enrollment code for a device identity and
// stores it, with the first token pair, in the state file.
//
// Enrolling again after the session ended (ErrSessionEnded) keeps the
// outbox: its mutations are renumbered from 1 for the new device and pushed
// by the next Sync (records already applied under the old device come back
// as identical replays, so nothing is duplicated). The read model is
// cleared and pulled again. If the new code is for another patient, the
// outbox is not sent: its mutations move to Rejected.
//
// Enroll is not retried: a code works once, and a lost answer has used it.
func (c *Client) Enroll(ctx context.Context, code string) error {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	if c.Enrolled() {
		return ErrAlreadyEnrolled
	}
	resp, err := c.auth.EnrollDevice(ctx, &hepv1.EnrollDeviceRequest{
		EnrollmentCode: code, DeviceName: c.opts.DeviceName, Platform: c.opts.Platform})
	if err != nil {
		return err
	}
	next := c.pairToCredentials(credentials{DeviceID: resp.GetDeviceId(), PatientID: resp.GetPatientId()}, resp.GetTokens())
	// The code is spent: save whatever the caller's context does now.
	ctx = context.WithoutCancel(ctx)
	err = c.inTx(ctx, func(tx *sql.Tx) error {
		old, err := loadCredentials(ctx, tx)
		if err != nil {
			return err
		}
		if err := saveCredentials(ctx, tx, next); err != nil {
			return err
		}
		if old.DeviceID == "" {
			return nil // mutations logged before the first enrollment are numbered from 1 already
		}
		if old.PatientID != next.PatientID {
			if _, err := tx.ExecContext(ctx, `INSERT INTO rejected (seq, device_id, mutation, reason, field, reject_time)
				SELECT seq, ?, mutation, ?, '', ? FROM outbox ORDER BY seq`,
				old.DeviceID, "not sent: the phone was enrolled for another patient", nanos(c.now())); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM outbox"); err != nil {
				return err
			}
		}
		if _, err := renumber(ctx, tx, 1, nil); err != nil {
			return err
		}
		for _, q := range []string{
			"UPDATE device SET acked_seq = 0, cursor = '', reset_cursor = NULL",
			"DELETE FROM journal", "DELETE FROM records", "DELETE FROM reset_records",
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("hepclient: saving the enrollment: %w", err)
	}
	c.mu.Lock()
	c.creds = next
	c.gen++
	c.mu.Unlock()
	return nil
}

// publicMethod reports whether a method needs no access token.
func publicMethod(method string) bool {
	switch method {
	case hepv1.AuthService_SignIn_FullMethodName, hepv1.AuthService_RefreshToken_FullMethodName,
		hepv1.AuthService_EnrollDevice_FullMethodName:
		return true
	}
	return false
}

// intercept gives every call its deadline and, unless the method is public,
// an access token, refreshed first if it is about to expire. A call refused
// with UNAUTHENTICATED is retried once after a refresh: the phone's clock
// may have misjudged the token's expiry.
func (c *Client) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.CallTimeout) // keeps an earlier deadline of ctx
	defer cancel()
	if publicMethod(method) {
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	tok, gen, err := c.accessToken(ctx)
	if err != nil {
		return err
	}
	err = invoker(withBearer(ctx, tok), method, req, reply, cc, opts...)
	if status.Code(err) != codes.Unauthenticated {
		return err
	}
	tok, err = c.refresh(ctx, gen)
	if err != nil {
		return err
	}
	return invoker(withBearer(ctx, tok), method, req, reply, cc, opts...)
}

func withBearer(ctx context.Context, tok string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
}

// accessToken returns an access token valid for at least RefreshMargin by
// the phone's clock, refreshing the pair if needed, and the generation of
// the pair it belongs to.
func (c *Client) accessToken(ctx context.Context) (string, uint64, error) {
	c.mu.Lock()
	cr, gen := c.creds, c.gen
	c.mu.Unlock()
	switch {
	case cr.DeviceID == "":
		return "", gen, ErrNotEnrolled
	case cr.SessionEnded != "":
		return "", gen, fmt.Errorf("%w (%s)", ErrSessionEnded, cr.SessionEnded)
	case cr.AccessToken != "" && c.now().Add(c.opts.RefreshMargin).Before(cr.AccessExpire):
		return cr.AccessToken, gen, nil
	}
	tok, err := c.refresh(ctx, gen)
	c.mu.Lock()
	gen = c.gen
	c.mu.Unlock()
	return tok, gen, err
}

// refresh exchanges the refresh token for a new pair, once for all the
// callers that found stale the pair of generation stale (single flight: the
// others wait on refreshMu and then use the pair the first one got). The
// generation, not the token, tells pairs apart: two access tokens issued in
// the same second for the same session may be the same string.
//
// Refresh tokens are single use and reuse revokes the session, so the new
// pair is written to the state file as soon as the answer arrives, before
// anything uses it and whatever the caller's context does: after that
// answer, the old refresh token is worthless and the new one is the only
// way back in. A crash before the write loses the session (the next start
// finds the used token, the server revokes on reuse, the app enrolls
// again); no retry can avoid that, because the server cannot tell a retry
// from a thief.
func (c *Client) refresh(ctx context.Context, stale uint64) (string, error) {
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	c.mu.Lock()
	cr, gen := c.creds, c.gen
	c.mu.Unlock()
	if cr.SessionEnded != "" {
		return "", fmt.Errorf("%w (%s)", ErrSessionEnded, cr.SessionEnded)
	}
	if gen != stale && cr.AccessToken != "" {
		return cr.AccessToken, nil // refreshed by another caller while we waited
	}
	resp, err := c.auth.RefreshToken(ctx, &hepv1.RefreshTokenRequest{RefreshToken: cr.RefreshToken})
	if status.Code(err) == codes.Unauthenticated {
		why := Reason(err)
		if why == "" {
			why = "UNAUTHENTICATED"
		}
		if e := c.endSession(ctx, why+": "+status.Convert(err).Message()); e != nil {
			return "", e
		}
		return "", fmt.Errorf("%w (%s)", ErrSessionEnded, why)
	}
	if err != nil {
		return "", err
	}
	next := c.pairToCredentials(cr, resp.GetTokens())
	wctx := context.WithoutCancel(ctx)
	err = c.inTx(wctx, func(tx *sql.Tx) error { return saveCredentials(wctx, tx, next) })
	c.mu.Lock()
	c.creds = next // even if the write failed: it is the only live pair
	c.gen++
	c.mu.Unlock()
	if err != nil {
		return "", fmt.Errorf("hepclient: saving the rotated token pair: %w", err)
	}
	return next.AccessToken, nil
}

// endSession records that the server no longer accepts the device's tokens.
// The identity and the outbox stay for the next Enroll.
func (c *Client) endSession(ctx context.Context, why string) error {
	c.mu.Lock()
	next := c.creds
	c.mu.Unlock()
	next.AccessToken, next.RefreshToken, next.SessionEnded = "", "", why
	next.AccessExpire, next.RefreshExpire = time.Time{}, time.Time{}
	ctx = context.WithoutCancel(ctx)
	err := c.inTx(ctx, func(tx *sql.Tx) error { return saveCredentials(ctx, tx, next) })
	c.mu.Lock()
	c.creds = next
	c.gen++
	c.mu.Unlock()
	return err
}
