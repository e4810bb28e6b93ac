package tests

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dpsweep/dpsweep/services/platform/tlsutil"
	"github.com/dpsweep/dpsweep/workflows/devserver"
	wf "github.com/dpsweep/dpsweep/workflows/sweep"
	"github.com/dpsweep/dpsweep/workflows/temporalconn"
	"github.com/dpsweep/dpsweep/workflows/worker"
)

// tlsFront terminates mutual TLS on 127.0.0.1 in front of a plaintext
// Temporal frontend, as a secured cluster's frontend would: only clients
// with a certificate of the CA get through.
func tlsFront(t *testing.T, backend string, certs tlsutil.DevCerts) string {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(certs.ServerCertFile, certs.ServerKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(certs.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	lis, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert},
		ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lis.Close() })
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, err := net.Dial("tcp", backend)
				if err != nil {
					return
				}
				defer b.Close()
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(b, c); done <- struct{}{} }()
				go func() { _, _ = io.Copy(c, b); done <- struct{}{} }()
				<-done
			}()
		}
	}()
	return lis.Addr().String()
}

// TestWorkerReachesTemporalOverMutualTLS: the worker's --temporal-tls-*
// flags reach a Temporal frontend that requires mutual TLS; without a
// client certificate, or in plaintext, the worker does not start.
func TestWorkerReachesTemporalOverMutualTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a Temporal server; skipped with -short")
	}
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := devserver.Start(ctx, devserver.Options{SearchAttributes: wf.SearchAttributeTypes, LogFile: filepath.Join(t.TempDir(), "temporal.log")})
	if errors.Is(err, devserver.ErrNoBinary) && os.Getenv("DPSWEEP_TEMPORAL_REQUIRED") == "" {
		t.Skipf("no Temporal server: %v (run `make temporal`)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	certs, err := tlsutil.WriteDevCertsWith(t.TempDir(), tlsutil.DevCertOptions{Clients: []string{"dpsweep-worker"}})
	if err != nil {
		t.Fatal(err)
	}
	front := tlsFront(t, srv.HostPort(), certs)
	cert, key := certs.Client("dpsweep-worker")

	start := func(sec temporalconn.Security) error {
		cfg := worker.DefaultConfig()
		cfg.TemporalAddr, cfg.Namespace, cfg.TemporalSecurity = front, srv.Namespace(), sec
		w, cleanup, err := worker.New(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			return err
		}
		defer cleanup()
		if err := w.Start(); err != nil {
			return err
		}
		w.Stop()
		return nil
	}
	if err := start(temporalconn.Security{TLS: tlsutil.ClientFiles{CAFile: certs.CAFile, CertFile: cert, KeyFile: key}}); err != nil {
		t.Fatalf("worker over mutual TLS: %v", err)
	}
	if err := start(temporalconn.Security{TLS: tlsutil.ClientFiles{CAFile: certs.CAFile}}); err == nil {
		t.Fatal("a worker without a client certificate started against a frontend that requires one")
	}
	if err := start(temporalconn.Security{}); err == nil {
		t.Fatal("a plaintext worker started against a TLS frontend")
	}
	err = start(temporalconn.Security{TLS: tlsutil.ClientFiles{CAFile: certs.CAFile, CertFile: cert}})
	if err == nil || !strings.Contains(err.Error(), "--temporal-tls-key") {
		t.Fatalf("a certificate without its key: %v; want an error naming --temporal-tls-key", err)
	}
}
