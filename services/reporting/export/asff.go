package export

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
)

const (
	// ASFFSchemaVersion is the only ASFF schema version.
	ASFFSchemaVersion = "2018-10-08"
	// GeneratorPrefix starts every dpsweep GeneratorId ("dpsweep/<control>").
	GeneratorPrefix = toolName + "/"
	// asffType classifies every dpsweep finding (ASFF Types taxonomy:
	// namespace/category/classifier).
	asffType = "Software and Configuration Checks/AWS Security Best Practices/dpsweep"
	// ASFFBatchSize is the most findings BatchImportFindings takes at once.
	ASFFBatchSize = 100
	// asffTime is the ASFF timestamp layout (ISO 8601, UTC, milliseconds).
	asffTime = "2006-01-02T15:04:05.000Z"
)

// ASFF length limits (Security Hub rejects longer values). See
// https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_AwsSecurityFinding.html
const (
	asffMaxID            = 512
	asffMaxTitle         = 256
	asffMaxDescription   = 1024
	asffMaxFieldKey      = 128
	asffMaxFieldValue    = 2048
	asffMaxOtherValue    = 1023
	asffMaxProductFields = 50
)

// ProductFields keys dpsweep writes (prefix "dpsweep/").
const (
	pfSweepID       = "dpsweep/sweep_id"
	pfFindingID     = "dpsweep/finding_id"
	pfControlID     = "dpsweep/control_id"
	pfStatus        = "dpsweep/status"
	pfSeverity      = "dpsweep/severity"
	pfRegion        = "dpsweep/region"
	pfResourceType  = "dpsweep/resource_type"
	pfFieldPath     = "dpsweep/field_path"
	pfEntityTypes   = "dpsweep/entity_types"
	pfRedactedText  = "dpsweep/evidence_redacted_text"
	pfReason        = "dpsweep/not_assessed_reason"
	pfSuppressed    = "dpsweep/suppressed"
	pfSuppressionID = "dpsweep/suppression_id"
	// pfWorkflow is the Workflow.Status dpsweep meant the finding to have;
	// SendToSecurityHub changes a workflow only while it still equals this,
	// so a status a person set in Security Hub is never overwritten.
	pfWorkflow = "dpsweep/workflow"
)

// asffResourceTypes maps CloudFormation resource types to ASFF's; types
// that name the account itself map to AwsAccount, the rest to Other.
var asffResourceTypes = map[string]string{
	"AWS::S3::Bucket":                "AwsS3Bucket",
	"AWS::KMS::Key":                  "AwsKmsKey",
	"AWS::DynamoDB::Table":           "AwsDynamoDbTable",
	"AWS::CloudTrail::Trail":         "AwsCloudTrailTrail",
	"AWS::IAM::User":                 "AwsIamUser",
	"AWS::IAM::Role":                 "AwsIamRole",
	"AWS::IAM::Policy":               "AwsIamPolicy",
	"AWS::IAM::AccessKey":            "AwsIamAccessKey",
	"AWS::EC2::VPC":                  "AwsEc2Vpc",
	"AWS::EC2::Instance":             "AwsEc2Instance",
	"AWS::EC2::Volume":               "AwsEc2Volume",
	"AWS::EC2::SecurityGroup":        "AwsEc2SecurityGroup",
	"AWS::Lambda::Function":          "AwsLambdaFunction",
	"AWS::RDS::DBInstance":           "AwsRdsDbInstance",
	"AWS::SNS::Topic":                "AwsSnsTopic",
	"AWS::SQS::Queue":                "AwsSqsQueue",
	"AWS::SecretsManager::Secret":    "AwsSecretsManagerSecret",
	"AWS::IAM::Root":                 "AwsAccount",
	"AWS::IAM::PasswordPolicy":       "AwsAccount",
	"AWS::Organizations::Account":    "AwsAccount",
	"AWS::CloudTrail::AccountTrails": "AwsAccount",
}

