package sweep

import (
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Register puts the sweep's workflows and activities on a worker.
func Register(w worker.Registry, a *Activities) {
	w.RegisterWorkflowWithOptions(SweepWorkflow, workflow.RegisterOptions{Name: SweepWorkflowName})
	w.RegisterWorkflowWithOptions(AccountSweep, workflow.RegisterOptions{Name: AccountSweepWorkflowName})
	w.RegisterActivityWithOptions(a.DiscoverAccounts, activity.RegisterOptions{Name: DiscoverAccountsActivity})
	w.RegisterActivityWithOptions(a.DescribeAccount, activity.RegisterOptions{Name: DescribeAccountActivity})
	w.RegisterActivityWithOptions(a.Scan, activity.RegisterOptions{Name: ScanActivity})
	w.RegisterActivityWithOptions(a.FinishSweep, activity.RegisterOptions{Name: FinishSweepActivity})
}
