package export

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
)

// JSONHeaderKind marks the header line of a JSON lines export.
const JSONHeaderKind = "dpsweep.sweep"

// JSONExporter writes JSON lines: a header line describing the sweep, then
// one finding a line as protojson with proto field names (so each line
// unmarshals into an evaluationv1.Finding), every field present, keys sorted.
type JSONExporter struct{}

var _ Exporter = (*JSONExporter)(nil)

// NewJSONExporter returns the JSON lines exporter.
func NewJSONExporter() *JSONExporter { return &JSONExporter{} }

// Format implements Exporter.
func (*JSONExporter) Format() reportingv1.ReportFormat {
	return reportingv1.ReportFormat_REPORT_FORMAT_JSON
}

// jsonScope is one assessed scope in the header.
type jsonScope struct {
	AccountID string `json:"account_id"`
	Region    string `json:"region"`
}

// jsonHeader is the first line. Field order is fixed by the struct.
type jsonHeader struct {
	Kind        string          `json:"kind"`
	SweepID     string          `json:"sweep_id"`
	State       string          `json:"state"`
	StartedAt   string          `json:"started_at,omitempty"`
	FinalizedAt string          `json:"finalized_at,omitempty"`
	Counts      json.RawMessage `json:"counts"`
	Assessed    []jsonScope     `json:"assessed"`
	GeneratedAt string          `json:"generated_at"`
	Version     string          `json:"version"`
}

// Export implements Exporter.
func (e *JSONExporter) Export(ctx context.Context, in *Input, w io.Writer) (int64, error) {
	bw := bufio.NewWriter(w)
	h, err := jsonHeaderOf(in)
	if err != nil {
		return 0, err
	}
	if err := writeJSONLine(bw, h); err != nil {
		return 0, err
	}
	var n int64
	err = forEach(ctx, in, func(f *evaluationv1.Finding) error {
		line, err := stableProtoJSON(f)
		if err != nil {
			return fmt.Errorf("finding %s: %w", f.GetId(), err)
		}
		if _, err := bw.Write(append(line, '\n')); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}

func jsonHeaderOf(in *Input) (*jsonHeader, error) {
	sw := in.Sweep
	counts, err := stableProtoJSON(sw.GetCounts())
	if sw.GetCounts() == nil {
		counts, err = stableProtoJSON(&reportingv1.SweepCounts{})
	}
	if err != nil {
		return nil, fmt.Errorf("sweep counts: %w", err)
	}
	h := &jsonHeader{
		Kind:        JSONHeaderKind,
		SweepID:     sw.GetSweepId(),
		State:       sw.GetState().String(),
		StartedAt:   rfc3339(sw.GetStartedAt()),
		FinalizedAt: rfc3339(sw.GetFinalizedAt()),
		Counts:      counts,
		Assessed:    []jsonScope{},
		GeneratedAt: in.GeneratedAt.UTC().Format(time.RFC3339Nano),
		Version:     in.Version,
	}
	for _, s := range in.Assessed {
		h.Assessed = append(h.Assessed, jsonScope{AccountID: s.Account, Region: s.Region})
	}
	return h, nil
}

func writeJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
