package sweep

import (
	"errors"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"

	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	sweepv1 "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
)

// Search attribute keys.
var (
	saSweepID   = temporal.NewSearchAttributeKeyKeyword(SearchAttrSweepID)
	saAccountID = temporal.NewSearchAttributeKeyKeyword(SearchAttrAccountID)
	saStatus    = temporal.NewSearchAttributeKeyKeyword(SearchAttrStatus)
)

// Activity options. Scans heartbeat per inventory chunk once they have run
// for a quarter of their heartbeat timeout (see heartbeat); a scan of one
// large region takes minutes, so its timeout is generous and its heartbeat
// timeout short. Permanent failures are non-retryable error types.
var (
	discoverOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute, HeartbeatTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 5,
			NonRetryableErrorTypes: []string{ErrInvalidSpec, ErrPermissionDenied}},
	}
	describeOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, MaximumAttempts: 5,
			NonRetryableErrorTypes: []string{ErrInvalidSpec, ErrPermissionDenied}},
	}
	scanOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute, HeartbeatTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 2 * time.Minute, MaximumAttempts: 4,
			NonRetryableErrorTypes: []string{ErrInvalidSpec, ErrPermissionDenied}},
	}
	finishOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute, HeartbeatTimeout: 5 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 10,
			NonRetryableErrorTypes: []string{ErrInvalidSpec}},
	}
)

// maxConcurrent is the spec's account concurrency, defaulted and capped.
func maxConcurrent(spec *sweepv1.SweepSpec) int {
	n := int(spec.GetMaxConcurrentAccounts())
	switch {
	case n <= 0:
		return DefaultMaxConcurrentAccounts
	case n > MaxConcurrentAccounts:
		return MaxConcurrentAccounts
	}
	return n
}

// accountsPerRun1000 is the workflow.GetVersion change ID under which a
// run's default share of accounts became DefaultAccountsPerRun (from 500).
const accountsPerRun1000 = "accounts-per-run-1000"

