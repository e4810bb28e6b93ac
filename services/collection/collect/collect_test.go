package collect

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/dpsweep/dpsweep/awssim"
	"github.com/dpsweep/dpsweep/awssim/server"
	"github.com/dpsweep/dpsweep/awssim/world"
	collectionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/collection/v1"
)

// memSink collects an inventory in memory.
type memSink struct {
	mu        sync.Mutex
	resources []*collectionv1.Resource
	errors    []*collectionv1.CollectionError
}

func (m *memSink) Resource(r *collectionv1.Resource) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.resources = append(m.resources, r)
	return nil
}

func (m *memSink) Error(e *collectionv1.CollectionError) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.errors = append(m.errors, e)
}

func (m *memSink) byType(t string) []*collectionv1.Resource {
	var out []*collectionv1.Resource
	for _, r := range m.resources {
		if r.GetResourceType() == t {
			out = append(out, r)
		}
	}
	return out
}

type fixture struct {
	sim      *awssim.Sim
	sessions *Sessions
	member   *world.Account
}

func start(t testing.TB, gen world.GenOptions, faults server.Faults, opts Options) *fixture {
	return startSim(t, gen, faults, opts, 0)
}

// startSim also caps the simulator's role sessions at simSession.
func startSim(t testing.TB, gen world.GenOptions, faults server.Faults, opts Options, simSession time.Duration) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sim, err := awssim.Start(ctx, awssim.Config{Gen: gen, Faults: faults, MaxSessionDuration: simSession})
	if err != nil {
		t.Fatal(err)
	}
	ak, sk := sim.Credentials()
	opts.Base = aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(ak, sk, "")}
	opts.Endpoint = sim.URL
	if opts.RequestsPerSecond == 0 {
		opts.RequestsPerSecond = 1000
	}
	member, _ := sim.World.Account(sim.World.Accounts[1].ID)
	return &fixture{sim: sim, sessions: NewSessions(opts), member: member}
}

func genOpts(accounts int) world.GenOptions {
	o := world.DefaultGenOptions()
	o.Accounts, o.Seed = accounts, 3
	return o
}

func (f *fixture) target(a *world.Account) Target {
	return Target{Account: a.ID, RoleName: "dpsweep-readonly", SessionName: "test"}
}

func (f *fixture) collect(t testing.TB, tgt Target, scope Scope, region string, names ...string) *memSink {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sink := &memSink{}
	if _, err := Run(ctx, f.sessions, Request{Target: tgt, Scope: scope, Region: region, Collectors: names}, sink); err != nil {
		t.Fatalf("Run(%s %s) = %v", scope, region, err)
	}
	return sink
}

// home is the region holding the account's trail and catalog.
func home(a *world.Account) string {
	for r, g := range a.Regional {
		if len(g.Trails) > 0 || len(g.Portfolios) > 0 {
			return r
		}
	}
	return "us-east-1"
}

func TestGlobalInventoryMatchesTheWorld(t *testing.T) {
	t.Parallel()
	f := start(t, genOpts(3), server.Faults{}, Options{})
	s := f.collect(t, f.target(f.member), global, "")
	if len(s.errors) != 0 {
		t.Fatalf("errors: %v", s.errors)
	}
	if got := len(s.byType("AWS::IAM::User")); got != len(f.member.IAM.Users) {
		t.Errorf("%d users, want %d", got, len(f.member.IAM.Users))
	}
	buckets := s.byType("AWS::S3::Bucket")
	if len(buckets) != len(f.member.Buckets) {
		t.Fatalf("%d buckets, want %d", len(buckets), len(f.member.Buckets))
	}
	for _, b := range buckets {
		wb, _ := f.member.Bucket(b.GetName())
		attrs := b.GetAttributes().AsMap()
		if b.GetRegion() != wb.Region || attrs["policy"] != wb.Policy {
			t.Errorf("bucket %s: region %s policy %v; want %s %q", b.GetName(), b.GetRegion(), attrs["policy"], wb.Region, wb.Policy)
		}
		enc, _ := attrs["encryption"].(map[string]any)
		if (wb.Encryption == "") != (enc == nil) || enc != nil && enc["algorithm"] != wb.Encryption {
			t.Errorf("bucket %s encryption %v, want %q", b.GetName(), attrs["encryption"], wb.Encryption)
		}
	}
	root := s.byType("AWS::IAM::Root")
	if len(root) != 1 || root[0].GetAttributes().AsMap()["mfa_enabled"] != f.member.IAM.Root.MFA {
		t.Fatalf("root = %v", root)
	}
	if len(s.byType("AWS::CloudTrail::AccountTrails")) != 1 {
		t.Fatal("no account trail summary")
	}
	macie := s.byType("AWS::Macie::Session")
	regions := map[string]bool{}
	for _, b := range f.member.Buckets {
		regions[b.Region] = true
	}
	if len(macie) != len(regions) {
		t.Fatalf("%d Macie sessions, want one per bucket region (%d)", len(macie), len(regions))
	}
}

