package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	sweepv1 "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
	sweepsvc "github.com/dpsweep/dpsweep/services/sweep"
)

const scheduleUsage = `Usage: dpsweep schedule <command> [flags]

Runs sweeps on a calendar through the SweepService (127.0.0.1:7405 by default, or
--addr, or $DPSWEEP_SWEEP_ADDR). A schedule is a Temporal Schedule; each sweep it
starts is a workflow "sweep/<schedule>-<time>" whose sweep ID is that name with the
colons made dashes. A sweep is skipped while the schedule's previous one still runs.

Commands:
  create   create a schedule: --cron (UTC) or --every, and the spec flags of 'sweep start'
  list     schedules: ID, STATE, CALENDAR, NEXT RUN, LAST SWEEP
  get      one schedule with its spec, next runs and recent sweeps
  pause    stop starting sweeps (--note says why)
  resume   start sweeps again
  trigger  start one sweep of the schedule now
  delete   delete a schedule; the sweeps it started are kept

Run 'dpsweep schedule <command> --help' for a command's flags.
`

func runSchedule(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return dispatch(ctx, "schedule", scheduleUsage, []subcommand{
		{"create", runScheduleCreate}, {"list", runScheduleList}, {"get", runScheduleGet},
		{"pause", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			return runSchedulePause(ctx, true, args, stdout, stderr)
		}},
		{"resume", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			return runSchedulePause(ctx, false, args, stdout, stderr)
		}},
		{"trigger", runScheduleTrigger}, {"delete", runScheduleDelete},
	}, args, stdout, stderr)
}

const scheduleCreateUsage = `Usage: dpsweep schedule create [flags] SCHEDULE_ID

Creates a schedule that starts a sweep on a calendar: --cron with a five-field cron
expression in UTC (repeat it for several), or --every with an interval of at least a
minute. The sweep's spec comes from --config and the same spec flags as
'dpsweep sweep start'.

Examples:
  dpsweep schedule create nightly --cron "0 3 * * *" --config deploy/config/sweep.example.yaml
  dpsweep schedule create hourly-prod --every 1h --include-tags env=prod --formats sarif --paused
`

func runScheduleCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const op = "schedule create"
	fs := newFlagSet("dpsweep schedule create", scheduleCreateUsage, stderr)
	conn := addConnFlags(fs, "sweep", sweepsvc.DefaultAddr)
	var sf specFlags
	sf.register(fs)
	var crons repeatedFlag
	fs.Var(&crons, "cron", "cron `expression` in UTC, e.g. \"0 3 * * *\" (minute hour day-of-month month day-of-week); may be repeated")
	every := fs.Duration("every", 0, "or a fixed `interval`, e.g. 24h (at least 1m)")
	paused := fs.Bool("paused", false, "create it paused ('dpsweep schedule resume' starts it)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID(op, "schedule ID", pos)
	if err != nil {
		return err
	}
	if len(crons) == 0 && *every == 0 {
		return fmt.Errorf(`%s: say when: --cron "0 3 * * *" (UTC) or --every 24h`, op)
	}
	spec, err := sf.spec(fs)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	req := &sweepv1.CreateScheduleRequest{ScheduleId: id, Spec: spec, CronExpressions: crons, Paused: *paused}
	if *every != 0 {
		req.Interval = durationpb.New(*every)
	}
	c, closeConn, err := dialSweep(op, conn, fs)
	if err != nil {
		return err
	}
	defer closeConn()
	cctx, cancel := conn.call(ctx)
	resp, err := c.CreateSchedule(cctx, req)
	cancel()
	if err != nil {
		return conn.fail(op, err)
	}
	fmt.Fprintf(stdout, "Schedule %s created.\n\n", id)
	return printSchedule(stdout, resp.GetSchedule())
}

