package client

import (
	"context"
	"flag"
	"log/slog"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/dpsweep/dpsweep/services/platform/server"
	"github.com/dpsweep/dpsweep/services/platform/tlsutil"
)

// serve runs an empty service (health only) on a real listener.
func serve(t *testing.T, tlsFiles tlsutil.ServerFiles) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{Addr: lis.Addr().String(), LogFormat: "json", LogLevel: "error", TLS: tlsFiles,
		MaxRecvMsgBytes: server.DefaultMaxRecvMsgBytes, MaxSendMsgBytes: server.DefaultMaxSendMsgBytes, ShutdownTimeout: 5 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- server.ServeListener(ctx, lis, cfg, slog.New(slog.DiscardHandler), func(context.Context, *grpc.Server, *slog.Logger) (func(), error) { return nil, nil })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return lis.Addr().String()
}

func check(t *testing.T, c Config) error {
	t.Helper()
	conn, err := c.Dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = grpc_health_v1.NewHealthClient(conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{})
	return err
}

func TestDial(t *testing.T) {
	certs, err := tlsutil.WriteDevCerts(t.TempDir(), "evaluation")
	if err != nil {
		t.Fatal(err)
	}
	plain := serve(t, tlsutil.ServerFiles{})
	mtls := serve(t, tlsutil.ServerFiles{CertFile: certs.ServerCertFile, KeyFile: certs.ServerKeyFile, ClientCAFile: certs.CAFile})
	cert, key := certs.Client("evaluation")
	tests := map[string]struct {
		cfg    Config
		wantOK bool
	}{
		"plaintext to a plaintext server":         {Config{Addr: plain}, true},
		"mutual TLS with a certificate of the CA": {Config{Addr: mtls, TLS: tlsutil.ClientFiles{CAFile: certs.CAFile, CertFile: cert, KeyFile: key}}, true},
		"TLS without a client certificate":        {Config{Addr: mtls, TLS: tlsutil.ClientFiles{CAFile: certs.CAFile}}, false},
		"plaintext to a TLS server":               {Config{Addr: mtls}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if err := check(t, tc.cfg); (err == nil) != tc.wantOK {
				t.Fatalf("health check error %v, want ok=%v", err, tc.wantOK)
			}
		})
	}
	if _, err := (Config{}).Dial(); err == nil {
		t.Error("Dial without an address succeeded")
	}
	if _, err := (Config{Addr: mtls, TLS: tlsutil.ClientFiles{CertFile: cert}}).Dial(); err == nil {
		t.Error("Dial with a certificate and no key succeeded")
	}
}

func TestFlags(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c.RegisterFlags(fs, "redaction", "127.0.0.1:7403")
	if err := fs.Parse([]string{"--redaction-tls-ca", "ca.pem"}); err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:7403" || c.TLS.CAFile != "ca.pem" || !c.TLSEnabled() {
		t.Errorf("config %+v", c)
	}
}
