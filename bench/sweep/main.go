// Command sweep measures an organization sweep through the whole stack in
// one process: a real Temporal server (the Temporal CLI's dev server, as a
// child process), the AWS simulator with log-normal latency on every
// operation, the collection, evaluation, redaction and reporting services
// and the SweepService on real 127.0.0.1 listeners, and a sweep worker —
// started as tests/sweep_test.go starts them. In the same run it measures
// the Temporal server's own rate of trivial activities, and reports the
// sweep's wall time against a lower bound:
//
//	max( API calls × mean latency ÷ (accounts at once × calls in flight per account),
//	     (API calls − burst) ÷ (accounts at once × requests/s per account),
//	     (activities + child workflows) ÷ the server's trivial-activity rate )
//
// and what Temporal kept: runs of SweepWorkflow (continue-as-new) and the
// largest history of any run and of any AccountSweep child.
//
//	go run ./bench/sweep -accounts 1000 -regions 17
//	go run ./bench/sweep -accounts 10000 -regions 1 -latency 2ms -latency-p99 5ms
//
// bench/sweep/run.sh runs both; BENCHMARKS.md has the results.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/dpsweep/dpsweep/awssim/world"
	sweepv1 "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
	wf "github.com/dpsweep/dpsweep/workflows/sweep"
)

type options struct {
	accounts, regions   int
	seed                uint64
	latency, latencyP99 time.Duration
	concurrency         int     // the spec's max_concurrent_accounts
	rps                 float64 // collection --requests-per-second (0: its default)
	inFlight            int     // collection --max-concurrent (0: its default)
	workerActivities    int     // worker --max-concurrent-activities (0: its default)
	activityPollers     int     // worker --activity-pollers (0: its default)
	workflowPollers     int     // worker --workflow-pollers (0: its default)
	fanout, fanoutPar   int
	histories           bool
	logLevel            string
	dir, temporalDB     string
	cpuProfile          string
	heapProfile         string
	dynamicConfig       map[string]any // added to the Temporal server's
	timeout             time.Duration
}

func main() {
	var o options
	flag.IntVar(&o.accounts, "accounts", 1000, "accounts in the simulated organization (all are swept)")
	flag.IntVar(&o.regions, "regions", 17, "regions swept per account, besides the global scan (at most 17: 16 standard and ap-east-1)")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the simulated organization")
	flag.DurationVar(&o.latency, "latency", 30*time.Millisecond, "median simulated latency of every AWS API call (log-normal)")
	flag.DurationVar(&o.latencyP99, "latency-p99", 50*time.Millisecond, "99th percentile of the simulated latency")
	flag.IntVar(&o.concurrency, "concurrency", 0, "the spec's max_concurrent_accounts (0: the sweep's default)")
	flag.Float64Var(&o.rps, "rps", 0, "collection's --requests-per-second per account (0: its default)")
	flag.IntVar(&o.inFlight, "in-flight", 0, "collection's --max-concurrent per account (0: its default)")
	flag.IntVar(&o.workerActivities, "worker-activities", 0, "the worker's --max-concurrent-activities (0: its default)")
	flag.IntVar(&o.activityPollers, "activity-pollers", 0, "the worker's --activity-pollers (0: its default)")
	flag.IntVar(&o.workflowPollers, "workflow-pollers", 0, "the worker's --workflow-pollers (0: its default)")
	flag.IntVar(&o.fanout, "fanout", 4000, "trivial activities of the server-rate measurement (0 skips it)")
	flag.IntVar(&o.fanoutPar, "fanout-parallel", 200, "of which at most this many in flight")
	flag.BoolVar(&o.histories, "histories", true, "read every history back afterwards (runs, children, events, activities)")
	flag.StringVar(&o.logLevel, "log-level", "info", "log level of the services (their JSON logs go to services.log in -dir)")
	flag.StringVar(&o.dir, "dir", "", "directory for logs, the findings store and reports (default: a fresh temporary directory, removed afterwards)")
	flag.StringVar(&o.temporalDB, "temporal-db", "", "SQLite file of the Temporal server (default: in memory)")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of this process during the sweep")
	flag.StringVar(&o.heapProfile, "heapprofile", "", "write a heap profile of this process once half the accounts are done")
	flag.Func("dynamic-config", "Temporal dynamic config for the server, key=json (repeatable; added to workflows/devserver's defaults)", func(kv string) error {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("want key=json, got %q", kv)
		}
		var x any
		if err := json.Unmarshal([]byte(v), &x); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		if o.dynamicConfig == nil {
			o.dynamicConfig = map[string]any{}
		}
		o.dynamicConfig[k] = x
		return nil
	})
	flag.DurationVar(&o.timeout, "timeout", time.Hour, "give up after this long")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := run(ctx, o, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/sweep:", err)
		os.Exit(1)
	}
	r.print(os.Stdout)
}

