package telemetry

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// rpcBuckets span a health check (tens of microseconds) to a scan's
// inventory stream (minutes).
var rpcBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}

var (
	serverHandled = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "dpsweep_rpc_server_handling_seconds",
		Help:    "Time from an RPC's arrival to its end on the server, by gRPC service, method and status code (streams: the whole stream).",
		Buckets: rpcBuckets,
	}, []string{"grpc_service", "grpc_method", "grpc_code"})
	clientHandled = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "dpsweep_rpc_client_handling_seconds",
		Help:    "Time an RPC took as its client saw it, by gRPC service, method and status code (streams: until the client saw the end).",
		Buckets: rpcBuckets,
	}, []string{"grpc_service", "grpc_method", "grpc_code"})
)

func init() {
	MustRegister(serverHandled, clientHandled)
}

// splitMethod turns "/pkg.Service/Method" into its service and method.
func splitMethod(full string) (string, string) {
	full = strings.TrimPrefix(full, "/")
	if i := strings.LastIndexByte(full, '/'); i >= 0 {
		return full[:i], full[i+1:]
	}
	return "unknown", full
}

func observe(h *prometheus.HistogramVec, fullMethod string, start time.Time, err error) {
	svc, m := splitMethod(fullMethod)
	h.WithLabelValues(svc, m, status.Code(err).String()).Observe(time.Since(start).Seconds())
}

// UnaryServerMetrics records dpsweep_rpc_server_handling_seconds for unary RPCs.
func UnaryServerMetrics() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		observe(serverHandled, info.FullMethod, start, err)
		return resp, err
	}
}

// StreamServerMetrics records dpsweep_rpc_server_handling_seconds for streams.
func StreamServerMetrics() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		err := handler(srv, ss)
		observe(serverHandled, info.FullMethod, start, err)
		return err
	}
}

// ServerOptions are the gRPC server options of every service: an
// OpenTelemetry stats handler that continues the caller's trace (health
// checks are not traced).
func ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithFilter(filters.Not(filters.HealthCheck()))))}
}

// DialOptions are the options of every client connection between dpsweep
// processes: a span per RPC that carries the trace to the server, and
// dpsweep_rpc_client_handling_seconds.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithFilter(filters.Not(filters.HealthCheck())))),
		grpc.WithChainUnaryInterceptor(unaryClientMetrics),
		grpc.WithChainStreamInterceptor(streamClientMetrics),
	}
}

func unaryClientMetrics(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	start := time.Now()
	err := invoker(ctx, method, req, reply, cc, opts...)
	observe(clientHandled, method, start, err)
	return err
}

func streamClientMetrics(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	start := time.Now()
	cs, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		observe(clientHandled, method, start, err)
		return nil, err
	}
	return &timedClientStream{ClientStream: cs, method: method, start: start}, nil
}

// timedClientStream observes a stream once, when RecvMsg first returns an
// error (io.EOF is a clean end).
type timedClientStream struct {
	grpc.ClientStream
	method string
	start  time.Time
	done   bool
}

func (s *timedClientStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil && !s.done {
		s.done = true
		end := err
		if errors.Is(err, io.EOF) {
			end = nil
		}
		observe(clientHandled, s.method, s.start, end)
	}
	return err
}