// calendar describes when a schedule runs.
func calendar(sc *sweepv1.Schedule) string {
	var parts []string
	for _, c := range sc.GetCronExpressions() {
		parts = append(parts, fmt.Sprintf("cron %q", c))
	}
	if iv := sc.GetInterval(); iv != nil {
		parts = append(parts, "every "+shortDuration(iv.AsDuration()))
	}
	if len(parts) == 0 {
		return "calendar"
	}
	return strings.Join(parts, ", ")
}

// shortDuration prints 24h rather than 24h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func scheduleState(sc *sweepv1.Schedule) string {
	if sc.GetPaused() {
		return "paused"
	}
	return "active"
}

// printSchedule is the detail view of a schedule.
func printSchedule(out io.Writer, sc *sweepv1.Schedule) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("Schedule", sc.GetScheduleId())
	state := scheduleState(sc)
	if sc.GetNote() != "" {
		state += ": " + sc.GetNote()
	}
	row("State", state)
	row("Runs", calendar(sc))
	for i, t := range sc.GetNextRuns() {
		if i == 3 {
			break
		}
		row("Next run", when(t, detailTime))
	}
	if ids := sc.GetRecentSweepIds(); len(ids) > 0 {
		row("Recent sweeps", strings.Join(ids, ", "))
	}
	for _, f := range specFields(sc.GetSpec()) {
		row(f[0], f[1])
	}
	return tw.Flush()
}

const scheduleListUsage = `Usage: dpsweep schedule list [flags]

Lists schedules: ID, STATE (active or paused), CALENDAR, NEXT RUN (UTC) and LAST
SWEEP. --json prints one Schedule message a line instead.
`

