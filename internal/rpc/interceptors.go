package rpc

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/hepclinic/hep/internal/auth"
	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/telemetry"
)

// callInfo is what the interceptors learn about a call and hand to handlers.
type callInfo struct {
	rule      rule
	patientID string // the resolved target patient (scopePatient)
	requested string // the patient the request named, for failure audit rows
	careTeam  string // the clinician whose care team the call covers (scopePatientOrTeam)
}

type callKey struct{}

func callFrom(ctx context.Context) *callInfo {
	c, _ := ctx.Value(callKey{}).(*callInfo)
	if c == nil {
		return &callInfo{}
	}
	return c
}

// patientOf returns the target patient resolved by authorization. Handlers use
// it instead of the request's patient_id.
func patientOf(ctx context.Context) string { return callFrom(ctx).patientID }

// careTeamOf returns, for a scopePatientOrTeam call that named no patient,
// the calling clinician, whose care team the call covers; "" otherwise.
func careTeamOf(ctx context.Context) string { return callFrom(ctx).careTeam }

const requestIDHeader = "x-request-id"

// requestID returns the caller's x-request-id if it is short and plain, and a
// new one otherwise.
func requestID(ctx context.Context) string {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(requestIDHeader); len(v) == 1 && len(v[0]) <= 64 && len(v[0]) > 0 &&
			strings.Trim(v[0], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == "" {
			return v[0]
		}
	}
	return uuid.NewString()
}

func peerAddr(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}

func peerHost(ctx context.Context) string {
	a := peerAddr(ctx)
	if h, _, err := net.SplitHostPort(a); err == nil {
		return h
	}
	return a
}

// unary is the whole unary interceptor chain, in this order: request id and
// logging (outermost, so it logs the final status), panic recovery, default
// deadline, authentication, authorization with failure auditing, handler.
// Nothing here logs a request or response payload: payloads are health data.
func (s *Server) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	start := time.Now()
	rid := requestID(ctx)
	_ = grpc.SetHeader(ctx, metadata.Pairs(requestIDHeader, rid))
	actor := hep.Actor{RequestID: rid, Peer: peerAddr(ctx)}
	ctx = hep.WithActor(ctx, actor)

	defer func() {
		if p := recover(); p != nil {
			s.log.ErrorContext(ctx, "panic", "request_id", rid, "method", info.FullMethod, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			resp, err = nil, statusWith(codes.Internal, "internal error", hep.ReasonInternal, nil)
		}
		s.logCall(ctx, info.FullMethod, err, start, rid, actor.Peer)
	}()

	// Consumed first and always, so no decoded request is left behind.
	if field, bad := takeBadUTF8(req); bad {
		var v hep.Violations
		v.Add(field, "must be valid UTF-8")
		return nil, toStatus(ctx, s.log, v.Err())
	}

	if _, ok := ctx.Deadline(); !ok && s.cfg.DefaultDeadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.DefaultDeadline)
		defer cancel()
	}

	if infraMethod(info.FullMethod) {
		return handler(ctx, req)
	}
	r, ok := authzTable[info.FullMethod]
	if !ok {
		// Served but not in the table: refuse rather than guess.
		return nil, statusWith(codes.Unimplemented, "method not served", hep.ReasonPermissionDenied, nil)
	}
	ci := &callInfo{rule: r}
	ctx = context.WithValue(ctx, callKey{}, ci)
	actor.Action = r.action
	ctx = hep.WithActor(ctx, actor)

	if r.public {
		if err := s.limitPublic(ctx); err != nil {
			return nil, toStatus(ctx, s.log, err)
		}
		resp, err := handler(ctx, req)
		return resp, toStatus(ctx, s.log, err)
	}

	actor, err = s.authenticate(ctx, actor)
	if err != nil {
		// Without a validly signed token there is no trustworthy actor: the
		// failure is logged, not audited (anyone could fill the trail). A
		// validly signed token of a revoked session names its principal, and
		// its use after revocation (a lost phone, a stolen token) is audited.
		if actor.ID != "" && r.action != "" {
			ev := hep.NewAuditEvent(actor, s.now(), actor.PatientID, "sessions/"+actor.SessionID, string(hep.CodeUnauthenticated))
			if aerr := s.store.AppendAudit(ctx, ev); aerr != nil {
				return nil, s.auditFailed(ctx, rid, aerr)
			}
		}
		return nil, toStatus(ctx, s.log, err)
	}
	ctx = hep.WithActor(ctx, actor)

	resp, err = s.authorizeAndHandle(ctx, ci, req, handler)
	if err != nil && r.action != "" && !r.selfAudit {
		// The store wrote nothing (a failed method rolls back); record the
		// failure in its own transaction. If even that fails, say so.
		resource := ""
		if ci.requested != "" {
			resource = "patients/" + ci.requested
		}
		ev := hep.NewAuditEvent(hep.ActorFrom(ctx), s.now(), ci.patientID, resource, string(hep.ErrorCode(err)))
		if ce := grpcCodeOf(err); ce != "" {
			ev.Outcome = ce
		}
		if aerr := s.store.AppendAudit(ctx, ev); aerr != nil {
			return nil, s.auditFailed(ctx, rid, aerr)
		}
	}
	return resp, toStatus(ctx, s.log, err)
}

