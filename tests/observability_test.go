package tests

import (
	"context"
	"encoding/base64"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/dpsweep/dpsweep/awssim/world"
	collectionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/collection/v1"
	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	redactionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/redaction/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	sweepv1 "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
	"github.com/dpsweep/dpsweep/services/platform/telemetry"
	"github.com/dpsweep/dpsweep/services/platform/telemetry/telemetrytest"
	sweepsvc "github.com/dpsweep/dpsweep/services/sweep"
	"github.com/dpsweep/dpsweep/workflows/codec"
	"github.com/dpsweep/dpsweep/workflows/tracing"
)

// Canaries the observability tests plant in request payloads: none may
// reach a metric, a span or a log line.
const (
	obsCanaryKey    = "AKIAQ3EGTXMPLR7OBS42"
	obsCanarySecret = "obsQRTkmnp482#xyz"
	obsCanaryEmail  = "obs.canary@example-corp.com"
)

// metricsAddr waits for a process's "serving metrics" log record.
func (p *process) metricsAddr(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		for _, rec := range p.lines {
			if rec["msg"] == "serving metrics" {
				p.mu.Unlock()
				return rec["metrics_addr"].(string)
			}
		}
		p.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no 'serving metrics' record\n%s", p.logs())
	return ""
}

func dialPlain(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func noCanary(t *testing.T, what, text string) {
	t.Helper()
	for _, c := range []string{obsCanaryKey, obsCanarySecret, obsCanaryEmail} {
		if strings.Contains(text, c) {
			t.Errorf("%s holds the canary %q", what, c)
		}
	}
}

// TestObservabilityBinaries runs the redaction, evaluation and reporting
// binaries with metrics endpoints and an OTLP trace receiver, makes RPCs
// with planted canaries (a Redact, an Evaluate whose free-form fields
// evaluation sends on to redaction, a RecordFindings), then scrapes
// /metrics over HTTP and reads the spans: the metric families and labels
// are there with counts that grew, the Evaluate call's trace crosses into
// the redaction process as one trace with parent/child links, the RPC log
// records carry the sweep, account and region, and no canary appears in
// any metric, span or log.
func TestObservabilityBinaries(t *testing.T) {
	recv := telemetrytest.NewReceiver(t)
	// Spans leave each process within 100ms instead of 5s.
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
	obs := []string{"--metrics-address", "127.0.0.1:0", "--otlp-endpoint", recv.Addr()}
	red := startBinary(t, "dpsweep-redaction", obs...)
	eval := startBinary(t, "dpsweep-evaluation", append([]string{"--redaction-addr", red.addr}, obs...)...)
	rep := startBinary(t, "dpsweep-reporting", obs...)
	procs := map[string]*process{"redaction": red, "evaluation": eval, "reporting": rep}
	addrs := map[string]string{}
	before := map[string]telemetrytest.Metrics{}
	for name, p := range procs {
		addrs[name] = p.metricsAddr(t)
		before[name] = telemetrytest.Parse(t, telemetrytest.Scrape(t, addrs[name]))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// 1. Redact directly.
	rr, err := redactionv1.NewRedactionServiceClient(dialPlain(t, red.addr)).Redact(ctx, &redactionv1.RedactRequest{
		Text: "owner " + obsCanaryEmail + " key " + obsCanaryKey + " password=" + obsCanarySecret})
	if err != nil {
		t.Fatal(err)
	}
	noCanary(t, "the redacted text", rr.GetRedactedText())

	// 2. Evaluate: evaluation redacts the free-form fields through redaction.
	const sweepID, account, region = "obs-sweep-1", "111122223333", "eu-west-1"
	attrs, err := structpb.NewStruct(map[string]any{"product_id": "prod-obs0000000001"})
	if err != nil {
		t.Fatal(err)
	}
	stream, err := evaluationv1.NewEvaluationServiceClient(dialPlain(t, eval.addr)).Evaluate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reqs := []*evaluationv1.EvaluateRequest{
		{Payload: &evaluationv1.EvaluateRequest_Context{Context: &evaluationv1.EvaluationContext{SweepId: sweepID, AccountId: account, Region: region}}},
		{Payload: &evaluationv1.EvaluateRequest_Inventory{Inventory: &collectionv1.CollectInventoryResponse{Resources: []*collectionv1.Resource{{
			Arn: "arn:aws:catalog:eu-west-1:111122223333:product/prod-obs0000000001", ResourceType: "AWS::ServiceCatalog::Product",
			AccountId: account, Region: region, Attributes: attrs,
			FreeFormFields: []*collectionv1.FreeFormField{
				{Path: "Description", Kind: collectionv1.FieldKind_FIELD_KIND_DESCRIPTION, Value: "admin password=" + obsCanarySecret + " key " + obsCanaryKey},
				{Path: "Owner", Kind: collectionv1.FieldKind_FIELD_KIND_OWNER, Value: "contact " + obsCanaryEmail},
			}}}}}},
	}
	for _, r := range reqs {
		if err := stream.Send(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	var findings []*evaluationv1.Finding
	for {
		m, err := stream.Recv()
		if err != nil {
			t.Fatalf("Evaluate: %v", err)
		}
		findings = append(findings, m.GetFindings()...)
		if m.GetSummary() != nil {
			break
		}
	}
	if len(findings) == 0 {
		t.Fatal("Evaluate returned no findings")
	}

	// 3. Record the findings.
	if _, err := reportingv1.NewReportingServiceClient(dialPlain(t, rep.addr)).RecordFindings(ctx, &reportingv1.RecordFindingsRequest{
		SweepId: sweepID, Findings: findings, Assessed: []*reportingv1.AssessedScope{{AccountId: account, Region: region}}}); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]int{}
	for _, f := range findings {
		sev := strings.ToLower(strings.TrimPrefix(f.GetSeverity().String(), "SEVERITY_"))
		st := strings.ToLower(strings.TrimPrefix(f.GetStatus().String(), "FINDING_STATUS_"))
		if want[sev] == nil {
			want[sev] = map[string]int{}
		}
		want[sev][st]++
	}

	// Metrics.
	after := map[string]telemetrytest.Metrics{}
	for name, addr := range addrs {
		body := telemetrytest.Scrape(t, addr)
		noCanary(t, name+"'s /metrics", body)
		after[name] = telemetrytest.Parse(t, body)
	}
	grew := func(proc, family string, labels map[string]string) float64 {
		return after[proc].Value(family, labels) - before[proc].Value(family, labels)
	}
	type check struct {
		proc, family string
		labels       map[string]string
		atLeast      float64
	}
	checks := map[string]check{
		"Redact latency": {"redaction", "dpsweep_rpc_server_handling_seconds",
			map[string]string{"grpc_service": "dpsweep.redaction.v1.RedactionService", "grpc_method": "Redact", "grpc_code": "OK"}, 1},
		"Evaluate latency": {"evaluation", "dpsweep_rpc_server_handling_seconds",
			map[string]string{"grpc_service": "dpsweep.evaluation.v1.EvaluationService", "grpc_method": "Evaluate", "grpc_code": "OK"}, 1},
		"evaluation's calls to redaction": {"evaluation", "dpsweep_rpc_client_handling_seconds",
			map[string]string{"grpc_service": "dpsweep.redaction.v1.RedactionService", "grpc_code": "OK"}, 1},
		"RecordFindings latency": {"reporting", "dpsweep_rpc_server_handling_seconds",
			map[string]string{"grpc_service": "dpsweep.reporting.v1.ReportingService", "grpc_method": "RecordFindings", "grpc_code": "OK"}, 1},
		"email hits":      {"redaction", "dpsweep_redaction_detector_hits_total", map[string]string{"entity_type": "EMAIL_ADDRESS"}, 2},
		"access key hits": {"redaction", "dpsweep_redaction_detector_hits_total", map[string]string{"entity_type": "AWS_ACCESS_KEY_ID"}, 2},
		"texts scanned":   {"redaction", "dpsweep_redaction_texts_total", nil, 3},
	}
	for sev, byStatus := range want {
		for st, n := range byStatus {
			checks["findings "+sev+"/"+st] = check{"reporting", "dpsweep_reporting_findings_recorded_total", map[string]string{"severity": sev, "status": st}, float64(n)}
		}
	}
	for name, c := range checks {
		if got := grew(c.proc, c.family, c.labels); got < c.atLeast {
			t.Errorf("%s: %s%v in %s grew by %v, want at least %v", name, c.family, c.labels, c.proc, got, c.atLeast)
		}
	}
	if got, n := grew("reporting", "dpsweep_reporting_findings_recorded_total", nil), float64(len(findings)); got != n {
		t.Errorf("findings recorded grew by %v, want %v", got, n)
	}
	for _, entity := range after["redaction"].LabelValues("dpsweep_redaction_detector_hits_total", "entity_type") {
		if strings.ToUpper(entity) != entity {
			t.Errorf("entity_type label %q is not an entity type", entity)
		}
	}

	// Traces: Evaluate (evaluation, server) → RedactBatch (evaluation,
	// client) → RedactBatch (redaction, server), one trace.
	const evalMethod = "dpsweep.evaluation.v1.EvaluationService/Evaluate"
	var evalSpan, clientSpan, redSpan telemetrytest.Span
	recv.WaitFor(t, 20*time.Second, "the Evaluate → redaction chain", func(spans []telemetrytest.Span) bool {
		byID := map[string]telemetrytest.Span{}
		for _, s := range spans {
			byID[s.SpanID] = s
		}
		for _, s := range spans {
			if s.Service != "dpsweep-redaction" || !strings.HasPrefix(s.Name, "dpsweep.redaction.v1.RedactionService/") || s.Kind.String() != "SPAN_KIND_SERVER" {
				continue
			}
			c, ok := byID[s.ParentID]
			if !ok || c.Service != "dpsweep-evaluation" || c.Kind.String() != "SPAN_KIND_CLIENT" || c.Name != s.Name {
				continue
			}
			// The client span descends from the Evaluate server span.
			for cur, ok := byID[c.ParentID]; ok; cur, ok = byID[cur.ParentID] {
				if cur.Name == evalMethod && cur.Service == "dpsweep-evaluation" && cur.Kind.String() == "SPAN_KIND_SERVER" {
					evalSpan, clientSpan, redSpan = cur, c, s
					return true
				}
			}
		}
		return false
	})
	if evalSpan.TraceID != clientSpan.TraceID || clientSpan.TraceID != redSpan.TraceID {
		t.Errorf("trace IDs %s, %s, %s: want one trace", evalSpan.TraceID, clientSpan.TraceID, redSpan.TraceID)
	}
	for k, v := range map[string]string{"dpsweep.sweep_id": sweepID, "dpsweep.account_id": account, "dpsweep.region": region} {
		if evalSpan.Attributes[k] != v {
			t.Errorf("Evaluate span attribute %s = %q, want %q", k, evalSpan.Attributes[k], v)
		}
	}
	for _, s := range recv.Spans() {
		for k, v := range s.Attributes {
			noCanary(t, "span "+s.Name+" attribute "+k, v)
		}
	}

	// Logs: the Evaluate record names the sweep, account and region, and the trace.
	found := false
	eval.mu.Lock()
	for _, rec := range eval.lines {
		if rec["msg"] == "rpc" && rec["method"] == "/"+evalMethod {
			found = rec["sweep_id"] == sweepID && rec["account_id"] == account && rec["region"] == region && rec["trace_id"] == evalSpan.TraceID
			if !found {
				t.Errorf("Evaluate log record %v: want sweep_id, account_id, region and trace_id %s", rec, evalSpan.TraceID)
			}
		}
	}
	eval.mu.Unlock()
	if !found {
		t.Errorf("no rpc log record of Evaluate\n%s", eval.logs())
	}
	for name, p := range procs {
		noCanary(t, name+"'s logs", p.logs())
	}
}

// TestObservabilitySweepOverTemporal runs a small sweep through a real
// Temporal server with tracing on in this process (the services, the
// worker), and checks that the trace runs from the workflow through the
// Scan activity into the collection service and on from evaluation to
// redaction, and that the worker's sweep progress metrics counted it.
func TestObservabilitySweepOverTemporal(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a Temporal server; skipped with -short")
	}
	recv := telemetrytest.NewReceiver(t)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	tel, err := telemetry.Start(ctx, telemetry.Config{MetricsAddr: "127.0.0.1:0", OTLPEndpoint: recv.Addr()}, "tests", func(string) string { return "" }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	before := telemetrytest.Parse(t, telemetrytest.Scrape(t, tel.MetricsAddr()))

	o := world.DefaultGenOptions()
	o.Accounts, o.Seed = 3, 7
	keyring := "obs:" + base64.StdEncoding.EncodeToString(randomKey(t))
	s := startStackWithKey(t, o, keyring)
	// A SweepService whose Temporal client carries the tracing
	// interceptor, as dpsweep-sweep's does: the sweep starts inside the
	// StartSweep call's trace.
	keys, err := codec.ParseKeys(keyring)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := codec.NewDataConverter(keys)
	if err != nil {
		t.Fatal(err)
	}
	trace, err := tracing.Interceptor()
	if err != nil {
		t.Fatal(err)
	}
	traced, err := client.NewClientFromExisting(s.temporal, client.Options{DataConverter: dc, FailureConverter: codec.NewFailureConverter(dc),
		Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)), Interceptors: []interceptor.ClientInterceptor{trace}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(traced.Close)
	scfg := sweepsvc.DefaultConfig()
	scfg.Client, scfg.ManagementAccount = traced, s.sim.World.ManagementAccount
	scfg.Converters = &codec.Converters{Data: dc, Failure: codec.NewFailureConverter(dc), KeyID: keys[0].ID}
	sweeps := sweepv1.NewSweepServiceClient(serveOn(t, s.logs, scfg.Register))
	const id = "obs-temporal"
	if _, err := sweeps.StartSweep(ctx, &sweepv1.StartSweepRequest{SweepId: id, Spec: &sweepv1.SweepSpec{Regions: []string{"eu-west-1"}, RoleName: o.RoleName}}); err != nil {
		t.Fatal(err)
	}
	sw := s.wait(ctx, t, id, nil)
	if sw.GetState() != sweepv1.SweepState_SWEEP_STATE_COMPLETED {
		t.Fatalf("sweep ended %s", sw.GetState())
	}

	after := telemetrytest.Parse(t, telemetrytest.Scrape(t, tel.MetricsAddr()))
	for name, c := range map[string]struct {
		family string
		labels map[string]string
		want   float64
	}{
		"scans done":     {"dpsweep_sweep_scans_total", map[string]string{"result": "done"}, float64(o.Accounts * 2)},
		"accounts done":  {"dpsweep_sweep_accounts_total", map[string]string{"result": "done"}, float64(o.Accounts)},
		"sweep complete": {"dpsweep_sweep_sweeps_total", map[string]string{"state": "completed"}, 1},
		"Scan durations": {"dpsweep_sweep_activity_duration_seconds", map[string]string{"activity": "Scan", "result": "ok"}, float64(o.Accounts * 2)},
	} {
		if got := after.Value(c.family, c.labels) - before.Value(c.family, c.labels); got < c.want {
			t.Errorf("%s: %s%v grew by %v, want at least %v", name, c.family, c.labels, got, c.want)
		}
	}
	if got := after.Value("dpsweep_collection_aws_calls_total", nil) - before.Value("dpsweep_collection_aws_calls_total", nil); got <= 0 {
		t.Error("dpsweep_collection_aws_calls_total did not grow")
	}
	if ops := after.LabelValues("dpsweep_collection_aws_calls_total", "operation"); len(ops) == 0 {
		t.Error("no operation label on dpsweep_collection_aws_calls_total")
	}

	// One Scan activity's trace: StartSweep → … → RunActivity:Scan →
	// CollectInventory (client → server) and Evaluate → redaction.
	recv.WaitFor(t, 30*time.Second, "a Scan activity's trace into collection and redaction", func(spans []telemetrytest.Span) bool {
		byID := map[string]telemetrytest.Span{}
		for _, sp := range spans {
			byID[sp.SpanID] = sp
		}
		ancestor := func(sp telemetrytest.Span, match func(telemetrytest.Span) bool) (telemetrytest.Span, bool) {
			for cur, ok := byID[sp.ParentID]; ok; cur, ok = byID[cur.ParentID] {
				if match(cur) {
					return cur, true
				}
			}
			return telemetrytest.Span{}, false
		}
		isScan := func(sp telemetrytest.Span) bool { return sp.Name == "RunActivity:Scan" }
		collected, redacted := map[string]bool{}, map[string]bool{}
		for _, sp := range spans {
			if sp.Kind.String() != "SPAN_KIND_SERVER" {
				continue
			}
			scan, ok := ancestor(sp, isScan)
			if !ok || scan.TraceID != sp.TraceID || scan.Attributes["dpsweep.sweep_id"] != id {
				continue
			}
			if _, ok := ancestor(scan, func(w telemetrytest.Span) bool { return strings.HasPrefix(w.Name, "RunWorkflow:AccountSweep") }); !ok {
				continue
			}
			if _, ok := ancestor(scan, func(w telemetrytest.Span) bool {
				return w.Name == "dpsweep.sweep.v1.SweepService/StartSweep" && w.Kind.String() == "SPAN_KIND_SERVER"
			}); !ok {
				continue
			}
			switch {
			case sp.Name == "dpsweep.collection.v1.CollectionService/CollectInventory":
				collected[scan.SpanID] = true
			case strings.HasPrefix(sp.Name, "dpsweep.redaction.v1.RedactionService/"):
				redacted[scan.SpanID] = true
			}
		}
		for scan := range collected {
			if redacted[scan] {
				return true
			}
		}
		return false
	})
	noCanary(t, "the services' and worker's logs", s.logs.String())
	if !strings.Contains(s.logs.String(), `"sweep_id":"`+id+`"`) {
		t.Error("no log record carries the sweep's sweep_id")
	}
}
