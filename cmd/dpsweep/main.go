// Command dpsweep is the command line of dpsweep, the organization-wide AWS
// data-protection sweep: it runs the demo and the development stack, starts
// and schedules sweeps, reads reports, and redacts text.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `dpsweep: organization-wide AWS data-protection sweep.

Usage:
  dpsweep <command> [flags]

Commands:
  demo          run a whole sweep on the embedded default: Temporal with its Web UI, a simulated
                organization, the services, a worker and SQLite, all on 127.0.0.1; print the report
  dev           start the same stack and keep it running (Ctrl-C stops it)
  sweep         start, follow, cancel and list sweeps (sweep start|status|cancel|list)
  schedule      run sweeps on a calendar (schedule create|list|get|pause|resume|trigger|delete)
  report        export a sweep's report, diff two sweeps, list findings (report ID, report diff|findings)
  codec-server  decode encrypted workflow payloads for the Temporal Web UI and CLI
  redact        scrub credentials, account numbers and personal data from text (stdin or a file)
  sim           run the AWS Organization simulator on 127.0.0.1 (for the SDK and the AWS CLI)
  certs         write development certificates for mutual TLS (a CA, a server, named clients)
  version       print the version

The sweep, schedule and report commands talk gRPC to a running stack: the sweep
service at 127.0.0.1:7405 and the reporting service at 127.0.0.1:7404 by default
(--addr, $DPSWEEP_SWEEP_ADDR, $DPSWEEP_REPORTING_ADDR). See docs/SWEEPS.md.

Run 'dpsweep <command> --help' for a command's flags.
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := realMain(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "dpsweep:", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("a command is required")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "demo":
		return runDemo(ctx, rest, stdout, stderr)
	case "dev":
		return runDev(ctx, rest, stdout, stderr)
	case "sweep":
		return runSweep(ctx, rest, stdout, stderr)
	case "schedule":
		return runSchedule(ctx, rest, stdout, stderr)
	case "report":
		return runReport(ctx, rest, stdout, stderr)
	case "codec-server":
		return runCodecServer(ctx, rest, stdout, stderr)
	case "redact":
		return runRedact(rest, stdin, stdout, stderr)
	case "sim":
		return runSim(ctx, rest, stdout, stderr)
	case "certs":
		return runCerts(rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "dpsweep", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}
