package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	"github.com/dpsweep/dpsweep/services/reporting"
)

const (
	acctA = "111122223333"
	acctB = "444455556666"
)

func finding(account, region, control, arn, field string, st evaluationv1.FindingStatus, sev evaluationv1.Severity) *evaluationv1.Finding {
	f := &evaluationv1.Finding{ControlId: control, Severity: sev, Status: st, AccountId: account, Region: region, ResourceArn: arn,
		ResourceType: "AWS::ServiceCatalog::Portfolio", FieldPath: field, Title: "title of " + control,
		Evidence: &evaluationv1.Evidence{Summary: "summary"}, ObservedAt: timestamppb.New(time.Date(2026, 11, 24, 3, 31, 0, 0, time.UTC))}
	if st == evaluationv1.FindingStatus_FINDING_STATUS_NOT_ASSESSED {
		f.NotAssessedReason = evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_ACCESS_DENIED
	}
	return f
}

const (
	pass = evaluationv1.FindingStatus_FINDING_STATUS_PASS
	fail = evaluationv1.FindingStatus_FINDING_STATUS_FAIL
	na   = evaluationv1.FindingStatus_FINDING_STATUS_NOT_ASSESSED
	crit = evaluationv1.Severity_SEVERITY_CRITICAL
	high = evaluationv1.Severity_SEVERITY_HIGH
	med  = evaluationv1.Severity_SEVERITY_MEDIUM
	low  = evaluationv1.Severity_SEVERITY_LOW
)

// reportingStack serves the real ReportingService on SQLite in a temporary
// directory, with two finalized sweeps: "base" and "next".
func reportingStack(t *testing.T) (addr, reportDir string) {
	t.Helper()
	dir := t.TempDir()
	cfg := reporting.DefaultConfig()
	cfg.Database, cfg.ReportDir = filepath.Join(dir, "findings.db"), filepath.Join(dir, "reports")
	cfg.Credentials = credentials.NewStaticCredentialsProvider("AKIAEXAMPLEEXAMPLE00", "unused", "")
	addr = serve(t, cfg.Register)

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithDefaultCallOptions(grpc.WaitForReady(true)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := reportingv1.NewReportingServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rootA := "arn:aws:iam::" + acctA + ":root"
	keyA := "arn:aws:kms:us-east-1:" + acctA + ":key/k-1"
	portB := "arn:aws:servicecatalog:eu-west-1:" + acctB + ":portfolio/port-1"
	suppressed := finding(acctB, "eu-west-1", "DPS-SC-003", portB, "", fail, low)
	suppressed.Suppressed = true
	suppressed.Suppression = &evaluationv1.Suppression{Id: "sup-1", ControlId: "DPS-SC-003", Justification: "accepted",
		ExpiresAt: timestamppb.New(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))}
	sweeps := map[string][]*evaluationv1.Finding{
		"base": {
			finding(acctA, "global", "DPS-IAM-001", rootA, "", fail, high),
			finding(acctA, "us-east-1", "DPS-KMS-001", keyA, "", fail, med),
			finding(acctB, "eu-west-1", "DPS-SC-001", portB, "Description", pass, low),
		},
		"next": {
			finding(acctA, "global", "DPS-IAM-001", rootA, "", fail, high),
			finding(acctA, "us-east-1", "DPS-KMS-001", keyA, "", pass, med),
			finding(acctB, "eu-west-1", "DPS-SC-001", portB, "Description", pass, low),
			finding(acctB, "eu-west-1", "DPS-SC-002", portB, "Tags[Owner]", fail, crit),
			finding(acctB, "eu-west-1", "DPS-MAC-001", "", "", na, med),
			suppressed,
		},
	}
	for _, id := range []string{"base", "next"} {
		if _, err := c.RecordFindings(ctx, &reportingv1.RecordFindingsRequest{SweepId: id, Findings: sweeps[id]}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.FinalizeSweep(ctx, &reportingv1.FinalizeSweepRequest{SweepId: id, State: reportingv1.SweepState_SWEEP_STATE_COMPLETED}); err != nil {
			t.Fatal(err)
		}
	}
	return addr, cfg.ReportDir
}

// exported reads export's key-value output.
func exported(t *testing.T, out string) map[string]string {
	t.Helper()
	kv := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("export printed %q", out)
		}
		kv[k] = strings.TrimSpace(v)
	}
	return kv
}

// TestReport drives the report commands against one reporting service.
func TestReport(t *testing.T) {
	t.Parallel()
	addr, reportDir := reportingStack(t)
	t.Run("export", func(t *testing.T) { t.Parallel(); testReportExport(t, addr, reportDir) })
	t.Run("findings", func(t *testing.T) { t.Parallel(); testReportFindings(t, addr) })
	t.Run("diff", func(t *testing.T) { t.Parallel(); testReportDiff(t, addr) })
}

