// Package html writes a sweep as one self-contained HTML file that works
// offline: inline CSS, inline JavaScript and inline SVG charts, no fonts,
// scripts or images from anywhere else.
//
// The report has a summary (state, times, scope, counts, open failures by
// severity), the pass rate per control, an account × control heat map of
// open failures, the trend over earlier sweeps, and a findings table that
// filters and pages in the browser. The findings are embedded once, as
// compact JSON (arrays with index tables for repeated strings), and the
// table draws 100 rows at a time, so 100,000 findings stay under 10 MB and
// open in a second or two.
//
// Everything taken from findings and sweeps is data: html/template escapes
// it in the markup, the embedded JSON escapes <, > and &, and the script
// writes table cells with textContent only.
package html

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"io"

	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	"github.com/dpsweep/dpsweep/services/reporting/export"
)

// Defaults of an Exporter.
const (
	// DefaultMaxTableFindings caps the findings embedded in the table.
	// Beyond it the table keeps open failures first, then NOT_ASSESSED,
	// then suppressed failures, then passes; counts and charts always
	// cover every finding.
	DefaultMaxTableFindings = 200_000
	// DefaultHeatmapAccounts is how many accounts (those with the most
	// open failures) the heat map shows.
	DefaultHeatmapAccounts = 50
)

// pageSize is the number of rows the table draws at once.
const pageSize = 100

var (
	//go:embed report.gohtml
	reportHTML string
	//go:embed report.css
	reportCSS string
	//go:embed report.js
	reportJS string

	reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
		"add": func(a, b int) int { return a + b },
	}).Parse(reportHTML))
)

// Exporter writes the HTML report. The zero value uses the defaults.
type Exporter struct {
	// MaxTableFindings caps the findings embedded in the table; 0 means
	// DefaultMaxTableFindings.
	MaxTableFindings int
	// HeatmapAccounts is how many accounts the heat map shows; 0 means
	// DefaultHeatmapAccounts.
	HeatmapAccounts int
}

var _ export.Exporter = (*Exporter)(nil)

// New returns an Exporter with the defaults.
func New() *Exporter { return &Exporter{} }

// init makes export.ByFormat return this exporter for REPORT_FORMAT_HTML in
// every binary that links this package.
func init() {
	export.Register(reportingv1.ReportFormat_REPORT_FORMAT_HTML, func() export.Exporter { return New() })
}

// Format is REPORT_FORMAT_HTML.
func (*Exporter) Format() reportingv1.ReportFormat {
	return reportingv1.ReportFormat_REPORT_FORMAT_HTML
}

// Export reads the findings once and writes the report. It returns how many
// findings the sweep has (every one is counted; the table may hold fewer,
// see MaxTableFindings).
func (e *Exporter) Export(ctx context.Context, in *export.Input, w io.Writer) (int64, error) {
	if in == nil || in.Sweep == nil {
		return 0, errors.New("html: input has no sweep")
	}
	if in.Findings == nil {
		return 0, errors.New("html: input has no findings")
	}
	maxRows, heat := e.MaxTableFindings, e.HeatmapAccounts
	if maxRows <= 0 {
		maxRows = DefaultMaxTableFindings
	}
	if heat <= 0 {
		heat = DefaultHeatmapAccounts
	}

	a := newAggregate(maxRows)
	for f, err := range in.Findings(ctx) {
		if err != nil {
			return 0, fmt.Errorf("html: findings: %w", err)
		}
		if a.total.findings%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, fmt.Errorf("html: %w", err)
			}
		}
		a.add(f)
	}

	p := buildPage(in, a, heat)
	p.CSS = template.CSS(reportCSS)
	p.JS = template.JS(reportJS)
	p.Data = template.JS(encodeData(a, a.tableRows()))

	bw := bufio.NewWriterSize(w, 64<<10)
	if err := reportTemplate.Execute(bw, p); err != nil {
		return 0, fmt.Errorf("html: template: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return 0, fmt.Errorf("html: write: %w", err)
	}
	return a.total.findings, nil
}
