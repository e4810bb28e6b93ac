package storetest

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	"github.com/dpsweep/dpsweep/services/reporting/store"
)

// LargeVersion changes whenever Large generates different findings, so that
// databases cached by benchmarks are rebuilt.
const LargeVersion = 1

// LargeAccounts is how many accounts a Large sweep spreads over.
const LargeAccounts = 2000

// largeControl is one control of the catalogue as Large uses it.
type largeControl struct {
	id, title, resourceType string
	sev                     evaluationv1.Severity
	arn                     string // format: account, region, resource index
	field                   string // field path, "" for the resource as a whole
}

// largeGlobal are the account-wide controls (region "global"), largeRegional
// the others: the catalogue's 31 controls with their severities.
var (
	largeGlobal = []largeControl{
		{"DPS-IAM-001", "The root user has no access keys", "AWS::IAM::Root", crit, "arn:aws:iam::%[1]s:root/%[3]d", ""},
		{"DPS-IAM-002", "The root user was not used in the last 90 days", "AWS::IAM::Root", high, "arn:aws:iam::%[1]s:root/%[3]d", ""},
		{"DPS-IAM-003", "No IAM user has administrator access attached directly", "AWS::IAM::User", high, "arn:aws:iam::%[1]s:user/user-%03[3]d", ""},
		{"DPS-IAM-004", "Every active access key was rotated in the last 90 days", "AWS::IAM::User", med, "arn:aws:iam::%[1]s:user/user-%03[3]d", "AccessKeys[0]"},
		{"DPS-IAM-005", "The root user has MFA", "AWS::IAM::Root", crit, "arn:aws:iam::%[1]s:root/%[3]d", ""},
		{"DPS-IAM-006", "Every IAM user with a console password has MFA", "AWS::IAM::User", high, "arn:aws:iam::%[1]s:user/user-%03[3]d", ""},
	}
	largeRegional = []largeControl{
		{"DPS-ENC-001", "The bucket has default encryption", "AWS::S3::Bucket", high, "arn:aws:s3:::data-%[1]s-%[2]s-%[3]d", ""},
		{"DPS-ENC-002", "The bucket's default encryption uses KMS", "AWS::S3::Bucket", low, "arn:aws:s3:::data-%[1]s-%[2]s-%[3]d", ""},
		{"DPS-ENC-003", "The DynamoDB table is encrypted with a KMS key", "AWS::DynamoDB::Table", low, "arn:aws:dynamodb:%[2]s:%[1]s:table/orders-%[3]d", ""},
		{"DPS-ENC-004", "The customer managed KMS key rotates", "AWS::KMS::Key", med, "arn:aws:kms:%[2]s:%[1]s:key/0b3e7d2c-%04[3]d-4c1e-9a57-6f2d8e1b%04[3]d", ""},
		{"DPS-FFT-001", "Portfolio free-form fields hold no account numbers, personal data or credentials", "AWS::ServiceCatalog::Portfolio", high, "arn:aws:catalog:%[2]s:%[1]s:portfolio/port-%012[3]d", "Description"},
		{"DPS-FFT-002", "Product free-form fields hold no account numbers, personal data or credentials", "AWS::ServiceCatalog::Product", high, "arn:aws:catalog:%[2]s:%[1]s:product/prod-%012[3]d", "Description"},
		{"DPS-FFT-003", "Provisioning artifact free-form fields hold nothing sensitive", "AWS::ServiceCatalog::Product", med, "arn:aws:catalog:%[2]s:%[1]s:product/prod-%012[3]d", "ProvisioningArtifacts[pa-abcdefghijklm].Description"},
		{"DPS-FFT-004", "Provisioned product free-form fields hold nothing sensitive", "AWS::ServiceCatalog::ProvisionedProduct", med, "arn:aws:servicecatalog:%[2]s:%[1]s:stack/web-%[3]d/pp-%012[3]d", "Tags[Owner]"},
		{"DPS-FFT-005", "SAR application free-form fields hold nothing sensitive", "AWS::Serverless::Application", high, "arn:aws:serverlessrepo:%[2]s:%[1]s:applications/app-%[3]d", "Author"},
		{"DPS-LOG-001", "A multi-region CloudTrail trail is logging", "AWS::CloudTrail::Trail", high, "arn:aws:cloudtrail:%[2]s:%[1]s:trail/org-trail-%[3]d", ""},
		{"DPS-LOG-002", "The trail validates log files", "AWS::CloudTrail::Trail", med, "arn:aws:cloudtrail:%[2]s:%[1]s:trail/org-trail-%[3]d", ""},
		{"DPS-LOG-003", "The trail encrypts logs with KMS", "AWS::CloudTrail::Trail", med, "arn:aws:cloudtrail:%[2]s:%[1]s:trail/org-trail-%[3]d", ""},
		{"DPS-LOG-004", "The trail records read and write management events", "AWS::CloudTrail::Trail", med, "arn:aws:cloudtrail:%[2]s:%[1]s:trail/org-trail-%[3]d", ""},
		{"DPS-MAC-001", "Macie is enabled in every region that holds buckets", "AWS::Macie::Session", med, "arn:aws:macie2:%[2]s:%[1]s:session/%[3]d", ""},
		{"DPS-NET-001", "The VPC has an interface endpoint for Service Catalog with private DNS", "AWS::EC2::VPC", low, "arn:aws:ec2:%[2]s:%[1]s:vpc/vpc-%017[3]d", ""},
		{"DPS-SHR-001", "Portfolios are shared only inside the organization", "AWS::ServiceCatalog::Portfolio", high, "arn:aws:catalog:%[2]s:%[1]s:portfolio/port-%012[3]d", ""},
		{"DPS-SHR-002", "SAR applications are not public unless labelled public", "AWS::Serverless::Application", high, "arn:aws:serverlessrepo:%[2]s:%[1]s:applications/app-%[3]d", ""},
		{"DPS-SHR-003", "Launch constraints use dedicated roles, not administrator roles", "AWS::ServiceCatalog::Product", high, "arn:aws:catalog:%[2]s:%[1]s:product/prod-%012[3]d", "LaunchConstraints[0].RoleArn"},
		{"DPS-TLS-001", "The bucket policy denies requests without TLS", "AWS::S3::Bucket", high, "arn:aws:s3:::data-%[1]s-%[2]s-%[3]d", ""},
		{"DPS-TLS-002", "The bucket policy denies TLS older than 1.2", "AWS::S3::Bucket", med, "arn:aws:s3:::data-%[1]s-%[2]s-%[3]d", ""},
		{"DPS-TLS-003", "Service Catalog URLs use https", "AWS::ServiceCatalog::Product", med, "arn:aws:catalog:%[2]s:%[1]s:product/prod-%012[3]d", "SupportUrl"},
		{"DPS-TLS-004", "SAR application URLs use https", "AWS::Serverless::Application", med, "arn:aws:serverlessrepo:%[2]s:%[1]s:applications/app-%[3]d", "HomePageUrl"},
		{"DPS-TLS-005", "Callers of the Service Catalog and SAR APIs use TLS 1.2 or later", "AWS::CloudTrail::Trail", med, "arn:aws:cloudtrail:%[2]s:%[1]s:trail/org-trail-%[3]d", ""},
		{"DPS-URL-001", "Service Catalog URLs hold no credentials", "AWS::ServiceCatalog::Product", crit, "arn:aws:catalog:%[2]s:%[1]s:product/prod-%012[3]d", "SupportUrl"},
		{"DPS-URL-002", "SAR application URLs hold no credentials", "AWS::Serverless::Application", crit, "arn:aws:serverlessrepo:%[2]s:%[1]s:applications/app-%[3]d", "ReadmeUrl"},
	}
	largeRegions = []string{"us-east-1", "eu-west-1", "us-west-2", "eu-central-1", "ap-southeast-2", "us-east-2", "ap-northeast-1", "sa-east-1"}
)