func testReportExport(t *testing.T, addr, reportDir string) {
	abs := filepath.Join(t.TempDir(), "out", "next.sarif")
	tests := map[string]struct {
		args     []string
		path     string
		findings string
		contains string
	}{
		"html under the report directory": {args: []string{"report", "next", "--format", "html", "--out", "next/report.html"},
			path: filepath.Join(reportDir, "next", "report.html"), findings: "6", contains: "<!DOCTYPE html>"},
		"sarif to an absolute path, flags first": {args: []string{"report", "--format", "SARIF", "--out", abs, "next"}, path: abs, findings: "4", contains: `"version": "2.1.0"`},
		"filtered csv through 'export'": {args: []string{"report", "export", "next", "--format", "csv", "--out", "next.csv", "--severity", "critical,high", "--status", "fail"},
			path: filepath.Join(reportDir, "next.csv"), findings: "2", contains: "DPS-SC-002"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out, _, err := cli(append(tc.args, "--addr", addr)...)
			if err != nil {
				t.Fatal(err)
			}
			kv := exported(t, out)
			data, err := os.ReadFile(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			want := map[string]string{"uri": tc.path, "bytes": fmt.Sprint(len(data)), "findings": tc.findings, "sha256": hex.EncodeToString(sum[:])}
			for k, v := range want {
				if kv[k] != v {
					t.Errorf("%s = %q, want %q; output:\n%s", k, kv[k], v, out)
				}
			}
			if !strings.Contains(string(data), tc.contains) {
				t.Errorf("%s lacks %q", tc.path, tc.contains)
			}
		})
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"next", "--out", "x.html"}, "report: --format is required: json, csv, sarif, ocsf, asff or html"},
		{[]string{"next", "--format", "pdf", "--out", "x.pdf"}, `report: --format: unknown value "pdf"; want json, csv, sarif, ocsf, asff or html`},
		{[]string{"next", "--format", "html"}, "report: --out is required: a path on the reporting server, s3://BUCKET/KEY or securityhub:REGION"},
		{[]string{"--format", "html", "--out", "x.html"}, "report: a sweep ID is required"},
		{[]string{"nope", "--format", "html", "--out", "x.html"}, `report: NotFound: `},
		{[]string{"next", "--format", "html", "--out", "../escape.html"}, "report: InvalidArgument: destination.file.path: "},
		{[]string{"next", "--format", "csv", "--out", "s3://Bad_Bucket/r.csv"}, "report: InvalidArgument: destination.s3.bucket: does not match regex pattern"},
		{[]string{"next", "--format", "csv", "--out", "s3://bucket"}, "report: --out s3://bucket: want s3://BUCKET/KEY"},
		{[]string{"next", "--format", "csv", "--out", "r.csv", "--kms-key-id", "k"}, "report: --kms-key-id and --s3-region go with --out s3://BUCKET/KEY"},
		{[]string{"next", "--format", "html", "--out", "securityhub:us-east-1"}, "report: InvalidArgument: destination.security_hub takes format REPORT_FORMAT_ASFF only"},
		{[]string{"next", "--format", "csv", "--out", "r.csv", "--severity", "severe"}, `report: --severity: unknown value "severe"; want informational, low, medium, high or critical`},
		{[]string{"next", "--format", "csv", "--out", "r.csv", "--account", "1"}, "report: InvalidArgument: filter.account_ids[0]: does not match regex pattern"},
	} {
		_, _, err := cli(append(append([]string{"report"}, tc.args...), "--addr", addr)...)
		wantErr(t, err, tc.want)
	}
}

