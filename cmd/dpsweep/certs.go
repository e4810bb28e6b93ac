package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/dpsweep/dpsweep/services/platform/tlsutil"
)

// runCerts writes a throwaway CA, a server certificate and client
// certificates for trying mutual TLS and --allow-identities locally.
func runCerts(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dpsweep certs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: dpsweep certs --out DIR [--client NAME ...] [--hosts HOST,...] [flags]

Writes development certificates for mutual TLS between dpsweep processes:
a throwaway CA (ca.pem, ca-key.pem), a server certificate for --hosts
(server.pem, server-key.pem) and one client certificate per --client
(client-NAME.pem, client-NAME-key.pem), all signed by that CA. A client's
name is its certificate's common name (and DNS SAN), the identity that
--allow-identities and --decrypt-identities list. Keys are written 0600.
Existing files are never replaced unless --force is given.

For development and tests only: production certificates come from your
own CA (e.g. cert-manager); see docs/SECURITY.md.

Example:
  dpsweep certs --out ./certs --client dpsweep-worker --client operator
  dpsweep-reporting --tls-cert certs/server.pem --tls-key certs/server-key.pem \
    --tls-client-ca certs/ca.pem --allow-identities 'RecordFindings,FinalizeSweep=dpsweep-worker'

Flags:
`)
		fs.PrintDefaults()
	}
	out := fs.String("out", "", "`DIR` to write the certificates into (created if missing; required)")
	var clients, hosts listFlag
	fs.Var(&clients, "client", "client certificate to make, named by its identity `NAME` (repeatable or comma-separated), e.g. dpsweep-worker")
	fs.Var(&hosts, "hosts", "the server certificate's `HOSTS`: names and IP addresses, comma-separated (default 127.0.0.1,localhost)")
	validFor := fs.Duration("valid-for", 30*24*time.Hour, "how long the certificates are valid")
	force := fs.Bool("force", false, "replace existing certificate and key files")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see dpsweep certs --help)", fs.Arg(0))
	}
	if *out == "" {
		fs.Usage()
		return errors.New("--out is required")
	}
	if *validFor <= 0 {
		return fmt.Errorf("--valid-for must be positive, got %s", *validFor)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	d, err := tlsutil.WriteDevCertsWith(*out, tlsutil.DevCertOptions{Hosts: hosts.vals, Clients: clients.vals, ValidFor: *validFor, Force: *force})
	if err != nil {
		return err
	}
	h := "127.0.0.1,localhost"
	if len(hosts.vals) > 0 {
		h = hosts.String()
	}
	fmt.Fprintf(stdout, "CA:     %s (key %s)\n", d.CAFile, filepath.Join(*out, "ca-key.pem"))
	fmt.Fprintf(stdout, "server: %s, %s (for %s)\n", d.ServerCertFile, d.ServerKeyFile, h)
	for _, c := range clients.vals {
		cert, key := d.Client(c)
		fmt.Fprintf(stdout, "client: %s, %s (identity %s)\n", cert, key, c)
	}
	fmt.Fprintf(stdout, "valid until %s; development use only\n", time.Now().Add(*validFor).UTC().Format(time.RFC3339))
	return nil
}
