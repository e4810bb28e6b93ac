package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func readCert(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(raw)
	if b == nil {
		t.Fatalf("%s holds no PEM block", file)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCertsCommand(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "certs")
	var out, errb bytes.Buffer
	args := []string{"certs", "--out", dir, "--client", "dpsweep-worker", "--client", "operator,auditor", "--hosts", "127.0.0.1,localhost,dpsweep-reporting"}
	if err := realMain(context.Background(), args, nil, &out, &errb); err != nil {
		t.Fatalf("dpsweep certs = %v\n%s", err, errb.String())
	}

	t.Run("files exist, keys are 0600", func(t *testing.T) {
		for _, f := range []string{"ca.pem", "ca-key.pem", "server.pem", "server-key.pem",
			"client-dpsweep-worker.pem", "client-dpsweep-worker-key.pem", "client-operator.pem", "client-operator-key.pem", "client-auditor.pem", "client-auditor-key.pem"} {
			st, err := os.Stat(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(f, "-key.pem") && st.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v, want 0600", f, st.Mode().Perm())
			}
			if !strings.Contains(out.String(), f) && f != "ca-key.pem" {
				t.Errorf("output does not name %s:\n%s", f, out.String())
			}
		}
	})

	t.Run("chains verify with the right usages and names", func(t *testing.T) {
		roots := x509.NewCertPool()
		roots.AddCert(readCert(t, filepath.Join(dir, "ca.pem")))
		server := readCert(t, filepath.Join(dir, "server.pem"))
		for _, host := range []string{"127.0.0.1", "localhost", "dpsweep-reporting"} {
			if _, err := server.Verify(x509.VerifyOptions{Roots: roots, DNSName: host, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				t.Errorf("server certificate for %s: %v", host, err)
			}
		}
		if !slices.ContainsFunc(server.IPAddresses, func(ip net.IP) bool { return ip.Equal(net.IPv4(127, 0, 0, 1)) }) {
			t.Errorf("server certificate IPs = %v, want 127.0.0.1", server.IPAddresses)
		}
		client := readCert(t, filepath.Join(dir, "client-dpsweep-worker.pem"))
		if _, err := client.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("client certificate: %v", err)
		}
		if client.Subject.CommonName != "dpsweep-worker" || !slices.Contains(client.DNSNames, "dpsweep-worker") {
			t.Errorf("client identity = CN %q, DNS %v; want dpsweep-worker", client.Subject.CommonName, client.DNSNames)
		}
		if _, err := tls.LoadX509KeyPair(filepath.Join(dir, "client-operator.pem"), filepath.Join(dir, "client-operator-key.pem")); err != nil {
			t.Errorf("client key pair: %v", err)
		}
	})

	t.Run("refuses to overwrite without --force", func(t *testing.T) {
		before, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
		if err != nil {
			t.Fatal(err)
		}
		err = realMain(context.Background(), []string{"certs", "--out", dir}, nil, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), "--force") {
			t.Fatalf("second dpsweep certs = %v, want a refusal naming --force", err)
		}
		after, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
		if !bytes.Equal(before, after) {
			t.Fatal("ca.pem changed although the command refused")
		}
		if err := realMain(context.Background(), []string{"certs", "--out", dir, "--force"}, nil, &out, &errb); err != nil {
			t.Fatalf("dpsweep certs --force = %v", err)
		}
		after, _ = os.ReadFile(filepath.Join(dir, "ca.pem"))
		if bytes.Equal(before, after) {
			t.Fatal("--force did not replace ca.pem")
		}
	})
}

func TestCertsCommandErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		args    []string
		wantErr string
	}{
		"--out is required":          {args: []string{"certs"}, wantErr: "--out"},
		"a client name with a slash": {args: []string{"certs", "--out", t.TempDir(), "--client", "../x"}, wantErr: "client name"},
		"a client named twice":       {args: []string{"certs", "--out", t.TempDir(), "--client", "a,a"}, wantErr: "twice"},
		"stray argument":             {args: []string{"certs", "--out", t.TempDir(), "extra"}, wantErr: "unexpected argument"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var out, errb bytes.Buffer
			err := realMain(context.Background(), tc.args, nil, &out, &errb)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("dpsweep %v = %v, want an error containing %q", tc.args, err, tc.wantErr)
			}
		})
	}
}
