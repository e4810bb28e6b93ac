package export

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
)

const euProduct = "arn:aws:securityhub:eu-west-1:999999999999:product/999999999999/default"

// byControl returns the fixture finding of a control with a status.
func byControl(t *testing.T, control string, st evaluationv1.FindingStatus) *evaluationv1.Finding {
	t.Helper()
	for _, f := range fixtureFindings() {
		if f.ControlId == control && f.Status == st {
			return f
		}
	}
	t.Fatalf("no %s finding of %s in the fixture", st, control)
	return nil
}

func TestToASFF(t *testing.T) {
	t.Parallel()
	fail, pass, na := evaluationv1.FindingStatus_FINDING_STATUS_FAIL, evaluationv1.FindingStatus_FINDING_STATUS_PASS, evaluationv1.FindingStatus_FINDING_STATUS_NOT_ASSESSED
	gov := proto.Clone(byControl(t, "DPS-S3-001", fail)).(*evaluationv1.Finding)
	gov.Region, gov.ResourceArn = "us-gov-west-1", "arn:aws-us-gov:s3:::records"
	for desc, tc := range map[string]struct {
		f       *evaluationv1.Finding
		product string
		check   func(shtypes.AwsSecurityFinding) string
	}{
		"failing bucket": {byControl(t, "DPS-S3-001", fail), euProduct, func(a shtypes.AwsSecurityFinding) string {
			r := a.Resources[0]
			if a.Severity.Label != shtypes.SeverityLabelCritical || a.Compliance.Status != shtypes.ComplianceStatusFailed ||
				a.Workflow.Status != shtypes.WorkflowStatusNew || a.RecordState != shtypes.RecordStateActive ||
				aws.ToString(a.ProductArn) != euProduct || aws.ToString(a.GeneratorId) != "dpsweep/DPS-S3-001" ||
				aws.ToString(a.SchemaVersion) != "2018-10-08" || aws.ToString(a.AwsAccountId) != acctA || aws.ToString(a.Region) != "us-east-1" ||
				aws.ToString(r.Type) != "AwsS3Bucket" || aws.ToString(r.Id) != "arn:aws:s3:::payroll-exports" || r.Partition != shtypes.PartitionAws ||
				aws.ToString(a.Description) != "bucket policy has no aws:SecureTransport deny" || aws.ToString(a.CreatedAt) != "2026-01-15T09:30:00.000Z" ||
				len(a.Types) != 1 || a.ProductFields[pfSweepID] != "sweep-2026-01-15" {
				return fmt.Sprintf("%+v", a)
			}
			return ""
		}},
		"passing bucket is informational and resolved": {byControl(t, "DPS-S3-001", pass), euProduct, func(a shtypes.AwsSecurityFinding) string {
			if a.Severity.Label != shtypes.SeverityLabelInformational || aws.ToString(a.FindingProviderFields.Severity.Original) != "CRITICAL" ||
				a.Compliance.Status != shtypes.ComplianceStatusPassed || a.Workflow.Status != shtypes.WorkflowStatusResolved {
				return fmt.Sprintf("%+v %+v %+v", a.Severity, a.Compliance, a.Workflow)
			}
			return ""
		}},
		"not assessed without a resource is about the account": {byControl(t, "DPS-DDB-002", na), euProduct, func(a shtypes.AwsSecurityFinding) string {
			r := a.Resources[0]
			if a.Compliance.Status != shtypes.ComplianceStatusNotAvailable || a.Severity.Label != shtypes.SeverityLabelInformational ||
				a.ProductFields[pfReason] != "ACCESS_DENIED" || aws.ToString(r.Type) != "AwsAccount" || aws.ToString(r.Id) != "AWS::::Account:"+acctB {
				return fmt.Sprintf("%+v %v %+v", a.Compliance, a.ProductFields, r)
			}
			return ""
		}},
		"suppressed": {byControl(t, "DPS-KMS-001", fail), euProduct, func(a shtypes.AwsSecurityFinding) string {
			if a.Workflow.Status != shtypes.WorkflowStatusSuppressed || a.ProductFields[pfSuppressionID] != "sup-kms-legacy" ||
				a.ProductFields[pfSuppressed] != "true" || a.ProductFields[pfWorkflow] != "SUPPRESSED" || a.Severity.Label != shtypes.SeverityLabelHigh {
				return fmt.Sprintf("%+v %v", a.Workflow, a.ProductFields)
			}
			return ""
		}},
		"global goes to the aggregator region": {byControl(t, "DPS-IAM-001", fail), euProduct, func(a shtypes.AwsSecurityFinding) string {
			if aws.ToString(a.Region) != "eu-west-1" || aws.ToString(a.Resources[0].Region) != "eu-west-1" || a.ProductFields[pfRegion] != "global" ||
				aws.ToString(a.Resources[0].Type) != "AwsAccount" {
				return fmt.Sprintf("region %s %v", aws.ToString(a.Region), a.ProductFields)
			}
			return ""
		}},
		"global without a product ARN goes to us-east-1": {byControl(t, "DPS-IAM-001", fail), "", func(a shtypes.AwsSecurityFinding) string {
			if aws.ToString(a.Region) != "us-east-1" || aws.ToString(a.ProductArn) != "arn:aws:securityhub:us-east-1:111111111111:product/111111111111/default" {
				return fmt.Sprintf("region %s product %s", aws.ToString(a.Region), aws.ToString(a.ProductArn))
			}
			return ""
		}},
		"free-form evidence in product fields": {byControl(t, "DPS-SC-004", fail), euProduct, func(a shtypes.AwsSecurityFinding) string {
			r := a.Resources[0]
			if a.ProductFields[pfRedactedText] != freeFormRedacted || a.ProductFields[pfEntityTypes] != "EMAIL_ADDRESS;AWS_ACCOUNT_ID" ||
				a.ProductFields[pfFieldPath] != "ProductViewSummary.Description" || aws.ToString(r.Type) != "Other" ||
				r.Details == nil || r.Details.Other["Type"] != "AWS::ServiceCatalog::Product" {
				return fmt.Sprintf("%v %+v", a.ProductFields, r)
			}
			return ""
		}},
		"GovCloud partition": {gov, "", func(a shtypes.AwsSecurityFinding) string {
			if a.Resources[0].Partition != shtypes.PartitionAwsUsGov || !strings.HasPrefix(aws.ToString(a.ProductArn), "arn:aws-us-gov:securityhub:us-gov-west-1:") {
				return fmt.Sprintf("%s %s", a.Resources[0].Partition, aws.ToString(a.ProductArn))
			}
			return ""
		}},
	} {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			if msg := tc.check(ToASFF(tc.f, fixture(), tc.product)); msg != "" {
				t.Error(msg)
			}
		})
	}
}

