package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/dpsweep/dpsweep/cmd/dpsweep/internal/suite"
	"github.com/dpsweep/dpsweep/services/platform/logging"
)

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dpsweep demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	s, err := startSuite(ctx, stdout, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\nEvery service answered its health check over gRPC.")
	fmt.Fprintln(stdout, "The sweep itself (simulated organization, embedded Temporal, SQLite report) is not built yet;")
	fmt.Fprintln(stdout, "until it is, the demo stops here. Use 'dpsweep dev' to keep the services running.")
	if err := s.Stop(); err != nil {
		return fmt.Errorf("stop services: %w", err)
	}
	fmt.Fprintln(stdout, "Stopped.")
	return nil
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dpsweep dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := startSuite(ctx, stdout, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\nRunning. Try: grpcurl -plaintext <address> list   (Ctrl-C stops)")
	<-ctx.Done()
	fmt.Fprintln(stdout, "Stopping...")
	return s.Stop()
}

// startSuite starts the services, waits until each is SERVING and prints where they are.
func startSuite(ctx context.Context, stdout, stderr io.Writer) (*suite.Suite, error) {
	log, err := logging.New(stderr, "text", "warn")
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(stdout, "Starting dpsweep's services on 127.0.0.1 ...")
	s, err := suite.Start(ctx, log)
	if err != nil {
		return nil, err
	}
	if err := s.CheckHealth(ctx); err != nil {
		_ = s.Stop()
		return nil, err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tgRPC API\tADDRESS\tHEALTH")
	for _, e := range s.Endpoints {
		fmt.Fprintf(tw, "%s\t%s\t%s\tSERVING\n", e.Name, e.Service, e.Addr)
	}
	if err := tw.Flush(); err != nil {
		return nil, err
	}
	return s, nil
}
