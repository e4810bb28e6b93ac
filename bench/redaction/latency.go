package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	redactionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/redaction/v1"
)

// latencyResult is one open-loop load run.
type latencyResult struct {
	Target, Achieved float64
	P50, P90, P99    time.Duration
	Max              time.Duration
	// SendP99 is the 99th percentile of how late the generator itself
	// started requests (send time minus due time): the part of the
	// latencies that is the load generator's, not the server's.
	SendP99          time.Duration
	Requests, Errors int64
}

// openLoop sends Redact at a fixed rate (requests are started on schedule
// whether or not earlier ones have returned, so queueing shows up in the
// latencies) for d, and reports latency percentiles measured from when each
// request was due.
func openLoop(addr, text string, rate float64, d time.Duration, conns int) (latencyResult, error) {
	clients := make([]redactionv1.RedactionServiceClient, conns)
	for i := range clients {
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return latencyResult{}, err
		}
		defer cc.Close()
		clients[i] = redactionv1.NewRedactionServiceClient(cc)
		if _, err := clients[i].Redact(context.Background(), &redactionv1.RedactRequest{Text: text}, grpc.WaitForReady(true)); err != nil {
			return latencyResult{}, fmt.Errorf("warm-up: %w", err)
		}
	}
	n := int(rate * d.Seconds())
	lat := make([]time.Duration, n)
	late := make([]time.Duration, n)
	var errs atomic.Int64
	req := &redactionv1.RedactRequest{Text: text}
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	due := func(i int) time.Time { return start.Add(time.Duration(i) * interval) }
	call := func(i int) {
		t := due(i)
		late[i] = time.Since(t)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if _, err := clients[i%conns].Redact(ctx, req); err != nil {
			errs.Add(1)
		}
		cancel()
		// Latency from when the request was due, not when it was sent:
		// a late start counts against the server (coordinated omission).
		lat[i] = time.Since(t)
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		if w := time.Until(due(i)); w > 0 {
			time.Sleep(w)
		}
		wg.Go(func() { call(i) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	slices.Sort(late)
	return latencyResult{
		Target: rate, Achieved: float64(n) / elapsed.Seconds(),
		P50: percentile(lat, 0.50), P90: percentile(lat, 0.90), P99: percentile(lat, 0.99), Max: lat[len(lat)-1],
		SendP99:  percentile(late, 0.99),
		Requests: int64(n), Errors: errs.Load(),
	}, nil
}

// percentile is the p-th quantile (0..1) of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}
