package export

import (
	"errors"
	"fmt"
	"sync"

	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
)

// ErrNoExporter is returned by ByFormat for a format without an exporter.
var ErrNoExporter = errors.New("no exporter for the report format")

var (
	registryMu sync.RWMutex
	registry   = map[reportingv1.ReportFormat]func() Exporter{
		reportingv1.ReportFormat_REPORT_FORMAT_JSON:  func() Exporter { return NewJSONExporter() },
		reportingv1.ReportFormat_REPORT_FORMAT_CSV:   func() Exporter { return NewCSVExporter() },
		reportingv1.ReportFormat_REPORT_FORMAT_SARIF: func() Exporter { return NewSARIFExporter() },
		reportingv1.ReportFormat_REPORT_FORMAT_OCSF:  func() Exporter { return NewOCSFExporter() },
		reportingv1.ReportFormat_REPORT_FORMAT_ASFF:  func() Exporter { return NewASFFExporter("") },
	}
)

// Register adds the exporter of a format that lives in another package: the
// HTML report (package export/html) registers itself from its init function,
// so a binary that imports it, even only for its side effects, gets HTML
// from ByFormat. Registering a format twice panics, as a programming error.
func Register(f reportingv1.ReportFormat, newExporter func() Exporter) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if newExporter == nil {
		panic("export: Register of a nil exporter for " + f.String())
	}
	if _, ok := registry[f]; ok {
		panic("export: Register called twice for " + f.String())
	}
	registry[f] = newExporter
}

// ByFormat returns a new exporter of the format, or an error wrapping
// ErrNoExporter when none is registered (HTML until export/html is linked in,
// REPORT_FORMAT_UNSPECIFIED always). The ASFF exporter it returns uses each
// finding's own account's default product ARN; see NewASFFExporter.
func ByFormat(f reportingv1.ReportFormat) (Exporter, error) {
	registryMu.RLock()
	newExporter, ok := registry[f]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoExporter, f)
	}
	return newExporter(), nil
}