func TestRegionalInventoryMatchesTheWorld(t *testing.T) {
	t.Parallel()
	f := start(t, genOpts(3), server.Faults{}, Options{})
	region := home(f.member)
	s := f.collect(t, f.target(f.member), regional, region)
	if len(s.errors) != 0 {
		t.Fatalf("errors: %v", s.errors)
	}
	g := f.member.In(region)
	counts := map[string]int{
		"AWS::EC2::VPC": len(g.VPCs), "AWS::DynamoDB::Table": len(g.Tables), "AWS::KMS::Key": len(g.Keys),
		"AWS::ServiceCatalog::Portfolio": len(g.Portfolios), "AWS::ServiceCatalog::Product": len(g.Products),
		"AWS::ServiceCatalog::ProvisionedProduct": len(g.Provisioned), "AWS::ServiceCatalog::TagOption": len(g.TagOptions),
		"AWS::Serverless::Application": len(g.Applications), "AWS::CloudTrail::Trail": len(g.Trails),
	}
	for typ, want := range counts {
		if got := len(s.byType(typ)); got != want {
			t.Errorf("%s: %d, want %d", typ, got, want)
		}
	}
	// Free-form fields arrive byte for byte, marked with their paths.
	for _, r := range s.byType("AWS::ServiceCatalog::Product") {
		var wp *world.Product
		for _, p := range g.Products {
			if strings.HasSuffix(r.GetArn(), "/"+p.ID) {
				wp = p
			}
		}
		got := map[string]string{}
		for _, fd := range r.GetFreeFormFields() {
			got[fd.GetPath()] = fd.GetValue()
		}
		if got["Name"] != wp.Name || got["Description"] != wp.Description || got["Tags[Owner]"] != wp.Tags["Owner"] {
			t.Errorf("product %s fields %v", wp.ID, got)
		}
		for _, a := range wp.Artifacts {
			if got["ProvisioningArtifacts["+a.ID+"].TemplateUrl"] != a.TemplateURL {
				t.Errorf("artifact %s template URL %q, want %q", a.ID, got["ProvisioningArtifacts["+a.ID+"].TemplateUrl"], a.TemplateURL)
			}
		}
	}
	for _, r := range s.byType("AWS::Serverless::Application") {
		paths := []string{}
		for _, fd := range r.GetFreeFormFields() {
			paths = append(paths, fd.GetPath())
		}
		if !slices.Contains(paths, "Author") || !slices.Contains(paths, "ReadmeUrl") || !slices.ContainsFunc(paths, func(p string) bool { return strings.HasSuffix(p, ".SourceCodeUrl") }) ||
			slices.ContainsFunc(paths, func(p string) bool { return strings.HasSuffix(p, ".TemplateUrl") }) {
			t.Errorf("application %s fields %v", r.GetName(), paths)
		}
	}
}

