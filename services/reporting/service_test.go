package reporting

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/dpsweep/dpsweep/awssim"
	"github.com/dpsweep/dpsweep/awssim/world"
	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	"github.com/dpsweep/dpsweep/services/platform/server"
	"github.com/dpsweep/dpsweep/services/reporting/store/storetest"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start serves a ReportingService configured by cfg on a real 127.0.0.1
// listener and returns a client of it and its log.
func start(t *testing.T, cfg Config) (reportingv1.ReportingServiceClient, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	scfg := server.Config{Addr: lis.Addr().String(), LogFormat: "json", LogLevel: "debug", MaxRecvMsgBytes: server.DefaultMaxRecvMsgBytes,
		MaxSendMsgBytes: server.DefaultMaxSendMsgBytes, ShutdownTimeout: 5 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	go func() { done <- server.ServeListener(ctx, lis, scfg, log, cfg.Register) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.WaitForReady(true), grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return reportingv1.NewReportingServiceClient(conn), logs
}

// engines are the store URLs every service test runs against: SQLite
// always, PostgreSQL when a server is configured or reachable.
func engines(t *testing.T) map[string]func(t *testing.T) string {
	t.Helper()
	return map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "findings.db") },
		"postgres": func(t *testing.T) string { return storetest.PostgresDSN(t) },
	}
}

func localConfig(t *testing.T, db string) Config {
	cfg := DefaultConfig()
	cfg.Database, cfg.ReportDir = db, t.TempDir()
	cfg.Credentials = credentials.NewStaticCredentialsProvider("AKIAEXAMPLEEXAMPLE00", "unused", "")
	return cfg
}

func wantCode(t *testing.T, what string, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("%s: %v; want %s", what, err, code)
	}
}

// wantField checks an INVALID_ARGUMENT that names field in its BadRequest details.
func wantField(t *testing.T, what string, err error, field string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("%s: %v; want InvalidArgument naming %s", what, err, field)
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return
				}
			}
		}
	}
	t.Fatalf("%s: %v; the details do not name %s", what, err, field)
}

func record(t *testing.T, c reportingv1.ReportingServiceClient, id string, fs []*evaluationv1.Finding, scopes ...*reportingv1.AssessedScope) *reportingv1.RecordFindingsResponse {
	t.Helper()
	resp, err := c.RecordFindings(context.Background(), &reportingv1.RecordFindingsRequest{SweepId: id, Findings: fs, Assessed: scopes})
	if err != nil {
		t.Fatalf("RecordFindings(%s): %v", id, err)
	}
	return resp
}

