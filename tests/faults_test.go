package tests

import (
	"context"
	"testing"
	"time"

	"github.com/dpsweep/dpsweep/awssim/server"
	"github.com/dpsweep/dpsweep/awssim/world"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	sweepv1 "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
)

// The fault tests sweep a simulated organization with every dpsweep
// process a real binary (procStack), break something midway, and check
// that the sweep completes with exactly the findings the generator expects
// (which TestSweepOverTemporal shows an uninterrupted sweep stores), none
// stored twice, and every account reported: one account has no scanner
// role and must be NOT_ASSESSED throughout. docs/RELIABILITY.md records
// what they measured.

// faultRegions are the regions the fault tests sweep.
var faultRegions = []string{"eu-west-1", "us-east-1"}

// faultWorld is a 12-account organization whose 4th account lacks the
// scanner role.
func faultWorld(seed uint64) world.GenOptions {
	o := world.DefaultGenOptions()
	o.Accounts, o.Seed, o.ViolationRate, o.PlantRate, o.MissingRole = 12, seed, 0.35, 0.3, []int{4}
	return o
}

// faultLatency slows the simulator so that a sweep lasts long enough to be
// interrupted midway.
var faultLatency = server.Latency{Median: 15 * time.Millisecond, P99: 60 * time.Millisecond}

// startFaultSweep starts a sweep that runs two accounts at a time.
func startFaultSweep(ctx context.Context, t *testing.T, s *procStack, id string, o world.GenOptions) {
	t.Helper()
	spec := &sweepv1.SweepSpec{Regions: faultRegions, RoleName: o.RoleName, MaxConcurrentAccounts: 2,
		ReportFormats: []reportingv1.ReportFormat{reportingv1.ReportFormat_REPORT_FORMAT_JSON}}
	if _, err := s.sweeps.StartSweep(ctx, &sweepv1.StartSweepRequest{SweepId: id, Spec: spec}); err != nil {
		t.Fatal(err)
	}
}

// midway waits until some but not all accounts of the sweep are done.
func midway(ctx context.Context, t *testing.T, s *procStack, id string, o world.GenOptions) *sweepv1.Sweep {
	t.Helper()
	sw, _ := s.wait(ctx, id, func(sw *sweepv1.Sweep) bool { return sw.GetProgress().GetAccountsDone() >= 3 })
	if sw.GetState() != sweepv1.SweepState_SWEEP_STATE_RUNNING || sw.GetProgress().GetAccountsDone() >= int64(o.Accounts) {
		t.Fatalf("the sweep ended before the fault: %v", sw)
	}
	return sw
}

// checkCompleted checks a sweep completed with every account and scan done,
// its progress counts equal to the store's, and exactly the expected
// findings; it returns the number of findings.
func checkCompleted(ctx context.Context, t *testing.T, s *procStack, sw *sweepv1.Sweep, o world.GenOptions) int {
	t.Helper()
	if sw.GetState() != sweepv1.SweepState_SWEEP_STATE_COMPLETED {
		t.Fatalf("sweep ended %s: %v", sw.GetState(), sw.GetProgress())
	}
	p := sw.GetProgress()
	// The account without a role is done with its global scan only, and
	// counted as not fully assessed (its one error); no other account is.
	scans := int64(o.Accounts*(len(faultRegions)+1) - len(o.MissingRole)*len(faultRegions))
	failed := int64(len(o.MissingRole))
	if p.GetAccountsTotal() != int64(o.Accounts) || p.GetAccountsDone() != int64(o.Accounts) || p.GetRegionsDone() != scans ||
		p.GetAccountsFailed() != failed || p.GetErrors() != failed {
		t.Errorf("progress %v; want %d accounts and %d scans done, %d account not fully assessed", p, o.Accounts, scans, failed)
	}
	stored, err := s.reports.GetSweep(ctx, &reportingv1.GetSweepRequest{SweepId: sw.GetSweepId()})
	if err != nil || stored.GetSweep().GetState() != reportingv1.SweepState_SWEEP_STATE_COMPLETED {
		t.Fatalf("stored sweep %v, %v; want COMPLETED", stored, err)
	}
	if c := stored.GetSweep().GetCounts(); c.GetFindings() != p.GetCounts().GetFindings() || c.GetFail() != p.GetCounts().GetFail() ||
		c.GetNotAssessed() != p.GetCounts().GetNotAssessed() {
		t.Errorf("the sweep's progress counts %v differ from the store's %v", p.GetCounts(), c)
	}
	n := s.checkFindings(ctx, sw.GetSweepId(), o, faultRegions)
	if int64(n) != stored.GetSweep().GetCounts().GetFindings() {
		t.Errorf("%d findings listed, the store counts %d", n, stored.GetSweep().GetCounts().GetFindings())
	}
	return n
}

func faultStack(t *testing.T, seed uint64) (*procStack, world.GenOptions) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a Temporal server and every dpsweep binary; skipped with -short")
	}
	t.Parallel()
	o := faultWorld(seed)
	s := startProcStack(t, o)
	s.sim.Server.SetFaults(server.Faults{Latency: faultLatency})
	return s, o
}