// ASFFResourceType maps a CloudFormation resource type to an ASFF resource
// type, "Other" when ASFF has none.
func ASFFResourceType(cfnType string) string {
	if t, ok := asffResourceTypes[cfnType]; ok {
		return t
	}
	return "Other"
}

// DefaultProductARN is the product ARN of an account's own findings in a
// region: arn:<partition>:securityhub:<region>:<account>:product/<account>/default.
func DefaultProductARN(region, account string) string {
	return fmt.Sprintf("arn:%s:securityhub:%s:%s:product/%s/default", regionPartition(region), region, account, account)
}

// productARNRegion is the region field of a product ARN.
func productARNRegion(productARN string) string {
	parts := strings.Split(productARN, ":")
	if len(parts) < 6 || parts[0] != "arn" || parts[2] != "securityhub" {
		return ""
	}
	return parts[3]
}

// homeRegion is where a partition's global services live, the region an
// account-wide finding goes to when no aggregator region is given.
func homeRegion(partition string) string {
	switch partition {
	case "aws-cn":
		return "cn-north-1"
	case "aws-us-gov":
		return "us-gov-west-1"
	default:
		return "us-east-1"
	}
}

// asffRegion is the Region a finding gets in ASFF: its own, or for a
// global finding the Security Hub region it is sent to.
func asffRegion(f *evaluationv1.Finding, productARN string) string {
	if r := f.GetRegion(); r != "" && r != globalRegion {
		return r
	}
	if r := productARNRegion(productARN); r != "" {
		return r
	}
	return homeRegion(partitionOf(f))
}

// asffWorkflow is the Workflow.Status dpsweep wants a finding to have:
// SUPPRESSED when a suppression matched, RESOLVED when it passes, NEW
// otherwise.
func asffWorkflow(f *evaluationv1.Finding) shtypes.WorkflowStatus {
	switch {
	case f.GetSuppressed():
		return shtypes.WorkflowStatusSuppressed
	case f.GetStatus() == evaluationv1.FindingStatus_FINDING_STATUS_PASS:
		return shtypes.WorkflowStatusResolved
	default:
		return shtypes.WorkflowStatusNew
	}
}

// asffSeverity maps a severity to an ASFF label.
func asffSeverity(s evaluationv1.Severity) shtypes.SeverityLabel {
	switch s {
	case evaluationv1.Severity_SEVERITY_CRITICAL:
		return shtypes.SeverityLabelCritical
	case evaluationv1.Severity_SEVERITY_HIGH:
		return shtypes.SeverityLabelHigh
	case evaluationv1.Severity_SEVERITY_MEDIUM:
		return shtypes.SeverityLabelMedium
	case evaluationv1.Severity_SEVERITY_LOW:
		return shtypes.SeverityLabelLow
	default:
		return shtypes.SeverityLabelInformational
	}
}

// asffCompliance maps a status to Compliance.Status.
func asffCompliance(s evaluationv1.FindingStatus) shtypes.ComplianceStatus {
	switch s {
	case evaluationv1.FindingStatus_FINDING_STATUS_PASS:
		return shtypes.ComplianceStatusPassed
	case evaluationv1.FindingStatus_FINDING_STATUS_FAIL:
		return shtypes.ComplianceStatusFailed
	default:
		return shtypes.ComplianceStatusNotAvailable
	}
}

// asffID is the ASFF Id of a finding: "dpsweep/<control>/<FindingKey>",
// the same in every sweep, so a later sweep updates (or archives) the
// finding an earlier one imported instead of piling up copies.
func asffID(f *evaluationv1.Finding) string {
	return truncate(GeneratorPrefix+f.GetControlId()+"/"+FindingKey(f), asffMaxID)
}

