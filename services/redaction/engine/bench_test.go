package engine

import (
	"testing"

	"github.com/dpsweep/dpsweep/services/redaction/engine/benchdata"
)

// BenchmarkDetect measures single-core engine throughput (MB/s) on each
// corpus kind. bench/redaction compares it with gitleaks on the same corpora.
func BenchmarkDetect(b *testing.B) {
	e := New()
	for _, kind := range []benchdata.Kind{benchdata.Prose, benchdata.JSON, benchdata.Logs, benchdata.Dense} {
		text, _ := benchdata.Generate(kind, 1<<20, 1)
		b.Run(string(kind), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			var dst []Match
			for b.Loop() {
				dst = e.Detect(dst[:0], text)
			}
		})
	}
}

// BenchmarkRedact measures Redact (detection, operators and offsets) on
// 1 KiB texts, the unit of the RPC latency benchmark.
func BenchmarkRedact(b *testing.B) {
	r := &Redactor{Engine: New(), Keys: RandomKeys()}
	text, _ := benchdata.Generate(benchdata.Dense, 1024, 2)
	text = text[:1024]
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := r.Redact(text, &Policy{}); err != nil {
			b.Fatal(err)
		}
	}
}
