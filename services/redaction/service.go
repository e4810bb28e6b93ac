// Package redaction is dpsweep's RedactionService: it detects and scrubs PII, credentials and account numbers in free-form text.
package redaction

import (
	"context"
	"log/slog"

	"google.golang.org/grpc"

	redactionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/redaction/v1"
)

// DefaultAddr is where the service listens unless configured otherwise.
const DefaultAddr = "127.0.0.1:7403"

// Service implements redactionv1.RedactionServiceServer. RPCs not implemented yet
// answer UNIMPLEMENTED; request validation already runs in front of them.
type Service struct {
	redactionv1.UnimplementedRedactionServiceServer
	log *slog.Logger
}

var _ redactionv1.RedactionServiceServer = (*Service)(nil)

// New returns the service.
func New(log *slog.Logger) *Service {
	return &Service{log: log}
}

// Register installs the service on s; it is the server.Service.Register hook.
func Register(_ context.Context, s *grpc.Server, log *slog.Logger) (func(), error) {
	redactionv1.RegisterRedactionServiceServer(s, New(log))
	return nil, nil
}