func TestPaginationThrottlingAndServerErrors(t *testing.T) {
	t.Parallel()
	clean := start(t, genOpts(3), server.Faults{}, Options{})
	region := home(clean.member)
	want := clean.collect(t, clean.target(clean.member), regional, region)
	faulty := start(t, genOpts(3), server.Faults{PageSize: 1, ThrottleRate: 0.15, ServerErrorRate: 0.02}, Options{MaxAttempts: 30})
	got := faulty.collect(t, faulty.target(faulty.member), regional, region, "ec2.vpcs", "kms.keys", "dynamodb.tables", "servicecatalog.products", "servicecatalog.tag_options", "serverlessrepo.applications")
	if len(got.errors) != 0 {
		t.Fatalf("errors under faults: %v", got.errors)
	}
	for _, typ := range []string{"AWS::EC2::VPC", "AWS::KMS::Key", "AWS::DynamoDB::Table", "AWS::ServiceCatalog::Product", "AWS::ServiceCatalog::TagOption", "AWS::Serverless::Application"} {
		if len(got.byType(typ)) != len(want.byType(typ)) {
			t.Errorf("%s: %d under faults, %d without", typ, len(got.byType(typ)), len(want.byType(typ)))
		}
	}
}

func TestPartialResults(t *testing.T) {
	t.Parallel()
	o := genOpts(4)
	o.MissingRole = []int{3}
	f := start(t, o, server.Faults{}, Options{})
	f.sim.Server.SetFaults(server.Faults{Deny: []server.DenyRule{{Account: f.member.ID, Operation: "s3:GetBucketPolicy"}}})
	s := f.collect(t, f.target(f.member), global, "")
	var denied int
	for _, e := range s.errors {
		if e.GetReason() != collectionv1.ErrorReason_ERROR_REASON_ACCESS_DENIED || e.GetAction() != "s3:GetBucketPolicy" {
			t.Errorf("unexpected error %v", e)
		}
		denied++
	}
	if denied != len(f.member.Buckets) || len(s.byType("AWS::S3::Bucket")) != len(f.member.Buckets) || len(s.byType("AWS::IAM::User")) == 0 {
		t.Fatalf("denied %d, buckets %d, users %d: the rest of the inventory must still come back", denied, len(s.byType("AWS::S3::Bucket")), len(s.byType("AWS::IAM::User")))
	}
	// A disabled opt-in region.
	var disabled *world.Account
	for _, a := range f.sim.World.Accounts[1:] {
		if len(a.EnabledOptInRegions) == 0 {
			disabled = a
		}
	}
	// me-south-1 is an opt-in region no generated account enables.
	_ = disabled
	s = f.collect(t, f.target(f.member), regional, "me-south-1", "ec2.vpcs", "kms.keys")
	if len(s.errors) != 2 || s.errors[0].GetReason() != collectionv1.ErrorReason_ERROR_REASON_REGION_DISABLED || len(s.resources) != 0 {
		t.Fatalf("disabled region errors = %v", s.errors)
	}
	// The account whose scanner role is missing: one ASSUME_ROLE_FAILED.
	missing := f.sim.World.Accounts[2]
	s = f.collect(t, f.target(missing), global, "")
	if len(s.errors) != 1 || s.errors[0].GetReason() != collectionv1.ErrorReason_ERROR_REASON_ASSUME_ROLE_FAILED || len(s.resources) != 0 {
		t.Fatalf("missing role: errors %v, %d resources", s.errors, len(s.resources))
	}
}

