package sweep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	collectionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/collection/v1"
	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	sweepv1 "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
)

// Activity names, stable across versions.
const (
	DiscoverAccountsActivity = "DiscoverAccounts"
	DescribeAccountActivity  = "DescribeAccount"
	ScanActivity             = "Scan"
	FinishSweepActivity      = "FinishSweep"
)

// Non-retryable application error types: permanent failures a retry cannot fix.
const (
	ErrInvalidSpec      = "InvalidSpec"
	ErrPermissionDenied = "PermissionDenied"
)

// recordBatch is how many findings one RecordFindings call carries.
const recordBatch = 2000

// Activities are the sweep's activities: thin gRPC clients of the
// collection, evaluation and reporting services. Their results are
// identifiers and counts; collected data flows service to service through
// the worker's memory and never reaches Temporal.
type Activities struct {
	Collection collectionv1.CollectionServiceClient
	Evaluation evaluationv1.EvaluationServiceClient
	Reporting  reportingv1.ReportingServiceClient
	// ReportDir, when set, is where FinishSweep writes reports (a path on
	// the reporting server); empty means the server's report directory.
	ReportDir string

	mu sync.Mutex
	// orgs caches, per sweep, the organization's account IDs that
	// evaluation needs (sharing outside the organization); loaded once per
	// worker process, so histories never carry the list.
	orgs map[string][]string
}

// heartbeat records an activity's progress, except during the first
// quarter of its heartbeat timeout. Each heartbeat the Temporal server
// receives is an update of the workflow's state in its database, about as
// costly as the activity's completion, and the SDK sends the first one at
// once; most scans end within seconds, before a heartbeat could tell
// anything, and skipping theirs took about a tenth off the server's CPU time
// in bench/sweep. A longer activity heartbeats well within its timeout (the
// SDK batches heartbeats further), so a lost worker is still noticed; an
// activity learns that it was cancelled at a heartbeat, so a short one now
// runs to its end.
func heartbeat(ctx context.Context, details any) {
	info := activity.GetInfo(ctx)
	if info.HeartbeatTimeout > 0 && time.Since(info.StartedTime) < info.HeartbeatTimeout/4 {
		return
	}
	activity.RecordHeartbeat(ctx, details)
}

// target is how the collection service reaches an account: through the
// spec's role, except the management account itself, which the worker's
// own credentials reach (the role is usually not deployed there).
func (a *Activities) target(sweepID, account, mgmt string, spec *sweepv1.SweepSpec) *collectionv1.Target {
	role := roleName(spec)
	if account == mgmt {
		role = ""
	}
	return &collectionv1.Target{AccountId: account, RoleName: role, ExternalId: spec.GetExternalId(),
		SessionName: "dpsweep-" + sessionSafe(sweepID), UseFipsEndpoint: spec.GetUseFipsEndpoints(),
		RequestsPerSecond: spec.GetApiRequestsPerSecond()}
}

// sessionSafe keeps a role session name within sts:AssumeRole's 64 characters.
func sessionSafe(s string) string {
	if len(s) > 55 {
		return s[:55]
	}
	return s
}

// grpcError turns a service's failure into an activity error: invalid
// arguments and permission errors are not retried; the rest are.
func grpcError(op string, err error) error {
	if err == nil {
		return nil
	}
	st, _ := status.FromError(err)
	msg := fmt.Sprintf("%s: %s: %s", op, st.Code(), st.Message())
	switch st.Code() {
	case codes.InvalidArgument, codes.FailedPrecondition, codes.NotFound:
		return temporal.NewNonRetryableApplicationError(msg, ErrInvalidSpec, nil)
	case codes.PermissionDenied, codes.Unauthenticated:
		return temporal.NewNonRetryableApplicationError(msg, ErrPermissionDenied, nil)
	case codes.Canceled:
		return temporal.NewCanceledError(msg)
	}
	return temporal.NewApplicationError(msg, st.Code().String())
}

// orgAccount is one account of the organization as discovery sees it.
type orgAccount struct {
	id, status string
	parents    []string
	tags       map[string]string
}

