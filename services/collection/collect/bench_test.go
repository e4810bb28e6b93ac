package collect

import (
	"context"
	"testing"
	"time"

	"github.com/dpsweep/dpsweep/awssim/server"
)

// BenchmarkAccountRegion reads one generated account's global scope and its
// home region against the simulator with 20 ms median (50 ms p99) latency
// per call, at the default per-account budget (10 requests/s, 4 in flight)
// and unthrottled, and reports API calls and wall time per inventory.
func BenchmarkAccountRegion(b *testing.B) {
	for _, budget := range []struct {
		name string
		rps  float64
	}{{"default-10rps", 10}, {"unthrottled", 10000}} {
		b.Run(budget.name, func(b *testing.B) {
			f := start(b, genOpts(3), server.Faults{Latency: server.Latency{Median: 20 * time.Millisecond, P99: 50 * time.Millisecond}},
				Options{RequestsPerSecond: budget.rps, Burst: max(1, int(budget.rps))})
			region := home(f.member)
			var calls int64
			var wall time.Duration
			for b.Loop() {
				f.sessions = NewSessions(f.sessions.opts) // fresh credentials and caches each round
				start := time.Now()
				for _, req := range []Request{{Target: f.target(f.member), Scope: global}, {Target: f.target(f.member), Scope: regional, Region: region}} {
					stats, err := Run(context.Background(), f.sessions, req, &countSink{})
					if err != nil {
						b.Fatal(err)
					}
					calls += stats.APICalls.Load()
				}
				wall += time.Since(start)
			}
			b.ReportMetric(float64(calls)/float64(b.N), "api-calls/op")
			b.ReportMetric(float64(wall.Milliseconds())/float64(b.N), "wall-ms/op")
		})
	}
}
