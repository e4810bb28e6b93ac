package collect

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/time/rate"
)

// Options configure how collection reaches AWS.
type Options struct {
	// Base carries the starting credentials (the standard chain: the
	// management account, or a delegated admin) and the default region.
	Base aws.Config
	// Endpoint overrides every service endpoint (the simulator); "" for AWS.
	Endpoint string
	// RequestsPerSecond and Burst cap API calls per account, retries
	// included, so a sweep never eats the API quota that the account's own
	// workloads share; MaxConcurrent caps calls in flight per account.
	RequestsPerSecond float64
	Burst             int
	MaxConcurrent     int
	// CallTimeout bounds one HTTP attempt; MaxAttempts the SDK's retries.
	CallTimeout time.Duration
	MaxAttempts int
	// ExpiryWindow refreshes assumed-role credentials this long before they expire.
	ExpiryWindow time.Duration
	// SessionDuration of assumed-role sessions.
	SessionDuration time.Duration
}

// Defaults fills zero options.
func (o *Options) defaults() {
	if o.RequestsPerSecond <= 0 {
		o.RequestsPerSecond = 10
	}
	if o.Burst <= 0 {
		o.Burst = max(1, int(o.RequestsPerSecond))
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 4
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 30 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.ExpiryWindow <= 0 {
		o.ExpiryWindow = 5 * time.Minute
	}
	if o.SessionDuration <= 0 {
		o.SessionDuration = time.Hour
	}
}

// Target is one account and how to get into it.
type Target struct {
	Account, RoleName, ExternalID, SessionName string
	FIPS                                       bool
}

// Sessions hands out clients per target and region. Credentials are cached
// per target and refreshed before expiry; the rate limit and concurrency
// cap are shared by every client of one account.
type Sessions struct {
	opts      Options
	transport *http.Transport
	mu        sync.Mutex
	creds     map[Target]aws.CredentialsProvider
	limits    map[string]*accountLimit
	events    map[string]*rate.Limiter // CloudTrail LookupEvents per account and region
}

type accountLimit struct {
	lim *rate.Limiter
	sem chan struct{}
}

// maxIdleConns bounds the idle connections kept, per endpoint and in all.
const maxIdleConns = 1024

// NewSessions prepares sessions.
func NewSessions(o Options) *Sessions {
	o.defaults()
	// A sweep keeps up to MaxConcurrent calls in flight for each of
	// hundreds of accounts, many to the same endpoint (one per service and
	// region): idle connections are kept for as many, or every call past
	// the idle limit would open and close a connection (and, on AWS, a TLS
	// session) of its own.
	t := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12},
		MaxIdleConns:        maxIdleConns,
		MaxIdleConnsPerHost: maxIdleConns,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	return &Sessions{opts: o, transport: t, creds: map[Target]aws.CredentialsProvider{}, limits: map[string]*accountLimit{}, events: map[string]*rate.Limiter{}}
}

// limitedTransport waits for the account's rate limiter and a concurrency
// slot before every attempt.
type limitedTransport struct {
	base http.RoundTripper
	l    *accountLimit
}

func (t *limitedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := t.l.lim.Wait(r.Context()); err != nil {
		return nil, err
	}
	select {
	case t.l.sem <- struct{}{}:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	defer func() { <-t.l.sem }()
	return t.base.RoundTrip(r)
}

func (s *Sessions) limit(account string) *accountLimit {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.limits[account]
	if !ok {
		l = &accountLimit{lim: rate.NewLimiter(rate.Limit(s.opts.RequestsPerSecond), s.opts.Burst), sem: make(chan struct{}, s.opts.MaxConcurrent)}
		s.limits[account] = l
	}
	return l
}

// SetRate sets an account's API budget in requests per second (retries
// included), with a burst of one second's worth; calls already waiting
// are paced at the new rate from now on.
func (s *Sessions) SetRate(account string, rps float64) {
	if rps <= 0 {
		return
	}
	l := s.limit(account)
	if l.lim.Limit() == rate.Limit(rps) {
		return
	}
	l.lim.SetLimit(rate.Limit(rps))
	l.lim.SetBurst(max(1, int(rps)))
}

// Rate is an account's API budget in requests per second.
func (s *Sessions) Rate(account string) float64 {
	return float64(s.limit(account).lim.Limit())
}

// eventsLimiter paces CloudTrail LookupEvents, which AWS allows twice a
// second per account and region.
func (s *Sessions) eventsLimiter(account, region string) *rate.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := account + "/" + region
	l, ok := s.events[k]
	if !ok {
		l = rate.NewLimiter(1.8, 1)
		s.events[k] = l
	}
	return l
}

var errAssumeRole = errors.New("assume role")

