package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/encoding/protowire"

	redactionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/redaction/v1"
	"github.com/dpsweep/dpsweep/services/platform/tlsutil"
)

const canary = "CANARY-7f3a9c-do-not-log"

// echoServer is a stand-in handler: the tests here are about the plumbing
// around handlers, which every real service shares.
type echoServer struct {
	redactionv1.UnimplementedRedactionServiceServer
	release chan struct{} // when set, Redact waits for it
}

func (e *echoServer) Redact(_ context.Context, req *redactionv1.RedactRequest) (*redactionv1.RedactResponse, error) {
	if strings.HasPrefix(req.GetText(), "panic:") {
		panic(req.GetText())
	}
	if e.release != nil {
		<-e.release
	}
	return &redactionv1.RedactResponse{RedactedText: "echo:" + req.GetText()}, nil
}

func (e *echoServer) RedactStream(stream grpc.BidiStreamingServer[redactionv1.RedactStreamRequest, redactionv1.RedactStreamResponse]) error {
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&redactionv1.RedactStreamResponse{Id: req.GetId()}); err != nil {
			return err
		}
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type harness struct {
	conn *grpc.ClientConn
	logs *syncBuffer
	stop func() error // cancels the server and returns Serve's error
}

func testConfig() Config {
	return Config{Addr: "bufconn", LogFormat: "json", LogLevel: "debug", MaxRecvMsgBytes: 64 << 10, MaxSendMsgBytes: 64 << 10, ShutdownTimeout: 5 * time.Second}
}

// start serves impl over bufconn with the real interceptor chain.
func start(t *testing.T, impl *echoServer) *harness {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ServeListener(ctx, lis, testConfig(), log, func(_ context.Context, s *grpc.Server, _ *slog.Logger) (func(), error) {
			redactionv1.RegisterRedactionServiceServer(s, impl)
			return nil, nil
		})
	}()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	var serveErr error
	stop := func() error {
		once.Do(func() { cancel(); serveErr = <-done })
		return serveErr
	}
	t.Cleanup(func() {
		conn.Close()
		if err := stop(); err != nil {
			t.Errorf("Serve() = %v", err)
		}
	})
	return &harness{conn: conn, logs: logs, stop: stop}
}

func TestHealthAndReflection(t *testing.T) {
	t.Parallel()
	h := start(t, &echoServer{})
	ctx := context.Background()
	for _, svc := range []string{"", "dpsweep.redaction.v1.RedactionService"} {
		resp, err := healthpb.NewHealthClient(h.conn).Check(ctx, &healthpb.HealthCheckRequest{Service: svc}, grpc.WaitForReady(true))
		if err != nil {
			t.Fatalf("Check(%q) = %v", svc, err)
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("Check(%q) status = %v, want SERVING", svc, resp.GetStatus())
		}
	}
	stream, err := rpb.NewServerReflectionClient(h.conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
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
	for _, want := range []string{"dpsweep.redaction.v1.RedactionService", "grpc.health.v1.Health"} {
		if !strings.Contains(strings.Join(names, ","), want) {
			t.Errorf("reflection lists %v, want %s among them", names, want)
		}
	}
}

func TestInterceptorChain(t *testing.T) {
	t.Parallel()
	h := start(t, &echoServer{})
	client := redactionv1.NewRedactionServiceClient(h.conn)
	// Once every subtest has run: logs name methods and codes, never payloads.
	t.Cleanup(func() {
		if logs := h.logs.String(); strings.Contains(logs, canary) {
			t.Errorf("request text reached the logs:\n%s", logs)
		} else if !strings.Contains(logs, `"code":"Internal"`) || !strings.Contains(logs, "handler panicked") {
			t.Errorf("logs lack the panic and its code:\n%s", logs)
		}
	})
	tests := map[string]struct {
		req       *redactionv1.RedactRequest
		wantCode  codes.Code
		wantField string // named in the message and the BadRequest detail
	}{
		"valid request reaches the handler": {
			req: &redactionv1.RedactRequest{Text: "hello"}, wantCode: codes.OK,
		},
		"invalid field is InvalidArgument naming it": {
			req:      &redactionv1.RedactRequest{Text: "x", PolicyName: "Not A Name"},
			wantCode: codes.InvalidArgument, wantField: "policy_name",
		},
		"nested invalid field is named by its path": {
			req: &redactionv1.RedactRequest{Text: "x", Policy: &redactionv1.Policy{
				Operators: map[string]*redactionv1.OperatorConfig{"EMAIL_ADDRESS": {Operator: redactionv1.Operator(99)}},
			}},
			wantCode: codes.InvalidArgument, wantField: `policy.operators["EMAIL_ADDRESS"].operator`,
		},
		"panic becomes Internal": {
			req: &redactionv1.RedactRequest{Text: "panic:" + canary}, wantCode: codes.Internal,
		},
		"message over the size limit is refused": {
			req: &redactionv1.RedactRequest{Text: strings.Repeat("a", 100<<10)}, wantCode: codes.ResourceExhausted,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resp, err := client.Redact(context.Background(), tc.req, grpc.WaitForReady(true))
			st := status.Convert(err)
			if st.Code() != tc.wantCode {
				t.Fatalf("Redact() code = %v (%v), want %v", st.Code(), err, tc.wantCode)
			}
			if tc.wantCode == codes.OK && resp.GetRedactedText() != "echo:"+tc.req.GetText() {
				t.Fatalf("Redact() = %q, want the handler's answer", resp.GetRedactedText())
			}
			if tc.wantField == "" {
				return
			}
			if !strings.Contains(st.Message(), tc.wantField) {
				t.Errorf("message %q does not name %s", st.Message(), tc.wantField)
			}
			var fields []string
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, fv := range br.GetFieldViolations() {
						fields = append(fields, fv.GetField())
					}
				}
			}
			if len(fields) != 1 || fields[0] != tc.wantField {
				t.Errorf("BadRequest fields = %v, want [%s]", fields, tc.wantField)
			}
		})
	}
}