// ToASFF maps a finding to the AWS Security Finding Format. It is a pure
// function of its arguments:
//
//   - Id is "dpsweep/<control>/<FindingKey>", stable across sweeps (the
//     sweep's finding ID is in ProductFields); GeneratorId "dpsweep/<control>".
//   - ProductArn is productARN; when empty, the finding's account's default
//     product ARN in the finding's ASFF region.
//   - Region is the finding's region; a global finding gets the region of
//     productARN (the Security Hub aggregator it is sent to).
//   - Compliance.Status: PASS → PASSED, FAIL → FAILED, NOT_ASSESSED →
//     NOT_AVAILABLE. Severity.Label is the finding's severity for FAIL and,
//     as Security Hub's own controls do, INFORMATIONAL for PASSED and
//     NOT_AVAILABLE; FindingProviderFields.Severity.Original keeps the
//     control's severity.
//   - Workflow.Status: SUPPRESSED for suppressed findings, RESOLVED for
//     PASS, NEW otherwise (Security Hub takes it when it creates the
//     finding only; SendToSecurityHub updates it later).
//   - Description is the evidence summary; ProductFields carry the sweep,
//     the finding ID, field path, entity types and redacted evidence, each
//     value cut to ASFF's 2048 characters, Title to 256, Description to 1024.
func ToASFF(f *evaluationv1.Finding, in *Input, productARN string) shtypes.AwsSecurityFinding {
	region := asffRegion(f, productARN)
	if productARN == "" {
		productARN = DefaultProductARN(region, f.GetAccountId())
	}
	ts := f.GetObservedAt().AsTime()
	if f.GetObservedAt() == nil {
		ts = in.GeneratedAt
	}
	at := aws.String(ts.UTC().Format(asffTime))
	ev := evidenceOf(f)
	title := f.GetTitle()
	if title == "" {
		title = f.GetControlId()
	}
	desc := ev.GetSummary()
	if desc == "" {
		desc = title
	}
	label := asffSeverity(f.GetSeverity())
	if f.GetStatus() != evaluationv1.FindingStatus_FINDING_STATUS_FAIL {
		label = shtypes.SeverityLabelInformational
	}
	workflow := asffWorkflow(f)

	resType := ASFFResourceType(f.GetResourceType())
	if f.GetResourceArn() == "" {
		resType = "AwsAccount" // about the account: see resourceID
	}
	resID := resourceID(f)
	res := shtypes.Resource{
		Type: aws.String(resType), Id: aws.String(resID), Region: aws.String(region),
		Partition: shtypes.Partition(partitionOf(f)),
	}
	if resType == "Other" && f.GetResourceType() != "" {
		res.Details = &shtypes.ResourceDetails{Other: map[string]string{"Type": truncate(f.GetResourceType(), asffMaxOtherValue)}}
	}

	pf := map[string]string{
		pfSweepID: f.GetSweepId(), pfFindingID: f.GetId(), pfControlID: f.GetControlId(),
		pfStatus: statusName(f.GetStatus()), pfSeverity: severityName(f.GetSeverity()),
		pfRegion: f.GetRegion(), pfResourceType: f.GetResourceType(), pfFieldPath: f.GetFieldPath(),
		pfEntityTypes: strings.Join(ev.GetEntityTypes(), ";"), pfRedactedText: ev.GetRedactedText(),
		pfReason: reasonName(f.GetNotAssessedReason()), pfSuppressed: strconv.FormatBool(f.GetSuppressed()),
		pfSuppressionID: f.GetSuppression().GetId(), pfWorkflow: string(workflow),
	}
	for k, v := range pf {
		if v == "" {
			delete(pf, k)
			continue
		}
		pf[k] = truncate(v, asffMaxFieldValue)
	}

	return shtypes.AwsSecurityFinding{
		SchemaVersion: aws.String(ASFFSchemaVersion),
		Id:            aws.String(asffID(f)),
		ProductArn:    aws.String(productARN),
		ProductName:   aws.String(toolName),
		CompanyName:   aws.String(toolName),
		GeneratorId:   aws.String(truncate(GeneratorPrefix+f.GetControlId(), asffMaxID)),
		AwsAccountId:  aws.String(f.GetAccountId()),
		Region:        aws.String(region),
		Types:         []string{asffType},
		CreatedAt:     at, UpdatedAt: at, FirstObservedAt: at, LastObservedAt: at,
		Severity: &shtypes.Severity{Label: label, Original: aws.String(severityName(f.GetSeverity()))},
		FindingProviderFields: &shtypes.FindingProviderFields{
			Severity: &shtypes.FindingProviderSeverity{Label: label, Original: aws.String(severityName(f.GetSeverity()))},
			Types:    []string{asffType},
		},
		Title:         aws.String(truncate(title, asffMaxTitle)),
		Description:   aws.String(truncate(desc, asffMaxDescription)),
		Resources:     []shtypes.Resource{res},
		Compliance:    &shtypes.Compliance{Status: asffCompliance(f.GetStatus())},
		Workflow:      &shtypes.Workflow{Status: workflow},
		RecordState:   shtypes.RecordStateActive,
		ProductFields: pf,
	}
}

