package tests

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/dpsweep/dpsweep/awssim"
	"github.com/dpsweep/dpsweep/awssim/world"
	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	sweepv1 "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
	"github.com/dpsweep/dpsweep/services/collection"
	"github.com/dpsweep/dpsweep/services/evaluation"
	platformclient "github.com/dpsweep/dpsweep/services/platform/client"
	"github.com/dpsweep/dpsweep/services/platform/server"
	"github.com/dpsweep/dpsweep/services/platform/tlsutil"
	"github.com/dpsweep/dpsweep/services/redaction"
	"github.com/dpsweep/dpsweep/services/reporting"
	sweepsvc "github.com/dpsweep/dpsweep/services/sweep"
	"github.com/dpsweep/dpsweep/workflows/codec"
	"github.com/dpsweep/dpsweep/workflows/devserver"
	wf "github.com/dpsweep/dpsweep/workflows/sweep"
	"github.com/dpsweep/dpsweep/workflows/worker"
)

// stack is a simulated organization, the four services on real
// listeners, a real Temporal server with a sweep worker, and the
// SweepService in front of it.
type stack struct {
	sim       *awssim.Sim
	temporal  client.Client
	sweeps    sweepv1.SweepServiceClient
	reports   reportingv1.ReportingServiceClient
	logs      *syncBuffer
	reportDir string
	// addrs are the services' listen addresses by area ("redaction", ...),
	// for clients in other languages.
	addrs map[string]string
}

func startStack(t *testing.T, o world.GenOptions) *stack {
	t.Helper()
	return startStackWithKey(t, o, "e2e:"+base64.StdEncoding.EncodeToString(randomKey(t)))
}

// startStackWithKey is startStack with a payload keyring ("id:base64").
func startStackWithKey(t *testing.T, o world.GenOptions, keyring string) *stack {
	t.Helper()
	return startStackWith(t, o, keyring, nil)
}

// stackTLS runs a stack's services with mutual TLS and per-RPC
// authorisation: the worker, the evaluation service (as redaction's
// client) and an operator (the test, as the SweepService's and reporting's
// client) each present a certificate of the dev CA.
type stackTLS struct {
	certs tlsutil.DevCerts
	// allow holds each service's --allow-identities, by area.
	allow map[string]string
}

// identity is the client configuration of addr as the named identity.
func (m *stackTLS) identity(addr, name string) platformclient.Config {
	cert, key := m.certs.Client(name)
	return platformclient.Config{Addr: addr, TLS: tlsutil.ClientFiles{CAFile: m.certs.CAFile, CertFile: cert, KeyFile: key}}
}