// TestASFFIDStableAcrossSweeps: the same control, resource and field in a
// later sweep is the same Security Hub finding.
func TestASFFIDStableAcrossSweeps(t *testing.T) {
	t.Parallel()
	f := byControl(t, "DPS-S3-001", evaluationv1.FindingStatus_FINDING_STATUS_FAIL)
	later := proto.Clone(f).(*evaluationv1.Finding)
	later.SweepId, later.Id = "sweep-2026-01-16", "another-id"
	later.ObservedAt = timestamppb.New(t0.AddDate(0, 0, 1))
	a, b := ToASFF(f, fixture(), euProduct), ToASFF(later, fixture(), euProduct)
	if aws.ToString(a.Id) != aws.ToString(b.Id) || aws.ToString(a.UpdatedAt) == aws.ToString(b.UpdatedAt) {
		t.Errorf("ids %s / %s, updated %s / %s", aws.ToString(a.Id), aws.ToString(b.Id), aws.ToString(a.UpdatedAt), aws.ToString(b.UpdatedAt))
	}
	other := proto.Clone(f).(*evaluationv1.Finding)
	other.FieldPath = "Policy"
	if aws.ToString(ToASFF(other, fixture(), euProduct).Id) == aws.ToString(a.Id) {
		t.Error("another field path has the same Id")
	}
}

