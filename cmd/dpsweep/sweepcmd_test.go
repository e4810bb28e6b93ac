package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	sweepv1 "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
	"github.com/dpsweep/dpsweep/services/platform/server"
)

// fakeSweeps is a SweepService that records what it receives. It is served
// by the platform server, so the API's validation rules run for real.
type fakeSweeps struct {
	sweepv1.UnimplementedSweepServiceServer
	mu   sync.Mutex
	reqs []proto.Message
	// states are what GetSweep returns for a sweep, one after another (the
	// last one repeats).
	states map[string][]*sweepv1.Sweep
	// list is what ListSweeps pages through, two sweeps a page.
	list      []*sweepv1.Sweep
	schedules map[string]*sweepv1.Schedule
}

func newFake() *fakeSweeps {
	return &fakeSweeps{states: map[string][]*sweepv1.Sweep{}, schedules: map[string]*sweepv1.Schedule{}}
}

func (f *fakeSweeps) record(m proto.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, proto.Clone(m))
}

// received returns the requests of one type.
func received[T proto.Message](f *fakeSweeps) []T {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []T
	for _, r := range f.reqs {
		if t, ok := r.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

func (f *fakeSweeps) StartSweep(_ context.Context, req *sweepv1.StartSweepRequest) (*sweepv1.StartSweepResponse, error) {
	f.record(req)
	id := req.GetSweepId()
	switch id {
	case "":
		id = "20261124-0330-3f9a1c"
	case "taken":
		return nil, status.Errorf(codes.AlreadyExists, "sweep %q already exists; choose another sweep_id or leave it empty", id)
	}
	return &sweepv1.StartSweepResponse{Sweep: &sweepv1.Sweep{SweepId: id, WorkflowId: "sweep/" + id, State: sweepv1.SweepState_SWEEP_STATE_RUNNING, Spec: req.GetSpec()}}, nil
}

func (f *fakeSweeps) GetSweep(_ context.Context, req *sweepv1.GetSweepRequest) (*sweepv1.GetSweepResponse, error) {
	f.record(req)
	f.mu.Lock()
	defer f.mu.Unlock()
	seq := f.states[req.GetSweepId()]
	if len(seq) == 0 {
		return nil, status.Errorf(codes.NotFound, "no sweep %q", req.GetSweepId())
	}
	sw := seq[0]
	if len(seq) > 1 {
		f.states[req.GetSweepId()] = seq[1:]
	}
	return &sweepv1.GetSweepResponse{Sweep: sw}, nil
}

func (f *fakeSweeps) CancelSweep(_ context.Context, req *sweepv1.CancelSweepRequest) (*sweepv1.CancelSweepResponse, error) {
	f.record(req)
	return &sweepv1.CancelSweepResponse{Sweep: &sweepv1.Sweep{SweepId: req.GetSweepId(), State: sweepv1.SweepState_SWEEP_STATE_RUNNING}}, nil
}

func (f *fakeSweeps) ListSweeps(_ context.Context, req *sweepv1.ListSweepsRequest) (*sweepv1.ListSweepsResponse, error) {
	f.record(req)
	off := 0
	if req.GetPageToken() != "" {
		off, _ = strconv.Atoi(req.GetPageToken())
	}
	end := min(off+2, len(f.list), off+int(req.GetPageSize()))
	resp := &sweepv1.ListSweepsResponse{}
	for _, sw := range f.list[off:end] {
		// Like the service: no progress in a listing.
		resp.Sweeps = append(resp.Sweeps, &sweepv1.Sweep{SweepId: sw.GetSweepId(), State: sw.GetState(), StartTime: sw.GetStartTime(),
			WorkflowId: sw.GetWorkflowId(), Progress: &sweepv1.SweepProgress{}})
	}
	if end < len(f.list) {
		resp.NextPageToken = strconv.Itoa(end)
	}
	return resp, nil
}

var nextRun = timestamppb.New(time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC))

func (f *fakeSweeps) CreateSchedule(_ context.Context, req *sweepv1.CreateScheduleRequest) (*sweepv1.CreateScheduleResponse, error) {
	f.record(req)
	sc := &sweepv1.Schedule{ScheduleId: req.GetScheduleId(), Spec: req.GetSpec(), CronExpressions: req.GetCronExpressions(), Interval: req.GetInterval(),
		Paused: req.GetPaused(), NextRuns: []*timestamppb.Timestamp{nextRun}}
	f.mu.Lock()
	f.schedules[sc.GetScheduleId()] = sc
	f.mu.Unlock()
	return &sweepv1.CreateScheduleResponse{Schedule: sc}, nil
}

func (f *fakeSweeps) schedule(id string) (*sweepv1.Schedule, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sc, ok := f.schedules[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "get schedule: schedule not found")
	}
	return sc, nil
}