// allFindings pages through ListFindings.
func allFindings(t *testing.T, c reportingv1.ReportingServiceClient, id string, f *reportingv1.FindingFilter, size int32) ([]*evaluationv1.Finding, int64) {
	t.Helper()
	var out []*evaluationv1.Finding
	req := &reportingv1.ListFindingsRequest{SweepId: id, Filter: f, PageSize: size}
	var total int64
	for {
		resp, err := c.ListFindings(context.Background(), req)
		if err != nil {
			t.Fatalf("ListFindings: %v", err)
		}
		out, total = append(out, resp.GetFindings()...), resp.GetTotalSize()
		if resp.GetNextPageToken() == "" {
			return out, total
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

func TestStoreRPCs(t *testing.T) {
	t.Parallel()
	for name, db := range engines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, logs := start(t, localConfig(t, db(t)))
			ctx := context.Background()
			world := storetest.World("sweep-1")
			half := len(world) / 2

			// Two batches; the second overlaps the first, as a retried activity would.
			r1 := record(t, c, "sweep-1", world[:half], &reportingv1.AssessedScope{AccountId: "111111111111", Region: "eu-west-1"})
			r2 := record(t, c, "sweep-1", world[half/2:])
			if int(r1.GetInserted()) != half || r1.GetDuplicates() != 0 || int(r2.GetInserted()) != len(world)-half || int(r2.GetDuplicates()) != half-half/2 {
				t.Fatalf("inserted/duplicates = %d/%d then %d/%d; want %d/0 then %d/%d", r1.GetInserted(), r1.GetDuplicates(),
					r2.GetInserted(), r2.GetDuplicates(), half, len(world)-half, half-half/2)
			}
			got, total := allFindings(t, c, "sweep-1", &reportingv1.FindingFilter{IncludeSuppressed: true}, 7)
			if len(got) != len(world) || total != int64(len(world)) {
				t.Fatalf("ListFindings: %d findings, total %d; want %d", len(got), total, len(world))
			}
			byKey := map[string]*evaluationv1.Finding{}
			for _, f := range world {
				byKey[f.GetId()] = f
			}
			for _, f := range got {
				if w := byKey[f.GetId()]; !proto.Equal(f, w) {
					t.Fatalf("stored finding differs:\n got %v\nwant %v", f, w)
				}
			}

			// A filter: FAIL findings of one account, suppressed left out.
			filter := &reportingv1.FindingFilter{Statuses: []evaluationv1.FindingStatus{evaluationv1.FindingStatus_FINDING_STATUS_FAIL}, AccountIds: []string{"222222222222"}}
			var want int
			for _, f := range world {
				if f.GetStatus() == evaluationv1.FindingStatus_FINDING_STATUS_FAIL && f.GetAccountId() == "222222222222" && !f.GetSuppressed() {
					want++
				}
			}
			fails, total := allFindings(t, c, "sweep-1", filter, 3)
			if len(fails) != want || total != int64(want) || want == 0 {
				t.Fatalf("filtered: %d findings, total %d; want %d", len(fails), total, want)
			}

			sw, err := c.GetSweep(ctx, &reportingv1.GetSweepRequest{SweepId: "sweep-1"})
			if err != nil {
				t.Fatal(err)
			}
			if sw.GetSweep().GetState() != reportingv1.SweepState_SWEEP_STATE_RUNNING || sw.GetSweep().GetCounts().GetFindings() != int64(len(world)) {
				t.Fatalf("GetSweep = %v", sw)
			}

			// Finalize; findings that come later are refused, and nothing stored is lost.
			fin, err := c.FinalizeSweep(ctx, &reportingv1.FinalizeSweepRequest{SweepId: "sweep-1", State: reportingv1.SweepState_SWEEP_STATE_COMPLETED})
			if err != nil || fin.GetSweep().GetFinalizedAt() == nil || fin.GetSweep().GetState() != reportingv1.SweepState_SWEEP_STATE_COMPLETED {
				t.Fatalf("FinalizeSweep = %v, %v", fin, err)
			}
			late := storetest.Finding("sweep-1", "111111111111", "eu-west-1", "DPS-X-001", "arn:aws:s3:::late", "", evaluationv1.FindingStatus_FINDING_STATUS_FAIL, evaluationv1.Severity_SEVERITY_LOW, false)
			_, err = c.RecordFindings(ctx, &reportingv1.RecordFindingsRequest{SweepId: "sweep-1", Findings: []*evaluationv1.Finding{late}})
			wantCode(t, "RecordFindings after FinalizeSweep", err, codes.FailedPrecondition)
			_, err = c.FinalizeSweep(ctx, &reportingv1.FinalizeSweepRequest{SweepId: "sweep-1", State: reportingv1.SweepState_SWEEP_STATE_FAILED})
			wantCode(t, "a second final state", err, codes.FailedPrecondition)
			if _, total := allFindings(t, c, "sweep-1", &reportingv1.FindingFilter{IncludeSuppressed: true}, 100); total != int64(len(world)) {
				t.Fatalf("after refused calls the sweep holds %d findings, want %d", total, len(world))
			}

			// Sweep 2 fixes one failing finding and adds a new one: the diff is exact.
			var fixed *evaluationv1.Finding
			var second []*evaluationv1.Finding
			for _, f := range storetest.World("sweep-2") {
				if fixed == nil && f.GetStatus() == evaluationv1.FindingStatus_FINDING_STATUS_FAIL && !f.GetSuppressed() {
					fixed = proto.CloneOf(f)
					f.Status = evaluationv1.FindingStatus_FINDING_STATUS_PASS
				}
				second = append(second, f)
			}
			added := storetest.Finding("sweep-2", "333333333333", "us-east-1", "DPS-NEW-001", "arn:aws:s3:::new", "", evaluationv1.FindingStatus_FINDING_STATUS_FAIL, evaluationv1.Severity_SEVERITY_HIGH, false)
			record(t, c, "sweep-2", append(second, added))
			diff, err := c.DiffSweeps(ctx, &reportingv1.DiffSweepsRequest{BaseSweepId: "sweep-1", SweepId: "sweep-2",
				Kinds: []reportingv1.DiffKind{reportingv1.DiffKind_DIFF_KIND_NEW, reportingv1.DiffKind_DIFF_KIND_RESOLVED}})
			if err != nil {
				t.Fatal(err)
			}
			if n := diff.GetCounts(); n.GetNew() != 1 || n.GetResolved() != 1 || len(diff.GetChanges()) != 2 {
				t.Fatalf("diff counts %v, %d changes; want 1 new, 1 resolved", n, len(diff.GetChanges()))
			}
			for _, ch := range diff.GetChanges() {
				switch ch.GetKind() {
				case reportingv1.DiffKind_DIFF_KIND_NEW:
					if ch.GetFinding().GetResourceArn() != added.GetResourceArn() {
						t.Errorf("new: %v", ch.GetFinding())
					}
				case reportingv1.DiffKind_DIFF_KIND_RESOLVED:
					if ch.GetFinding().GetId() != fixed.GetId() {
						t.Errorf("resolved: %v, want %s", ch.GetFinding(), fixed.GetId())
					}
				}
			}

			sweeps, err := c.ListSweeps(ctx, &reportingv1.ListSweepsRequest{})
			if err != nil || len(sweeps.GetSweeps()) != 2 || sweeps.GetSweeps()[0].GetSweepId() != "sweep-2" {
				t.Fatalf("ListSweeps = %v, %v; want sweep-2 then sweep-1", sweeps, err)
			}

			// The log says what happened without any finding's content.
			for _, secret := range []string{world[0].GetEvidence().GetRedactedText(), world[0].GetResourceArn(), world[0].GetEvidence().GetSummary()} {
				if strings.Contains(logs.String(), secret) {
					t.Fatalf("the log holds finding content %q", secret)
				}
			}
			if !strings.Contains(logs.String(), `"msg":"findings recorded"`) {
				t.Fatalf("no record log:\n%s", logs.String())
			}
		})
	}
}