// TestFaultWorkerKilled kills the worker with SIGKILL midway through a
// sweep and starts another: the sweep completes with exactly the expected
// findings, none twice. The scans the dead worker held are retried once
// their heartbeat timeout (2 min) passes.
func TestFaultWorkerKilled(t *testing.T) {
	s, o := faultStack(t, 41)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	begin := time.Now()
	startFaultSweep(ctx, t, s, "fault-kill", o)
	at := midway(ctx, t, s, "fault-kill", o)
	s.kill("worker")
	killed := time.Now()
	s.restart("worker")
	sw, _ := s.wait(ctx, "fault-kill", nil)
	n := checkCompleted(ctx, t, s, sw, o)
	t.Logf("worker killed %v into the sweep with %d/%d accounts done; the sweep completed %v after the kill (%v in all); %d findings, exactly those expected; restarted worker: %v",
		killed.Sub(begin).Round(time.Millisecond), at.GetProgress().GetAccountsDone(), o.Accounts, time.Since(killed).Round(time.Millisecond),
		time.Since(begin).Round(time.Millisecond), n, countAttempts(s.procs["worker"].logs()))
}

// TestFaultTemporalRestarted stops the Temporal server (SIGTERM) midway
// through a sweep and starts it again on the same port and SQLite store:
// the worker and the sweep service reconnect by themselves and the sweep
// completes with exactly the expected findings. (Kept away for 10 s, the
// server loses the scans in flight, which Temporal retries after their
// 2-minute heartbeat timeout: docs/RELIABILITY.md; the test restarts it at
// once to keep its time short.)
func TestFaultTemporalRestarted(t *testing.T) {
	s, o := faultStack(t, 43)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	begin := time.Now()
	startFaultSweep(ctx, t, s, "fault-temporal", o)
	at := midway(ctx, t, s, "fault-temporal", o)
	down := time.Now()
	s.stopTemporal()
	// Meanwhile the sweep service answers, with an error, and stays up.
	gctx, gcancel := context.WithTimeout(ctx, time.Second)
	_, away := s.sweeps.GetSweep(gctx, &sweepv1.GetSweepRequest{SweepId: "fault-temporal"})
	gcancel()
	if away == nil {
		t.Errorf("GetSweep answered with Temporal away")
	}
	s.startTemporal()
	up := time.Now()
	sw, unanswered := s.wait(ctx, "fault-temporal", nil)
	n := checkCompleted(ctx, t, s, sw, o)
	t.Logf("Temporal restarted %v into the sweep with %d/%d accounts done, away %v (GetSweep meanwhile: %v); the sweep completed %v after it was back (%v in all); %d GetSweep calls failed after; %d findings, exactly those expected; worker: %v",
		down.Sub(begin).Round(time.Millisecond), at.GetProgress().GetAccountsDone(), o.Accounts, up.Sub(down).Round(time.Millisecond), away,
		time.Since(up).Round(time.Millisecond), time.Since(begin).Round(time.Millisecond), unanswered, n, countAttempts(s.logs("worker")))
}

// TestFaultServiceStopped stops the evaluation service (SIGTERM, a
// graceful stop) and then kills the reporting service (SIGKILL, mid-write
// perhaps), each for 30 s, midway through a sweep, and starts them again on
// the same address: the scans wait for them or fail and are retried, and
// the sweep completes with exactly the expected findings, none twice.
func TestFaultServiceStopped(t *testing.T) {
	s, o := faultStack(t, 47)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	begin := time.Now()
	startFaultSweep(ctx, t, s, "fault-service", o)
	at := midway(ctx, t, s, "fault-service", o)
	var restartedAt time.Time
	for _, name := range []string{"evaluation", "reporting"} {
		if name == "reporting" {
			s.kill(name)
		} else {
			s.stop(name)
		}
		time.Sleep(30 * time.Second)
		s.restart(name)
		restartedAt = time.Now()
	}
	sw, _ := s.wait(ctx, "fault-service", nil)
	n := checkCompleted(ctx, t, s, sw, o)
	t.Logf("evaluation stopped then reporting killed, for 30 s each, from %v into the sweep with %d/%d accounts done; the sweep completed %v after the last restart (%v in all); %d findings, exactly those expected; worker: %v",
		restartedAt.Sub(begin).Round(time.Millisecond)-60*time.Second, at.GetProgress().GetAccountsDone(), o.Accounts,
		time.Since(restartedAt).Round(time.Millisecond), time.Since(begin).Round(time.Millisecond), n, countAttempts(s.logs("worker")))
}

// TestFaultThrottling sweeps while the simulator answers 10% of calls with
// its throttling error and 1% with a 5xx: the collection service's retries
// ride them out and the sweep completes with exactly the expected findings.
// The account without a role (every fault test has one) is NOT_ASSESSED
// and every other account is reported; checkFindings checks both.
func TestFaultThrottling(t *testing.T) {
	s, o := faultStack(t, 53)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	s.sim.Server.SetFaults(server.Faults{ThrottleRate: 0.10, ServerErrorRate: 0.01})
	begin := time.Now()
	startFaultSweep(ctx, t, s, "fault-throttle", o)
	sw, _ := s.wait(ctx, "fault-throttle", nil)
	n := checkCompleted(ctx, t, s, sw, o)
	var calls int64
	for _, c := range s.sim.Server.Counts() {
		calls += c
	}
	// The faults fired: about a tenth of the calls were throttled (half of
	// that is far outside chance), and the sweep still found exactly what
	// was expected.
	inj := s.sim.Server.Injected()
	if inj.Throttled*20 < calls {
		t.Errorf("%d of %d calls throttled; want about 10%%", inj.Throttled, calls)
	}
	t.Logf("sweep under 10%% throttling and 1%% 5xx took %v; %d simulator calls, %d throttled, %d answered 5xx; %d findings, exactly those expected; worker: %v",
		time.Since(begin).Round(time.Millisecond), calls, inj.Throttled, inj.ServerErrors, n, countAttempts(s.logs("worker")))
}
