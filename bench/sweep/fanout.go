package main

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// The server's own activity rate, measured on the sweep's Temporal server
// in the same run, as workflows/devserver/bench_test.go measures it: one
// workflow runs n trivial activities with at most parallel in flight, on a
// task queue and worker of its own whose pollers are not the limit. What
// the sweep's activities cost beyond this is the services' and the
// worker's, not Temporal's.

// FanOut runs n Echo activities, at most parallel at a time.
func FanOut(ctx workflow.Context, n, parallel int) (int, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	sel := workflow.NewSelector(ctx)
	sum, pending := 0, 0
	var firstErr error
	for i := 0; i < n || pending > 0; {
		if i < n && pending < parallel {
			sel.AddFuture(workflow.ExecuteActivity(ctx, Echo, i), func(f workflow.Future) {
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

// Echo is the trivial activity.
func Echo(_ context.Context, i int) (int, error) { return i, nil }

// activityRate runs FanOut(n, parallel) and returns activities per second.
func activityRate(ctx context.Context, c client.Client, n, parallel int) (float64, error) {
	queue := fmt.Sprintf("bench-fanout-%d", time.Now().UnixNano())
	w := worker.New(c, queue, worker.Options{
		MaxConcurrentActivityTaskPollers: 8, MaxConcurrentWorkflowTaskPollers: 8,
		MaxConcurrentActivityExecutionSize: 2 * parallel,
	})
	w.RegisterWorkflow(FanOut)
	w.RegisterActivity(Echo)
	if err := w.Start(); err != nil {
		return 0, err
	}
	defer w.Stop()
	begin := time.Now()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: queue}, FanOut, n, parallel)
	if err != nil {
		return 0, err
	}
	var sum int
	if err := run.Get(ctx, &sum); err != nil {
		return 0, err
	}
	if want := n * (n - 1) / 2; sum != want {
		return 0, fmt.Errorf("fan-out sum %d, want %d", sum, want)
	}
	return float64(n) / time.Since(begin).Seconds(), nil
}
