package export

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/dpsweep/dpsweep/awssim"
	"github.com/dpsweep/dpsweep/awssim/world"
	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
)

const aggregator = "us-east-1"

// shRecorder is an HTTP client that sees every BatchImportFindings request
// (how many findings it carries) and can mark findings of a response as
// failed, as Security Hub does for a passing fault.
type shRecorder struct {
	mu       sync.Mutex
	sizes    []int
	failOnce map[string]bool // finding IDs to report failed on their first import
}

func (r *shRecorder) Do(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPost || req.URL.Path != "/findings/import" {
		return http.DefaultClient.Do(req)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	var in struct{ Findings []struct{ Id string } }
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.sizes = append(r.sizes, len(in.Findings))
	var inject []string
	for _, f := range in.Findings {
		if r.failOnce[f.Id] {
			inject = append(inject, f.Id)
			delete(r.failOnce, f.Id)
		}
	}
	r.mu.Unlock()
	resp, err := http.DefaultClient.Do(req)
	if err != nil || len(inject) == 0 {
		return resp, err
	}
	// Security Hub took the finding; say it did not, so the sender retries.
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	failed, _ := out["FailedFindings"].([]any)
	for _, id := range inject {
		failed = append(failed, map[string]any{"Id": id, "ErrorCode": "InternalException", "ErrorMessage": "Internal service failure."})
	}
	out["FailedFindings"] = failed
	out["FailedCount"] = out["FailedCount"].(float64) + float64(len(inject))
	out["SuccessCount"] = out["SuccessCount"].(float64) - float64(len(inject))
	raw, _ = json.Marshal(out)
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	resp.ContentLength = int64(len(raw))
	resp.Header.Set("Content-Length", strconv.Itoa(len(raw)))
	return resp, nil
}

func (r *shRecorder) maxBatch() (requests, most int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.sizes {
		most = max(most, n)
	}
	return len(r.sizes), most
}

// shEnv is a simulated organization with a Security Hub client of its
// management account in the aggregator region.
type shEnv struct {
	sim              *awssim.Sim
	client           *securityhub.Client
	rec              *shRecorder
	product          string
	mgmt, memA, memB string
}

func newSHEnv(t *testing.T) *shEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	o := world.DefaultGenOptions()
	o.Accounts, o.Seed = 3, 11
	sim, err := awssim.Start(ctx, awssim.Config{Gen: o})
	if err != nil {
		t.Fatal(err)
	}
	ak, sk := sim.Credentials()
	rec := &shRecorder{failOnce: map[string]bool{}}
	client := securityhub.New(securityhub.Options{
		Region: aggregator, BaseEndpoint: aws.String(sim.URL), HTTPClient: rec,
		Credentials: credentials.NewStaticCredentialsProvider(ak, sk, ""),
		Retryer:     aws.NopRetryer{},
	})
	mgmt := sim.World.ManagementAccount
	return &shEnv{
		sim: sim, client: client, rec: rec, product: DefaultProductARN(aggregator, mgmt),
		mgmt: mgmt, memA: sim.World.Accounts[1].ID, memB: sim.World.Accounts[2].ID,
	}
}

// sweepFindings makes findings for accounts × regions, perScope each, the
// i-th of a scope with resource r-<i>; PASS every third, NOT_ASSESSED every
// fifth, suppressed every seventh.
func sweepFindings(sweep string, observed time.Time, accounts, regions []string, perScope int) []*evaluationv1.Finding {
	var out []*evaluationv1.Finding
	for _, a := range accounts {
		for _, r := range regions {
			for i := range perScope {
				f := &evaluationv1.Finding{
					Id: fixtureID(sweep, a, r, strconv.Itoa(i)), SweepId: sweep, ControlId: fmt.Sprintf("DPS-S3-%03d", i%4),
					Title: "S3 buckets are encrypted", AccountId: a, Region: r, ResourceType: "AWS::S3::Bucket",
					ResourceArn: fmt.Sprintf("arn:aws:s3:::%s-%s-r-%d", a, r, i), Severity: evaluationv1.Severity_SEVERITY_HIGH,
					Status: evaluationv1.FindingStatus_FINDING_STATUS_FAIL, Evidence: &evaluationv1.Evidence{Summary: "no default encryption"},
					ObservedAt: timestamppb.New(observed),
				}
				switch {
				case i%5 == 4:
					f.Status, f.NotAssessedReason = evaluationv1.FindingStatus_FINDING_STATUS_NOT_ASSESSED, evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_ACCESS_DENIED
				case i%3 == 2:
					f.Status = evaluationv1.FindingStatus_FINDING_STATUS_PASS
				}
				if i%7 == 0 {
					f.Suppressed = true
					f.Suppression = &evaluationv1.Suppression{Id: "sup-1", ControlId: "*", Justification: "accepted risk", ExpiresAt: timestamppb.New(observed.AddDate(1, 0, 0))}
				}
				out = append(out, f)
			}
		}
	}
	return out
}

// resIndex is i of a sweepFindings finding's resource r-<i>.
func resIndex(f *evaluationv1.Finding) int {
	i, err := strconv.Atoi(f.ResourceArn[strings.LastIndex(f.ResourceArn, "-")+1:])
	if err != nil {
		panic(err)
	}
	return i
}

