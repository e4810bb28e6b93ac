package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"buf.build/go/protovalidate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/dpsweep/dpsweep/services/platform/flagenv"
	"github.com/dpsweep/dpsweep/services/platform/logging"
	"github.com/dpsweep/dpsweep/services/platform/telemetry"
	"github.com/dpsweep/dpsweep/services/platform/tlsutil"
)

// Service describes one service binary.
type Service struct {
	// Name is the short name ("redaction"); it sets the binary's environment
	// prefix DPSWEEP_<NAME>_ and its log attribute.
	Name string
	// DefaultAddr is the listen address when none is configured.
	DefaultAddr string
	// Flags registers the service's own flags, if any.
	Flags func(fs *flag.FlagSet)
	// Register installs the service's handlers on s. It runs after the flags
	// are parsed; the returned cleanup, if any, runs after the server stops.
	Register RegisterFunc
}

// Main runs svc as the process's main function and exits non-zero on error.
func Main(svc Service) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, svc, os.Args[1:], os.Getenv, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(os.Stderr, "dpsweep-%s: %v\n", svc.Name, err)
		os.Exit(1)
	}
}

// Run parses args and the environment, then serves until ctx is done.
// Every flag can also be set from DPSWEEP_<NAME>_<FLAG> or, for the shared
// flags, DPSWEEP_<FLAG> (for example DPSWEEP_LOG_FORMAT).
func Run(ctx context.Context, svc Service, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("dpsweep-"+svc.Name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	cfg.RegisterFlags(fs, svc.DefaultAddr)
	if svc.Flags != nil {
		svc.Flags(fs)
	}
	prefix := "DPSWEEP_" + flagenvName(svc.Name)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: dpsweep-%s [flags]\n\nServes dpsweep's %s gRPC API. Every flag can also be set\nfrom the environment as %s_<FLAG> (or DPSWEEP_<FLAG>), e.g. %s.\n\nFlags:\n",
			svc.Name, svc.Name, prefix, flagenv.EnvName(prefix, "addr"))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))
	}
	if err := flagenv.Apply(fs, getenv, prefix, "DPSWEEP"); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	log, err := logging.New(stderr, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return err
	}
	log = log.With("service", svc.Name)
	tel, err := telemetry.Start(ctx, cfg.Telemetry, svc.Name, getenv, log)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tel.Shutdown(sctx); err != nil {
			log.Warn("telemetry shutdown", "err", err)
		}
	}()
	return Serve(ctx, cfg, log, svc.Register)
}

// logAuthz says at startup whether callers are authorised, and by what.
// Without mutual TLS nobody is: on a loopback address (the demo, tests)
// that is information, anywhere else a warning.
func logAuthz(log *slog.Logger, addr net.Addr, cfg Config, rules *AuthzRules) {
	if cfg.TLS.ClientCAFile != "" {
		log.Info("authorisation on: every RPC but health and reflection needs a client certificate from --tls-client-ca", rules.LogAttrs()...)
		return
	}
	level := slog.LevelWarn
	if ta, ok := addr.(*net.TCPAddr); ok && ta.IP.IsLoopback() {
		level = slog.LevelInfo
	}
	log.Log(context.Background(), level, "authorisation off: no --tls-client-ca (mutual TLS), so any caller that reaches this address may call every RPC")
}

func flagenvName(name string) string {
	return strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// RegisterFunc installs a service's handlers; see Service.Register.
type RegisterFunc func(ctx context.Context, s *grpc.Server, log *slog.Logger) (cleanup func(), err error)

// Serve listens on cfg.Addr and serves until ctx is done; see ServeListener.
func Serve(ctx context.Context, cfg Config, log *slog.Logger, register RegisterFunc) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	lis, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	return ServeListener(ctx, lis, cfg, log, register)
}

// ServeListener serves on lis until ctx is done, then marks every service
// NOT_SERVING, stops gracefully (bounded by cfg.ShutdownTimeout) and returns
// nil. The "serving" log record carries the bound address. It closes lis.
func ServeListener(ctx context.Context, lis net.Listener, cfg Config, log *slog.Logger, register RegisterFunc) error {
	defer lis.Close()
	tlsCfg, err := tlsutil.Server(cfg.TLS)
	if err != nil {
		return err
	}
	validator, err := protovalidate.New()
	if err != nil {
		return fmt.Errorf("protovalidate.New: %w", err)
	}
	unary, stream := Interceptors(log, validator)
	var rules *AuthzRules
	if cfg.TLS.ClientCAFile != "" {
		// Mutual TLS: every RPC but health and reflection needs a verified
		// client certificate, and the rules' identities where they apply.
		// The check runs after metrics and logging (refusals are counted
		// and logged) and before validation (nobody unauthorised gets a
		// payload looked at).
		if rules, err = ParseAuthzRules(cfg.AllowIdentities); err != nil {
			return err
		}
		unary = slices.Insert(unary, 2, UnaryAuthz(log, rules))
		stream = slices.Insert(stream, 2, StreamAuthz(log, rules))
	}
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(cfg.MaxRecvMsgBytes),
		grpc.MaxSendMsgSize(cfg.MaxSendMsgBytes),
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
		grpc.ForceServerCodecV2(newUTF8Codec()),
	}
	opts = append(opts, telemetry.ServerOptions()...)
	if tlsCfg != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(tlsCfg)))
	}
	s := grpc.NewServer(opts...)
	cleanup, err := register(ctx, s, log)
	if err != nil {
		return err
	}
	if cleanup != nil {
		defer cleanup()
	}
	if rules != nil {
		if err := rules.Resolve(s.GetServiceInfo()); err != nil {
			return err
		}
	}
	logAuthz(log, lis.Addr(), cfg, rules)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(s, hs)
	reflection.Register(s)
	for name := range s.GetServiceInfo() {
		hs.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}

	log.Info("serving", "addr", lis.Addr().String(), "tls", tlsCfg != nil, "mtls", cfg.TLS.ClientCAFile != "",
		"max_recv_bytes", cfg.MaxRecvMsgBytes, "max_send_bytes", cfg.MaxSendMsgBytes)

	errc := make(chan error, 1)
	go func() { errc <- s.Serve(lis) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	hs.Shutdown()
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	stopped := make(chan struct{})
	go func() { s.GracefulStop(); close(stopped) }()
	timer := time.NewTimer(cfg.ShutdownTimeout)
	defer timer.Stop()
	select {
	case <-stopped:
	case <-timer.C:
		log.Warn("graceful stop timed out; closing remaining connections")
		s.Stop()
		<-stopped
	}
	if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}