func (f *fakeSweeps) GetSchedule(_ context.Context, req *sweepv1.GetScheduleRequest) (*sweepv1.GetScheduleResponse, error) {
	f.record(req)
	sc, err := f.schedule(req.GetScheduleId())
	return &sweepv1.GetScheduleResponse{Schedule: sc}, err
}

func (f *fakeSweeps) ListSchedules(_ context.Context, req *sweepv1.ListSchedulesRequest) (*sweepv1.ListSchedulesResponse, error) {
	f.record(req)
	f.mu.Lock()
	defer f.mu.Unlock()
	resp := &sweepv1.ListSchedulesResponse{}
	for _, id := range []string{"hourly", "nightly"} {
		if sc, ok := f.schedules[id]; ok {
			resp.Schedules = append(resp.Schedules, sc)
		}
	}
	return resp, nil
}

func (f *fakeSweeps) PauseSchedule(_ context.Context, req *sweepv1.PauseScheduleRequest) (*sweepv1.PauseScheduleResponse, error) {
	f.record(req)
	sc, err := f.schedule(req.GetScheduleId())
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	sc.Paused, sc.Note = req.GetPaused(), req.GetNote()
	f.mu.Unlock()
	return &sweepv1.PauseScheduleResponse{Schedule: sc}, nil
}

func (f *fakeSweeps) TriggerSchedule(_ context.Context, req *sweepv1.TriggerScheduleRequest) (*sweepv1.TriggerScheduleResponse, error) {
	f.record(req)
	_, err := f.schedule(req.GetScheduleId())
	return &sweepv1.TriggerScheduleResponse{}, err
}

func (f *fakeSweeps) DeleteSchedule(_ context.Context, req *sweepv1.DeleteScheduleRequest) (*sweepv1.DeleteScheduleResponse, error) {
	f.record(req)
	if _, err := f.schedule(req.GetScheduleId()); err != nil {
		return nil, err
	}
	f.mu.Lock()
	delete(f.schedules, req.GetScheduleId())
	f.mu.Unlock()
	return &sweepv1.DeleteScheduleResponse{}, nil
}

// serve runs register's services on a real 127.0.0.1 listener through the
// platform server (validation, error details) and returns the address.
func serve(t *testing.T, register server.RegisterFunc) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{Addr: lis.Addr().String(), LogFormat: "json", LogLevel: "error", MaxRecvMsgBytes: server.DefaultMaxRecvMsgBytes,
		MaxSendMsgBytes: server.DefaultMaxSendMsgBytes, ShutdownTimeout: 5 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.ServeListener(ctx, lis, cfg, slog.New(slog.DiscardHandler), register) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return lis.Addr().String()
}

func serveFake(t *testing.T, f *fakeSweeps) string {
	return serve(t, func(_ context.Context, s *grpc.Server, _ *slog.Logger) (func(), error) {
		sweepv1.RegisterSweepServiceServer(s, f)
		return nil, nil
	})
}

// cli runs dpsweep with args.
func cli(args ...string) (stdout, stderr string, err error) {
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = realMain(ctx, args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func wantErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %v, want one containing %q", err, want)
	}
}

func equalProto(t *testing.T, what string, got, want proto.Message) {
	t.Helper()
	if !proto.Equal(got, want) {
		t.Errorf("%s:\n got  %v\n want %v", what, protojson.Format(got), protojson.Format(want))
	}
}

const fileSpec = `# a spec in YAML, snake_case and JSON names mixed
regions: [us-east-1, eu-west-1]
include_account_ids:
  - 012345678901
  - "111122223333"
excludeAccountIds: [222233334444]
include_ou_ids: [ou-ab12-cdef3456]
exclude_ou_ids: r-ab12
include_tags: {env: prod, team: ""}
exclude_tags:
  - key: lifecycle
    value: retired
  - sandbox
role_name: dpsweep-readonly
externalId: ext-123
maxConcurrentAccounts: 20
api_requests_per_second: 5.5
use_fips_endpoints: true
control_ids: [DPS-TLS-001]
lookup_events_window: 48h
report_formats: [html, REPORT_FORMAT_SARIF]
`

