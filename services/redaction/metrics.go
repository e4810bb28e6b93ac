package redaction

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dpsweep/dpsweep/services/platform/telemetry"
	"github.com/dpsweep/dpsweep/services/redaction/engine"
)

// Metrics of the redaction service. Labels name detectors and entity types
// from the engine's catalogue, never a detected value.
var (
	detectorHits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dpsweep_redaction_detector_hits_total",
		Help: "Values found by the redaction engine (Redact, RedactBatch, RedactStream, Detect), by entity type and detector.",
	}, []string{"entity_type", "detector"})
	textsScanned = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "dpsweep_redaction_texts_total",
		Help: "Texts the redaction engine scanned.",
	})
	bytesScanned = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "dpsweep_redaction_bytes_total",
		Help: "Bytes of text the redaction engine scanned.",
	})
)

func init() {
	telemetry.MustRegister(detectorHits, textsScanned, bytesScanned)
}

// hitCounters caches detectorHits' children by label pair: the pairs are
// the engine's catalogue, and looking a child up by its labels hashes them
// on every finding.
var hitCounters sync.Map // hitKey -> prometheus.Counter

type hitKey struct{ entity, detector string }

// countScan records one scanned text and its findings.
func countScan(text string, fs []engine.Finding) {
	textsScanned.Inc()
	bytesScanned.Add(float64(len(text)))
	for _, f := range fs {
		k := hitKey{f.Entity, f.Detector}
		c, ok := hitCounters.Load(k)
		if !ok {
			c, _ = hitCounters.LoadOrStore(k, detectorHits.WithLabelValues(f.Entity, f.Detector))
		}
		c.(prometheus.Counter).Inc()
	}
}
