// Command dpsweep-worker runs a Temporal worker of dpsweep's sweep
// workflows. Every flag can also be set as DPSWEEP_WORKER_<FLAG>.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/dpsweep/dpsweep/services/platform/flagenv"
	"github.com/dpsweep/dpsweep/services/platform/logging"
	"github.com/dpsweep/dpsweep/services/platform/telemetry"
	"github.com/dpsweep/dpsweep/workflows/worker"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "dpsweep-worker:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("dpsweep-worker", flag.ContinueOnError)
	cfg := worker.DefaultConfig()
	cfg.RegisterFlags(fs)
	logFormat := fs.String("log-format", "json", "log format: json or text")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	var tcfg telemetry.Config
	tcfg.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := flagenv.Apply(fs, os.Getenv, "DPSWEEP_WORKER", "DPSWEEP"); err != nil {
		return err
	}
	log, err := logging.New(os.Stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	log = log.With("service", "worker")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tel, err := telemetry.Start(ctx, tcfg, "worker", os.Getenv, log)
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
	return worker.Run(ctx, cfg, log)
}
