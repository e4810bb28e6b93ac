package tests

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/dpsweep/dpsweep/awssim"
	"github.com/dpsweep/dpsweep/awssim/world"
	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	sweepv1 "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
	"github.com/dpsweep/dpsweep/workflows/devserver"
	wf "github.com/dpsweep/dpsweep/workflows/sweep"
)

// procStack is a sweep deployed as separate processes, for the fault tests
// (faults_test.go): a Temporal dev server with a persistent SQLite store,
// the five services and a worker as the real binaries, and the simulator
// in the test process (its faults are set directly). Every process can be
// stopped, killed and started again on the same address.
type procStack struct {
	t         *testing.T
	sim       *awssim.Sim
	dir       string
	keyFile   string
	temporal  *devserver.Server
	tOpts     devserver.Options
	sweeps    sweepv1.SweepServiceClient
	reports   reportingv1.ReportingServiceClient
	mu        sync.Mutex
	procs     map[string]*process // by service name; "worker" too
	args      map[string][]string
	addrs     map[string]string
	restarted map[string]int
	past      map[string]string // logs of processes that ended, by name
}

// startProcStack starts the whole stack, or skips the test when there is
// no Temporal CLI and DPSWEEP_TEMPORAL_REQUIRED is unset.
func startProcStack(t *testing.T, o world.GenOptions) *procStack {
	t.Helper()
	dir := t.TempDir()
	s := &procStack{t: t, dir: dir, procs: map[string]*process{}, args: map[string][]string{}, addrs: map[string]string{}, restarted: map[string]int{}, past: map[string]string{}}
	s.tOpts = devserver.Options{SearchAttributes: wf.SearchAttributeTypes, DBFile: filepath.Join(dir, "temporal.db"),
		LogFile: filepath.Join(dir, "temporal.log")}
	srv, err := devserver.Start(context.Background(), s.tOpts)
	if errors.Is(err, devserver.ErrNoBinary) && os.Getenv("DPSWEEP_TEMPORAL_REQUIRED") == "" {
		t.Skipf("no Temporal server: %v (run `make temporal`; set DPSWEEP_TEMPORAL_REQUIRED=1 to fail instead)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	s.temporal = srv
	// A restart binds the same port, which the workers and the sweep service dial.
	_, port, _ := strings.Cut(srv.HostPort(), ":")
	if _, err := fmt.Sscan(port, &s.tOpts.Port); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.temporal.Stop() })

	sim, err := awssim.Start(context.Background(), awssim.Config{Gen: o})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	s.sim = sim

	s.keyFile = filepath.Join(dir, "temporal.keys")
	if err := os.WriteFile(s.keyFile, []byte("fault:"+base64.StdEncoding.EncodeToString(randomKey(t))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ak, sk := sim.Credentials()
	s.start("redaction")
	s.start("collection", "--endpoint-url", sim.URL, "--requests-per-second", "5000", "--max-concurrent", "16",
		"-env", "AWS_ACCESS_KEY_ID="+ak, "-env", "AWS_SECRET_ACCESS_KEY="+sk, "-env", "AWS_REGION=us-east-1")
	s.start("evaluation", "--redaction-addr", s.addrs["redaction"])
	s.start("reporting", "--database", filepath.Join(dir, "findings.db"), "--report-dir", filepath.Join(dir, "reports"))
	s.start("sweep", "--temporal-address", srv.HostPort(), "--temporal-key-file", s.keyFile, "--management-account", sim.World.ManagementAccount)
	s.start("worker", "--temporal-address", srv.HostPort(), "--temporal-key-file", s.keyFile,
		"--collection-addr", s.addrs["collection"], "--evaluation-addr", s.addrs["evaluation"], "--reporting-addr", s.addrs["reporting"])
	s.sweeps = sweepv1.NewSweepServiceClient(s.dial("sweep"))
	s.reports = reportingv1.NewReportingServiceClient(s.dial("reporting"))
	return s
}

func (s *procStack) dial(name string) *grpc.ClientConn {
	conn, err := grpc.NewClient(s.addrs[name], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// start runs a service (or the worker) the first time; its args may hold
// "-env", "KEY=VALUE" pairs for its environment.
func (s *procStack) start(name string, args ...string) {
	s.t.Helper()
	s.mu.Lock()
	s.args[name] = args
	s.mu.Unlock()
	s.restart(name)
}

// restart runs name again with the same arguments, on the same address.
func (s *procStack) restart(name string) {
	s.t.Helper()
	s.mu.Lock()
	args := slices.Clone(s.args[name])
	addr := s.addrs[name]
	s.mu.Unlock()
	var env, flags []string
	for i := 0; i < len(args); i++ {
		if args[i] == "-env" {
			env = append(env, args[i+1])
			i++
			continue
		}
		flags = append(flags, args[i])
	}
	bin, ready := "dpsweep-"+name, "serving"
	if name == "worker" {
		ready = "worker polling"
	} else {
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		flags = append([]string{"--addr", addr}, flags...)
	}
	p := runProcess(s.t, bin, ready, env, append([]string{"--log-format", "json", "--log-level", "info"}, flags...)...)
	s.mu.Lock()
	if p.addr != "" {
		s.addrs[name] = p.addr
	}
	if old := s.procs[name]; old != nil {
		s.restarted[name]++
		s.past[name] += old.logs()
	}
	s.procs[name] = p
	s.mu.Unlock()
}

// kill sends SIGKILL to name and waits for it to exit.
func (s *procStack) kill(name string) {
	s.t.Helper()
	s.mu.Lock()
	p := s.procs[name]
	s.mu.Unlock()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		s.t.Fatal(err)
	}
	<-p.done
}

// stop sends SIGTERM to name and waits for it to exit.
func (s *procStack) stop(name string) {
	s.t.Helper()
	s.mu.Lock()
	p := s.procs[name]
	s.mu.Unlock()
	_ = p.stop(s.t)
}

// stopTemporal stops the Temporal server (SIGTERM).
func (s *procStack) stopTemporal() {
	s.t.Helper()
	if err := s.temporal.Stop(); err != nil {
		s.t.Logf("temporal stop: %v", err)
	}
}

// startTemporal starts the Temporal server again on the same port and
// SQLite file.
func (s *procStack) startTemporal() {
	s.t.Helper()
	srv, err := devserver.Start(context.Background(), s.tOpts)
	if err != nil {
		s.t.Fatal(err)
	}
	s.temporal = srv
}

// logs returns the log of every process that ran as name so far.
func (s *procStack) logs(name string) string {
	s.mu.Lock()
	p, past := s.procs[name], s.past[name]
	s.mu.Unlock()
	return past + p.logs()
}

// wait polls GetSweep until the sweep has ended or stop says so. Errors
// (the sweep service or Temporal being away) are counted and retried.
func (s *procStack) wait(ctx context.Context, id string, stop func(*sweepv1.Sweep) bool) (*sweepv1.Sweep, int) {
	s.t.Helper()
	failed := 0
	var last error
	for {
		resp, err := s.sweeps.GetSweep(ctx, &sweepv1.GetSweepRequest{SweepId: id})
		if err != nil {
			failed++
			last = err
		} else {
			sw := resp.GetSweep()
			if sw.GetState() != sweepv1.SweepState_SWEEP_STATE_RUNNING || (stop != nil && stop(sw)) {
				return sw, failed
			}
		}
		select {
		case <-ctx.Done():
			s.t.Fatalf("sweep %s still running (last GetSweep error: %v)\n--- worker ---\n%s", id, last, lastLines(s.logs("worker"), 40))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// findings lists every finding a sweep stored.
func (s *procStack) findings(ctx context.Context, id string) []*evaluationv1.Finding {
	s.t.Helper()
	var out []*evaluationv1.Finding
	req := &reportingv1.ListFindingsRequest{SweepId: id, PageSize: 5000, Filter: &reportingv1.FindingFilter{IncludeSuppressed: true}}
	for {
		resp, err := s.reports.ListFindings(ctx, req)
		if err != nil {
			s.t.Fatal(err)
		}
		out = append(out, resp.GetFindings()...)
		if resp.GetNextPageToken() == "" {
			return out
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

// checkFindings compares a completed sweep's stored findings with the
// generator's expectations in the swept regions, exactly: none missing,
// none extra, none with another status, none stored twice. Accounts whose
// role is missing (o.MissingRole) must hold a NOT_ASSESSED
// (ASSUME_ROLE_FAILED) finding for every control and nothing else. It
// returns the number of findings compared.
func (s *procStack) checkFindings(ctx context.Context, id string, o world.GenOptions, regions []string) int {
	t := s.t
	t.Helper()
	noRole := map[string]bool{}
	for _, i := range o.MissingRole {
		noRole[s.sim.World.Accounts[i-1].ID] = true
	}
	want := map[string]world.Expected{}
	for _, e := range s.sim.Generated.Expectations() {
		if !noRole[e.Account] && (e.Region == "global" || slices.Contains(regions, e.Region)) {
			want[findingKey(e.Control, e.Account, e.Region, e.ResourceARN, e.FieldPath)] = e
		}
	}
	all := s.findings(ctx, id)
	got := findingsByKey(t, all)
	notAssessed := map[string]map[string]bool{} // account → controls
	for _, f := range all {
		if noRole[f.GetAccountId()] {
			if f.GetStatus() != evaluationv1.FindingStatus_FINDING_STATUS_NOT_ASSESSED ||
				f.GetNotAssessedReason() != evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_ASSUME_ROLE_FAILED {
				t.Errorf("account %s without a role: %s %s %s; want NOT_ASSESSED ASSUME_ROLE_FAILED", f.GetAccountId(), f.GetControlId(), f.GetStatus(), f.GetNotAssessedReason())
			}
			if notAssessed[f.GetAccountId()] == nil {
				notAssessed[f.GetAccountId()] = map[string]bool{}
			}
			notAssessed[f.GetAccountId()][f.GetControlId()] = true
		}
	}
	for a := range noRole {
		for _, c := range world.Controls {
			if !notAssessed[a][c.ID] {
				t.Errorf("account %s without a role: no NOT_ASSESSED finding for %s", a, c.ID)
			}
		}
	}
	compareFindings(t, want, got, func(f *evaluationv1.Finding) bool { return noRole[f.GetAccountId()] }, 100)
	// Every account of the organization is reported.
	accounts := map[string]bool{}
	for _, f := range all {
		accounts[f.GetAccountId()] = true
	}
	for _, a := range s.sim.World.AccountIDs() {
		if !accounts[a] {
			t.Errorf("account %s has no finding", a)
		}
	}
	return len(all)
}

// attempts counts, from a worker's log, the activity attempts it ran,
// those that were retries (attempt > 1) and those that failed.
type attempts struct{ runs, retries, errors int }

func (a attempts) String() string {
	return fmt.Sprintf("%d activity attempts, %d of them retries, %d failed", a.runs, a.retries, a.errors)
}

func countAttempts(raw string) attempts {
	var a attempts
	for _, line := range strings.Split(raw, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != "activity" {
			continue
		}
		a.runs++
		if n, _ := rec["attempt"].(float64); n > 1 {
			a.retries++
		}
		if rec["result"] == "error" {
			a.errors++
		}
	}
	return a
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// runProcess runs a built binary with env added to the test's, collects its
// JSON log lines and waits for a record whose msg is ready ("serving"
// records carry the bound address).
func runProcess(t *testing.T, name, ready string, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(binary(t, name), args...)
	cmd.Env = append(append(os.Environ(), "XDG_DATA_HOME="+t.TempDir()), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, done: make(chan error, 1)}
	readyc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			var rec map[string]any
			p.mu.Lock()
			p.raw.WriteString(sc.Text() + "\n")
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == ready {
				addr, _ := rec["addr"].(string)
				select {
				case readyc <- addr:
				default:
				}
			}
			p.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, stderr)
		p.done <- cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case p.addr = <-readyc:
	case err := <-p.done:
		t.Fatalf("%s exited before %q: %v\n%s", name, ready, err, p.logs())
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not log %q within 30s\n%s", name, ready, p.logs())
	}
	return p
}