func TestSweepStartSpecFromFileAndFlags(t *testing.T) {
	t.Parallel()
	fromFile := &sweepv1.SweepSpec{
		Regions: []string{"us-east-1", "eu-west-1"}, IncludeAccountIds: []string{"012345678901", "111122223333"}, ExcludeAccountIds: []string{"222233334444"},
		IncludeOuIds: []string{"ou-ab12-cdef3456"}, ExcludeOuIds: []string{"r-ab12"},
		IncludeTags: []*sweepv1.Tag{{Key: "env", Value: "prod"}, {Key: "team"}}, ExcludeTags: []*sweepv1.Tag{{Key: "lifecycle", Value: "retired"}, {Key: "sandbox"}},
		RoleName: "dpsweep-readonly", ExternalId: "ext-123", MaxConcurrentAccounts: 20, ApiRequestsPerSecond: 5.5, UseFipsEndpoints: true,
		ControlIds: []string{"DPS-TLS-001"}, LookupEventsWindow: durationpb.New(48 * time.Hour),
		ReportFormats: []reportingv1.ReportFormat{reportingv1.ReportFormat_REPORT_FORMAT_HTML, reportingv1.ReportFormat_REPORT_FORMAT_SARIF},
	}
	yamlFile := writeFile(t, "sweep.yaml", fileSpec)
	jsonFile := writeFile(t, "sweep.json", `{"regions": ["us-east-1"], "includeAccountIds": [111122223333], "include_tags": [{"key": "env", "value": "prod"}],
		"reportFormats": ["REPORT_FORMAT_HTML", 3], "lookupEventsWindow": "86400s", "useFipsEndpoints": true, "apiRequestsPerSecond": 2}`)
	tests := map[string]struct {
		args []string
		want *sweepv1.StartSweepRequest
	}{
		"flags only": {
			args: []string{"--regions", "us-east-1, eu-west-1", "--regions", "ap-southeast-2", "--include-accounts", "111122223333", "--exclude-ous", "ou-ab12-cdef3456",
				"--include-tags", "env=prod,owner", "--role-name", "Scanner", "--external-id", "x", "--max-concurrent-accounts", "5",
				"--requests-per-second", "2.5", "--fips", "--controls", "DPS-KMS-001", "--formats", "html,sarif,csv", "--lookup-events-window", "1h"},
			want: &sweepv1.StartSweepRequest{Spec: &sweepv1.SweepSpec{Regions: []string{"us-east-1", "eu-west-1", "ap-southeast-2"},
				IncludeAccountIds: []string{"111122223333"}, ExcludeOuIds: []string{"ou-ab12-cdef3456"},
				IncludeTags: []*sweepv1.Tag{{Key: "env", Value: "prod"}, {Key: "owner"}}, RoleName: "Scanner", ExternalId: "x",
				MaxConcurrentAccounts: 5, ApiRequestsPerSecond: 2.5, UseFipsEndpoints: true, ControlIds: []string{"DPS-KMS-001"},
				ReportFormats: []reportingv1.ReportFormat{reportingv1.ReportFormat_REPORT_FORMAT_HTML, reportingv1.ReportFormat_REPORT_FORMAT_SARIF,
					reportingv1.ReportFormat_REPORT_FORMAT_CSV}, LookupEventsWindow: durationpb.New(time.Hour)}},
		},
		"no flags: an empty spec": {want: &sweepv1.StartSweepRequest{Spec: &sweepv1.SweepSpec{}}},
		"the YAML file as written": {
			args: []string{"--config", yamlFile, "--sweep-id", "weekly-1"},
			want: &sweepv1.StartSweepRequest{SweepId: "weekly-1", Spec: fromFile},
		},
		"flags override the file's fields, lists replaced": {
			args: []string{"--config", yamlFile, "--regions", "ap-southeast-2", "--fips=false", "--formats", "csv", "--max-concurrent-accounts", "0",
				"--include-tags", "", "--role-name", "other"},
			want: func() *sweepv1.StartSweepRequest {
				s := proto.CloneOf(fromFile)
				s.Regions, s.UseFipsEndpoints, s.MaxConcurrentAccounts, s.IncludeTags, s.RoleName = []string{"ap-southeast-2"}, false, 0, []*sweepv1.Tag{}, "other"
				s.ReportFormats = []reportingv1.ReportFormat{reportingv1.ReportFormat_REPORT_FORMAT_CSV}
				return &sweepv1.StartSweepRequest{Spec: s}
			}(),
		},
		"a JSON file": {
			args: []string{"--config", jsonFile},
			want: &sweepv1.StartSweepRequest{Spec: &sweepv1.SweepSpec{Regions: []string{"us-east-1"}, IncludeAccountIds: []string{"111122223333"},
				IncludeTags: []*sweepv1.Tag{{Key: "env", Value: "prod"}}, UseFipsEndpoints: true, ApiRequestsPerSecond: 2,
				ReportFormats:      []reportingv1.ReportFormat{reportingv1.ReportFormat_REPORT_FORMAT_HTML, reportingv1.ReportFormat_REPORT_FORMAT_SARIF},
				LookupEventsWindow: durationpb.New(24 * time.Hour)}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFake()
			addr := serveFake(t, f)
			out, _, err := cli(append([]string{"sweep", "start", "--addr", addr}, tc.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			got := received[*sweepv1.StartSweepRequest](f)
			if len(got) != 1 {
				t.Fatalf("StartSweep called %d times", len(got))
			}
			equalProto(t, "StartSweepRequest", got[0], tc.want)
			id := tc.want.GetSweepId()
			if id == "" {
				id = "20261124-0330-3f9a1c"
			}
			if want := fmt.Sprintf("Sweep %s started (workflow sweep/%s).\n", id, id); !strings.HasPrefix(out, want) {
				t.Errorf("stdout %q, want it to start with %q", out, want)
			}
		})
	}
}

// TestSweepStartExampleConfig sends deploy/config/sweep.example.yaml through
// the API's validation rules.
func TestSweepStartExampleConfig(t *testing.T) {
	t.Parallel()
	f := newFake()
	addr := serveFake(t, f)
	if _, _, err := cli("sweep", "start", "--addr", addr, "--config", "../../deploy/config/sweep.example.yaml"); err != nil {
		t.Fatal(err)
	}
	spec := received[*sweepv1.StartSweepRequest](f)[0].GetSpec()
	if spec.GetRoleName() != "dpsweep-readonly" || len(spec.GetRegions()) == 0 || len(spec.GetIncludeOuIds()) == 0 || len(spec.GetReportFormats()) == 0 ||
		spec.GetExcludeAccountIds()[0] != "999988887777" || spec.GetIncludeTags()[0].GetKey() != "data-classification" {
		t.Errorf("spec of the example: %v", spec)
	}
}

func TestSweepStartErrors(t *testing.T) {
	t.Parallel()
	f := newFake()
	addr := serveFake(t, f)
	badYAML := writeFile(t, "bad.yaml", "regions: [us-east-1\n")
	unknown := writeFile(t, "unknown.yaml", "regions: [us-east-1]\nregoins: [eu-west-1]\n")
	badInt := writeFile(t, "int.yaml", "\nmax_concurrent_accounts: many\n")
	badList := writeFile(t, "list.yaml", "regions:\n  - [us-east-1]\n")
	badFormat := writeFile(t, "format.yaml", "report_formats: [pdf]\n")
	dup := writeFile(t, "dup.yaml", "role_name: a\nroleName: b\n")
	tests := map[string]struct {
		args []string
		want string
	}{
		"bad regions are InvalidArgument naming each field": {
			args: []string{"--regions", "EU-WEST-1,us-east-1", "--include-accounts", "12345"},
			want: `sweep start: InvalidArgument: spec.include_account_ids[0]: does not match regex pattern ` + "`^[0-9]{12}$`" +
				`; spec.regions[0]: does not match regex pattern`,
		},
		"a bad sweep ID":                   {args: []string{"--sweep-id", "-x"}, want: "sweep start: InvalidArgument: sweep_id: does not match regex pattern"},
		"concurrency over the API's limit": {args: []string{"--max-concurrent-accounts", "5000"}, want: "InvalidArgument: spec.max_concurrent_accounts: must be greater than or equal to 0 and less than or equal to 1000"},
		"an existing sweep ID":             {args: []string{"--sweep-id", "taken"}, want: `sweep start: AlreadyExists: sweep "taken" already exists; choose another sweep_id or leave it empty`},
		"an unknown format flag":           {args: []string{"--formats", "html,pdf"}, want: `sweep start: --formats: unknown value "pdf"; want json, csv, sarif, ocsf, asff or html`},
		"a missing config file":            {args: []string{"--config", "/nonexistent/sweep.yaml"}, want: "sweep start: --config: open /nonexistent/sweep.yaml: no such file"},
		"a YAML syntax error":              {args: []string{"--config", badYAML}, want: "sweep start: " + badYAML + ": yaml: line 1: did not find expected ',' or ']'"},
		"an unknown field":                 {args: []string{"--config", unknown}, want: unknown + `:2: unknown field "regoins"; known fields: include_account_ids, exclude_account_ids,`},
		"a word for a number":              {args: []string{"--config", badInt}, want: badInt + `:2: max_concurrent_accounts: "many" is not a whole number`},
		"a list in a list":                 {args: []string{"--config", badList}, want: badList + ":2: regions[0]: want a single value, not a list"},
		"an unknown format in the file":    {args: []string{"--config", badFormat}, want: badFormat + `:1: report_formats[0]: unknown value "pdf"`},
		"a field twice":                    {args: []string{"--config", dup}, want: dup + `:2: "roleName" repeats "role_name"`},
		"an argument":                      {args: []string{"nightly"}, want: `sweep start: unexpected argument "nightly": the command takes flags only (a sweep ID goes in --sweep-id)`},
		"a bad flag value":                 {args: []string{"--requests-per-second", "fast"}, want: `invalid value "fast" for flag -requests-per-second`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, _, err := cli(append([]string{"sweep", "start", "--addr", addr}, tc.args...)...)
			wantErr(t, err, tc.want)
		})
	}
}

// progressed is a sweep with its progress.
func progressed(id string, state sweepv1.SweepState, done, total, findings, fail int64, reports ...string) *sweepv1.Sweep {
	return &sweepv1.Sweep{SweepId: id, WorkflowId: "sweep/" + id, State: state, StartTime: timestamppb.New(time.Date(2026, 11, 24, 3, 30, 0, 0, time.UTC)),
		Progress: &sweepv1.SweepProgress{AccountsTotal: total, AccountsDone: done, RegionsDone: done * 4, Counts: &reportingv1.SweepCounts{Findings: findings, Fail: fail,
			Pass: findings - fail, FailBySeverity: []*reportingv1.SeverityCount{{Severity: evaluationv1.Severity_SEVERITY_HIGH, Count: fail}}}},
		ReportUris: reports}
}

func TestSweepStartWait(t *testing.T) {
	t.Parallel()
	const (
		running   = sweepv1.SweepState_SWEEP_STATE_RUNNING
		completed = sweepv1.SweepState_SWEEP_STATE_COMPLETED
		cancelled = sweepv1.SweepState_SWEEP_STATE_CANCELLED
	)
	f := newFake()
	f.states["done-1"] = []*sweepv1.Sweep{progressed("done-1", running, 1, 3, 10, 2), progressed("done-1", completed, 3, 3, 40, 7, "/data/reports/done-1/done-1.html", "/data/reports/done-1/done-1.sarif")}
	f.states["stopped-1"] = []*sweepv1.Sweep{progressed("stopped-1", cancelled, 2, 3, 20, 1, "/data/reports/stopped-1/stopped-1.html")}
	addr := serveFake(t, f)

	out, _, err := cli("sweep", "start", "--addr", addr, "--sweep-id", "done-1", "--wait")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Sweep done-1 started (workflow sweep/done-1).\n", "accounts 3/3  scans 12  findings 40 (failing 7)",
		"Sweep done-1 completed: 3 accounts", "Open failures by severity: high 7.", "Report: /data/reports/done-1/done-1.html\nReport: /data/reports/done-1/done-1.sarif\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}

	out, _, err = cli("sweep", "start", "--addr", addr, "--sweep-id", "stopped-1", "--wait")
	wantErr(t, err, "sweep start: sweep stopped-1 ended cancelled, not completed")
	if !strings.Contains(out, "Report: /data/reports/stopped-1/stopped-1.html") {
		t.Errorf("a cancelled sweep's partial report is not shown:\n%s", out)
	}

	// status --wait follows a sweep started earlier; a sweep that is gone is NotFound.
	_, _, err = cli("sweep", "status", "--addr", addr, "--wait", "nope")
	wantErr(t, err, `sweep status: sweep nope: NotFound: no sweep "nope"`)
}

func TestSweepStatusAndCancel(t *testing.T) {
	t.Parallel()
	f := newFake()
	sw := progressed("s-1", sweepv1.SweepState_SWEEP_STATE_COMPLETED, 3, 3, 40, 7, "/r/s-1.html")
	sw.CloseTime = timestamppb.New(sw.GetStartTime().AsTime().Add(95 * time.Second))
	sw.ScheduleId = "nightly"
	sw.Spec = &sweepv1.SweepSpec{Regions: []string{"us-east-1"}, IncludeTags: []*sweepv1.Tag{{Key: "env", Value: "prod"}}, ExternalId: "secret-ish",
		ReportFormats: []reportingv1.ReportFormat{reportingv1.ReportFormat_REPORT_FORMAT_HTML}}
	f.states["s-1"] = []*sweepv1.Sweep{sw}
	addr := serveFake(t, f)

	out, _, err := cli("sweep", "status", "s-1", "--addr", addr)
	if err != nil {
		t.Fatal(err)
	}
	want := `Sweep          s-1
State          completed
Workflow       sweep/s-1
Schedule       nightly
Started        2026-11-24T03:30:00Z
Ended          2026-11-24T03:31:35Z (after 1m35s)
Accounts       3 of 3 done, 0 not fully assessed
Scans          12 done, 0 errors
Findings       40: failing 7, passing 33, not assessed 0, suppressed 0
Open failures  high 7
Regions        us-east-1
Tags           env=prod
ExternalId     set
Formats        html
Report         /r/s-1.html
`
	if out != want {
		t.Errorf("status:\n%s\nwant:\n%s", out, want)
	}

	out, _, err = cli("sweep", "status", "--json", "--addr", addr, "s-1")
	if err != nil {
		t.Fatal(err)
	}
	var got sweepv1.Sweep
	if err := protojson.Unmarshal([]byte(out), &got); err != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("--json printed %q: %v", out, err)
	}
	equalProto(t, "status --json", &got, sw)

	_, _, err = cli("sweep", "status", "--addr", addr, "missing")
	wantErr(t, err, `sweep status: NotFound: no sweep "missing"`)
	_, _, err = cli("sweep", "status", "--addr", addr)
	wantErr(t, err, "sweep status: a sweep ID is required: dpsweep sweep status [flags] SWEEP_ID")
	_, _, err = cli("sweep", "status", "--addr", addr, "a", "b")
	wantErr(t, err, `sweep status: one sweep ID expected, got 2 arguments: ["a" "b"]`)

	out, _, err = cli("sweep", "cancel", "s-1", "--reason", "maintenance window", "--addr", addr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Cancellation of sweep s-1 requested") {
		t.Errorf("cancel printed %q", out)
	}
	equalProto(t, "CancelSweepRequest", received[*sweepv1.CancelSweepRequest](f)[0], &sweepv1.CancelSweepRequest{SweepId: "s-1", Reason: "maintenance window"})
	_, _, err = cli("sweep", "cancel", "--addr", addr, "--reason", strings.Repeat("x", 1025), "s-1")
	wantErr(t, err, "sweep cancel: InvalidArgument: reason: must be at most 1024 characters")
}

