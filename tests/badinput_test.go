package tests

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/dpsweep/dpsweep/awssim/world"
	_ "github.com/dpsweep/dpsweep/gen/dpsweep/collection/v1"
	_ "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	redactionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/redaction/v1"
	_ "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	_ "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
	"github.com/dpsweep/dpsweep/services/platform/server"
)

// badRequests holds, for every RPC of every dpsweep service, a request
// (protojson of its input message; for a client stream, the first message)
// that breaks one rule of the API, and the field the refusal must name.
// TestEveryRPCRefusesInvalidInput fails when an RPC has no entry here, so
// a new RPC comes with its bad input.
var badRequests = map[string]struct{ json, field string }{
	"dpsweep.collection.v1.CollectionService/DescribeTarget":   {`{"target": {"accountId": "12345"}}`, "target.account_id"},
	"dpsweep.collection.v1.CollectionService/CollectInventory": {`{"target": {"accountId": "111122223333"}, "scope": "SCOPE_GLOBAL", "region": "Mars"}`, "region"},
	"dpsweep.collection.v1.CollectionService/ListCollectors":   {`{"pageSize": -1}`, "page_size"},

	"dpsweep.evaluation.v1.EvaluationService/Evaluate":               {`{"context": {"sweepId": "s1", "accountId": "1", "region": "eu-west-1"}}`, "context.account_id"},
	"dpsweep.evaluation.v1.EvaluationService/ListControls":           {`{"minSeverity": 99}`, "min_severity"},
	"dpsweep.evaluation.v1.EvaluationService/GetControl":             {`{"controlId": "no spaces allowed"}`, "control_id"},
	"dpsweep.evaluation.v1.EvaluationService/ValidateCustomControls": {`{"fileName": "", "content": ""}`, "content"},

	"dpsweep.redaction.v1.RedactionService/Redact":        {`{"text": "x", "policyName": "Not A Name"}`, "policy_name"},
	"dpsweep.redaction.v1.RedactionService/RedactBatch":   {`{"texts": ["x"], "policyName": "Not A Name"}`, "policy_name"},
	"dpsweep.redaction.v1.RedactionService/RedactStream":  {`{"text": "x", "id": "` + strings.Repeat("i", 300) + `"}`, "id"},
	"dpsweep.redaction.v1.RedactionService/Detect":        {`{"text": "x", "minConfidence": 42}`, "min_confidence"},
	"dpsweep.redaction.v1.RedactionService/ListDetectors": {`{"pageToken": "` + strings.Repeat("t", 1100) + `"}`, "page_token"},
	"dpsweep.redaction.v1.RedactionService/ListPolicies":  {`{"pageToken": "` + strings.Repeat("t", 1100) + `"}`, "page_token"},
	"dpsweep.redaction.v1.RedactionService/Decrypt":       {`{"text": ""}`, "text"},

	"dpsweep.reporting.v1.ReportingService/RecordFindings": {`{"sweepId": "-bad"}`, "sweep_id"},
	"dpsweep.reporting.v1.ReportingService/FinalizeSweep":  {`{"sweepId": "s1", "state": 77}`, "state"},
	"dpsweep.reporting.v1.ReportingService/GetSweep":       {`{"sweepId": "a b"}`, "sweep_id"},
	"dpsweep.reporting.v1.ReportingService/ListSweeps":     {`{"state": 77}`, "state"},
	"dpsweep.reporting.v1.ReportingService/ListFindings":   {`{"sweepId": "s1", "pageToken": "` + strings.Repeat("t", 1100) + `"}`, "page_token"},
	"dpsweep.reporting.v1.ReportingService/DiffSweeps":     {`{"baseSweepId": "s0", "sweepId": "?"}`, "sweep_id"},
	"dpsweep.reporting.v1.ReportingService/ExportReport":   {`{"sweepId": "s1", "format": "REPORT_FORMAT_JSON"}`, "destination"},

	"dpsweep.sweep.v1.SweepService/StartSweep":      {`{"sweepId": "s1"}`, "spec"},
	"dpsweep.sweep.v1.SweepService/GetSweep":        {`{"sweepId": ""}`, "sweep_id"},
	"dpsweep.sweep.v1.SweepService/CancelSweep":     {`{"sweepId": "s1", "reason": "` + strings.Repeat("r", 1100) + `"}`, "reason"},
	"dpsweep.sweep.v1.SweepService/ListSweeps":      {`{"scheduleId": "bad id"}`, "schedule_id"},
	"dpsweep.sweep.v1.SweepService/CreateSchedule":  {`{"scheduleId": "nightly", "spec": {}, "interval": "30s"}`, "interval"},
	"dpsweep.sweep.v1.SweepService/GetSchedule":     {`{"scheduleId": "/"}`, "schedule_id"},
	"dpsweep.sweep.v1.SweepService/ListSchedules":   {`{"pageToken": "` + strings.Repeat("t", 4200) + `"}`, "page_token"},
	"dpsweep.sweep.v1.SweepService/PauseSchedule":   {`{"scheduleId": "nightly", "note": "` + strings.Repeat("n", 1100) + `"}`, "note"},
	"dpsweep.sweep.v1.SweepService/TriggerSchedule": {`{"scheduleId": ""}`, "schedule_id"},
	"dpsweep.sweep.v1.SweepService/DeleteSchedule":  {`{"scheduleId": "a*b"}`, "schedule_id"},
}

