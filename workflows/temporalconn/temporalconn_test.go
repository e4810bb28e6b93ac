package temporalconn

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
)

func TestApply(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "api-key")
	if err := os.WriteFile(keyFile, []byte("  secret-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	var o client.Options
	if err := (Security{}).Apply(&o); err != nil || o.ConnectionOptions.TLS != nil || o.Credentials != nil {
		t.Fatalf("zero Security: %v, TLS %v, credentials %v; want plaintext without credentials", err, o.ConnectionOptions.TLS, o.Credentials)
	}
	o = client.Options{}
	if err := (Security{APIKeyFile: keyFile}).Apply(&o); err != nil || o.ConnectionOptions.TLS == nil || o.Credentials == nil {
		t.Fatalf("API key: %v, TLS %v, credentials %v; want TLS and credentials", err, o.ConnectionOptions.TLS, o.Credentials)
	}
	o = client.Options{}
	if err := (Security{UseTLS: true}).Apply(&o); err != nil || o.ConnectionOptions.TLS == nil || o.ConnectionOptions.TLS.MinVersion == 0 {
		t.Fatalf("--temporal-tls: %v, %v; want TLS 1.2+", err, o.ConnectionOptions.TLS)
	}
	for name, tc := range map[string]struct {
		sec  Security
		flag string
	}{
		"empty key file":   {Security{APIKeyFile: empty}, "--temporal-api-key-file"},
		"missing key file": {Security{APIKeyFile: filepath.Join(dir, "nope")}, "--temporal-api-key-file"},
	} {
		if err := tc.sec.Apply(&client.Options{}); err == nil || !strings.Contains(err.Error(), tc.flag) {
			t.Errorf("%s: %v; want an error naming %s", name, err, tc.flag)
		}
	}
	s := Security{}
	s.TLS.CAFile = filepath.Join(dir, "no-ca.pem")
	if err := s.Apply(&client.Options{}); err == nil || !strings.Contains(err.Error(), "--temporal-tls") {
		t.Errorf("missing CA file: %v; want an error naming --temporal-tls-*", err)
	}
}

func TestFlags(t *testing.T) {
	var s Security
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	s.RegisterFlags(fs)
	if err := fs.Parse([]string{"--temporal-tls-ca", "ca.pem", "--temporal-tls-server-name", "temporal.example", "--temporal-api-key-file", "k"}); err != nil {
		t.Fatal(err)
	}
	if !s.Enabled() || s.TLS.CAFile != "ca.pem" || s.TLS.ServerName != "temporal.example" || s.APIKeyFile != "k" {
		t.Fatalf("parsed %+v", s)
	}
}
