package server

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/dpsweep/dpsweep/awssim/world"
)

// securityhubWorld: the management account imports findings about itself
// and its members; an account outside the organization exists nowhere.
func securityhubWorld(t testing.TB) *world.World {
	t.Helper()
	w := &world.World{
		OrganizationID: "o-abcdefghij", ManagementAccount: mgmt, RootID: "r-ab12",
		Regions: []world.RegionInfo{{Name: "us-east-1"}, {Name: "eu-west-1"}, {Name: "ap-east-1", OptIn: true}},
		Accounts: []*world.Account{
			{ID: mgmt, Name: "management", Email: "aws-mgmt@example.com", Created: t0},
			{ID: member, Name: "prod", Email: "aws-prod@example.com", Created: t0},
			{ID: optin, Name: "asia", Email: "aws-asia@example.com", Created: t0},
		},
	}
	if err := w.Index(); err != nil {
		t.Fatal(err)
	}
	return w
}

const shProduct = "arn:aws:securityhub:eu-west-1:111111111111:product/111111111111/default"

func asffFinding(id, account string, updated time.Time) shtypes.AwsSecurityFinding {
	ts := updated.UTC().Format(time.RFC3339)
	return shtypes.AwsSecurityFinding{
		SchemaVersion: aws.String("2018-10-08"), Id: aws.String(id), ProductArn: aws.String(shProduct),
		GeneratorId: aws.String("dpsweep/CT.1"), AwsAccountId: aws.String(account),
		Types:     []string{"Software and Configuration Checks/AWS Security Best Practices"},
		CreatedAt: aws.String(t0.Format(time.RFC3339)), UpdatedAt: aws.String(ts),
		Severity: &shtypes.Severity{Label: shtypes.SeverityLabelHigh}, Title: aws.String("CloudTrail is not logging " + id),
		Description: aws.String("A trail is off."),
		Resources:   []shtypes.Resource{{Type: aws.String("AwsAccount"), Id: aws.String("AWS::::Account:" + account)}},
	}
}

