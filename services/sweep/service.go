// Package sweep is dpsweep's SweepService: it is the control plane that starts, inspects, cancels and schedules sweeps.
package sweep

import (
	"context"
	"log/slog"

	"google.golang.org/grpc"

	sweepv1 "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
)

// DefaultAddr is where the service listens unless configured otherwise.
const DefaultAddr = "127.0.0.1:7405"

// Service implements sweepv1.SweepServiceServer. RPCs not implemented yet
// answer UNIMPLEMENTED; request validation already runs in front of them.
type Service struct {
	sweepv1.UnimplementedSweepServiceServer
	log *slog.Logger
}

var _ sweepv1.SweepServiceServer = (*Service)(nil)

// New returns the service.
func New(log *slog.Logger) *Service {
	return &Service{log: log}
}

// Register installs the service on s; it is the server.Service.Register hook.
func Register(_ context.Context, s *grpc.Server, log *slog.Logger) (func(), error) {
	sweepv1.RegisterSweepServiceServer(s, New(log))
	return nil, nil
}