// TestCredentialsRefreshBeforeExpiry: role sessions last 2 s. Inventories
// read with one Sessions across that boundary must assume the role again
// before the old credentials expire, never fail with ExpiredToken.
func TestCredentialsRefreshBeforeExpiry(t *testing.T) {
	t.Parallel()
	f := startSim(t, genOpts(3), server.Faults{Latency: server.Latency{Median: 50 * time.Millisecond}},
		Options{SessionDuration: 15 * time.Minute, ExpiryWindow: 500 * time.Millisecond, MaxConcurrent: 1}, 2*time.Second)
	deadline := time.Now().Add(3 * time.Second)
	for i := 0; time.Now().Before(deadline) || i < 2; i++ {
		s := f.collect(t, f.target(f.member), regional, home(f.member), "ec2.vpcs", "kms.keys")
		if len(s.errors) != 0 {
			t.Fatalf("inventory %d: errors %v", i, s.errors)
		}
		time.Sleep(300 * time.Millisecond)
	}
	var assumed int64
	for k, v := range f.sim.Server.Counts() {
		if k.Operation == "AssumeRole" {
			assumed += v
		}
	}
	if assumed < 2 {
		t.Fatalf("%d AssumeRole calls over 3 s of 2 s sessions; want a refresh", assumed)
	}
}

func TestOrganizationAccounts(t *testing.T) {
	t.Parallel()
	f := start(t, genOpts(5), server.Faults{PageSize: 2}, Options{})
	mgmt := Target{Account: f.sim.World.ManagementAccount}
	s := f.collect(t, mgmt, global, "", "organizations.accounts")
	if len(s.errors) != 0 || len(s.resources) != 5 {
		t.Fatalf("%d accounts, errors %v", len(s.resources), s.errors)
	}
	for _, r := range s.resources {
		a, _ := f.sim.World.Account(r.GetAttributes().AsMap()["account_id"].(string))
		path := r.GetAttributes().AsMap()["parent_path"].([]any)
		if a == nil || path[len(path)-1] != a.Parent || r.GetAttributes().AsMap()["tags"].(map[string]any)["env"] != a.Tags["env"] {
			t.Errorf("account %v", r.GetAttributes().AsMap())
		}
	}

	// Without tags: the same accounts and paths, no call per account.
	f.sim.Server.ResetCounts()
	sink := &memSink{}
	if _, err := Run(context.Background(), f.sessions, Request{Target: mgmt, Scope: global, Collectors: []string{"organizations.accounts"}, OmitAccountTags: true}, sink); err != nil {
		t.Fatal(err)
	}
	if len(sink.errors) != 0 || len(sink.resources) != 5 {
		t.Fatalf("without tags: %d accounts, errors %v", len(sink.resources), sink.errors)
	}
	for _, r := range sink.resources {
		if m := r.GetAttributes().AsMap(); m["tags"] != nil || len(m["parent_path"].([]any)) == 0 {
			t.Errorf("without tags: account %v", m)
		}
	}
	for k, n := range f.sim.Server.Counts() {
		if k.Operation == "ListTagsForResource" {
			t.Errorf("without tags: %d ListTagsForResource calls", n)
		}
	}
}

func TestUnknownCollectorAndScope(t *testing.T) {
	t.Parallel()
	if _, err := Select(global, []string{"nope.nothing"}); err == nil || !strings.Contains(err.Error(), `unknown collector "nope.nothing"`) {
		t.Fatalf("Select(unknown) = %v", err)
	}
	if _, err := Select(global, []string{"ec2.vpcs"}); err == nil || !strings.Contains(err.Error(), "reads scope") {
		t.Fatalf("Select(wrong scope) = %v", err)
	}
}

// countSink counts resources and keeps nothing, like a stream to a client.
type countSink struct {
	mu     sync.Mutex
	n      int
	errors []*collectionv1.CollectionError
}

func (c *countSink) Resource(*collectionv1.Resource) error {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return nil
}
func (c *countSink) Error(e *collectionv1.CollectionError) {
	c.mu.Lock()
	c.errors = append(c.errors, e)
	c.mu.Unlock()
}