// sweptRegions are the regions a sweep of n regions asks for.
func sweptRegions(n int) ([]string, error) {
	all := append(slices.Clone(world.StandardRegions), world.OptInRegions[0])
	if n < 1 || n > len(all) {
		return nil, fmt.Errorf("-regions must be between 1 and %d, got %d", len(all), n)
	}
	return all[:n], nil
}

type result struct {
	o                 options
	host              hostInfo
	load              [2]string
	activityRate      float64
	wall              time.Duration
	state             sweepv1.SweepState
	progress          *sweepv1.SweepProgress
	concurrency       int
	rps               float64
	inFlight          int
	apiCalls          int64
	callsByService    map[string]int64
	meanLatency       time.Duration
	latencyBound      time.Duration
	rateBound         time.Duration
	temporalBound     time.Duration
	hist              *histories
	units             int // activities + children
	cpuSelf, cpuTemp  time.Duration
	cpuOthers         time.Duration
	peakRSS, peakTemp int64 // bytes
	heapPeak          uint64
}

func run(ctx context.Context, o options, progress io.Writer) (*result, error) {
	regions, err := sweptRegions(o.regions)
	if err != nil {
		return nil, err
	}
	if o.accounts < 2 {
		return nil, fmt.Errorf("-accounts must be at least 2")
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	r := &result{o: o, host: readHost()}
	r.load[0] = loadAvg()
	if o.dir == "" {
		if o.dir, err = os.MkdirTemp("", "dpsweep-bench-sweep"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(o.dir)
	} else if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "starting the stack: Temporal dev server, simulator (%d accounts, %v median / %v p99 latency), services, worker; load %s\n",
		o.accounts, o.latency, o.latencyP99, r.load[0])
	s, err := startStack(ctx, o, o.dir)
	if err != nil {
		return nil, err
	}
	defer s.close()

	if o.fanout > 0 {
		if r.activityRate, err = activityRate(ctx, s.tc, o.fanout, o.fanoutPar); err != nil {
			return nil, fmt.Errorf("server activity rate: %w", err)
		}
		fmt.Fprintf(progress, "server: %.0f trivial activities/s (%d, %d in flight)\n", r.activityRate, o.fanout, o.fanoutPar)
	}

	spec := &sweepv1.SweepSpec{Regions: regions, RoleName: "dpsweep-readonly", MaxConcurrentAccounts: int32(o.concurrency)}
	r.concurrency = o.concurrency
	if r.concurrency <= 0 {
		r.concurrency = wf.DefaultMaxConcurrentAccounts
	}
	var prof *os.File
	if o.cpuProfile != "" {
		if prof, err = os.Create(o.cpuProfile); err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(prof); err != nil {
			return nil, err
		}
	}
	heap := watchHeap()
	self0, temp0, total0 := cpuSelf(), cpuOf(s.temporal.PID()), cpuTotal()
	s.sim.Server.ResetCounts()
	begin := time.Now()
	const id = "bench"
	if _, err := s.sweeps.StartSweep(ctx, &sweepv1.StartSweepRequest{SweepId: id, Spec: spec}); err != nil {
		return nil, err
	}
	var sw *sweepv1.Sweep
	lastPrint := begin
	for {
		resp, err := s.sweeps.GetSweep(ctx, &sweepv1.GetSweepRequest{SweepId: id})
		if err != nil {
			return nil, fmt.Errorf("GetSweep: %w", err)
		}
		sw = resp.GetSweep()
		if sw.GetState() != sweepv1.SweepState_SWEEP_STATE_RUNNING {
			break
		}
		if p := sw.GetProgress(); o.heapProfile != "" && p.GetAccountsTotal() > 0 && p.GetAccountsDone() >= p.GetAccountsTotal()/2 {
			if err := writeHeapProfile(o.heapProfile); err != nil {
				return nil, err
			}
			o.heapProfile = ""
		}
		if time.Since(lastPrint) >= 15*time.Second {
			lastPrint = time.Now()
			p := sw.GetProgress()
			fmt.Fprintf(progress, "  %5.0fs  %d/%d accounts, %d scans done; load %s\n", time.Since(begin).Seconds(),
				p.GetAccountsDone(), p.GetAccountsTotal(), p.GetRegionsDone(), loadAvg())
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("sweep still running after %v: %v", time.Since(begin).Round(time.Second), sw.GetProgress())
		case <-time.After(250 * time.Millisecond):
		}
	}
	r.wall = time.Since(begin)
	r.cpuSelf, r.cpuTemp = cpuSelf()-self0, cpuOf(s.temporal.PID())-temp0
	r.cpuOthers = max(0, cpuTotal()-total0-r.cpuSelf-r.cpuTemp)
	r.heapPeak = heap()
	if prof != nil {
		pprof.StopCPUProfile()
		_ = prof.Close()
	}
	r.load[1] = loadAvg()
	r.state, r.progress = sw.GetState(), sw.GetProgress()
	fmt.Fprintf(progress, "sweep %s in %v\n", r.state, r.wall.Round(time.Millisecond))
	if r.state != sweepv1.SweepState_SWEEP_STATE_COMPLETED {
		return nil, fmt.Errorf("sweep ended %s: %v", r.state, r.progress)
	}

	r.callsByService = map[string]int64{}
	for k, n := range s.sim.Server.Counts() {
		r.apiCalls += n
		r.callsByService[k.Service] += n
	}
	r.rps, r.inFlight = o.rps, o.inFlight
	if r.rps <= 0 {
		r.rps = 10 // collection.DefaultConfig
	}
	if r.inFlight <= 0 {
		r.inFlight = 4
	}
	// Log-normal: mean = median × exp(σ²/2), σ from the median and p99.
	sigma := 0.0
	if o.latencyP99 > o.latency {
		sigma = math.Log(float64(o.latencyP99)/float64(o.latency)) / 2.326
	}
	r.meanLatency = time.Duration(float64(o.latency) * math.Exp(sigma*sigma/2))
	atOnce := float64(min(r.concurrency, o.accounts))
	r.latencyBound = time.Duration(float64(r.apiCalls) * float64(r.meanLatency) / (atOnce * float64(r.inFlight)))
	// Each account's token bucket starts full (burst = requests/s).
	burst := float64(o.accounts) * max(1, math.Floor(r.rps))
	r.rateBound = time.Duration(max(0, float64(r.apiCalls)-burst) / (atOnce * r.rps) * float64(time.Second))

	var accounts []string
	for _, a := range s.sim.World.Accounts {
		accounts = append(accounts, a.ID)
	}
	if o.histories {
		fmt.Fprintf(progress, "reading %d histories back ...\n", len(accounts)+1)
		if r.hist, err = readHistories(ctx, s.tc, id, accounts); err != nil {
			return nil, err
		}
		r.units = r.hist.activities + r.hist.childrenStarted
	} else {
		// Discover + Finish, and per account Describe, one Scan per region
		// and the global one, and the child itself.
		r.units = 2 + o.accounts*(1+len(regions)+1+1)
	}
	if r.activityRate > 0 {
		r.temporalBound = time.Duration(float64(r.units) / r.activityRate * float64(time.Second))
	}
	r.peakRSS, r.peakTemp = peakRSSSelf(), peakRSSOf(s.temporal.PID())
	return r, nil
}

func (r *result) bound() time.Duration {
	return max(r.latencyBound, r.rateBound, r.temporalBound)
}

func (r *result) print(out io.Writer) {
	p := r.progress
	c := p.GetCounts()
	w := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	w("")
	w("machine           %s", r.host)
	w("load average      %s at start, %s at end; other processes used %.0f CPU-s during the sweep (%.2f cores)",
		r.load[0], r.load[1], r.cpuOthers.Seconds(), r.cpuOthers.Seconds()/r.wall.Seconds())
	w("sweep             %d accounts × %d regions + global; %v median / %v p99 latency (mean %v)",
		r.o.accounts, r.o.regions, r.o.latency, r.o.latencyP99, r.meanLatency.Round(100*time.Microsecond))
	w("budget            %d accounts at once × %d calls in flight, %.0f requests/s per account",
		r.concurrency, r.inFlight, r.rps)
	w("wall time         %v", r.wall.Round(10*time.Millisecond))
	w("accounts          %d done, %d failed; %d scans done; %d collection errors", p.GetAccountsDone(), p.GetAccountsFailed(), p.GetRegionsDone(), p.GetErrors())
	w("findings          %d (%d pass, %d fail, %d not assessed, %d suppressed)", c.GetFindings(), c.GetPass(), c.GetFail(), c.GetNotAssessed(), c.GetSuppressed())
	var svcs []string
	for k, n := range r.callsByService {
		svcs = append(svcs, fmt.Sprintf("%s %d", k, n))
	}
	slices.Sort(svcs)
	w("API calls         %d (%.0f per account, %.0f/s): %s", r.apiCalls, float64(r.apiCalls)/float64(r.o.accounts),
		float64(r.apiCalls)/r.wall.Seconds(), strings.Join(svcs, ", "))
	if h := r.hist; h != nil {
		w("activities        %d (+%d retries) and %d child workflows: %.1f/s", h.activities, h.activityRetries, h.childrenStarted,
			float64(r.units)/r.wall.Seconds())
		w("activity queueing %s (scheduled to started)", percentiles(h.queued))
		w("sweep timeline    discovery %v, children %s to start, %.0f accounts at once on average, finishing %v",
			h.discover.Round(10*time.Millisecond), percentiles(h.childStart), h.busy, h.finish.Round(10*time.Millisecond))
		var cc []string
		for _, c := range h.concurrency(10 * time.Second) {
			cc = append(cc, fmt.Sprintf("%.0f", c))
		}
		w("accounts at once  per 10 s: %s", strings.Join(cc, " "))
		w("account timeline  life %s; to DescribeAccount's end %s; then to the last scan's end %s; then to the end %s", percentiles(h.life), percentiles(h.describe),
			percentiles(h.scans), percentiles(h.tail))
		w("histories         %d SweepWorkflow runs, events per run %v (largest %d); %d children, largest %d events; %d length mismatches",
			h.runs, h.runEvents, h.maxRunEvents, h.children, h.maxChildEvents, h.lengthMismatch)
	} else {
		w("activities        %d with child workflows (counted from the plan): %.1f/s", r.units, float64(r.units)/r.wall.Seconds())
	}
	if r.activityRate > 0 {
		w("server rate       %.0f trivial activities/s", r.activityRate)
	}
	w("CPU               this process %.0f s (%.2f cores), Temporal server %.0f s (%.2f cores)",
		r.cpuSelf.Seconds(), r.cpuSelf.Seconds()/r.wall.Seconds(), r.cpuTemp.Seconds(), r.cpuTemp.Seconds()/r.wall.Seconds())
	w("memory            peak RSS: this process %d MiB (Go heap peak %d MiB), Temporal server %d MiB",
		r.peakRSS>>20, r.heapPeak>>20, r.peakTemp>>20)
	w("lower bound       %v = max(calls × mean latency ÷ in flight %v, calls ÷ requests/s %v, Temporal %v)",
		r.bound().Round(100*time.Millisecond), r.latencyBound.Round(100*time.Millisecond), r.rateBound.Round(100*time.Millisecond),
		r.temporalBound.Round(100*time.Millisecond))
	w("ratio             %.2f× the lower bound", r.wall.Seconds()/r.bound().Seconds())
}

// percentiles renders p50, p90 and max of ds (sorted in place).
func percentiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	slices.Sort(ds)
	r := func(d time.Duration) time.Duration {
		if d >= time.Second {
			return d.Round(100 * time.Millisecond)
		}
		return d.Round(time.Millisecond)
	}
	return fmt.Sprintf("p50 %v, p90 %v, max %v", r(ds[len(ds)/2]), r(ds[len(ds)*9/10]), r(ds[len(ds)-1]))
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// watchHeap samples the Go heap every 100 ms until the returned function
// is called, which returns the largest heap in use seen.
func watchHeap() func() uint64 {
	done := make(chan struct{})
	peak := make(chan uint64, 1)
	go func() {
		var m runtime.MemStats
		var hi uint64
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&m)
			hi = max(hi, m.HeapInuse)
			select {
			case <-done:
				peak <- hi
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); return <-peak }
}