func runScheduleList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const op = "schedule list"
	fs := newFlagSet("dpsweep schedule list", scheduleListUsage, stderr)
	conn := addConnFlags(fs, "sweep", sweepsvc.DefaultAddr)
	asJSON := fs.Bool("json", false, "print one Schedule message a line, as JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%s: unexpected argument %q: the command takes flags only ('dpsweep schedule get ID' shows one)", op, pos[0])
	}
	c, closeConn, err := dialSweep(op, conn, fs)
	if err != nil {
		return err
	}
	defer closeConn()
	var all []*sweepv1.Schedule
	req := &sweepv1.ListSchedulesRequest{PageSize: 1000}
	for {
		cctx, cancel := conn.call(ctx)
		resp, err := c.ListSchedules(cctx, req)
		cancel()
		if err != nil {
			return conn.fail(op, err)
		}
		all = append(all, resp.GetSchedules()...)
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	if *asJSON {
		for _, sc := range all {
			if err := printJSON(stdout, sc); err != nil {
				return err
			}
		}
		return nil
	}
	if len(all) == 0 {
		fmt.Fprintln(stdout, "No schedules.")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tCALENDAR\tNEXT RUN\tLAST SWEEP")
	for _, sc := range all {
		next, last := "-", "-"
		if len(sc.GetNextRuns()) > 0 {
			next = when(sc.GetNextRuns()[0], tableTime)
		}
		if ids := sc.GetRecentSweepIds(); len(ids) > 0 {
			last = ids[len(ids)-1]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", sc.GetScheduleId(), scheduleState(sc), calendar(sc), next, last)
	}
	return tw.Flush()
}

const scheduleGetUsage = `Usage: dpsweep schedule get [flags] SCHEDULE_ID

Prints a schedule: its state, calendar, next runs, recent sweeps and spec.
`

func runScheduleGet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const op = "schedule get"
	fs := newFlagSet("dpsweep schedule get", scheduleGetUsage, stderr)
	conn := addConnFlags(fs, "sweep", sweepsvc.DefaultAddr)
	asJSON := fs.Bool("json", false, "print the Schedule message as one line of JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID(op, "schedule ID", pos)
	if err != nil {
		return err
	}
	c, closeConn, err := dialSweep(op, conn, fs)
	if err != nil {
		return err
	}
	defer closeConn()
	cctx, cancel := conn.call(ctx)
	resp, err := c.GetSchedule(cctx, &sweepv1.GetScheduleRequest{ScheduleId: id})
	cancel()
	if err != nil {
		return conn.fail(op, err)
	}
	if *asJSON {
		return printJSON(stdout, resp.GetSchedule())
	}
	return printSchedule(stdout, resp.GetSchedule())
}

const schedulePauseUsage = `Usage: dpsweep schedule pause [flags] SCHEDULE_ID

Pauses a schedule: it starts no sweep until resumed. A running sweep goes on.
`

const scheduleResumeUsage = `Usage: dpsweep schedule resume [flags] SCHEDULE_ID

Resumes a paused schedule: it starts sweeps again from its next run time.
`

func runSchedulePause(ctx context.Context, pause bool, args []string, stdout, stderr io.Writer) error {
	op, usage, verb := "schedule pause", schedulePauseUsage, "paused"
	if !pause {
		op, usage, verb = "schedule resume", scheduleResumeUsage, "resumed"
	}
	fs := newFlagSet("dpsweep "+op, usage, stderr)
	conn := addConnFlags(fs, "sweep", sweepsvc.DefaultAddr)
	note := fs.String("note", "", "why, shown with the schedule and in the Temporal UI")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID(op, "schedule ID", pos)
	if err != nil {
		return err
	}
	c, closeConn, err := dialSweep(op, conn, fs)
	if err != nil {
		return err
	}
	defer closeConn()
	cctx, cancel := conn.call(ctx)
	resp, err := c.PauseSchedule(cctx, &sweepv1.PauseScheduleRequest{ScheduleId: id, Paused: pause, Note: *note})
	cancel()
	if err != nil {
		return conn.fail(op, err)
	}
	fmt.Fprintf(stdout, "Schedule %s %s.\n\n", id, verb)
	return printSchedule(stdout, resp.GetSchedule())
}

const scheduleTriggerUsage = `Usage: dpsweep schedule trigger [flags] SCHEDULE_ID

Starts one sweep of the schedule now, with its spec; skipped while one of its sweeps
is still running. 'dpsweep sweep list --schedule SCHEDULE_ID' shows it.
`

func runScheduleTrigger(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const op = "schedule trigger"
	fs := newFlagSet("dpsweep schedule trigger", scheduleTriggerUsage, stderr)
	conn := addConnFlags(fs, "sweep", sweepsvc.DefaultAddr)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID(op, "schedule ID", pos)
	if err != nil {
		return err
	}
	c, closeConn, err := dialSweep(op, conn, fs)
	if err != nil {
		return err
	}
	defer closeConn()
	cctx, cancel := conn.call(ctx)
	_, err = c.TriggerSchedule(cctx, &sweepv1.TriggerScheduleRequest{ScheduleId: id})
	cancel()
	if err != nil {
		return conn.fail(op, err)
	}
	fmt.Fprintf(stdout, "Schedule %s triggered; its sweep: dpsweep sweep list --schedule %s\n", id, id)
	return nil
}

const scheduleDeleteUsage = `Usage: dpsweep schedule delete [flags] SCHEDULE_ID

Deletes a schedule. The sweeps it started, running or finished, are kept.
`

func runScheduleDelete(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const op = "schedule delete"
	fs := newFlagSet("dpsweep schedule delete", scheduleDeleteUsage, stderr)
	conn := addConnFlags(fs, "sweep", sweepsvc.DefaultAddr)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID(op, "schedule ID", pos)
	if err != nil {
		return err
	}
	c, closeConn, err := dialSweep(op, conn, fs)
	if err != nil {
		return err
	}
	defer closeConn()
	cctx, cancel := conn.call(ctx)
	_, err = c.DeleteSchedule(cctx, &sweepv1.DeleteScheduleRequest{ScheduleId: id})
	cancel()
	if err != nil {
		return conn.fail(op, err)
	}
	fmt.Fprintf(stdout, "Schedule %s deleted; the sweeps it started are kept.\n", id)
	return nil
}