func TestBadRequestsNameTheFieldAndStoreNothing(t *testing.T) {
	t.Parallel()
	c, _ := start(t, localConfig(t, filepath.Join(t.TempDir(), "findings.db")))
	ctx := context.Background()
	world := storetest.World("s1")
	record(t, c, "s1", world[:5])

	bad := func(edit func(f *evaluationv1.Finding)) []*evaluationv1.Finding {
		fs := []*evaluationv1.Finding{proto.CloneOf(world[5]), proto.CloneOf(world[6])}
		edit(fs[1])
		return fs
	}
	cases := map[string]struct {
		req   *reportingv1.RecordFindingsRequest
		field string
	}{
		"other sweep":   {&reportingv1.RecordFindingsRequest{SweepId: "s1", Findings: bad(func(f *evaluationv1.Finding) { f.SweepId = "s2" })}, "findings[1].sweep_id"},
		"no account":    {&reportingv1.RecordFindingsRequest{SweepId: "s1", Findings: bad(func(f *evaluationv1.Finding) { f.AccountId = "" })}, "findings[1].account_id"},
		"no region":     {&reportingv1.RecordFindingsRequest{SweepId: "s1", Findings: bad(func(f *evaluationv1.Finding) { f.Region = "" })}, "findings[1].region"},
		"no control":    {&reportingv1.RecordFindingsRequest{SweepId: "s1", Findings: bad(func(f *evaluationv1.Finding) { f.ControlId = "" })}, "findings[1].control_id"},
		"no status":     {&reportingv1.RecordFindingsRequest{SweepId: "s1", Findings: bad(func(f *evaluationv1.Finding) { f.Status = 0 })}, "findings[1].status"},
		"no reason":     {&reportingv1.RecordFindingsRequest{SweepId: "s1", Findings: bad(func(f *evaluationv1.Finding) { f.Status, f.NotAssessedReason = 3, 0 })}, "findings[1].not_assessed_reason"},
		"bad sweep ID":  {&reportingv1.RecordFindingsRequest{SweepId: "../etc"}, "sweep_id"},
		"bad scope":     {&reportingv1.RecordFindingsRequest{SweepId: "s1", Assessed: []*reportingv1.AssessedScope{{AccountId: "1", Region: "eu-west-1"}}}, "assessed[0].account_id"},
		"bad scope reg": {&reportingv1.RecordFindingsRequest{SweepId: "s1", Assessed: []*reportingv1.AssessedScope{{AccountId: "111111111111", Region: "Mars"}}}, "assessed[0].region"},
	}
	for name, tc := range cases {
		_, err := c.RecordFindings(ctx, tc.req)
		wantField(t, name, err, tc.field)
	}
	if _, total := allFindings(t, c, "s1", &reportingv1.FindingFilter{IncludeSuppressed: true}, 100); total != 5 {
		t.Fatalf("after refused batches the sweep holds %d findings, want the 5 stored before", total)
	}

	_, err := c.ListFindings(ctx, &reportingv1.ListFindingsRequest{SweepId: "s1", PageToken: "not-a-token"})
	wantField(t, "bad page token", err, "page_token")
	first, err := c.ListFindings(ctx, &reportingv1.ListFindingsRequest{SweepId: "s1", PageSize: 2})
	if err != nil || first.GetNextPageToken() == "" {
		t.Fatalf("ListFindings page 1 = %v, %v", first, err)
	}
	_, err = c.ListFindings(ctx, &reportingv1.ListFindingsRequest{SweepId: "s1", PageSize: 2, PageToken: first.GetNextPageToken(),
		Filter: &reportingv1.FindingFilter{Regions: []string{"eu-west-1"}}})
	wantField(t, "a token used with another filter", err, "page_token")
	_, err = c.ListFindings(ctx, &reportingv1.ListFindingsRequest{SweepId: "s1", PageSize: 5001})
	wantField(t, "page size", err, "page_size")
	_, err = c.GetSweep(ctx, &reportingv1.GetSweepRequest{SweepId: "nope"})
	wantCode(t, "unknown sweep", err, codes.NotFound)
	_, err = c.DiffSweeps(ctx, &reportingv1.DiffSweepsRequest{BaseSweepId: "s1", SweepId: "s1"})
	wantField(t, "diff with itself", err, "base_sweep_id")
	_, err = c.DiffSweeps(ctx, &reportingv1.DiffSweepsRequest{BaseSweepId: "nope", SweepId: "s1"})
	wantCode(t, "diff with an unknown base", err, codes.NotFound)
	_, err = c.FinalizeSweep(ctx, &reportingv1.FinalizeSweepRequest{SweepId: "s1", State: reportingv1.SweepState_SWEEP_STATE_RUNNING})
	wantField(t, "RUNNING is not final", err, "state")
	_, err = c.ExportReport(ctx, &reportingv1.ExportReportRequest{SweepId: "s1", Format: reportingv1.ReportFormat_REPORT_FORMAT_CSV,
		Destination: &reportingv1.Destination{Kind: &reportingv1.Destination_File{File: &reportingv1.LocalFile{Path: "../../outside.csv"}}}})
	wantField(t, "a relative path that leaves the report directory", err, "destination.file.path")
	_, err = c.ExportReport(ctx, &reportingv1.ExportReportRequest{SweepId: "s1", Format: reportingv1.ReportFormat_REPORT_FORMAT_CSV,
		Destination: &reportingv1.Destination{Kind: &reportingv1.Destination_SecurityHub{SecurityHub: &reportingv1.SecurityHub{Region: "us-east-1"}}}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "REPORT_FORMAT_ASFF") {
		t.Fatalf("CSV to Security Hub: %v; want InvalidArgument about ASFF", err)
	}
	_, err = c.ExportReport(ctx, &reportingv1.ExportReportRequest{SweepId: "s1", Format: reportingv1.ReportFormat_REPORT_FORMAT_ASFF,
		Destination: &reportingv1.Destination{Kind: &reportingv1.Destination_SecurityHub{SecurityHub: &reportingv1.SecurityHub{Region: "us-east-1"}}},
		Filter:      &reportingv1.FindingFilter{AccountIds: []string{"111111111111"}}})
	wantField(t, "a filtered Security Hub export", err, "filter")
	_, err = c.ExportReport(ctx, &reportingv1.ExportReportRequest{SweepId: "nope", Format: reportingv1.ReportFormat_REPORT_FORMAT_CSV,
		Destination: &reportingv1.Destination{Kind: &reportingv1.Destination_File{File: &reportingv1.LocalFile{Path: "x.csv"}}}})
	wantCode(t, "export of an unknown sweep", err, codes.NotFound)
}

// TestExportToFiles writes every format to a file and checks what the
// response says against the file: path under the report directory, size,
// SHA-256 and the number of findings the file holds.
func TestExportToFiles(t *testing.T) {
	t.Parallel()
	cfg := localConfig(t, filepath.Join(t.TempDir(), "findings.db"))
	c, logs := start(t, cfg)
	ctx := context.Background()
	world := storetest.World("s1")
	record(t, c, "s1", world, &reportingv1.AssessedScope{AccountId: "111111111111", Region: "eu-west-1"})
	var unsuppressed int64
	for _, f := range world {
		if !f.GetSuppressed() {
			unsuppressed++
		}
	}
	formats := map[reportingv1.ReportFormat]struct {
		file  string
		lines func(body string) int64 // findings the file holds
	}{
		reportingv1.ReportFormat_REPORT_FORMAT_JSON: {"r/s1.jsonl", func(b string) int64 { return int64(strings.Count(b, "\n") - 1) }},
		reportingv1.ReportFormat_REPORT_FORMAT_CSV:  {"r/s1.csv", nil},
		reportingv1.ReportFormat_REPORT_FORMAT_OCSF: {"r/s1.ocsf.jsonl", func(b string) int64 { return int64(strings.Count(b, "\n")) }},
		reportingv1.ReportFormat_REPORT_FORMAT_ASFF: {"r/s1.asff.jsonl", func(b string) int64 {
			var n int64
			for _, line := range strings.Split(strings.TrimSpace(b), "\n") {
				var batch struct{ Findings []json.RawMessage }
				if err := json.Unmarshal([]byte(line), &batch); err != nil || len(batch.Findings) > 100 {
					return -1
				}
				n += int64(len(batch.Findings))
			}
			return n
		}},
		reportingv1.ReportFormat_REPORT_FORMAT_SARIF: {"r/s1.sarif", func(b string) int64 {
			var doc struct {
				Runs []struct{ Results []json.RawMessage }
			}
			if err := json.Unmarshal([]byte(b), &doc); err != nil || len(doc.Runs) != 1 {
				return -1
			}
			return int64(len(doc.Runs[0].Results))
		}},
		reportingv1.ReportFormat_REPORT_FORMAT_HTML: {"r/s1.html", nil},
	}
	for format, tc := range formats {
		resp, err := c.ExportReport(ctx, &reportingv1.ExportReportRequest{SweepId: "s1", Format: format,
			Destination: &reportingv1.Destination{Kind: &reportingv1.Destination_File{File: &reportingv1.LocalFile{Path: tc.file}}}})
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		want := filepath.Join(cfg.ReportDir, tc.file)
		if resp.GetUri() != want {
			t.Fatalf("%s: uri %q, want %q", format, resp.GetUri(), want)
		}
		body, err := os.ReadFile(want)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(body)
		if resp.GetBytesWritten() != int64(len(body)) || resp.GetSha256() != hex.EncodeToString(sum[:]) {
			t.Fatalf("%s: response says %d bytes sha256 %s; the file has %d bytes sha256 %x", format, resp.GetBytesWritten(), resp.GetSha256(), len(body), sum)
		}
		if format != reportingv1.ReportFormat_REPORT_FORMAT_SARIF && resp.GetFindingsExported() != int64(len(world)) {
			t.Fatalf("%s: %d findings exported, want all %d (no filter: suppressed ones too)", format, resp.GetFindingsExported(), len(world))
		}
		if tc.lines != nil {
			if n := tc.lines(string(body)); n != resp.GetFindingsExported() {
				t.Fatalf("%s: the file holds %d findings, the response says %d", format, n, resp.GetFindingsExported())
			}
		}
		if format == reportingv1.ReportFormat_REPORT_FORMAT_CSV && strings.Count(string(body), "\n") != len(world)+1 {
			t.Fatalf("CSV has %d lines, want header + %d", strings.Count(string(body), "\n"), len(world))
		}
		if format == reportingv1.ReportFormat_REPORT_FORMAT_HTML && !strings.Contains(string(body), "<html") {
			t.Fatalf("HTML report is not HTML: %.200s", body)
		}
	}
	// A filter narrows file exports; without include_suppressed it leaves suppressed findings out.
	resp0, err := c.ExportReport(ctx, &reportingv1.ExportReportRequest{SweepId: "s1", Format: reportingv1.ReportFormat_REPORT_FORMAT_CSV,
		Destination: &reportingv1.Destination{Kind: &reportingv1.Destination_File{File: &reportingv1.LocalFile{Path: "unsuppressed.csv"}}},
		Filter:      &reportingv1.FindingFilter{}})
	if err != nil || resp0.GetFindingsExported() != unsuppressed || unsuppressed == int64(len(world)) {
		t.Fatalf("export with an empty filter: %v, %v; want the %d unsuppressed of %d", resp0, err, unsuppressed, len(world))
	}
	resp, err := c.ExportReport(ctx, &reportingv1.ExportReportRequest{SweepId: "s1", Format: reportingv1.ReportFormat_REPORT_FORMAT_JSON,
		Destination: &reportingv1.Destination{Kind: &reportingv1.Destination_File{File: &reportingv1.LocalFile{Path: filepath.Join(t.TempDir(), "abs.jsonl")}}},
		Filter:      &reportingv1.FindingFilter{AccountIds: []string{"111111111111"}, IncludeSuppressed: true}})
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	for _, f := range world {
		if f.GetAccountId() == "111111111111" {
			want++
		}
	}
	if resp.GetFindingsExported() != want || !filepath.IsAbs(resp.GetUri()) {
		t.Fatalf("filtered export: %v; want %d findings at an absolute path", resp, want)
	}
	if !strings.Contains(logs.String(), `"msg":"report exported"`) {
		t.Fatalf("no export log:\n%s", logs.String())
	}
	// No temporary files are left beside the reports.
	entries, _ := os.ReadDir(filepath.Join(cfg.ReportDir, "r"))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".dpsweep-report-") {
			t.Fatalf("temporary file left behind: %s", e.Name())
		}
	}
}

