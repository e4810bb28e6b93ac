package main

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	redactionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/redaction/v1"
	"github.com/dpsweep/dpsweep/services/redaction"
)

// serveRedaction serves impl (and the health service when withHealth) on a
// real listener and returns its address.
func serveRedaction(t *testing.T, impl redactionv1.RedactionServiceServer, withHealth bool) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	redactionv1.RegisterRedactionServiceServer(s, impl)
	if withHealth {
		healthpb.RegisterHealthServer(s, health.NewServer())
	}
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

// echo answers Redact with the text unchanged: a server that does not redact.
type echo struct {
	redactionv1.UnimplementedRedactionServiceServer
}

func (echo) Redact(_ context.Context, req *redactionv1.RedactRequest) (*redactionv1.RedactResponse, error) {
	return &redactionv1.RedactResponse{RedactedText: req.GetText()}, nil
}

// The lean client gets every answer from the real service, counts each
// failure (an RPC error, a response that is not a redaction), and reports
// latencies.
func TestLeanClient(t *testing.T) {
	svc, err := redaction.New(redaction.Config{MaxTextBytes: 1 << 20}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	const rate, d = 400.0, 500 * time.Millisecond
	want := int64(rate * d.Seconds())

	addr := serveRedaction(t, svc, true)
	res, err := h2OpenLoop(addr, oneKiB(), rate, d, 2)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != want || res.Errors != 0 || res.P50 <= 0 || res.P99 < res.P50 || res.Max < res.P99 {
		t.Errorf("Redact against the service: %+v; want %d requests, no errors, ordered latencies", res, want)
	}
	if res, err = h2HealthOpenLoop(addr, rate, d, 2); err != nil || res.Errors != 0 {
		t.Errorf("health check: %+v, %v; want no errors", res, err)
	}

	// Every call fails: the run fails, nothing answered successfully.
	bare := serveRedaction(t, redactionv1.UnimplementedRedactionServiceServer{}, false)
	if res, err := h2OpenLoop(bare, oneKiB(), rate, d, 2); err == nil {
		t.Errorf("against a server without Redact: %+v, want an error", res)
	}
	if res, err := h2HealthOpenLoop(bare, rate, d, 1); err == nil {
		t.Errorf("health check against a server without it: %+v, want an error", res)
	}

	// Answers that are not redactions are errors.
	res, err = h2OpenLoop(serveRedaction(t, echo{}, false), oneKiB(), rate, d, 2)
	if err == nil && res.Errors == 0 {
		t.Errorf("against a server that echoes: %+v, want errors", res)
	}
}
