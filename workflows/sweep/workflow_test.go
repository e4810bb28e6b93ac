package sweep

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	sweepv1 "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
)

// fakeOrg answers the activities for a made-up organization: every
// account has two regions; each scan finds one failing HIGH finding and
// two passing ones, after scanTime of workflow time.
type fakeOrg struct {
	accounts []string
	scanTime time.Duration
	// describeTime is how long DescribeAccount takes.
	describeTime time.Duration
	// noRole are accounts whose role cannot be assumed; failScan are
	// "account/region" scans that fail permanently.
	noRole   map[string]bool
	failScan map[string]bool

	mu       sync.Mutex
	scans    []string
	done     map[string]time.Time // scan → when it ended
	finishes []FinishInput
}

func newFakeOrg(n int) *fakeOrg {
	o := &fakeOrg{scanTime: 10 * time.Minute, noRole: map[string]bool{}, failScan: map[string]bool{}}
	for i := range n {
		o.accounts = append(o.accounts, fmt.Sprintf("1000000%05d", i))
	}
	return o
}

func scanCounts() *reportingv1.SweepCounts {
	c := &reportingv1.SweepCounts{}
	countFinding(c, &evaluationv1.Finding{Status: evaluationv1.FindingStatus_FINDING_STATUS_FAIL, Severity: evaluationv1.Severity_SEVERITY_HIGH})
	countFinding(c, &evaluationv1.Finding{Status: evaluationv1.FindingStatus_FINDING_STATUS_PASS})
	countFinding(c, &evaluationv1.Finding{Status: evaluationv1.FindingStatus_FINDING_STATUS_PASS})
	return c
}

func (o *fakeOrg) env(t *testing.T) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetTestTimeout(time.Minute)
	env.RegisterWorkflowWithOptions(SweepWorkflow, workflow.RegisterOptions{Name: SweepWorkflowName})
	env.RegisterWorkflowWithOptions(AccountSweep, workflow.RegisterOptions{Name: AccountSweepWorkflowName})
	a := &Activities{}
	env.RegisterActivityWithOptions(a.DiscoverAccounts, activityName(DiscoverAccountsActivity))
	env.RegisterActivityWithOptions(a.DescribeAccount, activityName(DescribeAccountActivity))
	env.RegisterActivityWithOptions(a.Scan, activityName(ScanActivity))
	env.RegisterActivityWithOptions(a.FinishSweep, activityName(FinishSweepActivity))
	env.OnActivity(DiscoverAccountsActivity, mock.Anything, mock.Anything).Return(func(_ context.Context, in DiscoverInput) (*DiscoverResult, error) {
		var sel []string
		for _, id := range o.accounts {
			if selects(in.Spec, orgAccount{id: id}) {
				sel = append(sel, id)
			}
		}
		return &DiscoverResult{ManagementAccount: "999999999999", Accounts: sel, Organization: len(o.accounts)}, nil
	})
	env.OnActivity(DescribeAccountActivity, mock.Anything, mock.Anything).After(o.describeTime).Return(func(_ context.Context, in DescribeInput) (*DescribeResult, error) {
		if o.noRole[in.Account] {
			return &DescribeResult{AssumeRoleFailed: true}, nil
		}
		return &DescribeResult{Regions: []string{"eu-west-1", "us-east-1"}}, nil
	})
	env.OnActivity(ScanActivity, mock.Anything, mock.Anything).After(o.scanTime).Return(func(_ context.Context, in ScanInput) (*ScanResult, error) {
		o.mu.Lock()
		o.scans = append(o.scans, in.Account+"/"+in.Region)
		if o.done == nil {
			o.done = map[string]time.Time{}
		}
		o.done[in.Account+"/"+in.Region] = env.Now() // the mock runs after scanTime
		o.mu.Unlock()
		if o.failScan[in.Account+"/"+in.Region] {
			return nil, temporal.NewNonRetryableApplicationError("CollectInventory: InvalidArgument", ErrInvalidSpec, nil)
		}
		return &ScanResult{Resources: 7, Findings: 3, APICalls: 11, Counts: scanCounts()}, nil
	})
	env.OnActivity(FinishSweepActivity, mock.Anything, mock.Anything).Return(func(_ context.Context, in FinishInput) (*FinishResult, error) {
		o.mu.Lock()
		o.finishes = append(o.finishes, in)
		o.mu.Unlock()
		return &FinishResult{ReportURIs: []string{"/reports/" + in.SweepID + ".html"}}, nil
	})
	return env
}

func activityName(n string) activity.RegisterOptions { return activity.RegisterOptions{Name: n} }

