package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/dpsweep/dpsweep/awssim"
	"github.com/dpsweep/dpsweep/awssim/world"
	"github.com/dpsweep/dpsweep/cmd/dpsweep/internal/suite"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	sweepv1 "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
	"github.com/dpsweep/dpsweep/services/platform/logging"
	"github.com/dpsweep/dpsweep/services/platform/telemetry"
	"github.com/dpsweep/dpsweep/services/reporting/store"
	"github.com/dpsweep/dpsweep/workflows/codec"
	"github.com/dpsweep/dpsweep/workflows/devserver"
	"github.com/dpsweep/dpsweep/workflows/sweep"
	"github.com/dpsweep/dpsweep/workflows/tracing"
	"github.com/dpsweep/dpsweep/workflows/worker"
)

// stackOptions configure the embedded stack of demo and dev.
type stackOptions struct {
	accounts int
	seed     uint64
	dataDir  string
	uiPort   int
	logLevel string
	simAddr  string
	// telemetry is the process's metrics endpoint and trace export.
	telemetry telemetry.Config
}

func (o *stackOptions) register(fs *flag.FlagSet) {
	fs.IntVar(&o.accounts, "accounts", 30, "accounts in the simulated organization")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the simulated organization")
	fs.StringVar(&o.dataDir, "data-dir", "", "where the findings store, reports and Temporal's database go (default: demo/ under the user's data directory)")
	fs.IntVar(&o.uiPort, "ui-port", 8233, "port of the Temporal Web UI on 127.0.0.1 (0 picks a free one; a busy port falls back to a free one)")
	fs.StringVar(&o.logLevel, "log-level", "warn", "log level of the services: debug, info, warn or error")
	fs.StringVar(&o.simAddr, "sim-addr", "127.0.0.1:0", "address of the simulated AWS endpoint")
	o.telemetry.RegisterFlags(fs)
}

// stack is the embedded default: a Temporal server with its UI, a
// simulated organization, the five services, and a sweep worker.
type stack struct {
	temporal *devserver.Server
	tc       client.Client
	sweepTC  client.Client
	sim      *awssim.Sim
	suite    *suite.Suite
	stopWork func()
	codec    *http.Server
	tel      *telemetry.Telemetry
	sweeps   sweepv1.SweepServiceClient
	reports  reportingv1.ReportingServiceClient
	conns    []*grpc.ClientConn
	dataDir  string
}

