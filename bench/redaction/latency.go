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
	Requests, Errors int64
}

// openLoop sends Redact at a fixed rate (requests are started on schedule
// whether or not earlier ones have returned, so queueing shows up in the
// latencies) over conns connections for d, and reports latency percentiles.
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
	var errs atomic.Int64
	var wg sync.WaitGroup
	req := &redactionv1.RedactRequest{Text: text}
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for i := 0; i < n; i++ {
		due := start.Add(time.Duration(i) * interval)
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		}
		wg.Add(1)
		go func(i int, due time.Time) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := clients[i%conns].Redact(ctx, req); err != nil {
				errs.Add(1)
			}
			// Latency from when the request was due, not when it was sent:
			// a late start counts against the server (coordinated omission).
			lat[i] = time.Since(due)
		}(i, due)
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	return latencyResult{
		Target: rate, Achieved: float64(n) / elapsed.Seconds(),
		P50: pct(0.50), P90: pct(0.90), P99: pct(0.99), Max: lat[len(lat)-1],
		Requests: int64(n), Errors: errs.Load(),
	}, nil
}