func TestSweepScansEveryAccountWithinTheWindow(t *testing.T) {
	t.Parallel()
	o := newFakeOrg(12)
	env := o.env(t)
	start := env.Now()
	env.ExecuteWorkflow(SweepWorkflowName, SweepInput{SweepID: "s1", Spec: &sweepv1.SweepSpec{MaxConcurrentAccounts: 3}, ManagementAccount: "999999999999"})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("completed %v, error %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	var res SweepResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	p := res.Progress
	if res.State != sweepv1.SweepState_SWEEP_STATE_COMPLETED || p.GetAccountsTotal() != 12 || p.GetAccountsDone() != 12 || p.GetAccountsFailed() != 0 || p.GetRegionsDone() != 36 {
		t.Fatalf("result %v", &res)
	}
	if c := p.GetCounts(); c.GetFail() != 36 || c.GetPass() != 72 || c.GetFindings() != 108 || len(c.GetFailBySeverity()) != 1 || c.GetFailBySeverity()[0].GetCount() != 36 {
		t.Fatalf("counts %v", c)
	}
	if len(o.scans) != 36 {
		t.Fatalf("%d scans, want 12 accounts × (global + 2 regions)", len(o.scans))
	}
	// Each account takes one scan time (its scans run at once); three at a
	// time, twelve accounts take four scan times — not one, as they would
	// unbounded, nor twelve, as they would one by one.
	took := env.Now().Sub(start)
	if took < 4*o.scanTime || took >= 5*o.scanTime {
		t.Fatalf("the sweep took %v of workflow time; want 4 scan times (%v) with 3 accounts at once", took, 4*o.scanTime)
	}
	if len(o.finishes) != 1 || o.finishes[0].State != reportingv1.SweepState_SWEEP_STATE_COMPLETED || len(res.ReportURIs) != 1 {
		t.Fatalf("finish calls %v, reports %v", o.finishes, res.ReportURIs)
	}
}

func TestSweepContinuesAsNewAndKeepsItsProgress(t *testing.T) {
	t.Parallel()
	o := newFakeOrg(12)
	in := SweepInput{SweepID: "s1", Spec: &sweepv1.SweepSpec{MaxConcurrentAccounts: 4}, ManagementAccount: "999999999999", AccountsPerRun: 5}
	var runs int
	for {
		runs++
		env := o.env(t)
		env.ExecuteWorkflow(SweepWorkflowName, in)
		err := env.GetWorkflowError()
		var can *workflow.ContinueAsNewError
		if errors.As(err, &can) {
			if runs > 5 {
				t.Fatal("more runs than accounts per run allow")
			}
			var next SweepInput
			if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
				t.Fatal(err)
			}
			if got, want := len(next.Carry.Remaining), 12-5*runs; got != want {
				t.Fatalf("run %d hands on %d accounts, want %d", runs, got, want)
			}
			if next.Carry.Progress.GetAccountsDone() != int64(5*runs) || next.Carry.Progress.GetAccountsTotal() != 12 {
				t.Fatalf("run %d hands on progress %v", runs, next.Carry.Progress)
			}
			in = next
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var res SweepResult
		if err := env.GetWorkflowResult(&res); err != nil {
			t.Fatal(err)
		}
		if runs != 3 || res.Progress.GetAccountsDone() != 12 || res.Progress.GetCounts().GetFail() != 36 {
			t.Fatalf("after %d runs: %v", runs, res.Progress)
		}
		break
	}
	// Every account scanned exactly once across the runs.
	seen := map[string]int{}
	for _, s := range o.scans {
		seen[s]++
	}
	if len(seen) != 36 {
		t.Fatalf("%d distinct scans, want 36", len(seen))
	}
	for s, n := range seen {
		if n != 1 {
			t.Fatalf("scan %s ran %d times", s, n)
		}
	}
	if len(o.finishes) != 1 {
		t.Fatalf("finalized %d times, want once, by the last run", len(o.finishes))
	}
}

func TestCancelledSweepKeepsAPartialReport(t *testing.T) {
	t.Parallel()
	o := newFakeOrg(10)
	env := o.env(t)
	var during *sweepv1.SweepProgress
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(ProgressQuery)
		if err != nil {
			t.Error(err)
			return
		}
		during = &sweepv1.SweepProgress{}
		if err := v.Get(&during); err != nil {
			t.Error(err)
		}
		env.CancelWorkflow()
	}, 15*time.Minute)
	env.ExecuteWorkflow(SweepWorkflowName, SweepInput{SweepID: "s1", Spec: &sweepv1.SweepSpec{MaxConcurrentAccounts: 2}, ManagementAccount: "999999999999"})
	err := env.GetWorkflowError()
	var canceled *temporal.CanceledError
	if !errors.As(err, &canceled) {
		t.Fatalf("workflow error %v; want cancelled", err)
	}
	if during == nil || during.GetAccountsTotal() != 10 || during.GetAccountsDone() != 2 {
		t.Fatalf("progress at 15 minutes: %v; want 2 of 10 accounts done", during)
	}
	if len(o.finishes) != 1 || o.finishes[0].State != reportingv1.SweepState_SWEEP_STATE_CANCELLED {
		t.Fatalf("finish calls %v; want one, CANCELLED", o.finishes)
	}
	if len(o.scans) >= 30 {
		t.Fatalf("%d scans ran; cancelling should have stopped the sweep", len(o.scans))
	}
}