// organization reads the organization's accounts through the
// organizations.accounts collector of the management account, with their
// tags only when asked: tags cost a call per account at the management
// account's API budget (100 s for 1,000 accounts at the default 10/s, before
// any account could be scanned), the rest a few calls per OU.
func (a *Activities) organization(ctx context.Context, sweepID, mgmt string, spec *sweepv1.SweepSpec, tags bool) ([]orgAccount, error) {
	stream, err := a.Collection.CollectInventory(ctx, &collectionv1.CollectInventoryRequest{Target: a.target(sweepID, mgmt, mgmt, spec),
		Scope: collectionv1.Scope_SCOPE_GLOBAL, Collectors: []string{"organizations.accounts"}, OmitAccountTags: !tags})
	if err != nil {
		return nil, grpcError("CollectInventory", err)
	}
	var out []orgAccount
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, grpcError("CollectInventory", err)
		}
		if len(m.GetErrors()) > 0 {
			e := m.GetErrors()[0]
			msg := fmt.Sprintf("discover accounts in %s: %s %s (%s)", mgmt, e.GetAction(), e.GetErrorCode(), e.GetReason())
			if e.GetReason() == collectionv1.ErrorReason_ERROR_REASON_ACCESS_DENIED || e.GetReason() == collectionv1.ErrorReason_ERROR_REASON_ASSUME_ROLE_FAILED {
				return nil, temporal.NewNonRetryableApplicationError(msg, ErrPermissionDenied, nil)
			}
			return nil, temporal.NewApplicationError(msg, e.GetReason().String())
		}
		for _, r := range m.GetResources() {
			f := r.GetAttributes().GetFields()
			acct := orgAccount{id: f["account_id"].GetStringValue(), status: f["status"].GetStringValue(), tags: map[string]string{}}
			for _, p := range f["parent_path"].GetListValue().GetValues() {
				acct.parents = append(acct.parents, p.GetStringValue())
			}
			for k, v := range f["tags"].GetStructValue().GetFields() {
				acct.tags[k] = v.GetStringValue()
			}
			out = append(out, acct)
		}
		heartbeat(ctx, len(out))
	}
	return out, nil
}

// DiscoverAccounts lists the organization's active accounts that the spec
// selects, sorted.
func (a *Activities) DiscoverAccounts(ctx context.Context, in DiscoverInput) (*DiscoverResult, error) {
	mgmt := in.ManagementAccount
	if mgmt == "" {
		return nil, temporal.NewNonRetryableApplicationError("the organization's management account is required to discover its accounts", ErrInvalidSpec, nil)
	}
	tags := len(in.Spec.GetIncludeTags()) > 0 || len(in.Spec.GetExcludeTags()) > 0
	org, err := a.organization(ctx, in.SweepID, mgmt, in.Spec, tags)
	if err != nil {
		return nil, err
	}
	res := &DiscoverResult{ManagementAccount: mgmt}
	var all []string
	for _, acct := range org {
		if acct.status != "" && acct.status != "ACTIVE" {
			continue
		}
		res.Organization++
		all = append(all, acct.id)
		if selects(in.Spec, acct) {
			res.Accounts = append(res.Accounts, acct.id)
		}
	}
	slices.Sort(res.Accounts)
	slices.Sort(all)
	a.mu.Lock()
	if a.orgs == nil {
		a.orgs = map[string][]string{}
	}
	a.orgs[in.SweepID] = all
	a.mu.Unlock()
	return res, nil
}

