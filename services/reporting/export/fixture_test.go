package export

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
)

const (
	acctA = "111111111111"
	acctB = "222222222222"
	// rawEmail is the unredacted value behind the free-form finding's
	// "[EMAIL_ADDRESS]"; it exists only in canaries.
	rawEmail = "alice.canary@example.com"
	// canary marks text that no export may contain.
	canary = "[REDACTED-SHOULD-NOT-APPEAR]"
	// freeFormRedacted is the free-form finding's redacted evidence.
	freeFormRedacted = "Owner: [EMAIL_ADDRESS] (account [AWS_ACCOUNT_ID]) — café «ops»"
)

var (
	t0        = time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC)
	generated = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
)

// fixtureFindings covers every status, severity and NOT_ASSESSED reason, a
// suppressed FAIL and a suppressed PASS, a free-form finding with redacted
// evidence and entity types, global findings, a finding without a resource
// ARN, and cells a spreadsheet would run as formulas.
func fixtureFindings() []*evaluationv1.Finding {
	const sweep = "sweep-2026-01-15"
	suppression := &evaluationv1.Suppression{
		Id: "sup-kms-legacy", ControlId: "DPS-KMS-001", AccountId: acctA, Region: "eu-west-1",
		ResourcePattern: "arn:aws:kms:eu-west-1:111111111111:key/*", Justification: "Legacy key, retired in Q2 (ticket SEC-42)",
		ExpiresAt: timestamppb.New(time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)),
	}
	mk := func(control, title, account, region, typ, arn, path string, sev evaluationv1.Severity, st evaluationv1.FindingStatus, summary string) *evaluationv1.Finding {
		return &evaluationv1.Finding{
			Id:      fixtureID(sweep, account, region, control, arn, path),
			SweepId: sweep, ControlId: control, Title: title, Severity: sev, Status: st,
			AccountId: account, Region: region, ResourceType: typ, ResourceArn: arn, FieldPath: path,
			Evidence:   &evaluationv1.Evidence{Summary: summary},
			ObservedAt: timestamppb.New(t0),
		}
	}
	fail, pass, na := evaluationv1.FindingStatus_FINDING_STATUS_FAIL, evaluationv1.FindingStatus_FINDING_STATUS_PASS, evaluationv1.FindingStatus_FINDING_STATUS_NOT_ASSESSED
	crit, high, med, low, info := evaluationv1.Severity_SEVERITY_CRITICAL, evaluationv1.Severity_SEVERITY_HIGH, evaluationv1.Severity_SEVERITY_MEDIUM,
		evaluationv1.Severity_SEVERITY_LOW, evaluationv1.Severity_SEVERITY_INFORMATIONAL

	var out []*evaluationv1.Finding
	add := func(f *evaluationv1.Finding) *evaluationv1.Finding { out = append(out, f); return f }

	add(mk("DPS-S3-001", "S3 bucket policy denies requests without TLS", acctA, "us-east-1", "AWS::S3::Bucket",
		"arn:aws:s3:::payroll-exports", "", crit, fail, "bucket policy has no aws:SecureTransport deny"))
	add(mk("DPS-S3-001", "S3 bucket policy denies requests without TLS", acctA, "us-east-1", "AWS::S3::Bucket",
		"arn:aws:s3:::public-assets", "", crit, pass, "bucket policy denies aws:SecureTransport=false"))
	kms := add(mk("DPS-KMS-001", "KMS keys rotate yearly", acctA, "eu-west-1", "AWS::KMS::Key",
		"arn:aws:kms:eu-west-1:111111111111:key/0f1e2d3c-aaaa-bbbb-cccc-000000000001", "", high, fail, "key rotation is disabled"))
	kms.Suppressed, kms.Suppression = true, suppression
	kmsPass := add(mk("DPS-KMS-001", "KMS keys rotate yearly", acctA, "eu-west-1", "AWS::KMS::Key",
		"arn:aws:kms:eu-west-1:111111111111:key/0f1e2d3c-aaaa-bbbb-cccc-000000000002", "", high, pass, "key rotation is enabled"))
	kmsPass.Suppressed, kmsPass.Suppression = true, suppression
	free := add(mk("DPS-SC-004", "Service Catalog product descriptions hold no personal data", acctA, "eu-west-1", "AWS::ServiceCatalog::Product",
		"arn:aws:catalog:eu-west-1:111111111111:product/prod-abcdefgh12345", "ProductViewSummary.Description", med, fail,
		"description holds personal data"))
	free.Evidence.RedactedText = freeFormRedacted
	free.Evidence.EntityTypes = []string{"EMAIL_ADDRESS", "AWS_ACCOUNT_ID"}
	add(mk("DPS-IAM-003", "IAM users have no inline access keys older than 90 days", acctA, "global", "AWS::IAM::User",
		"arn:aws:iam::111111111111:user/=HYPERLINK(\"http://evil\")", "", low, fail, "-access key is 120 days old"))
	add(mk("DPS-IAM-001", "The root user has MFA", acctA, "global", "AWS::IAM::Root",
		"arn:aws:iam::111111111111:root", "", crit, fail, "root user has no MFA device"))
	add(mk("DPS-MAC-001", "Macie is enabled", acctB, "us-east-1", "AWS::Macie::Session",
		"arn:aws:macie2:us-east-1:222222222222:session", "", info, fail, "@Macie is not enabled"))
	reasons := []evaluationv1.NotAssessedReason{
		evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_ACCESS_DENIED,
		evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_REGION_DISABLED,
		evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_COLLECTOR_ERROR,
		evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_ASSUME_ROLE_FAILED,
		evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_FIPS_ENDPOINT_UNAVAILABLE,
		evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_CANCELLED,
		evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_MISSING_DATA,
	}
	for i, r := range reasons {
		arn := fmt.Sprintf("arn:aws:dynamodb:ap-south-1:222222222222:table/orders-%d", i)
		if r == evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_ACCESS_DENIED {
			arn = "" // no resource could be listed
		}
		f := add(mk("DPS-DDB-002", "DynamoDB tables are encrypted with a customer managed key", acctB, "ap-south-1", "AWS::DynamoDB::Table",
			arn, "", []evaluationv1.Severity{med, low, high}[i%3], na, strings.ToLower(strings.TrimPrefix(r.String(), "NOT_ASSESSED_REASON_"))+": could not be assessed"))
		f.NotAssessedReason = r
	}
	slices.SortFunc(out, func(a, b *evaluationv1.Finding) int {
		for _, c := range [][2]string{{a.AccountId, b.AccountId}, {a.Region, b.Region}, {a.ControlId, b.ControlId}, {a.ResourceArn, b.ResourceArn}, {a.FieldPath, b.FieldPath}} {
			if n := strings.Compare(c[0], c[1]); n != 0 {
				return n
			}
		}
		return 0
	})
	return out
}

