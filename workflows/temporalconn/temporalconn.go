// Package temporalconn holds how dpsweep's processes reach a Temporal
// server that wants TLS, mutual TLS or an API key (a secured self-hosted
// cluster, Temporal Cloud): the flags the worker and the SweepService
// share, and the client options they become.
package temporalconn

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"go.temporal.io/sdk/client"

	"github.com/dpsweep/dpsweep/services/platform/tlsutil"
)

// Security is the TLS and API-key configuration of a Temporal connection;
// the zero value is plaintext without credentials (a dev server).
type Security struct {
	// TLS files: TLS 1.2+ when any is set; a client certificate for
	// mutual TLS.
	TLS tlsutil.ClientFiles
	// UseTLS turns TLS on with the system's CA bundle and no other file
	// (Temporal Cloud with an API key).
	UseTLS bool
	// APIKeyFile holds an API key sent with every call (Temporal Cloud).
	APIKeyFile string
}

// RegisterFlags defines --temporal-tls, --temporal-tls-{ca,cert,key,server-name}
// and --temporal-api-key-file.
func (s *Security) RegisterFlags(fs *flag.FlagSet) {
	fs.BoolVar(&s.UseTLS, "temporal-tls", s.UseTLS, "connect to Temporal over TLS 1.2+ (implied by any --temporal-tls-* file and by --temporal-api-key-file)")
	fs.StringVar(&s.TLS.CAFile, "temporal-tls-ca", s.TLS.CAFile, "CA bundle (PEM) that signed the Temporal frontend's certificate (default: the system's)")
	fs.StringVar(&s.TLS.CertFile, "temporal-tls-cert", s.TLS.CertFile, "client certificate (PEM) for mutual TLS with Temporal")
	fs.StringVar(&s.TLS.KeyFile, "temporal-tls-key", s.TLS.KeyFile, "client private key (PEM) for mutual TLS with Temporal")
	fs.StringVar(&s.TLS.ServerName, "temporal-tls-server-name", s.TLS.ServerName, "name to verify in the Temporal frontend's certificate (default: the host of --temporal-address)")
	fs.StringVar(&s.APIKeyFile, "temporal-api-key-file", s.APIKeyFile, "file holding a Temporal API key sent with every call (Temporal Cloud); implies TLS")
}

// Enabled reports whether the connection uses TLS.
func (s Security) Enabled() bool {
	return s.UseTLS || s.APIKeyFile != "" || s.TLS.CAFile != "" || s.TLS.CertFile != "" || s.TLS.KeyFile != "" || s.TLS.ServerName != ""
}

// Apply sets o's TLS and credentials; errors name the flag to fix.
func (s Security) Apply(o *client.Options) error {
	if !s.Enabled() {
		return nil
	}
	if (s.TLS.CertFile == "") != (s.TLS.KeyFile == "") {
		return fmt.Errorf("--temporal-tls-cert and --temporal-tls-key go together: set both or neither")
	}
	tc, err := tlsutil.Client(s.TLS)
	if err != nil {
		return fmt.Errorf("--temporal-tls-*: %w", err)
	}
	o.ConnectionOptions.TLS = tc
	if s.APIKeyFile != "" {
		b, err := os.ReadFile(s.APIKeyFile)
		if err != nil {
			return fmt.Errorf("--temporal-api-key-file: %w", err)
		}
		key := strings.TrimSpace(string(b))
		if key == "" {
			return fmt.Errorf("--temporal-api-key-file %s: the file is empty", s.APIKeyFile)
		}
		o.Credentials = client.NewAPIKeyStaticCredentials(key)
	}
	return nil
}
