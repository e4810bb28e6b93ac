package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"

	"google.golang.org/protobuf/reflect/protoreflect"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	sweepv1 "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
	sweepsvc "github.com/dpsweep/dpsweep/services/sweep"
)

const sweepUsage = `Usage: dpsweep sweep <command> [flags]

Starts, follows, cancels and lists organization sweeps through the SweepService
(127.0.0.1:7405 by default, or --addr, or $DPSWEEP_SWEEP_ADDR; 'dpsweep dev' prints
the address of its own). Each sweep is a Temporal workflow "sweep/<id>".

Commands:
  start    start a sweep from flags and/or a config file; --wait follows it to the end
  status   a sweep's state, progress, spec and reports; --wait follows it to the end
  cancel   cancel a running sweep (what it recorded becomes a partial report)
  list     sweeps, newest first, as a table or JSON lines

Run 'dpsweep sweep <command> --help' for a command's flags; docs/SWEEPS.md has more.
`

var sweepStateEnum = sweepv1.SweepState(0).Descriptor()

func runSweep(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return dispatch(ctx, "sweep", sweepUsage, []subcommand{
		{"start", runSweepStart}, {"status", runSweepStatus}, {"cancel", runSweepCancel}, {"list", runSweepList},
	}, args, stdout, stderr)
}

const sweepStartUsage = `Usage: dpsweep sweep start [flags]

Starts a sweep of the organization and prints its sweep ID and workflow ID. The spec
comes from --config (YAML or JSON, fields named as in the SweepSpec message:
include_account_ids or includeAccountIds) and the flags, which override the file's
fields (a list flag replaces the file's list). With --wait it follows the sweep's
progress, prints a summary and the report paths, and exits non-zero unless the sweep
completed; Ctrl-C stops following, not the sweep.

Examples:
  dpsweep sweep start --config deploy/config/sweep.example.yaml --wait
  dpsweep sweep start --regions us-east-1,eu-west-1 --include-ous ou-ab12-cdef3456 --formats html,sarif
  dpsweep sweep start --config sweep.yaml --sweep-id weekly-2026-10 --fips=false
`

func runSweepStart(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const op = "sweep start"
	fs := newFlagSet("dpsweep sweep start", sweepStartUsage, stderr)
	conn := addConnFlags(fs, "sweep", sweepsvc.DefaultAddr)
	var sf specFlags
	sf.register(fs)
	id := fs.String("sweep-id", "", "ID of the sweep, which makes the start idempotent (default: the service picks one, e.g. 20261124-0330-3f9a1c)")
	wait := fs.Bool("wait", false, "follow the sweep until it ends, then print its summary; exit non-zero unless it completed")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%s: unexpected argument %q: the command takes flags only (a sweep ID goes in --sweep-id)", op, pos[0])
	}
	spec, err := sf.spec(fs)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	c, closeConn, err := dialSweep(op, conn, fs)
	if err != nil {
		return err
	}
	defer closeConn()
	cctx, cancel := conn.call(ctx)
	resp, err := c.StartSweep(cctx, &sweepv1.StartSweepRequest{SweepId: *id, Spec: spec})
	cancel()
	if err != nil {
		return conn.fail(op, err)
	}
	sw := resp.GetSweep()
	fmt.Fprintf(stdout, "Sweep %s started (workflow %s).\n", sw.GetSweepId(), sw.GetWorkflowId())
	if !*wait {
		fmt.Fprintf(stdout, "Follow it: dpsweep sweep status --wait %s\n", sw.GetSweepId())
		return nil
	}
	fmt.Fprintln(stdout)
	return waitSweep(ctx, op, conn, c, sw.GetSweepId(), stdout)
}

// waitSweep follows a sweep to its end (follow, printSummary of demo.go)
// and fails unless it completed.
func waitSweep(ctx context.Context, op string, conn *connFlags, c sweepv1.SweepServiceClient, id string, stdout io.Writer) error {
	sw, err := follow(ctx, c, id, stdout)
	if err != nil {
		return conn.fail(op, err)
	}
	printSummary(stdout, sw)
	if sw.GetState() != sweepv1.SweepState_SWEEP_STATE_COMPLETED {
		return fmt.Errorf("%s: sweep %s ended %s, not completed", op, id, stateName(sw.GetState()))
	}
	return nil
}

// dialSweep connects to the sweep service.
func dialSweep(op string, conn *connFlags, fs *flag.FlagSet) (sweepv1.SweepServiceClient, func(), error) {
	cc, err := conn.dial(fs)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", op, err)
	}
	return sweepv1.NewSweepServiceClient(cc), func() { _ = cc.Close() }, nil
}

