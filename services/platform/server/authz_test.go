package server

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	redactionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/redaction/v1"
	"github.com/dpsweep/dpsweep/services/platform/tlsutil"
)

// serveMTLS serves the echo RedactionService on a real 127.0.0.1 listener
// with mutual TLS and the rules, and returns its address.
func serveMTLS(t *testing.T, certs tlsutil.DevCerts, rules string, logs *syncBuffer) string {
	t.Helper()
	cfg := testConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.TLS = tlsutil.ServerFiles{CertFile: certs.ServerCertFile, KeyFile: certs.ServerKeyFile, ClientCAFile: certs.CAFile}
	cfg.AllowIdentities = rules
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ServeListener(ctx, lis, cfg, slog.New(slog.NewJSONHandler(logs, nil)), func(_ context.Context, s *grpc.Server, _ *slog.Logger) (func(), error) {
			redactionv1.RegisterRedactionServiceServer(s, &echoServer{})
			return nil, nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve() = %v", err)
		}
	})
	return lis.Addr().String()
}

// dialAs connects to addr presenting the named client's certificate, or
// none when name is empty.
func dialAs(t *testing.T, certs tlsutil.DevCerts, addr, name string) *grpc.ClientConn {
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

func TestAuthorisationOverMutualTLS(t *testing.T) {
	t.Parallel()
	certs, err := tlsutil.WriteDevCerts(t.TempDir(), "worker", "operator", "auditor")
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	addr := serveMTLS(t, certs, "Redact, RedactStream = worker; * = operator", &logs)

	redact := func(ctx context.Context, conn *grpc.ClientConn) error {
		_, err := redactionv1.NewRedactionServiceClient(conn).Redact(ctx, &redactionv1.RedactRequest{Text: "x"})
		return err
	}
	stream := func(ctx context.Context, conn *grpc.ClientConn) error {
		s, err := redactionv1.NewRedactionServiceClient(conn).RedactStream(ctx)
		if err != nil {
			return err
		}
		if err := s.Send(&redactionv1.RedactStreamRequest{Text: "x"}); err != nil {
			_, err = s.Recv()
			return err
		}
		_, err = s.Recv()
		return err
	}
	listDetectors := func(ctx context.Context, conn *grpc.ClientConn) error {
		_, err := redactionv1.NewRedactionServiceClient(conn).ListDetectors(ctx, &redactionv1.ListDetectorsRequest{})
		return err
	}
	health := func(ctx context.Context, conn *grpc.ClientConn) error {
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		if err == nil && resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			return status.Error(codes.Unknown, resp.GetStatus().String())
		}
		return err
	}

	tests := map[string]struct {
		identity string
		call     func(context.Context, *grpc.ClientConn) error
		method   string
		want     codes.Code
	}{
		"listed identity may call a unary method":         {identity: "worker", call: redact, want: codes.OK},
		"listed identity may call a streaming method":     {identity: "worker", call: stream, want: codes.OK},
		"other identity is refused a unary method":        {identity: "operator", call: redact, method: "Redact", want: codes.PermissionDenied},
		"other identity is refused a streaming method":    {identity: "operator", call: stream, method: "RedactStream", want: codes.PermissionDenied},
		"the * rule lets its identity call other methods": {identity: "operator", call: listDetectors, want: codes.Unimplemented},
		"the * rule refuses identities it does not list":  {identity: "worker", call: listDetectors, method: "ListDetectors", want: codes.PermissionDenied},
		"health stays open to any client certificate":     {identity: "auditor", call: health, want: codes.OK},
		"no client certificate is refused":                {call: redact, want: codes.Unavailable},
		"no client certificate gets no health either":     {call: health, want: codes.Unavailable},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := tc.call(ctx, dialAs(t, certs, addr, tc.identity))
			if got := status.Code(err); got != tc.want {
				t.Fatalf("code = %v (%v), want %v", got, err, tc.want)
			}
			if tc.want == codes.PermissionDenied {
				msg := status.Convert(err).Message()
				if !strings.Contains(msg, tc.method) {
					t.Errorf("refusal %q does not name the method %s", msg, tc.method)
				}
				for _, id := range []string{"worker", "operator"} {
					if id != tc.identity && strings.Contains(msg, id) {
						t.Errorf("refusal %q leaks the allowed identity %s", msg, id)
					}
				}
			}
		})
	}
	t.Cleanup(func() {
		if !strings.Contains(logs.String(), "authorisation on") {
			t.Errorf("startup log does not say authorisation is on:\n%s", logs.String())
		}
	})
}