// fixtureID is a finding ID as the evaluation engine makes it.
func fixtureID(parts ...string) string {
	h := sha256.New()
	for _, s := range parts {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// withCanaries plants text no export may contain where no exporter may
// look: unknown fields of the finding and of its evidence, as a newer
// producer's field (for example raw text) would arrive.
func withCanaries(fs []*evaluationv1.Finding) []*evaluationv1.Finding {
	out := make([]*evaluationv1.Finding, len(fs))
	for i, f := range fs {
		c := proto.Clone(f).(*evaluationv1.Finding)
		var raw []byte
		raw = protowire.AppendTag(raw, 999, protowire.BytesType)
		raw = protowire.AppendString(raw, canary+" "+rawEmail)
		c.ProtoReflect().SetUnknown(raw)
		if c.Evidence != nil {
			c.Evidence.ProtoReflect().SetUnknown(raw)
		}
		out[i] = c
	}
	return out
}

// inputOf is an Input over findings, with a History that only the HTML
// report may read.
func inputOf(fs []*evaluationv1.Finding) *Input {
	return &Input{
		Sweep: &reportingv1.Sweep{
			SweepId: "sweep-2026-01-15", State: reportingv1.SweepState_SWEEP_STATE_COMPLETED,
			StartedAt: timestamppb.New(t0.Add(-30 * time.Minute)), FinalizedAt: timestamppb.New(t0.Add(time.Hour)),
			Counts: &reportingv1.SweepCounts{
				Findings: 15, Pass: 2, Fail: 6, NotAssessed: 7, Suppressed: 2, Accounts: 2, Regions: 4,
				FailBySeverity: []*reportingv1.SeverityCount{
					{Severity: evaluationv1.Severity_SEVERITY_CRITICAL, Count: 2},
					{Severity: evaluationv1.Severity_SEVERITY_MEDIUM, Count: 1},
					{Severity: evaluationv1.Severity_SEVERITY_LOW, Count: 1},
					{Severity: evaluationv1.Severity_SEVERITY_INFORMATIONAL, Count: 1},
				},
			},
		},
		Assessed: []Scope{{acctA, "eu-west-1"}, {acctA, "global"}, {acctA, "us-east-1"}, {acctB, "ap-south-1"}, {acctB, "us-east-1"}},
		Findings: func(context.Context) iter.Seq2[*evaluationv1.Finding, error] {
			return func(yield func(*evaluationv1.Finding, error) bool) {
				for _, f := range fs {
					if !yield(f, nil) {
						return
					}
				}
			}
		},
		History:     []*reportingv1.Sweep{{SweepId: "history-" + canary, State: reportingv1.SweepState_SWEEP_STATE_COMPLETED}},
		GeneratedAt: generated,
		Version:     "1.2.3",
	}
}

// fixture is the golden tests' input, canaries planted.
func fixture() *Input { return inputOf(withCanaries(fixtureFindings())) }

// export runs an exporter to bytes.
func export(t *testing.T, e Exporter, in *Input) ([]byte, int64) {
	t.Helper()
	var buf bytes.Buffer
	n, err := e.Export(context.Background(), in, &buf)
	if err != nil {
		t.Fatalf("%T.Export: %v", e, err)
	}
	return buf.Bytes(), n
}

// golden compares got with testdata/golden/<name>; DPSWEEP_UPDATE_GOLDEN=1
// rewrites the file instead.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if os.Getenv("DPSWEEP_UPDATE_GOLDEN") != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (DPSWEEP_UPDATE_GOLDEN=1 writes it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(gl), len(wl)) {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Fatalf("%s differs from the golden file at line %d (DPSWEEP_UPDATE_GOLDEN=1 rewrites it):\n got: %s\nwant: %s", name, i+1, g, w)
		}
	}
}
