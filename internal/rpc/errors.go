package rpc

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	"github.com/hepclinic/hep/internal/hep"
)

// errorDomain is the ErrorInfo domain of every hep error.
const errorDomain = "hep.v1"

// statusCodes is the one table from domain error codes to gRPC codes.
var statusCodes = map[hep.Code]codes.Code{
	hep.CodeInvalid:            codes.InvalidArgument,
	hep.CodeNotFound:           codes.NotFound,
	hep.CodeAlreadyExists:      codes.AlreadyExists,
	hep.CodeUnauthenticated:    codes.Unauthenticated,
	hep.CodePermissionDenied:   codes.PermissionDenied,
	hep.CodeFailedPrecondition: codes.FailedPrecondition,
	hep.CodeAborted:            codes.Aborted,
	hep.CodeResourceExhausted:  codes.ResourceExhausted,
	hep.CodeUnavailable:        codes.Unavailable,
	hep.CodeInternal:           codes.Internal,
}

// toStatus turns any error a handler or interceptor produced into a gRPC
// status error with an ErrorInfo (and BadRequest for field violations).
// Unexpected errors are logged with the request id and reach the caller only as
// "internal error".
func toStatus(ctx context.Context, log *slog.Logger, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err // already a status (from grpc itself)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return statusWith(codes.DeadlineExceeded, "deadline exceeded", hep.ReasonUnavailable, nil)
	case errors.Is(err, context.Canceled):
		return statusWith(codes.Canceled, "canceled", hep.ReasonUnavailable, nil)
	}
	var e *hep.Error
	if !errors.As(err, &e) || e.Code == hep.CodeInternal {
		log.ErrorContext(ctx, "internal error", "request_id", hep.ActorFrom(ctx).RequestID, "err", err.Error())
		return statusWith(codes.Internal, "internal error", hep.ReasonInternal, nil)
	}
	c, ok := statusCodes[e.Code]
	if !ok {
		log.ErrorContext(ctx, "unmapped error code", "request_id", hep.ActorFrom(ctx).RequestID, "code", string(e.Code))
		return statusWith(codes.Internal, "internal error", hep.ReasonInternal, nil)
	}
	reason := e.Reason
	if reason == "" {
		reason = string(e.Code)
	}
	return statusWithInfo(c, e.Error(), reason, e.Metadata, e.Violations)
}

func statusWith(c codes.Code, msg, reason string, vs []hep.FieldViolation) error {
	return statusWithInfo(c, msg, reason, nil, vs)
}

func statusWithInfo(c codes.Code, msg, reason string, metadata map[string]string, vs []hep.FieldViolation) error {
	st := status.New(c, msg)
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: reason, Domain: errorDomain, Metadata: metadata}}
	if len(vs) > 0 {
		br := &errdetails.BadRequest{}
		for _, v := range vs {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Description})
		}
		details = append(details, br)
	}
	withDetails, err := st.WithDetails(details...)
	if err != nil {
		return st.Err()
	}
	return withDetails.Err()
}
