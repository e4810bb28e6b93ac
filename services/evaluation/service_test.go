package evaluation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	collectionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/collection/v1"
	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	"github.com/dpsweep/dpsweep/services/platform/server"
	"github.com/dpsweep/dpsweep/services/redaction"
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

// listen serves register on a real 127.0.0.1 listener with the real
// interceptor chain, logging at debug level into logs.
func listen(t *testing.T, logs io.Writer, register server.RegisterFunc) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{Addr: lis.Addr().String(), LogFormat: "json", LogLevel: "debug", MaxRecvMsgBytes: server.DefaultMaxRecvMsgBytes,
		MaxSendMsgBytes: server.DefaultMaxSendMsgBytes, ShutdownTimeout: 5 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	go func() { done <- server.ServeListener(ctx, lis, cfg, log, register) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return lis.Addr().String()
}

// start runs a RedactionService and an EvaluationService that uses it.
func start(t *testing.T, edit func(*Config)) (evaluationv1.EvaluationServiceClient, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	rcfg := redaction.DefaultConfig()
	cfg := DefaultConfig()
	cfg.Redaction.Addr = listen(t, logs, rcfg.Register)
	if edit != nil {
		edit(&cfg)
	}
	addr := listen(t, logs, cfg.Register)
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithDefaultCallOptions(grpc.WaitForReady(true)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return evaluationv1.NewEvaluationServiceClient(conn), logs
}

const acct = "111122223333"

func res(t *testing.T, typ, arn, region string, attrs map[string]any, fields ...*collectionv1.FreeFormField) *collectionv1.Resource {
	t.Helper()
	s, err := structpb.NewStruct(attrs)
	if err != nil {
		t.Fatal(err)
	}
	return &collectionv1.Resource{Arn: arn, ResourceType: typ, AccountId: acct, Region: region, Attributes: s, FreeFormFields: fields}
}

// evaluate sends a context and inventory chunks and reads every response.
func evaluate(ctx context.Context, c evaluationv1.EvaluationServiceClient, reqs ...*evaluationv1.EvaluateRequest) ([]*evaluationv1.Finding, *evaluationv1.EvaluationSummary, int, error) {
	stream, err := c.Evaluate(ctx)
	if err != nil {
		return nil, nil, 0, err
	}
	for _, r := range reqs {
		if err := stream.Send(r); err != nil {
			break // the server answered early; Recv has its status
		}
	}
	_ = stream.CloseSend()
	var fs []*evaluationv1.Finding
	msgs := 0
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return fs, nil, msgs, errors.New("no summary")
		}
		if err != nil {
			return nil, nil, msgs, err
		}
		msgs++
		fs = append(fs, m.GetFindings()...)
		if m.GetSummary() != nil {
			return fs, m.GetSummary(), msgs, nil
		}
	}
}

func ctxMsg(ec *evaluationv1.EvaluationContext) *evaluationv1.EvaluateRequest {
	return &evaluationv1.EvaluateRequest{Payload: &evaluationv1.EvaluateRequest_Context{Context: ec}}
}

func invMsg(rs []*collectionv1.Resource, errs ...*collectionv1.CollectionError) *evaluationv1.EvaluateRequest {
	return &evaluationv1.EvaluateRequest{Payload: &evaluationv1.EvaluateRequest_Inventory{Inventory: &collectionv1.CollectInventoryResponse{Resources: rs, Errors: errs}}}
}

// Canaries planted in free-form fields: none may reach a finding or a log line.
const (
	canaryAccount = "493817265012"
	canaryKey     = "AKIAQ3EGTXMPLR7NJ2KD"
	canarySecret  = "QRTkmnp482#xyz"
	canaryEmail   = "canary.person@example-corp.com"
)