// largeUsers is how many IAM users' worth of global findings an account has
// per global control.
const largeUsers = 5

// Large is a sweep of an organization shaped like a real one, for
// benchmarks: LargeAccounts accounts, each in two to five regions (of eight)
// plus "global", the catalogue's 31 controls, several resources per control,
// about 58% PASS, 34% FAIL and 8% NOT_ASSESSED (one account in 97 denies
// access and is NOT_ASSESSED throughout), one failure in twelve suppressed.
// It is deterministic: the same arguments give the same findings.
type Large struct {
	SweepID string
	// Findings is the sweep's size, spread evenly over the accounts.
	Findings int
}

// LargeAccountID returns the ID of account i: 12 digits, not in the order
// of i.
func LargeAccountID(i int) string {
	const mod = 1_000_000_000_000
	return fmt.Sprintf("%012d", (uint64(i)*2654435761+386476193817)%mod)
}

// LargeRegions returns the regions (besides "global") account i works in.
func LargeRegions(i int) []string {
	n := 2 + i%4
	out := make([]string, n)
	for j := range out {
		out[j] = largeRegions[(i+j)%len(largeRegions)]
	}
	return out
}

// PerAccount returns how many findings account i has.
func (l Large) PerAccount(i int) int {
	n := l.Findings / LargeAccounts
	if i < l.Findings%LargeAccounts {
		n++
	}
	return n
}

