package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
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
	return summarize(rate, n, time.Since(start), lat, late, errs.Load()), nil
}

// summarize is the result of n requests sent at rate over elapsed: lat are
// the answered requests' latencies, late how late each was sent. It sorts
// both; lat must not be empty.
func summarize(rate float64, n int, elapsed time.Duration, lat, late []time.Duration, errs int64) latencyResult {
	slices.Sort(lat)
	slices.Sort(late)
	return latencyResult{
		Target: rate, Achieved: float64(n) / elapsed.Seconds(),
		P50: percentile(lat, 0.50), P90: percentile(lat, 0.90), P99: percentile(lat, 0.99), Max: lat[len(lat)-1],
		SendP99:  percentile(late, 0.99),
		Requests: int64(n), Errors: errs,
	}
}

// percentile is the p-th quantile (0..1) of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// streamOpenLoop sends texts at rate for d over one RedactStream on each
// of conns connections, round-robin, paced like the lean client, and
// reports each text's latency from when it was due to its answer. This is
// how a log pipeline would call the service: one stream, many texts.
func streamOpenLoop(addr, text string, rate float64, d time.Duration, conns int) (latencyResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	n := int(rate * d.Seconds())
	interval := time.Duration(float64(time.Second) / rate)
	lat := make([]time.Duration, n)
	late := make([]time.Duration, n)
	var errs atomic.Int64
	streams := make([]grpc.BidiStreamingClient[redactionv1.RedactStreamRequest, redactionv1.RedactStreamResponse], conns)
	var recv sync.WaitGroup
	for c := range streams {
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return latencyResult{}, err
		}
		defer cc.Close()
		st, err := redactionv1.NewRedactionServiceClient(cc).RedactStream(ctx, grpc.WaitForReady(true))
		if err != nil {
			return latencyResult{}, err
		}
		streams[c] = st
	}
	// The receivers start once start is set, so they read it without a lock.
	start := time.Now()
	for c, st := range streams {
		recv.Go(func() {
			// Answers come in order: the k-th on stream c is text k*conns+c.
			for k := 0; ; k++ {
				r, err := st.Recv()
				if err != nil {
					if !errors.Is(err, io.EOF) {
						errs.Add(int64(len(lat)))
					}
					return
				}
				i := k*conns + c
				if i >= len(lat) {
					errs.Add(1) // an answer to nothing sent
					continue
				}
				if r.GetId() != strconv.Itoa(i) || len(r.GetFindings()) == 0 {
					errs.Add(1)
				}
				lat[i] = time.Since(start.Add(time.Duration(i) * interval))
			}
		})
	}
	err := pace(n, interval, start, late, func(i int) error {
		return streams[i%conns].Send(&redactionv1.RedactStreamRequest{Text: text, Id: strconv.Itoa(i)})
	})
	if err != nil {
		return latencyResult{}, err
	}
	for _, st := range streams {
		if err := st.CloseSend(); err != nil {
			return latencyResult{}, err
		}
	}
	recv.Wait()
	return summarize(rate, n, time.Since(start), lat, late, min(errs.Load(), int64(n))), nil
}