// credentials returns the cached provider for a target.
func (s *Sessions) credentials(t Target) aws.CredentialsProvider {
	if t.RoleName == "" {
		return s.opts.Base.Credentials
	}
	key := t
	key.FIPS = false
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.creds[key]; ok {
		return p
	}
	base := s.baseConfig(s.opts.Base.Region, false)
	base.Credentials = s.opts.Base.Credentials
	stsClient := sts.NewFromConfig(base)
	roleARN := fmt.Sprintf("arn:%s:iam::%s:role/%s", partitionOf(s.opts.Base.Region), t.Account, t.RoleName)
	p := stscreds.NewAssumeRoleProvider(stsClient, roleARN, func(o *stscreds.AssumeRoleOptions) {
		if t.ExternalID != "" {
			o.ExternalID = aws.String(t.ExternalID)
		}
		o.RoleSessionName = t.SessionName
		if o.RoleSessionName == "" {
			o.RoleSessionName = "dpsweep"
		}
		o.Duration = s.opts.SessionDuration
	})
	cached := aws.NewCredentialsCache(assumeProvider{p}, func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = s.opts.ExpiryWindow })
	s.creds[key] = cached
	return cached
}

// assumeProvider marks AssumeRole failures so they are reported as such.
type assumeProvider struct{ p aws.CredentialsProvider }

func (a assumeProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := a.p.Retrieve(ctx)
	if err != nil {
		return c, fmt.Errorf("%w: %w", errAssumeRole, err)
	}
	return c, nil
}

// baseConfig is an SDK config for a region with dpsweep's HTTP client,
// retryer and endpoint, without credentials.
func (s *Sessions) baseConfig(region string, fips bool) aws.Config {
	cfg := s.opts.Base.Copy()
	cfg.Region = region
	cfg.HTTPClient = &http.Client{Transport: s.transport, Timeout: s.opts.CallTimeout}
	cfg.APIOptions = append(cfg.APIOptions[:len(cfg.APIOptions):len(cfg.APIOptions)], countCalls)
	cfg.Retryer = func() aws.Retryer {
		return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
			o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
				so.MaxAttempts = s.opts.MaxAttempts
				so.MaxBackoff = 20 * time.Second
			})
		})
	}
	if s.opts.Endpoint != "" && !fips {
		cfg.BaseEndpoint = aws.String(s.opts.Endpoint)
	}
	return cfg
}

// Config is the SDK config for a target in a region: assumed-role
// credentials, the account's rate limit, the endpoint.
func (s *Sessions) Config(t Target, region string) aws.Config {
	cfg := s.baseConfig(region, t.FIPS)
	cfg.Credentials = s.credentials(t)
	cfg.HTTPClient = &http.Client{Transport: &limitedTransport{base: s.transport, l: s.limit(t.Account)}, Timeout: s.opts.CallTimeout}
	return cfg
}

// Clients returns the service clients for a target in a region, counting
// their calls in stats.
func (s *Sessions) Clients(t Target, region string, stats *Stats) *Clients {
	cfg := s.Config(t, region)
	cfg.HTTPClient = &http.Client{Transport: &countingTransport{base: cfg.HTTPClient.(*http.Client).Transport, stats: stats}, Timeout: s.opts.CallTimeout}
	retryer := cfg.Retryer
	cfg.Retryer = func() aws.Retryer { return &countingRetryer{Retryer: retryer(), stats: stats} }
	return &Clients{cfg: cfg, fips: t.FIPS, custom: s.customEndpoint(), sessions: s, target: t}
}

// Stats count one inventory's AWS calls.
type Stats struct {
	APICalls, Retries, Throttled atomic.Int64
}

type countingTransport struct {
	base  http.RoundTripper
	stats *Stats
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.stats.APICalls.Add(1)
	return t.base.RoundTrip(r)
}

// countingRetryer counts retries and, among them, throttling.
type countingRetryer struct {
	aws.Retryer
	stats *Stats
}

func (r *countingRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	r.stats.Retries.Add(1)
	if isThrottle(err) {
		r.stats.Throttled.Add(1)
	}
	return r.Retryer.RetryDelay(attempt, err)
}

func isThrottle(err error) bool {
	for _, t := range retry.DefaultThrottles {
		if t.IsErrorThrottle(err) == aws.TrueTernary {
			return true
		}
	}
	return false
}

// customEndpoint is the parsed endpoint override, or nil.
func (s *Sessions) customEndpoint() *url.URL {
	if s.opts.Endpoint == "" {
		return nil
	}
	u, err := url.Parse(s.opts.Endpoint)
	if err != nil {
		return nil
	}
	return u
}

func partitionOf(region string) string {
	switch {
	case len(region) > 3 && region[:3] == "cn-":
		return "aws-cn"
	case len(region) > 7 && region[:7] == "us-gov-":
		return "aws-us-gov"
	}
	return "aws"
}
