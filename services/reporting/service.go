// Package reporting is dpsweep's ReportingService: it stores findings per sweep, diffs sweeps and exports reports.
package reporting

import (
	"context"
	"log/slog"

	"google.golang.org/grpc"

	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
)

// DefaultAddr is where the service listens unless configured otherwise.
const DefaultAddr = "127.0.0.1:7404"

// Service implements reportingv1.ReportingServiceServer. RPCs not implemented yet
// answer UNIMPLEMENTED; request validation already runs in front of them.
type Service struct {
	reportingv1.UnimplementedReportingServiceServer
	log *slog.Logger
}

var _ reportingv1.ReportingServiceServer = (*Service)(nil)

// New returns the service.
func New(log *slog.Logger) *Service {
	return &Service{log: log}
}

// Register installs the service on s; it is the server.Service.Register hook.
func Register(_ context.Context, s *grpc.Server, log *slog.Logger) (func(), error) {
	reportingv1.RegisterReportingServiceServer(s, New(log))
	return nil, nil
}
