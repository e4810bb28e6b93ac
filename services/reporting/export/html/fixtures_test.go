package html

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	"github.com/dpsweep/dpsweep/services/reporting/export"
)

const (
	pass = evaluationv1.FindingStatus_FINDING_STATUS_PASS
	fail = evaluationv1.FindingStatus_FINDING_STATUS_FAIL
	na   = evaluationv1.FindingStatus_FINDING_STATUS_NOT_ASSESSED
)

var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

// streamOf serves findings as Input.Findings does.
func streamOf(fs []*evaluationv1.Finding) func(context.Context) iter.Seq2[*evaluationv1.Finding, error] {
	return func(context.Context) iter.Seq2[*evaluationv1.Finding, error] {
		return func(yield func(*evaluationv1.Finding, error) bool) {
			for _, f := range fs {
				if !yield(f, nil) {
					return
				}
			}
		}
	}
}

// sortFindings puts findings in the store's order: account, region, control,
// resource ARN, field path.
func sortFindings(fs []*evaluationv1.Finding) {
	slices.SortFunc(fs, func(a, b *evaluationv1.Finding) int {
		return cmp.Or(
			strings.Compare(a.GetAccountId(), b.GetAccountId()),
			strings.Compare(a.GetRegion(), b.GetRegion()),
			strings.Compare(a.GetControlId(), b.GetControlId()),
			strings.Compare(a.GetResourceArn(), b.GetResourceArn()),
			strings.Compare(a.GetFieldPath(), b.GetFieldPath()),
		)
	})
}

func scopesOf(fs []*evaluationv1.Finding) []export.Scope {
	seen := map[export.Scope]bool{}
	var out []export.Scope
	for _, f := range fs {
		s := export.Scope{Account: f.GetAccountId(), Region: f.GetRegion()}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b export.Scope) int {
		return cmp.Or(strings.Compare(a.Account, b.Account), strings.Compare(a.Region, b.Region))
	})
	return out
}

