// Package suite runs dpsweep's gRPC services in one process on 127.0.0.1,
// each on its own real listener, for the demo and dev commands.
package suite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/dpsweep/dpsweep/services/collection"
	"github.com/dpsweep/dpsweep/services/evaluation"
	"github.com/dpsweep/dpsweep/services/platform/server"
	"github.com/dpsweep/dpsweep/services/redaction"
	"github.com/dpsweep/dpsweep/services/reporting"
	"github.com/dpsweep/dpsweep/services/sweep"
)

// Endpoint is one running service.
type Endpoint struct {
	Name, Service, Addr string
}

type component struct {
	name, service string
	register      server.RegisterFunc
}

var components = []component{
	{"collection", "dpsweep.collection.v1.CollectionService", collection.Register},
	{"evaluation", "dpsweep.evaluation.v1.EvaluationService", evaluation.Register},
	{"redaction", "dpsweep.redaction.v1.RedactionService", redaction.Register},
	{"reporting", "dpsweep.reporting.v1.ReportingService", reporting.Register},
	{"sweep", "dpsweep.sweep.v1.SweepService", sweep.Register},
}

// Suite is the running services.
type Suite struct {
	Endpoints []Endpoint
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	mu        sync.Mutex
	errs      []error
}

// Start listens on a free 127.0.0.1 port per service and serves each.
func Start(ctx context.Context, log *slog.Logger) (*Suite, error) {
	ctx, cancel := context.WithCancel(ctx)
	s := &Suite{cancel: cancel}
	for _, c := range components {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			_ = s.Stop()
			return nil, fmt.Errorf("listen for %s: %w", c.name, err)
		}
		cfg := server.Config{
			Addr: lis.Addr().String(), LogFormat: "text", LogLevel: "warn",
			MaxRecvMsgBytes: server.DefaultMaxRecvMsgBytes, MaxSendMsgBytes: server.DefaultMaxSendMsgBytes,
			ShutdownTimeout: 10 * time.Second,
		}
		s.Endpoints = append(s.Endpoints, Endpoint{Name: c.name, Service: c.service, Addr: cfg.Addr})
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := server.ServeListener(ctx, lis, cfg, log.With("service", c.name), c.register); err != nil {
				s.mu.Lock()
				s.errs = append(s.errs, fmt.Errorf("%s: %w", c.name, err))
				s.mu.Unlock()
			}
		}()
	}
	return s, nil
}

// CheckHealth asks every service's gRPC health endpoint, over a real
// connection, whether its API is SERVING.
func (s *Suite) CheckHealth(ctx context.Context) error {
	for _, e := range s.Endpoints {
		conn, err := grpc.NewClient(e.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return fmt.Errorf("%s: %w", e.Name, err)
		}
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: e.Service}, grpc.WaitForReady(true))
		conn.Close()
		if err != nil {
			return fmt.Errorf("%s health check: %w", e.Name, err)
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("%s is %s, want SERVING", e.Name, resp.GetStatus())
		}
	}
	return nil
}

// Stop stops every service gracefully and returns their errors, if any.
func (s *Suite) Stop() error {
	s.cancel()
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(s.errs...)
}