func stateName(s sweepv1.SweepState) string {
	return enumShort(sweepStateEnum, protoreflect.EnumNumber(s))
}

const sweepStatusUsage = `Usage: dpsweep sweep status [flags] SWEEP_ID

Prints a sweep's state, progress (live while it runs), spec and report paths. With
--wait it follows a running sweep to its end like 'sweep start --wait' and exits
non-zero unless the sweep completed.
`

func runSweepStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const op = "sweep status"
	fs := newFlagSet("dpsweep sweep status", sweepStatusUsage, stderr)
	conn := addConnFlags(fs, "sweep", sweepsvc.DefaultAddr)
	asJSON := fs.Bool("json", false, "print the Sweep message as one line of JSON")
	wait := fs.Bool("wait", false, "follow the sweep until it ends, then print its summary; exit non-zero unless it completed")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID(op, "sweep ID", pos)
	if err != nil {
		return err
	}
	c, closeConn, err := dialSweep(op, conn, fs)
	if err != nil {
		return err
	}
	defer closeConn()
	if *wait {
		return waitSweep(ctx, op, conn, c, id, stdout)
	}
	cctx, cancel := conn.call(ctx)
	resp, err := c.GetSweep(cctx, &sweepv1.GetSweepRequest{SweepId: id})
	cancel()
	if err != nil {
		return conn.fail(op, err)
	}
	if *asJSON {
		return printJSON(stdout, resp.GetSweep())
	}
	return printSweep(stdout, resp.GetSweep())
}

// printSweep is the detail view of a sweep.
func printSweep(out io.Writer, sw *sweepv1.Sweep) error {
	p, c := sw.GetProgress(), sw.GetProgress().GetCounts()
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("Sweep", sw.GetSweepId())
	row("State", stateName(sw.GetState()))
	row("Workflow", sw.GetWorkflowId())
	if sw.GetScheduleId() != "" {
		row("Schedule", sw.GetScheduleId())
	}
	row("Started", when(sw.GetStartTime(), detailTime))
	if sw.GetCloseTime() != nil {
		row("Ended", when(sw.GetCloseTime(), detailTime)+" (after "+sw.GetCloseTime().AsTime().Sub(sw.GetStartTime().AsTime()).Round(1e9).String()+")")
	}
	row("Accounts", fmt.Sprintf("%d of %d done, %d not fully assessed", p.GetAccountsDone(), p.GetAccountsTotal(), p.GetAccountsFailed()))
	row("Scans", fmt.Sprintf("%d done, %d errors", p.GetRegionsDone(), p.GetErrors()))
	row("Findings", fmt.Sprintf("%d: failing %d, passing %d, not assessed %d, suppressed %d", c.GetFindings(), c.GetFail(), c.GetPass(), c.GetNotAssessed(), c.GetSuppressed()))
	if len(c.GetFailBySeverity()) > 0 {
		var parts []string
		for _, s := range c.GetFailBySeverity() {
			parts = append(parts, fmt.Sprintf("%s %d", enumShort(severityEnum, protoreflect.EnumNumber(s.GetSeverity())), s.GetCount()))
		}
		row("Open failures", strings.Join(parts, ", "))
	}
	for _, f := range specFields(sw.GetSpec()) {
		row(f[0], f[1])
	}
	for _, u := range sw.GetReportUris() {
		row("Report", u)
	}
	return tw.Flush()
}

var severityEnum = evaluationv1.Severity(0).Descriptor()

const sweepCancelUsage = `Usage: dpsweep sweep cancel [flags] SWEEP_ID

Asks a running sweep to stop. Its account workflows stop their scans, and the sweep
is finalized CANCELLED: the findings recorded so far stay, and its reports are
written as a partial report that says which accounts and regions were assessed.
`

func runSweepCancel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const op = "sweep cancel"
	fs := newFlagSet("dpsweep sweep cancel", sweepCancelUsage, stderr)
	conn := addConnFlags(fs, "sweep", sweepsvc.DefaultAddr)
	reason := fs.String("reason", "", "why, recorded in the sweep service's log")
	wait := fs.Bool("wait", false, "follow the sweep until it has stopped, then print its summary")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID(op, "sweep ID", pos)
	if err != nil {
		return err
	}
	c, closeConn, err := dialSweep(op, conn, fs)
	if err != nil {
		return err
	}
	defer closeConn()
	cctx, cancel := conn.call(ctx)
	_, err = c.CancelSweep(cctx, &sweepv1.CancelSweepRequest{SweepId: id, Reason: *reason})
	cancel()
	if err != nil {
		return conn.fail(op, err)
	}
	fmt.Fprintf(stdout, "Cancellation of sweep %s requested; it stops its scans and writes a partial report.\n", id)
	if !*wait {
		return nil
	}
	sw, err := follow(ctx, c, id, stdout)
	if err != nil {
		return conn.fail(op, err)
	}
	printSummary(stdout, sw)
	return nil
}