func canaryInventory(t *testing.T, n int) []*collectionv1.Resource {
	var rs []*collectionv1.Resource
	for i := range n {
		id := fmt.Sprintf("prod-%013d", i)
		rs = append(rs, res(t, "AWS::ServiceCatalog::Product", "arn:aws:catalog:eu-west-1:111122223333:product/"+id, "eu-west-1", map[string]any{"product_id": id},
			&collectionv1.FreeFormField{Path: "Name", Kind: collectionv1.FieldKind_FIELD_KIND_NAME, Value: "prod-" + canaryAccount + "-network"},
			&collectionv1.FreeFormField{Path: "Description", Kind: collectionv1.FieldKind_FIELD_KIND_DESCRIPTION, Value: "Network baseline; admin password=" + canarySecret},
			&collectionv1.FreeFormField{Path: "Owner", Kind: collectionv1.FieldKind_FIELD_KIND_OWNER, Value: "team network, contact " + canaryEmail},
			&collectionv1.FreeFormField{Path: "Tags[" + canaryEmail + "]", Kind: collectionv1.FieldKind_FIELD_KIND_TAG_VALUE, Value: "owner"},
			&collectionv1.FreeFormField{Path: "ProvisioningArtifacts[pa-abcdefghijklm].TemplateUrl", Kind: collectionv1.FieldKind_FIELD_KIND_URL,
				Value: "http://deploy:" + canarySecret + "@templates.example-corp.com/v1.yaml?X-Amz-Credential=" + canaryKey + "%2F20250101%2Fus-east-1%2Fs3%2Faws4_request"},
		))
	}
	return rs
}

// TestEvaluateOverGRPC evaluates an inventory in several chunks through the
// real services and checks the findings, their chunking, and that no
// planted canary reaches a finding or a log line of either service.
func TestEvaluateOverGRPC(t *testing.T) {
	t.Parallel()
	c, logs := start(t, nil)
	rs := canaryInventory(t, 300)
	fs, sum, msgs, err := evaluate(context.Background(), c,
		ctxMsg(&evaluationv1.EvaluationContext{SweepId: "sweep-1", AccountId: acct, Region: "eu-west-1"}), invMsg(rs[:100]), invMsg(rs[100:]))
	if err != nil {
		t.Fatal(err)
	}
	// Per product: FFT-002 fails Name, Description, Owner and the tag;
	// URL-001 and TLS-003 fail the template URL.
	if want := 300 * 6; len(fs) != want || sum.GetFail() != int64(want) || sum.GetResourcesEvaluated() != 300 {
		t.Fatalf("%d findings, summary %v; want %d failures over 300 resources", len(fs), sum, want)
	}
	if msgs < 4 {
		t.Errorf("%d response messages; want the findings in chunks", msgs)
	}
	seen := map[string]bool{}
	pseudonym := regexp.MustCompile(`\[([A-Z_]+):[0-9a-f]+\]`)
	for _, f := range fs {
		seen[f.GetControlId()+" "+pseudonym.ReplaceAllString(f.GetFieldPath(), "[$1]")] = true
		if f.GetEvidence().GetRedactedText() == "" {
			t.Errorf("%s %s: no redacted evidence", f.GetControlId(), f.GetFieldPath())
		}
	}
	for _, k := range []string{"DPS-FFT-002 Name", "DPS-FFT-002 Description", "DPS-FFT-002 Owner", "DPS-FFT-002 Tags[[EMAIL_ADDRESS]]",
		"DPS-URL-001 ProvisioningArtifacts[pa-abcdefghijklm].TemplateUrl", "DPS-TLS-003 ProvisioningArtifacts[pa-abcdefghijklm].TemplateUrl"} {
		if !seen[k] {
			t.Errorf("no finding %s; have %v", k, seen)
		}
	}
	all := logs.String()
	for _, f := range fs {
		all += f.String()
	}
	for _, canary := range []string{canaryAccount, canaryKey, canarySecret, canaryEmail} {
		if strings.Contains(all, canary) {
			t.Errorf("canary %q leaked into findings or logs", canary)
		}
	}
	if !strings.Contains(logs.String(), `"msg":"inventory evaluated"`) {
		t.Errorf("no evaluation log record:\n%s", logs.String())
	}
}