func TestSweepList(t *testing.T) {
	t.Parallel()
	f := newFake()
	start := time.Date(2026, 11, 24, 3, 30, 0, 0, time.UTC)
	for i, id := range []string{"s-3", "s-2", "gone", "s-1"} {
		sw := progressed(id, sweepv1.SweepState_SWEEP_STATE_COMPLETED, int64(10-i), 10, int64(100*(i+1)), int64(i))
		sw.StartTime = timestamppb.New(start.Add(-time.Duration(i) * 24 * time.Hour))
		f.list = append(f.list, sw)
		if id != "gone" {
			f.states[id] = []*sweepv1.Sweep{sw}
		}
	}
	f.list[0].State, f.states["s-3"][0].State = sweepv1.SweepState_SWEEP_STATE_RUNNING, sweepv1.SweepState_SWEEP_STATE_RUNNING
	addr := serveFake(t, f)

	out, _, err := cli("sweep", "list", "--addr", addr, "--state", "canceled", "--schedule", "nightly", "--limit", "0")
	if err != nil {
		t.Fatal(err)
	}
	want := `ID    STATE      ACCOUNTS  FINDINGS  FAILING  STARTED
s-3   running    10/10     100       0        2026-11-24 03:30Z
s-2   completed  9/10      200       1        2026-11-23 03:30Z
gone  completed  -         -         -        2026-11-22 03:30Z
s-1   completed  7/10      400       3        2026-11-21 03:30Z
`
	if out != want {
		t.Errorf("list:\n%s\nwant:\n%s", out, want)
	}
	lists := received[*sweepv1.ListSweepsRequest](f)
	if len(lists) != 2 {
		t.Fatalf("ListSweeps called %d times, want 2 pages", len(lists))
	}
	equalProto(t, "first ListSweepsRequest", lists[0], &sweepv1.ListSweepsRequest{PageSize: 100, State: sweepv1.SweepState_SWEEP_STATE_CANCELLED, ScheduleId: "nightly"})
	equalProto(t, "second ListSweepsRequest", lists[1], &sweepv1.ListSweepsRequest{PageSize: 100, State: sweepv1.SweepState_SWEEP_STATE_CANCELLED, ScheduleId: "nightly", PageToken: "2"})

	out, _, err = cli("sweep", "list", "--addr", addr, "--limit", "1", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var sw sweepv1.Sweep
	if err := protojson.Unmarshal([]byte(out), &sw); err != nil || sw.GetSweepId() != "s-3" || sw.GetProgress().GetAccountsTotal() != 10 {
		t.Errorf("list --json --limit 1 printed %q (%v)", out, err)
	}

	_, _, err = cli("sweep", "list", "--addr", addr, "--state", "done")
	wantErr(t, err, `sweep list: --state: unknown value "done"; want running, completed, cancelled, failed, terminated or timed-out`)
	_, _, err = cli("sweep", "list", "--addr", addr, "--schedule", "bad id")
	wantErr(t, err, "sweep list: InvalidArgument: schedule_id: does not match regex pattern")
}

func TestSchedule(t *testing.T) {
	t.Parallel()
	f := newFake()
	addr := serveFake(t, f)
	cfg := writeFile(t, "sweep.yaml", "regions: [us-east-1]\nreport_formats: [sarif]\n")

	out, _, err := cli("schedule", "create", "nightly", "--addr", addr, "--cron", "0 3 * * *", "--cron", "30 12 * * 1,3", "--config", cfg,
		"--include-tags", "env=prod", "--paused")
	if err != nil {
		t.Fatal(err)
	}
	equalProto(t, "CreateScheduleRequest", received[*sweepv1.CreateScheduleRequest](f)[0], &sweepv1.CreateScheduleRequest{ScheduleId: "nightly",
		CronExpressions: []string{"0 3 * * *", "30 12 * * 1,3"}, Paused: true, Spec: &sweepv1.SweepSpec{Regions: []string{"us-east-1"},
			IncludeTags: []*sweepv1.Tag{{Key: "env", Value: "prod"}}, ReportFormats: []reportingv1.ReportFormat{reportingv1.ReportFormat_REPORT_FORMAT_SARIF}}})
	want := `Schedule nightly created.

Schedule  nightly
State     paused
Runs      cron "0 3 * * *", cron "30 12 * * 1,3"
Next run  2026-11-25T03:00:00Z
Regions   us-east-1
Tags      env=prod
Formats   sarif
`
	if out != want {
		t.Errorf("create printed:\n%s\nwant:\n%s", out, want)
	}
	if _, _, err := cli("schedule", "create", "--addr", addr, "--every", "1h", "hourly"); err != nil {
		t.Fatal(err)
	}
	equalProto(t, "CreateScheduleRequest --every", received[*sweepv1.CreateScheduleRequest](f)[1], &sweepv1.CreateScheduleRequest{ScheduleId: "hourly",
		Interval: durationpb.New(time.Hour), Spec: &sweepv1.SweepSpec{}})

	out, _, err = cli("schedule", "list", "--addr", addr)
	if err != nil {
		t.Fatal(err)
	}
	want = `ID       STATE   CALENDAR                                NEXT RUN           LAST SWEEP
hourly   active  every 1h                                2026-11-25 03:00Z  -
nightly  paused  cron "0 3 * * *", cron "30 12 * * 1,3"  2026-11-25 03:00Z  -
`
	if out != want {
		t.Errorf("list printed:\n%s\nwant:\n%s", out, want)
	}

	if _, _, err := cli("schedule", "resume", "nightly", "--addr", addr, "--note", "back on"); err != nil {
		t.Fatal(err)
	}
	out, _, err = cli("schedule", "pause", "--addr", addr, "nightly", "--note", "change freeze")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Schedule nightly paused.") || !strings.Contains(out, "State     paused: change freeze") {
		t.Errorf("pause printed:\n%s", out)
	}
	pauses := received[*sweepv1.PauseScheduleRequest](f)
	equalProto(t, "resume", pauses[0], &sweepv1.PauseScheduleRequest{ScheduleId: "nightly", Note: "back on"})
	equalProto(t, "pause", pauses[1], &sweepv1.PauseScheduleRequest{ScheduleId: "nightly", Paused: true, Note: "change freeze"})

	out, _, err = cli("schedule", "get", "--addr", addr, "hourly")
	if err != nil || !strings.Contains(out, "Runs      every 1h\n") || !strings.Contains(out, "Regions   every enabled region\n") {
		t.Errorf("get printed %q (%v)", out, err)
	}
	out, _, err = cli("schedule", "trigger", "--addr", addr, "hourly")
	if err != nil || out != "Schedule hourly triggered; its sweep: dpsweep sweep list --schedule hourly\n" {
		t.Errorf("trigger printed %q (%v)", out, err)
	}
	out, _, err = cli("schedule", "delete", "--addr", addr, "hourly")
	if err != nil || out != "Schedule hourly deleted; the sweeps it started are kept.\n" {
		t.Errorf("delete printed %q (%v)", out, err)
	}
	_, _, err = cli("schedule", "get", "--addr", addr, "hourly")
	wantErr(t, err, "schedule get: NotFound: get schedule: schedule not found")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"create", "weekly"}, `schedule create: say when: --cron "0 3 * * *" (UTC) or --every 24h`},
		{[]string{"create", "--every", "30s", "weekly"}, "schedule create: InvalidArgument: interval: must be greater than or equal to 60s"},
		{[]string{"create", "--cron", "@daily", "weekly"}, "schedule create: InvalidArgument: cron_expressions[0]: must be at least 9 characters"},
		{[]string{"create", "--cron", "0 3 * * *"}, "schedule create: a schedule ID is required: dpsweep schedule create [flags] SCHEDULE_ID"},
		{[]string{"pause"}, "schedule pause: a schedule ID is required"},
		{[]string{"list", "extra"}, `schedule list: unexpected argument "extra"`},
		{[]string{"remove", "x"}, `schedule: unknown command "remove"`},
	} {
		_, _, err := cli(append(append([]string{"schedule"}, tc.args...), "--addr", addr)...)
		wantErr(t, err, tc.want)
	}
}

func TestClientHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"sweep", "start"}, {"sweep", "status"}, {"sweep", "cancel"}, {"sweep", "list"},
		{"schedule", "create"}, {"schedule", "list"}, {"schedule", "get"}, {"schedule", "pause"}, {"schedule", "resume"},
		{"schedule", "trigger"}, {"schedule", "delete"},
		{"report", "export"}, {"report", "diff"}, {"report", "findings"},
	} {
		_, stderr, err := cli(append(args, "--help")...)
		if !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%v --help: %v", args, err)
		}
		for _, want := range []string{"Usage: dpsweep " + strings.Join(args, " "), "\nFlags:\n", "-addr string", "-timeout duration"} {
			if args[0] == "report" && args[1] == "export" {
				want = strings.Replace(want, "report export", "report [export]", 1)
			}
			if !strings.Contains(stderr, want) {
				t.Errorf("%v --help lacks %q:\n%s", args, want, stderr)
			}
		}
	}
	for _, group := range []string{"sweep", "schedule", "report"} {
		out, _, err := cli(group, "--help")
		if err != nil || !strings.Contains(out, "Usage:") || !strings.Contains(out, "dpsweep "+group+" ") {
			t.Errorf("%s --help: %v\n%s", group, err, out)
		}
		_, stderr, err := cli(group)
		if err == nil || !strings.Contains(stderr, "Usage:") {
			t.Errorf("%s without a command: %v, usage %q", group, err, stderr)
		}
	}
	out, _, _ := cli("help")
	for _, want := range []string{"  sweep ", "  schedule ", "  report ", "DPSWEEP_SWEEP_ADDR"} {
		if !strings.Contains(out, want) {
			t.Errorf("top-level usage lacks %q", want)
		}
	}
}

