package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"buf.build/go/protovalidate"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/dpsweep/dpsweep/services/platform/telemetry"
)

// Interceptors returns the unary and stream chains every service runs, outermost
// first: metrics, logging, validation, panic recovery. ServeListener adds
// authorisation (UnaryAuthz, StreamAuthz) after logging when mutual TLS is on.
func Interceptors(log *slog.Logger, v protovalidate.Validator) ([]grpc.UnaryServerInterceptor, []grpc.StreamServerInterceptor) {
	return []grpc.UnaryServerInterceptor{
			telemetry.UnaryServerMetrics(), unaryLogging(log), unaryValidation(v), unaryRecovery(log),
		}, []grpc.StreamServerInterceptor{
			telemetry.StreamServerMetrics(), streamLogging(log), streamValidation(v), streamRecovery(log),
		}
}

// ValidationStatus turns a protovalidate error into INVALID_ARGUMENT naming
// every violated field, with a BadRequest detail per field. Other errors
// become INTERNAL.
func ValidationStatus(err error) error {
	var verr *protovalidate.ValidationError
	if !errors.As(err, &verr) {
		return status.Error(codes.Internal, "validate request: "+err.Error())
	}
	var br errdetails.BadRequest
	msgs := make([]string, 0, len(verr.Violations))
	for _, v := range verr.Violations {
		field := protovalidate.FieldPathString(v.Proto.GetField())
		desc := v.Proto.GetMessage()
		if desc == "" {
			desc = v.Proto.GetRuleId()
		}
		if field == "" {
			msgs = append(msgs, desc)
		} else {
			msgs = append(msgs, field+": "+desc)
		}
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: field, Description: desc})
	}
	st := status.New(codes.InvalidArgument, "invalid request: "+strings.Join(msgs, "; "))
	if withDetails, err := st.WithDetails(&br); err == nil {
		st = withDetails
	}
	return st.Err()
}

// FieldError is INVALID_ARGUMENT for one field that the handler, not the
// proto rules, found wrong (for example a size limit that is configuration).
func FieldError(field, description string) error {
	st := status.New(codes.InvalidArgument, fmt.Sprintf("invalid request: %s: %s", field, description))
	if withDetails, err := st.WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: description}}}); err == nil {
		st = withDetails
	}
	return st.Err()
}

// utf8Status is INVALID_ARGUMENT for string fields that held invalid UTF-8.
func utf8Status(paths []string) error {
	return FieldError(strings.Join(paths, ", "), "invalid UTF-8; string fields must be UTF-8 encoded")
}

func unaryValidation(v protovalidate.Validator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if bad := takeInvalidUTF8(req); bad != nil {
			return nil, utf8Status(bad)
		}
		if m, ok := req.(proto.Message); ok {
			if err := v.Validate(m); err != nil {
				return nil, ValidationStatus(err)
			}
		}
		return handler(ctx, req)
	}
}

func streamValidation(v protovalidate.Validator) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return handler(srv, &validatingStream{ServerStream: ss, v: v})
	}
}

type validatingStream struct {
	grpc.ServerStream
	v protovalidate.Validator
}

func (s *validatingStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if bad := takeInvalidUTF8(m); bad != nil {
		return utf8Status(bad)
	}
	if pm, ok := m.(proto.Message); ok {
		if err := s.v.Validate(pm); err != nil {
			return ValidationStatus(err)
		}
	}
	return nil
}

func unaryRecovery(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (_ any, err error) {
		defer recoverTo(log, info.FullMethod, &err)
		return handler(ctx, req)
	}
}

func streamRecovery(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer recoverTo(log, info.FullMethod, &err)
		return handler(srv, ss)
	}
}

// recoverTo turns a handler panic into INTERNAL. The log records the method
// and stack, never the request.
func recoverTo(log *slog.Logger, method string, err *error) {
	if r := recover(); r != nil {
		log.Error("handler panicked", "method", method, "panic_type", fmt.Sprintf("%T", r), "stack", string(debug.Stack()))
		*err = status.Error(codes.Internal, "internal error")
	}
}

func unaryLogging(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		ids := telemetry.MessageIDs(req)
		ids.Annotate(ctx)
		resp, err := handler(ctx, req)
		logRPC(ctx, log, info.FullMethod, ids, start, err)
		return resp, err
	}
}

func streamLogging(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		is := &idStream{ServerStream: ss}
		err := handler(srv, is)
		logRPC(ss.Context(), log, info.FullMethod, is.ids, start, err)
		return err
	}
}

// idStream takes a stream's IDs from its first request message that has
// any (an inventory's target, an evaluation's context) and sets them on
// the RPC's span.
type idStream struct {
	grpc.ServerStream
	ids telemetry.IDs
}

func (s *idStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil && s.ids.Empty() {
		s.ids = telemetry.MessageIDs(m)
		s.ids.Annotate(s.Context())
	}
	return err
}

// logRPC records one finished RPC: method, code, duration, and the sweep,
// account and region the request names (never its payload). Successful
// calls log at debug (a log pipeline may send thousands a second), caller
// mistakes at info, server faults at error.
func logRPC(ctx context.Context, log *slog.Logger, method string, ids telemetry.IDs, start time.Time, err error) {
	code := status.Code(err)
	level := slog.LevelDebug
	switch code {
	case codes.OK:
	case codes.Internal, codes.Unknown, codes.DataLoss, codes.Unavailable:
		level = slog.LevelError
	default:
		level = slog.LevelInfo
	}
	if !log.Enabled(ctx, level) {
		return
	}
	attrs := append([]slog.Attr{
		slog.String("method", method),
		slog.String("code", code.String()),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
	}, ids.Attrs()...)
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		attrs = append(attrs, slog.String("trace_id", sc.TraceID().String()))
	}
	log.LogAttrs(ctx, level, "rpc", attrs...)
}
