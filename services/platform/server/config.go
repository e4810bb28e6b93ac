// Package server runs a dpsweep gRPC service: configuration from flags and
// environment, slog logging, TLS (1.2 minimum, optional mTLS), the
// interceptor chain (metrics, logging, per-RPC authorisation when mutual TLS
// is on, validation, panic recovery), gRPC health and reflection, stated
// message-size limits, and graceful shutdown.
package server

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/dpsweep/dpsweep/services/platform/telemetry"
	"github.com/dpsweep/dpsweep/services/platform/tlsutil"
)

// Message-size limits every service states and enforces. A request larger
// than MaxRecvMsgBytes is refused with RESOURCE_EXHAUSTED before any handler runs.
const (
	DefaultMaxRecvMsgBytes = 16 << 20
	DefaultMaxSendMsgBytes = 64 << 20
)

// Config is what every service reads from its flags and environment.
type Config struct {
	// Addr is the listen address; services bind 127.0.0.1 by default.
	Addr string
	// LogFormat is "json" or "text"; LogLevel "debug", "info", "warn" or "error".
	LogFormat, LogLevel string
	// TLS files; plaintext when none is set.
	TLS tlsutil.ServerFiles
	// MaxRecvMsgBytes and MaxSendMsgBytes bound one gRPC message.
	MaxRecvMsgBytes, MaxSendMsgBytes int
	// ShutdownTimeout bounds the graceful stop; remaining RPCs are cut after it.
	ShutdownTimeout time.Duration
	// AllowIdentities is the per-RPC authorisation rules (see
	// ParseAuthzRules); they need mutual TLS.
	AllowIdentities string
	// Telemetry is the metrics endpoint and trace exporter that Run starts
	// for the process (Serve and ServeListener leave them to the caller).
	Telemetry telemetry.Config
}

// RegisterFlags defines the shared flags on fs with defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet, defaultAddr string) {
	fs.StringVar(&c.Addr, "addr", defaultAddr, "listen address (host:port; port 0 picks a free port)")
	fs.StringVar(&c.LogFormat, "log-format", "json", "log format: json or text")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&c.TLS.CertFile, "tls-cert", "", "server certificate chain (PEM); enables TLS 1.2+")
	fs.StringVar(&c.TLS.KeyFile, "tls-key", "", "server private key (PEM)")
	fs.StringVar(&c.TLS.ClientCAFile, "tls-client-ca", "", "CA bundle (PEM) for client certificates; enables mutual TLS")
	fs.IntVar(&c.MaxRecvMsgBytes, "max-recv-bytes", DefaultMaxRecvMsgBytes, "largest gRPC message accepted, in bytes")
	fs.IntVar(&c.MaxSendMsgBytes, "max-send-bytes", DefaultMaxSendMsgBytes, "largest gRPC message sent, in bytes")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "how long a graceful stop waits for RPCs in flight")
	fs.StringVar(&c.AllowIdentities, "allow-identities", "", "per-RPC authorisation over mutual TLS: 'METHODS=IDS;...', e.g. 'RecordFindings,FinalizeSweep=dpsweep-worker;*=operator'; IDS are client-certificate CNs, DNS or URI SANs, * is any certificate from --tls-client-ca; unnamed methods stay open to any such certificate (see docs/SECURITY.md)")
	c.Telemetry.RegisterFlags(fs)
}

// Validate reports the first setting that cannot work, naming its flag.
func (c *Config) Validate() error {
	switch {
	case c.Addr == "":
		return fmt.Errorf("--addr is required")
	case c.MaxRecvMsgBytes <= 0:
		return fmt.Errorf("--max-recv-bytes must be positive, got %d", c.MaxRecvMsgBytes)
	case c.MaxSendMsgBytes <= 0:
		return fmt.Errorf("--max-send-bytes must be positive, got %d", c.MaxSendMsgBytes)
	case c.ShutdownTimeout <= 0:
		return fmt.Errorf("--shutdown-timeout must be positive, got %s", c.ShutdownTimeout)
	case (c.TLS.CertFile == "") != (c.TLS.KeyFile == ""):
		return fmt.Errorf("--tls-cert and --tls-key must be given together")
	case c.TLS.ClientCAFile != "" && c.TLS.CertFile == "":
		return fmt.Errorf("--tls-client-ca needs --tls-cert and --tls-key")
	case strings.TrimSpace(c.AllowIdentities) != "" && c.TLS.ClientCAFile == "":
		return fmt.Errorf("--allow-identities needs mutual TLS to know who calls: set --tls-client-ca (with --tls-cert and --tls-key)")
	}
	if _, err := ParseAuthzRules(c.AllowIdentities); err != nil {
		return err
	}
	return nil
}