// startStackWith is startStack with a payload keyring and, when m is not
// nil, mutual TLS between every process.
func startStackWith(t *testing.T, o world.GenOptions, keyring string, m *stackTLS) *stack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv, err := devserver.Start(ctx, devserver.Options{SearchAttributes: wf.SearchAttributeTypes, LogFile: filepath.Join(t.TempDir(), "temporal.log")})
	if errors.Is(err, devserver.ErrNoBinary) && os.Getenv("DPSWEEP_TEMPORAL_REQUIRED") == "" {
		t.Skipf("no Temporal server: %v (run `make temporal`; set DPSWEEP_TEMPORAL_REQUIRED=1 to fail instead)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	// Payloads are encrypted with a fresh key, as a deployment's would be.
	keys, err := codec.ParseKeys(keyring)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := codec.NewDataConverter(keys)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := client.DialContext(ctx, client.Options{HostPort: srv.HostPort(), Namespace: srv.Namespace(), DataConverter: dc,
		FailureConverter: codec.NewFailureConverter(dc), Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	conv := &codec.Converters{Data: dc, Failure: codec.NewFailureConverter(dc), KeyID: keys[0].ID}

	sim, err := awssim.Start(ctx, awssim.Config{Gen: o})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	logs := &syncBuffer{}
	serve := func(area string, register server.RegisterFunc) *grpc.ClientConn {
		if m == nil {
			return serveOn(t, logs, register)
		}
		return serveOnTLS(t, logs, register, m, area)
	}
	rcfg := redaction.DefaultConfig()
	redConn := serve("redaction", rcfg.Register)
	ccfg := collection.DefaultConfig()
	ak, sk := sim.Credentials()
	ccfg.EndpointURL, ccfg.RequestsPerSecond, ccfg.MaxConcurrent = sim.URL, 5000, 16
	ccfg.Credentials = credentials.NewStaticCredentialsProvider(ak, sk, "")
	collConn := serve("collection", ccfg.Register)
	ecfg := evaluation.DefaultConfig()
	ecfg.Redaction.Addr = redConn.Target()
	if m != nil {
		ecfg.Redaction = m.identity(redConn.Target(), "dpsweep-evaluation")
	}
	evalConn := serve("evaluation", ecfg.Register)
	pcfg := reporting.DefaultConfig()
	pcfg.Database, pcfg.ReportDir = filepath.Join(t.TempDir(), "findings.db"), t.TempDir()
	repConn := serve("reporting", pcfg.Register)

	wcfg := worker.DefaultConfig()
	wcfg.Client, wcfg.Converters = tc, conv
	wcfg.Collection.Addr, wcfg.Evaluation.Addr, wcfg.Reporting.Addr = collConn.Target(), evalConn.Target(), repConn.Target()
	if m != nil {
		wcfg.Collection = m.identity(collConn.Target(), "dpsweep-worker")
		wcfg.Evaluation = m.identity(evalConn.Target(), "dpsweep-worker")
		wcfg.Reporting = m.identity(repConn.Target(), "dpsweep-worker")
	}
	w, cleanup, err := worker.New(wcfg, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	scfg := sweepsvc.DefaultConfig()
	scfg.Client, scfg.ManagementAccount, scfg.Converters = tc, sim.World.ManagementAccount, conv
	sweepConn := serve("sweep", scfg.Register)
	return &stack{sim: sim, temporal: tc, sweeps: sweepv1.NewSweepServiceClient(sweepConn), reports: reportingv1.NewReportingServiceClient(repConn),
		logs: logs, reportDir: pcfg.ReportDir, addrs: map[string]string{"collection": collConn.Target(), "evaluation": evalConn.Target(),
			"redaction": redConn.Target(), "reporting": repConn.Target(), "sweep": sweepConn.Target()}}
}

// wait polls GetSweep until the sweep has ended, or until stop says so.
func (s *stack) wait(ctx context.Context, t *testing.T, id string, stop func(*sweepv1.Sweep) bool) *sweepv1.Sweep {
	t.Helper()
	for {
		resp, err := s.sweeps.GetSweep(ctx, &sweepv1.GetSweepRequest{SweepId: id})
		if err != nil {
			t.Fatalf("GetSweep(%s): %v", id, err)
		}
		sw := resp.GetSweep()
		if sw.GetState() != sweepv1.SweepState_SWEEP_STATE_RUNNING || (stop != nil && stop(sw)) {
			return sw
		}
		select {
		case <-ctx.Done():
			t.Fatalf("sweep %s still running: %v", id, sw.GetProgress())
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func (s *stack) findings(ctx context.Context, t *testing.T, id string) []*evaluationv1.Finding {
	t.Helper()
	var out []*evaluationv1.Finding
	req := &reportingv1.ListFindingsRequest{SweepId: id, PageSize: 5000, Filter: &reportingv1.FindingFilter{IncludeSuppressed: true}}
	for {
		resp, err := s.reports.ListFindings(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, resp.GetFindings()...)
		if resp.GetNextPageToken() == "" {
			return out
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

// TestSweepOverTemporal runs the product's main job end to end: a sweep of
// a simulated organization of 50 accounts × 3 regions through the
// SweepService, a real Temporal server, the sweep worker and the four
// services, and compares the stored findings with those the simulator's
// generator expects. It reads the workflows' histories and finds only
// identifiers and counts there. Then it cancels a second sweep midway and
// checks its partial report.
func TestSweepOverTemporal(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a Temporal server and sweeps 50 accounts; skipped with -short")
	}
	t.Parallel()
	o := world.DefaultGenOptions()
	o.Accounts, o.Seed, o.ViolationRate, o.PlantRate = 50, 31, 0.35, 0.3
	s := startStack(t, o)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	regions := []string{"eu-west-1", "us-east-1", "ap-southeast-2"}
	// The spec carries a canary (a tag no account has): the Temporal server
	// must only ever hold it encrypted.
	const specCanary = "canary-tag-9d2e41"
	spec := &sweepv1.SweepSpec{Regions: regions, RoleName: o.RoleName, MaxConcurrentAccounts: 20,
		ExcludeTags:   []*sweepv1.Tag{{Key: specCanary, Value: "AKIAIOSFODNN7CANARY1"}},
		ReportFormats: []reportingv1.ReportFormat{reportingv1.ReportFormat_REPORT_FORMAT_HTML, reportingv1.ReportFormat_REPORT_FORMAT_SARIF}}
	started, err := s.sweeps.StartSweep(ctx, &sweepv1.StartSweepRequest{SweepId: "e2e-full", Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	if started.GetSweep().GetWorkflowId() != "sweep/e2e-full" {
		t.Fatalf("workflow ID %q", started.GetSweep().GetWorkflowId())
	}
	begin := time.Now()
	sw := s.wait(ctx, t, "e2e-full", nil)
	t.Logf("sweep of %d accounts × %d regions took %v: %v", o.Accounts, len(regions), time.Since(begin), sw.GetProgress())
	if sw.GetState() != sweepv1.SweepState_SWEEP_STATE_COMPLETED {
		t.Fatalf("sweep ended %s", sw.GetState())
	}
	p := sw.GetProgress()
	if p.GetAccountsTotal() != int64(o.Accounts) || p.GetAccountsDone() != int64(o.Accounts) || p.GetRegionsDone() != int64(o.Accounts*(len(regions)+1)) {
		t.Fatalf("progress %v; want %d accounts and %d scans done", p, o.Accounts, o.Accounts*(len(regions)+1))
	}
	if len(sw.GetReportUris()) != 2 {
		t.Fatalf("report URIs %v; want HTML and SARIF", sw.GetReportUris())
	}
	for _, u := range sw.GetReportUris() {
		if fi, err := os.Stat(u); err != nil || fi.Size() == 0 {
			t.Fatalf("report %s: %v", u, err)
		}
	}

	// Exactly the findings the generator expects in the swept regions.
	want := map[string]world.Expected{}
	for _, e := range s.sim.Generated.Expectations() {
		if e.Region == "global" || slices.Contains(regions, e.Region) {
			want[findingKey(e.Control, e.Account, e.Region, e.ResourceARN, e.FieldPath)] = e
		}
	}
	got := findingsByKey(t, s.findings(ctx, t, "e2e-full"))
	compareFindings(t, want, got, nil, 500)
	t.Logf("%d expected findings matched", len(want))
	stored, err := s.reports.GetSweep(ctx, &reportingv1.GetSweepRequest{SweepId: "e2e-full"})
	if err != nil || stored.GetSweep().GetState() != reportingv1.SweepState_SWEEP_STATE_COMPLETED {
		t.Fatalf("stored sweep %v, %v; want COMPLETED", stored, err)
	}
	if c := stored.GetSweep().GetCounts(); c.GetFindings() != p.GetCounts().GetFindings() || c.GetFail() != p.GetCounts().GetFail() {
		t.Fatalf("the sweep's progress counts %v differ from the store's %v", p.GetCounts(), c)
	}

	// The histories hold identifiers and counts only.
	org := s.sim.World.AccountIDs()
	if sw.GetSpec().GetExcludeTags()[0].GetKey() != specCanary {
		t.Fatalf("GetSweep's spec %v: the memo did not decode", sw.GetSpec())
	}
	checkHistory(ctx, t, s.temporal, wf.SweepWorkflowID("e2e-full"), org, specCanary)
	for _, a := range org[:5] {
		checkHistory(ctx, t, s.temporal, wf.AccountSweepWorkflowID("e2e-full", a), org, specCanary)
	}

	// A second sweep, cancelled once a few accounts are done, keeps a partial report.
	slow := proto.CloneOf(spec)
	slow.MaxConcurrentAccounts = 2
	if _, err := s.sweeps.StartSweep(ctx, &sweepv1.StartSweepRequest{SweepId: "e2e-cancel", Spec: slow}); err != nil {
		t.Fatal(err)
	}
	s.wait(ctx, t, "e2e-cancel", func(sw *sweepv1.Sweep) bool { return sw.GetProgress().GetAccountsDone() >= 3 })
	if _, err := s.sweeps.CancelSweep(ctx, &sweepv1.CancelSweepRequest{SweepId: "e2e-cancel", Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	cancelled := s.wait(ctx, t, "e2e-cancel", nil)
	if cancelled.GetState() != sweepv1.SweepState_SWEEP_STATE_CANCELLED {
		t.Fatalf("cancelled sweep ended %s", cancelled.GetState())
	}
	partial, err := s.reports.GetSweep(ctx, &reportingv1.GetSweepRequest{SweepId: "e2e-cancel"})
	if err != nil {
		t.Fatal(err)
	}
	n := partial.GetSweep().GetCounts().GetFindings()
	if partial.GetSweep().GetState() != reportingv1.SweepState_SWEEP_STATE_CANCELLED || n == 0 || n >= int64(len(want)) {
		t.Fatalf("partial report: %v; want CANCELLED with some but not all of %d findings", partial.GetSweep(), len(want))
	}
	if len(cancelled.GetReportUris()) == 0 {
		t.Fatalf("the cancelled sweep wrote no report: %v", cancelled)
	}
	// Every finding of the partial sweep is one the full sweep has too.
	for _, f := range s.findings(ctx, t, "e2e-cancel") {
		k := pseudonym.ReplaceAllString(findingKey(f.GetControlId(), f.GetAccountId(), f.GetRegion(), f.GetResourceArn(), f.GetFieldPath()), "[$1]")
		if _, ok := want[k]; !ok {
			t.Fatalf("partial sweep holds %s, which the full sweep does not", k)
		}
	}
	list, err := s.sweeps.ListSweeps(ctx, &sweepv1.ListSweepsRequest{})
	if err != nil || len(list.GetSweeps()) != 2 {
		t.Fatalf("ListSweeps = %v, %v; want 2 sweeps", list, err)
	}
	done, err := s.sweeps.ListSweeps(ctx, &sweepv1.ListSweepsRequest{State: sweepv1.SweepState_SWEEP_STATE_COMPLETED})
	if err != nil || len(done.GetSweeps()) != 1 || done.GetSweeps()[0].GetSweepId() != "e2e-full" {
		t.Fatalf("ListSweeps(COMPLETED) = %v, %v; want e2e-full", done, err)
	}
	checkNoPlantedValues(t, got, s.logs.String(), org)
}

var uuidShape = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

func randomKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// checkHistory reads a workflow's whole history and fails on any planted
// value or an account number from outside the organization in it.
func checkHistory(ctx context.Context, t *testing.T, c client.Client, workflowID string, org []string, canaries ...string) {
	t.Helper()
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, 0)
	var raw []byte
	events := 0
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", workflowID, err)
		}
		b, err := proto.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, b...)
		events++
	}
	if events < 5 {
		t.Fatalf("history of %s has %d events", workflowID, events)
	}
	for name, re := range plantedShapes {
		if m := re.Find(raw); m != nil {
			t.Errorf("history of %s holds a planted %s: %q", workflowID, name, m)
		}
	}
	for _, c := range canaries {
		if bytes.Contains(raw, []byte(c)) {
			t.Errorf("history of %s holds %q in plain text", workflowID, c)
		}
	}
	if !bytes.Contains(raw, []byte("binary/encrypted")) {
		t.Errorf("history of %s has no encrypted payload", workflowID)
	}
	// UUIDs (run IDs, sticky task queues) may end in twelve digits.
	raw = uuidShape.ReplaceAll(raw, []byte("uuid"))
	for _, m := range twelveDigits.FindAllSubmatch(raw, -1) {
		if !slices.Contains(org, string(m[1])) {
			i := bytes.Index(raw, m[1])
			t.Errorf("history of %s holds %s, not an account of the organization: %q", workflowID, m[1], raw[max(0, i-60):min(len(raw), i+40)])
		}
	}
}

// TestRecordReplayHistories writes the histories that package
// workflows/sweep replays in its tests (replay_test.go), so that a change to
// the workflows that would break running sweeps fails there. It runs only
// with DPSWEEP_UPDATE_HISTORIES=1: a completed sweep of five accounts with
// one of its account children, and a sweep cancelled after its first
// account.
func TestRecordReplayHistories(t *testing.T) {
	if os.Getenv("DPSWEEP_UPDATE_HISTORIES") == "" {
		t.Skip("set DPSWEEP_UPDATE_HISTORIES=1 to record the replay histories of workflows/sweep")
	}
	o := world.DefaultGenOptions()
	o.Accounts, o.Seed = 5, 7
	s := startStackWithKey(t, o, wf.ReplayTestKeyring)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := filepath.Join("..", "workflows", "sweep", "testdata", "histories")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	spec := &sweepv1.SweepSpec{Regions: []string{"eu-west-1"}, RoleName: o.RoleName, MaxConcurrentAccounts: 2}
	if _, err := s.sweeps.StartSweep(ctx, &sweepv1.StartSweepRequest{SweepId: "replay-done", Spec: spec}); err != nil {
		t.Fatal(err)
	}
	if sw := s.wait(ctx, t, "replay-done", nil); sw.GetState() != sweepv1.SweepState_SWEEP_STATE_COMPLETED {
		t.Fatalf("sweep ended %s", sw.GetState())
	}
	slow := proto.CloneOf(spec)
	slow.MaxConcurrentAccounts = 1
	if _, err := s.sweeps.StartSweep(ctx, &sweepv1.StartSweepRequest{SweepId: "replay-cancelled", Spec: slow}); err != nil {
		t.Fatal(err)
	}
	s.wait(ctx, t, "replay-cancelled", func(sw *sweepv1.Sweep) bool { return sw.GetProgress().GetAccountsDone() >= 1 })
	if _, err := s.sweeps.CancelSweep(ctx, &sweepv1.CancelSweepRequest{SweepId: "replay-cancelled"}); err != nil {
		t.Fatal(err)
	}
	if sw := s.wait(ctx, t, "replay-cancelled", nil); sw.GetState() != sweepv1.SweepState_SWEEP_STATE_CANCELLED {
		t.Fatalf("sweep ended %s", sw.GetState())
	}
	member := s.sim.World.Accounts[1].ID
	for name, id := range map[string]string{
		"sweep-completed.json":   wf.SweepWorkflowID("replay-done"),
		"account-completed.json": wf.AccountSweepWorkflowID("replay-done", member),
		"sweep-cancelled.json":   wf.SweepWorkflowID("replay-cancelled"),
	} {
		it := s.temporal.GetWorkflowHistory(ctx, id, "", false, 0)
		h := &historypb.History{}
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			h.Events = append(h.Events, e)
		}
		b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s: %d events", name, len(h.Events))
	}
}

// TestSchedulesOverTemporal creates a schedule through the SweepService,
// triggers it, follows the sweep it starts to the end, pauses, lists and
// deletes it — against a real Temporal server.
func TestSchedulesOverTemporal(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a Temporal server; skipped with -short")
	}
	t.Parallel()
	o := world.DefaultGenOptions()
	o.Accounts, o.Seed = 3, 13
	s := startStack(t, o)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	spec := &sweepv1.SweepSpec{Regions: []string{"eu-west-1"}, RoleName: o.RoleName}
	_, err := s.sweeps.CreateSchedule(ctx, &sweepv1.CreateScheduleRequest{ScheduleId: "nightly", Spec: spec, CronExpressions: []string{"every day"}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "cron_expressions[0]") {
		t.Fatalf("a malformed cron expression: %v; want InvalidArgument naming cron_expressions[0]", err)
	}
	created, err := s.sweeps.CreateSchedule(ctx, &sweepv1.CreateScheduleRequest{ScheduleId: "nightly", Spec: spec, CronExpressions: []string{"0 3 * * *"}})
	if err != nil {
		t.Fatal(err)
	}
	if sc := created.GetSchedule(); sc.GetPaused() || len(sc.GetNextRuns()) == 0 || sc.GetNextRuns()[0].AsTime().UTC().Hour() != 3 || len(sc.GetCronExpressions()) != 1 || sc.GetSpec().GetRegions()[0] != "eu-west-1" {
		t.Fatalf("created schedule %v; want next runs at 03:00 UTC and its spec", sc)
	}
	if _, err := s.sweeps.CreateSchedule(ctx, &sweepv1.CreateScheduleRequest{ScheduleId: "nightly", Spec: spec, CronExpressions: []string{"0 3 * * *"}}); status.Code(err) != codes.AlreadyExists {
		t.Fatalf("creating it twice: %v; want AlreadyExists", err)
	}
	if _, err := s.sweeps.TriggerSchedule(ctx, &sweepv1.TriggerScheduleRequest{ScheduleId: "nightly"}); err != nil {
		t.Fatal(err)
	}
	// The triggered sweep shows up under the schedule (visibility is eventually consistent).
	var id string
	for id == "" {
		list, err := s.sweeps.ListSweeps(ctx, &sweepv1.ListSweepsRequest{ScheduleId: "nightly"})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.GetSweeps()) > 0 {
			id = list.GetSweeps()[0].GetSweepId()
			if list.GetSweeps()[0].GetScheduleId() != "nightly" {
				t.Fatalf("scheduled sweep %v does not name its schedule", list.GetSweeps()[0])
			}
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the triggered sweep never showed up under its schedule")
		case <-time.After(300 * time.Millisecond):
		}
	}
	if !strings.HasPrefix(id, "nightly-") {
		t.Fatalf("scheduled sweep ID %q; want nightly-<time>", id)
	}
	if sw := s.wait(ctx, t, id, nil); sw.GetState() != sweepv1.SweepState_SWEEP_STATE_COMPLETED || sw.GetProgress().GetAccountsDone() != 3 {
		t.Fatalf("scheduled sweep %v", sw)
	}
	if stored, err := s.reports.GetSweep(ctx, &reportingv1.GetSweepRequest{SweepId: id}); err != nil || stored.GetSweep().GetCounts().GetFindings() == 0 {
		t.Fatalf("the scheduled sweep's findings: %v, %v", stored, err)
	}
	paused, err := s.sweeps.PauseSchedule(ctx, &sweepv1.PauseScheduleRequest{ScheduleId: "nightly", Paused: true, Note: "maintenance"})
	if err != nil || !paused.GetSchedule().GetPaused() || paused.GetSchedule().GetNote() != "maintenance" {
		t.Fatalf("PauseSchedule = %v, %v", paused, err)
	}
	got, err := s.sweeps.GetSchedule(ctx, &sweepv1.GetScheduleRequest{ScheduleId: "nightly"})
	if err != nil || !slices.Contains(got.GetSchedule().GetRecentSweepIds(), id) {
		t.Fatalf("GetSchedule = %v, %v; want %s among its recent sweeps", got, err, id)
	}
	all, err := s.sweeps.ListSchedules(ctx, &sweepv1.ListSchedulesRequest{})
	if err != nil || len(all.GetSchedules()) != 1 {
		t.Fatalf("ListSchedules = %v, %v", all, err)
	}
	if _, err := s.sweeps.DeleteSchedule(ctx, &sweepv1.DeleteScheduleRequest{ScheduleId: "nightly"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.sweeps.GetSchedule(ctx, &sweepv1.GetScheduleRequest{ScheduleId: "nightly"}); status.Code(err) != codes.NotFound {
		t.Fatalf("GetSchedule after delete: %v; want NotFound", err)
	}
}

// findingsByKey indexes findings by findingKey (pseudonyms in field paths
// made generic), failing the test for a finding stored twice.
func findingsByKey(t *testing.T, fs []*evaluationv1.Finding) map[string]*evaluationv1.Finding {
	t.Helper()
	got := map[string]*evaluationv1.Finding{}
	for _, f := range fs {
		k := pseudonym.ReplaceAllString(findingKey(f.GetControlId(), f.GetAccountId(), f.GetRegion(), f.GetResourceArn(), f.GetFieldPath()), "[$1]")
		if _, dup := got[k]; dup {
			t.Errorf("finding %s stored twice", k)
		}
		got[k] = f
	}
	return got
}

// compareFindings fails the test unless got holds exactly the findings of
// want with their statuses, listing what is missing, extra or wrong;
// findings that ignore accepts may be extra. want must hold at least
// minWant findings for the comparison to prove something.
func compareFindings(t *testing.T, want map[string]world.Expected, got map[string]*evaluationv1.Finding, ignore func(*evaluationv1.Finding) bool, minWant int) {
	t.Helper()
	var missing, extra, wrong []string
	for k, e := range want {
		f, ok := got[k]
		switch {
		case !ok:
			missing = append(missing, k+" "+e.Status)
		case f.GetStatus().String() != "FINDING_STATUS_"+e.Status:
			wrong = append(wrong, fmt.Sprintf("%s: %s, want %s", k, f.GetStatus(), e.Status))
		}
	}
	for k, f := range got {
		if _, ok := want[k]; !ok && (ignore == nil || !ignore(f)) {
			extra = append(extra, fmt.Sprintf("%s %s", k, f.GetStatus()))
		}
	}
	for _, list := range []struct {
		name  string
		items []string
	}{{"missing", missing}, {"extra", extra}, {"wrong", wrong}} {
		sort.Strings(list.items)
		if len(list.items) > 0 {
			t.Errorf("%d %s findings:\n  %s", len(list.items), list.name, strings.Join(list.items[:min(30, len(list.items))], "\n  "))
		}
	}
	if len(want) < minWant {
		t.Fatalf("only %d expected findings: the comparison proves little", len(want))
	}
}
