package tlsutil

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func parseCertFile(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(raw)
	if b == nil {
		t.Fatalf("%s: no PEM", file)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestWriteDevCertsWith(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := DevCertOptions{Hosts: []string{"dpsweep-reporting", "10.0.0.7"}, Clients: []string{"dpsweep-worker", "spiffe-ish_name"}}
	d, err := WriteDevCertsWith(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range o.Files(dir) {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o644)
		if strings.HasSuffix(f, "-key.pem") {
			want = 0o600
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(f), st.Mode().Perm(), want)
		}
	}
	roots := x509.NewCertPool()
	roots.AddCert(parseCertFile(t, d.CAFile))
	srv := parseCertFile(t, d.ServerCertFile)
	for _, h := range []string{"dpsweep-reporting", "10.0.0.7"} {
		if _, err := srv.Verify(x509.VerifyOptions{Roots: roots, DNSName: h}); err != nil {
			t.Errorf("server certificate for %s: %v", h, err)
		}
	}
	if _, err := srv.Verify(x509.VerifyOptions{Roots: roots, DNSName: "localhost"}); err == nil {
		t.Error("server certificate also valid for localhost, which --hosts did not name")
	}
	cert, _ := d.Client("spiffe-ish_name")
	if c := parseCertFile(t, cert); c.Subject.CommonName != "spiffe-ish_name" || len(c.DNSNames) != 0 {
		t.Errorf("client with a non-DNS name: CN %q, DNS %v; want the CN only", c.Subject.CommonName, c.DNSNames)
	}

	before, _ := os.ReadFile(d.CAFile)
	if _, err := WriteDevCertsWith(dir, DevCertOptions{}); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("second WriteDevCertsWith() = %v, want a refusal", err)
	}
	if after, _ := os.ReadFile(d.CAFile); string(after) != string(before) {
		t.Fatal("the refused call changed ca.pem")
	}
	if _, err := WriteDevCertsWith(dir, DevCertOptions{Force: true}); err != nil {
		t.Fatalf("WriteDevCertsWith(Force) = %v", err)
	}
}
