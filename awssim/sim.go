// Package awssim is dpsweep's simulator of an AWS Organization: an HTTP
// server speaking AWS's wire protocols (package server) over a world of
// accounts and resources (package world), loaded from a spec or generated
// from a seed with the findings it expects. Start runs it in-process for
// tests; Main is the standalone command (dpsweep-sim, dpsweep sim).
package awssim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/dpsweep/dpsweep/awssim/server"
	"github.com/dpsweep/dpsweep/awssim/world"
)

// Config says what to simulate.
type Config struct {
	// Addr to listen on; "127.0.0.1:0" when empty.
	Addr string
	// World to serve; generated from Gen when nil.
	World *world.World
	Gen   world.GenOptions
	// Faults at start.
	Faults server.Faults
	// MaxSessionDuration caps role sessions (tests of credential refresh).
	MaxSessionDuration time.Duration
}

// Sim is a running simulator.
type Sim struct {
	// URL is the endpoint to give SDKs (BaseEndpoint / AWS_ENDPOINT_URL).
	URL       string
	Server    *server.Server
	World     *world.World
	Generated *world.Generated // nil when the world was loaded
	srv       *http.Server
	done      chan error
}

// Start runs a simulator until ctx is done or Close is called.
func Start(ctx context.Context, cfg Config) (*Sim, error) {
	s := &Sim{World: cfg.World, done: make(chan error, 1)}
	if s.World == nil {
		g, err := world.Generate(cfg.Gen)
		if err != nil {
			return nil, fmt.Errorf("generate world: %w", err)
		}
		s.World, s.Generated = g.World, g
	}
	srv, err := server.New(server.Options{World: s.World, Faults: cfg.Faults, MaxSessionDuration: cfg.MaxSessionDuration})
	if err != nil {
		return nil, err
	}
	s.Server = srv
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	s.URL = "http://" + lis.Addr().String()
	s.srv = &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		err := s.srv.Serve(lis)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	go func() {
		<-ctx.Done()
		_ = s.Close()
	}()
	return s, nil
}

// Close stops the simulator: calls in flight get up to 2 seconds to finish,
// then every connection is closed, so that when Close returns no connection
// of the simulator is left open (Shutdown alone leaves a connection that
// has not sent a request open for 5 seconds).
func (s *Sim) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if cerr := s.srv.Close(); err == nil {
		err = cerr
	}
	return err
}

// Wait returns when the server has stopped.
func (s *Sim) Wait() error { return <-s.done }

// Credentials are the management account's root credentials, what a sweep
// of the simulated organization starts from.
func (s *Sim) Credentials() (accessKey, secret string) {
	return server.RootCredentials(s.World.ManagementAccount)
}
