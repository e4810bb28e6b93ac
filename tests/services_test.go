package tests

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	collectionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/collection/v1"
	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	redactionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/redaction/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	sweepv1 "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
)

// call is one RPC made by a test through the generated client.
type call func(ctx context.Context, conn *grpc.ClientConn) error

type serviceCase struct {
	binary  string
	service string // full gRPC service name
	// invalid is a request that breaks a validation rule on field.
	invalid call
	field   string
	// valid is a well-formed request: UNIMPLEMENTED for an RPC whose issue
	// has not landed, success once implemented is set.
	valid       call
	implemented bool
}

var serviceCases = map[string]serviceCase{
	"collection": {
		binary: "dpsweep-collection", service: "dpsweep.collection.v1.CollectionService",
		invalid: func(ctx context.Context, c *grpc.ClientConn) error {
			_, err := collectionv1.NewCollectionServiceClient(c).DescribeTarget(ctx, &collectionv1.DescribeTargetRequest{Target: &collectionv1.Target{AccountId: "12345"}})
			return err
		},
		field: "target.account_id",
		valid: func(ctx context.Context, c *grpc.ClientConn) error {
			resp, err := collectionv1.NewCollectionServiceClient(c).ListCollectors(ctx, &collectionv1.ListCollectorsRequest{})
			if err == nil && len(resp.GetCollectors()) < 10 {
				return fmt.Errorf("ListCollectors() = %d collectors", len(resp.GetCollectors()))
			}
			return err
		},
		implemented: true,
	},
	"evaluation": {
		binary: "dpsweep-evaluation", service: "dpsweep.evaluation.v1.EvaluationService",
		invalid: func(ctx context.Context, c *grpc.ClientConn) error {
			_, err := evaluationv1.NewEvaluationServiceClient(c).ListControls(ctx, &evaluationv1.ListControlsRequest{PageSize: 5000})
			return err
		},
		field: "page_size",
		valid: func(ctx context.Context, c *grpc.ClientConn) error {
			resp, err := evaluationv1.NewEvaluationServiceClient(c).GetControl(ctx, &evaluationv1.GetControlRequest{ControlId: "DPS-IAM-001"})
			if err == nil && len(resp.GetControl().GetSeeds()) == 0 {
				return fmt.Errorf("GetControl() = %v", resp)
			}
			return err
		},
		implemented: true,
	},
	"redaction": {
		binary: "dpsweep-redaction", service: "dpsweep.redaction.v1.RedactionService",
		invalid: func(ctx context.Context, c *grpc.ClientConn) error {
			_, err := redactionv1.NewRedactionServiceClient(c).RedactBatch(ctx, &redactionv1.RedactBatchRequest{})
			return err
		},
		field: "texts",
		valid: func(ctx context.Context, c *grpc.ClientConn) error {
			resp, err := redactionv1.NewRedactionServiceClient(c).Redact(ctx, &redactionv1.RedactRequest{Text: "owner ops@acme.io"})
			if err == nil && resp.GetRedactedText() != "owner [EMAIL_ADDRESS]" {
				return fmt.Errorf("Redact() = %q", resp.GetRedactedText())
			}
			return err
		},
		implemented: true,
	},
	"reporting": {
		binary: "dpsweep-reporting", service: "dpsweep.reporting.v1.ReportingService",
		invalid: func(ctx context.Context, c *grpc.ClientConn) error {
			_, err := reportingv1.NewReportingServiceClient(c).ListFindings(ctx, &reportingv1.ListFindingsRequest{
				SweepId: "s1", Filter: &reportingv1.FindingFilter{AccountIds: []string{"not-an-account"}},
			})
			return err
		},
		field: "filter.account_ids[0]",
		valid: func(ctx context.Context, c *grpc.ClientConn) error {
			_, err := reportingv1.NewReportingServiceClient(c).ListSweeps(ctx, &reportingv1.ListSweepsRequest{})
			return err
		},
		implemented: true,
	},
	"sweep": {
		binary: "dpsweep-sweep", service: "dpsweep.sweep.v1.SweepService",
		invalid: func(ctx context.Context, c *grpc.ClientConn) error {
			_, err := sweepv1.NewSweepServiceClient(c).StartSweep(ctx, &sweepv1.StartSweepRequest{Spec: &sweepv1.SweepSpec{Regions: []string{"mars-north-1x"}}})
			return err
		},
		field: "spec.regions[0]",
		valid: func(ctx context.Context, c *grpc.ClientConn) error {
			// Without --management-account a sweep cannot discover accounts:
			// the service says which flag to set, before it needs Temporal.
			_, err := sweepv1.NewSweepServiceClient(c).StartSweep(ctx, &sweepv1.StartSweepRequest{Spec: &sweepv1.SweepSpec{}})
			if status.Code(err) == codes.FailedPrecondition && strings.Contains(err.Error(), "--management-account") {
				return nil
			}
			return fmt.Errorf("StartSweep without a management account = %v; want FailedPrecondition naming --management-account", err)
		},
		implemented: true,
	},
}

