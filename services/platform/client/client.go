// Package client dials another dpsweep service: its address and TLS files
// from flags and environment, TLS 1.2 minimum (mutual TLS when a client
// certificate is given), and the message-size limits the servers state.
package client

import (
	"flag"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/dpsweep/dpsweep/services/platform/server"
	"github.com/dpsweep/dpsweep/services/platform/telemetry"
	"github.com/dpsweep/dpsweep/services/platform/tlsutil"
)

// Config says how to reach one service.
type Config struct {
	// Addr is host:port.
	Addr string
	// TLS files; plaintext when none is set.
	TLS tlsutil.ClientFiles
}

// RegisterFlags defines --<name>-addr and --<name>-tls-{ca,cert,key,server-name}.
func (c *Config) RegisterFlags(fs *flag.FlagSet, name, defaultAddr string) {
	fs.StringVar(&c.Addr, name+"-addr", defaultAddr, "address (host:port) of the "+name+" service")
	fs.StringVar(&c.TLS.CAFile, name+"-tls-ca", "", "CA bundle (PEM) that signed the "+name+" service's certificate; enables TLS 1.2+")
	fs.StringVar(&c.TLS.CertFile, name+"-tls-cert", "", "client certificate (PEM) for mutual TLS with the "+name+" service")
	fs.StringVar(&c.TLS.KeyFile, name+"-tls-key", "", "client private key (PEM) for mutual TLS with the "+name+" service")
	fs.StringVar(&c.TLS.ServerName, name+"-tls-server-name", "", "name to verify in the "+name+" service's certificate (default: the host of the address)")
}

// TLSEnabled reports whether any TLS file is set.
func (c Config) TLSEnabled() bool {
	return c.TLS.CAFile != "" || c.TLS.CertFile != "" || c.TLS.KeyFile != "" || c.TLS.ServerName != ""
}

// Dial opens a client connection (lazily: the first RPC connects). Its RPCs
// carry the caller's trace to the server and are timed in
// dpsweep_rpc_client_handling_seconds (see package telemetry).
func (c Config) Dial(opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	if c.Addr == "" {
		return nil, fmt.Errorf("client: an address is required")
	}
	creds := insecure.NewCredentials()
	if c.TLSEnabled() {
		tc, err := tlsutil.Client(c.TLS)
		if err != nil {
			return nil, fmt.Errorf("client %s: %w", c.Addr, err)
		}
		creds = credentials.NewTLS(tc)
	}
	base := append([]grpc.DialOption{grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(server.DefaultMaxSendMsgBytes), grpc.MaxCallSendMsgSize(server.DefaultMaxRecvMsgBytes))},
		telemetry.DialOptions()...)
	conn, err := grpc.NewClient(c.Addr, append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("client %s: %w", c.Addr, err)
	}
	return conn, nil
}