// auditFailed is the answer to a call whose failure could not be audited.
// The call changed nothing either way. A database that is unavailable (a
// restart, a failover) is UNAVAILABLE, which the client retries; anything
// else is an internal error.
func (s *Server) auditFailed(ctx context.Context, rid string, aerr error) error {
	s.log.ErrorContext(ctx, "audit write failed", "request_id", rid, "err", aerr.Error())
	if hep.ErrorCode(aerr) == hep.CodeUnavailable {
		return toStatus(ctx, s.log, aerr)
	}
	return statusWith(codes.Internal, "internal error", hep.ReasonInternal, nil)
}

// grpcCodeOf names the failure of errors that are already gRPC statuses.
func grpcCodeOf(err error) string {
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
		return strings.ToUpper(codeName(st.Code()))
	}
	return ""
}

func codeName(c codes.Code) string {
	// codes.Code.String gives "InvalidArgument"; audit rows use the proto
	// enum spelling, INVALID_ARGUMENT, like the domain codes.
	var b strings.Builder
	for i, r := range c.String() {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// authenticate checks the bearer token and the session it names.
func (s *Server) authenticate(ctx context.Context, a hep.Actor) (hep.Actor, error) {
	unauth := func(msg string) error {
		return hep.Errorf(hep.CodeUnauthenticated, "%s", msg)
	}
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	if len(vals) != 1 {
		return a, unauth("missing bearer token")
	}
	scheme, tok, ok := strings.Cut(vals[0], " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return a, unauth("authorization must be \"Bearer <token>\"")
	}
	c, err := s.signer.Verify(strings.TrimSpace(tok), s.now())
	if err == auth.ErrTokenExpired {
		return a, unauth("access token expired; refresh it")
	}
	if err != nil {
		return a, unauth("invalid access token")
	}
	sess, err := s.store.Session(ctx, c.SessionID)
	if hep.ErrorCode(err) == hep.CodeNotFound {
		return a, unauth("session revoked")
	}
	if err != nil {
		return a, err
	}
	if sess.PrincipalID() != c.Subject || string(sess.Role) != c.Role {
		return a, unauth("invalid access token")
	}
	if !sess.Live() {
		revoked := a
		revoked.ID, revoked.Role, revoked.PatientID, revoked.SessionID = sess.PrincipalID(), sess.Role, sess.PatientID, sess.ID
		return revoked, unauth("session revoked")
	}
	a.ID, a.Role, a.PatientID, a.SessionID = sess.PrincipalID(), sess.Role, sess.PatientID, sess.ID
	return a, nil
}

// authorizeAndHandle applies the table row: role, then target patient, then
// the handler.
func (s *Server) authorizeAndHandle(ctx context.Context, ci *callInfo, req any, handler grpc.UnaryHandler) (any, error) {
	a := hep.ActorFrom(ctx)
	if !ci.rule.allows(a.Role) {
		return nil, hep.Errorf(hep.CodePermissionDenied, "role %s may not call this method", a.Role)
	}
	if ci.rule.scope.namesPatient() {
		requested := ""
		if g, ok := req.(patientIDGetter); ok {
			requested = g.GetPatientId()
		}
		if len(requested) <= hep.MaxIDLen {
			ci.requested = requested
		}
		if ci.rule.scope == scopePatientOrTeam && requested == "" && a.Role == hep.RoleClinician {
			ci.careTeam = a.ID
			return handler(ctx, req)
		}
		switch a.Role {
		case hep.RolePatient:
			// The patient comes from the token; naming another is NOT_FOUND.
			if requested != "" && requested != a.PatientID {
				return nil, hep.NotFound("patient")
			}
			ci.patientID = a.PatientID
		default:
			var v hep.Violations
			hep.CheckID(&v, "patient_id", requested)
			if err := v.Err(); err != nil {
				return nil, err
			}
			var ok bool
			var err error
			if a.Role == hep.RoleClinician {
				ok, err = s.store.OnCareTeam(ctx, a.ID, requested)
			} else {
				ok, err = s.store.PatientExists(ctx, requested)
			}
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, hep.NotFound("patient")
			}
			ci.patientID = requested
		}
	}
	return handler(ctx, req)
}