func TestAuthorisationWithoutRulesNeedsACertificateOnly(t *testing.T) {
	t.Parallel()
	certs, err := tlsutil.WriteDevCerts(t.TempDir(), "anyone")
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	addr := serveMTLS(t, certs, "", &logs)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := redactionv1.NewRedactionServiceClient(dialAs(t, certs, addr, "anyone")).Redact(ctx, &redactionv1.RedactRequest{Text: "x"}); err != nil {
		t.Fatalf("Redact() with a certificate from the CA = %v", err)
	}
}

func TestAuthorisationInterceptorWithoutCertificate(t *testing.T) {
	t.Parallel()
	// The TLS handshake already refuses callers without a certificate when
	// mutual TLS is on; the interceptor refuses them too, should one reach it.
	rules, err := ParseAuthzRules("Redact=worker")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	called := false
	handler := func(context.Context, any) (any, error) { called = true; return nil, nil }
	_, err = UnaryAuthz(log, rules)(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/dpsweep.redaction.v1.RedactionService/Redact"}, handler)
	if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "Redact") || called {
		t.Fatalf("UnaryAuthz() without a peer = %v (handler called %v), want Unauthenticated naming the method", err, called)
	}
	_, err = UnaryAuthz(log, rules)(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/grpc.health.v1.Health/Check"}, handler)
	if err != nil || !called {
		t.Fatalf("UnaryAuthz() on health without a peer = %v (handler called %v), want it served", err, called)
	}
}

func TestParseAuthzRules(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in      string
		wantErr string
	}{
		"empty is no rules":                {in: ""},
		"one rule":                         {in: "RecordFindings=dpsweep-worker"},
		"several rules and spaces":         {in: " RecordFindings , FinalizeSweep = dpsweep-worker ; * = operator , spiffe://example.org/ops "},
		"qualified method":                 {in: "dpsweep.reporting.v1.ReportingService/RecordFindings=w"},
		"missing =":                        {in: "RecordFindings", wantErr: "METHODS=IDENTITIES"},
		"no identity":                      {in: "RecordFindings=", wantErr: "no identity"},
		"no method":                        {in: "=worker", wantErr: "names no method"},
		"method twice":                     {in: "Redact=a;Redact=b", wantErr: "two rules"},
		"not a method name":                {in: "a/b/c=w", wantErr: "not a method name"},
		"trailing semicolon is harmless":   {in: "Redact=a;"},
		"identity wildcard is allowed too": {in: "Redact=*"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseAuthzRules(tc.in)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseAuthzRules(%q) = %v", tc.in, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "--allow-identities") {
				t.Fatalf("ParseAuthzRules(%q) = %v, want an error naming --allow-identities and %q", tc.in, err, tc.wantErr)
			}
		})
	}
}

func TestAuthorisationConfig(t *testing.T) {
	t.Parallel()
	t.Run("rules without mutual TLS refuse to start", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig()
		cfg.AllowIdentities = "Redact=worker"
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), "--tls-client-ca") {
			t.Fatalf("Validate() = %v, want an error naming --tls-client-ca", err)
		}
	})
	t.Run("a rule naming no served method refuses to start", func(t *testing.T) {
		t.Parallel()
		certs, err := tlsutil.WriteDevCerts(t.TempDir(), "worker")
		if err != nil {
			t.Fatal(err)
		}
		cfg := testConfig()
		cfg.Addr = "127.0.0.1:0"
		cfg.TLS = tlsutil.ServerFiles{CertFile: certs.ServerCertFile, KeyFile: certs.ServerKeyFile, ClientCAFile: certs.CAFile}
		cfg.AllowIdentities = "RecordFinding=worker"
		err = Serve(context.Background(), cfg, slog.New(slog.DiscardHandler), func(_ context.Context, s *grpc.Server, _ *slog.Logger) (func(), error) {
			redactionv1.RegisterRedactionServiceServer(s, &echoServer{})
			return nil, nil
		})
		if err == nil || !strings.Contains(err.Error(), "RecordFinding") {
			t.Fatalf("Serve() = %v, want an error naming the unknown method", err)
		}
	})
	t.Run("without mutual TLS the log says authorisation is off", func(t *testing.T) {
		t.Parallel()
		var logs syncBuffer
		cfg := testConfig()
		cfg.Addr = "127.0.0.1:0"
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- Serve(ctx, cfg, slog.New(slog.NewJSONHandler(&logs, nil)), func(_ context.Context, s *grpc.Server, _ *slog.Logger) (func(), error) {
				redactionv1.RegisterRedactionServiceServer(s, &echoServer{})
				return nil, nil
			})
		}()
		waitFor(t, func() bool { return strings.Contains(logs.String(), `"msg":"serving"`) })
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logs.String(), "authorisation off") {
			t.Fatalf("log does not say authorisation is off:\n%s", logs.String())
		}
	})
}
