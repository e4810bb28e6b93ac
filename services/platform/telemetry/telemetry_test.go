package telemetry_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	redactionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/redaction/v1"
	"github.com/dpsweep/dpsweep/services/platform/client"
	"github.com/dpsweep/dpsweep/services/platform/server"
	"github.com/dpsweep/dpsweep/services/platform/telemetry"
	"github.com/dpsweep/dpsweep/services/platform/telemetry/telemetrytest"
)

func TestMessageIDs(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		msg  any
		want telemetry.IDs
	}{
		"top-level fields": {&evaluationv1.EvaluationContext{SweepId: "s-1", AccountId: "111122223333", Region: "eu-west-1"},
			telemetry.IDs{SweepID: "s-1", AccountID: "111122223333", Region: "eu-west-1"}},
		"nested message": {&evaluationv1.EvaluateRequest{Payload: &evaluationv1.EvaluateRequest_Context{Context: &evaluationv1.EvaluationContext{SweepId: "s-2", AccountId: "111122223333", Region: "global"}}},
			telemetry.IDs{SweepID: "s-2", AccountID: "111122223333", Region: "global"}},
		"text is not an identifier": {&evaluationv1.EvaluationContext{SweepId: "jane@example.org secret", AccountId: "111122223333"},
			telemetry.IDs{AccountID: "111122223333"}},
		"no such fields": {&redactionv1.RedactRequest{Text: "jane@example.org"}, telemetry.IDs{}},
		"not a message":  {"sweep_id", telemetry.IDs{}},
		"nil message":    {(*evaluationv1.EvaluationContext)(nil), telemetry.IDs{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := telemetry.MessageIDs(tc.msg); got != tc.want {
				t.Errorf("MessageIDs = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// relay is a RedactionService whose Redact calls next (when set) and
// returns a fixed answer: two of them make a call chain across two servers.
type relay struct {
	redactionv1.UnimplementedRedactionServiceServer
	next redactionv1.RedactionServiceClient
}

func (r *relay) Redact(ctx context.Context, req *redactionv1.RedactRequest) (*redactionv1.RedactResponse, error) {
	if r.next != nil {
		return r.next.Redact(ctx, req)
	}
	return &redactionv1.RedactResponse{RedactedText: "[REDACTED]"}, nil
}

// serve runs impl on a 127.0.0.1 listener with the real server plumbing
// and returns a client connection made by package client.
func serve(t *testing.T, impl redactionv1.RedactionServiceServer) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{Addr: lis.Addr().String(), LogFormat: "json", LogLevel: "error", MaxRecvMsgBytes: server.DefaultMaxRecvMsgBytes,
		MaxSendMsgBytes: server.DefaultMaxSendMsgBytes, ShutdownTimeout: 5 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- server.ServeListener(ctx, lis, cfg, slog.New(slog.DiscardHandler), func(_ context.Context, s *grpc.Server, _ *slog.Logger) (func(), error) {
			redactionv1.RegisterRedactionServiceServer(s, impl)
			return nil, nil
		})
	}()
	conn, err := client.Config{Addr: lis.Addr().String()}.Dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return conn
}

// TestMetricsAndTraces starts the process telemetry with a metrics endpoint
// and an OTLP receiver, makes a call that crosses two servers, and checks
// the scrape and the spans. (Not parallel: telemetry.Start sets the
// process's tracer provider.)
func TestMetricsAndTraces(t *testing.T) {
	recv := telemetrytest.NewReceiver(t)
	ctx := context.Background()
	tel, err := telemetry.Start(ctx, telemetry.Config{MetricsAddr: "127.0.0.1:0", OTLPEndpoint: "http://" + recv.Addr()}, "test", func(string) string { return "" }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(ctx)
	if !tel.Tracing() || tel.MetricsAddr() == "" {
		t.Fatalf("tracing %v, metrics at %q: want both on", tel.Tracing(), tel.MetricsAddr())
	}

	before := telemetrytest.Parse(t, telemetrytest.Scrape(t, tel.MetricsAddr()))
	back := serve(t, &relay{})
	front := serve(t, &relay{next: redactionv1.NewRedactionServiceClient(back)})
	resp, err := redactionv1.NewRedactionServiceClient(front).Redact(ctx, &redactionv1.RedactRequest{Text: "canary-9f3e2 jane@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetRedactedText() != "[REDACTED]" {
		t.Fatalf("Redact = %q", resp.GetRedactedText())
	}
	if _, err := healthpb.NewHealthClient(front).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	_, err = redactionv1.NewRedactionServiceClient(front).RedactBatch(ctx, &redactionv1.RedactBatchRequest{})
	if err == nil {
		t.Fatal("RedactBatch on a relay: want an error")
	}

	body := telemetrytest.Scrape(t, tel.MetricsAddr())
	after := telemetrytest.Parse(t, body)
	redact := map[string]string{"grpc_service": "dpsweep.redaction.v1.RedactionService", "grpc_method": "Redact", "grpc_code": "OK"}
	tests := map[string]struct {
		family string
		labels map[string]string
		delta  float64
	}{
		"server Redact, both servers": {"dpsweep_rpc_server_handling_seconds", redact, 2},
		"client Redact, both hops":    {"dpsweep_rpc_client_handling_seconds", redact, 2},
		"server health check":         {"dpsweep_rpc_server_handling_seconds", map[string]string{"grpc_service": "grpc.health.v1.Health", "grpc_method": "Check", "grpc_code": "OK"}, 1},
		"error code":                  {"dpsweep_rpc_server_handling_seconds", map[string]string{"grpc_method": "RedactBatch", "grpc_code": "InvalidArgument"}, 1},
	}
	for name, tc := range tests {
		if got := after.Value(tc.family, tc.labels) - before.Value(tc.family, tc.labels); got != tc.delta {
			t.Errorf("%s: %s%v grew by %v, want %v", name, tc.family, tc.labels, got, tc.delta)
		}
	}
	for _, family := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if _, ok := after[family]; !ok {
			t.Errorf("no %s in the scrape", family)
		}
	}
	if strings.Contains(body, "canary-9f3e2") || strings.Contains(body, "jane@example.org") {
		t.Error("a request payload appears in the metrics")
	}

	// Four spans of one trace: client → front server → client → back server.
	if err := tel.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	const method = "dpsweep.redaction.v1.RedactionService/Redact"
	spans := recv.WaitFor(t, 10*time.Second, "four Redact spans", func(spans []telemetrytest.Span) bool {
		n := 0
		for _, s := range spans {
			if s.Name == method {
				n++
			}
		}
		return n == 4
	})
	byID := map[string]telemetrytest.Span{}
	var trace string
	for _, s := range spans {
		if s.Name != method {
			continue
		}
		byID[s.SpanID] = s
		if trace == "" {
			trace = s.TraceID
		}
		if s.TraceID != trace {
			t.Errorf("span %s in trace %s, want every Redact span in %s", s.SpanID, s.TraceID, trace)
		}
		if s.Service != "dpsweep-test" {
			t.Errorf("span service.name %q, want dpsweep-test", s.Service)
		}
	}
	// Walk from the deepest server span to the root.
	depth := 0
	for _, s := range byID {
		d := 0
		for cur, ok := s, true; ok && cur.ParentID != ""; cur, ok = byID[cur.ParentID] {
			d++
		}
		depth = max(depth, d)
	}
	if depth != 3 {
		t.Errorf("longest parent chain among the Redact spans has %d links, want 3 (client → server → client → server)\n%s", depth, telemetrytest.Describe(spans))
	}
	for _, s := range spans {
		if strings.Contains(s.Name, "Health") {
			t.Errorf("health check traced: %q", s.Name)
		}
		for k, v := range s.Attributes {
			if strings.Contains(v, "canary-9f3e2") {
				t.Errorf("span %q attribute %s carries the payload", s.Name, k)
			}
		}
	}
}