func TestStreamValidation(t *testing.T) {
	t.Parallel()
	h := start(t, &echoServer{})
	stream, err := redactionv1.NewRedactionServiceClient(h.conn).RedactStream(context.Background(), grpc.WaitForReady(true))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&redactionv1.RedactStreamRequest{Text: "a", Id: "1"}); err != nil {
		t.Fatal(err)
	}
	if resp, err := stream.Recv(); err != nil || resp.GetId() != "1" {
		t.Fatalf("first Recv() = %v, %v", resp, err)
	}
	if err := stream.Send(&redactionv1.RedactStreamRequest{Text: "b", Id: strings.Repeat("x", 300)}); err != nil {
		t.Fatal(err)
	}
	_, err = stream.Recv()
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "id") {
		t.Fatalf("second Recv() = %v, want InvalidArgument naming id", err)
	}
}

func TestGracefulStopFinishesInFlightRPC(t *testing.T) {
	t.Parallel()
	impl := &echoServer{release: make(chan struct{})}
	h := start(t, impl)
	client := redactionv1.NewRedactionServiceClient(h.conn)
	// Make sure the server is up before the slow call.
	if _, err := healthpb.NewHealthClient(h.conn).Check(context.Background(), &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true)); err != nil {
		t.Fatal(err)
	}
	result := make(chan error, 1)
	go func() {
		_, err := client.Redact(context.Background(), &redactionv1.RedactRequest{Text: "slow"})
		result <- err
	}()
	// Wait until the call is in the handler, then stop the server.
	waitFor(t, func() bool { return strings.Contains(h.logs.String(), "serving") })
	stopped := make(chan error, 1)
	time.Sleep(50 * time.Millisecond)
	go func() { stopped <- h.stop() }()
	waitFor(t, func() bool { return strings.Contains(h.logs.String(), "shutting down") })
	close(impl.release)
	if err := <-result; err != nil {
		t.Fatalf("in-flight Redact() = %v, want it to finish during the graceful stop", err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Serve() = %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMutualTLS(t *testing.T) {
	t.Parallel()
	certs, err := tlsutil.WriteDevCerts(t.TempDir(), "worker")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.TLS = tlsutil.ServerFiles{CertFile: certs.ServerCertFile, KeyFile: certs.ServerKeyFile, ClientCAFile: certs.CAFile}
	lis, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ServeListener(ctx, lis, cfg, slog.New(slog.DiscardHandler), func(_ context.Context, s *grpc.Server, _ *slog.Logger) (func(), error) {
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
	addr := lis.Addr().String()

	withCert, err := tlsutil.Client(tlsutil.ClientFiles{CAFile: certs.CAFile, CertFile: certs.ClientCertFile, KeyFile: certs.ClientKeyFile})
	if err != nil {
		t.Fatal(err)
	}
	withoutCert, err := tlsutil.Client(tlsutil.ClientFiles{CAFile: certs.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	oldTLS := withCert.Clone()
	oldTLS.MinVersion, oldTLS.MaxVersion = tls.VersionTLS10, tls.VersionTLS11

	tests := map[string]struct {
		creds  credentials.TransportCredentials
		wantOK bool
	}{
		"client certificate from the CA is let in": {creds: credentials.NewTLS(withCert), wantOK: true},
		"no client certificate is refused":         {creds: credentials.NewTLS(withoutCert)},
		"TLS below 1.2 is refused":                 {creds: credentials.NewTLS(oldTLS)},
		"plaintext is refused":                     {creds: insecure.NewCredentials()},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(tc.creds))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err = redactionv1.NewRedactionServiceClient(conn).Redact(ctx, &redactionv1.RedactRequest{Text: "x"})
			if (err == nil) != tc.wantOK {
				t.Fatalf("Redact() error = %v, want ok=%v", err, tc.wantOK)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		mutate   func(*Config)
		wantFlag string
	}{
		"defaults are valid":       {mutate: func(*Config) {}},
		"empty address":            {mutate: func(c *Config) { c.Addr = "" }, wantFlag: "--addr"},
		"zero receive limit":       {mutate: func(c *Config) { c.MaxRecvMsgBytes = 0 }, wantFlag: "--max-recv-bytes"},
		"certificate without key":  {mutate: func(c *Config) { c.TLS.CertFile = "c.pem" }, wantFlag: "--tls-key"},
		"client CA without server": {mutate: func(c *Config) { c.TLS.ClientCAFile = "ca.pem" }, wantFlag: "--tls-client-ca"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			tc.mutate(&cfg)
			err := cfg.Validate()
			if tc.wantFlag == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantFlag) {
				t.Fatalf("Validate() = %v, want an error naming %s", err, tc.wantFlag)
			}
		})
	}
}

// rawCodec sends pre-encoded bytes, as a client in another language could.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }
func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.([]byte))}, nil
}
func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*(v.(*[]byte)) = data.Materialize()
	return nil
}

