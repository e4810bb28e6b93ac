package reporting

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	"github.com/dpsweep/dpsweep/services/platform/telemetry"
)

// Metrics of the reporting service: counts by severity, status and state,
// never a sweep, an account or a finding's evidence.
var (
	findingsRecorded = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dpsweep_reporting_findings_recorded_total",
		Help: "Findings in successful RecordFindings calls (duplicates of findings already stored included), by severity and status.",
	}, []string{"severity", "status"})
	findingsDuplicate = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "dpsweep_reporting_findings_duplicates_total",
		Help: "Findings RecordFindings received that were already stored (a retried scan sends its findings again).",
	})
	sweepsFinalized = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dpsweep_reporting_sweeps_finalized_total",
		Help: "Sweeps FinalizeSweep closed, by final state.",
	}, []string{"state"})
)

func init() {
	telemetry.MustRegister(findingsRecorded, findingsDuplicate, sweepsFinalized)
}

// enumLabel turns SEVERITY_HIGH into "high".
func enumLabel(name, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(name, prefix))
}

func countRecorded(findings []*evaluationv1.Finding, dups int) {
	type key struct {
		sev evaluationv1.Severity
		st  evaluationv1.FindingStatus
	}
	n := map[key]int{}
	for _, f := range findings {
		n[key{f.GetSeverity(), f.GetStatus()}]++
	}
	for k, c := range n {
		findingsRecorded.WithLabelValues(enumLabel(k.sev.String(), "SEVERITY_"), enumLabel(k.st.String(), "FINDING_STATUS_")).Add(float64(c))
	}
	findingsDuplicate.Add(float64(dups))
}

func countFinalized(state reportingv1.SweepState) {
	sweepsFinalized.WithLabelValues(enumLabel(state.String(), "SWEEP_STATE_")).Inc()
}
