package sweep

import (
	"slices"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	sweepv1 "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
)

// What workflows and activities pass each other. Everything here lands in
// Temporal's history, so it holds identifiers, settings and counts only:
// never collected data, free-form text or evidence.

// Defaults of a SweepSpec's zero values.
const (
	DefaultRoleName              = "dpsweep-readonly"
	DefaultMaxConcurrentAccounts = 50
	// MaxConcurrentAccounts stays well under Temporal's limit of 2,000
	// pending children per workflow.
	MaxConcurrentAccounts = 1000
	// DefaultAccountsPerRun is how many accounts one run of SweepWorkflow
	// completes before it continues as new: about 5 events each, so a run's
	// history stays near 5,100 events, half Temporal's 10,240-event warning
	// (bench/sweep measures it). A run drains its window before it
	// continues, so fewer, longer runs leave fewer idle gaps in a sweep.
	DefaultAccountsPerRun = 1000
	// legacyAccountsPerRun is the default of sweeps started before
	// DefaultAccountsPerRun was raised (workflow.GetVersion change
	// accountsPerRun1000).
	legacyAccountsPerRun = 500
	// GlobalRegion names the scan of an account's global services.
	GlobalRegion = "global"
)

// Search attributes the workflows set, for listing and filtering sweeps in
// the Temporal UI. They are stored in plain text even with a payload codec,
// so they hold identifiers and states only.
const (
	SearchAttrSweepID   = "DpsweepSweepId"
	SearchAttrAccountID = "DpsweepAccountId"
	SearchAttrStatus    = "DpsweepStatus"
)

// SearchAttributeTypes are the search attributes a namespace needs, by name.
var SearchAttributeTypes = map[string]string{
	SearchAttrSweepID:   "Keyword",
	SearchAttrAccountID: "Keyword",
	SearchAttrStatus:    "Keyword",
}

// ProgressQuery is the query that returns a sweep's *sweepv1.SweepProgress.
const ProgressQuery = "progress"

// SweepInput starts (or continues) a SweepWorkflow.
type SweepInput struct {
	SweepID string
	Spec    *sweepv1.SweepSpec
	// ManagementAccount is the organization's management account, where
	// accounts are discovered; empty means the account of the worker's
	// credentials.
	ManagementAccount string
	// AccountsPerRun bounds the accounts one run completes before it
	// continues as new; 0 means DefaultAccountsPerRun.
	AccountsPerRun int
	// Carry is set by continue-as-new.
	Carry *Carry
}

// Carry is what one run of SweepWorkflow hands the next.
type Carry struct {
	// Accounts still to scan, in order.
	Remaining []string
	Progress  *sweepv1.SweepProgress
	Runs      int
}

// SweepResult is how a sweep ended.
type SweepResult struct {
	State      sweepv1.SweepState
	Progress   *sweepv1.SweepProgress
	ReportURIs []string
}

// AccountInput starts an AccountSweep.
type AccountInput struct {
	SweepID, Account, ManagementAccount string
	Spec                                *sweepv1.SweepSpec
}

// AccountResult is what one AccountSweep did.
type AccountResult struct {
	Account string
	// RegionsDone counts scans that completed (the global one included);
	// RegionsFailed those that did not.
	RegionsDone, RegionsFailed int64
	// AssumeRoleFailed is set when dpsweep could not get into the account:
	// every control is then NOT_ASSESSED for it.
	AssumeRoleFailed bool
	Counts           *reportingv1.SweepCounts
	Errors           int64
	APICalls         int64
}

// DiscoverInput asks for the accounts a spec selects.
type DiscoverInput struct {
	SweepID           string
	ManagementAccount string
	Spec              *sweepv1.SweepSpec
}

// DiscoverResult lists the selected accounts.
type DiscoverResult struct {
	ManagementAccount string
	Accounts          []string
	// Organization counts every active account of the organization.
	Organization int
}

// DescribeInput asks which regions of an account a sweep scans.
type DescribeInput struct {
	SweepID, Account, ManagementAccount string
	Spec                                *sweepv1.SweepSpec
}

// DescribeResult lists them; AssumeRoleFailed means dpsweep could not get in.
type DescribeResult struct {
	Regions          []string
	AssumeRoleFailed bool
}

// ScanInput is one scope of one account: a region, or GlobalRegion.
type ScanInput struct {
	SweepID, Account, Region, ManagementAccount string
	Spec                                        *sweepv1.SweepSpec
}

// ScanResult counts what a scan recorded.
type ScanResult struct {
	Resources, Errors, APICalls, Findings int64
	Counts                                *reportingv1.SweepCounts
}

// FinishInput finalizes a sweep in the findings store and writes its reports.
type FinishInput struct {
	SweepID string
	State   reportingv1.SweepState
	Formats []reportingv1.ReportFormat
}

// FinishResult says where the reports went.
type FinishResult struct {
	ReportURIs []string
	Counts     *reportingv1.SweepCounts
}

// roleName is the spec's role, or the default.
func roleName(s *sweepv1.SweepSpec) string {
	if r := s.GetRoleName(); r != "" {
		return r
	}
	return DefaultRoleName
}

// addCounts adds b into a (a must not be nil).
func addCounts(a, b *reportingv1.SweepCounts) {
	if b == nil {
		return
	}
	a.Findings += b.GetFindings()
	a.Pass += b.GetPass()
	a.Fail += b.GetFail()
	a.NotAssessed += b.GetNotAssessed()
	a.Suppressed += b.GetSuppressed()
	for _, sc := range b.GetFailBySeverity() {
		i := slices.IndexFunc(a.FailBySeverity, func(x *reportingv1.SeverityCount) bool { return x.GetSeverity() == sc.GetSeverity() })
		if i < 0 {
			a.FailBySeverity = append(a.FailBySeverity, &reportingv1.SeverityCount{Severity: sc.GetSeverity(), Count: sc.GetCount()})
		} else {
			a.FailBySeverity[i].Count += sc.GetCount()
		}
	}
	slices.SortFunc(a.FailBySeverity, func(x, y *reportingv1.SeverityCount) int { return int(y.GetSeverity()) - int(x.GetSeverity()) })
}

// countFinding adds one finding to c, as the findings store counts: a
// suppressed finding keeps its status and is counted as suppressed too;
// fail_by_severity counts unsuppressed failures.
func countFinding(c *reportingv1.SweepCounts, f *evaluationv1.Finding) {
	c.Findings++
	if f.GetSuppressed() {
		c.Suppressed++
	}
	switch f.GetStatus() {
	case evaluationv1.FindingStatus_FINDING_STATUS_PASS:
		c.Pass++
	case evaluationv1.FindingStatus_FINDING_STATUS_FAIL:
		c.Fail++
		if f.GetSuppressed() {
			break
		}
		addCounts(c, &reportingv1.SweepCounts{FailBySeverity: []*reportingv1.SeverityCount{{Severity: f.GetSeverity(), Count: 1}}})
	case evaluationv1.FindingStatus_FINDING_STATUS_NOT_ASSESSED:
		c.NotAssessed++
	}
}
