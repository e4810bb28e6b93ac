// Package collection is dpsweep's CollectionService: it reads what every control needs from AWS accounts.
package collection

import (
	"context"
	"log/slog"

	"google.golang.org/grpc"

	collectionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/collection/v1"
)

// DefaultAddr is where the service listens unless configured otherwise.
const DefaultAddr = "127.0.0.1:7401"

// Service implements collectionv1.CollectionServiceServer. RPCs not implemented yet
// answer UNIMPLEMENTED; request validation already runs in front of them.
type Service struct {
	collectionv1.UnimplementedCollectionServiceServer
	log *slog.Logger
}

var _ collectionv1.CollectionServiceServer = (*Service)(nil)

// New returns the service.
func New(log *slog.Logger) *Service {
	return &Service{log: log}
}

// Register installs the service on s; it is the server.Service.Register hook.
func Register(_ context.Context, s *grpc.Server, log *slog.Logger) (func(), error) {
	collectionv1.RegisterCollectionServiceServer(s, New(log))
	return nil, nil
}
