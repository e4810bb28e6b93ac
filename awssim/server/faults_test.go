package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	sar "github.com/aws/aws-sdk-go-v2/service/serverlessapplicationrepository"
)

// retrying is cfg with the SDK's standard retryer, generous attempts.
func retrying(url, account, region string) aws.Config {
	c := cfg(url, account, region)
	c.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 20
			o.MaxBackoff = 5 * time.Millisecond
			o.RateLimiter = noRateLimit{}
		})
	}
	return c
}

type noRateLimit struct{}

func (noRateLimit) GetToken(context.Context, uint) (func() error, error) {
	return func() error { return nil }, nil
}
func (noRateLimit) AddTokens(uint) error { return nil }

// TestThrottlingIsRetriedBySDK: every protocol's throttling error is one the
// SDK recognises and retries; with 50% throttling every call still succeeds.
func TestThrottlingIsRetriedBySDK(t *testing.T) {
	t.Parallel()
	s, url := sim(t, testWorld(t), Options{Faults: Faults{ThrottleRate: 0.5, ServerErrorRate: 0.1}})
	for i := 0; i < 20; i++ {
		if _, err := iam.NewFromConfig(retrying(url, member, "us-east-1")).ListUsers(ctx(t), &iam.ListUsersInput{}); err != nil {
			t.Fatalf("query protocol: %v", err)
		}
		if _, err := organizations.NewFromConfig(retrying(url, mgmt, "us-east-1")).ListRoots(ctx(t), &organizations.ListRootsInput{}); err != nil {
			t.Fatalf("JSON protocol: %v", err)
		}
		if _, err := s3.NewFromConfig(retrying(url, member, "us-east-1"), func(o *s3.Options) { o.UsePathStyle = true }).ListBuckets(ctx(t), &s3.ListBucketsInput{}); err != nil {
			t.Fatalf("REST-XML protocol: %v", err)
		}
		if _, err := sar.NewFromConfig(retrying(url, optin, "ap-east-1")).ListApplications(ctx(t), &sar.ListApplicationsInput{}); err != nil {
			t.Fatalf("REST-JSON protocol: %v", err)
		}
	}
	var calls int64
	for k, v := range s.Counts() {
		if k.Operation == "ListUsers" {
			calls += v
		}
	}
	if calls <= 20 {
		t.Fatalf("ListUsers was called %d times for 20 successes; want retries counted", calls)
	}
	// Every call either succeeded (80) or was answered with a fault counted as injected.
	var all int64
	for _, v := range s.Counts() {
		all += v
	}
	inj := s.Injected()
	if inj.Throttled == 0 || inj.ServerErrors+inj.Throttled != all-80 || inj.Denied != 0 {
		t.Fatalf("%d calls for 80 successes, injected %+v; want the difference injected, throttles among them", all, inj)
	}
	// Without retries the error surfaces with the protocol's code.
	s.SetFaults(Faults{ThrottleRate: 1})
	codes := map[string]string{}
	_, err := iam.NewFromConfig(cfg(url, member, "us-east-1")).ListUsers(ctx(t), &iam.ListUsersInput{})
	codes["query"] = apiCode(err)
	_, err = organizations.NewFromConfig(cfg(url, mgmt, "us-east-1")).ListRoots(ctx(t), &organizations.ListRootsInput{})
	codes["json"] = apiCode(err)
	_, err = s3client(url, member, "us-east-1").ListBuckets(ctx(t), &s3.ListBucketsInput{})
	codes["rest-xml"] = apiCode(err)
	_, err = sar.NewFromConfig(cfg(url, optin, "ap-east-1")).ListApplications(ctx(t), &sar.ListApplicationsInput{})
	codes["rest-json"] = apiCode(err)
	if got := s.Injected().Throttled - inj.Throttled; got != 4 {
		t.Errorf("4 calls throttled, %d counted", got)
	}
	want := map[string]string{"query": "Throttling", "json": "TooManyRequestsException", "rest-xml": "SlowDown", "rest-json": "TooManyRequestsException"}
	for p, c := range want {
		if codes[p] != c {
			t.Errorf("%s throttling code = %q, want %q", p, codes[p], c)
		}
	}
}

func TestAccessDeniedAndDisabledRegion(t *testing.T) {
	t.Parallel()
	s, url := sim(t, testWorld(t), Options{Faults: Faults{Deny: []DenyRule{{Account: member, Operation: "s3:GetBucket*"}}}})
	c := s3client(url, member, "us-east-1")
	if _, err := c.GetBucketPolicy(ctx(t), &s3.GetBucketPolicyInput{Bucket: aws.String("prod-logs")}); apiCode(err) != "AccessDenied" {
		t.Fatalf("denied operation: %v", err)
	}
	if inj := s.Injected(); inj != (InjectedFaults{Denied: 1}) {
		t.Errorf("injected %+v, want one denial", inj)
	}
	if _, err := c.ListBuckets(ctx(t), &s3.ListBucketsInput{}); err != nil {
		t.Fatalf("other operations still work: %v", err)
	}
	// ap-east-1 is an opt-in region the member has not enabled.
	if _, err := sar.NewFromConfig(cfg(url, member, "ap-east-1")).ListApplications(ctx(t), &sar.ListApplicationsInput{}); apiCode(err) != "OptInRequired" {
		t.Fatalf("disabled region: %v", err)
	}
	if _, err := sar.NewFromConfig(cfg(url, optin, "ap-east-1")).ListApplications(ctx(t), &sar.ListApplicationsInput{}); err != nil {
		t.Fatalf("enabled opt-in region: %v", err)
	}
}

func TestLatencyIsADistribution(t *testing.T) {
	t.Parallel()
	l := Latency{Median: 20 * time.Millisecond, P99: 50 * time.Millisecond}
	var below, above int
	seen := map[time.Duration]bool{}
	for i := 0; i < 2000; i++ {
		d := l.sample()
		seen[d] = true
		if d < l.Median {
			below++
		} else {
			above++
		}
	}
	if len(seen) < 1000 || below < 800 || above < 800 {
		t.Fatalf("samples: %d distinct, %d below and %d above the median", len(seen), below, above)
	}
	_, url := sim(t, testWorld(t), Options{Faults: Faults{OperationLatency: map[string]Latency{"iam:ListUsers": {Median: 30 * time.Millisecond}}}})
	start := time.Now()
	if _, err := iam.NewFromConfig(cfg(url, member, "us-east-1")).ListUsers(ctx(t), &iam.ListUsersInput{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("ListUsers took %v with 30ms injected", d)
	}
	if !strings.Contains(strings.Join(Operations(), ","), "iam:ListUsers") {
		t.Fatal("Operations() lacks iam:ListUsers")
	}
}