// The global scan needs nothing DescribeAccount finds: it starts with it,
// and the regional scans once the regions are known.
func TestGlobalScanRunsWhileTheRegionsAreLookedUp(t *testing.T) {
	t.Parallel()
	o := newFakeOrg(1)
	o.describeTime = 5 * time.Minute
	env := o.env(t)
	start := env.Now()
	env.ExecuteWorkflow(AccountSweepWorkflowName, AccountInput{SweepID: "s1", Account: o.accounts[0], ManagementAccount: "999999999999"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res AccountResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.RegionsDone != 3 || res.RegionsFailed != 0 || res.Counts.GetFindings() != 9 {
		t.Fatalf("result %+v", &res)
	}
	acct := o.accounts[0]
	if g := o.done[acct+"/"+GlobalRegion].Sub(start); g != o.scanTime {
		t.Errorf("the global scan ended %v in; want %v, having started with DescribeAccount", g, o.scanTime)
	}
	for _, r := range []string{"eu-west-1", "us-east-1"} {
		if d := o.done[acct+"/"+r].Sub(start); d != o.describeTime+o.scanTime {
			t.Errorf("the scan of %s ended %v in; want %v, having started after DescribeAccount", r, d, o.describeTime+o.scanTime)
		}
	}
}

func TestUnreachableAccountsAndFailedScansDoNotFailTheSweep(t *testing.T) {
	t.Parallel()
	o := newFakeOrg(4)
	o.noRole[o.accounts[1]] = true
	o.failScan[o.accounts[2]+"/us-east-1"] = true
	env := o.env(t)
	env.ExecuteWorkflow(SweepWorkflowName, SweepInput{SweepID: "s1", ManagementAccount: "999999999999",
		Spec: &sweepv1.SweepSpec{ExcludeAccountIds: []string{o.accounts[3]}}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res SweepResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	p := res.Progress
	// Account 0: 3 scopes; account 1: global only; account 2: 2 of 3; account 3 excluded.
	if p.GetAccountsTotal() != 3 || p.GetAccountsDone() != 3 || p.GetAccountsFailed() != 2 || p.GetRegionsDone() != 3+1+2 || p.GetErrors() != 1 {
		t.Fatalf("progress %v", p)
	}
	if res.State != sweepv1.SweepState_SWEEP_STATE_COMPLETED {
		t.Fatalf("state %v", res.State)
	}
	slices.Sort(o.scans)
	if slices.ContainsFunc(o.scans, func(s string) bool { return s == o.accounts[1]+"/eu-west-1" || s[:12] == o.accounts[3] }) {
		t.Fatalf("scans %v: an unreachable account got regional scans, or an excluded one was scanned", o.scans)
	}
}

func TestFailedDiscoveryFailsTheSweepAndFinalizesIt(t *testing.T) {
	t.Parallel()
	o := newFakeOrg(3)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(SweepWorkflow, workflow.RegisterOptions{Name: SweepWorkflowName})
	a := &Activities{}
	env.RegisterActivityWithOptions(a.DiscoverAccounts, activityName(DiscoverAccountsActivity))
	env.RegisterActivityWithOptions(a.FinishSweep, activityName(FinishSweepActivity))
	calls := 0
	env.OnActivity(DiscoverAccountsActivity, mock.Anything, mock.Anything).Return(func(context.Context, DiscoverInput) (*DiscoverResult, error) {
		calls++
		return nil, temporal.NewNonRetryableApplicationError("discover accounts: AccessDenied", ErrPermissionDenied, nil)
	})
	env.OnActivity(FinishSweepActivity, mock.Anything, mock.Anything).Return(func(_ context.Context, in FinishInput) (*FinishResult, error) {
		o.finishes = append(o.finishes, in)
		return &FinishResult{}, nil
	})
	env.ExecuteWorkflow(SweepWorkflowName, SweepInput{SweepID: "s1", ManagementAccount: "999999999999"})
	if env.GetWorkflowError() == nil {
		t.Fatal("the sweep succeeded without its accounts")
	}
	if calls != 1 {
		t.Fatalf("a permanent failure was tried %d times", calls)
	}
	if len(o.finishes) != 1 || o.finishes[0].State != reportingv1.SweepState_SWEEP_STATE_FAILED {
		t.Fatalf("finish calls %v; want one, FAILED", o.finishes)
	}
}

func TestSelects(t *testing.T) {
	t.Parallel()
	acct := orgAccount{id: "111111111111", parents: []string{"r-ab12", "ou-ab12-prod0001"}, tags: map[string]string{"env": "prod", "team": "data"}}
	for name, tc := range map[string]struct {
		spec *sweepv1.SweepSpec
		want bool
	}{
		"everything":           {&sweepv1.SweepSpec{}, true},
		"included by ID":       {&sweepv1.SweepSpec{IncludeAccountIds: []string{"111111111111"}}, true},
		"not included by ID":   {&sweepv1.SweepSpec{IncludeAccountIds: []string{"222222222222"}}, false},
		"excluded by ID":       {&sweepv1.SweepSpec{ExcludeAccountIds: []string{"111111111111"}}, false},
		"under an OU":          {&sweepv1.SweepSpec{IncludeOuIds: []string{"ou-ab12-prod0001"}}, true},
		"under the root":       {&sweepv1.SweepSpec{IncludeOuIds: []string{"r-ab12"}}, true},
		"not under an OU":      {&sweepv1.SweepSpec{IncludeOuIds: []string{"ou-ab12-test0001"}}, false},
		"excluded OU":          {&sweepv1.SweepSpec{ExcludeOuIds: []string{"ou-ab12-prod0001"}}, false},
		"tag with value":       {&sweepv1.SweepSpec{IncludeTags: []*sweepv1.Tag{{Key: "env", Value: "prod"}}}, true},
		"tag any value":        {&sweepv1.SweepSpec{IncludeTags: []*sweepv1.Tag{{Key: "team"}}}, true},
		"tag other value":      {&sweepv1.SweepSpec{IncludeTags: []*sweepv1.Tag{{Key: "env", Value: "dev"}}}, false},
		"every included tag":   {&sweepv1.SweepSpec{IncludeTags: []*sweepv1.Tag{{Key: "env"}, {Key: "cost"}}}, false},
		"excluded tag":         {&sweepv1.SweepSpec{ExcludeTags: []*sweepv1.Tag{{Key: "team", Value: "data"}}}, false},
		"excluded other value": {&sweepv1.SweepSpec{ExcludeTags: []*sweepv1.Tag{{Key: "team", Value: "web"}}}, true},
	} {
		if got := selects(tc.spec, acct); got != tc.want {
			t.Errorf("%s: selects = %v, want %v", name, got, tc.want)
		}
	}
}

func TestAddCounts(t *testing.T) {
	t.Parallel()
	a := &reportingv1.SweepCounts{}
	addCounts(a, scanCounts())
	b := &reportingv1.SweepCounts{}
	countFinding(b, &evaluationv1.Finding{Status: evaluationv1.FindingStatus_FINDING_STATUS_FAIL, Severity: evaluationv1.Severity_SEVERITY_CRITICAL})
	countFinding(b, &evaluationv1.Finding{Status: evaluationv1.FindingStatus_FINDING_STATUS_FAIL, Severity: evaluationv1.Severity_SEVERITY_HIGH, Suppressed: true})
	countFinding(b, &evaluationv1.Finding{Status: evaluationv1.FindingStatus_FINDING_STATUS_NOT_ASSESSED})
	addCounts(a, b)
	if a.GetFindings() != 6 || a.GetFail() != 3 || a.GetPass() != 2 || a.GetNotAssessed() != 1 || a.GetSuppressed() != 1 {
		t.Fatalf("counts %v", a)
	}
	sev := a.GetFailBySeverity()
	if len(sev) != 2 || sev[0].GetSeverity() != evaluationv1.Severity_SEVERITY_CRITICAL || sev[0].GetCount() != 1 || sev[1].GetCount() != 1 {
		t.Fatalf("fail by severity %v: want CRITICAL 1 then HIGH 1 (the suppressed HIGH left out)", sev)
	}
}
