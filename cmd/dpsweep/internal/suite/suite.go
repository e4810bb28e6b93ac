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
	// register builds the service's hook, given every service's address.
	register func(addrs map[string]string) server.RegisterFunc
}

// Options configure the services; the zero value is each service's default.
type Options struct {
	// Collection's AWS endpoint and credentials (the simulator in the demo).
	Collection collection.Config
	// Reporting's store and report directory.
	Reporting reporting.Config
	// Sweep's Temporal client and management account.
	Sweep sweep.Config
}

// DefaultOptions are every service's defaults.
func DefaultOptions() Options {
	return Options{Collection: collection.DefaultConfig(), Reporting: reporting.DefaultConfig(), Sweep: sweep.DefaultConfig()}
}

func components(o Options) []component {
	return []component{
		{"collection", "dpsweep.collection.v1.CollectionService", func(map[string]string) server.RegisterFunc { return o.Collection.Register }},
		{"evaluation", "dpsweep.evaluation.v1.EvaluationService", func(addrs map[string]string) server.RegisterFunc {
			cfg := evaluation.DefaultConfig()
			cfg.Redaction.Addr = addrs["redaction"]
			return cfg.Register
		}},
		{"redaction", "dpsweep.redaction.v1.RedactionService", func(map[string]string) server.RegisterFunc { return redaction.Register }},
		{"reporting", "dpsweep.reporting.v1.ReportingService", func(map[string]string) server.RegisterFunc { return o.Reporting.Register }},
		{"sweep", "dpsweep.sweep.v1.SweepService", func(map[string]string) server.RegisterFunc { return o.Sweep.Register }},
	}
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
func Start(ctx context.Context, log *slog.Logger, o Options) (*Suite, error) {
	components := components(o)
	ctx, cancel := context.WithCancel(ctx)
	s := &Suite{cancel: cancel}
	listeners := make([]net.Listener, len(components))
	addrs := map[string]string{}
	for i, c := range components {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			for _, l := range listeners[:i] {
				l.Close()
			}
			cancel()
			return nil, fmt.Errorf("listen for %s: %w", c.name, err)
		}
		listeners[i], addrs[c.name] = lis, lis.Addr().String()
	}
	for i, c := range components {
		lis, register := listeners[i], c.register(addrs)
		cfg := server.Config{
			Addr: lis.Addr().String(), LogFormat: "text", LogLevel: "warn",
			MaxRecvMsgBytes: server.DefaultMaxRecvMsgBytes, MaxSendMsgBytes: server.DefaultMaxSendMsgBytes,
			ShutdownTimeout: 10 * time.Second,
		}
		s.Endpoints = append(s.Endpoints, Endpoint{Name: c.name, Service: c.service, Addr: cfg.Addr})
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := server.ServeListener(ctx, lis, cfg, log.With("service", c.name), register); err != nil {
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

// Addr is the address of the named service ("" when there is none).
func (s *Suite) Addr(name string) string {
	for _, e := range s.Endpoints {
		if e.Name == name {
			return e.Addr
		}
	}
	return ""
}
