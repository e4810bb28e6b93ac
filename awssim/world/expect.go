package world

// Expected findings: the generator decides, for every resource it makes,
// whether each control should pass or fail, and writes that down here,
// without any knowledge of how evaluation works. The evaluation test
// compares the findings of a sweep of a generated world with these, exactly.
//
// The contract with collection and evaluation:
//
//   - Control IDs are the catalogue's IDs (the Controls table below).
//   - Region is the resource's region; "global" for IAM and account-level
//     settings. S3 bucket findings carry the bucket's own region.
//   - ResourceARN is the resource's ARN, or for settings without one a
//     synthetic ARN in the same shape (see the ARN helpers in generate.go).
//     Where the ARN's resource part holds a planted value (a provisioned
//     product's name is part of its ARN) findings carry it redacted, the
//     value replaced by its type tag: stack/web-acct-[AWS_ACCOUNT_ID]/pp-…
//     (a sweep writes a keyed pseudonym, [AWS_ACCOUNT_ID:3f9c…], which
//     compares as the tag).
//   - Free-form controls (DPS-FFT-*, DPS-URL-*) produce one FAIL per
//     offending field, FieldPath naming it ("Description", "Tags[Owner]",
//     "Labels[1]", "ProvisioningArtifacts[pa-123].TemplateUrl"), and one
//     PASS per resource (FieldPath "") when no field offends.
//   - Every other control produces exactly one finding per resource it
//     applies to, PASS or FAIL, FieldPath "".
//   - A product's SupportEmail is meant to hold an e-mail address: only
//     account numbers and credentials offend there.

// Expected is one finding the generator expects.
type Expected struct {
	Control     string   `json:"control" yaml:"control"`
	Account     string   `json:"account" yaml:"account"`
	Region      string   `json:"region" yaml:"region"`
	ResourceARN string   `json:"resource_arn" yaml:"resource_arn"`
	FieldPath   string   `json:"field_path,omitempty" yaml:"field_path,omitempty"`
	Status      string   `json:"status" yaml:"status"` // PASS or FAIL
	Entities    []string `json:"entities,omitempty" yaml:"entities,omitempty"`
}

// Control describes a catalogue control by ID, as the generator reasons
// about it; the evaluation service holds the full catalogue.
type Control struct {
	ID, Summary string
}

// Controls are the catalogue's controls the generator writes expectations for.
var Controls = []Control{
	{"DPS-IAM-001", "the root user has no access keys"},
	{"DPS-IAM-002", "the root user was not used in the last 90 days"},
	{"DPS-IAM-003", "no IAM user has administrator access attached directly"},
	{"DPS-IAM-004", "every active access key was rotated in the last 90 days"},
	{"DPS-IAM-005", "the root user has MFA"},
	{"DPS-IAM-006", "every IAM user with a console password has MFA"},
	{"DPS-TLS-001", "the bucket policy denies requests without TLS (aws:SecureTransport)"},
	{"DPS-TLS-002", "the bucket policy denies TLS older than 1.2 (s3:TlsVersion)"},
	{"DPS-TLS-003", "Service Catalog template URLs use https"},
	{"DPS-TLS-004", "Serverless Application Repository URLs use https"},
	{"DPS-TLS-005", "callers of the Service Catalog and SAR APIs use TLS 1.2 or later"},
	{"DPS-LOG-001", "a multi-region CloudTrail trail is logging"},
	{"DPS-LOG-002", "the trail validates log files"},
	{"DPS-LOG-003", "the trail encrypts logs with KMS"},
	{"DPS-LOG-004", "the trail records read and write management events"},
	{"DPS-ENC-001", "the bucket has default encryption"},
	{"DPS-ENC-002", "the bucket's default encryption uses KMS"},
	{"DPS-ENC-003", "the DynamoDB table is encrypted with a KMS key"},
	{"DPS-ENC-004", "the customer managed KMS key rotates"},
	{"DPS-MAC-001", "Macie is enabled in every region that holds buckets"},
	{"DPS-NET-001", "the VPC has an interface endpoint for Service Catalog with private DNS"},
	{"DPS-SHR-001", "portfolios are shared only inside the organization"},
	{"DPS-SHR-002", "SAR applications are not public unless labelled public"},
	{"DPS-SHR-003", "launch constraints use dedicated roles, not administrator roles"},
	{"DPS-FFT-001", "portfolio free-form fields hold no account numbers, personal data or credentials"},
	{"DPS-FFT-002", "product free-form fields hold no account numbers, personal data or credentials"},
	{"DPS-FFT-003", "provisioned product free-form fields hold no account numbers, personal data or credentials"},
	{"DPS-FFT-004", "tag options hold no account numbers, personal data or credentials"},
	{"DPS-FFT-005", "SAR application free-form fields hold no account numbers, personal data or credentials"},
	{"DPS-URL-001", "Service Catalog template URLs hold no credentials"},
	{"DPS-URL-002", "SAR application URLs hold no credentials"},
}
