// Package export renders a stored sweep in the formats people read and
// tools import: JSON lines, CSV, SARIF 2.1.0, OCSF Detection Finding, ASFF
// for Security Hub, and a self-contained HTML report. Evidence in every
// format is the redacted text the store holds, never anything else.
package export

import (
	"context"
	"io"
	"iter"
	"time"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
)

// Scope is one (account, region) pair the sweep assessed.
type Scope struct {
	Account, Region string
}

// Input is what an exporter renders.
type Input struct {
	// Sweep is the stored sweep with its counts.
	Sweep *reportingv1.Sweep
	// Assessed are the scopes the sweep assessed, sorted.
	Assessed []Scope
	// Findings yields the findings to export in a stable order (account,
	// region, control, resource ARN, field path). It may be called more than
	// once; each call streams from the start.
	Findings func(ctx context.Context) iter.Seq2[*evaluationv1.Finding, error]
	// History are earlier sweeps, oldest first, for trends (HTML only).
	History []*reportingv1.Sweep
	// GeneratedAt is when the report is made; exporters print no other clock.
	GeneratedAt time.Time
	// Tool version written into SARIF and OCSF metadata.
	Version string
}

// Exporter writes one format.
type Exporter interface {
	// Format is the format it writes.
	Format() reportingv1.ReportFormat
	// Export writes the report and returns how many findings it holds.
	Export(ctx context.Context, in *Input, w io.Writer) (findings int64, err error)
}