func TestEvaluateRefusesBadInput(t *testing.T) {
	t.Parallel()
	c, logs := start(t, nil)
	good := &evaluationv1.EvaluationContext{SweepId: "sweep-1", AccountId: acct, Region: "eu-west-1"}
	key := func() *collectionv1.Resource {
		return res(t, "AWS::KMS::Key", "arn:aws:kms:eu-west-1:111122223333:key/k", "eu-west-1", map[string]any{"manager": "CUSTOMER"})
	}
	tests := map[string]struct {
		reqs  []*evaluationv1.EvaluateRequest
		field string
	}{
		"no context first": {[]*evaluationv1.EvaluateRequest{invMsg([]*collectionv1.Resource{key()})}, "context"},
		"empty stream":     {nil, "context"},
		"context twice":    {[]*evaluationv1.EvaluateRequest{ctxMsg(good), ctxMsg(good)}, "context"},
		"bad account":      {[]*evaluationv1.EvaluateRequest{ctxMsg(&evaluationv1.EvaluationContext{SweepId: "s", AccountId: "12", Region: "eu-west-1"})}, "context.account_id"},
		"bad org account":  {[]*evaluationv1.EvaluateRequest{ctxMsg(&evaluationv1.EvaluationContext{SweepId: "s", AccountId: acct, Region: "eu-west-1", OrganizationAccountIds: []string{"x"}})}, "context.organization_account_ids[0]"},
		"org account 13 digits": {[]*evaluationv1.EvaluateRequest{ctxMsg(&evaluationv1.EvaluationContext{SweepId: "s", AccountId: acct, Region: "eu-west-1",
			OrganizationAccountIds: []string{acct, "1111222233334"}})}, "context.organization_account_ids[1]"},
		"org account twice": {[]*evaluationv1.EvaluateRequest{ctxMsg(&evaluationv1.EvaluationContext{SweepId: "s", AccountId: acct, Region: "eu-west-1",
			OrganizationAccountIds: []string{acct, "444455556666", acct}})}, "context.organization_account_ids[2]"},
		"unknown control":    {[]*evaluationv1.EvaluateRequest{ctxMsg(&evaluationv1.EvaluationContext{SweepId: "s", AccountId: acct, Region: "eu-west-1", ControlIds: []string{"NOPE-1"}})}, "context.control_ids[0]"},
		"resource elsewhere": {[]*evaluationv1.EvaluateRequest{ctxMsg(good), invMsg([]*collectionv1.Resource{key(), res(t, "AWS::KMS::Key", "arn:aws:kms:us-east-1:111122223333:key/k", "us-east-1", nil)})}, "inventory.resources[1].region"},
		"attribute type": {[]*evaluationv1.EvaluateRequest{ctxMsg(good), invMsg(nil), invMsg([]*collectionv1.Resource{
			res(t, "AWS::KMS::Key", "arn:aws:kms:eu-west-1:111122223333:key/k", "eu-west-1", map[string]any{"manager": "CUSTOMER", "spec": "SYMMETRIC_DEFAULT", "state": "Enabled", "rotation_enabled": "yes"})})}, "inventory.resources[0].attributes.rotation_enabled"},
		"suppression without expiry": {[]*evaluationv1.EvaluateRequest{ctxMsg(&evaluationv1.EvaluationContext{SweepId: "s", AccountId: acct, Region: "eu-west-1",
			Suppressions: []*evaluationv1.Suppression{{Id: "x", ControlId: "*", Justification: "because"}}})}, "context.suppressions[0].expires_at"},
	}
	// Bad values that are collected text never come back in the error.
	canaryARN := res(t, "AWS::KMS::Key", "key/"+canarySecret, "eu-west-1", nil)
	canaryAttr := res(t, "AWS::KMS::Key", "arn:aws:kms:eu-west-1:111122223333:key/k", "eu-west-1",
		map[string]any{"manager": "CUSTOMER", "spec": "SYMMETRIC_DEFAULT", "state": "Enabled", "rotation_enabled": canaryKey})
	tests["canary in a bad ARN"] = struct {
		reqs  []*evaluationv1.EvaluateRequest
		field string
	}{[]*evaluationv1.EvaluateRequest{ctxMsg(good), invMsg([]*collectionv1.Resource{canaryARN})}, "inventory.resources[0].arn"}
	tests["canary in a bad attribute"] = struct {
		reqs  []*evaluationv1.EvaluateRequest
		field string
	}{[]*evaluationv1.EvaluateRequest{ctxMsg(good), invMsg([]*collectionv1.Resource{canaryAttr})}, "inventory.resources[0].attributes.rotation_enabled"}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, _, _, err := evaluate(context.Background(), c, tc.reqs...)
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), tc.field) {
				t.Fatalf("error %v; want InvalidArgument naming %s", err, tc.field)
			}
			for _, canary := range []string{canarySecret, canaryKey} {
				if strings.Contains(st.String(), canary) || strings.Contains(logs.String(), canary) {
					t.Errorf("canary %q in the error or the logs", canary)
				}
			}
		})
	}
}