func TestSecurityHubImportAndGet(t *testing.T) {
	t.Parallel()
	s, url := sim(t, securityhubWorld(t), Options{Faults: Faults{PageSize: 2}})
	c := securityhub.NewFromConfig(cfg(url, mgmt, "eu-west-1"))
	var findings []shtypes.AwsSecurityFinding
	for i := range 5 {
		acct := []string{mgmt, member, optin}[i%3]
		findings = append(findings, asffFinding(fmt.Sprintf("dpsweep/f-%d", i), acct, t0))
	}
	archived := asffFinding("dpsweep/f-archived", member, t0)
	archived.RecordState = shtypes.RecordStateArchived
	noResources := asffFinding("dpsweep/f-no-resources", member, t0)
	noResources.Resources = []shtypes.Resource{}
	findings = append(findings, archived, asffFinding("dpsweep/f-outsider", "999999999999", t0), noResources)
	imp, err := c.BatchImportFindings(ctx(t), &securityhub.BatchImportFindingsInput{Findings: findings})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(imp.SuccessCount) != 6 || aws.ToInt32(imp.FailedCount) != 2 || len(imp.FailedFindings) != 2 ||
		aws.ToString(imp.FailedFindings[0].Id) != "dpsweep/f-outsider" || aws.ToString(imp.FailedFindings[0].ErrorCode) == "" ||
		aws.ToString(imp.FailedFindings[1].Id) != "dpsweep/f-no-resources" || aws.ToString(imp.FailedFindings[1].ErrorCode) != "InvalidInput" {
		t.Fatalf("import = %+v", imp)
	}
	// Stored in the caller's account and region.
	s.World().RLock()
	if got := len(s.World().Accounts[0].Regional["eu-west-1"].Findings); got != 6 {
		t.Errorf("stored findings = %d, want 6", got)
	}
	s.World().RUnlock()

	get := func(in *securityhub.GetFindingsInput) []shtypes.AwsSecurityFinding {
		t.Helper()
		var out []shtypes.AwsSecurityFinding
		p := securityhub.NewGetFindingsPaginator(c, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Findings) > 2 {
				t.Fatalf("page of %d findings with PageSize 2", len(page.Findings))
			}
			out = append(out, page.Findings...)
		}
		return out
	}
	ids := func(fs []shtypes.AwsSecurityFinding) []string {
		var out []string
		for _, f := range fs {
			out = append(out, aws.ToString(f.Id))
		}
		return out
	}
	all := get(&securityhub.GetFindingsInput{})
	if len(all) != 6 {
		t.Fatalf("all findings = %v", ids(all))
	}
	f0 := all[0]
	if aws.ToString(f0.Id) != "dpsweep/f-0" || aws.ToString(f0.AwsAccountId) != mgmt || aws.ToString(f0.ProductArn) != shProduct ||
		f0.RecordState != shtypes.RecordStateActive || aws.ToString(f0.Title) != "CloudTrail is not logging dpsweep/f-0" ||
		f0.Severity == nil || f0.Severity.Label != shtypes.SeverityLabelHigh || aws.ToString(f0.UpdatedAt) != t0.Format(time.RFC3339) ||
		len(f0.Resources) != 1 || f0.Workflow == nil || f0.Workflow.Status != shtypes.WorkflowStatusNew || aws.ToString(f0.Region) != "eu-west-1" {
		t.Fatalf("finding 0 = %+v", f0)
	}
	eq := func(v string) []shtypes.StringFilter {
		return []shtypes.StringFilter{{Value: aws.String(v), Comparison: shtypes.StringFilterComparisonEquals}}
	}
	got := ids(get(&securityhub.GetFindingsInput{Filters: &shtypes.AwsSecurityFindingFilters{AwsAccountId: eq(member), RecordState: eq("ACTIVE")}}))
	if !slices.Equal(got, []string{"dpsweep/f-1", "dpsweep/f-4"}) {
		t.Fatalf("member's active findings = %v", got)
	}
	got = ids(get(&securityhub.GetFindingsInput{Filters: &shtypes.AwsSecurityFindingFilters{RecordState: eq("ARCHIVED")}}))
	if !slices.Equal(got, []string{"dpsweep/f-archived"}) {
		t.Fatalf("archived findings = %v", got)
	}
	got = ids(get(&securityhub.GetFindingsInput{Filters: &shtypes.AwsSecurityFindingFilters{Id: eq("dpsweep/f-3"), ProductArn: eq(shProduct)}}))
	if !slices.Equal(got, []string{"dpsweep/f-3"}) {
		t.Fatalf("by Id = %v", got)
	}
	// Regional: nothing in us-east-1, nothing for the member's own view.
	if out, err := securityhub.NewFromConfig(cfg(url, mgmt, "us-east-1")).GetFindings(ctx(t), &securityhub.GetFindingsInput{}); err != nil || len(out.Findings) != 0 {
		t.Fatalf("us-east-1 findings = %+v, %v", out, err)
	}
	if out, err := securityhub.NewFromConfig(cfg(url, member, "eu-west-1")).GetFindings(ctx(t), &securityhub.GetFindingsInput{}); err != nil || len(out.Findings) != 0 {
		t.Fatalf("member's findings = %+v, %v", out, err)
	}

	// Re-import: a newer version replaces, an older one is ignored.
	newer := asffFinding("dpsweep/f-0", mgmt, t0.Add(time.Hour))
	newer.Title = aws.String("updated")
	older := asffFinding("dpsweep/f-1", member, t0.Add(-time.Hour))
	older.Title = aws.String("stale")
	if imp, err := c.BatchImportFindings(ctx(t), &securityhub.BatchImportFindingsInput{Findings: []shtypes.AwsSecurityFinding{newer, older}}); err != nil || aws.ToInt32(imp.SuccessCount) != 2 {
		t.Fatalf("re-import = %+v, %v", imp, err)
	}
	two := get(&securityhub.GetFindingsInput{Filters: &shtypes.AwsSecurityFindingFilters{Id: []shtypes.StringFilter{
		{Value: aws.String("dpsweep/f-0"), Comparison: shtypes.StringFilterComparisonEquals},
		{Value: aws.String("dpsweep/f-1"), Comparison: shtypes.StringFilterComparisonEquals},
	}}})
	if len(two) != 2 || aws.ToString(two[0].Title) != "updated" || aws.ToString(two[1].Title) != "CloudTrail is not logging dpsweep/f-1" {
		t.Fatalf("after re-import = %v / %v", aws.ToString(two[0].Title), aws.ToString(two[1].Title))
	}

	// More than 100 findings in one call is invalid.
	var many []shtypes.AwsSecurityFinding
	for i := range 101 {
		many = append(many, asffFinding(fmt.Sprintf("bulk-%d", i), mgmt, t0))
	}
	if _, err := c.BatchImportFindings(ctx(t), &securityhub.BatchImportFindingsInput{Findings: many}); apiCode(err) != "InvalidInputException" {
		t.Fatalf("101 findings: %v", err)
	}
	if _, err := c.GetFindings(ctx(t), &securityhub.GetFindingsInput{MaxResults: aws.Int32(101)}); apiCode(err) != "InvalidInputException" {
		t.Fatalf("MaxResults 101: %v", err)
	}
	if _, err := securityhub.NewFromConfig(cfg(url, mgmt, "ap-east-1")).GetFindings(ctx(t), &securityhub.GetFindingsInput{}); apiCode(err) != "OptInRequired" {
		t.Fatalf("disabled region: %v", err)
	}
}