func scopes(accounts, regions []string) []Scope {
	var out []Scope
	for _, a := range accounts {
		for _, r := range regions {
			out = append(out, Scope{a, r})
		}
	}
	return out
}

// hub is dpsweep's findings as Security Hub holds them, by Id.
func (e *shEnv) hub(t *testing.T) map[string]shtypes.AwsSecurityFinding {
	t.Helper()
	out := map[string]shtypes.AwsSecurityFinding{}
	p := securityhub.NewGetFindingsPaginator(e.client, &securityhub.GetFindingsInput{Filters: &shtypes.AwsSecurityFindingFilters{
		ProductArn: []shtypes.StringFilter{eqFilter(e.product)},
	}})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range page.Findings {
			out[aws.ToString(f.Id)] = f
		}
	}
	return out
}

func sweepInput(id string, at time.Time, fs []*evaluationv1.Finding, assessed []Scope) *Input {
	in := inputOf(fs)
	in.Sweep = &reportingv1.Sweep{SweepId: id, State: reportingv1.SweepState_SWEEP_STATE_COMPLETED}
	in.Assessed, in.GeneratedAt = assessed, at
	return in
}

func TestSendToSecurityHubArchivesOnlyAssessedScopes(t *testing.T) {
	t.Parallel()
	e := newSHEnv(t)
	ctx := context.Background()
	regions := []string{"us-east-1", "eu-west-1", "global"}
	both := []string{e.memA, e.memB}

	// Sweep 1: everything, 2 accounts × 3 regions × 40 findings.
	first := sweepFindings("sweep-1", t0, both, regions, 40)
	res, err := SendToSecurityHub(ctx, e.client, sweepInput("sweep-1", t0.Add(time.Hour), first, scopes(both, regions)), e.product)
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 240 || res.Failed != 0 || res.Retried != 0 || res.Archived != 0 || res.ImportRequests != 3 || res.WorkflowUpdated != 0 {
		t.Fatalf("first sweep: %+v", res)
	}
	hub := e.hub(t)
	if len(hub) != 240 {
		t.Fatalf("Security Hub holds %d findings, want 240", len(hub))
	}
	for _, f := range first {
		a, ok := hub[asffID(f)]
		if !ok {
			t.Fatalf("finding %s missing", asffID(f))
		}
		if a.RecordState != shtypes.RecordStateActive || a.Workflow.Status != asffWorkflow(f) {
			t.Errorf("%s: %s %s, want ACTIVE %s", asffID(f), a.RecordState, a.Workflow.Status, asffWorkflow(f))
		}
		if f.Region == "global" && (aws.ToString(a.Region) != aggregator || a.ProductFields[pfRegion] != "global") {
			t.Errorf("global finding in region %s, %v", aws.ToString(a.Region), a.ProductFields[pfRegion])
		}
	}
	// A person takes over one finding's workflow in Security Hub.
	byHand := asffID(first[1]) // account A, us-east-1, i=1: FAIL, not suppressed
	if _, err := e.client.BatchUpdateFindings(ctx, &securityhub.BatchUpdateFindingsInput{
		FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{{Id: aws.String(byHand), ProductArn: aws.String(e.product)}},
		Workflow:           &shtypes.WorkflowUpdate{Status: shtypes.WorkflowStatusNotified},
	}); err != nil {
		t.Fatal(err)
	}

	// Sweep 2, partial: account A only, and only its eu-west-1 and global
	// scopes. Findings i%6==0 are gone; i=1 becomes suppressed, i=7 (was
	// suppressed) no longer is.
	later := t0.Add(24 * time.Hour)
	assessed := scopes([]string{e.memA}, []string{"eu-west-1", "global"})
	var second []*evaluationv1.Finding
	for _, f := range sweepFindings("sweep-2", later, []string{e.memA}, []string{"eu-west-1", "global", "us-east-1"}, 40) {
		i := resIndex(f)
		if f.Region == "us-east-1" && i != 1 {
			continue // not assessed this time: reported by nobody, archived by nobody
		}
		if i%6 == 0 {
			continue // resolved and gone
		}
		switch i {
		case 1:
			f.Suppressed, f.Suppression = true, &evaluationv1.Suppression{Id: "sup-2", Justification: "new exception", ExpiresAt: timestamppb.New(later.AddDate(0, 1, 0))}
		case 7:
			f.Suppressed, f.Suppression = false, nil
		}
		second = append(second, f)
	}
	res, err = SendToSecurityHub(ctx, e.client, sweepInput("sweep-2", later.Add(time.Hour), second, assessed), e.product)
	if err != nil {
		t.Fatal(err)
	}
	hub = e.hub(t)
	// Archived: A's eu-west-1 and global findings with i%6==0 (7 a scope).
	var archived []string
	for id, a := range hub {
		if a.RecordState == shtypes.RecordStateArchived {
			archived = append(archived, id)
		}
	}
	if res.Archived != 14 || len(archived) != 14 {
		t.Errorf("archived %d (result says %d), want 14", len(archived), res.Archived)
	}
	for _, f := range first {
		a := hub[asffID(f)]
		i := resIndex(f)
		wantArchived := f.AccountId == e.memA && f.Region != "us-east-1" && i%6 == 0
		if (a.RecordState == shtypes.RecordStateArchived) != wantArchived {
			t.Errorf("%s %s %s r-%d: %s", f.AccountId, f.Region, f.ControlId, i, a.RecordState)
		}
		if f.AccountId == e.memB && (a.RecordState != shtypes.RecordStateActive || aws.ToString(a.UpdatedAt) != t0.Format(asffTime)) {
			t.Errorf("account B's finding %s was touched: %s %s", aws.ToString(a.Id), a.RecordState, aws.ToString(a.UpdatedAt))
		}
	}
	// Updated findings keep when they were created.
	for _, f := range second {
		a := hub[asffID(f)]
		if aws.ToString(a.CreatedAt) != t0.Format(asffTime) || aws.ToString(a.UpdatedAt) != later.Format(asffTime) {
			t.Errorf("%s: created %s updated %s", aws.ToString(a.Id), aws.ToString(a.CreatedAt), aws.ToString(a.UpdatedAt))
		}
	}
	// Workflows: the newly suppressed finding of a scope dpsweep owns moves,
	// the one a person set stays, the unsuppressed one reopens.
	for _, tc := range []struct {
		region string
		i      int
		want   shtypes.WorkflowStatus
	}{
		{"eu-west-1", 1, shtypes.WorkflowStatusSuppressed},
		{"global", 1, shtypes.WorkflowStatusSuppressed},
		{"us-east-1", 1, shtypes.WorkflowStatusNotified}, // by hand: left alone
		{"eu-west-1", 7, shtypes.WorkflowStatusNew},
		{"global", 14, shtypes.WorkflowStatusSuppressed}, // still suppressed
	} {
		id := asffID(&evaluationv1.Finding{AccountId: e.memA, Region: tc.region, ControlId: fmt.Sprintf("DPS-S3-%03d", tc.i%4),
			ResourceArn: fmt.Sprintf("arn:aws:s3:::%s-%s-r-%d", e.memA, tc.region, tc.i)})
		if got := hub[id].Workflow.Status; got != tc.want {
			t.Errorf("%s r-%d workflow %s, want %s", tc.region, tc.i, got, tc.want)
		}
	}
	if res.WorkflowUpdated != 4 || res.WorkflowFailed != 0 {
		t.Errorf("workflow moves %d (failed %d), want 4: %+v", res.WorkflowUpdated, res.WorkflowFailed, res)
	}

	// No request ever carried more than 100 findings; the simulator counted
	// what the sender says it sent.
	requests, most := e.rec.maxBatch()
	if most > 100 {
		t.Errorf("a BatchImportFindings request carried %d findings", most)
	}
	var counted int64
	for k, n := range e.sim.Server.Counts() {
		if k.Service == "securityhub" && k.Operation == "BatchImportFindings" {
			counted += n
		}
	}
	if counted != int64(requests) || counted != 3+res.ImportRequests {
		t.Errorf("simulator counted %d imports, recorder %d, results 3+%d", counted, requests, res.ImportRequests)
	}
}