// TestEveryRPCRefusesInvalidInput sends every RPC of every service, over
// real listeners, a request that breaks a rule of its API and expects
// INVALID_ARGUMENT naming the field; and a message over the size limit,
// which is refused with RESOURCE_EXHAUSTED saying so. The RPCs come from
// the generated descriptors, so none is left out.
func TestEveryRPCRefusesInvalidInput(t *testing.T) {
	t.Parallel()
	o := world.DefaultGenOptions()
	o.Accounts, o.Seed = 2, 3
	s := startStack(t, o)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	conns := map[string]*grpc.ClientConn{}
	conn := func(area string) *grpc.ClientConn {
		if c, ok := conns[area]; ok {
			return c
		}
		addr, ok := s.addrs[area]
		if !ok {
			t.Fatalf("no %s service in the stack", area)
		}
		c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns[area] = c
		return c
	}

	seen := map[string]bool{}
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		pkg := string(fd.Package())
		if !strings.HasPrefix(pkg, "dpsweep.") {
			return true
		}
		area := strings.Split(pkg, ".")[1]
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				md := sd.Methods().Get(j)
				name := string(sd.FullName()) + "/" + string(md.Name())
				seen[name] = true
				tc, ok := badRequests[name]
				if !ok {
					t.Errorf("%s: no bad request in badRequests; add one", name)
					continue
				}
				req := dynamicpb.NewMessage(md.Input())
				if err := protojson.Unmarshal([]byte(tc.json), req); err != nil {
					t.Errorf("%s: the bad request does not parse: %v", name, err)
					continue
				}
				err := callDynamic(ctx, conn(area), "/"+name, md, req)
				if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), tc.field) {
					t.Errorf("%s: %v; want INVALID_ARGUMENT naming %s", name, err, tc.field)
				}
			}
		}
		return true
	})
	for name := range badRequests {
		if !seen[name] {
			t.Errorf("badRequests names %s, which no service has", name)
		}
	}
	if len(seen) < 31 {
		t.Errorf("found %d RPCs in the descriptors; want at least 31", len(seen))
	}

	// A request over the server's limit never reaches a handler.
	big := strings.Repeat("a", server.DefaultMaxRecvMsgBytes+1024)
	_, err := redactionv1.NewRedactionServiceClient(conn("redaction")).Redact(ctx, &redactionv1.RedactRequest{Text: big})
	if st := status.Convert(err); st.Code() != codes.ResourceExhausted || !strings.Contains(st.Message(), "larger than max") {
		t.Errorf("oversize Redact: %v; want RESOURCE_EXHAUSTED saying the message is larger than the maximum", err)
	}
	// The service is still there afterwards.
	if _, err := redactionv1.NewRedactionServiceClient(conn("redaction")).Redact(ctx, &redactionv1.RedactRequest{Text: "mail bob@example.com"}); err != nil {
		t.Errorf("Redact after the oversize request: %v", err)
	}
}

// callDynamic sends req to method, unary or streaming, and returns the RPC's error.
func callDynamic(ctx context.Context, cc *grpc.ClientConn, method string, md protoreflect.MethodDescriptor, req *dynamicpb.Message) error {
	resp := dynamicpb.NewMessage(md.Output())
	if !md.IsStreamingClient() && !md.IsStreamingServer() {
		return cc.Invoke(ctx, method, req, resp)
	}
	cs, err := cc.NewStream(ctx, &grpc.StreamDesc{StreamName: string(md.Name()), ClientStreams: md.IsStreamingClient(), ServerStreams: md.IsStreamingServer()}, method)
	if err != nil {
		return err
	}
	if err := cs.SendMsg(req); err != nil {
		return cs.RecvMsg(resp) // the server's status
	}
	if err := cs.CloseSend(); err != nil {
		return err
	}
	for {
		if err := cs.RecvMsg(resp); err != nil {
			return err
		}
	}
}