// SweepWorkflow sweeps an organization: it discovers the accounts the spec
// selects, runs one AccountSweep child per account with at most
// max_concurrent_accounts running, and finalizes the sweep in the findings
// store with its reports. Each run completes at most AccountsPerRun
// accounts, then continues as new with the rest, so no history grows large
// however big the organization. Cancelling it cancels the children, then
// finalizes the sweep CANCELLED with a partial report of what was recorded.
// The "progress" query returns a *sweepv1.SweepProgress.
func SweepWorkflow(ctx workflow.Context, in SweepInput) (*SweepResult, error) {
	if in.SweepID == "" {
		// A schedule starts sweeps with workflow ID "sweep/<schedule>-<time>".
		in.SweepID = SweepIDFromWorkflowID(workflow.GetInfo(ctx).WorkflowExecution.ID)
	}
	if in.Spec == nil {
		in.Spec = &sweepv1.SweepSpec{}
	}
	log := workflow.GetLogger(ctx)
	carry := in.Carry
	if carry == nil {
		carry = &Carry{Progress: &sweepv1.SweepProgress{Counts: &reportingv1.SweepCounts{}}}
	}
	progress := carry.Progress
	if progress.Counts == nil {
		progress.Counts = &reportingv1.SweepCounts{}
	}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (*sweepv1.SweepProgress, error) { return progress, nil }); err != nil {
		return nil, err
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, saSweepID.ValueSet(in.SweepID), saStatus.ValueSet(sweepv1.SweepState_SWEEP_STATE_RUNNING.String()))

	if in.Carry == nil {
		actx := workflow.WithActivityOptions(ctx, discoverOptions)
		var found DiscoverResult
		err := workflow.ExecuteActivity(actx, DiscoverAccountsActivity, DiscoverInput{SweepID: in.SweepID, ManagementAccount: in.ManagementAccount, Spec: in.Spec}).Get(ctx, &found)
		if err != nil {
			if temporal.IsCanceledError(err) {
				return finish(ctx, in, progress, sweepv1.SweepState_SWEEP_STATE_CANCELLED, err)
			}
			log.Error("account discovery failed", "sweep_id", in.SweepID, "error", err)
			return finish(ctx, in, progress, sweepv1.SweepState_SWEEP_STATE_FAILED, err)
		}
		in.ManagementAccount = found.ManagementAccount
		carry.Remaining = found.Accounts
		progress.AccountsTotal = int64(len(found.Accounts))
		log.Info("accounts discovered", "sweep_id", in.SweepID, "selected", len(found.Accounts), "organization", found.Organization)
	}

	perRun := in.AccountsPerRun
	if perRun <= 0 {
		perRun = legacyAccountsPerRun
		if workflow.GetVersion(ctx, accountsPerRun1000, workflow.DefaultVersion, 1) == 1 {
			perRun = DefaultAccountsPerRun
		}
	}
	window := maxConcurrent(in.Spec)
	remaining := carry.Remaining
	started := 0
	running := 0
	sel := workflow.NewSelector(ctx)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowExecutionTimeout: 24 * time.Hour,
		ParentClosePolicy:        enums.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
		WaitForCancellation:      true,
		// Children of a continued run keep their IDs unique per sweep.
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
	})
	startChild := func(account string) {
		opts := workflow.GetChildWorkflowOptions(cctx)
		opts.WorkflowID = AccountSweepWorkflowID(in.SweepID, account)
		opts.TypedSearchAttributes = temporal.NewSearchAttributes(saSweepID.ValueSet(in.SweepID), saAccountID.ValueSet(account),
			saStatus.ValueSet(sweepv1.SweepState_SWEEP_STATE_RUNNING.String()))
		f := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(cctx, opts), AccountSweepWorkflowName,
			AccountInput{SweepID: in.SweepID, Account: account, ManagementAccount: in.ManagementAccount, Spec: in.Spec})
		running++
		started++
		sel.AddFuture(f, func(f workflow.Future) {
			running--
			var r AccountResult
			err := f.Get(ctx, &r)
			progress.AccountsDone++
			if err != nil {
				progress.AccountsFailed++
				progress.Errors++
				if !temporal.IsCanceledError(err) {
					log.Warn("account sweep failed", "sweep_id", in.SweepID, "account_id", account, "error", err)
				}
				return
			}
			if r.AssumeRoleFailed || r.RegionsFailed > 0 {
				progress.AccountsFailed++
			}
			progress.RegionsDone += r.RegionsDone
			progress.Errors += r.Errors + r.RegionsFailed
			addCounts(progress.Counts, r.Counts)
		})
	}
	for len(remaining) > 0 || running > 0 {
		for running < window && len(remaining) > 0 && started < perRun && ctx.Err() == nil {
			startChild(remaining[0])
			remaining = remaining[1:]
		}
		if running == 0 {
			break // the run's share is done (or it was cancelled before starting more)
		}
		sel.Select(ctx)
		if ctx.Err() != nil {
			// Cancelled: the children were asked to cancel with us; wait
			// for them so that what they recorded is in the partial report.
			dctx, _ := workflow.NewDisconnectedContext(ctx)
			for running > 0 {
				sel.Select(dctx)
			}
			return finish(ctx, in, progress, sweepv1.SweepState_SWEEP_STATE_CANCELLED, ctx.Err())
		}
	}
	if len(remaining) > 0 {
		log.Info("continuing as new", "sweep_id", in.SweepID, "remaining", len(remaining), "run", carry.Runs+1)
		next := in
		next.Carry = &Carry{Remaining: remaining, Progress: progress, Runs: carry.Runs + 1}
		return nil, workflow.NewContinueAsNewError(ctx, SweepWorkflowName, next)
	}
	return finish(ctx, in, progress, sweepv1.SweepState_SWEEP_STATE_COMPLETED, nil)
}

// finish finalizes the sweep in the findings store and writes its reports,
// also when the sweep was cancelled or failed (a partial report).
func finish(ctx workflow.Context, in SweepInput, progress *sweepv1.SweepProgress, state sweepv1.SweepState, cause error) (*SweepResult, error) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	dctx = workflow.WithActivityOptions(dctx, finishOptions)
	store := map[sweepv1.SweepState]reportingv1.SweepState{
		sweepv1.SweepState_SWEEP_STATE_COMPLETED: reportingv1.SweepState_SWEEP_STATE_COMPLETED,
		sweepv1.SweepState_SWEEP_STATE_CANCELLED: reportingv1.SweepState_SWEEP_STATE_CANCELLED,
		sweepv1.SweepState_SWEEP_STATE_FAILED:    reportingv1.SweepState_SWEEP_STATE_FAILED,
	}[state]
	var fin FinishResult
	err := workflow.ExecuteActivity(dctx, FinishSweepActivity, FinishInput{SweepID: in.SweepID, State: store, Formats: in.Spec.GetReportFormats()}).Get(dctx, &fin)
	_ = workflow.UpsertTypedSearchAttributes(dctx, saStatus.ValueSet(state.String()))
	res := &SweepResult{State: state, Progress: progress, ReportURIs: fin.ReportURIs}
	if fin.Counts != nil {
		// The store's counts are exact across retries and continue-as-new.
		res.Progress = proto.CloneOf(progress)
		res.Progress.Counts = fin.Counts
	}
	if err != nil {
		workflow.GetLogger(ctx).Error("finalizing the sweep failed", "sweep_id", in.SweepID, "error", err)
		if cause == nil {
			cause = err
		}
	}
	switch {
	case cause == nil:
		return res, nil
	case state == sweepv1.SweepState_SWEEP_STATE_CANCELLED:
		return res, temporal.NewCanceledError(res)
	}
	return res, errors.Join(cause)
}