// simEnv is a simulated organization and a reporting service whose AWS
// calls go to it with the management account's credentials.
type simEnv struct {
	sim  *awssim.Sim
	c    reportingv1.ReportingServiceClient
	mgmt string
	cfg  aws.Config
}

func newSimEnv(t *testing.T, edit ...func(*Config)) *simEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	o := world.DefaultGenOptions()
	o.Accounts, o.Seed = 3, 5
	sim, err := awssim.Start(ctx, awssim.Config{Gen: o})
	if err != nil {
		t.Fatal(err)
	}
	// Stopped before the test ends, not when the context's goroutine gets
	// to it: goleak checks for the simulator's connections right after.
	t.Cleanup(func() { _ = sim.Close() })
	ak, sk := sim.Credentials()
	creds := credentials.NewStaticCredentialsProvider(ak, sk, "")
	cfg := localConfig(t, filepath.Join(t.TempDir(), "findings.db"))
	cfg.EndpointURL, cfg.Credentials = sim.URL, creds
	for _, e := range edit {
		e(&cfg)
	}
	c, _ := start(t, cfg)
	return &simEnv{sim: sim, c: c, mgmt: sim.World.ManagementAccount,
		cfg: aws.Config{Region: "us-east-1", Credentials: creds, BaseEndpoint: aws.String(sim.URL)}}
}