// TestConnection: the address from the environment, the flag over it, and
// what an unreachable or wrong service says. Not parallel: it sets the environment.
func TestConnection(t *testing.T) {
	f := newFake()
	f.states["s-1"] = []*sweepv1.Sweep{progressed("s-1", sweepv1.SweepState_SWEEP_STATE_RUNNING, 0, 0, 0, 0)}
	addr := serveFake(t, f)
	dead := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}()

	t.Setenv("DPSWEEP_SWEEP_ADDR", addr)
	if _, _, err := cli("sweep", "status", "s-1"); err != nil {
		t.Errorf("with DPSWEEP_SWEEP_ADDR: %v", err)
	}
	_, _, err := cli("sweep", "status", "--addr", dead, "--timeout", "5s", "s-1")
	wantErr(t, err, "sweep status: Unavailable: ")
	wantErr(t, err, fmt.Sprintf("(is the sweep service running at %s? set --addr or DPSWEEP_SWEEP_ADDR; a TLS server needs --tls-ca)", dead))
	if status.Code(err) != codes.Unavailable {
		t.Errorf("the error does not wrap the status: %v", status.Code(err))
	}

	t.Setenv("DPSWEEP_SWEEP_ADDR", dead)
	if _, _, err := cli("sweep", "status", "--addr", addr, "s-1"); err != nil {
		t.Errorf("--addr does not win over DPSWEEP_SWEEP_ADDR: %v", err)
	}
	t.Setenv("DPSWEEP_SWEEP_TLS_CA", "/nonexistent/ca.pem")
	_, _, err = cli("sweep", "status", "--addr", addr, "s-1")
	wantErr(t, err, "/nonexistent/ca.pem")

	// The reporting commands pointed at the sweep service.
	_, _, err = cli("report", "findings", "--addr", addr, "s-1")
	wantErr(t, err, fmt.Sprintf("report findings: Unimplemented: unknown service dpsweep.reporting.v1.ReportingService (is %s the reporting service?)", addr))
}