func TestASFFLimits(t *testing.T) {
	t.Parallel()
	f := proto.Clone(byControl(t, "DPS-SC-004", evaluationv1.FindingStatus_FINDING_STATUS_FAIL)).(*evaluationv1.Finding)
	f.Title = strings.Repeat("Titlé ", 100)
	f.Evidence.Summary = strings.Repeat("summary ", 500)
	f.Evidence.RedactedText = strings.Repeat("[EMAIL_ADDRESS] ", 500)
	for i := range 300 {
		f.Evidence.EntityTypes = append(f.Evidence.EntityTypes, fmt.Sprintf("ENTITY_%d", i))
	}
	f.FieldPath = strings.Repeat("a.", 2000)
	a := ToASFF(f, fixture(), euProduct)
	for name, tc := range map[string]struct {
		s   string
		max int
	}{
		"Title": {aws.ToString(a.Title), asffMaxTitle}, "Description": {aws.ToString(a.Description), asffMaxDescription},
		"Id": {aws.ToString(a.Id), asffMaxID}, "GeneratorId": {aws.ToString(a.GeneratorId), asffMaxID},
	} {
		if n := utf8.RuneCountInString(tc.s); n > tc.max || n == 0 {
			t.Errorf("%s has %d characters, limit %d", name, n, tc.max)
		}
	}
	if !strings.HasSuffix(aws.ToString(a.Title), "…") || !strings.HasSuffix(aws.ToString(a.Description), "…") {
		t.Error("cut values do not end with …")
	}
	if len(a.ProductFields) > asffMaxProductFields {
		t.Errorf("%d product fields", len(a.ProductFields))
	}
	for k, v := range a.ProductFields {
		if utf8.RuneCountInString(k) > asffMaxFieldKey || utf8.RuneCountInString(v) > asffMaxFieldValue || !utf8.ValidString(v) {
			t.Errorf("product field %s: key %d, value %d characters", k, len(k), utf8.RuneCountInString(v))
		}
	}
	if !strings.HasPrefix(a.ProductFields[pfRedactedText], "[EMAIL_ADDRESS] [EMAIL_ADDRESS]") || !strings.HasSuffix(a.ProductFields[pfRedactedText], "…") {
		t.Errorf("redacted text = %.60q…", a.ProductFields[pfRedactedText])
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	for desc, tc := range map[string]struct {
		in   string
		max  int
		want string
	}{
		"short":         {"abc", 5, "abc"},
		"exact":         {"abcde", 5, "abcde"},
		"cut":           {"abcdef", 5, "abcd…"},
		"multi-byte":    {"ééééé é", 5, "éééé…"},
		"invalid UTF-8": {"a\xffb", 5, "a\uFFFDb"},
		"zero":          {"abc", 0, ""},
		"one":           {"abc", 1, "…"},
	} {
		if got := truncate(tc.in, tc.max); got != tc.want {
			t.Errorf("%s: truncate(%q, %d) = %q, want %q", desc, tc.in, tc.max, got, tc.want)
		}
	}
}

// manyFindings is a sweep of n FAIL findings in account A.
func manyFindings(n int) []*evaluationv1.Finding {
	var out []*evaluationv1.Finding
	for i := range n {
		out = append(out, &evaluationv1.Finding{
			Id: fmt.Sprintf("f-%04d", i), SweepId: "big", ControlId: "DPS-S3-001", Title: "t", AccountId: acctA, Region: "us-east-1",
			ResourceType: "AWS::S3::Bucket", ResourceArn: fmt.Sprintf("arn:aws:s3:::bucket-%04d", i),
			Severity: evaluationv1.Severity_SEVERITY_HIGH, Status: evaluationv1.FindingStatus_FINDING_STATUS_FAIL,
			Evidence: &evaluationv1.Evidence{Summary: "s"}, ObservedAt: timestamppb.New(t0),
		})
	}
	return out
}

func TestASFFExporterBatches(t *testing.T) {
	t.Parallel()
	got, n := export(t, NewASFFExporter(euProduct), inputOf(manyFindings(250)))
	if n != 250 {
		t.Fatalf("exported %d", n)
	}
	var sizes []int
	sc := bufio.NewScanner(bytes.NewReader(got))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var body struct{ Findings []map[string]any }
		if err := json.Unmarshal(sc.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(body.Findings))
		for _, f := range body.Findings {
			for _, k := range []string{"SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "CreatedAt", "UpdatedAt", "Title", "Description", "Resources"} {
				if v, ok := f[k]; !ok || v == "" || v == nil {
					t.Errorf("finding %v lacks %s", f["Id"], k)
				}
			}
			if _, ok := f["Action"]; ok {
				t.Errorf("finding %v has an unset member", f["Id"])
			}
		}
	}
	if fmt.Sprint(sizes) != "[100 100 50]" {
		t.Errorf("batches of %v, want [100 100 50]", sizes)
	}
}
