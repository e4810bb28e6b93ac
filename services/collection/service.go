// Package collection is dpsweep's CollectionService: it reads, with
// aws-sdk-go-v2, what every control needs from one account and region and
// streams the inventory to the caller. The collectors are in package collect.
package collection

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	collectionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/collection/v1"
	"github.com/dpsweep/dpsweep/services/collection/collect"
	"github.com/dpsweep/dpsweep/services/platform/server"
)

// DefaultAddr is where the service listens unless configured otherwise.
const DefaultAddr = "127.0.0.1:7401"

// DefaultChunk is how many resources one stream message carries by default.
const DefaultChunk = 500

// Config is the service's own configuration (flags and DPSWEEP_COLLECTION_* variables).
type Config struct {
	// EndpointURL overrides every AWS endpoint (the simulator).
	EndpointURL string
	// Region is the home region for global services and STS.
	Region string
	// RequestsPerSecond, MaxConcurrent: per-account API budget.
	RequestsPerSecond float64
	MaxConcurrent     int
	CallTimeout       time.Duration
	MaxAttempts       int
	// Credentials, when set, are used instead of the standard chain (tests, the demo).
	Credentials aws.CredentialsProvider
}

// DefaultConfig is the configuration with every default.
func DefaultConfig() Config {
	return Config{Region: collect.Home, RequestsPerSecond: 10, MaxConcurrent: 4, CallTimeout: 30 * time.Second, MaxAttempts: 8}
}

// RegisterFlags defines the service's flags.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.EndpointURL, "endpoint-url", "", "AWS endpoint override for every service (the simulator), e.g. http://127.0.0.1:4566")
	fs.StringVar(&c.Region, "region", c.Region, "home region for global services and STS")
	fs.Float64Var(&c.RequestsPerSecond, "requests-per-second", c.RequestsPerSecond, "AWS API calls per second per account, retries included")
	fs.IntVar(&c.MaxConcurrent, "max-concurrent", c.MaxConcurrent, "AWS API calls in flight per account")
	fs.DurationVar(&c.CallTimeout, "call-timeout", c.CallTimeout, "timeout of one AWS API attempt")
	fs.IntVar(&c.MaxAttempts, "max-attempts", c.MaxAttempts, "attempts per AWS API call (adaptive retry)")
}

// Service implements collectionv1.CollectionServiceServer.
type Service struct {
	collectionv1.UnimplementedCollectionServiceServer
	log      *slog.Logger
	sessions *collect.Sessions
}

var _ collectionv1.CollectionServiceServer = (*Service)(nil)

// New builds the service; credentials come from the standard chain unless
// the config carries some.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	if cfg.RequestsPerSecond <= 0 || cfg.MaxConcurrent <= 0 || cfg.MaxAttempts <= 0 {
		return nil, errors.New("--requests-per-second, --max-concurrent and --max-attempts must be positive")
	}
	base, err := config.LoadDefaultConfig(ctx, config.WithRegion(cfg.Region))
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Credentials != nil {
		base.Credentials = cfg.Credentials
	}
	s := collect.NewSessions(collect.Options{Base: base, Endpoint: cfg.EndpointURL, RequestsPerSecond: cfg.RequestsPerSecond,
		MaxConcurrent: cfg.MaxConcurrent, CallTimeout: cfg.CallTimeout, MaxAttempts: cfg.MaxAttempts})
	return &Service{log: log, sessions: s}, nil
}

// Register installs the service with its default configuration.
func Register(ctx context.Context, s *grpc.Server, log *slog.Logger) (func(), error) {
	c := DefaultConfig()
	return c.Register(ctx, s, log)
}

// Register installs the service configured by c (read when called, after flags).
func (c *Config) Register(ctx context.Context, s *grpc.Server, log *slog.Logger) (func(), error) {
	svc, err := New(ctx, *c, log)
	if err != nil {
		return nil, err
	}
	collectionv1.RegisterCollectionServiceServer(s, svc)
	return nil, nil
}

// target converts the request's target, setting the account's API budget
// when the request carries one.
func (s *Service) target(t *collectionv1.Target) collect.Target {
	if r := t.GetRequestsPerSecond(); r > 0 {
		s.sessions.SetRate(t.GetAccountId(), r)
	}
	return collect.Target{Account: t.GetAccountId(), RoleName: t.GetRoleName(), ExternalID: t.GetExternalId(), SessionName: t.GetSessionName(), FIPS: t.GetUseFipsEndpoint()}
}

// awsStatus maps an AWS failure to a gRPC status, keeping only the error code.
func awsStatus(op string, err error) error {
	if errors.Is(err, context.Canceled) {
		return status.FromContextError(err).Err()
	}
	reason, code := collect.Classify(err)
	switch reason {
	case collectionv1.ErrorReason_ERROR_REASON_ACCESS_DENIED, collectionv1.ErrorReason_ERROR_REASON_ASSUME_ROLE_FAILED:
		return status.Errorf(codes.PermissionDenied, "%s: %s", op, code)
	case collectionv1.ErrorReason_ERROR_REASON_THROTTLED:
		return status.Errorf(codes.ResourceExhausted, "%s: %s", op, code)
	case collectionv1.ErrorReason_ERROR_REASON_TIMEOUT:
		return status.Errorf(codes.DeadlineExceeded, "%s: %s", op, code)
	}
	return status.Errorf(codes.Unavailable, "%s: %s", op, code)
}

