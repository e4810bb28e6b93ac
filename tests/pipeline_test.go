package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpccreds "google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/dpsweep/dpsweep/awssim"
	simserver "github.com/dpsweep/dpsweep/awssim/server"
	"github.com/dpsweep/dpsweep/awssim/world"
	collectionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/collection/v1"
	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	"github.com/dpsweep/dpsweep/services/collection"
	"github.com/dpsweep/dpsweep/services/evaluation"
	"github.com/dpsweep/dpsweep/services/platform/server"
	"github.com/dpsweep/dpsweep/services/platform/tlsutil"
	"github.com/dpsweep/dpsweep/services/redaction"
)

// syncBuffer collects a service's log output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serveOn runs a service on a real 127.0.0.1 listener, logging JSON at
// debug level into logs, and returns a client connection to it.
func serveOn(t *testing.T, logs io.Writer, register server.RegisterFunc) *grpc.ClientConn {
	t.Helper()
	return serveOnTLS(t, logs, register, nil, "")
}

// serveOnTLS is serveOn with mutual TLS and the area's authorisation rules
// when m is not nil; the returned connection is then the operator's.
func serveOnTLS(t *testing.T, logs io.Writer, register server.RegisterFunc, m *stackTLS, area string) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{Addr: lis.Addr().String(), LogFormat: "json", LogLevel: "debug", MaxRecvMsgBytes: server.DefaultMaxRecvMsgBytes,
		MaxSendMsgBytes: server.DefaultMaxSendMsgBytes, ShutdownTimeout: 5 * time.Second}
	creds := insecure.NewCredentials()
	if m != nil {
		cfg.TLS = tlsutil.ServerFiles{CertFile: m.certs.ServerCertFile, KeyFile: m.certs.ServerKeyFile, ClientCAFile: m.certs.CAFile}
		cfg.AllowIdentities = m.allow[area]
		tc, err := tlsutil.Client(m.identity(lis.Addr().String(), "operator").TLS)
		if err != nil {
			t.Fatal(err)
		}
		creds = grpccreds.NewTLS(tc)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	go func() { done <- server.ServeListener(ctx, lis, cfg, log, register) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.WaitForReady(true), grpc.MaxCallRecvMsgSize(server.DefaultMaxSendMsgBytes)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return conn
}

// pipeline is the simulator with the collection, redaction and evaluation
// services in front of it, each on its own real listener.
type pipeline struct {
	sim  *awssim.Sim
	coll collectionv1.CollectionServiceClient
	eval evaluationv1.EvaluationServiceClient
	logs *syncBuffer
}

func startPipeline(t *testing.T, o world.GenOptions, faults simserver.Faults, evalCfg func(*evaluation.Config)) *pipeline {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sim, err := awssim.Start(ctx, awssim.Config{Gen: o, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	logs := &syncBuffer{}
	rcfg := redaction.DefaultConfig()
	redConn := serveOn(t, logs, rcfg.Register)
	ccfg := collection.DefaultConfig()
	ak, sk := sim.Credentials()
	ccfg.EndpointURL, ccfg.RequestsPerSecond, ccfg.MaxConcurrent = sim.URL, 5000, 16
	ccfg.Credentials = credentials.NewStaticCredentialsProvider(ak, sk, "")
	collConn := serveOn(t, logs, ccfg.Register)
	ecfg := evaluation.DefaultConfig()
	ecfg.Redaction.Addr = redConn.Target()
	if evalCfg != nil {
		evalCfg(&ecfg)
	}
	evalConn := serveOn(t, logs, ecfg.Register)
	return &pipeline{sim: sim, coll: collectionv1.NewCollectionServiceClient(collConn), eval: evaluationv1.NewEvaluationServiceClient(evalConn), logs: logs}
}

// orgAccounts reads the organization's accounts from the management account.
func (p *pipeline) orgAccounts(ctx context.Context, t *testing.T) []string {
	t.Helper()
	stream, err := p.coll.CollectInventory(ctx, &collectionv1.CollectInventoryRequest{Target: &collectionv1.Target{AccountId: p.sim.World.ManagementAccount},
		Scope: collectionv1.Scope_SCOPE_GLOBAL, Collectors: []string{"organizations.accounts"}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range m.GetResources() {
			ids = append(ids, r.GetAttributes().GetFields()["account_id"].GetStringValue())
		}
	}
	return ids
}

// scan collects one scope and pipes the inventory, chunk by chunk, into Evaluate.
func (p *pipeline) scan(ctx context.Context, ec *evaluationv1.EvaluationContext, target *collectionv1.Target) ([]*evaluationv1.Finding, *evaluationv1.EvaluationSummary, error) {
	scope, region := collectionv1.Scope_SCOPE_REGIONAL, ec.GetRegion()
	if region == "global" {
		scope, region = collectionv1.Scope_SCOPE_GLOBAL, ""
	}
	inv, err := p.coll.CollectInventory(ctx, &collectionv1.CollectInventoryRequest{Target: target, Scope: scope, Region: region, ChunkSize: 50})
	if err != nil {
		return nil, nil, fmt.Errorf("CollectInventory: %w", err)
	}
	ev, err := p.eval.Evaluate(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("Evaluate: %w", err)
	}
	if err := ev.Send(&evaluationv1.EvaluateRequest{Payload: &evaluationv1.EvaluateRequest_Context{Context: ec}}); err != nil {
		return nil, nil, err
	}
	for {
		m, err := inv.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("CollectInventory: %w", err)
		}
		if err := ev.Send(&evaluationv1.EvaluateRequest{Payload: &evaluationv1.EvaluateRequest_Inventory{Inventory: m}}); err != nil {
			return nil, nil, err
		}
	}
	if err := ev.CloseSend(); err != nil {
		return nil, nil, err
	}
	var out []*evaluationv1.Finding
	for {
		m, err := ev.Recv()
		if errors.Is(err, io.EOF) {
			return nil, nil, errors.New("Evaluate: the stream ended without a summary")
		}
		if err != nil {
			return nil, nil, fmt.Errorf("Evaluate: %w", err)
		}
		out = append(out, m.GetFindings()...)
		if m.GetSummary() != nil {
			return out, m.GetSummary(), nil
		}
	}
}

// sweepAccount scans an account's global scope and every enabled region.
func (p *pipeline) sweepAccount(ctx context.Context, sweep, account, role string, org []string) ([]*evaluationv1.Finding, error) {
	target := &collectionv1.Target{AccountId: account, RoleName: role}
	regions := []string{}
	d, err := p.coll.DescribeTarget(ctx, &collectionv1.DescribeTargetRequest{Target: target})
	switch {
	case status.Code(err) == codes.PermissionDenied:
		// No way in: the global scope reports it, as a sweep would.
	case err != nil:
		return nil, err
	default:
		for _, r := range d.GetRegions() {
			if r.GetStatus() == collectionv1.RegionStatus_REGION_STATUS_ENABLED || r.GetStatus() == collectionv1.RegionStatus_REGION_STATUS_ENABLED_BY_DEFAULT {
				regions = append(regions, r.GetName())
			}
		}
	}
	var all []*evaluationv1.Finding
	for _, region := range append([]string{"global"}, regions...) {
		fs, _, err := p.scan(ctx, &evaluationv1.EvaluationContext{SweepId: sweep, AccountId: account, Region: region, OrganizationAccountIds: org}, target)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", account, region, err)
		}
		all = append(all, fs...)
	}
	return all, nil
}

func findingKey(control, account, region, arn, path string) string {
	return strings.Join([]string{control, account, region, arn, path}, " | ")
}

// TestEvaluationMatchesGeneratedExpectations sweeps a simulated organization
// through the real collection, redaction and evaluation services and
// compares the findings with those the world's generator wrote down: no
// finding missing, none extra, every status and planted entity type right.
func TestEvaluationMatchesGeneratedExpectations(t *testing.T) {
	if testing.Short() {
		t.Skip("sweeps a simulated organization; skipped with -short")
	}
	t.Parallel()
	o := world.DefaultGenOptions()
	o.Accounts, o.Seed, o.ViolationRate, o.PlantRate = 6, 23, 0.35, 0.3
	o.MissingRole = []int{4}
	// Two accounts lose one call each: their bucket policies (per resource)
	// and their portfolio lists (per region, so every catalogue control on
	// portfolios and constraints is left open).
	g0, err := world.Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	deniedPolicy, deniedPortfolios := g0.World.Accounts[2], g0.World.Accounts[4]
	faults := simserver.Faults{Deny: []simserver.DenyRule{
		{Account: deniedPolicy.ID, Operation: "s3:GetBucketPolicy"},
		{Account: deniedPortfolios.ID, Operation: "servicecatalog:ListPortfolios"},
	}}
	p := startPipeline(t, o, faults, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	org := p.orgAccounts(ctx, t)
	if len(org) != o.Accounts {
		t.Fatalf("organizations.accounts found %d accounts, want %d", len(org), o.Accounts)
	}
	g := p.sim.Generated
	want := map[string]world.Expected{}
	portfolioControls := []string{"DPS-FFT-001", "DPS-SHR-001", "DPS-SHR-003"}
	for _, e := range g.Expectations() {
		switch {
		case e.Account == deniedPolicy.ID && (e.Control == "DPS-TLS-001" || e.Control == "DPS-TLS-002"):
			e.Status = "NOT_ASSESSED" // what the denied call would have decided
		case e.Account == deniedPortfolios.ID && slices.Contains(portfolioControls, e.Control):
			continue // no portfolio was seen; the regions are open instead (below)
		}
		k := findingKey(e.Control, e.Account, e.Region, e.ResourceARN, e.FieldPath)
		if _, dup := want[k]; dup {
			t.Fatalf("the generator expects %s twice", k)
		}
		want[k] = e
	}
	acct, _ := p.sim.World.Account(deniedPortfolios.ID)
	for _, region := range append(append([]string{}, world.StandardRegions...), acct.EnabledOptInRegions...) {
		for _, c := range portfolioControls {
			want[findingKey(c, acct.ID, region, "", "")] = world.Expected{Control: c, Account: acct.ID, Region: region, Status: "NOT_ASSESSED"}
		}
	}
	controls := map[string]bool{}
	for _, e := range want {
		controls[e.Control] = true
	}
	for _, c := range world.Controls {
		if !controls[c.ID] {
			t.Errorf("no expectation exercises %s; grow the world", c.ID)
		}
	}

	got := map[string]*evaluationv1.Finding{}
	statuses := map[string]int{}
	for i, a := range p.sim.World.Accounts {
		role := o.RoleName
		if a.ID == p.sim.World.ManagementAccount {
			role = ""
		}
		fs, err := p.sweepAccount(ctx, "pipeline-test", a.ID, role, org)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(o.MissingRole, i+1) {
			// No role: every control is NOT_ASSESSED, never PASS or FAIL.
			open := map[string]bool{}
			for _, f := range fs {
				open[f.GetControlId()] = true
				if f.GetStatus() != evaluationv1.FindingStatus_FINDING_STATUS_NOT_ASSESSED ||
					f.GetNotAssessedReason() != evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_ASSUME_ROLE_FAILED {
					t.Errorf("account %s without a role: %s %s %s, want NOT_ASSESSED ASSUME_ROLE_FAILED", a.ID, f.GetControlId(), f.GetStatus(), f.GetNotAssessedReason())
				}
			}
			for _, c := range world.Controls {
				if !open[c.ID] {
					t.Errorf("account %s without a role: no NOT_ASSESSED finding for %s", a.ID, c.ID)
				}
			}
			continue
		}
		for _, f := range fs {
			// Pseudonyms in ARNs ("[AWS_ACCOUNT_ID:3f9c…]") compare as their type tag.
			k := pseudonym.ReplaceAllString(findingKey(f.GetControlId(), f.GetAccountId(), f.GetRegion(), f.GetResourceArn(), f.GetFieldPath()), "[$1]")
			if _, dup := got[k]; dup {
				t.Errorf("finding %s reported twice", k)
			}
			got[k] = f
			statuses[f.GetStatus().String()]++
		}
	}
	var missing, extra, wrong []string
	for k, e := range want {
		f, ok := got[k]
		if !ok {
			missing = append(missing, k+" "+e.Status)
			continue
		}
		if f.GetStatus().String() != "FINDING_STATUS_"+e.Status {
			wrong = append(wrong, fmt.Sprintf("%s: %s (%s), want %s", k, f.GetStatus(), f.GetEvidence().GetSummary(), e.Status))
		}
		for _, ent := range e.Entities {
			if !slices.Contains(f.GetEvidence().GetEntityTypes(), ent) {
				wrong = append(wrong, fmt.Sprintf("%s: entity types %v, want %s among them", k, f.GetEvidence().GetEntityTypes(), ent))
			}
		}
	}
	for k, f := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, fmt.Sprintf("%s %s (%s)", k, f.GetStatus(), f.GetEvidence().GetSummary()))
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	sort.Strings(wrong)
	for _, list := range []struct {
		name  string
		items []string
	}{{"missing", missing}, {"extra", extra}, {"wrong", wrong}} {
		if len(list.items) > 0 {
			t.Errorf("%d %s findings:\n  %s", len(list.items), list.name, strings.Join(list.items[:min(40, len(list.items))], "\n  "))
		}
	}
	t.Logf("%d expected findings matched: %v", len(want), statuses)
	// The shapes find the planted values in the raw world, so their absence
	// from findings and logs means something.
	raw, err := json.Marshal(p.sim.World)
	if err != nil {
		t.Fatal(err)
	}
	for name, re := range plantedShapes {
		if !re.Match(raw) {
			t.Errorf("no %s planted in the world: the leak check would prove nothing", name)
		}
	}
	outside := 0
	for _, m := range twelveDigits.FindAllStringSubmatch(string(raw), -1) {
		if !slices.Contains(org, m[1]) {
			outside++
		}
	}
	if outside == 0 {
		t.Error("no account number from outside the organization planted in the world: the leak check would prove nothing")
	}
	checkNoPlantedValues(t, got, p.logs.String(), org)
}

// The values the generator plants in free-form fields, by shape.
var plantedShapes = map[string]*regexp.Regexp{
	"access key":      regexp.MustCompile(`AKIA[A-Z2-7]{16}`),
	"password":        regexp.MustCompile(`password=[^\s\[]`),
	"phone number":    regexp.MustCompile(`\+44 20 7946`),
	"personal e-mail": regexp.MustCompile(`[a-z]+\.[a-z]+@example-corp\.com`),
	"presigned URL":   regexp.MustCompile(`X-Amz-Signature=[0-9a-f]`),
	"URL password":    regexp.MustCompile(`https://deploy:`),
}

// twelveDigits finds 12-digit runs wherever they sit ("acct493817265012" too).
var twelveDigits = regexp.MustCompile(`(?:^|[^0-9])([0-9]{12})(?:[^0-9]|$)`)

// hexID is a run of 16 or more hexadecimal characters (an identifier when a
// letter is among them).
var hexID = regexp.MustCompile(`[0-9a-f]{16,}`)

// pseudonym is a keyed pseudonym the evaluation puts in ARNs and paths.
var pseudonym = regexp.MustCompile(`\[([A-Z_]+):[0-9a-f]+\]`)

// checkNoPlantedValues: no finding's evidence, ARN or field path, and no log
// line of any service, holds a planted value or an account number from
// outside the organization.
func checkNoPlantedValues(t *testing.T, findings map[string]*evaluationv1.Finding, logs string, org []string) {
	t.Helper()
	var texts []string
	for _, f := range findings {
		texts = append(texts, f.GetResourceArn(), f.GetFieldPath(), f.GetEvidence().GetSummary(), f.GetEvidence().GetRedactedText())
	}
	texts = append(texts, logs)
	leaks := map[string]int{}
	for _, s := range texts {
		for name, re := range plantedShapes {
			if re.MatchString(s) {
				leaks[name]++
			}
		}
		// Hex identifiers (vpc-0de769647135129e4, key UUIDs) hold digit runs
		// that are not account numbers.
		masked := hexID.ReplaceAllStringFunc(s, func(id string) string {
			if strings.Trim(id, "0123456789") == "" {
				return id // all digits: not an identifier
			}
			return "<id>"
		})
		for _, m := range twelveDigits.FindAllStringSubmatch(masked, -1) {
			if !slices.Contains(org, m[1]) {
				i := strings.Index(s, m[1])
				leaks["account number outside the organization in …"+s[max(0, i-60):min(len(s), i+30)]+"…"]++
			}
		}
	}
	if len(leaks) > 0 {
		t.Errorf("planted values leaked into findings or logs: %v", leaks)
	}
	if !strings.Contains(logs, `"msg":"inventory evaluated"`) || !strings.Contains(logs, `"msg":"inventory collected"`) {
		t.Errorf("the services' logs were not captured")
	}
}