func startStack(ctx context.Context, o stackOptions, stdout, stderr io.Writer) (_ *stack, err error) {
	st := &stack{}
	defer func() {
		if err != nil {
			st.stop()
		}
	}()
	if o.accounts < 2 || o.accounts > 10000 {
		return nil, fmt.Errorf("--accounts must be between 2 and 10000, got %d", o.accounts)
	}
	st.dataDir = o.dataDir
	if st.dataDir == "" {
		db, err := store.DefaultSQLitePath()
		if err != nil {
			return nil, fmt.Errorf("--data-dir: %w", err)
		}
		st.dataDir = filepath.Join(filepath.Dir(db), "demo")
	}
	if err := os.MkdirAll(st.dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	log, err := logging.New(stderr, "text", o.logLevel)
	if err != nil {
		return nil, err
	}
	// One metrics endpoint and one trace exporter for every service and
	// the worker in this process.
	if st.tel, err = telemetry.Start(ctx, o.telemetry, "demo", os.Getenv, log); err != nil {
		return nil, err
	}

	bin, err := devserver.EnsureBinaryTo(ctx, stdout)
	if err != nil {
		return nil, fmt.Errorf("the Temporal server: %w", err)
	}
	uiPort := o.uiPort
	if uiPort != 0 && !portFree(uiPort) {
		uiPort = 0
	}
	// Workflow payloads are encrypted with a key kept in the data
	// directory; a codec server on 127.0.0.1 lets the Web UI show them
	// decoded to the operator.
	keyFile := filepath.Join(st.dataDir, "temporal.key")
	if err := ensureKeyFile(keyFile); err != nil {
		return nil, err
	}
	keys, err := codec.LoadKeyFile(keyFile)
	if err != nil {
		return nil, err
	}
	conv, err := codec.Load(keyFile)
	if err != nil {
		return nil, err
	}
	codecLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("codec server: %w", err)
	}
	codecURL := "http://" + codecLis.Addr().String()
	fmt.Fprintln(stdout, "Starting a Temporal server with its Web UI on 127.0.0.1 ...")
	st.temporal, err = devserver.Start(ctx, devserver.Options{Binary: bin, DBFile: filepath.Join(st.dataDir, "temporal.db"), UI: true, UIPort: uiPort,
		UICodecEndpoint: codecURL, SearchAttributes: sweep.SearchAttributeTypes, LogFile: filepath.Join(st.dataDir, "temporal.log")})
	if err != nil {
		codecLis.Close()
		return nil, fmt.Errorf("the Temporal server: %w", err)
	}
	handler, err := codec.NewServer(keys, codec.ServerOptions{AllowOrigin: st.temporal.UIURL()})
	if err != nil {
		codecLis.Close()
		return nil, fmt.Errorf("codec server: %w", err)
	}
	st.codec = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = st.codec.Serve(codecLis) }()
	dc, fc := conv.Options()
	st.tc, err = client.DialContext(ctx, client.Options{HostPort: st.temporal.HostPort(), Namespace: st.temporal.Namespace(), DataConverter: dc,
		FailureConverter: fc, Logger: tlog.NewStructuredLogger(log)})
	if err != nil {
		return nil, fmt.Errorf("the Temporal server: %w", err)
	}

	gen := world.DefaultGenOptions()
	gen.Accounts, gen.Seed = o.accounts, o.seed
	fmt.Fprintf(stdout, "Simulating an AWS Organization of %d accounts ...\n", o.accounts)
	st.sim, err = awssim.Start(ctx, awssim.Config{Gen: gen, Addr: o.simAddr})
	if err != nil {
		return nil, fmt.Errorf("the simulator: %w", err)
	}
	opts := suite.DefaultOptions()
	ak, sk := st.sim.Credentials()
	opts.Collection.EndpointURL, opts.Collection.Credentials = st.sim.URL, credentials.NewStaticCredentialsProvider(ak, sk, "")
	opts.Collection.RequestsPerSecond, opts.Collection.MaxConcurrent = 200, 8
	opts.Reporting.Database, opts.Reporting.ReportDir = filepath.Join(st.dataDir, "findings.db"), filepath.Join(st.dataDir, "reports")
	opts.Reporting.EndpointURL, opts.Reporting.Credentials = st.sim.URL, opts.Collection.Credentials
	// The SweepService's client traces the workflows it starts; the
	// worker's (st.tc) does not, since worker.New traces the worker side
	// and a client's interceptors would apply to its workers a second time.
	trace, err := tracing.Interceptor()
	if err != nil {
		return nil, err
	}
	st.sweepTC, err = client.NewClientFromExisting(st.tc, client.Options{Namespace: st.temporal.Namespace(), DataConverter: dc, FailureConverter: fc,
		Logger: tlog.NewStructuredLogger(log), Interceptors: []interceptor.ClientInterceptor{trace}})
	if err != nil {
		return nil, fmt.Errorf("the Temporal server: %w", err)
	}
	opts.Sweep.Client, opts.Sweep.ManagementAccount, opts.Sweep.Converters = st.sweepTC, st.sim.World.ManagementAccount, conv
	fmt.Fprintln(stdout, "Starting dpsweep's services on 127.0.0.1 ...")
	if st.suite, err = suite.Start(ctx, log, opts); err != nil {
		return nil, err
	}
	if err := st.suite.CheckHealth(ctx); err != nil {
		return nil, err
	}
	wcfg := worker.DefaultConfig()
	wcfg.Client, wcfg.Converters = st.tc, conv
	wcfg.Collection.Addr, wcfg.Evaluation.Addr, wcfg.Reporting.Addr = st.suite.Addr("collection"), st.suite.Addr("evaluation"), st.suite.Addr("reporting")
	w, cleanup, err := worker.New(wcfg, log)
	if err != nil {
		return nil, err
	}
	if err := w.Start(); err != nil {
		cleanup()
		return nil, fmt.Errorf("start the sweep worker: %w", err)
	}
	st.stopWork = func() { w.Stop(); cleanup() }
	dial := func(addr string) (*grpc.ClientConn, error) {
		c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err == nil {
			st.conns = append(st.conns, c)
		}
		return c, err
	}
	sc, err := dial(st.suite.Addr("sweep"))
	if err != nil {
		return nil, err
	}
	rc, err := dial(st.suite.Addr("reporting"))
	if err != nil {
		return nil, err
	}
	st.sweeps, st.reports = sweepv1.NewSweepServiceClient(sc), reportingv1.NewReportingServiceClient(rc)

	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nCOMPONENT\tADDRESS")
	for _, e := range st.suite.Endpoints {
		fmt.Fprintf(tw, "%s service (%s)\t%s\n", e.Name, e.Service, e.Addr)
	}
	fmt.Fprintf(tw, "Temporal frontend\t%s\n", st.temporal.HostPort())
	fmt.Fprintf(tw, "Temporal Web UI\t%s\n", st.temporal.UIURL())
	fmt.Fprintf(tw, "payload codec server (for the UI)\t%s\n", codecURL)
	fmt.Fprintf(tw, "simulated AWS endpoint\t%s\n", st.sim.URL)
	fmt.Fprintf(tw, "data directory\t%s\n", st.dataDir)
	if addr := st.tel.MetricsAddr(); addr != "" {
		fmt.Fprintf(tw, "Prometheus metrics\thttp://%s/metrics\n", addr)
	}
	if err := tw.Flush(); err != nil {
		return nil, err
	}
	return st, nil
}