// TestServiceBinaries starts every service binary on a real 127.0.0.1
// listener and checks, through real gRPC clients, health, reflection,
// validation, the UNIMPLEMENTED placeholder and a clean SIGTERM shutdown.
func TestServiceBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries; skipped with -short")
	}
	t.Parallel()
	for name, tc := range serviceCases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := startBinary(t, tc.binary)
			conn, err := grpc.NewClient(p.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()

			for _, svc := range []string{"", tc.service} {
				resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
				if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
					t.Fatalf("health %q = %v, %v; want SERVING", svc, resp.GetStatus(), err)
				}
			}

			services := listServices(ctx, t, conn)
			for _, want := range []string{tc.service, "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"} {
				if !strings.Contains(services, want) {
					t.Errorf("reflection lists %s; want %s among them", services, want)
				}
			}

			err = tc.invalid(ctx, conn)
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), tc.field) {
				t.Errorf("invalid request = %v; want InvalidArgument naming %s", err, tc.field)
			}
			if !badRequestNames(st, tc.field) {
				t.Errorf("invalid request details %v; want a BadRequest field violation for %s", st.Details(), tc.field)
			}

			if err := tc.valid(ctx, conn); tc.implemented && err != nil {
				t.Errorf("valid request = %v; want success", err)
			} else if !tc.implemented && status.Code(err) != codes.Unimplemented {
				t.Errorf("valid request = %v; want Unimplemented until its issue lands", err)
			}

			if err := p.stop(t); err != nil {
				t.Fatalf("exit after SIGTERM = %v; want status 0\n%s", err, p.logs())
			}
			logs := p.logs()
			for _, want := range []string{`"msg":"shutting down"`, `"msg":"stopped"`, `"service":"` + name + `"`} {
				if !strings.Contains(logs, want) {
					t.Errorf("logs lack %s:\n%s", want, logs)
				}
			}
			// --log-level debug on the command line beat DPSWEEP_LOG_LEVEL=error.
			if !strings.Contains(logs, `"msg":"rpc"`) {
				t.Errorf("debug rpc records missing; flag did not win over the environment:\n%s", logs)
			}
		})
	}
}

func listServices(ctx context.Context, t *testing.T, conn *grpc.ClientConn) string {
	t.Helper()
	stream, err := rpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.CloseSend()
	if err := stream.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	return strings.Join(names, ",")
}

func badRequestNames(st *status.Status, field string) bool {
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, fv := range br.GetFieldViolations() {
				if fv.GetField() == field {
					return true
				}
			}
		}
	}
	return false
}

// TestBinaryConfigErrors checks that bad configuration stops a binary with a
// message that says what to fix, before it listens.
func TestBinaryConfigErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries; skipped with -short")
	}
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })
	tests := map[string]struct {
		args []string
		env  []string
		want string
	}{
		"unknown flag":          {args: []string{"--nope"}, want: "flag provided but not defined: -nope"},
		"bad log format":        {args: []string{"--log-format", "xml"}, want: `log format "xml": want json or text`},
		"certificate needs key": {args: []string{"--tls-cert", "cert.pem"}, want: "--tls-cert and --tls-key must be given together"},
		"bad env value":         {env: []string{"DPSWEEP_REDACTION_SHUTDOWN_TIMEOUT=soon"}, want: "environment variable DPSWEEP_REDACTION_SHUTDOWN_TIMEOUT"},
		"address in use":        {args: []string{"--addr", busy.Addr().String()}, want: "listen on " + busy.Addr().String()},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(binary(t, "dpsweep-redaction"), tc.args...)
			cmd.Env = append(cmd.Environ(), tc.env...)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("exit status 0; want failure\n%s", out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Fatalf("output lacks %q:\n%s", tc.want, out)
			}
		})
	}
}
