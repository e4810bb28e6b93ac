package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"google.golang.org/protobuf/reflect/protoreflect"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	"github.com/dpsweep/dpsweep/services/reporting"
)

const reportUsage = `Usage:
  dpsweep report [flags] SWEEP_ID --format FORMAT --out PATH   export a report (or: report export ...)
  dpsweep report diff [flags] BASE_SWEEP_ID SWEEP_ID           failing findings new and resolved since BASE
  dpsweep report findings [flags] SWEEP_ID                     a sweep's findings, filtered

Reads the findings store through the ReportingService (127.0.0.1:7404 by default, or
--addr, or $DPSWEEP_REPORTING_ADDR). Reports are written by the service: a file path
is on the reporting server's disk, relative paths under its --report-dir.

Examples:
  dpsweep report 20261124-0330-3f9a1c --format html --out 20261124/report.html
  dpsweep report 20261124-0330-3f9a1c --format sarif --out s3://sec-reports/dpsweep/latest.sarif --kms-key-id alias/reports
  dpsweep report diff 20261117-0300-aa11bb 20261124-0330-3f9a1c
  dpsweep report findings 20261124-0330-3f9a1c --status fail --severity critical,high

Run 'dpsweep report <command> --help' for a command's flags ('dpsweep report export
--help' for the export's).
`

var (
	statusEnum     = evaluationv1.FindingStatus(0).Descriptor()
	reasonEnum     = evaluationv1.NotAssessedReason(0).Descriptor()
	diffKindEnum   = reportingv1.DiffKind(0).Descriptor()
	reportCommands = []subcommand{{"export", runReportExport}, {"diff", runReportDiff}, {"findings", runReportFindings}}
)

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (slices.ContainsFunc(reportCommands, func(s subcommand) bool { return s.name == args[0] }) ||
		slices.Contains([]string{"help", "-h", "-help", "--help"}, args[0])) {
		return dispatch(ctx, "report", reportUsage, reportCommands, args, stdout, stderr)
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, reportUsage)
		return fmt.Errorf("report: a sweep ID and --format and --out are required, or a command: diff, findings")
	}
	return runReportExport(ctx, args, stdout, stderr)
}

// filterFlags make a FindingFilter.
type filterFlags struct {
	controls, severities, statuses, accounts, regions listFlag
	includeSuppressed                                 bool
}

func (f *filterFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.controls, "control", "only these `controls` (IDs), comma-separated or repeated")
	fs.Var(&f.severities, "severity", "only these `severities`: "+enumChoices(severityEnum))
	fs.Var(&f.statuses, "status", "only these `statuses`: "+enumChoices(statusEnum))
	fs.Var(&f.accounts, "account", "only these 12-digit `accounts`")
	fs.Var(&f.regions, "region", "only these `regions` (global for account-wide findings)")
	fs.BoolVar(&f.includeSuppressed, "include-suppressed", false, "include suppressed findings (left out otherwise)")
}

// filter is the FindingFilter of the flags; nil when none is set.
func (f *filterFlags) filter() (*reportingv1.FindingFilter, error) {
	sev, err := parseEnums[evaluationv1.Severity]("severity", severityEnum, f.severities.vals)
	if err != nil {
		return nil, err
	}
	st, err := parseEnums[evaluationv1.FindingStatus]("status", statusEnum, f.statuses.vals)
	if err != nil {
		return nil, err
	}
	ff := &reportingv1.FindingFilter{ControlIds: f.controls.vals, Severities: sev, Statuses: st, AccountIds: f.accounts.vals,
		Regions: f.regions.vals, IncludeSuppressed: f.includeSuppressed}
	if !f.controls.set && !f.severities.set && !f.statuses.set && !f.accounts.set && !f.regions.set && !f.includeSuppressed {
		return nil, nil
	}
	return ff, nil
}