func testReportFindings(t *testing.T, addr string) {
	out, _, err := cli("report", "findings", "next", "--addr", addr, "--page-size", "2")
	if err != nil {
		t.Fatal(err)
	}
	want := `ACCOUNT       REGION     CONTROL      SEVERITY  STATUS                        RESOURCE                                                        FIELD
111122223333  global     DPS-IAM-001  high      fail                          arn:aws:iam::111122223333:root                                  -
111122223333  us-east-1  DPS-KMS-001  medium    pass                          arn:aws:kms:us-east-1:111122223333:key/k-1                      -
444455556666  eu-west-1  DPS-MAC-001  medium    not-assessed (access-denied)  -                                                               -
444455556666  eu-west-1  DPS-SC-001   low       pass                          arn:aws:servicecatalog:eu-west-1:444455556666:portfolio/port-1  Description
444455556666  eu-west-1  DPS-SC-002   critical  fail                          arn:aws:servicecatalog:eu-west-1:444455556666:portfolio/port-1  Tags[Owner]
5 of 5 findings.
`
	if out != want {
		t.Errorf("findings:\n%s\nwant:\n%s", out, want)
	}

	out, _, err = cli("report", "findings", "next", "--addr", addr, "--status", "fail", "--include-suppressed", "--account", acctB, "--region", "eu-west-1,global")
	if err != nil {
		t.Fatal(err)
	}
	want = `ACCOUNT       REGION     CONTROL     SEVERITY  STATUS             RESOURCE                                                        FIELD
444455556666  eu-west-1  DPS-SC-002  critical  fail               arn:aws:servicecatalog:eu-west-1:444455556666:portfolio/port-1  Tags[Owner]
444455556666  eu-west-1  DPS-SC-003  low       fail (suppressed)  arn:aws:servicecatalog:eu-west-1:444455556666:portfolio/port-1  -
2 of 2 findings.
`
	if out != want {
		t.Errorf("filtered findings:\n%s\nwant:\n%s", out, want)
	}
	// The fields of a finding left out of the table come back with --json,
	// one Finding a line; --limit stops early.
	out, _, err = cli("report", "findings", "next", "--addr", addr, "--json", "--limit", "3", "--page-size", "2", "--control", "DPS-SC-002", "--control", "DPS-IAM-001,DPS-MAC-001")
	if err != nil {
		t.Fatal(err)
	}
	var controls []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var f evaluationv1.Finding
		if err := protojson.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if f.GetTitle() != "title of "+f.GetControlId() || f.GetSweepId() != "next" {
			t.Errorf("finding %v", &f)
		}
		controls = append(controls, f.GetControlId())
	}
	if got := strings.Join(controls, ","); got != "DPS-IAM-001,DPS-MAC-001,DPS-SC-002" {
		t.Errorf("--json findings: %s", got)
	}
	out, _, err = cli("report", "findings", "next", "--addr", addr, "--limit", "1")
	if err != nil || !strings.HasSuffix(out, "1 of 5 findings.\n") {
		t.Errorf("--limit 1 printed %q (%v)", out, err)
	}
	out, _, err = cli("report", "findings", "next", "--addr", addr, "--severity", "informational")
	if err != nil || out != "No findings of sweep next match.\n" {
		t.Errorf("no match printed %q (%v)", out, err)
	}
	_, _, err = cli("report", "findings", "nope", "--addr", addr)
	wantErr(t, err, "report findings: NotFound: ")
	_, _, err = cli("report", "findings", "next", "--addr", addr, "--region", "EU")
	wantErr(t, err, "report findings: InvalidArgument: filter.regions[0]: does not match regex pattern")
	_, _, err = cli("report", "findings", "next", "--addr", addr, "--status", "open")
	wantErr(t, err, `report findings: --status: unknown value "open"; want pass, fail or not-assessed`)
}

func testReportDiff(t *testing.T, addr string) {
	out, _, err := cli("report", "diff", "base", "next", "--addr", addr)
	if err != nil {
		t.Fatal(err)
	}
	want := `CHANGE    ACCOUNT       REGION     CONTROL      SEVERITY  RESOURCE
resolved  111122223333  us-east-1  DPS-KMS-001  medium    arn:aws:kms:us-east-1:111122223333:key/k-1
new       444455556666  eu-west-1  DPS-SC-002   critical  arn:aws:servicecatalog:eu-west-1:444455556666:portfolio/port-1 Tags[Owner]

base → next: new 1, resolved 1, unchanged 1.
`
	if out != want {
		t.Errorf("diff:\n%s\nwant:\n%s", out, want)
	}
	out, _, err = cli("report", "diff", "--kinds", "unchanged", "base", "next", "--addr", addr)
	if err != nil || !strings.HasPrefix(out, "CHANGE") || !strings.Contains(out, "unchanged  111122223333  global") || strings.Contains(out, "\nresolved ") {
		t.Errorf("--kinds unchanged printed:\n%s (%v)", out, err)
	}
	out, _, err = cli("report", "diff", "--kinds", "all", "--json", "base", "next", "--addr", addr)
	if err != nil || strings.Count(out, "\n") != 3 || !strings.Contains(out, `"kind":"DIFF_KIND_UNCHANGED"`) {
		t.Errorf("--kinds all --json printed:\n%s (%v)", out, err)
	}
	out, _, err = cli("report", "diff", "--kinds", "new", "--region", "us-east-1", "base", "next", "--addr", addr)
	if err != nil || out != "base → next: new 0, resolved 1, unchanged 0.\n" {
		t.Errorf("an empty filtered diff printed %q (%v)", out, err)
	}
	_, _, err = cli("report", "diff", "next", "next", "--addr", addr)
	wantErr(t, err, "report diff: InvalidArgument: base_sweep_id: ")
	_, _, err = cli("report", "diff", "base", "--addr", addr)
	wantErr(t, err, "report diff: two sweep IDs are required, the earlier first")
	_, _, err = cli("report", "diff", "base", "next", "--kinds", "changed", "--addr", addr)
	wantErr(t, err, `report diff: --kinds: unknown value "changed"; want new, resolved or unchanged`)
	_, _, err = cli("report", "--addr", addr, "diff", "base", "next")
	wantErr(t, err, "report: put the command first: dpsweep report diff [flags] ...")
}
