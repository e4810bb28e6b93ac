// Package evaluation is dpsweep's EvaluationService: it evaluates inventories into findings with the control catalogue.
package evaluation

import (
	"context"
	"log/slog"

	"google.golang.org/grpc"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
)

// DefaultAddr is where the service listens unless configured otherwise.
const DefaultAddr = "127.0.0.1:7402"

// Service implements evaluationv1.EvaluationServiceServer. RPCs not implemented yet
// answer UNIMPLEMENTED; request validation already runs in front of them.
type Service struct {
	evaluationv1.UnimplementedEvaluationServiceServer
	log *slog.Logger
}

var _ evaluationv1.EvaluationServiceServer = (*Service)(nil)

// New returns the service.
func New(log *slog.Logger) *Service {
	return &Service{log: log}
}

// Register installs the service on s; it is the server.Service.Register hook.
func Register(_ context.Context, s *grpc.Server, log *slog.Logger) (func(), error) {
	evaluationv1.RegisterEvaluationServiceServer(s, New(log))
	return nil, nil
}