// limitPublic rate-limits the unauthenticated methods per client address, so
// that passwords and enrollment codes cannot be guessed at network speed.
func (s *Server) limitPublic(ctx context.Context) error {
	if s.publicLimiter == nil || s.publicLimiter.allow(peerHost(ctx), s.now()) {
		return nil
	}
	return hep.Errorf(hep.CodeResourceExhausted, "too many attempts; wait and retry")
}

// stream guards streaming methods: health Watch and reflection need no
// token; hep.v1's server streams (exports) go through serveStream
// (stream.go), the unary chain's counterpart.
func (s *Server) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if info.FullMethod == "/grpc.health.v1.Health/Watch" {
		// A watcher (a load balancer) would otherwise hold GracefulStop
		// until the drain timeout: end its stream shortly after Drain, once
		// it has had time to receive NOT_SERVING.
		ctx, cancel := context.WithCancel(ss.Context())
		defer cancel()
		go func() {
			select {
			case <-s.drain:
				select {
				case <-time.After(watchGrace):
				case <-ctx.Done():
				}
				cancel()
			case <-ctx.Done():
			}
		}()
		return handler(srv, &ctxStream{ServerStream: ss, ctx: ctx})
	}
	if infraMethod(info.FullMethod) {
		return handler(srv, ss)
	}
	return s.serveStream(srv, ss, info, handler)
}

// watchGrace is how long health watchers keep their stream after Drain.
const watchGrace = 250 * time.Millisecond

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (c *ctxStream) Context() context.Context { return c.ctx }

// Drain starts shutdown: health reports NOT_SERVING to every checker and
// watcher, and watch streams end shortly after so that GracefulStop waits
// only for real calls. Call it once, before GracefulStop.
func (s *Server) Drain() {
	s.Health.Shutdown()
	s.drainOnce.Do(func() { close(s.drain) })
}

// logCall writes the one log line of a finished call: method, code,
// duration, request id, peer and actor, and the trace id when the call is
// traced; never a payload.
func (s *Server) logCall(ctx context.Context, method string, err error, start time.Time, rid, peer string) {
	a := hep.ActorFrom(ctx)
	attrs := []slog.Attr{
		slog.String("method", method),
		slog.String("code", status.Code(err).String()),
		slog.Duration("duration", time.Since(start)),
		slog.String("request_id", rid),
		slog.String("peer", peer),
		slog.String("actor", a.ID),
		slog.String("role", string(a.Role)),
	}
	if id := telemetry.TraceID(ctx); id != "" {
		attrs = append(attrs, slog.String("trace_id", id))
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "rpc", attrs...)
}
