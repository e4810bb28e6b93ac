package redaction

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	redactionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/redaction/v1"
	"github.com/dpsweep/dpsweep/services/platform/server"
	"github.com/dpsweep/dpsweep/services/platform/tlsutil"
)

// Canaries planted in requests: they must never reach a log line.
const (
	canaryKey   = "AKIA2CANARYQ7XZ4MNB5"
	canaryEmail = "canary.7f3a9c@leak-test.dev"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func serverConfig() server.Config {
	return server.Config{Addr: "127.0.0.1:0", LogFormat: "json", LogLevel: "debug", MaxRecvMsgBytes: 4 << 20, MaxSendMsgBytes: 4 << 20, ShutdownTimeout: 5 * time.Second}
}

// serve runs the service with cfg over lis with the real interceptor chain.
func serve(t *testing.T, lis net.Listener, scfg server.Config, cfg Config) *lockedBuffer {
	t.Helper()
	logs := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.ServeListener(ctx, lis, scfg, log, cfg.Register) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeListener() = %v", err)
		}
		if l := logs.String(); strings.Contains(l, canaryKey) || strings.Contains(l, canaryEmail) {
			t.Errorf("a canary reached the logs:\n%s", l)
		}
	})
	return logs
}

func bufClient(t *testing.T, cfg Config) redactionv1.RedactionServiceClient {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	serve(t, lis, serverConfig(), cfg)
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithDefaultCallOptions(grpc.WaitForReady(true)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return redactionv1.NewRedactionServiceClient(conn)
}

func wantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), field+":") {
		t.Fatalf("error = %v; want InvalidArgument naming %s", err, field)
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.MaxTextBytes = 256
	c := bufClient(t, cfg)
	ctx := context.Background()
	text := "Owner " + canaryEmail + " 😀 key " + canaryKey

	t.Run("default policy scrubs with type tags and reports offsets in three units", func(t *testing.T) {
		resp, err := c.Redact(ctx, &redactionv1.RedactRequest{Text: text})
		if err != nil {
			t.Fatal(err)
		}
		if want := "Owner [EMAIL_ADDRESS] 😀 key [AWS_ACCESS_KEY_ID]"; resp.GetRedactedText() != want {
			t.Fatalf("redacted_text = %q, want %q", resp.GetRedactedText(), want)
		}
		runes, units := []rune(text), utf16.Encode([]rune(text))
		for _, f := range resp.GetFindings() {
			v := text[f.GetUtf8().GetStart():f.GetUtf8().GetEnd()]
			if string(runes[f.GetCodePoints().GetStart():f.GetCodePoints().GetEnd()]) != v ||
				string(utf16.Decode(units[f.GetUtf16().GetStart():f.GetUtf16().GetEnd()])) != v {
				t.Errorf("%s: offsets disagree", f.GetEntityType())
			}
			if f.GetFingerprint() == "" || strings.Contains(f.String(), v) {
				t.Errorf("%s: finding carries the raw value or no fingerprint: %v", f.GetEntityType(), f)
			}
		}
		if len(resp.GetFindings()) != 2 {
			t.Fatalf("findings = %v", resp.GetFindings())
		}
	})
	t.Run("per-request policy wins", func(t *testing.T) {
		resp, err := c.Redact(ctx, &redactionv1.RedactRequest{Text: text, PolicyName: "pseudonymize", Policy: &redactionv1.Policy{
			DefaultOperator: &redactionv1.OperatorConfig{Operator: redactionv1.Operator_OPERATOR_MASK, KeepLast: 2},
			EntityTypes:     []string{"AWS_ACCESS_KEY_ID"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if want := "Owner " + canaryEmail + " 😀 key ******************B5"; resp.GetRedactedText() != want {
			t.Fatalf("redacted_text = %q, want %q", resp.GetRedactedText(), want)
		}
	})
	t.Run("named policy", func(t *testing.T) {
		a, err := c.Redact(ctx, &redactionv1.RedactRequest{Text: canaryEmail, PolicyName: "pseudonymize"})
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.Redact(ctx, &redactionv1.RedactRequest{Text: "again " + canaryEmail, PolicyName: "pseudonymize"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(a.GetRedactedText(), "[EMAIL_ADDRESS:") || !strings.HasSuffix(b.GetRedactedText(), a.GetRedactedText()) {
			t.Fatalf("pseudonyms differ across calls: %q vs %q", a.GetRedactedText(), b.GetRedactedText())
		}
	})
	t.Run("bad input names the field", func(t *testing.T) {
		tests := map[string]struct {
			req   *redactionv1.RedactRequest
			field string
		}{
			"text over the limit": {req: &redactionv1.RedactRequest{Text: strings.Repeat("a", 300)}, field: "text"},
			"unknown policy name": {req: &redactionv1.RedactRequest{Text: "a", PolicyName: "nope"}, field: "policy_name"},
			"unknown entity type in operators": {req: &redactionv1.RedactRequest{Text: "a", Policy: &redactionv1.Policy{
				Operators: map[string]*redactionv1.OperatorConfig{"NOT_A_TYPE": {Operator: redactionv1.Operator_OPERATOR_KEEP}},
			}}, field: `policy.operators["NOT_A_TYPE"]`},
			"unknown entity type in the filter": {req: &redactionv1.RedactRequest{Text: "a", Policy: &redactionv1.Policy{
				EntityTypes: []string{"EMAIL_ADDRESS", "NOPE"},
			}}, field: "policy.entity_types[1]"},
			"operator missing": {req: &redactionv1.RedactRequest{Text: "a", Policy: &redactionv1.Policy{
				DefaultOperator: &redactionv1.OperatorConfig{},
			}}, field: "policy.default_operator.operator"},
		}
		for name, tc := range tests {
			_, err := c.Redact(ctx, tc.req)
			t.Run(name, func(t *testing.T) { wantInvalid(t, err, tc.field) })
		}
	})
}

func TestRedactBatchAndStream(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.MaxTextBytes = 128
	c := bufClient(t, cfg)
	ctx := context.Background()
	resp, err := c.RedactBatch(ctx, &redactionv1.RedactBatchRequest{Texts: []string{"clean", "mail " + canaryEmail, "ip 203.0.113.9"}})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, r := range resp.GetResults() {
		got = append(got, r.GetRedactedText())
	}
	if want := "clean|mail [EMAIL_ADDRESS]|ip [IP_ADDRESS]"; strings.Join(got, "|") != want {
		t.Fatalf("RedactBatch() = %q, want %q", strings.Join(got, "|"), want)
	}
	_, err = c.RedactBatch(ctx, &redactionv1.RedactBatchRequest{Texts: []string{"ok", strings.Repeat("x", 200)}})
	wantInvalid(t, err, "texts[1]")

	stream, err := c.RedactStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	inputs := []*redactionv1.RedactStreamRequest{
		{Id: "1", Text: "key " + canaryKey, PolicyName: "credentials"},
		{Id: "2", Text: "mail " + canaryEmail}, // the credentials policy leaves e-mail alone
		{Id: "3", Text: "nothing here"},
	}
	for _, in := range inputs {
		if err := stream.Send(in); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	var outs []string
	for {
		r, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, r.GetId()+"="+r.GetRedactedText())
	}
	if want := "1=key [AWS_ACCESS_KEY_ID]|2=mail " + canaryEmail + "|3=nothing here"; strings.Join(outs, "|") != want {
		t.Fatalf("RedactStream() = %q, want %q", strings.Join(outs, "|"), want)
	}
}

func TestDetectAndListings(t *testing.T) {
	t.Parallel()
	c := bufClient(t, DefaultConfig())
	ctx := context.Background()
	d, err := c.Detect(ctx, &redactionv1.DetectRequest{Text: "docs AKIAIOSFODNN7EXAMPLE real " + canaryKey + " " + canaryEmail,
		EntityTypes: []string{"AWS_ACCESS_KEY_ID"}, MinConfidence: redactionv1.Confidence_CONFIDENCE_HIGH})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.GetFindings()) != 1 || d.GetFindings()[0].GetEntityType() != "AWS_ACCESS_KEY_ID" || d.GetFindings()[0].GetConfidence() != redactionv1.Confidence_CONFIDENCE_HIGH {
		t.Fatalf("Detect() = %v; want only the real key", d.GetFindings())
	}
	_, err = c.Detect(ctx, &redactionv1.DetectRequest{Text: "x", EntityTypes: []string{"NOPE"}})
	wantInvalid(t, err, "entity_types[0]")

	// Page through the detectors five at a time.
	seen := map[string]bool{}
	token, pages := "", 0
	for {
		r, err := c.ListDetectors(ctx, &redactionv1.ListDetectorsRequest{PageSize: 5, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, det := range r.GetDetectors() {
			if seen[det.GetName()] {
				t.Fatalf("detector %s listed twice", det.GetName())
			}
			seen[det.GetName()] = true
			if det.GetEntityType() == "" || det.GetCategory() == redactionv1.EntityCategory_ENTITY_CATEGORY_UNSPECIFIED {
				t.Errorf("detector %s lacks an entity type or category", det.GetName())
			}
		}
		if token = r.GetNextPageToken(); token == "" {
			break
		}
	}
	all, err := c.ListDetectors(ctx, &redactionv1.ListDetectorsRequest{PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(all.GetDetectors()) || pages < 2 {
		t.Fatalf("paging saw %d detectors in %d pages, one page holds %d", len(seen), pages, len(all.GetDetectors()))
	}
	creds, err := c.ListDetectors(ctx, &redactionv1.ListDetectorsRequest{Category: redactionv1.EntityCategory_ENTITY_CATEGORY_CREDENTIAL, PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, det := range creds.GetDetectors() {
		if det.GetCategory() != redactionv1.EntityCategory_ENTITY_CATEGORY_CREDENTIAL {
			t.Fatalf("category filter let %s through", det.GetName())
		}
	}
	pol, err := c.ListPolicies(ctx, &redactionv1.ListPoliciesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pol.GetPolicies() {
		names = append(names, p.GetName())
	}
	if got := strings.Join(names, ","); got != "credentials,default,encrypt,mask,pseudonymize" {
		t.Fatalf("ListPolicies() = %s", got)
	}
}

func TestDecryptNeedsAnAuthorisedIdentity(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certs, err := tlsutil.WriteDevCerts(dir, "auditor", "intruder")
	if err != nil {
		t.Fatal(err)
	}
	hk, ek := dir+"/hash.key", dir+"/enc.key"
	if err := os.WriteFile(hk, []byte(strings.Repeat("ab", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ek, []byte(strings.Repeat("cd", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.HashKeyFile, cfg.EncryptionKeyFile, cfg.DecryptIdentities = hk, ek, "auditor, ops-bot"
	scfg := serverConfig()
	scfg.TLS = tlsutil.ServerFiles{CertFile: certs.ServerCertFile, KeyFile: certs.ServerKeyFile, ClientCAFile: certs.CAFile}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serve(t, lis, scfg, cfg)

	dial := func(cf tlsutil.ClientFiles) redactionv1.RedactionServiceClient {
		tc, err := tlsutil.Client(cf)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(tc)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return redactionv1.NewRedactionServiceClient(conn)
	}
	auditor := dial(tlsutil.ClientFiles{CAFile: certs.CAFile, CertFile: certs.ClientCertFile, KeyFile: certs.ClientKeyFile})
	ctx := context.Background()
	red, err := auditor.Redact(ctx, &redactionv1.RedactRequest{Text: "key " + canaryKey, PolicyName: "encrypt"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(red.GetRedactedText(), canaryKey) {
		t.Fatalf("encrypt left the value: %q", red.GetRedactedText())
	}
	dec, err := auditor.Decrypt(ctx, &redactionv1.DecryptRequest{Text: red.GetRedactedText()})
	if err != nil {
		t.Fatalf("Decrypt() as auditor = %v", err)
	}
	if dec.GetText() != "key "+canaryKey || dec.GetDecrypted() != 1 {
		t.Fatalf("Decrypt() = %q, %d", dec.GetText(), dec.GetDecrypted())
	}

	// Same CA, another identity: let in by TLS, refused by Decrypt.
	cert, key := certs.Client("intruder")
	stranger := dial(tlsutil.ClientFiles{CAFile: certs.CAFile, CertFile: cert, KeyFile: key})
	if _, err := stranger.Redact(ctx, &redactionv1.RedactRequest{Text: "hello"}); err != nil {
		t.Fatalf("Redact() as another identity = %v; want it served", err)
	}
	if _, err := stranger.Decrypt(ctx, &redactionv1.DecryptRequest{Text: red.GetRedactedText()}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("Decrypt() as another identity = %v; want PermissionDenied", err)
	}
}

func TestDecryptRefusedWithoutTLS(t *testing.T) {
	t.Parallel()
	c := bufClient(t, DefaultConfig())
	_, err := c.Decrypt(context.Background(), &redactionv1.DecryptRequest{Text: "[ENC:X:abc]"})
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("Decrypt() over plaintext = %v; want PermissionDenied", err)
	}
}
