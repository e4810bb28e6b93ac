package sweep

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	sweepv1 "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
)

// globalScanWithDescribe is the workflow.GetVersion change ID under which
// AccountSweep starts the global scan together with DescribeAccount.
const globalScanWithDescribe = "global-scan-with-describe"

// AccountSweep scans one account: it runs the Scan activity of the global
// services while it asks which regions are enabled (which also assumes the
// role), then one Scan per region, all at once; the collection service's
// per-account rate limit keeps them within the account's API budget, so
// one throttled account never slows another. A role dpsweep cannot assume
// leaves only the global scan, which records every control NOT_ASSESSED.
// A scan that fails after its retries is counted, and the account's other
// scans still complete; the sweep goes on.
func AccountSweep(ctx workflow.Context, in AccountInput) (*AccountResult, error) {
	if in.Spec == nil {
		in.Spec = &sweepv1.SweepSpec{}
	}
	log := workflow.GetLogger(ctx)
	res := &AccountResult{Account: in.Account, Counts: &reportingv1.SweepCounts{}}
	sctx := workflow.WithActivityOptions(ctx, scanOptions)
	scan := func(region string) workflow.Future {
		return workflow.ExecuteActivity(sctx, ScanActivity, ScanInput{SweepID: in.SweepID, Account: in.Account, Region: region,
			ManagementAccount: in.ManagementAccount, Spec: in.Spec})
	}
	// The global scan needs nothing DescribeAccount finds, so it starts
	// with it and uses the account's API budget while the regions are
	// looked up (sweeps started before this change scan it after).
	var global workflow.Future
	if workflow.GetVersion(ctx, globalScanWithDescribe, workflow.DefaultVersion, 1) == 1 {
		global = scan(GlobalRegion)
	}
	var d DescribeResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, describeOptions), DescribeAccountActivity,
		DescribeInput{SweepID: in.SweepID, Account: in.Account, ManagementAccount: in.ManagementAccount, Spec: in.Spec}).Get(ctx, &d)
	if err != nil {
		if temporal.IsCanceledError(err) {
			return res, err
		}
		// The regions are unknown; the global scan records what it can.
		log.Warn("describe account failed", "sweep_id", in.SweepID, "account_id", in.Account, "error", err)
		res.RegionsFailed++
	}
	res.AssumeRoleFailed = d.AssumeRoleFailed
	scopes := append([]string{GlobalRegion}, d.Regions...)
	futures := make([]workflow.Future, len(scopes))
	for i, region := range scopes {
		if i == 0 && global != nil {
			futures[i] = global
			continue
		}
		futures[i] = scan(region)
	}
	var cancelled error
	for i, f := range futures {
		var r ScanResult
		if err := f.Get(ctx, &r); err != nil {
			if temporal.IsCanceledError(err) {
				cancelled = err
				continue
			}
			log.Warn("scan failed", "sweep_id", in.SweepID, "account_id", in.Account, "region", scopes[i], "error", err)
			res.RegionsFailed++
			continue
		}
		res.RegionsDone++
		res.Errors += r.Errors
		res.APICalls += r.APICalls
		addCounts(res.Counts, r.Counts)
	}
	status := sweepv1.SweepState_SWEEP_STATE_COMPLETED
	if cancelled != nil || ctx.Err() != nil {
		status = sweepv1.SweepState_SWEEP_STATE_CANCELLED
	}
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	_ = workflow.UpsertTypedSearchAttributes(dctx, saStatus.ValueSet(status.String()))
	if status == sweepv1.SweepState_SWEEP_STATE_CANCELLED {
		return res, temporal.NewCanceledError(res)
	}
	return res, nil
}