func TestSendToSecurityHubRetriesFailedOnce(t *testing.T) {
	t.Parallel()
	e := newSHEnv(t)
	fs := sweepFindings("sweep-r", t0, []string{e.memA}, []string{"us-east-1"}, 150)
	// One finding fails once (a passing fault), one for an account outside
	// the organization fails every time.
	e.rec.failOnce[asffID(fs[120])] = true
	outsider := sweepFindings("sweep-r", t0, []string{"999999999999"}, []string{"us-east-1"}, 1)[0]
	fs = append(fs, outsider)
	res, err := SendToSecurityHub(context.Background(), e.client, sweepInput("sweep-r", t0, fs, nil), e.product)
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 150 || res.Retried != 2 || res.Failed != 1 || len(res.Failures) != 1 ||
		res.Failures[0].ID != asffID(outsider) || res.Failures[0].Code == "" || res.ImportRequests != 3 {
		t.Fatalf("result %+v", res)
	}
	if got := len(e.hub(t)); got != 150 {
		t.Errorf("Security Hub holds %d findings, want 150", got)
	}
	if _, most := e.rec.maxBatch(); most > 100 {
		t.Errorf("a request carried %d findings", most)
	}
}

func TestSendToSecurityHubChecksRegion(t *testing.T) {
	t.Parallel()
	c := securityhub.New(securityhub.Options{Region: "eu-west-1"})
	for desc, product := range map[string]string{
		"not an ARN":       "default",
		"other region":     DefaultProductARN("us-east-1", acctA),
		"not security hub": "arn:aws:s3:::bucket",
	} {
		if _, err := SendToSecurityHub(context.Background(), c, fixture(), product); err == nil {
			t.Errorf("%s: no error", desc)
		}
	}
	if _, err := SendToSecurityHub(context.Background(), nil, fixture(), DefaultProductARN("eu-west-1", acctA)); err == nil {
		t.Error("nil client: no error")
	}
}
