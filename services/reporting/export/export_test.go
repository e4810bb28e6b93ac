package export

import (
	"bytes"
	"context"
	"errors"
	"io"
	"iter"
	"strings"
	"testing"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
)

// formats are the exporters of this package with their golden files and
// how many of the fixture's 15 findings each holds.
var formats = []struct {
	name   string
	golden string
	new    func() Exporter
	count  int64
}{
	{"json", "findings.jsonl", func() Exporter { return NewJSONExporter() }, 15},
	{"csv", "findings.csv", func() Exporter { return NewCSVExporter() }, 15},
	{"sarif", "findings.sarif", func() Exporter { return NewSARIFExporter() }, 13}, // PASS left out
	{"ocsf", "findings.ocsf.jsonl", func() Exporter { return NewOCSFExporter() }, 15},
	{"asff", "findings.asff.jsonl", func() Exporter { return NewASFFExporter("") }, 15},
	{"asff aggregator", "findings.asff-aggregator.jsonl", func() Exporter {
		return NewASFFExporter("arn:aws:securityhub:eu-west-1:999999999999:product/999999999999/default")
	}, 15},
}

func TestGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range formats {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, n := export(t, tc.new(), fixture())
			if n != tc.count {
				t.Errorf("exported %d findings, want %d", n, tc.count)
			}
			golden(t, tc.golden, got)
			// Byte-stable: a second run writes the same bytes.
			if again, _ := export(t, tc.new(), fixture()); !bytes.Equal(got, again) {
				t.Error("two exports of the same input differ")
			}
		})
	}
}

// TestEvidenceOnlyFromRedactedFields: every format carries the free-form
// finding's redacted text and entity types, and nothing from where an
// exporter must not look: unknown fields of a finding or its evidence (a
// newer producer's raw text), or the History that only HTML reads.
func TestEvidenceOnlyFromRedactedFields(t *testing.T) {
	t.Parallel()
	for _, tc := range formats {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, _ := export(t, tc.new(), fixture())
			s := string(got)
			for _, bad := range []string{canary, "REDACTED-SHOULD-NOT-APPEAR", rawEmail, "alice.canary"} {
				if strings.Contains(s, bad) {
					t.Errorf("output holds %q", bad)
				}
			}
			for _, want := range []string{freeFormRedacted, "EMAIL_ADDRESS", "AWS_ACCOUNT_ID"} {
				if !strings.Contains(s, want) {
					t.Errorf("output lacks %q", want)
				}
			}
		})
	}
}

func TestEmptySweep(t *testing.T) {
	t.Parallel()
	for _, tc := range formats {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := inputOf(nil)
			got, n := export(t, tc.new(), in)
			if n != 0 {
				t.Errorf("exported %d findings of none", n)
			}
			if tc.name == "sarif" {
				validateSARIF(t, got)
			}
		})
	}
}

func TestIteratorErrorStopsExport(t *testing.T) {
	t.Parallel()
	boom := errors.New("store went away")
	for _, tc := range formats {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := fixture()
			in.Findings = func(context.Context) iter.Seq2[*evaluationv1.Finding, error] {
				return func(yield func(*evaluationv1.Finding, error) bool) { yield(nil, boom) }
			}
			var buf bytes.Buffer
			if _, err := tc.new().Export(context.Background(), in, &buf); !errors.Is(err, boom) {
				t.Errorf("Export error = %v, want %v", err, boom)
			}
		})
	}
}

func TestByFormat(t *testing.T) {
	t.Parallel()
	for _, f := range []reportingv1.ReportFormat{
		reportingv1.ReportFormat_REPORT_FORMAT_JSON, reportingv1.ReportFormat_REPORT_FORMAT_CSV,
		reportingv1.ReportFormat_REPORT_FORMAT_SARIF, reportingv1.ReportFormat_REPORT_FORMAT_OCSF,
		reportingv1.ReportFormat_REPORT_FORMAT_ASFF,
	} {
		e, err := ByFormat(f)
		if err != nil || e.Format() != f {
			t.Errorf("ByFormat(%s) = %v, %v", f, e, err)
		}
	}
	for _, f := range []reportingv1.ReportFormat{reportingv1.ReportFormat_REPORT_FORMAT_UNSPECIFIED, reportingv1.ReportFormat(42)} {
		if _, err := ByFormat(f); !errors.Is(err, ErrNoExporter) {
			t.Errorf("ByFormat(%s) error = %v, want ErrNoExporter", f, err)
		}
	}
}

// fakeExporter stands in for a format registered from another package.
type fakeExporter struct{ f reportingv1.ReportFormat }

func (e fakeExporter) Format() reportingv1.ReportFormat { return e.f }
func (fakeExporter) Export(context.Context, *Input, io.Writer) (int64, error) {
	return 0, nil
}

func TestRegister(t *testing.T) {
	// Not parallel: it changes the registry, with a format no other test uses.
	f := reportingv1.ReportFormat(1000)
	if _, err := ByFormat(f); !errors.Is(err, ErrNoExporter) {
		t.Fatalf("before Register: %v", err)
	}
	Register(f, func() Exporter { return fakeExporter{f} })
	t.Cleanup(func() {
		registryMu.Lock()
		delete(registry, f)
		registryMu.Unlock()
	})
	if e, err := ByFormat(f); err != nil || e.Format() != f {
		t.Fatalf("after Register: %v, %v", e, err)
	}
	defer func() {
		if recover() == nil {
			t.Error("a second Register of the same format did not panic")
		}
	}()
	Register(f, func() Exporter { return fakeExporter{f} })
}