// ensureKeyFile writes a new random payload key to path (0600) unless the
// file exists.
func ensureKeyFile(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	var k [32]byte
	if _, err := rand.Read(k[:]); err != nil {
		return err
	}
	line := "demo-" + time.Now().UTC().Format("20060102") + ":" + base64.StdEncoding.EncodeToString(k[:]) + "\n"
	if err := os.WriteFile(path, []byte(line), 0o600); err != nil {
		return fmt.Errorf("payload key: %w", err)
	}
	return nil
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func (st *stack) stop() error {
	var errs []error
	for _, c := range st.conns {
		_ = c.Close()
	}
	if st.stopWork != nil {
		st.stopWork()
	}
	if st.suite != nil {
		errs = append(errs, st.suite.Stop())
	}
	if st.sim != nil {
		_ = st.sim.Close()
	}
	if st.sweepTC != nil {
		st.sweepTC.Close()
	}
	if st.tc != nil {
		st.tc.Close()
	}
	if st.codec != nil {
		_ = st.codec.Close()
	}
	if st.temporal != nil {
		errs = append(errs, st.temporal.Stop())
	}
	if st.tel != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		errs = append(errs, st.tel.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// workflowURL is the Temporal UI's page of a sweep.
func (st *stack) workflowURL(id string) string {
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s", st.temporal.UIURL(), st.temporal.Namespace(), url.PathEscape(sweep.SweepWorkflowID(id)))
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dpsweep demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: dpsweep demo [flags]\n\nRuns a whole sweep on the embedded default: a Temporal server with its Web UI, a simulated\n"+
			"AWS Organization, dpsweep's services, a sweep worker and a SQLite findings store, all on\n127.0.0.1. Prints a summary and where the HTML report is.\n\nFlags:")
		fs.PrintDefaults()
	}
	var o stackOptions
	o.register(fs)
	regions := fs.String("regions", "us-east-1,eu-west-1,ap-southeast-2", "regions to sweep, comma-separated; empty for every enabled region")
	concurrency := fs.Int("max-concurrent-accounts", 10, "accounts scanned at once")
	keep := fs.Bool("keep", false, "keep everything running after the sweep (to explore the Temporal UI); Ctrl-C stops")
	timeout := fs.Duration("timeout", 20*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: dpsweep demo takes flags only", fs.Arg(0))
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	st, err := startStack(ctx, o, stdout, stderr)
	if err != nil {
		return err
	}
	defer st.stop()

	spec := &sweepv1.SweepSpec{RoleName: world.DefaultGenOptions().RoleName, MaxConcurrentAccounts: int32(*concurrency),
		ReportFormats: []reportingv1.ReportFormat{reportingv1.ReportFormat_REPORT_FORMAT_HTML, reportingv1.ReportFormat_REPORT_FORMAT_SARIF}}
	for _, r := range strings.Split(*regions, ",") {
		if r = strings.TrimSpace(r); r != "" {
			spec.Regions = append(spec.Regions, r)
		}
	}
	started, err := st.sweeps.StartSweep(ctx, &sweepv1.StartSweepRequest{Spec: spec})
	if err != nil {
		return fmt.Errorf("start the sweep: %w", err)
	}
	id := started.GetSweep().GetSweepId()
	fmt.Fprintf(stdout, "\nSweep %s started; follow it in the Temporal UI:\n  %s\n\n", id, st.workflowURL(id))
	sw, err := follow(ctx, st.sweeps, id, stdout)
	if err != nil {
		return err
	}
	printSummary(stdout, sw)
	fmt.Fprintf(stdout, "\nThe Temporal UI shows the sweep and one child workflow per account: %s\n", st.workflowURL(id))
	if *keep {
		fmt.Fprintln(stdout, "Everything keeps running; Ctrl-C stops.")
		<-ctx.Done()
	}
	fmt.Fprintln(stdout, "Stopping ...")
	if err := st.stop(); err != nil {
		return err
	}
	st.conns, st.stopWork, st.suite, st.sim, st.tc, st.temporal, st.codec = nil, nil, nil, nil, nil, nil, nil
	fmt.Fprintln(stdout, "Stopped.")
	if sw.GetState() != sweepv1.SweepState_SWEEP_STATE_COMPLETED {
		return fmt.Errorf("the sweep ended %s", strings.TrimPrefix(sw.GetState().String(), "SWEEP_STATE_"))
	}
	return nil
}

// follow prints a sweep's progress until it ends: one line rewritten in
// place on a terminal, a line every few seconds otherwise.
func follow(ctx context.Context, c sweepv1.SweepServiceClient, id string, out io.Writer) (*sweepv1.Sweep, error) {
	tty := isTerminal(out)
	start := time.Now()
	var lastPrint time.Time
	for {
		resp, err := c.GetSweep(ctx, &sweepv1.GetSweepRequest{SweepId: id})
		if err != nil {
			return nil, fmt.Errorf("sweep %s: %w", id, err)
		}
		sw := resp.GetSweep()
		p := sw.GetProgress()
		line := fmt.Sprintf("  accounts %d/%d  scans %d  findings %d (failing %d)  %s", p.GetAccountsDone(), p.GetAccountsTotal(),
			p.GetRegionsDone(), p.GetCounts().GetFindings(), p.GetCounts().GetFail(), time.Since(start).Round(time.Second))
		if p.GetAccountsTotal() == 0 {
			line = fmt.Sprintf("  discovering the organization's accounts ...  %s", time.Since(start).Round(time.Second))
		}
		done := sw.GetState() != sweepv1.SweepState_SWEEP_STATE_RUNNING
		switch {
		case tty:
			fmt.Fprintf(out, "\r\033[K%s", line)
			if done {
				fmt.Fprintln(out)
			}
		case done || time.Since(lastPrint) >= 5*time.Second:
			fmt.Fprintln(out, line)
			lastPrint = time.Now()
		}
		if done {
			return sw, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("sweep %s: %w (it keeps running in Temporal)", id, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func printSummary(out io.Writer, sw *sweepv1.Sweep) {
	p, c := sw.GetProgress(), sw.GetProgress().GetCounts()
	fmt.Fprintf(out, "\nSweep %s %s: %d accounts (%d not fully assessed), %d scans.\n", sw.GetSweepId(),
		strings.ToLower(strings.TrimPrefix(sw.GetState().String(), "SWEEP_STATE_")), p.GetAccountsDone(), p.GetAccountsFailed(), p.GetRegionsDone())
	fmt.Fprintf(out, "Findings: %d — failing %d, passing %d, not assessed %d, suppressed %d.\n", c.GetFindings(), c.GetFail(), c.GetPass(), c.GetNotAssessed(), c.GetSuppressed())
	if len(c.GetFailBySeverity()) > 0 {
		var parts []string
		for _, s := range c.GetFailBySeverity() {
			parts = append(parts, fmt.Sprintf("%s %d", strings.ToLower(strings.TrimPrefix(s.GetSeverity().String(), "SEVERITY_")), s.GetCount()))
		}
		fmt.Fprintf(out, "Open failures by severity: %s.\n", strings.Join(parts, ", "))
	}
	for _, u := range sw.GetReportUris() {
		fmt.Fprintf(out, "Report: %s\n", u)
	}
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dpsweep dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o stackOptions
	o.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := startStack(ctx, o, stdout, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nRunning. Start a sweep with:\n  dpsweep sweep start --addr %s\nor explore with: grpcurl -plaintext <address> list   (Ctrl-C stops)\n", st.suite.Addr("sweep"))
	<-ctx.Done()
	fmt.Fprintln(stdout, "Stopping ...")
	return st.stop()
}