// Account returns account i's findings and the scopes they assess, in key
// order of neither.
func (l Large) Account(i int) ([]*evaluationv1.Finding, []store.Scope) {
	account := LargeAccountID(i)
	regions := LargeRegions(i)
	n := l.PerAccount(i)
	out := make([]*evaluationv1.Finding, 0, n)
	denied := i%97 == 5
	global := min(n, len(largeGlobal)*largeUsers)
	for j := range global {
		c := largeGlobal[j%len(largeGlobal)]
		out = append(out, l.finding(account, "global", c, j/len(largeGlobal), denied))
	}
	for k := range n - global {
		r := regions[k%len(regions)]
		c := largeRegional[(k/len(regions))%len(largeRegional)]
		out = append(out, l.finding(account, r, c, k/(len(regions)*len(largeRegional)), denied))
	}
	scopes := []store.Scope{{Account: account, Region: "global"}}
	for _, r := range regions {
		scopes = append(scopes, store.Scope{Account: account, Region: r})
	}
	return out, scopes
}

func (l Large) finding(account, region string, c largeControl, res int, denied bool) *evaluationv1.Finding {
	arn := fmt.Sprintf(c.arn, account, region, res)
	h := fnv.New64a()
	fmt.Fprint(h, account, "|", region, "|", c.id, "|", arn, "|", c.field)
	sum := h.Sum64()
	status := pass
	switch x := sum % 100; {
	case denied || x >= 92:
		status = na
	case x >= 58:
		status = fail
	}
	suppressed := status == fail && (sum>>8)%12 == 0
	f := &evaluationv1.Finding{
		Id:           "f-" + strconv.FormatUint(sum, 16),
		SweepId:      l.SweepID,
		ControlId:    c.id,
		Severity:     c.sev,
		Status:       status,
		AccountId:    account,
		Region:       region,
		ResourceArn:  arn,
		ResourceType: c.resourceType,
		FieldPath:    c.field,
		ObservedAt:   timestamppb.New(observed.Add(time.Duration(sum%3600) * time.Second)),
		Title:        c.title,
		Suppressed:   suppressed,
	}
	switch status {
	case fail:
		f.Evidence = &evaluationv1.Evidence{Summary: c.title + ": not met"}
		if c.field != "" {
			f.Evidence.RedactedText = "contact <EMAIL_ADDRESS>, billing account <AWS_ACCOUNT_ID>"
			f.Evidence.EntityTypes = []string{"AWS_ACCOUNT_ID", "EMAIL_ADDRESS"}
		}
	case na:
		f.NotAssessedReason = evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_ACCESS_DENIED
		f.Evidence = &evaluationv1.Evidence{Summary: "AccessDenied reading " + c.resourceType}
	}
	if suppressed {
		f.Suppression = &evaluationv1.Suppression{
			Id:              "sup-" + c.id,
			ControlId:       c.id,
			AccountId:       account,
			Region:          "*",
			ResourcePattern: "*",
			Justification:   "accepted by the data owner",
			ExpiresAt:       timestamppb.New(observed.Add(90 * 24 * time.Hour)),
		}
	}
	return f
}

// Matches reports whether a finding matches a filter, as a store must
// decide it.
func Matches(f store.Filter, fd *evaluationv1.Finding) bool { return matches(f, fd) }
