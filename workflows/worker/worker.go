// Package worker runs a Temporal worker of dpsweep's sweep workflows: it
// polls the sweep task queue and runs SweepWorkflow, AccountSweep and their
// activities, which call the collection, evaluation and reporting services
// over gRPC.
package worker

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	collectionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/collection/v1"
	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	platformclient "github.com/dpsweep/dpsweep/services/platform/client"
	"github.com/dpsweep/dpsweep/workflows/codec"
	"github.com/dpsweep/dpsweep/workflows/sweep"
	"github.com/dpsweep/dpsweep/workflows/temporalconn"
	"github.com/dpsweep/dpsweep/workflows/tracing"
)

// Default addresses of what the worker talks to.
const (
	DefaultTemporalAddr   = "127.0.0.1:7233"
	DefaultCollectionAddr = "127.0.0.1:7401"
	DefaultEvaluationAddr = "127.0.0.1:7402"
	DefaultReportingAddr  = "127.0.0.1:7404"
)

// DefaultMaxConcurrentActivities is how many activities a worker runs at
// once by default. A sweep runs up to max_concurrent_accounts × (regions + 1)
// scans at once — 900 at the default 50 accounts and 17 regions — and each
// spends nearly all its time waiting for its account's API budget in the
// collection service, so a slot costs a goroutine and two gRPC streams.
// With fewer slots than that, scans queue in Temporal while the accounts
// they belong to leave their budget unused.
const DefaultMaxConcurrentActivities = 2000

// serviceDialOptions make the activities ride out a service that is away
// for a while (restarted, redeployed): an RPC waits for the connection to
// be ready instead of failing at once with Unavailable, within the
// activity's own timeouts, and the connection retries at least every 5 s
// rather than backing off to gRPC's default 2 minutes. Without them a
// service stopped for 30 s used up a scan's four attempts in its first 35 s
// and left accounts not fully assessed (tests/faults_test.go,
// TestFaultServiceStopped).
var serviceDialOptions = []grpc.DialOption{
	grpc.WithDefaultCallOptions(grpc.WaitForReady(true)),
	grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.Config{BaseDelay: time.Second, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 5 * time.Second},
		MinConnectTimeout: 20 * time.Second}),
}

// Config is the worker's configuration (flags and DPSWEEP_WORKER_* variables).
type Config struct {
	TemporalAddr, Namespace string
	// TemporalSecurity is TLS, mutual TLS or an API key for the Temporal
	// connection (--temporal-tls*, --temporal-api-key-file).
	TemporalSecurity       temporalconn.Security
	Collection, Evaluation platformclient.Config
	Reporting              platformclient.Config
	// MaxConcurrentActivities bounds the scans one worker runs at once;
	// MaxConcurrentWorkflowTasks the workflow tasks.
	MaxConcurrentActivities, MaxConcurrentWorkflowTasks int
	// ActivityPollers and WorkflowPollers are the long polls the worker
	// keeps open for activity and workflow tasks.
	ActivityPollers, WorkflowPollers int
	// KeyFile holds the payload encryption keys (see package codec); empty
	// means DPSWEEP_TEMPORAL_KEY, and without either payloads are plain.
	KeyFile string
	// Converters, when set, are used instead of loading KeyFile.
	Converters *codec.Converters
	// Client, when set, is used instead of dialling TemporalAddr; Run does not close it.
	// It must not carry the tracing interceptor (package tracing): New adds
	// it to the worker, and a client's interceptors apply to its workers too.
	Client client.Client
}

// DefaultConfig is the configuration with every default.
func DefaultConfig() Config {
	return Config{TemporalAddr: DefaultTemporalAddr, Namespace: "default",
		Collection: platformclient.Config{Addr: DefaultCollectionAddr}, Evaluation: platformclient.Config{Addr: DefaultEvaluationAddr},
		Reporting: platformclient.Config{Addr: DefaultReportingAddr}, MaxConcurrentActivities: DefaultMaxConcurrentActivities,
		MaxConcurrentWorkflowTasks: 50, ActivityPollers: 8, WorkflowPollers: 4}
}

// RegisterFlags defines the worker's flags.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.TemporalAddr, "temporal-address", c.TemporalAddr, "Temporal frontend host:port")
	c.TemporalSecurity.RegisterFlags(fs)
	fs.StringVar(&c.Namespace, "temporal-namespace", c.Namespace, "Temporal namespace of the sweeps")
	c.Collection.RegisterFlags(fs, "collection", c.Collection.Addr)
	c.Evaluation.RegisterFlags(fs, "evaluation", c.Evaluation.Addr)
	c.Reporting.RegisterFlags(fs, "reporting", c.Reporting.Addr)
	fs.StringVar(&c.KeyFile, "temporal-key-file", c.KeyFile, "file of AES-256 keys that encrypt workflow payloads (id:base64 per line, mode 0600); default $DPSWEEP_TEMPORAL_KEY")
	fs.IntVar(&c.MaxConcurrentActivities, "max-concurrent-activities", c.MaxConcurrentActivities, "scans (activities) this worker runs at once")
	fs.IntVar(&c.MaxConcurrentWorkflowTasks, "max-concurrent-workflow-tasks", c.MaxConcurrentWorkflowTasks, "workflow tasks this worker runs at once")
	fs.IntVar(&c.ActivityPollers, "activity-pollers", c.ActivityPollers, "long polls for activity tasks this worker keeps open")
	fs.IntVar(&c.WorkflowPollers, "workflow-pollers", c.WorkflowPollers, "long polls for workflow tasks this worker keeps open (at least 2)")
}

