package tests

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/dpsweep/dpsweep/awssim/world"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	sweepv1 "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
	"github.com/dpsweep/dpsweep/services/platform/tlsutil"
)

// TestSweepOverMutualTLS runs a sweep with mutual TLS between every
// process and the authorisation rules of deploy/k8s/overlays/prod: the
// worker presents its certificate to collection, evaluation and
// reporting, the evaluation service its own to redaction, and only the
// worker may record findings. The sweep completes with every account and
// scan done; the operator, whose certificate opens the SweepService and
// reporting's reads, is refused RecordFindings.
func TestSweepOverMutualTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a Temporal server; skipped with -short")
	}
	t.Parallel()
	certs, err := tlsutil.WriteDevCertsWith(t.TempDir(), tlsutil.DevCertOptions{Clients: []string{"dpsweep-worker", "dpsweep-evaluation", "operator"}})
	if err != nil {
		t.Fatal(err)
	}
	m := &stackTLS{certs: certs, allow: map[string]string{
		"collection": "*=dpsweep-worker",
		"evaluation": "*=dpsweep-worker",
		"redaction":  "*=dpsweep-evaluation",
		"reporting":  "RecordFindings,FinalizeSweep=dpsweep-worker",
		"sweep":      "*=operator",
	}}
	o := world.DefaultGenOptions()
	o.Accounts, o.Seed, o.PlantRate = 4, 11, 0.5
	s := startStackWith(t, o, "mtls:"+base64.StdEncoding.EncodeToString(randomKey(t)), m)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	spec := &sweepv1.SweepSpec{Regions: []string{"eu-west-1"}, RoleName: o.RoleName}
	if _, err := s.sweeps.StartSweep(ctx, &sweepv1.StartSweepRequest{SweepId: "mtls", Spec: spec}); err != nil {
		t.Fatal(err)
	}
	sw := s.wait(ctx, t, "mtls", nil)
	p := sw.GetProgress()
	if sw.GetState() != sweepv1.SweepState_SWEEP_STATE_COMPLETED || p.GetAccountsDone() != int64(o.Accounts) || p.GetAccountsFailed() != 0 ||
		p.GetRegionsDone() != int64(2*o.Accounts) || p.GetErrors() != 0 {
		t.Fatalf("sweep over mutual TLS: %s, %v; want COMPLETED with %d accounts and %d scans, no errors", sw.GetState(), p, o.Accounts, 2*o.Accounts)
	}
	findings := s.findings(ctx, t, "mtls")
	if len(findings) == 0 || int64(len(findings)) != p.GetCounts().GetFindings() {
		t.Fatalf("%d findings stored; the sweep counted %d", len(findings), p.GetCounts().GetFindings())
	}
	// Free-form text went to redaction through the evaluation service's
	// certificate: planted values were found.
	fails := 0
	for _, f := range findings {
		if f.GetStatus().String() == "FINDING_STATUS_FAIL" {
			fails++
		}
	}
	if fails == 0 {
		t.Fatal("no FAIL findings; the planted values should have failed controls")
	}
	_, err = s.reports.RecordFindings(ctx, &reportingv1.RecordFindingsRequest{SweepId: "mtls"})
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("RecordFindings as the operator: %v; want PermissionDenied", err)
	}
}
