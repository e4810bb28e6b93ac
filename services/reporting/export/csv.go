package export

import (
	"context"
	"encoding/csv"
	"io"
	"strconv"
	"strings"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
)

// CSVColumns are the CSV export's columns, in order.
var CSVColumns = []string{
	"sweep_id", "account_id", "region", "control_id", "title", "severity", "status", "not_assessed_reason",
	"resource_type", "resource_arn", "field_path", "evidence_summary", "evidence_redacted_text", "entity_types",
	"suppressed", "suppression_id", "observed_at",
}

// CSVExporter writes one row per finding after a header row. Enum values
// are written without their prefix (HIGH, FAIL, ACCESS_DENIED), entity
// types joined with ";", times in RFC 3339. Every cell that a spreadsheet
// would read as a formula gets a leading single quote (OWASP CSV injection).
type CSVExporter struct{}

var _ Exporter = (*CSVExporter)(nil)

// NewCSVExporter returns the CSV exporter.
func NewCSVExporter() *CSVExporter { return &CSVExporter{} }

// Format implements Exporter.
func (*CSVExporter) Format() reportingv1.ReportFormat {
	return reportingv1.ReportFormat_REPORT_FORMAT_CSV
}

// Export implements Exporter.
func (e *CSVExporter) Export(ctx context.Context, in *Input, w io.Writer) (int64, error) {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVColumns); err != nil {
		return 0, err
	}
	var n int64
	err := forEach(ctx, in, func(f *evaluationv1.Finding) error {
		ev := evidenceOf(f)
		row := []string{
			f.GetSweepId(), f.GetAccountId(), f.GetRegion(), f.GetControlId(), f.GetTitle(),
			severityName(f.GetSeverity()), statusName(f.GetStatus()), reasonName(f.GetNotAssessedReason()),
			f.GetResourceType(), f.GetResourceArn(), f.GetFieldPath(),
			ev.GetSummary(), ev.GetRedactedText(), strings.Join(ev.GetEntityTypes(), ";"),
			strconv.FormatBool(f.GetSuppressed()), f.GetSuppression().GetId(), rfc3339(f.GetObservedAt()),
		}
		for i := range row {
			row[i] = csvSafe(row[i])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return n, err
	}
	cw.Flush()
	return n, cw.Error()
}

// csvSafe defuses a cell that a spreadsheet would evaluate: one starting
// with =, +, -, @, a tab or a carriage return gets a leading single quote,
// as OWASP's CSV injection guidance says.
func csvSafe(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