func (c *Config) validate() error {
	switch {
	case c.MaxConcurrentActivities <= 0:
		return fmt.Errorf("--max-concurrent-activities must be positive, got %d", c.MaxConcurrentActivities)
	case c.MaxConcurrentWorkflowTasks <= 1:
		return fmt.Errorf("--max-concurrent-workflow-tasks must be at least 2, got %d", c.MaxConcurrentWorkflowTasks)
	case c.ActivityPollers <= 0:
		return fmt.Errorf("--activity-pollers must be positive, got %d", c.ActivityPollers)
	case c.WorkflowPollers <= 1:
		return fmt.Errorf("--workflow-pollers must be at least 2, got %d", c.WorkflowPollers)
	case c.Client == nil && c.TemporalAddr == "":
		return errors.New("--temporal-address is required")
	}
	return nil
}

// Run dials the services and Temporal, then polls until ctx ends.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	w, cleanup, err := New(cfg, log)
	if err != nil {
		return err
	}
	defer cleanup()
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	log.Info("worker polling", "task_queue", sweep.TaskQueue, "temporal", cfg.TemporalAddr, "namespace", cfg.Namespace)
	<-ctx.Done()
	w.Stop()
	log.Info("worker stopped")
	return nil
}

// New builds a worker with the sweep's workflows and activities registered;
// the caller starts and stops it, then calls cleanup.
func New(cfg Config, log *slog.Logger) (sdkworker.Worker, func(), error) {
	if err := cfg.validate(); err != nil {
		return nil, nil, err
	}
	var closers []func()
	cleanup := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	dial := func(name string, c platformclient.Config) (*grpc.ClientConn, error) {
		conn, err := c.Dial(serviceDialOptions...)
		if err != nil {
			return nil, fmt.Errorf("--%s-addr: %w", name, err)
		}
		closers = append(closers, func() { _ = conn.Close() })
		return conn, nil
	}
	coll, err := dial("collection", cfg.Collection)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	eval, err := dial("evaluation", cfg.Evaluation)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	rep, err := dial("reporting", cfg.Reporting)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	tc := cfg.Client
	if tc == nil {
		conv := cfg.Converters
		if conv == nil {
			if conv, err = codec.Load(cfg.KeyFile); err != nil {
				cleanup()
				return nil, nil, fmt.Errorf("--temporal-key-file: %w", err)
			}
		}
		if conv == nil {
			log.Warn("no --temporal-key-file or DPSWEEP_TEMPORAL_KEY: workflow payloads are stored in the Temporal server unencrypted")
		}
		dc, fc := conv.Options()
		opts := client.Options{HostPort: cfg.TemporalAddr, Namespace: cfg.Namespace, DataConverter: dc, FailureConverter: fc,
			Logger: tlog.NewStructuredLogger(log)}
		if err := cfg.TemporalSecurity.Apply(&opts); err != nil {
			cleanup()
			return nil, nil, err
		}
		tc, err = client.Dial(opts)
		if err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("--temporal-address %s: %w", cfg.TemporalAddr, err)
		}
		closers = append(closers, tc.Close)
	}
	trace, err := tracing.Interceptor()
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	w := sdkworker.New(tc, sweep.TaskQueue, sdkworker.Options{
		// Tracing first, so the observer finds the activity's span.
		Interceptors:                           []interceptor.WorkerInterceptor{trace, sweep.NewObserver(log)},
		MaxConcurrentActivityExecutionSize:     cfg.MaxConcurrentActivities,
		MaxConcurrentWorkflowTaskExecutionSize: cfg.MaxConcurrentWorkflowTasks,
		MaxConcurrentActivityTaskPollers:       cfg.ActivityPollers,
		MaxConcurrentWorkflowTaskPollers:       cfg.WorkflowPollers,
	})
	sweep.Register(w, &sweep.Activities{
		Collection: collectionv1.NewCollectionServiceClient(coll),
		Evaluation: evaluationv1.NewEvaluationServiceClient(eval),
		Reporting:  reportingv1.NewReportingServiceClient(rep),
	})
	return w, cleanup, nil
}