// smallInput is the golden report's input: a cancelled sweep over three
// accounts with hostile text in names and evidence, and three earlier sweeps.
func smallInput() *export.Input {
	const sweep = "swp-2026-03-02-a1"
	f := func(acct, region, ctl, title string, sev evaluationv1.Severity, st evaluationv1.FindingStatus, arn, typ, field string) *evaluationv1.Finding {
		return &evaluationv1.Finding{
			Id: fmt.Sprintf("%s/%s/%s/%s/%s", acct, region, ctl, arn, field), SweepId: sweep,
			ControlId: ctl, Title: title, Severity: sev, Status: st, AccountId: acct, Region: region,
			ResourceArn: arn, ResourceType: typ, FieldPath: field, ObservedAt: ts(t0.Add(time.Minute)),
		}
	}
	const (
		a1, a2, a3 = "111122223333", "222233334444", "333344445555"
		crit       = evaluationv1.Severity_SEVERITY_CRITICAL
		high       = evaluationv1.Severity_SEVERITY_HIGH
		med        = evaluationv1.Severity_SEVERITY_MEDIUM
		low        = evaluationv1.Severity_SEVERITY_LOW
	)
	encT, iamT, fftT := "The bucket has default encryption", "The root user has MFA", "Portfolio free-form fields hold no account numbers, personal data or credentials"
	kmsT := `The customer managed KMS key rotates & "logs" <b>key</b>`
	var fs []*evaluationv1.Finding
	add := func(x *evaluationv1.Finding, summary string) *evaluationv1.Finding {
		x.Evidence = &evaluationv1.Evidence{Summary: summary}
		fs = append(fs, x)
		return x
	}
	for _, acct := range []string{a1, a2, a3} {
		add(f(acct, "global", "DPS-IAM-005", iamT, crit, pass, "arn:aws:iam::"+acct+":root", "AWS::IAM::RootUser", ""), "root user has MFA")
		for _, region := range []string{"eu-west-1", "us-east-1"} {
			st := pass
			if acct != a3 && region == "eu-west-1" {
				st = fail
			}
			add(f(acct, region, "DPS-ENC-001", encT, high, st, "arn:aws:s3:::data-"+acct+"-"+region, "AWS::S3::Bucket", ""), "default encryption: "+strings.ToLower(st.String()[len("FINDING_STATUS_"):]))
			add(f(acct, region, "DPS-ENC-004", kmsT, med, pass, "arn:aws:kms:"+region+":"+acct+":key/0f1e2d3c-0000-4000-8000-00000000000"+acct[:1], "AWS::KMS::Key", ""), "rotation enabled")
		}
	}
	// a1: a free-form failure whose redacted text tries to break out of the
	// script element and the markup.
	x := add(f(a1, "eu-west-1", "DPS-FFT-001", fftT, high, fail, "arn:aws:catalog:eu-west-1:"+a1+":portfolio/port-abcdefghijklm", "AWS::ServiceCatalog::Portfolio", "Description"),
		"free-form field holds sensitive values")
	x.Evidence.RedactedText = `Owner [EMAIL_ADDRESS] </script><script>alert("x")</script> <img src=x onerror=alert(1)> & billing [AWS_ACCOUNT_ID] ` + "\u2028" + `end`
	x.Evidence.EntityTypes = []string{"EMAIL_ADDRESS", "AWS_ACCOUNT_ID"}
	// a2: the same failure, suppressed.
	x = add(f(a2, "eu-west-1", "DPS-FFT-001", fftT, high, fail, "arn:aws:catalog:eu-west-1:"+a2+":portfolio/port-nopqrstuvwxyz", "AWS::ServiceCatalog::Portfolio", "Tags[Owner]"),
		"free-form field holds sensitive values")
	x.Evidence.RedactedText = "team lead [PERSON_NAME]"
	x.Evidence.EntityTypes = []string{"PERSON_NAME"}
	x.Suppressed = true
	x.Suppression = &evaluationv1.Suppression{Id: "sup-<owner-tags>", ControlId: "DPS-FFT-001", AccountId: a2,
		Justification: `Owner tags are "public" by policy <see ticket SEC-12>`, ExpiresAt: ts(t0.AddDate(0, 3, 0))}
	// a3: a control that could not be assessed, and a low one that fails.
	x = add(f(a3, "us-east-1", "DPS-LOG-001", "A multi-region CloudTrail trail is logging", high, na, "arn:aws:cloudtrail:us-east-1:"+a3+":trail/org-trail", "AWS::CloudTrail::Trail", ""),
		"cloudtrail:DescribeTrails was denied")
	x.NotAssessedReason = evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_ACCESS_DENIED
	add(f(a3, "us-east-1", "DPS-ENC-002", "The bucket's default encryption uses KMS", low, fail, "arn:aws:s3:::logs-"+a3, "AWS::S3::Bucket", ""), "default encryption is SSE-S3")
	sortFindings(fs)

	hist := func(id string, days int, p, fl int64) *reportingv1.Sweep {
		return &reportingv1.Sweep{
			SweepId: id, State: reportingv1.SweepState_SWEEP_STATE_COMPLETED,
			StartedAt: ts(t0.AddDate(0, 0, -days)), FinalizedAt: ts(t0.AddDate(0, 0, -days).Add(40 * time.Minute)),
			Counts: &reportingv1.SweepCounts{Findings: p + fl, Pass: p, Fail: fl},
		}
	}
	return &export.Input{
		Sweep: &reportingv1.Sweep{
			SweepId: sweep, State: reportingv1.SweepState_SWEEP_STATE_CANCELLED,
			StartedAt: ts(t0), FinalizedAt: ts(t0.Add(17 * time.Minute)),
		},
		Assessed: scopesOf(fs),
		Findings: streamOf(fs),
		History: []*reportingv1.Sweep{
			hist("swp-2026-02-09", 21, 9, 8), hist("swp-2026-02-16", 14, 11, 6), hist("swp-2026-02-23", 7, 12, 5),
		},
		GeneratedAt: t0.Add(2 * time.Hour),
		Version:     "v0.0.0-test",
	}
}

