package export

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
)

// SecurityHubResult counts what SendToSecurityHub did.
type SecurityHubResult struct {
	// Imported findings of this sweep that Security Hub accepted, at the
	// first try or the retry.
	Imported int64
	// Retried findings that Security Hub refused once and were sent again.
	Retried int64
	// Failed findings refused twice (or, for archiving, once more after the
	// retry); Failures lists the first hundred.
	Failed   int64
	Failures []SecurityHubFailure
	// Archived earlier dpsweep findings, in the scopes this sweep assessed,
	// that it no longer reports (re-imported with RecordState ARCHIVED).
	Archived int64
	// WorkflowUpdated findings whose Workflow.Status dpsweep changed with
	// BatchUpdateFindings (suppressed, unsuppressed, resolved, reopened);
	// WorkflowFailed those Security Hub did not process.
	WorkflowUpdated, WorkflowFailed int64
	// ImportRequests counts BatchImportFindings calls; none carries more
	// than 100 findings.
	ImportRequests int64
}

// SecurityHubFailure is one finding Security Hub refused.
type SecurityHubFailure struct {
	ID, Code, Message string
}

// maxFailures bounds SecurityHubResult.Failures.
const maxFailures = 100

// accountsPerQuery is how many accounts one GetFindings filter names.
const accountsPerQuery = 10

// securityHubAPI is the part of the Security Hub client the sender uses.
type securityHubAPI interface {
	securityhub.GetFindingsAPIClient
	BatchImportFindings(context.Context, *securityhub.BatchImportFindingsInput, ...func(*securityhub.Options)) (*securityhub.BatchImportFindingsOutput, error)
	BatchUpdateFindings(context.Context, *securityhub.BatchUpdateFindingsInput, ...func(*securityhub.Options)) (*securityhub.BatchUpdateFindingsOutput, error)
}

var _ securityHubAPI = (*securityhub.Client)(nil)

// SendToSecurityHub imports a sweep's findings into Security Hub and
// archives the findings of earlier sweeps that this one no longer reports.
//
// client talks to the aggregator region, the region of productARN; every
// finding goes there, its Region saying where its resource is (a global
// finding says the aggregator region). All findings are imported: PASS,
// FAIL and NOT_ASSESSED, suppressed ones with Workflow.Status SUPPRESSED.
// They go in batches of 100; the findings Security Hub refuses in a batch
// are sent once more, and what fails again is counted, not retried.
//
// Before importing, the sender reads dpsweep's ACTIVE findings (GetFindings
// on ProductArn, GeneratorId prefix "dpsweep/", RecordState ACTIVE and the
// accounts involved). Those in a scope the sweep assessed (in.Assessed,
// matched on account and on the region the finding was made in) that the
// sweep does not report are archived: re-imported with RecordState
// ARCHIVED. Findings of accounts or regions the sweep did not assess are
// never touched, so a partial sweep leaves the rest of the organization
// alone. Security Hub ignores Workflow in imports of a finding it already
// has, so the sender moves an existing finding's workflow with
// BatchUpdateFindings, and only while it is still the status dpsweep set
// (a status a person chose in Security Hub stays).
//
// An error means a request failed (after the SDK's retries); the result
// then counts what was done until then.
func SendToSecurityHub(ctx context.Context, client *securityhub.Client, in *Input, productARN string) (SecurityHubResult, error) {
	if client == nil {
		return SecurityHubResult{}, errors.New("SendToSecurityHub: no Security Hub client")
	}
	region := productARNRegion(productARN)
	if region == "" {
		return SecurityHubResult{}, fmt.Errorf("SendToSecurityHub: %q is not a Security Hub product ARN", productARN)
	}
	if r := client.Options().Region; r != "" && r != region {
		return SecurityHubResult{}, fmt.Errorf("SendToSecurityHub: the client is for %s, the product ARN for %s", r, region)
	}
	return sendToSecurityHub(ctx, client, in, productARN)
}

// shExisting is what the sender keeps of a finding already in Security Hub.
type shExisting struct {
	workflow, dpsweepWorkflow shtypes.WorkflowStatus
	createdAt, firstObserved  *string
	// doc is kept only for findings to archive.
	doc *shtypes.AwsSecurityFinding
}

type shSender struct {
	api        securityHubAPI
	in         *Input
	productARN string
	res        SecurityHubResult
}

func sendToSecurityHub(ctx context.Context, api securityHubAPI, in *Input, productARN string) (SecurityHubResult, error) {
	s := &shSender{api: api, in: in, productARN: productARN}
	err := s.run(ctx)
	return s.res, err
}