func TestListAndGetControls(t *testing.T) {
	t.Parallel()
	c, _ := start(t, nil)
	ctx := context.Background()
	var ids []string
	token, pages := "", 0
	for {
		resp, err := c.ListControls(ctx, &evaluationv1.ListControlsRequest{PageSize: 7, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, ctl := range resp.GetControls() {
			ids = append(ids, ctl.GetId())
			if len(ctl.GetSeeds()) == 0 || ctl.GetSeeds()[0].GetQuote() == "" || len(ctl.GetRemediation()) == 0 {
				t.Errorf("%s: incomplete control %v", ctl.GetId(), ctl)
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(ids) < 25 || pages < 4 {
		t.Fatalf("%d controls in %d pages", len(ids), pages)
	}
	for i := 1; i < len(ids); i++ {
		if ids[i-1] >= ids[i] {
			t.Fatalf("controls out of order or repeated: %v", ids)
		}
	}
	crit, err := c.ListControls(ctx, &evaluationv1.ListControlsRequest{MinSeverity: evaluationv1.Severity_SEVERITY_CRITICAL})
	if err != nil {
		t.Fatal(err)
	}
	for _, ctl := range crit.GetControls() {
		if ctl.GetSeverity() != evaluationv1.Severity_SEVERITY_CRITICAL {
			t.Errorf("%s has severity %s", ctl.GetId(), ctl.GetSeverity())
		}
	}
	buckets, err := c.ListControls(ctx, &evaluationv1.ListControlsRequest{ResourceType: "AWS::S3::Bucket"})
	if err != nil || len(buckets.GetControls()) != 4 {
		t.Errorf("bucket controls: %d, %v; want 4", len(buckets.GetControls()), err)
	}
	if _, err := c.ListControls(ctx, &evaluationv1.ListControlsRequest{PageToken: "garbage"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("bad page token: %v", err)
	}
	got, err := c.GetControl(ctx, &evaluationv1.GetControlRequest{ControlId: "DPS-SHR-001"})
	if err != nil || got.GetControl().GetSource() != evaluationv1.ControlSource_CONTROL_SOURCE_BUILTIN || !strings.HasPrefix(got.GetControl().GetSeeds()[0].GetFile(), "000_") {
		t.Errorf("GetControl = %v, %v", got, err)
	}
	if _, err := c.GetControl(ctx, &evaluationv1.GetControlRequest{ControlId: "DPS-XXX-999"}); status.Code(err) != codes.NotFound {
		t.Errorf("unknown control: %v; want NotFound", err)
	}
}

func TestServerSuppressionsAndCustomControls(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sups := filepath.Join(dir, "suppressions.yaml")
	if err := os.WriteFile(sups, []byte(`suppressions:
  - id: no-macie-in-sandbox
    control_id: DPS-MAC-001
    account_id: "111122223333"
    justification: sandbox account, no personal data
    expires_at: 2099-01-01T00:00:00Z
`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _ := start(t, func(cfg *Config) {
		cfg.SuppressionsFile = sups
		cfg.Controls = []string{"../../deploy/controls/example.yaml"}
	})
	ctx := context.Background()
	custom, err := c.ListControls(ctx, &evaluationv1.ListControlsRequest{Source: evaluationv1.ControlSource_CONTROL_SOURCE_CUSTOM})
	if err != nil || len(custom.GetControls()) == 0 {
		t.Fatalf("custom controls: %v, %v", custom, err)
	}
	fs, sum, _, err := evaluate(ctx, c, ctxMsg(&evaluationv1.EvaluationContext{SweepId: "s", AccountId: acct, Region: "global",
		Suppressions: []*evaluationv1.Suppression{{Id: "req", ControlId: "DPS-ENC-002", Justification: "legacy", ExpiresAt: timestamppb.New(time.Now().Add(time.Hour))}}}),
		invMsg([]*collectionv1.Resource{
			res(t, "AWS::Macie::Session", "arn:aws:macie2:eu-west-1:111122223333:session", "eu-west-1", map[string]any{"status": "DISABLED", "bucket_count": 2}),
			res(t, "AWS::S3::Bucket", "arn:aws:s3:::b", "eu-west-1", map[string]any{"name": "b", "region": "eu-west-1", "policy": "", "encryption": nil, "public_access_block": nil}),
		}))
	if err != nil {
		t.Fatal(err)
	}
	suppressed := map[string]string{}
	customFindings := 0
	for _, f := range fs {
		if f.GetSuppressed() {
			suppressed[f.GetControlId()] = f.GetSuppression().GetId()
		}
		if !strings.HasPrefix(f.GetControlId(), "DPS-") {
			customFindings++
		}
	}
	if suppressed["DPS-MAC-001"] != "no-macie-in-sandbox" || suppressed["DPS-ENC-002"] != "req" || len(suppressed) != 2 || sum.GetSuppressed() != 2 {
		t.Errorf("suppressed %v, summary %v", suppressed, sum)
	}
	if customFindings == 0 {
		t.Error("no finding from the custom controls")
	}
}

func TestConfigErrorsNameTheFlag(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(bad, []byte("suppressions:\n  - id: x\n    control_id: '*'\n    justification: ''\n    expires_at: 2099-01-01T00:00:00Z\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		edit func(*Config)
		want string
	}{
		"batch size":            {func(c *Config) { c.BatchTexts = 0 }, "--redaction-batch-texts"},
		"suppression file":      {func(c *Config) { c.SuppressionsFile = bad }, "--suppressions-file"},
		"missing controls file": {func(c *Config) { c.Controls = []string{filepath.Join(dir, "none.yaml")} }, "--controls"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.edit(&cfg)
			_, _, err := New(cfg, slog.New(slog.DiscardHandler))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New() = %v; want an error naming %s", err, tc.want)
			}
		})
	}
}

func TestValidateCustomControls(t *testing.T) {
	t.Parallel()
	c, _ := start(t, nil)
	ctx := context.Background()
	good, err := os.ReadFile("../../deploy/controls/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.ValidateCustomControls(ctx, &evaluationv1.ValidateCustomControlsRequest{FileName: "example.yaml", Content: string(good)})
	if err != nil || len(resp.GetControls()) == 0 || resp.GetControls()[0].GetSource() != evaluationv1.ControlSource_CONTROL_SOURCE_CUSTOM {
		t.Fatalf("ValidateCustomControls(example) = %v, %v", resp, err)
	}
	bad := strings.Replace(string(good), "resource.", "resorce.", 1)
	_, err = c.ValidateCustomControls(ctx, &evaluationv1.ValidateCustomControlsRequest{FileName: "rules/s3.yaml", Content: bad})
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "rules/s3.yaml:") || !strings.Contains(st.Message(), "resorce") {
		t.Fatalf("bad rule: %v; want InvalidArgument naming the file, line and the undeclared name", err)
	}
	if _, err := c.ValidateCustomControls(ctx, &evaluationv1.ValidateCustomControlsRequest{FileName: "x.yaml"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("empty content: %v", err)
	}
}