// TestTenThousandBuckets: an account with 10,000 buckets streams through
// with memory bounded by the bucket list, not by the resources read.
func TestTenThousandBuckets(t *testing.T) {
	if testing.Short() {
		t.Skip("30,000 API calls; skipped with -short")
	}
	o := genOpts(2)
	o.BucketsPerAccount = 10000
	f := start(t, o, server.Faults{}, Options{RequestsPerSecond: 100000, Burst: 1000, MaxConcurrent: 16})
	var before, peak runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	stop, stopped := make(chan struct{}), make(chan struct{})
	var maxHeap uint64
	go func() {
		defer close(stopped)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				runtime.ReadMemStats(&peak)
				maxHeap = max(maxHeap, peak.HeapInuse)
			}
		}
	}()
	sink := &countSink{}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := Run(ctx, f.sessions, Request{Target: f.target(f.member), Scope: global, Collectors: []string{"s3.buckets"}}, sink); err != nil {
		t.Fatal(err)
	}
	close(stop)
	<-stopped
	if sink.n != 10000 || len(sink.errors) != 0 {
		t.Fatalf("%d buckets, errors %v", sink.n, sink.errors)
	}
	// The simulator shares this process and holds the world; the collector's
	// own growth must stay far below what 10,000 resources would take.
	if grew := int64(maxHeap) - int64(before.HeapInuse); grew > 256<<20 {
		t.Fatalf("heap grew by %d MB while streaming 10,000 buckets", grew>>20)
	}
}

// TestNoPerResourceCallWhereAListCarriesTheData: bucket regions come from
// ListBuckets and VPC endpoints from one list call, not a call per resource.
func TestNoPerResourceCallWhereAListCarriesTheData(t *testing.T) {
	t.Parallel()
	f := start(t, genOpts(3), server.Faults{}, Options{})
	region := home(f.member)
	f.collect(t, f.target(f.member), global, "", "s3.buckets")
	f.collect(t, f.target(f.member), regional, region, "ec2.vpcs")
	calls := map[string]int64{}
	for k, v := range f.sim.Server.Counts() {
		if k.Account == f.member.ID {
			calls[k.Service+":"+k.Operation] += v
		}
	}
	if calls["s3:GetBucketLocation"] != 0 || calls["s3:ListBuckets"] != 1 {
		t.Errorf("bucket regions: %d GetBucketLocation and %d ListBuckets calls; want 0 and 1", calls["s3:GetBucketLocation"], calls["s3:ListBuckets"])
	}
	if calls["ec2:DescribeVpcEndpoints"] != 1 || calls["ec2:DescribeVpcs"] != 1 {
		t.Errorf("VPCs: %d DescribeVpcEndpoints and %d DescribeVpcs calls for %d VPCs; want 1 each", calls["ec2:DescribeVpcEndpoints"], calls["ec2:DescribeVpcs"], len(f.member.In(region).VPCs))
	}
}

// TestFIPSEndpoints: with FIPS on, calls in a region that has FIPS endpoints
// go through (to the simulator, standing in for the FIPS hosts), and a
// region without them is reported as ENDPOINT_UNAVAILABLE, not read.
func TestFIPSEndpoints(t *testing.T) {
	t.Parallel()
	f := start(t, genOpts(3), server.Faults{}, Options{})
	tgt := f.target(f.member)
	tgt.FIPS = true
	s := f.collect(t, tgt, regional, "us-east-2", "ec2.vpcs", "kms.keys")
	if len(s.errors) != 0 || len(s.byType("AWS::EC2::VPC")) != len(f.member.In("us-east-2").VPCs) {
		t.Fatalf("FIPS in us-east-2: errors %v, %d VPCs", s.errors, len(s.byType("AWS::EC2::VPC")))
	}
	s = f.collect(t, tgt, regional, "eu-west-1", "ec2.vpcs", "kms.keys")
	if len(s.errors) != 2 || len(s.resources) != 0 {
		t.Fatalf("FIPS in eu-west-1: errors %v, %d resources", s.errors, len(s.resources))
	}
	for _, e := range s.errors {
		if e.GetReason() != collectionv1.ErrorReason_ERROR_REASON_ENDPOINT_UNAVAILABLE {
			t.Errorf("error %v, want ENDPOINT_UNAVAILABLE", e)
		}
	}
}