// The catalogue's 31 controls with their resource shapes, for synthetic
// organizations.
var synthControls = []struct {
	id, title, typ, arn string // arn: a format with %[1]s region, %[2]s account, %[3]s resource name
	sev                 evaluationv1.Severity
	global, freeForm    bool
}{
	{"DPS-ENC-001", "The bucket has default encryption", "AWS::S3::Bucket", "arn:aws:s3:::%[2]s-%[1]s-%[3]s", 4, false, false},
	{"DPS-ENC-002", "The bucket's default encryption uses KMS", "AWS::S3::Bucket", "arn:aws:s3:::%[2]s-%[1]s-%[3]s", 2, false, false},
	{"DPS-ENC-003", "The DynamoDB table is encrypted with a KMS key", "AWS::DynamoDB::Table", "arn:aws:dynamodb:%[1]s:%[2]s:table/%[3]s", 2, false, false},
	{"DPS-ENC-004", "The customer managed KMS key rotates", "AWS::KMS::Key", "arn:aws:kms:%[1]s:%[2]s:key/%[3]s", 3, false, false},
	{"DPS-FFT-001", "Portfolio free-form fields hold no account numbers, personal data or credentials", "AWS::ServiceCatalog::Portfolio", "arn:aws:catalog:%[1]s:%[2]s:portfolio/port-%[3]s", 4, false, true},
	{"DPS-FFT-002", "Product free-form fields hold no account numbers, personal data or credentials", "AWS::ServiceCatalog::Product", "arn:aws:catalog:%[1]s:%[2]s:product/prod-%[3]s", 4, false, true},
	{"DPS-FFT-003", "Provisioned product free-form fields hold no account numbers, personal data or credentials", "AWS::ServiceCatalog::ProvisionedProduct", "arn:aws:servicecatalog:%[1]s:%[2]s:stack/app/pp-%[3]s", 4, false, true},
	{"DPS-FFT-004", "Tag options hold no account numbers, personal data or credentials", "AWS::ServiceCatalog::TagOption", "arn:aws:catalog:%[1]s:%[2]s:tag-option/tag-%[3]s", 4, false, true},
	{"DPS-FFT-005", "SAR application free-form fields hold no account numbers, personal data or credentials", "AWS::Serverless::Application", "arn:aws:serverlessrepo:%[1]s:%[2]s:applications/%[3]s", 4, false, true},
	{"DPS-IAM-001", "The root user has no access keys", "AWS::IAM::RootUser", "arn:aws:iam::%[2]s:root", 5, true, false},
	{"DPS-IAM-002", "The root user was not used in the last 90 days", "AWS::IAM::RootUser", "arn:aws:iam::%[2]s:root", 4, true, false},
	{"DPS-IAM-003", "No IAM user has administrator access attached directly", "AWS::IAM::User", "arn:aws:iam::%[2]s:user/%[3]s", 4, true, false},
	{"DPS-IAM-004", "Every active access key was rotated in the last 90 days", "AWS::IAM::User", "arn:aws:iam::%[2]s:user/%[3]s", 3, true, false},
	{"DPS-IAM-005", "The root user has MFA", "AWS::IAM::RootUser", "arn:aws:iam::%[2]s:root", 5, true, false},
	{"DPS-IAM-006", "Every IAM user with a console password has MFA", "AWS::IAM::User", "arn:aws:iam::%[2]s:user/%[3]s", 4, true, false},
	{"DPS-LOG-001", "A multi-region CloudTrail trail is logging", "AWS::CloudTrail::Trail", "arn:aws:cloudtrail:%[1]s:%[2]s:trail/%[3]s", 4, false, false},
	{"DPS-LOG-002", "The trail validates log files", "AWS::CloudTrail::Trail", "arn:aws:cloudtrail:%[1]s:%[2]s:trail/%[3]s", 3, false, false},
	{"DPS-LOG-003", "The trail encrypts logs with KMS", "AWS::CloudTrail::Trail", "arn:aws:cloudtrail:%[1]s:%[2]s:trail/%[3]s", 3, false, false},
	{"DPS-LOG-004", "The trail records read and write management events", "AWS::CloudTrail::Trail", "arn:aws:cloudtrail:%[1]s:%[2]s:trail/%[3]s", 3, false, false},
	{"DPS-MAC-001", "Macie is enabled in every region that holds buckets", "AWS::Macie::Session", "arn:aws:macie2:%[1]s:%[2]s:session", 3, false, false},
	{"DPS-NET-001", "The VPC has an interface endpoint for Service Catalog with private DNS", "AWS::EC2::VPC", "arn:aws:ec2:%[1]s:%[2]s:vpc/vpc-%[3]s", 2, false, false},
	{"DPS-SHR-001", "Portfolios are shared only inside the organization", "AWS::ServiceCatalog::Portfolio", "arn:aws:catalog:%[1]s:%[2]s:portfolio/port-%[3]s", 4, false, false},
	{"DPS-SHR-002", "SAR applications are not public unless labelled public", "AWS::Serverless::Application", "arn:aws:serverlessrepo:%[1]s:%[2]s:applications/%[3]s", 4, false, false},
	{"DPS-SHR-003", "Launch constraints use dedicated roles, not administrator roles", "AWS::ServiceCatalog::LaunchRoleConstraint", "arn:aws:catalog:%[1]s:%[2]s:constraint/cons-%[3]s", 4, false, false},
	{"DPS-TLS-001", "The bucket policy denies requests without TLS", "AWS::S3::Bucket", "arn:aws:s3:::%[2]s-%[1]s-%[3]s", 4, false, false},
	{"DPS-TLS-002", "The bucket policy denies TLS older than 1.2", "AWS::S3::Bucket", "arn:aws:s3:::%[2]s-%[1]s-%[3]s", 3, false, false},
	{"DPS-TLS-003", "Service Catalog URLs use https", "AWS::ServiceCatalog::Product", "arn:aws:catalog:%[1]s:%[2]s:product/prod-%[3]s", 4, false, false},
	{"DPS-TLS-004", "Serverless Application Repository URLs use https", "AWS::Serverless::Application", "arn:aws:serverlessrepo:%[1]s:%[2]s:applications/%[3]s", 4, false, false},
	{"DPS-TLS-005", "Callers of the Service Catalog and SAR APIs use TLS 1.2 or later", "AWS::CloudTrail::Event", "arn:aws:cloudtrail:%[1]s:%[2]s:event/%[3]s", 3, false, false},
	{"DPS-URL-001", "Service Catalog URLs hold no credentials", "AWS::ServiceCatalog::Product", "arn:aws:catalog:%[1]s:%[2]s:product/prod-%[3]s", 4, false, true},
	{"DPS-URL-002", "SAR application URLs hold no credentials", "AWS::Serverless::Application", "arn:aws:serverlessrepo:%[1]s:%[2]s:applications/%[3]s", 4, false, true},
}