func (s *shSender) run(ctx context.Context) error {
	// Pass 1: the IDs this sweep reports and the accounts it involves.
	current := map[string]bool{}
	accounts := map[string]bool{}
	assessed := map[Scope]bool{}
	for _, sc := range s.in.Assessed {
		assessed[sc] = true
		accounts[sc.Account] = true
	}
	err := forEach(ctx, s.in, func(f *evaluationv1.Finding) error {
		current[asffID(f)] = true
		accounts[f.GetAccountId()] = true
		return nil
	})
	if err != nil {
		return err
	}

	existing, err := s.listActive(ctx, accounts, assessed, current)
	if err != nil {
		return err
	}

	// Pass 2: move the workflow of findings Security Hub already has, where
	// dpsweep's wish changed and nobody changed it by hand. Done before the
	// imports so that a finding whose move failed can keep its old wish in
	// ProductFields, and the next sweep tries again.
	moves := map[shtypes.WorkflowStatus][]string{}
	err = forEach(ctx, s.in, func(f *evaluationv1.Finding) error {
		id := asffID(f)
		if e, ok := existing[id]; ok {
			if want := asffWorkflow(f); e.workflow != want && e.workflow == e.dpsweepWorkflow {
				moves[want] = append(moves[want], id)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	unmoved, err := s.moveWorkflows(ctx, moves)
	if err != nil {
		return err
	}

	// Pass 3: import, 100 findings a request.
	var batch []shtypes.AwsSecurityFinding
	flush := func() error {
		ok, err := s.importBatch(ctx, batch)
		s.res.Imported += ok
		batch = batch[:0]
		return err
	}
	err = forEach(ctx, s.in, func(f *evaluationv1.Finding) error {
		a := ToASFF(f, s.in, s.productARN)
		if e, ok := existing[aws.ToString(a.Id)]; ok {
			// Keep when Security Hub first heard of it.
			a.CreatedAt, a.FirstObservedAt = keepOld(e.createdAt, a.CreatedAt), keepOld(e.firstObserved, a.FirstObservedAt)
			if unmoved[aws.ToString(a.Id)] {
				a.ProductFields[pfWorkflow] = string(e.dpsweepWorkflow)
			}
		}
		batch = append(batch, a)
		if len(batch) == ASFFBatchSize {
			return flush()
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = flush()
	}
	if err != nil {
		return err
	}

	// Archive what the assessed scopes no longer report, oldest IDs first.
	var stale []shtypes.AwsSecurityFinding
	ids := make([]string, 0, len(existing))
	for id, e := range existing {
		if e.doc != nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	now := s.in.GeneratedAt
	if now.IsZero() {
		now = time.Now()
	}
	for _, id := range ids {
		doc := *existing[id].doc
		doc.RecordState = shtypes.RecordStateArchived
		doc.UpdatedAt = aws.String(after(aws.ToString(doc.UpdatedAt), now))
		doc.ProcessedAt = nil
		stale = append(stale, doc)
	}
	for chunk := range slices.Chunk(stale, ASFFBatchSize) {
		ok, err := s.importBatch(ctx, chunk)
		s.res.Archived += ok
		if err != nil {
			return err
		}
	}
	return nil
}

// keepOld returns old when set, else cur.
func keepOld(old, cur *string) *string {
	if aws.ToString(old) != "" {
		return old
	}
	return cur
}

// after is t in ASFF form, or a millisecond past old when old is not
// earlier: Security Hub ignores an import older than what it has.
func after(old string, t time.Time) string {
	if o, ok := parseASFFTime(old); ok && !t.After(o) {
		t = o.Add(time.Millisecond)
	}
	return t.UTC().Format(asffTime)
}

// listActive reads dpsweep's ACTIVE findings of the accounts, keeping the
// workflow of every one and the whole document of those to archive: in an
// assessed scope and not reported now.
func (s *shSender) listActive(ctx context.Context, accounts map[string]bool, assessed map[Scope]bool, current map[string]bool) (map[string]*shExisting, error) {
	ids := make([]string, 0, len(accounts))
	for a := range accounts {
		ids = append(ids, a)
	}
	slices.Sort(ids)
	out := map[string]*shExisting{}
	for chunk := range slices.Chunk(ids, accountsPerQuery) {
		filters := &shtypes.AwsSecurityFindingFilters{
			ProductArn:  []shtypes.StringFilter{eqFilter(s.productARN)},
			GeneratorId: []shtypes.StringFilter{{Value: aws.String(GeneratorPrefix), Comparison: shtypes.StringFilterComparisonPrefix}},
			RecordState: []shtypes.StringFilter{eqFilter(string(shtypes.RecordStateActive))},
		}
		for _, a := range chunk {
			filters.AwsAccountId = append(filters.AwsAccountId, eqFilter(a))
		}
		p := securityhub.NewGetFindingsPaginator(s.api, &securityhub.GetFindingsInput{Filters: filters, MaxResults: aws.Int32(100)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("GetFindings: %w", err)
			}
			for i := range page.Findings {
				f := &page.Findings[i]
				id := aws.ToString(f.Id)
				if !strings.HasPrefix(aws.ToString(f.GeneratorId), GeneratorPrefix) || aws.ToString(f.ProductArn) != s.productARN {
					continue // belt and braces: never touch another product's finding
				}
				e := &shExisting{createdAt: f.CreatedAt, firstObserved: f.FirstObservedAt, dpsweepWorkflow: shtypes.WorkflowStatusNew}
				if f.Workflow != nil {
					e.workflow = f.Workflow.Status
				}
				if w := f.ProductFields[pfWorkflow]; w != "" {
					e.dpsweepWorkflow = shtypes.WorkflowStatus(w)
				}
				region := f.ProductFields[pfRegion]
				if region == "" {
					region = aws.ToString(f.Region)
				}
				if !current[id] && assessed[Scope{Account: aws.ToString(f.AwsAccountId), Region: region}] {
					e.doc = f
				}
				out[id] = e
			}
		}
	}
	return out, nil
}

func eqFilter(v string) shtypes.StringFilter {
	return shtypes.StringFilter{Value: aws.String(v), Comparison: shtypes.StringFilterComparisonEquals}
}

// importBatch sends at most 100 findings, and the ones refused once more.
// It returns how many Security Hub accepted.
func (s *shSender) importBatch(ctx context.Context, batch []shtypes.AwsSecurityFinding) (int64, error) {
	failed, err := s.send(ctx, batch)
	if err != nil {
		return 0, err
	}
	ok := int64(len(batch) - len(failed))
	var retry []shtypes.AwsSecurityFinding
	byID := map[string]int{}
	for i, f := range batch {
		byID[aws.ToString(f.Id)] = i
	}
	for _, ff := range failed {
		if i, found := byID[aws.ToString(ff.Id)]; found && ff.Id != nil {
			retry = append(retry, batch[i])
			delete(byID, aws.ToString(ff.Id))
		} else {
			s.fail(ff)
		}
	}
	if len(retry) == 0 {
		return ok, nil
	}
	s.res.Retried += int64(len(retry))
	again, err := s.send(ctx, retry)
	if err != nil {
		return ok, err
	}
	for _, ff := range again {
		s.fail(ff)
	}
	return ok + int64(len(retry)-len(again)), nil
}

// send makes one BatchImportFindings call and returns the refused findings.
func (s *shSender) send(ctx context.Context, batch []shtypes.AwsSecurityFinding) ([]shtypes.ImportFindingsError, error) {
	if len(batch) > ASFFBatchSize {
		return nil, fmt.Errorf("BatchImportFindings: batch of %d findings", len(batch))
	}
	s.res.ImportRequests++
	out, err := s.api.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: batch})
	if err != nil {
		return nil, fmt.Errorf("BatchImportFindings: %w", err)
	}
	failed := out.FailedFindings
	// A count beyond the listed failures names no finding to retry.
	for n := int(aws.ToInt32(out.FailedCount)) - len(failed); n > 0; n-- {
		failed = append(failed, shtypes.ImportFindingsError{ErrorCode: aws.String("Unlisted"), ErrorMessage: aws.String("FailedCount exceeds FailedFindings")})
	}
	return failed, nil
}

func (s *shSender) fail(ff shtypes.ImportFindingsError) {
	s.res.Failed++
	if len(s.res.Failures) < maxFailures {
		s.res.Failures = append(s.res.Failures, SecurityHubFailure{
			ID: aws.ToString(ff.Id), Code: aws.ToString(ff.ErrorCode), Message: aws.ToString(ff.ErrorMessage),
		})
	}
}

// moveWorkflows sets Workflow.Status with BatchUpdateFindings, 100 findings
// a call, in a fixed order, and returns the IDs Security Hub did not process.
func (s *shSender) moveWorkflows(ctx context.Context, moves map[shtypes.WorkflowStatus][]string) (map[string]bool, error) {
	unmoved := map[string]bool{}
	statuses := make([]shtypes.WorkflowStatus, 0, len(moves))
	for st := range moves {
		statuses = append(statuses, st)
	}
	slices.Sort(statuses)
	for _, st := range statuses {
		for chunk := range slices.Chunk(moves[st], ASFFBatchSize) {
			in := &securityhub.BatchUpdateFindingsInput{Workflow: &shtypes.WorkflowUpdate{Status: st}}
			for _, id := range chunk {
				in.FindingIdentifiers = append(in.FindingIdentifiers, shtypes.AwsSecurityFindingIdentifier{Id: aws.String(id), ProductArn: aws.String(s.productARN)})
			}
			out, err := s.api.BatchUpdateFindings(ctx, in)
			if err != nil {
				return unmoved, fmt.Errorf("BatchUpdateFindings: %w", err)
			}
			s.res.WorkflowUpdated += int64(len(out.ProcessedFindings))
			s.res.WorkflowFailed += int64(len(out.UnprocessedFindings))
			for _, u := range out.UnprocessedFindings {
				if u.FindingIdentifier != nil {
					unmoved[aws.ToString(u.FindingIdentifier.Id)] = true
				}
			}
		}
	}
	return unmoved, nil
}