func TestExportToS3WithSSEKMS(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t)
	ctx := context.Background()
	acct, ok := e.sim.World.Account(e.mgmt)
	if !ok || len(acct.Buckets) == 0 {
		t.Fatalf("the management account has no bucket to write to")
	}
	bucket := acct.Buckets[0]
	record(t, e.c, "s1", storetest.World("s1"))
	const key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	resp, err := e.c.ExportReport(ctx, &reportingv1.ExportReportRequest{SweepId: "s1", Format: reportingv1.ReportFormat_REPORT_FORMAT_SARIF,
		Destination: &reportingv1.Destination{Kind: &reportingv1.Destination_S3{S3: &reportingv1.S3Object{Bucket: bucket.Name, Key: "reports/s1.sarif", KmsKeyId: key, Region: bucket.Region}}}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetUri() != "s3://"+bucket.Name+"/reports/s1.sarif" {
		t.Fatalf("uri %q", resp.GetUri())
	}
	client := s3.NewFromConfig(e.cfg, func(o *s3.Options) { o.UsePathStyle, o.Region = true, bucket.Region })
	obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket.Name), Key: aws.String("reports/s1.sarif")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	sum := sha256.Sum256(body)
	if string(obj.ServerSideEncryption) != "aws:kms" || aws.ToString(obj.SSEKMSKeyId) != key {
		t.Fatalf("object stored with %q key %q; want aws:kms with %s", obj.ServerSideEncryption, aws.ToString(obj.SSEKMSKeyId), key)
	}
	if hex.EncodeToString(sum[:]) != resp.GetSha256() || int64(len(body)) != resp.GetBytesWritten() || aws.ToString(obj.ContentType) != "application/sarif+json" {
		t.Fatalf("object: %d bytes, %s; response %v", len(body), aws.ToString(obj.ContentType), resp)
	}
	_, err = e.c.ExportReport(ctx, &reportingv1.ExportReportRequest{SweepId: "s1", Format: reportingv1.ReportFormat_REPORT_FORMAT_CSV,
		Destination: &reportingv1.Destination{Kind: &reportingv1.Destination_S3{S3: &reportingv1.S3Object{Bucket: "no-such-bucket-here", Key: "r.csv"}}}})
	wantCode(t, "a bucket that does not exist", err, codes.FailedPrecondition)
	if strings.Contains(err.Error(), e.mgmt) {
		t.Fatalf("the error names the account: %v", err)
	}
}