var synthRegions = []string{
	"af-south-1", "ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ca-central-1",
	"eu-central-1", "eu-north-1", "eu-south-1", "eu-west-1", "eu-west-2", "eu-west-3", "me-south-1", "sa-east-1",
	"us-east-1", "us-west-2",
}

var synthTexts = []struct {
	text     string
	entities []string
}{
	{"Owned by [EMAIL_ADDRESS]; escalate to [PERSON_NAME] on call", []string{"EMAIL_ADDRESS", "PERSON_NAME"}},
	{"Billing account [AWS_ACCOUNT_ID] for cost centre 4471", []string{"AWS_ACCOUNT_ID"}},
	{"https://[CREDENTIALS]@git.example.internal/platform/templates.git", []string{"URL_CREDENTIALS"}},
	{"db password=[SECRET_ASSIGNMENT] rotate quarterly", []string{"SECRET_ASSIGNMENT"}},
	{"Support: [PHONE_NUMBER] or [EMAIL_ADDRESS]", []string{"PHONE_NUMBER", "EMAIL_ADDRESS"}},
	{"AKIA key [AWS_ACCESS_KEY_ID] used by the deploy job", []string{"AWS_ACCESS_KEY_ID"}},
}

// synthInput makes an organization of n findings over accounts accounts,
// 17 regions (and global for IAM) and the 31 controls, deterministic for a
// seed. About a fifth of the findings fail, one in twenty is not assessed,
// and a few failures are suppressed; some accounts are much worse than
// others, and free-form failures carry redacted text.
func synthInput(n, accounts int, seed uint64) *export.Input {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	const sweep = "swp-2026-03-02-org"
	accts := make([]string, accounts)
	badness := make([]float64, accounts)
	for i := range accts {
		accts[i] = fmt.Sprintf("%012d", 100000000000+int64(i)*7919)
		badness[i] = 0.02 + 0.6*rng.Float64()*rng.Float64()*rng.Float64()
	}
	ctlBad := make([]float64, len(synthControls))
	for i := range ctlBad {
		ctlBad[i] = 0.25 + 2.5*rng.Float64()*rng.Float64()
	}
	fs := make([]*evaluationv1.Finding, 0, n)
	var fails int64
	for len(fs) < n {
		ai, ci := rng.IntN(accounts), rng.IntN(len(synthControls))
		c := synthControls[ci]
		region := synthRegions[rng.IntN(len(synthRegions))]
		if c.global {
			region = "global"
		}
		name := fmt.Sprintf("%s%06x", []string{"data-", "app-", "ops-", "ml-"}[rng.IntN(4)], rng.IntN(1<<24))
		arn := fmt.Sprintf(c.arn, region, accts[ai], name)
		f := &evaluationv1.Finding{
			Id: fmt.Sprintf("%064x", rng.Uint64()), SweepId: sweep, ControlId: c.id, Title: c.title, Severity: c.sev,
			AccountId: accts[ai], Region: region, ResourceArn: arn, ResourceType: c.typ, ObservedAt: ts(t0),
			Status: pass, Evidence: &evaluationv1.Evidence{Summary: "meets the control"},
		}
		switch r := rng.Float64(); {
		case r < 0.05:
			f.Status = na
			f.NotAssessedReason = evaluationv1.NotAssessedReason(1 + rng.IntN(7))
			f.Evidence.Summary = "could not be evaluated"
		case r < 0.05+min(0.9, badness[ai]*ctlBad[ci]):
			f.Status = fail
			fails++
			f.Evidence.Summary = "breaks the control"
			if c.freeForm {
				t := synthTexts[rng.IntN(len(synthTexts))]
				f.FieldPath = []string{"Description", "Tags[Owner]", "Tags[CostCentre]", "SupportEmail", "Name"}[rng.IntN(5)]
				f.Evidence.RedactedText = t.text
				f.Evidence.EntityTypes = t.entities
				f.Evidence.Summary = "free-form field holds sensitive values"
			}
			if rng.IntN(40) == 0 {
				f.Suppressed = true
				f.Suppression = &evaluationv1.Suppression{Id: "sup-legacy", ControlId: c.id, Justification: "Legacy workload, retired by Q3", ExpiresAt: ts(t0.AddDate(0, 4, 0))}
			}
		}
		fs = append(fs, f)
	}
	sortFindings(fs)
	var hist []*reportingv1.Sweep
	for i := 8; i >= 1; i-- {
		fl := fails + fails*int64(i)/12 + int64(rng.IntN(max(1, n/200)))
		p := int64(n) - int64(n)/20 - fl
		hist = append(hist, &reportingv1.Sweep{
			SweepId: fmt.Sprintf("swp-week-%02d", 9-i), State: reportingv1.SweepState_SWEEP_STATE_COMPLETED,
			StartedAt: ts(t0.AddDate(0, 0, -7*i)), FinalizedAt: ts(t0.AddDate(0, 0, -7*i).Add(3 * time.Hour)),
			Counts: &reportingv1.SweepCounts{Findings: p + fl, Pass: p, Fail: fl},
		})
	}
	return &export.Input{
		Sweep: &reportingv1.Sweep{
			SweepId: sweep, State: reportingv1.SweepState_SWEEP_STATE_COMPLETED,
			StartedAt: ts(t0), FinalizedAt: ts(t0.Add(2*time.Hour + 41*time.Minute)),
		},
		Assessed:    scopesOf(fs),
		Findings:    streamOf(fs),
		History:     hist,
		GeneratedAt: t0.Add(3 * time.Hour),
		Version:     "v0.0.0-test",
	}
}
