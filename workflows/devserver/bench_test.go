package devserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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
// benchmarks' server, e.g. system.enableActivityEagerExecution=true.

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
		bench.srv, bench.err = devserver.Start(context.Background(), devserver.Options{
			Binary: bin, LogFile: filepath.Join(dir, "temporal.log"), DynamicConfig: dc,
		})
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
// reports the rate of units (activities or children) per second.
func runFanOut(b *testing.B, workflowFn any, unit string, n, parallel int, wopts worker.Options) {
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
	b.StopTimer()
	b.ReportMetric(float64(b.N*n)/elapsed.Seconds(), unit+"/s")
}

func BenchmarkActivities(b *testing.B) {
	for _, p := range []int{10, 100} {
		b.Run(fmt.Sprintf("n=1000/parallel=%d", p), func(b *testing.B) {
			runFanOut(b, FanOut, "activities", 1000, p, worker.Options{})
		})
	}
	b.Run("n=1000/parallel=100/pollers=8", func(b *testing.B) {
		runFanOut(b, FanOut, "activities", 1000, 100, worker.Options{
			MaxConcurrentActivityTaskPollers: 8, MaxConcurrentWorkflowTaskPollers: 8,
		})
	})
}

func BenchmarkChildWorkflows(b *testing.B) {
	for _, p := range []int{10, 100} {
		b.Run(fmt.Sprintf("n=500/parallel=%d", p), func(b *testing.B) {
			runFanOut(b, FanOutChildren, "children", 500, p, worker.Options{})
		})
	}
}
