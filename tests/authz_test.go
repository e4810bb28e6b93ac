package tests

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	sweepv1 "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
	"github.com/dpsweep/dpsweep/services/platform/tlsutil"
)

// dialMTLS connects to addr over TLS, presenting the named client's
// certificate, or none when name is empty.
func dialMTLS(t *testing.T, certs tlsutil.DevCerts, addr, name string) *grpc.ClientConn {
	t.Helper()
	files := tlsutil.ClientFiles{CAFile: certs.CAFile}
	if name != "" {
		files.CertFile, files.KeyFile = certs.Client(name)
	}
	tc, err := tlsutil.Client(files)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func mtlsArgs(certs tlsutil.DevCerts) []string {
	return []string{"--tls-cert", certs.ServerCertFile, "--tls-key", certs.ServerKeyFile, "--tls-client-ca", certs.CAFile}
}

// TestAuthzBinaries starts dpsweep-reporting and dpsweep-sweep with mutual
// TLS and authorisation rules, as the production overlay does, and calls
// them as the worker, as an operator and without a certificate.
func TestAuthzBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the service binaries")
	}
	t.Parallel()
	certs, err := tlsutil.WriteDevCerts(t.TempDir(), "dpsweep-worker", "operator")
	if err != nil {
		t.Fatal(err)
	}
	rep := startBinary(t, "dpsweep-reporting", append(mtlsArgs(certs), "--allow-identities", "RecordFindings,FinalizeSweep=dpsweep-worker")...)
	swp := startBinary(t, "dpsweep-sweep", append(mtlsArgs(certs), "--allow-identities", "*=operator")...)

	record := func(ctx context.Context, conn *grpc.ClientConn) error {
		_, err := reportingv1.NewReportingServiceClient(conn).RecordFindings(ctx, &reportingv1.RecordFindingsRequest{
			SweepId: "authz-1", Assessed: []*reportingv1.AssessedScope{{AccountId: "123456789012", Region: "us-east-1"}}})
		return err
	}
	finalize := func(ctx context.Context, conn *grpc.ClientConn) error {
		_, err := reportingv1.NewReportingServiceClient(conn).FinalizeSweep(ctx, &reportingv1.FinalizeSweepRequest{
			SweepId: "authz-1", State: reportingv1.SweepState_SWEEP_STATE_COMPLETED})
		return err
	}
	listSweeps := func(ctx context.Context, conn *grpc.ClientConn) error {
		_, err := reportingv1.NewReportingServiceClient(conn).ListSweeps(ctx, &reportingv1.ListSweepsRequest{})
		return err
	}
	startSweep := func(ctx context.Context, conn *grpc.ClientConn) error {
		// Past authorisation, an empty spec without --management-account
		// is FAILED_PRECONDITION: no Temporal needed to tell who got in.
		_, err := sweepv1.NewSweepServiceClient(conn).StartSweep(ctx, &sweepv1.StartSweepRequest{Spec: &sweepv1.SweepSpec{}})
		return err
	}
	health := func(ctx context.Context, conn *grpc.ClientConn) error {
		_, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	}

	// In order: the worker records and finalizes before anyone lists.
	tests := []struct {
		name, addr, identity string
		call                 func(context.Context, *grpc.ClientConn) error
		want                 codes.Code
		method               string
	}{
		{name: "the worker may RecordFindings", addr: rep.addr, identity: "dpsweep-worker", call: record, want: codes.OK},
		{name: "an operator may not RecordFindings", addr: rep.addr, identity: "operator", call: record, want: codes.PermissionDenied, method: "RecordFindings"},
		{name: "an operator may not FinalizeSweep", addr: rep.addr, identity: "operator", call: finalize, want: codes.PermissionDenied, method: "FinalizeSweep"},
		{name: "the worker may FinalizeSweep", addr: rep.addr, identity: "dpsweep-worker", call: finalize, want: codes.OK},
		{name: "an operator may read the sweeps", addr: rep.addr, identity: "operator", call: listSweeps, want: codes.OK},
		{name: "reporting refuses a caller without a certificate", addr: rep.addr, call: listSweeps, want: codes.Unavailable},
		{name: "the SweepService lets in its operator", addr: swp.addr, identity: "operator", call: startSweep, want: codes.FailedPrecondition},
		{name: "the SweepService refuses another identity", addr: swp.addr, identity: "dpsweep-worker", call: startSweep, want: codes.PermissionDenied, method: "StartSweep"},
		{name: "the SweepService refuses a caller without a certificate", addr: swp.addr, call: startSweep, want: codes.Unavailable},
		{name: "health stays open to any certificate of the CA", addr: swp.addr, identity: "dpsweep-worker", call: health, want: codes.OK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := tc.call(ctx, dialMTLS(t, certs, tc.addr, tc.identity))
			if got := status.Code(err); got != tc.want {
				t.Fatalf("code = %v (%v), want %v", got, err, tc.want)
			}
			if tc.want == codes.PermissionDenied {
				msg := status.Convert(err).Message()
				if !strings.Contains(msg, tc.method) {
					t.Errorf("refusal %q does not name %s", msg, tc.method)
				}
				if strings.Contains(msg, "dpsweep-worker") || strings.Contains(msg, "operator") {
					t.Errorf("refusal %q leaks an identity", msg)
				}
			}
		})
	}
	for _, p := range []*process{rep, swp} {
		logs := p.logs()
		if !strings.Contains(logs, "authorisation on") || !strings.Contains(logs, "rpc refused") {
			t.Errorf("log lacks the authorisation record or the refusals:\n%s", logs)
		}
	}
}

// TestAuthzRulesNeedMutualTLS: a service given rules but no client CA
// refuses to start and names the flag, whether the rules come from a flag
// or the environment.
func TestAuthzRulesNeedMutualTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the service binaries")
	}
	t.Parallel()
	certs, err := tlsutil.WriteDevCerts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		args []string
		env  string
	}{
		"flag without TLS":       {args: []string{"--allow-identities", "RecordFindings=dpsweep-worker"}},
		"environment, TLS only":  {args: []string{"--tls-cert", certs.ServerCertFile, "--tls-key", certs.ServerKeyFile}, env: "DPSWEEP_REPORTING_ALLOW_IDENTITIES=RecordFindings=dpsweep-worker"},
		"shared environment too": {env: "DPSWEEP_ALLOW_IDENTITIES=RecordFindings=dpsweep-worker"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary(t, "dpsweep-reporting"), append([]string{"--addr", "127.0.0.1:0"}, tc.args...)...)
			cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+t.TempDir())
			if tc.env != "" {
				cmd.Env = append(cmd.Env, tc.env)
			}
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), "--tls-client-ca") || strings.Contains(string(out), `"msg":"serving"`) {
				t.Fatalf("dpsweep-reporting with rules and no --tls-client-ca: %v\n%s\nwant a refusal to start naming --tls-client-ca", err, out)
			}
		})
	}
}