// dialReporting connects to the reporting service.
func dialReporting(op string, conn *connFlags, fs *flag.FlagSet) (reportingv1.ReportingServiceClient, func(), error) {
	cc, err := conn.dial(fs)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", op, err)
	}
	return reportingv1.NewReportingServiceClient(cc), func() { _ = cc.Close() }, nil
}

const reportExportUsage = `Usage: dpsweep report [export] [flags] SWEEP_ID --format FORMAT --out DESTINATION

Renders a sweep in a format (html, json, csv, sarif, ocsf or asff) and has the
reporting service write it to DESTINATION:
  PATH                  a file on the reporting server: absolute, or relative to its --report-dir
  s3://BUCKET/KEY       an S3 object encrypted with SSE-KMS (--kms-key-id, --s3-region)
  securityhub:REGION    Security Hub in that region (--format asff only)
Prints where the report went, its size, the findings it holds and its SHA-256.
Without filter flags the whole sweep is exported, suppressed findings marked; the HTML
report always summarises the whole sweep.
`

func runReportExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const op = "report"
	fs := newFlagSet("dpsweep report export", reportExportUsage, stderr)
	conn := addConnFlags(fs, "reporting", reporting.DefaultAddr)
	format := fs.String("format", "", "report `format`: "+enumChoices(reportFormatEnum)+" (required)")
	out := fs.String("out", "", "`destination` of the report: a path on the reporting server, s3://bucket/key or securityhub:REGION (required)")
	kmsKey := fs.String("kms-key-id", "", "with s3://: KMS key ID, ARN or alias for SSE-KMS (default: the bucket's default key)")
	s3Region := fs.String("s3-region", "", "with s3://: the bucket's region (default: the reporting service's --region)")
	var ff filterFlags
	ff.register(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 && slices.Contains([]string{"diff", "findings"}, pos[0]) {
		return fmt.Errorf("%s: put the command first: dpsweep report %s [flags] ...", op, pos[0])
	}
	id, err := oneID(op, "sweep ID", pos)
	if err != nil {
		return err
	}
	if *format == "" {
		return fmt.Errorf("%s: --format is required: %s", op, enumChoices(reportFormatEnum))
	}
	fn, err := parseEnum(reportFormatEnum, *format)
	if err != nil {
		return fmt.Errorf("%s: --format: %w", op, err)
	}
	dest, err := destination(*out, *kmsKey, *s3Region)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	filter, err := ff.filter()
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	c, closeConn, err := dialReporting(op, conn, fs)
	if err != nil {
		return err
	}
	defer closeConn()
	cctx, cancel := conn.call(ctx)
	resp, err := c.ExportReport(cctx, &reportingv1.ExportReportRequest{SweepId: id, Format: reportingv1.ReportFormat(fn), Destination: dest, Filter: filter})
	cancel()
	if err != nil {
		return conn.fail(op, err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "uri\t%s\n", resp.GetUri())
	if resp.GetSha256() != "" {
		fmt.Fprintf(tw, "bytes\t%d\n", resp.GetBytesWritten())
	}
	fmt.Fprintf(tw, "findings\t%d\n", resp.GetFindingsExported())
	if resp.GetSha256() != "" {
		fmt.Fprintf(tw, "sha256\t%s\n", resp.GetSha256())
	}
	return tw.Flush()
}

// destination reads --out.
func destination(out, kmsKey, s3Region string) (*reportingv1.Destination, error) {
	if (kmsKey != "" || s3Region != "") && !strings.HasPrefix(out, "s3://") {
		return nil, fmt.Errorf("--kms-key-id and --s3-region go with --out s3://BUCKET/KEY")
	}
	switch {
	case out == "":
		return nil, fmt.Errorf("--out is required: a path on the reporting server, s3://BUCKET/KEY or securityhub:REGION")
	case strings.HasPrefix(out, "s3://"):
		bucket, key, _ := strings.Cut(strings.TrimPrefix(out, "s3://"), "/")
		if bucket == "" || key == "" {
			return nil, fmt.Errorf("--out %s: want s3://BUCKET/KEY", out)
		}
		return &reportingv1.Destination{Kind: &reportingv1.Destination_S3{S3: &reportingv1.S3Object{Bucket: bucket, Key: key, KmsKeyId: kmsKey, Region: s3Region}}}, nil
	case strings.HasPrefix(out, "securityhub:"):
		return &reportingv1.Destination{Kind: &reportingv1.Destination_SecurityHub{SecurityHub: &reportingv1.SecurityHub{Region: strings.TrimPrefix(out, "securityhub:")}}}, nil
	}
	return &reportingv1.Destination{Kind: &reportingv1.Destination_File{File: &reportingv1.LocalFile{Path: out}}}, nil
}

const reportFindingsUsage = `Usage: dpsweep report findings [flags] SWEEP_ID

Lists a sweep's findings in the store's order (account, region, control, resource):
ACCOUNT, REGION, CONTROL, SEVERITY, STATUS and RESOURCE. Filter flags take
comma-separated values (or repeat): values of one flag are alternatives, flags
combine. --json prints one Finding message a line instead.

Example:
  dpsweep report findings 20261124-0330-3f9a1c --status fail --severity critical,high --region eu-west-1,global
`

func runReportFindings(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const op = "report findings"
	fs := newFlagSet("dpsweep report findings", reportFindingsUsage, stderr)
	conn := addConnFlags(fs, "reporting", reporting.DefaultAddr)
	var ff filterFlags
	ff.register(fs)
	asJSON := fs.Bool("json", false, "print one Finding message a line, as JSON")
	limit := fs.Int("limit", 0, "at most this many findings (0: all)")
	pageSize := fs.Int("page-size", 1000, "findings fetched per call, 1-5000")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID(op, "sweep ID", pos)
	if err != nil {
		return err
	}
	if *limit < 0 {
		return fmt.Errorf("%s: --limit must be 0 (all) or more, got %d", op, *limit)
	}
	if *pageSize < 1 || *pageSize > 5000 {
		return fmt.Errorf("%s: --page-size must be between 1 and 5000, got %d", op, *pageSize)
	}
	filter, err := ff.filter()
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	c, closeConn, err := dialReporting(op, conn, fs)
	if err != nil {
		return err
	}
	defer closeConn()
	req := &reportingv1.ListFindingsRequest{SweepId: id, Filter: filter, PageSize: int32(*pageSize)}
	var tw *tabwriter.Writer
	var fieldCol bool
	var rows [][]string
	shown, total := 0, int64(0)
	for {
		if *limit > 0 {
			req.PageSize = int32(min(*pageSize, *limit-shown))
		}
		cctx, cancel := conn.call(ctx)
		resp, err := c.ListFindings(cctx, req)
		cancel()
		if err != nil {
			return conn.fail(op, err)
		}
		total = resp.GetTotalSize()
		for _, f := range resp.GetFindings() {
			shown++
			if *asJSON {
				if err := printJSON(stdout, f); err != nil {
					return err
				}
				continue
			}
			fieldCol = fieldCol || f.GetFieldPath() != ""
			rows = append(rows, []string{f.GetAccountId(), f.GetRegion(), f.GetControlId(), enumShort(severityEnum, protoreflect.EnumNumber(f.GetSeverity())),
				findingStatus(f), orDash(f.GetResourceArn()), orDash(f.GetFieldPath())})
		}
		if resp.GetNextPageToken() == "" || (*limit > 0 && shown >= *limit) {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	if *asJSON {
		return nil
	}
	if len(rows) == 0 {
		fmt.Fprintf(stdout, "No findings of sweep %s match.\n", id)
		return nil
	}
	tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	header := "ACCOUNT\tREGION\tCONTROL\tSEVERITY\tSTATUS\tRESOURCE"
	if fieldCol {
		header += "\tFIELD"
	}
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		if !fieldCol {
			r = r[:6]
		}
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d of %d findings.\n", shown, total)
	return nil
}

// findingStatus is "fail", "fail (suppressed)", "not-assessed (access-denied)".
func findingStatus(f *evaluationv1.Finding) string {
	s := enumShort(statusEnum, protoreflect.EnumNumber(f.GetStatus()))
	if f.GetStatus() == evaluationv1.FindingStatus_FINDING_STATUS_NOT_ASSESSED && f.GetNotAssessedReason() != 0 {
		s += " (" + enumShort(reasonEnum, protoreflect.EnumNumber(f.GetNotAssessedReason())) + ")"
	}
	if f.GetSuppressed() {
		s += " (suppressed)"
	}
	return s
}

const reportDiffUsage = `Usage: dpsweep report diff [flags] BASE_SWEEP_ID SWEEP_ID

Compares the failing findings of SWEEP_ID with those of the earlier BASE_SWEEP_ID,
matched on account, region, control, resource and field: new (failing now, not
before), resolved (failing before, not now), unchanged (failing in both). Prints
CHANGE, ACCOUNT, REGION, CONTROL, SEVERITY and RESOURCE, then the totals of every
kind. The filter flags apply to both sweeps. --json prints one FindingChange a line.
`

func runReportDiff(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const op = "report diff"
	fs := newFlagSet("dpsweep report diff", reportDiffUsage, stderr)
	conn := addConnFlags(fs, "reporting", reporting.DefaultAddr)
	var kinds listFlag
	fs.Var(&kinds, "kinds", "`kinds` of change to list: "+enumChoices(diffKindEnum)+", comma-separated, or all (default new,resolved)")
	var ff filterFlags
	ff.register(fs)
	asJSON := fs.Bool("json", false, "print one FindingChange message a line, as JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return fmt.Errorf("%s: two sweep IDs are required, the earlier first: dpsweep report diff [flags] BASE_SWEEP_ID SWEEP_ID (got %d)", op, len(pos))
	}
	req := &reportingv1.DiffSweepsRequest{BaseSweepId: pos[0], SweepId: pos[1], PageSize: 1000}
	switch {
	case !kinds.set:
		req.Kinds = []reportingv1.DiffKind{reportingv1.DiffKind_DIFF_KIND_NEW, reportingv1.DiffKind_DIFF_KIND_RESOLVED}
	case len(kinds.vals) == 1 && kinds.vals[0] == "all":
	default:
		if req.Kinds, err = parseEnums[reportingv1.DiffKind]("kinds", diffKindEnum, kinds.vals); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	if req.Filter, err = ff.filter(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	c, closeConn, err := dialReporting(op, conn, fs)
	if err != nil {
		return err
	}
	defer closeConn()
	var counts *reportingv1.DiffCounts
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	rows := 0
	for {
		cctx, cancel := conn.call(ctx)
		resp, err := c.DiffSweeps(cctx, req)
		cancel()
		if err != nil {
			return conn.fail(op, err)
		}
		counts = resp.GetCounts()
		for _, ch := range resp.GetChanges() {
			if *asJSON {
				if err := printJSON(stdout, ch); err != nil {
					return err
				}
				continue
			}
			if rows == 0 {
				fmt.Fprintln(tw, "CHANGE\tACCOUNT\tREGION\tCONTROL\tSEVERITY\tRESOURCE")
			}
			rows++
			f := ch.GetFinding()
			res := orDash(f.GetResourceArn())
			if f.GetFieldPath() != "" {
				res += " " + f.GetFieldPath()
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", enumShort(diffKindEnum, protoreflect.EnumNumber(ch.GetKind())), f.GetAccountId(), f.GetRegion(),
				f.GetControlId(), enumShort(severityEnum, protoreflect.EnumNumber(f.GetSeverity())), res)
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	if *asJSON {
		return nil
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if rows > 0 {
		fmt.Fprintln(stdout)
	}
	fmt.Fprintf(stdout, "%s → %s: new %d, resolved %d, unchanged %d.\n", req.GetBaseSweepId(), req.GetSweepId(), counts.GetNew(), counts.GetResolved(), counts.GetUnchanged())
	return nil
}