// DescribeTarget returns who dpsweep is in the account and its regions.
func (s *Service) DescribeTarget(ctx context.Context, req *collectionv1.DescribeTargetRequest) (*collectionv1.DescribeTargetResponse, error) {
	d, err := collect.Describe(ctx, s.sessions, s.target(req.GetTarget()))
	if err != nil {
		return nil, awsStatus("describe target", err)
	}
	return &collectionv1.DescribeTargetResponse{AccountId: d.Account, CallerArn: d.CallerARN, Regions: d.Regions, Partition: d.Partition}, nil
}

// streamSink batches resources into stream messages of chunk size. Send
// blocks when the client reads slowly, which blocks the collectors: memory
// stays bounded by one chunk plus one resource per running collector.
type streamSink struct {
	mu     sync.Mutex
	stream grpc.ServerStreamingServer[collectionv1.CollectInventoryResponse]
	chunk  int
	cur    *collectionv1.CollectInventoryResponse
	nRes   int64
	nErr   int64
}

func (s *streamSink) Resource(r *collectionv1.Resource) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur.Resources = append(s.cur.Resources, r)
	s.nRes++
	if len(s.cur.Resources) >= s.chunk {
		return s.flushLocked()
	}
	return nil
}

func (s *streamSink) Error(e *collectionv1.CollectionError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur.Errors = append(s.cur.Errors, e)
	s.nErr++
}

func (s *streamSink) flushLocked() error {
	if len(s.cur.Resources) == 0 && len(s.cur.Errors) == 0 && s.cur.Summary == nil {
		return nil
	}
	err := s.stream.Send(s.cur)
	s.cur = &collectionv1.CollectInventoryResponse{}
	return err
}

// CollectInventory reads one (account, region, scope) and streams it.
func (s *Service) CollectInventory(req *collectionv1.CollectInventoryRequest, stream grpc.ServerStreamingServer[collectionv1.CollectInventoryResponse]) error {
	if _, err := collect.Select(req.GetScope(), req.GetCollectors()); err != nil {
		return server.FieldError("collectors", err.Error())
	}
	chunk := int(req.GetChunkSize())
	if chunk == 0 {
		chunk = DefaultChunk
	}
	started := time.Now()
	sink := &streamSink{stream: stream, chunk: chunk, cur: &collectionv1.CollectInventoryResponse{}}
	r := collect.Request{Target: s.target(req.GetTarget()), Region: req.GetRegion(), Scope: req.GetScope(), Collectors: req.GetCollectors(),
		OmitAccountTags: req.GetOmitAccountTags()}
	if w := req.GetLookupEventsWindow(); w != nil {
		r.LookupWindow = w.AsDuration()
	}
	stats, err := collect.Run(stream.Context(), s.sessions, r, sink)
	if err != nil {
		return status.FromContextError(err).Err()
	}
	region := req.GetRegion()
	if req.GetScope() == collectionv1.Scope_SCOPE_GLOBAL {
		region = "global"
	}
	s.log.Info("inventory collected", "account_id", req.GetTarget().GetAccountId(), "region", region, "resources", sink.nRes,
		"errors", sink.nErr, "api_calls", stats.APICalls.Load(), "throttled", stats.Throttled.Load(), "duration_ms", time.Since(started).Milliseconds())
	sink.mu.Lock()
	defer sink.mu.Unlock()
	sink.cur.Summary = &collectionv1.CollectionSummary{AccountId: req.GetTarget().GetAccountId(), Region: region, Scope: req.GetScope(),
		ResourceCount: sink.nRes, ErrorCount: sink.nErr, ApiCalls: stats.APICalls.Load(), ThrottledCalls: stats.Throttled.Load(),
		StartedAt: timestamppb.New(started), FinishedAt: timestamppb.Now()}
	return sink.flushLocked()
}

// ListCollectors pages through the collectors by name.
func (s *Service) ListCollectors(_ context.Context, req *collectionv1.ListCollectorsRequest) (*collectionv1.ListCollectorsResponse, error) {
	var all []*collect.Collector
	for _, c := range collect.Collectors() {
		if req.GetScope() == collectionv1.Scope_SCOPE_UNSPECIFIED || c.Scope == req.GetScope() {
			all = append(all, c)
		}
	}
	n := int(req.GetPageSize())
	if n == 0 {
		n = 100
	}
	i := 0
	if tok := req.GetPageToken(); tok != "" {
		i, _ = slices.BinarySearchFunc(all, tok, func(c *collect.Collector, t string) int { return strings.Compare(c.Name, t) })
		if i < len(all) && all[i].Name == tok {
			i++
		}
	}
	end := min(len(all), i+n)
	resp := &collectionv1.ListCollectorsResponse{}
	for _, c := range all[i:end] {
		resp.Collectors = append(resp.Collectors, &collectionv1.Collector{Name: c.Name, Service: c.Service, Scope: c.Scope,
			ResourceTypes: c.Types, Actions: c.Actions, Description: c.Description})
	}
	if end < len(all) {
		resp.NextPageToken = all[end-1].Name
	}
	return resp, nil
}