// selects reports whether the spec's includes and excludes keep an account.
func selects(spec *sweepv1.SweepSpec, acct orgAccount) bool {
	if ids := spec.GetIncludeAccountIds(); len(ids) > 0 && !slices.Contains(ids, acct.id) {
		return false
	}
	if slices.Contains(spec.GetExcludeAccountIds(), acct.id) {
		return false
	}
	under := func(ous []string) bool {
		for _, ou := range ous {
			if slices.Contains(acct.parents, ou) {
				return true
			}
		}
		return false
	}
	if ous := spec.GetIncludeOuIds(); len(ous) > 0 && !under(ous) {
		return false
	}
	if under(spec.GetExcludeOuIds()) {
		return false
	}
	has := func(t *sweepv1.Tag) bool {
		v, ok := acct.tags[t.GetKey()]
		return ok && (t.GetValue() == "" || t.GetValue() == v)
	}
	for _, t := range spec.GetIncludeTags() {
		if !has(t) {
			return false
		}
	}
	for _, t := range spec.GetExcludeTags() {
		if has(t) {
			return false
		}
	}
	return true
}

// orgAccounts returns the organization's account IDs for a sweep, reading
// them again when this worker has not seen the sweep's discovery.
func (a *Activities) orgAccounts(ctx context.Context, sweepID, mgmt string, spec *sweepv1.SweepSpec) ([]string, error) {
	a.mu.Lock()
	ids, ok := a.orgs[sweepID]
	a.mu.Unlock()
	if ok {
		return ids, nil
	}
	if mgmt == "" {
		return nil, nil
	}
	org, err := a.organization(ctx, sweepID, mgmt, spec, false)
	if err != nil {
		return nil, err
	}
	for _, acct := range org {
		if acct.status == "" || acct.status == "ACTIVE" {
			ids = append(ids, acct.id)
		}
	}
	slices.Sort(ids)
	a.mu.Lock()
	if a.orgs == nil {
		a.orgs = map[string][]string{}
	}
	a.orgs[sweepID] = ids
	a.mu.Unlock()
	return ids, nil
}

// DescribeAccount returns the enabled regions of an account that the spec
// asks for. A role dpsweep cannot assume is not an error: the account is
// then scanned for its global scope only, which records every control as
// NOT_ASSESSED.
func (a *Activities) DescribeAccount(ctx context.Context, in DescribeInput) (*DescribeResult, error) {
	d, err := a.Collection.DescribeTarget(ctx, &collectionv1.DescribeTargetRequest{Target: a.target(in.SweepID, in.Account, in.ManagementAccount, in.Spec)})
	if status.Code(err) == codes.PermissionDenied {
		return &DescribeResult{AssumeRoleFailed: true}, nil
	}
	if err != nil {
		return nil, grpcError("DescribeTarget", err)
	}
	want := in.Spec.GetRegions()
	res := &DescribeResult{}
	for _, r := range d.GetRegions() {
		if r.GetStatus() != collectionv1.RegionStatus_REGION_STATUS_ENABLED && r.GetStatus() != collectionv1.RegionStatus_REGION_STATUS_ENABLED_BY_DEFAULT {
			continue
		}
		if len(want) > 0 && !slices.Contains(want, r.GetName()) {
			continue
		}
		res.Regions = append(res.Regions, r.GetName())
	}
	slices.Sort(res.Regions)
	return res, nil
}