// ASFFExporter writes the bodies of BatchImportFindings requests, one JSON
// object {"Findings": [...]} a line, at most 100 findings each, for a file
// or S3 destination; `aws securityhub batch-import-findings --cli-input-json`
// takes each line as it is. Every finding of the sweep is written (PASS,
// FAIL, NOT_ASSESSED, suppressed or not).
type ASFFExporter struct {
	// ProductARN of every finding; empty for each finding's own account's
	// default product ARN in the finding's region (global findings in the
	// partition's home region, us-east-1 for aws), for files that each
	// account imports itself, as the default product ARN requires.
	ProductARN string
}

var _ Exporter = (*ASFFExporter)(nil)

// NewASFFExporter returns the ASFF exporter for a product ARN, or for
// per-account default product ARNs when productARN is empty.
func NewASFFExporter(productARN string) *ASFFExporter {
	return &ASFFExporter{ProductARN: productARN}
}

// Format implements Exporter.
func (*ASFFExporter) Format() reportingv1.ReportFormat {
	return reportingv1.ReportFormat_REPORT_FORMAT_ASFF
}

// Export implements Exporter.
func (e *ASFFExporter) Export(ctx context.Context, in *Input, w io.Writer) (int64, error) {
	bw := bufio.NewWriter(w)
	var (
		n     int64
		batch []any
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := writeJSONLine(bw, map[string]any{"Findings": batch})
		batch = batch[:0]
		return err
	}
	err := forEach(ctx, in, func(f *evaluationv1.Finding) error {
		doc, err := ASFFJSON(ToASFF(f, in, e.ProductARN))
		if err != nil {
			return fmt.Errorf("finding %s: %w", f.GetId(), err)
		}
		batch = append(batch, doc)
		n++
		if len(batch) == ASFFBatchSize {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// ASFFJSON is a finding as Security Hub's JSON shows it: the SDK type's
// members by their ASFF names, with unset ones left out (the SDK types
// carry no JSON tags, so encoding/json would print every nil as null).
// Keys come out sorted.
func ASFFJSON(f shtypes.AwsSecurityFinding) (any, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	v, _ = prune(v)
	return v, nil
}

// prune drops nulls, empty strings, empty arrays and empty objects.
func prune(v any) (any, bool) {
	switch t := v.(type) {
	case nil:
		return nil, false
	case string:
		return t, t != ""
	case []any:
		out := t[:0]
		for _, e := range t {
			if e, ok := prune(e); ok {
				out = append(out, e)
			}
		}
		return out, len(out) > 0
	case map[string]any:
		for k, e := range t {
			if e, ok := prune(e); ok {
				t[k] = e
			} else {
				delete(t, k)
			}
		}
		return t, len(t) > 0
	default:
		return t, true
	}
}

// parseASFFTime reads an ASFF timestamp.
func parseASFFTime(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}
