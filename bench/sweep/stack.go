package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/dpsweep/dpsweep/awssim"
	"github.com/dpsweep/dpsweep/awssim/server"
	"github.com/dpsweep/dpsweep/awssim/world"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	sweepv1 "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
	"github.com/dpsweep/dpsweep/services/collection"
	"github.com/dpsweep/dpsweep/services/evaluation"
	platform "github.com/dpsweep/dpsweep/services/platform/server"
	"github.com/dpsweep/dpsweep/services/redaction"
	"github.com/dpsweep/dpsweep/services/reporting"
	sweepsvc "github.com/dpsweep/dpsweep/services/sweep"
	"github.com/dpsweep/dpsweep/workflows/codec"
	"github.com/dpsweep/dpsweep/workflows/devserver"
	wf "github.com/dpsweep/dpsweep/workflows/sweep"
	"github.com/dpsweep/dpsweep/workflows/worker"
)

// stack is the whole product in one process, as tests/sweep_test.go starts
// it: a real Temporal server (the Temporal CLI's dev server, a child
// process), the simulated organization, the four services and the
// SweepService on real 127.0.0.1 listeners, and a sweep worker with its
// default configuration apart from what the options change.
type stack struct {
	temporal *devserver.Server
	tc       client.Client
	sim      *awssim.Sim
	sweeps   sweepv1.SweepServiceClient
	reports  reportingv1.ReportingServiceClient
	dir      string
	closers  []func()
}

func (s *stack) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// startStack brings everything up. Services log at o.logLevel as JSON into
// dir/services.log; Temporal writes dir/temporal.log.
func startStack(ctx context.Context, o options, dir string) (_ *stack, err error) {
	s := &stack{dir: dir}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	s.temporal, err = devserver.Start(ctx, devserver.Options{SearchAttributes: wf.SearchAttributeTypes,
		LogFile: filepath.Join(dir, "temporal.log"), DBFile: o.temporalDB, DynamicConfig: o.dynamicConfig})
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { _ = s.temporal.Stop() })

	// Payloads are encrypted with a fresh key, as a deployment's would be.
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	keys, err := codec.ParseKeys("bench:" + base64.StdEncoding.EncodeToString(key))
	if err != nil {
		return nil, err
	}
	dc, err := codec.NewDataConverter(keys)
	if err != nil {
		return nil, err
	}
	conv := &codec.Converters{Data: dc, Failure: codec.NewFailureConverter(dc), KeyID: keys[0].ID}
	s.tc, err = client.DialContext(ctx, client.Options{HostPort: s.temporal.HostPort(), Namespace: s.temporal.Namespace(), DataConverter: dc,
		FailureConverter: conv.Failure, Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.tc.Close)

	gen := world.DefaultGenOptions()
	gen.Accounts, gen.Seed = o.accounts, o.seed
	// Every account enables the opt-in region the generator offers
	// (ap-east-1), so each has 16 standard regions + 1.
	gen.OptInDisabledRate = 0
	s.sim, err = awssim.Start(ctx, awssim.Config{Gen: gen, Faults: server.Faults{Latency: server.Latency{Median: o.latency, P99: o.latencyP99}}})
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { _ = s.sim.Close() })

	logFile, err := os.Create(filepath.Join(dir, "services.log"))
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { _ = logFile.Close() })
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(logFile, &slog.HandlerOptions{Level: level}))

	rcfg := redaction.DefaultConfig()
	redConn, err := s.serve(log, o.logLevel, rcfg.Register)
	if err != nil {
		return nil, err
	}
	ccfg := collection.DefaultConfig()
	ak, sk := s.sim.Credentials()
	ccfg.EndpointURL, ccfg.Credentials = s.sim.URL, credentials.NewStaticCredentialsProvider(ak, sk, "")
	if o.rps > 0 {
		ccfg.RequestsPerSecond = o.rps
	}
	if o.inFlight > 0 {
		ccfg.MaxConcurrent = o.inFlight
	}
	collConn, err := s.serve(log, o.logLevel, ccfg.Register)
	if err != nil {
		return nil, err
	}
	ecfg := evaluation.DefaultConfig()
	ecfg.Redaction.Addr = redConn.Target()
	evalConn, err := s.serve(log, o.logLevel, ecfg.Register)
	if err != nil {
		return nil, err
	}
	pcfg := reporting.DefaultConfig()
	pcfg.Database, pcfg.ReportDir = filepath.Join(dir, "findings.db"), filepath.Join(dir, "reports")
	repConn, err := s.serve(log, o.logLevel, pcfg.Register)
	if err != nil {
		return nil, err
	}

	wcfg := worker.DefaultConfig()
	wcfg.Client, wcfg.Converters = s.tc, conv
	wcfg.Collection.Addr, wcfg.Evaluation.Addr, wcfg.Reporting.Addr = collConn.Target(), evalConn.Target(), repConn.Target()
	if o.workerActivities > 0 {
		wcfg.MaxConcurrentActivities = o.workerActivities
	}
	if o.activityPollers > 0 {
		wcfg.ActivityPollers = o.activityPollers
	}
	if o.workflowPollers > 0 {
		wcfg.WorkflowPollers = o.workflowPollers
	}
	w, cleanup, err := worker.New(wcfg, log)
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, cleanup)
	if err := w.Start(); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, w.Stop)

	scfg := sweepsvc.DefaultConfig()
	scfg.Client, scfg.ManagementAccount, scfg.Converters = s.tc, s.sim.World.ManagementAccount, conv
	sweepConn, err := s.serve(log, o.logLevel, scfg.Register)
	if err != nil {
		return nil, err
	}
	s.sweeps, s.reports = sweepv1.NewSweepServiceClient(sweepConn), reportingv1.NewReportingServiceClient(repConn)
	return s, nil
}

// serve runs one service on a real 127.0.0.1 listener and returns a client
// connection to it.
func (s *stack) serve(log *slog.Logger, level string, register platform.RegisterFunc) (*grpc.ClientConn, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cfg := platform.Config{Addr: lis.Addr().String(), LogFormat: "json", LogLevel: level, MaxRecvMsgBytes: platform.DefaultMaxRecvMsgBytes,
		MaxSendMsgBytes: platform.DefaultMaxSendMsgBytes, ShutdownTimeout: 5 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- platform.ServeListener(ctx, lis, cfg, log, register) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.WaitForReady(true), grpc.MaxCallRecvMsgSize(platform.DefaultMaxSendMsgBytes)))
	if err != nil {
		cancel()
		return nil, errors.Join(err, <-done)
	}
	s.closers = append(s.closers, func() {
		_ = conn.Close()
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "bench/sweep: service stopped:", err)
		}
	})
	return conn, nil
}
