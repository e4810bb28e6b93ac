package export

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
)

const (
	// SARIFSchemaURI is the OASIS SARIF 2.1.0 schema (errata 01).
	SARIFSchemaURI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	// sarifFingerprint names dpsweep's partial fingerprint: the FindingKey,
	// the same across sweeps for the same control, resource and field.
	sarifFingerprint = "dpsweepFindingKey/v1"
)

// SARIFExporter writes a SARIF 2.1.0 log with one run. Rules are the
// distinct controls of the exported findings. FAIL findings are results of
// kind "fail" with a level from their severity (CRITICAL and HIGH error,
// MEDIUM warning, LOW and INFORMATIONAL note); NOT_ASSESSED findings are
// results of kind "open" (the tool could not tell pass from fail) with level
// "none", as SARIF requires for any kind but "fail", and the reason in the
// result's properties; PASS findings are left out. AWS resources are not
// files, so results carry a logical location (the resource ARN) and no
// physical one. Suppressed findings carry an external, accepted suppression
// with its justification; the others an empty suppressions array, which
// SARIF reads as "not suppressed".
type SARIFExporter struct{}

var _ Exporter = (*SARIFExporter)(nil)

// NewSARIFExporter returns the SARIF exporter.
func NewSARIFExporter() *SARIFExporter { return &SARIFExporter{} }