func TestSecurityHubBatchUpdate(t *testing.T) {
	t.Parallel()
	_, url := sim(t, securityhubWorld(t), Options{})
	c := securityhub.NewFromConfig(cfg(url, mgmt, "eu-west-1"))
	if _, err := c.BatchImportFindings(ctx(t), &securityhub.BatchImportFindingsInput{Findings: []shtypes.AwsSecurityFinding{
		asffFinding("a", mgmt, t0), asffFinding("b", member, t0),
	}}); err != nil {
		t.Fatal(err)
	}
	up, err := c.BatchUpdateFindings(ctx(t), &securityhub.BatchUpdateFindingsInput{
		FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{
			{Id: aws.String("a"), ProductArn: aws.String(shProduct)},
			{Id: aws.String("missing"), ProductArn: aws.String(shProduct)},
		},
		Workflow: &shtypes.WorkflowUpdate{Status: shtypes.WorkflowStatusResolved},
		Note:     &shtypes.NoteUpdate{Text: aws.String("fixed by the sweep"), UpdatedBy: aws.String("dpsweep")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(up.ProcessedFindings) != 1 || aws.ToString(up.ProcessedFindings[0].Id) != "a" ||
		len(up.UnprocessedFindings) != 1 || aws.ToString(up.UnprocessedFindings[0].FindingIdentifier.Id) != "missing" || aws.ToString(up.UnprocessedFindings[0].ErrorCode) == "" {
		t.Fatalf("update = %+v", up)
	}
	out, err := c.GetFindings(ctx(t), &securityhub.GetFindingsInput{Filters: &shtypes.AwsSecurityFindingFilters{
		WorkflowStatus: []shtypes.StringFilter{{Value: aws.String("RESOLVED"), Comparison: shtypes.StringFilterComparisonEquals}},
	}})
	if err != nil || len(out.Findings) != 1 {
		t.Fatalf("resolved findings = %+v, %v", out, err)
	}
	a := out.Findings[0]
	if a.Workflow.Status != shtypes.WorkflowStatusResolved || a.Note == nil || aws.ToString(a.Note.Text) != "fixed by the sweep" || aws.ToString(a.Note.UpdatedBy) != "dpsweep" ||
		aws.ToString(a.UpdatedAt) != t0.Format(time.RFC3339) {
		t.Fatalf("updated finding = %+v", a)
	}
	// The customer's workflow survives a re-import by the provider.
	if _, err := c.BatchImportFindings(ctx(t), &securityhub.BatchImportFindingsInput{Findings: []shtypes.AwsSecurityFinding{asffFinding("a", mgmt, t0.Add(time.Minute))}}); err != nil {
		t.Fatal(err)
	}
	out, err = c.GetFindings(ctx(t), &securityhub.GetFindingsInput{Filters: &shtypes.AwsSecurityFindingFilters{Id: []shtypes.StringFilter{{Value: aws.String("a"), Comparison: shtypes.StringFilterComparisonEquals}}}})
	if err != nil || len(out.Findings) != 1 || out.Findings[0].Workflow.Status != shtypes.WorkflowStatusResolved || aws.ToString(out.Findings[0].UpdatedAt) != t0.Add(time.Minute).Format(time.RFC3339) {
		t.Fatalf("after re-import = %+v, %v", out, err)
	}
	// An update without anything to change is invalid.
	if _, err := c.BatchUpdateFindings(ctx(t), &securityhub.BatchUpdateFindingsInput{
		FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{{Id: aws.String("a"), ProductArn: aws.String(shProduct)}},
	}); apiCode(err) != "InvalidInputException" {
		t.Fatalf("empty update: %v", err)
	}
}