const sweepListUsage = `Usage: dpsweep sweep list [flags]

Lists sweeps, newest first: ID, STATE, ACCOUNTS (done/total), FINDINGS, FAILING and
STARTED (UTC). --json prints one Sweep message a line instead.
`

func runSweepList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const op = "sweep list"
	fs := newFlagSet("dpsweep sweep list", sweepListUsage, stderr)
	conn := addConnFlags(fs, "sweep", sweepsvc.DefaultAddr)
	state := fs.String("state", "", "only sweeps in this state: "+enumChoices(sweepStateEnum))
	schedule := fs.String("schedule", "", "only sweeps started by this schedule")
	limit := fs.Int("limit", 50, "at most this many sweeps (0: all)")
	asJSON := fs.Bool("json", false, "print one Sweep message a line, as JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%s: unexpected argument %q: filter with --state and --schedule", op, pos[0])
	}
	req := &sweepv1.ListSweepsRequest{ScheduleId: *schedule}
	if *state != "" {
		st := *state
		if strings.EqualFold(st, "canceled") {
			st = "cancelled"
		}
		n, err := parseEnum(sweepStateEnum, st)
		if err != nil {
			return fmt.Errorf("%s: --state: %w", op, err)
		}
		req.State = sweepv1.SweepState(n)
	}
	if *limit < 0 {
		return fmt.Errorf("%s: --limit must be 0 (all) or more, got %d", op, *limit)
	}
	req.PageSize = 100
	if *limit > 0 {
		req.PageSize = int32(min(*limit, 1000))
	}
	c, closeConn, err := dialSweep(op, conn, fs)
	if err != nil {
		return err
	}
	defer closeConn()
	var sweeps []*sweepv1.Sweep
	for {
		cctx, cancel := conn.call(ctx)
		resp, err := c.ListSweeps(cctx, req)
		cancel()
		if err != nil {
			return conn.fail(op, err)
		}
		sweeps = append(sweeps, resp.GetSweeps()...)
		if *limit > 0 && len(sweeps) >= *limit {
			sweeps = sweeps[:*limit]
			break
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	sweeps = withProgress(ctx, conn, c, sweeps)
	if *asJSON {
		for _, sw := range sweeps {
			if err := printJSON(stdout, sw); err != nil {
				return err
			}
		}
		return nil
	}
	if len(sweeps) == 0 {
		fmt.Fprintln(stdout, "No sweeps.")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tACCOUNTS\tFINDINGS\tFAILING\tSTARTED")
	for _, sw := range sweeps {
		accounts, findings, failing := "-", "-", "-"
		if p := sw.GetProgress(); p != nil {
			accounts = fmt.Sprintf("%d/%d", p.GetAccountsDone(), p.GetAccountsTotal())
			findings, failing = fmt.Sprint(p.GetCounts().GetFindings()), fmt.Sprint(p.GetCounts().GetFail())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", sw.GetSweepId(), stateName(sw.GetState()), accounts, findings, failing, when(sw.GetStartTime(), tableTime))
	}
	return tw.Flush()
}

// withProgress fills in the progress that ListSweeps leaves out (it would
// cost the service a Temporal call per sweep) with one GetSweep per sweep,
// eight at a time. A sweep whose GetSweep fails keeps no progress ("-").
func withProgress(ctx context.Context, conn *connFlags, c sweepv1.SweepServiceClient, sweeps []*sweepv1.Sweep) []*sweepv1.Sweep {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, sw := range sweeps {
		if p := sw.GetProgress(); p.GetAccountsTotal() > 0 || p.GetCounts() != nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			cctx, cancel := conn.call(ctx)
			defer cancel()
			resp, err := c.GetSweep(cctx, &sweepv1.GetSweepRequest{SweepId: sw.GetSweepId()})
			if err != nil {
				sweeps[i].Progress = nil
				return
			}
			sweeps[i] = resp.GetSweep()
		}()
	}
	wg.Wait()
	return sweeps
}