// Format implements Exporter.
func (*SARIFExporter) Format() reportingv1.ReportFormat {
	return reportingv1.ReportFormat_REPORT_FORMAT_SARIF
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string       `json:"name"`
	Version        string       `json:"version,omitempty"`
	InformationURI string       `json:"informationUri"`
	Rules          []*sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string          `json:"id"`
	Name                 string          `json:"name,omitempty"`
	ShortDescription     *sarifMessage   `json:"shortDescription,omitempty"`
	DefaultConfiguration sarifRuleConfig `json:"defaultConfiguration"`
	Properties           sarifRuleProps  `json:"properties"`
	severity             evaluationv1.Severity
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifRuleProps struct {
	// SecuritySeverity is the score GitHub code scanning ranks alerts by.
	SecuritySeverity string   `json:"security-severity"`
	Severity         string   `json:"severity"`
	Tags             []string `json:"tags"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool   `json:"executionSuccessful"`
	StartTimeUTC        string `json:"startTimeUtc,omitempty"`
	EndTimeUTC          string `json:"endTimeUtc,omitempty"`
}

type sarifAutomation struct {
	ID string `json:"id"`
}

type sarifRunProps struct {
	SweepID     string   `json:"sweepId"`
	SweepState  string   `json:"sweepState"`
	GeneratedAt string   `json:"generatedAt"`
	Assessed    []string `json:"assessedScopes"`
}

type sarifResult struct {
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Kind                string             `json:"kind"`
	Level               string             `json:"level"`
	Message             sarifMessage       `json:"message"`
	Locations           []sarifLocation    `json:"locations"`
	PartialFingerprints map[string]string  `json:"partialFingerprints"`
	Suppressions        []sarifSuppression `json:"suppressions"`
	Properties          sarifResultProps   `json:"properties"`
}

type sarifLocation struct {
	LogicalLocations []sarifLogicalLocation `json:"logicalLocations"`
}

type sarifLogicalLocation struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

type sarifSuppression struct {
	Kind          string                `json:"kind"`
	Status        string                `json:"status"`
	Justification string                `json:"justification,omitempty"`
	Properties    *sarifSuppressionProp `json:"properties,omitempty"`
}

type sarifSuppressionProp struct {
	SuppressionID string `json:"suppressionId,omitempty"`
	ExpiresAt     string `json:"expiresAt,omitempty"`
}

type sarifResultProps struct {
	FindingID         string   `json:"findingId"`
	SweepID           string   `json:"sweepId"`
	AccountID         string   `json:"accountId"`
	Region            string   `json:"region"`
	ResourceType      string   `json:"resourceType,omitempty"`
	FieldPath         string   `json:"fieldPath,omitempty"`
	Severity          string   `json:"severity"`
	Status            string   `json:"status"`
	NotAssessedReason string   `json:"notAssessedReason,omitempty"`
	RedactedText      string   `json:"redactedText,omitempty"`
	EntityTypes       []string `json:"entityTypes,omitempty"`
	ObservedAt        string   `json:"observedAt,omitempty"`
}

// sarifLevel maps a severity to a SARIF level.
func sarifLevel(s evaluationv1.Severity) string {
	switch s {
	case evaluationv1.Severity_SEVERITY_CRITICAL, evaluationv1.Severity_SEVERITY_HIGH:
		return "error"
	case evaluationv1.Severity_SEVERITY_LOW, evaluationv1.Severity_SEVERITY_INFORMATIONAL:
		return "note"
	default:
		return "warning"
	}
}

// sarifSecuritySeverity is the CVSS-like score GitHub code scanning reads
// from a rule's "security-severity" property (9.0+ critical, 7.0 high,
// 4.0 medium, 0.1 low).
func sarifSecuritySeverity(s evaluationv1.Severity) string {
	switch s {
	case evaluationv1.Severity_SEVERITY_CRITICAL:
		return "9.5"
	case evaluationv1.Severity_SEVERITY_HIGH:
		return "8.0"
	case evaluationv1.Severity_SEVERITY_MEDIUM:
		return "5.5"
	case evaluationv1.Severity_SEVERITY_LOW:
		return "3.0"
	default:
		return "0.0"
	}
}

// sarifReported says whether a finding becomes a result.
func sarifReported(f *evaluationv1.Finding) bool {
	switch f.GetStatus() {
	case evaluationv1.FindingStatus_FINDING_STATUS_FAIL, evaluationv1.FindingStatus_FINDING_STATUS_NOT_ASSESSED:
		return true
	}
	return false
}

// Export implements Exporter. It reads the findings twice: once for the
// rules, which come first in the log, once for the results, which it
// streams.
func (e *SARIFExporter) Export(ctx context.Context, in *Input, w io.Writer) (int64, error) {
	rules := map[string]*sarifRule{}
	err := forEach(ctx, in, func(f *evaluationv1.Finding) error {
		if !sarifReported(f) {
			return nil
		}
		r, ok := rules[f.GetControlId()]
		if !ok {
			r = &sarifRule{ID: f.GetControlId(), severity: f.GetSeverity()}
			rules[f.GetControlId()] = r
		}
		if r.Name == "" && f.GetTitle() != "" {
			r.Name = f.GetTitle()
			r.ShortDescription = &sarifMessage{Text: f.GetTitle()}
		}
		if f.GetSeverity() > r.severity {
			r.severity = f.GetSeverity()
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	ids := make([]string, 0, len(rules))
	for id := range rules {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	index := make(map[string]int, len(ids))
	driver := sarifDriver{Name: toolName, Version: in.Version, InformationURI: informationURI, Rules: []*sarifRule{}}
	for i, id := range ids {
		r := rules[id]
		r.DefaultConfiguration = sarifRuleConfig{Level: sarifLevel(r.severity)}
		r.Properties = sarifRuleProps{
			SecuritySeverity: sarifSecuritySeverity(r.severity),
			Severity:         severityName(r.severity),
			Tags:             []string{"security", "data-protection"},
		}
		driver.Rules = append(driver.Rules, r)
		index[id] = i
	}

	sw := in.Sweep
	props := sarifRunProps{
		SweepID: sw.GetSweepId(), SweepState: sw.GetState().String(),
		GeneratedAt: in.GeneratedAt.UTC().Format(time.RFC3339Nano), Assessed: []string{},
	}
	for _, s := range in.Assessed {
		props.Assessed = append(props.Assessed, s.Account+"/"+s.Region)
	}
	inv := sarifInvocation{
		ExecutionSuccessful: sw.GetState() == reportingv1.SweepState_SWEEP_STATE_COMPLETED,
		StartTimeUTC:        rfc3339(sw.GetStartedAt()),
		EndTimeUTC:          rfc3339(sw.GetFinalizedAt()),
	}

	bw := bufio.NewWriter(w)
	const runIndent = "      "
	var werr error
	write := func(s string) {
		if werr == nil {
			_, werr = bw.WriteString(s)
		}
	}
	member := func(name string, v any, last bool) {
		b, err := json.MarshalIndent(v, runIndent, "  ")
		if err != nil && werr == nil {
			werr = err
		}
		write(runIndent + `"` + name + `": ` + string(b))
		if !last {
			write(",")
		}
		write("\n")
	}
	write("{\n  \"$schema\": \"" + SARIFSchemaURI + "\",\n  \"version\": \"2.1.0\",\n  \"runs\": [\n    {\n")
	member("tool", sarifTool{Driver: driver}, false)
	member("automationDetails", sarifAutomation{ID: toolName + "/" + sw.GetSweepId()}, false)
	member("invocations", []sarifInvocation{inv}, false)
	member("properties", props, false)
	write(runIndent + "\"results\": [")
	var n int64
	err = forEach(ctx, in, func(f *evaluationv1.Finding) error {
		if !sarifReported(f) {
			return nil
		}
		b, err := json.MarshalIndent(sarifResultOf(f, index[f.GetControlId()]), runIndent+"  ", "  ")
		if err != nil {
			return fmt.Errorf("finding %s: %w", f.GetId(), err)
		}
		if n > 0 {
			write(",")
		}
		write("\n" + runIndent + "  " + string(b))
		n++
		return werr
	})
	if err != nil {
		return n, err
	}
	if n > 0 {
		write("\n" + runIndent)
	}
	write("]\n    }\n  ]\n}\n")
	if werr != nil {
		return n, werr
	}
	return n, bw.Flush()
}

func sarifResultOf(f *evaluationv1.Finding, ruleIndex int) sarifResult {
	ev := evidenceOf(f)
	msg := ev.GetSummary()
	if msg == "" {
		msg = f.GetTitle()
	}
	if msg == "" {
		msg = f.GetControlId()
	}
	r := sarifResult{
		RuleID: f.GetControlId(), RuleIndex: ruleIndex,
		Kind: "fail", Level: sarifLevel(f.GetSeverity()),
		Message: sarifMessage{Text: msg},
		Locations: []sarifLocation{{LogicalLocations: []sarifLogicalLocation{{
			Name: resourceID(f), FullyQualifiedName: resourceID(f), Kind: "resource",
		}}}},
		PartialFingerprints: map[string]string{sarifFingerprint: FindingKey(f)},
		Suppressions:        []sarifSuppression{},
		Properties: sarifResultProps{
			FindingID: f.GetId(), SweepID: f.GetSweepId(), AccountID: f.GetAccountId(), Region: f.GetRegion(),
			ResourceType: f.GetResourceType(), FieldPath: f.GetFieldPath(),
			Severity: severityName(f.GetSeverity()), Status: statusName(f.GetStatus()),
			NotAssessedReason: reasonName(f.GetNotAssessedReason()),
			RedactedText:      ev.GetRedactedText(), EntityTypes: ev.GetEntityTypes(),
			ObservedAt: rfc3339(f.GetObservedAt()),
		},
	}
	if f.GetStatus() == evaluationv1.FindingStatus_FINDING_STATUS_NOT_ASSESSED {
		r.Kind, r.Level = "open", "none"
	}
	if f.GetSuppressed() {
		s := sarifSuppression{Kind: "external", Status: "accepted", Justification: f.GetSuppression().GetJustification()}
		if sp := f.GetSuppression(); sp.GetId() != "" || sp.GetExpiresAt() != nil {
			s.Properties = &sarifSuppressionProp{SuppressionID: sp.GetId(), ExpiresAt: rfc3339(sp.GetExpiresAt())}
		}
		r.Suppressions = append(r.Suppressions, s)
	}
	return r
}