func TestExportToSecurityHub(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, func(c *Config) { c.SecurityHubRole = "dpsweep-readonly" })
	ctx := context.Background()
	// Two member accounts and the management account (imported with the service's own credentials).
	accounts := []string{e.sim.World.Accounts[1].ID, e.sim.World.Accounts[2].ID, e.mgmt}
	fs, scopes := hubFindings(accounts)
	record(t, e.c, "s1", fs, scopes...)
	resp, err := e.c.ExportReport(ctx, &reportingv1.ExportReportRequest{SweepId: "s1", Format: reportingv1.ReportFormat_REPORT_FORMAT_ASFF,
		Destination: &reportingv1.Destination{Kind: &reportingv1.Destination_SecurityHub{SecurityHub: &reportingv1.SecurityHub{Region: "us-east-1"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetFindingsExported() != int64(len(fs)) {
		t.Fatalf("response %v; want %d findings (suppressed ones included)", resp, len(fs))
	}
	// Each account's findings sit under its own default product, in its own Security Hub.
	for _, acct := range accounts {
		cfg := e.cfg.Copy()
		if acct != e.mgmt {
			cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(e.cfg), "arn:aws:iam::"+acct+":role/dpsweep-readonly"))
		}
		hub := securityhub.NewFromConfig(cfg)
		product := "arn:aws:securityhub:us-east-1:" + acct + ":product/" + acct + "/default"
		p := securityhub.NewGetFindingsPaginator(hub, &securityhub.GetFindingsInput{Filters: &shtypes.AwsSecurityFindingFilters{
			ProductArn: []shtypes.StringFilter{{Value: aws.String(product), Comparison: shtypes.StringFilterComparisonEquals}}}})
		n, suppressed := 0, 0
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range page.Findings {
				n++
				if aws.ToString(f.AwsAccountId) != acct {
					t.Fatalf("finding of %s under %s's product", aws.ToString(f.AwsAccountId), acct)
				}
				if f.Workflow != nil && f.Workflow.Status == shtypes.WorkflowStatusSuppressed {
					suppressed++
				}
			}
		}
		if n != len(fs)/len(accounts) || suppressed != 3*7 {
			t.Fatalf("account %s: Security Hub holds %d findings (%d suppressed); want %d (%d)", acct, n, suppressed, len(fs)/len(accounts), 3*7)
		}
	}
}

func TestSecurityHubNeedsARoleForMemberAccounts(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t)
	fs, scopes := hubFindings([]string{e.sim.World.Accounts[1].ID})
	record(t, e.c, "s1", fs, scopes...)
	_, err := e.c.ExportReport(context.Background(), &reportingv1.ExportReportRequest{SweepId: "s1", Format: reportingv1.ReportFormat_REPORT_FORMAT_ASFF,
		Destination: &reportingv1.Destination{Kind: &reportingv1.Destination_SecurityHub{SecurityHub: &reportingv1.SecurityHub{Region: "us-east-1"}}}})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "--security-hub-role") {
		t.Fatalf("member account without a role: %v; want FailedPrecondition naming --security-hub-role", err)
	}
}

