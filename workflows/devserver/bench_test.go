package devserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/dpsweep/dpsweep/workflows/devserver"
)

// The benchmarks measure what one dev server on this machine sustains: a
// workflow fanning out to trivial activities, and to trivial child workflows,
// each with a bounded number in flight (as a sweep bounds its window).
//
//	go test -run '^$' -bench . -benchtime 3x ./devserver
//
// DPSWEEP_BENCH_DYNAMIC_CONFIG='key=json,...' adds dynamic config to the
// benchmarks' server, e.g. system.enableActivityEagerExecution=true;
// DPSWEEP_BENCH_DB_FILE=1 keeps its state in a SQLite file (as the demo
// does) instead of memory.

// FanOut runs n Echo activities, at most parallel at a time, and returns the
// sum of their results.
func FanOut(ctx workflow.Context, n, parallel int) (int, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	return window(ctx, n, parallel, func(i int) workflow.Future { return workflow.ExecuteActivity(ctx, Echo, i) })
}

// FanOutChildren runs n Child workflows, at most parallel at a time.
func FanOutChildren(ctx workflow.Context, n, parallel int) (int, error) {
	return window(ctx, n, parallel, func(i int) workflow.Future { return workflow.ExecuteChildWorkflow(ctx, Child, i) })
}

func window(ctx workflow.Context, n, parallel int, launch func(int) workflow.Future) (int, error) {
	sel := workflow.NewSelector(ctx)
	sum, pending := 0, 0
	var firstErr error
	for i := 0; i < n || pending > 0; {
		if i < n && pending < parallel {
			sel.AddFuture(launch(i), func(f workflow.Future) {
				var v int
				if err := f.Get(ctx, &v); err != nil && firstErr == nil {
					firstErr = err
				}
				sum += v
			})
			i++
			pending++
			continue
		}
		sel.Select(ctx)
		pending--
	}
	return sum, firstErr
}

func Echo(_ context.Context, i int) (int, error) { return i, nil }

func Child(_ workflow.Context, i int) (int, error) { return i, nil }

var bench struct {
	once sync.Once
	srv  *devserver.Server
	err  error
}

// benchServer is one headless in-memory server shared by the benchmarks and
// stopped by TestMain.
func benchServer(b *testing.B) *devserver.Server {
	bin := binary(b)
	bench.once.Do(func() {
		dir, err := os.MkdirTemp("", "devserver-bench")
		if err != nil {
			bench.err = err
			return
		}
		dc := map[string]any{}
		for _, kv := range strings.Split(os.Getenv("DPSWEEP_BENCH_DYNAMIC_CONFIG"), ",") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				var x any
				if err := json.Unmarshal([]byte(v), &x); err != nil {
					bench.err = fmt.Errorf("$DPSWEEP_BENCH_DYNAMIC_CONFIG: %s: %w", kv, err)
					return
				}
				dc[k] = x
			}
		}
		opts := devserver.Options{Binary: bin, LogFile: filepath.Join(dir, "temporal.log"), DynamicConfig: dc}
		if os.Getenv("DPSWEEP_BENCH_DB_FILE") != "" {
			opts.DBFile = filepath.Join(dir, "temporal.db")
		}
		if p := os.Getenv("DPSWEEP_BENCH_SQLITE_PRAGMAS"); p != "" {
			opts.SQLitePragmas = map[string]string{}
			for _, kv := range strings.Split(p, ",") {
				k, v, _ := strings.Cut(kv, "=")
				opts.SQLitePragmas[k] = v
			}
		}
		bench.srv, bench.err = devserver.Start(context.Background(), opts)
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.srv
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.srv != nil {
		_ = bench.srv.Stop()
	}
	os.Exit(code)
}

// runFanOut runs workflowFn(n, parallel) b.N times on a worker of its own and
// reports the rate of units (activities or children) per second and the CPU
// time each took.
func runFanOut(b *testing.B, workflowFn any, unit, one string, n, parallel int, wopts worker.Options) {
	s := benchServer(b)
	c := dial(b, s)
	queue := fmt.Sprintf("bench-%s-%d", b.Name(), time.Now().UnixNano())
	w := worker.New(c, queue, wopts)
	w.RegisterWorkflow(FanOut)
	w.RegisterWorkflow(FanOutChildren)
	w.RegisterWorkflow(Child)
	w.RegisterActivity(Echo)
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	ctx := context.Background()
	want := n * (n - 1) / 2
	b.ResetTimer()
	serverCPU0, selfCPU0 := procCPU(s.PID()), procCPU(os.Getpid())
	begin := time.Now()
	for i := 0; i < b.N; i++ {
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: queue}, workflowFn, n, parallel)
		if err != nil {
			b.Fatal(err)
		}
		var sum int
		if err := run.Get(ctx, &sum); err != nil {
			b.Fatal(err)
		}
		if sum != want {
			b.Fatalf("sum %d, want %d", sum, want)
		}
	}
	elapsed := time.Since(begin)
	serverCPU, selfCPU := procCPU(s.PID())-serverCPU0, procCPU(os.Getpid())-selfCPU0
	b.StopTimer()
	units := float64(b.N * n)
	b.ReportMetric(units/elapsed.Seconds(), unit+"/s")
	// CPU per unit, which contention from other processes on the machine
	// changes much less than the rate: the server's, and the worker's and
	// client's (this process).
	if serverCPU > 0 {
		b.ReportMetric(float64(serverCPU.Microseconds())/units, "server-cpu-µs/"+one)
		b.ReportMetric(float64(selfCPU.Microseconds())/units, "worker-cpu-µs/"+one)
	}
}

func BenchmarkActivities(b *testing.B) {
	for _, p := range []int{10, 100} {
		b.Run(fmt.Sprintf("n=1000/parallel=%d", p), func(b *testing.B) {
			runFanOut(b, FanOut, "activities", "activity", 1000, p, worker.Options{})
		})
	}
	b.Run("n=1000/parallel=100/pollers=8", func(b *testing.B) {
		runFanOut(b, FanOut, "activities", "activity", 1000, 100, worker.Options{
			MaxConcurrentActivityTaskPollers: 8, MaxConcurrentWorkflowTaskPollers: 8,
		})
	})
}

func BenchmarkChildWorkflows(b *testing.B) {
	for _, p := range []int{10, 100} {
		b.Run(fmt.Sprintf("n=500/parallel=%d", p), func(b *testing.B) {
			runFanOut(b, FanOutChildren, "children", "child", 500, p, worker.Options{})
		})
	}
}

// procCPU is the user and system CPU time a process has used, from
// /proc/<pid>/stat (0 where there is no /proc).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) in parentheses;
	// utime and stime are the 14th and 15th fields, in clock ticks (100 Hz
	// on Linux).
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
