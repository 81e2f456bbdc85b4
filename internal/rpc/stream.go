package rpc

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/hepclinic/hep/internal/hep"
)

// serveStream is the unary chain's counterpart for the hep.v1 server
// streams (ExportService.Export): request id and logging, panic recovery,
// the default stream deadline, authentication, then the method's row of
// authzTable applied to the request message when the handler receives it,
// and failure auditing. Client and bidirectional streams are refused: hep
// has none, and their later messages would need rules of their own.
//
// Differences from unary calls, both because the request only arrives
// inside the handler:
//   - the token is checked before the request is read, so a request with
//     invalid UTF-8 from a caller without a valid token gets
//     UNAUTHENTICATED rather than INVALID_ARGUMENT (an authenticated
//     caller gets INVALID_ARGUMENT, unaudited, as in a unary call);
//   - a stream can fail after its handler has read and audited the
//     record (an export whose client went away): the failure row is then
//     written too, after the handler's OK row, so the trail says the
//     record was read and that the call did not complete.
func (s *Server) serveStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	start := time.Now()
	ctx := ss.Context()
	rid := requestID(ctx)
	_ = ss.SetHeader(metadata.Pairs(requestIDHeader, rid))
	actor := hep.Actor{RequestID: rid, Peer: peerAddr(ctx)}
	ctx = hep.WithActor(ctx, actor)

	defer func() {
		if p := recover(); p != nil {
			s.log.ErrorContext(ctx, "panic", "request_id", rid, "method", info.FullMethod, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = statusWith(codes.Internal, "internal error", hep.ReasonInternal, nil)
		}
		s.logCall(ctx, info.FullMethod, err, start, rid, actor.Peer)
	}()

	r, ok := authzTable[info.FullMethod]
	if !ok || r.public || info.IsClientStream || !info.IsServerStream {
		// Served but not in the table, or a kind of stream this chain does
		// not guard: refuse rather than guess.
		return statusWith(codes.Unimplemented, "method not served", hep.ReasonPermissionDenied, nil)
	}
	if _, ok := ctx.Deadline(); !ok && s.cfg.DefaultStreamDeadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.DefaultStreamDeadline)
		defer cancel()
	}
	ci := &callInfo{rule: r}
	ctx = context.WithValue(ctx, callKey{}, ci)
	actor.Action = r.action
	ctx = hep.WithActor(ctx, actor)

	actor, err = s.authenticate(ctx, actor)
	if err != nil {
		// As in unary: audited only under a validly signed token.
		if actor.ID != "" && r.action != "" {
			ev := hep.NewAuditEvent(actor, s.now(), actor.PatientID, "sessions/"+actor.SessionID, string(hep.CodeUnauthenticated))
			if aerr := s.store.AppendAudit(ctx, ev); aerr != nil {
				return s.auditFailed(ctx, rid, aerr)
			}
		}
		return toStatus(ctx, s.log, err)
	}
	ctx = hep.WithActor(ctx, actor)

	gs := &guardedStream{ServerStream: ss, ctx: ctx, s: s, ci: ci}
	err = handler(srv, gs)
	if err == nil {
		return nil
	}
	// The caller's mistake or the failure, as the caller will see it (an
	// unexpected error is logged here, once, without payloads).
	st := toStatus(ctx, s.log, err)
	if r.action != "" && !r.selfAudit && !gs.badInput {
		resource := ""
		if ci.requested != "" {
			resource = "patients/" + ci.requested
		}
		ev := hep.NewAuditEvent(hep.ActorFrom(ctx), s.now(), ci.patientID, resource, strings.ToUpper(codeName(status.Code(st))))
		// The client may be gone (that is often why the stream failed): the
		// row is still written, within a bound of its own.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if aerr := s.store.AppendAudit(actx, ev); aerr != nil {
			return s.auditFailed(ctx, rid, aerr)
		}
	}
	return st
}

// guardedStream is the stream a streaming handler sees: its context
// carries the actor and the call's authorization, and the first request
// message is checked (UTF-8, then the authzTable row's role and target
// patient) before the handler gets it. Nothing can be sent before that
// check has passed.
type guardedStream struct {
	grpc.ServerStream
	ctx        context.Context
	s          *Server
	ci         *callInfo
	received   bool
	authorized bool
	// badInput: the request was refused for invalid UTF-8, which unary
	// calls do not audit either.
	badInput bool
}

func (g *guardedStream) Context() context.Context { return g.ctx }

func (g *guardedStream) RecvMsg(m any) error {
	if g.received {
		// Server streams carry one request; grpc reports io.EOF after it.
		return g.ServerStream.RecvMsg(m)
	}
	if err := g.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	g.received = true
	if field, bad := takeBadUTF8(m); bad {
		g.badInput = true
		var v hep.Violations
		v.Add(field, "must be valid UTF-8")
		return v.Err()
	}
	// The unary chain's authorization, with the stream handler still to
	// come: the "handler" here only marks the call authorized.
	_, err := g.s.authorizeAndHandle(g.ctx, g.ci, m, func(context.Context, any) (any, error) {
		g.authorized = true
		return nil, nil
	})
	return err
}

func (g *guardedStream) SendMsg(m any) error {
	if !g.authorized {
		return status.Error(codes.Internal, "rpc: a stream sent before its request was authorized")
	}
	return g.ServerStream.SendMsg(m)
}

func (g *guardedStream) SendHeader(md metadata.MD) error {
	if !g.authorized {
		return status.Error(codes.Internal, "rpc: a stream sent before its request was authorized")
	}
	return g.ServerStream.SendHeader(md)
}