// hubFindings are 70 findings per account and region (us-east-1, eu-west-1,
// global), every third passing, every tenth suppressed, with their scopes.
func hubFindings(accounts []string) ([]*evaluationv1.Finding, []*reportingv1.AssessedScope) {
	var fs []*evaluationv1.Finding
	var scopes []*reportingv1.AssessedScope
	for _, a := range accounts {
		for i, region := range []string{"us-east-1", "eu-west-1", "global"} {
			scopes = append(scopes, &reportingv1.AssessedScope{AccountId: a, Region: region})
			for j := range 70 {
				st := evaluationv1.FindingStatus_FINDING_STATUS_FAIL
				if j%3 == 0 {
					st = evaluationv1.FindingStatus_FINDING_STATUS_PASS
				}
				fs = append(fs, storetest.Finding("s1", a, region, "DPS-TLS-001", "arn:aws:s3:::b-"+a+"-"+string(rune('a'+i))+"-"+itoa(j), "", st, evaluationv1.Severity_SEVERITY_HIGH, j%10 == 0))
			}
		}
	}
	return fs, scopes
}

func itoa(i int) string {
	return string([]byte{byte('0' + i/10), byte('0' + i%10)})
}

func TestConfigErrorsNameTheFlag(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		edit func(*Config)
		want string
	}{
		"store scheme": {func(c *Config) { c.Database = "mysql://db/findings" }, `--database: store: unsupported store URL scheme "mysql"`},
		"sqlite dir":   {func(c *Config) { c.Database = filepath.Join(t.TempDir(), "missing", "findings.db") }, "--database"},
		"history":      {func(c *Config) { c.History = -1 }, "--history must be between 0 and 1000"},
		"endpoint":     {func(c *Config) { c.EndpointURL = "127.0.0.1:4566" }, "--endpoint-url"},
		"product ARN":  {func(c *Config) { c.SecurityHubProductARN = "default" }, "--security-hub-product-arn"},
		"no region":    {func(c *Config) { c.Region = "" }, "--region is required"},
		"report dir":   {func(c *Config) { c.ReportDir = "/proc/dpsweep-reports" }, "--report-dir"},
	} {
		cfg := localConfig(t, filepath.Join(t.TempDir(), "findings.db"))
		tc.edit(&cfg)
		_, cleanup, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
		if err == nil {
			cleanup()
			t.Errorf("%s: New succeeded; want an error with %q", name, tc.want)
		} else if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want %q", name, err, tc.want)
		}
	}
}

func TestKeyValueDSNOpensPostgres(t *testing.T) {
	t.Parallel()
	cfg := localConfig(t, "host=127.0.0.1 port=1 dbname=dpsweep_nowhere user=dpsweep sslmode=disable connect_timeout=1")
	_, cleanup, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err == nil {
		cleanup()
		t.Fatal("a key=value DSN to a closed port opened a store")
	}
	if !strings.Contains(err.Error(), "postgres") && !strings.Contains(err.Error(), "127.0.0.1") {
		t.Fatalf("error %v does not say it tried PostgreSQL", err)
	}
	if _, statErr := os.Stat("host=127.0.0.1 port=1 dbname=dpsweep_nowhere user=dpsweep sslmode=disable connect_timeout=1"); statErr == nil {
		t.Fatal("a key=value DSN was opened as a SQLite file")
	}
}