// Scan collects one scope of one account, pipes the inventory through the
// evaluation service chunk by chunk, and records the findings with the
// scope as assessed. It heartbeats per chunk; a retry records nothing twice
// (RecordFindings is idempotent).
func (a *Activities) Scan(ctx context.Context, in ScanInput) (*ScanResult, error) {
	org, err := a.orgAccounts(ctx, in.SweepID, in.ManagementAccount, in.Spec)
	if err != nil {
		return nil, err
	}
	scope, region := collectionv1.Scope_SCOPE_REGIONAL, in.Region
	if region == GlobalRegion {
		scope, region = collectionv1.Scope_SCOPE_GLOBAL, ""
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	inv, err := a.Collection.CollectInventory(ctx, &collectionv1.CollectInventoryRequest{Target: a.target(in.SweepID, in.Account, in.ManagementAccount, in.Spec),
		Scope: scope, Region: region, LookupEventsWindow: in.Spec.GetLookupEventsWindow()})
	if err != nil {
		return nil, grpcError("CollectInventory", err)
	}
	ev, err := a.Evaluation.Evaluate(ctx)
	if err != nil {
		return nil, grpcError("Evaluate", err)
	}
	ec := &evaluationv1.EvaluationContext{SweepId: in.SweepID, AccountId: in.Account, Region: in.Region, ControlIds: in.Spec.GetControlIds(),
		FipsRequired: in.Spec.GetUseFipsEndpoints(), OrganizationAccountIds: org}
	if err := ev.Send(&evaluationv1.EvaluateRequest{Payload: &evaluationv1.EvaluateRequest_Context{Context: ec}}); err != nil {
		return nil, a.evalError(ev, err)
	}
	res := &ScanResult{Counts: &reportingv1.SweepCounts{}}
	// Findings come back while the inventory still goes in: read them
	// concurrently so neither stream waits on the other.
	type recvd struct {
		findings []*evaluationv1.Finding
		summary  *evaluationv1.EvaluationSummary
		err      error
	}
	out := make(chan recvd, 4)
	go func() {
		defer close(out)
		for {
			m, err := ev.Recv()
			r := recvd{err: grpcError("Evaluate", err)}
			switch {
			case errors.Is(err, io.EOF):
				r.err = errors.New("Evaluate: the stream ended without a summary")
			case err == nil:
				r = recvd{findings: m.GetFindings(), summary: m.GetSummary()}
			}
			select {
			case out <- r:
			case <-ctx.Done():
				return
			}
			if r.err != nil || r.summary != nil {
				return
			}
		}
	}()
	type sent struct {
		resources, errors, apiCalls int64
		err                         error
	}
	sendDone := make(chan sent, 1)
	go func() {
		var s sent
		s.err = func() error {
			for {
				m, err := inv.Recv()
				if errors.Is(err, io.EOF) {
					return ev.CloseSend()
				}
				if err != nil {
					return grpcError("CollectInventory", err)
				}
				s.resources += int64(len(m.GetResources()))
				s.errors += int64(len(m.GetErrors()))
				if sum := m.GetSummary(); sum != nil {
					s.apiCalls = sum.GetApiCalls()
				}
				if err := ev.Send(&evaluationv1.EvaluateRequest{Payload: &evaluationv1.EvaluateRequest_Inventory{Inventory: m}}); err != nil {
					return nil // the server ended the stream; Recv has its status
				}
				heartbeat(ctx, s.resources)
			}
		}()
		sendDone <- s
	}()
	var pending []*evaluationv1.Finding
	flush := func(final bool) error {
		for len(pending) >= recordBatch || (final && len(pending) > 0) {
			n := min(len(pending), recordBatch)
			req := &reportingv1.RecordFindingsRequest{SweepId: in.SweepID, Findings: pending[:n]}
			if final && n == len(pending) {
				req.Assessed = []*reportingv1.AssessedScope{{AccountId: in.Account, Region: in.Region}}
			}
			if _, err := a.Reporting.RecordFindings(ctx, req); err != nil {
				return grpcError("RecordFindings", err)
			}
			pending = pending[n:]
			heartbeat(ctx, res.Findings)
		}
		return nil
	}
	for r := range out {
		if r.err != nil {
			return nil, r.err
		}
		for _, f := range r.findings {
			// The global scan sees resources of every region (S3 buckets):
			// a sweep of some regions keeps only theirs.
			if want := in.Spec.GetRegions(); len(want) > 0 && f.GetRegion() != GlobalRegion && f.GetRegion() != in.Region && !slices.Contains(want, f.GetRegion()) {
				continue
			}
			countFinding(res.Counts, f)
			res.Findings++
			pending = append(pending, f)
		}
		if err := flush(false); err != nil {
			return nil, err
		}
		if r.summary != nil {
			s := <-sendDone
			if s.err != nil {
				return nil, s.err
			}
			res.Resources, res.Errors, res.APICalls = s.resources, s.errors, s.apiCalls
			if len(pending) == 0 {
				// A scope without findings is still assessed.
				if _, err := a.Reporting.RecordFindings(ctx, &reportingv1.RecordFindingsRequest{SweepId: in.SweepID,
					Assessed: []*reportingv1.AssessedScope{{AccountId: in.Account, Region: in.Region}}}); err != nil {
					return nil, grpcError("RecordFindings", err)
				}
				return res, nil
			}
			if err := flush(true); err != nil {
				return nil, err
			}
			return res, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nil, errors.New("Evaluate: the stream ended early")
}

func (a *Activities) evalError(ev evaluationv1.EvaluationService_EvaluateClient, err error) error {
	if _, rerr := ev.Recv(); rerr != nil && !errors.Is(rerr, io.EOF) {
		return grpcError("Evaluate", rerr)
	}
	return grpcError("Evaluate", err)
}

// FinishSweep finalizes the sweep in the findings store with its state and
// writes its reports, one file per format, named after the sweep.
func (a *Activities) FinishSweep(ctx context.Context, in FinishInput) (*FinishResult, error) {
	fin, err := a.Reporting.FinalizeSweep(ctx, &reportingv1.FinalizeSweepRequest{SweepId: in.SweepID, State: in.State})
	switch {
	case status.Code(err) == codes.NotFound:
		// Nothing was recorded (an empty selection, or cancelled at once):
		// record the sweep so that it has a report, then finalize.
		if _, err := a.Reporting.RecordFindings(ctx, &reportingv1.RecordFindingsRequest{SweepId: in.SweepID}); err != nil {
			return nil, grpcError("RecordFindings", err)
		}
		if fin, err = a.Reporting.FinalizeSweep(ctx, &reportingv1.FinalizeSweepRequest{SweepId: in.SweepID, State: in.State}); err != nil {
			return nil, grpcError("FinalizeSweep", err)
		}
	case status.Code(err) == codes.FailedPrecondition:
		// Finalized by an earlier attempt of this activity.
		got, gerr := a.Reporting.GetSweep(ctx, &reportingv1.GetSweepRequest{SweepId: in.SweepID})
		if gerr != nil {
			return nil, grpcError("GetSweep", gerr)
		}
		fin = &reportingv1.FinalizeSweepResponse{Sweep: got.GetSweep()}
	case err != nil:
		return nil, grpcError("FinalizeSweep", err)
	}
	res := &FinishResult{Counts: fin.GetSweep().GetCounts()}
	formats := in.Formats
	if len(formats) == 0 {
		formats = []reportingv1.ReportFormat{reportingv1.ReportFormat_REPORT_FORMAT_HTML}
	}
	for _, f := range formats {
		if f == reportingv1.ReportFormat_REPORT_FORMAT_ASFF {
			continue // ASFF goes to Security Hub, which a sweep does not write to unasked
		}
		path := in.SweepID + "/" + in.SweepID + extension(f)
		if a.ReportDir != "" {
			path = a.ReportDir + "/" + path
		}
		out, err := a.Reporting.ExportReport(ctx, &reportingv1.ExportReportRequest{SweepId: in.SweepID, Format: f,
			Destination: &reportingv1.Destination{Kind: &reportingv1.Destination_File{File: &reportingv1.LocalFile{Path: path}}},
			Filter:      &reportingv1.FindingFilter{IncludeSuppressed: true}})
		if err != nil {
			return nil, grpcError("ExportReport", err)
		}
		res.ReportURIs = append(res.ReportURIs, out.GetUri())
		heartbeat(ctx, len(res.ReportURIs))
	}
	return res, nil
}

func extension(f reportingv1.ReportFormat) string {
	switch f {
	case reportingv1.ReportFormat_REPORT_FORMAT_JSON:
		return ".jsonl"
	case reportingv1.ReportFormat_REPORT_FORMAT_CSV:
		return ".csv"
	case reportingv1.ReportFormat_REPORT_FORMAT_SARIF:
		return ".sarif"
	case reportingv1.ReportFormat_REPORT_FORMAT_OCSF:
		return ".ocsf.jsonl"
	case reportingv1.ReportFormat_REPORT_FORMAT_HTML:
		return ".html"
	}
	return ".out"
}