func TestInvalidUTF8IsInvalidArgumentNamingTheField(t *testing.T) {
	t.Parallel()
	h := start(t, &echoServer{})
	tests := map[string]struct {
		method string
		msg    []byte
		field  string
	}{
		"top-level string": {
			method: "/dpsweep.redaction.v1.RedactionService/Redact",
			msg:    protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), []byte("bad \xff\xfe text "+canary)),
			field:  "text",
		},
		"repeated string names its index": {
			method: "/dpsweep.redaction.v1.RedactionService/RedactBatch",
			msg: protowire.AppendBytes(protowire.AppendTag(
				protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), []byte("fine")),
				1, protowire.BytesType), []byte("\xc3(")),
			field: "texts[1]",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var out []byte
			err := h.conn.Invoke(context.Background(), tc.method, tc.msg, &out, grpc.ForceCodecV2(rawCodec{}), grpc.WaitForReady(true))
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), tc.field+": invalid UTF-8") {
				t.Fatalf("Invoke() = %v; want InvalidArgument naming %s", err, tc.field)
			}
			if strings.Contains(st.Message(), canary) {
				t.Fatalf("error echoes the request: %v", err)
			}
		})
	}
	// A valid message still takes the normal path.
	var out []byte
	valid := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), []byte("héllo"))
	if err := h.conn.Invoke(context.Background(), "/dpsweep.redaction.v1.RedactionService/Redact", valid, &out, grpc.ForceCodecV2(rawCodec{})); err != nil {
		t.Fatalf("valid Invoke() = %v", err)
	}
}
