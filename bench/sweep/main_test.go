package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dpsweep/dpsweep/workflows/devserver"
)

// TestSmoke runs the benchmark on a tiny organization (3 accounts × 2
// regions, 1 ms latency) through the whole stack and checks what it
// reports; the real runs are bench/sweep/run.sh.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a Temporal server; skipped with -short")
	}
	if _, err := devserver.FindBinary(); errors.Is(err, devserver.ErrNoBinary) && os.Getenv("DPSWEEP_TEMPORAL_REQUIRED") == "" {
		t.Skipf("no Temporal server: %v (run `make temporal`)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	o := options{accounts: 3, regions: 2, seed: 5, latency: time.Millisecond, latencyP99: 2 * time.Millisecond, concurrency: 2,
		fanout: 40, fanoutPar: 10, histories: true, logLevel: "warn", timeout: 3 * time.Minute}
	var progress bytes.Buffer
	r, err := run(ctx, o, &progress)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	h := r.hist
	// Discover and Finish, and per account Describe and 2 + 1 scans.
	if wantActs := 2 + 3*(1+2+1); h.activities != wantActs || h.childrenStarted != 3 || h.children != 3 {
		t.Errorf("activities %d, children %d started / %d read; want %d and 3", h.activities, h.childrenStarted, h.children, wantActs)
	}
	if h.runs != 1 || h.lengthMismatch != 0 || h.maxRunEvents == 0 || h.maxChildEvents == 0 {
		t.Errorf("histories %+v", h)
	}
	if r.apiCalls < 3*20 || r.progress.GetCounts().GetFindings() == 0 || r.activityRate <= 0 {
		t.Errorf("API calls %d, findings %d, server rate %.0f/s", r.apiCalls, r.progress.GetCounts().GetFindings(), r.activityRate)
	}
	if b := r.bound(); b <= 0 || b < r.rateBound || b < r.latencyBound || b < r.temporalBound {
		t.Errorf("bound %v of %v, %v, %v", b, r.latencyBound, r.rateBound, r.temporalBound)
	}
	var out strings.Builder
	r.print(&out)
	for _, want := range []string{"wall time", "API calls", "lower bound", "ratio", "SweepWorkflow runs"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	t.Log(out.String())
}
