package awssim

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dpsweep/dpsweep/awssim/server"
	"github.com/dpsweep/dpsweep/awssim/world"
)

const usage = `Usage: %s [flags]

Runs the AWS Organization simulator on 127.0.0.1: STS, IAM, EC2, S3,
DynamoDB, CloudTrail, Organizations, Service Catalog, KMS, Macie2, the
Serverless Application Repository, Security Hub and Account, in their own
wire protocols, for aws-sdk-go-v2 and the AWS CLI through an endpoint
override. The world is generated from a seed or loaded from a YAML/JSON spec.

Examples:
  %[1]s --accounts 50 --seed 7
  %[1]s --spec world.yaml --throttle-rate 0.1 --latency 20ms
  %[1]s --accounts 10 --write-spec world.yaml --write-expected expected.json --exit

Flags:
`

// Main is the simulator's command line; name is the program name for help.
func Main(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintf(stderr, usage, name); fs.PrintDefaults() }
	d := world.DefaultGenOptions()
	addr := fs.String("addr", "127.0.0.1:4566", "listen address")
	spec := fs.String("spec", "", "world spec (YAML or JSON); generated when empty")
	fs.IntVar(&d.Accounts, "accounts", d.Accounts, "accounts in a generated organization")
	fs.Uint64Var(&d.Seed, "seed", d.Seed, "seed of a generated world")
	fs.Float64Var(&d.ViolationRate, "violation-rate", d.ViolationRate, "chance that a checkable setting is non-compliant (0..1)")
	fs.Float64Var(&d.PlantRate, "plant-rate", d.PlantRate, "chance that a free-form field holds planted PII or credentials (0..1)")
	fs.StringVar(&d.RoleName, "role-name", d.RoleName, "scanner role in every member account")
	fs.StringVar(&d.ExternalID, "external-id", "", "ExternalId the scanner role requires")
	writeSpec := fs.String("write-spec", "", "write the world as YAML to this file")
	writeExpected := fs.String("write-expected", "", "write the generator's expected findings as JSON to this file")
	exit := fs.Bool("exit", false, "write files and exit without serving")
	var f server.Faults
	fs.DurationVar(&f.Latency.Median, "latency", 0, "median latency added to every call")
	fs.DurationVar(&f.Latency.P99, "latency-p99", 0, "99th-percentile latency (log-normal spread); the median when unset")
	fs.Float64Var(&f.ThrottleRate, "throttle-rate", 0, "share of calls answered with the protocol's throttling error")
	fs.Float64Var(&f.ServerErrorRate, "error-rate", 0, "share of calls answered with a 5xx")
	fs.IntVar(&f.PageSize, "page-size", 0, "cap every page at this many items (forces pagination)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))
	}
	cfg := Config{Addr: *addr, Gen: d, Faults: f}
	if *spec != "" {
		w, err := world.Load(*spec)
		if err != nil {
			return err
		}
		cfg.World = w
	}
	if *writeExpected != "" && cfg.World != nil {
		return errors.New("--write-expected needs a generated world (no --spec)")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if *exit {
		cfg.Addr = "127.0.0.1:0"
	}
	s, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	if *writeSpec != "" {
		y, err := s.World.Marshal()
		if err != nil {
			return err
		}
		if err := os.WriteFile(*writeSpec, y, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote the world to %s\n", *writeSpec)
	}
	if *writeExpected != "" {
		b, err := json.MarshalIndent(s.Generated.Expectations(), "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*writeExpected, b, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote the expected findings to %s\n", *writeExpected)
	}
	if *exit {
		return s.Close()
	}
	ak, sk := s.Credentials()
	fmt.Fprintf(stdout, "Simulating organization %s: %d accounts, management account %s, %d regions.\n",
		s.World.OrganizationID, len(s.World.Accounts), s.World.ManagementAccount, len(s.World.Regions))
	fmt.Fprintf(stdout, "Listening on %s. For the SDK or the AWS CLI:\n\n", s.URL)
	fmt.Fprintf(stdout, "  export AWS_ENDPOINT_URL=%s AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_REGION=us-east-1\n\n", s.URL, ak, sk)
	fmt.Fprintf(stdout, "Member accounts are reached with sts:AssumeRole into role %q. Faults: %s/_sim/faults, counters: %s/_sim/counters. Ctrl-C stops.\n", d.RoleName, s.URL, s.URL)
	select {
	case <-ctx.Done():
	case err := <-s.done:
		return err
	}
	_ = s.Close()
	time.Sleep(10 * time.Millisecond)
	return nil
}
